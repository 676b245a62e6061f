"""OpenTelemetry traces as OTLP/JSON files: SERVER spans become requests.

A file holds one ExportTraceServiceRequest (`{"resourceSpans": [...]}`), or one per line
as the collector's file exporter writes them. Spans are flattened in Python, a batch at a
time, into a Parquet file the engine then reads like any other; memory stays bounded.
The backend's status comes from the SERVER span's CLIENT child (the call to the backend)
when the trace holds one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..config import FieldsSection
from ..errors import InputError
from ..schema import CANONICAL_COLUMNS
from .files import loads

NAME = "otlp"
SERVER, CLIENT = 2, 3
KINDS = {"SPAN_KIND_SERVER": SERVER, "SPAN_KIND_CLIENT": CLIENT}
STATUS_KEYS = ("http.response.status_code", "http.status_code")
ROUTE_KEYS = ("http.route",)
DEFAULT_CONNECTION_KEY = "connection.id"
DEFAULT_USER_KEY = "enduser.id"
BATCH = 50_000
# The canonical columns a span carries (fault, cloud and weight keep their defaults).
COLUMNS = (
    *(c for c in CANONICAL_COLUMNS if c not in ("fault", "cloud", "weight")),
    "_line",
)
SCHEMA = pa.schema([(name, pa.int64() if name == "_line" else pa.string()) for name in COLUMNS])


def matches_text(head: str) -> bool:
    return '"resourceSpans"' in head or '"resource_spans"' in head


def _value(any_value: dict) -> str | None:
    """An OTLP AnyValue as text (intValue is a string in OTLP/JSON)."""
    for key in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if key in any_value:
            value = any_value[key]
            return str(value).lower() if key == "boolValue" else str(value)
    return None


def _attributes(items: list | None) -> dict[str, str | None]:
    return {item.get("key"): _value(item.get("value") or {}) for item in items or []}


def _kind(span: dict) -> int | None:
    kind = span.get("kind")
    return KINDS.get(kind, None) if isinstance(kind, str) else kind


def _first(attrs: dict, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if attrs.get(key) is not None:
            return attrs[key]
    return None


def _nanos_to_iso(nanos: str | int | None) -> str | None:
    if nanos in (None, "", "0", 0):
        return None
    try:
        value = int(nanos)
    except (TypeError, ValueError):
        return str(nanos)  # rejected later as a time that does not parse
    seconds, rest = divmod(value, 1_000_000_000)
    import datetime as dt

    moment = dt.datetime.fromtimestamp(seconds, dt.UTC) + dt.timedelta(microseconds=rest // 1000)
    return moment.isoformat()


def _documents(path: str, display: str) -> Iterator[tuple[int, dict]]:
    """(line, ExportTraceServiceRequest) for a whole-file document or one per line."""
    text = Path(path).read_text(encoding="utf-8-sig")
    stripped = text.lstrip()
    try:
        document = loads(stripped)
        yield 1, document
        return
    except json.JSONDecodeError as whole:
        if "\n" not in stripped.strip():
            raise InputError(
                f"{display}:{whole.lineno}: not valid OTLP/JSON: {whole.msg} (column {whole.colno})"
            ) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{display}:{number}: not valid OTLP/JSON: {exc.msg} (column {exc.colno})"
            ) from None


def _client_statuses(path: str, display: str) -> dict[tuple[str, str], tuple[str | None, bool]]:
    """(traceId, parent spanId) -> (backend status, call failed) of CLIENT spans, across the
    whole file: the collector splits one trace over several batches."""
    found: dict[tuple[str, str], tuple[str | None, bool]] = {}
    for _, document in _documents(path, display):
        for resource_spans in _resource_spans(document):
            for span in _spans(resource_spans):
                if _kind(span) == CLIENT and span.get("parentSpanId"):
                    attrs = _attributes(span.get("attributes"))
                    key = (span.get("traceId", ""), span["parentSpanId"])
                    found.setdefault(
                        key, (_first(attrs, STATUS_KEYS), bool(attrs.get("error.type")))
                    )
    return found


def _resource_spans(document) -> list:
    if isinstance(document, dict):
        value = document.get("resourceSpans", document.get("resource_spans"))
        if isinstance(value, list):
            return value
    return []


def _spans(resource_spans: dict) -> list[dict]:
    scopes = resource_spans.get("scopeSpans", resource_spans.get("scope_spans")) or []
    return [span for scope in scopes for span in scope.get("spans") or []]


def _rows(path: str, display: str, fields: FieldsSection, seen: dict[str, int]) -> Iterator[dict]:
    connection_key = fields.connection_id or DEFAULT_CONNECTION_KEY
    user_key = fields.user_id or DEFAULT_USER_KEY
    children = _client_statuses(path, display)
    for line, document in _documents(path, display):
        if not isinstance(document, dict) or not isinstance(
            document.get("resourceSpans", document.get("resource_spans")), list
        ):
            raise InputError(f"{display}:{line}: expected an object with 'resourceSpans'")
        for resource_spans in _resource_spans(document):
            resource = _attributes((resource_spans.get("resource") or {}).get("attributes"))
            for span in _spans(resource_spans):
                if _kind(span) != SERVER:
                    continue
                attrs = {**resource, **_attributes(span.get("attributes"))}
                for key in (connection_key, user_key):
                    if attrs.get(key) is not None:
                        seen[key] = seen.get(key, 0) + 1
                start, end = span.get("startTimeUnixNano"), span.get("endTimeUnixNano")
                latency = None
                try:
                    latency = str((int(end) - int(start)) / 1e6)
                except (TypeError, ValueError):
                    pass
                backend_status = error_source = None
                child = children.get((span.get("traceId", ""), span.get("spanId")))
                if child is not None:
                    backend_status, failed = child
                    if backend_status is None and failed:
                        error_source = "forward-request"  # the call to the backend failed
                yield {
                    "time": _nanos_to_iso(start),
                    "status": _first(attrs, STATUS_KEYS),
                    "connector": resource.get("service.name"),
                    "operation": _first(attrs, ROUTE_KEYS) or span.get("name"),
                    "connection_id": attrs.get(connection_key),
                    "user_id": attrs.get(user_key),
                    "backend_status": backend_status,
                    "error_source": error_source,
                    "error_reason": attrs.get("error.type"),
                    "latency_ms": latency,
                    "request_id": f"{span.get('traceId', '')}-{span.get('spanId', '')}",
                    "_line": line,
                }


def flatten(path: str, display: str, fields: FieldsSection, out: Path) -> Path:
    """Write the SERVER spans of one OTLP/JSON file as rows of a Parquet file."""
    writer = pq.ParquetWriter(out, SCHEMA)
    seen: dict[str, int] = {}
    rows = 0
    try:
        batch: list[dict] = []
        for row in _rows(path, display, fields, seen):
            rows += 1
            batch.append(row)
            if len(batch) >= BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=SCHEMA))
                batch = []
        writer.write_table(pa.Table.from_pylist(batch, schema=SCHEMA))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{display}: cannot be read as OTLP/JSON ({exc})") from None
    finally:
        writer.close()
    for key in ("connection_id", "user_id"):
        configured = getattr(fields, key)
        if configured and rows and not seen.get(configured):
            raise InputError(
                f"ga.toml: telemetry.fields.{key} = {configured!r}: no SERVER span in "
                f"{display} has that attribute"
            )
    return out


def to_canonical_names(raw, fields: FieldsSection, file: str):
    """The flattened spans already carry canonical names."""
    names = [c for c in COLUMNS if c != "_line" and c in raw.columns]
    extra = [c for c in ("_file", "_row") if c in raw.columns]
    return raw.select(*names, *extra)
