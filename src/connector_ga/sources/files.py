"""Finding telemetry files and reading them in place through the engine."""

from __future__ import annotations

import csv
import glob
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import ibis
from ibis.backends import BaseBackend

from .. import engine
from ..errors import InputError
from ..textfile import NotUtf8, decode_utf8

CONTAINERS = {
    ".csv": "csv",
    ".jsonl": "json",
    ".ndjson": "json",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}


# DuckDB's JSON reader refuses documents nested deeper; Python's parser recurses once per
# level and would exhaust its stack on a deep one (a line of 5,000 '[').
MAX_DEPTH = 128
_OPEN_CLOSE = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)


def display_name(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def discover(patterns: Sequence[str], base_dir: Path | None = None) -> list[tuple[str, str]]:
    """Expand files, globs and folders into (absolute path, display name), in a stable order."""
    found: dict[str, str] = {}
    for pattern in patterns:
        raw = os.path.expanduser(pattern)
        if base_dir is not None and not os.path.isabs(raw):
            raw = str(base_dir / raw)
        if os.path.isdir(raw):
            matches = sorted(
                str(p)
                for p in Path(raw).rglob("*")
                if p.is_file() and p.suffix.lower() in CONTAINERS
            )
            if not matches:
                raise InputError(f"{pattern}: folder holds no .csv, .json, .jsonl or .parquet file")
        elif glob.has_magic(raw):
            matches = sorted(p for p in glob.glob(raw, recursive=True) if os.path.isfile(p))
            if not matches:
                raise InputError(f"{pattern}: no file matches")
        elif os.path.isfile(raw):
            matches = [raw]
        else:
            raise InputError(f"{pattern}: file not found")
        for match in matches:
            found.setdefault(os.path.abspath(match), display_name(match))
    return list(found.items())


def container_of(path: str) -> str:
    """How the file is stored: csv, json (array or lines) or parquet, from its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in CONTAINERS:
        raise InputError(
            f"{display_name(path)}: cannot tell the format from the suffix '{suffix}'; "
            "expected .csv, .json, .jsonl or .parquet"
        )
    return CONTAINERS[suffix]


def head_text(path: str, size: int = 4096) -> str:
    """The start of a file as text (for sniffing), BOM removed."""
    with open(path, "rb") as handle:
        data = handle.read(size)
    return data.decode("utf-8-sig", errors="replace")


def read(con: BaseBackend, container: str, files: Sequence[str]) -> ibis.Table:
    """Read files of one container kind as raw columns plus `_file`."""
    files = list(files)
    if container == "csv":
        return engine.read_csv(con, files)
    if container == "parquet":
        return engine.read_parquet(con, files)
    columns = engine.json_columns(con, files)
    return engine.read_json(con, files, columns)


def first_line(exc: BaseException) -> str:
    return engine.error_line(exc)


def read_checked(
    con: BaseBackend, container: str, files: Sequence[str], display: dict[str, str], label: str
) -> ibis.Table:
    """Read files; an unreadable one is an InputError naming it."""
    errors = engine.engine_errors()
    try:
        table = read(con, container, files)
        for name in table.columns:
            if "\x00" in name:  # the engine cannot return such a column (a UTF-16 file?)
                names = ", ".join(display[f] for f in files)
                raise InputError(f"{names}: column name {name!r} holds a NUL character")
        engine.fetch_rows(con, table.head(1))  # surfaces files the engine cannot parse at all
        return table
    except errors as exc:
        culprit = find_unreadable(con, container, files)
        if culprit is not None:
            path, problem = culprit
            message = why_unreadable(path, display[path], container, problem, label)
            raise InputError(message) from None
        names = ", ".join(display[f] for f in files)
        raise InputError(f"{names}: cannot be read as {label}: {first_line(exc)}") from None


def why_unreadable(
    path: str, shown: str, container: str, problem: str, label: str | None = None
) -> str:
    """One line on a file the engine cannot read: where it is not UTF-8 or not JSON, when
    that is why; else the engine's reason."""
    if container in ("csv", "json"):
        with open(path, "rb") as handle:
            raw = handle.read()
        try:
            decode_utf8(raw)
        except NotUtf8 as exc:
            return exc.located(shown)
    if container == "parquet":
        looks = _not_parquet(path)
        if looks is not None:
            return f"{shown}: not a Parquet file: {looks}"
    if container == "json":
        located = json_problem(path)
        if located is not None:
            line, message = located
            return f"{shown}:{line}: not valid JSON: {message}"
    return f"{shown}: cannot be read{f' as {label}' if label else ''}: {problem}"


def _not_parquet(path: str) -> str | None:
    """What a file that should be Parquet looks like, when it is not (a Parquet file begins
    and ends with the marker PAR1); None when it has the markers."""
    with open(path, "rb") as handle:
        start = handle.read(4096)
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(size - 4, 0))
        end = handle.read(4)
    if start[:4] == b"PAR1" and end == b"PAR1" and size >= 8:
        return None
    if size == 0:
        return "it is empty"
    try:
        text = start.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(start) - 3:  # not merely a character cut at 4,096 bytes
            return "it looks like binary data of another kind"
        text = start[: exc.start].decode("utf-8-sig")
    first = text.lstrip()
    if first[:1] in ("{", "["):
        return "it looks like JSON text"
    lines = text.splitlines()
    if lines and "," in lines[0]:
        return "it looks like CSV text"
    return "it looks like text"


def too_deep(text: str, limit: int = MAX_DEPTH) -> int | None:
    """The offset of the bracket that opens level `limit + 1` of a JSON text, if one does."""
    # Quick bound: the brackets alone, innermost pairs dropped once per level.
    brackets = text.encode("utf-8", "surrogatepass").translate(_OPEN_CLOSE, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return None
        brackets = brackets.replace(b"()", b"")
    if not brackets:
        return None
    depth = 0
    for token in _TOKENS.finditer(text):  # exact, brackets inside strings skipped
        if token[0] in "[{":
            depth += 1
            if depth > limit:
                return token.start()
        elif token[0] in "]}":
            depth -= 1
    return None


def _integer(digits: str) -> int | str:
    """A JSON integer; its digits when longer than Python converts (4,300 by default)."""
    try:
        return int(digits)
    except ValueError:
        return digits


def loads(text: str):
    """json.loads, except that a document nested deeper than MAX_DEPTH is a JSONDecodeError
    at the bracket that goes too deep, never a RecursionError, and an integer too long for
    Python is kept as its digits (a value rejected later), never a ValueError."""
    try:
        value = json.loads(text, parse_int=_integer)
    except RecursionError:
        value, deep = None, too_deep(text) or 0
    else:
        deep = too_deep(text)
    if deep is not None:
        raise json.JSONDecodeError(f"nested deeper than {MAX_DEPTH} levels", text, deep)
    return value


def json_problem(path: str) -> tuple[int, str] | None:
    """Where a JSON file (one document, or one per line) first fails to parse."""
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        text = handle.read()
    try:
        loads(text)
        return None
    except json.JSONDecodeError as whole:
        if text.lstrip().startswith("["):
            return whole.lineno, f"{whole.msg} (column {whole.colno})"
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            loads(line)
        except json.JSONDecodeError as exc:
            return number, f"{exc.msg} (column {exc.colno})"
    return None


def find_unreadable(
    con: BaseBackend, container: str, files: Sequence[str]
) -> tuple[str, str] | None:
    """The first file the engine cannot read whole, with the engine's reason."""
    errors = engine.engine_errors()
    for path in files:
        try:
            table = read(con, container, [path])
            table.count().execute()
        except errors as exc:
            return path, first_line(exc)
    return None


def csv_lines(path: str, rows: Sequence[int]) -> dict[int, int]:
    """The line each data record starts on (record 0 follows the header on line 1)."""
    wanted, found = set(rows), {}
    last = max(wanted, default=-1)
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        start = reader.line_num + 1
        for index, _ in enumerate(reader):
            if index in wanted:
                found[index] = start
            if index >= last:
                break
            start = reader.line_num + 1
    return {row: found.get(row, row + 2) for row in rows}
