"""Calendar months, as publishers and Microsoft count them."""

from __future__ import annotations

import calendar
import datetime as dt


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later, clamped to the month end (Aug 31+6 → Feb 28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def whole_months(start: dt.date, end: dt.date) -> int:
    """Whole calendar months from start to end: the largest m with add_months(start, m) ≤ end."""
    if end < start:
        return 0
    months = (end.year - start.year) * 12 + (end.month - start.month)
    while months > 0 and add_months(start, months) > end:
        months -= 1
    return months
