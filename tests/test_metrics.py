"""Metric definitions (DESIGN.md, "Metric definitions" and "Comparisons") through check().

Every expected number is computed by hand from DESIGN.md, with the arithmetic in the
comment next to the assertion. Dates used (all 2026): 11-20 is a Friday, 11-21 a
Saturday, 11-22 a Sunday; ISO weeks W44 = 10-26..11-01, W45 = 11-02..11-08,
W46 = 11-09..11-15, W47 = 11-16..11-22 (Monday..Sunday). With D = 11-20 the window
[D-29, D] is [10-22, 11-20] and D-30 is 10-21.

z for the 95% Wilson interval is 1.959964 (z² = 3.841459). Scenarios that share an
evaluation date share one telemetry file, one connector per scenario, judged with
check_fleet (each connector on its own rows, DESIGN.md fleet mode), to keep the file fast.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from conftest import write_csv

from connector_ga.api import check, check_fleet
from connector_ga.config import parse_config

D = dt.date(2026, 11, 20)  # a Friday
T = "2026-11-20T10:00:00Z"
Z = 1.959964
Z2 = Z * Z  # 3.841459
FAULTS = ("none", "client", "backend", "connector", "throttled")


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def days(first: str, last: str) -> list[dt.date]:
    start, end = day(first), day(last)
    return [start + dt.timedelta(days=k) for k in range((end - start).days + 1)]


def req(connector: str, status: int, n: int = 1, time: str = T, **extra) -> list[dict]:
    """n identical request rows of one connector."""
    return [{"time": time, "status": status, "connector": connector, **extra} for _ in range(n)]


OPENING = "2026-10-22T10:00:00Z"  # D − 29: the first day of the window [10-22, 11-20]


def opening(connector: str) -> list[dict]:
    """One throttled request (429: +1 request, +1 throttled, no eligible, success or fault
    count moves) on D − 29, so the window is observed whole and a pass stands (DESIGN: a
    pass needs min_observed_days = 30 observed days)."""
    return req(connector, 429, time=OPENING)


def faults(**counts: int) -> dict[str, int]:
    return {kind: counts.get(kind, 0) for kind in FAULTS}


# ---- reliability: availability, success rate, SLO, weights, Wilson, error budget --------


def reliability_rows() -> list[dict]:
    rows: list[dict] = []
    # The connectors whose passes are tested open on D − 29 (see `opening`).
    for cid in (
        "avail-1of2000", "avail-backend", "sr-801", "sr-81of100", "zero-1000",
        "budget-10000", "slo-199of200",
    ):  # fmt: skip
        rows += opening(cid)
    # 1 connector fault (rule 9) in 2,000 eligible; 100 throttled on top.
    rows += req("avail-1of2000", 200, 1999) + req("avail-1of2000", 500)
    rows += req("avail-1of2000", 429, 100)
    # 2 connector faults in 2,000 eligible.
    rows += req("avail-2of2000", 200, 1998) + req("avail-2of2000", 500, 2)
    # 2 backend faults (rule 3) + 1 connector fault in 2,000 eligible.
    rows += req("avail-backend", 200, 1997) + req("avail-backend", 500, 2, backend_status=503)
    rows += req("avail-backend", 500)
    # 800 successes, 200 client errors, 50 + 30 throttled.
    rows += req("sr-800", 200, 800) + req("sr-800", 404, 200) + req("sr-800", 429, 50)
    rows += req("sr-800", 200, 30, error_reason="RateLimitExceeded")
    # 801 successes, 199 client errors.
    rows += req("sr-801", 200, 801) + req("sr-801", 404, 199)
    # 81 successes in 100.
    rows += req("sr-81of100", 200, 81) + req("sr-81of100", 404, 19)
    # Status classes: seven 1xx-3xx, two 4xx, one 5xx from the backend, three throttled.
    for status in (100, 101, 200, 204, 301, 304, 399, 400, 404):
        rows += req("classes", status)
    rows += req("classes", 500, backend_status=503)
    rows += req("classes", 429, 2) + req("classes", 200, error_reason="RateLimitExceeded")
    # 1,000 eligible, no fault at all.
    rows += req("zero-1000", 200, 1000)
    # A sampled row standing for 9,997 successes, and 3 connector faults.
    rows += req("budget-10000", 200, weight=9997) + req("budget-10000", 500, 3)
    # SLO: A meets the bar exactly, B is only throttled, C does not meet it, and four rows
    # have no connection_id.
    rows += req("slo-mixed", 200, 1999, connection_id="A") + req(
        "slo-mixed", 500, connection_id="A"
    )
    rows += req("slo-mixed", 429, 3, connection_id="B")
    rows += req("slo-mixed", 200, 9, connection_id="C") + req("slo-mixed", 500, connection_id="C")
    rows += req("slo-mixed", 200, 3) + req("slo-mixed", 500)
    # 200 connections with one request each; one (or two) of them a connector fault.
    for cid, bad in (("slo-199of200", 1), ("slo-198of200", 2)):
        for k in range(200):
            rows += req(cid, 500 if k < bad else 200, connection_id=f"s{k}")
    # Weights, on Tuesday 2026-11-10 (ISO week W46, inside the window).
    tue = "2026-11-10T10:00:00Z"
    rows += req("weights", 200, time=tue, weight=5, connection_id="A", user_id="U")
    rows += req("weights", 500, time=tue, weight=1, connection_id="A", user_id="U")
    rows += req("weights", 429, time=tue, weight=3, connection_id="B", user_id="V")
    rows += req("weights", 200, time=tue, weight=1999, connection_id="C", user_id="W")
    rows += req("weights", 500, time=tue, weight=1, connection_id="C", user_id="W")
    return rows


@pytest.fixture(scope="module")
def rel(tmp_path_factory, engine_name):
    path = write_csv(tmp_path_factory.mktemp("reliability") / "t.csv", reliability_rows())
    return {
        r.connector: r
        for r in check_fleet(str(path), as_of=D, engine=engine_name, trajectory=False)
    }


def test_availability_exactly_at_threshold_passes_through_check(csv_file, engine_name):
    rows = [{"time": T, "status": 200, "connection_id": "c1"} for _ in range(1999)]
    rows.append({"time": T, "status": 500, "connection_id": "c1"})  # rule 9 -> connector
    rows.append({"time": OPENING, "status": 429, "connection_id": "c1"})  # throttled, D − 29
    r = check(telemetry=str(csv_file(rows)), as_of=D, engine=engine_name, trajectory=False)
    assert (r.metrics.eligible, r.metrics.faults["connector"]) == (2000, 1)
    # availability = 1 - 1/2000 = 0.9995 >= 0.9995 -> pass.
    assert r.metrics.availability == pytest.approx(0.9995)
    c = r.criterion("availability")
    assert c.status == "pass"
    assert (c.numerator, c.denominator) == (1999, 2000)
    # c1 alone: its availability 0.9995 meets the bar -> SLO 1/1.
    assert (r.metrics.connections, r.metrics.connections_meeting_bar) == (1, 1)
    assert r.criterion("slo").status == "pass"


def test_one_fault_in_2000_passes_and_throttled_are_excluded(rel):
    r = rel["avail-1of2000"]
    m = r.metrics
    # requests 2,101 = eligible 2,000 + throttled 100 + the opening 429.
    assert (m.requests, m.eligible, m.throttled) == (2101, 2000, 101)
    assert m.faults == faults(none=1999, connector=1, throttled=101)
    # 1 - 1/2000 = 0.9995 -> pass (>=).
    assert m.availability == pytest.approx(0.9995)
    assert r.criterion("availability").status == "pass"
    # success rate: 1,999 of 2,000 eligible (the 429s are not in the denominator).
    assert m.successes == 1999
    assert m.success_rate == pytest.approx(0.9995)


def test_two_faults_in_2000_fail(rel):
    r = rel["avail-2of2000"]
    # 1 - 2/2000 = 0.999 < 0.9995 -> fail.
    assert r.metrics.availability == pytest.approx(0.999)
    c = r.criterion("availability")
    assert c.status == "fail"
    assert (c.numerator, c.denominator) == (1998, 2000)
    # Error budget: allowed 0.0005 x 2,000 = 1, consumed 2, remaining 1 - 2 = -1.
    b = r.metrics.error_budget
    assert b.allowed == pytest.approx(1.0)
    assert b.consumed == 2
    assert b.remaining == pytest.approx(-1.0)


def test_backend_faults_are_eligible_but_not_counted_against_availability(rel):
    r = rel["avail-backend"]
    m = r.metrics
    assert m.faults == faults(none=1997, backend=2, connector=1, throttled=1)  # + the opening
    # eligible 1,997 + 2 + 1 = 2,000; availability 1 - 1/2000 = 0.9995 -> pass.
    assert m.eligible == 2000
    assert m.availability == pytest.approx(0.9995)
    assert r.criterion("availability").status == "pass"
    # success rate 1,997/2,000 = 0.9985.
    assert m.success_rate == pytest.approx(0.9985)


def test_success_rate_exactly_80_percent_fails(rel):
    r = rel["sr-800"]
    m = r.metrics
    # requests 800 + 200 + 50 + 30 = 1,080; throttled 50 (429) + 30 (RateLimitExceeded) = 80.
    assert (m.requests, m.eligible, m.throttled) == (1080, 1000, 80)
    assert m.successes == 800
    # 800/1000 = 0.8, and the comparison is > 0.8 -> fail.
    assert m.success_rate == pytest.approx(0.8)
    c = r.criterion("success-rate")
    assert c.status == "fail"
    assert (c.numerator, c.denominator) == (800, 1000)
    # 404s are client faults: availability 1 - 0/1000 = 1.
    assert m.availability == 1.0


def test_success_rate_801_in_1000_passes_not_yet_confident(rel):
    c = rel["sr-801"].criterion("success-rate")
    # 801/1000 = 0.801 > 0.8 -> pass.
    assert c.status == "pass"
    assert c.value == pytest.approx(0.801)
    # Wilson low for p = 0.801, n = 1,000: centre 0.801 + z²/2000 = 0.8029207, margin
    # z*sqrt(0.801*0.199/1000 + z²/4e6) = 0.0248196, low (0.8029207 - 0.0248196)/1.0038415
    # = 0.7751235 < 0.8 -> not confident.
    assert c.interval[0] == pytest.approx(0.7751235, rel=1e-6)
    assert c.confident is False
    # Wilson lower bound > t  <=>  n (p - t)² > z² t (1 - t):
    # n > 3.841459 * 0.8 * 0.2 / 0.001² = 614,633.4 -> 614,634.
    assert c.confident_at_sample == 614634


def test_success_rate_81_in_100_confident_sample(rel):
    c = rel["sr-81of100"].criterion("success-rate")
    assert c.status == "pass"  # 0.81 > 0.8
    # Wilson low: (0.81 + z²/200 - z*sqrt(0.81*0.19/100 + z²/40000)) / (1 + z²/100)
    # = (0.8292073 - 0.0792523) / 1.0384146 = 0.7222115 < 0.8.
    assert c.interval[0] == pytest.approx(0.7222115, rel=1e-6)
    assert c.confident is False
    # n > 3.841459 * 0.16 / 0.01² = 6,146.3 -> 6,147.
    assert c.confident_at_sample == 6147


def test_1xx_and_3xx_are_successes_and_throttling_is_excluded(rel):
    m = rel["classes"].metrics
    # 100, 101, 200, 204, 301, 304, 399 -> 7 successes; 400, 404 -> client; 500 over a
    # backend 503 -> backend; two 429 + one RateLimitExceeded -> 3 throttled.
    assert m.faults == faults(none=7, client=2, backend=1, throttled=3)
    # requests 13 = eligible 10 + throttled 3.
    assert (m.requests, m.eligible, m.throttled) == (13, 10, 3)
    # success rate 7/10 = 0.7 (not 7/13); availability 1 - 0/10 = 1.
    assert m.successes == 7
    assert m.success_rate == pytest.approx(0.7)
    assert m.availability == 1.0
    assert rel["classes"].criterion("success-rate").status == "fail"  # 0.7 <= 0.8


def test_wilson_interval_1999_of_2000(rel):
    r = rel["avail-1of2000"]
    c = r.criterion("availability")
    # Wilson score interval, p = 1999/2000 = 0.9995, n = 2000, z² = 3.841459:
    #   centre = p + z²/(2n)              = 0.9995 + 0.00096036     = 1.00046036
    #   margin = z sqrt(p(1-p)/n + z²/4n²) = 1.959964 * sqrt(2.49875e-7 + 2.40091e-7)
    #          = 1.959964 * 6.99976e-4     = 0.00137193
    #   denom  = 1 + z²/n                 = 1.00192073
    #   low  = (1.00046036 - 0.00137193) / 1.00192073 = 0.99717314
    #   high = (1.00046036 + 0.00137193) / 1.00192073 = 0.99991173
    p, n = 1999 / 2000, 2000
    centre = p + Z2 / (2 * n)
    margin = Z * math.sqrt(p * (1 - p) / n + Z2 / (4 * n * n))
    denom = 1 + Z2 / n
    low, high = (centre - margin) / denom, (centre + margin) / denom
    assert low == pytest.approx(0.99717314, rel=1e-7)
    assert high == pytest.approx(0.99991173, rel=1e-7)
    assert c.interval == pytest.approx([low, high], rel=1e-6)
    assert (c.numerator, c.denominator, c.sample) == (1999, 2000, 2000)
    assert c.value == pytest.approx(0.9995)
    # A pass whose interval crosses 0.9995 (low 0.99717 < 0.9995): not yet confident. At
    # p = threshold no sample size helps (the lower bound stays below p for every n).
    assert c.status == "pass"
    assert c.confident is False
    assert c.confident_at_sample is None
    # Success rate over the same 1,999/2,000: same interval, and 0.99717 > 0.8: confident.
    s = r.criterion("success-rate")
    assert s.interval == pytest.approx([low, high], rel=1e-6)
    assert s.confident is True
    assert s.confident_at_sample is None


def test_error_budget_at_the_bar(rel):
    b = rel["avail-1of2000"].metrics.error_budget
    # allowed = (1 - 0.9995) x 2,000 = 1.0; consumed = 1; remaining = 1.0 - 1 = 0.
    assert b.allowed == pytest.approx(1.0)
    assert b.consumed == 1
    assert b.remaining == pytest.approx(0.0, abs=1e-9)


def test_error_budget_weighted_10000(rel):
    r = rel["budget-10000"]
    m = r.metrics
    # eligible = 9,997 (one row of weight 9,997) + 3 = 10,000; faults = 3; requests
    # 10,000 + the opening 429 = 10,001.
    assert (m.requests, m.eligible) == (10001, 10000)
    assert m.faults == faults(none=9997, connector=3, throttled=1)
    # availability 1 - 3/10000 = 0.9997 -> pass.
    assert m.availability == pytest.approx(0.9997)
    c = r.criterion("availability")
    assert c.status == "pass"
    # allowed 0.0005 x 10,000 = 5; consumed 3; remaining 5 - 3 = 2.
    b = m.error_budget
    assert b.allowed == pytest.approx(5.0)
    assert b.consumed == 3
    assert b.remaining == pytest.approx(2.0)
    # Wilson low (p = 0.9997, n = 10,000): (0.9997 + z²/20000 - z*sqrt(0.9997*0.0003/1e4
    # + z²/4e8)) / (1 + z²/1e4) = (0.9998921 - 0.0003900) / 1.0003841 = 0.9991183 < 0.9995.
    assert c.interval[0] == pytest.approx(0.9991183, rel=1e-6)
    assert c.confident is False
    # n >= z² t(1-t)/(p-t)² = 3.841459 * 0.9995 * 0.0005 / 0.0002² = 47,994.2 -> 47,995.
    assert c.confident_at_sample == 47995


def test_zero_faults_in_1000_not_yet_confident(rel):
    r = rel["zero-1000"]
    c = r.criterion("availability")
    # availability 1000/1000 = 1 >= 0.9995 -> pass.
    assert c.status == "pass"
    assert c.value == 1.0
    # With p = 1 the Wilson bounds are n/(n+z²) and 1:
    # low = 1000/1003.841459 = 0.99617324 < 0.9995 -> not yet confident.
    assert c.interval == pytest.approx([1000 / (1000 + Z2), 1.0], rel=1e-6)
    assert c.interval[0] == pytest.approx(0.99617324, rel=1e-6)
    assert c.confident is False
    # n/(n+z²) >= 0.9995  <=>  0.0005 n >= 0.9995 z²  <=>  n >= 1999 z² = 7,679.08 -> 7,680
    # (7,679/7,682.84 = 0.99949997 < 0.9995; 7,680/7,683.84 = 0.99950006).
    assert c.confident_at_sample == 7680
    # Success rate 1000/1000 with low 0.99617 > 0.8: confident, no sample needed.
    s = r.criterion("success-rate")
    assert (s.status, s.confident, s.confident_at_sample) == ("pass", True, None)
    # Budget: allowed 0.0005 x 1,000 = 0.5, consumed 0, remaining 0.5.
    b = r.metrics.error_budget
    assert (b.allowed, b.consumed, b.remaining) == (pytest.approx(0.5), 0, pytest.approx(0.5))


def test_slo_counts_connections_with_eligible_requests(rel):
    r = rel["slo-mixed"]
    m = r.metrics
    # A: 1 fault in 2,000 -> 0.9995 >= bar, meets.  B: only throttled -> 0 eligible, not in
    # the denominator.  C: 1 fault in 10 -> 0.9, does not meet.  Rows without connection_id
    # (3 x 200, 1 x 500) left out.  SLO = 1/2.
    assert (m.connections, m.connections_meeting_bar) == (2, 1)
    assert m.slo == pytest.approx(0.5)
    c = r.criterion("slo")
    assert c.status == "fail"  # 0.5 < 0.995
    assert (c.numerator, c.denominator) == (1, 2)
    assert r.data_quality.rows_without_connection == 4
    # The rows without connection still count in the request totals:
    # requests 2,000 + 3 + 10 + 4 = 2,017; throttled 3; eligible 2,014;
    # connector faults 1 (A) + 1 (C) + 1 (no connection) = 3.
    assert (m.requests, m.eligible, m.throttled) == (2017, 2014, 3)
    assert m.faults["connector"] == 3


def test_slo_exactly_at_threshold_passes(rel):
    r = rel["slo-199of200"]
    # s0 has 1 connector fault in 1 request (availability 0); s1..s199 are perfect.
    # SLO = 199/200 = 0.995 >= 0.995 -> pass.
    assert (r.metrics.connections, r.metrics.connections_meeting_bar) == (200, 199)
    assert r.metrics.slo == pytest.approx(0.995)
    assert r.criterion("slo").status == "pass"


def test_slo_below_threshold_fails(rel):
    r = rel["slo-198of200"]
    # 198/200 = 0.99 < 0.995 -> fail.
    assert (r.metrics.connections, r.metrics.connections_meeting_bar) == (200, 198)
    assert r.metrics.slo == pytest.approx(0.99)
    assert r.criterion("slo").status == "fail"


def test_slo_without_any_connection_is_insufficient(rel):
    r = rel["zero-1000"]
    # No row has a connection_id: 0 connections, the SLO cannot be measured; all 1,000
    # rows in the window, and the opening 429, are reported: 1,001.
    assert (r.metrics.connections, r.metrics.connections_meeting_bar) == (0, 0)
    assert r.criterion("slo").status == "insufficient-data"
    assert r.data_quality.rows_without_connection == 1001


def test_weights_count_in_every_count_but_once_in_distinct_counts(rel):
    r = rel["weights"]
    m = r.metrics
    # requests 5 + 1 + 3 + 1999 + 1 = 2,009; throttled 3 (the 429 of weight 3);
    # eligible 2,006; none 5 + 1999 = 2,004; connector 1 + 1 = 2.
    assert (m.requests, m.eligible, m.throttled) == (2009, 2006, 3)
    assert m.faults == faults(none=2004, connector=2, throttled=3)
    assert m.successes == 2004
    # success rate 2004/2006; availability 1 - 2/2006.
    assert m.success_rate == pytest.approx(2004 / 2006)
    assert m.availability == pytest.approx(1 - 2 / 2006)
    # SLO: A = 5 ok + 1 fault -> 5/6 below the bar; B only throttled (out); C = 1999 ok +
    # 1 fault -> 1999/2000 = 0.9995 meets it (it would be 1/2 if weights were ignored).
    assert (m.connections, m.connections_meeting_bar) == (2, 1)
    # MAC(D): connections A, B, C -> 3 (not 2,009).
    assert m.mac.current == 3
    # WAU of W46 (11-09..11-15, the last complete week before Friday D): U, V, W -> 3.
    assert [(w.week, w.users) for w in m.wau][-1] == ("2026-W46", 3)
    # Budget: allowed 0.0005 x 2,006 = 1.003, consumed 2, remaining -0.997.
    b = m.error_budget
    assert (b.allowed, b.consumed) == (pytest.approx(1.003), 2)
    assert b.remaining == pytest.approx(-0.997)


# ---- the window, UTC days and the evaluation date ---------------------------------------


def test_window_edges_and_utc_offsets(csv_file, engine_name):
    base = {"connection_id": "w", "user_id": "u"}
    rows = [
        {"time": "2026-10-21T23:59:59Z", "status": 500, **base},  # D-30: outside
        {"time": "2026-10-22T01:30:00+03:00", "status": 500, **base},  # 10-21 22:30 UTC: outside
        {"time": "2026-10-22T00:00:00Z", "status": 200, **base},  # D-29: inside
        {"time": "2026-10-21T22:30:00-02:00", "status": 404, **base},  # 10-22 00:30 UTC: inside
        {"time": "2026-11-20T23:59:59Z", "status": 200, **base},  # D: inside
        {"time": "2026-11-21T00:00:00Z", "status": 500, **base},  # D+1: outside
        # A connection seen only on D-30: outside the window.
        {"time": "2026-10-21T12:00:00Z", "status": 200, "connection_id": "gone"},
    ]
    r = check(telemetry=str(csv_file(rows)), as_of=D, engine=engine_name, trajectory=False)
    m = r.metrics
    assert m.window == {"start": day("2026-10-22"), "end": D}
    # Inside: the 200 and 404 of 10-22 (UTC) and the 200 of 11-20 -> 3 requests; none of
    # the three 500s is in the window, so no connector fault.
    assert m.requests == 3
    assert m.faults == faults(none=2, client=1)
    assert m.availability == 1.0
    assert m.success_rate == pytest.approx(2 / 3)
    assert {p.date: p.requests for p in m.daily} == {day("2026-10-22"): 2, D: 1}
    # First UTC day 10-21 (two rows fall on it), last 11-21.
    assert (m.first_day, m.last_day) == (day("2026-10-21"), day("2026-11-21"))
    # preview_since absent: the first telemetry day, flagged inferred; whole months
    # 10-21 -> 11-20: 0 (10-21 + 1 month = 11-21 > 11-20).
    assert (m.preview_since, m.preview_since_inferred) == (day("2026-10-21"), True)
    assert m.preview_months == 0
    # SLO: only w has eligible requests in the window (200, 404, 200: no connector fault,
    # availability 1) -> 1/1; "gone" is not in the denominator.
    assert (m.connections, m.connections_meeting_bar) == (1, 1)
    # MAC(D) over [10-22, 11-20]: w only -> 1. MAC(11-19) over [10-21, 11-19]: w and gone
    # -> 2 (10-21 = d-29 for d = 11-19).
    assert m.mac.current == 1
    assert {p.date: p.connections for p in m.mac.series}[day("2026-11-19")] == 2
    # d qualifies when d-29 >= first day 10-21 and d <= last day 11-21: d in {11-19, 11-20}
    # -> minimum min(2, 1) = 1, a full lookback.
    assert (m.mac.min, m.mac.partial_lookback) == (1, False)


def test_a_request_id_repeats_within_its_connector_only(csv_file, engine_name):
    """Issue 16.1: connectors a and b log the same ids r0..r3; a also repeats r0 once."""
    rows = [
        *[{"time": T, "status": 200, "connector": "a", "request_id": f"r{i}"} for i in range(4)],
        {"time": T, "status": 200, "connector": "a", "request_id": "r0"},
        *[{"time": T, "status": 500, "connector": "b", "request_id": f"r{i}"} for i in range(4)],
    ]
    fleet = {r.connector: r for r in check_fleet(str(csv_file(rows)), engine=engine_name)}
    # a: 5 rows, r0 twice -> 4 requests; b: 4 rows, 4 requests (none a duplicate of a's)
    assert fleet["a"].metrics.requests == 4
    assert fleet["b"].metrics.requests == 4
    assert fleet["b"].metrics.faults["connector"] == 4  # four 500s with nothing else
    assert fleet["a"].data_quality.duplicate_rows == 1


def test_duplicates_count_once_and_d_defaults_to_latest_utc_day(csv_file, engine_name):
    rows = [
        *[{"time": T, "status": 200, "request_id": "r1", "connection_id": "c1"}] * 3,
        *[{"time": "2026-11-20T11:00:00Z", "status": 500, "request_id": "r2"}] * 2,
        {"time": "2026-11-20T12:00:00Z", "status": 200, "request_id": "r3"},
        # No request_id: nothing to deduplicate on, both count.
        *[{"time": "2026-11-20T13:00:00Z", "status": 200, "connection_id": "c1"}] * 2,
        # The latest request: 11-21 01:30 at +03:00 is 11-20 22:30 UTC.
        {"time": "2026-11-21T01:30:00+03:00", "status": 200, "request_id": "r4"},
    ]
    r = check(telemetry=str(csv_file(rows)), engine=engine_name, trajectory=False)
    # D = UTC date of the latest request = 2026-11-20 (not 11-21).
    assert r.as_of == D
    assert r.metrics.last_day == D
    # 9 rows: r1 x3 -> 1, r2 x2 -> 1, r3, two rows without id, r4 -> 6 requests;
    # duplicate rows = 2 + 1 = 3.
    assert r.data_quality.rows == 9
    assert r.data_quality.duplicate_rows == 3
    assert r.metrics.requests == 6
    # r2 (a 5xx with nothing else) counted once: 1 connector fault, 1 unattributed.
    assert r.metrics.faults == faults(none=5, connector=1)
    assert r.data_quality.unattributed_5xx == 1
    # availability 1 - 1/6.
    assert r.metrics.availability == pytest.approx(5 / 6)


# ---- weekly active users -----------------------------------------------------------------


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def weekly_users(connector: str, monday: str, users: int, first_weekday: int = 0) -> list[dict]:
    """`users` distinct users u0.. spread over the days of one ISO week from first_weekday."""
    start = dt.datetime.fromisoformat(monday)
    spread = 7 - first_weekday
    return [
        {
            "time": iso(start + dt.timedelta(days=first_weekday + i % spread, seconds=i)),
            "status": 200,
            "connector": connector,
            "user_id": f"u{i}",
        }
        for i in range(users)
    ]


def wau_rows() -> list[dict]:
    def edge(time: str, user: str | None, status: int = 200) -> dict:
        return {"time": time, "status": status, "connector": "edges", "user_id": user}

    rows = [
        edge("2026-10-26T00:00:00Z", "early"),  # W44 Monday: the first telemetry day
        edge("2026-11-02T01:30:00+03:00", "offset"),  # 11-01 22:30 UTC: Sunday of W44
        edge("2026-11-08T23:59:59Z", "sun"),  # last second of W45
        edge("2026-11-09T00:00:00Z", "mon"),  # first second of W46
        edge("2026-11-09T12:00:00Z", "mon"),  # same user again in W46
        edge("2026-11-17T10:00:00Z", "thr", 429),  # throttled, W47
        edge("2026-11-18T10:00:00Z", None),  # no user_id
        edge("2026-11-22T23:59:59Z", "last"),  # last second of W47 (Sunday)
    ]
    for monday in ("2026-11-02", "2026-11-09", "2026-11-16"):
        rows += weekly_users("gen-500", monday, 500)
    for monday, users in (("2026-11-02", 500), ("2026-11-09", 499), ("2026-11-16", 500)):
        rows += weekly_users("gen-499", monday, users)
    for monday in ("2026-11-02", "2026-11-09", "2026-11-16"):
        # From Tuesday: the first telemetry day is 2026-11-03.
        rows += weekly_users("late", monday, 600, first_weekday=1)
    for monday, users in (("2026-11-02", 600), ("2026-11-09", 499), ("2026-11-16", 600)):
        # Also from Tuesday 2026-11-03, with a fully observed week under 500.
        rows += weekly_users("late-short", monday, users, first_weekday=1)
    return rows


@pytest.fixture(scope="module")
def wau_file(tmp_path_factory):
    return str(write_csv(tmp_path_factory.mktemp("wau") / "t.csv", wau_rows()))


@pytest.fixture(scope="module")
def wau_sunday(wau_file, engine_name):
    # D = 2026-11-22, a Sunday: W47 is complete, so the weeks are W45, W46, W47.
    return {
        r.connector: r
        for r in check_fleet(
            wau_file, as_of=day("2026-11-22"), engine=engine_name, trajectory=False
        )
    }


@pytest.fixture(scope="module")
def wau_saturday(wau_file, engine_name):
    # D = 2026-11-21, a Saturday: W47's Sunday (11-22) > D, so the weeks are W44, W45, W46.
    return {
        r.connector: r
        for r in check_fleet(
            wau_file, as_of=day("2026-11-21"), engine=engine_name, trajectory=False
        )
    }


def weeks(result) -> list[tuple[str, dt.date, int, bool]]:
    return [(w.week, w.start, w.users, w.before_first_day) for w in result.metrics.wau]


def test_wau_iso_week_edges_on_a_sunday(wau_sunday):
    r = wau_sunday["edges"]
    assert weeks(r) == [
        ("2026-W45", day("2026-11-02"), 1, False),  # sun (Sunday 23:59:59); offset is W44
        ("2026-W46", day("2026-11-09"), 1, False),  # mon (Monday 00:00:00), twice -> 1
        ("2026-W47", day("2026-11-16"), 2, False),  # thr (throttled counts) + last
    ]
    c = r.criterion("weekly-active-users")
    assert c.status == "fail"  # every week < 500
    assert c.value == 1  # the lowest week


def test_wau_d_on_saturday_leaves_its_week_out(wau_saturday):
    r = wau_saturday["edges"]
    assert weeks(r) == [
        # early (10-26) + offset (11-02T01:30+03:00 = 11-01 22:30 UTC, still W44) -> 2.
        ("2026-W44", day("2026-10-26"), 2, False),
        ("2026-W45", day("2026-11-02"), 1, False),
        ("2026-W46", day("2026-11-09"), 1, False),
    ]


def test_offset_timestamp_falls_on_previous_utc_day(wau_sunday):
    m = wau_sunday["edges"].metrics
    # D = 11-22: window [10-24, 11-22]. 2026-11-02T01:30:00+03:00 is 11-01 22:30 UTC, so
    # 11-01 has one request and Monday 11-02 none.
    per_day = {p.date: p.requests for p in m.daily}
    assert per_day[day("2026-11-01")] == 1
    assert day("2026-11-02") not in per_day or per_day[day("2026-11-02")] == 0


def test_wau_three_weeks_of_500_pass(wau_sunday):
    r = wau_sunday["gen-500"]
    # 500 distinct users in each of W45, W46, W47; first day 11-02 = W45's Monday.
    assert [w.users for w in r.metrics.wau] == [500, 500, 500]
    assert [w.before_first_day for w in r.metrics.wau] == [False, False, False]
    c = r.criterion("weekly-active-users")
    assert (c.status, c.value) == ("pass", 500)  # 500 >= 500 every week


def test_wau_one_week_of_499_fails(wau_sunday):
    r = wau_sunday["gen-499"]
    assert [w.users for w in r.metrics.wau] == [500, 499, 500]
    c = r.criterion("weekly-active-users")
    assert (c.status, c.value) == ("fail", 499)  # 499 < 500 in W46


def test_wau_week_before_first_telemetry_day_is_insufficient(wau_sunday):
    r = wau_sunday["late"]
    # First day 11-03 (a Tuesday): W45 begins 11-02 < 11-03. Counts still reported.
    assert r.metrics.first_day == day("2026-11-03")
    assert weeks(r) == [
        ("2026-W45", day("2026-11-02"), 600, True),
        ("2026-W46", day("2026-11-09"), 600, False),
        ("2026-W47", day("2026-11-16"), 600, False),
    ]
    assert r.criterion("weekly-active-users").status == "insufficient-data"


def test_wau_fully_observed_week_under_500_fails_even_when_another_is_partial(wau_sunday):
    r = wau_sunday["late-short"]
    # W45 began 11-02, before the first day 11-03 (partial); W46 (11-09..11-15) is fully
    # observed with 499 < 500 users: DESIGN.md says fail, whatever the other weeks.
    assert weeks(r) == [
        ("2026-W45", day("2026-11-02"), 600, True),
        ("2026-W46", day("2026-11-09"), 499, False),
        ("2026-W47", day("2026-11-16"), 600, False),
    ]
    c = r.criterion("weekly-active-users")
    assert (c.status, c.value) == ("fail", 499)


def test_wau_saturday_pushes_the_window_before_the_first_day(wau_saturday):
    r = wau_saturday["gen-500"]
    # D = 11-21: weeks W44 (10-26, before the first day 11-02), W45, W46: 0, 500, 500.
    assert weeks(r) == [
        ("2026-W44", day("2026-10-26"), 0, True),
        ("2026-W45", day("2026-11-02"), 500, False),
        ("2026-W46", day("2026-11-09"), 500, False),
    ]
    assert r.criterion("weekly-active-users").status == "insufficient-data"


# ---- monthly active connections ---------------------------------------------------------


def mac_rows() -> list[dict]:
    def on(connector: str, date: str, connection: str | None, status: int = 200) -> dict:
        return {
            "time": f"{date}T12:00:00Z",
            "status": status,
            "connector": connector,
            "connection_id": connection,
        }

    rows = [on("mac-full", str(d), "daily") for d in days("2026-09-01", "2026-11-20")]
    rows += [
        on("mac-full", "2026-10-01", "x"),
        on("mac-full", "2026-11-20", "y"),
        on("mac-full", "2026-09-01", "old"),
        on("mac-full", "2026-10-01", "p"),
        on("mac-full", "2026-10-31", "p"),  # 30 days after 10-01
        on("mac-full", "2026-10-01", "q"),
        on("mac-full", "2026-11-01", "q"),  # 31 days after 10-01
    ]
    rows += [on("mac-full", "2026-11-05", f"b{k}") for k in range(60)]

    rows += [on("mac-restricted", "2026-10-10", "a")]
    rows += [on("mac-restricted", "2026-10-25", f"c{k}") for k in range(55)]
    rows += [on("mac-restricted", "2026-11-20", f"e{k}") for k in range(50)]

    rows += [on("mac-partial", "2026-11-01", f"k{k}") for k in range(10)]
    rows += [on("mac-partial", "2026-11-20", f"k{k}") for k in range(3)]
    rows += [on("mac-partial", "2026-11-20", "m0"), on("mac-partial", "2026-11-20", "m1")]
    rows += [on("mac-partial", "2026-11-20", "m2", 429)]  # throttled still counts
    rows += [on("mac-partial", "2026-11-20", None)]  # no connection_id: not counted
    return rows


@pytest.fixture(scope="module")
def mac(tmp_path_factory, engine_name):
    path = write_csv(tmp_path_factory.mktemp("mac") / "t.csv", mac_rows())
    return {
        r.connector: r
        for r in check_fleet(str(path), as_of=D, engine=engine_name, trajectory=False)
    }


def series(result) -> dict[dt.date, int]:
    return {p.date: p.connections for p in result.metrics.mac.series}


def test_mac_daily_series_and_lookback_edges(mac):
    r = mac["mac-full"]
    s = r.metrics.mac.series
    # 30 points, d = D-29 .. D = 10-22 .. 11-20.
    assert [p.date for p in s] == days("2026-10-22", "2026-11-20")
    # MAC(d) counts a connection seen on [d-29, d], i.e. active on day a counts on
    # d in [a, a+29]:
    #   daily (every day 09-01..11-20)      -> every d
    #   x (10-01 only)      -> 10-01..10-30   (10-01 = d-29 for d = 10-30; not on 10-31)
    #   p (10-01, 10-31)    -> 10-01..11-29   (no gap)
    #   q (10-01, 11-01)    -> 10-01..10-30 and 11-01..11-30 (absent on 10-31)
    #   b0..b59 (11-05)     -> 11-05..12-04
    #   y (11-20)           -> 11-20..       ; old (09-01) -> 09-01..09-30 (never here)
    expected = {}
    for d in days("2026-10-22", "2026-10-30"):
        expected[d] = 4  # daily, x, p, q
    expected[day("2026-10-31")] = 2  # daily, p
    for d in days("2026-11-01", "2026-11-04"):
        expected[d] = 3  # daily, p, q
    for d in days("2026-11-05", "2026-11-19"):
        expected[d] = 63  # daily, p, q + 60
    expected[D] = 64  # + y
    assert series(r) == expected


def test_mac_minimum_over_qualifying_days(mac):
    r = mac["mac-full"]
    m = r.metrics.mac
    # Telemetry from 09-01: every d in [10-22, 11-20] has d-29 >= 09-23 >= 09-01, so all 30
    # days qualify; the minimum is 2 on 10-31, MAC(D) = 64.
    assert (m.current, m.min, m.min_date, m.partial_lookback) == (64, 2, day("2026-10-31"), False)
    c = r.criterion("monthly-active-connections")
    assert (c.status, c.value) == ("fail", 2)  # 2 < 50
    # preview_since inferred from this connector's own first day, 09-01: whole months
    # 09-01 -> 11-20 = 2 (11-01 <= 11-20 < 12-01).
    assert (r.metrics.preview_since, r.metrics.preview_since_inferred) == (
        day("2026-09-01"),
        True,
    )
    assert r.metrics.preview_months == 2


def test_mac_days_without_full_lookback_do_not_qualify(mac):
    r = mac["mac-restricted"]
    # a (10-10) -> 10-10..11-08; c0..c54 (10-25) -> 10-25..11-23; e0..e49 (11-20) -> 11-20..
    # Series: 10-22..10-24: 1; 10-25..11-08: 56; 11-09..11-19: 55; 11-20: 105.
    expected = {d: 1 for d in days("2026-10-22", "2026-10-24")}
    expected |= {d: 56 for d in days("2026-10-25", "2026-11-08")}
    expected |= {d: 55 for d in days("2026-11-09", "2026-11-19")}
    expected[D] = 105
    assert series(r) == expected
    # First day 10-10: d qualifies when d-29 >= 10-10, i.e. d >= 11-08. Minimum over
    # 11-08..11-20 = min(56, 55, 105) = 55 (the 1 of 10-22..10-24 does not count).
    m = r.metrics.mac
    assert (m.current, m.min, m.partial_lookback) == (105, 55, False)
    c = r.criterion("monthly-active-connections")
    assert (c.status, c.value) == ("pass", 55)  # 55 >= 50


def test_mac_partial_lookback(mac):
    r = mac["mac-partial"]
    # Telemetry 11-01..11-20 (20 days): no d <= D has d-29 >= 11-01, so the value is
    # MAC(D) over [10-22, 11-20]: k0..k9, m0, m1, m2 (throttled counts) = 13; the row
    # without connection_id is not a connection.
    m = r.metrics.mac
    assert (m.current, m.min, m.partial_lookback) == (13, 13, True)
    c = r.criterion("monthly-active-connections")
    assert (c.status, c.value) == ("fail", 13)
    # The series still has 30 points: 0 before 11-01, 10 on 11-01..11-19, 13 on 11-20.
    expected = {d: 0 for d in days("2026-10-22", "2026-10-31")}
    expected |= {d: 10 for d in days("2026-11-01", "2026-11-19")}
    expected[D] = 13
    assert len(m.series) == 30
    assert series(r) == expected


# ---- preview age ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "months"),
    [
        # 2026-05-20 + 6 months = 2026-11-20 > 11-19 -> 5 whole months.
        (day("2026-11-19"), 5),
        # 2026-05-20 + 6 months = 2026-11-20 <= 11-20 -> 6 whole months.
        (day("2026-11-20"), 6),
    ],
)
def test_preview_age_in_whole_calendar_months(csv_file, as_of, months, engine_name):
    config = parse_config(
        {"connector": {"id": "contoso-tasks", "preview_since": dt.date(2026, 5, 20)}}
    )
    rows = [{"time": "2026-11-19T10:00:00Z", "status": 200} for _ in range(2)]
    r = check(
        config=config,
        telemetry=str(csv_file(rows)),
        as_of=as_of,
        engine=engine_name,
        trajectory=False,
    )
    assert r.connector == "contoso-tasks"
    assert r.metrics.preview_since == dt.date(2026, 5, 20)
    assert r.metrics.preview_since_inferred is False
    assert r.metrics.preview_months == months


# ---- fleet mode: one evaluation date for every connector -----------------------------


def fleet_rows() -> list[dict]:
    rows: list[dict] = []
    for d in days("2026-11-18", "2026-11-20"):  # fresh: its last request on D itself
        rows += req("fresh", 200, 10, time=f"{d}T12:00:00Z")
    for d in days("2026-11-10", "2026-11-15"):  # stale: silent since 11-15
        rows += req("stale", 200, 10, time=f"{d}T12:00:00Z")
    rows += req("one-behind", 200, 10, time="2026-11-19T12:00:00Z")  # one day before D
    return rows


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, engine_name):
    path = write_csv(tmp_path_factory.mktemp("fleet") / "t.csv", fleet_rows())
    return {r.connector: r for r in check_fleet(str(path), engine=engine_name, trajectory=False)}


def test_fleet_judges_every_connector_as_of_the_latest_request_of_all(fleet):
    # The latest request in the whole telemetry is on 2026-11-20: D for every connector,
    # so the stale connector's window is [11-20 - 29, 11-20] = [10-22, 11-20] too.
    assert {name: r.as_of for name, r in fleet.items()} == dict.fromkeys(
        ("fresh", "stale", "one-behind"), D
    )
    window = fleet["stale"].metrics.window
    assert (window["start"], window["end"]) == (day("2026-10-22"), D)
    # Its own rows: 6 days x 10 requests, first telemetry day 11-10.
    assert fleet["stale"].metrics.requests == 60
    assert fleet["stale"].metrics.first_day == day("2026-11-10")


def test_fleet_warns_about_a_connector_silent_for_more_than_a_day(fleet):
    stale = fleet["stale"].data_quality
    assert stale.stale_since == day("2026-11-15")  # 11-20 - 11-15 = 5 days > 1
    assert any("2026-11-15" in w and "5 days before 2026-11-20" in w for w in stale.warnings)
    # One day before D is not stale; D itself is not either.
    assert fleet["one-behind"].data_quality.stale_since is None
    assert fleet["fresh"].data_quality.stale_since is None
    assert not any("stale" in w for w in fleet["fresh"].data_quality.warnings)
