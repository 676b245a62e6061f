"""Mutation fuzzing of every reader (issue 8): whatever a telemetry file holds, `connector-ga
check` ends with a verdict (exit 0 or 1) or one line of bad input (exit 2), never a crash.

Each case starts from a small valid file of one format the product reads (canonical CSV,
JSON Lines, JSON array and Parquet; APIM gateway logs as JSON Lines, JSON array and CSV,
resource-specific and AzureDiagnostics, and as archived resource logs; Application Insights
as CSV and JSON; OTLP/JSON as one document and one per line), mutates it (bytes flipped,
lines cut or repeated, the file truncated, odd values put in, a BOM, CRLF, UTF-16, deep
nesting) and runs the real CLI on it in-process. Seeded and bounded: the same examples
every run, in under a minute. A failure found here is fixed in its reader and pinned by a
test in test_bad_input.py.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from connector_ga.cli import app

DATA = Path(__file__).parent / "data" / "sources"
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
# Examples per seed file; CONNECTOR_GA_FUZZ_EXAMPLES=200 searches deeper (minutes, not seconds).
EXAMPLES = int(os.environ.get("CONNECTOR_GA_FUZZ_EXAMPLES", "3"))


# --- the valid files mutated ------------------------------------------------------------------


def _canonical_rows(n: int = 6) -> list[dict]:
    return [
        {
            "time": f"2026-11-{10 + k:02d}T0{k}:00:00Z",
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
    file, content, fmt = SEEDS[name]
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    for mutation in mutations:
        data = mutate(data, mutation)
    with tempfile.TemporaryDirectory(prefix="cga-fuzz-") as folder:
        (Path(folder) / file).write_bytes(data)
        run_check(Path(folder), file, fmt if declared else None)
