"""Where requests become rollups: the one pass over the canonical requests, on the engine
that reads them (DuckDB, or Spark), with the input quality counted on the way.

`roll_up` is the one function. A check of files in place keeps what it returns in memory
(`local.Rollups`), an ingest persists it in the store (over the new rows only), an export
holds the store's as Parquet; nothing after it reads a request (but a watch's last hours,
`burn_buckets`: its windows end at any moment, not at the end of a day).

The requests are read by two statements, whatever the connectors and features asked:
- one GROUPING SETS query that groups every row once per set: the finest grain of the
  three per-day rollups (connector, day, connection, operation, fault, status, error
  reason), and the users of each ISO week; every set is keyed by the reject reason too,
  so the rows read and rejected (by reason), and those with a request id, are counted by
  the same statement;
- whether a request id repeats: the distinct 64-bit hashes of connector and id, as many
  as the rows with an id when none does (the bare cost of deduplication: the one
  aggregate whose groups are the requests themselves, which measured faster as a
  statement of its own than as a third grouping set).
Only bad input costs more: repeated ids are deduplicated (the earliest row of each) by a
window in the grouping query, run again, and rejected rows are located file by file.

The grouped rows come back to this process (Arrow) and the four rollups are cut from them
by the local session (`_DERIVE`), attributed with the default rule (an unattributed 5xx is
a connector fault), each keeping the `unattributed` flag so a policy that counts those as
backend faults re-attributes them when it reads (`local.Rollups`):
- `daily`: requests per connector, day, connection, fault, status class;
- `weekly_users`: the distinct users of each connector and ISO week, as the ids themselves,
  so WAU stays an exact count whatever ingests added to a week;
- `operations`: requests per connector, day, operation, fault, status, error reason;
- `connection_operations`: connector faults per connector, day, connection and operation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis
from ibis.backends import BaseBackend

from . import engine
from .attribution import attribute
from .metrics.local import NAMES, SCHEMAS, Rollups, raw_name
from .metrics.model import InputQuality, RejectSample
from .schema import DEFAULT_UNATTRIBUTED, REJECT_REASONS
from .snapshot import quoted
from .sources import Telemetry

__all__ = ["NAMES", "SCHEMAS", "roll_up", "Pass", "check_in_place"]

MAX_SAMPLES = 10

# table -> (its key columns, {measure: how two rows of one key merge}): an ingest's merge
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


def day_column(name: str) -> str:
    """The column that says which UTC day (or ISO week) a rollup row belongs to."""
    return "week" if name == "weekly_users" else "day"


# ---- the grouping ------------------------------------------------------------------------

# The finest grain of the per-day rollups, and the users of a week: every requests row is
# grouped once into each (`_reject` first: rejected rows fall into groups of their own).
FINE = (
    "connector",
    "day",
    "connection_id",
    "operation",
    "fault",
    "status",
    "error_reason",
    "unattributed",
    "has_user",
    "has_id",  # the rows with a request id, counted: whether ids may repeat (`repeated_ids`)
)
USERS = ("connector", "week", "user_id")
GROUPED_COLUMNS = ("_reject", *FINE, "week", "user_id")


def _keyed(requests: ibis.Table) -> ibis.Table:
    """The requests as the grouping sets read them: every key column of every set."""
    r = requests
    day = engine.day_number(r.time)
    return r.select(
        _reject=r._reject if "_reject" in r.columns else ibis.null("string"),
        connector=r.connector,
        day=day,
        connection_id=r.connection_id,
        operation=r.operation,
        fault=r.fault,
        status=r.status.cast("int64"),
        error_reason=r.error_reason,
        unattributed=r.unattributed,
        has_user=r.user_id.notnull(),
        has_id=r.request_id.notnull(),
        week=engine.monday_number(day),
        user_id=r.user_id,
        weight=r.weight,
    )


def _grouping_sql(inner: str) -> str:
    sets = f"(_reject, {', '.join(FINE)}), (_reject, {', '.join(USERS)})"
    return (
        f"SELECT {', '.join(GROUPED_COLUMNS)}, grouping(week) AS in_fine, "
        "sum(weight) AS requests, count(*) AS rows, max(weight) AS max_weight "
        f"FROM ({inner}) AS keyed GROUP BY GROUPING SETS ({sets})"
    )


# The four rollups, cut from the grouped rows (`grouped`: a view of the accepted rows of
# the connectors asked, days as dates) by the local session: SQL that DuckDB runs on a few
# hundred thousand rows.
_DERIVE = {
    "daily": "SELECT connector, day, connection_id, fault, (status // 100)::SMALLINT, "
    "unattributed, has_user, sum(requests), sum(rows), max(max_weight) FROM grouped "
    "WHERE in_fine = 1 GROUP BY ALL",
    "weekly_users": "SELECT connector, week, user_id FROM grouped "
    "WHERE in_fine = 0 AND user_id IS NOT NULL",
    "operations": "SELECT connector, day, operation, fault, status, error_reason, unattributed, "
    "sum(requests) FROM grouped WHERE in_fine = 1 GROUP BY ALL",
    "connection_operations": "SELECT connector, day, connection_id, operation, unattributed, "
    "sum(requests) FROM grouped WHERE in_fine = 1 AND fault = 'connector' "
    "AND connection_id IS NOT NULL GROUP BY ALL",
}


@dataclass
class Pass:
    """What one pass over requests yields: the four rollups (of the accepted rows of the
    connectors asked, held by a local session) and what was counted on the way."""

    session: object  # duckdb connection holding rollup_<name>
    rows: int = 0
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    connectors: set[str] = field(default_factory=set)  # of the accepted rows asked for
    seen: set[str] = field(default_factory=set)  # of every accepted row, asked for or not
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    repeats: int = 0  # rows that repeat a request id (of the connectors asked): not counted
    with_id: int = 0  # rows with a request id (of the connectors asked), rejected ones too

    def arrow(self, name: str):
        """A rollup as an Arrow table (what an ingest merges into the store)."""
        return self.session.sql(f"SELECT * FROM {raw_name(name)}").to_arrow_table()

    def rollups(self, unattributed_5xx: str) -> Rollups:
        """The rollups as the evaluation reads them, under a policy's attribution."""
        return Rollups(self.session, unattributed_5xx)


def roll_up(
    con: BaseBackend,
    requests: ibis.Table,
    connectors: Sequence[str] | None = None,
    *,
    deduplicate: bool = False,
) -> Pass:
    """The one pass: group every requests row (a canonical table, `_reject` optional) once,
    and cut the four rollups from the groups locally. `connectors` keeps those only (the
    rows read and rejected are counted over all); `deduplicate` keeps the earliest row of
    each repeated request id (within its connector)."""
    t = requests
    if deduplicate:
        t = _repeats_marked(t)
    t = attribute(t, DEFAULT_UNATTRIBUTED)
    query = _grouping_sql(str(con.compile(_keyed(t))))
    grouped = engine.fetch_arrow(con, query)
    session = Rollups.session()
    session.register("cga_grouped", grouped)
    counted = Pass(session)
    try:
        keep = ""  # a view takes no parameter: the names are quoted into it
        if connectors:
            keep = " AND connector IN (" + ", ".join(quoted(c) for c in connectors) + ")"
        session.execute(
            "CREATE TEMP VIEW grouped AS SELECT * REPLACE (DATE '1970-01-01' + day::INTEGER "
            "AS day, DATE '1970-01-01' + week::INTEGER AS week) FROM cga_grouped "
            f"WHERE _reject IS NULL{keep}"
        )
        asked = set(connectors) if connectors else None
        for reject, connector, has_id, rows in session.execute(
            "SELECT _reject, connector, has_id, sum(rows) FROM cga_grouped WHERE in_fine = 1 "
            "GROUP BY ALL"
        ).fetchall():
            rows = int(rows)
            counted.rows += rows
            mine = asked is None or connector in asked
            if reject is None:
                counted.seen.add(connector)
            if has_id and mine:
                counted.with_id += rows
            if reject == REPEAT:
                counted.repeats += rows if mine else 0
            elif reject is not None:
                counted.rejects_by_reason[reject] = counted.rejects_by_reason.get(reject, 0) + rows
        for name in NAMES:
            session.execute(f"INSERT INTO {raw_name(name)} {_DERIVE[name]}")
        span = session.execute(
            "SELECT min(day), max(day), list(DISTINCT connector) FROM rollup_daily"
        ).fetchone()
    finally:
        session.execute("DROP VIEW IF EXISTS grouped")
        session.unregister("cga_grouped")
    if span[0] is not None:
        counted.first_day, counted.last_day = span[0], span[1]
        counted.connectors = set(span[2])
    return counted


REPEAT = "(repeat)"  # the grouping's mark of a row whose request id came earlier


def _repeats_marked(t: ibis.Table) -> ibis.Table:
    """Every row but the earliest of each repeated request id marked as such (`_reject`),
    so the grouping counts it as read and keeps it out of the rollups."""
    accepted = t._reject.isnull() if "_reject" in t.columns else ibis.literal(True)
    rank = ibis.row_number().over(
        group_by=[t.connector, t.request_id, accepted],
        order_by=[t.time, t.status, t.fault, t.backend_status],
    )
    repeat = accepted & t.request_id.notnull() & (rank > 0)
    reject = t._reject if "_reject" in t.columns else ibis.null("string")
    return t.mutate(_reject=ibis.ifelse(repeat, ibis.literal(REPEAT), reject))


def first_of_each_request(t: ibis.Table) -> ibis.Table:
    """A request_id repeated within its connector counts once: keep its earliest row (rows
    without an id stay; two connectors' requests never count as one; a rejected row is
    no request, and keeps no other row out)."""
    accepted = t._reject.isnull() if "_reject" in t.columns else ibis.literal(True)
    rank = ibis.row_number().over(
        group_by=[t.connector, t.request_id, accepted],
        order_by=[t.time, t.status, t.fault, t.backend_status],
    )
    t = t.mutate(_rank=rank)
    return t.filter(t.request_id.isnull() | (t._rank == 0) | ~accepted).drop("_rank")


# ---- the input's quality alone (an ingest: its rollups are of the new rows it keeps) ------


def input_quality(telemetry: Telemetry) -> InputQuality:
    """One scan: rows read, rejected (by reason), request ids repeated among accepted rows,
    days and connectors; rejected rows located by file (bad input only)."""
    t = telemetry.table
    accepted = t._reject.isnull()
    metrics = {
        "rows": t.count(),
        "with_id": t.request_id.count(where=accepted),
        # A request_id repeats within its connector only: two connectors' logs may share ids.
        "distinct_hashes": engine.id_hash(t.connector, t.request_id).nunique(
            where=accepted & t.request_id.notnull()
        ),
        "first": engine.utc_day(t.time).min(where=accepted),
        "last": engine.utc_day(t.time).max(where=accepted),
        "connectors": t.connector.collect(where=accepted, distinct=True),
    }
    for code in REJECT_REASONS:
        metrics[f"reject_{code}"] = (t._reject == code).cast("int64").sum().fill_null(0)
    (row,) = engine.fetch_rows(telemetry.con, t.aggregate(**metrics))
    quality = InputQuality(files=len(telemetry.files), rows=int(row["rows"]))
    quality.sources = telemetry.sources
    quality.first_day, quality.last_day = row["first"], row["last"]
    quality.connectors = set(row["connectors"] or [])
    if int(row["distinct_hashes"]) != int(row["with_id"]):
        quality.duplicate_rows = _exact_repeats(telemetry, telemetry.table.request_id.notnull())
    _count_rejects(telemetry, quality, {code: row[f"reject_{code}"] for code in REJECT_REASONS})
    return quality


def _count_rejects(telemetry: Telemetry, quality: InputQuality, counts: dict) -> None:
    """The rejected rows by reason, in the schema's order; where they are (bad input only)."""
    for code in REJECT_REASONS:
        n = int(counts.get(code) or 0)
        if n:
            quality.rejects_by_reason[code] = n
            quality.rejected_rows += n
    if quality.rejected_rows:
        _locate_rejects(telemetry, quality)


# ---- a check of files in place -------------------------------------------------------------


def repeated_ids(
    telemetry: Telemetry, with_id: int, connectors: Sequence[str] | None = None
) -> int:
    """How many rows repeat a request id, given how many rows have one (the grouping counts
    them, rejected rows included). As many distinct 64-bit hashes of (connector, id) as
    rows with an id proves that none repeats: 0 (a rejected row only adds ids). Fewer (a
    repeat, or a hash collision) is settled exactly, among the accepted rows."""
    t = telemetry.table
    scope = t.request_id.notnull()
    if connectors:
        scope = scope & t.connector.isin(list(connectors))
    f = t.filter(scope)
    hashes = f.select(h=engine.id_hash(f.connector, f.request_id)).distinct()
    (row,) = engine.fetch_rows(telemetry.con, hashes.aggregate(n=hashes.count()))
    if int(row["n"] or 0) == with_id:
        return 0
    return _exact_repeats(telemetry, scope)


def _exact_repeats(telemetry: Telemetry, scope: ibis.Value) -> int:
    """Rows repeating a request id among the accepted rows in `scope`, by the ids themselves."""
    t = telemetry.table
    accepted = t.filter(scope & t._reject.isnull())
    keyed = accepted.connector.concat("\x1f", accepted.request_id)
    exact = accepted.aggregate(with_id=accepted.count(), distinct=keyed.nunique())
    (row,) = engine.fetch_rows(telemetry.con, exact)
    return int(row["with_id"] or 0) - int(row["distinct"] or 0)


def check_in_place(
    telemetry: Telemetry, connectors: Sequence[str] | None = None
) -> tuple[Pass, InputQuality]:
    """Files read in place, once: their rollups and their quality (rows read and rejected,
    by reason and file, the first rejected rows, repeated request ids, days, connectors)."""
    counted = roll_up(telemetry.con, telemetry.table, connectors)
    if repeated_ids(telemetry, counted.with_id, connectors):  # the earliest of each counts
        counted.session.close()
        counted = roll_up(telemetry.con, telemetry.table, connectors, deduplicate=True)
    quality = InputQuality(
        files=len(telemetry.files),
        rows=counted.rows,
        sources=telemetry.sources,
        duplicate_rows=counted.repeats,
        first_day=counted.first_day,
        last_day=counted.last_day,
        connectors=counted.connectors,
    )
    _count_rejects(telemetry, quality, counted.rejects_by_reason)
    return counted, quality


def _locate_rejects(telemetry: Telemetry, quality: InputQuality) -> None:
    """Bad input only: the rejected rows per file, and the first of them with file and line."""
    t = telemetry.table
    bad = t.filter(t._reject.notnull())
    per_file = engine.fetch_rows(telemetry.con, bad.group_by("_file").aggregate(n=bad.count()))
    given = {path: i for i, path in enumerate(telemetry.files)}
    # In the order the files were given, whatever order the engine returns them in.
    for row in sorted(per_file, key=lambda r: (given.get(r["_file"], len(given)), r["_file"])):
        quality.rejects_by_file[telemetry.name_of(row["_file"])] = int(row["n"])
    quality.samples = reject_samples(telemetry, quality)


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
        records = engine.fetch_rows(telemetry.con, bad.limit(MAX_SAMPLES - len(samples)))
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


def valid_requests(
    telemetry: Telemetry,
    unattributed_5xx: str,
    quality: InputQuality,
    connectors: Sequence[str] | None = None,
) -> ibis.Table:
    """Accepted rows, duplicates of a request_id removed, attributed (a watch's last hours)."""
    t = telemetry.table
    if quality.duplicate_rows:
        t = first_of_each_request(t)
    if quality.rejected_rows:
        t = t.filter(t._reject.isnull())
    if connectors:
        t = t.filter(t.connector.isin(list(connectors)))
    return attribute(t, unattributed_5xx)


# ---- a watch's last hours ------------------------------------------------------------------


def _literal(moment: dt.datetime) -> ibis.Value:
    return ibis.literal(moment, type="timestamp('UTC')")


def latest_time(con: BaseBackend, requests: ibis.Table) -> dt.datetime | None:
    """The latest request's time (read from the requests of the latest day only)."""
    (row,) = engine.fetch_rows(con, requests.aggregate(latest=requests.time.max()))
    value = row["latest"]
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def burn_buckets(
    con: BaseBackend, requests: ibis.Table, at: dt.datetime, minutes: int
) -> list[tuple]:
    """Eligible requests and connector faults per connector and 5-minute bucket counted
    back from `at` (bucket k holds (at − (k+1)·5 min, at − k·5 min]), over `minutes`: rows
    of (connector, bucket, eligible, connector faults).

    The requests after `at` on at's UTC day come as one bucket, -1: the check's figures
    are those of whole days, and the budget must end at `at` like the burn windows."""
    from .policy import BURN_STEP_MINUTES

    step = BURN_STEP_MINUTES * 60 * 1_000_000
    r = requests
    end_of_day = dt.datetime.combine(at.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    r = r.filter(
        (r.time > _literal(at - dt.timedelta(minutes=minutes))) & (r.time < _literal(end_of_day))
    )
    back = _literal(at).delta(r.time, unit="microsecond")
    bucket = ibis.ifelse(r.time > _literal(at), -1, back // step)
    grouped = r.group_by(connector=r.connector, bucket=bucket).aggregate(
        eligible=r.weight.sum(where=r.fault != "throttled").fill_null(0),
        connector_faults=r.weight.sum(where=r.fault == "connector").fill_null(0),
    )
    rows = engine.fetch_rows(con, grouped)
    return [(x["connector"], x["bucket"], x["eligible"], x["connector_faults"]) for x in rows]
