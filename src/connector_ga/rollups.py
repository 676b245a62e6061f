"""Where requests become rollups: the one pass over the canonical requests, with the input
quality counted on the way, into per-day (and per-ISO-week) tables from which every figure
of a check, a history, a forecast and a fix plan is computed (`metrics/compute.py` reads
them), so that nothing after this module reads a request.

They are computed at ingest over the new requests only (attributed with the default rule:
an unattributed 5xx is a connector fault), merged into the store, and exported as they
are; a check of files in place keeps them in memory (`in_place`). Each keeps the
`unattributed` flag, so a policy that counts unattributed 5xx as backend faults
re-attributes them when it reads (`metrics/compute.py`, the views):
- `daily`: requests per connector, day, connection, fault, status class (reliability,
  SLO, MAC, the daily points; exactly the daily aggregate of a check in place);
- `weekly_users`: the distinct pseudonymous users of each connector and ISO week, as the
  ids themselves, so WAU stays an exact count whatever ingests added to a week;
- `operations`: requests per connector, day, operation, fault, status, error reason
  (a check's operations and the fix plan);
- `connection_operations`: connector faults per connector, day, connection and operation
  (which operations put a connection under the SLO bar).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
from ibis.backends import BaseBackend

from . import engine
from .attribution import DEFAULT_UNATTRIBUTED, attribute
from .metrics.compute import Aggregates, aggregates_of  # where rollups become metrics
from .metrics.model import InputQuality, RejectSample
from .policy import Policy
from .schema import REJECT_REASONS
from .sources import Telemetry

MAX_SAMPLES = 10

# table -> (its key columns, {measure: how two rows of one key merge})
MERGE: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "daily": (
        ("connector", "day", "connection_id", "fault", "status_class", "unattributed", "has_user"),
        {"requests": "sum", "rows": "sum", "max_weight": "max"},
    ),
    "weekly_users": (("connector", "week", "user_id"), {}),
    "operations": (
        ("connector", "day", "operation", "fault", "status", "error_reason", "unattributed"),
        {"requests": "sum"},
    ),
    "connection_operations": (
        ("connector", "day", "connection_id", "operation", "unattributed"),
        {"connector_faults": "sum"},
    ),
}
NAMES = tuple(MERGE)

SCHEMAS: dict[str, dict[str, str]] = {
    "daily": {
        "connector": "VARCHAR",
        "day": "DATE",
        "connection_id": "VARCHAR",
        "fault": "VARCHAR",
        "status_class": "SMALLINT",
        "unattributed": "BOOLEAN",
        "has_user": "BOOLEAN",
        "requests": "BIGINT",
        "rows": "BIGINT",
        "max_weight": "BIGINT",
    },
    "weekly_users": {"connector": "VARCHAR", "week": "DATE", "user_id": "VARCHAR"},
    "operations": {
        "connector": "VARCHAR",
        "day": "DATE",
        "operation": "VARCHAR",
        "fault": "VARCHAR",
        "status": "BIGINT",
        "error_reason": "VARCHAR",
        "unattributed": "BOOLEAN",
        "requests": "BIGINT",
    },
    "connection_operations": {
        "connector": "VARCHAR",
        "day": "DATE",
        "connection_id": "VARCHAR",
        "operation": "VARCHAR",
        "unattributed": "BOOLEAN",
        "connector_faults": "BIGINT",
    },
}


# The SQL types of the store's tables as Ibis types (the segments' TIMESTAMPTZ and DOUBLE too).
SQL_TYPES = {
    "VARCHAR": "string",
    "DATE": "date",
    "BIGINT": "int64",
    "SMALLINT": "int16",
    "BOOLEAN": "boolean",
    "DOUBLE": "float64",
    "TIMESTAMPTZ": "timestamp('UTC')",
}


def ibis_schema(name: str) -> ibis.Schema:
    """A rollup's columns with their Ibis types."""
    return ibis.schema({column: SQL_TYPES[kind] for column, kind in SCHEMAS[name].items()})


def day_column(name: str) -> str:
    """The column that says which UTC day (or ISO week) a rollup row belongs to."""
    return "week" if name == "weekly_users" else "day"


# ---- from requests (at ingest) ------------------------------------------------------------


def build(name: str, requests: ibis.Table) -> ibis.Table:
    """A rollup of valid requests attributed with the default rule (`attribute` with
    DEFAULT_UNATTRIBUTED), with `day`."""
    r = requests
    if name == "daily":
        out = daily_aggregate(r)
    elif name == "weekly_users":
        r = r.filter(r.user_id.notnull())
        out = r.select(
            connector=r.connector, week=engine.iso_week(r.time), user_id=r.user_id
        ).distinct()
    elif name == "operations":
        out = r.group_by(
            connector=r.connector,
            day=r.day,
            operation=r.operation,
            fault=r.fault,
            status=r.status.cast("int64"),
            error_reason=r.error_reason,
            unattributed=r.unattributed,
        ).aggregate(requests=r.weight.sum())
    elif name == "connection_operations":
        r = r.filter((r.fault == "connector") & r.connection_id.notnull())
        out = r.group_by(
            connector=r.connector,
            day=r.day,
            connection_id=r.connection_id,
            operation=r.operation,
            unattributed=r.unattributed,
        ).aggregate(connector_faults=r.weight.sum())
    else:
        raise KeyError(name)
    return out.select(*SCHEMAS[name])


# One scan for all four: each rollup is a grouping set of one aggregate query, so the
# requests are read once whatever the engine (DuckDB and Spark both plan GROUPING SETS as
# one scan feeding one hash table per set). `grouping(column)` tells the sets apart.
_SETS: dict[str, tuple[str, ...]] = {
    "daily": MERGE["daily"][0],
    "operations": MERGE["operations"][0],
    "connection_operations": MERGE["connection_operations"][0],
    "weekly_users": MERGE["weekly_users"][0],
}
_TELLS = {  # a column grouped in that set only
    "daily": "status_class",
    "operations": "error_reason",
    "weekly_users": "week",
}


def _keyed(requests: ibis.Table) -> ibis.Table:
    """The requests as the grouping sets read them: every key column of every rollup."""
    r = requests
    return r.select(
        connector=r.connector,
        day=r.day,
        week=engine.iso_week(r.time),
        connection_id=r.connection_id,
        operation=r.operation,
        fault=r.fault,
        status=r.status.cast("int64"),
        status_class=(r.status // 100).cast("int16"),
        error_reason=r.error_reason,
        unattributed=r.unattributed,
        has_user=r.user_id.notnull(),
        user_id=r.user_id,
        weight=r.weight,
    )


def _grouping_sql(inner: str) -> str:
    sets = ", ".join("(" + ", ".join(keys) + ")" for keys in _SETS.values())
    columns = sorted({c for keys in _SETS.values() for c in keys})
    tells = ", ".join(f"grouping({c}) AS g_{c}" for c in _TELLS.values())
    return (
        f"SELECT {', '.join(columns)}, {tells}, "
        "sum(weight) AS requests, count(*) AS rows, max(weight) AS max_weight, "
        "sum(CASE WHEN fault = 'connector' THEN weight END) AS connector_faults "
        f"FROM ({inner}) AS keyed GROUP BY GROUPING SETS ({sets})"
    )


def build_all(con: BaseBackend, requests: ibis.Table) -> dict[str, ibis.Table]:
    """Every rollup of valid requests attributed with the default rule, in one scan: the
    grouped result is kept by the engine, and the four rollups are cut from it."""
    query = _grouping_sql(str(con.compile(_keyed(requests))))
    g = engine.materialize_sql(con, query, "cga_rollups")
    is_set = {name: g[f"g_{column}"] == 0 for name, column in _TELLS.items()}
    out = {
        "daily": g.filter(is_set["daily"]),
        "operations": g.filter(is_set["operations"]),
        "weekly_users": g.filter(is_set["weekly_users"] & g.user_id.notnull()),
        "connection_operations": g.filter(
            ~is_set["daily"]
            & ~is_set["operations"]
            & ~is_set["weekly_users"]
            & g.connector_faults.notnull()
            & g.connection_id.notnull()
        ),
    }
    return {name: t.select(*SCHEMAS[name]).cast(ibis_schema(name)) for name, t in out.items()}


# ---- input quality ---------------------------------------------------------------------


def input_quality(telemetry: Telemetry, connectors: Sequence[str] | None = None) -> InputQuality:
    """One scan: rows read, rejected (by reason), and request_ids repeated among accepted rows
    of the selected connectors. Files are broken down only when something was rejected."""
    t = telemetry.table
    accepted = t._reject.isnull()
    if connectors:
        accepted = accepted & t.connector.isin(list(connectors))
    # A request_id repeats within its connector only: two connectors' logs may share ids.
    # Distinct 64-bit hashes cost less than distinct strings; as many hashes as ids proves
    # there is no duplicate. Fewer (a duplicate, or a collision) is settled exactly below.
    keyed = t.connector.fill_null("").concat("\x1f", t.request_id)
    metrics = {
        "rows": t.count(),
        "with_id": t.request_id.count(where=accepted),
        "distinct_hashes": engine.id_hash(keyed).nunique(
            where=accepted & t.request_id.notnull()  # a null id may hash to a value
        ),
        "first": t.time.min(where=accepted),
        "last": t.time.max(where=accepted),
        "connectors": t.connector.collect(where=accepted, distinct=True),
    }
    for code in REJECT_REASONS:
        metrics[f"reject_{code}"] = (t._reject == code).cast("int64").sum().fill_null(0)
    row = t.aggregate(**metrics).execute().iloc[0]
    quality = InputQuality(
        files=len(telemetry.files), rows=int(row["rows"]), sources=telemetry.sources
    )
    if row["first"] is not None and row["first"] == row["first"]:  # not null, not NaT
        quality.first_day, quality.last_day = _date(row["first"]), _date(row["last"])
    if row["connectors"] is not None:
        quality.connectors = {str(c) for c in row["connectors"]}
    if int(row["distinct_hashes"]) != int(row["with_id"]):
        exact = t.aggregate(
            distinct_ids=keyed.nunique(where=accepted & t.request_id.notnull())
        ).execute()
        quality.duplicate_rows = int(row["with_id"]) - int(exact["distinct_ids"].iloc[0])
    for code in REJECT_REASONS:
        n = int(row[f"reject_{code}"])
        if n:
            quality.rejects_by_reason[code] = n
            quality.rejected_rows += n
    if quality.rejected_rows:
        bad = t.filter(t._reject.notnull())
        per_file = bad.group_by("_file").aggregate(n=bad.count()).execute()
        given = {path: i for i, path in enumerate(telemetry.files)}
        # In the order the files were given, whatever order the engine returns them in.
        for file, rows in sorted(
            per_file.itertuples(index=False), key=lambda r: (given.get(r[0], len(given)), r[0])
        ):
            quality.rejects_by_file[telemetry.name_of(file)] = int(rows)
        quality.samples = reject_samples(telemetry, quality)
    return quality


def reject_samples(telemetry: Telemetry, quality: InputQuality) -> list[RejectSample]:
    """Locate the first rejected rows, file by file, in the order the files were given."""
    if telemetry.stored_samples is not None:
        return telemetry.stored_samples[:MAX_SAMPLES]
    samples: list[RejectSample] = []
    for path in telemetry.files:
        if telemetry.name_of(path) not in quality.rejects_by_file:
            continue
        numbered = telemetry.numbered(path)
        bad = numbered.filter(numbered._reject.notnull()).order_by("_row")
        records = bad.limit(MAX_SAMPLES - len(samples)).execute().to_dict("records")
        places = telemetry.locations(path, [int(r["_row"]) for r in records])
        for record in records:
            code = record["_reject"]
            unit, number = places[int(record["_row"])]
            value = record.get(f"_raw_{code}")
            samples.append(
                RejectSample(
                    file=telemetry.name_of(path),
                    line=number,
                    unit=unit,
                    reason=REJECT_REASONS.get(code, code),
                    value=value if isinstance(value, str) else None,
                )
            )
        if len(samples) >= MAX_SAMPLES:
            break
    return samples


# ---- the request table -----------------------------------------------------------------


def first_of_each_request(t: ibis.Table) -> ibis.Table:
    """A request_id repeated within its connector counts once: keep its earliest row (rows
    without an id stay; two connectors' requests never count as one)."""
    rank = ibis.row_number().over(
        group_by=[t.connector, t.request_id], order_by=[t.time, t.status, t.fault, t.backend_status]
    )
    t = t.mutate(_rank=rank)
    return t.filter(t.request_id.isnull() | (t._rank == 0)).drop("_rank")


def valid_requests(
    telemetry: Telemetry,
    unattributed_5xx: str,
    quality: InputQuality,
    connectors: Sequence[str] | None = None,
) -> ibis.Table:
    """Accepted rows, duplicates of a request_id removed, with fault and UTC day.

    When the input scan found no rejects (or no duplicates), that step is left out, so the
    engine reads only the columns each query needs.
    """
    t = telemetry.table
    if quality.rejected_rows:
        t = t.filter(t._reject.isnull())
    if connectors:
        t = t.filter(t.connector.isin(list(connectors)))
    if quality.duplicate_rows:
        t = first_of_each_request(t)
    t = attribute(t, unattributed_5xx)
    return t.mutate(day=engine.utc_day(t.time))


def daily_aggregate(requests: ibis.Table) -> ibis.Table:
    """Requests per connector, day, connection, fault and status class: the small table
    from which reliability, SLO, MAC and the daily series are all computed."""
    r = requests
    return r.group_by(
        connector=r.connector,
        day=r.day,
        connection_id=r.connection_id,
        fault=r.fault,
        status_class=(r.status // 100).cast("int16"),
        unattributed=r.unattributed,
        has_user=r.user_id.notnull(),
    ).aggregate(requests=r.weight.sum(), rows=r.count(), max_weight=r.weight.max())


# ---- a check in place --------------------------------------------------------------------


def in_place(
    con: BaseBackend,
    telemetry: Telemetry,
    policy: Policy,
    quality: InputQuality,
    connectors: Sequence[str] | None = None,
) -> Aggregates:
    """One pass over the requests into the rollups an ingest would store, kept in local
    memory; every figure is computed from them, as from a store or an export."""
    requests = valid_requests(telemetry, DEFAULT_UNATTRIBUTED, quality, connectors)
    tables = engine.local_tables(con, build_all(con, requests))
    unattributed = policy.attribution.unattributed_5xx

    def between(first: dt.date, last: dt.date) -> ibis.Table:
        r = valid_requests(telemetry, unattributed, quality, connectors)
        return r.filter((r.time >= _utc(first)) & (r.time < _utc(last + dt.timedelta(days=1))))

    return aggregates_of(tables, unattributed, between)


def _date(value) -> dt.date:
    """A time (pandas or Python) as its UTC day."""
    if hasattr(value, "tz_convert") and value.tzinfo is not None:
        value = value.tz_convert("UTC")
    return value.date() if hasattr(value, "date") else value


def _utc(day: dt.date) -> ibis.Value:
    """Midnight UTC of a day, as a zone-aware literal comparable with `time`."""
    return ibis.literal(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC))
