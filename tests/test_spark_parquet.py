"""Parquet written by pandas (nanosecond timestamps) gives the same result on both engines.

pandas writes `datetime64[ns]` columns as Parquet TIMESTAMP(NANOS): isAdjustedToUTC=true
when zone-aware, false when naive. Spark 4.0 cannot read that type as a timestamp, and
DuckDB rounds it to the microsecond when cast; both engines must read such a time floored
to the microsecond (so a request keeps its UTC day), and a naive one as UTC.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import spark_missing

from connector_ga.api import check
from connector_ga.outputs.json_result import dumps

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module", autouse=True)
def spark_available():
    missing = spark_missing()
    if missing:
        pytest.skip(f"Spark engine: {missing}")


# Ten requests over two UTC days, on three connections; the 500 on c2 says nothing of who
# caused it, so it is a connector fault. Sub-microsecond parts everywhere, and two times a
# hair before midnight: rounded to the microsecond they would move to the next day.
ROWS = [
    ("2026-11-19 00:00:00.000000001", 200, "c1"),
    ("2026-11-19 08:15:30.123456789", 200, "c2"),
    ("2026-11-19 12:00:00.123456789", 204, "c3"),
    ("2026-11-19 18:45:00.500000500", 200, "c1"),
    ("2026-11-19 23:59:59.999999500", 200, "c2"),  # rounds to 2026-11-20 00:00:00
    ("2026-11-20 00:00:00.000000999", 200, "c3"),
    ("2026-11-20 09:30:00.000000001", 302, "c1"),
    ("2026-11-20 12:00:00.123456789", 500, "c2"),  # the connector fault
    ("2026-11-20 17:00:00.999999999", 200, "c3"),
    ("2026-11-20 23:59:59.999999999", 200, "c1"),  # the latest: D = 2026-11-20
]


def frame(tz: str | None) -> pd.DataFrame:
    """The rows with `time` as datetime64[ns] (UTC instants; zone-aware in `tz`, or naive),
    plus another nanosecond timestamp column that no source reads."""
    times = pd.to_datetime([t for t, _, _ in ROWS]).tz_localize("UTC")
    times = times.tz_convert(tz) if tz else times.tz_localize(None)
    return pd.DataFrame(
        {
            "time": times,
            "status": [s for _, s, _ in ROWS],
            "connection_id": [c for _, _, c in ROWS],
            "exported_at": pd.Timestamp("2026-11-21 03:00:00.000000007"),
        }
    )


def write_pandas(path, tz: str | None):
    frame(tz).to_parquet(path)  # pandas' defaults: datetime64[ns] stays nanoseconds
    assert pq.read_schema(path).field("time").type == pa.timestamp("ns", tz=tz)
    return path


def json_on_both(paths) -> tuple[dict, dict]:
    results = {e: check(telemetry=[str(p) for p in paths], engine=e) for e in ("duckdb", "spark")}
    # The JSON text itself, byte for byte, as `check --json -` prints it.
    assert dumps(results["spark"]) == dumps(results["duckdb"])
    return results["duckdb"].to_json_dict(), results["spark"].to_json_dict()


def assert_hand_figures(result: dict) -> None:
    metrics = result["metrics"]
    assert result["as_of"] == "2026-11-20"  # 23:59:59.999999999 floors, never rounds up
    # Floored to the microsecond, each request stays on its UTC day: five and five.
    assert [(d["date"], d["requests"]) for d in metrics["daily"]] == [
        ("2026-11-19", 5),
        ("2026-11-20", 5),
    ]
    assert metrics["requests"] == metrics["eligible"] == 10
    assert metrics["faults"]["connector"] == 1
    availability = next(c for c in result["criteria"] if c["id"] == "availability")
    # 1 − 1 connector fault ÷ 10 eligible requests = 9/10.
    assert (availability["numerator"], availability["denominator"]) == (9, 10)
    assert availability["value"] == pytest.approx(0.9)
    # c2 holds the fault (2/3 < 99.95%); c1 and c3 have none: 2 of 3 connections meet it.
    assert (metrics["connections_meeting_bar"], metrics["connections"]) == (2, 3)


@pytest.mark.parametrize("tz", ["UTC", "Europe/Paris", None], ids=["utc", "paris", "naive"])
def test_pandas_nanosecond_parquet_gives_the_same_json_on_both_engines(tmp_path, tz):
    path = write_pandas(tmp_path / "requests.parquet", tz)
    duckdb, spark = json_on_both([path])
    assert spark == duckdb
    assert_hand_figures(duckdb)


def test_nanosecond_and_microsecond_files_are_read_together(tmp_path):
    # Day one written by pandas in nanoseconds, day two in microseconds (floored by hand:
    # 12:00:00.123456789 → .123456, 23:59:59.999999999 → .999999), naive and aware.
    rows = frame(None)
    rows[:5].to_parquet(tmp_path / "day1.parquet")
    day2 = rows[5:].assign(time=rows["time"][5:].dt.floor("us").dt.tz_localize("UTC"))
    table = pa.Table.from_pandas(day2, preserve_index=False)
    table = table.cast(table.schema.set(0, pa.field("time", pa.timestamp("us", tz="UTC"))))
    pq.write_table(table, tmp_path / "day2.parquet")
    duckdb, spark = json_on_both([tmp_path / "day1.parquet", tmp_path / "day2.parquet"])
    assert spark == duckdb
    assert_hand_figures(duckdb)


@pytest.mark.parametrize("unit", ["s", "ms", "date"])
def test_coarser_parquet_times_still_agree(tmp_path, unit):
    """Seconds, milliseconds and dates are read as they were: no nanosecond column."""
    kind = pa.date32() if unit == "date" else pa.timestamp(unit, tz="UTC")
    times = pd.to_datetime([t for t, _, _ in ROWS]).floor("D" if unit == "date" else unit)
    table = pa.table(
        {
            "time": pa.array(times.date if unit == "date" else times.tz_localize("UTC"), kind),
            "status": [s for _, s, _ in ROWS],
            "connection_id": [c for _, _, c in ROWS],
        }
    )
    path = tmp_path / f"requests-{unit}.parquet"
    pq.write_table(table, path)
    duckdb, spark = json_on_both([path])
    assert spark == duckdb
    # Whole seconds, milliseconds or days keep every request on its day.
    assert_hand_figures(duckdb)
