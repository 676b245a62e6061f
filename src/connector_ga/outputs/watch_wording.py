"""How a watch is worded: burn rates, times and the budget as the terminal view and the
notifications (webhook text, email subject and body) say them."""

from __future__ import annotations

import datetime as dt
import math

from ..trajectory.watch import Watch


def burn_text(burn) -> str:
    """A burn as a plain number, never in exponent notation: from 100 on a whole number
    with thousands separated (1,998), below it three significant digits (83.3, 2.5,
    0.00231: a small one never reads 0.0)."""
    value = float(burn)
    if not math.isfinite(value) or value == 0:
        return f"{value:g}"
    if abs(value) >= 99.95:  # what rounds to 100 or more
        return f"{value:,.0f}"
    value = float(f"{value:.3g}")  # three significant digits (0.0023148 → 0.00231)
    decimals = 2 - math.floor(math.log10(abs(value)))
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def when_text(moment: dt.datetime | None) -> str:
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def spent_text(b) -> str:
    """A spent budget as it is: spent since when, and by how much."""
    over = -b.remaining
    share = f" ({over / b.allowed:.0%} over)" if b.allowed else ""
    return (
        f"spent since {b.spent_since}: {b.consumed:,} connector faults against "
        f"{b.allowed:,.1f} allowed, {over:,.1f} over the budget{share}"
    )


def _alert_sentence(w: Watch, name: str, to: str) -> str:
    status = next(a for a in w.alerts if a.alert.name == name)
    a = status.alert
    burns = (
        f"burn {burn_text(status.burn_long)} over {a.long}, "
        f"{burn_text(status.burn_short)} over {a.short}; factor {a.factor:g}"
    )
    if to == "firing":
        return f"{name} alert FIRING ({burns})"
    return f"{name} alert resolved ({burns})"


def summary(w: Watch) -> str:
    """One paragraph: what changed, and the budget."""
    said = []
    for change in w.changes:
        if change.kind == "alert":
            said.append(_alert_sentence(w, change.key, change.after))
        else:
            said.append(f"{change.key} {change.before} → {change.after}")
    b = w.budget
    if b.allowed is None:
        budget = "no eligible request in the 30-day window, so no error budget"
    elif b.spent:
        budget = f"error budget of the 30 days to {w.at:%Y-%m-%d}: {spent_text(b)}"
    else:
        budget = (
            f"error budget of the 30 days to {w.at:%Y-%m-%d}: {b.remaining:,.1f} of "
            f"{b.allowed:,.1f} failed requests left ({b.consumed:,} spent); at the 1 h burn "
            f"it runs out {when_text(b.exhausted_at_1h)}, at the 1 d burn "
            f"{when_text(b.exhausted_at_1d)}"
        )
    return (
        f"connector-ga watch: {w.connector} at {w.at:%Y-%m-%d %H:%M} UTC: "
        + "; ".join(said)
        + f". {budget[0].upper()}{budget[1:]}."
    )


def headline(w: Watch) -> str:
    firing = [c.key for c in w.changes if c.kind == "alert" and c.after == "firing"]
    resolved = [c.key for c in w.changes if c.kind == "alert" and c.after == "ok"]
    criteria = [c for c in w.changes if c.kind == "criterion"]
    parts = [f"{k} FIRING" for k in firing] + [f"{k} resolved" for k in resolved]
    parts += [f"{c.key} {c.before} → {c.after}" for c in criteria]
    return ", ".join(parts)
