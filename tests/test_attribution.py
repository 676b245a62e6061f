"""Fault attribution (DESIGN.md, "Fault attribution", rules 1-9) seen through check().

Every expected fault below is read off DESIGN.md by hand: the first matching rule decides,
an explicit `fault` column overrides every rule, and rule 9 (a 5xx with nothing to say who
caused it) is a connector fault counted in data_quality.unattributed_5xx, unless the policy
says unattributed_5xx = "backend".

To keep the file fast, the one-row cases share one telemetry file: each case is its own
connector, and check_fleet judges each connector on its own rows (DESIGN.md, fleet mode).
Every case row is one request on the evaluation day D, so each connector has requests = 1.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest
from conftest import write_csv, write_jsonl

from connector_ga.api import check, check_fleet

D = dt.date(2026, 11, 20)
T = "2026-11-20T10:00:00Z"  # inside the window [D-29, D] = [2026-10-22, 2026-11-20]
FAULTS = ("none", "client", "backend", "connector", "throttled")

CLIENT_REASONS = (
    "SubscriptionKeyNotFound",
    "SubscriptionKeyInvalid",
    "ClientConnectionFailure",
    "CallerIpNotAllowed",
    "OperationNotFound",
    "Unauthorized",
)

# (case id, row without time/connector, expected fault, rule 9?) -- the reasoning is the id
# and the comment: "r<N>" is the rule that decides, "x" an explicit fault column.
CASES: list[tuple[str, dict, str, bool]] = [
    # Rule 1: status 429, or error_reason RateLimitExceeded / QuotaExceeded -> throttled.
    ("r1-429", {"status": 429}, "throttled", False),
    # 429 with a backend 5xx: rule 1 comes before rule 3.
    ("r1-429-b500", {"status": 429, "backend_status": 500}, "throttled", False),
    # RateLimitExceeded on a 200: rule 1 comes before rule 2.
    ("r1-ratelimit-200", {"status": 200, "error_reason": "RateLimitExceeded"}, "throttled", False),
    # QuotaExceeded on a 503 from a 503 backend: rule 1 before rule 3.
    (
        "r1-quota-503",
        {"status": 503, "backend_status": 503, "error_reason": "QuotaExceeded"},
        "throttled",
        False,
    ),
    # Rule 2: 100 <= status < 400 -> none (1xx, 2xx and 3xx alike).
    ("r2-101", {"status": 101}, "none", False),
    ("r2-200", {"status": 200}, "none", False),
    ("r2-304", {"status": 304}, "none", False),
    ("r2-399", {"status": 399}, "none", False),
    # A 200 to the caller although the backend said 500: rule 2 before rule 3.
    ("r2-200-b500", {"status": 200, "backend_status": 500}, "none", False),
    # Rule 3: backend_status >= 500 -> backend.
    ("r3-502-b503", {"status": 502, "backend_status": 503}, "backend", False),
    # A 400 to the caller over a backend 500: rule 3 before rule 8.
    ("r3-400-b500", {"status": 400, "backend_status": 500}, "backend", False),
    # A client reason with a backend 5xx: rule 3 before rule 7.
    (
        "r3-500-b500-unauth",
        {"status": 500, "backend_status": 500, "error_reason": "Unauthorized"},
        "backend",
        False,
    ),
    # Rule 4: 400 <= backend_status < 500 -> client.
    ("r4-500-b404", {"status": 500, "backend_status": 404}, "client", False),
    ("r4-502-b499", {"status": 502, "backend_status": 499}, "client", False),
    # A backend 400 with error_reason Timeout: rule 4 before rule 6.
    (
        "r4-502-b400-timeout",
        {"status": 502, "backend_status": 400, "error_reason": "Timeout"},
        "client",
        False,
    ),
    # Rule 5: backend_status < 400 (the backend answered fine, the connector failed).
    ("r5-500-b200", {"status": 500, "backend_status": 200}, "connector", False),
    # A 404 to the caller although the backend said 200: rule 5 before rule 8.
    ("r5-404-b200", {"status": 404, "backend_status": 200}, "connector", False),
    # backend 399 (< 400) with error_source forward-request: rule 5 before rule 6.
    (
        "r5-502-b399-forward",
        {"status": 502, "backend_status": 399, "error_source": "forward-request"},
        "connector",
        False,
    ),
    # Rule 6: error_reason BackendConnectionFailure / Timeout, or error_source
    # forward-request -> backend (no backend_status).
    ("r6-504-timeout", {"status": 504, "error_reason": "Timeout"}, "backend", False),
    ("r6-502-bcf", {"status": 502, "error_reason": "BackendConnectionFailure"}, "backend", False),
    ("r6-500-forward", {"status": 500, "error_source": "forward-request"}, "backend", False),
    # A 408 with error_reason Timeout: rule 6 before rule 8.
    ("r6-408-timeout", {"status": 408, "error_reason": "Timeout"}, "backend", False),
    # error_source forward-request together with a client error_reason: rule 6 before 7.
    (
        "r6-500-forward-unauth",
        {"status": 500, "error_source": "forward-request", "error_reason": "Unauthorized"},
        "backend",
        False,
    ),
    # Rule 7: a client error_reason on a 5xx -> client (each of the six reasons).
    *[
        (f"r7-500-{reason.lower()}", {"status": 500, "error_reason": reason}, "client", False)
        for reason in CLIENT_REASONS
    ],
    # Rule 8: 400 <= status < 500 with nothing else -> client.
    ("r8-400", {"status": 400}, "client", False),
    ("r8-404", {"status": 404}, "client", False),
    ("r8-499", {"status": 499}, "client", False),
    # Rule 9: a 5xx with nothing to say who caused it -> connector, unattributed.
    ("r9-500", {"status": 500}, "connector", True),
    ("r9-599", {"status": 599}, "connector", True),
    # An error_source/error_reason that no rule names says nothing: still rule 9.
    (
        "r9-503-unknown",
        {"status": 503, "error_source": "inbound", "error_reason": "ExpressionFailure"},
        "connector",
        True,
    ),
    # Explicit fault column: overrides every rule, and is never "unattributed".
    ("x-200-connector", {"status": 200, "fault": "connector"}, "connector", False),
    ("x-200-throttled", {"status": 200, "fault": "throttled"}, "throttled", False),
    ("x-429-none", {"status": 429, "fault": "none"}, "none", False),
    ("x-500-backend", {"status": 500, "fault": "backend"}, "backend", False),
    ("x-503-connector", {"status": 503, "fault": "connector"}, "connector", False),
    (
        "x-500-b200-client",
        {"status": 500, "backend_status": 200, "fault": "client"},
        "client",
        False,
    ),
    ("x-500-b503-none", {"status": 500, "backend_status": 503, "fault": "none"}, "none", False),
]

# The same rules through JSON Lines (typed values, explicit nulls).
JSONL_CASES: list[tuple[str, dict, str, bool]] = [
    ("jsonl-r1", {"status": 200, "error_reason": "RateLimitExceeded"}, "throttled", False),
    ("jsonl-r3", {"status": 502, "backend_status": 504}, "backend", False),
    ("jsonl-r5", {"status": 500, "backend_status": 200}, "connector", False),
    ("jsonl-r8", {"status": 403, "backend_status": None}, "client", False),
    ("jsonl-r9", {"status": 502, "backend_status": None, "error_source": None}, "connector", True),
    ("jsonl-x", {"status": 502, "fault": "backend"}, "backend", False),
]

ALL_CASES = CASES + JSONL_CASES
IDS = [case[0] for case in ALL_CASES]


def only(fault: str, n: int = 1) -> dict[str, int]:
    """Fault counts where all n requests have the one given fault."""
    return {kind: (n if kind == fault else 0) for kind in FAULTS}


def backend_policy(directory) -> str:
    """The shipped policy file with unattributed_5xx = "backend", and min_observed_days = 1:
    the cases are one day of telemetry, and what is tested here is the attribution rule, not
    the observed days a pass needs (tests/test_verdicts.py)."""
    text = (
        resources.files("connector_ga.policies")
        .joinpath("power-platform-ga.toml")
        .read_text(encoding="utf-8")
    )
    old = 'unattributed_5xx = "connector"'
    assert text.count(old) == 1
    path = directory / "backend-5xx.toml"
    text = text.replace(old, 'unattributed_5xx = "backend"')
    assert text.count("min_observed_days = 30") == 1
    text = text.replace("min_observed_days = 30", "min_observed_days = 1")
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def case_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attribution")
    csv_rows = [{"time": T, "connector": cid, **row} for cid, row, _, _ in CASES]
    json_rows = [{"time": T, "connector": cid, **row} for cid, row, _, _ in JSONL_CASES]
    csv_path = write_csv(folder / "cases.csv", csv_rows)
    jsonl_path = write_jsonl(folder / "cases.jsonl", json_rows)
    return folder, [str(csv_path), str(jsonl_path)]


@pytest.fixture(scope="module")
def default_results(case_files, engine_name):
    _, paths = case_files
    return {
        r.connector: r for r in check_fleet(paths, as_of=D, engine=engine_name, trajectory=False)
    }


@pytest.fixture(scope="module")
def backend_results(case_files, engine_name):
    folder, paths = case_files
    return {
        r.connector: r
        for r in check_fleet(
            paths, as_of=D, policy=backend_policy(folder), engine=engine_name, trajectory=False
        )
    }


def test_every_case_is_judged(default_results):
    # One connector per case. CSV cases by rule: 4 (rule 1) + 5 (2) + 3 (3) + 3 (4) + 3 (5)
    # + 5 (6) + 6 (7) + 3 (8) + 3 (9) + 7 explicit = 42; plus 6 JSON Lines cases.
    assert len(CASES) == 42
    assert sorted(default_results) == sorted(IDS)
    # 42 + 6 = 48 rows read, none rejected.
    some = default_results["r9-500"]
    assert some.data_quality.rows == 48
    assert some.data_quality.rejected_rows == 0


@pytest.mark.parametrize(("cid", "row", "fault", "rule9"), ALL_CASES, ids=IDS)
def test_fault_of_one_request(default_results, cid, row, fault, rule9):
    m = default_results[cid].metrics
    # One request, counted under exactly the fault the first matching rule gives.
    assert m.faults == only(fault)
    assert m.requests == 1
    # requests = eligible + throttled: a throttled request is not eligible.
    assert m.throttled == (1 if fault == "throttled" else 0)
    assert m.eligible == (0 if fault == "throttled" else 1)


@pytest.mark.parametrize(("cid", "row", "fault", "rule9"), ALL_CASES, ids=IDS)
def test_rule_9_counted_as_unattributed(default_results, cid, row, fault, rule9):
    # Only a rule-9 request is "unattributed"; an explicit fault or any other rule is not.
    assert default_results[cid].data_quality.unattributed_5xx == (1 if rule9 else 0)


@pytest.mark.parametrize(("cid", "row", "fault", "rule9"), ALL_CASES, ids=IDS)
def test_policy_unattributed_5xx_backend(backend_results, cid, row, fault, rule9):
    r = backend_results[cid]
    assert r.policy.name == "power-platform-ga"
    # With unattributed_5xx = "backend", rule 9 gives `backend`; every other rule (and every
    # explicit fault) is unchanged.
    expected = "backend" if rule9 else fault
    assert r.metrics.faults == only(expected)
    # The request is still one that said nothing of its cause: still counted as unattributed.
    assert r.data_quality.unattributed_5xx == (1 if rule9 else 0)


def test_rule_9_under_backend_policy_keeps_availability(backend_results, default_results):
    # r9-500 alone: default policy -> 1 connector fault in 1 eligible: availability 1 - 1/1 = 0.
    assert default_results["r9-500"].metrics.availability == 0.0
    assert default_results["r9-500"].criterion("availability").status == "fail"
    # backend policy -> 0 connector faults in 1 eligible: availability 1 - 0/1 = 1.
    assert backend_results["r9-500"].metrics.availability == 1.0
    assert backend_results["r9-500"].criterion("availability").status == "pass"


def test_rate_limit_reason_on_200_is_throttled(default_results):
    r = default_results["r1-ratelimit-200"]
    # Rule 1 wins over rule 2: the 200 is throttled, so no eligible request is left:
    # success rate and availability have nothing to measure.
    assert r.metrics.faults == only("throttled")
    assert (r.metrics.requests, r.metrics.eligible, r.metrics.throttled) == (1, 0, 1)
    assert r.metrics.successes == 0
    assert r.criterion("success-rate").status == "insufficient-data"
    assert r.criterion("availability").status == "insufficient-data"


def test_explicit_none_on_429_is_eligible_but_not_a_success(default_results):
    r = default_results["x-429-none"]
    # fault = none overrides rule 1, so the 429 is eligible (its fault is not throttled);
    # it is not a success (status 429 is not in 100..399): success rate 0/1 = 0.
    assert (r.metrics.eligible, r.metrics.throttled, r.metrics.successes) == (1, 0, 0)
    assert r.metrics.success_rate == 0.0
    # availability = 1 - 0 connector faults / 1 eligible = 1.
    assert r.metrics.availability == 1.0


def test_explicit_throttled_on_200_is_not_eligible(default_results):
    r = default_results["x-200-throttled"]
    # fault = throttled: requests 1 = eligible 0 + throttled 1.
    assert (r.metrics.requests, r.metrics.eligible, r.metrics.throttled) == (1, 0, 1)


def test_all_rules_together_through_check(csv_file, engine_name):
    # One connector, one request per rule (and one explicit fault), through check().
    rows = [
        {"time": T, "status": 429},  # rule 1 -> throttled
        {"time": T, "status": 200, "error_reason": "RateLimitExceeded"},  # rule 1 -> throttled
        {"time": T, "status": 204},  # rule 2 -> none
        {"time": T, "status": 302},  # rule 2 -> none
        {"time": T, "status": 502, "backend_status": 503},  # rule 3 -> backend
        {"time": T, "status": 500, "backend_status": 404},  # rule 4 -> client
        {"time": T, "status": 500, "backend_status": 200},  # rule 5 -> connector
        {"time": T, "status": 504, "error_reason": "Timeout"},  # rule 6 -> backend
        {"time": T, "status": 500, "error_reason": "OperationNotFound"},  # rule 7 -> client
        {"time": T, "status": 404},  # rule 8 -> client
        {"time": T, "status": 500},  # rule 9 -> connector (unattributed)
        {"time": T, "status": 503},  # rule 9 -> connector (unattributed)
        {"time": T, "status": 500, "fault": "backend"},  # explicit -> backend
    ]
    r = check(telemetry=str(csv_file(rows)), as_of=D, engine=engine_name, trajectory=False)
    m = r.metrics
    # throttled 2; none 2; backend 3 (rules 3, 6, explicit); client 3 (rules 4, 7, 8);
    # connector 3 (rule 5 + two rule 9).
    assert m.faults == {"none": 2, "client": 3, "backend": 3, "connector": 3, "throttled": 2}
    # requests 13 = eligible 11 + throttled 2.
    assert (m.requests, m.eligible, m.throttled) == (13, 11, 2)
    # Two rule-9 rows; the rule-5 row and the explicit row are attributed.
    assert r.data_quality.unattributed_5xx == 2
    # successes: the 204 and the 302 -> 2 of 11 eligible.
    assert m.successes == 2
    assert m.success_rate == pytest.approx(2 / 11)
    # availability = 1 - 3/11 = 8/11.
    assert m.availability == pytest.approx(8 / 11)
