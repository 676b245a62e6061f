"""`connector-ga check` as a user runs it: a real subprocess, its exit code, stdout and stderr.

Every subprocess costs about two seconds of start-up (ibis, duckdb), so the runs of this
module are prepared first and executed concurrently by module-scoped fixtures; each test
then asserts on the run it names.

Telemetry is built by hand (see `usage_rows`) so the expected numbers can be worked out in
comments: three complete ISO weeks Mon 2026-11-02 .. Sun 2026-11-22 (W45-W47), each of
`users` users making one request a week (evenly spread, the last on Sunday 2026-11-22, so
D = 2026-11-22), user i on connection i % `connections`, every request 200 / backend 200.
Runs that must pass the reliability criteria add `opening()`: one 429 (throttled, so no
eligible, success or fault count moves) on Sat 2026-10-24 = D − 29, the first day of the
30-day window [10-24, 11-22], so the window is observed (DESIGN: min_observed_days = 30).
W43 (10-19..10-25) is none of the three WAU weeks, and conn-000 is already a connection.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest
from conftest import ga_toml
from typer.testing import CliRunner

from connector_ga.cli import app

CLI = [sys.executable, "-m", "connector_ga.cli"]
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
DATA = Path(__file__).parent / "data" / "connectors"
WEEK_SECONDS = 7 * 86_400
SCHEMA = "connector-ga/result/v1"


# --- helpers ----------------------------------------------------------------------------


def run_cli(args: list, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *map(str, args)],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=180,
    )


def run_all(calls: dict[str, tuple[list, Path]]) -> dict[str, subprocess.CompletedProcess]:
    """Run the named CLI calls concurrently; results by name."""
    workers = max(2, min(8, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(run_cli, args, cwd) for name, (args, cwd) in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def flat(text: str) -> str:
    """Whitespace collapsed, so a message wrapped by the terminal still matches."""
    return " ".join(text.split())


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def usage_rows(
    users: int = 500,
    connections: int = 50,
    connector: str | None = None,
    first_monday: dt.date = dt.date(2026, 11, 2),
    weeks: int = 3,
) -> list[dict]:
    rows = []
    start = dt.datetime.combine(first_monday, dt.time())
    for week in range(weeks):
        monday = start + dt.timedelta(days=7 * week)
        for i in range(users):
            row = {
                "time": iso(monday + dt.timedelta(seconds=i * WEEK_SECONDS // users)),
                "status": 200,
                "connection_id": f"conn-{i % connections:03d}",
                "user_id": f"user-{i:04d}",
                "backend_status": 200,
            }
            if connector is not None:
                row["connector"] = connector
            rows.append(row)
    return rows


def opening(connector: str | None = None) -> list[dict]:
    """One throttled request on D − 29 = 2026-10-24 (see the module doc): +1 request, +1
    throttled, first telemetry day 2026-10-24; nothing else changes."""
    row = {
        "time": "2026-10-24T12:00:00Z",
        "status": 429,
        "connection_id": "conn-000",
        "user_id": "user-0000",
        "backend_status": None,
    }
    if connector is not None:
        row["connector"] = connector
    return [row]


def extra(
    status: int, backend_status: int | None, n: int, connector: str | None = None
) -> list[dict]:
    """`n` requests on Fri 2026-11-20 12:00 from user-0000 on conn-000."""
    base = dt.datetime(2026, 11, 20, 12, 0)
    rows = []
    for k in range(n):
        row = {
            "time": iso(base + dt.timedelta(seconds=k)),
            "status": status,
            "connection_id": "conn-000",
            "user_id": "user-0000",
            "backend_status": backend_status,
        }
        if connector is not None:
            row["connector"] = connector
        rows.append(row)
    return rows


def write_csv(path: Path, rows: list[dict]) -> Path:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return path


# --- the runs of this module ------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def runs(cli_base) -> dict[str, subprocess.CompletedProcess]:
    base = cli_base
    calls: dict[str, tuple[list, Path]] = {}

    # ready: ga.toml in the working folder, telemetry path relative to it; plain `check`.
    ready = base / "ready"
    write_csv(ready / "t.csv", opening() + usage_rows())
    ga_toml(ready, paths=["t.csv"])
    calls["ready"] = (["check", "--json", "-"], ready)
    # --strict with the JSON written to a file: the table goes to stdout instead.
    calls["ready-strict-file"] = (["check", "--strict", "--json", "out/result.json"], ready)

    # ready-with-exception: MAC 10 < 50, preview 2026-05-22 + 6 months = 2026-11-22 = D.
    exc = base / "exception"
    write_csv(exc / "t.csv", opening() + usage_rows(connections=10))
    ga_toml(exc, preview_since="2026-05-22")
    calls["exception"] = (["check", "-c", "ga.toml", "-t", "t.csv", "--json", "-"], exc)
    calls["exception-strict"] = (
        ["check", "-c", "ga.toml", "-t", "t.csv", "--strict", "--json", "-"],
        exc,
    )

    # ready-with-warnings: MAC 10 < 50, preview 2026-08-31: exception from 2027-02-28.
    warn = base / "warnings"
    write_csv(warn / "t.csv", opening() + usage_rows(connections=10))
    ga_toml(warn, preview_since="2026-08-31")
    calls["warnings"] = (["check", "-c", "ga.toml", "-t", "t.csv", "--json", "-"], warn)
    calls["warnings-strict"] = (
        ["check", "-c", "ga.toml", "-t", "t.csv", "--strict", "--json", "-"],
        warn,
    )

    # not-ready and the JSON numbers: usage rows plus, on conn-000 on 2026-11-20,
    # 3 x 429 (throttled), 2 x 503/503 (backend), 4 x 404/404 (client), 1 x 500/200 (connector).
    mixed = base / "mixed"
    rows = opening() + usage_rows() + extra(429, None, 3) + extra(503, 503, 2) + extra(404, 404, 4)
    write_csv(mixed / "t.csv", rows + extra(500, 200, 1))
    ga_toml(mixed)
    calls["mixed"] = (["check", "-c", "ga.toml", "-t", "t.csv", "--json", "-"], mixed)
    # The same rows in two files, after one -t as a shell expands an unquoted `-t *.csv`.
    write_csv(mixed / "split" / "a.csv", opening() + usage_rows())
    write_csv(
        mixed / "split" / "b.csv",
        extra(429, None, 3) + extra(503, 503, 2) + extra(404, 404, 4) + extra(500, 200, 1),
    )
    calls["two-files-after-t"] = (
        ["check", "-c", "ga.toml", "-t", "split/a.csv", "split/b.csv", "--json", "-"],
        mixed,
    )

    # No ga.toml at all, only --telemetry: declarations are insufficient-data.
    bare = base / "bare"
    write_csv(bare / "t.csv", opening() + usage_rows())
    calls["bare"] = (["check", "--telemetry", "t.csv", "--json", "-"], bare)

    # Bad input and usage.
    calls["missing-file"] = (["check", "--telemetry", "nope.csv"], bare)
    calls["unknown-option"] = (["check", "--telemetry", "t.csv", "--bogus"], bare)
    calls["reject-rate-range"] = (["check", "-t", "t.csv", "--max-reject-rate", "1.5"], bare)

    # Fleet: alpha (declared in ga.toml, ready), beta (1 connector fault in 200),
    # gamma (100 requests, all from 2026-11-16 on).
    fleet = base / "fleet"
    alpha = opening("alpha") + usage_rows(connector="alpha")
    beta = usage_rows(users=100, connections=10, connector="beta", weeks=2)[:199]
    beta += extra(500, 200, 1, connector="beta")
    gamma = usage_rows(
        users=100, connections=5, connector="gamma", first_monday=dt.date(2026, 11, 16), weeks=1
    )
    write_csv(fleet / "fleet.csv", alpha + beta + gamma)
    ga_toml(fleet, connector_id="alpha")
    calls["fleet-all"] = (["check", "-t", "fleet.csv", "--all", "--json", "-"], fleet)
    no_toml = base / "fleet-bare"
    write_csv(no_toml / "fleet.csv", alpha + beta + gamma)
    calls["fleet-unselected"] = (["check", "-t", "fleet.csv"], no_toml)
    calls["fleet-beta"] = (
        ["check", "-t", "fleet.csv", "--connector", "beta", "--json", "-"],
        no_toml,
    )

    # init on a real package (in-process, through the CLI app), then check --config on it.
    init_dir = base / "init"
    result = CliRunner().invoke(app, ["init", str(DATA / "Babybots"), "--dir", str(init_dir)])
    assert result.exit_code == 0, result.output
    write_csv(init_dir / "t.csv", usage_rows())
    calls["init-check"] = (
        ["check", "--config", "ga.toml", "--telemetry", "t.csv", "--json", "-"],
        init_dir,
    )

    return run_all(calls)


def document(run: subprocess.CompletedProcess):
    """stdout must be exactly one JSON document."""
    return json.loads(run.stdout)


def assert_no_traceback(run: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in run.stderr
    assert "Traceback" not in run.stdout


# --- exit codes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "verdict", "code"),
    [
        ("ready", "ready", 0),
        ("exception", "ready-with-exception", 0),
        ("exception-strict", "ready-with-exception", 1),
        ("warnings", "ready-with-warnings", 0),
        ("warnings-strict", "ready-with-warnings", 1),
        ("mixed", "not-ready", 1),
        ("bare", "insufficient-data", 1),
    ],
)
def test_exit_code_follows_the_verdict(runs, name, verdict, code):
    run = runs[name]
    assert_no_traceback(run)
    assert document(run)["verdict"] == verdict, run.stderr
    assert run.returncode == code, run.stderr


def test_exception_and_warning_details_reach_the_json(runs):
    exc = document(runs["exception"])
    assert exc["exception"] == "low-usage-after-6-months"
    warn = document(runs["warnings"])
    assert warn["exception"] is None
    # 2026-08-31 + 6 calendar months, clamped to the end of February 2027.
    assert warn["exception_from"] == "2027-02-28"


@pytest.mark.parametrize("name", ["missing-file", "unknown-option", "reject-rate-range"])
def test_bad_input_and_usage_exit_2(runs, name):
    run = runs[name]
    assert run.returncode == 2, run.stderr
    assert_no_traceback(run)
    assert run.stdout.strip() == ""


def test_bad_input_messages_name_the_place(runs):
    assert "nope.csv" in flat(runs["missing-file"].stderr)
    assert "--bogus" in flat(runs["unknown-option"].stderr)
    assert "--max-reject-rate" in flat(runs["reject-rate-range"].stderr)


# --- JSON output ------------------------------------------------------------------------


def test_json_stdout_is_one_document_with_the_contract_keys(runs):
    run = runs["mixed"]
    result = document(run)  # json.loads of the whole stdout: nothing else is printed there
    assert result["schema"] == SCHEMA
    assert {
        "schema",
        "connector",
        "as_of",
        "verdict",
        "exception",
        "criteria",
        "metrics",
        "data_quality",
    } <= set(result)
    for criterion in result["criteria"]:
        assert {
            "id",
            "level",
            "status",
            "value",
            "threshold",
            "comparison",
            "interval",
            "sample",
            "detail",
        } <= set(criterion)
    assert [c["id"] for c in result["criteria"]] == [
        "backend-production",
        "availability",
        "slo",
        "success-rate",
        "support-model",
        "weekly-active-users",
        "monthly-active-connections",
    ]
    m = result["metrics"]
    assert {
        "requests",
        "eligible",
        "throttled",
        "faults",
        "success_rate",
        "availability",
        "slo",
        "connections",
        "connections_meeting_bar",
        "wau",
        "mac",
        "preview_months",
    } <= set(m)
    assert set(m["faults"]) == {"none", "client", "backend", "connector", "throttled"}
    assert {"week", "users"} <= set(m["wau"][0])
    assert {"current", "min", "series"} <= set(m["mac"])
    assert {"date", "connections"} <= set(m["mac"]["series"][0])
    assert {"rejected_rows", "unattributed_5xx", "rows_without_connection"} <= set(
        result["data_quality"]
    )
    # The table went to stderr.
    assert "availability" in run.stderr and "contoso-tasks" in run.stderr


def test_json_numbers_are_the_hand_counted_ones(runs):
    result = document(runs["mixed"])
    m = result["metrics"]
    assert result["connector"] == "contoso-tasks"
    assert result["as_of"] == "2026-11-22"
    # 1 opening 429 + 1500 usage + 3 throttled + 2 backend + 4 client + 1 connector
    # = 1511 requests; throttled 1 + 3 = 4; eligible = 1511 - 4 = 1507.
    assert (m["requests"], m["eligible"], m["throttled"]) == (1511, 1507, 4)
    assert m["faults"] == {"none": 1500, "client": 4, "backend": 2, "connector": 1, "throttled": 4}
    assert m["success_rate"] == pytest.approx(1500 / 1507)
    assert m["availability"] == pytest.approx(1 - 1 / 1507)
    # conn-000: 30 usage + 2 + 4 + 1 eligible = 37 with 1 connector fault -> below the bar.
    assert (m["connections"], m["connections_meeting_bar"]) == (50, 49)
    assert m["slo"] == pytest.approx(49 / 50)
    assert [(w["week"], w["users"]) for w in m["wau"]] == [
        ("2026-W45", 500),
        ("2026-W46", 500),
        ("2026-W47", 500),
    ]
    assert m["mac"]["current"] == 50
    assert m["preview_months"] == 10  # 2026-01-05 .. 2026-11-22
    availability = next(c for c in result["criteria"] if c["id"] == "availability")
    assert availability["status"] == "fail"
    assert availability["value"] == pytest.approx(1506 / 1507)
    assert availability["threshold"] == 0.9995
    assert availability["comparison"] == ">="
    assert availability["sample"] == 1507
    low, high = availability["interval"]
    assert low < 1506 / 1507 < high
    assert result["verdict"] == "not-ready"
    assert result["blocking"] == ["availability", "slo"]
    assert result["data_quality"] == result["data_quality"] | {
        "rejected_rows": 0,
        "unattributed_5xx": 0,
        "rows_without_connection": 0,
    }


def test_several_paths_after_one_t_are_all_read(runs):
    """Issue 16 item 13: `-t split/*.csv` unquoted reaches the command as two words."""
    run = runs["two-files-after-t"]
    assert run.returncode == 1, run.stderr  # not-ready, as `mixed` (its rows, split)
    m = document(run)["metrics"]
    # a.csv: 1 opening 429 + 1500 usage requests; b.csv: 3 throttled + 2 backend + 4 client
    # + 1 connector = 10. Both: 1511 requests, throttled 1 + 3 = 4, eligible 1511 - 4 = 1507;
    # only a.csv would be 1501.
    assert (m["requests"], m["eligible"], m["throttled"]) == (1511, 1507, 4)
    assert m["faults"] == {"none": 1500, "client": 4, "backend": 2, "connector": 1, "throttled": 4}
    assert m["availability"] == pytest.approx(1 - 1 / 1507)


def test_json_file_is_written_and_the_table_goes_to_stdout(runs, cli_base):
    run = runs["ready-strict-file"]
    assert run.returncode == 0, run.stderr  # --strict and the verdict is `ready`
    assert_no_traceback(run)
    result = json.loads((cli_base / "ready" / "out" / "result.json").read_text(encoding="utf-8"))
    assert result["schema"] == SCHEMA
    assert result["verdict"] == "ready"
    assert result["metrics"]["requests"] == 1501  # 3 weeks x 500 users + the opening 429
    assert "contoso-tasks" in run.stdout  # the table, not JSON
    with pytest.raises(json.JSONDecodeError):
        json.loads(run.stdout)


# --- a reader that goes away (`| head -1`) ---------------------------------------------


def _ready_folder(folder: Path) -> Path:
    """The `ready` run's folder: its verdict is `ready`, exit code 0 (see
    test_exit_code_follows_the_verdict), which a stop on the broken pipe (exit 1) is not."""
    write_csv(folder / "t.csv", opening() + usage_rows())
    ga_toml(folder, paths=["t.csv"])
    return folder


def _written(folder: Path) -> dict:
    result = json.loads((folder / "r.json").read_text(encoding="utf-8"))  # whole, valid JSON
    assert result["verdict"] == "ready"
    assert (folder / "r.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
    return result


def test_stdout_closed_after_the_first_line_writes_the_files_and_keeps_the_verdict(tmp_path):
    """Issue 16 item 15: `check … --json r.json | head -1` wrote no r.json and exited 1."""
    folder = _ready_folder(tmp_path)
    command = " ".join([*CLI, "check", "--json", "r.json", "--report", "r.html"])
    shell = subprocess.run(
        ["bash", "-c", f'{command} | head -1; exit "${{PIPESTATUS[0]}}"'],
        cwd=folder,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert shell.returncode == 0, shell.stderr  # the verdict's code: ready
    assert len(shell.stdout.splitlines()) == 1
    assert "Traceback" not in shell.stderr
    _written(folder)


@pytest.mark.parametrize(
    "args",
    [
        ["--json", "r.json", "--report", "r.html"],  # the table on stdout
        ["--json", "-", "--report", "r.html", "--markdown", "r.md"],  # the JSON on stdout
    ],
    ids=["table", "json"],
)
def test_stdout_closed_before_the_first_byte_writes_the_files_and_keeps_the_verdict(tmp_path, args):
    """The reader gone before anything is written: every write to stdout meets a broken
    pipe, deterministically."""
    folder = _ready_folder(tmp_path)
    proc = subprocess.Popen(
        [*CLI, "check", *args],
        cwd=folder,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=180) == 0, stderr  # the verdict's code: ready
    assert "Traceback" not in stderr and "unexpected" not in stderr
    assert "wrote the HTML report to r.html" in stderr
    if "r.json" in args:
        _written(folder)
    else:
        assert "Ready" in (folder / "r.md").read_text(encoding="utf-8")
        assert (folder / "r.html").is_file()


# --- without ga.toml; init ----------------------------------------------------------------


def test_check_without_ga_toml_judges_the_telemetry(runs):
    result = document(runs["bare"])
    status = {c["id"]: c["status"] for c in result["criteria"]}
    assert status["backend-production"] == "insufficient-data"
    assert status["support-model"] == "insufficient-data"
    for cid in (
        "availability",
        "slo",
        "success-rate",
        "weekly-active-users",
        "monthly-active-connections",
    ):
        assert status[cid] == "pass"
    assert result["blocking"] == ["backend-production", "support-model"]
    assert result["metrics"]["requests"] == 1501  # 3 weeks x 500 users + the opening 429


def test_init_writes_a_ga_toml_that_check_accepts(runs):
    run = runs["init-check"]
    assert run.returncode in (0, 1), run.stderr
    assert_no_traceback(run)
    result = document(run)
    # apiDefinition.swagger.json info.title "Babybots" -> id "babybots", the default
    # connector of rows without a connector column.
    assert result["connector"] == "babybots"
    assert result["title"] == "Babybots"
    assert result["metrics"]["requests"] == 1500


def test_init_package_with_a_dev_backend_fails_backend_production(runs):
    # DESIGN.md: backend-production "fails if ... the connector package shows a non-production
    # backend (staging/dev/test/sandbox/preview/beta host or path ...)". The Babybots package's
    # host is bb-fa-mpconnector-dev.azurewebsites.net, and ga.toml points at that package.
    result = document(runs["init-check"])
    status = {c["id"]: c["status"] for c in result["criteria"]}
    assert status["backend-production"] == "fail"
    assert result["verdict"] == "not-ready"


# --- fleet ------------------------------------------------------------------------------


def test_fleet_all_gives_one_result_per_connector(runs):
    run = runs["fleet-all"]
    assert_no_traceback(run)
    results = document(run)
    assert isinstance(results, list)
    assert [r["connector"] for r in results] == ["alpha", "beta", "gamma"]
    assert all(r["schema"] == SCHEMA for r in results)
    by_name = {r["connector"]: r for r in results}
    # Each judged on its own rows: 1 + 1500, 199 + 1, 100.
    assert by_name["alpha"]["metrics"]["requests"] == 1501
    assert by_name["beta"]["metrics"]["requests"] == 200
    assert by_name["gamma"]["metrics"]["requests"] == 100
    assert by_name["beta"]["metrics"]["faults"]["connector"] == 1
    # Own first telemetry day: alpha's opening 429 on 2026-10-24, gamma on Mon 2026-11-16.
    assert by_name["alpha"]["metrics"]["first_day"] == "2026-10-24"
    assert by_name["gamma"]["metrics"]["first_day"] == "2026-11-16"
    # alpha is the ga.toml's connector and meets everything; beta fails availability
    # (1 - 1/200 = 0.995 < 0.9995).
    assert by_name["alpha"]["verdict"] == "ready"
    assert by_name["beta"]["verdict"] == "not-ready"
    assert "availability" in by_name["beta"]["blocking"]
    assert run.returncode == 1  # one connector is not ready


def test_fleet_without_a_selection_is_a_usage_error_naming_the_connectors(runs):
    run = runs["fleet-unselected"]
    assert run.returncode == 2
    assert_no_traceback(run)
    message = flat(run.stderr)
    for name in ("alpha", "beta", "gamma"):
        assert name in message
    assert "--all" in message or "--connector" in message


def test_connector_option_judges_only_that_connector(runs):
    run = runs["fleet-beta"]
    assert_no_traceback(run)
    result = document(run)
    assert isinstance(result, dict)
    assert result["connector"] == "beta"
    assert result["metrics"]["requests"] == 200
    assert result["metrics"]["faults"]["connector"] == 1
    assert result["metrics"]["availability"] == pytest.approx(1 - 1 / 200)
    assert run.returncode == 1


# --- end to end on simulated data -------------------------------------------------------

# 30 days: the reliability window [10-22, 11-20] is observed whole (min_observed_days 30).
SIM = [
    "--days", "30", "--connections", "20", "--users", "80", "--requests-per-day", "1000",
    "--seed", "5", "--sample-rate", "0.5",
]  # fmt: skip
BUG = "connector-bug@2026-11-18T08:00Z/4h"
OUTAGE = "backend-outage@2026-11-17T10:00Z/3h"
WINDOW = ("2026-10-22", "2026-11-20")  # D = 2026-11-20 (the simulator's last day) - 29 days


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("sim")
    # Simulated in-process through the CLI app (the simulator's start-up is the cost saved).
    made = {}
    for name, more in (
        ("base", []),
        ("bug", ["--incident", BUG]),
        ("outage", ["--incident", OUTAGE]),
    ):
        out = str(base / f"{name}.parquet")
        made[name] = CliRunner().invoke(app, ["simulate", "--out", out, *SIM, *more])
        assert made[name].exit_code == 0, made[name].output
    checks = run_all(
        {
            name: (["check", "-t", f"{name}.parquet", "--json", "-"], base)
            for name in ("base", "bug", "outage")
        }
    )
    return {"dir": base, "made": made, "checks": checks}


def sql_one(path: Path, where: str, what: str = "count(*)"):
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        query = (
            f"SELECT {what} FROM read_parquet('{path}') "
            f"WHERE CAST(time AS DATE) BETWEEN DATE '{WINDOW[0]}' AND DATE '{WINDOW[1]}' "
            f"AND ({where})"
        )
        value = con.execute(query).fetchone()[0]
        return 0 if value is None else int(value)
    finally:
        con.close()


THROTTLED = (
    "status = 429 OR lower(coalesce(error_reason, '')) IN ('ratelimitexceeded', 'quotaexceeded')"
)
CONNECTOR_500 = "status = 500 AND backend_status = 200"


def test_connector_bug_adds_exactly_its_rows_to_connector_faults(simulated):
    folder = simulated["dir"]
    base = document(simulated["checks"]["base"])
    bug_run = simulated["checks"]["bug"]
    bug = document(bug_run)
    # Independent counts from the Parquet files.
    assert sql_one(folder / "base.parquet", CONNECTOR_500) == 0
    bug_rows = sql_one(folder / "bug.parquet", CONNECTOR_500)
    bug_weight = sql_one(folder / "bug.parquet", CONNECTOR_500, "sum(weight)")
    assert bug_rows > 0
    assert bug_weight == 2 * bug_rows  # --sample-rate 0.5: each row stands for 2 requests
    # The simulator's own claim agrees with the file.
    assert f"connector-bug {bug_rows:,}" in flat(simulated["made"]["bug"].stderr)
    eligible = sql_one(folder / "bug.parquet", f"NOT ({THROTTLED})", "sum(weight)")

    assert base["metrics"]["faults"]["connector"] == 0  # healthy: no connector fault
    assert bug["metrics"]["faults"]["connector"] - base["metrics"]["faults"]["connector"] == (
        bug_weight
    )
    assert bug["metrics"]["eligible"] == eligible
    assert bug["metrics"]["availability"] == pytest.approx(1 - bug_weight / eligible, abs=1e-12)
    availability = next(c for c in bug["criteria"] if c["id"] == "availability")
    assert availability["sample"] == eligible
    assert availability["status"] == ("pass" if bug_weight * 2000 <= eligible else "fail")


def test_backend_outage_leaves_connector_faults_alone(simulated):
    folder = simulated["dir"]
    base = document(simulated["checks"]["base"])
    outage = document(simulated["checks"]["outage"])
    backend_where = f"NOT ({THROTTLED}) AND status >= 400 AND backend_status >= 500"
    backend_base = sql_one(folder / "base.parquet", backend_where, "sum(weight)")
    backend_outage = sql_one(folder / "outage.parquet", backend_where, "sum(weight)")
    eligible = sql_one(folder / "outage.parquet", f"NOT ({THROTTLED})", "sum(weight)")
    assert backend_outage > backend_base
    assert outage["metrics"]["faults"]["connector"] == base["metrics"]["faults"]["connector"]
    assert outage["metrics"]["faults"]["connector"] == 0
    assert base["metrics"]["faults"]["backend"] == backend_base
    assert outage["metrics"]["faults"]["backend"] == backend_outage
    assert outage["metrics"]["eligible"] == eligible
    assert outage["metrics"]["availability"] == 1.0  # 1 - 0 / eligible
    availability = next(c for c in outage["criteria"] if c["id"] == "availability")
    assert availability["status"] == "pass"


def test_simulated_checks_print_no_traceback(simulated):
    for run in simulated["checks"].values():
        assert_no_traceback(run)
        assert run.returncode in (0, 1), run.stderr
        assert re.match(r"^\s*\{", run.stdout)
