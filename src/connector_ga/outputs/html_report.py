"""The HTML evidence report: one self-contained file a reviewer reads in two minutes.

No network request of any kind: the CSS is inline, the charts are inline SVG rendered
here, and a Content-Security-Policy forbids the page from loading anything. The output
depends only on the Result (no clock), so the same evidence gives the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .. import __version__
from ..result import Criterion, Result
from ..trajectory.history import History
from . import wording
from .charts import render_charts
from .templates import render as render_template

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "connector"


def criterion_row(result: Result, c: Criterion) -> dict[str, Any]:
    """One criteria-table row, every cell already worded."""
    return {
        "id": c.id,
        "title": wording.title(c.id),
        "level": c.level,
        "status": c.status,
        "status_text": wording.status_text(c),
        "value": wording.format_value(c),
        "threshold": wording.format_threshold(c),
        "interval": wording.interval_text(c),
        "sample": wording.sample_text(c),
        "window": wording.window_text(result, c),
        "detail": c.detail,
        "blocking": c.id in result.blocking,
    }


def package_summary(result: Result) -> dict[str, Any] | None:
    """The package findings, when the Result carries them (a later `package` key)."""
    package = getattr(result, "package", None)
    if package is None:
        return None
    if hasattr(package, "model_dump"):
        package = package.model_dump(mode="json")
    elif hasattr(package, "to_json"):
        package = package.to_json()
    if not isinstance(package, dict):
        return {"facts": [("package", str(package))], "findings": [], "counts": {}}
    found = package.get("findings") or []
    rows = [
        f if isinstance(f, dict) else (f.to_json() if hasattr(f, "to_json") else {"message": f})
        for f in found
    ]
    counts: dict[str, int] = {}
    for row in rows:
        severity = str(row.get("severity", "info"))
        counts[severity] = counts.get(severity, 0) + 1
    order = {"error": 0, "warning": 1, "info": 2}
    rows.sort(key=lambda r: order.get(str(r.get("severity")), 3))
    facts = [
        (key, value)
        for key, value in package.items()
        if key != "findings" and isinstance(value, str | int | float | bool) and value is not None
    ]
    return {"facts": facts, "findings": rows[:25], "more": max(0, len(rows) - 25), "counts": counts}


FIX_OPERATIONS = 15  # operation rows per criterion; the JSON result has them all


def fix_plan_context(result: Result) -> dict[str, Any] | None:
    """The fix plan, every cell already worded (autoescaped by the template: operation
    names and error reasons come from telemetry)."""
    plan = result.fix_plan
    if plan is None:
        return None
    criteria = []
    for fix in plan.criteria:
        operations = [
            {
                "operation": op.operation,
                "in_set": op.operation in fix.smallest_set,
                "restored": wording.count(op.connections_restored),
                "restored_in_set": wording.count(op.connections_restored_in_set),
                "affected": wording.count(op.connections_affected),
                "connector_faults": wording.count(op.connector_faults),
                "failures": wording.count(op.failures),
                "eligible": wording.count(op.eligible),
                "statuses": wording.counts_text(op.statuses, limit=6),
                "reasons": wording.counts_text(op.error_reasons, limit=3),
            }
            for op in fix.operations[:FIX_OPERATIONS]
        ]
        criteria.append(
            {
                "id": fix.criterion,
                "title": wording.title(fix.criterion),
                "value": wording.pct(fix.value),
                "value_after": wording.pct(fix.value_after),
                "passes_after": fix.passes_after,
                "sentence": wording.fix_sentence(fix),
                "note": fix.note,
                "slo": fix.criterion == "slo",
                "counted": "failures" if fix.criterion == "success-rate" else "connector faults",
                "operations": operations,
                "more": max(0, len(fix.operations) - FIX_OPERATIONS),
            }
        )
    connections = [
        {
            "connection": c.connection,
            "eligible": wording.count(c.eligible),
            "connector_faults": wording.count(c.connector_faults),
            "availability": wording.pct(c.availability),
            "meets_bar": c.meets_bar,
        }
        for c in plan.connections
    ]
    return {"criteria": criteria, "connections": connections}


BASIS_TEXT = {
    "window": "30-day window, projected",
    "trend": "trend",
    "calendar": "calendar",
    "declaration": "declaration",
}


def _passes_on_text(c, horizon: int) -> str:
    if c.passes_on:
        return str(c.passes_on)
    return "when ga.toml changes" if c.basis == "declaration" else f"not within {horizon} days"


def forecast_context(result: Result) -> dict[str, Any] | None:
    f = result.forecast
    if f is None:
        return None
    rows = []
    for cid, c in f.criteria.items():
        band = f"{c.low or '—'} – {c.high or '—'}" if c.basis == "trend" else ""
        rows.append(
            {
                "id": cid,
                "title": wording.title(cid),
                "passes_on": _passes_on_text(c, f.horizon_days),
                "basis": BASIS_TEXT[c.basis],
                "band": band,
                "why": c.why,
            }
        )
    return {
        "summary": f.summary[:1].upper() + f.summary[1:],
        "ready_on": f.ready_on,
        "basis": BASIS_TEXT.get(f.ready_basis or "", ""),
        "scenario": f.scenario,
        "rows": rows,
        "exception": f.exception,
    }


TIMELINE_CELL = {"pass": "+", "fail": "x", "insufficient-data": "?"}
TIMELINE_VERDICT = {
    "ready": ("R", "pass"),
    "ready-with-exception": ("E", "pass"),
    "ready-with-warnings": ("W", "warn"),
    "not-ready": ("N", "fail"),
    "insufficient-data": ("?", "insufficient-data"),
}
TIMELINE_LABEL_EVERY = 14


def timeline_context(history: History | None) -> dict[str, Any] | None:
    """The readiness timeline: verdict and criteria × days, a character and a colour per
    cell (readable printed in black and white), dates every two weeks."""
    if history is None or not history.days:
        return None
    days = history.days
    n = len(days)
    # Blocks of two weeks counted back from the last day, each labelled at its end.
    header = []
    for end in range(n - 1, -1, -TIMELINE_LABEL_EVERY):
        start = max(0, end - TIMELINE_LABEL_EVERY + 1)
        header.append((end - start + 1, days[end].as_of.strftime("%b %d")))
    header.reverse()
    rows = [
        {
            "title": "Verdict",
            "cells": [
                (TIMELINE_VERDICT[d.verdict][0], TIMELINE_VERDICT[d.verdict][1], d.as_of, d.verdict)
                for d in days
            ],
        }
    ]
    for cid in days[-1].criteria:
        rows.append(
            {
                "title": wording.title(cid),
                "cells": [
                    (
                        TIMELINE_CELL[d.criteria[cid].status],
                        d.criteria[cid].status,
                        d.as_of,
                        d.criteria[cid].status,
                    )
                    for d in days
                ],
            }
        )
    return {
        "first": days[0].as_of,
        "last": days[-1].as_of,
        "days": n,
        "header": header,
        "rows": rows,
        "changes": [
            {
                "on": c.on,
                "what": "verdict" if c.what == "verdict" else wording.title(c.criterion or ""),
                "from": c.from_,
                "to": c.to,
            }
            for c in history.changes
        ][-12:],
    }


def connector_context(result: Result, key: str, history: History | None = None) -> dict[str, Any]:
    m = result.metrics
    declarations = result.declarations or {}
    return {
        "r": result,
        "key": key,
        "name": wording.name(result),
        "verdict_text": wording.VERDICT_TEXT[result.verdict],
        "exception_text": wording.EXCEPTION_TEXT.get(result.exception or "", ""),
        "exception_evidence": wording.exception_evidence(result),
        "blocking": [criterion_row(result, c) for c in wording.blocking(result)],
        "unmet": [criterion_row(result, c) for c in wording.unmet_recommended(result)],
        "rows": [criterion_row(result, c) for c in result.criteria],
        "findings": wording.findings(result, limit=5),
        "charts": render_charts(result, key=f"{key}-"),
        "methods": wording.methods(result),
        "fix_plan": fix_plan_context(result),
        "forecast": forecast_context(result),
        "timeline": timeline_context(history),
        "package": package_summary(result),
        "dq": result.data_quality,
        "m": m,
        "budget": m.error_budget,
        "clouds": declarations.get("clouds") or {},
        "declarations": declarations,
    }


def render(results: Result | Sequence[Result], histories: dict[str, History] | None = None) -> str:
    """The report of one connector, or of a fleet (a summary table, then each connector);
    with their histories, each gets a readiness timeline."""
    histories = histories or {}
    if isinstance(results, Result):
        results = [results]
    results = list(results)
    keys: dict[str, int] = {}
    connectors = []
    for result in results:
        key = _slug(result.connector)
        keys[key] = keys.get(key, 0) + 1
        if keys[key] > 1:
            key = f"{key}-{keys[key]}"
        connectors.append(connector_context(result, key, histories.get(result.connector)))
    fleet = len(results) > 1
    first = results[0]
    title = (
        f"GA readiness evidence — {len(results)} connectors"
        if fleet
        else f"GA readiness evidence — {wording.name(first)}"
    )
    return render_template(
        "report.html.j2",
        title=title,
        fleet=fleet,
        connectors=connectors,
        css=render_template("report.css"),
        csp=CSP,
        version=__version__,
        policy=first.policy,
        verdict_text=wording.VERDICT_TEXT,
    )
