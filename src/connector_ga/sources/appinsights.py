"""Application Insights requests: the classic `requests` export and the workspace
`AppRequests` table. `itemCount` (sampling) becomes `weight`."""

from __future__ import annotations

import ibis

from ..config import FieldsSection
from .fields import configured, has_signature, json_key, mapped_columns, pick

NAME = "appinsights"

# canonical column -> (classic name, workspace name)
COLUMNS = {
    "time": ("timestamp", "TimeGenerated"),
    "status": ("resultCode", "ResultCode"),
    "operation": ("name", "Name"),
    "user_id": ("user_Id", "UserId"),
    "request_id": ("id", "Id"),
    "latency_ms": ("duration", "DurationMs"),
    "weight": ("itemCount", "ItemCount"),
}
DIMENSIONS = ("customDimensions", "Properties")
# Where a connection id is looked for when ga.toml names no field.
DEFAULT_CONNECTION_KEYS = ("connectionId", "ConnectionId", "connection_id")
# The backend's own status, when the service records it as a custom dimension.
BACKEND_STATUS_KEYS = ("backendStatus", "BackendStatus", "backend_status")
SIGNATURES = ({"timestamp", "resultcode"}, {"timegenerated", "resultcode"})


def matches(columns: list[str]) -> bool:
    return has_signature(columns, SIGNATURES)


def to_canonical_names(raw: ibis.Table, fields: FieldsSection, file: str) -> ibis.Table:
    cols = mapped_columns(raw, COLUMNS, "Application Insights", file)
    if "request_id" not in cols:
        operation_id = pick(raw, "operation_Id", "OperationId")
        if operation_id is not None:
            cols["request_id"] = operation_id
    dimensions = pick(raw, *DIMENSIONS)
    if fields.connection_id:
        cols["connection_id"] = configured(raw, fields.connection_id, "connection_id", file)
    elif dimensions is not None:
        cols["connection_id"] = ibis.coalesce(
            *[json_key(dimensions, key) for key in DEFAULT_CONNECTION_KEYS]
        )
    if dimensions is not None:
        cols["backend_status"] = ibis.coalesce(
            *[json_key(dimensions, key) for key in BACKEND_STATUS_KEYS]
        )
    if fields.user_id:
        cols["user_id"] = configured(raw, fields.user_id, "user_id", file)
    cols["_file"] = raw["_file"]
    if "_row" in raw.columns:
        cols["_row"] = raw["_row"]
    return raw.select(**cols)
