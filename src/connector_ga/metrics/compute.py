"""Where rollups become metrics: the rollup tables (materialised, local) read under the
policy's attribution, and every metric of a connector as of a date.

The rollups come from `rollups.py` (requests read once, in place) or from a store or an
export; this module never sees a request nor the engine that read them. `series`
computes the metrics from them, for one date or many.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ibis

from ..attribution import DEFAULT_UNATTRIBUTED
from ..policy import Policy
from .model import ConnectorMetrics, OperationCounts
from .series import RememberedWeeks, Span, WeeklyUsers, metric_series, spans

MAX_SAMPLES = 10


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


def aggregates_of(
    tables: dict[str, ibis.Table], unattributed_5xx: str, between: RequestsBetween
) -> Aggregates:
    """The aggregates of a check from the four rollups (in place, a store or an export
    alike), read under the policy's attribution of unattributed 5xx."""
    daily = daily_view(tables["daily"], unattributed_5xx)
    return Aggregates(
        daily=daily,
        spans=spans(daily),
        weekly_users=weekly_users_view(tables["weekly_users"]),
        operations=operations_view(tables["operations"], unattributed_5xx),
        connections=connections_view(daily),
        connection_operations=connection_operations_view(
            tables["connection_operations"], unattributed_5xx
        ),
        requests_between=between,
    )


# ---- the rollups as the metrics read them ------------------------------------------------


def _fault(t: ibis.Table, unattributed_5xx: str) -> ibis.Value:
    if unattributed_5xx == DEFAULT_UNATTRIBUTED:
        return t.fault
    return ibis.ifelse(t.unattributed, ibis.literal(unattributed_5xx), t.fault)


def daily_view(daily: ibis.Table, unattributed_5xx: str) -> ibis.Table:
    """The daily rollup as the daily aggregate of a check under this attribution."""
    return daily.mutate(fault=_fault(daily, unattributed_5xx))


def operations_view(operations: ibis.Table, unattributed_5xx: str) -> ibis.Table:
    """Per operation as the fix plan and a check's operations read requests: weighted rows
    with `weight`."""
    o = operations
    return o.select(
        connector=o.connector,
        day=o.day,
        operation=o.operation,
        fault=_fault(o, unattributed_5xx),
        status=o.status,
        error_reason=o.error_reason,
        weight=o.requests,
    )


def connections_view(daily: ibis.Table) -> ibis.Table:
    """Per connection (the fix plan's availability per connection): weighted rows."""
    return daily.select(
        connector=daily.connector,
        day=daily.day,
        connection_id=daily.connection_id,
        fault=daily.fault,
        weight=daily.requests,
    )


def connection_operations_view(table: ibis.Table, unattributed_5xx: str) -> ibis.Table:
    """Connector faults per connection and operation: weighted rows with fault 'connector'."""
    t = table
    if unattributed_5xx != DEFAULT_UNATTRIBUTED:
        t = t.filter(~t.unattributed)  # those are backend faults under this policy
    return t.select(
        connector=t.connector,
        day=t.day,
        connection_id=t.connection_id,
        operation=t.operation,
        fault=ibis.literal("connector"),
        weight=t.connector_faults,
    )


def weekly_users_view(table: ibis.Table) -> WeeklyUsers:
    """Distinct users per connector and ISO week, from the stored ids."""

    def count(names: Sequence[str], first: dt.date, last: dt.date):
        t = table.filter(
            (table.week >= first) & (table.week <= last) & table.connector.isin(list(names))
        )
        rows = t.group_by("connector", "week").aggregate(users=t.user_id.nunique()).execute()
        return {
            (row.connector, row.week.date() if hasattr(row.week, "date") else row.week): int(
                row.users
            )
            for row in rows.itertuples(index=False)
        }

    return RememberedWeeks(count)


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
