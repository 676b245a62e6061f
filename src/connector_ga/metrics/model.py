"""Plain data the metric queries return: what evaluation reads, per connector."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

FAULT_KINDS = ("none", "client", "backend", "connector", "throttled")


@dataclass
class WeekCount:
    week: str  # ISO label, e.g. 2026-W45
    start: dt.date  # Monday
    users: int
    before_first_day: bool  # the week begins before the first telemetry day


@dataclass
class DayCounts:
    """One UTC day of the reliability window, for charts."""

    date: dt.date
    requests: int = 0
    eligible: int = 0
    successes: int = 0
    faults: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAULT_KINDS, 0))
    status_classes: dict[str, int] = field(default_factory=dict)  # "2xx" -> requests


@dataclass
class OperationCounts:
    operation: str
    eligible: int
    connector_faults: int
    successes: int


@dataclass
class ConnectorMetrics:
    connector: str
    as_of: dt.date
    window_start: dt.date
    window_end: dt.date
    first_day: dt.date | None  # first telemetry day of this connector
    last_day: dt.date | None
    requests: int = 0
    eligible: int = 0
    throttled: int = 0
    successes: int = 0
    faults: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAULT_KINDS, 0))
    connections: int = 0
    connections_meeting_bar: int = 0
    rows_without_connection: int = 0
    rows_without_user: int = 0
    unattributed_5xx: int = 0
    weighted: bool = False  # some rows stand for several requests (sampled data)
    wau: list[WeekCount] = field(default_factory=list)
    mac_series: list[tuple[dt.date, int]] = field(default_factory=list)
    mac_current: int = 0
    mac_min: int = 0
    mac_min_date: dt.date | None = None
    mac_partial_lookback: bool = False
    daily: list[DayCounts] = field(default_factory=list)
    operations: list[OperationCounts] = field(default_factory=list)

    @property
    def connector_faults(self) -> int:
        return self.faults["connector"]


@dataclass
class RejectSample:
    file: str
    line: int | None
    reason: str
    value: str | None = None
    unit: str = "line"  # "line" in text files, "row" in Parquet

    def __str__(self) -> str:
        if self.line is None:
            where = self.file
        elif self.unit == "line":
            where = f"{self.file}:{self.line}"
        else:
            where = f"{self.file}: row {self.line}"
        got = f" (got {self.value!r})" if self.value is not None else ""
        return f"{where}: {self.reason}{got}"


@dataclass
class InputQuality:
    """Whole-input data quality: rows read, rejected (by reason and file), duplicates."""

    rows: int = 0
    rejected_rows: int = 0
    duplicate_rows: int = 0
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    rejects_by_file: dict[str, int] = field(default_factory=dict)
    samples: list[RejectSample] = field(default_factory=list)
    files: int = 0
    sources: set[str] = field(default_factory=set)  # canonical, apim, appinsights, otlp
    first_day: dt.date | None = None  # the UTC days of the first and last accepted rows
    last_day: dt.date | None = None
    connectors: set[str] = field(default_factory=set)  # of the accepted rows

    @property
    def reject_rate(self) -> float:
        return self.rejected_rows / self.rows if self.rows else 0.0
