"""The rollups as the evaluation reads them: four small tables held by a DuckDB session in
this process's memory, whatever engine read the requests (DuckDB, Spark) and wherever
they were kept (in place, a store, an export).

Every figure after the rollups is a query of this session (`rows`), so a check, a history,
a forecast, a fix plan and a watch cost what the rollups hold (days × connections), never
what the requests did. The session is DuckDB's own Python API, not Ibis: nothing here
compiles an expression, imports pandas or starts an engine.

The raw tables are the rollups as an ingest stores them (`rollup_<name>`, attributed with
the default rule); the views the evaluation reads apply the policy's attribution of
unattributed 5xx (`unattributed_5xx`):

- `daily`: requests per connector, day, connection, fault, status class (with `rows`,
  `has_user`, `unattributed`, `max_weight`, and `conn`, the connection as a number);
- `weekly_users`: distinct users per connector and ISO week (the ids);
- `operations`: requests per connector, day, operation, fault, status, error reason;
- `connection_operations`: connector faults per connector, day, connection, operation.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Sequence
from typing import Any

import duckdb

from ..schema import DEFAULT_UNATTRIBUTED

NAMES = ("daily", "weekly_users", "operations", "connection_operations")

# The rollups' columns and SQL types: the store's tables, an export's files, the pass's output.
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

_names = itertools.count()


def raw_name(name: str) -> str:
    """The session's table of a rollup as stored (default attribution)."""
    return f"rollup_{name}"


def create_statement(name: str, table: str | None = None) -> str:
    columns = ", ".join(f"{c} {kind}" for c, kind in SCHEMAS[name].items())
    return f"CREATE TABLE {table or raw_name(name)} ({columns})"


def _fault(unattributed_5xx: str) -> str:
    if unattributed_5xx == DEFAULT_UNATTRIBUTED:
        return "fault"
    return f"CASE WHEN unattributed THEN '{_plain(unattributed_5xx)}' ELSE fault END"


def _plain(word: str) -> str:
    if not word.replace("-", "").isalnum():  # a policy value, checked there: never SQL
        raise ValueError(f"not a plain word: {word!r}")
    return word


def as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


class Rollups:
    """A session holding the rollups of some connectors, read under one attribution.

    Build it with `Rollups.session()` (an empty in-memory session whose `rollup_<name>`
    tables the caller fills, then `ready()`) or `Rollups.from_arrow()`. Queries go through
    `rows()`, one at a time (a dashboard serves pages from several threads)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, unattributed_5xx: str) -> None:
        self.con = con
        self.unattributed_5xx = unattributed_5xx
        self._lock = threading.RLock()
        self._owners: Any = None
        self._names: list[str] | None = None
        fault = _fault(unattributed_5xx)
        # Each connection as a number (`conn`): the SLO's and MAC's running sums partition by
        # it, and a store's pseudonyms are 64 characters long.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE connections AS SELECT connector, connection_id, "
            "row_number() OVER (ORDER BY connector, connection_id) AS conn FROM "
            "(SELECT DISTINCT connector, connection_id FROM rollup_daily "
            "WHERE connection_id IS NOT NULL)"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE daily AS SELECT connector, day, connection_id, "
            f"conn, {fault} AS fault, status_class, unattributed, has_user, requests, rows, "
            "max_weight FROM rollup_daily LEFT JOIN connections USING (connector, connection_id)"
        )
        con.execute("CREATE OR REPLACE TEMP VIEW weekly_users AS SELECT * FROM rollup_weekly_users")
        con.execute(
            "CREATE OR REPLACE TEMP VIEW operations AS SELECT connector, day, operation, "
            f"{fault} AS fault, status, error_reason, requests FROM rollup_operations"
        )
        # Under a policy that counts unattributed 5xx as backend faults, those are no
        # connector faults of a connection's operation.
        keep = "" if unattributed_5xx == DEFAULT_UNATTRIBUTED else " WHERE NOT unattributed"
        con.execute(
            "CREATE OR REPLACE TEMP VIEW connection_operations AS SELECT connector, day, "
            f"connection_id, operation, connector_faults FROM rollup_connection_operations{keep}"
        )
        from .series import RememberedWeeks, spans  # the series read this session

        self.spans = spans(self)
        self.weekly_users = RememberedWeeks(self._count_weeks)

    # ---- building ------------------------------------------------------------------------

    @staticmethod
    def session() -> duckdb.DuckDBPyConnection:
        """An empty in-memory session with the four rollup tables, in UTC."""
        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")
        for name in NAMES:
            con.execute(create_statement(name))
        return con

    @classmethod
    def from_arrow(cls, tables: dict[str, Any], unattributed_5xx: str) -> Rollups:
        """Rollups handed over as Arrow tables (from Spark, or from a DuckDB pass)."""
        con = cls.session()
        for name in NAMES:
            fill(con, name, tables[name])
        return cls(con, unattributed_5xx)

    # ---- reading -------------------------------------------------------------------------

    def rows(self, query: str, params: Sequence | dict | None = None) -> list[tuple]:
        """A query's rows as tuples of Python values (dates, ints, strings, None)."""
        with self._lock:
            return self.con.execute(query, params or []).fetchall()

    def columns(self, query: str, params: Sequence | dict | None = None) -> dict[str, Any]:
        """A query's columns as NumPy arrays (no Python object per value)."""
        with self._lock:
            return self.con.execute(query, params or []).fetchnumpy()

    def connection_owners(self) -> Any:
        """For each connection number (`conn`), the index of its connector in
        `connector_names()` (index 0 stands for no connection)."""
        if self._owners is None:
            import numpy as np

            rows = self.rows("SELECT conn, connector FROM connections ORDER BY conn")
            names = self.connector_names()
            index = {name: i for i, name in enumerate(names)}
            owners = np.zeros(len(rows) + 1, dtype=np.int64)
            for conn, connector in rows:
                owners[conn] = index[connector]
            self._owners = owners
        return self._owners

    def connector_names(self) -> list[str]:
        """Every connector with a connection, in order."""
        if self._names is None:
            self._names = [
                c for (c,) in self.rows("SELECT DISTINCT connector FROM connections ORDER BY 1")
            ]
        return self._names

    def register(self, data: Any) -> str:
        """A table of this session's (Arrow, or a dict of NumPy arrays): its name."""
        name = f"cga_local_{next(_names)}"
        with self._lock:
            self.con.register(name, data)
        return name

    def unregister(self, name: str) -> None:
        with self._lock:
            self.con.unregister(name)

    def close(self) -> None:
        self.con.close()

    @property
    def latest_day(self) -> dt.date | None:
        return max((s.last for s in self.spans.values()), default=None)

    def _count_weeks(
        self, names: Sequence[str], first: dt.date, last: dt.date
    ) -> dict[tuple[str, dt.date], int]:
        rows = self.rows(
            "SELECT connector, week, count(DISTINCT user_id) FROM weekly_users "
            "WHERE week BETWEEN ? AND ? AND list_contains(?, connector) GROUP BY ALL",
            [first, last, list(names)],
        )
        return {(c, as_date(w)): int(n) for c, w, n in rows}


def fill(con: duckdb.DuckDBPyConnection, name: str, data: Any) -> None:
    """Append a rollup's rows (Arrow, or any relation DuckDB can scan) to its table."""
    columns = ", ".join(SCHEMAS[name])
    con.register("cga_incoming", data)
    try:
        con.execute(f"INSERT INTO {raw_name(name)} SELECT {columns} FROM cga_incoming")
    finally:
        con.unregister("cga_incoming")
