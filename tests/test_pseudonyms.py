"""Connection ids in reports, for telemetry read in place: salted, stable, never raw."""

from __future__ import annotations

import hashlib
import stat

from conftest import write_csv
from typer.testing import CliRunner

from connector_ga.api import check
from connector_ga.cli import app
from connector_ga.pseudonyms import local_salt, salt_file


def test_the_salt_is_made_once_in_the_user_config_folder_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    first = local_salt()
    assert len(first) == 64 and int(first, 16) >= 0  # 32 random bytes, as hex
    assert local_salt() == first  # the same on the next run
    path = tmp_path / "config" / "connector-ga" / "salt"
    assert salt_file() == path
    assert path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(work.iterdir()) == []  # nothing in the working folder


def test_connector_ga_salt_supplies_the_salt_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("CONNECTOR_GA_SALT", "ci-secret-0123456789abcdef")
    assert local_salt() == "ci-secret-0123456789abcdef"
    assert not (tmp_path / "config").exists()


def test_a_check_in_place_writes_nothing_in_the_working_folder(tmp_path, monkeypatch):
    """Issue 18 item 3: `check -t FILE` in a CI checkout left `.connector-ga/salt` there."""
    monkeypatch.chdir(tmp_path)
    rows = [
        {"time": f"2026-11-20T10:00:{i:02d}Z", "status": 200, "connection_id": f"c{i % 3}"}
        for i in range(30)
    ]
    write_csv(tmp_path / "t.csv", rows)
    result = CliRunner().invoke(app, ["check", "-t", "t.csv"])
    assert result.exit_code in (0, 1), result.output  # a verdict, whatever it is
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_fix_plan_connections_are_salted_hashes_of_the_ids(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # One connection with 10 connector faults in 1,000 requests: availability 99% fails, so
    # the check has a fix plan naming the connection.
    rows = [
        {
            "time": f"2026-11-20T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "status": 500 if i < 10 else 200,
            "backend_status": 200,
            "connection_id": "raw-connection-42",
        }
        for i in range(1000)
    ]
    path = write_csv(tmp_path / "t.csv", rows)
    result = check(telemetry=str(path))
    salt = salt_file().read_text().strip()
    expected = hashlib.sha256((salt + "raw-connection-42").encode()).hexdigest()[:16]
    assert [c.connection for c in result.fix_plan.connections] == [expected]
    assert "raw-connection-42" not in result.model_dump_json()
    # A second run in the same folder names it the same.
    again = check(telemetry=str(path))
    assert [c.connection for c in again.fix_plan.connections] == [expected]


def test_with_connector_ga_salt_every_fresh_run_names_a_connection_alike(tmp_path, monkeypatch):
    # Two fresh machines (two empty config folders) with the same CI secret: the same
    # pseudonym, sha256(secret + id)[:16], on both.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONNECTOR_GA_SALT", "ci-secret-0123456789abcdef")
    rows = [
        {
            "time": f"2026-11-20T10:{i // 60:02d}:{i % 60:02d}Z",
            "status": 500 if i < 10 else 200,
            "backend_status": 200,
            "connection_id": "raw-connection-42",
        }
        for i in range(1000)
    ]  # 10 connector faults in 1,000: availability 99% fails, the fix plan names it
    path = write_csv(tmp_path / "t.csv", rows)
    expected = hashlib.sha256(b"ci-secret-0123456789abcdef" + b"raw-connection-42").hexdigest()
    for machine in ("a", "b"):
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / machine))
        result = check(telemetry=str(path))
        assert [c.connection for c in result.fix_plan.connections] == [expected[:16]]
