"""Render a diff report: text for people (grouped by operation, breaking first), JSON
(connector-ga/diff/v1), SARIF 2.1.0 (the shape of `lint`'s) and Markdown for a pull request."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from ..outputs.fit import Prose
from .diff import DIFF_SCHEMA, Change, DiffReport
from .output import dumps
from .rules_diff import DIFF_RULES, LEVELS
from .sarif import sarif_location, sarif_log, sarif_uri

COLOURS = {"breaking": "red", "warning": "yellow", "info": "cyan"}
SARIF_LEVEL = {"breaking": "error", "warning": "warning", "info": "note"}
PACKAGE_WIDE = "(package)"


def _groups(report: DiffReport) -> list[tuple[str, list[Change]]]:
    """Changes by operation, the operations with the worst change first."""
    rank = {level: i for i, level in enumerate(LEVELS)}
    groups: dict[str, list[Change]] = {}
    for change in report.changes:
        groups.setdefault(change.operation or PACKAGE_WIDE, []).append(change)
    for changes in groups.values():
        changes.sort(key=lambda c: rank[c.level])
    return sorted(groups.items(), key=lambda g: (min(rank[c.level] for c in g[1]), g[0]))


def _summary(report: DiffReport) -> str:
    warnings = report.count("warning")
    return (
        f"{report.breaking} breaking, {warnings} warning{'s' if warnings != 1 else ''}, "
        f"{report.count('info')} compatible"
    )


def render_text(report: DiffReport, console: Console) -> None:
    def say(text: str = "") -> None:
        # Wrapped between words at the width, under its own indent: never inside a name.
        line = Text.from_markup(text)
        indent = " " * (len(line.plain) - len(line.plain.lstrip(" ")) + 2)
        console.print(Prose(line, indent=indent))

    say(f"[bold]{escape(report.old_label)}[/] → [bold]{escape(report.new_label)}[/]")
    for operation, changes in _groups(report):
        say(f"  [bold]{escape(operation)}[/]")
        for change in changes:
            say(
                f"    [{COLOURS[change.level]}]{change.level}[/]  [bold]{change.rule}[/]  "
                f"{escape(change.message)}"
            )
            say(f"      [dim]{escape(report.location(change))}[/]")
            if change.level != "info":
                say(f"      [dim]{escape(DIFF_RULES[change.rule][1])}[/]")
    if not report.changes:
        say("  no change to operations, connection or security")
    say(_summary(report))


def diff_json(report: DiffReport) -> dict:
    return {
        "schema": DIFF_SCHEMA,
        "old": report.old_label,
        "new": report.new_label,
        "breaking": report.breaking,
        "changes": [
            {
                "rule": c.rule,
                "level": c.level,
                "operation": c.operation,
                "location": report.location(c),
                "pointer": c.pointer,
                "message": c.message,
            }
            for c in report.changes
        ],
    }


def to_json(report: DiffReport) -> str:
    return dumps(diff_json(report))


def to_sarif(report: DiffReport) -> str:
    used = sorted({c.rule for c in report.changes})
    rules = [
        {
            "id": rule,
            "name": rule,
            "shortDescription": {"text": DIFF_RULES[rule][1]},
            "helpUri": DIFF_RULES[rule][2],
            "properties": {"level": DIFF_RULES[rule][0]},
        }
        for rule in used
    ]
    index = {rule: i for i, rule in enumerate(used)}
    results = []
    for change in report.changes:
        package = report.old if change.side == "old" else report.new
        uri = sarif_uri(package.path / change.file)
        if change.side == "old" and report.old_label != str(report.old.path):
            # the old package is a temporary copy: name it as the git ref does
            uri = f"{report.old_label.split(':', 1)[-1].rstrip('/')}/{change.file}"
            uri = uri.removeprefix("./")
        location = sarif_location(uri, change.line, change.column, change.pointer)
        results.append(
            {
                "ruleId": change.rule,
                "ruleIndex": index[change.rule],
                "level": SARIF_LEVEL[change.level],
                "message": {"text": f"{change.message}: {DIFF_RULES[change.rule][1]}"},
                "locations": [location],
                "properties": {
                    "operation": change.operation,
                    "side": change.side,
                    "location": report.location(change),
                },
            }
        )
    return sarif_log(rules, results)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: DiffReport) -> str:
    lines = [
        f"### connector-ga diff: `{report.old_label}` → `{report.new_label}`",
        "",
        f"**{_summary(report)}**",
        "",
    ]
    if not report.changes:
        lines.append("No change to operations, connection or security.")
        return "\n".join(lines) + "\n"
    lines += ["| level | operation | rule | change | where |", "|---|---|---|---|---|"]
    for operation, changes in _groups(report):
        for change in changes:
            icon = {"breaking": "❌", "warning": "⚠️", "info": "ℹ️"}[change.level]
            lines.append(
                f"| {icon} {change.level} | `{_cell(operation)}` | "
                f"[{change.rule}]({DIFF_RULES[change.rule][2]}) | {_cell(change.message)} | "
                f"`{_cell(report.location(change))}` |"
            )
    return "\n".join(lines) + "\n"
