"""Verdicts and exceptions (DESIGN.md "Criteria, verdicts, exit codes"), through api.check.

Telemetry is built by hand so every expected number can be worked out in a comment:

- `usage_rows` writes three complete ISO weeks, Mon 2026-11-02 .. Sun 2026-11-22 (W45, W46,
  W47). In each week every one of `users` users makes exactly one request, spread evenly over
  the week, so the last request is on Sunday 2026-11-22 and D (latest request) = 2026-11-22.
- User i uses connection i % `connections`; every request is 200 with backend_status 200.
- One opening request (user-0000 on conn-000, a 429: throttled, so no eligible, success or
  fault count moves) on Sat 2026-10-24 = D − 29, the first
  day of the 30-day reliability window [10-24, 11-22]: the window is fully observed (DESIGN:
  a pass needs `min_observed_days` = 30 observed days) and MAC(D)'s lookback [10-24, 11-22]
  lies inside the telemetry, so the MAC criterion value is MAC(D) = `connections`. W43
  (10-19..10-25) is not one of the three WAU weeks.
"""

from __future__ import annotations

import datetime as dt

import pytest

from connector_ga import api
from connector_ga.config import parse_config
from connector_ga.errors import InputError

FIRST_MONDAY = dt.date(2026, 11, 2)  # ISO 2026-W45
D = dt.date(2026, 11, 22)  # Sunday of 2026-W47: the third complete week ends on D
OPENING = dt.datetime(2026, 10, 24)  # D − 29: the first day of the reliability window
WEEK_SECONDS = 7 * 86_400


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def usage_rows(
    users: int = 500,
    connections: int = 50,
    first_monday: dt.date = FIRST_MONDAY,
    weeks: int = 3,
    skip_days: int = 0,
) -> list[dict]:
    """One request per user per ISO week, evenly spread over the week (see module doc).

    `skip_days` drops the requests of the first days (telemetry starting mid-week), and
    with them the opening request.
    """
    rows = []
    if not skip_days:
        rows.append(
            {
                "time": iso(OPENING),
                "status": 429,
                "connection_id": "conn-000",
                "user_id": "user-0000",
            }
        )
    start = dt.datetime.combine(first_monday, dt.time())
    cutoff = start + dt.timedelta(days=skip_days)
    for week in range(weeks):
        monday = start + dt.timedelta(days=7 * week)
        for i in range(users):
            moment = monday + dt.timedelta(seconds=i * WEEK_SECONDS // users)
            if moment < cutoff:
                continue
            rows.append(
                {
                    "time": iso(moment),
                    "status": 200,
                    "connection_id": f"conn-{i % connections:03d}",
                    "user_id": f"user-{i:04d}",
                    "backend_status": 200,
                }
            )
    return rows


def extra(status: int, backend_status: int | None, n: int, conn: int = 0) -> list[dict]:
    """`n` requests on Fri 2026-11-20 (inside the window) from user-0000."""
    base = dt.datetime(2026, 11, 20, 12, 0)
    return [
        {
            "time": iso(base + dt.timedelta(seconds=k)),
            "status": status,
            "connection_id": f"conn-{conn:03d}",
            "user_id": "user-0000",
            "backend_status": backend_status,
        }
        for k in range(n)
    ]


HOURS = ["Mon-Fri 08:00-17:00"]
TZ = "America/Los_Angeles"


def declarations(
    preview_since: str | None = "2026-01-05",
    backend: str | None = "production",
    support: bool = True,
    customer: bool = False,
    reference: str = "",
) -> dict:
    """A ga.toml as a dict, everything a `ready` needs declared unless switched off."""
    data: dict = {"connector": {"id": "contoso-tasks"}}
    if preview_since is not None:
        data["connector"]["preview_since"] = preview_since
    if backend is not None:
        data["backend"] = {"status": backend, "evidence": "https://status.contoso.example"}
    if support:
        data["support"] = {
            "backend": {"hours": HOURS, "timezone": TZ},
            "connector": {"hours": HOURS, "timezone": TZ, "contact": "help@contoso.example"},
        }
    if customer or reference:
        data["exceptions"] = {
            "customer_requires_production": customer,
            "customer_reference": reference,
        }
    return data


@pytest.fixture
def judge(csv_file):
    """judge(rows, ga_toml_dict_or_None, **options) -> Result."""

    def run(rows: list[dict], ga: dict | None, **options):
        path = csv_file(rows)
        config = parse_config(ga, "ga.toml") if ga is not None else None
        return api.check(config, telemetry=[str(path)], **options)

    return run


def statuses(result) -> dict[str, str]:
    return {c.id: c.status for c in result.criteria}


REQUIRED = ("backend-production", "availability", "slo", "success-rate", "support-model")


# --- ready ------------------------------------------------------------------------------


def test_ready_when_every_criterion_passes(judge):
    result = judge(usage_rows(), declarations())
    assert result.as_of == D  # the UTC date of the latest request (Sun 2026-11-22 23:39)
    assert statuses(result) == dict.fromkeys(
        (*REQUIRED, "weekly-active-users", "monthly-active-connections"), "pass"
    )
    assert result.verdict == "ready"
    assert result.ready
    assert result.exception is None
    assert result.exception_from is None
    assert result.blocking == []
    m = result.metrics
    # 3 weeks x 500 users, one request each, all 200 from the backend; + the opening 429.
    assert (m.requests, m.eligible, m.throttled) == (1501, 1500, 1)
    assert m.faults == {"none": 1500, "client": 0, "backend": 0, "connector": 0, "throttled": 1}
    assert m.availability == 1.0 and m.success_rate == 1.0
    # 50 connections, 30 requests each (1500 / 50), none with a connector fault.
    assert (m.connections, m.connections_meeting_bar) == (50, 50)
    assert [(w.week, w.users) for w in m.wau] == [
        ("2026-W45", 500),
        ("2026-W46", 500),
        ("2026-W47", 500),
    ]
    assert m.mac.current == 50 and m.mac.min == 50
    # 2026-01-05 -> 2026-11-05 is 10 whole months; 2026-12-05 is after D.
    assert m.preview_months == 10


def test_success_rate_just_above_80_percent_is_ready(judge):
    # 1500 successes + 374 client errors (404 passed through from the backend: fault client).
    # 1500 / 1874 = 0.800427 > 0.80 passes (375 would make exactly 0.8: next test).
    rows = usage_rows() + extra(404, 404, 374)
    result = judge(rows, declarations())
    sr = result.criterion("success-rate")
    assert (sr.numerator, sr.denominator) == (1500, 1874)
    assert sr.status == "pass"
    assert result.metrics.faults["client"] == 374
    assert result.criterion("availability").status == "pass"  # client errors are not faults
    assert result.verdict == "ready"


# --- not-ready --------------------------------------------------------------------------


def test_success_rate_of_exactly_80_percent_is_not_ready(judge):
    # 1500 successes + 375 client errors: 1500 / 1875 = 0.8 exactly, and the criterion is > 80%.
    rows = usage_rows() + extra(404, 404, 375)
    result = judge(rows, declarations())
    sr = result.criterion("success-rate")
    assert (sr.numerator, sr.denominator) == (1500, 1875)
    assert sr.status == "fail"
    assert result.verdict == "not-ready"
    assert result.blocking == ["success-rate"]
    assert not result.ready


def test_connector_faults_fail_availability_and_slo(judge):
    # One 500 whose backend answered 200 (rule 5: connector fault) on conn-000.
    # availability = 1 - 1/1501 = 0.999334 < 0.9995 -> fail.
    # conn-000 had 30 requests, now 31 with 1 fault: 30/31 < 0.9995, so SLO = 49/50 = 0.98
    # < 0.995 -> fail.
    rows = usage_rows() + extra(500, 200, 1)
    result = judge(rows, declarations())
    assert result.metrics.faults["connector"] == 1
    assert result.metrics.eligible == 1501
    assert result.metrics.availability == pytest.approx(1 - 1 / 1501)
    assert (result.metrics.connections, result.metrics.connections_meeting_bar) == (50, 49)
    assert statuses(result)["availability"] == "fail"
    assert statuses(result)["slo"] == "fail"
    assert result.verdict == "not-ready"
    assert result.blocking == ["availability", "slo"]


def test_backend_not_in_production_is_not_ready(judge):
    result = judge(usage_rows(), declarations(backend="beta"))
    assert statuses(result)["backend-production"] == "fail"
    assert result.verdict == "not-ready"
    assert result.blocking == ["backend-production"]


def test_support_hours_not_covering_the_backend_is_not_ready(judge):
    ga = declarations()
    ga["support"]["connector"]["hours"] = ["Mon-Fri 09:00-17:00"]  # misses 08:00-09:00
    result = judge(usage_rows(), ga)
    assert statuses(result)["support-model"] == "fail"
    assert result.verdict == "not-ready"
    assert result.blocking == ["support-model"]


def test_a_failure_wins_over_missing_declarations(judge):
    # backend declared 'preview' (fail) and no support hours (insufficient): not-ready.
    result = judge(usage_rows(), declarations(backend="preview", support=False))
    assert statuses(result)["backend-production"] == "fail"
    assert statuses(result)["support-model"] == "insufficient-data"
    assert result.verdict == "not-ready"
    assert "backend-production" in result.blocking


def test_no_exception_rescues_a_required_failure(judge):
    # MAC 10 < 50 after 10 months of preview (low-usage would apply) and a customer with a
    # reference, but availability fails: 1 connector fault in 1501 eligible = 0.999334.
    ga = declarations(preview_since="2026-01-05", customer=True, reference="Fabrikam PO-4711")
    result = judge(usage_rows(connections=10) + extra(500, 200, 1), ga)
    assert statuses(result)["availability"] == "fail"
    assert result.verdict == "not-ready"
    assert result.exception is None
    assert "availability" in result.blocking


# --- insufficient-data ------------------------------------------------------------------


def test_nothing_declared_is_insufficient_data_never_pass(judge):
    result = judge(usage_rows(), declarations(backend=None, support=False))
    assert statuses(result)["backend-production"] == "insufficient-data"
    assert statuses(result)["support-model"] == "insufficient-data"
    # The telemetry criteria are all fine; only declarations are missing.
    for cid in ("availability", "slo", "success-rate"):
        assert statuses(result)[cid] == "pass"
    assert result.verdict == "insufficient-data"
    assert result.blocking == ["backend-production", "support-model"]
    assert not result.ready


def test_backend_hours_without_connector_hours_is_insufficient(judge):
    ga = declarations()
    del ga["support"]["connector"]
    result = judge(usage_rows(), ga)
    assert statuses(result)["support-model"] == "insufficient-data"
    assert result.verdict == "insufficient-data"
    assert result.blocking == ["support-model"]


# --- ready-with-warnings ----------------------------------------------------------------


def test_low_mac_short_preview_is_ready_with_warnings_and_says_when(judge):
    # 10 connections < 50. preview_since 2026-08-31: 2 whole months at D = 2026-11-22.
    # + 6 calendar months = 2027-02-31, clamped to the end of February: 2027-02-28.
    result = judge(usage_rows(connections=10), declarations(preview_since="2026-08-31"))
    assert statuses(result)["monthly-active-connections"] == "fail"
    assert result.criterion("monthly-active-connections").value == 10
    assert statuses(result)["weekly-active-users"] == "pass"
    assert result.verdict == "ready-with-warnings"
    assert result.exception is None
    assert result.exception_from == dt.date(2027, 2, 28)
    assert result.metrics.preview_months == 2
    assert result.ready  # a ready* verdict


def test_one_day_short_of_six_months_is_still_warnings(judge):
    # preview_since 2026-05-23 + 6 months = 2026-11-23, one day after D = 2026-11-22.
    result = judge(usage_rows(connections=10), declarations(preview_since="2026-05-23"))
    assert result.verdict == "ready-with-warnings"
    assert result.exception is None
    assert result.exception_from == dt.date(2026, 11, 23)
    assert result.metrics.preview_months == 5


def test_preview_start_inferred_from_first_telemetry_day(judge):
    # No preview_since: the first telemetry day 2026-10-24 (the opening request) stands in;
    # + 6 months = 2027-04-24.
    result = judge(usage_rows(connections=10), declarations(preview_since=None))
    assert result.verdict == "ready-with-warnings"
    assert result.exception_from == dt.date(2027, 4, 24)
    assert result.metrics.preview_since_inferred is True
    assert result.metrics.preview_months == 0


def test_wau_failing_with_mac_passing_gets_no_low_usage_exception(judge):
    # 499 users a week < 500 -> WAU fails; 50 connections -> MAC passes; 10 months of preview.
    # The low-usage exception needs MAC *not* met, so none applies (and never will).
    result = judge(usage_rows(users=499), declarations(preview_since="2026-01-05"))
    assert [w.users for w in result.metrics.wau] == [499, 499, 499]
    assert statuses(result)["weekly-active-users"] == "fail"
    assert statuses(result)["monthly-active-connections"] == "pass"
    assert result.verdict == "ready-with-warnings"
    assert result.exception is None
    assert result.exception_from is None


def test_wau_week_before_first_telemetry_day_counts_as_not_met(judge):
    # Telemetry starts Wed 2026-11-04: week W45 began before it -> WAU insufficient-data,
    # which for a recommended criterion means "not met".
    result = judge(usage_rows(skip_days=2), declarations(preview_since="2026-08-31"))
    assert result.metrics.first_day == dt.date(2026, 11, 4)
    assert statuses(result)["weekly-active-users"] == "insufficient-data"
    assert statuses(result)["monthly-active-connections"] == "pass"
    # The reliability window [10-24, 11-22] is observed from 11-04 on: 11-04..11-22 is
    # 19 of 30 days (< 30), so the passes of availability, SLO and success rate are
    # insufficient-data, and so is the verdict; 11-04 + 29 = 12-03 covers the window.
    for cid in ("availability", "slo", "success-rate"):
        assert statuses(result)[cid] == "insufficient-data", cid
    detail = next(c.detail for c in result.criteria if c.id == "availability")
    assert "19 of 30 days observed" in detail
    assert "2026-12-03" in detail
    assert result.verdict == "insufficient-data"
    assert result.exception is None


def test_customer_exception_without_a_reference_is_bad_input():
    # DESIGN: the exception is "declared with a customer reference in ga.toml"; a blank
    # reference is a declaration that cannot be checked, so ga.toml is refused, naming it.
    ga = declarations(preview_since="2026-08-31", customer=True, reference="   ")
    with pytest.raises(InputError, match=r"ga\.toml: key 'exceptions\.customer_reference'"):
        parse_config(ga, "ga.toml")


def test_no_customer_exception_leaves_low_mac_a_warning(judge):
    # MAC 10 < 50, preview since 2026-08-31: the 6-month exception applies from
    # 2026-08-31 + 6 months = 2027-02-28 (February has no 31st), none applies yet.
    result = judge(usage_rows(connections=10), declarations(preview_since="2026-08-31"))
    assert result.verdict == "ready-with-warnings"
    assert result.exception is None
    assert result.exception_from == dt.date(2027, 2, 28)


# --- ready-with-exception ---------------------------------------------------------------


def test_low_usage_after_exactly_six_months(judge):
    # preview_since 2026-05-22 + 6 months = 2026-11-22 = D: applies (D >= preview + 6 months).
    result = judge(usage_rows(connections=10), declarations(preview_since="2026-05-22"))
    assert statuses(result)["monthly-active-connections"] == "fail"
    assert all(statuses(result)[cid] == "pass" for cid in REQUIRED)
    assert result.verdict == "ready-with-exception"
    assert result.exception == "low-usage-after-6-months"
    assert result.metrics.preview_months == 6
    assert result.ready


def test_low_usage_with_an_explicit_as_of(judge):
    # Same data judged at D = 2026-11-30 (a Monday): the last complete week is W48
    # (Mon 11-23 .. Sun 11-29), which has no request. Preview 2026-05-30 + 6 months =
    # 2026-11-30 = D -> the exception applies (MAC over [11-01, 11-30] is still 10).
    result = judge(
        usage_rows(connections=10),
        declarations(preview_since="2026-05-30"),
        as_of=dt.date(2026, 11, 30),
    )
    assert result.as_of == dt.date(2026, 11, 30)
    assert [(w.week, w.users) for w in result.metrics.wau] == [
        ("2026-W46", 500),
        ("2026-W47", 500),
        ("2026-W48", 0),
    ]
    assert result.metrics.mac.current == 10
    assert result.verdict == "ready-with-exception"
    assert result.exception == "low-usage-after-6-months"


def test_customer_requires_production_with_a_reference(judge):
    # MAC 10 < 50 after only 2 months of preview, but a customer needs it in production.
    ga = declarations(preview_since="2026-08-31", customer=True, reference="Fabrikam PO-4711")
    result = judge(usage_rows(connections=10), ga)
    assert result.verdict == "ready-with-exception"
    assert result.exception == "customer-requires-production"


def test_customer_exception_also_covers_low_wau(judge):
    ga = declarations(preview_since="2026-08-31", customer=True, reference="Fabrikam PO-4711")
    result = judge(usage_rows(users=499), ga)
    assert statuses(result)["weekly-active-users"] == "fail"
    assert result.verdict == "ready-with-exception"
    assert result.exception == "customer-requires-production"


# --- a window the telemetry does not cover (issue 16 item 2) ------------------------------


def _one_day(faults: int, n: int = 99) -> list[dict]:
    return [
        {
            "time": f"2026-11-20T10:{i // 60:02d}:{i % 60:02d}Z",
            "status": 500 if i < faults else 200,
            "connection_id": f"c{i % 3}",
            "user_id": f"u{i}",
        }
        for i in range(n)
    ]


def test_a_pass_on_one_observed_day_of_thirty_is_insufficient_data(judge):
    # 99 clean requests on 2026-11-20 only: the window [10-22, 11-20] has 1 observed day of
    # 30 (< min_observed_days 30), so availability, SLO and success rate, which would pass
    # (0 faults, 99/99 successes), are insufficient-data, and so is the verdict (exit 1).
    result = judge(_one_day(0), declarations())
    for cid in ("availability", "slo", "success-rate"):
        c = next(c for c in result.criteria if c.id == cid)
        assert c.status == "insufficient-data", cid
        assert "1 of 30 days observed" in c.detail
        # covered from 11-20 + 29 days = 12-19
        assert "2026-12-19" in c.detail
    assert result.verdict == "insufficient-data"


def test_a_fail_on_a_partly_observed_window_stands(judge):
    # 1 connector fault (a 500 with no backend status) in 99 eligible: availability
    # 98/99 = 98.99% < 99.95% fails now, whatever the unobserved days would have said.
    result = judge(_one_day(1), declarations())
    c = next(c for c in result.criteria if c.id == "availability")
    assert c.status == "fail"
    assert "1 of 30 days observed" in c.detail
    assert result.verdict == "not-ready"


def test_a_stricter_min_observed_days_is_the_policy_s(judge, tmp_path):
    # min_observed_days = 1 (a policy of the user's own): one observed day makes a pass.
    from importlib import resources

    text = resources.files("connector_ga.policies").joinpath("power-platform-ga.toml").read_text()
    policy = tmp_path / "lenient.toml"
    policy.write_text(text.replace("min_observed_days = 30", "min_observed_days = 1"))
    result = judge(_one_day(0), declarations(), policy=str(policy))
    c = next(c for c in result.criteria if c.id == "availability")
    assert c.status == "pass"
    assert "1 of 30 days observed" in c.detail
