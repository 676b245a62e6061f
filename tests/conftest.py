"""Shared fixtures: small telemetry files written from lists of rows."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from connector_ga.schema import CANONICAL_COLUMNS as COLUMNS  # noqa: E402

CHECKOUT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _away_from_checkout(tmp_path_factory):
    """Session and module fixtures run in a temporary folder, not in the checkout: what a
    command writes in the current folder (./.connector-ga/store.duckdb, Spark's
    spark-warehouse) lands there."""
    folder = tmp_path_factory.mktemp("cwd")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        yield folder


@pytest.fixture(autouse=True)
def _own_folder(_away_from_checkout, tmp_path, monkeypatch):
    """Every test runs in its own temporary folder (its tmp_path)."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _own_config_folder(tmp_path_factory, monkeypatch):
    """Every test has its own user config folder (where the local salt lives) and no
    CONNECTOR_GA_SALT: nothing is written in the real ~/.config, and no test depends on
    another's salt."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.delenv("CONNECTOR_GA_SALT", raising=False)


def write_csv(path: Path, rows: list[dict], columns: tuple[str, ...] | None = None) -> Path:
    """Write canonical rows as CSV; missing keys are empty cells."""
    columns = (
        columns or tuple(c for c in COLUMNS if any(c in r for r in rows)) or ("time", "status")
    )
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return path


def connections_by_rank(results: dict[str, dict]) -> dict[str, dict]:
    """Each connector's JSON result with its fix plan's connections named by rank: they are
    salted pseudonyms (the store's salt, or the user's local salt),
    so two checks that must agree are compared by rank only; and without what each read
    (`data_quality.source`: a store, an export or files, by design not the same)."""
    for data in results.values():
        (data.get("data_quality") or {}).pop("source", None)
        for k, c in enumerate((data.get("fix_plan") or {}).get("connections", [])):
            c["connection"] = f"#{k}"
    return results


def spark_missing() -> str | None:
    """Why Spark cannot run here, or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -e '.[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (make test installs one)"
    return None


def require_spark() -> None:
    """Skip when Spark cannot run here (outside the project: no PySpark or no Java), except
    in CI, where it fails."""
    missing = spark_missing()
    if missing and os.environ.get("CI"):
        pytest.fail(f"Spark engine: {missing}")
    if missing:
        pytest.skip(f"Spark engine: {missing}")


@pytest.fixture(scope="session", params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def engine_name(request) -> str:
    """The metric engine a test runs on: every metric case runs on DuckDB and on Spark.
    Without PySpark or Java the Spark half is skipped, except in CI, where it fails."""
    if request.param == "spark":
        require_spark()
    return request.param


@pytest.fixture
def csv_file(tmp_path):
    """csv_file(rows, name='t.csv') -> path of a canonical CSV in a temp folder."""

    def make(rows: list[dict], name: str = "t.csv", columns=None) -> Path:
        return write_csv(tmp_path / name, rows, columns)

    return make


@pytest.fixture
def jsonl_file(tmp_path):
    def make(rows: list[dict], name: str = "t.jsonl") -> Path:
        return write_jsonl(tmp_path / name, rows)

    return make


# The modules that take longest, longest first. `make test` runs modules on two pytest-xdist
# workers (`--dist loadscope`), which hand them out in collection order: starting the long
# ones first keeps one of them from being the last thing running.
LONGEST_FIRST = (
    "test_spark_cluster",
    "test_history",
    "test_metrics",
    "test_attribution",
    "test_sources",
    "test_store_rollups",
    "test_engines",
    "test_spark_parquet",
    "test_cli",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: k for k, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.module.__name__, len(rank)))  # stable sort


# --- nothing left in the checkout ---------------------------------------------------------------

# Written by Python and the tools themselves, not by a test.
_CACHES = ("__pycache__", ".pytest_cache", ".ruff_cache")


def checkout_state(root: Path) -> set[str] | None:
    """What a test could leave in a git checkout: the new files `git status` shows (ignored
    ones too; not the edits to tracked files, which a developer makes during a run) and each
    file of the product's default folder, ./.connector-ga/, with its size and time. None
    when `root` is not a git checkout (an unpacked sdist)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--ignored"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    state = {
        line
        for line in done.stdout.splitlines()
        if line.startswith(("??", "!!")) and not any(c in line for c in _CACHES)
    }
    for file in sorted((root / ".connector-ga").rglob("*")):
        if file.is_file():
            stat = file.stat()
            state.add(f"{file.relative_to(root)} {stat.st_size} bytes {stat.st_mtime_ns}")
    return state


def _is_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionstart(session):
    # Hypothesis keeps its folder (.hypothesis/constants, written as a module's tests are
    # collected) in a temporary folder, not in the current one.
    from hypothesis.configuration import set_hypothesis_home_dir

    session.config._hypothesis_home = tempfile.mkdtemp(prefix="cga-hypothesis-")
    set_hypothesis_home_dir(session.config._hypothesis_home)
    if not _is_xdist_worker(session.config):
        session.config._checkout_before = checkout_state(CHECKOUT)


def pytest_sessionfinish(session, exitstatus):
    """The run fails if its tests changed the checkout (a file written, a store appended to)."""
    if home := getattr(session.config, "_hypothesis_home", None):
        shutil.rmtree(home, ignore_errors=True)
    before = getattr(session.config, "_checkout_before", None)
    if before is None or _is_xdist_worker(session.config):
        return
    after = checkout_state(CHECKOUT) or set()
    changed = sorted(after - before)
    if not changed:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_sep("=", f"the tests changed the checkout {CHECKOUT}", red=True)
        for line in changed:
            reporter.write_line(f"  {line}")
        reporter.write_line("  each test works in its own folder (tmp_path): see tests/conftest.py")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def ga_toml(
    folder: Path,
    *,
    connector_id: str = "contoso-tasks",
    title: str = "Contoso Tasks",
    publisher: str | None = None,
    preview_since: str = "2026-01-05",
    paths: list[str] | None = None,
) -> Path:
    """A ga.toml declaring everything a `ready` needs (production backend, support)."""
    folder.mkdir(parents=True, exist_ok=True)
    publisher_line = f'publisher = "{publisher}"\n' if publisher else ""
    telemetry = f"paths = {json.dumps(paths)}\n" if paths else ""
    text = f"""\
[connector]
id = "{connector_id}"
title = "{title}"
{publisher_line}preview_since = {preview_since}

[telemetry]
{telemetry}format = "auto"

[backend]
status = "production"
evidence = "https://status.contoso.example"

[support.backend]
hours = ["Mon-Fri 08:00-17:00"]
timezone = "America/Los_Angeles"

[support.connector]
hours = ["Mon-Fri 08:00-17:00"]
timezone = "America/Los_Angeles"
contact = "help@contoso.example"
"""
    path = folder / "ga.toml"
    path.write_text(text, encoding="utf-8")
    return path
