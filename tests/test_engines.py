"""DuckDB and Spark compute the same result: every number of the JSON result is equal.

The hand-computed metric cases (test_metrics.py, test_attribution.py) already run on both
engines through the `engine_name` fixture; these tests compare the engines on realistic
simulated traffic instead: a fleet of two connectors with every incident kind, repeated
request ids and sampling weights, in each telemetry format, and on rejected rows.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import spark_missing, write_csv

from connector_ga.api import check, check_fleet
from connector_ga.outputs.json_result import dumps
from connector_ga.simulate import Incident, SimulationSpec, simulate

END = dt.date(2026, 11, 20)
CONNECTORS = ["contoso-tasks", "fabrikam-crm"]

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module", autouse=True)
def spark_available():
    missing = spark_missing()
    if missing:
        pytest.skip(f"Spark engine: {missing}")


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


SPEC = SimulationSpec(
    days=40,
    end=END,
    connections=60,
    users=200,
    requests_per_day=600,
    connectors=CONNECTORS,
    seed=11,
    sample_rate=0.5,  # every row stands for 2 requests
    duplicate_rate=0.01,  # some request ids repeat and count once
    incidents=[
        Incident("backend-outage", utc(2026, 11, 12, 14), hours=3),
        Incident("connector-bug", utc(2026, 11, 15, 8), hours=6, rate=0.5, connector=CONNECTORS[0]),
        Incident("throttling-storm", utc(2026, 11, 18, 9), hours=2, rate=0.8),
        Incident("unattributed-5xx", utc(2026, 11, 5, 22), hours=4, rate=0.3),
    ],
)


def json_results(results) -> dict[str, dict]:
    return {r.connector: r.to_json_dict() for r in results}


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_simulated_fleet_gives_the_same_json_on_both_engines(tmp_path, fmt):
    path = tmp_path / f"fleet.{fmt}"
    summary = simulate(SPEC, path)
    assert all(summary.injected[kind] > 0 for kind in summary.injected)  # every incident hit
    # The forecast and fix plan are compared once, on Parquet; the text formats differ only
    # in how they are read.
    trajectory = fmt == "parquet"
    on_duckdb = check_fleet(str(path), engine="duckdb", trajectory=trajectory)
    on_spark = check_fleet(str(path), engine="spark", trajectory=trajectory)
    duckdb, spark = json_results(on_duckdb), json_results(on_spark)
    assert sorted(duckdb) == sorted(spark) == sorted(CONNECTORS)
    for name in CONNECTORS:
        # Every number of the metrics (counts, rates, intervals, WAU, MAC series,
        # operations), then the whole result: criteria, verdict and data quality too.
        assert spark[name]["metrics"] == duckdb[name]["metrics"], name
        assert spark[name] == duckdb[name], name
    # And the JSON text itself, byte for byte (no key order left to the engine).
    assert dumps(on_spark) == dumps(on_duckdb)
    # The incidents are in the numbers compared: connector faults on the buggy connector
    # only, backend faults and throttling on both.
    faults = {name: duckdb[name]["metrics"]["faults"] for name in CONNECTORS}
    assert faults[CONNECTORS[0]]["connector"] > faults[CONNECTORS[1]]["connector"] > 0
    assert all(f["backend"] > 0 and f["throttled"] > 0 for f in faults.values())


def test_rejected_rows_are_located_alike(tmp_path):
    rows = [
        {"time": f"2026-11-{1 + k % 20:02d}T10:00:00Z", "status": 200, "operation": "ListTasks"}
        for k in range(200)
    ]
    rows[50]["operation"] = "List\nTasks"  # a quoted line break: record 50 takes two lines
    rows[10]["time"] = "yesterday"
    rows[120]["status"] = "abc"
    rows[199]["status"] = 700
    path = str(write_csv(tmp_path / "t.csv", rows))
    results = {
        e: check(telemetry=path, max_reject_rate=0.05, engine=e) for e in ("duckdb", "spark")
    }
    quality = {e: r.to_json_dict()["data_quality"] for e, r in results.items()}
    assert quality["spark"] == quality["duckdb"]
    # Header on line 1, record k on line k + 2, and one line more after record 50:
    # records 10, 120 and 199 are on lines 12, 123 and 202.
    located = [re.search(r"t\.csv:(\d+): (\w+)", s) for s in quality["spark"]["reject_samples"]]
    assert [(int(m[1]), m[2]) for m in located] == [(12, "time"), (123, "status"), (202, "status")]
    assert quality["spark"]["rejected_rows"] == 3
