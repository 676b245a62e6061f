"""`connector-ga review` in the terminal: one row per request, then what failed, then
claimed against measured per criterion when the reviewer's telemetry was given."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..review import RequestReview


def _checks_cell(review: RequestReview) -> str:
    if review.ok:
        return "[green]ok[/]"
    return "[red]failed:[/] " + ", ".join(c.name for c in review.failed)


def render(reviews: Sequence[RequestReview], console: Console) -> None:
    table = Table(title=f"{len(reviews)} GA request(s) reviewed", title_justify="left")
    for column in ("request", "connector", "publisher", "claimed", "checks", "measured"):
        table.add_column(column, overflow="fold")
    for r in reviews:
        table.add_row(
            escape(r.source),
            escape(r.connector or "?"),
            escape(r.publisher or "?"),
            escape(r.claimed_verdict or "?"),
            _checks_cell(r),
            escape(r.measured.verdict) if r.measured else "—",
        )
    console.print(table)
    for r in reviews:
        for check in r.failed:
            if check.skipped:
                continue
            for problem in check.problems:
                console.print(
                    f"[red]{escape(r.source)}: {check.name}:[/] {escape(problem)}", soft_wrap=True
                )
    for r in reviews:
        if r.measured is None:
            continue
        table = Table(
            title=f"{r.connector}: claimed vs measured as of {r.measured.as_of}",
            title_justify="left",
        )
        for column in ("criterion", "claimed", "measured", ""):
            table.add_column(column, overflow="fold")
        for c in r.measured.criteria:
            table.add_row(
                c.criterion,
                f"{c.claimed_status or '—'} ({escape(c.claimed_value)})",
                f"{c.measured_status} ({escape(c.measured_value)})",
                "[red]differs[/]" if c.differs else "",
            )
        console.print(table)
