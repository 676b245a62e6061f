"""The simulator: deterministic, realistic canonical telemetry with exact incident counts.

Every check reads the written file back (pyarrow or duckdb) rather than trusting the summary.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connector_ga import simulate as sim
from connector_ga.errors import InputError
from connector_ga.schema import CANONICAL_COLUMNS
from connector_ga.simulate import (
    Incident,
    SimulationSpec,
    parse_incident,
    simulate,
)

END = date(2026, 11, 20)


def small(**changes) -> SimulationSpec:
    """Three weeks of a small connector: about 20 000 rows."""
    base = dict(days=21, end=END, connections=40, users=120, requests_per_day=1500, seed=7)
    base.update(changes)
    return SimulationSpec(**base)


def query(path: Path, sql: str) -> list[tuple]:
    """Run `sql` with the file as table `t` (format from the suffix)."""
    reader = {".parquet": "read_parquet", ".csv": "read_csv", ".jsonl": "read_json"}[path.suffix]
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE VIEW t AS SELECT * FROM {reader}('{path}')")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def one(path: Path, sql: str):
    return query(path, sql)[0][0]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- determinism, size, schema ----------------------------------------------------------


def test_same_seed_same_file_other_seed_other_data(tmp_path: Path) -> None:
    tables = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        simulate(small(seed=seed), tmp_path / f"{name}.parquet")
        tables.append(pq.read_table(tmp_path / f"{name}.parquet"))
    a, b, c = tables
    assert a.equals(b)
    assert not a.equals(c)


def test_two_connectors_simulated_with_one_seed_share_no_request_id(tmp_path: Path) -> None:
    """Issue 16.1: two runs with seed 7, one per connector name, as a fleet is simulated."""
    for name in ("contoso-tasks", "fabrikam-crm"):
        simulate(small(connectors=[name], days=3), tmp_path / f"{name}.parquet")
    con = duckdb.connect()
    shared = con.execute(
        f"SELECT count(*) FROM read_parquet('{tmp_path}/contoso-tasks.parquet') a "
        f"JOIN read_parquet('{tmp_path}/fabrikam-crm.parquet') b USING (request_id)"
    ).fetchone()[0]
    assert shared == 0


def test_rows_is_the_exact_number_of_rows_written(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sim, "CHUNK_ROWS", 1000)  # many chunks, uneven last one
    spec = small(rows=12_345, connectors=["a", "b", "c"], duplicate_rate=0.1)
    summary = simulate(spec, tmp_path / "t.parquet")
    assert summary.rows == 12_345
    assert pq.read_metadata(tmp_path / "t.parquet").num_rows == 12_345
    per_connector = dict(
        query(tmp_path / "t.parquet", "SELECT connector, count(*) FROM t GROUP BY 1")
    )
    assert per_connector == {"a": 4115, "b": 4115, "c": 4115}


def test_summary_describes_the_period(tmp_path: Path) -> None:
    summary = simulate(small(), tmp_path / "t.parquet")
    assert summary.first_day == END - timedelta(days=20)
    assert summary.last_day == END
    assert summary.connectors == ["contoso-tasks"]
    assert summary.injected == {}
    days = query(
        tmp_path / "t.parquet",
        "SELECT min(time)::DATE, max(time)::DATE, count(DISTINCT time::DATE) FROM t",
    )[0]
    assert days == (summary.first_day, END, 21)
    assert one(tmp_path / "t.parquet", "SELECT count(*) FROM t") == summary.rows


def test_schema_is_the_canonical_one(tmp_path: Path) -> None:
    simulate(small(), tmp_path / "t.parquet")
    table = pq.read_table(tmp_path / "t.parquet")
    assert table.schema.names == list(CANONICAL_COLUMNS)
    types = {f.name: f.type for f in table.schema}
    assert types["time"] == pa.timestamp("us", tz="UTC")
    assert pa.types.is_integer(types["status"]) and pa.types.is_integer(types["backend_status"])
    assert pa.types.is_integer(types["weight"])
    assert types["latency_ms"] == pa.float64()
    for name in (
        "connector",
        "operation",
        "connection_id",
        "user_id",
        "error_source",
        "error_reason",
        "fault",
        "cloud",
        "request_id",
    ):
        assert types[name] == pa.string(), name
    assert table.column("fault").null_count == len(table)
    assert set(table.column("cloud").to_pylist()) == {"public"}
    assert set(table.column("weight").to_pylist()) == {1}
    assert table.column("request_id").null_count == 0
    assert len(set(table.column("request_id").to_pylist())) == len(table)
    assert table.column("connection_id")[0].as_py().startswith("conn-")
    ops = set(table.column("operation").to_pylist())
    assert {"ListTasks", "GetTask", "CreateTask", "UpdateTask", "DeleteTask", "ListProjects"} == ops


def test_times_are_sorted_within_a_connector(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sim, "CHUNK_ROWS", 777)
    simulate(small(), tmp_path / "t.parquet")
    times = pq.read_table(tmp_path / "t.parquet").column("time").to_pylist()
    assert times == sorted(times)


# --- realism ----------------------------------------------------------------------------


def test_healthy_traffic_has_valid_statuses_and_no_connector_fault(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    simulate(small(requests_per_day=5000), path)
    total = one(path, "SELECT count(*) FROM t")
    assert one(path, "SELECT count(*) FROM t WHERE status NOT BETWEEN 100 AND 599") == 0
    # No failure the connector could be blamed for: every 5xx is the backend's.
    assert (
        one(path, "SELECT count(*) FROM t WHERE status >= 500 AND NOT backend_status >= 500") == 0
    )
    assert one(path, "SELECT count(*) FROM t WHERE status >= 500 AND backend_status IS NULL") == 0
    # Client errors are passed through from the backend.
    assert (
        one(
            path,
            "SELECT count(*) FROM t WHERE status BETWEEN 400 AND 499 AND status <> 429 "
            "AND backend_status IS DISTINCT FROM status",
        )
        == 0
    )
    share = dict(
        query(
            path,
            """
        SELECT CASE WHEN status = 429 THEN 'throttled'
                    WHEN status BETWEEN 400 AND 499 THEN 'client'
                    WHEN status BETWEEN 300 AND 399 THEN 'redirect'
                    WHEN status >= 500 THEN 'backend'
                    ELSE 'ok' END, count(*) FROM t GROUP BY 1""",
        )
    )
    assert 0.005 < share["client"] / total < 0.03
    assert 0.005 < share["redirect"] / total < 0.02
    assert 0.001 < share["throttled"] / total < 0.006
    assert share.get("backend", 0) / total < 0.002
    assert (
        one(
            path,
            "SELECT count(*) FROM t WHERE status = 429 "
            "AND error_reason IS DISTINCT FROM 'RateLimitExceeded'",
        )
        == 0
    )


def test_population_and_traffic_grow(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    spec = small(days=60)
    simulate(spec, path)
    first_week = f"time < TIMESTAMPTZ '{spec.first_day + timedelta(days=7)} 00:00:00+00'"
    last_week = f"time >= TIMESTAMPTZ '{END - timedelta(days=6)} 00:00:00+00'"

    def week(where: str) -> tuple:
        sql = (
            "SELECT count(DISTINCT connection_id), count(DISTINCT user_id), count(*) "
            f"FROM t WHERE {where}"
        )
        return query(path, sql)[0]

    early, late = week(first_week), week(last_week)
    assert late[0] > 2 * early[0]
    assert late[1] > 2 * early[1]
    assert late[2] > 2 * early[2]
    assert late[0] <= spec.connections and late[1] <= spec.users


def test_traffic_has_a_weekly_and_daily_rhythm(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    simulate(small(days=28), path)
    by_dow = dict(query(path, "SELECT isodow(time) > 5, count(*) FROM t GROUP BY 1"))
    assert by_dow[False] / 5 > 1.5 * by_dow[True] / 2  # a weekday is busier than a weekend day
    by_hour = dict(query(path, "SELECT hour(time), count(*) FROM t GROUP BY 1"))
    assert by_hour[16] > 2 * by_hour[2]


# --- incidents --------------------------------------------------------------------------


def test_connector_bug_changes_exactly_the_counted_rows_inside_its_window(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(sim, "CHUNK_ROWS", 5000)  # the window spans several chunks
    start = utc(2026, 11, 10, 8)
    spec = small(
        incidents=[
            Incident("connector-bug", start, hours=30, rate=0.4),
            # overlaps the bug: each row is changed by one incident at most
            Incident("backend-outage", start + timedelta(hours=20), hours=24, rate=0.5),
            Incident("unattributed-5xx", utc(2026, 11, 3), hours=3),
        ],
        duplicate_rate=0.02,
    )
    path = tmp_path / "t.parquet"
    summary = simulate(spec, path)
    stop = start + timedelta(hours=30)
    window = (
        f"time >= TIMESTAMPTZ '{start.isoformat()}' AND time < TIMESTAMPTZ '{stop.isoformat()}'"
    )
    bug = "status = 500 AND backend_status = 200"
    inside = one(path, f"SELECT count(*) FROM t WHERE {bug} AND {window}")
    outside = one(path, f"SELECT count(*) FROM t WHERE {bug} AND NOT ({window})")
    in_window = one(path, f"SELECT count(*) FROM t WHERE {window}")
    assert inside == summary.injected["connector-bug"]
    assert outside == 0
    assert 0.25 * in_window < inside < 0.45 * in_window  # about rate 0.4, less the outage overlap
    outage = one(
        path,
        "SELECT count(*) FROM t WHERE error_reason = 'BackendConnectionFailure' "
        "AND status IN (502, 503) AND backend_status = 503",
    )
    assert outage == summary.injected["backend-outage"] > 0
    unattributed = one(
        path,
        "SELECT count(*) FROM t WHERE status >= 500 AND backend_status IS NULL "
        "AND error_source IS NULL AND error_reason IS NULL",
    )
    assert unattributed == summary.injected["unattributed-5xx"] > 0
    assert one(path, f"SELECT count(*) FROM t WHERE {bug} AND request_id IS NULL") == 0


def test_throttling_storm_and_connector_scope(tmp_path: Path) -> None:
    start = utc(2026, 11, 15, 12)
    spec = small(
        connectors=["alpha", "beta"],
        incidents=[Incident("throttling-storm", start, hours=6, rate=0.5, connector="beta")],
    )
    path = tmp_path / "t.parquet"
    summary = simulate(spec, path)
    window = (
        f"time >= TIMESTAMPTZ '{start.isoformat()}' "
        f"AND time < TIMESTAMPTZ '{(start + timedelta(hours=6)).isoformat()}'"
    )
    share = dict(
        query(path, f"SELECT connector, avg((status = 429)::INT) FROM t WHERE {window} GROUP BY 1")
    )
    assert share["alpha"] < 0.02
    assert 0.4 < share["beta"] < 0.6
    beta_429 = one(
        path, f"SELECT count(*) FROM t WHERE connector = 'beta' AND status = 429 AND {window}"
    )
    assert 0 < summary.injected["throttling-storm"] <= beta_429


def test_incident_outside_the_period_changes_nothing(tmp_path: Path) -> None:
    spec = small(incidents=[Incident("connector-bug", utc(2025, 1, 1), hours=5)])
    summary = simulate(spec, tmp_path / "t.parquet")
    assert summary.injected == {"connector-bug": 0}
    assert one(tmp_path / "t.parquet", "SELECT count(*) FROM t WHERE status = 500") == 0


# --- sampling, duplicates, fleet --------------------------------------------------------


@pytest.mark.parametrize(("rate", "weight"), [(0.1, 10), (0.25, 4), (0.3, 3)])
def test_sampling_keeps_a_share_with_weights(tmp_path: Path, rate: float, weight: int) -> None:
    full = simulate(small(), tmp_path / "full.parquet").rows
    path = tmp_path / "s.parquet"
    sampled = simulate(small(sample_rate=rate), path).rows
    assert sampled == pytest.approx(full * rate, rel=0.01)
    assert query(path, "SELECT DISTINCT weight FROM t") == [(weight,)]


def test_duplicates_reuse_request_ids_with_identical_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    summary = simulate(small(duplicate_rate=0.05), path)
    distinct = one(path, "SELECT count(DISTINCT request_id) FROM t")
    assert summary.rows - distinct == round(distinct * 0.05)
    assert one(path, "SELECT max(n) FROM (SELECT count(*) n FROM t GROUP BY request_id)") == 2
    # A re-emitted row is the same request: all its columns agree.
    assert one(path, "SELECT count(*) FROM (SELECT DISTINCT * EXCLUDE (fault) FROM t)") == distinct


def test_fleet_connectors_have_their_own_populations(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    summary = simulate(small(connectors=["contoso-tasks", "fabrikam-crm"]), path)
    assert summary.connectors == ["contoso-tasks", "fabrikam-crm"]
    rows = dict(query(path, "SELECT connector, count(*) FROM t GROUP BY 1"))
    assert set(rows) == {"contoso-tasks", "fabrikam-crm"}
    assert rows["contoso-tasks"] == pytest.approx(rows["fabrikam-crm"], rel=0.05)
    shared = one(
        path,
        """SELECT count(*) FROM
        (SELECT DISTINCT connection_id FROM t WHERE connector = 'contoso-tasks')
        JOIN (SELECT DISTINCT connection_id FROM t WHERE connector = 'fabrikam-crm')
        USING (connection_id)""",
    )
    assert shared == 0
    assert one(path, "SELECT count(*) - count(DISTINCT request_id) FROM t") == 0


# --- formats and writing ----------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_every_format_is_readable_by_duckdb(tmp_path: Path, suffix: str) -> None:
    spec = small(incidents=[Incident("connector-bug", utc(2026, 11, 12), hours=4)])
    path = tmp_path / f"t{suffix}"
    summary = simulate(spec, path)
    assert one(path, "SELECT count(*) FROM t") == summary.rows
    assert (
        one(path, "SELECT count(*) FROM t WHERE status = 500 AND backend_status = 200")
        == (summary.injected["connector-bug"])
    )
    assert one(path, "SELECT min(time)::DATE FROM t") == summary.first_day
    assert one(path, "SELECT count(*) FROM t WHERE status = 429 AND backend_status IS NULL") > 0
    if suffix == ".csv":
        header, first = path.read_text().splitlines()[:2]
        assert header.replace('"', "").split(",") == list(CANONICAL_COLUMNS)
        assert first.split(",")[0].strip('"').endswith("Z")
    if suffix == ".jsonl":
        with path.open() as f:
            record = json.loads(f.readline())
        assert list(record) == list(CANONICAL_COLUMNS)
        assert record["time"].endswith("Z") and "T" in record["time"]
        assert record["fault"] is None


def test_explicit_format_overrides_the_suffix(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.out"
    simulate(small(rows=50), path, fmt="csv")
    assert path.read_text().startswith('"time","status"')


def test_unknown_format_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="parquet, csv, jsonl"):
        simulate(small(rows=10), tmp_path / "t.txt")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_an_interrupted_run_leaves_nothing_partial(
    tmp_path: Path, monkeypatch, suffix: str
) -> None:
    path = tmp_path / f"t{suffix}"
    path.write_bytes(b"previous")
    monkeypatch.setattr(sim, "CHUNK_ROWS", 1000)
    real = sim._chunk
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(sim, "_chunk", failing)
    with pytest.raises(KeyboardInterrupt):
        simulate(small(), path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert path.read_bytes() == b"previous"


def test_zero_rows_writes_an_empty_readable_file(tmp_path: Path) -> None:
    summary = simulate(small(rows=0), tmp_path / "t.parquet")
    assert summary.rows == 0
    assert pq.read_table(tmp_path / "t.parquet").num_rows == 0


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"days": 0}, "days"),
        ({"end": datetime(2026, 11, 20)}, "end"),
        ({"seed": -1}, "seed"),
        ({"sample_rate": 0}, "sample_rate"),
        ({"sample_rate": 1.5}, "sample_rate"),
        ({"duplicate_rate": -0.1}, "duplicate_rate"),
        ({"connectors": []}, "connectors"),
        ({"connectors": ["a", "a"]}, "distinct"),
        ({"rows": -1}, "rows"),
        ({"incidents": [Incident("connector-bug", utc(2026, 11, 1), hours=0)]}, "hours"),
        ({"incidents": [Incident("connector-bug", utc(2026, 11, 1), hours=1, rate=2)]}, "rate"),
        ({"incidents": [Incident("meteor", utc(2026, 11, 1), hours=1)]}, "kind"),  # type: ignore[arg-type]
        (
            {"incidents": [Incident("connector-bug", utc(2026, 11, 1), hours=1, connector="x")]},
            "connector",
        ),
    ],
)
def test_bad_spec_is_an_input_error(tmp_path: Path, changes: dict, words: str) -> None:
    with pytest.raises(InputError, match=words):
        simulate(small(**changes), tmp_path / "t.parquet")
    assert list(tmp_path.iterdir()) == []


# --- parse_incident ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "backend-outage@2026-11-10T08:00:00Z/6h",
            Incident("backend-outage", utc(2026, 11, 10, 8), 6.0, 1.0),
        ),
        (
            "connector-bug@2026-11-10T08:00/90m:0.5",
            Incident("connector-bug", utc(2026, 11, 10, 8), 1.5, 0.5),
        ),
        (
            "throttling-storm@2026-11-10T10:00:00+02:00/2d:25%",
            Incident("throttling-storm", utc(2026, 11, 10, 8), 48.0, 0.25),
        ),
        (
            "unattributed-5xx@2026-11-10/1800s:1",
            Incident("unattributed-5xx", utc(2026, 11, 10), 0.5, 1.0),
        ),
        (
            "connector-bug@2026-11-10T08:00:00Z/0.5h",
            Incident("connector-bug", utc(2026, 11, 10, 8), 0.5, 1.0),
        ),
    ],
)
def test_parse_incident(text: str, expected: Incident) -> None:
    parsed = parse_incident(text)
    assert parsed == expected
    assert parsed.start.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "expected form"),
        ("connector-bug", "expected form"),
        ("meteor@2026-11-10T08:00:00Z/6h", "unknown kind 'meteor'"),
        ("connector-bug@yesterday/6h", "not an ISO-8601"),
        ("connector-bug@2026-13-10T08:00:00Z/6h", "not an ISO-8601"),
        ("connector-bug@2026-11-10T08:00:00Z", "expected form"),
        ("connector-bug@2026-11-10T08:00:00Z/6", "expected form"),
        ("connector-bug@2026-11-10T08:00:00Z/6w", "expected form"),
        ("connector-bug@2026-11-10T08:00:00Z/0h", "duration must be > 0"),
        ("connector-bug@2026-11-10T08:00:00Z/6h:1.5", "rate '1.5' is not in"),
        ("connector-bug@2026-11-10T08:00:00Z/6h:0", "rate '0' is not in"),
        ("connector-bug@2026-11-10T08:00:00Z/6h:", "expected form"),
    ],
)
def test_parse_incident_rejects_bad_text_in_one_line(text: str, why: str) -> None:
    with pytest.raises(InputError) as err:
        parse_incident(text)
    message = str(err.value)
    assert why in message
    assert repr(text) in message
    assert "expected KIND@START/DURATION[:RATE]" in message
    assert "\n" not in message
