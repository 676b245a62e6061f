"""The Markdown summary for CI: a GitHub step summary or a pull-request comment.

Verdict, criteria table and the three findings that matter most, kept under GitHub's
comment limit: whole lines are dropped from the end (never half a table row), and a note
says what was left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..result import Criterion, Result
from . import wording

MAX_CHARS = 65_000
FINDINGS = 3

VERDICT_ICON = {
    "ready": "✅",
    "ready-with-exception": "✅",
    "ready-with-warnings": "⚠️",
    "not-ready": "❌",
    "insufficient-data": "❔",
}
STATUS_ICON = {"pass": "✅", "fail": "❌", "insufficient-data": "❔"}
FINDING_ICON = {"blocker": "❌", "warning": "⚠️", "note": "ℹ️"}


def cell(text: object) -> str:
    """A table cell: pipes escaped, one line."""
    return " ".join(str(text).split()).replace("|", "\\|")


def criteria_table(result: Result) -> list[str]:
    lines = [
        "| criterion | level | status | value | threshold | 95% interval | sample |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for c in result.criteria:
        lines.append(_row(c))
    return lines


def _row(c: Criterion) -> str:
    status = f"{STATUS_ICON[c.status]} {wording.status_text(c)}"
    cells = [
        f"{wording.title(c.id)}",
        c.level,
        status,
        wording.format_value(c),
        wording.format_threshold(c),
        wording.interval_text(c),
        wording.sample_text(c),
    ]
    return "| " + " | ".join(cell(x) for x in cells) + " |"


def connector_section(result: Result, heading: str = "##") -> list[str]:
    m = result.metrics
    icon = VERDICT_ICON[result.verdict]
    lines = [
        f"{heading} {icon} {wording.name(result)}: {wording.VERDICT_TEXT[result.verdict]} "
        f"(`{result.verdict}`)",
        "",
    ]
    facts = [f"as of {result.as_of}", f"window {m.window['start']} – {m.window['end']}"]
    if result.publisher:
        facts.insert(0, f"publisher {result.publisher}")
    facts.append(f"policy {result.policy.name} {result.policy.version}")
    lines += [" · ".join(facts), "", result.summary, ""]
    if result.exception:
        lines += [f"**Exception:** `{result.exception}`", ""]
    if result.blocking:
        lines += [f"**Blocking:** {', '.join(f'`{b}`' for b in result.blocking)}", ""]
    lines += criteria_table(result)
    lines += ready_on(result)
    lines += top_fix(result)
    lines += ["", "**Findings**", ""]
    for i, finding in enumerate(wording.findings(result, limit=FINDINGS), 1):
        lines.append(f"{i}. {FINDING_ICON[finding.severity]} {' '.join(finding.text.split())}")
    lines.append("")
    return lines


def code(text: object) -> str:
    """Inline code that shows any string literally (telemetry names: no link, no HTML), in
    running text: one line, fenced by more backticks than any run of them inside."""
    text = " ".join(str(text).split()) or "(empty)"
    run = max((len(r) for r in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def ready_on(result: Result) -> list[str]:
    """The forecast in one line: the earliest date a request can pass, and why then."""
    f = result.forecast
    if f is None:
        return []
    line = f"**Ready on:** {f.ready_on or 'no date'}"
    if f.ready_on is None:
        line += f" within {f.horizon_days} days ({f.ready_basis}; scenario `{f.scenario}`)"
    elif f.ready_basis:
        line += f" ({f.ready_basis}; scenario `{f.scenario}`)"
    else:
        line += " (today)"
    reasons = [x.why for x in f.criteria.values() if x.why]
    if reasons:
        line += ": " + "; ".join(reasons)
    return ["", " ".join(line.split())]


def top_fix(result: Result) -> list[str]:
    """'Top fix: operations A, B (12 of 16 connector faults) would bring availability to …',
    one line per failing reliability criterion."""
    if not result.fix_plan:
        return []
    lines = [""]
    for fix in result.fix_plan.criteria:
        note = f" {fix.note}" if fix.note else ""
        lines.append(f"**Top fix:** {wording.fix_sentence(fix, quote=code)}.{note}")
        lines.append("")
    return lines[:-1]


def fleet_table(results: Sequence[Result]) -> list[str]:
    lines = [
        "| connector | verdict | exception | availability | success rate | SLO | blocking |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        values = [
            wording.format_value(r.criterion(cid))
            for cid in ("availability", "success-rate", "slo")
        ]
        cells = [
            r.connector,
            f"{VERDICT_ICON[r.verdict]} {r.verdict}",
            r.exception or "",
            *values,
            ", ".join(r.blocking),
        ]
        lines.append("| " + " | ".join(cell(x) for x in cells) + " |")
    return lines


def _fit(lines: list[str], limit: int) -> str:
    """Whole lines up to `limit` characters, then a note saying how many were left out."""
    text = "\n".join(lines) + "\n"
    if len(text) <= limit:
        return text
    note_room = 200
    kept, size = [], 0
    for line in lines:
        if size + len(line) + 1 > limit - note_room:
            break
        kept.append(line)
        size += len(line) + 1
    left = len(lines) - len(kept)
    if kept and kept[-1].startswith("|"):
        kept.append("")  # end the table before the note
    kept.append(
        f"_… {left:,} more lines left out to stay under {limit:,} characters; "
        "the HTML report and the JSON result have everything._"
    )
    return "\n".join(kept) + "\n"


def render(results: Result | Sequence[Result], limit: int = MAX_CHARS) -> str:
    """The summary of one connector, or of a fleet (its table first, then each connector)."""
    if isinstance(results, Result):
        return _fit(["# connector-ga", "", *connector_section(results)], limit)
    results = list(results)
    if len(results) == 1:
        return render(results[0], limit)
    ready = sum(r.ready for r in results)
    lines = [
        "# connector-ga fleet",
        "",
        f"{ready} of {len(results)} connectors ready · policy {results[0].policy.name} "
        f"{results[0].policy.version}",
        "",
        *fleet_table(results),
        "",
    ]
    for r in results:
        lines += connector_section(r, heading="###")
    return _fit(lines, limit)
