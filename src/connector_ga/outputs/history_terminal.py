"""The terminal view of a history: one line per criterion, one cell per day, and the dates
where something changed. Every cell is a character as well as a colour, so it reads the
same in a log file or without colour."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from ..trajectory.history import History
from .fit import say

STATUS_CELL = {"pass": ("+", "green"), "fail": ("x", "red"), "insufficient-data": ("?", "magenta")}
VERDICT_CELL = {
    "ready": ("R", "bold green"),
    "ready-with-exception": ("E", "green"),
    "ready-with-warnings": ("W", "yellow"),
    "not-ready": ("N", "bold red"),
    "insufficient-data": ("?", "magenta"),
}
LABEL_WIDTH = 28


def _rows(history: History, days: slice) -> list[tuple[str, Text]]:
    shown = history.days[days]
    verdict = Text()
    for day in shown:
        char, style = VERDICT_CELL[day.verdict]
        verdict.append(char, style=style)
    rows = [("verdict", verdict)]
    for cid in shown[0].criteria if shown else ():
        cells = Text()
        for day in shown:
            char, style = STATUS_CELL[day.criteria[cid].status]
            cells.append(char, style=style)
        rows.append((cid, cells))
    return rows


def _scale(history: History, days: slice) -> Text:
    """Dates above the cells: the first day of the block, then every 14th day; a label
    that would run past the block's last cell is left out, never cut ("11-")."""
    shown = history.days[days]
    line = [" "] * len(shown)
    for i in range(0, len(shown), 14):
        label = shown[i].as_of.strftime("%m-%d")
        if i + len(label) > len(line):
            continue
        line[i : i + len(label)] = label
    return Text("".join(line), style="dim")


def render(history: History, console: Console) -> None:
    days = len(history.days)
    say(
        console,
        Text(f"{history.connector}", style="bold")
        + Text(f"  {history.from_} – {history.to} ({days} days)"),
    )
    width = max(14, console.width - LABEL_WIDTH - 1)
    for start in range(0, days, width):
        block = slice(start, min(days, start + width))
        console.print(Text(" " * LABEL_WIDTH) + _scale(history, block), soft_wrap=True)
        for label, cells in _rows(history, block):
            console.print(Text(f"{label:<{LABEL_WIDTH}}") + cells, soft_wrap=True)
    say(
        console,
        "cells: + pass  x fail  ? insufficient data; verdict: R ready  E with exception  "
        "W with warnings  N not ready  ? insufficient data",
        "dim",
        indent="  ",
    )
    if not history.changes:
        say(console, "no change in the verdict or any criterion over these days")
        return
    say(console, "changes:", "bold")
    for change in history.changes:
        what = "verdict" if change.what == "verdict" else change.criterion
        say(console, f"  {change.on}  {what}: {change.from_} → {change.to}", indent="    ")


def render_all(histories: Sequence[History], console: Console) -> None:
    for i, history in enumerate(histories):
        if i:
            console.print()
        render(history, console)
