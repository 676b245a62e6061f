"""`store verify`: every segment file against what was recorded when it was published (size,
rows, SHA-256) and against the rollups (per connector and day: the segments' rows are the
daily rollup's `rows`, their summed weights its `requests`); `--repair` writes a damaged
segment again from its source files when they are still there with the same content.

A segment's rows are not needed for any figure (those come from the rollups), so a damaged
one that cannot be repaired costs the requests of its days (a watch's recent requests, an
export), not the figures.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import engine
from .config import FieldsSection
from .errors import InputError
from .store import (
    ALIAS,
    SEGMENT_SCHEMA,
    STAGING,
    FileReport,
    Store,
    _Batch,
    _bump_version,
    _day_of,
    _insert,
    _Known,
    _quoted,
    _unlink_segment,
    file_hash,
    legacy_records,
    lock_path,
    publish_records,
    segment_record,
    segment_records,
    segments_dir,
    writing,
)
from .waiting import exclusive_lock


@dataclass
class DamagedSegment:
    path: str  # relative to the segments folder
    problem: str
    days: dict[tuple[str, dt.date], int]  # (connector, day) -> its rows, as the index lists
    sources: list[str] = field(default_factory=list)  # the ingested files, as recorded
    repaired: bool = False
    not_repaired: str | None = None  # why --repair could not


@dataclass
class DayMismatch:
    connector: str
    day: dt.date
    what: str  # "rows" or "requests"
    segments: int
    rollup: int


@dataclass
class Verification:
    store: Path
    segments: int = 0
    damaged: list[DamagedSegment] = field(default_factory=list)
    mismatched: list[DayMismatch] = field(default_factory=list)
    recorded: int = 0  # segments of an older store recorded by this --repair

    @property
    def sound(self) -> bool:
        return not self.mismatched and all(d.repaired for d in self.damaged)

    def lost_days(self) -> dict[str, list[dt.date]]:
        """Per connector, the days whose requests sit in a damaged segment not repaired."""
        out: dict[str, set[dt.date]] = {}
        for d in self.damaged:
            if not d.repaired:
                for connector, day in d.days:
                    out.setdefault(connector, set()).add(day)
        return {c: sorted(days) for c, days in sorted(out.items())}


def verify(
    store_path: str | Path,
    *,
    repair: bool = False,
    fields: FieldsSection | None = None,
    default_connector: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Verification:
    """Check every segment file of a store (under the writers' lock: no ingest changes them
    meanwhile); with `repair`, write each damaged one again from its source files."""
    store_path = Path(store_path)
    if not store_path.exists():
        raise InputError(f"{store_path}: no store here; run `connector-ga ingest FILES` first")
    with exclusive_lock(lock_path(store_path)):
        with Store.open(store_path) as store:
            con = store.con
            index = store.table("segments").execute()
            records = segment_records(con)
            rollup = con.raw_sql(
                f"SELECT connector, day, sum(rows), sum(requests) FROM {ALIAS}.rollup_daily "
                "GROUP BY ALL"
            ).fetchall()
            files = store.table("files").order_by("ingested_at").execute()
            salt = store.salt
        result = Verification(store=store_path)
        folder = segments_dir(store_path)
        work = engine.connect()
        try:
            _check(work, folder, index, records, rollup, files, result)
            if repair:
                _repair(
                    work,
                    store_path,
                    index,
                    records,
                    files,
                    salt,
                    result,
                    fields,
                    default_connector,
                    progress,
                )
        finally:
            work.disconnect()
        return result


def _indexed(index) -> dict[str, dict[tuple[str, dt.date], int]]:
    out: dict[str, dict[tuple[str, dt.date], int]] = {}
    for r in index.itertuples(index=False):
        days = out.setdefault(r.path, {})
        key = (r.connector, _day_of(r.day))
        days[key] = days.get(key, 0) + int(r.rows)
    return out


def _sources(record: dict | None, files) -> list[str]:
    if record is None:
        return []
    recorded = dict(zip(files["hash"], files["path"], strict=True))
    return [recorded.get(h, path or h[:12]) for h, path in json.loads(record["sources"])]


def _check(con, folder: Path, index, records, rollup, files, result: Verification) -> None:
    indexed = _indexed(index)
    result.segments = len(indexed)
    damaged: dict[str, str] = {}
    for path in sorted(indexed):
        full = folder / path
        record = records.get(path)
        if not full.is_file():
            damaged[path] = "missing"
        elif record is not None and full.stat().st_size != record["bytes"]:
            damaged[path] = (
                f"{full.stat().st_size:,} bytes, {record['bytes']:,} when it was published"
            )
        elif record is not None and file_hash(str(full)) != record["checksum"]:
            damaged[path] = "its content changed since it was published (SHA-256)"
    # What each file that is still whole holds, against the index.
    weights: dict[tuple[str, dt.date], int] = {}
    for path in sorted(set(indexed) - set(damaged)):
        try:
            held = con.raw_sql(
                f"SELECT connector, day, count(*), sum(weight) FROM read_parquet("
                f"{_quoted(str(folder / path))}, hive_partitioning = false) GROUP BY ALL"
            ).fetchall()
        except engine.engine_errors() as exc:
            damaged[path] = f"unreadable ({engine.error_line(exc)})"
            continue
        found = {(c, _day_of(d)): int(n) for c, d, n, _ in held}
        if found != indexed[path]:
            listed, there = sum(indexed[path].values()), sum(found.values())
            damaged[path] = f"holds {there:,} rows, the store lists {listed:,}"
            continue
        for c, d, _, w in held:
            key = (c, _day_of(d))
            weights[key] = weights.get(key, 0) + int(w or 0)
    for path, problem in sorted(damaged.items()):
        result.damaged.append(
            DamagedSegment(path, problem, indexed[path], _sources(records.get(path), files))
        )
    # Per connector and day: the index's rows against the daily rollup's.
    rows: dict[tuple[str, dt.date], int] = {}
    for days in indexed.values():
        for key, n in days.items():
            rows[key] = rows.get(key, 0) + n
    in_damaged = {key for d in result.damaged for key in d.days}
    for connector, day, rollup_rows, rollup_requests in rollup:
        key = (connector, _day_of(day))
        held = rows.pop(key, 0)
        if held != int(rollup_rows):
            result.mismatched.append(DayMismatch(connector, key[1], "rows", held, int(rollup_rows)))
        elif key not in in_damaged and weights.get(key, 0) != int(rollup_requests):
            result.mismatched.append(
                DayMismatch(
                    connector, key[1], "requests", weights.get(key, 0), int(rollup_requests)
                )
            )
    for (connector, day), n in sorted(rows.items()):  # segments of a day no rollup has
        result.mismatched.append(DayMismatch(connector, day, "rows", n, 0))


# ---- repair ----------------------------------------------------------------------------------


def _source_file(digest: str, absolute: str | None, recorded: str | None) -> str | None:
    """The file an ingest read, if it is still where it was with the same content."""
    for candidate in (absolute, recorded):
        if candidate and os.path.isfile(candidate) and file_hash(candidate) == digest:
            return os.path.abspath(candidate)  # as an ingest reads it
    return None


def _repair(
    con, store_path, index, records, files, salt, result, fields, default_connector, progress
) -> None:
    folder = segments_dir(store_path)
    indexed = _indexed(index)
    by_hash = {r.hash: r for r in files.itertuples(index=False)}
    order = {h: k for k, h in enumerate(files["hash"])}
    new_records: list[dict] = []
    new_index: list[dict] = []
    replaced: list[str] = []
    repair_id = f"repair-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    staging = folder / f"{STAGING}{repair_id}"
    target = folder / repair_id
    try:
        for n, damaged in enumerate(result.damaged):
            if progress:
                progress(damaged.path)
            record = records.get(damaged.path)
            if record is None:
                damaged.not_repaired = "no record of its source files (an older store)"
                continue
            sources = sorted(json.loads(record["sources"]), key=lambda s: order.get(s[0], 0))
            found = []
            for digest, absolute in sources:
                shown = by_hash[digest].path if digest in by_hash else None
                path = _source_file(digest, absolute, shown)
                if path is None:
                    damaged.not_repaired = (
                        f"its source file {shown or absolute or digest[:12]} is gone or changed"
                    )
                    break
                found.append((path, shown or path, digest))
            if damaged.not_repaired:
                continue
            written = _rebuilt(
                con,
                folder,
                indexed,
                damaged,
                found,
                by_hash,
                salt,
                fields,
                default_connector,
                staging / f"s{n}",
                target / f"part-{n}.parquet",
                {d.path for d in result.damaged},
            )
            if isinstance(written, str):
                damaged.not_repaired = written
                continue
            relative = str(Path(repair_id) / f"part-{n}.parquet")
            new_records.append(
                segment_record(
                    target / f"part-{n}.parquet", relative, sum(damaged.days.values()), sources
                )
            )
            new_index += [
                {"path": relative, "connector": c, "day": d, "rows": k, "ingest": repair_id}
                for (c, d), k in sorted(damaged.days.items())
            ]
            replaced.append(damaged.path)
        legacy = {p: sum(d.values()) for p, d in indexed.items() if p not in records}
        legacy_done = legacy_records(
            con, folder, {p: n for p, n in legacy.items() if p not in replaced}
        )
        if not replaced and not legacy_done:
            return
        with writing(con, store_path):
            if replaced:
                listed = ", ".join(_quoted(p) for p in replaced)
                con.raw_sql(f"DELETE FROM {ALIAS}.segments WHERE path IN ({listed})")
                _insert(con, "segments", new_index, SEGMENT_SCHEMA)
            publish_records(con, new_records + legacy_done, replaced)
            if replaced:
                _bump_version(con)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.recorded = len(legacy_done)
    for damaged in result.damaged:
        if damaged.path in replaced:
            damaged.repaired = True
            _unlink_segment(folder, damaged.path)


def _rebuilt(
    con,
    folder,
    indexed,
    damaged,
    found,
    by_hash,
    salt,
    fields,
    default_connector,
    staging: Path,
    out: Path,
    unreadable: set[str],
) -> Path | str:
    """The damaged segment's rows read again from its source files, as the ingest that
    stored them did (deduplicated against the other segments, pseudonymised with the
    store's salt), kept to its connectors and days: written to `out` when they are as many,
    day by day, as the store lists; else why not."""
    others: dict[tuple[str, dt.date], list[str]] = {}
    for path, days in indexed.items():
        if path not in unreadable:
            for connector, day in days:
                others.setdefault((connector, day), []).append(str(folder / path))
    known = _Known(salt, set(), others)
    batch = _Batch(con, known, Path("unused"), staging)
    for path, shown, digest in found:
        fmt = by_hash[digest].format if digest in by_hash else "auto"
        fmt = "auto" if fmt in (None, "canonical") else fmt
        batch.add(path, shown, digest, fmt, fields, default_connector, FileReport(shown, digest))
    staged = batch._staged()
    if not staged:
        return "its source files hold none of its rows now"
    keys = ", ".join(f"({_quoted(c)}, DATE '{d.isoformat()}')" for c, d in damaged.days)
    listed = ", ".join(_quoted(f) for f in staged)
    rows = (
        f"SELECT * FROM read_parquet([{listed}], hive_partitioning = false) r WHERE EXISTS "
        f"(SELECT 1 FROM (VALUES {keys}) k(c, d) WHERE k.c = r.connector AND k.d = r.day)"
    )
    counts = {
        (c, _day_of(d)): int(n)
        for c, d, n in con.raw_sql(
            f"SELECT connector, day, count(*) FROM ({rows}) GROUP BY ALL"
        ).fetchall()
    }
    if counts != damaged.days:
        return (
            f"its source files give {sum(counts.values()):,} of its rows, the store listed "
            f"{sum(damaged.days.values()):,}"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    con.raw_sql(f"COPY ({rows}) TO {_quoted(str(out))} (FORMAT PARQUET)")
    return out
