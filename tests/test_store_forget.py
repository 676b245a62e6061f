"""An ingest applies the reject limit, and an ingested file can be taken back out (issue 16
item 7; DESIGN.md "Bad input, data and secrets"):

- `ingest` refuses the files of an ingest whose bad rows exceed `--max-reject-rate` (the
  check's option and default, 1%): one line naming the file and the rate, exit 2, the store
  exactly as it was (version, rows, files, rejects, rollups, segment files);
- `store forget FILE` (a path as recorded, or a content hash or a prefix of ≥ 8 hex digits)
  removes the file's requests, its part of the rollups and its rejects in one publish: the
  check then gives the figures of a store that never had the file.

Real DuckDB stores in tmp_path, driven through the CLI (typer's CliRunner). Every expected
number is counted by hand in the comment next to it.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from conftest import connections_by_rank, write_csv
from test_store_rollups import V1_DDL
from typer.testing import CliRunner

from connector_ga.cli import app
from connector_ga.store import Store, file_hash

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
ROLLUPS = ("daily", "weekly_users", "operations", "connection_operations")


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env=ENV)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def good_rows() -> list[dict]:
    """a.csv: 2026-11-01 .. 11-20, 10 requests a day at 00:00 .. 09:00 = 200, all 200 OK;
    connections k0, k1; users ua0, ua1, ua2."""
    return [
        {
            "time": f"2026-11-{1 + d:02d}T{h:02d}:00:00Z",
            "status": 200,
            "connector": "contoso-tasks",
            "connection_id": f"k{h % 2}",
            "user_id": f"ua{h % 3}",
            "request_id": f"a{d}-{h}",
        }
        for d in range(20)
        for h in range(10)
    ]


def bad_rows() -> list[dict]:
    """b.csv: 100 rows on 2026-11-12 .. 11-21 (10 a day at 12:00 .. 21:00), 11-21 a day a.csv
    does not have. Row i: status "abc" when i % 20 == 3 (i = 3, 23, 43, 63, 83: 5 bad rows,
    5%); else a connector fault (500) when i % 5 == 0 (i = 0, 5, .., 95: 20, none of them
    bad); else 200. Connections kb0, kb1; users ub0 .. ub3, none of a.csv's."""
    out = []
    for i in range(100):
        status = "abc" if i % 20 == 3 else 500 if i % 5 == 0 else 200
        out.append(
            {
                "time": f"2026-11-{12 + i // 10:02d}T{12 + i % 10:02d}:00:00Z",
                "status": status,
                "connector": "contoso-tasks",
                "connection_id": f"kb{i % 2}",
                "user_id": f"ub{i % 4}",
                "request_id": f"b{i}",
                "fault": "connector" if status == 500 else "",
            }
        )
    return out


@pytest.fixture
def files(tmp_path, monkeypatch) -> tuple[Path, Path]:
    monkeypatch.chdir(tmp_path)  # paths are recorded as given from here: a.csv, b.csv
    return write_csv(Path("a.csv"), good_rows()), write_csv(Path("b.csv"), bad_rows())


def state(store: Path) -> dict:
    """Everything a publish changes: the version, the tables' rows, the segment files."""
    with Store.open(store) as opened:
        version = opened.version()
    con = duckdb.connect(str(store), read_only=True)
    try:
        tables = ["files", "rejects", "segments", "spans"] + [f"rollup_{n}" for n in ROLLUPS]
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        counts["requests"] = con.execute("SELECT coalesce(sum(rows), 0) FROM spans").fetchone()[0]
    finally:
        con.close()
    folder = store.with_name(store.name + ".segments")
    on_disk = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    return {"version": version, **counts, "segment_files": on_disk}


def rollups_without_pseudonyms(store: Path) -> dict[str, list[tuple]]:
    """The rollups, each store's salted ids left out (they differ between stores)."""
    queries = {
        "daily": "SELECT connector, day, fault, status_class, unattributed, has_user, "
        "count(DISTINCT connection_id), sum(requests), sum(rows), max(max_weight) "
        "FROM rollup_daily GROUP BY ALL",
        "weekly_users": "SELECT connector, week, count(*) FROM rollup_weekly_users GROUP BY ALL",
        "operations": "SELECT * FROM rollup_operations",
        "connection_operations": "SELECT connector, day, operation, unattributed, "
        "count(*), sum(connector_faults) FROM rollup_connection_operations GROUP BY ALL",
    }
    con = duckdb.connect(str(store), read_only=True)
    try:
        return {name: sorted(con.execute(sql).fetchall()) for name, sql in queries.items()}
    finally:
        con.close()


def check(store: Path, *options) -> dict:
    result = cli("check", "--store", store, "--json", "-", *options)
    assert result.exit_code in (0, 1), result.output
    return connections_by_rank({"r": json.loads(result.stdout)})["r"]


def figures(result: dict) -> dict:
    """What a store's figures are: the metrics and the input quality, the verdict."""
    return {k: result[k] for k in ("metrics", "data_quality", "verdict", "criteria", "as_of")}


# ---- ingest applies the reject limit --------------------------------------------------------


def test_an_ingest_above_the_reject_limit_is_refused_and_the_store_is_unchanged(files):
    a, b = files
    store = Path("s.duckdb")
    assert cli("ingest", a, "--store", store).exit_code == 0
    before = state(store)
    assert before["version"] == 1 and before["requests"] == 200 and before["rejects"] == 0

    refused = cli("ingest", b, "--store", store)
    # 5 bad rows of 100 = 5.00%, more than the default 1.00% (the policy's, as for check).
    assert refused.exit_code == 2, refused.output
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: b.csv: 5 of 100 rows rejected (5.00%, more than the 1.00% allowed by "
        "--max-reject-rate): nothing was ingested; fix the telemetry or raise the limit"
    )
    assert "b.csv:5: status" in refused.stderr  # row i = 3 is line 5 (header, i = 0 .. 3)
    assert "Traceback" not in refused.output
    assert state(store) == before

    # Both files in one ingest (a.csv again, already stored, counts nothing): still 5 of 100.
    assert cli("ingest", a, b, "--store", store).exit_code == 2
    assert state(store) == before

    accepted = cli("ingest", b, "--store", store, "--max-reject-rate", "0.1")
    assert accepted.exit_code == 0, accepted.output
    after = state(store)
    # 95 good rows stored, 5 rejects kept, one publish more.
    assert (after["version"], after["requests"], after["files"], after["rejects"]) == (
        2,
        295,
        2,
        5,
    )
    assert cli("ingest", b, "--store", store, "--max-reject-rate", "2").exit_code == 2


def test_the_limit_is_over_the_rows_of_the_files_of_one_ingest(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    b = write_csv(Path("b.csv"), bad_rows())
    clean = [
        {"time": f"2026-11-10T{i // 60:02d}:{i % 60:02d}:00Z", "status": 200} for i in range(400)
    ]
    c = write_csv(Path("c.csv"), clean[:100])
    d = write_csv(Path("d.csv"), clean[100:])
    store = Path("s.duckdb")
    # b + c: 5 bad rows of 200 = 2.50% > 1%.
    refused = cli("ingest", b, c, "--store", store)
    assert refused.exit_code == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: 5 of the 200 rows of these 2 files rejected (2.50%, more than the 1.00% "
        "allowed by --max-reject-rate), 5 in b.csv: nothing was ingested; fix the telemetry "
        "or raise the limit"
    )
    assert not store.exists()  # the store this refused ingest would have made is not left
    # b + c + d: 5 of 500 = 1.00%, not more than 1%: accepted, 95 + 100 + 300 = 495 stored.
    accepted = cli("ingest", b, c, d, "--store", store)
    assert accepted.exit_code == 0, accepted.output
    assert state(store)["requests"] == 495


# ---- store forget ---------------------------------------------------------------------------


def test_forget_gives_the_figures_of_a_store_that_never_had_the_file(files):
    a, b = files
    never = Path("never.duckdb")
    assert cli("ingest", a, "--store", never).exit_code == 0
    store = Path("s.duckdb")
    assert cli("ingest", a, "--store", store).exit_code == 0
    assert cli("ingest", b, "--store", store, "--max-reject-rate", "0.1").exit_code == 0

    # With b.csv: 300 rows, 5 rejected = 1.67% > 1%: every check of the store stops (the
    # issue's report).
    stopped = cli("check", "--store", store)
    assert stopped.exit_code == 2
    assert "5 of 300 rows rejected (1.67%" in stopped.stderr
    both = check(store, "--max-reject-rate", "0.1")["metrics"]
    # 200 + 95 = 295 requests, 20 connector faults; connections k0, k1, kb0, kb1.
    assert (both["requests"], both["faults"]["connector"], both["connections"]) == (295, 20, 4)
    assert both["last_day"] == "2026-11-21"

    forgot = cli("store", "forget", b, "--store", store)
    assert forgot.exit_code == 0, forgot.output
    assert "forgot b.csv" in forgot.stderr and "95 requests, 5 rejected rows" in forgot.stderr
    after = state(store)
    assert after["version"] == 3  # ingest, ingest, forget: one publish each
    assert (after["requests"], after["files"], after["rejects"]) == (200, 1, 0)

    result = check(store)  # the default limit again: 0 of 200 rejected
    m = result["metrics"]
    # a.csv alone: 200 requests, 200 eligible, no fault: availability 1 - 0/200 = 1.0;
    # connections k0, k1; 3 users (ua0 .. ua2) in each week; last day 11-20, as of 11-20.
    assert (m["requests"], m["eligible"], m["faults"]["connector"]) == (200, 200, 0)
    assert m["availability"] == 1.0 and m["connections"] == 2
    assert {w["week"]: w["users"] for w in m["wau"]} == {
        "2026-W44": 3,
        "2026-W45": 3,
        "2026-W46": 3,
    }
    assert (m["last_day"], result["as_of"]) == ("2026-11-20", "2026-11-20")
    assert result["data_quality"]["rejected_rows"] == 0
    assert result["data_quality"]["rows"] == 200
    assert figures(result) == figures(check(never))
    never_state = state(never)
    for table in ["spans", "segments"] + [f"rollup_{n}" for n in ROLLUPS]:
        assert after[table] == never_state[table], table
    assert rollups_without_pseudonyms(store) == rollups_without_pseudonyms(never)
    # b.csv's segment files are gone from the disk too.
    assert len(after["segment_files"]) == len(never_state["segment_files"])


def test_forget_by_content_hash_or_a_prefix_of_it(files):
    a, b = files
    store = Path("s.duckdb")
    never = Path("never.duckdb")
    assert cli("ingest", a, "--store", never).exit_code == 0
    assert cli("ingest", a, "--store", store).exit_code == 0
    digest = file_hash(str(b))
    for key in (digest, digest[:8].upper()):  # the whole hash, then 8 hex digits
        assert cli("ingest", b, "--store", store, "--max-reject-rate", "0.1").exit_code == 0
        assert state(store)["requests"] == 295  # forgotten, b.csv can be ingested again
        forgot = cli("store", "forget", key, "--store", store)
        assert forgot.exit_code == 0, forgot.output
        assert f"forgot b.csv ({digest[:12]})" in forgot.stderr
        assert figures(check(store)) == figures(check(never))
    # A file whose content was ingested, named by another path: its content hash.
    assert cli("ingest", b, "--store", store, "--max-reject-rate", "0.1").exit_code == 0
    copy = Path("copy-of-b.csv")
    copy.write_bytes(b.read_bytes())
    assert cli("store", "forget", copy, "--store", store).exit_code == 0
    assert state(store)["requests"] == 200


def test_an_unknown_or_ambiguous_file_changes_nothing(files):
    a, b = files
    store = Path("s.duckdb")
    assert cli("ingest", a, "--store", store).exit_code == 0
    before = state(store)
    digest = file_hash(str(a))
    for key, message in [
        ("logs/other.csv", "logs/other.csv: no ingested file has this path or content hash"),
        (digest[:7], f"{digest[:7]}: no ingested file"),  # 7 hex digits: too few to name one
        ("deadbeef", "deadbeef: no ingested file"),  # a hash prefix no file has
        (b, "b.csv: no ingested file"),  # on disk, never ingested
    ]:
        # An unknown key among known ones: nothing is forgotten.
        refused = cli("store", "forget", a, key, "--store", store)
        assert refused.exit_code == 2, (key, refused.output)
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], lines
        assert state(store) == before
    # The same path ingested twice with different content: named by its hash only.
    extra = "2026-11-20T23:00:00Z,200,contoso-tasks,k0,ua0,a-extra\n"
    a.write_text(a.read_text(encoding="utf-8") + extra, "utf-8")
    assert cli("ingest", a, "--store", store).exit_code == 0
    before = state(store)
    refused = cli("store", "forget", a, "--store", store)
    assert refused.exit_code == 2
    assert "a.csv: 2 ingested files have this path" in refused.stderr
    assert digest[:12] in refused.stderr and "name one by its hash" in refused.stderr
    assert state(store) == before
    assert cli("store", "forget", digest[:12], "--store", store).exit_code == 0
    assert state(store)["requests"] == 1  # the second a.csv's one new request (11-20 23:00)
    missing = cli("store", "forget", a, "--store", "nowhere.duckdb")
    assert missing.exit_code == 2 and "nowhere.duckdb: no store here" in missing.stderr


def test_forget_writes_again_a_segment_file_other_files_share(tmp_path, monkeypatch):
    """A store of the first layout, upgraded, keeps all its requests in one segment folder
    whatever file they came from: forgetting one file writes it again without them."""
    monkeypatch.chdir(tmp_path)
    a = write_csv(Path("a.csv"), good_rows())
    b = write_csv(Path("b.csv"), [r for r in bad_rows() if r["status"] != "abc"])
    store = Path("old.duckdb")
    con = duckdb.connect(str(store))
    for statement in V1_DDL:
        con.execute(statement)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('salt', 'abc')")
    for digest, path, n, fault in (("a" * 64, a, 200, "NULL"), ("b" * 64, b, 95, "fault")):
        con.execute(
            "INSERT INTO files VALUES (?, ?, 'canonical', now(), ?, ?, 0, 0)",
            [digest, str(path), n, n],
        )
        con.execute(
            f"""INSERT INTO requests SELECT time::TIMESTAMPTZ, status, connector, NULL,
                sha256('abc' || connection_id), sha256('abc' || user_id), NULL, NULL, NULL,
                nullif({fault}, ''), NULL, 'public', request_id, 1, '{digest}'
                FROM read_csv('{path}', all_varchar = true)"""
        )
    con.close()
    assert state(store)["requests"] == 295  # upgraded: 200 + 95
    forgot = cli("store", "forget", "bbbbbbbb", "--store", store)
    assert forgot.exit_code == 0, forgot.output
    assert "95 requests" in forgot.stderr
    never = Path("never.duckdb")
    assert cli("ingest", a, "--store", never).exit_code == 0
    assert figures(check(store)) == figures(check(never))
    # The requests left: a.csv's 200, in a segment file written again.
    assert state(store)["requests"] == 200
    assert any("forgot-" in f for f in state(store)["segment_files"])


def test_forget_says_which_later_files_found_its_request_ids_already_stored(files):
    a, _ = files
    store = Path("s.duckdb")
    assert cli("ingest", a, "--store", store).exit_code == 0
    # 10 of a.csv's requests again (11-01's), in another file: already stored.
    again = write_csv(Path("again.csv"), good_rows()[:10])
    assert cli("ingest", again, "--store", store).exit_code == 0
    forgot = cli("store", "forget", a, "--store", store)
    assert forgot.exit_code == 0, forgot.output
    assert (
        "note: again.csv, ingested after a.csv, had requests already stored (same request_id); "
        "those that were a.csv's are not in the store now: forget and ingest them again"
    ) in forgot.stderr
    assert state(store)["requests"] == 0  # again.csv's 10 were a.csv's, not stored again


def test_store_help_lists_forget():
    result = cli("store", "--help")
    assert result.exit_code == 0
    assert "forget" in result.stdout
