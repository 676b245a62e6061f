"""The Rich terminal view of a Result: the verdict on top, then one row per criterion."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from ..result import FixPlan, Forecast, Result, TelemetrySource
from .fit import Col, Fitted, Prose, say
from .wording import FIX_NAMES, counts_text, fix_sentence, format_threshold, format_value, pct

VERDICT_STYLE = {
    "ready": "bold green",
    "ready-with-exception": "bold green",
    "ready-with-warnings": "bold yellow",
    "not-ready": "bold red",
    "insufficient-data": "bold magenta",
}
STATUS_STYLE = {"pass": "green", "fail": "red", "insufficient-data": "magenta"}


def verdict_line(result: Result) -> Text:
    text = Text()
    text.append(f"{result.connector}  ", style="bold")
    text.append(result.verdict.upper(), style=VERDICT_STYLE[result.verdict])
    if result.exception:
        text.append(f"  (exception: {result.exception})")
    text.append(f"  as of {result.as_of}")
    return text


def criteria_table(result: Result, with_detail: bool = True) -> Fitted:
    columns = [Col("criterion"), Col("status"), Col("value", "right"), Col("threshold", "right")]
    if with_detail:
        columns.append(Col("detail", wrap=True, ratio=1))
    rows = []
    for c in result.criteria:
        name = Text(c.id)
        if c.level == "recommended":
            name.append("\n(recommended)", style="dim")
        status = Text(c.status, style=STATUS_STYLE[c.status])
        if c.status == "pass" and c.confident is False:
            status.append(" *", style="yellow")
        cells = [name, status, Text(format_value(c)), Text(format_threshold(c))]
        rows.append([*cells, *([Text(c.detail)] if with_detail else [])])
    return Fitted(columns, rows, show_lines=with_detail, expand=with_detail)


def render(result: Result, console: Console) -> None:
    parts = [Prose(verdict_line(result)), Prose(result.summary)]
    if result.exception_from:
        parts.append(Prose(f"low-usage exception applies from {result.exception_from}"))
    console.print(Panel(Group(*parts), expand=False))
    wide = console.width >= 110
    console.print(criteria_table(result, with_detail=wide))
    if not wide:  # narrow terminals: the details as paragraphs under the table
        for c in result.criteria:
            say(console, Text(f"{c.id}: ", style="bold") + Text(c.detail), indent="  ")
    if any(c.confident is False for c in result.criteria):
        note = " passes, but the 95% interval still crosses the threshold"
        say(console, Text("*", "yellow") + note)
    if result.forecast:
        console.print(forecast_block(result.forecast))
    if result.fix_plan:
        console.print(fix_plan_block(result.fix_plan))
    dq = result.data_quality
    lines = [
        f"rows read {dq.rows:,}, rejected {dq.rejected_rows:,}, duplicates {dq.duplicate_rows:,}, "
        f"unattributed 5xx {dq.unattributed_5xx:,}, rows without connection "
        f"{dq.rows_without_connection:,}"
    ]
    say(console, "\n".join(lines))
    if dq.rejected_rows:
        shown = len(dq.reject_samples)
        say(console, f"rejected rows ({dq.rejected_rows:,}; first {shown} shown):", "yellow")
        for sample in dq.reject_samples:
            say(console, f"  {sample}", indent="    ")
    for warning in dq.warnings:
        say(console, Text("! ", style="yellow") + Text(warning), indent="  ")
    say(console, f"policy {result.policy.name} {result.policy.version}", "dim")
    if dq.source is not None:
        say(console, read_line(dq.source), "dim", indent="  ")


def read_line(source: TelemetrySource) -> str:
    """What a check read, as its last line: `read: store PATH (version N)`, `read: export
    DIR`, or `read: N files: a, b`."""
    if source.kind == "store":
        version = f" (version {source.version})" if source.version is not None else ""
        return f"read: store {source.paths[0]}{version}"
    if source.kind == "export":
        return f"read: export {source.paths[0]}"
    count = len(source.paths)
    return f"read: {count} file{'s' if count != 1 else ''}: {', '.join(source.paths)}"


def forecast_block(forecast: Forecast) -> Group:
    """The earliest date a request can pass, and when each failing criterion passes."""
    lines = [Prose(forecast.summary[:1].upper() + forecast.summary[1:], "bold")]
    for f in forecast.criteria.values():
        lines.append(Prose(Text("  ") + Text(f.why), indent="    "))
    if forecast.exception and forecast.exception.applies_on:
        lines.append(
            Prose(
                f"  the {forecast.exception.id} exception applies from "
                f"{forecast.exception.applies_on}",
                indent="    ",
            )
        )
    return Group(*lines)


FIX_OPERATIONS = 5  # rows per criterion; the JSON and the HTML report have them all
FIX_CONNECTIONS = 5


def slo_counts_note(fix) -> str:
    """What the SLO fix plan's two counts are, and the set's adding up to its total."""
    by_name = {op.operation: op for op in fix.operations}
    steps = [by_name[name].connections_restored_in_set or 0 for name in fix.smallest_set]
    return (
        "restored alone: connections back over the bar if only that operation were fixed "
        "(a connection with faults in several operations needs them all); in set order: "
        "what each operation of the set adds after the ones before it, "
        f"{' + '.join(f'{n:,}' for n in steps)} = {fix.fixed:,}"
    )


def fix_plan_block(plan: FixPlan) -> Group:
    """Per failing criterion: the smallest set and the value it reaches, the top operations
    with their faults and status codes; then the most affected connections (pseudonymous)."""
    parts: list = [Prose("fix plan", "bold")]
    for fix in plan.criteria:
        name = FIX_NAMES.get(fix.criterion, fix.criterion)
        line = Text(f"{name} {pct(fix.value)}: ", style="bold")
        line.append(f"fixing {fix_sentence(fix)}")  # Text: operation names are never markup
        parts.append(Prose(line, indent="  "))
        if fix.note:
            parts.append(Prose(f"  {fix.note}", "yellow", indent="    "))
        slo = fix.criterion == "slo"
        # Two-line headers: the numbers are short, and a name column must keep its width.
        headers = ["restored\nalone", "restored in\nset order"] if slo else []
        headers += ["connector\nfaults", "failures", "eligible"]
        columns = [Col("  operation"), *(Col(h, "right") for h in headers)]
        columns.append(Col("status codes", wrap=True))
        rows = []
        for op in fix.operations[:FIX_OPERATIONS]:
            mark = "* " if op.operation in fix.smallest_set else "  "
            counts = [op.connections_restored or 0, op.connections_restored_in_set] if slo else []
            counts += [op.connector_faults, op.failures, op.eligible]
            rows.append(
                [
                    Text(mark + op.operation),
                    *(Text("—" if n is None else f"{n:,}") for n in counts),
                    Text(counts_text(op.statuses)),
                ]
            )
        parts.append(
            Fitted(columns, rows, box=None, padding=(0, 1), pad_edge=False, show_edge=False)
        )
        if slo:
            parts.append(Prose(f"  {slo_counts_note(fix)}", "dim", indent="    "))
        if len(fix.operations) > FIX_OPERATIONS:
            more = len(fix.operations) - FIX_OPERATIONS
            parts.append(Prose(f"  … {more} more operation{'' if more == 1 else 's'}"))
    if plan.connections:
        parts.append(Prose("most affected connections (pseudonymous id):", "bold"))
        for c in plan.connections[:FIX_CONNECTIONS]:
            bar = "meets the bar" if c.meets_bar else "under the bar"
            parts.append(
                Prose(
                    f"  {c.connection}  {c.connector_faults:,} connector "
                    f"fault{'' if c.connector_faults == 1 else 's'} in {c.eligible:,} eligible "
                    f"requests ({pct(c.availability)}, {bar})",
                    indent="    ",
                )
            )
    parts.append(Prose("* the smallest set of operations that makes the criterion pass", "dim"))
    return Group(*parts)


def render_fleet(results: Sequence[Result], console: Console) -> None:
    headers = ["connector", "verdict", "exception", "availability", "success rate", "SLO"]
    headers += ["min WAU", "MAC", "blocking"]
    columns = [Col(h, wrap=h == "blocking") for h in headers]
    rows = []
    for r in results:
        row = [
            Text(r.connector),
            Text(r.verdict, style=VERDICT_STYLE[r.verdict]),
            Text(r.exception or ""),
        ]
        for cid in (
            "availability",
            "success-rate",
            "slo",
            "weekly-active-users",
            "monthly-active-connections",
        ):
            row.append(Text(format_value(r.criterion(cid))))
        row.append(Text(", ".join(r.blocking)))
        rows.append(row)
    console.print(Fitted(columns, rows, title="connector-ga fleet", title_justify="center"))
    source = next((r.data_quality.source for r in results if r.data_quality.source), None)
    if source is not None:  # one telemetry for the whole fleet
        say(console, read_line(source), "dim", indent="  ")
