"""The Result: plain, typed data that every output renders (JSON: connector-ga/result/v1)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

SCHEMA = "connector-ga/result/v1"
Status = Literal["pass", "fail", "insufficient-data"]
Verdict = Literal[
    "ready", "ready-with-exception", "ready-with-warnings", "not-ready", "insufficient-data"
]
READY_VERDICTS = ("ready", "ready-with-exception", "ready-with-warnings")


class Criterion(BaseModel):
    id: str
    level: Literal["required", "recommended"]
    status: Status
    value: float | int | str | None = None
    threshold: float | int | None = None
    comparison: str | None = None
    interval: list[float] | None = None
    sample: int | None = None
    detail: str = ""
    numerator: int | None = None
    denominator: int | None = None
    confident: bool | None = None  # None when there is no interval
    confident_at_sample: int | None = None  # sample size at which a pass would be confident
    estimate: bool = False  # a distinct count over sampled data
    evidence: list[str] = Field(default_factory=list)


class WeekUsers(BaseModel):
    week: str
    start: dt.date
    users: int
    before_first_day: bool


class MacPoint(BaseModel):
    date: dt.date
    connections: int


class Mac(BaseModel):
    current: int
    min: int
    min_date: dt.date | None = None
    partial_lookback: bool = False
    series: list[MacPoint] = Field(default_factory=list)


class ErrorBudget(BaseModel):
    allowed: float
    consumed: int
    remaining: float


class DayPoint(BaseModel):
    date: dt.date
    requests: int
    eligible: int
    successes: int
    faults: dict[str, int]
    status_classes: dict[str, int]


class OperationPoint(BaseModel):
    operation: str
    eligible: int
    connector_faults: int
    successes: int


class Metrics(BaseModel):
    requests: int
    eligible: int
    throttled: int
    successes: int
    faults: dict[str, int]
    success_rate: float | None
    availability: float | None
    slo: float | None
    connections: int
    connections_meeting_bar: int
    wau: list[WeekUsers]
    mac: Mac
    preview_months: int | None
    preview_since: dt.date | None
    preview_since_inferred: bool
    error_budget: ErrorBudget | None
    window: dict[str, dt.date]
    first_day: dt.date | None
    last_day: dt.date | None
    distinct_counts_estimated: bool
    daily: list[DayPoint] = Field(default_factory=list)
    operations: list[OperationPoint] = Field(default_factory=list)


class TelemetrySource(BaseModel):
    """What a check read: a store (its path and version), an export folder, or files."""

    kind: Literal["store", "export", "files"]
    paths: list[str]
    version: int | None = None  # a store's version: how many publishes it has seen


class DataQuality(BaseModel):
    rejected_rows: int
    unattributed_5xx: int
    rows_without_connection: int
    rows_without_user: int = 0
    rows: int = 0
    duplicate_rows: int = 0
    reject_rate: float = 0.0
    rejects_by_reason: dict[str, int] = Field(default_factory=dict)
    rejects_by_file: dict[str, int] = Field(default_factory=dict)
    reject_samples: list[str] = Field(default_factory=list)
    # The connector's last request, when it is more than a day before the date judged as of.
    stale_since: dt.date | None = None
    warnings: list[str] = Field(default_factory=list)
    source: TelemetrySource | None = None


Basis = Literal["window", "trend", "calendar", "declaration"]


class CriterionForecast(BaseModel):
    """When a criterion that does not pass today would pass, and why then."""

    passes_on: dt.date | None
    basis: Basis
    low: dt.date | None = None  # trend only: the dates the 80% band gives
    high: dt.date | None = None
    why: str = ""  # one sentence naming the cause, as a user reads it


class ForecastPoint(BaseModel):
    """A projected value: a window criterion's value as of a future day, or the weekly
    users / MAC its trend gives for a future week / day, with the 80% band for trends."""

    date: dt.date
    value: float
    low: float | None = None
    high: float | None = None


class ExceptionForecast(BaseModel):
    id: str
    applies_on: dt.date | None
    basis: Literal["calendar"] = "calendar"


class Forecast(BaseModel):
    """The earliest dates each criterion, and the verdict, would pass (DESIGN.md Trajectory)."""

    horizon_days: int
    scenario: Literal["no-new-faults", "recent-rate"]
    ready_on: dt.date | None
    ready_basis: Basis | None = None
    # The first day whose reliability window holds enough observed days for a pass, when
    # today's does not (DESIGN: window.min_observed_days); null when it does.
    window_covered_on: dt.date | None = None
    exception: ExceptionForecast | None = None
    criteria: dict[str, CriterionForecast] = Field(default_factory=dict)
    # For charts: each forecast criterion's projected values, up to a week past passes_on.
    series: dict[str, list[ForecastPoint]] = Field(default_factory=dict)
    summary: str = ""


class OperationFix(BaseModel):
    """One operation's share of what fails a reliability criterion."""

    operation: str
    eligible: int
    connector_faults: int
    failures: int  # eligible requests not answered 1xx-3xx
    failures_by_fault: dict[str, int] = Field(default_factory=dict)  # client/backend/connector
    # Status code -> requests, and the commonest error reasons, behind what the criterion
    # counts: connector faults (availability, SLO) or failures (success rate).
    statuses: dict[str, int] = Field(default_factory=dict)
    error_reasons: dict[str, int] = Field(default_factory=dict)
    connections_restored: int | None = None  # SLO: connections back over the bar without it
    # SLO, operations of the smallest set: what it adds after the set's operations before it
    # (the greedy order); these add up to the set's `fixed`, where the alone counts may not.
    connections_restored_in_set: int | None = None
    connections_affected: int | None = None  # SLO: connections under the bar it has faults in


class CriterionFix(BaseModel):
    criterion: str
    value: float | None
    operations: list[OperationFix]  # ranked: the first ones matter most
    smallest_set: list[str]  # the fewest operations whose fix makes the criterion pass
    value_after: float | None  # the value once they are fixed
    passes_after: bool
    note: str = ""
    # What the smallest set fixes, of how many: connector faults (availability), failures
    # (success rate) or connections under the bar (SLO).
    fixed: int = 0
    total: int = 0


class ConnectionFaults(BaseModel):
    connection: str  # pseudonymous id, never the raw one
    eligible: int
    connector_faults: int
    availability: float | None
    meets_bar: bool


class FixPlan(BaseModel):
    criteria: list[CriterionFix] = Field(default_factory=list)
    connections: list[ConnectionFaults] = Field(default_factory=list)  # most affected first


class PolicyRef(BaseModel):
    name: str
    version: str


class Result(BaseModel):
    schema_: str = Field(default=SCHEMA, alias="schema", serialization_alias="schema")
    connector: str
    title: str | None = None
    publisher: str | None = None
    as_of: dt.date
    verdict: Verdict
    exception: str | None = None
    exception_from: dt.date | None = None  # when low-usage-after-6-months will apply
    blocking: list[str] = Field(default_factory=list)
    summary: str = ""
    criteria: list[Criterion]
    metrics: Metrics
    data_quality: DataQuality
    policy: PolicyRef
    declarations: dict[str, Any] = Field(default_factory=dict)
    forecast: Forecast | None = None
    fix_plan: FixPlan | None = None

    model_config = {"populate_by_name": True}

    def criterion(self, criterion_id: str) -> Criterion:
        return next(c for c in self.criteria if c.id == criterion_id)

    @property
    def ready(self) -> bool:
        return self.verdict in READY_VERDICTS

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
