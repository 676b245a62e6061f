"""Mutation fuzzing of every reader (issue 8): whatever a telemetry file holds, `connector-ga
check` ends with a verdict (exit 0 or 1) or one line of bad input (exit 2), never a crash.

Each case starts from a small valid file of one format the product reads (canonical CSV,
JSON Lines, JSON array and Parquet; APIM gateway logs as JSON Lines, JSON array and CSV,
resource-specific and AzureDiagnostics, and as archived resource logs; Application Insights
as CSV and JSON; OTLP/JSON as one document and one per line), mutates it (bytes flipped,
lines cut or repeated, the file truncated, odd values put in, a BOM, CRLF, UTF-16, deep
nesting) and runs the real CLI on it in-process. Most such files stop at their first
bytes (exit 2), so a second test keeps the file valid and puts odd values in one column
of some of its rows, by the column's type (odd timestamps in `time`, odd statuses, numbers,
counts, enums and text; odd Parquet column types): those must mostly reach a verdict.
Seeded and bounded in number and time: the same examples every run, more under CI (the
CI environment variable). A failure found here is fixed in its reader and pinned by a
test in test_bad_input.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner

from connector_ga import api
from connector_ga.cli import app
from connector_ga.errors import InputError
from connector_ga.outputs import json_result, terminal

DATA = Path(__file__).parent / "data" / "sources"
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
CI = bool(os.environ.get("CI"))
# Examples per seed file, more under CI; CONNECTOR_GA_FUZZ_EXAMPLES=200 with
# CONNECTOR_GA_FUZZ_SECONDS=inf searches deeper (minutes, not seconds).
EXAMPLES = int(os.environ.get("CONNECTOR_GA_FUZZ_EXAMPLES", "5" if CI else "3"))


class Budget:
    """The cases a test runs, bounded in number and in time: the first `minimum` always run;
    past `seconds`, the cases Hypothesis still draws are skipped (a case is a check of a
    second or two: the test stays within its time on a busy machine)."""

    def __init__(self, seconds: float, minimum: int = 3) -> None:
        self.seconds, self.minimum = seconds, minimum
        self.started: float | None = None
        self.runs = 0

    def spent(self) -> bool:
        now = time.monotonic()
        self.started = self.started if self.started is not None else now
        if self.runs >= self.minimum and now - self.started > self.seconds:
            return True
        self.runs += 1
        return False


# --- the valid files mutated ------------------------------------------------------------------


def _canonical_rows(n: int = 6) -> list[dict]:
    return [
        {
            "time": f"2026-11-{10 + k:02d}T{k % 24:02d}:00:00Z",
            "status": (200, 201, 429, 500, 502, 404)[k % 6],
            "connector": "contoso-tasks",
            "operation": f"op{k % 2}",
            "connection_id": f"conn-{k % 3}",
            "user_id": f"user-{k % 4}",
            "backend_status": (200, 201, None, 500, None, 404)[k % 6],
            "error_source": None if k % 3 else "backend",
            "error_reason": None,
            "fault": None,
            "latency_ms": 10.5 * (k + 1),
            "cloud": "public",
            "request_id": f"r{k}",
            "weight": 1 + k % 2,
        }
        for k in range(n)
    ]


def _csv_text(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _parquet_bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _canonical_parquet() -> bytes:
    table = pa.Table.from_pylist(_canonical_rows())
    times = pa.array([r["time"] for r in _canonical_rows()]).cast(pa.timestamp("us", tz="UTC"))
    return _parquet_bytes(table.set_column(0, "time", times))


def _head_lines(name: str | Path, n: int) -> str:
    return "".join((DATA / name).read_text(encoding="utf-8").splitlines(keepends=True)[:n])


# A diagnostic setting's archive of APIM resource logs: one record per line.
RESOURCE_LOG = sorted((DATA / "insights-logs-gatewaylogs").rglob("PT1H.json"))[0]


def _head_array(name: str, n: int) -> str:
    return json.dumps(json.loads((DATA / name).read_text(encoding="utf-8"))[:n], indent=2)


# name -> (file name, content, --format that reads it)
SEEDS: dict[str, tuple[str, str | bytes, str]] = {
    "canonical-csv": ("t.csv", _csv_text(_canonical_rows()), "csv"),
    "canonical-jsonl": (
        "t.jsonl",
        "".join(json.dumps(r) + "\n" for r in _canonical_rows()),
        "jsonl",
    ),
    "canonical-json-array": ("t.json", json.dumps(_canonical_rows(), indent=1), "jsonl"),
    "canonical-parquet": ("t.parquet", _canonical_parquet(), "parquet"),
    "apim-jsonl": ("apim.jsonl", _head_lines("apim_gateway.jsonl", 5), "apim"),
    "apim-json-array": ("apim.json", _head_array("apim_gateway_array.json", 3), "apim"),
    "apim-csv": ("apim.csv", _head_lines("apim_gateway.csv", 6), "apim"),
    "apim-resource-log": ("PT1H.json", _head_lines(RESOURCE_LOG, 4), "apim"),
    "apim-azurediagnostics-csv": (
        "diag.csv",
        _head_lines("apim_azurediagnostics.csv", 6),
        "apim",
    ),
    "appinsights-csv": ("ai.csv", _head_lines("appinsights_requests.csv", 6), "appinsights"),
    "appinsights-json": (
        "ai.json",
        _head_array("appinsights_apprequests.json", 3),
        "appinsights",
    ),
    "otlp-jsonl": ("o.jsonl", _head_lines("otlp_collector.jsonl", 2), "otlp"),
    "otlp-json": ("o.json", (DATA / "otlp_traces.json").read_text(encoding="utf-8"), "otlp"),
}


# --- mutations ----------------------------------------------------------------------------------

# Values no reader expects, as the raw text put in a JSON document or a CSV cell.
ODD_VALUES = (
    "",
    " ",
    '""',
    "null",
    "true",
    "-1",
    "0",
    "1.5",
    "1e999",
    "-1e999",
    "NaN",
    "Infinity",
    "-Infinity",
    "nan",
    "inf",
    "9" * 30,
    "9" * 5000,
    "-" + "9" * 25,
    '"9223372036854775808"',
    '"99999999999999999999"',
    '"1e400"',
    '"NaN"',
    '"-inf"',
    '"9999-12-31T23:59:59Z"',
    '"infinity"',
    '"-infinity"',
    '"epoch"',
    '"294247-01-10T04:00:54Z"',
    '"2026-11-10 (BC)"',
    '"1e18"',
    "-1e18",
    "1" + "0" * 400,
    '"0001-01-01T00:00:00Z"',
    '"2026-13-45T99:99:99Z"',
    '"292278994-08-17T07:12:55Z"',
    '"\\u0000"',
    '"\\ud800"',
    '"🙂 ünïcödé 漢字"',
    '"\u202e\u200b"',
    "[]",
    "{}",
    "[1, 2]",
    '{"a": {"b": [1]}}',
    '"' + "x" * 5000 + '"',
)


def _odd_in_json(text: str, pick: int, odd: str) -> str:
    """One value of a JSON document (or of each JSON line's document) replaced by `odd`."""
    marker = "\x00odd\x00"

    def leaves(value, path=()):
        if isinstance(value, dict):
            for key, inner in value.items():
                yield from leaves(inner, (*path, key))
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                yield from leaves(inner, (*path, index))
        yield path

    def replaced(document):
        paths = list(leaves(document))
        path = paths[pick % len(paths)]
        if not path:
            return marker
        holder = document
        for step in path[:-1]:
            holder = holder[step]
        holder[path[-1]] = marker
        return document

    def dumped(document, indent=None) -> str:
        return json.dumps(replaced(document), indent=indent).replace(json.dumps(marker), odd)

    try:
        return dumped(json.loads(text), indent=1)
    except (ValueError, RecursionError):  # not one document (or one too deep to change)
        pass
    lines = text.splitlines()
    number = pick % max(len(lines), 1)
    try:
        lines[number] = dumped(json.loads(lines[number]))
    except (ValueError, RecursionError, IndexError):
        return text
    return "\n".join(lines) + "\n"


def _odd_in_csv(text: str, pick: int, odd: str) -> str:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:  # not CSV any more (an earlier mutation)
        return text
    cells = [(r, c) for r, row in enumerate(rows) for c in range(len(row))]
    if not cells:
        return text
    r, c = cells[pick % len(cells)]
    rows[r][c] = odd.strip('"')
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


# Odd Parquet columns: each replaces (or adds) one column with values of an unexpected type.
def _odd_column(kind: str, n: int) -> pa.Array:
    nan, inf = float("nan"), float("inf")
    values = {
        "float-nan-inf": pa.array([nan, inf, -inf, 1e300, -0.0, 200.5][:n] * n)[:n],
        "int-huge": pa.array([2**63 - 1, -(2**63), 0, -1, 10**15, 599][:n] * n, pa.int64())[:n],
        "uint64": pa.array([2**64 - 1, 0, 200, 500, 1, 2][:n] * n, pa.uint64())[:n],
        "text-odd": pa.array(["", " ", "🙂", "\x00", "NaN", "1e999"][:n] * n)[:n],
        "bool": pa.array([True, False] * n)[:n],
        "binary": pa.array([b"\xff\xfe", b"", b"200"] * n, pa.binary())[:n],
        "null": pa.nulls(n),
        "list": pa.array([[200], [], None] * n, pa.list_(pa.int64()))[:n],
        "struct": pa.array([{"a": 1}, {"a": None}] * n, pa.struct([("a", pa.int64())]))[:n],
        "date": pa.array([0, 2932896, -719162] * n, pa.int32()).cast(pa.date32())[:n],
        "timestamp-naive-extreme": pa.array([-(2**62), 2**62, 0] * n, pa.int64()).cast(
            pa.timestamp("us")
        )[:n],
        "timestamp-ns-tz": pa.array([1_800_000_000_000_000_000, 0] * n, pa.int64()).cast(
            pa.timestamp("ns", tz="Pacific/Chatham")
        )[:n],
        "decimal": pa.array(["1", "200.000", "9" * 20] * n).cast(pa.decimal128(38, 3))[:n],
        "dictionary": pa.array(["200", "500", "x"] * n).dictionary_encode()[:n],
        "duration": pa.array([1, -1, 10**12] * n, pa.int64()).cast(pa.duration("ms"))[:n],
    }
    return values[kind]


PARQUET_KINDS = (
    "float-nan-inf",
    "int-huge",
    "uint64",
    "text-odd",
    "bool",
    "binary",
    "null",
    "list",
    "struct",
    "date",
    "timestamp-naive-extreme",
    "timestamp-ns-tz",
    "decimal",
    "dictionary",
    "duration",
)


def _odd_in_parquet(content: bytes, pick: int, kind: str) -> bytes:
    try:
        table = pq.read_table(io.BytesIO(content))
    except Exception:  # not Parquet any more (an earlier mutation): left as it is
        return content
    names = [*table.column_names, "extra"]
    name = names[pick % len(names)]
    column = _odd_column(kind, table.num_rows)
    if name in table.column_names:
        table = table.set_column(table.column_names.index(name), name, column)
    else:
        table = table.append_column(name, column)
    return _parquet_bytes(table)


def _lines(content: bytes) -> list[bytes]:
    return content.splitlines(keepends=True)


def mutate(content: bytes, mutation: tuple) -> bytes:
    """One mutation of a file's bytes. Positions are taken modulo the size, so a mutation
    applies to any file."""
    kind, *args = mutation
    size = max(len(content), 1)
    if kind == "flip":
        position, byte = args
        data = bytearray(content)
        if data:
            data[position % size] = byte
        return bytes(data)
    if kind == "insert":
        position, blob = args
        position %= size
        return content[:position] + blob + content[position:]
    if kind == "truncate":
        return content[: args[0] % size]
    if kind == "cut-line":
        lines = _lines(content)
        if lines:
            del lines[args[0] % len(lines)]
        return b"".join(lines)
    if kind == "repeat-line":
        lines = _lines(content)
        if lines:
            number = args[0] % len(lines)
            line = lines[number] if lines[number].endswith(b"\n") else lines[number] + b"\n"
            lines[number : number + 1] = [line] * args[1]
        return b"".join(lines)
    if kind == "odd-value":
        pick, odd = args
        if b"PAR1" in content[:8]:
            return _odd_in_parquet(content, pick, PARQUET_KINDS[pick % len(PARQUET_KINDS)])
        text = content.decode("utf-8", errors="replace")
        if text.lstrip().startswith(("{", "[")):
            return _odd_in_json(text, pick, odd).encode("utf-8", "surrogatepass")
        return _odd_in_csv(text, pick, odd).encode("utf-8", "surrogatepass")
    if kind == "bom":
        return b"\xef\xbb\xbf" + content
    if kind == "crlf":
        return content.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if kind == "encoding":
        text = content.decode("utf-8", errors="replace")
        return text.encode(args[0], errors="replace")
    if kind == "deep":
        position, depth, closed = args
        nest = b"[" * depth + (b"]" * depth if closed else b"")
        lines = _lines(content)
        if lines and position % 2:  # a whole line of it, or inside a line
            lines.insert(position % len(lines), nest + b"\n")
            return b"".join(lines)
        position %= size
        return content[:position] + nest + content[position:]
    raise AssertionError(kind)


positions = st.integers(min_value=0, max_value=2**20)
MUTATIONS = st.one_of(
    st.tuples(st.just("flip"), positions, st.integers(0, 255)),
    st.tuples(st.just("insert"), positions, st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("truncate"), positions),
    st.tuples(st.just("cut-line"), positions),
    st.tuples(st.just("repeat-line"), positions, st.integers(2, 50)),
    st.tuples(st.just("odd-value"), positions, st.sampled_from(ODD_VALUES)),
    st.tuples(st.just("bom")),
    st.tuples(st.just("crlf")),
    st.tuples(st.just("encoding"), st.sampled_from(["utf-16", "utf-16-be", "latin-1", "cp1252"])),
    st.tuples(st.just("deep"), positions, st.sampled_from([127, 129, 1000, 5000]), st.booleans()),
)


# --- running the CLI ----------------------------------------------------------------------------


def run_check(folder: Path, file: str, fmt: str | None) -> None:
    """`connector-ga check` on one file: a verdict or one line of bad input, never a crash."""
    args = ["check", "-t", str(folder / file), "--as-of", "2026-11-20", "--all"]
    args += ["--max-reject-rate", "1"]  # rejected rows do not stop it: the metrics run too
    args += ["--horizon", "1"]  # the forecast reads no file: keep it short
    if fmt is not None:
        args += ["--format", fmt]
    result = CliRunner().invoke(app, args, env=ENV)
    output = result.stdout + result.stderr
    where = f"{file} ({fmt or 'auto'}): exit {result.exit_code}\n{output[-2000:]}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{where}\n{result.exception!r}"
    )
    assert "Traceback" not in output, where
    assert "a bug in connector-ga" not in output, where  # the CLI's line for a crash
    assert result.exit_code in (0, 1, 2), where
    if result.exit_code == 2:
        assert result.stderr.rstrip().splitlines()[-1].startswith("error: "), where


def check_json(folder: Path, names: list[str]) -> dict:
    """`check --json -` over seed files together: the data quality it reports."""
    args = ["check", "--as-of", "2026-11-20", "--all", "--horizon", "1", "--json", "-"]
    args += ["--max-reject-rate", "1"]
    for name in names:
        file, content, _ = SEEDS[name]
        (folder / file).write_bytes(content if isinstance(content, bytes) else content.encode())
        args += ["-t", str(folder / file)]
    result = CliRunner().invoke(app, args, env=ENV)
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)[0]["data_quality"]


# The seeds in two checks: APIM resource logs and AzureDiagnostics CSV each apart from the
# other shape of their container (see test_apim_shapes_mixed_in_one_check). name -> (seeds,
# rows): 4 canonical files of 6; APIM 5 lines, 3 items, 5 CSV rows; App Insights 5 CSV rows,
# 3 items; OTLP SERVER spans 2 + 1 on the collector's first lines, 12 in the document
# (60 rows); then 4 resource-log lines and 5 AzureDiagnostics rows (9).
APART = ["apim-resource-log", "apim-azurediagnostics-csv"]
SEED_GROUPS = {"most": ([n for n in SEEDS if n not in APART], 60), "apart": (APART, 9)}


@pytest.mark.parametrize("group", list(SEED_GROUPS))
def test_seed_files_are_valid(tmp_path, group):
    """The files mutated are themselves read whole: a verdict, and no row rejected."""
    names, rows = SEED_GROUPS[group]
    quality = check_json(tmp_path, names)
    assert (quality["rows"], quality["rejected_rows"]) == (rows, 0), quality["reject_samples"]


def test_apim_shapes_mixed_in_one_check(tmp_path):
    """Each file alone has no rejected row; together they have none either (5 + 4 JSON
    rows, 5 + 5 CSV rows): files are read together only when their columns agree."""
    names = ["apim-jsonl", "apim-resource-log", "apim-csv", "apim-azurediagnostics-csv"]
    quality = check_json(tmp_path, names)
    assert (quality["rows"], quality["rejected_rows"]) == (19, 0)


# Seconds of byte-mutated cases per seed file past its first 3 (see Budget).
BYTE_SECONDS = float(os.environ.get("CONNECTOR_GA_FUZZ_SECONDS", "4"))
BYTE_BUDGETS: dict[str, Budget] = {}


@pytest.mark.parametrize("name", list(SEEDS))
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutations=st.lists(MUTATIONS, min_size=1, max_size=3), declared=st.booleans())
def test_mutated_file_is_a_verdict_or_one_line_exit_2(name, mutations, declared):
    if BYTE_BUDGETS.setdefault(name, Budget(BYTE_SECONDS)).spent():
        return
    file, content, fmt = SEEDS[name]
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    for mutation in mutations:
        data = mutate(data, mutation)
    with tempfile.TemporaryDirectory(prefix="cga-fuzz-") as folder:
        (Path(folder) / file).write_bytes(data)
        run_check(Path(folder), file, fmt if declared else None)


# --- odd values inside valid files --------------------------------------------------------------
#
# The byte mutations above mostly leave a file no reader takes (exit 2 at its first bytes).
# These keep the file whole and put odd values in one column (CSV, Parquet) or field (JSON)
# of some of its rows, odd for that column's type: the reader takes the file, and the odd
# values meet its parsing, the row checks, the metrics and the outputs.


class Raw(str):
    """A JSON token written as it is (1e999, 5,000 digits): no Python value prints so."""


UTC = dt.UTC
ODD: dict[str, tuple] = {
    "any": (
        None, "", " ", "null", "NULL", "None", True, False, 0, -1, 1.5, -0.0, float("nan"),
        float("inf"), float("-inf"), Raw("1e999"), Raw("-1e999"), 10**30, -(10**25),
        Raw("9" * 5000), [], {}, [1, 2], {"a": {"b": [1]}}, "🙂 ünïcödé 漢字", "\u202e\u200b",
        "\x00", "\ud800", "x" * 5000, "a\nb", 'say "hi", then go', "=1+1",
    ),
    "timestamp": (
        "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2026-13-45T99:99:99Z",
        "294247-01-10T04:00:54Z", "292278994-08-17T07:12:55Z", "2026-11-10 (BC)", "epoch",
        "infinity", "-infinity", "2026-11-15", "2026-11-15T10:00:00", "2026-11-15 10:00",
        "2026-11-15T10:00:00+14:00", "2026-11-15T10:00:00-12:00",
        "2026-11-15T10:00:00.123456789Z", "2026-02-29T00:00:00Z", "2026-11-15T10:00:60Z",
        "2026-11-15T24:00:00Z", "Sun, 15 Nov 2026 10:00:00 GMT", "2026-W47-1", "1763200000",
        1763200000, 1763200000000, 1.7632e12, dt.datetime(1, 1, 1, tzinfo=UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), dt.datetime(1970, 1, 1, tzinfo=UTC),
        dt.datetime(2026, 11, 15, 10), dt.datetime(2026, 11, 21, 10, tzinfo=UTC),
        dt.datetime(2026, 11, 15, 10, tzinfo=dt.timezone(dt.timedelta(hours=14))),
    ),
    "status": (
        99, 100, 599, 600, -200, 200.0, 200.5, "200", " 200 ", "2e2", "0x1F4", "200 OK", "２００",
        2**63 - 1, -(2**63), 2**64, Raw("200.0000000000000001"),
    ),
    "number": (-1.0, 0, 1e308, -1e308, 5e-324, 2**70, "12ms", "1,5", "1_000", " 7 ", "0x10"),
    "count": (0, -1, 1.5, 2**31, 2**62, 2**63 - 1, 10**18, "3", "1e3", 1e18),
    "enum": ("CONNECTOR", " connector", "connector ", "unknown", "gcc high", "GCC", "none", "🙂"),
    "text": (12345, 1.5, "<script>alert(1)</script>", "a,b", "\t", "\r\n", "ǅ" * 300),
}  # fmt: skip
COLUMN_TYPES = {
    "time": "timestamp",
    "status": "status",
    "backend_status": "status",
    "latency_ms": "number",
    "weight": "count",
    "fault": "enum",
    "cloud": "enum",
}


def column_type(name: str, sample) -> str:
    """A canonical column's type, or a source field's guessed from a valid value of it."""
    if name in COLUMN_TYPES:
        return COLUMN_TYPES[name]
    if isinstance(sample, str):
        if re.match(r"\d{4}-\d\d-\d\d", sample):
            return "timestamp"
        try:
            sample = float(sample)
        except ValueError:
            return "text"
    if isinstance(sample, bool) or not isinstance(sample, int | float):
        return "text"
    return "status" if sample == int(sample) and 100 <= sample <= 599 else "number"


def _cell(value) -> str | None:
    """An odd value as a CSV cell (None: an empty one)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value)
    return repr(value) if isinstance(value, float) else str(value)


def _json_text(documents: list, lines: bool, odd: dict[int, object]) -> str:
    """JSON with each marker string `odd` names written as its odd value (Raw as it is)."""
    tokens = {}
    for k, value in odd.items():
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        tokens[json.dumps(f"\x00odd{k}\x00")] = (
            value if isinstance(value, Raw) else (json.dumps(value))
        )
    if lines:
        text = "".join(json.dumps(document) + "\n" for document in documents)
    else:
        text = json.dumps(documents[0], indent=1)
    return re.sub(r'"\\u0000odd\d+\\u0000"', lambda m: tokens[m.group(0)], text)


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, (*path, key))
    elif isinstance(value, list) and value:
        for index, inner in enumerate(value):
            yield from _leaves(inner, (*path, index))
    else:
        yield path, value


class Fields:
    """A valid file as records and fields: each field's name, one valid value of it and
    where it occurs (a CSV cell, a Parquet cell, a JSON leaf of every record or span)."""

    def __init__(self, name: str) -> None:
        self.file, content, self.fmt = SEEDS[name]
        self.kind = "parquet" if isinstance(content, bytes) else "csv"
        if self.kind == "parquet":
            self.table = pq.read_table(io.BytesIO(content))
            self.fields = {
                c: (self.table.column(c)[0].as_py(), None) for c in self.table.column_names
            }
            return
        text = content
        if text.lstrip().startswith(("{", "[")):
            self.kind = "json"
            try:  # one document (a JSON array, OTLP's), or one per line
                docs, self.lines = [json.loads(text)], False
            except ValueError:
                docs, self.lines = [json.loads(line) for line in text.splitlines()], True
            self.documents = docs
            # A leaf's pattern: its path with list positions as "*", so one field of every
            # record (a JSON array's items, OTLP's spans) is one pattern.
            self.fields = {}
            for d, document in enumerate(docs):
                for path, value in _leaves(document):
                    pattern = tuple("*" if isinstance(step, int) else step for step in path)
                    sample, places = self.fields.setdefault(pattern, (value, []))
                    places.append((d, path))
            return
        self.rows = list(csv.reader(io.StringIO(text)))
        self.fields = {h: (self.rows[1][c], c) for c, h in enumerate(self.rows[0])}

    def names(self) -> list:
        return list(self.fields)

    def places(self, field) -> int:
        if self.kind == "json":
            return len(self.fields[field][1])
        return self.table.num_rows if self.kind == "parquet" else len(self.rows) - 1

    def type_of(self, field) -> str:
        name = field if isinstance(field, str) else str(field[-1])
        return column_type(name, self.fields[field][0])

    def with_odd(self, field, odd: dict[int, object]) -> bytes:
        """The file with the field's value at each place k in `odd` replaced by odd[k]."""
        if self.kind == "csv":
            rows = [list(row) for row in self.rows]
            column = self.fields[field][1]
            for k, value in odd.items():
                cell = _cell(value)
                rows[1 + k][column] = "" if cell is None else cell
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(rows)
            return out.getvalue().encode("utf-8", "surrogatepass")
        if self.kind == "json":
            docs = json.loads(json.dumps(self.documents))
            places = self.fields[field][1]
            for k in odd:
                d, path = places[k]
                holder = docs[d]
                for step in path[:-1]:
                    holder = holder[step]
                if path:
                    holder[path[-1]] = f"\x00odd{k}\x00"
                else:
                    docs[d] = f"\x00odd{k}\x00"
            return _json_text(docs, self.lines, odd).encode("utf-8", "surrogatepass")
        values = self.table.column(field).to_pylist()
        for k, value in odd.items():
            values[k] = value
        return self.with_column(field, _arrow(values, self.table.schema.field(field).type))

    def with_column(self, field: str, column: pa.Array) -> bytes:
        """The Parquet file with one column replaced."""
        index = self.table.column_names.index(field)
        return _parquet_bytes(self.table.set_column(index, field, column))


def _arrow(values: list, natural: pa.DataType) -> pa.Array:
    """The column in its own type when the odd values fit it (an extreme timestamp, a huge
    integer), else in the type they make (uint64, double), else as text."""
    for kind in (natural, None):
        try:
            return pa.array([float(v) if isinstance(v, Raw) else v for v in values], kind)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            pass
    return pa.array([_cell(v) for v in values], pa.string())


VERDICT, BAD_INPUT = "verdict", "bad input"


def judged(folder: Path, file: str, fmt: str | None) -> str:
    """`check --all` on one file in this process, as the CLI runs it but without the forecast
    and fix plan (which read the aggregate the metrics do, at thrice the time): a verdict
    (exit 0 or 1, its terminal lines and JSON written) or one line of bad input (exit 2).
    Anything else raised is a crash (the CLI's "a bug in connector-ga") and fails the test."""
    try:
        run = api.run_check(
            telemetry=[str(folder / file)],
            fmt=fmt,
            all_connectors=True,
            max_reject_rate=1.0,  # rejected rows do not stop it: the metrics run too
            as_of=dt.date(2026, 11, 20),
            trajectory=False,
        )
    except InputError as exc:
        assert exc.message.strip() and "\n" not in exc.message.strip(), exc.message
        return BAD_INPUT
    terminal.render_fleet(run.results, Console(file=io.StringIO(), width=200))
    assert json.loads(json_result.dumps(run.results))
    return VERDICT


# Odd-value cases: more under CI. CONNECTOR_GA_FUZZ_VALUE_EXAMPLES and _SECONDS set them.
VALUE_EXAMPLES = int(os.environ.get("CONNECTOR_GA_FUZZ_VALUE_EXAMPLES", "60" if CI else "12"))
VALUE_SECONDS = float(os.environ.get("CONNECTOR_GA_FUZZ_VALUE_SECONDS", "45" if CI else "12"))
CANONICAL = [name for name in SEEDS if name.startswith("canonical-")]


@st.composite
def odd_cases(draw) -> tuple[str, object, dict[int, object] | str, bool]:
    """(seed, field, {place: odd value} or an odd Parquet column kind, format declared).
    Half the cases are on the canonical files (CSV, JSON Lines, JSON array, Parquet)."""
    name = draw(st.one_of(st.sampled_from(CANONICAL), st.sampled_from(list(SEEDS))))
    fields = FIELDS[name]
    field = draw(st.sampled_from(fields.names()))
    declared = draw(st.booleans())
    if fields.kind == "parquet" and draw(st.booleans()):
        return name, field, draw(st.sampled_from(PARQUET_KINDS)), declared
    pool = ODD[fields.type_of(field)] + ODD["any"]
    places = fields.places(field)
    chosen = draw(st.lists(st.integers(0, places - 1), min_size=1, max_size=places, unique=True))
    return name, field, {k: draw(st.sampled_from(pool)) for k in chosen}, declared


FIELDS = {name: Fields(name) for name in SEEDS}


def test_odd_values_in_valid_files_mostly_reach_a_verdict():
    """Odd values in one column of a valid file, by the column's type (timestamps for
    `time`, statuses, numbers, counts, enums, text; odd Parquet column types): every case
    is a verdict or one line of bad input, and most are a verdict: the readers take the
    file, reject what they must and judge the rest."""
    outcomes: dict[str, str] = {}  # case -> outcome; a case drawn twice runs once
    budget = Budget(VALUE_SECONDS)

    @settings(
        max_examples=VALUE_EXAMPLES,
        derandomize=True,
        deadline=dt.timedelta(seconds=60),  # a case takes a second or two: none may hang
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=odd_cases())
    def one(case):
        name, field, odd, declared = case
        key = repr(case)
        if key in outcomes or budget.spent():
            return
        fields = FIELDS[name]
        if isinstance(odd, str):  # an odd Parquet column type
            data = fields.with_column(field, _odd_column(odd, fields.table.num_rows))
        else:
            data = fields.with_odd(field, odd)
        with tempfile.TemporaryDirectory(prefix="cga-fuzz-") as folder:
            (Path(folder) / fields.file).write_bytes(data)
            outcomes[key] = judged(Path(folder), fields.file, fields.fmt if declared else None)

    one()
    verdicts = sum(1 for outcome in outcomes.values() if outcome == VERDICT)
    assert len(outcomes) >= min(budget.minimum, VALUE_EXAMPLES), outcomes
    assert verdicts > len(outcomes) / 2, outcomes
