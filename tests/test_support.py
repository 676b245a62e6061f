"""support-model: parsing hours and checking coverage over a year, DST included.

Every expected number and date below is reasoned by hand in the comment next to it.
DST dates used: the US switches on the second Sunday of March and the first Sunday of
November (2026-11-01, 2027-03-14, 2027-11-07); the UK on the last Sundays of March and
October (2026-10-25, 2027-03-28, 2027-10-31).
"""

from datetime import UTC, date, datetime

import pytest

from connector_ga.config import SupportHours
from connector_ga.errors import InputError
from connector_ga.support import check_support, parse_hours

YEAR_2027 = date(2027, 1, 1)  # a Friday; the year checked runs to 2028-01-01 (a Saturday)


def hours(*specs: str, timezone: str | None = None, contact: str | None = None) -> SupportHours:
    return SupportHours(hours=list(specs), timezone=timezone, contact=contact)


def connector(*specs: str, timezone: str | None = None) -> SupportHours:
    return hours(*specs, timezone=timezone, contact="support@contoso.com")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "days", "start", "end"),
    [
        # Mon..Fri are 0..4; 08:00 = 480 min, 17:00 = 1020 min.
        ("Mon-Fri 08:00-17:00", {0, 1, 2, 3, 4}, 480, 1020),
        ("Mon,Wed,Fri 09:00-12:00", {0, 2, 4}, 540, 720),
        ("Sat-Sun 10:00-14:00", {5, 6}, 600, 840),
        # Fri-Mon wraps over the weekend: Fri, Sat, Sun, Mon.
        ("Fri-Mon 09:00-17:00", {4, 5, 6, 0}, 540, 1020),
        # 22:00 = 1320 min; 06:00 the next day = 1440 + 360 = 1800 min.
        ("Mon-Fri 22:00-06:00", {0, 1, 2, 3, 4}, 1320, 1800),
        ("Mon-Sun 00:00-24:00", set(range(7)), 0, 1440),
        ("24x7", set(range(7)), 0, 1440),
        ("24/7", set(range(7)), 0, 1440),
        # Case, full day names, spaces and an en dash are tolerated.
        ("monday \u2013 friday 8:00 - 17:00", {0, 1, 2, 3, 4}, 480, 1020),
    ],
)
def test_parse_hours(spec, days, start, end):
    parsed = parse_hours(spec, "ga.toml: support.backend.hours[0]")
    assert (set(parsed.days), parsed.start, parsed.end) == (days, start, end)


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "Mon-Fri",  # no hours
        "08:00-17:00",  # no days
        "Mon-Fri 8-17",  # hours without minutes
        "Mon-Xyz 08:00-17:00",  # unknown day
        "Mon-Tue-Wed 08:00-17:00",  # a range with three ends
        "Mon,,Fri 08:00-17:00",  # empty day in the list
        "Mon-Fri 25:00-26:00",  # no such hour
        "Mon-Fri 08:60-09:00",  # no such minute
        "Mon-Fri 24:00-05:00",  # 24:00 only ends a day
        "Mon-Fri 08:00-08:00",  # zero or 24 hours? ambiguous
        "24x5",
    ],
)
def test_parse_hours_rejects_bad_specs_naming_the_key(spec):
    with pytest.raises(InputError) as error:
        parse_hours(spec, "ga.toml: support.backend.hours[0]")
    message = str(error.value)
    assert message.startswith("ga.toml: support.backend.hours[0]: expected support hours")
    assert "'Mon-Fri 08:00-17:00'" in message
    assert "\n" not in message


def test_check_support_reports_the_bad_entry_with_its_index():
    with pytest.raises(InputError, match=r"^ga\.toml: support\.connector\.hours\[1\]: expected"):
        check_support(
            hours("Mon-Fri 08:00-17:00", timezone="UTC"),
            connector("Mon-Fri 08:00-12:00", "Mon-Fri 13:00-5pm", timezone="UTC"),
            YEAR_2027,
        )


# --- coverage --------------------------------------------------------------------------


def test_identical_hours_pass():
    # Same spec, same zone: every backend interval is exactly a connector interval.
    result = check_support(
        hours("Mon-Fri 08:00-17:00", timezone="America/Los_Angeles"),
        connector("Mon-Fri 08:00-17:00", timezone="America/Los_Angeles"),
        YEAR_2027,
    )
    assert result.status == "pass"
    assert result.detail == (
        "connector support (Mon-Fri 08:00-17:00 America/Los_Angeles) covers the backend's "
        "(Mon-Fri 08:00-17:00 America/Los_Angeles) on every day of the year from 2027-01-01, "
        "DST included; contact support@contoso.com"
    )
    assert result.uncovered == []
    assert result.gaps == 0


@pytest.mark.parametrize(
    "backend",
    [
        hours("Mon-Sun 00:00-24:00", timezone="Pacific/Kiritimati"),  # UTC+14, the extreme
        hours("Fri-Mon 22:00-06:00", timezone="Asia/Kolkata"),  # half-hour offset, wraps
        hours("Mon-Fri 08:00-17:00", timezone="America/Los_Angeles"),
    ],
)
@pytest.mark.parametrize("timezone", ["America/Los_Angeles", None])
def test_connector_24x7_covers_anything(backend, timezone):
    # 24x7 is one unbroken interval (consecutive local days touch at midnight, even on the
    # 23 h and 25 h DST days), and round-the-clock support needs no time zone.
    result = check_support(backend, connector("24x7", timezone=timezone), YEAR_2027)
    assert result.status == "pass", result.detail


def test_connector_shorter_by_an_hour_fails_at_the_right_utc_time():
    # The first backend day is Fri 2027-01-01; 16:00-17:00 PST (UTC-8) is 00:00-01:00 UTC
    # on Sat 2027-01-02. One such hour on every weekday of 2027-01-01..2028-01-01:
    # 52 weeks x 5 = 260 plus the extra Fri 2027-12-31 = 261 (2028-01-01 is a Saturday).
    result = check_support(
        hours("Mon-Fri 08:00-17:00", timezone="America/Los_Angeles"),
        connector("Mon-Fri 08:00-16:00", timezone="America/Los_Angeles"),
        YEAR_2027,
    )
    assert result.status == "fail"
    assert result.uncovered[0] == (utc(2027, 1, 2, 0, 0), utc(2027, 1, 2, 1, 0))
    # Mon 2027-01-04 16:00-17:00 PST = Tue 00:00-01:00 UTC.
    assert result.uncovered[1] == (utc(2027, 1, 5, 0, 0), utc(2027, 1, 5, 1, 0))
    assert result.gaps == 261
    assert result.detail.startswith(
        "backend hours Fri 2027-01-01 16:00\u201317:00 America/Los_Angeles "
        "(2027-01-02 00:00\u201301:00 UTC) not covered by connector support"
    )
    assert "261 gaps in the year from 2027-01-01, 261 h in total" in result.detail


def test_same_hours_in_zones_with_the_same_dst_dates_pass_all_year():
    # 08:00-17:00 New York = 05:00-14:00 Los Angeles all year: EST/PST (UTC-5/-8) both give
    # 13:00-22:00 UTC, EDT/PDT (UTC-4/-7) both 12:00-21:00 UTC, and both zones switch on
    # the same US dates (at 02:00 local, long before 05:00).
    result = check_support(
        hours("Mon-Fri 08:00-17:00", timezone="America/New_York"),
        connector("Mon-Fri 05:00-14:00", timezone="America/Los_Angeles"),
        YEAR_2027,
    )
    assert result.status == "pass", result.detail


def test_us_backend_uk_connector_gaps_in_the_weeks_dst_differs():
    # 08:00-17:00 New York vs 13:00-22:00 London, every day. Winter: EST 13:00 UTC = GMT.
    # Summer: EDT 12:00 UTC = BST 12:00 UTC. From the US switch (Sun 2027-03-14) to the
    # day before the UK one (Sat 2027-03-27) New York starts at 12:00 UTC but London at
    # 13:00 UTC: 14 one-hour gaps; likewise from the UK's return (Sun 2027-10-31) to the
    # day before the US one (Sat 2027-11-06): 7 more. 21 gaps, 21 h.
    result = check_support(
        hours("Mon-Sun 08:00-17:00", timezone="America/New_York"),
        connector("Mon-Sun 13:00-22:00", timezone="Europe/London"),
        YEAR_2027,
    )
    assert result.status == "fail"
    assert result.gaps == 21
    first_start, first_end = result.uncovered[0]
    assert first_start.date() == date(2027, 3, 14)  # the US DST start of the checked year
    assert (first_start, first_end) == (utc(2027, 3, 14, 12, 0), utc(2027, 3, 14, 13, 0))
    assert result.uncovered[-1][0].date() == date(2027, 3, 23)  # only the first 10 are kept
    # The gap is named in the backend's zone, in UTC and in the connector's (still GMT).
    assert result.detail.startswith(
        "backend hours Sun 2027-03-14 08:00\u201309:00 America/New_York "
        "(12:00\u201313:00 UTC, 12:00\u201313:00 Europe/London) not covered"
    )
    assert "21 gaps in the year from 2027-01-01, 21 h in total" in result.detail


def test_year_starting_mid_year_finds_the_autumn_gap_first():
    # From 2026-07-01 the first difference is the UK's return to GMT on Sun 2026-10-25 (the
    # US follows on 2026-11-01): 7 gaps, then 14 in March 2027 as above; 21 in all.
    result = check_support(
        hours("Mon-Sun 08:00-17:00", timezone="America/New_York"),
        connector("Mon-Sun 13:00-22:00", timezone="Europe/London"),
        date(2026, 7, 1),
    )
    assert result.uncovered[0] == (utc(2026, 10, 25, 12, 0), utc(2026, 10, 25, 13, 0))
    assert result.gaps == 21


def test_design_example_los_angeles_backend_london_connector():
    # 08:00-17:00 LA vs 16:00-01:00 London on weekdays: equal in winter (16:00-01:00 UTC)
    # and summer (15:00-00:00 UTC). Gaps of 15:00-16:00 UTC on the weekdays between the US
    # and UK switches: Mar 15-19 and 22-26 (10) and Nov 1-5 (5) = 15.
    result = check_support(
        hours("Mon-Fri 08:00-17:00", timezone="America/Los_Angeles"),
        connector("Mon-Fri 16:00-01:00", timezone="Europe/London"),
        YEAR_2027,
    )
    assert result.gaps == 15
    assert result.uncovered[0] == (utc(2027, 3, 15, 15, 0), utc(2027, 3, 15, 16, 0))
    assert result.detail.startswith(
        "backend hours Mon 2027-03-15 08:00\u201309:00 America/Los_Angeles (15:00\u201316:00 UTC"
    )


def test_midnight_crossing_needs_the_next_morning_covered():
    # Backend Fri 22:00-Sat 06:00 needs Saturday 00:00-06:00; "Tue-Sat 00:00-06:00" has it.
    backend = hours("Mon-Fri 22:00-06:00", timezone="UTC")
    covered = connector("Mon-Fri 22:00-24:00", "Tue-Sat 00:00-06:00", timezone="UTC")
    assert check_support(backend, covered, date(2027, 1, 4)).status == "pass"
    same = connector("Mon-Fri 22:00-06:00", timezone="UTC")
    assert check_support(backend, same, date(2027, 1, 4)).status == "pass"

    # Without Saturday mornings the first gap is the first Saturday after Mon 2027-01-04.
    short = connector("Mon-Fri 22:00-24:00", "Tue-Fri 00:00-06:00", timezone="UTC")
    result = check_support(backend, short, date(2027, 1, 4))
    assert result.status == "fail"
    assert result.uncovered[0] == (utc(2027, 1, 9, 0, 0), utc(2027, 1, 9, 6, 0))
    assert result.detail.startswith("backend hours Sat 2027-01-09 00:00\u201306:00 UTC not")


def test_connector_interval_from_the_day_before_the_year_counts():
    # The backend's first interval, 2027-01-01 00:00-02:00, is covered only by the
    # connector's interval that starts on 2026-12-31 at 23:00 (the margin day).
    result = check_support(
        hours("Mon-Sun 00:00-02:00", timezone="UTC"),
        connector("Mon-Sun 23:00-03:00", timezone="UTC"),
        YEAR_2027,
    )
    assert result.status == "pass", result.detail


def test_wrapping_day_ranges():
    backend = hours("Fri-Mon 09:00-17:00", timezone="UTC")
    same_days = connector("Mon,Fri,Sat,Sun 09:00-17:00", timezone="UTC")
    assert check_support(backend, same_days, YEAR_2027).status == "pass"

    # Weekend only: Fridays and Mondays are missing. 2027 starts on a Friday, so it has 53
    # Fridays and 52 Mondays (2028-01-01 is a Saturday): 105 gaps, the first on day one.
    result = check_support(backend, connector("Sat-Sun 09:00-17:00", timezone="UTC"), YEAR_2027)
    assert result.status == "fail"
    assert result.uncovered[0] == (utc(2027, 1, 1, 9, 0), utc(2027, 1, 1, 17, 0))
    assert result.uncovered[1] == (utc(2027, 1, 4, 9, 0), utc(2027, 1, 4, 17, 0))  # Monday
    assert result.gaps == 105


def test_whole_days_across_dst_are_covered_by_the_same_whole_days():
    # The 23 h day of 2027-03-14 and the 25 h day of 2027-11-07 in New York: both sides
    # expand the same local days, so they match exactly.
    result = check_support(
        hours("Mon-Sun 00:00-24:00", timezone="America/New_York"),
        connector("Mon-Sun 00:00-24:00", timezone="America/New_York"),
        YEAR_2027,
    )
    assert result.status == "pass", result.detail


def test_skipped_local_hour_is_not_required():
    # On Sun 2027-03-14 New York skips 02:00-03:00: "02:00" (nonexistent) takes the pre-switch
    # offset, EST, so the backend needs 07:00 UTC (= 03:00 EDT) to 04:00 EDT = 08:00 UTC,
    # which the connector covers. The next Sunday, 02:00-04:00 EDT is 06:00-08:00 UTC:
    # 06:00-07:00 UTC is the first gap.
    result = check_support(
        hours("Sun 02:00-04:00", timezone="America/New_York"),
        connector("Sun 07:00-08:00", timezone="UTC"),
        date(2027, 3, 14),
    )
    assert result.uncovered[0] == (utc(2027, 3, 21, 6, 0), utc(2027, 3, 21, 7, 0))


def test_repeated_local_hour_counts_from_its_first_occurrence():
    # On Sun 2027-11-07 New York repeats 01:00-02:00. "01:00" is its first occurrence (EDT,
    # 05:00 UTC) and "02:00" is EST (07:00 UTC): both repeated hours are required. A
    # connector at 06:00-07:00 UTC misses the first one, 05:00-06:00 UTC.
    result = check_support(
        hours("Sun 01:00-02:00", timezone="America/New_York"),
        connector("Sun 06:00-07:00", timezone="UTC"),
        date(2027, 11, 7),
    )
    assert result.uncovered[0] == (utc(2027, 11, 7, 5, 0), utc(2027, 11, 7, 6, 0))


# --- contact and missing declarations -------------------------------------------------------


@pytest.mark.parametrize("contact", [None, "", "   "])
def test_missing_contact_fails(contact):
    result = check_support(
        hours("Mon-Fri 08:00-17:00", timezone="UTC"),
        hours("24x7", timezone="UTC", contact=contact),
        YEAR_2027,
    )
    assert result.status == "fail"
    assert "a support contact must be present" in result.detail


@pytest.mark.parametrize(
    ("backend", "support", "missing"),
    [
        (None, connector("24x7"), "support.backend.hours"),
        (hours(timezone="UTC"), connector("24x7"), "support.backend.hours"),
        (hours("Mon-Fri 08:00-17:00"), connector("24x7"), "support.backend.timezone"),
        (hours("Mon-Fri 08:00-17:00", timezone="UTC"), None, "support.connector.hours"),
        (
            hours("Mon-Fri 08:00-17:00", timezone="UTC"),
            connector("Mon-Fri 08:00-17:00"),
            "support.connector.timezone",
        ),
    ],
)
def test_missing_declarations_are_insufficient_data(backend, support, missing):
    result = check_support(backend, support, YEAR_2027)
    assert result.status == "insufficient-data"
    assert missing in result.detail
    assert result.detail.startswith("ga.toml does not declare")


def test_nothing_declared_says_everything_missing():
    result = check_support(None, None, YEAR_2027)
    assert result.status == "insufficient-data"
    assert result.detail == (
        "ga.toml does not declare support.backend.hours, support.connector.hours, so support "
        "coverage cannot be checked; support.connector.contact is missing too"
    )
