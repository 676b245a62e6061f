"""One pass (issue 15): a check reads the requests a fixed number of times, whatever the
number of connectors and the features asked; everything after the rollups is local.

The count is taken from the queries DuckDB is sent (a recorder in front of the session's
connection) and, on Spark, from the jobs of a job group (the status tracker).
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import spark_missing

from connector_ga import api, engine
from connector_ga.simulate import SimulationSpec, simulate

END = dt.date(2026, 11, 20)


class Recorder:
    """Stands in front of DuckDB's connection and keeps the text of every statement."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.queries: list[str] = []

    def execute(self, query, *args, **kwargs):
        self.queries.append(str(query))
        return self._inner.execute(query, *args, **kwargs)

    def sql(self, query, *args, **kwargs):
        self.queries.append(str(query))
        return self._inner.sql(query, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _fleet(path, connectors: list[str]) -> str:
    spec = SimulationSpec(
        days=35,
        end=END,
        connections=20,
        users=40,
        requests_per_day=60,
        connectors=connectors,
        seed=5,
    )
    simulate(spec, str(path))
    return str(path)


def request_scans(queries: list[str]) -> list[str]:
    """Statements that read the rows of the telemetry's view: not its creation, not a
    schema lookup, not the one-row look at its columns."""
    return [
        q
        for q in queries
        if "cga_parquet_" in q
        and not q.startswith(("CREATE OR REPLACE TEMPORARY VIEW", "DESCRIBE"))
        and not q.rstrip().endswith("LIMIT 1")
    ]


def scans_of(path: str, **options) -> int:
    con = engine.connect()
    recorder = Recorder(con.con)
    con.con = recorder
    api.run_check(telemetry=[path], con=con, **options)
    return len(request_scans(recorder.queries))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("one-pass")
    return {
        1: _fleet(folder / "one.parquet", ["contoso-tasks"]),
        4: _fleet(folder / "four.parquet", ["a-one", "b-two", "c-three", "d-four"]),
    }


def test_a_check_in_place_reads_the_requests_twice_whatever_it_is_asked(files):
    # Two statements read the requests: whether a request id repeats (a distinct count of
    # id hashes, the one aggregate whose groups are the requests themselves) and the one
    # GROUPING SETS query that yields all four rollups and counts the rows read and
    # rejected. Nothing after them reads a request: not the operations, the fix plan, the
    # forecast, the history of the report, nor a second or fourth connector.
    assert scans_of(files[1], trajectory=False) == 2
    assert scans_of(files[1]) == 2  # forecast and fix plan on the rollups
    assert scans_of(files[1], timeline_days=30) == 2  # the report's readiness timeline
    assert scans_of(files[4], all_connectors=True) == 2  # four connectors, still two


def test_the_figures_in_place_are_those_of_the_rollups_the_store_keeps(files, tmp_path):
    # The one code path after the rollups: in place and from a store give the same JSON.
    from typer.testing import CliRunner

    from connector_ga.cli import app

    store = tmp_path / "s.duckdb"
    result = CliRunner().invoke(app, ["ingest", files[4], "--store", str(store)])
    assert result.exit_code == 0, result.output
    in_place = api.run_check(telemetry=[files[4]], all_connectors=True)
    stored = api.run_check(store=store, all_connectors=True)
    assert [r.connector for r in in_place.results] == ["a-one", "b-two", "c-three", "d-four"]
    for a, b in zip(in_place.results, stored.results, strict=True):
        ja, jb = a.to_json_dict(), b.to_json_dict()
        ja.pop("data_quality", None), jb.pop("data_quality", None)
        assert ja == jb


@pytest.mark.spark
def test_spark_jobs_of_a_check_do_not_grow_with_connectors(files):
    missing = spark_missing()
    if missing:
        pytest.skip(f"Spark engine: {missing}")
    con = engine.connect(engine="spark")
    session = con._session
    tracker = session.sparkContext.statusTracker()

    def jobs(path: str, group: str, **options) -> int:
        session.sparkContext.setJobGroup(group, group)
        api.run_check(telemetry=[path], engine="spark", con=con, **options)
        return len(tracker.getJobIdsForGroup(group))

    one = jobs(files[1], "one-connector")
    four = jobs(files[4], "four-connectors", all_connectors=True)
    report = jobs(files[1], "with-a-timeline", timeline_days=30)
    # Reading (the file's first row), the one GROUPING SETS query brought back as Arrow and
    # the distinct request ids: a few jobs (7 with PySpark 4.0: its adaptive execution runs
    # a shuffle's stages as jobs of their own), as many for four connectors as for one and
    # with the report's timeline (the evaluation runs in a local DuckDB session on the
    # rollups, not as Spark jobs). 13 before the one pass, 56 before that.
    assert one <= 8
    assert four == one
    assert report == one


def test_day_and_monday_numbers_by_integer_arithmetic_fall_where_the_calendar_says():
    # Days from microseconds since the epoch, floored: the last microsecond of 1969 is on
    # 1969-12-31 (truncating would put it on 1970-01-01). 1970-01-01 was a Thursday, so its
    # ISO week began on Monday 1969-12-29; 2026-11-22 is a Sunday (week of Monday 11-16),
    # 2026-11-23 a Monday; 9999-12-31 a Friday (Monday 12-27); 0001-01-01 a Monday.
    import ibis

    utc = dt.UTC
    times = [
        dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=utc),
        dt.datetime(1970, 1, 1, tzinfo=utc),
        dt.datetime(2026, 11, 22, 23, 59, 59, 999999, tzinfo=utc),
        dt.datetime(2026, 11, 23, tzinfo=utc),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=utc),
        dt.datetime(1, 1, 1, tzinfo=utc),
    ]
    con = engine.connect()
    t = ibis.memtable({"time": times}, schema={"time": "timestamp('UTC')"})
    # The pass groups by day numbers (days since 1970-01-01) and their Mondays' numbers.
    number = engine.day_number(t.time)
    got = con.execute(t.select(d=number, w=engine.monday_number(number)))
    epoch = dt.date(1970, 1, 1)
    days = [epoch + dt.timedelta(days=int(n)) for n in got["d"]]
    weeks = [epoch + dt.timedelta(days=int(n)) for n in got["w"]]
    D = dt.date
    assert days == [D(1969, 12, 31), D(1970, 1, 1), D(2026, 11, 22), D(2026, 11, 23)] + [
        D(9999, 12, 31),
        D(1, 1, 1),
    ]
    assert weeks == [D(1969, 12, 29), D(1969, 12, 29), D(2026, 11, 16), D(2026, 11, 23)] + [
        D(9999, 12, 27),
        D(1, 1, 1),
    ]


def test_an_export_of_requests_without_users_reads_back(tmp_path):
    # No user_id at all: the export's weekly_users table is empty, and must still read
    # back as dates. 2 requests, one a 500 (an unattributed 5xx: a connector fault under
    # the default policy): availability (2 - 1) / 2 = 0.5.
    from typer.testing import CliRunner

    from connector_ga.cli import app

    (tmp_path / "a.csv").write_text(
        "time,status,connector,connection_id\n"
        "2026-11-01T00:00:00Z,200,c,k1\n"
        "2026-11-01T01:00:00Z,500,c,k1\n"
    )
    runner = CliRunner()
    store, out = str(tmp_path / "s.duckdb"), str(tmp_path / "out")
    assert runner.invoke(app, ["ingest", str(tmp_path / "a.csv"), "--store", store]).exit_code == 0
    assert runner.invoke(app, ["store", "export", out, "--store", store]).exit_code == 0
    run = api.run_check(telemetry=[out])
    (result,) = run.results
    availability = next(c for c in result.criteria if c.id == "availability")
    assert availability.value == 0.5


def test_a_connector_asked_for_by_a_name_with_a_quote_is_read(tmp_path):
    # The pass keeps the connectors asked for by quoting their names into SQL: a quote in
    # a name must neither break the statement nor widen the selection. Three requests of
    # "o'brien" (one a 500: an unattributed 5xx, a connector fault) and two of "o": o'brien's
    # availability is (3 - 1) / 3 = 2/3, and its requests are 3, not 5.
    (tmp_path / "t.csv").write_text(
        "time,status,connector,connection_id\n"
        "2026-11-01T00:00:00Z,200,o'brien,k1\n"
        "2026-11-01T01:00:00Z,500,o'brien,k1\n"
        "2026-11-01T02:00:00Z,200,o'brien,k2\n"
        "2026-11-01T03:00:00Z,200,o,k3\n"
        "2026-11-01T04:00:00Z,200,o,k3\n"
    )
    (result,) = api.run_check(telemetry=[str(tmp_path / "t.csv")], connector="o'brien").results
    assert result.connector == "o'brien"
    assert result.metrics.requests == 3
    availability = next(c for c in result.criteria if c.id == "availability")
    assert availability.value == 2 / 3
