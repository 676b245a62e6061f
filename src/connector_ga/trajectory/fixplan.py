"""Fix plan: for each failing reliability criterion, what would make it pass (DESIGN.md,
"Trajectory: … Fix plan").

- availability: operations ranked by the connector faults they caused; the smallest set is
  the first ones in that order, since the eligible denominator stays fixed (greedy by
  faults is optimal for a ratio over a fixed denominator);
- success rate: the same, by failures (eligible requests not answered 1xx–3xx, whoever
  caused them), with a note when fixing the connector's own faults would not be enough;
- SLO: the operations whose connector faults hold connections under the availability bar,
  ranked by the connections each would restore alone; the set is picked greedily, each step
  taking the operation that restores the most connections still under the bar;
- the most affected connections, by pseudonymous id only.

The engine counts everything in a few grouped queries over the connector's reliability
window; Python sees operations and connections under the bar, never the requests.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import ibis

from ..metrics.compute import Aggregates, in_windows
from ..policy import CriteriaPolicy, CriterionPolicy, Policy
from ..result import ConnectionFaults, CriterionFix, FixPlan, OperationFix, Result

RELIABILITY = ("availability", "slo", "success-rate")
NO_OPERATION = "(none)"  # requests without an operation, as in the operations breakdown
TOP_REASONS = 5  # error reasons kept per operation: free text may be unbounded
FAILURE_CAUSES = {
    "client": "client errors",
    "backend": "backend faults",
    "connector": "connector faults",
    "none": "failures with no fault",
}

Pseudonym = Callable[[ibis.Value], ibis.Value]


@dataclass
class _Operation:
    """One operation's counts in the window, for every criterion at once."""

    name: str
    eligible: int = 0
    connector_faults: int = 0
    failures: int = 0
    failures_by_fault: dict[str, int] = field(default_factory=dict)
    fault_statuses: dict[str, int] = field(default_factory=dict)  # behind connector faults
    failure_statuses: dict[str, int] = field(default_factory=dict)
    fault_reasons: dict[str, int] = field(default_factory=dict)
    failure_reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class _Connection:
    """A connection under the availability bar, and its connector faults per operation."""

    eligible: int
    connector_faults: int
    by_operation: dict[str, int] = field(default_factory=dict)


def fix_plan(
    aggs: Aggregates,
    result: Result,
    policy: Policy,
    pseudonym: Pseudonym,
    top_connections: int = 10,
) -> FixPlan | None:
    """What would make each failing reliability criterion of `result` pass, or None when none
    of availability, success rate and SLO fails.

    `aggs` holds weighted request-shaped tables of any number of connectors: the requests
    themselves read in place, a store's rollups otherwise (`metrics.compute.Aggregates`);
    `pseudonym` maps a connection_id column to the id a report may show.
    """
    failing = [c.id for c in result.criteria if c.id in RELIABILITY and c.status == "fail"]
    if not failing:
        return None
    window = _in_window(aggs.operations, result)
    operations = _operation_counts(window)
    _add_reasons(window, operations)
    per_connection = _in_window(aggs.connections, result)
    faults = _in_window(aggs.connection_operations, result)
    rules = policy.criteria
    fixes = []
    for criterion in failing:
        if criterion == "availability":
            fixes.append(_availability_fix(operations, rules.availability))
        elif criterion == "success-rate":
            fixes.append(_success_rate_fix(operations, rules.success_rate))
        else:
            fixes.append(_slo_fix(per_connection, faults, operations, rules, pseudonym))
    return FixPlan(
        criteria=fixes,
        connections=_most_affected(per_connection, rules.availability, pseudonym, top_connections),
    )


# ---- queries ---------------------------------------------------------------------------


def _in_window(table: ibis.Table, result: Result) -> ibis.Table:
    """The connector's eligible rows in its reliability window (a time range when the table
    has times, so the engine can skip row groups), with the operation named when absent."""
    start, end = result.metrics.window["start"], result.metrics.window["end"]
    r = in_windows(table, [{"connector": result.connector, "w_start": start, "w_end": end}])
    r = r.filter((r.connector == result.connector) & (r.fault != "throttled"))
    if "operation" in r.columns:
        r = r.mutate(operation=r.operation.fill_null(NO_OPERATION))
    return r


def _failed(r: ibis.Table) -> ibis.Value:
    """Not answered 1xx–3xx (statuses are 100–599 once read)."""
    return r.status >= 400


def _records(expr: ibis.Table) -> list[dict]:
    """A small grouped result as plain Python values (None for SQL nulls)."""
    rows = expr.execute().to_dict("records")
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in rows
    ]


def _operation_counts(w: ibis.Table) -> dict[str, _Operation]:
    """Per operation, fault and status (kept only where it failed or was a connector fault)."""
    failed, connector = _failed(w), w.fault == "connector"
    grouped = w.group_by(
        operation=w.operation,
        fault=w.fault,
        status=(failed | connector).ifelse(w.status, ibis.null("int64")),
    ).aggregate(requests=w.weight.sum())
    operations: dict[str, _Operation] = {}
    for row in _records(grouped):
        op = operations.setdefault(row["operation"], _Operation(row["operation"]))
        n, fault = int(row["requests"]), row["fault"]
        op.eligible += n
        if row["status"] is None:
            continue
        status = str(int(row["status"]))
        if fault == "connector":
            op.connector_faults += n
            _add(op.fault_statuses, status, n)
        if int(row["status"]) >= 400:
            op.failures += n
            _add(op.failures_by_fault, fault, n)
            _add(op.failure_statuses, status, n)
    return operations


def _add_reasons(w: ibis.Table, operations: dict[str, _Operation]) -> None:
    """The commonest error reasons behind each operation's connector faults and failures."""
    failed, connector = _failed(w), w.fault == "connector"
    flagged = w.filter((failed | connector) & w.error_reason.notnull())
    reasons = flagged.group_by(operation=flagged.operation, reason=flagged.error_reason).aggregate(
        faults=flagged.weight.sum(where=flagged.fault == "connector").fill_null(0),
        failures=flagged.weight.sum(where=_failed(flagged)).fill_null(0),
    )
    by_faults = ibis.row_number().over(
        group_by=reasons.operation, order_by=[ibis.desc(reasons.faults), reasons.reason]
    )
    by_failures = ibis.row_number().over(
        group_by=reasons.operation, order_by=[ibis.desc(reasons.failures), reasons.reason]
    )
    ranked = reasons.mutate(by_faults=by_faults, by_failures=by_failures)
    top = ranked.filter(
        ((ranked.by_faults < TOP_REASONS) & (ranked.faults > 0))
        | ((ranked.by_failures < TOP_REASONS) & (ranked.failures > 0))
    )
    for row in _records(top):
        op = operations[row["operation"]]
        if row["faults"] and row["by_faults"] < TOP_REASONS:
            op.fault_reasons[row["reason"]] = int(row["faults"])
        if row["failures"] and row["by_failures"] < TOP_REASONS:
            op.failure_reasons[row["reason"]] = int(row["failures"])


def _meets_bar(eligible: ibis.Value, faults: ibis.Value, bar: CriterionPolicy) -> ibis.Value:
    """A connection's availability against the bar, exactly: (e − f)·den ≥ e·num."""
    t = bar.exact_threshold
    left = (eligible - faults).cast("int64") * t.denominator
    right = eligible.cast("int64") * t.numerator
    return left > right if bar.comparison == ">" else left >= right


def _per_connection(w: ibis.Table) -> ibis.Table:
    """Eligible requests and connector faults per connection (rows without one left out)."""
    c = w.filter(w.connection_id.notnull())
    return c.group_by("connection_id").aggregate(
        eligible=c.weight.sum(),
        connector_faults=c.weight.sum(where=c.fault == "connector").fill_null(0),
    )


def _most_affected(
    w: ibis.Table, bar: CriterionPolicy, pseudonym: Pseudonym, top: int
) -> list[ConnectionFaults]:
    """The connections with the most connector faults, then the lowest availability."""
    per = _per_connection(w)
    per = per.filter(per.connector_faults > 0)
    shown = per.mutate(
        connection=pseudonym(per.connection_id),
        availability=1 - per.connector_faults.cast("float64") / per.eligible,
    )
    ordered = shown.order_by(
        [ibis.desc(shown.connector_faults), shown.availability, shown.connection]
    ).limit(top)
    out = []
    for row in _records(ordered.select("connection", "eligible", "connector_faults")):
        e, f = int(row["eligible"]), int(row["connector_faults"])
        out.append(
            ConnectionFaults(
                connection=str(row["connection"]),
                eligible=e,
                connector_faults=f,
                availability=(e - f) / e,
                meets_bar=bar.passes(e - f, e),
            )
        )
    return out


# ---- the plans -------------------------------------------------------------------------


def _add(counts: dict[str, int], key: str, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


def _by_count(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _pct(value: float) -> str:
    return f"{value * 100:.3f}%"


def _faults_view(op: _Operation, **extra) -> OperationFix:
    """An operation as availability and SLO see it: its connector faults and their causes."""
    return OperationFix(
        operation=op.name,
        eligible=op.eligible,
        connector_faults=op.connector_faults,
        failures=op.failures,
        failures_by_fault=_by_count(op.failures_by_fault),
        statuses=_by_count(op.fault_statuses),
        error_reasons=_by_count(op.fault_reasons),
        **extra,
    )


def _failures_view(op: _Operation) -> OperationFix:
    """An operation as success rate sees it: every failure, whoever caused it."""
    return OperationFix(
        operation=op.name,
        eligible=op.eligible,
        connector_faults=op.connector_faults,
        failures=op.failures,
        failures_by_fault=_by_count(op.failures_by_fault),
        statuses=_by_count(op.failure_statuses),
        error_reasons=_by_count(op.failure_reasons),
    )


def _greedy(
    ranked: list[_Operation], weight: Callable[[_Operation], int], passes: Callable[[int], bool]
) -> tuple[list[str], int]:
    """The first operations of `ranked` whose counts, removed, make `passes(remaining)` true;
    and what remains. Over a fixed denominator no other set of that size removes more."""
    remaining = sum(weight(op) for op in ranked)
    chosen: list[str] = []
    for op in ranked:
        if passes(remaining):
            break
        chosen.append(op.name)
        remaining -= weight(op)
    return chosen, remaining


def _availability_fix(operations: dict[str, _Operation], rule: CriterionPolicy) -> CriterionFix:
    eligible = sum(op.eligible for op in operations.values())
    ranked = sorted(
        (op for op in operations.values() if op.connector_faults),
        key=lambda op: (-op.connector_faults, op.name),
    )
    total = sum(op.connector_faults for op in ranked)
    chosen, remaining = _greedy(
        ranked, lambda op: op.connector_faults, lambda left: rule.passes(eligible - left, eligible)
    )
    return CriterionFix(
        criterion="availability",
        value=(eligible - total) / eligible,
        operations=[_faults_view(op) for op in ranked],
        smallest_set=chosen,
        value_after=(eligible - remaining) / eligible,
        passes_after=rule.passes(eligible - remaining, eligible),
        fixed=total - remaining,
        total=total,
    )


def _success_rate_fix(operations: dict[str, _Operation], rule: CriterionPolicy) -> CriterionFix:
    eligible = sum(op.eligible for op in operations.values())
    ranked = sorted(
        (op for op in operations.values() if op.failures),
        key=lambda op: (-op.failures, op.name),
    )
    total = sum(op.failures for op in ranked)
    chosen, remaining = _greedy(
        ranked, lambda op: op.failures, lambda left: rule.passes(eligible - left, eligible)
    )
    by_fault: dict[str, int] = {}
    for op in ranked:
        for fault, n in op.failures_by_fault.items():
            _add(by_fault, fault, n)
    # A connector fault answered 1xx–3xx already counts as a success: only failed ones count.
    connector_only = eligible - total + by_fault.get("connector", 0)
    reached = _pct(connector_only / eligible)
    if rule.passes(connector_only, eligible):
        note = f"Fixing every connector fault alone would bring success rate to {reached}."
    else:
        causes = ", ".join(
            f"{n:,} {FAILURE_CAUSES.get(fault, fault)}" for fault, n in _by_count(by_fault).items()
        )
        note = (
            f"Fixing every connector fault alone would not be enough: it would bring success "
            f"rate only to {reached} (needs {rule.comparison} {_pct(float(rule.exact_threshold))})"
            f"; the {total:,} failures are {causes}."
        )
    return CriterionFix(
        criterion="success-rate",
        value=(eligible - total) / eligible,
        operations=[_failures_view(op) for op in ranked],
        smallest_set=chosen,
        value_after=(eligible - remaining) / eligible,
        passes_after=rule.passes(eligible - remaining, eligible),
        note=note,
        fixed=total - remaining,
        total=total,
    )


def _slo_fix(
    per_connection: ibis.Table,
    faults: ibis.Table,
    operations: dict[str, _Operation],
    rules: CriteriaPolicy,
    pseudonym: Pseudonym,
) -> CriterionFix:
    rule, bar = rules.slo, rules.availability
    connections, meeting, under = _connections_under_bar(per_connection, faults, bar, pseudonym)

    def meets(c: _Connection, faults_left: int) -> bool:
        return bar.passes(c.eligible - faults_left, c.eligible)

    holding: dict[str, list[_Connection]] = {}  # operation -> connections under the bar it is in
    for c in under.values():
        for op in c.by_operation:
            holding.setdefault(op, []).append(c)
    in_failing = {op: sum(c.by_operation[op] for c in cs) for op, cs in holding.items()}
    alone = {
        op: sum(meets(c, c.connector_faults - c.by_operation[op]) for c in cs)
        for op, cs in holding.items()
    }
    ranked = sorted(
        holding,
        key=lambda op: (-alone[op], -in_failing[op], -operations[op].connector_faults, op),
    )
    gained: dict[str, int] = {}
    chosen, restored = _restoring_set(
        ranked, holding, meets, lambda n: rule.passes(meeting + n, connections), gained
    )
    return CriterionFix(
        criterion="slo",
        value=meeting / connections,
        operations=[
            _faults_view(
                operations[op],
                connections_restored=alone[op],
                connections_restored_in_set=gained.get(op),
                connections_affected=len(holding[op]),
            )
            for op in ranked
        ],
        smallest_set=chosen,
        value_after=(meeting + restored) / connections,
        passes_after=rule.passes(meeting + restored, connections),
        fixed=restored,
        total=len(under),
    )


def _restoring_set(
    ranked: list[str],
    holding: dict[str, list[_Connection]],
    meets: Callable[[_Connection, int], bool],
    passes: Callable[[int], bool],
    gained: dict[str, int] | None = None,
) -> tuple[list[str], int]:
    """Greedy: each step takes the operation whose faults, removed with those already taken,
    restore the most connections still under the bar (then the one removing most of their
    faults, then the rank order), until `passes(connections restored)`. Returns the set and
    how many connections it restores; `gained` receives what each step added (in the set's
    order these add up to the total, where each operation alone may not)."""
    left = {id(c): c.connector_faults for cs in holding.values() for c in cs}  # faults left
    chosen: list[str] = []
    restored = 0
    while not passes(restored) and len(chosen) < len(ranked):
        gains = {}
        for op in ranked:
            if op in chosen:
                continue
            still = [c for c in holding[op] if not meets(c, left[id(c)])]
            restores = sum(meets(c, left[id(c)] - c.by_operation[op]) for c in still)
            gains[op] = (restores, sum(c.by_operation[op] for c in still))
        best = max(gains, key=gains.__getitem__)  # ties: the rank order
        chosen.append(best)
        restored += gains[best][0]
        if gained is not None:
            gained[best] = gains[best][0]
        for c in holding[best]:
            left[id(c)] -= c.by_operation[best]
    return chosen, restored


def _connections_under_bar(
    w: ibis.Table, faults: ibis.Table, bar: CriterionPolicy, pseudonym: Pseudonym
) -> tuple[int, int, dict[str, _Connection]]:
    """Connections with an eligible request, those meeting the bar, and those under it with
    their connector faults per operation (keyed by pseudonym)."""
    per = _per_connection(w)
    meets = _meets_bar(per.eligible, per.connector_faults, bar)
    totals = _records(
        per.aggregate(connections=per.count(), meeting=meets.cast("int64").sum().fill_null(0))
    )[0]
    under = per.filter(~meets)
    faults = faults.filter((faults.fault == "connector") & faults.connection_id.notnull())
    per_operation = faults.group_by("connection_id", "operation").aggregate(
        faults=faults.weight.sum()
    )
    joined = under.join(per_operation, "connection_id")
    rows = _records(
        joined.select(
            connection=pseudonym(joined.connection_id),
            eligible=joined.eligible,
            connector_faults=joined.connector_faults,
            operation=joined.operation,
            faults=joined.faults,
        )
    )
    connections: dict[str, _Connection] = {}
    for row in rows:
        c = connections.setdefault(
            str(row["connection"]),
            _Connection(int(row["eligible"]), int(row["connector_faults"])),
        )
        c.by_operation[row["operation"]] = int(row["faults"])
    return int(totals["connections"]), int(totals["meeting"]), connections
