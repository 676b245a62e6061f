"""A store read for a check: its rollups (of the connectors asked), files, rejects and
segment index copied into a local session at once, holding the store file only while
copying, so a reader sees one whole publish and never half of one.

This is the whole of what a check, a history, a forecast, a fix plan or the dashboard reads
of a store: small tables, through DuckDB's own API (no engine, no Ibis). Writing a store
(ingest, forget, prune) is `store.py`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .errors import InputError
from .metrics.local import NAMES, SCHEMAS, Rollups, raw_name
from .metrics.model import InputQuality, RejectSample
from .schema import REJECT_REASONS
from .waiting import StillHeld, lock_holder, retry_while_held

SCHEMA_VERSION = 2  # the store layout this connector-ga reads and writes
ALIAS = "store"
SAMPLES = 10


def segments_dir(path: str | Path) -> Path:
    """Where a store's Parquet segments live: beside its DuckDB file."""
    path = Path(path)
    return path.with_name(path.name + ".segments")


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def attach_waiting(execute: Callable[[str], object], path: Path, *, read_only: bool) -> None:
    """Attach the store file, waiting (as the policy says) while another process has it
    open in a way that excludes us — in practice a publish, which takes milliseconds."""
    mode = " (READ_ONLY)" if read_only else ""
    statement = f"ATTACH {quoted(str(path))} AS {ALIAS}{mode}"
    try:
        retry_while_held(
            lambda: execute(statement),
            lambda exc: lock_holder(str(exc)) if isinstance(exc, duckdb.Error) else None,
        )
    except StillHeld as busy:
        raise InputError(
            f"{path}: still held by {busy.holder} after waiting {busy.waited:.0f} s; "
            "try again when it is done, or wait longer with --wait SECONDS"
        ) from None
    except duckdb.Error as exc:
        raise InputError(f"{path}: not a connector-ga store ({first_line(exc)})") from None


@dataclass
class Snapshot:
    """A store as of its last publish, in a local session: the rollups (`rollup_<name>`)
    and `cga_files`, `cga_rejects`, `cga_segments` (path, connector, day)."""

    path: Path
    session: duckdb.DuckDBPyConnection
    quality: InputQuality
    version: int  # the store's version (publishes seen) when copied

    def rollups(self, unattributed_5xx: str) -> Rollups:
        return Rollups(self.session, unattributed_5xx)

    def segment_files(self, first: dt.date, last: dt.date) -> list[str]:
        """The segment files holding rows of the days in [first, last]."""
        folder = segments_dir(self.path)
        rows = self.session.execute(
            "SELECT DISTINCT path FROM cga_segments WHERE day BETWEEN ? AND ? ORDER BY path",
            [first, last],
        ).fetchall()
        return [str(folder / p) for (p,) in rows]


def snapshot(path: str | Path, connectors: Sequence[str] | None = None) -> Snapshot:
    """Copy the rollups (of the named connectors) and the data quality of a store into a
    local session, holding the store file only while copying."""
    path = Path(path)
    if not path.exists():
        raise InputError(
            f"{path}: no store here; run `connector-ga ingest FILES` first or pass --telemetry"
        )
    session = Rollups.session()
    try:
        version = _copy(session, path, connectors)
        if version is None:  # an older layout: brought up to this one first, then copied
            from .store import Store

            Store.open(path).close()
            version = _copy(session, path, connectors)
    except BaseException:
        session.close()
        raise
    return Snapshot(path, session, quality_of(session), version or 0)


def _copy(
    session: duckdb.DuckDBPyConnection, path: Path, connectors: Sequence[str] | None
) -> int | None:
    """The copy itself; None (nothing copied) when the store needs an upgrade."""
    attach_waiting(session.execute, path, read_only=True)
    try:
        tables = {
            name
            for (name,) in session.execute(
                f"SELECT table_name FROM duckdb_tables() WHERE database_name = '{ALIAS}'"
            ).fetchall()
        }
        if "meta" not in tables:
            raise InputError(f"{path}: not a connector-ga store (no meta table)")
        meta = dict(session.execute(f"SELECT key, value FROM {ALIAS}.meta").fetchall())
        schema = int(meta.get("schema_version", "0"))
        if schema > SCHEMA_VERSION:
            raise InputError(
                f"{path}: store schema version {schema} is newer than this connector-ga "
                f"understands ({SCHEMA_VERSION}); upgrade connector-ga"
            )
        if schema < SCHEMA_VERSION:
            return None
        where, params = "", []
        if connectors:
            where, params = " WHERE list_contains(?, connector)", [list(connectors)]
        for name in NAMES:
            columns = ", ".join(SCHEMAS[name])
            session.execute(
                f"INSERT INTO {raw_name(name)} SELECT {columns} FROM {ALIAS}.rollup_{name}" + where,
                params,
            )
        for name in ("files", "rejects"):
            session.execute(f"CREATE TABLE cga_{name} AS SELECT * FROM {ALIAS}.{name}")
        session.execute(
            f"CREATE TABLE cga_segments AS SELECT path, connector, day, ingest "
            f"FROM {ALIAS}.segments{where}",
            params,
        )
        return int(meta.get("version", "0"))
    finally:
        session.execute(f"DETACH {ALIAS}")  # the store file is free again


def quality_of(session: duckdb.DuckDBPyConnection) -> InputQuality:
    """The data quality of everything ingested (the session's `cga_files` and
    `cga_rejects`): rows read, rejected (by reason and file), duplicates, and the first
    rejected rows with file and line."""
    files = session.execute(
        "SELECT path, format, rows, rejected, duplicates FROM cga_files ORDER BY ingested_at"
    ).fetchall()
    quality = InputQuality(
        files=len(files),
        rows=sum(int(f[2]) for f in files),
        rejected_rows=sum(int(f[3]) for f in files),
        duplicate_rows=sum(int(f[4]) for f in files),
        # The formats the files were read as: a data-quality hint names their fields.
        sources={f[1] for f in files} or {"store"},
    )
    quality.rejects_by_reason = {
        reason: int(n)
        for reason, n in session.execute(
            "SELECT reason, count(*) FROM cga_rejects GROUP BY 1 ORDER BY 1"
        ).fetchall()
    }
    order = {f[0]: i for i, f in enumerate(files)}
    by_file = session.execute("SELECT path, count(*) FROM cga_rejects GROUP BY 1").fetchall()
    quality.rejects_by_file = {
        p: int(n) for p, n in sorted(by_file, key=lambda r: (order.get(r[0], 0), r[0]))
    }
    quality.samples = [
        RejectSample(
            file=p,
            line=int(line) if line is not None else None,
            unit=unit,
            reason=REJECT_REASONS.get(reason, reason),
            value=value if isinstance(value, str) else None,
        )
        for p, line, unit, reason, value in session.execute(
            "SELECT path, line, unit, reason, value FROM cga_rejects "
            f"ORDER BY path, line LIMIT {SAMPLES}"
        ).fetchall()
    ]
    return quality
