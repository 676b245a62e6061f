"""A damaged segment is found, named and repaired (issue 18 item 1; DESIGN.md "Faults and
integrity"):

- the store records each segment file's size, rows and SHA-256 at publish (a store written
  before gets them at its next ingest);
- `store verify` checks every segment against the disk and the rollups: exit 0 when sound,
  exit 1 naming each damaged file;
- a command that meets a damaged segment (export, watch, ingest, forget) says which file and
  points to `store verify`, exit 2 — not "unexpected … (a bug)";
- `store verify --repair` writes a damaged segment again from its source file when the file
  is still there with the same content, else names the days that lost their requests.

Real DuckDB stores in tmp_path, driven through the CLI. Expected numbers are counted by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import CHECKOUT, write_csv
from typer.testing import CliRunner

from connector_ga.cli import app

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
STORE = Path(".connector-ga/store.duckdb")


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env=ENV)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def rows_of(prefix: str, weight: int) -> list[dict]:
    """5 days 2026-11-01 .. 11-05, 10 requests a day at 00:00 .. 09:00 (minute 0 for a,
    30 for b), each of weight `weight`; the one at hour 0 a connector fault (500)."""
    minute = 0 if prefix == "a" else 30
    return [
        {
            "time": f"2026-11-{1 + d:02d}T{h:02d}:{minute:02d}:00Z",
            "status": 500 if h == 0 else 200,
            "connector": "contoso-tasks",
            "connection_id": f"k{h % 2}",
            "user_id": f"u{h % 3}",
            "request_id": f"{prefix}{d}-{h}",
            "weight": weight,
        }
        for d in range(5)
        for h in range(10)
    ]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A store of a.csv (50 rows of weight 1) and b.csv (50 rows of weight 2), built once;
    each test works on its own copy (the sources stay where they were ingested from)."""
    folder = tmp_path_factory.mktemp("verify-src")
    write_csv(folder / "a.csv", rows_of("a", 1))
    write_csv(folder / "b.csv", rows_of("b", 2))
    here = os.getcwd()
    os.chdir(folder)
    try:
        for name in ("a.csv", "b.csv"):
            assert cli("ingest", name).exit_code == 0
    finally:
        os.chdir(here)
    return folder


@pytest.fixture
def store(built, tmp_path) -> Path:
    shutil.copytree(built / ".connector-ga", tmp_path / ".connector-ga")
    return STORE


def segment_of(source: str) -> Path:
    """The segment file holding a source file's requests (one each here)."""
    con = duckdb.connect(str(STORE), read_only=True)
    try:
        (path,) = con.execute(
            "SELECT path FROM segment_files WHERE sources LIKE ?", [f"%/{source}%"]
        ).fetchone()
    finally:
        con.close()
    return Path(f"{STORE}.segments") / path


def truncate(path: Path) -> int:
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.truncate(size // 2)
    return size


def exported_requests(tmp_path: Path) -> tuple[int, int, int]:
    out = tmp_path / "out"
    assert cli("store", "export", out, "--overwrite").exit_code == 0
    con = duckdb.connect()
    rows, weight, days = con.execute(
        f"SELECT count(*), sum(weight), count(DISTINCT day) FROM read_parquet("
        f"'{out}/requests/**/*.parquet', hive_partitioning = true)"
    ).fetchone()
    return int(rows), int(weight), int(days)


def test_sound_store_verifies_with_exit_0(store):
    result = cli("store", "verify")
    assert result.exit_code == 0, result.output
    # 2 segment files: one per ingested file (each written by one thread)
    assert "2 segment(s) sound" in result.output


def test_segments_are_recorded_at_publish(store):
    con = duckdb.connect(str(STORE), read_only=True)
    recorded = con.execute("SELECT path, bytes, rows FROM segment_files ORDER BY path").fetchall()
    con.close()
    assert [r[2] for r in recorded] == [50, 50]  # 5 days x 10 requests, each file
    for path, size, _ in recorded:
        assert (Path(f"{STORE}.segments") / path).stat().st_size == size


def test_truncated_segment_is_named_by_verify_exit_1(store):
    damaged = segment_of("a.csv")
    size = truncate(damaged)
    result = cli("store", "verify")
    assert result.exit_code == 1, result.output
    assert str(damaged) in result.output
    assert f"{size // 2:,} bytes, {size:,} when it was published" in result.output
    assert "50 requests (from " in result.output  # a.csv's 5 days x 10
    assert "2026-11-01…2026-11-05" in result.output


def test_export_of_a_damaged_store_is_one_line_naming_the_file(store, tmp_path):
    damaged = segment_of("a.csv")
    truncate(damaged)
    done = subprocess.run(
        [sys.executable, "-m", "connector_ga.cli", "store", "export", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV, "PYTHONPATH": str(CHECKOUT / "src")},
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(damaged) in lines[0] and "store verify" in lines[0]
    assert "bug" not in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [["watch"], ["store", "forget", "b.csv"]])
def test_commands_that_read_segments_name_the_damaged_file(store, built, command):
    damaged = segment_of("a.csv")
    truncate(damaged)
    args = [*command[:-1], str(built / command[-1])] if command[0] == "store" else command
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert str(damaged) in result.output and "store verify" in result.output
    assert "bug" not in result.output


def test_repair_with_the_source_present_restores_the_segment(store, tmp_path):
    truncate(segment_of("a.csv"))
    repaired = cli("store", "verify", "--repair")
    assert repaired.exit_code == 0, repaired.output
    assert "repaired" in repaired.output
    assert cli("store", "verify").exit_code == 0
    # a: 50 rows of weight 1, b: 50 rows of weight 2 -> 100 rows, 50 + 100 = 150 requests,
    # on 5 days
    assert exported_requests(tmp_path) == (100, 150, 5)


def test_repair_with_the_source_gone_names_the_days(tmp_path):
    write_csv(tmp_path / "a.csv", rows_of("a", 1))
    write_csv(tmp_path / "b.csv", rows_of("b", 2))
    assert cli("ingest", "a.csv").exit_code == 0
    assert cli("ingest", "b.csv").exit_code == 0
    damaged = segment_of("a.csv")
    truncate(damaged)
    (tmp_path / "a.csv").unlink()
    result = cli("store", "verify", "--repair")
    assert result.exit_code == 1, result.output
    assert "not repaired: its source file a.csv is gone or changed" in result.output
    assert "contoso-tasks: the requests of 2026-11-01…2026-11-05" in result.output
    # the figures stay: the check reads the rollups. Requests: a 50 x 1 + b 50 x 2 = 150;
    # connector faults (hour 0 of each day): a 5 x 1 + b 5 x 2 = 15; so 135 of 150.
    check = cli("check", "--json", tmp_path / "r.json")
    assert check.exit_code == 1, check.output  # not ready (availability far below 99.95%)
    criteria = {c["id"]: c for c in json.loads((tmp_path / "r.json").read_text())["criteria"]}
    assert (criteria["availability"]["numerator"], criteria["availability"]["denominator"]) == (
        135,
        150,
    )


def test_rollups_that_disagree_with_the_segments_are_a_mismatch(store):
    con = duckdb.connect(str(STORE))
    con.execute(
        "UPDATE rollup_daily SET rows = rows + 1 WHERE day = DATE '2026-11-03' AND rowid = "
        "(SELECT min(rowid) FROM rollup_daily WHERE day = DATE '2026-11-03')"
    )
    con.close()
    result = cli("store", "verify")
    assert result.exit_code == 1, result.output
    # the segments hold 10 + 10 rows on 11-03; the rollup says one more
    assert "contoso-tasks 2026-11-03: the segments hold 20 rows, the daily rollup 21" in (
        result.output
    )


def test_weights_that_disagree_with_the_rollup_requests_are_a_mismatch(store):
    con = duckdb.connect(str(STORE))
    con.execute(
        "UPDATE rollup_daily SET requests = requests + 5 WHERE day = DATE '2026-11-02' AND "
        "rowid = (SELECT min(rowid) FROM rollup_daily WHERE day = DATE '2026-11-02')"
    )
    con.close()
    result = cli("store", "verify")
    assert result.exit_code == 1, result.output
    # rows weigh: a 10 x 1 + b 10 x 2 = 30 requests on 11-02; the rollup says 5 more
    assert "contoso-tasks 2026-11-02: the segments hold 30 requests, the daily rollup 35" in (
        result.output
    )


def test_a_store_written_before_records_is_recorded_at_its_next_ingest(
    store, built, tmp_path, monkeypatch
):
    b_segment = segment_of("b.csv")
    con = duckdb.connect(str(STORE))
    con.execute("DROP TABLE segment_files")
    con.close()
    assert cli("store", "verify").exit_code == 0  # read and counted, without a record
    write_csv(tmp_path / "c.csv", rows_of("c", 1))
    assert cli("ingest", "c.csv").exit_code == 0
    con = duckdb.connect(str(STORE), read_only=True)
    rows = sorted(r[0] for r in con.execute("SELECT rows FROM segment_files").fetchall())
    con.close()
    assert rows == [50, 50, 50]  # a, b (recorded now) and c, 50 rows each
    truncate(b_segment)
    assert cli("store", "verify").exit_code == 1
    # recorded without where b.csv was read from: --repair finds it where `store info` lists
    # it (relative to the folder it was ingested from)
    store_path = tmp_path / STORE
    monkeypatch.chdir(built)
    repaired = cli("store", "verify", "--repair", "--store", store_path)
    assert repaired.exit_code == 0, repaired.output
    monkeypatch.chdir(tmp_path)
    # a 50 x 1 + b 50 x 2 + c 50 x 1 = 150 rows, 200 requests, on the same 5 days
    assert exported_requests(tmp_path) == (150, 200, 5)
