"""A store exported for a cluster, and read back on either engine.

`store export DIR` writes the pseudonymised requests and the rollups as Hive-partitioned
Parquet, the layout Spark and DuckDB both read:

    DIR/manifest.json                       schema, salt id, store version, days, row counts
    DIR/requests/connector=…/day=…/*.parquet   the canonical columns, UTC microsecond times
    DIR/daily|operations|connection_operations/connector=…/day=…/*.parquet
    DIR/weekly_users/connector=…/week=…/*.parquet
    DIR/files.parquet, DIR/rejects.parquet  what was ingested and rejected (data quality)

`check -t DIR` (any engine) reads the rollups, as a check from the store does, so the
figures are the store's; a day filter reaches the partitions, so a watch's three days read
three days. The export is written beside DIR and renamed into place: a reader never sees
half of one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

import ibis
from ibis.backends import BaseBackend

from . import engine, rollups
from .attribution import attribute
from .errors import InputError
from .metrics.compute import Aggregates, aggregates_of
from .metrics.model import InputQuality
from .policy import Policy
from .store import (
    SCHEMA_VERSION,
    SEGMENT_COLUMNS,
    Store,
    lock_path,
    quality_of,
    requests_of,
    snapshot,
)
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


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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
            manifest = _write(snap.con, snap, files, partial, salt, version)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        finally:
            snap.con.disconnect()
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    return manifest


def _write(con: BaseBackend, snap, files: list[str], folder: Path, salt: str, version: int):
    folder.mkdir(parents=True)
    counts: dict[str, int] = {}
    sources = {"requests": requests_of(con, files)}
    sources.update(snap.tables)
    for name, table in sources.items():
        counts[name] = int(table.count().execute())
        if counts[name]:
            name_in_sql = f"cga_export_{name}"
            con.create_table(name_in_sql, obj=table.select(*columns_of(name)), temp=True)
            partitions = ", ".join(PARTITIONS[name])
            con.raw_sql(
                f"COPY {name_in_sql} TO {_quoted(str(folder / name))} (FORMAT PARQUET, "
                f"PARTITION_BY ({partitions}), FILENAME_PATTERN 'part-{{i}}')"
            )
    for name in ("files", "rejects"):
        con.raw_sql(
            f"COPY cga_{name} TO {_quoted(str(folder / f'{name}.parquet'))} (FORMAT PARQUET)"
        )
    days = (
        snap.tables["daily"]
        .group_by("connector")
        .aggregate(first=snap.tables["daily"].day.min(), last=snap.tables["daily"].day.max())
        .execute()
    )
    manifest = {
        "schema": SCHEMA,
        "store_schema_version": SCHEMA_VERSION,
        "store_version": version,
        # Which store's pseudonyms these are (the salt itself stays in the store).
        "salt_id": hashlib.sha256(salt.encode()).hexdigest()[:16],
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "connectors": {
            row.connector: {"first_day": str(_day(row.first)), "last_day": str(_day(row.last))}
            for row in days.itertuples(index=False)
        },
        "tables": {
            name: {"rows": counts.get(name, 0), "partitioning": list(PARTITIONS[name])}
            for name in PARTITIONS
        },
        "timestamps": "UTC, microseconds",
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _day(value) -> dt.date:
    return value.date() if hasattr(value, "date") else value


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


def _empty(columns: dict[str, str]) -> ibis.Table:
    """A table of no rows with these columns' types (Arrow keeps them; empty lists would
    be read as floats)."""
    return ibis.memtable(ibis.schema(columns).to_pyarrow().empty_table())


def _table(con: BaseBackend, root: str, name: str, manifest: dict) -> ibis.Table:
    columns = columns_of(name)
    if not manifest["tables"].get(name, {}).get("rows"):
        return _empty(columns)
    return engine.read_hive_parquet(con, f"{root.rstrip('/')}/{name}", columns, PARTITIONS[name])


def lake(
    con: BaseBackend, root: str, policy: Policy, connectors: list[str] | None = None
) -> tuple[Aggregates, InputQuality]:
    """An export read in place, on DuckDB or Spark: its rollups (of the named connectors)
    as a check's aggregates. A local path is read as an absolute one: a Spark Connect
    server resolves a relative path against its own folder, not the user's."""
    if "://" not in root:
        root = os.path.abspath(root)
    manifest = read_manifest(con, root)
    tables = {name: _table(con, root, name, manifest) for name in rollups.NAMES}
    if connectors:
        tables = {n: t.filter(t.connector.isin(connectors)) for n, t in tables.items()}
    unattributed = policy.attribution.unattributed_5xx
    tables = engine.local_tables(con, tables)

    def between(first: dt.date, last: dt.date) -> ibis.Table:
        """The requests of these days: their partitions alone are read."""
        days = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
        columns = columns_of("requests")
        r = None
        if manifest["tables"]["requests"]["rows"]:
            folder = f"{root.rstrip('/')}/requests"
            r = engine.read_hive_parquet(
                con, folder, columns, PARTITIONS["requests"], only=("day", days)
            )
        if r is None:
            r = _empty(columns)
        if connectors:
            r = r.filter(r.connector.isin(connectors))
        return attribute(r, unattributed)

    aggs = aggregates_of(tables, unattributed, between)
    return aggs, _quality(con, root)


def _quality(con: BaseBackend, root: str) -> InputQuality:
    files = engine.read_single_parquet(con, f"{root.rstrip('/')}/files.parquet").execute()
    rejects = engine.read_single_parquet(con, f"{root.rstrip('/')}/rejects.parquet")
    # Counted three ways: on Spark, one job brings the (small) table here first.
    rejects = engine.local_tables(con, {"rejects": rejects})["rejects"]
    return quality_of(files.sort_values("ingested_at"), rejects)
