"""Forecast: the earliest date each criterion that does not pass today would pass, and the
earliest date a GA request would (DESIGN.md, "Trajectory").

Nothing here judges anything itself. Future days are projected into the daily aggregate
under a named scenario and evaluated exactly as a history is (`metrics.series` and
`evaluate`), with the usage criteria taken from their trends and the calendar from the
dates themselves:
- `window` (availability, success rate, SLO): each future day carries the mean daily
  eligible requests of the last 14 days, spread evenly over the connections active in them,
  with the recent mix of non-fault statuses; `no-new-faults` adds no connector fault,
  `recent-rate` adds connector faults at the median daily rate of those 14 days (spread over
  the days and connections so that their running total follows the rate);
- `trend` (WAU, MAC): a Theil–Sen line over the last 8 complete weeks of weekly users, and
  over the last 56 days of MAC, with an 80% band;
- `calendar`: the low-usage exception, 6 calendar months after preview_since;
- `declaration`: backend-production and support-model change only when ga.toml does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from statistics import median

import numpy as np

from ..config import GaConfig
from ..evaluate import (
    LOW_USAGE,
    backend_production_criterion,
    judge,
    mac_status,
    observed_days,
    reliability_criteria,
    support_criterion,
    wau_status,
)
from ..metrics.local import Rollups
from ..metrics.model import ConnectorMetrics, InputQuality, WeekCount
from ..metrics.series import (
    Span,
    apply_mac,
    iso_week_label,
    last_sunday,
    mac_deltas,
    mac_series,
    metric_series,
    wau_mondays,
)
from ..months import add_months
from ..policy import Policy
from ..result import CriterionForecast, ExceptionForecast, Forecast, ForecastPoint, Result
from .trend import Trend, theil_sen

SCENARIOS = ("no-new-faults", "recent-rate")
DEFAULT_HORIZON = 180
RECENT_DAYS = 14
TREND_WEEKS = 8
TREND_DAYS = 56
BAND = 0.80
READY = ("ready", "ready-with-exception")
WINDOW_CRITERIA = ("availability", "slo", "success-rate")
TREND_CRITERIA = ("weekly-active-users", "monthly-active-connections")
DECLARATION_CRITERIA = ("backend-production", "support-model")
BASIS = {
    **dict.fromkeys(WINDOW_CRITERIA, "window"),
    **dict.fromkeys(TREND_CRITERIA, "trend"),
    **dict.fromkeys(DECLARATION_CRITERIA, "declaration"),
}
ONE_DAY = dt.timedelta(days=1)
NON_FAULT = ("none", "client", "backend")


@dataclass
class Recent:
    """A connector's last 14 days: what the projection repeats."""

    eligible: dict[dt.date, int] = field(default_factory=dict)
    connector_faults: dict[dt.date, int] = field(default_factory=dict)
    connections: set[int] = field(default_factory=set)  # their numbers (`conn`)
    mix: dict[tuple[str, int], int] = field(default_factory=dict)  # non-fault statuses

    def volume(self) -> int:
        """The mean daily eligible requests, rounded half up to whole requests."""
        total = sum(self.eligible.values())
        return (2 * total + RECENT_DAYS) // (2 * RECENT_DAYS)

    def fault_rate(self) -> Fraction:
        """The median daily connector-fault rate, over the days with eligible requests."""
        rates = [
            Fraction(self.connector_faults.get(day, 0), n) for day, n in self.eligible.items() if n
        ]
        return Fraction(median(rates)) if rates else Fraction(0)


def recent_traffic(r: Rollups, names: Sequence[str], as_of: dt.date) -> dict[str, Recent]:
    """Each connector's last 14 days: per-day eligible requests and connector faults, the
    mix of non-fault statuses, the connections (a fleet's 14 days hold hundreds of
    thousands of connection rows: only their totals and ids reach Python)."""
    first = as_of - dt.timedelta(days=RECENT_DAYS - 1)
    scope = "day BETWEEN ? AND ? AND list_contains(?, connector) AND fault <> 'throttled'"
    params = [first, as_of, list(names)]
    out = {name: Recent() for name in names}
    for connector, day, eligible, faults in r.rows(
        "SELECT connector, day, sum(requests), sum(requests) FILTER (WHERE fault = 'connector') "
        f"FROM daily WHERE {scope} GROUP BY ALL",
        params,
    ):
        out[connector].eligible[_as_date(day)] = int(eligible)
        if faults is not None:
            out[connector].connector_faults[_as_date(day)] = int(faults)
    kinds = ", ".join(f"'{k}'" for k in NON_FAULT)
    for connector, fault, status_class, n in r.rows(
        f"SELECT connector, fault, status_class, sum(requests) FROM daily WHERE {scope} "
        f"AND fault IN ({kinds}) GROUP BY ALL",
        params,
    ):
        out[connector].mix[(fault, int(status_class))] = int(n)
    for connector, conn in r.rows(
        f"SELECT DISTINCT connector, conn FROM daily WHERE {scope} AND conn IS NOT NULL", params
    ):
        out[connector].connections.add(conn)
    return out


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _split(total: int, weights: list[tuple[object, int]]) -> list[tuple[object, int]]:
    """`total` whole requests split in proportion to the weights (largest remainder)."""
    weight_sum = sum(w for _, w in weights)
    if total <= 0 or weight_sum <= 0:
        return []
    shares = [(key, Fraction(total * w, weight_sum)) for key, w in weights]
    parts = [[key, int(share), share - int(share)] for key, share in shares]
    left = total - sum(p[1] for p in parts)
    for part in sorted(parts, key=lambda p: -p[2])[:left]:
        part[1] += 1
    return [(key, n) for key, n, _ in parts if n]


def _faults_by_day(r: Recent, volume: int, horizon: int, shares) -> np.ndarray:
    """recent-rate: connector faults at the median daily rate, their running total rounded
    half up to whole requests (rate × volume × i by day i), each carried by the next
    connection in turn that still has requests left that day."""
    rate = r.fault_rate()
    faulted = np.zeros_like(shares)
    if rate == 0:
        return faulted
    k = shares.shape[1]
    pointer = 0
    for i in range(1, horizon + 1):
        faults = int(rate * volume * i + Fraction(1, 2)) - int(
            rate * volume * (i - 1) + Fraction(1, 2)
        )
        row, day_shares = faulted[i - 1], shares[i - 1]
        for _ in range(min(faults, volume)):
            while row[pointer] >= day_shares[pointer]:
                pointer = (pointer + 1) % k
            row[pointer] += 1
            pointer = (pointer + 1) % k
    return faulted


_EPOCH = dt.date(1970, 1, 1)
PROJECTED_FAULTS = ("connector", *NON_FAULT)  # the `fault` codes of projected rows


def projected_rows(
    recent: dict[str, Recent], as_of: dt.date, horizon: int, scenario: str
) -> dict[str, np.ndarray]:
    """The daily rollup's rows of the future days D+1 … D+horizon, as NumPy columns of
    numbers only: `connector` (its index in `sorted(recent)`), `day` (days since
    1970-01-01), `conn` (the connection's number, -1 for none), `fault` (its index in
    PROJECTED_FAULTS), `status_class`, `requests`. Per day, the volume is spread evenly
    over the connections (the one-request remainder rotating among them, in the order of
    their ids), and each connection's requests that are not connector faults are split by
    the recent mix (largest remainder)."""
    first = (as_of - _EPOCH).days + 1
    names = sorted(recent)
    parts: dict[str, list[np.ndarray]] = {
        c: [] for c in ("connector", "day", "conn", "fault", "status_class", "requests")
    }

    def block(index, connections, cells, fault, status_class, counts) -> None:
        day_index, connection_index = cells
        n = len(day_index)
        parts["connector"].append(np.full(n, index, np.int32))
        parts["day"].append((first + day_index).astype(np.int32))
        parts["conn"].append(connections[connection_index])
        parts["fault"].append(np.full(n, PROJECTED_FAULTS.index(fault), np.int8))
        parts["status_class"].append(np.full(n, status_class, np.int16))
        parts["requests"].append(np.asarray(counts, np.int64))

    for index, connector in enumerate(names):
        r = recent[connector]
        volume = r.volume()
        if volume == 0:
            continue
        mix = sorted(r.mix.items()) or [(("none", 2), 1)]
        # connection numbers follow their ids within a connector: sorted alike
        connections = np.array(sorted(r.connections) or [-1], dtype=np.int64)
        k = len(connections)
        base, extra = divmod(volume, k)
        i = np.arange(1, horizon + 1)[:, None]
        j = np.arange(k)[None, :]
        shares = base + (((j - i) % k) < extra).astype(np.int64)
        faulted = (
            _faults_by_day(r, volume, horizon, shares)
            if scenario == "recent-rate"
            else np.zeros_like(shares)
        )
        if faulted.any():
            cells = np.nonzero(faulted)
            block(index, connections, cells, "connector", 5, faulted[cells])
        # Few distinct totals (base, base + 1, less a fault): split each once.
        totals, inverse = np.unique(shares - faulted, return_inverse=True)
        splits = [dict(_split(int(t), mix)) for t in totals]
        for (fault, status_class), _ in mix:
            per_total = np.array([split.get((fault, status_class), 0) for split in splits])
            counts = per_total[inverse].reshape(shares.shape)
            cells = np.nonzero(counts)
            if len(cells[0]):
                block(index, connections, cells, fault, status_class, counts[cells])
    kinds = {"connector": np.int32, "day": np.int32, "conn": np.int64, "fault": np.int8}
    return {
        name: np.concatenate(p) if p else np.zeros(0, kinds.get(name, np.int64))
        for name, p in parts.items()
    }


def extend(r: Rollups, rows: dict[str, np.ndarray], names: Sequence[str]) -> str:
    """A view of the daily rollup with the projected rows after it (`names`: the
    connectors, in the order of `connector`'s indexes): its name. The projected rows are
    copied once into a table of the session; their connections are known by number."""
    projected = r.register(rows)
    labels = r.register({"i": np.arange(len(names)), "connector": np.array(names, dtype=object)})
    name = f"{projected}_daily"
    faults = ", ".join(f"'{f}'" for f in PROJECTED_FAULTS)
    r.rows(
        f"CREATE OR REPLACE TEMP TABLE {projected}_rows AS SELECT l.connector::VARCHAR AS "
        "connector, DATE '1970-01-01' + p.day::INTEGER AS day, NULL::VARCHAR AS connection_id, "
        "CASE WHEN p.conn >= 0 THEN p.conn END AS conn, "
        f"[{faults}][p.fault + 1] AS fault, p.status_class::SMALLINT AS status_class, "
        "false AS unattributed, true AS has_user, p.requests AS requests, "
        "p.requests AS rows, 1::BIGINT AS max_weight "
        f"FROM {projected} AS p JOIN {labels} AS l ON p.connector = l.i"
    )
    r.unregister(projected)
    r.unregister(labels)
    r.rows(
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM daily "
        f"UNION ALL SELECT * FROM {projected}_rows"
    )
    return name


def drop_extension(r: Rollups, name: str) -> None:
    r.rows(f"DROP VIEW IF EXISTS {name}")
    r.rows(f"DROP TABLE IF EXISTS {name.removesuffix('_daily')}_rows")


# ---- usage trends ----------------------------------------------------------------------


def _index(day: dt.date) -> int:
    return day.toordinal()


@dataclass
class UsageTrends:
    """Weekly users and MAC as measured up to D, and their lines."""

    weeks: dict[dt.date, int]  # Monday -> users, complete weeks up to D
    wau: Trend | None
    mac: dict[dt.date, int]  # MAC(x) up to D
    mac_trend: Trend | None
    # band -> MAC measured up to D and projected beyond, extended as later days ask: each
    # projected day is computed once, not once per day after it.
    projected: dict[str, dict[dt.date, int]] = field(default_factory=dict)

    def mac_through(self, last: dt.date, as_of: dt.date, band: str) -> dict[dt.date, int]:
        """MAC(x) for every x up to `last`: measured up to D (`as_of`), the trend's line
        (of `band`) after it. Days beyond `last` may be in it too: readers ask by day."""
        series = self.projected.setdefault(band, dict(self.mac))
        day = max(as_of, max(series, default=as_of)) + ONE_DAY
        while day <= last:
            series[day] = _projected(self.mac_trend, day, band)
            day += ONE_DAY
        return series


def usage_trends(
    name: str,
    span: Span,
    as_of: dt.date,
    r: Rollups,
    policy: Policy,
    mac_by_connector: dict[str, list[tuple[dt.date, int]]],
) -> UsageTrends:
    last_monday = last_sunday(as_of) - dt.timedelta(days=6)
    mondays = [last_monday - dt.timedelta(days=7 * k) for k in range(TREND_WEEKS - 1, -1, -1)]
    counts = r.weekly_users([name], mondays[0], mondays[-1])
    weeks = {m: counts.get((name, m), 0) for m in mondays}
    observed = [m for m in mondays if m >= span.first]
    wau = theil_sen([_index(m) for m in observed], [weeks[m] for m in observed], BAND)
    lookback = policy.window.mac_lookback_days
    first = as_of - dt.timedelta(days=TREND_DAYS - 1)
    mac = mac_series(mac_by_connector.get(name, []), first, as_of)
    full = [x for x in mac if x - dt.timedelta(days=lookback - 1) >= span.first and x <= span.last]
    points = full if len(full) >= 3 else [x for x in mac if span.first <= x <= span.last]
    mac_trend = theil_sen([_index(x) for x in points], [mac[x] for x in points], BAND)
    return UsageTrends(weeks, wau, mac, mac_trend)


def _projected(trend: Trend | None, day: dt.date, band: str) -> int:
    if trend is None:
        return 0
    return max(0, round(trend.at(_index(day), band)))


def apply_usage(
    m: ConnectorMetrics, usage: UsageTrends, as_of: dt.date, policy: Policy, band: str
) -> None:
    """WAU and MAC of a future day m.as_of: measured where known, the trend line beyond."""
    complete = last_sunday(as_of)
    m.wau = []
    for monday in wau_mondays(m.as_of, policy.window.wau_weeks):
        measured = monday + dt.timedelta(days=6) <= complete
        m.wau.append(
            WeekCount(
                week=iso_week_label(monday),
                start=monday,
                users=usage.weeks.get(monday, 0)
                if measured
                else _projected(usage.wau, monday, band),
                before_first_day=measured and monday < m.first_day,
            )
        )
    m.last_day = m.as_of  # the projection assumes the telemetry goes on
    series = usage.mac_through(m.as_of, as_of, band)
    apply_mac(m, series, policy.window.mac_days, policy.window.mac_lookback_days)


# ---- the forecast ----------------------------------------------------------------------


@dataclass
class ProjectedDay:
    """What a forecast reads of a projected day: each criterion's status and value, the
    verdict and the exception."""

    as_of: dt.date
    verdict: str
    exception: str | None
    status: dict[str, str]
    value: dict[str, object]

    @classmethod
    def judged(cls, as_of: dt.date, criteria, verdict: str, exception: str | None):
        return cls(
            as_of,
            verdict,
            exception,
            {c.id: c.status for c in criteria},
            {c.id: c.value for c in criteria},
        )

    def on(self, day: dt.date) -> ProjectedDay:
        """The same judgement on another day (nothing it rests on differs)."""
        return ProjectedDay(day, self.verdict, self.exception, self.status, self.value)


@dataclass
class Projection:
    """What one connector's forecast needs beyond its Result of today."""

    days: list[ProjectedDay]  # the future days D+1 … D+horizon
    bands: dict[str, dict[str, dt.date | None]]  # trend criterion -> band -> passes_on
    recent: Recent
    usage: UsageTrends
    judged: int = 0  # how many of the days were judged (the others repeat the day before)


def first_pass(days: Sequence[ProjectedDay], criterion: str) -> dt.date | None:
    return next((r.as_of for r in days if r.status.get(criterion) == "pass"), None)


def _stationary_after(horizon: int, scenario: str, window: int) -> int:
    """How many projected days to compute window figures for: under no-new-faults every
    projected day carries the same totals and the same number of connections with requests
    (the one-request remainder rotates, so any `window` consecutive days hold the same), and
    no fault: from D+window on, the window holds projected days only and its figures stay
    those of D+window. recent-rate's running fault total does not repeat: every day."""
    return min(horizon, window) if scenario == "no-new-faults" else horizon


def _shifted(m: ConnectorMetrics, day: dt.date, window: int) -> ConnectorMetrics:
    return replace(m, as_of=day, window_start=day - dt.timedelta(days=window - 1), window_end=day)


def _requests_key(m: ConnectorMetrics) -> tuple:
    """Everything of a day's figures that the reliability criteria rest on
    (`evaluate.reliability_criteria`); the dates only name the days in the details."""
    return (
        m.requests,
        m.eligible,
        m.throttled,
        m.successes,
        tuple(m.faults.items()),
        m.connections,
        m.connections_meeting_bar,
        m.unattributed_5xx,
        m.rows_without_connection,
        m.rows_without_user,
        observed_days(m),
    )


def _decides(m: ConnectorMetrics, support: str, exception_due: bool) -> tuple:
    """Everything of a day's figures that a status, a value, the verdict or the exception
    rests on (`evaluate.judge`): the requests', then users', support's and the exception's."""
    return (
        _requests_key(m),
        tuple((w.users, w.before_first_day) for w in m.wau),
        m.first_day,
        m.mac_min,
        m.mac_partial_lookback,
        support,
        exception_due,
    )


def project(
    results: dict[str, Result],
    r: Rollups,
    quality: InputQuality,
    policy: Policy,
    configs: dict[str, GaConfig | None],
    backends: dict,
    scenario: str = "no-new-faults",
    horizon: int = DEFAULT_HORIZON,
    *,
    every_day: bool = False,
) -> dict[str, Projection]:
    """Each connector's future days, evaluated: one query for all of them.

    The window figures are computed for the days on which they can change, and a day is
    judged only when something its judgement rests on differs from the day before
    (`every_day` computes and judges each day: the reference the tests compare with)."""
    spans = r.spans
    names = sorted(n for n in results if n in spans)
    if not names:
        return {}
    as_of = results[names[0]].as_of
    window = policy.window.reliability_days
    computed = horizon if every_day else _stationary_after(horizon, scenario, window)
    recent = recent_traffic(r, names, as_of)
    extended = extend(r, projected_rows(recent, as_of, computed, scenario), sorted(recent))
    try:
        targets = [as_of + dt.timedelta(days=i) for i in range(1, computed + 1)]
        known = {name: spans[name] for name in names}
        future = metric_series(r, policy, targets, known, usage=False, daily=extended)
    finally:
        drop_extension(r, extended)
    lookback = policy.window.mac_lookback_days
    trend_first = as_of - dt.timedelta(days=TREND_DAYS - 1)
    mac_by_connector = mac_deltas(r, lookback, trend_first, as_of, names)
    rules = policy.criteria
    out = {}
    for name in names:
        usage = usage_trends(name, spans[name], as_of, r, policy, mac_by_connector)
        config, backend = configs.get(name), backends.get(name)
        backend_criterion = backend_production_criterion(config, rules.backend_production, backend)
        since = config.connector.preview_since if config else None
        since = since or spans[name].first
        low_usage = policy.exceptions.low_usage_after_6_months
        exception_from = add_months(since, low_usage.preview_months) if since else None
        computed_days = future[name]
        days: list[ProjectedDay] = []
        bands = {cid: {} for cid in TREND_CRITERIA}
        pending = {band: set(TREND_CRITERIA) for band in ("low", "high")}
        key, judged, reliability = None, 0, None
        for i in range(horizon):
            day = as_of + dt.timedelta(days=i + 1)
            m = computed_days[i] if i < len(computed_days) else None
            m = m or _shifted(computed_days[-1], day, window)
            apply_usage(m, usage, as_of, policy, "central")
            support = support_criterion(config, rules.support_model, day)
            due = exception_from is not None and day >= exception_from
            now = None if every_day else _decides(m, support.status, due)
            if now is not None and now == key:
                days.append(days[-1].on(day))
            else:
                # users or support may change alone (a trend line moves daily): the
                # reliability criteria are reused while the requests' figures hold
                if now is None or key is None or now[0] != key[0]:
                    reliability = reliability_criteria(m, policy)
                j = judge(m, policy, config, backend_criterion, reliability=reliability)
                days.append(ProjectedDay.judged(day, j.criteria, j.verdict, j.exception))
                key, judged = now, judged + 1
            for band, left in pending.items():
                if not left:
                    continue
                copy = replace(m)
                apply_usage(copy, usage, as_of, policy, band)
                if (
                    "weekly-active-users" in left
                    and wau_status(copy, rules.weekly_active_users) == "pass"
                ):
                    bands["weekly-active-users"][band] = day
                    left.discard("weekly-active-users")
                if (
                    "monthly-active-connections" in left
                    and mac_status(copy, rules.monthly_active_connections) == "pass"
                ):
                    bands["monthly-active-connections"][band] = day
                    left.discard("monthly-active-connections")
        for cid in TREND_CRITERIA:
            for band in ("low", "high"):
                bands[cid].setdefault(band, None)
        out[name] = Projection(days, bands, recent[name], usage, judged)
    return out


def window_covered_on(today: Result, policy: Policy) -> dt.date | None:
    """The first day whose reliability window holds the observed days a pass needs
    (DESIGN: window.min_observed_days), when today's window does not; None when it does."""
    first, total = today.metrics.first_day, policy.window.reliability_days
    if first is None or first <= today.as_of - dt.timedelta(days=total - 1):
        return None
    needed = min(policy.window.min_observed_days, total)
    if (today.as_of - first).days + 1 >= needed:
        return None
    return first + dt.timedelta(days=needed - 1)


def forecast(
    today: Result,
    projection: Projection | None,
    policy: Policy,
    scenario: str,
    horizon: int,
) -> Forecast:
    """The Forecast of one connector from its Result of today and its projected days."""
    days = projection.days if projection else []
    covered = window_covered_on(today, policy)
    criteria: dict[str, CriterionForecast] = {}
    for c in today.criteria:
        if c.status == "pass":
            continue
        basis = BASIS[c.id]
        passes_on = None if basis == "declaration" else first_pass(days, c.id)
        low = high = None
        if basis == "trend" and projection is not None:
            found = [d for d in projection.bands[c.id].values() if d is not None]
            low = min(found, default=None)
            high = max(found, default=None) if len(found) == 2 else None
        criteria[c.id] = CriterionForecast(
            passes_on=passes_on,
            basis=basis,
            low=low,
            high=high,
            why=_why(c.id, basis, passes_on, today, projection, policy, scenario, horizon),
        )
        if covered is not None and basis == "window" and c.status == "insufficient-data":
            observed = (today.as_of - today.metrics.first_day).days + 1
            criteria[c.id].why = (
                f"{c.id.replace('-', ' ')}: the window is covered from {covered} on "
                f"({observed} of {policy.window.reliability_days} days observed now); "
                + criteria[c.id].why
            )

    exception = None
    if today.exception == LOW_USAGE:
        exception = ExceptionForecast(id=LOW_USAGE, applies_on=today.as_of)
    else:
        applies = next((r.as_of for r in days if r.exception == LOW_USAGE), None)
        if applies is not None or today.exception_from is not None:
            exception = ExceptionForecast(id=LOW_USAGE, applies_on=applies or today.exception_from)

    if today.verdict in READY:
        ready_on, basis = today.as_of, None
    else:
        ready_on = next((r.as_of for r in days if r.verdict in READY), None)
        basis = _ready_basis(today, days, ready_on, criteria)
    result = Forecast(
        horizon_days=horizon,
        scenario=scenario,
        ready_on=ready_on,
        ready_basis=basis,
        window_covered_on=covered,
        exception=exception,
        criteria=criteria,
        series=_series(criteria, projection) if projection else {},
    )
    result.summary = _summary(result, today)
    return result


SERIES_DAYS = 60  # how far the charts follow a criterion that does not pass in it
SERIES_AFTER = 7  # and how far past the day it passes


def _series(criteria: dict[str, CriterionForecast], projection: Projection) -> dict:
    """Projected values of the criteria that do not pass today, for the report's charts."""
    out: dict[str, list[ForecastPoint]] = {}
    days = projection.days
    for cid, f in criteria.items():
        if f.basis == "declaration" or not days:
            continue
        end = (f.passes_on + dt.timedelta(days=SERIES_AFTER)) if f.passes_on else None
        end = min(end or days[0].as_of + dt.timedelta(days=SERIES_DAYS - 1), days[-1].as_of)
        if f.basis == "window":
            out[cid] = [
                ForecastPoint(date=r.as_of, value=float(r.value[cid]))
                for r in days
                if r.as_of <= end and isinstance(r.value.get(cid), int | float)
            ]
            continue
        usage = projection.usage
        trend = usage.wau if cid == "weekly-active-users" else usage.mac_trend
        if trend is None:
            continue
        step = 7 if cid == "weekly-active-users" else 1
        first = days[0].as_of
        if step == 7:  # the Mondays of the weeks not complete as of today
            first = last_sunday(days[0].as_of - ONE_DAY) + ONE_DAY
        points, day = [], first
        while day <= end:
            points.append(
                ForecastPoint(
                    date=day,
                    value=max(0.0, trend.at(_index(day))),
                    low=max(0.0, trend.at(_index(day), "low")),
                    high=max(0.0, trend.at(_index(day), "high")),
                )
            )
            day += dt.timedelta(days=step)
        out[cid] = points
    return out


def _ready_basis(today, days, ready_on, criteria) -> str | None:
    """What makes ready_on the date: the criterion (or the calendar) that is last to pass;
    with no date, what keeps the request from passing."""
    if ready_on is None:
        blocking = [cid for cid, f in criteria.items() if f.passes_on is None]
        for basis in ("declaration", "window", "trend"):
            if any(criteria[cid].basis == basis for cid in blocking):
                return basis
        return "calendar" if blocking else None
    index = next(i for i, r in enumerate(days) if r.as_of == ready_on)
    before = days[index - 1].status if index else {c.id: c.status for c in today.criteria}
    for cid, status in days[index].status.items():
        if status == "pass" and before.get(cid) != "pass":
            return BASIS[cid]
    # No criterion passed that day: the exception began to apply.
    return "calendar"


def _pct(value: Fraction | float) -> str:
    return f"{float(value) * 100:.3g}%"


def _why(cid, basis, passes_on, today, projection, policy, scenario, horizon) -> str:
    name = cid.replace("-", " ")
    if basis == "declaration":
        return f"{name} changes only when ga.toml (or the package it names) does"
    if basis == "window":
        assumption = (
            "if no new connector fault occurs"
            if scenario == "no-new-faults"
            else "at the recent connector-fault rate of "
            + _pct(projection.recent.fault_rate() if projection else 0)
            + " of eligible requests a day"
        )
        if projection is None or projection.recent.volume() == 0:
            return f"{name}: no traffic in the last {RECENT_DAYS} days to project"
        if passes_on is None:
            return f"{name} does not pass within {horizon} days {assumption}"
        leaving = passes_on - dt.timedelta(days=policy.window.reliability_days)
        bad = {
            p.date: p.faults["connector"] if cid != "success-rate" else p.eligible - p.successes
            for p in today.metrics.daily
        }
        what = "connector faults" if cid != "success-rate" else "failed requests"
        if bad.get(leaving):
            return (
                f"{name} passes on {passes_on}, when the {what} of {leaving} leave the "
                f"{policy.window.reliability_days}-day window, {assumption}"
            )
        return (
            f"{name} passes on {passes_on}, as about {projection.recent.volume():,} eligible "
            f"requests a day fill the window, {assumption}"
        )
    # trend
    usage = projection.usage if projection else None
    trend = (usage.wau if cid == "weekly-active-users" else usage.mac_trend) if usage else None
    if trend is None:
        return f"{name}: too little history for a trend (3 weeks or days at least)"
    per = "week" if cid == "weekly-active-users" else "day"
    slope = trend.slope * (7 if per == "week" else 1)
    direction = f"{slope:+,.1f} a {per}"
    if passes_on is None:
        return f"{name} does not pass within {horizon} days at the current trend ({direction})"
    return f"{name} passes on {passes_on} at the current trend ({direction})"


def _summary(f: Forecast, today: Result) -> str:
    if today.verdict in READY:
        return f"a request can pass today ({today.as_of})"
    if f.ready_on is None:
        return (
            f"no date within {f.horizon_days} days on which a request can pass "
            f"({f.scenario}; blocked by {f.ready_basis})"
        )
    return f"earliest date a request can pass: {f.ready_on} ({f.ready_basis}, {f.scenario})"
