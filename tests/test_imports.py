"""A command imports what it uses (issue 15, part 5).

Each case runs the command in a fresh interpreter and lists the modules it loaded: the
start-up path (`--version`, `--help`) loads no engine, and a plain `check` of a local file
loads no chart, Spark, dashboard or Azure library. Times are measured in bench/, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

RUN = """
import json, sys
from connector_ga.cli import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)
"""

ENGINES = {"duckdb", "ibis", "pyarrow", "pandas", "numpy"}
# Typer validates option values with Pydantic: a command that runs needs it, a help does not.
NOT_FOR_HELP = ENGINES | {"pydantic", "jinja2"} | {"altair", "pyspark", "fastapi", "azure"}
NOT_FOR_CHECK = {"altair", "vl_convert", "pyspark", "fastapi", "uvicorn", "starlette", "azure"}


def loaded(*args: str, cwd=None) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", RUN, *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["check", "--help"]])
def test_start_up_loads_no_engine(args: list[str]) -> None:
    assert loaded(*args) & NOT_FOR_HELP == set()


def run_cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "connector_ga.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    "words", [[], ["check"], ["store"], ["store", "export"], ["ingest"], ["request"]]
)
def test_help_built_for_the_words_typed_is_the_whole_trees_help(words: list[str]) -> None:
    # A process builds only the commands its words name (the top-level list without
    # options); the whole tree, as CliRunner builds it, must print the same help.
    from typer.testing import CliRunner

    from connector_ga.cli import app

    whole = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "120"}, prog_name="x")
    assert whole.exit_code == 0, whole.output
    narrowed = run_cli(*words, "--help")
    body = lambda text: text.split("Usage:", 1)[1].split("\n", 1)[1]  # noqa: E731
    assert body(narrowed) == body(whole.output)


def test_an_unknown_command_still_suggests_the_known_ones() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "connector_ga.cli", "chek"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "'check'" in done.stderr


def test_a_plain_check_loads_no_chart_spark_dashboard_or_azure(tmp_path) -> None:
    telemetry = tmp_path / "t.parquet"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "connector_ga.cli",
            "simulate",
            "--out",
            str(telemetry),
            "--days",
            "35",
            "--requests-per-day",
            "300",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    modules = loaded(
        "check", "-t", str(telemetry), "--json", str(tmp_path / "r.json"), cwd=tmp_path
    )
    assert "duckdb" in modules  # the check did run on its engine
    assert (tmp_path / "r.json").exists()
    assert modules & NOT_FOR_CHECK == set()


def test_a_check_from_a_store_loads_no_engine_but_duckdb(tmp_path) -> None:
    # A store is read by DuckDB's own API and judged in a local session: no Ibis (nor the
    # SQL compilers it brings), no pandas, no PyArrow on the way.
    telemetry, store = tmp_path / "t.parquet", tmp_path / "s.duckdb"
    cli = [sys.executable, "-m", "connector_ga.cli"]
    simulate = ["simulate", "--out", str(telemetry), "--days", "35", "--requests-per-day", "300"]
    subprocess.run([*cli, *simulate], check=True, capture_output=True, timeout=300)
    ingest = ["ingest", str(telemetry), "--store", str(store)]
    subprocess.run([*cli, *ingest], check=True, capture_output=True, timeout=300)
    out = tmp_path / "r.json"
    modules = loaded("check", "--store", str(store), "--json", str(out), cwd=tmp_path)
    assert json.loads(out.read_text())["connector"] == "contoso-tasks"  # it did judge
    assert "duckdb" in modules
    assert modules & {"ibis", "sqlglot", "pandas", "pyarrow"} == set()
