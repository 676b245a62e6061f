"""Azure API Management gateway logs: the resource-specific ApiManagementGatewayLogs table
and the legacy AzureDiagnostics names, as exported to JSON, JSON Lines or CSV; and the
resource logs a diagnostic setting archives to a storage account
(`insights-logs-gatewaylogs/…/PT1H.json`: one record per line, the request in `properties`).
"""

from __future__ import annotations

import ibis

from ..config import FieldsSection
from ..errors import InputError
from .fields import configured, has_signature, json_key, mapped_columns, pick
from .typed import plain_name

NAME = "apim"

# canonical column -> (resource-specific name, legacy AzureDiagnostics name)
COLUMNS = {
    "time": ("TimeGenerated", "timeGenerated"),
    "status": ("ResponseCode", "responseCode_d"),
    "backend_status": ("BackendResponseCode", "backendResponseCode_d"),
    "error_source": ("LastErrorSource", "lastError_source_s"),
    "error_reason": ("LastErrorReason", "lastError_reason_s"),
    "operation": ("OperationId", "operationId_s"),
    "connector": ("ApiId", "apiId_s"),
    "user_id": ("UserId", "userId_s"),
    # A Power Platform connection calls the gateway with its own subscription key.
    "connection_id": ("ApimSubscriptionId", "apimSubscriptionId_s"),
    "request_id": ("CorrelationId", "correlationId_g"),
    "latency_ms": ("TotalTime", "DurationMs"),
}

# Resource logs: the top-level common schema (time, resourceId, category, correlationId,
# durationMs, …) around a camelCase `properties` object, read as its JSON text.
RESOURCE_LOG_COLUMNS = {"time": "time", "request_id": "correlationId", "latency_ms": "durationMs"}
# canonical column -> path of keys inside `properties`
RESOURCE_LOG_PROPERTIES = {
    "status": ("responseCode",),
    "backend_status": ("backendResponseCode",),
    "error_source": ("lastError", "source"),
    "error_reason": ("lastError", "reason"),
    "operation": ("operationId",),
    "connector": ("apiId",),
    "user_id": ("userId",),
    "connection_id": ("apimSubscriptionId",),
}

SIGNATURES = ({"timegenerated", "responsecode"}, {"timegenerated", "responsecode_d"})
# The common schema of every resource log; its request fields sit in `properties`.
RESOURCE_LOG_SIGNATURES = ({"time", "resourceid", "properties"}, {"time", "category", "properties"})


def matches(columns: list[str]) -> bool:
    if has_signature(columns, SIGNATURES):
        return True
    # A canonical file may carry extra keys; its own `status` says it is canonical.
    canonical = "status" in {plain_name(c) for c in columns}
    return has_signature(columns, RESOURCE_LOG_SIGNATURES) and not canonical


def is_resource_log(raw: ibis.Table) -> bool:
    """Whether a table holds resource logs (time + properties) rather than a Log Analytics
    table (TimeGenerated, ResponseCode, … as columns)."""
    return (
        pick(raw, "TimeGenerated") is None
        and pick(raw, "time") is not None
        and pick(raw, "properties") is not None
    )


def to_canonical_names(raw: ibis.Table, fields: FieldsSection, file: str) -> ibis.Table:
    if is_resource_log(raw):
        cols = resource_log_columns(raw)
    else:
        cols = log_analytics_columns(raw, file)
    if "backend_status" in cols:
        # The gateway logs 0 when the backend was never reached: no backend status.
        backend = cols["backend_status"].cast("string").strip()
        cols["backend_status"] = ibis.ifelse(backend.isin(["0", "0.0"]), None, backend)
    for key in ("connection_id", "user_id"):
        spec = getattr(fields, key)
        if spec:
            cols[key] = configured(raw, spec, key, file)
    cols["_file"] = raw["_file"]
    if "_row" in raw.columns:
        cols["_row"] = raw["_row"]
    return raw.select(**cols)


def log_analytics_columns(raw: ibis.Table, file: str) -> dict[str, ibis.Value]:
    """ApiManagementGatewayLogs or AzureDiagnostics: one column per field."""
    if pick(raw, *COLUMNS["time"]) is None:
        # Neither shape: say what each one needs, not just the Log Analytics column.
        raise InputError(
            f"{file}: missing APIM column TimeGenerated (Log Analytics export), or time and "
            "properties (resource logs archived by a diagnostic setting)"
        )
    return mapped_columns(raw, COLUMNS, "APIM", file)


def resource_log_columns(raw: ibis.Table) -> dict[str, ibis.Value]:
    """A resource log: a row whose `properties` is not an object, or holds no responseCode,
    gets a null status and is rejected like any row without one."""
    cols = {canonical: pick(raw, name) for canonical, name in RESOURCE_LOG_COLUMNS.items()}
    cols = {canonical: column for canonical, column in cols.items() if column is not None}
    properties = pick(raw, "properties")
    for canonical, path in RESOURCE_LOG_PROPERTIES.items():
        value = properties
        for key in path:
            value = json_key(value, key)
        cols[canonical] = value
    return cols
