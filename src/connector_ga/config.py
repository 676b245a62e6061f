"""ga.toml: the publisher's declarations, validated with pydantic.

Every error names the file, the key and what was expected, on one line.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from .errors import InputError
from .textfile import NotUtf8, decode_utf8

CLOUDS = ("public", "gcc", "gcc-high", "dod", "azure-government", "mooncake")
TELEMETRY_FORMATS = ("auto", "csv", "jsonl", "parquet", "apim", "appinsights", "otlp")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _check_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"an IANA time zone such as 'America/Los_Angeles', got {value!r}"
        ) from None
    return value


_EMAIL = re.compile(r"^(mailto:)?[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/]+\.[^\s]+$")


def _check_contact(value: str | None) -> str | None:
    if value is None or not value.strip():
        return value
    if not (_EMAIL.match(value.strip()) or _URL.match(value.strip())):
        raise ValueError(
            "an email address (support@contoso.com) or a web address "
            f"(https://contoso.com/support), got {value!r}"
        )
    return value


class ConnectorSection(_Strict):
    id: str | None = None
    title: str | None = None
    publisher: str | None = None
    package: str | None = None
    preview_since: dt.date | None = None


class FieldsSection(_Strict):
    """Which source field carries the connection and user ids (used by real sources)."""

    connection_id: str | None = None
    user_id: str | None = None


AZURE_TABLES = ("ApiManagementGatewayLogs", "AppRequests", "requests")
AZURE_CREDENTIALS = ("default", "cli", "environment", "managed-identity", "workload-identity")
AZURE_CLOUDS = ("public", "us-government", "china")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def _one_of(choices: tuple[str, ...]):
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"one of {', '.join(choices)}, got {value!r}")
        return value

    return check


class AzureSection(_Strict):
    """Where Azure Monitor Logs keeps the requests (`ingest --from azure`)."""

    workspace: str | None = None
    resource: str | None = None
    table: str = "ApiManagementGatewayLogs"
    where: str | None = None
    credential: str = "default"
    cloud: str = "public"
    endpoint: str | None = None

    _table = field_validator("table")(_one_of(AZURE_TABLES))
    _credential = field_validator("credential")(_one_of(AZURE_CREDENTIALS))
    _cloud = field_validator("cloud")(_one_of(AZURE_CLOUDS))

    @field_validator("workspace")
    @classmethod
    def _workspace_id(cls, value: str | None) -> str | None:
        if value is not None and not _GUID.match(value.strip()):
            raise ValueError(
                "a Log Analytics workspace id (a GUID such as "
                f"7a0c9b1e-0000-4000-8000-000000000000), got {value!r}"
            )
        return value.strip() if value else value

    @field_validator("resource")
    @classmethod
    def _resource_id(cls, value: str | None) -> str | None:
        if value is not None and not (
            value.lower().startswith("/subscriptions/") and "/providers/" in value.lower()
        ):
            raise ValueError(
                "an Azure resource id such as /subscriptions/…/resourceGroups/…/providers/"
                f"Microsoft.Insights/components/NAME, got {value!r}"
            )
        return value

    @field_validator("where")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("a KQL condition such as \"ApiId == 'contoso-tasks'\", got ''")
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https://[^\s/]+(/[^\s]*)?$", value):
            raise ValueError(f"an https:// address of a Logs query endpoint, got {value!r}")
        return value

    @property
    def scope(self) -> str:
        """What is queried: the workspace id, or the resource id."""
        return self.workspace or self.resource or ""


class TelemetrySection(_Strict):
    paths: list[str] = Field(default_factory=list)
    format: Literal["auto", "csv", "jsonl", "parquet", "apim", "appinsights", "otlp"] = "auto"
    fields: FieldsSection = Field(default_factory=FieldsSection)
    azure: AzureSection | None = None


class BackendSection(_Strict):
    status: str | None = None
    evidence: str | None = None


class SupportHours(_Strict):
    hours: list[str] = Field(default_factory=list)
    timezone: str | None = None
    contact: str | None = None

    _tz = field_validator("timezone")(_check_timezone)
    _contact = field_validator("contact")(_check_contact)


class SupportSection(_Strict):
    backend: SupportHours | None = None
    connector: SupportHours | None = None


class ExceptionsSection(_Strict):
    customer_requires_production: StrictBool = False
    customer_reference: str = ""


class CloudsSection(_Strict):
    gcc: str | None = None
    gcc_high: str | None = Field(default=None, alias="gcc-high")
    dod: str | None = None
    azure_government: str | None = Field(default=None, alias="azure-government")
    mooncake: str | None = None

    def endpoints(self) -> dict[str, str]:
        """The declared clouds, by their DESIGN.md names."""
        data = self.model_dump(by_alias=True)
        return {name: url for name, url in data.items() if url}


class GaConfig(_Strict):
    connector: ConnectorSection = Field(default_factory=ConnectorSection)
    telemetry: TelemetrySection = Field(default_factory=TelemetrySection)
    backend: BackendSection = Field(default_factory=BackendSection)
    support: SupportSection = Field(default_factory=SupportSection)
    exceptions: ExceptionsSection = Field(default_factory=ExceptionsSection)
    clouds: CloudsSection = Field(default_factory=CloudsSection)

    # Where the file was read from; relative paths in it are relative to this folder.
    base_dir: Path = Field(default=Path("."), exclude=True)
    # The file's name as given (`-c other.toml`), for messages about what it declares.
    source: str = Field(default="ga.toml", exclude=True)


def _describe_error(err: dict) -> str:
    key = ".".join(str(part) for part in err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{key}'"
    if kind in (
        "date_from_datetime_parsing",
        "date_parsing",
        "date_type",
        "date_from_datetime_inexact",
    ):
        return f"key '{key}': expected a date such as 2026-03-02, got {err.get('input')!r}"
    if kind == "bool_type":
        return f"key '{key}': expected true or false, got {err.get('input')!r}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        return f"key '{key}': expected " + msg[len("Value error, ") :]
    return f"key '{key}': {msg} (got {err.get('input')!r})"


def parse_config(data: dict, source: str = "ga.toml") -> GaConfig:
    """Validate a ga.toml already parsed into a dict."""
    try:
        config = GaConfig.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{source}: {_describe_error(exc.errors()[0])}") from None
    azure = config.telemetry.azure
    if azure is not None and bool(azure.workspace) == bool(azure.resource):
        raise InputError(
            f"{source}: key 'telemetry.azure.workspace': expected either a workspace id or "
            "a resource id (telemetry.azure.resource), "
            + ("not both" if azure.workspace else "got neither")
        )
    exceptions = config.exceptions
    if exceptions.customer_requires_production and not exceptions.customer_reference.strip():
        raise InputError(
            f"{source}: key 'exceptions.customer_reference' is missing: "
            "customer_requires_production = true needs the customer's reference "
            "(a name, contract or purchase order a reviewer can check)"
        )
    return config


def load_config(path: str | Path) -> GaConfig:
    """Read and validate ga.toml; raise InputError naming the file, key and expectation."""
    path = Path(path)
    try:
        text = decode_utf8(path.read_bytes())  # a UTF-8 byte order mark is accepted
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except NotUtf8 as exc:
        raise InputError(exc.located(str(path))) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    config = parse_config(data, str(path))
    config.base_dir = path.resolve().parent
    config.source = str(path)
    return config
