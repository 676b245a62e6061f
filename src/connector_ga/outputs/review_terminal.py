"""`connector-ga review` in the terminal: one row per request, then what failed, then
claimed against measured per criterion when the reviewer's telemetry was given."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from ..review import RequestReview
from .fit import Col, Fitted, say


def _checks_cell(review: RequestReview) -> str:
    if review.ok:
        return "[green]ok[/]"
    return "[red]failed:[/] " + ", ".join(c.name for c in review.failed)


def render(reviews: Sequence[RequestReview], console: Console) -> None:
    columns = [Col("request"), Col("connector"), Col("publisher", wrap=True), Col("claimed")]
    columns += [Col("checks", wrap=True), Col("measured")]
    rows = [
        [
            Text(r.source),
            Text(r.connector or "?"),
            Text(r.publisher or "?"),
            Text(r.claimed_verdict or "?"),
            Text.from_markup(_checks_cell(r)),
            Text(r.measured.verdict if r.measured else "—"),
        ]
        for r in reviews
    ]
    console.print(Fitted(columns, rows, title=f"{len(reviews)} GA request(s) reviewed"))
    for r in reviews:
        for check in r.failed:
            if check.skipped:
                continue
            for problem in check.problems:
                said = Text(f"{r.source}: {check.name}:", style="red") + Text(f" {problem}")
                say(console, said, indent="  ")
    for r in reviews:
        if r.measured is None:
            continue
        columns = [Col("criterion"), Col("claimed", wrap=True), Col("measured", wrap=True)]
        columns.append(Col(""))
        rows = [
            [
                Text(c.criterion),
                Text(f"{c.claimed_status or '—'} ({c.claimed_value})"),
                Text(f"{c.measured_status} ({c.measured_value})"),
                Text("differs", style="red") if c.differs else Text(""),
            ]
            for c in r.measured.criteria
        ]
        title = f"{r.connector}: claimed vs measured as of {r.measured.as_of}"
        console.print(Fitted(columns, rows, title=title))
