"""Opening an engine, and the only place that knows which one it is.

Everything else works on Ibis expressions. DuckDB (embedded) is the default; the file
readers here are the thin per-engine part of reading telemetry in place.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import ibis
from ibis.backends import BaseBackend

_names = itertools.count()


def connect(database: str | None = None, *, read_only: bool = False) -> BaseBackend:
    """An embedded DuckDB connection whose session time zone is UTC."""
    kwargs = {"read_only": True} if read_only else {}
    con = ibis.duckdb.connect(database or ":memory:", **kwargs)
    con.raw_sql("SET TimeZone = 'UTC'")
    return con


def engine_errors() -> tuple[type[BaseException], ...]:
    """Exceptions an engine raises on unreadable input."""
    import duckdb

    return (duckdb.Error, ibis.common.exceptions.IbisError)


def _paths(files: Sequence[str]) -> list[str]:
    return [str(f) for f in files]


def read_csv(con: BaseBackend, files: Sequence[str]) -> ibis.Table:
    """CSV files as text columns plus `_file`; types are checked later, row by row."""
    return con.read_csv(
        _paths(files),
        table_name=f"cga_csv_{next(_names)}",
        all_varchar=True,
        header=True,
        union_by_name=True,
        filename="_file",
    )


def json_columns(con: BaseBackend, files: Sequence[str]) -> list[str]:
    """The keys found in JSON files (lines or an array of objects), sampled by the engine."""
    table = con.read_json(
        _paths(files),
        table_name=f"cga_jsonkeys_{next(_names)}",
        format="auto",
        union_by_name=True,
        sample_size=-1,
    )
    return list(table.columns)


def read_json(con: BaseBackend, files: Sequence[str], columns: Sequence[str]) -> ibis.Table:
    """JSON read with every key as text, so a wrong type is a rejected row, not a crash."""
    return con.read_json(
        _paths(files),
        table_name=f"cga_json_{next(_names)}",
        format="auto",
        columns={name: "VARCHAR" for name in columns},
        filename="_file",
    )


def read_parquet(con: BaseBackend, files: Sequence[str]) -> ibis.Table:
    return con.read_parquet(
        _paths(files),
        table_name=f"cga_parquet_{next(_names)}",
        union_by_name=True,
        filename="_file",
    )


def materialize(con: BaseBackend, expr: ibis.Table, prefix: str = "cga_tmp") -> ibis.Table:
    """Compute an (aggregated, small) expression once and keep it for several queries."""
    return con.create_table(f"{prefix}_{next(_names)}", obj=expr, temp=True)


def attach(con: BaseBackend, database: str, alias: str, *, read_only: bool = False) -> None:
    """Attach a DuckDB file to an in-memory session (files are read in the session; only
    what is inserted reaches the attached file)."""
    mode = " (READ_ONLY)" if read_only else ""
    path = database.replace("'", "''")
    con.raw_sql(f"ATTACH '{path}' AS {alias}{mode}")


def begin(con: BaseBackend) -> None:
    con.raw_sql("BEGIN TRANSACTION")


def commit(con: BaseBackend) -> None:
    con.raw_sql("COMMIT")


def rollback(con: BaseBackend) -> None:
    con.raw_sql("ROLLBACK")


def tables_of(con: BaseBackend, database: str) -> set[str]:
    """Names of the tables in an attached database."""
    name = database.replace("'", "''")
    rows = con.raw_sql(
        f"SELECT table_name FROM duckdb_tables() WHERE database_name = '{name}'"
    ).fetchall()
    return {row[0] for row in rows}
