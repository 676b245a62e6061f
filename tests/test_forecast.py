"""Forecast (DESIGN.md "Trajectory"): the earliest dates, worked out by hand.

Telemetry is built day by day so each projection can be followed on paper. Unless a test
says otherwise, D = 2026-11-22 (a Sunday) and the window is [D-29, D] = [10-24, 11-22].
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import write_csv

from connector_ga.api import check
from connector_ga.config import load_config

D = dt.date(2026, 11, 22)  # a Sunday: ISO week W47 (11-16 .. 11-22) is complete


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def dates(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]


def steady(
    connector: str,
    first: dt.date,
    last: dt.date,
    per_day: int,
    connections: int,
    bad: dict[dt.date, int] | None = None,
    users_per_day: int | None = None,
) -> list[dict]:
    """`per_day` requests a day spread evenly over `connections` connections, 200 each but
    for `bad[day]` connector faults (status 500, backend 200) on that day, one per connection
    in turn. User u{i % users_per_day} makes request i of a day."""
    rows = []
    for d in dates(first, last):
        faults = (bad or {}).get(d, 0)
        for i in range(per_day):
            rows.append(
                {
                    "time": f"{d}T{i * 86_399 // per_day // 3600:02d}:"
                    f"{i * 86_399 // per_day % 3600 // 60:02d}:00Z",
                    "status": 500 if i < faults else 200,
                    "backend_status": 200,
                    "connector": connector,
                    "connection_id": f"{connector}-c{i % connections}",
                    "user_id": f"u{i % (users_per_day or per_day)}",
                }
            )
    return rows


GA_TOML = """
[connector]
id = "{id}"
preview_since = {since}

[backend]
status = "production"

[support.backend]
hours = ["Mon-Fri 08:00-17:00"]
timezone = "UTC"

[support.connector]
hours = ["Mon-Fri 08:00-17:00"]
timezone = "UTC"
contact = "help@example.com"
"""


def config(tmp_path, connector: str, since: str = "2026-01-05"):
    path = tmp_path / "ga.toml"
    path.write_text(GA_TOML.format(id=connector, since=since))
    return load_config(path)


@pytest.fixture
def outage(tmp_path):
    # 40 days (10-14 .. 11-22) of 100 requests a day on 10 connections; on X = 11-17 all 100
    # requests of the day are connector faults (10 on each connection).
    x = day("2026-11-17")
    rows = steady("outage", day("2026-10-14"), D, 100, 10, bad={x: 100})
    path = write_csv(tmp_path / "t.csv", rows)
    return x, path


def test_an_outage_with_no_later_fault_passes_availability_exactly_on_x_plus_30(tmp_path, outage):
    x, path = outage
    r = check(config=config(tmp_path, "outage"), telemetry=str(path), as_of=D)
    # Today: 100 connector faults in 30 x 100 = 3,000 eligible: 2,900 / 3,000 = 96.7%
    # < 99.95%: fail.
    availability_today = r.criterion("availability")
    assert availability_today.status == "fail"
    assert (availability_today.numerator, availability_today.denominator) == (2900, 3000)
    assert availability_today.value == pytest.approx(2900 / 3000)
    f = r.forecast
    assert f.scenario == "no-new-faults" and f.horizon_days == 180
    # No new fault: every future day brings 100 eligible requests (mean of the last 14 days:
    # 14 x 100 / 14) and no fault. The window [d-29, d] holds X's 100 faults while
    # d - 29 <= X, i.e. until d = X + 29; on X + 30 = 12-17 they have left: 0 faults, pass.
    availability = f.criteria["availability"]
    assert availability.basis == "window"
    assert availability.passes_on == x + dt.timedelta(days=30) == day("2026-12-17")
    assert availability.why == (
        "availability passes on 2026-12-17, when the connector faults of 2026-11-17 leave "
        "the 30-day window, if no new connector fault occurs"
    )


def test_the_same_outage_passes_slo_on_x_plus_30(tmp_path, outage):
    x, path = outage
    r = check(config=config(tmp_path, "outage"), telemetry=str(path), as_of=D)
    # Each of the 10 connections had 10 faults on X in 300 eligible: none meets the bar:
    # SLO 0 / 10, fail. Each future day gives each connection 100 / 10 = 10 requests and no
    # fault; a connection meets the bar again when X leaves its window: X + 30.
    assert (r.metrics.connections, r.metrics.connections_meeting_bar) == (10, 0)
    slo = r.forecast.criteria["slo"]
    assert (slo.passes_on, slo.basis) == (x + dt.timedelta(days=30), "window")
    # Every required criterion passes from X + 30; usage: 100 users a week < 500 and 10
    # connections < 50, preview since 2026-01-05: the low-usage exception applies from
    # 2026-07-05 already, so the verdict on X + 30 is ready-with-exception.
    assert r.forecast.ready_on == day("2026-12-17")
    assert r.forecast.ready_basis == "window"
    assert r.forecast.exception.id == "low-usage-after-6-months"
    assert r.forecast.exception.applies_on == day("2026-12-17")


def test_the_outage_is_ready_with_exception_on_x_plus_30_when_those_days_happen(tmp_path):
    """The forecast's X + 30, lived: the days it projects (100 requests a day on the same 10
    connections, no fault) observed up to 12-17, and `check` as of that day."""
    x, last = day("2026-11-17"), day("2026-12-17")
    rows = steady("outage", day("2026-10-14"), last, 100, 10, bad={x: 100})
    path = write_csv(tmp_path / "t.csv", rows)
    r = check(config=config(tmp_path, "outage"), telemetry=str(path), as_of=last)
    # The window [11-18, 12-17]: 30 x 100 = 3,000 eligible, X's faults outside it: 100%.
    assert r.criterion("availability").status == "pass"
    assert r.criterion("slo").status == "pass"
    # 100 users a week < 500 and 10 connections < 50 fail usage, but 2026-12-17 is more
    # than six months after preview_since (2026-01-05 + 6 months = 2026-07-05): the
    # low-usage exception applies.
    assert r.exception == "low-usage-after-6-months"
    assert r.verdict == "ready-with-exception"
    # And the day before, X's faults are still in [11-17, 12-16]: not ready.
    before = check(
        config=config(tmp_path, "outage"), telemetry=str(path), as_of=last - dt.timedelta(1)
    )
    assert before.verdict not in ("ready", "ready-with-exception")


def test_recent_rate_that_keeps_availability_failing_gives_no_date(tmp_path):
    # 1,000 requests a day for 40 days, 1 connector fault every day: 0.1% a day, above the
    # 0.05% the bar allows. The median daily rate of the last 14 days is 1 / 1,000, so the
    # projection keeps 1 fault in 1,000 a day: 30 faults in 30,000 eligible, 99.9% < 99.95%.
    faults = {d: 1 for d in dates(day("2026-10-14"), D)}
    rows = steady("leaky", day("2026-10-14"), D, 1000, 20, bad=faults)
    path = write_csv(tmp_path / "t.csv", rows)
    r = check(
        config=config(tmp_path, "leaky"), telemetry=str(path), as_of=D, scenario="recent-rate"
    )
    availability = r.forecast.criteria["availability"]
    assert availability.passes_on is None
    assert availability.why == (
        "availability does not pass within 180 days at the recent connector-fault rate of "
        "0.1% of eligible requests a day"
    )
    assert r.forecast.ready_on is None and r.forecast.ready_basis == "window"
    # The same data under no-new-faults: on D + k the window [D+k-29, D+k] holds 30 - k
    # measured days of 1 fault each in 30 x 1,000 = 30,000 eligible requests; it passes
    # when 30 - k <= 30,000 x 0.0005 = 15, i.e. k = 15: D + 15 = 12-07, as 11-07 leaves.
    calm = check(config=config(tmp_path, "leaky"), telemetry=str(path), as_of=D)
    assert calm.forecast.criteria["availability"].passes_on == day("2026-12-07")
    assert calm.forecast.criteria["availability"].why.startswith(
        "availability passes on 2026-12-07, when the connector faults of 2026-11-07 leave"
    )


def test_the_six_month_exception_date_comes_from_preview_since(tmp_path):
    # A healthy connector with 10 connections (MAC 10 < 50) and 100 users, in preview since
    # 2026-06-15: six calendar months later is 2026-12-15. Every required criterion passes
    # today (D = 11-22): ready-with-warnings today, ready-with-exception from 12-15.
    rows = steady("young", day("2026-10-14"), D, 100, 10)
    path = write_csv(tmp_path / "t.csv", rows)
    r = check(config=config(tmp_path, "young", "2026-06-15"), telemetry=str(path), as_of=D)
    assert r.verdict == "ready-with-warnings"
    assert r.forecast.exception.id == "low-usage-after-6-months"
    assert r.forecast.exception.applies_on == day("2026-12-15")
    assert r.forecast.ready_on == day("2026-12-15")
    assert r.forecast.ready_basis == "calendar"


def weekly(connector: str, users: list[int], connections: int = 60) -> list[dict]:
    """One request a day per user for the eight ISO weeks W40..W47 (09-28 .. 11-22):
    week k has users[k] distinct users (u0 .. u{n-1}), spread over `connections`."""
    rows = []
    first = day("2026-09-28")  # Monday of W40
    for k, n in enumerate(users):
        for offset in range(7):
            d = first + dt.timedelta(days=7 * k + offset)
            for u in range(n):
                if u % 7 != offset:  # each user once a week, on one day of it
                    continue
                rows.append(
                    {
                        "time": f"{d}T12:00:00Z",
                        "status": 200,
                        "backend_status": 200,
                        "connector": connector,
                        "connection_id": f"c{u % connections}",
                        "user_id": f"u{u}",
                    }
                )
    return rows


def test_a_wau_trend_crossing_500(tmp_path):
    # Weekly users W40..W47: 200, 240, …, 480 (+40 a week, on a straight line, so every
    # pairwise slope is 40 a week, the band too). Projected: W48 520, W49 560, W50 600.
    # As of a day d, the three last complete weeks must be >= 500: as of Sun 11-29 they are
    # W46 440, W47 480, W48 520: fail; Sun 12-06: W47 480: fail; Sun 12-13: W48 520,
    # W49 560, W50 600: pass. So passes_on = 2026-12-13, and low = high = 12-13.
    users = [200 + 40 * k for k in range(8)]
    path = write_csv(tmp_path / "t.csv", weekly("growing", users))
    r = check(config=config(tmp_path, "growing"), telemetry=str(path), as_of=D)
    assert [w.users for w in r.metrics.wau] == [400, 440, 480]
    wau = r.forecast.criteria["weekly-active-users"]
    assert (wau.basis, wau.passes_on) == ("trend", day("2026-12-13"))
    assert (wau.low, wau.high) == (day("2026-12-13"), day("2026-12-13"))
    assert wau.why == "weekly active users passes on 2026-12-13 at the current trend (+40.0 a week)"


def test_a_declining_wau_trend_never_crosses_and_says_so(tmp_path):
    users = [480 - 10 * k for k in range(8)]  # 480, 470, …, 410: -10 a week
    path = write_csv(tmp_path / "t.csv", weekly("fading", users))
    r = check(config=config(tmp_path, "fading"), telemetry=str(path), as_of=D)
    wau = r.forecast.criteria["weekly-active-users"]
    assert wau.passes_on is None and wau.low is None and wau.high is None
    assert wau.why == (
        "weekly active users does not pass within 180 days at the current trend (-10.0 a week)"
    )


def test_a_declaration_is_forecast_plainly(tmp_path):
    rows = steady("declared", day("2026-10-14"), D, 100, 10)
    path = write_csv(tmp_path / "t.csv", rows)
    (tmp_path / "ga.toml").write_text('[connector]\nid = "declared"\n')
    cfg = load_config(tmp_path / "ga.toml")
    r = check(config=cfg, telemetry=str(path), as_of=D)
    backend = r.forecast.criteria["backend-production"]
    assert (backend.passes_on, backend.basis) == (None, "declaration")
    assert (
        backend.why == "backend production changes only when ga.toml (or the package it names) does"
    )
    assert r.forecast.ready_on is None and r.forecast.ready_basis == "declaration"


def test_a_ready_connector_can_request_today(tmp_path):
    # 600 users and 60 connections a day, every day: everything passes on D.
    rows = steady("ready", day("2026-10-14"), D, 600, 60)
    path = write_csv(tmp_path / "t.csv", rows)
    r = check(config=config(tmp_path, "ready"), telemetry=str(path), as_of=D)
    assert r.verdict == "ready"
    assert (r.forecast.ready_on, r.forecast.ready_basis) == (D, None)
    assert r.forecast.criteria == {}


# ---- the forecast as users read it: terminal, JSON, Markdown, report ---------------------


@pytest.fixture
def outage_cli(tmp_path, outage):
    """`check` on the outage telemetry through the CLI, with every output."""
    from typer.testing import CliRunner

    from connector_ga.cli import app

    x, path = outage
    toml = tmp_path / "ga.toml"
    toml.write_text(GA_TOML.format(id="outage", since="2026-01-05"))
    args = ["check", "-c", str(toml), "-t", str(path), "--as-of", str(D)]
    outputs = {
        "report": tmp_path / "r.html",
        "markdown": tmp_path / "s.md",
        "json": tmp_path / "r.json",
    }
    result = CliRunner().invoke(
        app,
        [
            *args,
            "--report",
            str(outputs["report"]),
            "--markdown",
            str(outputs["markdown"]),
            "--json",
            str(outputs["json"]),
        ],
        env={"COLUMNS": "160"},
    )
    return result, {k: p.read_text() for k, p in outputs.items()}


def test_the_terminal_says_the_earliest_date(outage_cli):
    result, _ = outage_cli
    assert result.exit_code == 1  # not ready today
    # The outage of 11-17 leaves the window on 12-17 (see the availability test above).
    assert "Earliest date a request can pass: 2026-12-17 (window, no-new-faults)" in result.output
    assert "availability passes on 2026-12-17, when the connector faults of 2026-11-17" in (
        " ".join(result.output.split())
    )


def test_the_json_forecast_has_the_designed_keys(outage_cli):
    import json

    _, files = outage_cli
    forecast = json.loads(files["json"])["forecast"]
    assert {"horizon_days", "scenario", "ready_on", "ready_basis", "exception", "criteria"} <= set(
        forecast
    )
    assert (forecast["ready_on"], forecast["ready_basis"]) == ("2026-12-17", "window")
    assert set(forecast["criteria"]["availability"]) >= {"passes_on", "basis", "low", "high"}
    # Low usage today: 100 users a week, 10 connections, preview since 2026-01-05: the
    # exception would apply (D is past 2026-07-05) once every required criterion passes,
    # i.e. from 12-17.
    assert forecast["exception"] == {
        "id": "low-usage-after-6-months",
        "applies_on": "2026-12-17",
        "basis": "calendar",
    }


def test_the_markdown_summary_gains_ready_on(outage_cli):
    _, files = outage_cli
    assert "**Ready on:** 2026-12-17 (window; scenario `no-new-faults`)" in files["markdown"]


def test_the_report_shows_the_forecast_and_a_readiness_timeline(outage_cli):
    _, files = outage_cli
    html = files["report"]
    assert "<h2>Forecast</h2>" in html and "<h2>Readiness timeline</h2>" in html
    forecast = html[html.index("<h2>Forecast</h2>") : html.index("<h2>Readiness timeline</h2>")]
    assert (
        '<tr data-forecast="availability"><td><strong>Availability</strong></td><td>2026-12-17'
        in forecast
    )
    # Telemetry from 10-14 to D = 11-22: the timeline has 40 days (10-14 .. 11-22), one cell
    # per day in each of its 8 rows (the verdict and 7 criteria).
    timeline = html[
        html.index('<table class="timeline">') : html.index(
            "</table>", html.index('<table class="timeline">')
        )
    ]
    assert timeline.count("<td ") == 8 * 40
    # Availability: as of d < 10-14 + 29 = 11-12 the window [d−29, d] begins before the first
    # telemetry day and a pass is insufficient-data (10-14 .. 11-11: 29 days); it passes
    # 11-12 .. 11-16 (5 days) and fails from X = 11-17 (11-17 .. 11-22: 6 days); 29+5+6 = 40.
    row = timeline[timeline.index(">Availability</th>") :].split("</tr>")[0]
    assert row.count('class="t-insufficient-data"') == 29
    assert row.count('class="t-pass"') == 5 and row.count('class="t-fail"') == 6
    assert '<figure id="outage-chart-forecast-availability"' in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--scenario", "optimistic"],
            "--scenario optimistic: expected one of no-new-faults, recent-rate",
        ),
        (["--horizon", "0"], "--horizon 0: expected a number of days >= 1"),
    ],
)
def test_bad_forecast_options_are_one_line(tmp_path, outage, args, message):
    from typer.testing import CliRunner

    from connector_ga.cli import app

    _, path = outage
    result = CliRunner().invoke(app, ["check", "-t", str(path), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_the_forecast_says_from_which_date_the_window_is_covered(tmp_path):
    # Issue 16 item 2: 10 clean days 11-13 .. 11-22 (100 requests a day on 10 connections):
    # the window [10-24, 11-22] has 10 of 30 days observed, so availability's pass is
    # insufficient-data today. It is covered (30 observed days, min_observed_days) from
    # 11-13 + 29 days = 12-12 on, and with no new fault availability passes that day.
    rows = steady("young", day("2026-11-13"), D, 100, 10)
    path = write_csv(tmp_path / "t.csv", rows)
    r = check(config=config(tmp_path, "young"), telemetry=str(path), as_of=D)
    assert r.criterion("availability").status == "insufficient-data"
    f = r.forecast
    assert f.window_covered_on == day("2026-12-12")
    availability = f.criteria["availability"]
    assert availability.passes_on == day("2026-12-12")
    assert "the window is covered from 2026-12-12 on (10 of 30 days observed now)" in (
        availability.why
    )
    assert r.to_json_dict()["forecast"]["window_covered_on"] == "2026-12-12"
