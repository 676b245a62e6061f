"""Rollups: per-day (and per-ISO-week) tables from which every figure of a check, a history,
a forecast and a fix plan is computed, so that a check from the store reads days, not
requests.

They are computed at ingest over the new requests only (attributed with the default rule:
an unattributed 5xx is a connector fault), merged into the store, and exported as they
are. Each keeps the `unattributed` flag, so a policy that counts unattributed 5xx as
backend faults re-attributes them when it reads (`views`):
- `daily`: requests per connector, day, connection, fault, status class (reliability,
  SLO, MAC, the daily points; exactly the daily aggregate of a check in place);
- `weekly_users`: the distinct pseudonymous users of each connector and ISO week, as the
  ids themselves, so WAU stays an exact count whatever ingests added to a week;
- `operations`: requests per connector, day, operation, fault, status, error reason
  (a check's operations and the fix plan);
- `connection_operations`: connector faults per connector, day, connection and operation
  (which operations put a connection under the SLO bar).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
from ibis.backends import BaseBackend

from . import engine
from .metrics.compute import daily_aggregate
from .metrics.series import RememberedWeeks, WeeklyUsers

DEFAULT_UNATTRIBUTED = "connector"  # how ingest attributes; a policy may say "backend"

# table -> (its key columns, {measure: how two rows of one key merge})
MERGE: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "daily": (
        ("connector", "day", "connection_id", "fault", "status_class", "unattributed", "has_user"),
        {"requests": "sum", "rows": "sum", "max_weight": "max"},
    ),
    "weekly_users": (("connector", "week", "user_id"), {}),
    "operations": (
        ("connector", "day", "operation", "fault", "status", "error_reason", "unattributed"),
        {"requests": "sum"},
    ),
    "connection_operations": (
        ("connector", "day", "connection_id", "operation", "unattributed"),
        {"connector_faults": "sum"},
    ),
}
NAMES = tuple(MERGE)

SCHEMAS: dict[str, dict[str, str]] = {
    "daily": {
        "connector": "VARCHAR",
        "day": "DATE",
        "connection_id": "VARCHAR",
        "fault": "VARCHAR",
        "status_class": "SMALLINT",
        "unattributed": "BOOLEAN",
        "has_user": "BOOLEAN",
        "requests": "BIGINT",
        "rows": "BIGINT",
        "max_weight": "BIGINT",
    },
    "weekly_users": {"connector": "VARCHAR", "week": "DATE", "user_id": "VARCHAR"},
    "operations": {
        "connector": "VARCHAR",
        "day": "DATE",
        "operation": "VARCHAR",
        "fault": "VARCHAR",
        "status": "BIGINT",
        "error_reason": "VARCHAR",
        "unattributed": "BOOLEAN",
        "requests": "BIGINT",
    },
    "connection_operations": {
        "connector": "VARCHAR",
        "day": "DATE",
        "connection_id": "VARCHAR",
        "operation": "VARCHAR",
        "unattributed": "BOOLEAN",
        "connector_faults": "BIGINT",
    },
}


# The SQL types of the store's tables as Ibis types (the segments' TIMESTAMPTZ and DOUBLE too).
SQL_TYPES = {
    "VARCHAR": "string",
    "DATE": "date",
    "BIGINT": "int64",
    "SMALLINT": "int16",
    "BOOLEAN": "boolean",
    "DOUBLE": "float64",
    "TIMESTAMPTZ": "timestamp('UTC')",
}


def ibis_schema(name: str) -> ibis.Schema:
    """A rollup's columns with their Ibis types."""
    return ibis.schema({column: SQL_TYPES[kind] for column, kind in SCHEMAS[name].items()})


def day_column(name: str) -> str:
    """The column that says which UTC day (or ISO week) a rollup row belongs to."""
    return "week" if name == "weekly_users" else "day"


# ---- from requests (at ingest) ------------------------------------------------------------


def build(name: str, requests: ibis.Table) -> ibis.Table:
    """A rollup of valid requests attributed with the default rule (`attribute` with
    DEFAULT_UNATTRIBUTED), with `day`."""
    r = requests
    if name == "daily":
        out = daily_aggregate(r)
    elif name == "weekly_users":
        r = r.filter(r.user_id.notnull())
        out = r.select(
            connector=r.connector, week=engine.iso_week(r.time), user_id=r.user_id
        ).distinct()
    elif name == "operations":
        out = r.group_by(
            connector=r.connector,
            day=r.day,
            operation=r.operation,
            fault=r.fault,
            status=r.status.cast("int64"),
            error_reason=r.error_reason,
            unattributed=r.unattributed,
        ).aggregate(requests=r.weight.sum())
    elif name == "connection_operations":
        r = r.filter((r.fault == "connector") & r.connection_id.notnull())
        out = r.group_by(
            connector=r.connector,
            day=r.day,
            connection_id=r.connection_id,
            operation=r.operation,
            unattributed=r.unattributed,
        ).aggregate(connector_faults=r.weight.sum())
    else:
        raise KeyError(name)
    return out.select(*SCHEMAS[name])


# One scan for all four: each rollup is a grouping set of one aggregate query, so the
# requests are read once whatever the engine (DuckDB and Spark both plan GROUPING SETS as
# one scan feeding one hash table per set). `grouping(column)` tells the sets apart.
_SETS: dict[str, tuple[str, ...]] = {
    "daily": MERGE["daily"][0],
    "operations": MERGE["operations"][0],
    "connection_operations": MERGE["connection_operations"][0],
    "weekly_users": MERGE["weekly_users"][0],
}
_TELLS = {  # a column grouped in that set only
    "daily": "status_class",
    "operations": "error_reason",
    "weekly_users": "week",
}


def _keyed(requests: ibis.Table) -> ibis.Table:
    """The requests as the grouping sets read them: every key column of every rollup."""
    r = requests
    return r.select(
        connector=r.connector,
        day=r.day,
        week=engine.iso_week(r.time),
        connection_id=r.connection_id,
        operation=r.operation,
        fault=r.fault,
        status=r.status.cast("int64"),
        status_class=(r.status // 100).cast("int16"),
        error_reason=r.error_reason,
        unattributed=r.unattributed,
        has_user=r.user_id.notnull(),
        user_id=r.user_id,
        weight=r.weight,
    )


def _grouping_sql(inner: str) -> str:
    sets = ", ".join("(" + ", ".join(keys) + ")" for keys in _SETS.values())
    columns = sorted({c for keys in _SETS.values() for c in keys})
    tells = ", ".join(f"grouping({c}) AS g_{c}" for c in _TELLS.values())
    return (
        f"SELECT {', '.join(columns)}, {tells}, "
        "sum(weight) AS requests, count(*) AS rows, max(weight) AS max_weight, "
        "sum(CASE WHEN fault = 'connector' THEN weight END) AS connector_faults "
        f"FROM ({inner}) AS keyed GROUP BY GROUPING SETS ({sets})"
    )


def build_all(con: BaseBackend, requests: ibis.Table) -> dict[str, ibis.Table]:
    """Every rollup of valid requests attributed with the default rule, in one scan: the
    grouped result is kept by the engine, and the four rollups are cut from it."""
    query = _grouping_sql(str(con.compile(_keyed(requests))))
    g = engine.materialize_sql(con, query, "cga_rollups")
    is_set = {name: g[f"g_{column}"] == 0 for name, column in _TELLS.items()}
    out = {
        "daily": g.filter(is_set["daily"]),
        "operations": g.filter(is_set["operations"]),
        "weekly_users": g.filter(is_set["weekly_users"] & g.user_id.notnull()),
        "connection_operations": g.filter(
            ~is_set["daily"]
            & ~is_set["operations"]
            & ~is_set["weekly_users"]
            & g.connector_faults.notnull()
            & g.connection_id.notnull()
        ),
    }
    return {name: t.select(*SCHEMAS[name]).cast(ibis_schema(name)) for name, t in out.items()}


# ---- as the metrics read them ---------------------------------------------------------------


def _fault(t: ibis.Table, unattributed_5xx: str) -> ibis.Value:
    if unattributed_5xx == DEFAULT_UNATTRIBUTED:
        return t.fault
    return ibis.ifelse(t.unattributed, ibis.literal(unattributed_5xx), t.fault)


def daily_view(daily: ibis.Table, unattributed_5xx: str) -> ibis.Table:
    """The daily rollup as the daily aggregate of a check under this attribution."""
    return daily.mutate(fault=_fault(daily, unattributed_5xx))


def operations_view(operations: ibis.Table, unattributed_5xx: str) -> ibis.Table:
    """Per operation as the fix plan and a check's operations read requests: weighted rows
    with `weight`."""
    o = operations
    return o.select(
        connector=o.connector,
        day=o.day,
        operation=o.operation,
        fault=_fault(o, unattributed_5xx),
        status=o.status,
        error_reason=o.error_reason,
        weight=o.requests,
    )


def connections_view(daily: ibis.Table) -> ibis.Table:
    """Per connection (the fix plan's availability per connection): weighted rows."""
    return daily.select(
        connector=daily.connector,
        day=daily.day,
        connection_id=daily.connection_id,
        fault=daily.fault,
        weight=daily.requests,
    )


def connection_operations_view(table: ibis.Table, unattributed_5xx: str) -> ibis.Table:
    """Connector faults per connection and operation: weighted rows with fault 'connector'."""
    t = table
    if unattributed_5xx != DEFAULT_UNATTRIBUTED:
        t = t.filter(~t.unattributed)  # those are backend faults under this policy
    return t.select(
        connector=t.connector,
        day=t.day,
        connection_id=t.connection_id,
        operation=t.operation,
        fault=ibis.literal("connector"),
        weight=t.connector_faults,
    )


def weekly_users_view(table: ibis.Table) -> WeeklyUsers:
    """Distinct users per connector and ISO week, from the stored ids."""

    def count(names: Sequence[str], first: dt.date, last: dt.date):
        t = table.filter(
            (table.week >= first) & (table.week <= last) & table.connector.isin(list(names))
        )
        rows = t.group_by("connector", "week").aggregate(users=t.user_id.nunique()).execute()
        return {
            (row.connector, row.week.date() if hasattr(row.week, "date") else row.week): int(
                row.users
            )
            for row in rows.itertuples(index=False)
        }

    return RememberedWeeks(count)
