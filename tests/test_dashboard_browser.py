"""The dashboard of a 40-connector simulated store, served by a real `connector-ga serve`:
headless Chromium opens the fleet page and a connector page (no console message, no
request to another origin, a screenshot kept), and a short load test with an ingest
publishing meanwhile answers every request."""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path

import pytest
from dashboard_support import Server, get, get_json, open_in_chromium
from typer.testing import CliRunner

from connector_ga.cli import app
from connector_ga.store import ingest

CONNECTORS = [f"c{i:02d}" for i in range(1, 41)]


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def fleet_store(tmp_path_factory) -> Path:
    """40 connectors x 35 days x 150 requests a day (+ ramp-up): small, built once."""
    folder = tmp_path_factory.mktemp("fleet40")
    sim = folder / "fleet.parquet"
    names = [arg for name in CONNECTORS for arg in ("--connector", name)]
    done = cli(
        "simulate", "--out", str(sim), "--days", "35", "--requests-per-day", "150",
        "--connections", "12", "--users", "30", *names,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    path = folder / "store.duckdb"
    ingest(path, [str(sim)])
    return path


@pytest.fixture(scope="module")
def server(fleet_store):
    # A short forecast horizon keeps the fleet's first computation within the test budget;
    # the JSON equality with `check` at the same options is tested on the small store.
    with Server("--store", str(fleet_store), "--horizon", "14") as running:
        yield running


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_fleet_and_connector_pages_in_headless_chromium(server, tmp_path):
    fleet = get_json(server.url + "/index.json")
    assert len(fleet["connectors"]) == 40
    for name, path in (("fleet", "/"), ("connector", "/c/c07")):
        seen = open_in_chromium(server.url + path, tmp_path, name)
        assert seen["console"] == [], seen["console"]  # no error, no blocked load
        assert seen["other_origins"] == []
        assert server.url + path in seen["requested"]
        assert _png_size(seen["screenshot"]) == (1280, 900)
        assert seen["screenshot"].stat().st_size > 20_000  # a rendered page, not a blank one


def test_load_with_an_ingest_publishing_meanwhile(server, fleet_store, tmp_path):
    pages = ["/", "/index.json", "/c/c01", "/c/c02.json", "/c/c03/availability", "/data"]
    pages += ["/requests.json", "/?sort=verdict", "/c/c01/slo.json"]
    for path in pages:  # warm: the load measures cached pages and the new version
        assert get(server.url + path)[0] == 200, path
    before = get_json(server.url + "/index.json")["store_version"]
    extra = tmp_path / "late.csv"
    extra.write_text(
        "time,status,connector\n"
        + "".join(f"2026-11-20T12:{m:02d}:00Z,200,c01\n" for m in range(30))
    )
    answers: list[int] = []
    failures: list[str] = []
    stop = time.monotonic() + 4.0  # a few seconds, 4 clients

    def client(k: int) -> None:
        i = k
        while time.monotonic() < stop:
            path = pages[i % len(pages)]
            i += 1
            try:
                status = get(server.url + path, timeout=120)[0]
            except Exception as exc:  # a refused or dropped connection is an error too
                failures.append(f"{path}: {exc}")
                continue
            answers.append(status)
            if status != 200:
                failures.append(f"{path}: {status}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    ingest(fleet_store, [str(extra)])  # publishes while the clients read
    for t in threads:
        t.join(timeout=180)
    assert failures == []
    assert len(answers) >= 20
    after = get_json(server.url + "/index.json")["store_version"]
    assert after == before + 1  # the ingest shows on the next request
