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


# --- malformed files: the whole message, one line ---------------------------------------------
# name -> (args, files, the one line on stderr). Columns are 1-based and counted by hand.
_ROW = json.dumps(good_row(0))
_OTLP = (Path(__file__).parent / "data" / "sources" / "otlp_collector.jsonl").read_text("utf-8")
_OTLP_LINE = _OTLP.splitlines()[0]
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
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_file_is_one_line_and_exit_2(tmp_path, monkeypatch, name):
    args, files, message = MALFORMED[name]
    folder = _prepare(tmp_path / name, files)
    code, stdout, stderr = _in_process(args, folder, monkeypatch)
    assert "Traceback" not in stderr + stdout
    assert (code, stderr.strip()) == (2, message)
    assert stdout.strip() == ""
