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

The local session counts everything in a few grouped queries of the rollups over the
connector's reliability window; Python sees operations and connections under the bar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..metrics.local import Rollups
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

Pseudonym = Callable[[str], str]  # a connection id as a report may show it


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
    r: Rollups,
    result: Result,
    policy: Policy,
    pseudonym: Pseudonym,
    top_connections: int = 10,
) -> FixPlan | None:
    """What would make each failing reliability criterion of `result` pass, or None when none
    of availability, success rate and SLO fails.

    `r` holds the rollups of any number of connectors; `pseudonym` maps a connection id to
    the id a report may show.
    """
    failing = [c.id for c in result.criteria if c.id in RELIABILITY and c.status == "fail"]
    if not failing:
        return None
    window = _Window(r, result)
    operations = _operation_counts(window)
    _add_reasons(window, operations)
    per_connection = _per_connection(window)
    rules = policy.criteria
    fixes = []
    for criterion in failing:
        if criterion == "availability":
            fixes.append(_availability_fix(operations, rules.availability))
        elif criterion == "success-rate":
            fixes.append(_success_rate_fix(operations, rules.success_rate))
        else:
            fixes.append(_slo_fix(window, per_connection, operations, rules, pseudonym))
    return FixPlan(
        criteria=fixes,
        connections=_most_affected(per_connection, rules.availability, pseudonym, top_connections),
    )


# ---- queries ---------------------------------------------------------------------------


class _Window:
    """The connector's eligible rows in its reliability window, as queries of the rollups
    (with the operation named when absent)."""

    def __init__(self, r: Rollups, result: Result) -> None:
        self.r = r
        self.params = [
            result.connector,
            result.metrics.window["start"],
            result.metrics.window["end"],
        ]

    @staticmethod
    def scope(table: str) -> str:
        """The WHERE clause (its parameters: `params`)."""
        scope = "connector = ? AND day BETWEEN ? AND ?"
        if table != "connection_operations":  # connector faults only: none is throttled
            scope += " AND fault <> 'throttled'"
        return scope

    def rows(self, select: str, table: str, extra: str = "") -> list[tuple]:
        query = f"SELECT {select} FROM {table} WHERE {self.scope(table)}{extra} GROUP BY ALL"
        return self.r.rows(query, self.params)


OPERATION = f"coalesce(operation, '{NO_OPERATION}')"


def _operation_counts(w: _Window) -> dict[str, _Operation]:
    """Per operation, fault and status (kept only where it failed or was a connector fault)."""
    rows = w.rows(
        f"{OPERATION}, fault, CASE WHEN status >= 400 OR fault = 'connector' THEN status END, "
        "sum(requests)",
        "operations",
    )
    operations: dict[str, _Operation] = {}
    for name, fault, status, n in rows:
        op = operations.setdefault(name, _Operation(name))
        n = int(n)
        op.eligible += n
        if status is None:
            continue
        code = str(int(status))
        if fault == "connector":
            op.connector_faults += n
            _add(op.fault_statuses, code, n)
        if int(status) >= 400:
            op.failures += n
            _add(op.failures_by_fault, fault, n)
            _add(op.failure_statuses, code, n)
    return operations


def _add_reasons(w: _Window, operations: dict[str, _Operation]) -> None:
    """The commonest error reasons behind each operation's connector faults and failures."""
    rows = w.r.rows(
        f"""
        WITH reasons AS (
            SELECT {OPERATION} AS operation, error_reason AS reason,
                coalesce(sum(requests) FILTER (WHERE fault = 'connector'), 0) AS faults,
                coalesce(sum(requests) FILTER (WHERE status >= 400), 0) AS failures
            FROM operations WHERE {w.scope("operations")}
                AND (status >= 400 OR fault = 'connector') AND error_reason IS NOT NULL
            GROUP BY ALL
        ), ranked AS (
            SELECT *,
                row_number() OVER (PARTITION BY operation ORDER BY faults DESC, reason) - 1
                    AS by_faults,
                row_number() OVER (PARTITION BY operation ORDER BY failures DESC, reason) - 1
                    AS by_failures
            FROM reasons
        )
        SELECT operation, reason, faults, failures, by_faults, by_failures FROM ranked
        WHERE (by_faults < {TOP_REASONS} AND faults > 0)
            OR (by_failures < {TOP_REASONS} AND failures > 0)
        """,
        w.params,
    )
    for name, reason, faults, failures, by_faults, by_failures in rows:
        op = operations[name]
        if faults and by_faults < TOP_REASONS:
            op.fault_reasons[reason] = int(faults)
        if failures and by_failures < TOP_REASONS:
            op.failure_reasons[reason] = int(failures)


def _per_connection(w: _Window) -> dict[str, tuple[int, int]]:
    """Eligible requests and connector faults per connection (rows without one left out)."""
    rows = w.rows(
        "connection_id, sum(requests), "
        "coalesce(sum(requests) FILTER (WHERE fault = 'connector'), 0)",
        "daily",
        " AND connection_id IS NOT NULL",
    )
    return {c: (int(e), int(f)) for c, e, f in rows}


def _most_affected(
    per: dict[str, tuple[int, int]], bar: CriterionPolicy, pseudonym: Pseudonym, top: int
) -> list[ConnectionFaults]:
    """The connections with the most connector faults, then the lowest availability."""
    shown = [
        (-f, 1 - f / e, pseudonym(c), e, f) for c, (e, f) in per.items() if f > 0
    ]  # the order: most faults, lowest availability, then the id shown
    out = []
    for _, _, connection, e, f in sorted(shown)[:top]:
        out.append(
            ConnectionFaults(
                connection=connection,
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
    w: _Window,
    per_connection: dict[str, tuple[int, int]],
    operations: dict[str, _Operation],
    rules: CriteriaPolicy,
    pseudonym: Pseudonym,
) -> CriterionFix:
    rule, bar = rules.slo, rules.availability
    connections, meeting, under = _connections_under_bar(w, per_connection, bar, pseudonym)

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
    w: _Window, per: dict[str, tuple[int, int]], bar: CriterionPolicy, pseudonym: Pseudonym
) -> tuple[int, int, dict[str, _Connection]]:
    """Connections with an eligible request, those meeting the bar, and those under it with
    their connector faults per operation (keyed by pseudonym)."""
    under = {c: ef for c, ef in per.items() if not bar.passes(ef[0] - ef[1], ef[0])}
    connections: dict[str, _Connection] = {}
    if under:
        rows = w.rows(
            f"connection_id, {OPERATION}, sum(connector_faults)",
            "connection_operations",
            " AND connection_id IS NOT NULL",
        )
        for connection_id, operation, faults in rows:
            if connection_id not in under:
                continue
            e, f = under[connection_id]
            c = connections.setdefault(pseudonym(connection_id), _Connection(e, f))
            c.by_operation[operation] = int(faults)
    return len(per), len(per) - len(under), connections
