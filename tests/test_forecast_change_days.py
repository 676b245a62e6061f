"""The forecast judges the days on which something changes (issue 15 item 3), and what it
says is what judging every day of the horizon says.

`project(…, every_day=True)` computes the window figures and judges each of the horizon's
days (the forecast as it was); the default computes the window figures up to D + 30 only
(under no-new-faults nothing of them changes after) and judges a day only when what its
judgement rests on differs from the day before. The Forecast JSON must be the same.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import write_csv
from test_forecast import D, config, day, steady, weekly

from connector_ga.api import judge, prepare
from connector_ga.metrics.compute import metrics_as_of
from connector_ga.simulate import SimulationSpec, parse_incident, simulate
from connector_ga.trajectory.forecast import forecast, project


def forecasts(p, horizon: int, scenario: str, every_day: bool):
    """Each connector's Forecast as of the latest day, and its Projection."""
    d = p.rollups.latest_day
    results = {n: judge(p, m) for n, m in metrics_as_of(p.rollups, p.policy, d, p.names).items()}
    projections = project(
        results,
        p.rollups,
        p.quality,
        p.policy,
        p.configs,
        p.backends,
        scenario,
        horizon,
        every_day=every_day,
    )
    out = {
        name: forecast(r, projections.get(name), p.policy, scenario, horizon).model_dump(
            mode="json"
        )
        for name, r in results.items()
    }
    return out, projections


def same_both_ways(p, horizon: int, scenario: str):
    changed, projections = forecasts(p, horizon, scenario, every_day=False)
    reference, every = forecasts(p, horizon, scenario, every_day=True)
    assert changed == reference
    assert all(pr.judged == horizon for pr in every.values())
    return changed, projections


def test_an_outage_is_judged_on_2_days_of_365_and_forecast_the_same(tmp_path):
    # 40 days (10-14 .. 11-22), 100 requests a day on 10 connections and 100 users; on X =
    # 11-17 all 100 requests are connector faults. Under no-new-faults each future day adds
    # 100 eligible requests and no fault, as each observed day but X had: while an observed
    # day other than X leaves the window, the window holds the same 3,000 eligible requests,
    # 100 faults, 10 connections of which 0 meet the bar. Only X leaving (on X + 30 = 12-17)
    # changes them. Usage is flat (100 users each week, 10 connections: a trend of slope 0
    # repeats the same numbers), preview since 2026-01-05 so the exception is due all along,
    # support hours the same each day. Judged: D + 1 (the first) and 12-17: 2 of 365.
    x = day("2026-11-17")
    path = write_csv(tmp_path / "t.csv", steady("outage", day("2026-10-14"), D, 100, 10, {x: 100}))
    p = prepare(config=config(tmp_path, "outage"), telemetry=[str(path)])
    changed, projections = same_both_ways(p, 365, "no-new-faults")
    assert projections["outage"].judged == 2
    f = changed["outage"]
    # X + 30 = 12-17 (test_forecast: the faults leave the window): the same here.
    assert f["criteria"]["availability"]["passes_on"] == "2026-12-17"
    assert f["ready_on"] == "2026-12-17"


def test_a_growing_wau_trend_is_judged_each_week_it_changes(tmp_path):
    # Weekly users W40..W47 200, 240, …, 480 (+40 a week: test_forecast's crossing), one
    # request a day per user, on 60 connections. The projected WAU of a week changes each
    # Monday; MAC stays 60 (every connection active each week). The forecast is the same
    # judged on change days as on every day, and judges fewer days than the horizon.
    path = write_csv(tmp_path / "t.csv", weekly("growing", [200 + 40 * k for k in range(8)]))
    p = prepare(config=config(tmp_path, "growing"), telemetry=[str(path)])
    changed, projections = same_both_ways(p, 120, "no-new-faults")
    assert changed["growing"]["criteria"]["weekly-active-users"]["passes_on"] == "2026-12-13"
    # Mondays 11-23 .. 03-15 within 120 days: 17 Mondays, plus at most the 30 days of the
    # window's changes: at most 47 of 120.
    assert projections["growing"].judged <= 47


@pytest.mark.parametrize("scenario", ["no-new-faults", "recent-rate"])
def test_simulated_fleets_forecast_the_same(tmp_path, scenario):
    """Simulated traffic (diurnal, growing, sparse connections, a connector bug and a
    backend outage in the last 14 days) for three connectors, horizon 365."""
    spec = SimulationSpec(
        connectors=["alpha", "beta", "gamma"],
        days=75,
        end=dt.date(2026, 11, 20),
        connections=40,
        users=90,
        requests_per_day=300,
        seed=7,
        incidents=[
            parse_incident("connector-bug@2026-11-12T08:00Z/5h:0.5"),
            parse_incident("backend-outage@2026-11-15T01:00Z/3h"),
        ],
    )
    simulate(spec, tmp_path / "sim.parquet")
    p = prepare(telemetry=[str(tmp_path / "sim.parquet")], all_connectors=True)
    changed, projections = same_both_ways(p, 365, scenario)
    assert set(changed) == {"alpha", "beta", "gamma"}
    if scenario == "recent-rate":
        return
    # Under no-new-faults the window figures change on D+1 .. D+30 at most; the rest comes
    # from usage (weekly on Mondays, MAC by the trend's whole numbers) and the calendar.
    for pr in projections.values():
        assert pr.judged < 365


def test_sparse_connections_keep_the_window_count_from_d_plus_30(tmp_path):
    # 5 requests a day over 20 connections (c{i % 20} on day t takes requests t*5 .. t*5+4:
    # every connection once in 4 days), 40 days: the projection gives 5 / 20 = 0 each and
    # the remainder of 5 rotates, so a connection has a request only some days. A 30-day
    # window of projected days still holds min(20, 30 + 5 - 1) = 20 connections with
    # requests: the same count on every day from D + 30. The JSON is the same both ways.
    rows = []
    for t, d in enumerate(dates := [D - dt.timedelta(days=39 - k) for k in range(40)]):
        for i in range(5):
            n = t * 5 + i
            rows.append(
                {
                    "time": f"{d}T{10 + i:02d}:00:00Z",
                    "status": 500 if d == dates[-3] and i == 0 else 200,
                    "backend_status": 200,
                    "connector": "sparse",
                    "connection_id": f"c{n % 20}",
                    "user_id": f"u{n % 7}",
                }
            )
    path = write_csv(tmp_path / "t.csv", rows)
    p = prepare(config=config(tmp_path, "sparse"), telemetry=[str(path)])
    same_both_ways(p, 200, "no-new-faults")
