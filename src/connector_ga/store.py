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

import datetime as dt
import hashlib
import os
import secrets
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ibis
from ibis.backends import BaseBackend

from . import engine, rollups
from .attribution import attribute
from .config import FieldsSection
from .errors import InputError
from .locations import DEFAULT_STORE
from .metrics.compute import Aggregates, first_of_each_request, input_quality
from .metrics.model import InputQuality, RejectSample
from .metrics.series import spans
from .policy import Policy, load_policy
from .schema import CANONICAL_COLUMNS, REJECT_REASONS
from .sources import Telemetry, read_telemetry
from .sources.files import discover
from .waiting import StillHeld, exclusive_lock, lock_holder, retry_while_held

SCHEMA_VERSION = 2
ALIAS = "store"
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
    """CREATE TABLE IF NOT EXISTS store.spans (
        connector VARCHAR PRIMARY KEY, first TIMESTAMPTZ, last TIMESTAMPTZ, rows BIGINT)""",
    """CREATE TABLE IF NOT EXISTS store.requests_ledger (
        id BIGINT, connector VARCHAR, state VARCHAR, drafted_at TIMESTAMPTZ,
        sent_at TIMESTAMPTZ, verdict VARCHAR, evidence_hash VARCHAR, message_path VARCHAR,
        as_of DATE, result_hash VARCHAR, report_path VARCHAR, result_path VARCHAR,
        recipient VARCHAR, subject VARCHAR, message_id VARCHAR, report_hash VARCHAR)""",
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


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)

    @property
    def inserted(self) -> int:
        return sum(f.accepted - f.duplicates for f in self.files if not f.skipped)


def _first(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def file_hash(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def segments_dir(path: str | Path) -> Path:
    """Where a store's request segments live: beside the file, `<name>.segments/`."""
    path = Path(path)
    return path.with_name(path.name + ".segments")


def lock_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".lock")


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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


def _attach(con: BaseBackend, path: Path, *, read_only: bool) -> None:
    """Attach the store file, waiting (as the policy says) while another process has it
    open in a way that excludes us — in practice a publish, which takes milliseconds."""
    errors = engine.engine_errors()
    try:
        retry_while_held(
            lambda: engine.attach(con, str(path), ALIAS, read_only=read_only),
            lambda exc: lock_holder(str(exc)) if isinstance(exc, errors) else None,
        )
    except StillHeld as busy:
        raise InputError(
            f"{path}: still held by {busy.holder} after waiting {busy.waited:.0f} s; "
            "try again when it is done, or wait longer with --wait SECONDS"
        ) from None
    except errors as exc:
        raise InputError(f"{path}: not a connector-ga store ({_first(exc)})") from None


def requests_of(con: BaseBackend, files: Sequence[str]) -> ibis.Table:
    """Stored requests as a table of the canonical columns, `file_hash` and `day`."""
    if not files:
        schema = ibis.schema({name: _ibis_type(kind) for name, kind in SEGMENT_COLUMNS.items()})
        return ibis.memtable({name: [] for name in schema.names}, schema=schema)
    paths = ", ".join(_quoted(f) for f in files)
    name = f"cga_segments_{uuid.uuid4().hex[:12]}"
    con.raw_sql(
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet([{paths}], "
        "hive_partitioning = false)"
    )
    return con.table(name)


def _ibis_type(kind: str) -> str:
    return {
        "TIMESTAMPTZ": "timestamp('UTC')",
        "BIGINT": "int64",
        "VARCHAR": "string",
        "DOUBLE": "float64",
        "DATE": "date",
    }[kind]


# ---- reading for a check --------------------------------------------------------------------


@dataclass
class Snapshot:
    """A store as of its last publish, copied into an in-memory session: what a check, a
    history or a watch reads, without holding the store file."""

    path: Path
    con: BaseBackend
    quality: InputQuality
    tables: dict[str, ibis.Table]  # the rollups
    files: list[str]  # each ingested file's path, in order
    segment_index: ibis.Table  # segments: path, connector, day

    def aggregates(self, policy: Policy) -> Aggregates:
        unattributed = policy.attribution.unattributed_5xx
        daily = rollups.daily_view(self.tables["daily"], unattributed)
        folder = segments_dir(self.path)

        def between(first: dt.date, last: dt.date) -> ibis.Table:
            index = self.segment_index
            rows = index.filter((index.day >= first) & (index.day <= last)).execute()
            files = [str(folder / p) for p in sorted(set(rows["path"]))]
            r = requests_of(self.con, files)
            return attribute(r.filter((r.day >= first) & (r.day <= last)), unattributed)

        return Aggregates(
            daily=daily,
            spans=spans(daily),
            weekly_users=rollups.weekly_users_view(self.tables["weekly_users"]),
            operations=rollups.operations_view(self.tables["operations"], unattributed),
            connections=rollups.connections_view(daily),
            connection_operations=rollups.connection_operations_view(
                self.tables["connection_operations"], unattributed
            ),
            requests_between=between,
        )


def snapshot(path: str | Path, connectors: Sequence[str] | None = None) -> Snapshot:
    """Copy the rollups (of the named connectors) and the data quality of a store into the
    session's memory, holding the store file only while copying."""
    path = Path(path)
    if not path.exists():
        raise InputError(
            f"{path}: no store here; run `connector-ga ingest FILES` first or pass --telemetry"
        )
    con = engine.connect()
    try:
        store = Store._open_on(con, path, create=False, write=False)
        con = store.con  # an upgrade reopens it
        where = ""
        if connectors:
            where = " WHERE connector IN (" + ", ".join(_quoted(c) for c in connectors) + ")"
        for name in rollups.NAMES:
            con.raw_sql(
                f"CREATE TEMP TABLE cga_rollup_{name} AS SELECT * FROM {ALIAS}.rollup_{name}{where}"
            )
        for name in ("files", "rejects", "segments"):
            con.raw_sql(f"CREATE TEMP TABLE cga_{name} AS SELECT * FROM {ALIAS}.{name}")
        con.raw_sql(f"DETACH {ALIAS}")  # the store file is free again
    except BaseException:
        con.disconnect()
        raise
    tables = {name: con.table(f"cga_rollup_{name}") for name in rollups.NAMES}
    files = con.table("cga_files").order_by("ingested_at").execute()
    return Snapshot(
        path=path,
        con=con,
        quality=quality_of(files, con.table("cga_rejects")),
        tables=tables,
        files=list(files["path"]),
        segment_index=con.table("cga_segments"),
    )


def quality_of(files, rejects: ibis.Table) -> InputQuality:
    """The data quality of everything ingested: rows read, rejected (by reason and file),
    duplicates, and the first rejected rows with file and line."""
    quality = InputQuality(
        files=len(files),
        rows=int(files["rows"].sum()) if len(files) else 0,
        rejected_rows=int(files["rejected"].sum()) if len(files) else 0,
        duplicate_rows=int(files["duplicates"].sum()) if len(files) else 0,
        # The formats the files were read as: a data-quality hint names their fields.
        sources=set(files["format"]) or {"store"},
    )
    by_reason = rejects.group_by("reason").aggregate(n=rejects.count()).execute()
    quality.rejects_by_reason = {
        r.reason: int(r.n)
        for r in sorted(by_reason.itertuples(index=False), key=lambda r: r.reason)
    }
    by_file = rejects.group_by("path").aggregate(n=rejects.count()).execute()
    order = {path: i for i, path in enumerate(files["path"])}
    quality.rejects_by_file = {
        r.path: int(r.n)
        for r in sorted(
            by_file.itertuples(index=False), key=lambda r: (order.get(r.path, 0), r.path)
        )
    }
    quality.samples = [
        RejectSample(
            file=r.path,
            line=int(r.line) if r.line is not None else None,
            unit=r.unit,
            reason=REJECT_REASONS.get(r.reason, r.reason),
            value=r.value if isinstance(r.value, str) else None,
        )
        for r in rejects.order_by(["path", "line"]).limit(10).execute().itertuples()
    ]
    return quality


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
    segment_days: dict[dt.date, list[str]]  # day -> segment files (any connector)


def _known(store_path: Path) -> _Known:
    with Store.open(store_path, create=True) as store:
        hashes = set(store.table("files").hash.execute())
        rows = store.table("segments").select("day", "path", "ingest").execute()
        days: dict[dt.date, list[str]] = {}
        for row in rows.itertuples(index=False):
            day = row.day.date() if hasattr(row.day, "date") else row.day
            days.setdefault(day, []).append(str(store.segments / row.path))
        _remove_staging(store_path, set(rows["ingest"]))
        return _Known(store.salt, hashes, days)


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
) -> IngestReport:
    """Ingest telemetry files into the store; a file whose content is already stored is
    skipped, a request_id already stored is not stored again. Readers keep reading the last
    published state meanwhile; the new state is published at the end in one transaction.

    `found_files` hears how many files the patterns matched; `progress`, each one done.
    """
    store_path = Path(store_path)
    found = discover(patterns, base_dir)
    if found_files:
        found_files(len(found))
    store_path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(lock_path(store_path)):
        known = _known(store_path)
        work = engine.connect()
        ingest_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        staging = segments_dir(store_path) / f"{STAGING}{ingest_id}"
        try:
            batch = _Batch(work, known, store_path, staging)
            report = IngestReport()
            for path, shown in found:
                digest = file_hash(path)
                entry = FileReport(path=shown, hash=digest)
                if digest in known.hashes:
                    entry.skipped = True
                else:
                    batch.add(path, shown, digest, fmt, fields, default_connector, entry)
                    known.hashes.add(digest)
                report.files.append(entry)
                if progress:
                    progress(entry)
            if batch.files:
                batch.publish(ingest_id)
            return report
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone already once published
            work.disconnect()


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
        # Written in any order, a thread each: the segments need no row order.
        con.raw_sql("SET preserve_insertion_order = false")

    def _pseudonym(self, column: ibis.Value) -> ibis.Value:
        return (ibis.literal(self.known.salt) + column).hexdigest("sha256")

    def _staged(self) -> list[str]:
        return [str(f) for f in _staged_files(self.staging)]

    def _ids_near(self, first: dt.date, last: dt.date) -> list[ibis.Table]:
        """The request ids already stored, or staged by this ingest, on the days a new id
        can fall in: [first - 1, last + 1]."""
        lo = first - dt.timedelta(days=DEDUPE_DAYS)
        hi = last + dt.timedelta(days=DEDUPE_DAYS)
        tables = []
        stored = sorted(
            {f for d, files in self.known.segment_days.items() if lo <= d <= hi for f in files}
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
            valid = first_of_each_request(valid)
        fresh = valid
        if quality.first_day is not None:
            for ids in self._ids_near(quality.first_day, quality.last_day):
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
            day=fresh.time.date(),
        ).select(*SEGMENT_COLUMNS)
        inserted = 0
        if entry.accepted:
            self.staging.mkdir(parents=True, exist_ok=True)
            part = self.staging / f"part-{self.parts}"
            self.parts += 1
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
            requests = attribute(new, rollups.DEFAULT_UNATTRIBUTED)
            for name in rollups.NAMES:
                con.create_table(f"cga_delta_{name}", obj=rollups.build(name, requests), temp=True)
            con.create_table(
                "cga_delta_spans",
                obj=new.group_by("connector").aggregate(
                    first=new.time.min(), last=new.time.max(), rows=new.count()
                ),
                temp=True,
            )
            segments = self._segment_rows(staged, ingest_id)
        _attach(con, self.store_path, read_only=False)
        try:
            moved = self._move_into_place(ingest_id)
            try:
                self._merge(segments)
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

    def _move_into_place(self, ingest_id: str) -> list[Path]:
        """The staging folder becomes the ingest's segment folder. Until the transaction
        commits, no reader knows of it; if it never does, the next writer removes it."""
        if not self.staging.exists():
            return []
        target = segments_dir(self.store_path) / ingest_id
        os.replace(self.staging, target)
        return [target]

    def _merge(self, segments: list[dict]) -> None:
        con = self.con
        engine.begin(con)
        try:
            if segments:
                for name in rollups.NAMES:
                    _merge_rollup(con, name)
                _merge_spans(con)
                _insert(con, "segments", segments, SEGMENT_SCHEMA)
            _insert(con, "files", self.files, FILE_SCHEMA)
            _insert(con, "rejects", self.rejects, REJECT_SCHEMA)
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


def _bump_version(con: BaseBackend) -> None:
    con.raw_sql(
        f"UPDATE {ALIAS}.meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
        "WHERE key = 'version'"
    )


def _merge_rollup(con: BaseBackend, name: str) -> None:
    """The store's rows of the days (weeks) the new rows touch, merged with the new rows'
    rollup (`cga_delta_<name>`): sums added, maxima kept, weekly user ids united."""
    keys, measures = rollups.MERGE[name]
    period = rollups.day_column(name)
    delta = f"cga_delta_{name}"
    target = f"{ALIAS}.rollup_{name}"
    touched = f"{period} IN (SELECT DISTINCT {period} FROM {delta})"
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
        requests = stored.mutate(day=stored.time.date())
        if int(requests.count().execute()):
            target.mkdir(parents=True)
            columns = ", ".join(
                "CAST(time AS DATE) AS day" if c == "day" else c for c in SEGMENT_COLUMNS
            )
            con.raw_sql(
                f"COPY (SELECT {columns} FROM {ALIAS}.requests) TO "
                f"{_quoted(str(target / 'part-0'))} (FORMAT PARQUET, PER_THREAD_OUTPUT true)"
            )
            attributed = attribute(requests, rollups.DEFAULT_UNATTRIBUTED)
            for name in rollups.NAMES:
                con.insert(f"rollup_{name}", rollups.build(name, attributed), database=ALIAS)
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
                _respan(store, cutoff)
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


def _respan(store: Store, cutoff: dt.date) -> None:
    """Each connector's first and last request time and rows, after a prune: the rows from
    the segment index, the times from the first and last days kept."""
    con = store.con
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
        listed = ", ".join(_quoted(str(store.segments / f)) for (f,) in files)
        con.raw_sql(
            f"INSERT INTO {ALIAS}.spans SELECT {_quoted(connector)}, min(time), max(time), "
            f"{int(rows)} FROM read_parquet([{listed}], hive_partitioning = false) "
            f"WHERE connector = {_quoted(connector)} AND day >= DATE '{cutoff.isoformat()}'"
        )
