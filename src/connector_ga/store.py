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
from .metrics.compute import Aggregates, first_of_each_request, input_quality
from .metrics.model import InputQuality, RejectSample
from .metrics.series import spans
from .policy import Policy
from .schema import CANONICAL_COLUMNS, REJECT_REASONS
from .sources import Telemetry, read_telemetry
from .sources.files import discover
from .waiting import StillHeld, exclusive_lock, lock_holder, retry_while_held

SCHEMA_VERSION = 2
DEFAULT_STORE = Path(".connector-ga") / "store.duckdb"
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
        recipient VARCHAR, subject VARCHAR, message_id VARCHAR)""",
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
                    f"{path}: no store here; run `connector-ga ingest FILES` first "
                    "or pass --telemetry"
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
        """The segment files (absolute paths) of the days in [first, last], oldest first."""
        t = self.table("segments")
        if first is not None:
            t = t.filter(t.day >= first)
        if last is not None:
            t = t.filter(t.day <= last)
        rows = t.order_by(["day", "connector", "path"]).select("path").execute()
        return [str(self.segments / p) for p in rows["path"]]


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
            files = [str(folder / p) for p in rows["path"]]
            return attribute(requests_of(self.con, files), unattributed)

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
        quality=_quality(files, con.table("cga_rejects")),
        tables=tables,
        files=list(files["path"]),
        segment_index=con.table("cga_segments"),
    )


def _quality(files, rejects: ibis.Table) -> InputQuality:
    """The data quality of everything ingested: rows read, rejected (by reason and file),
    duplicates, and the first rejected rows with file and line."""
    quality = InputQuality(
        files=len(files),
        rows=int(files["rows"].sum()) if len(files) else 0,
        rejected_rows=int(files["rejected"].sum()) if len(files) else 0,
        duplicate_rows=int(files["duplicates"].sum()) if len(files) else 0,
        sources={"store"},
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


def _remove_staging(store_path: Path) -> None:
    """What an interrupted ingest staged and never published (we hold the writers' lock:
    no ingest is running)."""
    folder = segments_dir(store_path)
    if folder.exists():
        for leftover in folder.glob(STAGING + "*"):
            shutil.rmtree(leftover, ignore_errors=True)


@dataclass
class _Known:
    """What an ingest needs of the store before its heavy work: read once, briefly."""

    salt: str
    hashes: set[str]
    segment_days: dict[dt.date, list[str]]  # day -> segment files (any connector)


def _known(store_path: Path) -> _Known:
    with Store.open(store_path, create=True) as store:
        hashes = set(store.table("files").hash.execute())
        rows = store.table("segments").select("day", "path").execute()
        days: dict[dt.date, list[str]] = {}
        for row in rows.itertuples(index=False):
            day = row.day.date() if hasattr(row.day, "date") else row.day
            days.setdefault(day, []).append(str(store.segments / row.path))
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
        _remove_staging(store_path)
        known = _known(store_path)
        work = engine.connect()
        staging = segments_dir(store_path) / f"{STAGING}{uuid.uuid4().hex[:12]}"
        try:
            batch = _Batch(work, known, store_path)
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
                batch.publish(staging)
            return report
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            work.disconnect()


NEW = "cga_new_requests"


class _Batch:
    """The files of one ingest, read into one in-memory table of new requests (deduplicated
    and pseudonymised), then written as segments and rollups and published together."""

    def __init__(self, con: BaseBackend, known: _Known, store_path: Path) -> None:
        self.con = con
        self.known = known
        self.store_path = store_path
        self.files: list[dict] = []
        self.rejects: list[dict] = []
        self.created = False

    def _pseudonym(self, column: ibis.Value) -> ibis.Value:
        return (ibis.literal(self.known.salt) + column).hexdigest("sha256")

    def _stored_ids(self, days: set[dt.date]) -> ibis.Table | None:
        """The request ids already stored on these days and the days either side."""
        wanted = {
            d + dt.timedelta(days=k) for d in days for k in range(-DEDUPE_DAYS, DEDUPE_DAYS + 1)
        }
        files = sorted({f for d in wanted for f in self.known.segment_days.get(d, [])})
        if not files:
            return None
        stored = requests_of(self.con, files)
        return stored.filter(stored.request_id.notnull()).select("request_id").distinct()

    def add(self, path, shown, digest, fmt, fields, default_connector, entry) -> None:
        data = read_telemetry(
            self.con, [path], fmt, default_connector=default_connector, fields=fields
        )
        quality = input_quality(data)  # one scan: rows, rejects, repeated request_ids
        entry.rows, entry.rejected = quality.rows, quality.rejected_rows
        entry.accepted = entry.rows - entry.rejected
        t = data.table
        valid = t.filter(t._reject.isnull())
        if quality.duplicate_rows:  # repeated inside the file: stored once too
            valid = first_of_each_request(valid)
        valid = valid.mutate(day=valid.time.date())
        days = {
            d.date() if hasattr(d, "date") else d
            for d in valid.select("day").distinct().execute()["day"]
        }
        fresh = valid
        stored = self._stored_ids(days)
        if stored is not None:
            fresh = fresh.filter(
                fresh.request_id.isnull() | ~fresh.request_id.isin(stored.request_id)
            )
        if self.created:  # an earlier file of this ingest
            mine = self.con.table(NEW)
            fresh = fresh.filter(
                fresh.request_id.isnull()
                | ~fresh.request_id.isin(mine.filter(mine.request_id.notnull()).request_id)
            )
        rows = fresh.select(
            *[c for c in CANONICAL_COLUMNS if c not in ("connection_id", "user_id")],
            connection_id=self._pseudonym(fresh.connection_id),
            user_id=self._pseudonym(fresh.user_id),
            file_hash=ibis.literal(digest),
            day=fresh.day,
        ).select(*SEGMENT_COLUMNS)
        before = 0
        if self.created:
            before = int(self.con.table(NEW).count().execute())
            self.con.insert(NEW, rows)
        else:
            self.con.create_table(NEW, obj=rows, temp=True)
            self.created = True
        inserted = int(self.con.table(NEW).count().execute()) - before
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

    def publish(self, staging: Path) -> None:
        """Write the segments, compute the rollups of the new rows, then publish: move the
        segments into place and merge everything into the store in one transaction."""
        con = self.con
        ingest_id = staging.name.removeprefix(STAGING)
        new = con.table(NEW) if self.created else None
        segments: list[dict] = []
        if new is not None and int(new.count().execute()):
            staging.mkdir(parents=True, exist_ok=True)
            con.raw_sql(
                f"COPY {NEW} TO {_quoted(str(staging))} (FORMAT PARQUET, "
                f"PARTITION_BY (connector, day), WRITE_PARTITION_COLUMNS true, "
                f"FILENAME_PATTERN 'part-{ingest_id}-{{i}}')"
            )
            segments = self._segment_rows(staging, ingest_id)
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
        _attach(con, self.store_path, read_only=False)
        try:
            self._move_into_place(staging, segments)
            self._merge(segments)
        finally:
            con.raw_sql(f"DETACH {ALIAS}")

    def _segment_rows(self, staging: Path, ingest_id: str) -> list[dict]:
        files = _staged_files(staging)
        listed = ", ".join(_quoted(str(f)) for f in files)
        rows = self.con.raw_sql(
            f"SELECT filename, connector, day, count(*) FROM read_parquet([{listed}], "
            "filename = true, hive_partitioning = false) GROUP BY ALL"
        ).fetchall()
        out = []
        for filename, connector, day, n in rows:
            relative = Path(filename).relative_to(staging)
            out.append(
                {
                    "staged": filename,
                    "path": str(relative),
                    "connector": connector,
                    "day": day,
                    "rows": int(n),
                    "ingest": ingest_id,
                }
            )
        return out

    def _move_into_place(self, staging: Path, segments: list[dict]) -> None:
        """Each staged file into its partition folder. Until the transaction commits, no
        reader knows of them; if it never does, the next writer finds them unlisted."""
        folder = segments_dir(self.store_path)
        for segment in segments:
            target = folder / segment["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(segment["staged"], target)

    def _merge(self, segments: list[dict]) -> None:
        con = self.con
        engine.begin(con)
        try:
            if segments:
                for name in rollups.NAMES:
                    _merge_rollup(con, name)
                _merge_spans(con)
                rows = [
                    {k: s[k] for k in ("path", "connector", "day", "rows", "ingest")}
                    for s in segments
                ]
                _insert(con, "segments", rows, SEGMENT_SCHEMA)
            _insert(con, "files", self.files, FILE_SCHEMA)
            _insert(con, "rejects", self.rejects, REJECT_SCHEMA)
            _bump_version(con)
            engine.commit(con)
        except BaseException:
            engine.rollback(con)
            folder = segments_dir(self.store_path)
            for segment in segments:  # listed nowhere: remove what was moved
                (folder / segment["path"]).unlink(missing_ok=True)
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
    transaction: its requests become segments, their rollups are built, the table goes."""
    staging = segments_dir(path) / f"{STAGING}{uuid.uuid4().hex[:12]}"
    ingest_id = staging.name.removeprefix(STAGING)
    engine.begin(con)
    moved: list[Path] = []
    try:
        for statement in DDL:
            con.raw_sql(statement)
        stored = con.table("requests", database=ALIAS)
        requests = stored.mutate(day=stored.time.date())
        if int(requests.count().execute()):
            staging.mkdir(parents=True, exist_ok=True)
            columns = ", ".join(
                "CAST(time AS DATE) AS day" if c == "day" else c for c in SEGMENT_COLUMNS
            )
            con.raw_sql(
                f"COPY (SELECT {columns} FROM {ALIAS}.requests) TO {_quoted(str(staging))} "
                "(FORMAT PARQUET, PARTITION_BY (connector, day), WRITE_PARTITION_COLUMNS true, "
                f"FILENAME_PATTERN 'part-{ingest_id}-{{i}}')"
            )
            attributed = attribute(requests, rollups.DEFAULT_UNATTRIBUTED)
            for name in rollups.NAMES:
                con.insert(f"rollup_{name}", rollups.build(name, attributed), database=ALIAS)
            con.raw_sql(
                f"INSERT INTO {ALIAS}.spans SELECT connector, min(time), max(time), count(*) "
                f"FROM {ALIAS}.requests GROUP BY connector"
            )
            folder = segments_dir(path)
            for staged in _staged_files(staging):
                relative = staged.relative_to(staging)
                target = folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, target)
                moved.append(target)
            con.raw_sql(
                f"INSERT INTO {ALIAS}.segments SELECT replace(filename, "
                f"{_quoted(str(folder) + os.sep)}, ''), connector, day, count(*), "
                f"{_quoted(ingest_id)} FROM read_parquet("
                f"[{', '.join(_quoted(str(m)) for m in moved)}], filename = true, "
                "hive_partitioning = false) GROUP BY ALL"
            )
        con.raw_sql(f"DROP TABLE {ALIAS}.requests")
        con.raw_sql(
            f"UPDATE {ALIAS}.meta SET value = '{SCHEMA_VERSION}' WHERE key = 'schema_version'"
        )
        con.raw_sql(f"INSERT INTO {ALIAS}.meta VALUES ('version', '1') ON CONFLICT DO NOTHING")
        engine.commit(con)
    except BaseException:
        engine.rollback(con)
        for target in moved:
            target.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ---- retention ------------------------------------------------------------------------------


def prune(store_path: str | Path, keep_days: int, today: dt.date | None = None) -> int:
    """Delete the requests of the days before `today - keep_days` (UTC), and those days'
    rollups, in one transaction; a week's users go with its last day. Returns how many
    requests were deleted."""
    if keep_days < 1:
        raise InputError(f"--keep-days {keep_days}: expected a whole number of days ≥ 1")
    store_path = Path(store_path)
    today = today or dt.datetime.now(dt.UTC).date()
    cutoff = today - dt.timedelta(days=keep_days)
    if not store_path.exists():
        raise InputError(f"{store_path}: no store here; run `connector-ga ingest FILES` first")
    with exclusive_lock(lock_path(store_path)):
        _remove_staging(store_path)
        with Store.open(store_path, write=True) as store:
            con = store.con
            doomed = store.table("segments").filter(lambda t: t.day < cutoff).execute()
            deleted = int(doomed["rows"].sum()) if len(doomed) else 0
            keep = store.segment_files(first=cutoff)
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
                _respan(store, keep)
                if deleted:
                    _bump_version(con)
                engine.commit(con)
            except BaseException:
                engine.rollback(con)
                raise
            for path in doomed["path"]:  # no reader is told of them any more
                (store.segments / path).unlink(missing_ok=True)
    return deleted


def _respan(store: Store, files: Sequence[str]) -> None:
    """Each connector's first and last request time and rows, from the segments kept."""
    con = store.con
    con.raw_sql(f"DELETE FROM {ALIAS}.spans")
    if not files:
        return
    listed = ", ".join(_quoted(f) for f in files)
    con.raw_sql(
        f"INSERT INTO {ALIAS}.spans SELECT connector, min(time), max(time), count(*) "
        f"FROM read_parquet([{listed}], hive_partitioning = false) GROUP BY connector"
    )
