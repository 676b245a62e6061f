"""Connection ids in reports, for telemetry read in place: salted, stable, never raw."""

from __future__ import annotations

import hashlib
import stat

from conftest import write_csv

from connector_ga.api import check
from connector_ga.pseudonyms import SALT_FILE, local_salt


def test_the_salt_is_made_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = local_salt()
    assert len(first) == 64 and int(first, 16) >= 0  # 32 random bytes, as hex
    assert local_salt() == first  # the same on the next run
    assert stat.S_IMODE((tmp_path / SALT_FILE).stat().st_mode) == 0o600


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
    salt = (tmp_path / SALT_FILE).read_text().strip()
    expected = hashlib.sha256((salt + "raw-connection-42").encode()).hexdigest()[:16]
    assert [c.connection for c in result.fix_plan.connections] == [expected]
    assert "raw-connection-42" not in result.model_dump_json()
    # A second run in the same folder names it the same.
    again = check(telemetry=str(path))
    assert [c.connection for c in again.fix_plan.connections] == [expected]
