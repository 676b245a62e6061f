"""The requests, read once into what the metrics need: DESIGN.md's definitions as Ibis
expressions, executed at the edge.

A check in place reads the requests twice: the input's quality (rows, rejects, repeated
request ids), then one query that yields the four rollups (`rollups.build_all`). Everything
later works on those rollups, as from a store or an export (`aggregates_of`); `series`
computes the metrics from them, for one date or many.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ibis
from ibis.backends import BaseBackend

from .. import engine
from ..attribution import attribute
from ..policy import Policy
from ..schema import REJECT_REASONS
from ..sources import Telemetry
from .model import ConnectorMetrics, InputQuality, OperationCounts, RejectSample
from .series import Span, WeeklyUsers, metric_series, spans

MAX_SAMPLES = 10


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
    }
    for code in REJECT_REASONS:
        metrics[f"reject_{code}"] = (t._reject == code).cast("int64").sum().fill_null(0)
    row = t.aggregate(**metrics).execute().iloc[0]
    quality = InputQuality(
        files=len(telemetry.files), rows=int(row["rows"]), sources=telemetry.sources
    )
    if row["first"] is not None and row["first"] == row["first"]:  # not null, not NaT
        quality.first_day, quality.last_day = _date(row["first"]), _date(row["last"])
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


# ---- the computation -------------------------------------------------------------------


RequestsBetween = Callable[[dt.date, dt.date], ibis.Table]


@dataclass
class Aggregates:
    """What every metric is computed from, however the telemetry is kept: the daily
    aggregate, each connector's span, distinct users per ISO week, and weighted
    request-shaped tables (a `weight` and a `day` column) for the operations, the
    connections and their operations — the requests themselves when read in place, the
    rollups of a store or an export otherwise. `requests_between` gives the valid, attributed
    requests of some days (a watch's last three)."""

    daily: ibis.Table
    spans: dict[str, Span]
    weekly_users: WeeklyUsers
    operations: ibis.Table
    connections: ibis.Table
    connection_operations: ibis.Table
    requests_between: RequestsBetween

    @property
    def latest_day(self) -> dt.date | None:
        return max((s.last for s in self.spans.values()), default=None)


def aggregate(
    con: BaseBackend,
    telemetry: Telemetry,
    policy: Policy,
    quality: InputQuality,
    connectors: Sequence[str] | None = None,
) -> Aggregates:
    """One pass over the requests into the rollups an ingest would store, kept in local
    memory; every figure is computed from them, as from a store or an export."""
    from .. import rollups

    requests = valid_requests(telemetry, rollups.DEFAULT_UNATTRIBUTED, quality, connectors)
    tables = engine.local_tables(con, rollups.build_all(con, requests))
    unattributed = policy.attribution.unattributed_5xx

    def between(first: dt.date, last: dt.date) -> ibis.Table:
        r = valid_requests(telemetry, unattributed, quality, connectors)
        return r.filter((r.time >= _utc(first)) & (r.time < _utc(last + dt.timedelta(days=1))))

    return aggregates_of(tables, unattributed, between)


def aggregates_of(
    tables: dict[str, ibis.Table], unattributed_5xx: str, between: RequestsBetween
) -> Aggregates:
    """The aggregates of a check from the four rollups (in place, a store or an export
    alike), read under the policy's attribution of unattributed 5xx."""
    from .. import rollups

    daily = rollups.daily_view(tables["daily"], unattributed_5xx)
    return Aggregates(
        daily=daily,
        spans=spans(daily),
        weekly_users=rollups.weekly_users_view(tables["weekly_users"]),
        operations=rollups.operations_view(tables["operations"], unattributed_5xx),
        connections=rollups.connections_view(daily),
        connection_operations=rollups.connection_operations_view(
            tables["connection_operations"], unattributed_5xx
        ),
        requests_between=between,
    )


def metrics_as_of(
    aggs: Aggregates, policy: Policy, as_of: dt.date, names: Sequence[str]
) -> dict[str, ConnectorMetrics]:
    """Every metric of each named connector as of one date, with the per-day points of its
    window and, read in place, its operations."""
    known = {name: aggs.spans[name] for name in names}
    series = metric_series(aggs.daily, aggs.weekly_users, policy, [as_of], known, chart_points=True)
    results = {name: days[0] for name, days in series.items()}
    if results:
        windows = [
            {"connector": n, "w_start": m.window_start, "w_end": m.window_end}
            for n, m in results.items()
        ]
        _operations(aggs.operations, windows, results)
    return results


def _date(value) -> dt.date:
    """A time (pandas or Python) as its UTC day."""
    if hasattr(value, "tz_convert") and value.tzinfo is not None:
        value = value.tz_convert("UTC")
    return value.date() if hasattr(value, "date") else value


def _utc(day: dt.date) -> ibis.Value:
    """Midnight UTC of a day, as a zone-aware literal comparable with `time`."""
    return ibis.literal(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC))


def _windows_table(rows: list[dict]) -> ibis.Table:
    return ibis.memtable(
        rows, schema=ibis.schema({"connector": "string", "w_start": "date", "w_end": "date"})
    )


def in_windows(table: ibis.Table, windows: list[dict]) -> ibis.Table:
    """Rows of a rollup inside their connector's reliability window (by day)."""
    spans = {(w["w_start"], w["w_end"]) for w in windows}
    if len(spans) == 1:
        ((start, end),) = spans
        return table.filter((table.day >= start) & (table.day <= end))
    joined = table.join(_windows_table(windows), "connector")
    return joined.filter((joined.day >= joined.w_start) & (joined.day <= joined.w_end))


def _operations(table: ibis.Table, windows: list[dict], results: dict[str, ConnectorMetrics]):
    """Per operation in the window: eligible requests, connector faults and successes."""
    w = in_windows(table.filter(table.connector.isin(list(results))), windows)  # a subset too
    eligible = w.fault != "throttled"
    ops = (
        w.group_by(connector=w.connector, operation=w.operation.fill_null("(none)"))
        .aggregate(
            eligible=w.weight.sum(where=eligible).fill_null(0),
            connector_faults=w.weight.sum(where=w.fault == "connector").fill_null(0),
            successes=w.weight.sum(where=eligible & (w.status < 400)).fill_null(0),
        )
        .execute()
    )
    for row in ops.itertuples(index=False):
        results[row.connector].operations.append(
            OperationCounts(
                operation=row.operation,
                eligible=int(row.eligible),
                connector_faults=int(row.connector_faults),
                successes=int(row.successes),
            )
        )
    for m in results.values():
        m.operations.sort(key=lambda o: (-o.connector_faults, -o.eligible, o.operation))
