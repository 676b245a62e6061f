"""How every written output (HTML report, Markdown, request email) words a Result.

One place for the formats, so the report, the summary and the email show the same number
the same way. Nothing here measures anything: it only phrases what the Result holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..result import Criterion, CriterionFix, Result

RATIO_CRITERIA = ("availability", "slo", "success-rate")

TITLES = {
    "backend-production": "Backend in production",
    "availability": "Availability",
    "slo": "SLO",
    "success-rate": "Success rate",
    "support-model": "Support model",
    "weekly-active-users": "Weekly active users",
    "monthly-active-connections": "Monthly active connections",
}

VERDICT_TEXT = {
    "ready": "Ready for GA",
    "ready-with-exception": "Ready for GA with an exception",
    "ready-with-warnings": "Ready, with warnings",
    "not-ready": "Not ready",
    "insufficient-data": "Insufficient data",
}

STATUS_TEXT = {"pass": "pass", "fail": "fail", "insufficient-data": "insufficient data"}

SAMPLE_UNIT = {
    "availability": "eligible requests",
    "success-rate": "eligible requests",
    "slo": "connections",
}

EXCEPTION_TEXT = {
    "low-usage-after-6-months": (
        "fewer than 50 monthly active connections, in preview for at least 6 months, and "
        "every required criterion passes"
    ),
    "customer-requires-production": "a customer requires the connector to be in production",
}


def format_value(c: Criterion) -> str:
    """A value for people: percentages keep enough digits to show the margin."""
    if c.value is None:
        return "—"
    if isinstance(c.value, str):
        return c.value
    if c.id in ("availability", "slo", "success-rate"):
        return f"{c.value * 100:.3f}%"
    suffix = " (est.)" if c.estimate else ""
    return f"{int(c.value):,}{suffix}"


def format_threshold(c: Criterion) -> str:
    if c.threshold is None:
        return "—"
    if c.id in ("availability", "slo", "success-rate"):
        return f"{c.comparison} {c.threshold * 100:g}%"
    return f"{c.comparison} {c.threshold:g}"


def title(criterion_id: str) -> str:
    return TITLES.get(criterion_id, criterion_id)


def name(result: Result) -> str:
    """'Contoso Tasks (contoso-tasks)', or the id alone when no title is declared."""
    if result.title and result.title != result.connector:
        return f"{result.title} ({result.connector})"
    return result.connector


def pct(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def count(value: int | float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def interval_text(c: Criterion) -> str:
    """The 95% Wilson interval as the report prints it, or a dash."""
    if not c.interval:
        return "—"
    low, high = c.interval
    return f"{pct(low)} – {pct(high)}"


def sample_text(c: Criterion) -> str:
    if c.sample is None:
        return "—"
    unit = SAMPLE_UNIT.get(c.id)
    return f"{c.sample:,}" + (f" {unit}" if unit else "")


def status_text(c: Criterion) -> str:
    text = STATUS_TEXT[c.status]
    if c.status == "pass" and c.confident is False:
        text += " (not yet statistically confident)"
    return text


def window_text(result: Result, c: Criterion) -> str:
    """The period each criterion was measured over, in words."""
    m = result.metrics
    reliability = f"{m.window['start']} – {m.window['end']} (UTC days)"
    if c.id in RATIO_CRITERIA:
        return f"window {reliability}"
    if c.id == "weekly-active-users":
        if not m.wau:
            return "the last three complete ISO weeks"
        return f"ISO weeks {', '.join(w.week for w in m.wau)}"
    if c.id == "monthly-active-connections":
        lookback = " (partial lookback)" if m.mac.partial_lookback else ""
        return f"MAC(d) for each day d of {reliability}{lookback}"
    return f"declared, evaluated as of {result.as_of}"


def blocking(result: Result) -> list[Criterion]:
    """The criteria that stop the request: failing or unmeasured required ones."""
    return [c for c in result.criteria if c.id in result.blocking]


def unmet_recommended(result: Result) -> list[Criterion]:
    return [c for c in result.criteria if c.level == "recommended" and c.status != "pass"]


def exception_evidence(result: Result) -> list[str]:
    """Why the exception the verdict names applies, one line per fact, from the Result."""
    if not result.exception:
        return []
    m = result.metrics
    lines = []
    if result.exception == "low-usage-after-6-months":
        mac = result.criterion("monthly-active-connections")
        lines.append(
            f"monthly active connections {format_value(mac)} (needs {format_threshold(mac)}): "
            f"{STATUS_TEXT[mac.status]}"
        )
        since = m.preview_since or result.declarations.get("preview_since")
        inferred = " (inferred from the first telemetry day)" if m.preview_since_inferred else ""
        lines.append(
            f"in preview since {since}{inferred}: {m.preview_months} whole months "
            f"as of {result.as_of}"
        )
    elif result.exception == "customer-requires-production":
        reference = result.declarations.get("customer_reference")
        lines.append(
            "ga.toml declares that a customer requires the connector in production"
            + (f" (customer reference: {reference})" if reference else "")
        )
    required = [c for c in result.criteria if c.level == "required"]
    if all(c.status == "pass" for c in required):
        lines.append(f"every required criterion passes ({', '.join(c.id for c in required)})")
    return lines


@dataclass(frozen=True)
class Finding:
    """One thing a reviewer should read first: the most severe first."""

    severity: str  # "blocker", "warning" or "note"
    text: str


def findings(result: Result, limit: int | None = None) -> list[Finding]:
    """What matters most in this Result, in order: blockers, then warnings, then notes."""
    out: list[Finding] = []
    m = result.metrics
    for c in result.criteria:
        if c.level == "required" and c.status == "fail":
            out.append(
                Finding(
                    "blocker",
                    f"{title(c.id)} fails: {format_value(c)} (needs {format_threshold(c)}). "
                    f"{c.detail}".strip(),
                )
            )
    for c in result.criteria:
        if c.level == "required" and c.status == "insufficient-data":
            out.append(Finding("blocker", f"{title(c.id)} could not be measured: {c.detail}"))
    top = next((op for op in m.operations if op.connector_faults > 0), None)
    connector_faults = m.faults.get("connector", 0)
    if top is not None and connector_faults:
        out.append(
            Finding(
                "blocker" if result.criterion("availability").status == "fail" else "warning",
                f"Most connector faults come from operation {top.operation}: "
                f"{top.connector_faults:,} of {connector_faults:,} in the window.",
            )
        )
    if result.exception:
        out.append(
            Finding(
                "note",
                f"Claims the exception {result.exception}: "
                + "; ".join(exception_evidence(result))
                + ".",
            )
        )
    for c in unmet_recommended(result):
        out.append(
            Finding(
                "warning" if not result.exception else "note",
                f"Recommended {title(c.id).lower()} not met: {format_value(c)} "
                f"(recommended {format_threshold(c)}).",
            )
        )
    if result.exception_from:
        out.append(
            Finding(
                "note",
                f"The low-usage-after-6-months exception applies from {result.exception_from}.",
            )
        )
    for c in result.criteria:
        if c.status == "pass" and c.confident is False:
            needed = (
                f"; about {c.confident_at_sample:,} {SAMPLE_UNIT.get(c.id, 'samples')} "
                "would make it confident"
                if c.confident_at_sample
                else ""
            )
            out.append(
                Finding(
                    "warning",
                    f"{title(c.id)} passes ({format_value(c)}) but its 95% interval "
                    f"{interval_text(c)} still crosses {format_threshold(c)}{needed}.",
                )
            )
    budget = m.error_budget
    if budget and budget.allowed > 0 and result.criterion("availability").status == "pass":
        used = budget.consumed / budget.allowed
        if used >= 0.5:
            out.append(
                Finding(
                    "warning",
                    f"{used:.0%} of the availability error budget is consumed "
                    f"({count(budget.consumed)} of {count(budget.allowed)} connector faults).",
                )
            )
    dq = result.data_quality
    if dq.unattributed_5xx:
        out.append(
            Finding(
                "warning",
                f"{dq.unattributed_5xx:,} 5xx responses had nothing saying who caused them and "
                "count against the connector.",
            )
        )
    for warning in dq.warnings:
        out.append(Finding("warning", warning))
    if dq.rejected_rows:
        out.append(Finding("note", f"{dq.rejected_rows:,} telemetry rows were rejected."))
    if not out:
        out.append(Finding("note", "Every criterion passes."))
    order = {"blocker": 0, "warning": 1, "note": 2}
    out.sort(key=lambda f: order[f.severity])  # stable: the order above within a severity
    return out[:limit] if limit else out


def methods(result: Result) -> list[tuple[str, str]]:
    """How each number was computed: one sentence per metric (DESIGN.md), with this policy."""

    def threshold(cid: str) -> str:
        c = next((c for c in result.criteria if c.id == cid), None)
        return format_threshold(c) if c else "—"

    m = result.metrics
    start, end = m.window.get("start"), m.window.get("end")
    return [
        (
            "Window",
            f"Availability, SLO and success rate use the 30 UTC days {start} – {end} ending on "
            f"the evaluation date {result.as_of}; counts are sums of each row's weight.",
        ),
        (
            "Eligible requests",
            "Every request except throttled ones (HTTP 429, or RateLimitExceeded / "
            "QuotaExceeded), so requests = eligible + throttled.",
        ),
        (
            "Fault attribution",
            "Each failed request gets exactly one fault (throttled, client, backend or "
            "connector) from the first matching rule on status, backend status and gateway "
            "error source/reason; a 5xx with nothing saying who caused it counts against the "
            "connector (reported as unattributed).",
        ),
        (
            "Success rate",
            "Eligible requests answered with a status from 100 to 399 ÷ eligible requests; "
            f"it must be {threshold('success-rate')}.",
        ),
        (
            "Availability",
            "1 − connector-caused failures ÷ eligible requests (backend and client failures "
            f"excluded); it must be {threshold('availability')}.",
        ),
        (
            "SLO",
            "Connections whose own availability over the window meets the availability bar ÷ "
            f"connections with at least one eligible request; it must be {threshold('slo')}.",
        ),
        (
            "95% interval",
            "The Wilson score interval of each proportion; a pass whose interval still "
            "crosses the threshold is marked not yet statistically confident.",
        ),
        (
            "Error budget",
            "Allowed connector faults = (1 − the availability threshold) × eligible requests; "
            "consumed = connector faults; remaining = allowed − consumed.",
        ),
        (
            "Weekly active users",
            "Distinct users with any request (throttled included) in each of the last three "
            "complete ISO weeks, Monday to Sunday UTC; every week must be "
            f"{threshold('weekly-active-users')}.",
        ),
        (
            "Monthly active connections",
            "MAC(d) = distinct connections with a request in the 30 UTC days ending on d; the "
            "criterion is the lowest MAC(d) over the window's days whose lookback lies inside "
            f"the telemetry, and must be {threshold('monthly-active-connections')}.",
        ),
        (
            "Preview age",
            "Whole calendar months from preview_since in ga.toml (or, if absent, the first "
            "telemetry day) to the evaluation date.",
        ),
        (
            "Backend in production",
            "Fails when ga.toml or the connector package shows a non-production backend "
            "(staging, dev, test, sandbox, preview or beta hosts or paths, -preview API "
            "versions).",
        ),
        (
            "Support model",
            "The connector's declared support hours must cover the backend's on every day of a "
            "full year (so DST shifts count), and a support contact must be declared.",
        ),
    ]


# ---- the fix plan ----------------------------------------------------------------------

FIX_NAMES = {"availability": "availability", "success-rate": "success rate", "slo": "SLO"}
FIX_COUNTED = {
    "availability": "connector faults",
    "success-rate": "failures",
    "slo": "connections under the bar",
}


def fix_sentence(fix: CriterionFix, quote: Callable[[str], str] = str) -> str:
    """'operations A, B (11 of 18 connector faults) would bring availability to 99.965%';
    `quote` words an operation name (it comes from telemetry) for the output at hand."""
    names = ", ".join(quote(op) for op in fix.smallest_set)
    noun = "operation" if len(fix.smallest_set) == 1 else "operations"
    share = f"{fix.fixed:,} of {fix.total:,} {FIX_COUNTED.get(fix.criterion, '')}".rstrip()
    if fix.criterion == "slo":
        share = f"restoring {share}"
    reach = "would bring" if fix.passes_after else "would bring only"
    text = f"{noun} {names} ({share}) {reach} {FIX_NAMES.get(fix.criterion, fix.criterion)} "
    return text + f"to {pct(fix.value_after)}"


def counts_text(counts: dict[str, int], limit: int = 4) -> str:
    """'500 ×4, 502 ×2': status codes or error reasons, commonest first."""
    shown = [f"{key} ×{n:,}" for key, n in list(counts.items())[:limit]]
    if len(counts) > limit:
        shown.append(f"+{len(counts) - limit} more")
    return ", ".join(shown) or "—"
