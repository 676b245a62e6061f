"""The embedded store: one DuckDB file of small tables, beside immutable Parquet segments.

`.connector-ga/store.duckdb` holds the salt, the ingested files, the rejects, the request
ledger, the watch state and the rollups every figure is computed from (`rollups`); the
pseudonymised requests themselves are Parquet files under
`store.duckdb.segments/connector=…/day=…/`, each written once and never changed.

Readers never wait for an ingest. An ingest does its work — reading, checking,
pseudonymising, deduplicating, writing new segment files, computing the rollups of its new
rows — without touching the DuckDB file, then publishes it in one short transaction that
lists the new files and merges the rollups of the days it touched. A reader opens the file
only to copy what it needs (`snapshot`) and sees the state of the last publish, never half
of one; at worst it waits out a publish, which takes milliseconds. Writers take turns: an
ingest or a prune holds `store.duckdb.lock` for its whole run; a second one waits (bounded
by --wait) and names the holder. An interrupted ingest leaves the store as it was: what it
wrote before publishing is in a staging folder the next writer removes.

Raw user and connection ids never reach a file: they are replaced by a salted SHA-256 (the
salt is kept in the store) before anything is written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ibis
from ibis.backends import BaseBackend

from . import engine, rollups
from .config import FieldsSection
from .errors import InputError
from .locations import DEFAULT_STORE
from .metrics.model import InputQuality, RejectSample
from .policy import Policy, load_policy
from .rollups import input_quality
from .schema import CANONICAL_COLUMNS, REJECT_REASONS
from .snapshot import ALIAS, SCHEMA_VERSION, attach_waiting, segments_dir
from .snapshot import quoted as _quoted
from .sources import Telemetry, read_telemetry
from .sources.azure_blob import is_blob_url
from .sources.files import discover, display_name
from .waiting import exclusive_lock

STAGING = ".staging-"
# A repeated request_id is looked for in the stored days it can fall in: its own UTC day
# and the day either side (a request logged twice around midnight).
DEDUPE_DAYS = 1

SEGMENT_COLUMNS = {
    "time": "TIMESTAMPTZ",
    "status": "BIGINT",
    "connector": "VARCHAR",
    "operation": "VARCHAR",
    "connection_id": "VARCHAR",
    "user_id": "VARCHAR",
    "backend_status": "BIGINT",
    "error_source": "VARCHAR",
    "error_reason": "VARCHAR",
    "fault": "VARCHAR",
    "latency_ms": "DOUBLE",
    "cloud": "VARCHAR",
    "request_id": "VARCHAR",
    "weight": "BIGINT",
    "file_hash": "VARCHAR",
    "day": "DATE",
}

# What each segment file was when published: `store verify` checks the disk against it.
SEGMENT_FILES_DDL = """CREATE TABLE IF NOT EXISTS store.segment_files (
    path VARCHAR PRIMARY KEY, bytes BIGINT, rows BIGINT, checksum VARCHAR, sources VARCHAR)"""
# Per remote source (`ingest --from azure`: workspace or resource, table, filter), the end
# of the last complete slice stored: where the next ingest from it resumes.
SOURCES_DDL = """CREATE TABLE IF NOT EXISTS store.sources (
    source VARCHAR PRIMARY KEY, covered_until TIMESTAMPTZ, updated_at TIMESTAMPTZ)"""
# The blobs ingested from storage (ACCOUNT/CONTAINER/NAME), by the ETag read: a blob listed
# with the same ETag again is not downloaded again.
BLOBS_DDL = """CREATE TABLE IF NOT EXISTS store.blobs (
    blob VARCHAR PRIMARY KEY, etag VARCHAR, hash VARCHAR, updated_at TIMESTAMPTZ)"""

DDL = [
    "CREATE TABLE IF NOT EXISTS store.meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS store.files (
        hash VARCHAR PRIMARY KEY, path VARCHAR, format VARCHAR, ingested_at TIMESTAMPTZ,
        rows BIGINT, accepted BIGINT, rejected BIGINT, duplicates BIGINT)""",
    """CREATE TABLE IF NOT EXISTS store.rejects (
        file_hash VARCHAR, path VARCHAR, line BIGINT, unit VARCHAR, reason VARCHAR,
        value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS store.segments (
        path VARCHAR, connector VARCHAR, day DATE, rows BIGINT, ingest VARCHAR)""",
    SEGMENT_FILES_DDL,
    """CREATE TABLE IF NOT EXISTS store.spans (
        connector VARCHAR PRIMARY KEY, first TIMESTAMPTZ, last TIMESTAMPTZ, rows BIGINT)""",
    """CREATE TABLE IF NOT EXISTS store.requests_ledger (
        id BIGINT, connector VARCHAR, state VARCHAR, drafted_at TIMESTAMPTZ,
        sent_at TIMESTAMPTZ, verdict VARCHAR, evidence_hash VARCHAR, message_path VARCHAR,
        as_of DATE, result_hash VARCHAR, report_path VARCHAR, result_path VARCHAR,
        recipient VARCHAR, subject VARCHAR, message_id VARCHAR, report_hash VARCHAR)""",
    SOURCES_DDL,
    *(
        f"CREATE TABLE IF NOT EXISTS store.rollup_{name} ("
        + ", ".join(f"{column} {kind}" for column, kind in rollups.SCHEMAS[name].items())
        + ")"
        for name in rollups.NAMES
    ),
]


@dataclass
class FileReport:
    path: str
    hash: str
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    skipped: bool = False  # same content already ingested
    unchanged_blob: bool = False  # a blob listed with the ETag already ingested: not downloaded


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)

    @property
    def inserted(self) -> int:
        return sum(f.accepted - f.duplicates for f in self.files if not f.skipped)


def file_hash(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def lock_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".lock")


class Store:
    """An open store file. Use `Store.open(path)`, briefly: a reader holds the file only
    while it copies what it needs, a writer only while it publishes."""

    def __init__(self, path: Path, con: BaseBackend, salt: str) -> None:
        self.path = path
        self.con = con
        self.salt = salt

    # ---- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: str | Path = DEFAULT_STORE, *, create: bool = False, write: bool = False
    ) -> Store:
        """Open a store (read-only unless `write`); `create` makes it when missing. A store
        an older connector-ga wrote is brought up to this version first."""
        path = Path(path)
        write = write or create
        if not path.exists():
            if not create:
                raise InputError(
                    f"{path}: no store here; run `connector-ga ingest FILES` first, "
                    "or name an existing store with --store PATH"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        con = engine.connect()
        try:
            store = cls._open_on(con, path, create, write)
        except BaseException:
            con.disconnect()
            raise
        return store

    @classmethod
    def _open_on(cls, con: BaseBackend, path: Path, create: bool, write: bool) -> Store:
        _attach(con, path, read_only=not write)
        tables = engine.tables_of(con, ALIAS)
        if "meta" not in tables:
            if not create or any(tables):
                raise InputError(f"{path}: not a connector-ga store (no meta table)")
            engine.begin(con)
            for statement in DDL:
                con.raw_sql(statement)
            salt = secrets.token_hex(32)
            con.insert(
                "meta",
                ibis.memtable(
                    {
                        "key": ["schema_version", "salt", "version"],
                        "value": [str(SCHEMA_VERSION), salt, "0"],
                    }
                ),
                database=ALIAS,
            )
            engine.commit(con)
        meta = dict(con.table("meta", database=ALIAS).execute().itertuples(index=False))
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise InputError(
                f"{path}: store schema version {version} is newer than this connector-ga "
                f"understands ({SCHEMA_VERSION}); upgrade connector-ga"
            )
        store = cls(path, con, meta["salt"])
        if version < SCHEMA_VERSION:
            store._upgrade(write)
        return store

    def close(self) -> None:
        self.con.disconnect()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def table(self, name: str) -> ibis.Table:
        return self.con.table(name, database=ALIAS)

    @property
    def segments(self) -> Path:
        return segments_dir(self.path)

    def version(self) -> int:
        """How many publishes the store has seen: a reader's cache key."""
        meta = dict(self.table("meta").execute().itertuples(index=False))
        return int(meta.get("version", "0"))

    # ---- the first store layout --------------------------------------------------------

    def _upgrade(self, write: bool) -> None:
        """Version 1 kept the requests in the DuckDB file: move them into segments, build
        their rollups, in one transaction (under the writers' lock)."""
        path = self.path
        self.con.disconnect()
        with exclusive_lock(lock_path(path)):
            con = engine.connect()
            _attach(con, path, read_only=False)
            meta = dict(con.table("meta", database=ALIAS).execute().itertuples(index=False))
            if int(meta.get("schema_version", "0")) < SCHEMA_VERSION:
                _upgrade_v1(con, path, meta["salt"])
            con.disconnect()
        self.con = engine.connect()
        _attach(self.con, path, read_only=not write)

    # ---- reading -------------------------------------------------------------------------

    def info(self) -> dict:
        """Connectors, time range, rows and rejects, and each ingested file."""
        s = self.table("spans").order_by("connector").execute()
        files = self.table("files").order_by("ingested_at").execute()
        sources = []
        if "sources" in engine.tables_of(self.con, ALIAS):
            sources = self.con.raw_sql(
                f"SELECT source, strftime(covered_until AT TIME ZONE 'UTC', "
                f"'%Y-%m-%dT%H:%M:%SZ') FROM {ALIAS}.sources ORDER BY source"
            ).fetchall()
        return {
            "store": str(self.path),
            "schema_version": SCHEMA_VERSION,
            "version": self.version(),
            "size_bytes": _size(self.path),
            "rows": int(s["rows"].sum()) if len(s) else 0,
            "rejects": int(self.table("rejects").count().execute()),
            "segments": int(self.table("segments").count().execute()),
            "connectors": [
                {
                    "connector": row.connector,
                    "rows": int(row.rows),
                    "first": str(row.first)[:19],
                    "last": str(row.last)[:19],
                }
                for row in s.itertuples()
            ],
            "files": [
                {
                    "path": row.path,
                    "hash": row.hash[:12],
                    "format": row.format,
                    "ingested_at": str(row.ingested_at)[:19],
                    "rows": int(row.rows),
                    "accepted": int(row.accepted),
                    "rejected": int(row.rejected),
                    "duplicates": int(row.duplicates),
                }
                for row in files.itertuples()
            ],
            # Remote sources (`ingest --from azure`): where the next ingest resumes.
            "sources": [{"source": name, "covered_until": until} for name, until in sources],
        }

    def segment_files(self, first: dt.date | None = None, last: dt.date | None = None):
        """The segment files (absolute paths) holding rows of the days in [first, last],
        oldest first; a file may hold other days too."""
        t = self.table("segments")
        if first is not None:
            t = t.filter(t.day >= first)
        if last is not None:
            t = t.filter(t.day <= last)
        rows = t.group_by("path").aggregate(first=t.day.min()).order_by(["first", "path"])
        return [str(self.segments / p) for p in rows.execute()["path"]]


def _size(path: Path) -> int:
    size = path.stat().st_size if path.exists() else 0
    folder = segments_dir(path)
    if folder.exists():
        size += sum(f.stat().st_size for f in folder.rglob("*.parquet"))
    return size


@contextlib.contextmanager
def writing(con: BaseBackend, store_path: Path):
    """The store file attached for writing and one transaction around the block: committed
    when it ends, rolled back if it raises, the file detached either way."""
    _attach(con, store_path, read_only=False)
    try:
        engine.begin(con)
        try:
            yield
            engine.commit(con)
        except BaseException:
            engine.rollback(con)
            raise
    finally:
        con.raw_sql(f"DETACH {ALIAS}")


def _attach(con: BaseBackend, path: Path, *, read_only: bool) -> None:
    """Attach the store file, waiting while another process holds it (`snapshot`)."""
    attach_waiting(con.raw_sql, path, read_only=read_only)


def requests_of(con: BaseBackend, files: Sequence[str]) -> ibis.Table:
    """Stored requests as a table of the canonical columns, `file_hash` and `day`."""
    name = f"cga_segments_{uuid.uuid4().hex[:12]}"
    if not files:  # typed in the session: an empty memtable loses its types on the way
        columns = ", ".join(f"CAST(NULL AS {kind}) AS {c}" for c, kind in SEGMENT_COLUMNS.items())
        con.raw_sql(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {columns} WHERE false")
        return con.table(name)
    paths = ", ".join(_quoted(f) for f in files)
    con.raw_sql(
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet([{paths}], "
        "hive_partitioning = false)"
    )
    return con.table(name)


# ---- the rollups of some requests, into the engine's session ------------------------------


def rolled_up_into(con: BaseBackend, requests: ibis.Table, prefix: str) -> None:
    """The four rollups of some stored requests (`rollups.roll_up`, the one pass) as temp
    tables of the engine's session, `<prefix>_<name>`: what a publish merges."""
    done = rollups.roll_up(con, requests)
    for name in rollups.NAMES:
        incoming = f"{prefix}_{name}_incoming"
        con.con.register(incoming, done.arrow(name))
        try:
            con.raw_sql(f"CREATE OR REPLACE TEMP TABLE {prefix}_{name} AS SELECT * FROM {incoming}")
        finally:
            con.con.unregister(incoming)
    done.session.close()


# ---- ingest ---------------------------------------------------------------------------------


def _staged_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.parquet"))


def _remove_staging(store_path: Path, listed: set[str] | None = None) -> None:
    """What an interrupted ingest staged or moved and never published (we hold the writers'
    lock: no ingest is running): staging folders, and segment folders the store does not
    list."""
    folder = segments_dir(store_path)
    if not folder.exists():
        return
    for leftover in folder.glob(STAGING + "*"):
        shutil.rmtree(leftover, ignore_errors=True)
    if listed is not None:
        for child in folder.iterdir():
            if child.is_dir() and child.name not in listed:
                shutil.rmtree(child, ignore_errors=True)


@dataclass
class _Known:
    """What an ingest needs of the store before its heavy work: read once, briefly."""

    salt: str
    hashes: set[str]
    segment_days: dict[tuple[str, dt.date], list[str]]  # (connector, day) -> segment files
    # Segment files a store written before `segment_files` does not describe yet (relative
    # path -> their rows in the index): recorded by this ingest's publish.
    unrecorded: dict[str, int] = field(default_factory=dict)


def _known(store_path: Path) -> _Known:
    with Store.open(store_path, create=True) as store:
        hashes = set(store.table("files").hash.execute())
        segments = store.table("segments")
        rows = segments.select("connector", "day", "path", "ingest", "rows").execute()
        days: dict[tuple[str, dt.date], list[str]] = {}
        for row in rows.itertuples(index=False):
            day = row.day.date() if hasattr(row.day, "date") else row.day
            days.setdefault((row.connector, day), []).append(str(store.segments / row.path))
        _remove_staging(store_path, set(rows["ingest"]))
        recorded = set(segment_records(store.con))
        unrecorded = {
            str(p): int(n)
            for p, n in rows.groupby("path")["rows"].sum().items()
            if p not in recorded
        }
        return _Known(store.salt, hashes, days, unrecorded)


def ingest(
    store_path: str | Path,
    patterns: Sequence[str],
    fmt: str = "auto",
    *,
    fields: FieldsSection | None = None,
    default_connector: str | None = None,
    base_dir: Path | None = None,
    progress: Callable[[FileReport], None] | None = None,
    found_files: Callable[[int], None] | None = None,
    max_reject_rate: float | None = None,
    policy: Policy | str | Path | None = None,
    found: Sequence[tuple[str, str]] | None = None,
    source_state: tuple[str, dt.datetime] | None = None,
    identity: str = "default",
) -> IngestReport:
    """Ingest telemetry files into the store; a file whose content is already stored is
    skipped, a request_id already stored is not stored again. Readers keep reading the last
    published state meanwhile; the new state is published at the end in one transaction.

    The reject limit of a check applies to the rows of this ingest's new files
    (`max_reject_rate`, else the policy's): above it nothing is published and the store is
    as it was. `found_files` hears how many files the patterns matched; `progress`, each
    one done.

    `found` gives the files as (path, name shown and stored) instead of `patterns`;
    `source_state` (source key, end of the last complete slice) is recorded in the same
    publish, so a remote source's resume point moves only with the rows it covers.

    A pattern may be a blob URL (az://, abfs[s]://): its blobs are downloaded, except those
    listed with the ETag an earlier ingest read (`identity`: the azure-identity credential
    when the environment gives no storage key, SAS or connection string).
    """
    store_path = Path(store_path)
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    limit = policy.data_quality.max_reject_rate if max_reject_rate is None else max_reject_rate
    scratch = None
    blobs = _Blobs()
    if found is None:
        urls = [p for p in patterns if is_blob_url(p)]
        local = [p for p in patterns if not is_blob_url(p)]
        found = discover(local, base_dir) if local or not urls else []
        if urls:
            from .sources import azure_blob

            blobs.known = known_blobs(store_path)
            scratch = tempfile.TemporaryDirectory(prefix="connector-ga-blobs-")
            try:
                etags = {key: etag for key, (etag, _) in blobs.known.items()}
                fetched = azure_blob.fetch(urls, Path(scratch.name), etags, identity)
            except BaseException:
                scratch.cleanup()
                raise
            found = [*found, *fetched.found]
            blobs.state, blobs.unchanged = fetched.state, fetched.unchanged
    try:
        if found_files:
            found_files(len(found) + len(blobs.unchanged))
        store_path.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(lock_path(store_path)):
            created = not store_path.exists()
            try:
                return _ingest_locked(
                    store_path,
                    found,
                    fmt,
                    fields,
                    default_connector,
                    progress,
                    limit,
                    source_state,
                    blobs,
                )
            except BaseException:
                if created:  # refused or failed before its first publish: no store left behind
                    _remove_if_unused(store_path)
                raise
    finally:
        if scratch is not None:
            scratch.cleanup()


@dataclass
class _Blobs:
    """An ingest's blobs: those known (key -> ETag, hash), those downloaded (local path ->
    key, ETag) and those left alone (same ETag)."""

    known: dict[str, tuple[str, str]] = field(default_factory=dict)
    state: dict[str, tuple[str, str]] = field(default_factory=dict)
    unchanged: list = field(default_factory=list)


def known_blobs(store_path: Path) -> dict[str, tuple[str, str]]:
    """The blobs ingested so far: key -> (ETag, content hash)."""
    if not store_path.exists():
        return {}
    with Store.open(store_path) as store:
        if "blobs" not in engine.tables_of(store.con, ALIAS):
            return {}
        rows = store.con.raw_sql(f"SELECT blob, etag, hash FROM {ALIAS}.blobs").fetchall()
    return {blob: (etag, digest) for blob, etag, digest in rows}


def _ingest_locked(
    store_path, found, fmt, fields, default_connector, progress, limit, source_state=None,
    blobs=None,
):  # fmt: skip
    known = _known(store_path)
    work = engine.connect()
    ingest_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    staging = segments_dir(store_path) / f"{STAGING}{ingest_id}"
    try:
        batch = _Batch(work, known, store_path, staging)
        batch.source_state = source_state
        report = IngestReport()
        blobs = blobs or _Blobs()
        for blob in blobs.unchanged:
            entry = FileReport(
                path=blob.shown, hash=blobs.known[blob.key][1], skipped=True, unchanged_blob=True
            )
            report.files.append(entry)
            if progress:
                progress(entry)
        for path, shown in found:
            digest = file_hash(path)
            entry = FileReport(path=shown, hash=digest)
            if digest in known.hashes:
                entry.skipped = True
            else:
                batch.add(path, shown, digest, fmt, fields, default_connector, entry)
                known.hashes.add(digest)
            if path in blobs.state:
                batch.blobs.append((*blobs.state[path], digest))
            report.files.append(entry)
            if progress:
                progress(entry)
        if batch.files or source_state or batch.blobs:
            _refuse_above_limit(report, batch.rejects, limit)
            batch.legacy = legacy_records(work, segments_dir(store_path), known.unrecorded)
            batch.publish(ingest_id)
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already once published
        work.disconnect()


def _share(value: float) -> str:
    return f"{value * 100:.2f}%"


def _refuse_above_limit(report: IngestReport, rejects: list[dict], limit: float) -> None:
    """The check's reject limit, over the rows of the files this ingest adds: above it,
    one line naming the file(s) and the rate, the rejected rows shown before it."""
    new = [f for f in report.files if not f.skipped]
    rows = sum(f.rows for f in new)
    rejected = sum(f.rejected for f in new)
    if not rows or rejected <= limit * rows:
        return
    rate = (
        f"({_share(rejected / rows)}, more than the {_share(limit)} allowed by --max-reject-rate)"
    )
    if len(new) == 1:
        head = f"{new[0].path}: {rejected:,} of {rows:,} rows rejected {rate}"
    else:
        bad = [f for f in new if f.rejected]
        where = ", ".join(f"{f.rejected:,} in {f.path}" for f in bad[:5])
        more = f" and {len(bad) - 5} more files" if len(bad) > 5 else ""
        head = (
            f"{rejected:,} of the {rows:,} rows of these {len(new)} files rejected {rate}, "
            f"{where}{more}"
        )
    samples = [
        RejectSample(
            file=r["path"],
            line=r["line"],
            unit=r["unit"],
            reason=REJECT_REASONS.get(r["reason"], r["reason"]),
            value=r["value"],
        )
        for r in rejects[:10]
    ]
    raise InputError(
        f"{head}: nothing was ingested; fix the telemetry or raise the limit",
        details=[str(s) for s in samples],
    )


def _remove_if_unused(store_path: Path) -> None:
    """Remove a store this ingest created, if nothing was ever published to it (no other
    process wrote a ledger or watch row meanwhile)."""
    try:
        con = engine.connect()
        try:
            _attach(con, store_path, read_only=True)
            tables = engine.tables_of(con, ALIAS) - {"meta"}
            version = con.raw_sql(
                f"SELECT value FROM {ALIAS}.meta WHERE key = 'version'"
            ).fetchone()
            used = (version and version[0] != "0") or any(
                con.raw_sql(f"SELECT count(*) FROM {ALIAS}.{t}").fetchone()[0] for t in tables
            )
        finally:
            con.disconnect()
    except Exception:  # noqa: BLE001 - whatever it is, it is not ours to remove
        return
    if used:
        return
    store_path.unlink(missing_ok=True)
    store_path.with_name(store_path.name + ".wal").unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # made by this ingest, empty by now
        segments_dir(store_path).rmdir()


class _Batch:
    """The files of one ingest: each file's new requests (deduplicated, pseudonymised) are
    written as Parquet into a staging folder as it is read; at the end, the rollups are
    computed from what was staged, and everything is published together."""

    def __init__(self, con: BaseBackend, known: _Known, store_path: Path, staging: Path):
        self.con = con
        self.known = known
        self.store_path = store_path
        self.staging = staging
        self.files: list[dict] = []
        self.rejects: list[dict] = []
        self.parts = 0
        self.part_sources: dict[str, list] = {}  # part folder -> [[file hash, absolute path]]
        self.legacy: list[dict] = []  # records of segment files published before they were kept
        self.source_state: tuple[str, dt.datetime] | None = None
        self.blobs: list[tuple[str, str, str]] = []  # (blob key, ETag, content hash)
        # Written in any order, a thread each: the segments need no row order.
        con.raw_sql("SET preserve_insertion_order = false")

    def _pseudonym(self, column: ibis.Value) -> ibis.Value:
        return (ibis.literal(self.known.salt) + column).hexdigest("sha256")

    def _staged(self) -> list[str]:
        return [str(f) for f in _staged_files(self.staging)]

    def _ids_near(self, quality: InputQuality) -> list[ibis.Table]:
        """The request ids already stored, or staged by this ingest, on the days a new id
        can fall in, [first - 1, last + 1], of the connectors the new rows are of (an id
        repeats within its connector only): a file of a new connector reads none."""
        lo = quality.first_day - dt.timedelta(days=DEDUPE_DAYS)
        hi = quality.last_day + dt.timedelta(days=DEDUPE_DAYS)
        tables = []
        stored = sorted(
            {
                f
                for (c, d), files in self.known.segment_days.items()
                if c in quality.connectors and lo <= d <= hi
                for f in files
            }
        )
        for files in (stored, self._staged()):
            if files:
                t = requests_of(self.con, files)
                t = t.filter((t.day >= lo) & (t.day <= hi) & t.request_id.notnull())
                tables.append(t.select("connector", "request_id"))
        return tables

    def add(self, path, shown, digest, fmt, fields, default_connector, entry) -> None:
        data = read_telemetry(
            self.con, [path], fmt, default_connector=default_connector, fields=fields
        )
        quality = input_quality(data)  # one scan: rows, rejects, repeated ids, days
        entry.rows, entry.rejected = quality.rows, quality.rejected_rows
        entry.accepted = entry.rows - entry.rejected
        t = data.table
        valid = t.filter(t._reject.isnull())
        if quality.duplicate_rows:  # repeated inside the file: stored once too
            valid = rollups.first_of_each_request(valid)
        fresh = valid
        if quality.first_day is not None:
            for ids in self._ids_near(quality):
                # The stored ids that are among the new ones first: the engine holds the new
                # ids while it streams the stored ones, so memory follows the new rows, not
                # history; then the new rows without those (few, usually none).
                # A request_id repeats within its connector only. (A null id joins nothing.)
                repeated = ids.semi_join(valid, ["connector", "request_id"]).select(
                    "connector", "request_id"
                )
                fresh = fresh.anti_join(repeated, ["connector", "request_id"])
        rows = fresh.select(
            *[c for c in CANONICAL_COLUMNS if c not in ("connection_id", "user_id")],
            connection_id=self._pseudonym(fresh.connection_id),
            user_id=self._pseudonym(fresh.user_id),
            file_hash=ibis.literal(digest),
            day=engine.utc_day(fresh.time),
        ).select(*SEGMENT_COLUMNS)
        inserted = 0
        if entry.accepted:
            self.staging.mkdir(parents=True, exist_ok=True)
            part = self.staging / f"part-{self.parts}"
            self.parts += 1
            self.part_sources[part.name] = [[digest, os.path.abspath(path)]]
            sql = ibis.to_sql(rows, dialect="duckdb")
            self.con.raw_sql(
                f"COPY ({sql}) TO {_quoted(str(part))} (FORMAT PARQUET, PER_THREAD_OUTPUT true)"
            )
            written = [str(f) for f in _staged_files(part)]
            if written:
                inserted = int(requests_of(self.con, written).count().execute())
        entry.duplicates = entry.accepted - inserted
        if entry.rejected:
            self.rejects += _rejects(data, path, shown, digest)
        self.files.append(
            {
                "hash": digest,
                "path": shown,
                "format": data.plans[path].source,
                "ingested_at": dt.datetime.now(dt.UTC),
                "rows": entry.rows,
                "accepted": entry.accepted,
                "rejected": entry.rejected,
                "duplicates": entry.duplicates,
            }
        )

    # ---- publishing ---------------------------------------------------------------------

    def publish(self, ingest_id: str) -> None:
        """The rollups of what was staged, then the publish: the staged files moved into
        place and everything merged into the store in one transaction."""
        con = self.con
        staged = self._staged()
        segments: list[dict] = []
        if staged:
            new = requests_of(con, staged)
            rolled_up_into(con, new, "cga_delta")
            con.create_table(
                "cga_delta_spans",
                obj=new.group_by("connector").aggregate(
                    first=new.time.min(), last=new.time.max(), rows=new.count()
                ),
                temp=True,
            )
            segments = self._segment_rows(staged, ingest_id)
        records = self._segment_records(segments, ingest_id)
        _attach(con, self.store_path, read_only=False)
        try:
            moved = self._move_into_place(ingest_id)
            try:
                self._merge(segments, records + self.legacy)
            except BaseException:
                for target in moved:  # listed nowhere: remove what was moved
                    target.unlink(missing_ok=True)
                raise
        finally:
            con.raw_sql(f"DETACH {ALIAS}")

    def _segment_rows(self, staged: list[str], ingest_id: str) -> list[dict]:
        """Each staged file's connectors and days, and its rows in each: the index a reader
        uses to read only the files of the days it needs."""
        listed = ", ".join(_quoted(f) for f in staged)
        rows = self.con.raw_sql(
            f"SELECT filename, connector, day, count(*) FROM read_parquet([{listed}], "
            "filename = true, hive_partitioning = false) GROUP BY ALL"
        ).fetchall()
        return [
            {
                "path": str(Path(ingest_id) / Path(filename).relative_to(self.staging)),
                "connector": connector,
                "day": day,
                "rows": int(n),
                "ingest": ingest_id,
            }
            for filename, connector, day, n in rows
        ]

    def _segment_records(self, segments: list[dict], ingest_id: str) -> list[dict]:
        """Each staged file as published: its size, rows, checksum and source file."""
        rows: dict[str, int] = {}
        for s in segments:
            rows[s["path"]] = rows.get(s["path"], 0) + s["rows"]
        return [
            segment_record(
                self.staging / Path(path).relative_to(ingest_id),
                path,
                n,
                self.part_sources.get(Path(path).relative_to(ingest_id).parts[0], []),
            )
            for path, n in sorted(rows.items())
        ]

    def _move_into_place(self, ingest_id: str) -> list[Path]:
        """The staging folder becomes the ingest's segment folder. Until the transaction
        commits, no reader knows of it; if it never does, the next writer removes it."""
        if not self.staging.exists():
            return []
        target = segments_dir(self.store_path) / ingest_id
        os.replace(self.staging, target)
        return [target]

    def _merge(self, segments: list[dict], records: list[dict]) -> None:
        con = self.con
        engine.begin(con)
        try:
            if segments:
                for name in rollups.NAMES:
                    _merge_rollup(con, name)
                _merge_spans(con)
                _insert(con, "segments", segments, SEGMENT_SCHEMA)
            publish_records(con, records)
            _insert(con, "files", self.files, FILE_SCHEMA)
            _insert(con, "rejects", self.rejects, REJECT_SCHEMA)
            if self.source_state:
                _record_source(con, *self.source_state)
            if self.blobs:
                _record_blobs(con, self.blobs)
            _bump_version(con)
            engine.commit(con)
        except BaseException:
            engine.rollback(con)
            raise


SEGMENT_SCHEMA = {
    "path": "string",
    "connector": "string",
    "day": "date",
    "rows": "int64",
    "ingest": "string",
}
FILE_SCHEMA = {
    "hash": "string",
    "path": "string",
    "format": "string",
    "ingested_at": "timestamp('UTC')",
    "rows": "int64",
    "accepted": "int64",
    "rejected": "int64",
    "duplicates": "int64",
}
REJECT_SCHEMA = {
    "file_hash": "string",
    "path": "string",
    "line": "int64",
    "unit": "string",
    "reason": "string",
    "value": "string",
}


def _insert(con: BaseBackend, table: str, rows: list[dict], schema: dict) -> None:
    if rows:
        con.insert(table, ibis.memtable(rows, schema=schema), database=ALIAS)


def _record_source(con: BaseBackend, source: str, covered_until: dt.datetime) -> None:
    """A remote source's resume point: never moved back by a backfill of older days."""
    con.raw_sql(SOURCES_DDL)  # a store made before remote sources lacks the table
    now = dt.datetime.now(dt.UTC).isoformat()
    con.raw_sql(
        f"INSERT INTO {ALIAS}.sources VALUES ({_quoted(source)}, "
        f"{_quoted(covered_until.isoformat())}::TIMESTAMPTZ, {_quoted(now)}::TIMESTAMPTZ) "
        "ON CONFLICT (source) DO UPDATE SET covered_until = "
        "greatest(covered_until, excluded.covered_until), updated_at = excluded.updated_at"
    )


def _record_blobs(con: BaseBackend, blobs: list[tuple[str, str, str]]) -> None:
    con.raw_sql(BLOBS_DDL)  # a store made before blob sources lacks the table
    now = _quoted(dt.datetime.now(dt.UTC).isoformat())
    values = ", ".join(
        f"({_quoted(key)}, {_quoted(etag)}, {_quoted(digest)}, {now}::TIMESTAMPTZ)"
        for key, etag, digest in blobs
    )
    con.raw_sql(
        f"INSERT INTO {ALIAS}.blobs VALUES {values} ON CONFLICT (blob) DO UPDATE SET "
        "etag = excluded.etag, hash = excluded.hash, updated_at = excluded.updated_at"
    )


def source_covered_until(store_path: str | Path, source: str) -> dt.datetime | None:
    """The end of the last complete slice stored from a remote source, or None."""
    store_path = Path(store_path)
    if not store_path.exists():
        return None
    with Store.open(store_path) as store:
        if "sources" not in engine.tables_of(store.con, ALIAS):
            return None
        row = store.con.raw_sql(
            f"SELECT epoch_us(covered_until) FROM {ALIAS}.sources WHERE source = {_quoted(source)}"
        ).fetchone()
    if row is None or row[0] is None:
        return None
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(row[0]))


def _bump_version(con: BaseBackend) -> None:
    con.raw_sql(
        f"UPDATE {ALIAS}.meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
        "WHERE key = 'version'"
    )


def _merge_rollup(con: BaseBackend, name: str) -> None:
    """The store's rows of the connectors and days (weeks) the new rows touch, merged with
    the new rows' rollup (`cga_delta_<name>`): sums added, maxima kept, weekly user ids
    united. Another connector's rows stay as they are: a new connector's file rewrites
    nothing stored."""
    keys, measures = rollups.MERGE[name]
    period = rollups.day_column(name)
    delta = f"cga_delta_{name}"
    target = f"{ALIAS}.rollup_{name}"
    touched = (
        f"connector IN (SELECT DISTINCT connector FROM {delta}) "
        f"AND {period} IN (SELECT DISTINCT {period} FROM {delta})"
    )
    columns = ", ".join(rollups.SCHEMAS[name])
    merged = ", ".join(keys) + "".join(f", {how}({m}) AS {m}" for m, how in measures.items())
    con.raw_sql(
        f"CREATE OR REPLACE TEMP TABLE cga_merged AS SELECT {merged} FROM ("
        f"SELECT {columns} FROM {target} WHERE {touched} "
        f"UNION ALL SELECT {columns} FROM {delta}) GROUP BY ALL"
    )
    con.raw_sql(f"DELETE FROM {target} WHERE {touched}")
    con.raw_sql(f"INSERT INTO {target} SELECT {columns} FROM cga_merged")
    con.raw_sql("DROP TABLE cga_merged")


def _merge_spans(con: BaseBackend) -> None:
    con.raw_sql(
        f"""CREATE OR REPLACE TEMP TABLE cga_merged AS SELECT connector, min(first) AS first,
            max(last) AS last, sum(rows) AS rows FROM (
            SELECT * FROM {ALIAS}.spans UNION ALL SELECT * FROM cga_delta_spans) GROUP BY ALL"""
    )
    con.raw_sql(f"DELETE FROM {ALIAS}.spans")
    con.raw_sql(f"INSERT INTO {ALIAS}.spans SELECT connector, first, last, rows FROM cga_merged")
    con.raw_sql("DROP TABLE cga_merged")


def _rejects(data: Telemetry, path: str, shown: str, digest: str) -> list[dict]:
    numbered = data.numbered(path)
    bad = numbered.filter(numbered._reject.notnull()).order_by("_row")
    raw_columns = [c for c in bad.columns if c.startswith("_raw_")]
    records = bad.select("_row", "_reject", *raw_columns).execute().to_dict("records")
    places = data.locations(path, [int(r["_row"]) for r in records])
    out = []
    for record in records:
        code = record["_reject"]
        unit, line = places[int(record["_row"])]
        value = record.get(f"_raw_{code}")
        out.append(
            {
                "file_hash": digest,
                "path": shown,
                "line": line,
                "unit": unit,
                "reason": code,
                "value": value if isinstance(value, str) else None,
            }
        )
    return out


def _upgrade_v1(con: BaseBackend, path: Path, salt: str) -> None:
    """A version-1 store (requests inside the DuckDB file) to this version, in one
    transaction: its requests become a segment folder, their rollups are built, the table
    goes."""
    ingest_id = f"upgrade-{uuid.uuid4().hex[:8]}"
    target = segments_dir(path) / ingest_id
    engine.begin(con)
    try:
        for statement in DDL:
            con.raw_sql(statement)
        stored = con.table("requests", database=ALIAS)
        requests = stored.mutate(day=engine.utc_day(stored.time))
        if int(requests.count().execute()):
            target.mkdir(parents=True)
            columns = ", ".join(
                "CAST(time AS DATE) AS day" if c == "day" else c for c in SEGMENT_COLUMNS
            )
            con.raw_sql(
                f"COPY (SELECT {columns} FROM {ALIAS}.requests) TO "
                f"{_quoted(str(target / 'part-0'))} (FORMAT PARQUET, PER_THREAD_OUTPUT true)"
            )
            rolled_up_into(con, requests, "cga_upgrade")
            for name in rollups.NAMES:
                columns = ", ".join(rollups.SCHEMAS[name])
                con.raw_sql(
                    f"INSERT INTO {ALIAS}.rollup_{name} SELECT {columns} FROM cga_upgrade_{name}"
                )
            con.raw_sql(
                f"INSERT INTO {ALIAS}.spans SELECT connector, min(time), max(time), count(*) "
                f"FROM {ALIAS}.requests GROUP BY connector"
            )
            listed = ", ".join(_quoted(str(f)) for f in _staged_files(target))
            prefix = _quoted(str(segments_dir(path)) + os.sep)
            con.raw_sql(
                f"INSERT INTO {ALIAS}.segments SELECT replace(filename, {prefix}, ''), "
                f"connector, day, count(*), {_quoted(ingest_id)} FROM read_parquet([{listed}], "
                "filename = true, hive_partitioning = false) GROUP BY ALL"
            )
        con.raw_sql(f"DROP TABLE {ALIAS}.requests")
        con.raw_sql(
            f"UPDATE {ALIAS}.meta SET value = '{SCHEMA_VERSION}' WHERE key = 'schema_version'"
        )
        con.raw_sql(f"INSERT INTO {ALIAS}.meta VALUES ('version', '1') ON CONFLICT DO NOTHING")
        engine.commit(con)
    except BaseException:
        engine.rollback(con)
        shutil.rmtree(target, ignore_errors=True)
        raise


# ---- retention ------------------------------------------------------------------------------


def criteria_resting_on(
    days: Sequence[dt.date], as_of: dt.date, policy: Policy | None = None
) -> list[str]:
    """The criteria whose value as of `as_of` rests on any of `days`: the reliability window
    [D-29, D], the complete ISO weeks of WAU, and MAC's minimum over [D-29, D] of
    lookbacks [d-29, d] (so back to D-58)."""
    w = (policy or load_policy()).window
    if not days:
        return []
    newest = max(days)
    last_sunday = as_of - dt.timedelta(days=(as_of.weekday() + 1) % 7)
    starts = {
        "availability, slo, success-rate": as_of - dt.timedelta(days=w.reliability_days - 1),
        "weekly-active-users": last_sunday - dt.timedelta(days=7 * w.wau_weeks - 1),
        "monthly-active-connections": as_of
        - dt.timedelta(days=w.mac_days - 1 + w.mac_lookback_days - 1),
    }
    return [name for name, start in starts.items() if newest >= start]


def prune(
    store_path: str | Path,
    keep_days: int,
    today: dt.date | None = None,
    *,
    force: bool = False,
) -> int:
    """Delete the requests of the days before `D - keep_days` (UTC), D being `today` or the
    store's latest telemetry day, and those days' rollups, in one transaction; a week's
    users go with its last day. A segment file that also holds later days is written again
    without the pruned ones. A prune that removes days a criterion's value as of D rests on
    needs `force`. Returns how many requests were deleted."""
    if keep_days < 1:
        raise InputError(f"--keep-days {keep_days}: expected a whole number of days ≥ 1")
    store_path = Path(store_path)
    if not store_path.exists():
        raise InputError(f"{store_path}: no store here; run `connector-ga ingest FILES` first")
    with exclusive_lock(lock_path(store_path)):
        _remove_staging(store_path)
        with Store.open(store_path, write=True) as store:
            con = store.con
            index = store.table("segments").execute()
            stored_days = sorted(set(index["day"].map(_day_of)))
            if today is None:  # counted back from the latest telemetry day, not the clock
                if not stored_days:
                    return 0
                today = stored_days[-1]
            cutoff = today - dt.timedelta(days=keep_days)
            pruned_days = [d for d in stored_days if d < cutoff]
            changed = criteria_resting_on(pruned_days, today)
            if changed and not force:
                raise InputError(
                    f"store prune --keep-days {keep_days}: would remove {pruned_days[0]}…"
                    f"{pruned_days[-1]}, days that {', '.join(changed)} rest on as of {today}; "
                    "pass --force to prune them anyway"
                )
            old = index[index["day"].map(_day_of) < cutoff]
            deleted = int(old["rows"].sum()) if len(old) else 0
            kept_paths = set(index[index["day"].map(_day_of) >= cutoff]["path"])
            gone = sorted(set(old["path"]) - kept_paths)  # only pruned days in them
            mixed = sorted(set(old["path"]) & kept_paths)  # written again without them
            rewritten = {path: _without_days_before(store, path, cutoff) for path in mixed}
            records = rewritten_records(con, store.segments, rewritten, segment_records(con))
            engine.begin(con)
            try:
                day = f"DATE '{cutoff.isoformat()}'"
                for name in rollups.NAMES:
                    if rollups.day_column(name) == "week":  # gone with its Sunday
                        condition = f"week + INTERVAL 6 DAY < {day}"
                    else:
                        condition = f"day < {day}"
                    con.raw_sql(f"DELETE FROM {ALIAS}.rollup_{name} WHERE {condition}")
                con.raw_sql(f"DELETE FROM {ALIAS}.segments WHERE day < {day}")
                for path, new_path in rewritten.items():
                    con.raw_sql(
                        f"UPDATE {ALIAS}.segments SET path = {_quoted(new_path)} "
                        f"WHERE path = {_quoted(path)}"
                    )
                _respan(con, store.segments, cutoff)
                publish_records(con, records, [*gone, *mixed])
                if deleted:
                    _bump_version(con)
                engine.commit(con)
            except BaseException:
                engine.rollback(con)
                for new_path in rewritten.values():
                    (store.segments / new_path).unlink(missing_ok=True)
                raise
            for path in [*gone, *mixed]:  # no reader is told of them any more
                (store.segments / path).unlink(missing_ok=True)
    return deleted


def _day_of(value) -> dt.date:
    return value.date() if hasattr(value, "date") else value


def _without_days_before(store: Store, path: str, cutoff: dt.date) -> str:
    """A segment file written again with only its days from `cutoff` on; its new path."""
    new_path = str(Path(path).with_name(f"pruned-{uuid.uuid4().hex[:8]}-{Path(path).name}"))
    store.con.raw_sql(
        f"COPY (SELECT * FROM read_parquet({_quoted(str(store.segments / path))}, "
        f"hive_partitioning = false) WHERE day >= DATE '{cutoff.isoformat()}') "
        f"TO {_quoted(str(store.segments / new_path))} (FORMAT PARQUET)"
    )
    return new_path


def _respan(con: BaseBackend, folder: Path, cutoff: dt.date | None = None) -> None:
    """Each connector's first and last request time and rows, after a prune (or a forget):
    the rows from the segment index, the times from the first and last days kept."""
    seg = f"{ALIAS}.segments"
    con.raw_sql(
        f"""CREATE OR REPLACE TEMP TABLE cga_spans AS SELECT connector, min(day) AS first_day,
            max(day) AS last_day, sum(rows) AS rows FROM {seg} GROUP BY connector"""
    )
    spans_now = con.raw_sql("SELECT * FROM cga_spans").fetchall()
    con.raw_sql(f"DELETE FROM {ALIAS}.spans WHERE true")
    for connector, first_day, last_day, rows in spans_now:
        files = con.raw_sql(
            f"SELECT DISTINCT path FROM {seg} WHERE connector = {_quoted(connector)} "
            f"AND day IN (DATE '{first_day}', DATE '{last_day}')"
        ).fetchall()
        listed = ", ".join(_quoted(str(folder / f)) for (f,) in files)
        kept = "" if cutoff is None else f" AND day >= DATE '{cutoff.isoformat()}'"
        con.raw_sql(
            f"INSERT INTO {ALIAS}.spans SELECT {_quoted(connector)}, min(time), max(time), "
            f"{int(rows)} FROM read_parquet([{listed}], hive_partitioning = false) "
            f"WHERE connector = {_quoted(connector)}{kept}"
        )


# ---- forgetting an ingested file ------------------------------------------------------------

HASH_PREFIX = 8  # the fewest hex digits of a content hash that name a file


@dataclass
class ForgottenFile:
    path: str
    hash: str
    requests: int = 0  # its stored requests, removed
    rejects: int = 0  # its rejected rows, removed
    # Files ingested after it that found requests already stored (request_id): those that
    # were its requests are not stored, and do not come back by forgetting it.
    deduplicated_after: list[str] = field(default_factory=list)


def forget(store_path: str | Path, keys: Sequence[str]) -> list[ForgottenFile]:
    """Remove ingested files from the store as if they had never been ingested, in one
    publish under the writers' lock: their stored requests (a segment file that holds other
    files' requests too is written again without them), their rejects and their rows of the
    file table; the rollups of the days (and weeks) they touched are computed again from the
    requests that remain. A key is a path as the file table records it, a file whose content
    was ingested, or a content hash (a unique prefix of at least 8 hex digits); a key that
    names no ingested file, or more than one, changes nothing."""
    store_path = Path(store_path)
    if not store_path.exists():
        raise InputError(
            f"{store_path}: no store here; run `connector-ga ingest FILES` first, "
            "or name an existing store with --store PATH"
        )
    with exclusive_lock(lock_path(store_path)):
        _remove_staging(store_path)
        with Store.open(store_path) as store:  # read briefly; readers go on meanwhile
            files = store.table("files").order_by("ingested_at").execute()
            index = store.table("segments").execute()
            records = segment_records(store.con)
        chosen: dict[str, ForgottenFile] = {}
        for key in keys:
            digest, shown = _ingested_file(key, files)
            chosen.setdefault(digest, ForgottenFile(path=shown, hash=digest))
        forgotten = list(chosen.values())
        for entry in forgotten:
            since = files[files["hash"] == entry.hash]["ingested_at"].iloc[0]
            later = files[(files["ingested_at"] > since) & (files["duplicates"] > 0)]
            entry.deduplicated_after = [
                p for h, p in zip(later["hash"], later["path"], strict=True) if h not in chosen
            ]
        con = engine.connect()
        try:
            _forget_locked(con, store_path, index, forgotten, records)
        finally:
            con.disconnect()
        return forgotten


def _ingested_file(key: str, files) -> tuple[str, str]:
    """The (hash, path) of the one ingested file `key` names: its recorded path (or the
    same file named from here), a hash prefix, or a file whose content was ingested."""
    records = list(files[["hash", "path", "ingested_at"]].itertuples(index=False))

    def one(matches: list, what: str) -> tuple[str, str]:
        if len(matches) == 1:
            return matches[0].hash, matches[0].path
        listed = ", ".join(f"{m.hash[:12]} ingested {str(m.ingested_at)[:19]}" for m in matches[:5])
        raise InputError(
            f"{key}: {len(matches)} ingested files have this {what} ({listed}); "
            "name one by its hash"
        )

    by_path = [r for r in records if r.path == key]
    if not by_path:
        here = display_name(os.path.abspath(os.path.expanduser(key)))
        by_path = [r for r in records if r.path == here]
    if by_path:
        return one(by_path, "path")
    text = key.lower()
    if len(text) >= HASH_PREFIX and all(c in "0123456789abcdef" for c in text):
        by_hash = [r for r in records if r.hash.startswith(text)]
        if by_hash:
            return one(by_hash, "hash prefix")
    if os.path.isfile(key):
        digest = file_hash(key)
        by_content = [r for r in records if r.hash == digest]
        if by_content:
            return by_content[0].hash, by_content[0].path
    raise InputError(
        f"{key}: no ingested file has this path or content hash "
        f"(a hash takes at least {HASH_PREFIX} hex digits; `connector-ga store info` lists "
        "the files)"
    )


def _forget_locked(
    con: BaseBackend,
    store_path: Path,
    index,
    forgotten: list[ForgottenFile],
    records: dict[str, dict] | None = None,
) -> None:
    folder = segments_dir(store_path)
    con.raw_sql("SET preserve_insertion_order = false")
    hashes = [f.hash for f in forgotten]
    by_hash = {f.hash: f for f in forgotten}
    relative = {str(folder / p): p for p in sorted(set(index["path"]))}
    # Their requests in each segment file (the row groups of other files are skipped by
    # their statistics: a segment file holds one ingested file's rows, except an upgrade's).
    removed: list[tuple] = []
    if relative:
        listed = ", ".join(_quoted(f) for f in relative)
        removed = con.raw_sql(
            f"SELECT filename, file_hash, connector, day, count(*) FROM read_parquet("
            f"[{listed}], filename = true, hive_partitioning = false) "
            f"WHERE file_hash IN ({', '.join(_quoted(h) for h in hashes)}) GROUP BY ALL"
        ).fetchall()
    removed_rows: dict[str, int] = {}
    touched_days: set[tuple[str, dt.date]] = set()
    for filename, digest, connector, day, n in removed:
        path = relative[filename]
        removed_rows[path] = removed_rows.get(path, 0) + int(n)
        by_hash[digest].requests += int(n)
        touched_days.add((connector, _day_of(day)))
    stored_rows = index.groupby("path")["rows"].sum().to_dict() if len(index) else {}
    touched = sorted(removed_rows)
    mixed = [p for p in touched if removed_rows[p] < int(stored_rows[p])]
    rewritten: dict[str, str] = {}
    try:
        for path in mixed:
            rewritten[path] = _without_files(con, folder, path, hashes)
        kept = index[~index["path"].isin(touched)][["path", "connector", "day", "ingest"]]
        new_rows = _index_rows(con, folder, rewritten, index)
        new_records = rewritten_records(con, folder, rewritten, records or {})
        after = [(r.path, r.connector, _day_of(r.day)) for r in kept.itertuples(index=False)] + [
            (r["path"], r["connector"], _day_of(r["day"])) for r in new_rows
        ]
        _stage_rollups(con, folder, touched_days, after, touched, hashes)
        with writing(con, store_path):
            _publish_forget(con, folder, touched, new_rows, hashes, by_hash)
            publish_records(con, new_records, touched)
    except BaseException:
        for new_path in rewritten.values():  # listed nowhere
            (folder / new_path).unlink(missing_ok=True)
        raise
    for path in touched:  # no reader is told of them any more
        _unlink_segment(folder, path)


def _without_files(con: BaseBackend, folder: Path, path: str, hashes: list[str]) -> str:
    """A segment file written again without the rows of the forgotten files; its new path."""
    new_path = str(Path(path).with_name(f"forgot-{uuid.uuid4().hex[:8]}-{Path(path).name}"))
    listed = ", ".join(_quoted(h) for h in hashes)
    con.raw_sql(
        f"COPY (SELECT * FROM read_parquet({_quoted(str(folder / path))}, "
        f"hive_partitioning = false) WHERE file_hash NOT IN ({listed})) "
        f"TO {_quoted(str(folder / new_path))} (FORMAT PARQUET)"
    )
    return new_path


def _index_rows(con: BaseBackend, folder: Path, rewritten: dict[str, str], index) -> list[dict]:
    """The segment index rows of the files written again: connectors, days, rows."""
    ingest_of = dict(zip(index["path"], index["ingest"], strict=True)) if len(index) else {}
    out = []
    for old, new in rewritten.items():
        rows = con.raw_sql(
            f"SELECT connector, day, count(*) FROM read_parquet({_quoted(str(folder / new))}, "
            "hive_partitioning = false) GROUP BY ALL"
        ).fetchall()
        out += [
            {
                "path": new,
                "connector": c,
                "day": _day_of(d),
                "rows": int(n),
                "ingest": ingest_of[old],
            }
            for c, d, n in rows
        ]
    return out


def _stage_rollups(
    con: BaseBackend,
    folder: Path,
    touched_days: set[tuple[str, dt.date]],
    after: list[tuple[str, str, dt.date]],
    touched: list[str],
    hashes: list[str],
) -> None:
    """Into temp tables: the touched (connector, day)s, their rollups computed again from the
    requests that remain (`cga_forget_<name>`), and the users of a touched week that only
    the forgotten files had (`cga_forget_users`)."""
    con.raw_sql("CREATE TEMP TABLE cga_forget_days (connector VARCHAR, day DATE)")
    if touched_days:
        values = ", ".join(f"({_quoted(c)}, DATE '{d.isoformat()}')" for c, d in touched_days)
        con.raw_sql(f"INSERT INTO cga_forget_days VALUES {values}")
    days = con.table("cga_forget_days")
    weeks = {(c, d - dt.timedelta(days=d.weekday())) for c, d in touched_days}
    wanted = {w + dt.timedelta(days=i) for _, w in weeks for i in range(7)}
    paths = sorted({str(folder / p) for p, _, d in after if d in wanted})
    remaining = requests_of(con, paths)
    rolled_up_into(con, remaining.semi_join(days, ["connector", "day"]), "cga_forget")
    rolled_up_into(con, remaining, "cga_forget_remaining")
    gone = requests_of(con, [str(folder / p) for p in touched])
    rolled_up_into(con, gone.filter(gone.file_hash.isin(hashes)), "cga_forget_gone")
    con.raw_sql(
        "CREATE TEMP TABLE cga_forget_users AS SELECT * FROM cga_forget_gone_weekly_users "
        "EXCEPT SELECT * FROM cga_forget_remaining_weekly_users"
    )


def _publish_forget(
    con: BaseBackend,
    folder: Path,
    touched: list[str],
    new_rows: list[dict],
    hashes: list[str],
    by_hash: dict[str, ForgottenFile],
) -> None:
    listed = ", ".join(_quoted(h) for h in hashes)
    for name in rollups.NAMES:
        target = f"{ALIAS}.rollup_{name}"
        if name == "weekly_users":
            con.raw_sql(
                f"DELETE FROM {target} USING cga_forget_users u WHERE "
                f"{target}.connector = u.connector AND {target}.week = u.week "
                f"AND {target}.user_id = u.user_id"
            )
            continue
        con.raw_sql(
            f"DELETE FROM {target} USING cga_forget_days d WHERE "
            f"{target}.connector = d.connector AND {target}.day = d.day"
        )
        columns = ", ".join(rollups.SCHEMAS[name])
        con.raw_sql(f"INSERT INTO {target} SELECT {columns} FROM cga_forget_{name}")
    if touched:
        paths = ", ".join(_quoted(p) for p in touched)
        con.raw_sql(f"DELETE FROM {ALIAS}.segments WHERE path IN ({paths})")
    _insert(con, "segments", new_rows, SEGMENT_SCHEMA)
    for digest, n in con.raw_sql(
        f"SELECT file_hash, count(*) FROM {ALIAS}.rejects WHERE file_hash IN ({listed}) "
        "GROUP BY ALL"
    ).fetchall():
        by_hash[digest].rejects = int(n)
    con.raw_sql(f"DELETE FROM {ALIAS}.rejects WHERE file_hash IN ({listed})")
    con.raw_sql(f"DELETE FROM {ALIAS}.files WHERE hash IN ({listed})")
    if "blobs" in engine.tables_of(con, ALIAS):  # a forgotten blob is downloaded again
        con.raw_sql(f"DELETE FROM {ALIAS}.blobs WHERE hash IN ({listed})")
    _respan(con, folder)
    _bump_version(con)


def _unlink_segment(folder: Path, path: str) -> None:
    """A segment file no publish lists any more, and the folders it leaves empty."""
    target = folder / path
    target.unlink(missing_ok=True)
    for parent in target.parents:
        if parent == folder:
            break
        try:
            parent.rmdir()
        except OSError:
            break


# ---- what each segment file was when published (`store verify`) --------------------------

RECORD_SCHEMA = {
    "path": "string",
    "bytes": "int64",
    "rows": "int64",
    "checksum": "string",
    "sources": "string",
}


def segment_record(full: Path, path: str, rows: int, sources: list) -> dict:
    """A segment file as published: its size, rows and SHA-256, and the ingested files its
    rows came from ([content hash, absolute path as ingested or None], …)."""
    return {
        "path": path,
        "bytes": full.stat().st_size,
        "rows": int(rows),
        "checksum": file_hash(str(full)),
        "sources": json.dumps(sources),
    }


def segment_records(con: BaseBackend) -> dict[str, dict]:
    """The store's records of its segment files, by relative path (none in a store written
    before they were kept)."""
    if "segment_files" not in engine.tables_of(con, ALIAS):
        return {}
    rows = con.raw_sql(
        f"SELECT path, bytes, rows, checksum, sources FROM {ALIAS}.segment_files"
    ).fetchall()
    return {
        r[0]: {"path": r[0], "bytes": r[1], "rows": r[2], "checksum": r[3], "sources": r[4]}
        for r in rows
    }


def legacy_records(con: BaseBackend, folder: Path, unrecorded: dict[str, int]) -> list[dict]:
    """Records of segment files published before records were kept, computed once (at the
    next write): only of a file that reads whole with the rows the index lists, so a file
    damaged meanwhile is never recorded as sound."""
    out = []
    for path, rows in sorted(unrecorded.items()):
        full = folder / path
        try:
            found = con.raw_sql(
                f"SELECT count(*), list(DISTINCT file_hash) FROM read_parquet("
                f"{_quoted(str(full))}, hive_partitioning = false)"
            ).fetchone()
        except (*engine.engine_errors(), OSError):
            continue
        if int(found[0]) == rows:
            out.append(segment_record(full, path, rows, [[h, None] for h in sorted(found[1])]))
    return out


def publish_records(con: BaseBackend, records: list[dict], removed: Sequence[str] = ()) -> None:
    """Within a publish: the records of the segment files it adds, and none of those it
    removes (the table made first in a store written before it)."""
    con.raw_sql(SEGMENT_FILES_DDL)
    if removed:
        listed = ", ".join(_quoted(p) for p in removed)
        con.raw_sql(f"DELETE FROM {ALIAS}.segment_files WHERE path IN ({listed})")
    if records:
        paths = ", ".join(_quoted(r["path"]) for r in records)
        con.raw_sql(f"DELETE FROM {ALIAS}.segment_files WHERE path IN ({paths})")
        _insert(con, "segment_files", records, RECORD_SCHEMA)


def rewritten_records(
    con: BaseBackend, folder: Path, rewritten: dict[str, str], old: dict[str, dict]
) -> list[dict]:
    """Records of segment files written again without some rows (prune, forget): their
    sources are those of the old file still among their rows."""
    out = []
    for before, path in rewritten.items():
        full = folder / path
        rows, hashes = con.raw_sql(
            f"SELECT count(*), list(DISTINCT file_hash) FROM read_parquet("
            f"{_quoted(str(full))}, hive_partitioning = false)"
        ).fetchone()
        known = dict(json.loads(old[before]["sources"])) if before in old else {}
        out.append(segment_record(full, path, rows, [[h, known.get(h)] for h in sorted(hashes)]))
    return out


# ---- watch state (issue 15 item 7: persisting what `watch` saw is the store's job) -------
#
# The table `watch_state`: one row per connector and thing watched, `kind` 'alert' (key
# 'page 1h/5m', state 'firing' or 'ok') or 'criterion' (key the criterion id, state its
# status). `since` is the evaluation time at which the state was first seen, `updated_at`
# the wall-clock time of the run that last wrote it. The table is created on first write,
# as the request ledger is, in the store file `--store` names or the default one (made if
# missing), even when the telemetry is read in place. The rows: trajectory/watch_state.py.

WATCH_STATE_TABLE = "watch_state"
WATCH_STATE_DDL = f"""CREATE TABLE IF NOT EXISTS {ALIAS}.{WATCH_STATE_TABLE} (
    connector VARCHAR, kind VARCHAR, key VARCHAR, state VARCHAR,
    since TIMESTAMPTZ, updated_at TIMESTAMPTZ)"""
WATCH_STATE_SCHEMA = {
    "connector": "string",
    "kind": "string",
    "key": "string",
    "state": "string",
    "since": "timestamp('UTC')",
    "updated_at": "timestamp('UTC')",
}


def watch_state_path(store: str | Path | None) -> Path:
    """Where a watch keeps its state: the store given, else the default one."""
    return Path(store) if store is not None else DEFAULT_STORE


def _utc_time(value) -> dt.datetime:
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def load_watch_state(store_path: str | Path, connectors: Sequence[str]):
    """The recorded state of these connectors (`trajectory.watch_state.State`); empty when
    nothing was recorded yet."""
    from .trajectory.watch_state import StateRow

    if not Path(store_path).exists():
        return {}
    with Store.open(store_path) as store:
        if WATCH_STATE_TABLE not in engine.tables_of(store.con, ALIAS):
            return {}
        t = store.table(WATCH_STATE_TABLE)
        frame = t.filter(t.connector.isin(list(connectors))).execute()
    rows = [
        StateRow(
            connector=r.connector,
            kind=r.kind,
            key=r.key,
            state=r.state,
            since=_utc_time(r.since),
            updated_at=_utc_time(r.updated_at),
        )
        for r in frame.itertuples(index=False)
    ]
    return {row.ident: row for row in rows}


def save_watch_state(store_path: str | Path, connectors: Sequence[str], rows) -> None:
    """Replace the state of these connectors with `rows` (`StateRow`s), in one transaction
    (the store is created when missing)."""
    records = [
        {
            "connector": r.connector,
            "kind": r.kind,
            "key": r.key,
            "state": r.state,
            "since": r.since,
            "updated_at": r.updated_at,
        }
        for r in rows
    ]
    with Store.open(store_path, create=True, write=True) as store:
        engine.begin(store.con)
        try:
            store.con.raw_sql(WATCH_STATE_DDL)
            if connectors:
                names = ", ".join("'" + c.replace("'", "''") + "'" for c in connectors)
                store.con.raw_sql(
                    f"DELETE FROM {ALIAS}.{WATCH_STATE_TABLE} WHERE connector IN ({names})"
                )
            if records:
                table = ibis.memtable(records, schema=WATCH_STATE_SCHEMA)
                store.con.insert(WATCH_STATE_TABLE, table, database=ALIAS)
            engine.commit(store.con)
        except BaseException:
            engine.rollback(store.con)
            raise
