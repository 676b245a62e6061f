"""Bad input (DESIGN.md "Bad input, data and secrets"): exit code 2, one message naming the
place (file and line, file and key, or the option), never a traceback.

The rejected-row cases run `connector-ga check` as a real subprocess (prepared and run
concurrently by a module fixture, as each costs about two seconds of start-up); the cases
that stop before reading any data run in-process through typer's CliRunner, for speed.
Line numbers are counted by hand: in a CSV the header is line 1, so data row k (0-based) is
on line k + 2; in JSON Lines data row k is on line k + 1.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector_ga.cli import app

CLI = [sys.executable, "-m", "connector_ga.cli"]
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
COLUMNS = ("time", "status", "connection_id", "user_id", "backend_status", "weight")


def good_row(k: int) -> dict:
    return {
        "time": f"2026-11-{2 + k % 14:02d}T{k % 24:02d}:{k % 60:02d}:00Z",
        "status": 200,
        "connection_id": f"conn-{k % 7}",
        "user_id": f"user-{k % 11}",
        "backend_status": 200,
        "weight": 1,
    }


def rows_with(bad: dict[int, dict], n: int = 20) -> list[dict]:
    """`n` good rows where data row k is replaced by good_row(k) updated with bad[k]."""
    return [{**good_row(k), **bad.get(k, {})} for k in range(n)]


def write_csv(path: Path, rows: list[dict], columns=COLUMNS) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


GOOD_TOML = """\
[connector]
id = "contoso-tasks"
preview_since = 2026-03-02

[backend]
status = "production"
"""

# name -> args, place regexes (searched in stderr), files to write {name: content}, proc
CASES: dict[str, dict] = {}


def case(name: str, args: list[str], places: list[str], files: dict | None = None, proc=False):
    """`proc`: run as a real subprocess; otherwise in-process through typer's CliRunner."""
    CASES[name] = {"args": args, "places": places, "files": files or {}, "proc": proc}


STRICT = ["--max-reject-rate", "0"]

# --- rejected rows, over the limit: each names file:line -----------------------------------
case(
    "time-unparseable",
    ["check", "-t", "t.csv", *STRICT],
    [r"t\.csv:5\b", r"\btime\b", "yesterday"],  # data row 3 -> line 5
    {"t.csv": rows_with({3: {"time": "yesterday"}})},
    proc=True,
)
case(
    "status-700",
    ["check", "-t", "t.csv", *STRICT],
    [r"t\.csv:9\b", r"\bstatus\b", "700"],  # data row 7 -> line 9
    {"t.csv": rows_with({7: {"status": 700}})},
    proc=True,
)
case(
    "status-abc",
    ["check", "-t", "t.csv", *STRICT],
    [r"t\.csv:12\b", r"\bstatus\b", "abc"],  # data row 10 -> line 12
    {"t.csv": rows_with({10: {"status": "abc"}})},
)
case(
    "weight-0",
    ["check", "-t", "t.csv", *STRICT],
    [r"t\.csv:2\b", r"\bweight\b"],  # data row 0 -> line 2
    {"t.csv": rows_with({0: {"weight": 0}})},
)
case(
    "backend-status-x",
    ["check", "-t", "t.csv", *STRICT],
    [r"t\.csv:21\b", r"\bbackend_status\b"],  # data row 19 (the last) -> line 21
    {"t.csv": rows_with({19: {"backend_status": "x"}})},
)
case(
    "jsonl-status-700",
    ["check", "-t", "t.jsonl", *STRICT],
    [r"t\.jsonl:4\b", r"\bstatus\b"],  # data row 3 -> line 4 (no header)
    {"t.jsonl": ("jsonl", rows_with({3: {"status": 700}}))},
)
# A quoted value spanning two lines (row 2) pushes every later row one physical line down:
# data row 5 starts on line 8, not 7.
_MULTILINE = rows_with({5: {"status": 700}})
_MULTILINE[2]["user_id"] = "user with a\nline break"
case(
    "line-after-multiline-value",
    ["check", "-t", "t.csv", *STRICT],
    [r"t\.csv:8\b", r"\bstatus\b"],
    {"t.csv": _MULTILINE},
)
# Default limit 1%: 3 bad rows of 200 is 1.5% -> stop.
case(
    "over-default-limit",
    ["check", "-t", "t.csv"],
    [r"t\.csv:12\b", r"t\.csv:52\b", r"t\.csv:102\b", "3 of 200"],
    {"t.csv": rows_with({k: {"status": 999} for k in (10, 50, 100)}, n=200)},
    proc=True,
)

# --- files and paths ----------------------------------------------------------------------
_NO_STATUS = {"t.csv": ("csv-columns", rows_with({}), ("time", "connection_id", "user_id"))}
case(
    "missing-status-column",  # declared canonical CSV: the missing column is named
    ["check", "-t", "t.csv", "--format", "csv"],
    [r"t\.csv", r"missing required column 'status'"],
    _NO_STATUS,
)
case(
    "missing-status-column-auto",  # format sniffed: the file and the expected columns
    ["check", "-t", "t.csv"],
    [r"t\.csv", r"\bstatus\b", "column"],
    _NO_STATUS,
)
case(
    "garbage-parquet",
    ["check", "-t", "garbage.parquet"],
    [r"garbage\.parquet"],
    {"garbage.parquet": bytes(range(256)) * 12},
)
case(
    "garbage-csv",
    ["check", "-t", "garbage.csv"],
    [r"garbage\.csv"],
    {"garbage.csv": bytes(range(256)) * 12},
)
case(
    "truncated-jsonl",
    ["check", "-t", "t.jsonl"],
    # 3 whole lines, then line 4 cut in the middle of a key.
    [r"t\.jsonl", r"(t\.jsonl:4\b|\bline 4\b)"],
    {
        "t.jsonl": "".join(json.dumps(good_row(k)) + "\n" for k in range(3))
        + '{"time": "2026-11-02T05:00:00Z", "sta'
    },
)
# A CSV file read as Parquet (no PAR1 marker at either end; its first line has commas).
case(
    "csv-read-as-parquet",
    ["check", "-t", "t.csv", "--format", "parquet"],
    [r"^error: t\.csv: not a Parquet file: it looks like CSV text$"],
    {"t.csv": rows_with({})},
)
case("nonexistent-path", ["check", "-t", "nope/t.csv"], [r"nope/t\.csv"])
case("glob-matches-nothing", ["check", "-t", "logs/*.parquet"], [r"logs/\*\.parquet"])

# --- ga.toml: file and key ------------------------------------------------------------------
_T = ["check", "-c", "ga.toml", "-t", "ok.csv"]
_OK = {"ok.csv": rows_with({})}
case(
    "toml-unknown-key",
    _T,
    [r"ga\.toml", r"connector\.colour"],
    {**_OK, "ga.toml": GOOD_TOML.replace('id = "contoso-tasks"', 'id = "c"\ncolour = "blue"')},
)
case(
    "toml-wrong-type",
    _T,
    [r"ga\.toml", r"connector\.id"],
    {**_OK, "ga.toml": GOOD_TOML.replace('id = "contoso-tasks"', "id = 5")},
)
case(
    "toml-wrong-type-list",
    _T,
    [r"ga\.toml", r"telemetry\.paths"],
    {**_OK, "ga.toml": GOOD_TOML + '\n[telemetry]\npaths = "ok.csv"\n'},
)
case(
    "toml-wrong-type-bool",
    _T,
    [r"ga\.toml", r"exceptions\.customer_requires_production"],
    {**_OK, "ga.toml": GOOD_TOML + '\n[exceptions]\ncustomer_requires_production = "maybe"\n'},
)
case(  # a string is not a boolean, even one that reads as yes (issue 16 item 3)
    "toml-customer-yes-string",
    _T,
    [r"ga\.toml", r"exceptions\.customer_requires_production", "true or false"],
    {**_OK, "ga.toml": GOOD_TOML + '\n[exceptions]\ncustomer_requires_production = "yes"\n'},
)
case(  # DESIGN: the exception is "declared with a customer reference in ga.toml"
    "toml-customer-without-reference",
    _T,
    [r"ga\.toml", r"exceptions\.customer_reference", "missing"],
    {
        **_OK,
        "ga.toml": GOOD_TOML
        + '\n[exceptions]\ncustomer_requires_production = true\ncustomer_reference = " "\n',
    },
)
case(
    "toml-contact-not-an-address",
    _T,
    [r"ga\.toml", r"support\.connector\.contact", "email address", "call Bob"],
    {
        **_OK,
        "ga.toml": GOOD_TOML
        + '\n[support.connector]\nhours = ["Mon-Fri 08:00-17:00"]\ntimezone = "UTC"\n'
        + 'contact = "call Bob"\n',
    },
)
case(
    "toml-bad-date",
    _T,
    [r"ga\.toml", r"connector\.preview_since", "2026-02-30"],
    {**_OK, "ga.toml": GOOD_TOML.replace("2026-03-02", '"2026-02-30"')},
)
case(
    "toml-bad-date-literal",  # not even TOML: the parser names the line
    _T,
    [r"ga\.toml", r"line 3\b"],
    {**_OK, "ga.toml": GOOD_TOML.replace("2026-03-02", "2026-02-30")},
)
case(
    "toml-bad-timezone",
    _T,
    [r"ga\.toml", r"support\.backend\.timezone", "Mars/Olympus"],
    {
        **_OK,
        "ga.toml": GOOD_TOML
        + '\n[support.backend]\nhours = ["Mon-Fri 08:00-17:00"]\ntimezone = "Mars/Olympus"\n',
    },
)
case(
    "toml-bad-hours",
    _T,
    [r"ga\.toml", r"support\.connector\.hours"],
    {
        **_OK,
        "ga.toml": GOOD_TOML
        + '\n[support.backend]\nhours = ["Mon-Fri 08:00-17:00"]\ntimezone = "UTC"\n'
        + '\n[support.connector]\nhours = ["weekdays 8-5"]\ntimezone = "UTC"\n'
        + 'contact = "help@contoso.example"\n',
    },
)
case("toml-missing", ["check", "-c", "absent.toml", "-t", "ok.csv"], [r"absent\.toml"], _OK)

# --- policy file: file and key --------------------------------------------------------------
_POLICY = (
    resources.files("connector_ga.policies").joinpath("power-platform-ga.toml").read_text("utf-8")
)
case(
    "policy-unknown-key",
    ["check", "-t", "ok.csv", "--policy", "strict.toml"],
    [r"strict\.toml", r"criteria\.availability\.minimum"],
    {
        **_OK,
        "strict.toml": _POLICY.replace(
            "[criteria.availability]\n", "[criteria.availability]\nminimum = 0.999\n"
        ),
    },
)

# A typo in a key: the unknown key is named (not the key it leaves missing), and the missing
# key it most likely meant is suggested.
case(
    "policy-key-typo",
    ["check", "-t", "ok.csv", "--policy", "strict.toml"],
    [
        r"^error: strict\.toml: unknown key 'window\.reliabilty_days'",
        r"did you mean 'window\.reliability_days'\?",
    ],
    {**_OK, "strict.toml": _POLICY.replace("reliability_days = 30", "reliabilty_days = 30")},
)

# Line 3 is `abcd\xff = 1`: four characters, then the bad byte at column 5.
case(
    "policy-not-utf8",
    ["check", "-t", "ok.csv", "--policy", "strict.toml"],
    [r"strict\.toml:3:5: not UTF-8 text \(byte 0xff, invalid start byte\)"],
    {**_OK, "strict.toml": b'name = "x"\nversion = "1"\nabcd\xff = 1\n'},
)

# --- options ----------------------------------------------------------------------------------
case(
    "as-of-notadate",
    ["check", "-t", "ok.csv", "--as-of", "notadate"],
    [r"--as-of", "notadate"],
    _OK,
)
case(
    "as-of-year-1",
    ["check", "-t", "ok.csv", "--as-of", "0001-01-01"],
    [r"--as-of 0001-01-01: expected a date between 1970-02-01 and 9998-01-01"],
    _OK,
)
case("format-xml", ["check", "-t", "ok.csv", "--format", "xml"], [r"--format", r"\bxml\b"], _OK)


def _write(path: Path, content) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, tuple) and content[0] == "jsonl":
        write_jsonl(path, content[1])
    elif isinstance(content, tuple) and content[0] == "csv-columns":
        write_csv(path, content[1], content[2])
    elif isinstance(content, tuple) and content[0] == "parquet-times":
        # Zone-aware times as microseconds since the epoch, each a 200.
        import pyarrow as pa
        import pyarrow.parquet as pq

        times = pa.array(content[1], pa.int64()).cast(pa.timestamp("us", tz="UTC"))
        pq.write_table(pa.table({"time": times, "status": [200] * len(times)}), path)
    else:
        write_csv(path, content)


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=180
    )


# Below the limit: reported, the check goes on.
BELOW = {
    # 1 bad row (data row 40 -> line 42) of 201: 0.5% <= 1%.
    "one-of-201": ({40: {"status": 700}}, 201, 1, r"t\.csv:42\b"),
    # 2 of 200 is exactly 1%: not more than the limit, so the check goes on.
    "two-of-200": ({5: {"time": "soon"}, 150: {"weight": -3}}, 200, 2, r"t\.csv:7\b"),
}


def _prepare(folder: Path, files: dict) -> Path:
    folder.mkdir()
    for file, content in files.items():
        _write(folder / file, content)
    return folder


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """The subprocess cases, run concurrently."""
    base = tmp_path_factory.mktemp("bad")
    calls: dict[str, tuple[list[str], Path]] = {}
    for name, spec in CASES.items():
        if spec["proc"]:
            calls[name] = (spec["args"], _prepare(base / name, spec["files"]))
    for name, (bad, n, _, _) in BELOW.items():
        folder = _prepare(base / name, {"t.csv": rows_with(bad, n)})
        calls[name] = (["check", "-t", "t.csv", "--json", "-"], folder)
    workers = max(2, min(8, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(_run, args, cwd) for name, (args, cwd) in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def _in_process(args: list[str], folder: Path, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200", "NO_COLOR": "1"})
    # An exception that escaped the CLI would be kept here instead of a SystemExit.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_exits_2_naming_the_place(request, tmp_path, monkeypatch, name):
    spec = CASES[name]
    if spec["proc"]:
        run = request.getfixturevalue("outcomes")[name]
        code, stdout, stderr = run.returncode, run.stdout, run.stderr
    else:
        folder = _prepare(tmp_path / name, spec["files"])
        code, stdout, stderr = _in_process(spec["args"], folder, monkeypatch)
    assert "Traceback" not in stderr and "Traceback" not in stdout
    assert code == 2, stderr
    flat = " ".join(stderr.split())  # undo any wrapping by the terminal
    for place in spec["places"]:
        assert re.search(place, flat), f"{place!r} not in: {flat}"
    assert stdout.strip() == ""  # no verdict, no JSON


@pytest.mark.parametrize("name", list(BELOW))
def test_rejects_below_the_limit_are_reported_and_the_check_goes_on(outcomes, name):
    run = outcomes[name]
    _, rows, rejected, place = BELOW[name]
    assert "Traceback" not in run.stderr
    assert run.returncode in (0, 1), run.stderr  # a verdict, not a bad-input stop
    result = json.loads(run.stdout)
    quality = result["data_quality"]
    assert quality["rejected_rows"] == rejected
    assert quality["rows"] == rows
    assert any(re.match(place, sample) for sample in quality["reject_samples"])
    # Rejected rows are not counted as requests: rows - rejected, weight 1 each.
    assert result["metrics"]["requests"] == rows - rejected
    assert re.search(r"rejected\s+" + str(rejected) + r"\b", run.stderr)


# --- malformed files: the whole message -----------------------------------------------------
# Each found by tests/test_fuzz_readers.py or its review, before a fix. name -> (args, files,
# the whole of stderr): one line, or the located rejected rows then one line. Columns are
# 1-based and counted by hand.
_ROW = json.dumps(good_row(0))
_OTLP = (Path(__file__).parent / "data" / "sources" / "otlp_collector.jsonl").read_text("utf-8")
_OTLP_LINE = _OTLP.splitlines()[0]
_OVER_LIMIT = (
    "error: {} of {} rows rejected ({}, more than the 0.00% allowed by --max-reject-rate): "
    "fix the telemetry or raise the limit"
)


def _otlp(spans: list[dict]) -> str:
    """OTLP/JSON lines, one SERVER span each: a 200 at 2026-11-19T12:00:00Z (1795166400 s)
    taking 100 ms, updated with each dict."""
    lines = []
    for k, changes in enumerate(spans):
        span = {
            "traceId": f"t{k}",
            "spanId": f"s{k}",
            "name": "GET /tasks",
            "kind": 2,
            "startTimeUnixNano": "1795166400000000000",
            "endTimeUnixNano": "1795166400100000000",
            "attributes": [{"key": "http.response.status_code", "value": {"intValue": "200"}}],
            **changes,
        }
        scope = {"scopeSpans": [{"spans": [span]}]}
        lines.append(json.dumps({"resourceSpans": [scope]}) + "\n")
    return "".join(lines)


MALFORMED: dict[str, tuple[list[str], dict, str]] = {
    # Line 3 opens 5,000 arrays: the 129th '[' (column 129) is one level too deep.
    "deep-jsonl-unclosed": (
        ["check", "-t", "t.jsonl"],
        {"t.jsonl": f"{_ROW}\n{_ROW}\n" + "[" * 5000 + "\n"},
        "error: t.jsonl:3: not valid JSON: nested deeper than 128 levels (column 129)",
    ),
    # The same depth closed again: valid JSON, still too deep for the reader.
    "deep-jsonl-closed": (
        ["check", "-t", "t.jsonl"],
        {"t.jsonl": f"{_ROW}\n" + "[" * 5000 + "]" * 5000 + f"\n{_ROW}\n"},
        "error: t.jsonl:2: not valid JSON: nested deeper than 128 levels (column 129)",
    ),
    # 200 levels (Python would parse it; the engine refuses past 128) inside a row's key "x":
    # '{"x": ' is 6 characters, so the object is level 1 and the 128th '[' is column 134.
    "deep-jsonl-value": (
        ["check", "-t", "t.jsonl"],
        {"t.jsonl": f"{_ROW}\n" + '{"x": ' + "[" * 200 + "]" * 200 + "}\n"},
        "error: t.jsonl:2: not valid JSON: nested deeper than 128 levels (column 134)",
    ),
    # A JSON array whose third line holds the deep value: line 3, the array is level 1 and
    # the line's 128th '[' (column 128) is level 129.
    "deep-json-array": (
        ["check", "-t", "t.json"],
        {"t.json": f"[\n{_ROW},\n" + "[" * 5000 + "]" * 5000 + "\n]\n"},
        "error: t.json:3: not valid JSON: nested deeper than 128 levels (column 128)",
    ),
    # OTLP/JSON is parsed in Python: line 2 is '{"resourceSpans": ' (18 characters, level 1)
    # then 5,000 '[': the 128th, at column 18 + 128 = 146, is level 129.
    "deep-otlp-line": (
        ["check", "-t", "o.jsonl"],
        {"o.jsonl": f"{_OTLP_LINE}\n" + '{"resourceSpans": ' + "[" * 5000 + "]" * 5000 + "}\n"},
        "error: o.jsonl:2: not valid OTLP/JSON: nested deeper than 128 levels (column 146)",
    ),
    # A whole-file OTLP document on one line, 300 levels deep (Python parses it): refused too.
    "deep-otlp-document": (
        ["check", "-t", "o.json"],
        {"o.json": '{"resourceSpans": ' + "[" * 300 + "]" * 300 + "}"},
        "error: o.json:1: not valid OTLP/JSON: nested deeper than 128 levels (column 146)",
    ),
    # A NUL byte where the CSV header's first byte was: the engine cannot return such a
    # column, so the file is refused naming it.
    "nul-in-csv-header": (
        ["check", "-t", "t.csv"],
        {"t.csv": "\x00ime,status\n2026-11-10T00:00:00Z,200\n"},
        "error: t.csv: column name '\\x00ime' holds a NUL character",
    ),
    "nul-in-json-key": (
        ["check", "-t", "t.jsonl"],
        {"t.jsonl": f'{_ROW}\n{{"time": "2026-11-10T00:00:00Z", "status": 200, "a\\u0000b": 1}}\n'},
        "error: t.jsonl: column name 'a\\x00b' holds a NUL character",
    ),
    # UTF-16 without a byte order mark is valid UTF-8, a NUL before every character.
    "utf16-be-csv": (
        ["check", "-t", "t.csv"],
        {"t.csv": "time,status\n2026-11-10T00:00:00Z,200\n".encode("utf-16-be")},
        # (the comma is "\x00,": the NUL before it ends the first name)
        "error: t.csv: column name '\\x00t\\x00i\\x00m\\x00e\\x00' holds a NUL character",
    ),
    # With its byte order mark (0xff 0xfe, as PowerShell writes it) it is not UTF-8 at all.
    "utf16-csv": (
        ["check", "-t", "t.csv"],
        {"t.csv": "time,status\n2026-11-10T00:00:00Z,200\n".encode("utf-16")},
        "error: t.csv:1:1: not UTF-8 text (byte 0xff, invalid start byte)",
    ),
    # Latin-1 'é' (0xe9, then '"', not a continuation byte) after 60 characters of line 2:
    # '{"time": ' 9 + '"2026-11-02T00:00:00Z"' 22 + ', ' 2 + '"status": ' 10 + '200' 3
    # + ', ' 2 + '"user_id": ' 11 + '"' 1 = 60.
    "latin1-jsonl": (
        ["check", "-t", "t.jsonl"],
        {
            "t.jsonl": (
                f"{_ROW}\n" + '{"time": "2026-11-02T00:00:00Z", "status": 200, "user_id": "\xe9"}\n'
            ).encode("latin-1")
        },
        "error: t.jsonl:2:61: not UTF-8 text (byte 0xe9, invalid continuation byte)",
    ),
    # OTLP/JSON is read in Python: the same place, '{"resourceSpans": [], "x": "' is 28.
    "latin1-otlp": (
        ["check", "-t", "o.jsonl"],
        {"o.jsonl": (f"{_OTLP_LINE}\n" + '{"resourceSpans": [], "x": "\xe9"}\n').encode("latin-1")},
        "error: o.jsonl:2:29: not UTF-8 text (byte 0xe9, invalid continuation byte)",
    ),
    # DuckDB reads 'infinity' (and years up to 294247) as a time no result can hold; such a
    # time is rejected like any that does not parse.
    "time-infinity-csv": (
        ["check", "-t", "t.csv", *STRICT],
        {"t.csv": "time,status\n2026-11-10T00:00:00Z,200\ninfinity,200\n"},
        "  t.csv:3: time: expected a timestamp such as 2026-11-20T08:00:00Z (got 'infinity')\n"
        + _OVER_LIMIT.format(1, 2, "50.00%"),
    ),
    "time-year-294247-csv": (
        ["check", "-t", "t.csv", *STRICT],
        {"t.csv": "time,status\n294247-01-10T04:00:54Z,200\n2026-11-10T00:00:00Z,200\n"},
        "  t.csv:2: time: expected a timestamp such as 2026-11-20T08:00:00Z "
        "(got '294247-01-10T04:00:54Z')\n" + _OVER_LIMIT.format(1, 2, "50.00%"),
    ),
    # A zone-aware Parquet time of int64 max microseconds: DuckDB's 'infinity'.
    "time-infinity-parquet": (
        ["check", "-t", "t.parquet", *STRICT],
        {"t.parquet": ("parquet-times", [2**63 - 1, 1_795_000_000_000_000])},
        "  t.parquet: row 1: time: expected a timestamp such as 2026-11-20T08:00:00Z "
        "(got 'infinity')\n" + _OVER_LIMIT.format(1, 2, "50.00%"),
    ),
    # OTLP: a part that is not the JSON type OTLP gives it names the line and the part.
    "otlp-span-not-an-object": (
        ["check", "-t", "o.jsonl"],
        {"o.jsonl": _otlp([{}]) + '{"resourceSpans": [{"scopeSpans": [{"spans": ["x"]}]}]}\n'},
        "error: o.jsonl:2: not valid OTLP/JSON: "
        "resourceSpans[0].scopeSpans[0].spans[0] is not an object",
    ),
    "otlp-resource-spans-item-not-an-object": (
        ["check", "-t", "o.jsonl"],
        {"o.jsonl": _otlp([{}]) + '{"resourceSpans": [[1]]}\n'},
        "error: o.jsonl:2: not valid OTLP/JSON: resourceSpans[0] is not an object",
    ),
    "otlp-scope-spans-not-a-list": (
        ["check", "-t", "o.jsonl"],
        {"o.jsonl": _otlp([{}]) + '{"resourceSpans": [{"scopeSpans": 5}]}\n'},
        "error: o.jsonl:2: not valid OTLP/JSON: resourceSpans[0].scopeSpans is not a list",
    ),
    "otlp-attributes-not-a-list": (
        ["check", "-t", "o.jsonl"],
        {"o.jsonl": _otlp([{}, {"attributes": {"a": 1}}])},
        "error: o.jsonl:2: not valid OTLP/JSON: "
        "resourceSpans[0].scopeSpans[0].spans[0].attributes is not a list",
    ),
    "otlp-attribute-value-not-an-object": (
        ["check", "-t", "o.jsonl"],
        {"o.jsonl": _otlp([{}, {"attributes": [{"key": "k", "value": "x"}]}])},
        "error: o.jsonl:2: not valid OTLP/JSON: "
        "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value is not an object",
    ),
    "otlp-attribute-key-not-a-string": (
        ["check", "-t", "o.jsonl"],
        {"o.jsonl": _otlp([{}, {"attributes": [{"key": [1], "value": {}}]}])},
        "error: o.jsonl:2: not valid OTLP/JSON: "
        "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].key is not a string",
    ),
    # OTLP start times past year 9999, before year 1, or JSON's Infinity: rejected rows.
    "otlp-start-time-past-9999": (
        ["check", "-t", "o.jsonl", *STRICT],
        {"o.jsonl": _otlp([{}, {"startTimeUnixNano": "9" * 30}])},
        f"  o.jsonl:2: time: expected a timestamp such as 2026-11-20T08:00:00Z (got '{'9' * 30}')\n"
        + _OVER_LIMIT.format(1, 2, "50.00%"),
    ),
    "otlp-start-time-before-year-1": (
        ["check", "-t", "o.jsonl", *STRICT],
        {"o.jsonl": _otlp([{}, {"startTimeUnixNano": "-" + "9" * 22}])},
        "  o.jsonl:2: time: expected a timestamp such as 2026-11-20T08:00:00Z "
        f"(got '-{'9' * 22}')\n" + _OVER_LIMIT.format(1, 2, "50.00%"),
    ),
    "otlp-start-time-infinity": (
        ["check", "-t", "o.jsonl", *STRICT],
        {"o.jsonl": _otlp([{}]) + _otlp([{}]).replace('"1795166400000000000"', "Infinity")},
        "  o.jsonl:2: time: expected a timestamp such as 2026-11-20T08:00:00Z (got 'inf')\n"
        + _OVER_LIMIT.format(1, 2, "50.00%"),
    ),
    # An integer of 5,000 digits: more than Python converts; a status that is not 100-599.
    "otlp-status-5000-digits": (
        ["check", "-t", "o.jsonl", *STRICT],
        {
            "o.jsonl": _otlp([{}])
            + _otlp([{}]).replace('{"intValue": "200"}', '{"intValue": ' + "9" * 5000 + "}")
        },
        f"  o.jsonl:2: status: expected an integer HTTP status 100–599 (got '{'9' * 5000}')\n"
        + _OVER_LIMIT.format(1, 2, "50.00%"),
    ),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_file_is_one_line_and_exit_2(tmp_path, monkeypatch, name):
    args, files, message = MALFORMED[name]
    folder = _prepare(tmp_path / name, files)
    code, stdout, stderr = _in_process(args, folder, monkeypatch)
    assert "Traceback" not in stderr + stdout
    assert code == 2, stderr
    # A rejected row longer than the terminal wraps, even inside a value; the error is one line.
    assert "".join(stderr.split()) == "".join(message.split())
    assert stderr.rstrip().splitlines()[-1] == message.splitlines()[-1]
    assert stdout.strip() == ""


# name -> OTLP/JSON lines whose odd leaves are read as text: the span stays a request.
ODD_BUT_READABLE = {
    "otlp-span-id-a-list": _otlp([{"spanId": [1]}]),  # was: unhashable type: 'list'
    "otlp-end-time-400-digits": _otlp([{"endTimeUnixNano": "9" * 400}]),  # was: OverflowError
    "otlp-name-an-object": _otlp([{"name": {"a": 1}}]),
}


@pytest.mark.parametrize("name", list(ODD_BUT_READABLE))
def test_odd_otlp_values_are_read_as_text(tmp_path, monkeypatch, name):
    """One SERVER span, a 200 on 2026-11-19: a verdict (exit 0 or 1), one request, no crash."""
    folder = _prepare(tmp_path / name, {"o.jsonl": ODD_BUT_READABLE[name]})
    code, stdout, stderr = _in_process(
        ["check", "-t", "o.jsonl", "--json", "-"], folder, monkeypatch
    )
    assert code in (0, 1), stderr
    assert json.loads(stdout)["metrics"]["requests"] == 1


# App Insights custom dimensions that are not JSON (issue 16 item 18's fuzzing): the rows'
# connection id is null, the file is read. Was "telemetry cannot be read: Conversion Error:
# CSV Error on Line: 3": DuckDB 2.0 pushed the TRY_CAST to JSON into the CSV scan as a cast.
APPINSIGHTS_CSV = Path(__file__).parent / "data" / "sources" / "appinsights_requests.csv"


@pytest.mark.parametrize("dimensions", ["not json", "NULL", "{"])
def test_appinsights_dimensions_that_are_not_json_lose_only_the_connection(
    tmp_path, monkeypatch, dimensions
):
    lines = APPINSIGHTS_CSV.read_text(encoding="utf-8").splitlines(keepends=True)[:6]
    rows = list(csv.reader(lines))
    column = rows[0].index("customDimensions")
    rows[2][column] = dimensions  # r02, on conn-1
    with open(tmp_path / "ai.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    code, stdout, stderr = _in_process(
        ["check", "-t", "ai.csv", "--format", "appinsights", "--json", "-"], tmp_path, monkeypatch
    )
    assert code in (0, 1), stderr
    quality = json.loads(stdout)["data_quality"]
    # 5 requests read, none rejected; r02 alone has no connection id now.
    assert (quality["rows"], quality["rejected_rows"]) == (5, 0)
    assert quality["rows_without_connection"] == 1


# name -> (the output option, the message after "error: "), for an output path that cannot
# be written: /proc takes no new files; a-file is a regular file, so no folder is inside it.
UNWRITABLE = {
    "json-in-proc": (
        ["--json", "/proc/r.json"],
        "/proc/r.json: cannot write it: cannot create a file in /proc (No such file or directory)",
    ),
    "report-under-a-file": (
        ["--report", "a-file/r.html"],
        "a-file/r.html: cannot write it: a-file is a file, not a folder",
    ),
}


@pytest.mark.parametrize("name", list(UNWRITABLE))
def test_an_output_path_that_cannot_be_written_is_one_line(tmp_path, monkeypatch, name):
    option, message = UNWRITABLE[name]
    folder = _prepare(tmp_path / name, {"t.csv": rows_with({}), "a-file": "not a folder\n"})
    code, stdout, stderr = _in_process(["check", "-t", "t.csv", *option], folder, monkeypatch)
    assert code == 2, stderr
    assert stderr.strip().splitlines()[-1] == f"error: {message}"
    assert "unexpected" not in stderr and "a bug in connector-ga" not in stderr


# name -> other.toml's text: each message must name other.toml (the file given with -c),
# never ga.toml, which does not exist in the folder.
OTHER_TOML = {
    "bad-support-hours": (
        '[support.backend]\nhours = ["Mon-Fri 09:00-17:00"]\ntimezone = "UTC"\n'
        '[support.connector]\nhours = ["Mon-Fri 25:00-17:00"]\ntimezone = "UTC"\n'
        'contact = "help@contoso.com"\n'
    ),
    "missing-package": '[connector]\npackage = "no-such-package"\n',
}


@pytest.mark.parametrize("name", list(OTHER_TOML))
def test_config_errors_name_the_file_given(tmp_path, monkeypatch, name):
    folder = _prepare(tmp_path / name, {"t.csv": rows_with({}), "other.toml": OTHER_TOML[name]})
    code, stdout, stderr = _in_process(
        ["check", "-c", "other.toml", "-t", "t.csv", "--json", "-"], folder, monkeypatch
    )
    assert code == 2, stderr
    assert stderr.startswith("error: other.toml"), stderr
    assert "ga.toml" not in stderr
