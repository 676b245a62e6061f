"""The embedded store (issue 3, DESIGN.md "Bad input, data and secrets"): real DuckDB files
in tmp_path, driven through the CLI (`ingest`, `store info`, `store prune`, `check`).

- ingest is one transaction: the same file twice changes nothing; a killed ingest leaves the
  store exactly as it was;
- a request_id already stored is not stored again;
- raw user and connection ids never reach the file: a salted SHA-256 replaces them, the same
  for every ingest into one store;
- rejected rows are kept with file, line and reason, and `check --store` reports them;
- `store prune --keep-days N --as-of D` deletes the rows before D-N (00:00 UTC);
- a store written by a newer connector-ga is refused (exit 2).

CLI calls run in-process through typer's CliRunner, except the ingest that is SIGKILLed.
Every expected number is counted by hand in the comment next to it.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import write_csv
from typer.testing import CliRunner

from connector_ga.cli import app
from connector_ga.store import Store

DATA = Path(__file__).parent / "data" / "sources"
LEGACY = DATA / "apim_azurediagnostics.csv"  # 12 APIM rows, all on 2026-11-19
CLI = [sys.executable, "-m", "connector_ga.cli"]
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
RAW_USER = "raw-user-7f3a9c"
RAW_CONN = "raw-conn-5b2e1d"


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env=ENV)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def ingest(store: Path, *files, ok: bool = True, max_reject_rate: float | None = None):
    limit = () if max_reject_rate is None else ("--max-reject-rate", max_reject_rate)
    result = cli("ingest", *files, "--store", store, *limit)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def check_json(*args) -> dict:
    result = cli("check", *args, "--json", "-")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def query(store: Path, sql: str) -> list[tuple]:
    """SQL over the store file's tables, and `requests`: the stored requests (its Parquet
    segments, as the store lists them)."""
    with Store.open(store) as opened:
        files = opened.segment_files()
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{store}' AS store (READ_ONLY)")
        con.execute("USE store")
        listed = ", ".join(f"'{f}'" for f in files)
        source = (
            f"read_parquet([{listed}], hive_partitioning = false)"
            if files
            else "(SELECT NULL::TIMESTAMPTZ AS time, NULL AS file_hash, NULL AS user_id, "
            "NULL AS connection_id WHERE false)"
        )
        con.execute(f"CREATE TEMP VIEW requests AS SELECT * FROM {source}")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def counts(store: Path) -> tuple[int, int, int]:
    """(requests, files, rejects) held by the store."""
    return query(
        store,
        "SELECT (SELECT count(*) FROM requests), (SELECT count(*) FROM files), "
        "(SELECT count(*) FROM rejects)",
    )[0]


def rows(n: int, start: int = 0, **fixed) -> list[dict]:
    """n canonical rows, one a day from 2026-11-10, request ids r<start>..; 200 OK."""
    out = []
    for i in range(start, start + n):
        row = {
            "time": f"2026-11-{10 + i % 11:02d}T10:{i // 11:02d}:00Z",
            "status": 200,
            "connector": "contoso-tasks",
            "connection_id": f"conn-{i % 3}",
            "user_id": f"user-{i % 4}",
            "request_id": f"r{i:02d}",
        }
        row.update(fixed)
        out.append(row)
    return out


# --- ingest: idempotent, deduplicated ------------------------------------------------------


def test_ingesting_the_same_file_twice_changes_nothing(tmp_path):
    store = tmp_path / "store.duckdb"
    path = write_csv(tmp_path / "ten.csv", rows(10))
    first = ingest(store, path)
    assert "10 rows, 10 stored" in " ".join(first.stderr.split())
    assert counts(store) == (10, 1, 0)
    with Store.open(store) as opened:
        before = opened.info()
    second = ingest(store, path)
    assert "already ingested" in second.stderr
    assert counts(store) == (10, 1, 0)
    with Store.open(store) as opened:
        after = opened.info()
    assert after == before


def test_request_ids_already_stored_are_stored_once(tmp_path):
    """a.csv holds r00-r05, b.csv r03-r08 (r03-r05 with another status): 6 + 3 new = 9."""
    a = write_csv(tmp_path / "a.csv", rows(6))
    b = write_csv(tmp_path / "b.csv", rows(6, start=3, status=201))
    # two runs
    store = tmp_path / "two-runs.duckdb"
    ingest(store, a)
    second = ingest(store, b)
    assert "6 rows, 3 stored, 3 already stored" in " ".join(second.stderr.split())
    assert counts(store) == (9, 2, 0)
    ids = query(store, "SELECT request_id, count(*) FROM requests GROUP BY 1 ORDER BY 1")
    assert ids == [(f"r{i:02d}", 1) for i in range(9)]
    # the first stored wins: r03-r05 keep a.csv's status 200
    assert query(store, "SELECT count(*) FROM requests WHERE status = 201") == [(3,)]  # r06-r08
    files = query(store, "SELECT path, rows, accepted, rejected, duplicates FROM files")
    assert sorted((Path(p).name, *n) for p, *n in files) == [
        ("a.csv", 6, 6, 0, 0),
        ("b.csv", 6, 6, 0, 3),
    ]
    # one run with both files
    store = tmp_path / "one-run.duckdb"
    ingest(store, a, b)
    assert counts(store) == (9, 2, 0)


def test_a_request_id_repeated_within_one_file_is_stored_once(tmp_path):
    """r00-r04, then r02 logged again: 5 distinct requests."""
    store = tmp_path / "store.duckdb"
    path = write_csv(tmp_path / "repeat.csv", rows(5) + rows(1, start=2))
    ingest(store, path)
    assert counts(store) == (5, 1, 0)


def test_a_request_id_repeats_within_its_connector_only(tmp_path):
    """Two connectors' logs share the ids r00-r05 (issue 16.1): each connector keeps its six
    requests, in one file or two, and a.csv ingested again adds nothing."""
    a = write_csv(tmp_path / "a.csv", rows(6))
    b = write_csv(tmp_path / "b.csv", rows(6, connector="fabrikam-crm"))
    store = tmp_path / "two-runs.duckdb"
    ingest(store, a)
    second = ingest(store, b)
    # 6 rows of fabrikam-crm, none of them already stored: 6 + 6 = 12
    assert "6 rows, 6 stored" in " ".join(second.stderr.split())
    assert counts(store) == (12, 2, 0)
    assert query(store, "SELECT connector, count(*) FROM requests GROUP BY 1 ORDER BY 1") == [
        ("contoso-tasks", 6),
        ("fabrikam-crm", 6),
    ]
    both = write_csv(tmp_path / "both.csv", rows(6) + rows(6, connector="fabrikam-crm"))
    store = tmp_path / "one-file.duckdb"
    ingest(store, both)
    assert counts(store) == (12, 1, 0)
    # A later file of one connector on the same days (r04-r08: r04, r05 stored, r06-r08
    # new) merges into that connector's rollups only: contoso-tasks 6 + 3 = 9 requests,
    # fabrikam-crm's 6 as they were (issue 15 item 6: a connector's file rewrites nothing
    # of another's).
    later = write_csv(tmp_path / "later.csv", rows(5, start=4))
    assert "5 rows, 3 stored, 2 already stored" in " ".join(ingest(store, later).stderr.split())
    per_connector = "SELECT connector, sum(requests) FROM rollup_daily GROUP BY 1 ORDER BY 1"
    assert query(store, per_connector) == [("contoso-tasks", 9), ("fabrikam-crm", 6)]
    per_day = query(
        store, "SELECT day, sum(requests) FROM rollup_daily WHERE connector = 'fabrikam-crm' "
        "GROUP BY 1 ORDER BY 1",
    )  # fmt: skip
    assert [n for _, n in per_day] == [1] * 6  # r00-r05: one a day from 2026-11-10


# --- one transaction: a killed ingest leaves nothing -----------------------------------------


def _big_parquet(path: Path, n: int) -> Path:
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT TIMESTAMPTZ '2026-10-22 00:00:00+00' + to_seconds(i % 2592000) AS time,
               CASE WHEN i % 50 = 0 THEN 500 ELSE 200 END AS status,
               'contoso-tasks' AS connector, 'conn-' || (i % 97) AS connection_id,
               'user-' || (i % 211) AS user_id, 200 AS backend_status,
               'big-' || i AS request_id
             FROM range({n}) t(i)) TO '{path}' (FORMAT parquet)"""
    )
    con.close()
    return path


def test_a_killed_ingest_leaves_the_store_as_it_was(tmp_path):
    store = tmp_path / "store.duckdb"
    ingest(store, write_csv(tmp_path / "seed.csv", rows(7)))
    with Store.open(store) as opened:
        before = opened.info()
    assert before["rows"] == 7
    big = _big_parquet(tmp_path / "big.parquet", 3_000_000)
    segments = store.with_name(store.name + ".segments")
    proc = subprocess.Popen(
        [*CLI, "ingest", str(big), "--store", str(store)],
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        writing = False
        while time.monotonic() < deadline and proc.poll() is None:
            # It holds the writers' lock and has started writing its own files.
            if any(segments.glob(".staging-*")):
                writing = True
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the ingest ended before it could be killed"
        assert writing, "the ingest did not start writing within 30 s"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with Store.open(store) as opened:  # it opens, and holds exactly what it held
        after = opened.info()
    del before["size_bytes"], after["size_bytes"]
    assert after == before
    assert counts(store) == (7, 1, 0)
    # and it takes the next ingest, which removes what the killed one had staged
    ingest(store, write_csv(tmp_path / "more.csv", rows(2, start=7)))
    assert counts(store) == (9, 2, 0)
    assert not list(segments.glob(".staging-*"))


# --- pseudonyms -------------------------------------------------------------------------------


def test_no_raw_id_reaches_the_store_file(tmp_path):
    store = tmp_path / "store.duckdb"
    good = rows(6, user_id=RAW_USER, connection_id=RAW_CONN)
    bad = {**rows(1, start=6)[0], "status": "abc", "user_id": RAW_USER, "connection_id": RAW_CONN}
    # 1 bad row of 7 (14%): above the default 1%, an ingest needs a higher limit.
    ingest(store, write_csv(tmp_path / "ids.csv", good + [bad]), max_reject_rate=0.5)
    assert counts(store) == (6, 1, 1)
    check_json("--store", store, "--as-of", "2026-11-20", "--max-reject-rate", "0.5")
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file() and "store.duckdb" in str(p))
    assert any(f.suffix == ".parquet" for f in files)  # the segments are read too
    for file in files:
        data = file.read_bytes()
        for raw in (RAW_USER, RAW_CONN):
            assert raw.encode() not in data, f"{raw} found in {file.name}"
            assert raw.encode("utf-16-le") not in data
    # nor in any text column, whatever the storage does to strings
    for table, column in query(
        store,
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = 'store' AND data_type = 'VARCHAR'",
    ):
        hits = query(
            store,
            f"SELECT count(*) FROM {table} WHERE {column} LIKE '%{RAW_USER}%' "
            f"OR {column} LIKE '%{RAW_CONN}%'",
        )
        assert hits == [(0,)], f"{table}.{column}"


def test_pseudonyms_are_salted_and_the_same_across_ingests(tmp_path):
    """Week W46 (Mon 2026-11-09 - Sun 11-15): RAW_USER on 11-10 (a.csv) and 11-12 (b.csv),
    other-user on 11-11 (a.csv), all on RAW_CONN: 2 users, 1 connection."""
    a = write_csv(
        tmp_path / "a.csv",
        [
            {
                "time": "2026-11-10T09:00:00Z",
                "status": 200,
                "connection_id": RAW_CONN,
                "user_id": RAW_USER,
            },
            {
                "time": "2026-11-11T09:00:00Z",
                "status": 200,
                "connection_id": RAW_CONN,
                "user_id": "other-user",
            },
        ],
    )
    b = write_csv(
        tmp_path / "b.csv",
        [
            {
                "time": "2026-11-12T09:00:00Z",
                "status": 200,
                "connection_id": RAW_CONN,
                "user_id": RAW_USER,
            }
        ],
    )
    store = tmp_path / "store.duckdb"
    ingest(store, a)
    ingest(store, b)
    pairs = query(
        store,
        "SELECT f.path, r.user_id, r.connection_id FROM requests r JOIN files f "
        "ON r.file_hash = f.hash ORDER BY r.time",
    )
    (a1, user_a, conn_a), (_, other, conn_a2), (b1, user_b, conn_b) = pairs
    assert Path(a1).name == "a.csv" and Path(b1).name == "b.csv"
    assert user_a == user_b != other  # the same raw id, the same pseudonym in both ingests
    assert conn_a == conn_a2 == conn_b
    for value, raw in ((user_a, RAW_USER), (conn_a, RAW_CONN)):
        assert len(value) == 64 and int(value, 16) >= 0  # a SHA-256, in hex
        assert value != hashlib.sha256(raw.encode()).hexdigest()  # salted
    # another store has another salt: the same raw id gets another pseudonym
    other_store = tmp_path / "other.duckdb"
    ingest(other_store, a)
    assert query(other_store, "SELECT min(user_id) FROM requests")[0][0] not in (user_a, other)
    # counted once: D = Sun 2026-11-15, so W46 is the last complete week
    result = check_json("--store", store, "--as-of", "2026-11-15")
    assert [w["users"] for w in result["metrics"]["wau"]] == [0, 0, 2]  # W44, W45, W46
    assert result["metrics"]["connections"] == 1
    assert result["metrics"]["mac"]["current"] == 1


# --- store info, rejects ------------------------------------------------------------------------


def _fabrikam(tmp_path: Path) -> Path:
    """6 rows of fabrikam-crm; line 4 (the third row) has status "abc": 5 accepted."""
    statuses = [200, 200, "abc", 500, 201, 200]
    times = ["10T08:00", "11T08:00", "12T08:00", "13T08:00", "14T08:00", "14T09:30"]
    return write_csv(
        tmp_path / "fabrikam.csv",
        [
            {"time": f"2026-11-{t}:00Z", "status": s, "connector": "fabrikam-crm"}
            for t, s in zip(times, statuses, strict=True)
        ],
    )


def test_store_info_reports_connectors_dates_rows_rejects_and_files(tmp_path):
    store = tmp_path / "store.duckdb"
    ingest(store, _fabrikam(tmp_path), max_reject_rate=0.5)  # 1 of 6 rejected: 16.7%
    ingest(store, LEGACY)  # --format auto: APIM legacy names
    result = cli("store", "info", "--store", store, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["rows"] == 17  # 5 + 12
    assert info["rejects"] == 1
    connectors = {c["connector"]: c for c in info["connectors"]}
    assert sorted(connectors) == ["contoso-tasks", "fabrikam-crm"]
    span = {
        name: (c["rows"], c["first"][:16].replace("T", " "), c["last"][:16].replace("T", " "))
        for name, c in connectors.items()
    }
    assert span == {
        "contoso-tasks": (12, "2026-11-19 12:00", "2026-11-19 12:11"),
        "fabrikam-crm": (5, "2026-11-10 08:00", "2026-11-14 09:30"),
    }
    files = {
        Path(f["path"]).name: (f["format"], f["rows"], f["accepted"], f["rejected"])
        for f in info["files"]
    }
    assert files == {
        "fabrikam.csv": ("canonical", 6, 5, 1),
        "apim_azurediagnostics.csv": ("apim", 12, 12, 0),
    }
    assert all(f["duplicates"] == 0 for f in info["files"])
    text = cli("store", "info", "--store", store)
    assert text.exit_code == 0
    assert "fabrikam-crm" in text.stdout and "apim_azurediagnostics.csv" in text.stdout


def test_rejected_rows_are_stored_with_file_line_and_reason(tmp_path):
    """250 good rows and two bad ones: status "abc" on line 4, time "yesterday" on line 10.
    2 of 252 rejected = 0.79%, under the 1% limit."""
    good = [
        {"time": f"2026-11-20T{i // 60:02d}:{i % 60:02d}:00Z", "status": 200, "connection_id": "c"}
        for i in range(250)
    ]
    bad_status = {"time": "2026-11-20T12:00:00Z", "status": "abc", "connection_id": "c"}
    bad_time = {"time": "yesterday", "status": 200, "connection_id": "c"}
    data = good[:2] + [bad_status] + good[2:7] + [bad_time] + good[7:]  # lines 4 and 10
    path = write_csv(tmp_path / "bad.csv", data)
    store = tmp_path / "store.duckdb"
    ingest(store, path)
    assert counts(store) == (250, 1, 2)
    rejects = query(store, "SELECT path, line, reason, value FROM rejects ORDER BY line")
    assert [(Path(p).name, n, r, v) for p, n, r, v in rejects] == [
        ("bad.csv", 4, "status", "abc"),
        ("bad.csv", 10, "time", "yesterday"),
    ]
    result = check_json("--store", store, "--as-of", "2026-11-20")
    quality = result["data_quality"]
    assert quality["rejected_rows"] == 2
    assert quality["rejects_by_reason"] == {"status": 1, "time": 1}
    samples = " ".join(quality["reject_samples"])
    assert "bad.csv:4" in samples and "bad.csv:10" in samples
    assert result["metrics"]["requests"] == 250
    strict = cli("check", "--store", store, "--as-of", "2026-11-20", "--max-reject-rate", "0")
    assert strict.exit_code == 2
    assert "bad.csv:4" in strict.stderr


# --- retention, versions, check from the store ----------------------------------------------------


def test_prune_deletes_exactly_the_rows_before_d_minus_n_days(tmp_path):
    """--keep-days 5 --as-of 2026-11-20: cutoff 2026-11-15 00:00 UTC. Deleted: 11-10, 11-11,
    11-12, 11-13, 11-14 10:00 and 11-14 23:59:59 = 6; kept: 11-15 00:00:00 and 11-16 ..
    11-20 = 6."""
    times = [f"2026-11-{d}T10:00:00Z" for d in range(10, 15)]
    times += ["2026-11-14T23:59:59Z", "2026-11-15T00:00:00Z"]
    kept = ["2026-11-15T00:00:00Z"] + [f"2026-11-{d}T10:00:00Z" for d in range(16, 21)]
    times += kept[1:]
    path = write_csv(tmp_path / "days.csv", [{"time": t, "status": 200} for t in times])
    store = tmp_path / "store.duckdb"
    ingest(store, path)
    assert counts(store) == (12, 1, 0)
    result = cli(
        "store", "prune", "--keep-days", 5, "--as-of", "2026-11-20", "--force", "--store", store
    )
    assert result.exit_code == 0, result.output
    assert "deleted 6 requests" in result.stderr
    left = query(
        store,
        "SELECT strftime(time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ') "
        "FROM requests ORDER BY time",
    )
    assert [t for (t,) in left] == kept
    refused = cli("store", "prune", "--keep-days", 0, "--store", store)
    assert refused.exit_code == 2
    assert counts(store) == (6, 1, 0)


def refused(*args) -> tuple[int, str]:
    """Exit code and output of a command expected to fail. Only plain values are kept: the
    result's exception chain holds the refused store's connection until it is collected."""
    result = cli(*args)
    code, message = result.exit_code, " ".join(result.output.split())
    del result
    gc.collect()
    return code, message


def test_a_store_with_a_newer_schema_version_is_refused(tmp_path):
    store = tmp_path / "store.duckdb"
    ingest(store, write_csv(tmp_path / "seed.csv", rows(3)))
    con = duckdb.connect(str(store))
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    con.close()
    more = write_csv(tmp_path / "more.csv", rows(2, start=3))
    for args in (
        ("store", "info", "--store", store),
        ("ingest", more, "--store", store),
        ("check", "--store", store),
    ):
        code, message = refused(*args)
        assert code == 2, (args, message)
        assert "schema version 3" in message and "newer" in message, message
        assert "Traceback" not in message
    con = duckdb.connect(str(store), read_only=True)  # untouched: 3 requests, 1 file
    assert con.execute(
        "SELECT (SELECT sum(rows) FROM segments), (SELECT count(*) FROM files)"
    ).fetchall() == [(3, 1)]
    con.close()


def test_check_without_telemetry_reads_the_store(tmp_path, monkeypatch):
    """In a folder with .connector-ga/store.duckdb, `check` alone judges the stored requests:
    the legacy APIM file gives what it gives in place (requests 12, eligible 11, connector
    faults 3: availability 8/11)."""
    monkeypatch.chdir(tmp_path)
    result = cli("ingest", LEGACY)
    assert result.exit_code == 0, result.output
    assert (tmp_path / ".connector-ga" / "store.duckdb").is_file()
    stored = check_json("--as-of", "2026-11-19")
    in_place = check_json("--telemetry", LEGACY, "--format", "apim", "--as-of", "2026-11-19")
    assert stored["metrics"]["requests"] == 12
    assert stored["metrics"]["faults"] == {
        "none": 3,
        "client": 3,
        "backend": 2,
        "connector": 3,
        "throttled": 1,
    }
    assert stored["metrics"]["availability"] == pytest.approx(8 / 11)
    for key in ("requests", "eligible", "faults", "success_rate", "availability", "slo"):
        assert stored["metrics"][key] == in_place["metrics"][key], key
    for key in ("connections", "connections_meeting_bar"):
        assert stored["metrics"][key] == in_place["metrics"][key], key
    assert stored["data_quality"]["unattributed_5xx"] == 2
    assert stored["verdict"] == in_place["verdict"]


def test_prune_counts_back_from_the_latest_telemetry_day_and_asks_before_moving_a_criterion(
    tmp_path,
):
    """Telemetry 11-10 .. 11-20, pruned on the clock's day (later than 11-20) without --as-of:
    D is the latest stored day, 11-20, so --keep-days 5 cuts at 11-15 (not at today - 5,
    which would delete everything). The days 11-10 .. 11-14 lie in the reliability window
    [11-20 - 29, 11-20] = [10-22, 11-20]: without --force the prune is refused, exit 2,
    naming the criteria, and the store keeps its 11 rows; with --force 5 rows go."""
    times = [f"2026-11-{d}T10:00:00Z" for d in range(10, 21)]  # 11 rows, one a day
    store = tmp_path / "store.duckdb"
    ingest(store, write_csv(tmp_path / "days.csv", [{"time": t, "status": 200} for t in times]))
    refused = cli("store", "prune", "--keep-days", 5, "--store", store)
    assert refused.exit_code == 2, refused.output
    assert "availability, slo, success-rate" in refused.stderr
    assert "--force" in refused.stderr and "2026-11-10" in refused.stderr
    assert counts(store)[0] == 11
    forced = cli("store", "prune", "--keep-days", 5, "--force", "--store", store)
    assert forced.exit_code == 0, forced.output
    assert "deleted 5 requests" in forced.stderr  # 11-10 .. 11-14
    assert counts(store)[0] == 6  # 11-15 .. 11-20


def test_prune_of_days_no_criterion_rests_on_needs_no_force(tmp_path):
    """Telemetry on 08-01 .. 08-05 and 11-20; --keep-days 100 from D = 11-20 cuts at 08-12.
    The oldest day any criterion reads as of 11-20 is MAC's 11-20 - (29 + 29) = 09-23, so
    removing 08-01 .. 08-05 (5 rows) changes no criterion and needs no --force."""
    times = [f"2026-08-0{d}T10:00:00Z" for d in range(1, 6)] + ["2026-11-20T10:00:00Z"]
    store = tmp_path / "store.duckdb"
    ingest(store, write_csv(tmp_path / "days.csv", [{"time": t, "status": 200} for t in times]))
    result = cli("store", "prune", "--keep-days", 100, "--store", store)
    assert result.exit_code == 0, result.output
    assert "deleted 5 requests" in result.stderr
    assert counts(store)[0] == 1


def test_store_info_without_a_store_suggests_what_it_takes(tmp_path):
    # Issue 16 item 14: `store info` has no --telemetry; it must not suggest one.
    result = cli("store", "info", "--store", tmp_path / "absent.duckdb")
    assert result.exit_code == 2
    assert "absent.duckdb: no store here" in result.stderr
    assert "--store PATH" in result.stderr and "--telemetry" not in result.stderr
