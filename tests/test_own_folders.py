"""Every test works in its own temporary folder, and the run fails if a test leaves anything in
the checkout (issue 16 item 19: test_review.py's module fixture ran `request` in the
checkout, adding a ledger row to ./.connector-ga/store.duckdb on every run)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import CHECKOUT, checkout_state


@pytest.fixture(scope="module")
def module_folder() -> Path:
    return Path.cwd()


def test_a_test_runs_in_its_own_tmp_path(tmp_path):
    assert Path.cwd() == tmp_path


def test_a_module_fixture_runs_outside_the_checkout(module_folder):
    assert not module_folder.is_relative_to(CHECKOUT)


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def test_the_guard_sees_a_store_written_or_appended_to(tmp_path):
    """The session's guard (conftest.checkout_state, before and after) on a git checkout of
    its own: a new ignored .connector-ga/store.duckdb is seen, a row appended to it too."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / ".gitignore").write_text(".connector-ga/\n", encoding="utf-8")
    before = checkout_state(repo)
    store = repo / ".connector-ga" / "store.duckdb"
    store.parent.mkdir()
    store.write_bytes(b"1")
    after = checkout_state(repo)
    assert {"!! .connector-ga/", ".connector-ga/store.duckdb 1 bytes"} <= {
        line.rsplit(" ", 1)[0] if line.startswith(".connector-ga/") else line
        for line in after - before
    }
    store.write_bytes(b"12")  # appended to: its size changes
    assert checkout_state(repo) - after  # ledger rows added to an existing store are seen too


def test_the_guard_is_off_outside_a_git_checkout(tmp_path):
    assert checkout_state(tmp_path) is None
