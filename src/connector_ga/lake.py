"""A store exported for a cluster, and read back on either engine.

`store export DIR` writes the pseudonymised requests and the rollups as Hive-partitioned
Parquet, the layout Spark and DuckDB both read:

    DIR/manifest.json                       schema, salt id, store version, days, row counts
    DIR/requests/connector=…/day=…/*.parquet   the canonical columns, UTC microsecond times
    DIR/daily|operations|connection_operations/connector=…/day=…/*.parquet
    DIR/weekly_users/connector=…/week=…/*.parquet
    DIR/files.parquet, DIR/rejects.parquet  what was ingested and rejected (data quality)

`check -t DIR` (any engine) reads the rollups into the local session, as a check from the
store does, so the figures are the store's; on Spark they are read as a handful of jobs at
once (one per table), brought back as Arrow. A watch's last days read their partitions
alone. The export is written beside DIR and renamed into place: a reader never sees half
of one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import ibis
from ibis.backends import BaseBackend

from . import engine, rollups
from .errors import InputError
from .metrics.local import NAMES, Rollups, fill
from .metrics.model import InputQuality
from .snapshot import SCHEMA_VERSION, Snapshot, quality_of, quoted, snapshot
from .store import SEGMENT_COLUMNS, Store, lock_path
from .waiting import exclusive_lock

SCHEMA = "connector-ga/export/v1"
MANIFEST = "manifest.json"
# table -> its partition columns, in folder order
PARTITIONS = {
    "requests": ("connector", "day"),
    "daily": ("connector", "day"),
    "operations": ("connector", "day"),
    "connection_operations": ("connector", "day"),
    "weekly_users": ("connector", "week"),
}


def columns_of(name: str) -> dict[str, str]:
    """A table's columns and their types (partition columns included), as Ibis types."""
    sql = SEGMENT_COLUMNS if name == "requests" else rollups.SCHEMAS[name]
    return {column: rollups.SQL_TYPES[kind] for column, kind in sql.items()}


# ---- writing -----------------------------------------------------------------------------


def export(store_path: str | Path, out: str | Path, *, overwrite: bool = False) -> dict:
    """Write the store as Hive-partitioned Parquet into `out`; returns the manifest."""
    store_path, out = Path(store_path), Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise InputError(f"{out}: exists and is not empty; pass --overwrite to replace it")
    if not store_path.exists():
        raise InputError(f"{store_path}: no store here; run `connector-ga ingest FILES` first")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial-{uuid.uuid4().hex[:8]}")
    # Writers wait meanwhile: no ingest or prune changes the files being copied.
    with exclusive_lock(lock_path(store_path)):
        snap = snapshot(store_path)
        try:
            with Store.open(store_path) as store:
                salt, version = store.salt, store.version()
                files = store.segment_files()
            manifest = _write(snap, files, partial, salt, version)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        finally:
            snap.session.close()
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    return manifest


def _write(snap: Snapshot, files: list[str], folder: Path, salt: str, version: int):
    """The snapshot's tables and the segment files, written by its local session."""
    con = snap.session
    folder.mkdir(parents=True)
    counts: dict[str, int] = {}
    listed = ", ".join(quoted(f) for f in files)
    segments = ", ".join(SEGMENT_COLUMNS)
    sources = {name: f"SELECT {', '.join(columns_of(name))} FROM rollup_{name}" for name in NAMES}
    if files:
        sources["requests"] = (
            f"SELECT {segments} FROM read_parquet([{listed}], hive_partitioning = false)"
        )
    for name, query in sources.items():
        con.execute(f"CREATE TEMP TABLE cga_export_{name} AS {query}")
        (counts[name],) = con.execute(f"SELECT count(*) FROM cga_export_{name}").fetchone()
        if counts[name]:
            partitions = ", ".join(PARTITIONS[name])
            con.execute(
                f"COPY cga_export_{name} TO {quoted(str(folder / name))} (FORMAT PARQUET, "
                f"PARTITION_BY ({partitions}), FILENAME_PATTERN 'part-{{i}}')"
            )
        con.execute(f"DROP TABLE cga_export_{name}")
    for name in ("files", "rejects"):
        con.execute(
            f"COPY cga_{name} TO {quoted(str(folder / f'{name}.parquet'))} (FORMAT PARQUET)"
        )
    days = con.execute(
        "SELECT connector, min(day), max(day) FROM rollup_daily GROUP BY 1 ORDER BY 1"
    ).fetchall()
    manifest = {
        "schema": SCHEMA,
        "store_schema_version": SCHEMA_VERSION,
        "store_version": version,
        # Which store's pseudonyms these are (the salt itself stays in the store).
        "salt_id": hashlib.sha256(salt.encode()).hexdigest()[:16],
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "connectors": {
            connector: {"first_day": str(first), "last_day": str(last)}
            for connector, first, last in days
        },
        "tables": {
            name: {"rows": counts.get(name, 0), "partitioning": list(PARTITIONS[name])}
            for name in PARTITIONS
        },
        "timestamps": "UTC, microseconds",
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


# ---- reading -----------------------------------------------------------------------------


def is_export(path: str) -> bool:
    """Whether a local path is a folder `store export` wrote."""
    manifest = Path(path) / MANIFEST
    if not manifest.is_file():
        return False
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("schema") == SCHEMA
    except (OSError, ValueError):
        return False


def read_manifest(con: BaseBackend, root: str) -> dict:
    try:
        text = engine.read_text(con, f"{root.rstrip('/')}/{MANIFEST}")
        manifest = json.loads(text)
    except (OSError, ValueError) as exc:
        raise InputError(f"{root}: not a connector-ga export ({MANIFEST}: {exc})") from None
    except engine.engine_errors() as exc:
        raise InputError(f"{root}: not a connector-ga export ({engine.error_line(exc)})") from None
    if manifest.get("schema") != SCHEMA:
        raise InputError(f"{root}/{MANIFEST}: schema {manifest.get('schema')!r}, expected {SCHEMA}")
    return manifest


def _query(con: BaseBackend, root: str, name: str, manifest: dict, connectors) -> str | None:
    """A rollup of the export as the engine reads it (None: the export has none of it)."""
    if not manifest["tables"].get(name, {}).get("rows"):
        return None
    t = engine.read_hive_parquet(
        con, f"{root.rstrip('/')}/{name}", columns_of(name), PARTITIONS[name]
    )
    if connectors:
        t = t.filter(t.connector.isin(list(connectors)))
    return str(con.compile(t))


def lake(
    con: BaseBackend, root: str, connectors: list[str] | None = None
) -> tuple[duckdb.DuckDBPyConnection, InputQuality]:
    """An export read in place, on DuckDB or Spark: its rollups (of the named connectors)
    and what was ingested (files, rejects), brought into a local session — on Spark as one
    job per table, all at once. Returns the session (holding `rollup_<name>`, `cga_files`,
    `cga_rejects`) and the data quality. A local path is
    read as an absolute one: a Spark Connect server resolves a relative path against its
    own folder, not the user's."""
    if "://" not in root:
        root = os.path.abspath(root)
    manifest = read_manifest(con, root)
    queries = {name: _query(con, root, name, manifest, connectors) for name in NAMES}
    for name in ("files", "rejects"):
        t = engine.read_single_parquet(con, f"{root.rstrip('/')}/{name}.parquet")
        queries[name] = str(con.compile(t))
    wanted = {name: q for name, q in queries.items() if q is not None}
    workers = len(wanted) if engine.is_spark(con) else 1  # Spark runs jobs side by side
    with ThreadPoolExecutor(max_workers=workers) as pool:
        fetched = dict(
            zip(
                wanted, pool.map(lambda q: engine.fetch_arrow(con, q), wanted.values()), strict=True
            )
        )
    session = Rollups.session()
    for name in NAMES:
        if name in fetched:
            fill(session, name, fetched[name])
    for name in ("files", "rejects"):
        session.register("cga_incoming", fetched[name])
        session.execute(f"CREATE TABLE cga_{name} AS SELECT * FROM cga_incoming")
        session.unregister("cga_incoming")
    return session, quality_of(session)


def requests_of_days(
    con: BaseBackend, root: str, connectors: list[str] | None, first: dt.date, last: dt.date
) -> ibis.Table:
    """The requests of these days: their partitions alone are read."""
    if "://" not in root:
        root = os.path.abspath(root)
    manifest = read_manifest(con, root)
    days = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
    columns = columns_of("requests")
    r = None
    if manifest["tables"]["requests"]["rows"]:
        folder = f"{root.rstrip('/')}/requests"
        r = engine.read_hive_parquet(
            con, folder, columns, PARTITIONS["requests"], only=("day", days)
        )
    if r is None:
        r = ibis.memtable(ibis.schema(columns).to_pyarrow().empty_table())
    if connectors:
        r = r.filter(r.connector.isin(connectors))
    return r
