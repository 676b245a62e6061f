"""Two processes on one store: the second waits (bounded by --wait), naming the holder.

The holder is a real second process that keeps the store file open for writing, as a
running ingest does; the commands under test run as real processes too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import write_csv

CLI = [sys.executable, "-m", "connector_ga.cli"]
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}

HOLD = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])  # read-write: the lock an ingest holds
    print("held", flush=True)
    sys.stdin.readline()  # until the test lets go (or kills it)
    con.close()
    """
)


def rows(day: str, n: int, prefix: str) -> list[dict]:
    return [
        {
            "time": f"{day}T10:00:{i:02d}Z",
            "status": 200,
            "connector": "waiting",
            "connection_id": f"c{i % 3}",
            "user_id": f"u{i}",
            "request_id": f"{prefix}-{i}",
        }
        for i in range(n)
    ]


def cli(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *map(str, args)], env=ENV, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def store(tmp_path) -> Path:
    """A store holding 5 requests of 2026-11-19 (file a.csv)."""
    path = tmp_path / "store.duckdb"
    first = write_csv(tmp_path / "a.csv", rows("2026-11-19", 5, "a"))
    done = cli("ingest", first, "--store", path)
    assert done.returncode == 0, done.stderr
    return path


class Holder:
    """A second process holding the store for writing until `release()` (or killed)."""

    def __init__(self, store: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(store)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.pid = self.process.pid
        assert self.process.stdout.readline().strip() == "held"  # it prints once, or exits

    def release(self) -> None:
        self.process.stdin.write("go\n")
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture
def hold(store):
    """hold() -> a Holder of the store (killed after the test if still running)."""
    held: list[Holder] = []

    def start() -> Holder:
        held.append(Holder(store))
        return held[-1]

    yield start
    for holder in held:
        holder.process.kill()
        holder.process.wait(timeout=30)


def waits_then_runs(holder: Holder, *args) -> subprocess.CompletedProcess:
    """Start a command while the store is held; once it says it waits, let the store go.
    Its first line on stderr is the waiting line (nothing else is printed before)."""
    process = subprocess.Popen(
        [*CLI, *map(str, args)], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    first = process.stderr.readline()  # bounded: the command waits at most its --wait
    holder.release()
    out, rest = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, first + rest)


def stored_rows(store: Path) -> int:
    info = cli("store", "info", "--store", store, "--json")
    assert info.returncode == 0, info.stderr
    return json.loads(info.stdout)["rows"]


def test_a_second_ingest_waits_for_the_holder_then_proceeds(tmp_path, store, hold):
    holder = hold()
    second = write_csv(tmp_path / "b.csv", rows("2026-11-20", 4, "b"))
    done = waits_then_runs(holder, "ingest", second, "--store", store, "--wait", 60)
    assert done.returncode == 0, done.stderr
    expected = f"waiting up to 60 s for the store: held by process {holder.pid} (python -c"
    assert done.stderr.startswith(expected), done.stderr
    assert "Could not set lock" not in done.stderr and "not a connector-ga store" not in done.stderr
    assert stored_rows(store) == 5 + 4  # a.csv's 5 and b.csv's 4 requests


def test_past_the_limit_it_is_one_line_naming_the_holder_and_exit_2(tmp_path, store, hold):
    pid = hold().pid
    second = write_csv(tmp_path / "b.csv", rows("2026-11-20", 4, "b"))
    done = cli("ingest", second, "--store", store, "--wait", 1)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("waiting up to 1 s for the store")
    assert len(lines) == 2, done.stderr
    assert lines[1].startswith(f"error: {store}: still held by process {pid} (python")
    assert "--wait SECONDS" in lines[1]
    assert "Traceback" not in done.stderr


def test_the_store_is_as_before_after_a_refused_ingest(tmp_path, store, hold):
    holder = hold()
    second = write_csv(tmp_path / "b.csv", rows("2026-11-20", 4, "b"))
    assert cli("ingest", second, "--store", store, "--wait", 0).returncode == 2
    holder.release()
    assert stored_rows(store) == 5  # only a.csv


def test_store_forget_waits_its_turn_and_past_the_limit_changes_nothing(tmp_path, store, hold):
    holder = hold()
    done = cli("store", "forget", tmp_path / "a.csv", "--store", store, "--wait", 0)
    assert done.returncode == 2
    assert f"still held by process {holder.pid}" in done.stderr
    holder.release()
    assert stored_rows(store) == 5  # a.csv is still there
    holder = hold()
    done = waits_then_runs(holder, "store", "forget", tmp_path / "a.csv", "--store", store)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(
        f"waiting up to 600 s for the store: held by process {holder.pid}"
    )
    assert stored_rows(store) == 0  # a.csv's 5 requests gone


def test_check_and_store_info_wait_the_same_way(store, hold):
    holder = hold()
    check = waits_then_runs(holder, "check", "--store", store, "--wait", 60, "--json", "-")
    # 5 requests on one day: nothing to judge usage by, so a verdict: exit 0 or 1, not 2.
    assert check.returncode in (0, 1), check.stderr
    assert json.loads(check.stdout)["metrics"]["requests"] == 5
    assert check.stderr.startswith(
        f"waiting up to 60 s for the store: held by process {holder.pid}"
    )
    holder = hold()
    info = waits_then_runs(holder, "store", "info", "--store", store, "--json", "--wait", 60)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["rows"] == 5
    assert info.stderr.startswith(f"waiting up to 60 s for the store: held by process {holder.pid}")


def test_a_negative_wait_is_bad_usage(store):
    done = cli("store", "info", "--store", store, "--wait", -1)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --wait -1: expected a number of seconds ≥ 0"


LOCK = textwrap.dedent(
    """
    import fcntl, os, sys
    handle = open(sys.argv[1], "a+")
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # the writers' turn, as an ingest takes it
    handle.write(f"{os.getpid()} connector-ga ingest logs\\n")
    handle.flush()
    print("held", flush=True)
    sys.stdin.readline()
    """
)


def test_a_writer_past_the_limit_is_one_line_naming_the_holder_not_a_bug(tmp_path, store):
    lock = subprocess.Popen(
        [sys.executable, "-c", LOCK, str(store) + ".lock"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert lock.stdout.readline().strip() == "held"
        second = write_csv(tmp_path / "b.csv", rows("2026-11-20", 4, "b"))
        done = cli("ingest", second, "--store", store, "--wait", 1)
    finally:
        lock.kill()
        lock.wait(timeout=30)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 2, done.stderr  # the waiting line, then the error
    assert lines[1].startswith(f"error: {store}: still held by process {lock.pid} (python")
    assert "--wait SECONDS" in lines[1]
    assert "unexpected" not in done.stderr and "a bug in connector-ga" not in done.stderr
