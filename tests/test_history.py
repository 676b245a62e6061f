"""History (DESIGN.md "Trajectory"): every day equal, in every figure, to a check as of it.

A simulated 120-day run with two incidents (a connector bug, then a backend outage) is
judged once as a history and once per day as a check; every figure of every day must
match. The same history on Spark must match DuckDB's. Hand-worked cases check the change
list and the range options.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import require_spark, write_csv
from typer.testing import CliRunner

from connector_ga import engine
from connector_ga.api import judge, prepare, run_check, run_history
from connector_ga.cli import app
from connector_ga.metrics.series import metric_series
from connector_ga.simulate import SimulationSpec, parse_incident, simulate

FIRST, LAST = dt.date(2026, 7, 24), dt.date(2026, 11, 20)  # 120 days
BUG = "connector-bug@2026-10-01T08:00Z/6h"  # connector faults: availability fails 30 days
OUTAGE = "backend-outage@2026-11-02T10:00Z/3h"  # backend faults: must not count against it


@pytest.fixture(scope="module")
def run120(tmp_path_factory):
    path = tmp_path_factory.mktemp("history") / "t.parquet"
    spec = SimulationSpec(
        days=120,
        connections=80,
        users=600,
        requests_per_day=1500,
        seed=11,
        incidents=[parse_incident(BUG), parse_incident(OUTAGE)],
    )
    spec.end = LAST
    simulate(spec, path)
    return str(path)


def comparable(result) -> dict:
    """A Result's JSON without what only a check carries (its chart points, operations,
    forecast and fix plan)."""
    data = result.to_json_dict()
    for key in ("forecast", "fix_plan"):
        data.pop(key, None)
    data["metrics"].pop("daily")
    data["metrics"].pop("operations")
    return data


@pytest.fixture(scope="module")
def history_duckdb(run120):
    return run_history(telemetry=[run120], first=FIRST, last=LAST)


def test_every_day_of_the_history_equals_a_check_as_of_it(run120, history_duckdb):
    days = history_duckdb.results["contoso-tasks"]
    assert [r.as_of for r in days] == [FIRST + dt.timedelta(days=k) for k in range(120)]
    # A check as of d reads and aggregates the telemetry (which does not depend on d), then
    # computes the metrics as of d alone and judges them: that last part, for every day.
    # (As `metrics_as_of` does, without its per-operation table: `comparable` leaves the
    # operations out, and no criterion is judged from them.)
    p = prepare(telemetry=[run120])
    known = {name: p.rollups.spans[name] for name in p.names}
    for result in days:
        one_day = metric_series(p.rollups, p.policy, [result.as_of], known, chart_points=True)
        ((metrics,),) = one_day.values()
        assert comparable(result) == comparable(judge(p, metrics)), result.as_of
    # And the whole check, reading the file anew, on the days the incidents change things.
    con = engine.connect()
    for day in (FIRST, dt.date(2026, 10, 1), dt.date(2026, 10, 31), dt.date(2026, 11, 2), LAST):
        checked = run_check(telemetry=[run120], as_of=day, trajectory=False, con=con)
        ours = days[(day - FIRST).days]
        assert comparable(ours) == comparable(checked.results[0]), day


def test_the_incidents_show_in_the_history(history_duckdb):
    h = history_duckdb.histories[0]
    by_day = {d.as_of: d for d in h.days}
    # The bug of 10-01 (6 h of connector faults) fails availability from that day until it
    # leaves the 30-day window on 10-31; the backend outage of 11-02 does not count.
    assert by_day[dt.date(2026, 9, 30)].criteria["availability"].status == "pass"
    assert by_day[dt.date(2026, 10, 1)].criteria["availability"].status == "fail"
    assert by_day[dt.date(2026, 10, 30)].criteria["availability"].status == "fail"
    assert by_day[dt.date(2026, 10, 31)].criteria["availability"].status == "pass"
    assert by_day[dt.date(2026, 11, 2)].criteria["availability"].status == "pass"
    changes = [(c.on, c.criterion, c.from_, c.to) for c in h.changes if c.what == "criterion"]
    assert (dt.date(2026, 10, 1), "availability", "pass", "fail") in changes
    assert (dt.date(2026, 10, 31), "availability", "fail", "pass") in changes


@pytest.mark.spark
def test_spark_gives_the_same_history(run120, history_duckdb):
    require_spark()
    spark = run_history(telemetry=[run120], first=FIRST, last=LAST, engine="spark")
    for ours, theirs in zip(
        history_duckdb.results["contoso-tasks"], spark.results["contoso-tasks"], strict=True
    ):
        assert comparable(ours) == comparable(theirs), ours.as_of
    # And a few days as Spark checks, around the incident.
    for day in (dt.date(2026, 10, 1), dt.date(2026, 10, 31), LAST):
        checked = run_check(telemetry=[run120], as_of=day, engine="spark", trajectory=False)
        ours = next(r for r in spark.results["contoso-tasks"] if r.as_of == day)
        assert comparable(ours) == comparable(checked.results[0])


def rows_on(day: str, n: int, status: int = 200) -> list[dict]:
    return [
        {
            "time": f"{day}T12:00:{i:02d}Z",
            "status": status,
            "backend_status": 200,
            "connection_id": f"c{i}",
            "user_id": f"u{i}",
        }
        for i in range(n)
    ]


def test_history_json_lists_days_and_changes(tmp_path):
    # 11-01 .. 11-05, 10 requests a day; on 11-03 two of them are connector faults:
    # availability as of 11-01, 11-02: 10/10, 20/20: pass; 11-03: 28/30 fail; 11-04: 38/40;
    # 11-05: 48/50 (the faults stay in the 30-day window): fail.
    rows = []
    for day in ("2026-11-01", "2026-11-02", "2026-11-04", "2026-11-05"):
        rows += rows_on(day, 10)
    rows += rows_on("2026-11-03", 8) + rows_on("2026-11-03", 2, status=500)[:2]
    for i, row in enumerate(rows):
        row["time"] = row["time"][:17] + f"{i % 60:02d}Z"
    # One throttled 429 (not eligible: no figure above moves) on 11-01 − 29 = 10-03, the
    # first day of the earliest window [10-03, 11-01]: every day's window is observed whole.
    rows += rows_on("2026-10-03", 1, status=429)
    path = write_csv(tmp_path / "t.csv", rows)
    result = CliRunner().invoke(
        app,
        ["history", "-t", str(path), "--from", "2026-11-01", "--to", "2026-11-05", "--json", "-"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "connector-ga/history/v1"
    assert (data["from"], data["to"]) == ("2026-11-01", "2026-11-05")
    availability = [d["criteria"]["availability"] for d in data["days"]]
    assert [a["status"] for a in availability] == ["pass", "pass", "fail", "fail", "fail"]
    assert availability[2]["value"] == 28 / 30
    assert {"on": "2026-11-03", "criterion": "availability", "from": "pass", "to": "fail"} in data[
        "changes"
    ]


def test_history_days_counts_back_from_the_latest_request(tmp_path):
    rows = rows_on("2026-11-05", 5) + rows_on("2026-11-01", 5)
    path = write_csv(tmp_path / "t.csv", rows)
    run = run_history(telemetry=[str(path)], days=3)
    # The latest request is on 11-05: three days 11-03, 11-04, 11-05.
    (results,) = run.results.values()
    assert [r.as_of for r in results] == [
        dt.date(2026, 11, 3),
        dt.date(2026, 11, 4),
        dt.date(2026, 11, 5),
    ]


def test_history_from_a_day_without_to_runs_to_the_latest_request(tmp_path):
    # Requests on 11-01 and 11-05; --from 11-03 alone: the days 11-03, 11-04, 11-05 (it
    # used to fail with "--from 2026-11-03 is after --to 2000-01-01").
    rows = rows_on("2026-11-05", 5) + rows_on("2026-11-01", 5)
    path = write_csv(tmp_path / "t.csv", rows)
    run = run_history(telemetry=[str(path)], first=dt.date(2026, 11, 3))
    (results,) = run.results.values()
    assert [r.as_of for r in results] == [
        dt.date(2026, 11, 3),
        dt.date(2026, 11, 4),
        dt.date(2026, 11, 5),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-05", "--to", "2026-11-01"], "--from 2026-11-05 is after --to"),
        (["--from", "2026-11-01", "--days", "3"], "--from and --days: give one of them"),
        (["--days", "0"], "--days 0: expected a number of days >= 1"),
        (["--from", "yesterday"], "--from 'yesterday': expected a date such as 2026-11-20"),
    ],
)
def test_bad_history_options_are_one_line_and_exit_2(tmp_path, args, message):
    path = write_csv(tmp_path / "t.csv", rows_on("2026-11-05", 5))
    result = CliRunner().invoke(app, ["history", "-t", str(path), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_terminal_header_never_cuts_a_date_label(tmp_path):
    # Issue 18 item 5: 16 days 11-01 .. 11-16: labels at cells 0 (11-01) and 14 (11-15);
    # "11-15" needs cells 14..18 of 16 (0..15), so it is left out, not cut to "11".
    rows = []
    for k in range(1, 17):
        rows += rows_on(f"2026-11-{k:02d}", 2)
    path = write_csv(tmp_path / "t.csv", rows)
    result = CliRunner().invoke(
        app,
        ["history", "-t", str(path), "--from", "2026-11-01", "--to", "2026-11-16"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code in (0, 1), result.output
    scale = next(line for line in result.output.splitlines() if line.strip().startswith("11-01"))
    assert scale.split() == ["11-01"], scale
