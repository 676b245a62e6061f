"""Burn-rate alerts on the availability error budget (`connector-ga watch`).

DESIGN.md, "Trajectory … Burn-rate alerts". Over a window w ending at the evaluation time
`at`, the budget burns at

    burn(w) = (connector faults ÷ eligible requests in (at − w, at]) ÷ (1 − threshold)

(weighted counts; eligible = not throttled; a window without an eligible request burns 0).
An alert of the policy's table fires when its long and its short window both burn at
≥ its factor, compared exactly (1.0 ≥ 1 is firing, whatever floats would say).

Every window is computed from one table of buckets: the requests of the longest window (at
least a day, for the exhaustion times) grouped per connector and 5-minute bucket counted
back from `at` (bucket k = floor((at − time) ÷ 5 min)), summing eligible requests and
connector faults (`rollups.burn_buckets`, on the engine that reads the requests: `at` is
any moment, so whole days of rollups cannot say what (at − 5 min, at] held); a window of n
buckets is the sum of buckets 0 … n−1.

The budget is the check's, as of at's UTC day (the 30 days ending on it): allowed =
(1 − threshold) × eligible, consumed = connector faults, remaining = allowed − consumed.
`exhausted_at_1h` / `_1d`: when the remaining budget runs out at the current 1 h / 1 d
burn b: `at` when nothing remains (already exhausted); null when b ≤ 1 (never at this
burn); else at + remaining ÷ ((b − 1) × (1 − threshold) × eligible per hour over that window).

JSON contract `connector-ga/watch/v1`: one object per connector (a list of them with
`--all`):

    {"schema": "connector-ga/watch/v1",
     "connector": "contoso-tasks",
     "at": "2026-11-20T12:00:00Z",                       # UTC, microseconds when any
     "budget": {"allowed": 432.0, "consumed": 120, "remaining": 312.0,   # null without
                "exhausted_at_1h": "2026-11-20T14:44:12.631579Z",        # eligible requests
                "exhausted_at_1d": null},
     "alerts": [{"severity": "page", "long": "1h", "short": "5m", "factor": 14.4,
                 "burn_long": 20.0, "burn_short": 20.0, "firing": true}, …],
     "changes": [{"criterion": "availability", "from": "pass", "to": "fail"},
                 {"alert": "page 1h/5m", "from": "ok", "to": "firing"}]}

`alerts` holds one entry per row of the policy's table, in its order; burn rates are
floats, never rounded. `changes` lists first the criteria whose status differs from the
one recorded by the previous watch of the connector (`from`/`to`: pass, fail,
insufficient-data; none on the first watch, which has nothing to compare with), then the
alert episodes that started (`"from": "ok", "to": "firing"`) or resolved (`"from":
"firing", "to": "ok"`) in this run; an alert never recorded counts as "ok" before.
What the previous watch recorded lives in the store (`store.load_watch_state`); only a watch that
notifies (`--notify`) records, once every notification went through.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Literal

from ..errors import InputError
from ..metrics.local import Rollups
from ..metrics.model import ConnectorMetrics
from ..metrics.series import metric_series
from ..policy import BURN_STEP_MINUTES, BurnRateAlert, Policy
from ..result import Result
from .watch_state import State, StateRow

SCHEMA = "connector-ga/watch/v1"
EXHAUSTION_WINDOWS = {"1h": 60, "1d": 24 * 60}  # the burns the exhaustion times assume


# ---- the buckets -----------------------------------------------------------------------


def bucket_minutes(policy: Policy) -> int:
    """How far back the buckets reach: the longest window, and a day at least (the
    exhaustion times' 1 d burn)."""
    alerts = alert_table(policy)
    longest = max([m for a in alerts for m in (a.long_minutes, a.short_minutes)])
    return max(longest, *EXHAUSTION_WINDOWS.values())


@dataclass(frozen=True)
class Counts:
    """Weighted counts over a window."""

    eligible: int = 0
    connector_faults: int = 0


class Windows:
    """One connector's buckets as running sums: any window is two lookups."""

    def __init__(self, buckets: dict[int, Counts], n: int) -> None:
        self.after = buckets.get(-1, Counts())  # after `at`, on at's UTC day
        self.eligible, self.faults = [0], [0]
        for k in range(n):
            c = buckets.get(k, Counts())
            self.eligible.append(self.eligible[-1] + c.eligible)
            self.faults.append(self.faults[-1] + c.connector_faults)

    def over(self, minutes: int) -> Counts:
        n = minutes // BURN_STEP_MINUTES
        return Counts(self.eligible[n], self.faults[n])


def windows_of(rows, n: int) -> dict[str, Windows]:
    """The buckets' rows (connector, bucket, eligible, connector_faults) per connector."""
    buckets: dict[str, dict[int, Counts]] = {}
    for connector, bucket, eligible, faults in rows:
        buckets.setdefault(connector, {})[int(bucket)] = Counts(int(eligible), int(faults))
    return {name: Windows(b, n) for name, b in buckets.items()}


# ---- the arithmetic -------------------------------------------------------------------


def budget_share(policy: Policy) -> Fraction:
    """1 − the availability threshold, exactly (1/2000 for 99.95%)."""
    return 1 - policy.criteria.availability.exact_threshold


def burn_rate(counts: Counts, share: Fraction) -> Fraction:
    """How many times faster than "spend exactly the budget" the window burns it."""
    if not counts.eligible:
        return Fraction(0)
    return Fraction(counts.connector_faults, counts.eligible) / share


def exhausted_at(
    at: dt.datetime,
    exhausted: bool,
    remaining: float,
    counts: Counts,
    minutes: int,
    share: Fraction,
) -> dt.datetime | None:
    """When the remaining budget runs out if the window's burn goes on.

    Requests leaving the 30-day window are ignored: the faults that age out would give
    budget back (and the eligible requests take their allowance with them); this is the
    current burn alone, against the budget left now.
    """
    if exhausted:
        return at
    burn = burn_rate(counts, share)
    if burn <= 1:
        return None  # the budget grows at least as fast as it is spent
    per_hour = (burn - 1) * share * Fraction(counts.eligible * 60, minutes)
    try:
        return at + dt.timedelta(hours=remaining / float(per_hour))
    except OverflowError:  # past year 9999: never, in practice
        return None


# ---- the model ------------------------------------------------------------------------


def as_utc(value) -> dt.datetime:
    """An engine's or a user's time as a zone-aware UTC datetime (naive means UTC)."""
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class AlertStatus:
    alert: BurnRateAlert
    burn_long: Fraction
    burn_short: Fraction

    @property
    def firing(self) -> bool:
        factor = self.alert.exact_factor
        return self.burn_long >= factor and self.burn_short >= factor

    @property
    def state(self) -> Literal["firing", "ok"]:
        return "firing" if self.firing else "ok"

    def to_json_dict(self) -> dict[str, Any]:
        a = self.alert
        return {
            "severity": a.severity,
            "long": a.long,
            "short": a.short,
            "factor": a.factor,
            "burn_long": float(self.burn_long),
            "burn_short": float(self.burn_short),
            "firing": self.firing,
        }


@dataclass
class Budget:
    allowed: float | None
    consumed: int | None
    remaining: float | None
    exhausted_at_1h: dt.datetime | None
    exhausted_at_1d: dt.datetime | None
    burn_1h: Fraction = Fraction(0)  # the burns the exhaustion times assume
    burn_1d: Fraction = Fraction(0)
    # A spent budget: the UTC day the window's connector faults, counted from its first
    # day, reached the allowance (null while some budget remains).
    spent_since: dt.date | None = None

    @property
    def spent(self) -> bool:
        return self.remaining is not None and self.remaining <= 0

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "consumed": self.consumed,
            "remaining": self.remaining,
            "exhausted_at_1h": iso(self.exhausted_at_1h),
            "exhausted_at_1d": iso(self.exhausted_at_1d),
            "spent_since": self.spent_since.isoformat() if self.spent_since else None,
        }


@dataclass(frozen=True)
class Change:
    """A criterion's status that differs from the previous watch, or an alert episode
    that started or resolved."""

    kind: Literal["criterion", "alert"]
    key: str  # the criterion id, or the alert's name ('page 1h/5m')
    before: str
    after: str

    def to_json_dict(self) -> dict[str, str]:
        return {self.kind: self.key, "from": self.before, "to": self.after}


@dataclass
class Watch:
    connector: str
    at: dt.datetime
    budget: Budget
    alerts: list[AlertStatus]
    result: Result  # the check as of at's UTC day: the budget and criteria come from it
    changes: list[Change] = field(default_factory=list)

    @property
    def criteria(self) -> dict[str, str]:
        return {c.id: c.status for c in self.result.criteria}

    @property
    def firing(self) -> list[AlertStatus]:
        return [a for a in self.alerts if a.firing]

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "connector": self.connector,
            "at": iso(self.at),
            "budget": self.budget.to_json_dict(),
            "alerts": [a.to_json_dict() for a in self.alerts],
            "changes": [c.to_json_dict() for c in self.changes],
        }


def dumps(watches: Sequence[Watch], fleet: bool) -> str:
    """The JSON of one connector's watch, or a list of them (`--all`)."""
    payload: Any = [w.to_json_dict() for w in watches]
    if not fleet:
        payload = payload[0]
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


# ---- a watch ---------------------------------------------------------------------------


def alert_table(policy: Policy) -> list[BurnRateAlert]:
    if policy.burn_rate is None:
        raise InputError(
            f"policy {policy.name}: no [[burn_rate.alerts]] table for watch: copy it from "
            "the default policy (power-platform-ga)"
        )
    return list(policy.burn_rate.alerts)


def _budget(result: Result, at: dt.datetime, windows: Windows, share: Fraction) -> Budget:
    burns = {name: burn_rate(windows.over(m), share) for name, m in EXHAUSTION_WINDOWS.items()}
    # The check counts whole UTC days: take back what happened after `at` on at's day.
    eligible = result.metrics.eligible - windows.after.eligible
    if result.metrics.error_budget is None or eligible <= 0:
        # no eligible request in the 30 days up to `at`: no budget to spend
        return Budget(None, None, None, None, None, burns["1h"], burns["1d"])
    consumed = result.metrics.error_budget.consumed - windows.after.connector_faults
    allowed = (1 - float(1 - share)) * eligible  # the check's own arithmetic (evaluate.py)
    remaining = allowed - consumed
    exhausted = consumed >= share * eligible  # exactly: remaining ≤ 0
    when = {
        name: exhausted_at(at, exhausted, remaining, windows.over(m), m, share)
        for name, m in EXHAUSTION_WINDOWS.items()
    }
    since = _spent_since(result, at, consumed, allowed) if exhausted else None
    return Budget(
        allowed, consumed, remaining, when["1h"], when["1d"], burns["1h"], burns["1d"], since
    )


def _spent_since(result: Result, at: dt.datetime, consumed: int, allowed: float) -> dt.date:
    """The first day of the window by whose end its connector faults reached `allowed`
    (at's own day counts only its faults by `at`: the running total there is `consumed`)."""
    total = 0
    for point in result.metrics.daily:
        if point.date >= at.date():
            break
        total += point.faults.get("connector", 0)
        if total >= allowed:
            return point.date
    return at.date()


def watch_of(
    r: Rollups,
    policy: Policy,
    names: Sequence[str],
    judge: Callable[[ConnectorMetrics], Result],
    at: dt.datetime,
    buckets: Sequence[tuple],
    known: Mapping[str, ConnectorMetrics] | None = None,
) -> list[Watch]:
    """Each named connector's alerts and budget as of `at`, from its rollups and the
    buckets of its last requests before `at` (`bucket_minutes` of them: rows of connector,
    bucket, eligible, connector faults); `judge` turns its metrics into the check's Result.
    `known` holds figures already computed (a check's): those as of at's day are used, not
    recomputed."""
    alerts = alert_table(policy)
    share = budget_share(policy)
    minutes = bucket_minutes(policy)
    windows = windows_of(buckets, minutes // BURN_STEP_MINUTES)
    known = {
        n: replace(m, operations=[])  # what the watch's own figures would hold
        for n, m in (known or {}).items()
        if m.as_of == at.date()
    }
    spans = {n: s for n, s in r.spans.items() if n in names and n not in known}
    series = metric_series(r, policy, [at.date()], spans, chart_points=True)
    watches = []
    for name in names:
        w = windows.get(name) or Windows({}, minutes // BURN_STEP_MINUTES)
        result = judge(known[name] if name in known else series[name][0])
        statuses = [
            AlertStatus(
                a,
                burn_rate(w.over(a.long_minutes), share),
                burn_rate(w.over(a.short_minutes), share),
            )
            for a in alerts
        ]
        watches.append(Watch(name, at, _budget(result, at, w, share), statuses, result))
    return watches


# ---- episodes and the recorded state ----------------------------------------------------


def record_changes(watches: Sequence[Watch], prior: State) -> None:
    """Fill each watch's `changes` against what the previous watch recorded."""
    for w in watches:
        w.changes = []
        for cid, status in w.criteria.items():
            before = prior.get((w.connector, "criterion", cid))
            if before is not None and before.state != status:
                w.changes.append(Change("criterion", cid, before.state, status))
        for a in w.alerts:
            before = prior.get((w.connector, "alert", a.alert.name))
            was = before.state if before is not None else "ok"
            if was != a.state:
                w.changes.append(Change("alert", a.alert.name, was, a.state))


def next_state(watches: Sequence[Watch], prior: State, now: dt.datetime) -> list[StateRow]:
    """What this watch records: every criterion and alert, `since` kept while unchanged."""
    rows = []
    for w in watches:
        current = [("criterion", cid, status) for cid, status in w.criteria.items()]
        current += [("alert", a.alert.name, a.state) for a in w.alerts]
        for kind, key, state in current:
            before = prior.get((w.connector, kind, key))
            since = before.since if before is not None and before.state == state else w.at
            rows.append(StateRow(w.connector, kind, key, state, since, now))
    return rows
