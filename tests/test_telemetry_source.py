"""Issue 16 item 5: the CLI and the library read the same telemetry, by one rule (-t, then
--store, then ga.toml's paths, then the default store when it holds telemetry), and every
output says what it read (`data_quality.source` in the JSON, `read: …` in the terminal)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import write_csv
from typer.testing import CliRunner

import connector_ga.api as ga
from connector_ga.cli import app

runner = CliRunner()


def _rows(count: int, minute: int = 0) -> list[dict]:
    return [
        {
            "time": f"2026-11-20T10:{minute:02d}:{i:02d}Z",
            "status": 200,
            "connector": "contoso-tasks",
            "connection_id": f"c{i % 3}",
            "user_id": f"u{i % 2}",  # with users: an export of a store without any fails apart
        }
        for i in range(count)
    ]


def _ga_toml(paths: list[str] | None) -> str:
    lines = ["[connector]", 'id = "contoso-tasks"', "preview_since = 2026-03-02"]
    if paths is not None:
        lines += ["[telemetry]", "paths = [" + ", ".join(f'"{p}"' for p in paths) + "]"]
    return "\n".join(lines) + "\n"


def _folder(tmp_path: Path, paths: list[str] | None) -> None:
    """A store of 40 rows (the default one, ./.connector-ga/store.duckdb) and logs/a.csv
    (20 rows) + logs/b.csv (10 rows) that ga.toml may name."""
    write_csv(tmp_path / "stored.csv", _rows(40))
    result = runner.invoke(app, ["ingest", "stored.csv"])
    assert result.exit_code == 0, result.output
    (tmp_path / "logs").mkdir()
    write_csv(tmp_path / "logs" / "a.csv", _rows(20, minute=1))
    write_csv(tmp_path / "logs" / "b.csv", _rows(10, minute=2))
    (tmp_path / "ga.toml").write_text(_ga_toml(paths))


def _cli_json(*args: str) -> dict:
    result = runner.invoke(app, ["check", *args, "--json", "-"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_with_a_store_and_ga_toml_paths_both_read_the_paths(tmp_path):
    _folder(tmp_path, ["logs/*.csv"])
    library = ga.check("ga.toml")
    cli = _cli_json()
    # ga.toml's paths come before the default store: 20 + 10 = 30 rows, not the store's 40.
    assert library.data_quality.rows == 30
    assert cli["data_quality"]["rows"] == 30
    files = {"kind": "files", "paths": ["logs/a.csv", "logs/b.csv"], "version": None}
    assert library.data_quality.source.model_dump() == files
    assert cli["data_quality"]["source"] == files


def test_without_paths_both_read_the_default_store(tmp_path):
    _folder(tmp_path, None)
    library = ga.check("ga.toml")
    cli = _cli_json()
    assert library.data_quality.rows == cli["data_quality"]["rows"] == 40  # the store's 40
    # One ingest into a new store: one publish, version 1.
    store = {"kind": "store", "paths": [".connector-ga/store.duckdb"], "version": 1}
    assert library.data_quality.source.model_dump() == store
    assert cli["data_quality"]["source"] == store


def test_t_comes_first_then_store_then_the_paths(tmp_path):
    _folder(tmp_path, ["logs/*.csv"])
    given = _cli_json("-t", "logs/b.csv", "--store", ".connector-ga/store.duckdb")
    assert given["data_quality"]["rows"] == 10  # b.csv alone
    assert given["data_quality"]["source"]["paths"] == ["logs/b.csv"]
    stored = _cli_json("--store", ".connector-ga/store.duckdb")
    assert stored["data_quality"]["rows"] == 40  # --store wins over ga.toml's paths
    assert stored["data_quality"]["source"]["kind"] == "store"
    library = ga.check("ga.toml", store=".connector-ga/store.duckdb")
    assert library.data_quality.rows == 40


def test_an_export_is_named_as_one(tmp_path):
    _folder(tmp_path, None)
    result = runner.invoke(app, ["store", "export", "out"])
    assert result.exit_code == 0, result.output
    exported = _cli_json("-t", "out")
    assert exported["data_quality"]["source"] == {
        "kind": "export",
        "paths": ["out"],
        "version": None,
    }
    assert exported["data_quality"]["rows"] == 40  # the store's rows, exported


def test_nothing_to_read_is_one_line(tmp_path):
    (tmp_path / "ga.toml").write_text(_ga_toml(None))
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: no telemetry: pass --telemetry PATH, ingest into a store (`connector-ga "
        "ingest FILES`), or set [telemetry] paths in ga.toml"
    ]


def test_the_terminal_ends_with_what_it_read(tmp_path):
    _folder(tmp_path, ["logs/*.csv"])
    files = runner.invoke(app, ["check"], env={"COLUMNS": "200"})
    lines = files.output.strip().splitlines()
    assert lines[-2].startswith("policy power-platform-ga ")
    assert lines[-1] == "read: 2 files: logs/a.csv, logs/b.csv"
    stored = runner.invoke(app, ["check", "--store", ".connector-ga/store.duckdb"])
    assert stored.output.strip().splitlines()[-1] == (
        "read: store .connector-ga/store.duckdb (version 1)"
    )
    one = runner.invoke(app, ["check", "-t", "logs/a.csv"])
    assert one.output.strip().splitlines()[-1] == "read: 1 file: logs/a.csv"
