"""The `support-model` criterion: connector support hours must cover the backend's.

Both schedules are expanded into UTC intervals for every local day of a full year, so a
week where the two time zones are on different DST rules shows up as a gap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config import SupportHours
from .errors import InputError

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_INDEX = {name.lower(): index for index, name in enumerate(DAY_NAMES)}
_DAY_INDEX.update({name: index for index, name in enumerate(_FULL_NAMES)})
_ALWAYS = ("24x7", "24/7")
_DASH = r"\s*[-\u2013]\s*"  # a hyphen or an en dash, as people write "Mon–Fri"
_SPEC = re.compile(
    rf"^(?P<days>.+?)\s+(?P<start>\d{{1,2}}:\d{{2}}){_DASH}(?P<end>\d{{1,2}}:\d{{2}})$"
)
_EXPECTED = "support hours such as 'Mon-Fri 08:00-17:00', 'Mon,Wed,Fri 09:00-12:00' or '24x7'"

MINUTES_PER_DAY = 24 * 60
YEAR_DAYS = 366
# Connector days checked around the backend's year: time zones up to 26 h apart plus an
# interval crossing midnight can reach two local days either side.
_MARGIN_DAYS = 2
MAX_UNCOVERED = 10
UTC_ZONE = ZoneInfo("UTC")
_UTC_KEYS = ("UTC", "Etc/UTC")

Status = Literal["pass", "fail", "insufficient-data"]


@dataclass(frozen=True)
class HoursSpec:
    """One parsed hours entry: on each of `days`, from `start` to `end` minutes after the
    local midnight of that day (`end` > 1440 when the interval crosses midnight)."""

    text: str
    days: frozenset[int]  # 0 = Monday … 6 = Sunday
    start: int
    end: int

    @property
    def always(self) -> bool:
        return len(self.days) == 7 and self.start == 0 and self.end == MINUTES_PER_DAY


@dataclass
class SupportCheck:
    status: Status
    detail: str
    # The first uncovered backend intervals, in UTC (at most MAX_UNCOVERED).
    uncovered: list[tuple[datetime, datetime]] = field(default_factory=list)
    gaps: int = 0  # how many uncovered intervals there are in the whole year


def _bad(label: str, spec: str, why: str) -> InputError:
    return InputError(f"{label}: expected {_EXPECTED}, got {spec!r} ({why})")


def _parse_day(name: str, label: str, spec: str) -> int:
    index = _DAY_INDEX.get(name.strip().lower())
    if index is None:
        raise _bad(label, spec, f"unknown day {name.strip()!r}; use Mon, Tue, … Sun")
    return index


def _parse_days(text: str, label: str, spec: str) -> frozenset[int]:
    days: set[int] = set()
    for item in text.split(","):
        if not item.strip():
            raise _bad(label, spec, "empty day in the list")
        bounds = re.split(_DASH, item.strip())
        if len(bounds) == 1:
            days.add(_parse_day(bounds[0], label, spec))
        elif len(bounds) == 2:
            first = _parse_day(bounds[0], label, spec)
            last = _parse_day(bounds[1], label, spec)
            # A range wraps over the weekend when it ends before it starts: Fri-Mon.
            days.update((first + offset) % 7 for offset in range((last - first) % 7 + 1))
        else:
            raise _bad(label, spec, f"day range {item.strip()!r} has more than two ends")
    return frozenset(days)


def _parse_minutes(text: str, label: str, spec: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes != 0):
        raise _bad(label, spec, f"{text} is not a time between 00:00 and 24:00")
    return hours * 60 + minutes


def parse_hours(spec: str, label: str) -> HoursSpec:
    """Parse one hours entry; `label` names where it came from, for the error message.

    Forms: "Mon-Fri 08:00-17:00", "Mon,Wed,Fri 09:00-12:00", "Fri-Mon 09:00-17:00" (wraps
    over the weekend), "Mon-Fri 22:00-06:00" (ends on the next day), "Mon-Sun 00:00-24:00",
    "24x7" / "24/7".
    """
    text = spec.strip()
    if text.lower() in _ALWAYS:
        return HoursSpec(spec, frozenset(range(7)), 0, MINUTES_PER_DAY)
    match = _SPEC.match(text)
    if match is None:
        raise _bad(label, spec, "days then HH:MM-HH:MM")
    days = _parse_days(match["days"], label, spec)
    start = _parse_minutes(match["start"], label, spec)
    end = _parse_minutes(match["end"], label, spec)
    if start == MINUTES_PER_DAY:
        raise _bad(label, spec, "a start of 24:00 is the next day's 00:00")
    if end == start:
        raise _bad(label, spec, "start equals end; write 00:00-24:00 for a whole day")
    if end < start:
        end += MINUTES_PER_DAY  # crosses midnight into the next day
    return HoursSpec(spec, days, start, end)


def _local_to_utc(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    moment = datetime.combine(day + timedelta(days=minutes // MINUTES_PER_DAY), time(), zone)
    moment = moment.replace(hour=minutes % MINUTES_PER_DAY // 60, minute=minutes % 60)
    # fold=0: an ambiguous time (clocks back) is its first occurrence; a nonexistent one
    # (clocks forward) takes the pre-switch offset, i.e. moves forward by the skipped hour.
    return moment.astimezone(UTC)


def _expand(
    specs: list[HoursSpec], zone: ZoneInfo, first: date, days: int
) -> list[tuple[datetime, datetime]]:
    """UTC intervals of `specs` on each local day from `first`, merged and sorted."""
    intervals = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        for spec in specs:
            if day.weekday() in spec.days:
                start = _local_to_utc(day, spec.start, zone)
                end = _local_to_utc(day, spec.end, zone)
                if end > start:  # empty when it lies wholly in a skipped DST hour
                    intervals.append((start, end))
    return _merge(intervals)


def _merge(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(
    needed: list[tuple[datetime, datetime]], covered: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """The parts of `needed` outside `covered` (both merged and sorted)."""
    gaps = []
    index = 0
    for start, end in needed:
        cursor = start
        while index < len(covered) and covered[index][1] <= cursor:
            index += 1
        probe = index
        while cursor < end and probe < len(covered) and covered[probe][0] < end:
            cover_start, cover_end = covered[probe]
            if cover_start > cursor:
                gaps.append((cursor, cover_start))
            cursor = max(cursor, cover_end)
            probe += 1
        if cursor < end:
            gaps.append((cursor, end))
    return gaps


def _parse_all(hours: SupportHours, key: str, source: str) -> list[HoursSpec]:
    return [
        parse_hours(spec, f"{source}: {key}.hours[{index}]")
        for index, spec in enumerate(hours.hours)
    ]


def _zone(hours: SupportHours, specs: list[HoursSpec], key: str, source: str) -> ZoneInfo:
    if hours.timezone is None and all(spec.always for spec in specs):
        return UTC_ZONE  # round-the-clock support needs no time zone
    try:
        return ZoneInfo(hours.timezone or "")
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"{source}: key '{key}.timezone': expected an IANA time zone such as "
            f"'America/Los_Angeles', got {hours.timezone!r}"
        ) from None


def _describe(hours: SupportHours, specs: list[HoursSpec]) -> str:
    text = "; ".join(spec.text.strip() for spec in specs)
    return f"{text} {hours.timezone}" if hours.timezone else text


def _clock(moment: datetime, day: date, weekday: bool, is_end: bool = False) -> str:
    """`moment` as HH:MM, preceded by its date unless it falls on `day`; an end at the
    midnight after `day` reads 24:00."""
    if moment.date() == day:
        return moment.strftime("%H:%M")
    if is_end and moment.date() == day + timedelta(days=1) and moment.time() == time():
        return "24:00"
    prefix = DAY_NAMES[moment.weekday()] + " " if weekday else ""
    return f"{prefix}{moment:%Y-%m-%d %H:%M}"


def _span(gap: tuple[datetime, datetime], zone: ZoneInfo, day: date, weekday: bool) -> str:
    start, end = (moment.astimezone(zone) for moment in gap)
    return f"{_clock(start, day, weekday)}\u2013{_clock(end, start.date(), weekday, True)}"


def _describe_gap(
    gap: tuple[datetime, datetime], backend_zone: ZoneInfo, connector_zone: ZoneInfo
) -> str:
    """The gap in the backend's time zone (with its date), in UTC and in the connector's."""
    local_day = gap[0].astimezone(backend_zone).date()
    local = DAY_NAMES[local_day.weekday()] + f" {local_day.isoformat()} "
    local += f"{_span(gap, backend_zone, local_day, True)} {backend_zone.key}"
    others = []
    if backend_zone.key not in _UTC_KEYS:
        others.append(f"{_span(gap, UTC_ZONE, local_day, False)} UTC")
    if connector_zone.key not in (backend_zone.key, *_UTC_KEYS):
        others.append(f"{_span(gap, connector_zone, local_day, False)} {connector_zone.key}")
    return f"{local} ({', '.join(others)})" if others else local


def _missing(backend: SupportHours | None, connector: SupportHours | None) -> list[str]:
    missing = []
    for key, hours in (("support.backend", backend), ("support.connector", connector)):
        if hours is None or not hours.hours:
            missing.append(f"{key}.hours")
        elif hours.timezone is None and not all(
            spec.strip().lower() in _ALWAYS for spec in hours.hours
        ):
            missing.append(f"{key}.timezone")
    return missing


def check_support(
    backend: SupportHours | None,
    connector: SupportHours | None,
    year_start: date,
    source: str = "ga.toml",
) -> SupportCheck:
    """Judge `support-model`: does the connector's support cover the backend's on every
    local day of the year from `year_start`, DST shifts included, with a contact given?

    A malformed hours entry raises InputError naming `source` and the key.
    """
    contact = (connector.contact or "").strip() if connector else ""
    missing = _missing(backend, connector)
    if missing:
        detail = f"{source} does not declare {', '.join(missing)}"
        detail += ", so support coverage cannot be checked"
        if not contact:
            detail += "; support.connector.contact is missing too"
        return SupportCheck("insufficient-data", detail)
    assert backend is not None and connector is not None
    if not contact:
        return SupportCheck(
            "fail",
            f"{source} declares no support.connector.contact: a support contact must be present",
        )

    backend_specs = _parse_all(backend, "support.backend", source)
    connector_specs = _parse_all(connector, "support.connector", source)
    backend_zone = _zone(backend, backend_specs, "support.backend", source)
    connector_zone = _zone(connector, connector_specs, "support.connector", source)

    needed = _expand(backend_specs, backend_zone, year_start, YEAR_DAYS)
    covered = _expand(
        connector_specs,
        connector_zone,
        year_start - timedelta(days=_MARGIN_DAYS),
        YEAR_DAYS + 2 * _MARGIN_DAYS,
    )
    gaps = _subtract(needed, covered)
    connector_text = _describe(connector, connector_specs)
    backend_text = _describe(backend, backend_specs)
    if not gaps:
        return SupportCheck(
            "pass",
            f"connector support ({connector_text}) covers the backend's ({backend_text}) "
            f"on every day of the year from {year_start.isoformat()}, DST included; "
            f"contact {contact}",
        )
    hours = sum((end - start for start, end in gaps), timedelta()) / timedelta(hours=1)
    count = f"{len(gaps)} gap{'s' if len(gaps) != 1 else ''}"
    return SupportCheck(
        "fail",
        f"backend hours {_describe_gap(gaps[0], backend_zone, connector_zone)} not covered "
        f"by connector support ({connector_text}); {count} in the year from "
        f"{year_start.isoformat()}, {hours:g} h in total",
        uncovered=gaps[:MAX_UNCOVERED],
        gaps=len(gaps),
    )
