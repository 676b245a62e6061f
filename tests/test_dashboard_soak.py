"""The dashboard's memory across store versions (issue 18, item 6): a served store that
receives ingests keeps the current version and the one it replaces, never one per version.

The soak: the real server (`connector-ga serve`, its own process on 127.0.0.1), four
client threads asking for the fleet and connector pages for half a minute while three
`connector-ga ingest` runs publish new versions: no error, the new versions served, and the
server's RSS at the end within 30% of its RSS after the first answers."""

from __future__ import annotations

import gc
import json
import threading
import time
import weakref
from pathlib import Path

import duckdb
import pytest
from dashboard_support import Server, cli, get

from connector_ga.dashboard.links import LiveLinks
from connector_ga.dashboard.state import Dashboard, Options
from connector_ga.dashboard.views import connector as connector_view
from connector_ga.dashboard.views import fleet as fleet_view
from connector_ga.store import Store, ingest

CONNECTORS = ("c0", "c1")
SOAK_SECONDS = 30  # the suite's time (issue 18 item 7): 14 s after the last ingest is kept
INGESTS = 3
CLIENTS = 4


def _day_csv(path: Path, day: str, tag: str) -> Path:
    """Ten good requests of c0 on `day`, request ids of their own (nothing deduplicated)."""
    lines = ["time,status,connector,operation,connection_id,user_id,request_id"]
    lines += [
        f"{day}T{h:02d}:00:00Z,200,c0,ListTasks,conn-{h % 3},u{h % 4},{tag}-{h}" for h in range(10)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """Two connectors of 12 connections over 35 days: a version is judged in seconds, so
    the clients are answered from each new one within seconds."""
    folder = tmp_path_factory.mktemp("soak")
    sim = folder / "sim.parquet"
    names = [a for name in CONNECTORS for a in ("--connector", name)]
    done = cli(
        "simulate", "--out", str(sim), "--days", "35", "--requests-per-day", "150",
        "--connections", "12", "--users", "30", *names,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    path = folder / "store.duckdb"
    done = cli("ingest", "--store", str(path), str(sim))
    assert done.returncode == 0, done.stderr
    return path


def _small_store(folder: Path) -> Path:
    path = folder / "small.duckdb"
    ingest(path, [str(_day_csv(folder / "first.csv", "2026-11-20", "first"))])
    return path


def _fleet_page(dashboard: Dashboard, links: LiveLinks):
    return dashboard.cached(
        ("fleet", None, None, None), lambda f: fleet_view.page(f, links, None, None, None)
    )


def test_the_cache_holds_the_current_version_only_after_publishes(tmp_path):
    """Four publishes, the fleet and a connector page asked for at each version: one
    version held after each (the current one), every replaced Fleet gone from memory with
    its engine session closed, and a page of a served version never computed again."""
    store, links = _small_store(tmp_path), LiveLinks()
    dashboard = Dashboard(Options(store=store, horizon=30))
    first = _version(store)
    replaced: list[weakref.ref] = []
    sessions = []
    computed = 0

    def connector_page(f):
        nonlocal computed
        computed += 1
        return connector_view.page(f, dashboard.ledger(), links, "c0", None)

    for k in range(4):
        if k:
            day = f"2026-11-2{k}"
            ingest(store, [str(_day_csv(tmp_path / f"{day}.csv", day, day))])
            dashboard.refresh(force=True)
        page = _fleet_page(dashboard, links)
        assert page.data["store_version"] == first + k
        for _ in range(3):  # asked for three times, computed once
            dashboard.cached(("connector", "c0", None), connector_page)
        fleet = dashboard.fleet()
        replaced.append(weakref.ref(fleet))
        sessions.append(fleet.prepared.rollups)
        assert dashboard.versions == [first + k]
        del fleet, page
    # One computation per version: 4 versions × 1 = 4 (the 2 repeats of each are cached).
    assert computed == 4
    gc.collect()
    # The 3 replaced Fleets (versions first..first+2) are gone; the current one is held.
    assert [r() is None for r in replaced] == [True, True, True, False]
    for rollups in sessions[:3]:
        with pytest.raises(duckdb.ConnectionException):
            rollups.rows("SELECT 1")
    rollups = sessions[3].rows("SELECT 1")  # the current one still answers


def test_a_request_on_a_replaced_version_finishes_on_it(tmp_path):
    """A page being computed while a publish lands: two versions held (at most 2), the
    page computed on its own version's open session, then that version let go."""
    store, links = _small_store(tmp_path), LiveLinks()
    dashboard = Dashboard(Options(store=store, horizon=30))
    first = _version(store)
    held: list[list[int]] = []

    def slow_page(f):
        ingest(store, [str(_day_csv(tmp_path / "late.csv", "2026-11-21", "late"))])
        dashboard.refresh(force=True)  # the next version is published meanwhile
        held.append(dashboard.versions)
        return connector_view.page(f, dashboard.ledger(), links, "c0", None)  # queries f

    old = dashboard.fleet()
    page = dashboard.cached(("connector", "c0", None), slow_page)
    assert page.data["store_version"] == first
    assert held == [[first, first + 1]]  # the replaced one, still in use, and the new one
    assert dashboard.versions == [first + 1]
    with pytest.raises(duckdb.ConnectionException):
        old.prepared.rollups.rows("SELECT 1")


def _rss_kib(pid: int) -> int:
    """The process's resident set (VmRSS, in KiB) from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def _version(store: Path) -> int:
    with Store.open(store) as s:
        return s.version()


def test_half_a_minute_of_clients_and_three_ingests_keeps_memory_flat(store, tmp_path):
    start_version = _version(store)
    paths = ["/index.json", "/c/c0.json?as_of=2026-11-10"]
    paths += [f"/c/{name}.json" for name in CONNECTORS]
    errors: list[str] = []
    seen: dict[int, list[int]] = {k: [] for k in range(CLIENTS)}  # each client's versions
    answered = threading.Barrier(CLIENTS + 1)  # every client has had its first answers
    stop = threading.Event()
    lock = threading.Lock()

    log = tmp_path / "serve.log"  # a line per request: a file, never a pipe left full
    with Server("--store", str(store), "--horizon", "30", output=log) as server:

        def client(k: int) -> None:
            first = True
            deadline = time.monotonic() + SOAK_SECONDS + 60  # bounded even if `stop` is lost
            while not stop.is_set() and time.monotonic() < deadline:
                for path in paths[k % 2 :] + paths[: k % 2]:
                    try:
                        status, _, body = get(server.url + path, timeout=60)
                        data = json.loads(body)
                    except (OSError, ValueError) as exc:  # no answer, or no JSON: an error
                        status, body, data = None, repr(exc), None
                    with lock:
                        if status != 200 or not isinstance(data, dict):
                            errors.append(f"{path}: {status} {body[:200]}")
                        else:
                            seen[k].append(data["store_version"])
                if first:
                    first = False
                    answered.wait(timeout=300)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        started = time.monotonic()
        try:
            answered.wait(timeout=300)
            rss_first = _rss_kib(server.process.pid)
            for k in range(INGESTS):  # one at about 4, 10 and 16 s into the half minute
                time.sleep(max(0.0, started + 4 + 6 * k - time.monotonic()))
                day = f"2026-11-2{1 + k}"
                done = cli(
                    "ingest",
                    "--store",
                    str(store),
                    str(_day_csv(tmp_path / f"{day}.csv", day, day)),
                )
                assert done.returncode == 0, done.stderr
            time.sleep(max(0.0, started + SOAK_SECONDS - time.monotonic()))
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=180)
        rss_last = _rss_kib(server.process.pid)

    assert not any(t.is_alive() for t in threads)
    assert errors == []
    # Each ingest publishes one version: the last one served is the first + 3.
    assert _version(store) == start_version + INGESTS
    for versions in seen.values():  # each client: from the first version up to the last
        assert versions[0] == start_version
        assert versions == sorted(versions)  # never an older version after a newer one
        assert versions[-1] == start_version + INGESTS
    # Memory does not follow the versions: within 30% of what the first answers needed.
    assert abs(rss_last - rss_first) <= 0.30 * rss_first, (rss_first, rss_last)
