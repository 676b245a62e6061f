"""Azure API Management gateway logs: the resource-specific ApiManagementGatewayLogs table
and the legacy AzureDiagnostics names, as exported to JSON, JSON Lines or CSV."""

from __future__ import annotations

import ibis

from ..config import FieldsSection
from .fields import configured, has_signature, mapped_columns

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
SIGNATURES = ({"timegenerated", "responsecode"}, {"timegenerated", "responsecode_d"})


def matches(columns: list[str]) -> bool:
    return has_signature(columns, SIGNATURES)


def to_canonical_names(raw: ibis.Table, fields: FieldsSection, file: str) -> ibis.Table:
    cols = mapped_columns(raw, COLUMNS, "APIM", file)
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
