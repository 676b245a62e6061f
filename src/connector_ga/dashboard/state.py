"""What the pages are computed from: the store as of one version, computed once.

A `Fleet` is everything the fleet page needs, from one snapshot of the store (its
rollups, files, rejects and segment index copied into memory at once, so it holds one
whole publish and never half of one): each connector's check as of the fleet's date D
with forecast and fix plan, its burn-rate alerts, its daily availability and weekly users.
Connector pages (any `as_of`) are computed from the same snapshot when first asked for.

`Dashboard.fleet()` answers with the Fleet of the store's current version: a cheap
`stat` of the store file tells whether anything was written; only then is the version
read (the `meta` counter every publish bumps) and, when it moved, a new Fleet computed,
once, while the requests that need it wait (single flight). Only the current version is
kept in memory, and the one it replaces until the requests still on it are done.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import api, ledger
from ..config import GaConfig
from ..errors import InputError
from ..ledger import LedgerEntry
from ..result import Result
from ..store import Store
from ..trajectory.forecast import DEFAULT_HORIZON
from ..trajectory.history import History
from ..trajectory.watch import Watch

HISTORY_DAYS = 90  # the readiness timeline, the sparklines and a criterion's series
RECHECK_SECONDS = 2.0  # read the version again at least this often, whatever stat says
PAGE_CACHE = 256  # rendered pages kept


@dataclass(frozen=True)
class Options:
    """What a dashboard reads and how it judges, as `check` takes it."""

    store: Path
    config: GaConfig | None = None
    policy: str | None = None
    scenario: str = "no-new-faults"
    horizon: int = DEFAULT_HORIZON


@dataclass
class ConnectorView:
    """One connector as of one day: its check (forecast, fix plan) and its history."""

    result: Result
    history: History


@dataclass
class Fleet:
    """The store as of one version, judged."""

    version: int
    prepared: api.Prepared
    options: Options
    as_of: dt.date
    results: dict[str, Result]
    watches: dict[str, Watch]
    daily_availability: dict[str, list[tuple[dt.date, float | None]]]
    weekly_users: dict[str, list[tuple[dt.date, int]]]
    last_ingest: dict[str, dt.datetime | None]
    files: list[dict[str, Any]]
    rejects: list[dict[str, Any]]
    rejects_total: int
    days_without_data: dict[str, list[dt.date]]
    lock: threading.RLock = field(default_factory=threading.RLock)  # one engine session
    _views: OrderedDict[tuple[str, dt.date | None], ConnectorView] = field(
        default_factory=OrderedDict
    )

    @property
    def names(self) -> list[str]:
        return sorted(self.results)

    def view(self, name: str, as_of: dt.date | None = None) -> ConnectorView:
        """A connector's check and its history up to `as_of` (default D), computed once
        (the last PAGE_CACHE asked for are kept: any day may be asked for)."""
        key = (name, None if as_of == self.as_of else as_of)
        with self.lock:
            if key not in self._views:
                self._views[key] = self._compute_view(name, key[1])
                while len(self._views) > PAGE_CACHE:
                    self._views.popitem(last=False)
            self._views.move_to_end(key)
            return self._views[key]

    def _compute_view(self, name: str, as_of: dt.date | None) -> ConnectorView:
        p, o = self.prepared, self.options
        day = as_of or self.as_of
        if as_of is None:
            result = self.results[name]
        else:
            run = api.check_prepared(
                p, as_of=as_of, scenario=o.scenario, horizon=o.horizon, names=[name]
            )
            result = run.results[0]
        history = api.history_prepared(p, last=day, days=HISTORY_DAYS, names=[name])
        return ConnectorView(result, history.histories[0])


def build_fleet(options: Options, version: int) -> Fleet:
    """Judge every connector of the store as of its latest day, from one snapshot."""
    p = api.prepare(
        config=options.config,
        store=options.store,
        all_connectors=True,
        policy=options.policy,
    )
    try:
        run = api.check_prepared(p, scenario=options.scenario, horizon=options.horizon)
        results = {r.connector: r for r in run.results}
        as_of = p.rollups.latest_day
        watches = (
            {w.connector: w for w in api.watch_prepared(p, checked=run)} if _has_alerts(p) else {}
        )
        availability = _daily_availability(p, as_of)
        users = _weekly_users(p, as_of)
        data = _data_quality(p, as_of)
    except Exception:
        p.release()
        raise
    return Fleet(
        version=version,
        prepared=p,
        options=options,
        as_of=as_of,
        results=results,
        watches=watches,
        daily_availability=availability,
        weekly_users=users,
        **data,
    )


def _has_alerts(p: api.Prepared) -> bool:
    return p.policy.burn_rate is not None


def _days(last: dt.date, n: int) -> list[dt.date]:
    return [last - dt.timedelta(days=k) for k in range(n - 1, -1, -1)]


def _daily_availability(p: api.Prepared, as_of: dt.date) -> dict:
    """Each day's own availability (1 − connector faults ÷ eligible requests of that day,
    for the sparkline only: the criterion is the 30-day window's) over HISTORY_DAYS."""
    days = _days(as_of, HISTORY_DAYS)
    rows = p.rollups.rows(
        "SELECT connector, day, "
        "coalesce(sum(requests) FILTER (WHERE fault <> 'throttled'), 0), "
        "coalesce(sum(requests) FILTER (WHERE fault = 'connector'), 0) "
        "FROM daily WHERE day BETWEEN ? AND ? GROUP BY ALL",
        [days[0], days[-1]],
    )
    found: dict[str, dict[dt.date, float]] = {}
    for connector, day, eligible, faults in rows:
        if eligible:
            found.setdefault(connector, {})[day] = 1 - int(faults) / int(eligible)
    return {name: [(day, found.get(name, {}).get(day)) for day in days] for name in p.names}


def _weekly_users(p: api.Prepared, as_of: dt.date) -> dict:
    """Distinct users of each complete ISO week over the last HISTORY_DAYS."""
    from ..metrics.series import last_sunday

    last_monday = last_sunday(as_of) - dt.timedelta(days=6)
    mondays = [last_monday - dt.timedelta(weeks=k) for k in range(HISTORY_DAYS // 7 - 1, -1, -1)]
    counts = p.rollups.weekly_users(p.names, mondays[0], mondays[-1])
    return {name: [(m, counts.get((name, m), 0)) for m in mondays] for name in p.names}


def _ingest_time(ingest: str) -> dt.datetime | None:
    """An ingest's id starts with the UTC time it began (an upgrade's does not)."""
    try:
        return dt.datetime.strptime(ingest[:15], "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


REJECTS_SHOWN = 500


def _data_quality(p: api.Prepared, as_of: dt.date) -> dict[str, Any]:
    """Files, rejects, the last ingest and the days without data of each connector, from
    the snapshot's copies of the store's tables (`snapshot` names them cga_*)."""
    r = p.rollups
    files = r.rows(
        "SELECT path, format, ingested_at, rows, accepted, rejected, duplicates FROM cga_files "
        "ORDER BY ingested_at"
    )
    ((total,),) = r.rows("SELECT count(*) FROM cga_rejects")
    shown = r.rows(
        "SELECT path, line, unit, reason, value FROM cga_rejects ORDER BY path, line "
        f"LIMIT {REJECTS_SHOWN}"
    )
    per_day = r.rows("SELECT DISTINCT connector, day, ingest FROM cga_segments")
    days: dict[str, set[dt.date]] = {}
    last: dict[str, dt.datetime | None] = {}
    for connector, day, ingest in per_day:
        days.setdefault(connector, set()).add(day)
        when = _ingest_time(str(ingest))
        if when is not None and (last.get(connector) is None or when > last[connector]):
            last[connector] = when
    missing = {}
    for name in p.names:
        have = days.get(name, set())
        first = min(have, default=as_of)
        span = (as_of - first).days + 1
        missing[name] = [
            first + dt.timedelta(days=k)
            for k in range(span)
            if first + dt.timedelta(days=k) not in have
        ]
    return {
        "last_ingest": {name: last.get(name) for name in p.names},
        "files": [
            {
                "path": path,
                "format": fmt,
                "ingested_at": _iso_time(ingested_at),
                "rows": int(rows),
                "accepted": int(accepted),
                "rejected": int(rejected),
                "duplicates": int(duplicates),
            }
            for path, fmt, ingested_at, rows, accepted, rejected, duplicates in files
        ],
        "rejects": [
            {
                "path": path,
                "line": None if line is None else int(line),
                "unit": unit,
                "reason": reason,
                "value": value if isinstance(value, str) else None,
            }
            for path, line, unit, reason, value in shown
        ],
        "rejects_total": int(total),
        "days_without_data": missing,
    }


def _iso_time(value) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- the store's state, as cheaply as it can be known -------------------------------------


def signature(path: Path) -> tuple:
    """What `stat` says of the store file and its write-ahead log: any write changes it."""
    out = []
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            s = os.stat(p)
            out.append((s.st_mtime_ns, s.st_size, s.st_ino))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


def read_state(path: Path) -> tuple[int, list[LedgerEntry]]:
    """The store's version and its request ledger, read-only, in one short visit."""
    with Store.open(path) as store:
        return store.version(), ledger.entries(store)


class _Version:
    """One store version being served: its Fleet, its rendered pages, and how many
    requests are using it right now (its session closes when it is retired and unused)."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.pages: OrderedDict[tuple, Any] = OrderedDict()
        self.users = 0
        self.retired = False


class Dashboard:
    """The pages' source: the current Fleet, the ledger, and the rendered pages of each
    store version. Thread-safe; one per app (each test makes its own).

    A served store that receives an ingest every few minutes publishes version after
    version: only the current one is kept, with at most PAGE_CACHE pages. The one it
    replaces is retired at once (its pages dropped: no request is answered from it again)
    and its engine session closed as soon as the last request still on it is done, so
    memory does not grow with versions."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self._versions: dict[int, _Version] = {}  # by id(): the current one last
        self._current: _Version | None = None
        self._ledger: list[LedgerEntry] = []
        self._ledger_token = 0
        self._signature: tuple | None = None
        self._checked = 0.0
        self._refresh_lock = threading.Lock()
        self._lock = threading.Lock()  # the versions, their pages and their users

    # ---- the state ---------------------------------------------------------------------

    def refresh(self, force: bool = False) -> None:
        """Bring the state up to the store's: re-read it when the file changed (or every
        RECHECK_SECONDS), recompute the Fleet when its version moved."""
        if not force and not self._stale():
            return
        with self._refresh_lock:  # one refresh at a time; the others wait for its result
            if not force and not self._stale():
                return
            sig = signature(self.options.store)
            version, entries = read_state(self.options.store)
            if entries != self._ledger:
                self._ledger, self._ledger_token = entries, self._ledger_token + 1
            if self._current is None or version != self._current.fleet.version:
                self._publish(self._build(version))
            self._signature, self._checked = sig, time.monotonic()

    def _publish(self, fleet: Fleet) -> None:
        """Make `fleet` the current version and retire the one it replaces: it stays only
        while requests are still on it."""
        unused = []
        with self._lock:
            old, self._current = self._current, _Version(fleet)
            if old is not None:
                old.retired = True
                old.pages.clear()
                if old.users == 0:
                    unused.append(old)
                    self._versions.pop(id(old), None)
            self._versions[id(self._current)] = self._current
        for entry in unused:
            entry.fleet.prepared.release()

    def _stale(self) -> bool:
        if self._current is None:
            return True
        if time.monotonic() - self._checked > RECHECK_SECONDS:
            return True
        return signature(self.options.store) != self._signature

    def _build(self, version: int) -> Fleet:
        """A Fleet labelled with the version read before its snapshot: if an ingest
        publishes in between, the next request sees a newer version and computes again."""
        return build_fleet(self.options, version)

    def fleet(self) -> Fleet:
        self.refresh()
        assert self._current is not None
        return self._current.fleet

    def ledger(self) -> list[LedgerEntry]:
        self.refresh()
        return self._ledger

    @property
    def version(self) -> int | None:
        return None if self._current is None else self._current.fleet.version

    @property
    def versions(self) -> list[int]:
        """The store versions held in memory, oldest first: the current one, and a replaced
        one only while a request is still on it."""
        with self._lock:
            return [entry.fleet.version for entry in self._versions.values()]

    # ---- rendered pages ------------------------------------------------------------------

    def cached(self, key: tuple, make: Callable[[Fleet], Any]) -> Any:
        """A page by key, for the current store version and ledger; computed once."""
        self.refresh()
        with self._lock:
            entry = self._current
            assert entry is not None
            entry.users += 1  # its session stays open until this request is done
            full = (self._ledger_token, *key)
        try:
            with self._lock:
                if full in entry.pages:
                    entry.pages.move_to_end(full)
                    return entry.pages[full]
            page = make(entry.fleet)
            with self._lock:
                if not entry.retired:
                    entry.pages[full] = page
                    while len(entry.pages) > PAGE_CACHE:
                        entry.pages.popitem(last=False)
            return page
        finally:
            self._leave(entry)

    def _leave(self, entry: _Version) -> None:
        with self._lock:
            entry.users -= 1
            done = entry.retired and entry.users == 0
            if done:
                self._versions.pop(id(entry), None)
        if done:
            entry.fleet.prepared.release()


def check_store(path: Path) -> None:
    """A store to serve: one that exists and holds telemetry (one line otherwise)."""
    if not path.exists():
        raise InputError(f"{path}: no store here; run `connector-ga ingest FILES` first")
    with Store.open(path) as store:
        if not int(store.table("files").count().execute()):
            raise InputError(f"{path}: the store holds no telemetry yet; ingest some first")
