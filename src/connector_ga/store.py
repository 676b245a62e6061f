"""The embedded store: one DuckDB file holding ingested requests, rejects and history.

Ingest is one transaction per run: interrupted, it leaves the store exactly as before.
Raw user and connection ids never reach the file: they are replaced by a salted SHA-256
(the salt is kept in the store) before anything is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ibis
from ibis.backends import BaseBackend

from . import engine
from .config import FieldsSection
from .errors import InputError
from .metrics.compute import first_of_each_request, input_quality
from .metrics.model import RejectSample
from .schema import CANONICAL_COLUMNS, REJECT_REASONS
from .sources import Telemetry, read_telemetry
from .sources.files import discover
from .waiting import StillHeld, lock_holder, retry_while_held

SCHEMA_VERSION = 1
DEFAULT_STORE = Path(".connector-ga") / "store.duckdb"
ALIAS = "store"

DDL = [
    "CREATE TABLE IF NOT EXISTS store.meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS store.files (
        hash VARCHAR PRIMARY KEY, path VARCHAR, format VARCHAR, ingested_at TIMESTAMPTZ,
        rows BIGINT, accepted BIGINT, rejected BIGINT, duplicates BIGINT)""",
    """CREATE TABLE IF NOT EXISTS store.requests (
        time TIMESTAMPTZ, status BIGINT, connector VARCHAR, operation VARCHAR,
        connection_id VARCHAR, user_id VARCHAR, backend_status BIGINT, error_source VARCHAR,
        error_reason VARCHAR, fault VARCHAR, latency_ms DOUBLE, cloud VARCHAR,
        request_id VARCHAR, weight BIGINT, file_hash VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS store.rejects (
        file_hash VARCHAR, path VARCHAR, line BIGINT, unit VARCHAR, reason VARCHAR,
        value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS store.requests_ledger (
        id BIGINT, connector VARCHAR, state VARCHAR, drafted_at TIMESTAMPTZ,
        sent_at TIMESTAMPTZ, verdict VARCHAR, evidence_hash VARCHAR, message_path VARCHAR,
        as_of DATE, result_hash VARCHAR, report_path VARCHAR, result_path VARCHAR,
        recipient VARCHAR, subject VARCHAR, message_id VARCHAR)""",
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


class Store:
    """An open store. Use `Store.open(path)`; close with `close()` or as a context manager."""

    def __init__(self, path: Path, con: BaseBackend, salt: str) -> None:
        self.path = path
        self.con = con
        self.salt = salt

    # ---- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: str | Path = DEFAULT_STORE, *, create: bool = False, write: bool = False
    ) -> Store:
        """Open a store (read-only unless `write`); `create` makes it when missing."""
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
            return cls._open_on(con, path, create, write)
        except BaseException:
            con.disconnect()
            raise

    @classmethod
    def _open_on(cls, con: BaseBackend, path: Path, create: bool, write: bool) -> Store:
        errors = engine.engine_errors()
        try:
            retry_while_held(
                lambda: engine.attach(con, str(path), ALIAS, read_only=not write),
                lambda exc: lock_holder(str(exc)) if isinstance(exc, errors) else None,
            )
            tables = engine.tables_of(con, ALIAS)
        except StillHeld as busy:
            raise InputError(
                f"{path}: still held by {busy.holder} after waiting {busy.waited:.0f} s; "
                "try again when it is done, or wait longer with --wait SECONDS"
            ) from None
        except errors as exc:
            raise InputError(f"{path}: not a connector-ga store ({_first(exc)})") from None
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
                    {"key": ["schema_version", "salt"], "value": [str(SCHEMA_VERSION), salt]}
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
        return cls(path, con, meta["salt"])

    def close(self) -> None:
        self.con.disconnect()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def table(self, name: str) -> ibis.Table:
        return self.con.table(name, database=ALIAS)

    # ---- ingest --------------------------------------------------------------------------

    def pseudonym(self, column: ibis.Value) -> ibis.Value:
        """A raw id replaced by the salted SHA-256 of this store (null stays null)."""
        return (ibis.literal(self.salt) + column).hexdigest("sha256")

    def ingest(
        self,
        patterns: Sequence[str],
        fmt: str = "auto",
        *,
        fields: FieldsSection | None = None,
        default_connector: str | None = None,
        base_dir: Path | None = None,
        progress: Callable[[FileReport], None] | None = None,
        found_files: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """Ingest files in one transaction; a file whose content is already stored is skipped.

        `found_files` hears how many files the patterns matched; `progress`, each one done.
        """
        found = discover(patterns, base_dir)
        if found_files:
            found_files(len(found))
        known = set(self.table("files").hash.execute())
        report = IngestReport()
        engine.begin(self.con)
        try:
            for path, shown in found:
                digest = file_hash(path)
                entry = FileReport(path=shown, hash=digest)
                if digest in known:
                    entry.skipped = True
                else:
                    self._ingest_file(path, shown, digest, fmt, fields, default_connector, entry)
                    known.add(digest)
                report.files.append(entry)
                if progress:
                    progress(entry)
            engine.commit(self.con)
        except BaseException:
            engine.rollback(self.con)
            raise
        return report

    def _ingest_file(self, path, shown, digest, fmt, fields, default_connector, entry) -> None:
        data = read_telemetry(
            self.con, [path], fmt, default_connector=default_connector, fields=fields
        )
        t = data.table
        quality = input_quality(data)  # one scan: rows, rejects, repeated request_ids
        entry.rows, entry.rejected = quality.rows, quality.rejected_rows
        entry.accepted = entry.rows - entry.rejected
        valid = t.filter(t._reject.isnull())
        if quality.duplicate_rows:  # repeated inside the file: stored once too
            valid = first_of_each_request(valid)
        stored = self.table("requests")
        ids = stored.filter(stored.request_id.notnull()).select("request_id").distinct()
        fresh = valid.filter(valid.request_id.isnull() | ~valid.request_id.isin(ids.request_id))
        rows = fresh.select(
            *[c for c in CANONICAL_COLUMNS if c not in ("connection_id", "user_id")],
            connection_id=self.pseudonym(fresh.connection_id),
            user_id=self.pseudonym(fresh.user_id),
            file_hash=ibis.literal(digest),
        ).select(*CANONICAL_COLUMNS, "file_hash")
        before = stored.count().execute()
        self.con.insert("requests", rows, database=ALIAS)
        inserted = stored.count().execute() - before
        entry.duplicates = entry.accepted - int(inserted)
        if entry.rejected:
            self._store_rejects(data, path, shown, digest)
        plan = data.plans[path]
        self.con.insert(
            "files",
            ibis.memtable(
                [
                    {
                        "hash": digest,
                        "path": shown,
                        "format": plan.source,
                        "ingested_at": dt.datetime.now(dt.UTC),
                        "rows": entry.rows,
                        "accepted": entry.accepted,
                        "rejected": entry.rejected,
                        "duplicates": entry.duplicates,
                    }
                ]
            ),
            database=ALIAS,
        )

    def _store_rejects(self, data: Telemetry, path: str, shown: str, digest: str) -> None:
        numbered = data.numbered(path)
        bad = numbered.filter(numbered._reject.notnull()).order_by("_row")
        raw_columns = [c for c in bad.columns if c.startswith("_raw_")]
        records = bad.select("_row", "_reject", *raw_columns).execute().to_dict("records")
        places = data.locations(path, [int(r["_row"]) for r in records])
        rows = []
        for record in records:
            code = record["_reject"]
            unit, line = places[int(record["_row"])]
            value = record.get(f"_raw_{code}")
            rows.append(
                {
                    "file_hash": digest,
                    "path": shown,
                    "line": line,
                    "unit": unit,
                    "reason": code,
                    "value": value if isinstance(value, str) else None,
                }
            )
        schema = {
            "file_hash": "string",
            "path": "string",
            "line": "int64",
            "unit": "string",
            "reason": "string",
            "value": "string",
        }
        self.con.insert("rejects", ibis.memtable(rows, schema=schema), database=ALIAS)

    # ---- reading -------------------------------------------------------------------------

    def telemetry(self, default_connector: str | None = None) -> Telemetry:
        """The stored requests as telemetry for `check` (rejects included, as rejects)."""
        requests = self.table("requests")
        rejects = self.table("rejects")
        valid = requests.select(
            *CANONICAL_COLUMNS,
            _file=requests.file_hash,
            _reject=ibis.null("string"),
        )
        nulls = {name: ibis.null(valid.schema()[name]) for name in CANONICAL_COLUMNS}
        bad = rejects.select(**nulls, _file=rejects.path, _reject=rejects.reason)
        table = valid.union(bad)
        samples = [
            RejectSample(
                file=r.path,
                line=int(r.line) if r.line is not None else None,
                unit=r.unit,
                reason=REJECT_REASONS.get(r.reason, r.reason),
                value=r.value if isinstance(r.value, str) else None,
            )
            for r in rejects.order_by(["path", "line"]).limit(10).execute().itertuples()
        ]
        files = self.table("files").execute()
        display = {row.hash: row.path for row in files.itertuples()}
        display.update({row.path: row.path for row in files.itertuples()})
        return Telemetry(
            table=table,
            files=list(files["path"]),
            display=display,
            con=self.con,
            default_connector=default_connector,
            stored_samples=samples,
        )

    def info(self) -> dict:
        """Connectors, date range, rows and rejects, and each ingested file."""
        r = self.table("requests")
        per_connector = (
            r.group_by("connector")
            .aggregate(rows=r.count(), first=r.time.min(), last=r.time.max())
            .order_by("connector")
            .execute()
        )
        files = self.table("files").order_by("ingested_at").execute()
        return {
            "store": str(self.path),
            "schema_version": SCHEMA_VERSION,
            "size_bytes": os.path.getsize(self.path) if self.path.exists() else 0,
            "rows": int(r.count().execute()),
            "rejects": int(self.table("rejects").count().execute()),
            "connectors": [
                {
                    "connector": row.connector,
                    "rows": int(row.rows),
                    "first": str(row.first)[:19],
                    "last": str(row.last)[:19],
                }
                for row in per_connector.itertuples()
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

    def prune(self, keep_days: int, today: dt.date | None = None) -> int:
        """Delete requests older than `keep_days` days before today (UTC), in one transaction."""
        if keep_days < 1:
            raise InputError(f"--keep-days {keep_days}: expected a whole number of days ≥ 1")
        today = today or dt.datetime.now(dt.UTC).date()
        cutoff = dt.datetime.combine(today - dt.timedelta(days=keep_days), dt.time(), dt.UTC)
        r = self.table("requests")
        doomed = int(r.filter(r.time < cutoff).count().execute())
        engine.begin(self.con)
        try:
            self.con.raw_sql(
                f"DELETE FROM {ALIAS}.requests WHERE time < TIMESTAMPTZ '{cutoff.isoformat()}'"
            )
            engine.commit(self.con)
        except BaseException:
            engine.rollback(self.con)
            raise
        return doomed
