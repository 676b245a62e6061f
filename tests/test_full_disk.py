"""A full disk, a read-only folder, a refused permission is one line (issue 18 item 2;
DESIGN.md "Faults and integrity"): in ingest, export, report, request and site it names the
file and the cause (with the free space for a full disk), exit 2, and leaves the store and
the earlier outputs as they were — not "unexpected IOException … (a bug)".

Real file systems: a small tmpfs filled to its last byte, and one remounted read-only (the
tests run as root, whom chmod does not stop; without the right to mount they are skipped,
saying so). Expected numbers are counted by hand.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_csv
from typer.testing import CliRunner

from connector_ga.cli import app

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
GA_TOML = """
[connector]
id = "contoso-tasks"
title = "Contoso Tasks"
publisher = "Contoso Ltd"

[support.connector]
hours = ["Mon-Fri 08:00-18:00"]
timezone = "UTC"
contact = "connectors@contoso.com"
"""


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env=ENV)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def rows_of(prefix: str) -> list[dict]:
    """5 days 2026-11-01 .. 11-05, 10 requests a day, the one at hour 0 a connector fault."""
    return [
        {
            "time": f"2026-11-{1 + d:02d}T{h:02d}:{0 if prefix == 'a' else 30:02d}:00Z",
            "status": 500 if h == 0 else 200,
            "connector": "contoso-tasks",
            "connection_id": f"k{h % 2}",
            "user_id": f"u{h % 3}",
            "request_id": f"{prefix}{d}-{h}",
        }
        for d in range(5)
        for h in range(10)
    ]


@pytest.fixture
def mount(tmp_path):
    """mount(name, size) -> a fresh tmpfs of that size at tmp_path/name, unmounted after."""
    mounted: list[Path] = []

    def make(name: str, size: str = "8m") -> Path:
        folder = tmp_path / name
        folder.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"needs a mount, refused: {done.stderr.strip() or done.returncode}")
        mounted.append(folder)
        return folder

    yield make
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def remount_read_only(folder: Path) -> None:
    done = subprocess.run(
        ["mount", "-o", "remount,ro", str(folder)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"needs a read-only remount, refused: {done.stderr.strip()}")


def fill(folder: Path) -> None:
    """Write into `folder` until the file system refuses even one more byte."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (1 << 16, 1 << 12, 1):
            while True:
                try:
                    os.write(fd, b"\0" * chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    assert os.statvfs(folder).f_bavail == 0


def state(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` but the filler and the writers' lock, with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in ("filler",) and not p.name.endswith(".lock")
    }


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "bug" not in lines[0], lines[0]
    return lines[0]


def test_ingest_onto_a_full_disk_is_one_line_and_stores_nothing(mount, tmp_path):
    disk = mount("disk", "8m")
    store = disk / "store.duckdb"
    write_csv(tmp_path / "a.csv", rows_of("a"))
    write_csv(tmp_path / "b.csv", rows_of("b"))
    assert cli("ingest", "a.csv", "--store", store).exit_code == 0
    before = state(disk)
    fill(disk)
    line = one_error_line(cli("ingest", "b.csv", "--store", store))
    # the disk is full to the last byte (fill asserts it), and the ingest wrote nothing
    assert "No space left on device (0 bytes free on " in line
    assert str(disk) in line
    assert state(disk) == before
    (disk / "filler").unlink()
    info = json.loads(cli("store", "info", "--store", store, "--json").stdout)
    # version 1 (a.csv's publish) and a.csv's 5 days x 10 = 50 requests: b.csv never landed
    assert (info["version"], info["rows"]) == (1, 50)


def test_export_onto_a_full_disk_keeps_the_earlier_export(mount, tmp_path):
    disk = mount("disk", "4m")
    write_csv(tmp_path / "a.csv", rows_of("a"))
    assert cli("ingest", "a.csv").exit_code == 0
    assert cli("store", "export", disk / "lake").exit_code == 0
    before = state(disk)
    fill(disk)
    line = one_error_line(cli("store", "export", disk / "lake", "--overwrite"))
    assert line.startswith(f"error: {disk / 'lake'}: No space left on device (0 bytes free")
    assert state(disk) == before  # the earlier export whole, no partial one beside it
    assert sorted(p.name for p in disk.iterdir()) == ["filler", "lake"]


def test_report_onto_a_full_disk_keeps_the_earlier_report(mount, tmp_path):
    disk = mount("disk", "4m")
    write_csv(tmp_path / "a.csv", rows_of("a"))
    report = disk / "report.html"
    assert cli("check", "-t", "a.csv", "--report", report).exit_code == 1  # 45 of 50: not ready
    before = state(disk)
    fill(disk)
    write_csv(tmp_path / "a.csv", rows_of("a")[1:])  # a different report would be written
    line = one_error_line(cli("check", "-t", "a.csv", "--report", report))
    assert line.startswith(f"error: {report}: No space left on device (0 bytes free")
    assert state(disk) == before  # the earlier report, and no temp file left


def test_a_read_only_folder_is_one_line_in_every_writing_command(mount, tmp_path):
    disk = mount("ro", "8m")
    store = disk / "store.duckdb"
    write_csv(tmp_path / "a.csv", rows_of("a"))
    write_csv(tmp_path / "b.csv", rows_of("b"))
    (tmp_path / "ga.toml").write_text(GA_TOML, encoding="utf-8")
    assert cli("ingest", "a.csv", "--store", store).exit_code == 0
    assert cli("site", "--store", store, "--out", disk / "site").exit_code == 0
    before = state(disk)
    remount_read_only(disk)
    commands = {
        "ingest": ["ingest", "b.csv", "--store", store],
        "export": ["store", "export", disk / "lake", "--store", store],
        "report": ["check", "-t", "a.csv", "--report", disk / "r.html"],
        "request": ["request", "-t", "a.csv", "--force", "--out", disk / "req"],
        "site": ["site", "--store", store, "--out", disk / "site"],
    }
    for name, args in commands.items():
        line = one_error_line(cli(*args))
        assert "Read-only file system" in line and str(disk) in line, (name, line)
    assert state(disk) == before  # the store and the earlier site as they were


def test_a_refused_permission_is_one_line(tmp_path):
    # As root, a folder's mode stops nobody: the command runs without the capabilities
    # that override file permissions (util-linux's setpriv), as an ordinary user would.
    write_csv(tmp_path / "a.csv", rows_of("a"))
    closed = tmp_path / "closed"
    closed.mkdir()
    closed.chmod(0o555)
    prefix = []
    if os.geteuid() == 0:
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "connector_ga.cli", "check", "-t", "a.csv"]
            + ["--report", str(closed / "r.html")],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={**os.environ, **ENV},
            timeout=300,
        )
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
        assert str(closed) in lines[0] and "Permission denied" in lines[0]
        assert not (closed / "r.html").exists()
    finally:
        closed.chmod(0o755)
