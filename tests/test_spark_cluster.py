"""Spark on a real cluster (issue: the store at scale, part 5): a standalone master and two
workers (one core each) on 127.0.0.1, and a Spark Connect server, all started from the
PySpark package's own jars (tests/spark_cluster.py) and stopped at the end.

Through `spark://127.0.0.1:PORT` and through `sc://127.0.0.1:PORT` the same driver code
runs the metric cases of test_metrics.py and a simulated fleet from the store's export, and
each connector's JSON result is identical to DuckDB's in this process. The export is read
from its path alone, as a cluster would (the manifest through Spark too). The command line
is run once on the cluster the way a user points it there: SPARK_MASTER=spark://… .

A cluster costs seconds to start and each driver seconds more, so one driver process per
way onto the cluster runs its cases, and each case's figures are compared separately: the
standalone cluster every metric case, and the export from the command line with the
forecast and fix plan; Spark Connect the reliability case (every fault class) and the
export.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import connections_by_rank, require_spark, write_csv
from spark_cluster import run_cli, spark_cluster
from test_metrics import fleet_rows, mac_rows, reliability_rows, wau_rows
from test_store_rollups import fleet_json

pytestmark = pytest.mark.spark

CASES = {  # name: (rows, D): the metric cases of test_metrics.py
    "reliability": (reliability_rows, "2026-11-20"),
    "wau": (wau_rows, "2026-11-22"),
    "mac": (mac_rows, "2026-11-20"),
    "fleet": (fleet_rows, None),
}

# The driver on the cluster: every job's results as {job: {connector: JSON}}, and where it
# ran (the session's master, or Spark Connect). Judged without the forecast and fix plan,
# which the command line test below includes (and test_engines.py on local Spark).
DRIVER = """
import datetime as dt, json, sys
from connector_ga import engine
from connector_ga.api import run_check
jobs = json.loads(sys.argv[1])
out = {}
for name, job in jobs.items():
    as_of = dt.date.fromisoformat(job["as_of"]) if job["as_of"] else None
    run = run_check(
        telemetry=job["telemetry"], all_connectors=True, as_of=as_of,
        trajectory=job["trajectory"], engine="spark",
    )
    out[name] = {r.connector: r.to_json_dict() for r in run.results}
session = engine.connect(engine="spark")._session
remote = type(session).__module__.startswith("pyspark.sql.connect")
where = "connect" if remote else session.sparkContext.master
print(json.dumps({"where": where, "results": out}))
"""


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> tuple[Path, dict[str, dict], dict[str, dict]]:
    """The cases' files, a simulated fleet ingested and exported, and every job's JSON on
    DuckDB in this process (the expected figures)."""
    require_spark()
    folder = tmp_path_factory.mktemp("cluster-work")
    jobs: dict[str, dict] = {}
    for name, (build, as_of) in CASES.items():
        write_csv(folder / f"{name}.csv", build())
        jobs[name] = {"telemetry": [f"{name}.csv"], "as_of": as_of, "trajectory": False}
    simulated = run_cli(
        *("simulate", "--out", "fleet.parquet", "--days", "35", "--seed", "11"),
        *("--requests-per-day", "600", "--connections", "40", "--users", "200"),
        *("--connector", "north", "--connector", "south", "--connector", "west"),
        *("--incident", "connector-bug@2026-11-12T08:00Z/6h:0.5"),
        cwd=folder,
    )
    assert simulated.returncode == 0, simulated.stderr
    for args in (
        ("ingest", "fleet.parquet", "--store", "s.duckdb"),
        ("store", "export", "lake", "--store", "s.duckdb"),
    ):
        done = run_cli(*args, cwd=folder)
        assert done.returncode == 0, done.stderr
    # The simulated fleet, from the export, as a cluster reads it. The drivers judge it
    # without the trajectory; the command line below with it.
    # Named relative to the driver's folder: a Connect server must not resolve it in its own.
    jobs["export"] = {"telemetry": ["lake"], "as_of": None, "trajectory": False}
    cwd = os.getcwd()
    os.chdir(folder)  # files are named as the driver names them, and the same local salt
    try:
        expected = {}
        for name, job in jobs.items():
            as_of = dt.date.fromisoformat(job["as_of"]) if job["as_of"] else None
            expected[name] = fleet_json(
                telemetry=job["telemetry"], as_of=as_of, trajectory=job["trajectory"]
            )
        expected["cli"] = fleet_json(telemetry=[str(folder / "lake")])
    finally:
        os.chdir(cwd)
    return folder, jobs, expected


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, work):
    with spark_cluster(tmp_path_factory.mktemp("spark-cluster")) as started:
        yield started


# What each way onto the cluster runs. The standalone cluster also reads the export, with
# the forecast and fix plan, from the command line below.
STANDALONE_JOBS = list(CASES)
CONNECT_JOBS = ["reliability", "export"]


def drive(cluster, work, names: list[str], *, connect: bool) -> tuple[str, dict[str, dict]]:
    """The named jobs run by one driver process on the cluster (standalone) or through the
    Spark Connect server: where it ran, and its results."""
    folder, jobs, _ = work
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps({n: jobs[n] for n in names})],
        env=cluster.env(connect=connect),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["where"], {name: connections_by_rank(r) for name, r in out["results"].items()}


@pytest.fixture(scope="module")
def standalone(cluster, work):
    return drive(cluster, work, STANDALONE_JOBS, connect=False)


@pytest.fixture(scope="module")
def connect(cluster, work):
    return drive(cluster, work, CONNECT_JOBS, connect=True)


@pytest.mark.parametrize("job", STANDALONE_JOBS)
def test_the_standalone_cluster_gives_duckdbs_json(standalone, work, job):
    assert standalone[1][job] == work[2][job]


@pytest.mark.parametrize("job", CONNECT_JOBS)
def test_spark_connect_gives_duckdbs_json(connect, work, job):
    assert connect[1][job] == work[2][job]


def test_each_driver_ran_where_it_was_sent(standalone, connect, cluster):
    # SPARK_MASTER sends the session to the standalone master, which ran it as an
    # application; SPARK_REMOTE to the Connect server, whose client session has no
    # SparkContext of its own.
    assert standalone[0] == cluster.master_url
    apps = cluster.master_state().get("completedapps", [])
    assert any(app["name"] == "connector-ga" for app in apps), apps
    assert connect[0] == "connect"


def test_the_command_line_runs_on_the_cluster_from_spark_master(cluster, work):
    folder, _, expected = work
    done = cluster.run_cli("check", "--all", "-t", str(folder / "lake"), "--json", "-", cwd=folder)
    # No ga.toml declares the backend in production: not ready, exit 1.
    assert done.returncode == 1, done.stderr[-3000:]
    results = json.loads(done.stdout)
    results = results if isinstance(results, list) else [results]
    got = connections_by_rank({r["connector"]: r for r in results})
    assert got == expected["cli"]
    assert sorted(got) == ["north", "south", "west"]


def test_the_cluster_is_a_master_with_two_one_core_workers(cluster):
    state = cluster.master_state()
    workers = state["workers"]
    # Two workers of one core each: 2 cores in all.
    assert [w["cores"] for w in workers] == [1, 1]
    assert all(w["state"] == "ALIVE" for w in workers)
