"""The canonical request table: column names, what each must hold, and the reject reasons."""

from __future__ import annotations

FAULTS = ("none", "throttled", "client", "backend", "connector")
CLOUDS = ("public", "gcc", "gcc-high", "dod", "azure-government", "mooncake")

# How the rollups are attributed (an unattributed 5xx is a connector fault); a policy may
# count those as backend faults when it reads them.
DEFAULT_UNATTRIBUTED = "connector"

REQUIRED_COLUMNS = ("time", "status")
TEXT_COLUMNS = (
    "connector",
    "operation",
    "connection_id",
    "user_id",
    "error_source",
    "error_reason",
    "request_id",
)
CANONICAL_COLUMNS = (
    "time",
    "status",
    "connector",
    "operation",
    "connection_id",
    "user_id",
    "backend_status",
    "error_source",
    "error_reason",
    "fault",
    "latency_ms",
    "cloud",
    "request_id",
    "weight",
)

# Why a row was rejected: code -> what was expected (shown as "file:line: column 'x': ...").
REJECT_REASONS = {
    "time": "time: expected a timestamp such as 2026-11-20T08:00:00Z",
    "status": "status: expected an integer HTTP status 100–599",
    "backend_status": "backend_status: expected an integer HTTP status 100–599 or empty",
    "weight": "weight: expected an integer ≥ 1 or empty",
    "latency_ms": "latency_ms: expected a number or empty",
    "fault": "fault: expected one of " + ", ".join(FAULTS) + " or empty",
    "cloud": "cloud: expected one of " + ", ".join(CLOUDS) + " or empty",
}
