"""The store under many readers and a growing history (DESIGN.md "The store under many
readers, and at scale"):

- a check from the store reads its rollups, and gives the same figures as a check in place
  over the same files — on every metric case of test_metrics.py, after one ingest and after
  two more appends, and under a policy that re-attributes unattributed 5xx;
- a reader during a running ingest answers at once from the last published state, then
  from the new one;
- `store export` is read back on DuckDB and Spark with the same figures, and a day filter
  reads only that day's partitions;
- a store of the first layout is upgraded and keeps its figures and its ledger;
- prune drops the rollups and the requests of the pruned days together.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import connections_by_rank, write_csv
from test_metrics import fleet_rows, mac_rows, reliability_rows, wau_rows
from typer.testing import CliRunner

from connector_ga import engine
from connector_ga.api import run_check
from connector_ga.cli import app
from connector_ga.lake import lake, requests_of_days

CLI = [sys.executable, "-m", "connector_ga.cli"]
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
CASES = {
    "reliability": (reliability_rows, dt.date(2026, 11, 20)),
    "wau": (wau_rows, dt.date(2026, 11, 22)),
    "mac": (mac_rows, dt.date(2026, 11, 20)),
    "fleet": (fleet_rows, None),
}
BACKEND_POLICY = 'unattributed_5xx = "connector"'


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def ingest(store: Path, *files) -> None:
    result = cli("ingest", *files, "--store", store)
    assert result.exit_code == 0, result.output


def fleet_json(**options) -> dict[str, dict]:
    """Every connector's full JSON result (forecast and fix plan included). The connections
    of a fix plan are pseudonyms: salted by the store, or by the local salt in place, so
    they are compared by rank only."""
    run = run_check(all_connectors=True, **options)
    return connections_by_rank({r.connector: r.to_json_dict() for r in run.results})


def backend_policy(folder: Path) -> Path:
    """The default policy, but unattributed 5xx counted as backend faults."""
    from importlib import resources

    text = resources.files("connector_ga.policies").joinpath("power-platform-ga.toml")
    path = folder / "backend.toml"
    path.write_text(
        text.read_text("utf-8").replace(BACKEND_POLICY, 'unattributed_5xx = "backend"'),
        encoding="utf-8",
    )
    return path


def split(rows: list[dict], parts: int) -> list[list[dict]]:
    """Rows dealt round-robin into `parts` files: every day spread over every file, so the
    stored days are merged across ingests."""
    return [rows[k::parts] for k in range(parts)]


@pytest.mark.parametrize("case", list(CASES))
def test_a_check_from_the_store_equals_the_check_in_place(tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)  # the files are shown by the same names both ways
    build, as_of = CASES[case]
    files = [write_csv(tmp_path / f"part{k}.csv", rows) for k, rows in enumerate(split(build(), 3))]
    in_place = fleet_json(telemetry=[str(f) for f in files], as_of=as_of)
    once = tmp_path / "once.duckdb"
    ingest(once, *files)
    assert fleet_json(store=once, as_of=as_of) == in_place
    appended = tmp_path / "appended.duckdb"
    for f in files:  # an ingest, then two appends
        ingest(appended, f)
    assert fleet_json(store=appended, as_of=as_of) == in_place


def test_a_policy_re_attributes_the_stored_unattributed_5xx(tmp_path, monkeypatch):
    # The reliability case holds 5xx that say nothing of who caused them (rule 9); stored as
    # connector faults, a policy counting them as backend faults reads them so, as in place.
    monkeypatch.chdir(tmp_path)
    path = write_csv(tmp_path / "t.csv", reliability_rows())
    policy = str(backend_policy(tmp_path))
    as_of = CASES["reliability"][1]
    in_place = fleet_json(telemetry=[str(path)], as_of=as_of, policy=policy)
    store = tmp_path / "s.duckdb"
    ingest(store, path)
    stored = fleet_json(store=store, as_of=as_of, policy=policy)
    assert stored == in_place
    # avail-1of2000: 1 unattributed 5xx in 2,000 eligible: a backend fault now.
    assert stored["avail-1of2000"]["metrics"]["faults"]["connector"] == 0
    assert stored["avail-1of2000"]["metrics"]["faults"]["backend"] == 1


# ---- readers during an ingest ------------------------------------------------------------


def _rows(n: int, start: int = 0) -> list[dict]:
    return [
        {
            "time": f"2026-11-{10 + i % 11:02d}T10:{i // 11 % 60:02d}:00Z",
            "status": 200,
            "connector": "contoso-tasks",
            "connection_id": f"conn-{i % 3}",
            "request_id": f"r{i}",
        }
        for i in range(start, start + n)
    ]


def _big_parquet(path: Path, n: int) -> Path:
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT TIMESTAMPTZ '2026-10-22 00:00:00+00' + to_seconds(i % 2592000) AS time,
               200 AS status, 'contoso-tasks' AS connector, 'conn-' || (i % 97) AS connection_id,
               'user-' || (i % 211) AS user_id, 'big-' || i AS request_id
             FROM range({n}) t(i)) TO '{path}' (FORMAT parquet)"""
    )
    con.close()
    return path


def _requests_in(store: Path) -> int:
    # --wait 0: a reader that had to wait for the store would fail at once.
    done = subprocess.run(
        [*CLI, "check", "--store", str(store), "--wait", "0", "--json", "-"],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)["metrics"]["requests"]


def test_a_reader_during_an_ingest_answers_from_the_last_published_state(tmp_path):
    store = tmp_path / "store.duckdb"
    ingest(store, write_csv(tmp_path / "seed.csv", _rows(7)))
    big = _big_parquet(tmp_path / "big.parquet", 2_000_000)
    segments = store.with_name(store.name + ".segments")
    writer = subprocess.Popen(
        [*CLI, "ingest", str(big), "--store", str(store)],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(segments.glob(".staging-*")):
            assert writer.poll() is None, writer.stderr.read()
            time.sleep(0.02)
        assert any(segments.glob(".staging-*")), "the ingest did not start within 60 s"
        # Hold the ingest where it is, mid-way (as a long one would be), while a reader
        # reads: it answers at once, from the 7 requests published.
        os.kill(writer.pid, signal.SIGSTOP)
        try:
            assert _requests_in(store) == 7
        finally:
            os.kill(writer.pid, signal.SIGCONT)
        assert writer.wait(timeout=300) == 0, writer.stderr.read()
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    # Published: the window [10-22, 11-20] holds all 2,000,000 new requests and the 7.
    assert _requests_in(store) == 7 + 2_000_000


# ---- the export -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The fleet case ingested in two files, its JSON from the store, and its export."""
    folder = tmp_path_factory.mktemp("export")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        halves = split(fleet_rows() + reliability_rows(), 2)
        files = [write_csv(folder / f"h{k}.csv", rows) for k, rows in enumerate(halves)]
        store = folder / "s.duckdb"
        ingest(store, *files)
        stored = fleet_json(store=store)
        result = cli("store", "export", folder / "lake", "--store", store)
        assert result.exit_code == 0, result.output
    finally:
        os.chdir(cwd)
    return folder, stored


def test_an_export_is_read_back_with_the_stores_figures(exported, engine_name):
    folder, stored = exported
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        assert fleet_json(telemetry=["lake"], engine=engine_name) == stored
    finally:
        os.chdir(cwd)


def test_the_manifest_says_what_the_export_holds(exported):
    folder, _ = exported
    manifest = json.loads((folder / "lake" / "manifest.json").read_text())
    assert manifest["schema"] == "connector-ga/export/v1"
    assert manifest["timestamps"] == "UTC, microseconds"
    # fleet_rows: fresh 3 days x 10, stale 6 days x 10, one-behind 10 = 100 requests;
    # reliability_rows: every request of test_metrics' reliability case (counted there).
    rows = len(fleet_rows()) + len(reliability_rows())
    assert manifest["tables"]["requests"]["rows"] == rows
    assert manifest["connectors"]["stale"] == {"first_day": "2026-11-10", "last_day": "2026-11-15"}
    assert (folder / "lake" / "requests" / "connector=stale" / "day=2026-11-12").is_dir()
    # The requests are pseudonymised as in the store, and timed in UTC microseconds.
    con = duckdb.connect()
    kind = con.execute(
        "SELECT typeof(time) FROM read_parquet(?, hive_partitioning = true) LIMIT 1",
        [str(folder / "lake" / "requests" / "**" / "*.parquet")],
    ).fetchone()[0]
    assert kind == "TIMESTAMP WITH TIME ZONE"


def test_a_day_filtered_read_touches_only_that_days_partitions(exported, engine_name):
    folder, _ = exported
    lake_copy = folder / f"damaged-{engine_name}"
    if not lake_copy.exists():
        import shutil

        shutil.copytree(folder / "lake", lake_copy)
        # Every request file of another day is no Parquet any more: reading it would fail.
        for part in (lake_copy / "requests").rglob("*.parquet"):
            if "day=2026-11-12" not in str(part):
                part.write_bytes(b"not parquet at all")
    con = engine.connect(engine=engine_name)
    session, _ = lake(con, str(lake_copy))  # the rollups alone: no request file is opened
    session.close()
    day = dt.date(2026, 11, 12)
    r = requests_of_days(con, str(lake_copy), None, day, day)
    grouped = r.group_by("connector").aggregate(n=r.count())
    counts = {row["connector"]: row["n"] for row in engine.fetch_rows(con, grouped)}
    # 2026-11-12: stale's 10 requests (fleet_rows); the reliability case is all on 11-10,
    # 11-20: nothing else.
    assert counts == {"stale": 10}


# ---- the first store layout ----------------------------------------------------------------


V1_DDL = [
    "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE files (hash VARCHAR PRIMARY KEY, path VARCHAR, format VARCHAR,
        ingested_at TIMESTAMPTZ, rows BIGINT, accepted BIGINT, rejected BIGINT,
        duplicates BIGINT)""",
    """CREATE TABLE requests (time TIMESTAMPTZ, status BIGINT, connector VARCHAR,
        operation VARCHAR, connection_id VARCHAR, user_id VARCHAR, backend_status BIGINT,
        error_source VARCHAR, error_reason VARCHAR, fault VARCHAR, latency_ms DOUBLE,
        cloud VARCHAR, request_id VARCHAR, weight BIGINT, file_hash VARCHAR)""",
    """CREATE TABLE rejects (file_hash VARCHAR, path VARCHAR, line BIGINT, unit VARCHAR,
        reason VARCHAR, value VARCHAR)""",
    """CREATE TABLE requests_ledger (id BIGINT, connector VARCHAR, state VARCHAR,
        drafted_at TIMESTAMPTZ, sent_at TIMESTAMPTZ, verdict VARCHAR, evidence_hash VARCHAR,
        message_path VARCHAR)""",
]


def test_a_store_of_the_first_layout_is_upgraded_with_its_figures(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_csv(tmp_path / "t.csv", reliability_rows())
    in_place = fleet_json(telemetry=[str(path)], as_of=CASES["reliability"][1])
    # A version-1 store holding those requests (ids pseudonymised as v1 did) and a ledger row.
    store = tmp_path / "old.duckdb"
    con = duckdb.connect(str(store))
    for statement in V1_DDL:
        con.execute(statement)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('salt', 'abc')")
    con.execute(
        "INSERT INTO files VALUES ('h1', 't.csv', 'canonical', now(), ?, ?, 0, 0)",
        [len(reliability_rows()), len(reliability_rows())],
    )
    con.execute(
        f"""INSERT INTO requests SELECT time::TIMESTAMPTZ, status, connector, NULL,
            CASE WHEN connection_id IS NULL THEN NULL ELSE sha256('abc' || connection_id) END,
            CASE WHEN user_id IS NULL THEN NULL ELSE sha256('abc' || user_id) END,
            backend_status, NULL, error_reason, NULL, NULL, 'public', NULL,
            coalesce(weight, 1), 'h1'
            FROM read_csv('{path}', all_varchar = false, union_by_name = true)"""
    )
    con.execute(
        "INSERT INTO requests_ledger VALUES (1, 'avail-1of2000', 'drafted', now(), NULL, "
        "'ready', 'e', 'ga-request.eml')"
    )
    con.close()
    stored = fleet_json(store=store, as_of=CASES["reliability"][1])
    for name, result in in_place.items():
        assert stored[name]["metrics"] == result["metrics"], name
        assert stored[name]["verdict"] == result["verdict"], name
    con = duckdb.connect(str(store), read_only=True)
    tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "requests" not in tables and "rollup_daily" in tables
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)
    assert con.execute("SELECT count(*) FROM requests_ledger").fetchone() == (1,)
    con.close()


# ---- prune --------------------------------------------------------------------------------


def test_prune_drops_the_rollups_and_requests_of_the_pruned_days_together(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # The MAC case spans 2026-09-01 .. 11-20; keep the 30 days from 10-22: the check of the
    # pruned store equals a check in place over the rows from 10-22 only.
    rows = mac_rows()
    store = tmp_path / "s.duckdb"
    ingest(store, write_csv(tmp_path / "all.csv", rows))
    result = cli(
        "store", "prune", "--keep-days", 29, "--as-of", "2026-11-20", "--force", "--store", store
    )
    assert result.exit_code == 0, result.output
    kept = [r for r in rows if r["time"] >= "2026-10-22"]
    assert f"deleted {len(rows) - len(kept):,} requests" in result.stderr
    in_place = fleet_json(telemetry=[str(write_csv(tmp_path / "kept.csv", kept))], as_of=None)
    stored = fleet_json(store=store)
    for name, result in in_place.items():
        assert stored[name]["metrics"] == result["metrics"], name
        assert stored[name]["criteria"] == result["criteria"], name
