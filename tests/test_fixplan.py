"""The fix plan (DESIGN.md, "Trajectory: … Fix plan"): what would make each failing
reliability criterion pass, and how the outputs show it.

One telemetry file holds four connectors, each a scenario, all judged as of D = 2026-11-20
(window [10-22, 11-20]). Every expected number is computed by hand in the comment next to
it. Thresholds (power-platform-ga): availability >= 99.95% (f faults in e eligible pass
when (e - f) * 2000 >= e * 1999, i.e. f * 2000 <= e), SLO >= 99.5% (m of n connections pass
when m * 1000 >= n * 995), success rate > 80% (s of e pass when s * 5 > e * 4).

The Results come from check_fleet on DuckDB (a Result does not depend on the engine); the
fix plan's own queries run on each engine.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from conftest import write_csv
from rich.console import Console

from connector_ga import engine
from connector_ga.api import check_fleet
from connector_ga.outputs import html_report, markdown, terminal
from connector_ga.policy import load_policy
from connector_ga.rollups import check_in_place
from connector_ga.sources import read_telemetry
from connector_ga.trajectory.fixplan import _Connection, _restoring_set, fix_plan

D = dt.date(2026, 11, 20)
T = "2026-11-20T10:00:00Z"
HOSTILE = "<img src=x onerror=alert(1)>|`B`"  # an operation name from telemetry
RAW_IDS = [f"conn-ok-{k:03d}" for k in range(195)] + [f"conn-fail-{k}" for k in range(1, 7)]
RAW_IDS.append("conn-healthy")


def req(connector: str, status: int, n: int = 1, time: str = T, **extra) -> list[dict]:
    return [{"time": time, "status": status, "connector": connector, **extra} for _ in range(n)]


def availability_rows() -> list[dict]:
    """20,000 eligible requests, 18 connector faults: CreateTask 6, HOSTILE 5, ListTasks 4,
    no operation 3. No connection_id, so SLO cannot be measured; success rate passes."""
    a, rows = "avail", []
    # CreateTask: 4,992 OK + 2 backend faults (rule 3) + 4 connector faults (rule 5, with a
    # reason) + 2 connector faults (rule 9) = 5,000 eligible; 50 throttled on top.
    rows += req(a, 200, weight=4992, operation="CreateTask")
    rows += req(a, 500, 2, operation="CreateTask", backend_status=503)
    rows += req(
        a, 500, 4, operation="CreateTask", backend_status=200, error_reason="ExpressionFailed"
    )
    rows += req(a, 502, 2, operation="CreateTask")
    rows += req(a, 429, weight=50, operation="CreateTask")
    # Outside the window (D-30, and D+1 at midnight): 200 more CreateTask faults, not counted.
    rows += req(a, 500, 100, time="2026-10-21T23:59:59Z", operation="CreateTask")
    rows += req(a, 500, 100, time="2026-11-21T00:00:00Z", operation="CreateTask")
    rows += req(a, 200, weight=4995, operation=HOSTILE) + req(a, 500, 5, operation=HOSTILE)
    # ListTasks: 4,986 OK + 10 client errors + 4 connector faults = 5,000.
    rows += req(a, 200, weight=4986, operation="ListTasks")
    rows += req(a, 404, weight=10, operation="ListTasks") + req(a, 503, 4, operation="ListTasks")
    rows += req(a, 200, weight=4997) + req(a, 500, 3)  # no operation: "(none)"
    return rows


def success_rate_rows() -> list[dict]:
    """1,000 eligible: 650 OK; failures Search 150 (130 client 404 + 20 connector 500),
    Get 110 (80 client 400 + 30 backend 502), List 90 (client 403); 40 throttled."""
    s, rows = "success", []
    rows += req(s, 200, weight=300, operation="Search") + req(s, 200, weight=200, operation="Get")
    rows += req(s, 200, weight=150, operation="List")
    rows += req(s, 404, weight=130, operation="Search") + req(s, 500, weight=20, operation="Search")
    rows += req(s, 429, weight=40, operation="Search")
    rows += req(s, 400, weight=80, operation="Get")
    rows += req(s, 502, weight=30, operation="Get", backend_status=503)
    rows += req(s, 403, weight=90, operation="List")
    return rows


SLO_FAILING = {  # connection -> its connector faults, one per listed operation
    "conn-fail-1": ["Upload"],
    "conn-fail-2": ["Upload"],
    "conn-fail-3": ["Upload"],
    "conn-fail-4": ["Upload", "Delete"],
    "conn-fail-5": ["Delete"],
    "conn-fail-6": ["Export"],
}


def slo_rows() -> list[dict]:
    """195 healthy connections of 70 OK requests; 6 connections of 100 eligible requests
    each with the connector faults of SLO_FAILING (the rest OK)."""
    c, rows = "slo", []
    for k in range(195):
        rows += req(c, 200, weight=70, operation="List", connection_id=f"conn-ok-{k:03d}")
    for cid, operations in SLO_FAILING.items():
        rows += req(c, 200, weight=100 - len(operations), operation="List", connection_id=cid)
        for op in operations:
            rows += req(c, 500, operation=op, connection_id=cid)
    return rows


def healthy_rows() -> list[dict]:
    """100 OK requests, and one throttled 429 on D − 29 = 10-22 (no eligible or fault count
    moves) so the window [10-22, 11-20] is observed whole and the passes stand."""
    opening = req("healthy", 429, time="2026-10-22T10:00:00Z", connection_id="conn-healthy")
    return opening + req("healthy", 200, 100, connection_id="conn-healthy")


def pseudonym(connection: str) -> str:
    return hashlib.sha256(connection.encode()).hexdigest()[:16]


def hashed(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """runs(engine, connector) -> (Result, FixPlan | None), each computed once."""
    rows = availability_rows() + success_rate_rows() + slo_rows() + healthy_rows()
    path = write_csv(tmp_path_factory.mktemp("fixplan") / "t.csv", rows)
    results = {r.connector: r for r in check_fleet(str(path), as_of=D)}
    policy = load_policy()
    aggregates: dict[str, object] = {}
    done: dict[tuple[str, str], tuple] = {}

    def run(engine_name: str, name: str) -> tuple:
        if engine_name not in aggregates:
            con = engine.connect(engine=engine_name)
            data = read_telemetry(con, [str(path)])
            counted, _ = check_in_place(data)
            aggregates[engine_name] = counted.rollups(policy.attribution.unattributed_5xx)
        if (engine_name, name) not in done:
            plan = fix_plan(aggregates[engine_name], results[name], policy, pseudonym, 3)
            done[engine_name, name] = (results[name], plan)
        return done[engine_name, name]

    return run


@pytest.fixture
def plan_of(runs, engine_name):
    """The fix plan of a connector, its queries run on each engine (Spark is slow: only the
    availability and SLO scenarios use this; success rate adds no query of its own)."""
    return lambda name: runs(engine_name, name)[1]


def with_plan(runs, name: str):
    """The Result of a connector, carrying the fix plan computed here on DuckDB."""
    result, plan = runs("duckdb", name)
    return result.model_copy(update={"fix_plan": plan})


# ---- availability ----------------------------------------------------------------------


def test_availability_smallest_set_is_the_top_two_operations(plan_of):
    plan = plan_of("avail")
    assert [f.criterion for f in plan.criteria] == ["availability"]  # SLO unmeasured, SR passes
    fix = plan.criteria[0]
    # 1 - 18/20,000 = 0.9991 (fails: 18 * 2,000 = 36,000 > 20,000; at most 10 faults allowed).
    assert fix.value == pytest.approx(0.9991)
    assert [op.operation for op in fix.operations] == ["CreateTask", HOSTILE, "ListTasks", "(none)"]
    assert [op.connector_faults for op in fix.operations] == [6, 5, 4, 3]
    # Without CreateTask 12 faults remain (> 10); without HOSTILE too, 7 (<= 10): pass. No single
    # operation is enough (the largest leaves 12), so two is the smallest set.
    assert fix.smallest_set == ["CreateTask", HOSTILE]
    assert (fix.fixed, fix.total) == (11, 18)  # 6 + 5 of 18
    assert fix.value_after == pytest.approx(0.99965)  # 1 - 7/20,000
    assert fix.passes_after is True


def test_availability_operations_carry_status_codes_and_reasons(plan_of):
    ops = {op.operation: op for op in plan_of("avail").criteria[0].operations}
    create = ops["CreateTask"]
    # 4,992 + 2 + 4 + 2 = 5,000 eligible (throttled and out-of-window rows left out).
    assert (create.eligible, create.connector_faults) == (5000, 6)
    # Failures: 6 connector + 2 backend = 8.
    assert create.failures == 8
    assert create.failures_by_fault == {"connector": 6, "backend": 2}
    # Behind its 6 connector faults: 4 x 500 (rule 5) and 2 x 502 (rule 9); the backend's 500s
    # are not connector faults.
    assert create.statuses == {"500": 4, "502": 2}
    assert create.error_reasons == {"ExpressionFailed": 4}
    # ListTasks: 10 client errors + 4 connector faults = 14 failures; statuses of faults only.
    assert (ops["ListTasks"].failures, ops["ListTasks"].statuses) == (14, {"503": 4})
    assert ops["(none)"].statuses == {"500": 3}
    assert plan_of("avail").connections == []  # no connection_id in this telemetry


# ---- success rate ----------------------------------------------------------------------


def test_success_rate_when_connector_faults_are_not_enough(runs):
    _, plan = runs("duckdb", "success")
    # availability 1 - 20/1,000 = 98% fails too; the criteria keep the Result's order.
    assert [f.criterion for f in plan.criteria] == ["availability", "success-rate"]
    fix = plan.criteria[1]
    assert fix.value == pytest.approx(0.65)  # 650 / 1,000
    assert [(op.operation, op.failures) for op in fix.operations] == [
        ("Search", 150),
        ("Get", 110),
        ("List", 90),
    ]
    # Fixing Search: 800/1,000 = 80.0% exactly, which fails (> 80% needed); with Get too
    # 910/1,000 = 91% passes. No single operation reaches more than 800.
    assert fix.smallest_set == ["Search", "Get"]
    assert fix.value_after == pytest.approx(0.91)
    assert (fix.fixed, fix.total) == (260, 350)
    assert fix.operations[0].statuses == {"404": 130, "500": 20}
    assert fix.operations[1].failures_by_fault == {"client": 80, "backend": 30}
    # Fixing only the 20 connector faults: 670/1,000 = 67%; client errors 130 + 80 + 90 = 300.
    assert fix.note == (
        "Fixing every connector fault alone would not be enough: it would bring success rate "
        "only to 67.000% (needs > 80.000%); the 350 failures are 300 client errors, "
        "30 backend faults, 20 connector faults."
    )
    availability = plan.criteria[0]
    assert (availability.smallest_set, availability.value_after) == (["Search"], 1.0)


# ---- SLO -------------------------------------------------------------------------------


def test_slo_operations_ranked_by_connections_restored(plan_of):
    plan = plan_of("slo")
    # 14,250 eligible (195 x 70 + 6 x 100), 7 faults: 7 x 2,000 = 14,000 <= 14,250, so
    # availability passes; SLO 195/201 fails (195,000 < 201 x 995 = 199,995).
    assert [f.criterion for f in plan.criteria] == ["slo"]
    fix = plan.criteria[0]
    assert fix.value == pytest.approx(195 / 201)
    # A connection of 100 requests meets the bar only with 0 faults (1 fault: 99%).
    # Upload alone restores fail-1, 2, 3 (fail-4 keeps its Delete fault) -> 3, in 4 connections
    # under the bar; Delete alone restores fail-5 -> 1, in 2 (fail-4, fail-5); Export fail-6 -> 1,
    # in 1. Delete ranks before Export: same restored, more faults in failing connections (2 > 1).
    assert [
        (op.operation, op.connections_restored, op.connections_affected) for op in fix.operations
    ] == [("Upload", 3, 4), ("Delete", 1, 2), ("Export", 1, 1)]
    assert [op.connector_faults for op in fix.operations] == [4, 2, 1]
    # Greedy: Upload restores 3 -> 198/201 (198,000 < 199,995); then Delete restores fail-4 (now
    # free of faults) and fail-5 -> 200/201 (200,000 >= 199,995): pass, Export not needed.
    assert fix.smallest_set == ["Upload", "Delete"]
    assert fix.value_after == pytest.approx(200 / 201)
    assert fix.passes_after is True
    assert (fix.fixed, fix.total) == (5, 6)
    # Issue 18 item 5: alone, Upload 3 + Delete 1 = 4 is not the 5 restored; in the set's
    # order Upload adds 3, then Delete 2 (fail-4 and fail-5): 3 + 2 = 5. Export is not in it.
    in_set = {op.operation: op.connections_restored_in_set for op in fix.operations}
    assert in_set == {"Upload": 3, "Delete": 2, "Export": None}
    assert sum(n for n in in_set.values() if n) == fix.fixed


def test_the_terminal_says_what_each_slo_count_is(plan_of):
    console = Console(width=200, record=True)
    console.print(terminal.fix_plan_block(plan_of("slo")))
    raw = console.export_text()
    text = " ".join(raw.split())
    # The two counts' columns, headed over two lines ("restored / alone", "restored in /
    # set order"), and the note saying what each is.
    header = next(i for i, line in enumerate(raw.splitlines()) if "restored in" in line)
    assert raw.splitlines()[header].split()[:3] == ["restored", "restored", "in"]
    assert raw.splitlines()[header + 1].split()[:4] == ["operation", "alone", "set", "order"]
    assert "restored alone: connections back over the bar if only that operation" in text
    # the set's steps add up to its 5 restored connections (see above): 3 + 2 = 5
    assert "in set order: what each operation of the set adds after the ones before it, " in text
    assert "3 + 2 = 5" in text


def test_most_affected_connections_by_pseudonym(plan_of):
    connections = plan_of("slo").connections
    assert len(connections) == 3  # top_connections=3 of the 6 with connector faults
    first = connections[0]
    # conn-fail-4: 2 faults in 100 -> 98%, under the bar.
    assert first.connection == hashed("conn-fail-4")
    assert (first.eligible, first.connector_faults, first.availability) == (100, 2, 0.98)
    assert first.meets_bar is False
    # Then the five with 1 fault (99% each), ties in pseudonym order.
    ones = sorted(hashed(c) for c in SLO_FAILING if c != "conn-fail-4")
    assert [c.connection for c in connections[1:]] == ones[:2]
    assert all(c.availability == 0.99 and not c.meets_bar for c in connections[1:])


def test_slo_greedy_takes_operations_that_restore_only_together():
    # X and Y: 100 eligible, one fault in A and one in B (2 faults); Z: one fault in C. A
    # connection of 100 meets the bar only with 0 faults, so A or B alone restores nothing.
    bar = load_policy().criteria.availability
    x = _Connection(100, 2, {"A": 1, "B": 1})
    y = _Connection(100, 2, {"A": 1, "B": 1})
    z = _Connection(100, 1, {"C": 1})
    holding = {"C": [z], "A": [x, y], "B": [x, y]}  # ranked C (restores 1 alone), A, B

    def meets(c, left):
        return bar.passes(c.eligible - left, c.eligible)

    # Step 1: C restores Z (gain 1). Step 2: A and B restore 0, remove 2 faults each: A, by
    # rank. Step 3: B restores X and Y (gain 2): 3 restored, enough.
    assert _restoring_set(["C", "A", "B"], holding, meets, lambda n: n >= 3) == (
        ["C", "A", "B"],
        3,
    )
    # Needing only 1: C alone.
    assert _restoring_set(["C", "A", "B"], holding, meets, lambda n: n >= 1) == (["C"], 1)


# ---- what never appears, and when there is no plan --------------------------------------


def test_no_raw_connection_id_in_the_plan(plan_of):
    text = plan_of("slo").model_dump_json()  # the one scenario with connection ids
    assert hashed("conn-fail-4") in text
    assert not [raw for raw in RAW_IDS if raw in text]
    assert "conn-" not in text


def test_none_when_no_reliability_criterion_fails(plan_of, runs):
    result, _ = runs("duckdb", "healthy")
    statuses = {c.id: c.status for c in result.criteria}
    assert {statuses[c] for c in ("availability", "slo", "success-rate")} == {"pass"}
    assert plan_of("healthy") is None


# ---- rendering -------------------------------------------------------------------------


def test_terminal_fix_plan_block(runs):
    console = Console(width=140, record=True)
    terminal.render(with_plan(runs, "success"), console)
    text = console.export_text()
    assert "fix plan" in text
    assert (
        "success rate 65.000%: fixing operations Search, Get (260 of 350 failures) would "
        "bring success rate to 91.000%"
    ) in " ".join(text.split())
    assert "404 ×130, 500 ×20" in text
    assert "only to 67.000%" in text

    console = Console(width=140, record=True)
    terminal.render(with_plan(runs, "avail"), console)
    text = console.export_text()
    assert HOSTILE in text  # printed as text, never read as Rich markup
    assert "500 ×4, 502 ×2" in text

    console = Console(width=140, record=True)
    terminal.render(with_plan(runs, "slo"), console)
    text = console.export_text()
    assert f"{hashed('conn-fail-4')}  2 connector faults in 100 eligible requests" in text
    assert "conn-fail" not in text


def test_markdown_top_fix_lines(runs):
    text = markdown.render(with_plan(runs, "avail"))
    # The hostile name inside a code span fenced by two backticks (it holds one).
    assert (
        "**Top fix:** operations `CreateTask`, `` <img src=x onerror=alert(1)>|`B` `` "
        "(11 of 18 connector faults) would bring availability to 99.965%."
    ) in text
    text = markdown.render(with_plan(runs, "slo"))
    assert (
        "**Top fix:** operations `Upload`, `Delete` (restoring 5 of 6 connections under the "
        "bar) would bring SLO to 99.502%."  # 200/201 = 0.995025
    ) in text
    text = markdown.render(with_plan(runs, "success"))
    assert "would bring success rate to 91.000%. Fixing every connector fault alone" in text


def test_markdown_code_span_shows_any_name_literally():
    assert markdown.code("CreateTask") == "`CreateTask`"
    assert markdown.code("a``b") == "```a``b```"
    assert markdown.code("`x") == "`` `x ``"
    assert markdown.code("two\nlines") == "`two lines`"


def test_html_fix_plan_section_escapes_telemetry_strings(runs):
    page = html_report.render(with_plan(runs, "avail"))
    assert "<h2>Fix plan</h2>" in page
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;|`B`" in page
    assert '<table class="fixplan" data-criterion="availability">' in page
    assert "Fixing operations CreateTask, &lt;img" in page

    page = html_report.render(with_plan(runs, "slo"))
    assert f"<code>{hashed('conn-fail-4')}</code>" in page
    assert "Most affected connections" in page
    assert "conn-fail" not in page


def test_no_fix_plan_section_without_a_plan(runs):
    result = with_plan(runs, "healthy")
    assert "Fix plan" not in html_report.render(result)
    assert "Top fix" not in markdown.render(result)
    console = Console(width=140, record=True)
    terminal.render(result, console)
    assert "fix plan" not in console.export_text()
