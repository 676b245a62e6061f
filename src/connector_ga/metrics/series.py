"""Every metric of DESIGN.md for a list of evaluation dates, from the daily aggregate.

A check is the list of one date D; a history is a range of dates; a forecast is a range of
future dates over the daily aggregate extended with projected days. The same functions
compute all three, so a day of a history equals `check --as-of` that day in every figure.

Each query reads the small daily rollup (a table of the local session, `local.Rollups`)
once for the whole list of dates:
- reliability: per-day counts, summed over each date's window in Python;
- SLO: each connection's window sums change only on the days a request enters or leaves
  the window, so a running sum over those events (a window function) gives, per day, how
  many connections have eligible requests and how many meet the bar;
- MAC: each connection's active days merged into islands of coverage, counted per day;
- WAU: distinct users per ISO week (from the requests, or a store's weekly rollup).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from ..policy import Policy
from .model import FAULT_KINDS, ConnectorMetrics, DayCounts, WeekCount

if TYPE_CHECKING:
    from .local import Rollups

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Span:
    """A connector's telemetry: first and last UTC day, and whether rows are sampled."""

    first: dt.date
    last: dt.date
    weighted: bool


@dataclass
class Counts:
    """Weighted request counts that add up over days (and subtract, for a sliding window)."""

    requests: int = 0
    successes: int = 0
    faults: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAULT_KINDS, 0))
    rows_without_connection: int = 0
    rows_without_user: int = 0
    unattributed: int = 0

    def add(self, other: Counts, sign: int = 1) -> None:
        self.requests += sign * other.requests
        self.successes += sign * other.successes
        for kind, n in other.faults.items():
            self.faults[kind] += sign * n
        self.rows_without_connection += sign * other.rows_without_connection
        self.rows_without_user += sign * other.rows_without_user
        self.unattributed += sign * other.unattributed


# A function that counts distinct users per (connector, ISO week Monday) for Mondays in
# [first, last]: the requests' user ids in place, a store's weekly rollup otherwise.
WeeklyUsers = Callable[[Sequence[str], dt.date, dt.date], dict[tuple[str, dt.date], int]]


def _date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def spans(r: Rollups, daily: str = "daily") -> dict[str, Span]:
    rows = r.rows(f"SELECT connector, min(day), max(day), max(max_weight) FROM {daily} GROUP BY 1")
    return {c: Span(_date(first), _date(last), int(w) > 1) for c, first, last, w in rows}


def last_sunday(day: dt.date) -> dt.date:
    """The latest Sunday on or before `day` (a week is complete when its Sunday ≤ D)."""
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def iso_week_label(monday: dt.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def wau_mondays(as_of: dt.date, weeks: int) -> list[dt.date]:
    """The Mondays of the last `weeks` complete ISO weeks as of a date, oldest first."""
    sunday = last_sunday(as_of)
    return [sunday - dt.timedelta(days=6 + 7 * k) for k in range(weeks - 1, -1, -1)]


def _scope(lo: dt.date, hi: dt.date, names: Sequence[str] | None) -> tuple[str, list]:
    """The WHERE clause (and its parameters) of a connector's days in [lo, hi]."""
    if names is None:
        return "day BETWEEN ? AND ?", [lo, hi]
    return "day BETWEEN ? AND ? AND list_contains(?, connector)", [lo, hi, list(names)]


# ---- reliability -------------------------------------------------------------------------


def per_day_counts(
    r: Rollups, names: Sequence[str], lo: dt.date, hi: dt.date, daily: str = "daily"
) -> tuple[dict[str, dict[dt.date, Counts]], dict[str, dict[dt.date, DayCounts]]]:
    """Counts per connector and day in [lo, hi], and the same as chart points."""
    where, params = _scope(lo, hi, names)
    rows = r.rows(
        "SELECT connector, day, fault, status_class, sum(requests), "
        "coalesce(sum(rows) FILTER (WHERE conn IS NULL), 0), "
        "coalesce(sum(rows) FILTER (WHERE NOT has_user), 0), "
        "coalesce(sum(requests) FILTER (WHERE unattributed), 0) "
        f"FROM {daily} WHERE {where} GROUP BY ALL",
        params,
    )
    counts: dict[str, dict[dt.date, Counts]] = {}
    points: dict[str, dict[dt.date, DayCounts]] = {}
    for connector, day, fault, status_class, n, no_connection, no_user, unattributed in rows:
        day, n, status_class = _date(day), int(n), int(status_class)
        c = counts.setdefault(connector, {}).setdefault(day, Counts())
        p = points.setdefault(connector, {}).setdefault(day, DayCounts(date=day))
        success = fault != "throttled" and 1 <= status_class <= 3
        c.requests += n
        c.faults[fault] += n
        c.rows_without_connection += int(no_connection)
        c.rows_without_user += int(no_user)
        c.unattributed += int(unattributed)
        p.requests += n
        p.faults[fault] += n
        label = f"{status_class}xx"
        p.status_classes[label] = p.status_classes.get(label, 0) + n
        if fault != "throttled":
            p.eligible += n
        if success:
            c.successes += n
            p.successes += n
    for per in points.values():
        for p in per.values():
            # Rows come in the engine's order: the JSON lists classes the same on every run.
            p.status_classes = dict(sorted(p.status_classes.items()))
    return counts, points


def rolling(per_day: dict[dt.date, Counts], targets: Sequence[dt.date], days: int) -> list[Counts]:
    """The counts over [d - days + 1, d] for each target d (targets ascending)."""
    ordered = sorted(per_day)
    total, out = Counts(), []
    entered = left = 0
    for d in targets:
        while entered < len(ordered) and ordered[entered] <= d:
            total.add(per_day[ordered[entered]])
            entered += 1
        start = d - dt.timedelta(days=days - 1)
        while left < entered and ordered[left] < start:
            total.add(per_day[ordered[left]], -1)
            left += 1
        snapshot = Counts()
        snapshot.add(total)
        out.append(snapshot)
    return out


# ---- SLO ---------------------------------------------------------------------------------


def meets_sql(eligible: str, faults: str, bar: Fraction, strict: bool) -> str:
    """SQL: a connection's availability (eligible − faults) ÷ eligible against the bar,
    exactly, in integers: (e − f)·den ≥ e·num (> for a strict comparison)."""
    left = f"({eligible} - {faults}) * {bar.denominator}"
    right = f"{eligible} * {bar.numerator}"
    return f"{left} {'>' if strict else '>='} {right}"


def slo_deltas(
    r: Rollups,
    policy: Policy,
    lo: dt.date,
    hi: dt.date,
    names: Sequence[str] | None = None,
    daily: str = "daily",
) -> dict[str, list[tuple[dt.date, int, int]]]:
    """Per connector, the days on which the number of connections with eligible requests in
    the window, and of those meeting the bar, change: (day, Δconnections, Δmeeting).

    A connection's window sums change only when one of its days enters (that day) or leaves
    (that day + window) the window: a running sum over those events gives its sums at each
    event, hence its state; a change of state is a delta for the connector. `names` limits
    it to those connectors (default: all).
    """
    window = int(policy.window.reliability_days)
    rule = policy.criteria.availability
    bar, strict = rule.exact_threshold, rule.comparison == ">"
    where, params = _scope(lo - dt.timedelta(days=window - 1), hi, names)
    per = f"""
        SELECT connector, conn, day,
            coalesce(sum(requests) FILTER (WHERE fault <> 'throttled'), 0) AS e,
            coalesce(sum(requests) FILTER (WHERE fault = 'connector'), 0) AS f
        FROM {daily} WHERE {where} AND conn IS NOT NULL GROUP BY ALL"""
    out: dict[str, list[tuple[dt.date, int, int]]] = {}
    if lo == hi:  # one day (a check, a watch): the window's sums themselves, no running sum
        rows = r.rows(
            f"""
            WITH sums AS (
                SELECT connector, conn, sum(e) AS e, sum(f) AS f FROM ({per}) GROUP BY ALL
            )
            SELECT connector, count(*) FILTER (WHERE e >= 1),
                count(*) FILTER (WHERE e >= 1 AND {meets_sql("e", "f", bar, strict)})
            FROM sums GROUP BY ALL
            """,
            params,
        )
        return {connector: [(lo, int(n), int(m))] for connector, n, m in rows}
    # Many days (a history, a forecast): each connection's eligible requests and connector
    # faults per day as a dense (connections × days) array, whose running sums give every
    # day's window at once (NumPy; a window function over 700k rows took 0.4 s).
    first = lo - dt.timedelta(days=window - 1)
    columns = r.columns(
        "SELECT conn, (day - ?::DATE)::BIGINT AS day, e::BIGINT AS e, f::BIGINT AS f "
        f"FROM ({per}) WHERE e <> 0 OR f <> 0",
        [first, *params],
    )
    conn = columns["conn"]
    if not len(conn):
        return out
    days = (hi - first).days + 1
    targets = days - window + 1  # lo … hi
    conns, row = np.unique(conn, return_inverse=True)
    owners = r.connection_owners()[conns]  # ascending: a connector's numbers are together
    has = np.zeros((len(r.connector_names()), targets), np.int64)
    meets = np.zeros_like(has)
    chunk = max(1, 4_000_000 // (days + 1))  # connections at a time: memory stays bounded
    for start in range(0, len(conns), chunk):
        stop = min(start + chunk, len(conns))
        mine = (row >= start) & (row < stop)
        sums = []
        for measure in (columns["e"], columns["f"]):
            grid = np.zeros((stop - start, days + 1), np.int64)
            grid[row[mine] - start, columns["day"][mine] + 1] = measure[mine]
            running = np.cumsum(grid, axis=1)
            sums.append(running[:, window : window + targets] - running[:, :targets])
        e, f = sums
        with_eligible = e >= 1
        left, right = (e - f) * bar.denominator, e * bar.numerator
        meeting = with_eligible & ((left > right) if strict else (left >= right))
        np.add.at(has, owners[start:stop], with_eligible.astype(np.int64))
        np.add.at(meets, owners[start:stop], meeting.astype(np.int64))
    names_of = r.connector_names()
    zero = np.zeros((has.shape[0], 1), np.int64)
    d_has, d_meets = np.diff(has, axis=1, prepend=zero), np.diff(meets, axis=1, prepend=zero)
    for i, k in zip(*np.nonzero((d_has != 0) | (d_meets != 0)), strict=True):
        day = lo + dt.timedelta(days=int(k))
        out.setdefault(names_of[i], []).append((day, int(d_has[i, k]), int(d_meets[i, k])))
    return out


def running(
    deltas: list[tuple[dt.date, int, int]], targets: Sequence[dt.date]
) -> list[tuple[int, int]]:
    """The running totals of the deltas at each target day (targets ascending)."""
    out, has, meets, i = [], 0, 0, 0
    for d in targets:
        while i < len(deltas) and deltas[i][0] <= d:
            has += deltas[i][1]
            meets += deltas[i][2]
            i += 1
        out.append((has, meets))
    return out


# ---- MAC ---------------------------------------------------------------------------------


def mac_deltas(
    r: Rollups,
    lookback: int,
    lo: dt.date,
    hi: dt.date,
    names: Sequence[str] | None = None,
    daily: str = "daily",
) -> dict[str, list[tuple[dt.date, int]]]:
    """Per connector, the changes of MAC(x) for x in [lo, hi]: +1 on the first day of a
    connection's island of coverage, -1 the day after its coverage ends.

    A connection's active days are merged into islands whose coverage is contiguous (next
    active day ≤ previous + lookback), so MAC(x) counts islands covering x: no distinct
    count per day. `names` limits it to those connectors (default: all).
    """
    where, params = _scope(lo - dt.timedelta(days=lookback - 1), hi, names)
    rows = r.rows(
        f"""
        WITH pairs AS (
            SELECT DISTINCT connector, conn, day FROM {daily}
            WHERE {where} AND conn IS NOT NULL
        ), marked AS (
            SELECT connector, conn, day,
                CASE WHEN lag(day) OVER w IS NULL OR day - lag(day) OVER w > {int(lookback)}
                THEN 1 ELSE 0 END AS new
            FROM pairs WINDOW w AS (PARTITION BY conn ORDER BY day)
        ), numbered AS (
            SELECT connector, conn, day, sum(new) OVER w AS island
            FROM marked WINDOW w AS (PARTITION BY conn ORDER BY day)
        ), islands AS (
            SELECT connector, min(day) AS first, max(day) AS last FROM numbered
            GROUP BY connector, conn, island
        )
        SELECT connector, first, last, count(*) FROM islands GROUP BY ALL
        """,
        params,
    )
    deltas: dict[str, dict[dt.date, int]] = {}
    for connector, first, last, n in rows:
        per = deltas.setdefault(connector, {})
        first, last = _date(first), _date(last)
        per[first] = per.get(first, 0) + int(n)
        end = last + dt.timedelta(days=lookback)
        per[end] = per.get(end, 0) - int(n)
    return {name: sorted(per.items()) for name, per in deltas.items()}


def mac_series(deltas: list[tuple[dt.date, int]], first: dt.date, last: dt.date) -> dict:
    """MAC(x) for every day x in [first, last]."""
    series, n, i = {}, 0, 0
    x = first
    while x <= last:
        while i < len(deltas) and deltas[i][0] <= x:
            n += deltas[i][1]
            i += 1
        series[x] = n
        x += ONE_DAY
    return series


@functools.lru_cache(maxsize=4096)
def _days(first: dt.date, n: int) -> tuple[dt.date, ...]:
    """The n consecutive days from `first` (asked again for every projected day)."""
    return tuple(first + dt.timedelta(days=k) for k in range(n))


def apply_mac(
    m: ConnectorMetrics, series: dict[dt.date, int], mac_days: int, lookback: int
) -> None:
    """The MAC figures as of m.as_of: its series over the last `mac_days` days, MAC(D), and
    the minimum over the days whose lookback lies inside the telemetry (else MAC(D))."""
    first = m.as_of - dt.timedelta(days=mac_days - 1)
    m.mac_series = [(x, series.get(x, 0)) for x in _days(first, mac_days)]
    m.mac_current = m.mac_series[-1][1]
    # a day x qualifies when its lookback [x - lookback + 1, x] lies inside the telemetry:
    # x >= first_day + lookback - 1 and x <= last_day, a run of consecutive days
    start = max(0, (m.first_day - first).days + lookback - 1)
    end = min(mac_days, (m.last_day - first).days + 1)
    if start < end:
        lowest = min(m.mac_series[start:end], key=lambda item: (item[1], item[0]))
        m.mac_min_date, m.mac_min = lowest
        m.mac_partial_lookback = False
    else:
        m.mac_min_date, m.mac_min = m.as_of, m.mac_current
        m.mac_partial_lookback = True


# ---- WAU ---------------------------------------------------------------------------------


class RememberedWeeks:
    """Weekly users counted once: a later question about weeks already counted (a check's
    three weeks inside a forecast's eight) is answered without reading the requests again."""

    def __init__(self, count: WeeklyUsers) -> None:
        self._count = count
        self._users: dict[tuple[str, dt.date], int] = {}
        self._covered: dict[str, list[tuple[dt.date, dt.date]]] = {}

    def _knows(self, name: str, first: dt.date, last: dt.date) -> bool:
        return any(a <= first and last <= b for a, b in self._covered.get(name, []))

    def __call__(self, names: Sequence[str], first: dt.date, last: dt.date):
        missing = [n for n in names if not self._knows(n, first, last)]
        if missing:
            self._users.update(self._count(missing, first, last))
            for name in missing:
                self._covered.setdefault(name, []).append((first, last))
        wanted = set(names)
        return {
            key: n for key, n in self._users.items() if key[0] in wanted and first <= key[1] <= last
        }


def apply_wau(m: ConnectorMetrics, users: dict[tuple[str, dt.date], int], weeks: int) -> None:
    m.wau = [
        WeekCount(
            week=iso_week_label(monday),
            start=monday,
            users=users.get((m.connector, monday), 0),
            before_first_day=monday < m.first_day,
        )
        for monday in wau_mondays(m.as_of, weeks)
    ]


# ---- all of it ---------------------------------------------------------------------------


def metric_series(
    r: Rollups,
    policy: Policy,
    targets: Sequence[dt.date],
    known: dict[str, Span],
    chart_points: bool = False,
    usage: bool = True,
    daily: str = "daily",
) -> dict[str, list[ConnectorMetrics]]:
    """Every metric of each connector in `known` as of each target date (ascending).

    `chart_points` adds the per-day points of each date's window (for one date: a check);
    `usage=False` leaves WAU and MAC out (a forecast takes them from their trends); `daily`
    names the session's daily rollup (a forecast's extends it with projected days).
    """
    targets = sorted(targets)
    names = sorted(known)
    if not names or not targets:
        return {name: [] for name in names}
    window = policy.window.reliability_days
    lookback = policy.window.mac_lookback_days
    mac_days = policy.window.mac_days
    lo, hi = targets[0], targets[-1]
    results = {
        name: [
            ConnectorMetrics(
                connector=name,
                as_of=d,
                window_start=d - dt.timedelta(days=window - 1),
                window_end=d,
                first_day=known[name].first,
                last_day=known[name].last,
                weighted=known[name].weighted,
            )
            for d in targets
        ]
        for name in names
    }

    counts, points = per_day_counts(r, names, lo - dt.timedelta(days=window - 1), hi, daily)
    slo = slo_deltas(r, policy, lo, hi, names, daily)
    mac_lo = lo - dt.timedelta(days=mac_days - 1)
    mac = mac_deltas(r, lookback, mac_lo, hi, names, daily) if usage else {}
    mondays = [monday for d in targets for monday in wau_mondays(d, policy.window.wau_weeks)]
    users = r.weekly_users(names, min(mondays), max(mondays)) if usage else {}

    for name in names:
        series = results[name]
        for m, c in zip(series, rolling(counts.get(name, {}), targets, window), strict=True):
            m.requests = c.requests
            m.faults = c.faults
            m.successes = c.successes
            m.throttled = c.faults["throttled"]
            m.eligible = m.requests - m.throttled
            m.rows_without_connection = c.rows_without_connection
            m.rows_without_user = c.rows_without_user
            m.unattributed_5xx = c.unattributed
        for m, (has, meets) in zip(series, running(slo.get(name, []), targets), strict=True):
            m.connections, m.connections_meeting_bar = has, meets
        if usage:
            per_day_mac = mac_series(mac.get(name, []), mac_lo, hi)
            for m in series:
                apply_mac(m, per_day_mac, mac_days, lookback)
                apply_wau(m, users, policy.window.wau_weeks)
        if chart_points:
            days = points.get(name, {})
            for m in series:
                m.daily = [days[x] for x in sorted(days) if m.window_start <= x <= m.window_end]
    return results
