"""OpenTelemetry traces as OTLP/JSON files: SERVER spans become requests.

A file holds one ExportTraceServiceRequest (`{"resourceSpans": [...]}`), or one per line
as the collector's file exporter writes them. Spans are flattened in Python, a batch at a
time, into a Parquet file the engine then reads like any other; memory stays bounded.
The backend's status comes from the SERVER span's CLIENT child (the call to the backend)
when the trace holds one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..config import FieldsSection
from ..errors import InputError
from ..schema import CANONICAL_COLUMNS
from ..textfile import NotUtf8, decode_utf8
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


class _Shape(ValueError):
    """A part of a document that is not the JSON type OTLP gives it (a list, an object).
    Its place is put together as the error leaves each level: a valid document costs none."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected, self.place = expected, ""

    def at(self, step: str | int) -> _Shape:
        self.place = (f"[{step}]" if isinstance(step, int) else f".{step}") + self.place
        return self

    def __str__(self) -> str:
        return f"{self.place.lstrip('.')} is not {self.expected}"


def _text(value) -> str | None:
    """A leaf value as text: null stays null, a list or an object is its JSON text (rejected
    later if the column needs a number or a time)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _list(holder: dict, *keys: str) -> tuple[str, list]:
    """The first of `keys` the object has (camelCase as OTLP/JSON writes it, snake_case as
    protobuf names it) and its list; empty when absent or null."""
    for key in keys:
        if key in holder:
            value = holder[key]
            if value is not None and not isinstance(value, list):
                raise _Shape("a list").at(key)
            return key, value or []
    return keys[0], []


def _object(value) -> dict:
    """An object of the document; null is an empty one."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Shape("an object")
    return value


def _value(any_value: dict) -> str | None:
    """An OTLP AnyValue as text (intValue is a string in OTLP/JSON)."""
    for key in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if key in any_value:
            text = _text(any_value[key])
            return text.lower() if key == "boolValue" and text else text
    return None


def _attributes(holder: dict) -> dict[str, str | None]:
    """The `attributes` of a resource or span: key -> value as text."""
    key, items = _list(holder, "attributes")
    found: dict[str, str | None] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _Shape("an object").at(index).at(key)
        name, value = item.get("key"), item.get("value")
        if not isinstance(name, str):
            raise _Shape("a string").at("key").at(index).at(key)
        if value is not None and not isinstance(value, dict):
            raise _Shape("an object").at("value").at(index).at(key)
        found[name] = _value(value) if value else None
    return found


def _kind(span: dict) -> int | None:
    kind = span.get("kind")
    return KINDS.get(kind, None) if isinstance(kind, str) else kind


def _first(attrs: dict, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if attrs.get(key) is not None:
            return attrs[key]
    return None


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _nanos_to_iso(nanos) -> str | None:
    if nanos in (None, "", "0", 0):
        return None
    try:
        moment = EPOCH + dt.timedelta(microseconds=int(nanos) // 1000)
    except (TypeError, ValueError, OverflowError):  # not a number, or past year 1..9999
        return _text(nanos)  # rejected later as a time that does not parse
    return moment.isoformat()


def _latency_ms(start, end) -> str | None:
    try:
        return str((int(end) - int(start)) / 1e6)
    except (TypeError, ValueError, OverflowError):
        return None


def _documents(path: str, display: str) -> Iterator[tuple[int, dict]]:
    """(line, ExportTraceServiceRequest) for a whole-file document or one per line."""
    try:
        text = decode_utf8(Path(path).read_bytes())
    except NotUtf8 as exc:
        raise InputError(exc.located(display)) from None
    try:
        document = loads(text)
        yield 1, document
        return
    except json.JSONDecodeError as whole:
        if "\n" not in text.strip():
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


def _spans(path: str, display: str) -> Iterator[tuple[int, dict, dict, dict]]:
    """(line, resource attributes, span, span attributes) of every span of a file. A part
    that is not the JSON type OTLP gives it stops the file, naming the line and the part."""
    for line, document in _documents(path, display):
        if not isinstance(document, dict) or not isinstance(
            document.get("resourceSpans", document.get("resource_spans")), list
        ):
            raise InputError(f"{display}:{line}: expected an object with 'resourceSpans'")
        key, resource_spans = _list(document, "resourceSpans", "resource_spans")
        for index, item in enumerate(resource_spans):
            try:
                for resource, span, attrs in _spans_of(item):
                    yield line, resource, span, attrs
            except _Shape as exc:
                exc.at(index).at(key)
                raise InputError(f"{display}:{line}: not valid OTLP/JSON: {exc}") from None


def _spans_of(resource_spans) -> Iterator[tuple[dict, dict, dict]]:
    """(resource attributes, span, span attributes) of one item of `resourceSpans`."""
    item = _object(resource_spans)
    try:
        resource = _attributes(_object(item.get("resource")))
    except _Shape as exc:
        raise exc.at("resource") from None
    scopes_key, scopes = _list(item, "scopeSpans", "scope_spans")
    for j, scope in enumerate(scopes):
        try:
            spans_key, spans = _list(_object(scope), "spans")
            for k, span in enumerate(spans):
                try:
                    span = _object(span)
                    attrs = _attributes(span)
                except _Shape as exc:
                    raise exc.at(k).at(spans_key) from None
                yield resource, span, attrs
        except _Shape as exc:
            raise exc.at(j).at(scopes_key) from None


def _client_statuses(path: str, display: str) -> dict[tuple[str, str], tuple[str | None, bool]]:
    """(traceId, parent spanId) -> (backend status, call failed) of CLIENT spans, across the
    whole file: the collector splits one trace over several batches."""
    found: dict[tuple[str, str], tuple[str | None, bool]] = {}
    for _, _, span, attrs in _spans(path, display):
        parent = _text(span.get("parentSpanId"))
        if _kind(span) == CLIENT and parent:
            key = (_text(span.get("traceId", "")), parent)
            found.setdefault(key, (_first(attrs, STATUS_KEYS), bool(attrs.get("error.type"))))
    return found


def _rows(path: str, display: str, fields: FieldsSection, seen: dict[str, int]) -> Iterator[dict]:
    connection_key = fields.connection_id or DEFAULT_CONNECTION_KEY
    user_key = fields.user_id or DEFAULT_USER_KEY
    children = _client_statuses(path, display)
    for line, resource, span, span_attrs in _spans(path, display):
        if _kind(span) != SERVER:
            continue
        attrs = {**resource, **span_attrs}
        for key in (connection_key, user_key):
            if attrs.get(key) is not None:
                seen[key] = seen.get(key, 0) + 1
        start, end = span.get("startTimeUnixNano"), span.get("endTimeUnixNano")
        trace_id, span_id = _text(span.get("traceId", "")), _text(span.get("spanId"))
        backend_status = error_source = None
        child = children.get((trace_id, span_id))
        if child is not None:
            backend_status, failed = child
            if backend_status is None and failed:
                error_source = "forward-request"  # the call to the backend failed
        yield {
            "time": _nanos_to_iso(start),
            "status": _first(attrs, STATUS_KEYS),
            "connector": resource.get("service.name"),
            "operation": _first(attrs, ROUTE_KEYS) or _text(span.get("name")),
            "connection_id": attrs.get(connection_key),
            "user_id": attrs.get(user_key),
            "backend_status": backend_status,
            "error_source": error_source,
            "error_reason": attrs.get("error.type"),
            "latency_ms": _latency_ms(start, end),
            "request_id": f"{trace_id or ''}-{span_id or ''}",
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
    except OSError as exc:
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
