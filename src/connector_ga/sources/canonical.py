"""Canonical telemetry (CSV, JSON Lines, Parquet) read in place and typed row by row.

A row that does not fit the canonical schema is kept in the expression with a reject
reason (`_reject`), so it is counted and reported, never silently dropped or kept.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
from ibis.backends import BaseBackend

from .. import engine
from ..errors import InputError
from ..schema import CANONICAL_COLUMNS, CLOUDS, FAULTS, REQUIRED_COLUMNS, TEXT_COLUMNS

SUFFIX_FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
CANONICAL_FORMATS = ("csv", "jsonl", "parquet")


@dataclass
class Telemetry:
    """Telemetry read in place: the typed request table (with `_reject` and `_file`)."""

    table: ibis.Table
    files: list[str]
    formats: dict[str, str] = field(default_factory=dict)  # absolute path -> format
    display: dict[str, str] = field(default_factory=dict)  # absolute path -> as the user named it
    has_connector_column: bool = False
    con: BaseBackend | None = None
    default_connector: str | None = None

    def name_of(self, path: str) -> str:
        return self.display.get(path, path)

    def numbered(self, path: str) -> ibis.Table:
        """One file typed, with `_row` (0-based, in file order) and `_raw_*` text columns."""
        raw = _read(self.con, self.formats[path], [path])
        raw = raw.mutate(_row=ibis.row_number().over())
        kind = self.formats[path]
        return to_canonical(
            raw, self.default_connector, keep_raw=True, strip_text=kind != "parquet"
        )

    def location(self, path: str, row: int) -> tuple[str, int]:
        """('line', n) for text files (the header is line 1 of a CSV), ('row', n) for Parquet."""
        kind = self.formats[path]
        if kind == "csv":
            return "line", row + 2
        if kind == "jsonl":
            return "line", row + 1
        return "row", row + 1


def discover(patterns: Sequence[str], base_dir: Path | None = None) -> list[tuple[str, str]]:
    """Expand files, globs and folders into (absolute path, display name), in a stable order."""
    found: list[tuple[str, str]] = []
    for pattern in patterns:
        raw = os.path.expanduser(pattern)
        if base_dir is not None and not os.path.isabs(raw):
            raw = str(base_dir / raw)
        if os.path.isdir(raw):
            matches = sorted(
                str(p)
                for p in Path(raw).rglob("*")
                if p.is_file() and p.suffix.lower() in SUFFIX_FORMATS
            )
            if not matches:
                raise InputError(f"{pattern}: folder holds no .csv, .jsonl or .parquet file")
        elif glob.has_magic(raw):
            matches = sorted(p for p in glob.glob(raw, recursive=True) if os.path.isfile(p))
            if not matches:
                raise InputError(f"{pattern}: no file matches")
        elif os.path.isfile(raw):
            matches = [raw]
        else:
            raise InputError(f"{pattern}: file not found")
        for match in matches:
            absolute = os.path.abspath(match)
            if absolute not in {a for a, _ in found}:
                found.append((absolute, _display(match)))
    return found


def _display(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def format_of(path: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        raise InputError(
            f"{_display(path)}: cannot tell the format from the suffix '{suffix}'; "
            "expected .csv, .jsonl or .parquet, or pass --format"
        )
    return SUFFIX_FORMATS[suffix]


def read_canonical(
    con: BaseBackend,
    patterns: Sequence[str],
    fmt: str = "auto",
    default_connector: str | None = None,
    base_dir: Path | None = None,
) -> Telemetry:
    """Read canonical telemetry files in place and type them, marking bad rows."""
    if fmt not in ("auto", *CANONICAL_FORMATS):
        raise InputError(
            f"--format {fmt}: expected auto, csv, jsonl or parquet "
            "(apim, appinsights and otlp sources are not available yet)"
        )
    found = discover(patterns, base_dir)
    if not found:
        raise InputError("no telemetry given: pass --telemetry PATH or set [telemetry] paths")
    display = dict(found)
    by_format: dict[str, list[str]] = {}
    formats: dict[str, str] = {}
    for path, _ in found:
        kind = format_of(path, fmt)
        by_format.setdefault(kind, []).append(path)
        formats[path] = kind

    typed: list[ibis.Table] = []
    has_connector = False
    for kind, files in by_format.items():
        raw = _read_checked(con, kind, files, display)
        has_connector = has_connector or "connector" in _lower_columns(raw)
        typed.append(to_canonical(raw, default_connector, strip_text=kind != "parquet"))
    table = typed[0]
    for other in typed[1:]:
        table = table.union(other)
    return Telemetry(
        table=table,
        files=[p for p, _ in found],
        formats=formats,
        display=display,
        has_connector_column=has_connector,
        con=con,
        default_connector=default_connector,
    )


def _lower_columns(table: ibis.Table) -> dict[str, str]:
    return {name.lower(): name for name in table.columns}


def _read(con: BaseBackend, kind: str, files: list[str]) -> ibis.Table:
    if kind == "csv":
        return engine.read_csv(con, files)
    if kind == "parquet":
        return engine.read_parquet(con, files)
    columns = engine.jsonl_columns(con, files)
    return engine.read_jsonl(con, files, columns)


def _read_checked(
    con: BaseBackend, kind: str, files: list[str], display: dict[str, str]
) -> ibis.Table:
    """Read one format's files; an unreadable file or a missing column names the file."""
    errors = engine.engine_errors()
    try:
        table = _read(con, kind, files)
        table.head(1).execute()  # surfaces files the engine cannot parse at all
    except errors as exc:
        # Find the culprit file by reading each alone, so the message names it.
        for path in files:
            try:
                _read(con, kind, [path]).head(1).execute()
            except errors as single:
                raise InputError(
                    f"{display[path]}: cannot be read as {kind}: {_first_line(single)}"
                ) from None
        raise InputError(
            f"{', '.join(display[f] for f in files)}: cannot be read as {kind}: {_first_line(exc)}"
        ) from None
    columns = _lower_columns(table)
    for required in REQUIRED_COLUMNS:
        if required not in columns:
            # Name the first file that lacks it (files may differ when read by name).
            for path in files:
                single = _lower_columns(_read(con, kind, [path]))
                if required not in single:
                    raise InputError(
                        f"{display[path]}: missing required column '{required}' "
                        f"(canonical columns: {', '.join(CANONICAL_COLUMNS)})"
                    )
            raise InputError(f"{display[files[0]]}: missing required column '{required}'")
    return table


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _text(col: ibis.Value, strip: bool = True) -> ibis.Value:
    """A text column with blanks as null."""
    if not col.type().is_string():
        return col.cast("string")
    if strip:
        col = col.strip()
    return col.nullif("")


def _integer(col: ibis.Value) -> ibis.Value:
    """Parse an integer; null when the value is missing or not an integer."""
    kind = col.type()
    if kind.is_integer():
        return col.cast("int64")
    if kind.is_floating():
        return ibis.ifelse(col == col.floor(), col.cast("int64"), ibis.null("int64"))
    number = _text(col).try_cast("float64")
    return ibis.ifelse(number == number.floor(), number.cast("int64"), ibis.null("int64"))


def _number(col: ibis.Value) -> ibis.Value:
    kind = col.type()
    if kind.is_numeric():
        return col.cast("float64")
    return _text(col).try_cast("float64")


def _timestamp(col: ibis.Value) -> ibis.Value:
    """A UTC timestamp; offsets in text are converted, naive times are taken as UTC.

    Zone-aware columns are kept as they are, so time filters reach the file reader.
    """
    kind = col.type()
    utc = dt.Timestamp(timezone="UTC")
    if kind.is_timestamp():
        return col if kind.timezone else col.cast(utc)
    if kind.is_date():
        return col.cast(utc)
    return _text(col).try_cast(utc)


def to_canonical(
    raw: ibis.Table,
    default_connector: str | None = None,
    keep_raw: bool = False,
    strip_text: bool = True,
) -> ibis.Table:
    """Map a raw table with canonical column names to typed columns plus `_reject`, `_file`.

    With keep_raw, also `_row` and the raw text of each column as `_raw_<name>` (for
    locating rejected rows).
    """
    names = _lower_columns(raw)

    def present(name: str) -> ibis.Value | None:
        return raw[names[name]] if name in names else None

    time = _timestamp(present("time"))
    status = _integer(present("status"))
    cols: dict[str, ibis.Value] = {"time": time, "status": status}
    for name in TEXT_COLUMNS:
        col = present(name)
        # Typed files (Parquet) keep text as written: stripping every id would cost a pass.
        cols[name] = _text(col, strip_text) if col is not None else ibis.null("string")
    connector = cols["connector"]
    if default_connector is not None:
        cols["connector"] = connector.fill_null(default_connector)
    else:
        cols["connector"] = connector.fill_null("unnamed-connector")

    reasons: list[tuple[ibis.Value, str]] = [
        (time.isnull(), "time"),
        (status.isnull() | (status < 100) | (status > 599), "status"),
    ]

    raw_backend = present("backend_status")
    if raw_backend is not None:
        backend = _integer(raw_backend)
        bad = (
            (
                _text(raw_backend).notnull() & backend.isnull()
                if not raw_backend.type().is_numeric()
                else raw_backend.notnull() & backend.isnull()
            )
            | (backend < 100)
            | (backend > 599)
        )
        reasons.append((bad, "backend_status"))
        cols["backend_status"] = backend
    else:
        cols["backend_status"] = ibis.null("int64")

    raw_weight = present("weight")
    if raw_weight is not None:
        parsed = _integer(raw_weight)
        given = (
            raw_weight.notnull() if raw_weight.type().is_numeric() else _text(raw_weight).notnull()
        )
        reasons.append(((given & parsed.isnull()) | (parsed < 1), "weight"))
        cols["weight"] = parsed.fill_null(1)
    else:
        cols["weight"] = ibis.literal(1, "int64")

    raw_latency = present("latency_ms")
    if raw_latency is not None:
        latency = _number(raw_latency)
        given = (
            raw_latency.notnull()
            if raw_latency.type().is_numeric()
            else _text(raw_latency).notnull()
        )
        reasons.append((given & latency.isnull(), "latency_ms"))
        cols["latency_ms"] = latency
    else:
        cols["latency_ms"] = ibis.null("float64")

    raw_fault = present("fault")
    if raw_fault is not None:
        fault = _text(raw_fault).lower()
        reasons.append((fault.notnull() & ~fault.isin(FAULTS), "fault"))
        cols["fault"] = fault
    else:
        cols["fault"] = ibis.null("string")

    raw_cloud = present("cloud")
    if raw_cloud is not None:
        cloud = _text(raw_cloud).lower()
        reasons.append((cloud.notnull() & ~cloud.isin(CLOUDS), "cloud"))
        cols["cloud"] = cloud.fill_null("public")
    else:
        cols["cloud"] = ibis.literal("public")

    reject = ibis.cases(*[(cond.fill_null(False), code) for cond, code in reasons], else_=None)
    cols["_file"] = raw["_file"]
    cols["_reject"] = reject.cast("string")
    extra: list[str] = []
    if keep_raw:
        cols["_row"] = raw["_row"]
        extra.append("_row")
        for name, original in names.items():
            if name in CANONICAL_COLUMNS:
                cols[f"_raw_{name}"] = raw[original].cast("string")
                extra.append(f"_raw_{name}")
    typed = raw.select(**cols)
    return typed.select(*CANONICAL_COLUMNS, "_file", "_reject", *extra)
