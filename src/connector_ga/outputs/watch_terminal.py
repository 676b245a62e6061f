"""The terminal view of a watch: the four alerts, the budget, when it runs out, and what
changed since the previous watch."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..trajectory.watch import Watch
from .watch_wording import burn_text, spent_text, when_text


def render(w: Watch, console: Console, first: bool) -> None:
    """The four alerts, the budget, when it runs out, and what changed."""
    console.print(
        Text(w.connector, style="bold") + Text(f"  at {w.at:%Y-%m-%d %H:%M:%S} UTC"),
    )
    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 2))
    for header, justify in (
        ("alert", "left"),
        ("burn long", "right"),
        ("burn short", "right"),
        ("factor", "right"),
        ("", "left"),
    ):
        table.add_column(header, justify=justify)
    for a in w.alerts:
        alert = a.alert
        table.add_row(
            alert.name,
            f"{burn_text(a.burn_long)} ({alert.long})",
            f"{burn_text(a.burn_short)} ({alert.short})",
            f"{alert.factor:g}",
            Text("FIRING", style="bold red") if a.firing else Text("ok", style="green"),
        )
    console.print(table)
    b = w.budget
    if b.allowed is None:
        console.print("  error budget: no eligible request in the 30-day window")
    elif b.spent:
        console.print(
            f"  error budget, 30 days to {w.at:%Y-%m-%d}: {spent_text(b)}",
            markup=False,
        )
        console.print(
            f"  burning now at {burn_text(b.burn_1h)} (1 h) and {burn_text(b.burn_1d)} (1 d)",
            markup=False,
        )
    else:
        left = b.remaining / b.allowed if b.allowed else 0.0
        console.print(
            f"  error budget, 30 days to {w.at:%Y-%m-%d}: {b.allowed:,.1f} allowed, "
            f"{b.consumed:,} consumed, {b.remaining:,.1f} remaining ({left:.1%})",
            markup=False,
        )
        console.print(
            f"  runs out at the 1 h burn ({burn_text(b.burn_1h)}): "
            f"{when_text(b.exhausted_at_1h)}; at the 1 d burn ({burn_text(b.burn_1d)}): "
            f"{when_text(b.exhausted_at_1d)}",
            markup=False,
        )
    if w.changes:
        said = []
        for c in w.changes:
            to = "FIRING" if c.after == "firing" else c.after
            said.append(f"{c.key} {c.before} → {to}")
        console.print("  changes since the previous watch: " + "; ".join(said), markup=False)
    elif first:
        console.print("  first watch of this connector: nothing to compare with", markup=False)
    else:
        console.print("  no change since the previous watch", markup=False)
