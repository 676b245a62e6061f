"""The terminal view of a watch: the four alerts, the budget, when it runs out, and what
changed since the previous watch."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from ..trajectory.watch import Watch
from .fit import Col, Fitted, say
from .watch_wording import burn_text, spent_text, when_text


def render(w: Watch, console: Console, first: bool) -> None:
    """The four alerts, the budget, when it runs out, and what changed."""
    say(console, Text(w.connector, style="bold") + Text(f"  at {w.at:%Y-%m-%d %H:%M:%S} UTC"))
    columns = [Col("alert"), Col("burn long", "right"), Col("burn short", "right")]
    columns += [Col("factor", "right"), Col("")]
    rows = []
    for a in w.alerts:
        alert = a.alert
        rows.append(
            [
                Text(alert.name),
                Text(f"{burn_text(a.burn_long)} ({alert.long})"),
                Text(f"{burn_text(a.burn_short)} ({alert.short})"),
                Text(f"{alert.factor:g}"),
                Text("FIRING", style="bold red") if a.firing else Text("ok", style="green"),
            ]
        )
    console.print(Fitted(columns, rows, box=None, pad_edge=False, padding=(0, 2, 0, 2)))
    b = w.budget
    if b.allowed is None:
        say(console, "  error budget: no eligible request in the 30-day window")
    elif b.spent:
        say(
            console,
            f"  error budget, 30 days to {w.at:%Y-%m-%d}: {spent_text(b)}",
            indent="    ",
        )
        say(
            console,
            f"  burning now at {burn_text(b.burn_1h)} (1 h) and {burn_text(b.burn_1d)} (1 d)",
            indent="    ",
        )
    else:
        left = b.remaining / b.allowed if b.allowed else 0.0
        say(
            console,
            f"  error budget, 30 days to {w.at:%Y-%m-%d}: {b.allowed:,.1f} allowed, "
            f"{b.consumed:,} consumed, {b.remaining:,.1f} remaining ({left:.1%})",
            indent="    ",
        )
        say(
            console,
            f"  runs out at the 1 h burn ({burn_text(b.burn_1h)}): "
            f"{when_text(b.exhausted_at_1h)}; at the 1 d burn ({burn_text(b.burn_1d)}): "
            f"{when_text(b.exhausted_at_1d)}",
            indent="    ",
        )
    if w.changes:
        said = []
        for c in w.changes:
            to = "FIRING" if c.after == "firing" else c.after
            said.append(f"{c.key} {c.before} → {to}")
        say(console, "  changes since the previous watch: " + "; ".join(said), indent="    ")
    elif first:
        say(console, "  first watch of this connector: nothing to compare with")
    else:
        say(console, "  no change since the previous watch")
