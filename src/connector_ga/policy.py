"""The policy file: every threshold, window and comparison, as data."""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import InputError
from .textfile import NotUtf8, decode_utf8

DEFAULT_POLICY = "power-platform-ga"
CRITERIA_IDS = (
    "backend-production",
    "availability",
    "slo",
    "success-rate",
    "support-model",
    "weekly-active-users",
    "monthly-active-connections",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class WindowPolicy(_Strict):
    reliability_days: int = Field(ge=1)
    wau_weeks: int = Field(ge=1)
    mac_lookback_days: int = Field(ge=1)
    mac_days: int = Field(ge=1)
    # How many observed days of the reliability window make a pass (DESIGN: a pass on a
    # part of the window is no evidence of the whole); at most reliability_days.
    min_observed_days: int = Field(default=30, ge=1)


class AttributionPolicy(_Strict):
    unattributed_5xx: Literal["connector", "backend"] = "connector"


class DataQualityPolicy(_Strict):
    max_reject_rate: float = Field(ge=0, le=1)
    unattributed_warn_rate: float = Field(ge=0, le=1)


class StatisticsPolicy(_Strict):
    confidence: float = Field(gt=0, lt=1)


class CriterionPolicy(_Strict):
    level: Literal["required", "recommended"]
    threshold: float | None = None
    comparison: Literal[">=", ">"] | None = None

    @functools.cached_property
    def exact_threshold(self) -> Fraction:
        """The threshold as an exact fraction, so comparisons never round (0.9995 = 1999/2000)."""
        assert self.threshold is not None
        return Fraction(Decimal(str(self.threshold)))

    def passes(self, numerator: int, denominator: int) -> bool:
        """Compare numerator/denominator with the threshold exactly, on integers."""
        t = self.exact_threshold
        left, right = numerator * t.denominator, denominator * t.numerator
        return left > right if self.comparison == ">" else left >= right

    def passes_value(self, value: int | float) -> bool:
        t = self.exact_threshold
        # A count compares with the fraction as it is; a float as the decimal it prints as.
        v = value if isinstance(value, int) else Fraction(Decimal(str(value)))
        return v > t if self.comparison == ">" else v >= t


class CriteriaPolicy(_Strict):
    backend_production: CriterionPolicy = Field(alias="backend-production")
    availability: CriterionPolicy
    slo: CriterionPolicy
    success_rate: CriterionPolicy = Field(alias="success-rate")
    support_model: CriterionPolicy = Field(alias="support-model")
    weekly_active_users: CriterionPolicy = Field(alias="weekly-active-users")
    monthly_active_connections: CriterionPolicy = Field(alias="monthly-active-connections")

    def get(self, criterion_id: str) -> CriterionPolicy:
        return getattr(self, criterion_id.replace("-", "_"))


class LowUsageException(_Strict):
    enabled: bool = True
    preview_months: int = Field(ge=0)


class CustomerException(_Strict):
    enabled: bool = True


class ExceptionsPolicy(_Strict):
    low_usage_after_6_months: LowUsageException = Field(alias="low-usage-after-6-months")
    customer_requires_production: CustomerException = Field(alias="customer-requires-production")


# Burn-rate windows are counted in 5-minute buckets, up to the reliability window's 30 days.
BURN_STEP_MINUTES = 5
BURN_MAX_MINUTES = 30 * 24 * 60
_WINDOW = re.compile(r"^([1-9][0-9]*)([mhd])$")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 24 * 60}


def window_minutes(text: str) -> int:
    """'5m', '1h', '3d' as minutes; ValueError for anything else."""
    found = _WINDOW.match(text)
    if found is None:
        raise ValueError("expected a window such as 5m, 1h or 3d")
    return int(found[1]) * _UNIT_MINUTES[found[2]]


class BurnRateAlert(_Strict):
    """One row of the multi-window, multi-burn-rate table: fires when both windows burn
    the availability error budget at `factor` times the rate that spends it exactly."""

    severity: Literal["page", "ticket"]
    long: str
    short: str
    factor: float = Field(gt=0)

    @field_validator("long", "short")
    @classmethod
    def _window(cls, value: str) -> str:
        minutes = window_minutes(value)
        if minutes % BURN_STEP_MINUTES or minutes > BURN_MAX_MINUTES:
            raise ValueError(f"expected a multiple of {BURN_STEP_MINUTES} minutes, at most 30d")
        return value

    @model_validator(mode="after")
    def _short_within_long(self) -> BurnRateAlert:
        if self.short_minutes > self.long_minutes:
            raise ValueError(f"short window {self.short} is longer than long window {self.long}")
        return self

    @property
    def name(self) -> str:
        """How the alert is named in the JSON, the terminal and the state: 'page 1h/5m'."""
        return f"{self.severity} {self.long}/{self.short}"

    @property
    def long_minutes(self) -> int:
        return window_minutes(self.long)

    @property
    def short_minutes(self) -> int:
        return window_minutes(self.short)

    @property
    def exact_factor(self) -> Fraction:
        return Fraction(Decimal(str(self.factor)))


class BurnRatePolicy(_Strict):
    alerts: list[BurnRateAlert] = Field(min_length=1)

    @field_validator("alerts")
    @classmethod
    def _distinct(cls, alerts: list[BurnRateAlert]) -> list[BurnRateAlert]:
        names = [a.name for a in alerts]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"alert {repeated[0]!r} is listed twice")
        return alerts


class Policy(_Strict):
    name: str
    version: str
    source: str = ""
    window: WindowPolicy
    attribution: AttributionPolicy = Field(default_factory=AttributionPolicy)
    data_quality: DataQualityPolicy
    statistics: StatisticsPolicy
    criteria: CriteriaPolicy
    exceptions: ExceptionsPolicy
    # Read by `watch` only: a policy of one's own without it still judges connectors.
    burn_rate: BurnRatePolicy | None = None


def _describe(err: dict) -> str:
    key = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"unknown key '{key}'"
    if err["type"] == "missing":
        return f"missing key '{key}'"
    return f"key '{key}': {err['msg']} (got {err.get('input')!r})"


def _first_error(errors: list[dict]) -> str:
    """The error to show: an unknown key before anything else, as a typo in a key is also
    reported as the key it leaves missing; then the missing key it most likely meant."""
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    if not unknown:
        return _describe(errors[0])
    loc = unknown[0]["loc"]
    missing = [e["loc"] for e in errors if e["type"] == "missing" and e["loc"][:-1] == loc[:-1]]
    meant = difflib.get_close_matches(str(loc[-1]), [str(m[-1]) for m in missing], n=1)
    hint = f" (did you mean '{'.'.join(str(p) for p in (*loc[:-1], meant[0]))}'?)" if meant else ""
    return _describe(unknown[0]) + hint


def parse_policy(data: dict, source: str) -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{source}: {_first_error(exc.errors())}") from None


def load_policy(path: str | Path | None = None) -> Policy:
    """Load the named default policy, or a policy file given by path."""
    if path is None or str(path) == DEFAULT_POLICY:
        text = resources.files("connector_ga.policies").joinpath(f"{DEFAULT_POLICY}.toml")
        return parse_policy(tomllib.loads(text.read_text(encoding="utf-8")), DEFAULT_POLICY)
    path = Path(path)
    try:
        data = tomllib.loads(decode_utf8(path.read_bytes()))
    except FileNotFoundError:
        raise InputError(f"{path}: policy file not found") from None
    except NotUtf8 as exc:
        raise InputError(exc.located(str(path))) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    return parse_policy(data, str(path))
