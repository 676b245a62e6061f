"""Where rollups become metrics: every metric of a connector as of a date, from the rollups
held in the local session (`local.Rollups`).

The rollups come from `rollups.py` (requests read once, in place) or from a store or an
export; this module never sees a request nor the engine that read them. `series`
computes the metrics from them, for one date or many.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ..policy import Policy
from .local import Rollups
from .model import ConnectorMetrics, OperationCounts
from .series import metric_series


def metrics_as_of(
    r: Rollups, policy: Policy, as_of: dt.date, names: Sequence[str]
) -> dict[str, ConnectorMetrics]:
    """Every metric of each named connector as of one date, with the per-day points of its
    window and its operations."""
    known = {name: r.spans[name] for name in names}
    series = metric_series(r, policy, [as_of], known, chart_points=True)
    results = {name: days[0] for name, days in series.items()}
    if results:
        _operations(r, results)
    return results


def _operations(r: Rollups, results: dict[str, ConnectorMetrics]) -> None:
    """Per operation in the window: eligible requests, connector faults and successes."""
    windows = {(m.window_start, m.window_end) for m in results.values()}
    ((start, end),) = windows  # one date for every connector
    rows = r.rows(
        "SELECT connector, coalesce(operation, '(none)'), "
        "coalesce(sum(requests) FILTER (WHERE fault <> 'throttled'), 0), "
        "coalesce(sum(requests) FILTER (WHERE fault = 'connector'), 0), "
        "coalesce(sum(requests) FILTER (WHERE fault <> 'throttled' AND status < 400), 0) "
        "FROM operations WHERE day BETWEEN ? AND ? AND list_contains(?, connector) "
        "GROUP BY ALL",
        [start, end, list(results)],
    )
    for connector, operation, eligible, faults, successes in rows:
        results[connector].operations.append(
            OperationCounts(
                operation=operation,
                eligible=int(eligible),
                connector_faults=int(faults),
                successes=int(successes),
            )
        )
    for m in results.values():
        m.operations.sort(key=lambda o: (-o.connector_faults, -o.eligible, o.operation))
