"""Evaluation: metrics + declarations + package findings → criteria, verdict, exception.

Thresholds and comparisons come from the policy; pass/fail is decided on integer counts.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import GaConfig, SupportHours
from .metrics.model import ConnectorMetrics, InputQuality
from .metrics.stats import confident_sample, wilson_interval, z_score
from .months import add_months, whole_months
from .policy import CriterionPolicy, Policy
from .result import (
    Criterion,
    DataQuality,
    DayPoint,
    ErrorBudget,
    Mac,
    MacPoint,
    Metrics,
    OperationPoint,
    PolicyRef,
    Result,
    WeekUsers,
)
from .support import check_support

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .package.evidence import BackendEvidence

LOW_USAGE = "low-usage-after-6-months"
CUSTOMER = "customer-requires-production"


def _pct(value: float) -> str:
    return f"{value * 100:.3f}%".replace(".000%", "%")


def _n(value: int | float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def _window_text(m: ConnectorMetrics) -> str:
    return f"{m.window_start}–{m.window_end}"


def _ratio_criterion(
    cid: str,
    rule: CriterionPolicy,
    numerator: int,
    denominator: int,
    z: float,
    what: str,
    detail: str,
) -> Criterion:
    """A proportion criterion: exact comparison on integers, Wilson interval, confidence."""
    if denominator <= 0:
        return Criterion(
            id=cid,
            level=rule.level,
            status="insufficient-data",
            threshold=rule.threshold,
            comparison=rule.comparison,
            sample=0,
            numerator=0,
            denominator=0,
            detail=f"no {what} in the window: nothing to measure",
        )
    passed = rule.passes(numerator, denominator)
    interval = wilson_interval(numerator, denominator, z)
    strict = rule.comparison == ">"
    t = float(rule.exact_threshold)
    low = interval[0]
    confident = low > t if strict else low >= t
    needed = None
    if passed and not confident:
        needed = confident_sample(numerator, denominator, rule.exact_threshold, strict, z)
        more = (
            f"; not yet statistically confident (95% interval {_pct(interval[0])}–"
            f"{_pct(interval[1])} crosses {_pct(t)})"
            + (f", confident at about {_n(needed)} {what}" if needed else "")
        )
        detail += more
    return Criterion(
        id=cid,
        level=rule.level,
        status="pass" if passed else "fail",
        value=numerator / denominator,
        threshold=rule.threshold,
        comparison=rule.comparison,
        interval=[interval[0], interval[1]],
        sample=denominator,
        numerator=numerator,
        denominator=denominator,
        confident=confident if passed else None,
        confident_at_sample=needed,
        detail=detail,
    )


def _availability(m: ConnectorMetrics, rule: CriterionPolicy, z: float) -> Criterion:
    allowed = (1 - float(rule.exact_threshold)) * m.eligible
    detail = (
        f"{_n(m.connector_faults)} connector faults in {_n(m.eligible)} eligible requests "
        f"({_window_text(m)}); backend faults ({_n(m.faults['backend'])}) and throttling "
        f"({_n(m.throttled)}) excluded; error budget {allowed:,.1f} allowed, "
        f"{_n(m.connector_faults)} consumed, {allowed - m.connector_faults:,.1f} remaining"
    )
    return _ratio_criterion(
        "availability",
        rule,
        m.eligible - m.connector_faults,
        m.eligible,
        z,
        "eligible requests",
        detail,
    )


def _success_rate(m: ConnectorMetrics, rule: CriterionPolicy, z: float) -> Criterion:
    detail = (
        f"{_n(m.successes)} of {_n(m.eligible)} eligible requests answered 1xx–3xx "
        f"({_window_text(m)}); {_n(m.throttled)} throttled excluded"
    )
    return _ratio_criterion(
        "success-rate", rule, m.successes, m.eligible, z, "eligible requests", detail
    )


def _slo(m: ConnectorMetrics, rule: CriterionPolicy, bar: CriterionPolicy, z: float) -> Criterion:
    detail = (
        f"{_n(m.connections_meeting_bar)} of {_n(m.connections)} connections have availability "
        f"{bar.comparison} {_pct(float(bar.exact_threshold))} ({_window_text(m)})"
    )
    if m.rows_without_connection:
        detail += f"; {_n(m.rows_without_connection)} rows without connection_id left out"
    c = _ratio_criterion(
        "slo", rule, m.connections_meeting_bar, m.connections, z, "connections", detail
    )
    c.estimate = m.weighted
    return c


def backend_production_criterion(
    config: GaConfig | None, rule: CriterionPolicy, package: BackendEvidence | None = None
) -> Criterion:
    """The ga.toml declaration and the package's evidence: either showing "not production" fails."""
    declared = config.backend.status if config else None
    shown = package.production if package else None
    if not declared and shown is None:
        detail = (
            'nothing declared: set [backend] status = "production" in ga.toml '
            "(with evidence) once the backend APIs are in production"
        )
        return Criterion(
            id="backend-production",
            level=rule.level,
            status="insufficient-data",
            detail=detail + (f"; {package.summary}" if package else ""),
            evidence=list(package.evidence) if package else [],
        )
    ok, parts, evidence = True, [], []
    if declared:
        link = config.backend.evidence
        ok = declared.strip().lower() == "production"
        parts.append(
            f"ga.toml declares the backend '{declared}'"
            + (f" (evidence: {link})" if link else " (no evidence link given)")
        )
        evidence += [f"ga.toml [backend] status = {declared!r}"] + ([link] if link else [])
    if package:
        ok = ok and shown is not False
        shown_by = "; ".join(package.evidence)
        parts.append(package.summary + (f": {shown_by}" if shown_by else ""))
        evidence += package.evidence
    return Criterion(
        id="backend-production",
        level=rule.level,
        status="pass" if ok else "fail",
        value=declared or ("production" if shown else "not production"),
        detail="; ".join(parts),
        evidence=evidence,
    )


def support_criterion(config: GaConfig | None, rule: CriterionPolicy, year_start: dt.date):
    backend = config.support.backend if config else None
    connector = config.support.connector if config else None
    check = _support_check(
        backend.model_dump_json() if backend else None,
        connector.model_dump_json() if connector else None,
        year_start,
        config.source if config else "ga.toml",
    )
    return Criterion(id="support-model", level=rule.level, status=check.status, detail=check.detail)


@functools.lru_cache(maxsize=1024)
def _support_check(
    backend: str | None, connector: str | None, year_start: dt.date, source: str = "ga.toml"
):
    """check_support, once per declarations and year: a history judges many days alike."""
    return check_support(
        SupportHours.model_validate_json(backend) if backend else None,
        SupportHours.model_validate_json(connector) if connector else None,
        year_start,
        source,
    )


def wau_status(m: ConnectorMetrics, rule: CriterionPolicy) -> str:
    """The criterion's status alone (a forecast asks it of every projected day): a fully
    observed week under the bar fails, whatever the others; only then does a week that
    began before the first telemetry day leave the criterion undecided."""
    if not m.wau:
        return "insufficient-data"
    if any(not w.before_first_day and not rule.passes_value(w.users) for w in m.wau):
        return "fail"
    if any(w.before_first_day for w in m.wau):
        return "insufficient-data"
    return "pass"


def mac_status(m: ConnectorMetrics, rule: CriterionPolicy) -> str:
    if m.first_day is None:
        return "insufficient-data"
    return "pass" if rule.passes_value(m.mac_min) else "fail"


def wau_criterion(m: ConnectorMetrics, rule: CriterionPolicy) -> Criterion:
    if not m.wau:
        return Criterion(
            id="weekly-active-users",
            level=rule.level,
            status="insufficient-data",
            threshold=rule.threshold,
            comparison=rule.comparison,
            detail="no telemetry",
        )
    counts = ", ".join(f"{w.week}: {_n(w.users)}" for w in m.wau)
    lowest = min(w.users for w in m.wau)
    early = [w.week for w in m.wau if w.before_first_day]
    short = [w.week for w in m.wau if not w.before_first_day and not rule.passes_value(w.users)]
    rule_text = f"every week must be {rule.comparison} {rule.threshold:g}"
    status = wau_status(m, rule)
    if status == "fail":
        detail = f"distinct users per ISO week: {counts} ({rule_text}: {', '.join(short)} not)"
        if early:
            detail += f"; {', '.join(early)} began before the first telemetry day ({m.first_day})"
    elif status == "insufficient-data":
        detail = (
            f"{counts}; {', '.join(early)} began before the first telemetry day "
            f"({m.first_day}): three complete weeks of data are needed"
        )
    else:
        detail = f"distinct users per ISO week: {counts} ({rule_text})"
    if m.weighted:
        detail += "; estimated from sampled data"
    return Criterion(
        id="weekly-active-users",
        level=rule.level,
        status=status,
        value=lowest,
        threshold=rule.threshold,
        comparison=rule.comparison,
        sample=lowest,
        detail=detail,
        estimate=m.weighted,
    )


def mac_criterion(m: ConnectorMetrics, rule: CriterionPolicy, lookback: int) -> Criterion:
    if m.first_day is None:
        return Criterion(
            id="monthly-active-connections",
            level=rule.level,
            status="insufficient-data",
            threshold=rule.threshold,
            comparison=rule.comparison,
            detail="no telemetry",
        )
    status = mac_status(m, rule)
    if m.mac_partial_lookback:
        detail = (
            f"MAC({m.as_of}) = {_n(m.mac_current)} over a partial lookback: telemetry starts "
            f"{m.first_day}, fewer than {lookback} days before any day of the window"
        )
    else:
        detail = (
            f"lowest MAC {_n(m.mac_min)} on {m.mac_min_date} over the days whose {lookback}-day "
            f"lookback lies in the telemetry; MAC({m.as_of}) = {_n(m.mac_current)}"
        )
    if m.weighted:
        detail += "; estimated from sampled data"
    return Criterion(
        id="monthly-active-connections",
        level=rule.level,
        status=status,
        value=m.mac_min,
        threshold=rule.threshold,
        comparison=rule.comparison,
        detail=detail,
        estimate=m.weighted,
    )


def observed_days(m: ConnectorMetrics) -> int:
    """The days of the reliability window [window_start, window_end] from the connector's
    first telemetry day on (a day without requests after it is observed: a quiet day)."""
    if m.first_day is None or m.first_day > m.window_end:
        return 0
    return (m.window_end - max(m.window_start, m.first_day)).days + 1


def _on_observed_days(c: Criterion, m: ConnectorMetrics, policy: Policy) -> Criterion:
    """DESIGN: a reliability criterion whose window begins before the first telemetry day
    is judged on the days observed: a fail stands, a pass becomes insufficient-data."""
    total = (m.window_end - m.window_start).days + 1
    observed = observed_days(m)
    if observed >= total or c.status == "insufficient-data" or m.first_day is None:
        return c
    needed = min(policy.window.min_observed_days, total)
    note = f"{observed} of {total} days observed (telemetry from {m.first_day})"
    if c.status == "fail" or observed >= needed:
        return c.model_copy(update={"detail": f"{c.detail}; {note}"})
    covered = m.first_day + dt.timedelta(days=needed - 1)
    return c.model_copy(
        update={
            "status": "insufficient-data",
            "detail": f"{c.detail}; only {note}: a pass on {observed} days is no evidence "
            f"of {total}; {needed} observed days are needed, from {covered} on",
        }
    )


ATTRIBUTION_HINTS = {
    "canonical": "add backend_status (or error_source/error_reason) to the telemetry",
    "apim": "log BackendResponseCode and LastErrorSource/LastErrorReason in the gateway "
    "diagnostic settings",
    "appinsights": "record the backend's status as customDimensions.backendStatus",
    "otlp": "trace the backend call as a CLIENT child span with http.response.status_code",
    "store": "add backend_status (or error_source/error_reason) to the ingested telemetry",
}


def _attribution_hint(sources: set[str]) -> str:
    return "; ".join(ATTRIBUTION_HINTS[s] for s in sorted(sources) if s in ATTRIBUTION_HINTS)


def _data_quality(m: ConnectorMetrics, quality: InputQuality, policy: Policy) -> DataQuality:
    warnings: list[str] = []
    if m.eligible and m.unattributed_5xx > policy.data_quality.unattributed_warn_rate * m.eligible:
        counted = policy.attribution.unattributed_5xx
        warnings.append(
            f"{_n(m.unattributed_5xx)} 5xx responses ({_pct(m.unattributed_5xx / m.eligible)} of "
            f"eligible requests) say nothing of who caused them and are counted as {counted} "
            f"faults: {_attribution_hint(quality.sources)}"
        )
    if m.rows_without_connection:
        warnings.append(
            f"{_n(m.rows_without_connection)} rows in the window have no connection_id: "
            "left out of SLO and MAC"
        )
    if m.rows_without_user:
        warnings.append(
            f"{_n(m.rows_without_user)} rows in the window have no user_id: not counted in WAU"
        )
    if quality.duplicate_rows:
        warnings.append(f"{_n(quality.duplicate_rows)} rows repeat a request_id and count once")
    stale = m.last_day is not None and (m.as_of - m.last_day).days > 1
    if stale:
        warnings.append(
            f"the last request of {m.connector} is on {m.last_day}, "
            f"{(m.as_of - m.last_day).days} days before {m.as_of}, the date it is judged as of: "
            "a stale or silent connector"
        )
    if m.weighted:
        warnings.append(
            "sampled rows (weight > 1): counts are weighted; distinct users and connections "
            "are estimates"
        )
    return DataQuality(
        rejected_rows=quality.rejected_rows,
        unattributed_5xx=m.unattributed_5xx,
        rows_without_connection=m.rows_without_connection,
        rows_without_user=m.rows_without_user,
        rows=quality.rows,
        duplicate_rows=quality.duplicate_rows,
        reject_rate=quality.reject_rate,
        rejects_by_reason=quality.rejects_by_reason,
        rejects_by_file=quality.rejects_by_file,
        reject_samples=[str(s) for s in quality.samples],
        stale_since=m.last_day if stale else None,
        warnings=warnings,
    )


@dataclass
class Judgement:
    """What a day's figures decide: every criterion, the verdict and the exception."""

    criteria: list[Criterion]
    verdict: str
    exception: str | None
    exception_from: dt.date | None
    failing: list[str]
    unmeasured: list[str]
    since: dt.date | None  # preview_since, declared or (inferred) the first telemetry day
    inferred: bool


def reliability_criteria(m: ConnectorMetrics, policy: Policy) -> list[Criterion]:
    """Availability, the connections meeting the bar and the success rate: what rests on
    the window's requests (not on users, support or the backend)."""
    rules = policy.criteria
    z = z_score(policy.statistics.confidence)
    criteria = [
        _availability(m, rules.availability, z),
        _slo(m, rules.slo, rules.availability, z),
        _success_rate(m, rules.success_rate, z),
    ]
    return [_on_observed_days(c, m, policy) for c in criteria]


def judge(
    m: ConnectorMetrics,
    policy: Policy,
    config: GaConfig | None = None,
    backend_criterion: Criterion | None = None,
    backend: BackendEvidence | None = None,
    reliability: Sequence[Criterion] | None = None,
) -> Judgement:
    """Every criterion, the verdict and the exception that applies (no Result around them:
    a forecast judges hundreds of days and reads only these). `reliability`, when given,
    is `reliability_criteria(m, policy)` already computed (for a day whose request figures
    equal an earlier day's)."""
    rules = policy.criteria
    criteria = [
        backend_criterion
        or backend_production_criterion(config, rules.backend_production, backend),
        *(reliability or reliability_criteria(m, policy)),
        support_criterion(config, rules.support_model, m.as_of),
        wau_criterion(m, rules.weekly_active_users),
        mac_criterion(m, rules.monthly_active_connections, policy.window.mac_lookback_days),
    ]

    since = config.connector.preview_since if config else None
    inferred = since is None
    if inferred:
        since = m.first_day

    required = [c for c in criteria if c.level == "required"]
    recommended = [c for c in criteria if c.level == "recommended"]
    failing = [c.id for c in required if c.status == "fail"]
    unmeasured = [c.id for c in required if c.status == "insufficient-data"]
    mac = next(c for c in criteria if c.id == "monthly-active-connections")

    verdict, exception, exception_from = "ready", None, None
    if failing:
        verdict = "not-ready"
    elif unmeasured:
        verdict = "insufficient-data"
    elif all(c.status == "pass" for c in recommended):
        verdict = "ready"
    else:
        low_usage = policy.exceptions.low_usage_after_6_months
        applies_from = add_months(since, low_usage.preview_months) if since else None
        customer = config.exceptions if config else None
        if (
            low_usage.enabled
            and mac.status != "pass"
            and applies_from is not None
            and m.as_of >= applies_from
        ):
            verdict, exception = "ready-with-exception", LOW_USAGE
        elif (
            policy.exceptions.customer_requires_production.enabled
            and customer is not None
            and customer.customer_requires_production
            and customer.customer_reference.strip()
        ):
            verdict, exception = "ready-with-exception", CUSTOMER
        else:
            verdict = "ready-with-warnings"
            if low_usage.enabled and mac.status != "pass" and applies_from is not None:
                exception_from = applies_from
    return Judgement(
        criteria, verdict, exception, exception_from, failing, unmeasured, since, inferred
    )


def evaluate(
    m: ConnectorMetrics,
    quality: InputQuality,
    policy: Policy,
    config: GaConfig | None = None,
    backend_criterion: Criterion | None = None,
    backend: BackendEvidence | None = None,
) -> Result:
    """Judge one connector: every criterion, the verdict and the exception that applies."""
    rules = policy.criteria
    j = judge(m, policy, config, backend_criterion, backend)
    criteria, verdict, exception, exception_from = (
        j.criteria,
        j.verdict,
        j.exception,
        j.exception_from,
    )
    failing, unmeasured, since, inferred = j.failing, j.unmeasured, j.since, j.inferred
    months = whole_months(since, m.as_of) if since else None
    recommended = [c for c in criteria if c.level == "recommended"]

    summary = _summary(
        verdict,
        exception,
        exception_from,
        failing,
        unmeasured,
        recommended,
        inferred and since is not None,
    )
    budget = None
    if m.eligible:
        allowed = (1 - float(rules.availability.exact_threshold)) * m.eligible
        budget = ErrorBudget(
            allowed=allowed, consumed=m.connector_faults, remaining=allowed - m.connector_faults
        )
    metrics = Metrics(
        requests=m.requests,
        eligible=m.eligible,
        throttled=m.throttled,
        successes=m.successes,
        faults=dict(m.faults),
        success_rate=m.successes / m.eligible if m.eligible else None,
        availability=1 - m.connector_faults / m.eligible if m.eligible else None,
        slo=m.connections_meeting_bar / m.connections if m.connections else None,
        connections=m.connections,
        connections_meeting_bar=m.connections_meeting_bar,
        wau=[WeekUsers(**vars(w)) for w in m.wau],
        mac=Mac(
            current=m.mac_current,
            min=m.mac_min,
            min_date=m.mac_min_date,
            partial_lookback=m.mac_partial_lookback,
            # a point per day of every evaluated day (a forecast evaluates hundreds): built
            # from figures already typed, without validating each again
            series=[MacPoint.model_construct(date=d, connections=n) for d, n in m.mac_series],
        ),
        preview_months=months,
        preview_since=since,
        preview_since_inferred=inferred,
        error_budget=budget,
        window={"start": m.window_start, "end": m.window_end},
        first_day=m.first_day,
        last_day=m.last_day,
        distinct_counts_estimated=m.weighted,
        daily=[DayPoint(**vars(d)) for d in m.daily],
        operations=[OperationPoint(**vars(o)) for o in m.operations],
    )
    return Result(
        connector=m.connector,
        title=config.connector.title if config else None,
        publisher=config.connector.publisher if config else None,
        as_of=m.as_of,
        verdict=verdict,
        exception=exception,
        exception_from=exception_from,
        blocking=failing + unmeasured,
        summary=summary,
        criteria=criteria,
        metrics=metrics,
        data_quality=_data_quality(m, quality, policy),
        policy=PolicyRef(name=policy.name, version=policy.version),
        declarations=_declarations(config),
    )


def _declarations(config: GaConfig | None) -> dict:
    if config is None:
        return {}
    return {
        "preview_since": config.connector.preview_since,
        "backend_status": config.backend.status,
        "clouds": config.clouds.endpoints(),
        "support_contact": config.support.connector.contact if config.support.connector else None,
        "customer_requires_production": config.exceptions.customer_requires_production,
        # What support-model and the customer exception are judged on, so a reviewer can
        # judge them again from the result alone (connector-ga review).
        "customer_reference": config.exceptions.customer_reference,
        "support": {
            side: hours.model_dump(mode="json") if hours else None
            for side, hours in (
                ("backend", config.support.backend),
                ("connector", config.support.connector),
            )
        },
    }


def _summary(verdict, exception, exception_from, failing, unmeasured, recommended, inferred):
    if verdict == "not-ready":
        return "Not ready: required criteria fail: " + ", ".join(failing) + "."
    if verdict == "insufficient-data":
        return "Cannot decide: required criteria could not be measured: " + ", ".join(unmeasured)
    if verdict == "ready":
        return "Ready: every criterion passes."
    missed = ", ".join(c.id for c in recommended if c.status != "pass")
    if verdict == "ready-with-exception":
        note = " (preview start inferred from the first telemetry day)" if inferred else ""
        return f"Ready with the exception {exception}{note}: recommended {missed} not met."
    text = f"Ready with warnings: recommended {missed} not met and no exception applies yet"
    if exception_from:
        text += f"; the {LOW_USAGE} exception applies from {exception_from}"
    return text + "."
