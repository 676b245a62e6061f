"""Realistic canonical telemetry from a seed, for demos, tests and benchmarks.

Everything is vectorised with numpy/pyarrow: rows are generated and written in chunks of
``CHUNK_ROWS``, so memory stays bounded whatever the size, and the output appears only
when it is complete (written to a temporary file in the same folder, then renamed).

The model, per connector (each connector of a fleet has its own population):

- the population grows linearly from ~20% of ``connections`` / ``users`` on the first day
  to all of them on the last; traffic grows with it;
- traffic follows a weekday pattern (weekends ~40% of a weekday) and a diurnal one
  (peaks in the European morning and the US working day, UTC);
- each connection belongs to an owner user; most requests on a connection are made by
  its owner, the rest by other active users (shared connections, apps, flows);
- connections and users are not equally busy (log-normal popularity);
- normal traffic: ~1% redirects, ~1.5% client errors (4xx passed through from the
  backend), ~0.3% throttling (429 RateLimitExceeded), ~0.02% backend 5xx, and no
  connector faults, so a healthy connector meets every published criterion;
- incidents replace the outcome of a share of the requests in their window; each row is
  changed by at most one incident (the first listed wins), and a row whose status would
  stay the same is left untouched, so ``injected`` counts exactly the changed rows.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InputError

IncidentKind = Literal["backend-outage", "connector-bug", "throttling-storm", "unattributed-5xx"]
INCIDENT_KINDS: tuple[str, ...] = get_args(IncidentKind)
FORMATS = ("parquet", "csv", "jsonl")
CHUNK_ROWS = 500_000

SCHEMA = pa.schema(
    [
        pa.field("time", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("status", pa.int16(), nullable=False),
        pa.field("connector", pa.string(), nullable=False),
        pa.field("operation", pa.string()),
        pa.field("connection_id", pa.string()),
        pa.field("user_id", pa.string()),
        pa.field("backend_status", pa.int16()),
        pa.field("error_source", pa.string()),
        pa.field("error_reason", pa.string()),
        pa.field("fault", pa.string()),
        pa.field("latency_ms", pa.float64()),
        pa.field("cloud", pa.string(), nullable=False),
        pa.field("request_id", pa.string()),
        pa.field("weight", pa.int32(), nullable=False),
    ]
)


@dataclass
class Incident:
    """A window in which ``rate`` of the requests get the outcome of ``kind``.

    ``connector`` limits the incident to one connector of the fleet (None: all of them).
    """

    kind: IncidentKind
    start: dt.datetime  # UTC; a naive datetime is taken as UTC
    hours: float
    rate: float = 1.0
    connector: str | None = None


@dataclass
class SimulationSpec:
    days: int = 90
    end: dt.date = dt.date(2026, 11, 20)  # last UTC day simulated, inclusive
    connections: int = 300  # final number of connections per connector
    users: int = 1200  # final number of users per connector
    requests_per_day: int = 20000  # per connector, at the end; grows with the population
    connectors: list[str] = field(default_factory=lambda: ["contoso-tasks"])
    seed: int = 0
    sample_rate: float = 1.0  # <1: keep that share of rows, weight = round(1/sample_rate)
    duplicate_rate: float = 0.0  # share of rows re-emitted with the same request_id
    incidents: list[Incident] = field(default_factory=list)
    rows: int | None = None  # total rows written (all connectors, duplicates included)

    @property
    def first_day(self) -> dt.date:
        return self.end - dt.timedelta(days=self.days - 1)


@dataclass
class SimulationSummary:
    rows: int
    first_day: dt.date
    last_day: dt.date
    connectors: list[str]
    injected: dict[str, int]  # per incident kind of the spec: rows whose status it changed


# --- traffic model ----------------------------------------------------------------------

_START_SHARE = 0.2  # share of the final population active on the first day
_OWNER_SHARE = 0.7  # share of a connection's requests made by its owner
_WEEKDAY = np.array([1.2, 1.2, 1.2, 1.2, 1.2, 0.5, 0.5])  # Mon..Sun, mean 1

_OPERATIONS = ["ListTasks", "GetTask", "CreateTask", "UpdateTask", "DeleteTask", "ListProjects"]
_OP_WEIGHTS = np.array([0.34, 0.26, 0.12, 0.12, 0.04, 0.12])
_OP_OK_STATUS = np.array([200, 200, 201, 200, 204, 200], dtype=np.int16)
_OP_LATENCY_MS = np.array([220.0, 110.0, 300.0, 260.0, 150.0, 180.0])  # medians

_SOURCES = ["backend", "rate-limit", "policy"]
_REASONS = ["RateLimitExceeded", "BackendConnectionFailure", "ExpressionValueEvaluationFailure"]
_SRC_BACKEND, _SRC_RATE_LIMIT, _SRC_POLICY = 0, 1, 2
_RSN_RATE_LIMIT, _RSN_BACKEND_CONN, _RSN_EXPRESSION = 0, 1, 2
_NULL = -1

# Outcomes of normal traffic besides success: status, backend status (-1: null),
# error source, error reason, probability, latency factor.
_OUTCOMES = np.array(
    [
        # status backend source         reason           p        latency factor
        [302, 302, _NULL, _NULL, 0.0030, 0.5],
        [304, 304, _NULL, _NULL, 0.0070, 0.4],
        [400, 400, _NULL, _NULL, 0.0045, 0.5],
        [401, 401, _NULL, _NULL, 0.00225, 0.3],
        [403, 403, _NULL, _NULL, 0.0015, 0.4],
        [404, 404, _NULL, _NULL, 0.00675, 0.5],
        [429, _NULL, _SRC_RATE_LIMIT, _RSN_RATE_LIMIT, 0.0030, 0.02],
        [502, 503, _SRC_BACKEND, _NULL, 0.0001, 8.0],
        [503, 503, _SRC_BACKEND, _NULL, 0.0001, 4.0],
    ]
)
_OUTCOME_CUM = np.cumsum(_OUTCOMES[:, 4])


def _diurnal_cdf() -> tuple[np.ndarray, np.ndarray]:
    """Piecewise-linear CDF of the time of day (seconds), from hourly UTC weights."""
    hours = np.arange(24) + 0.5
    weight = (
        0.25
        + np.exp(-(((hours - 16.5) / 4.0) ** 2))  # US working day
        + 0.55 * np.exp(-(((hours - 9.5) / 3.0) ** 2))  # European morning
    )
    cdf = np.concatenate([[0.0], np.cumsum(weight)])
    return cdf / cdf[-1], np.arange(25) * 3600.0


_DAY_CDF, _DAY_SECONDS = _diurnal_cdf()


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    weights = np.asarray(weights, dtype=np.float64)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    exact = weights / weights.sum() * total
    counts = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    if short:
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:short]] += 1
    return counts


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A bijection of uint64: distinct keys give distinct, random-looking ids."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex_ids(values: np.ndarray) -> pa.Array:
    """16 lowercase hex digits per uint64, built as one Arrow string buffer."""
    n = len(values)
    octets = values.astype(">u8").view(np.uint8).reshape(n, 8)
    data = np.empty((n, 16), dtype=np.uint8)
    data[:, 0::2] = _HEX[octets >> 4]
    data[:, 1::2] = _HEX[octets & 15]
    offsets = np.arange(0, 16 * n + 1, 16, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _labels(prefix: str, start: int, count: int, width: int) -> pa.Array:
    return pa.array([f"{prefix}{i:0{width}d}" for i in range(start, start + count)], pa.string())


def _nullable_take(labels: pa.Array, codes: np.ndarray) -> pa.Array:
    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
    return labels.take(idx)


def _epoch_us(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * 86_400_000_000


def _to_utc_us(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    delta = moment.astimezone(dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _weighted_prefix_pick(cum: np.ndarray, prefix: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index in [0, prefix) drawn with the weights whose cumulative sums are ``cum``."""
    idx = np.searchsorted(cum, u * cum[prefix - 1], side="right")
    return np.minimum(idx, prefix - 1)


@dataclass
class _Population:
    """One connector's population and day-by-day plan (small arrays, no per-row data)."""

    index: int
    name: str
    conn_cum: np.ndarray  # cumulative popularity of connections, in order of activation
    user_cum: np.ndarray
    owner: np.ndarray  # owner user of each connection
    conn_active: np.ndarray  # active connections per day
    user_active: np.ndarray
    day_rows: np.ndarray  # original (non-duplicate) rows per day
    day_start: np.ndarray  # first row of each day
    duplicates: int
    conn_labels: pa.Array
    user_labels: pa.Array

    @property
    def originals(self) -> int:
        return int(self.day_rows.sum())


def _stream_key(seed: int, name: str, *more: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([seed, zlib.crc32(name.encode()), *more])


def _plan(spec: SimulationSpec) -> list[_Population]:
    days = spec.days
    growth = _START_SHARE + (1 - _START_SHARE) * (
        np.arange(days) / (days - 1) if days > 1 else np.ones(1)
    )
    first = spec.first_day
    weekday = _WEEKDAY[(np.arange(days) + first.weekday()) % 7]
    n = len(spec.connectors)
    dup = spec.duplicate_rate
    if spec.rows is not None:
        per_connector = _allocate(spec.rows, np.ones(n))
    conn_width = max(6, len(str(spec.connections * n - 1)))
    user_width = max(6, len(str(spec.users * n - 1)))

    plans = []
    for ci, name in enumerate(spec.connectors):
        rng = np.random.default_rng(_stream_key(spec.seed, name, 0))
        conn_pop = rng.lognormal(0.0, 1.0, spec.connections)
        user_pop = rng.lognormal(0.0, 0.8, spec.users)
        noise = rng.lognormal(0.0, 0.06, days)
        conn_active = np.maximum(1, np.round(spec.connections * growth)).astype(np.int64)
        user_active = np.maximum(1, np.round(spec.users * growth)).astype(np.int64)
        conn_active[-1], user_active[-1] = spec.connections, spec.users
        conn_cum, user_cum = np.cumsum(conn_pop), np.cumsum(user_pop)
        # A connection is created by a user already active on the connection's first day.
        activation = np.searchsorted(conn_active, np.arange(spec.connections), side="right")
        owner = _weighted_prefix_pick(
            user_cum, user_active[activation], rng.random(spec.connections)
        )
        day_weight = growth * weekday * noise
        if spec.rows is not None:
            total = int(per_connector[ci])
            originals = math.ceil(total / (1 + dup))
            duplicates = total - originals
        else:
            requests = float((spec.requests_per_day * day_weight).sum())
            originals = round(requests * spec.sample_rate)
            duplicates = round(originals * dup)
        day_rows = _allocate(originals, day_weight)
        plans.append(
            _Population(
                index=ci,
                name=name,
                conn_cum=conn_cum,
                user_cum=user_cum,
                owner=owner,
                conn_active=conn_active,
                user_active=user_active,
                day_rows=day_rows,
                day_start=np.concatenate([[0], np.cumsum(day_rows)[:-1]]),
                duplicates=duplicates,
                conn_labels=_labels("conn-", ci * spec.connections, spec.connections, conn_width),
                user_labels=_labels("user-", ci * spec.users, spec.users, user_width),
            )
        )
    return plans


def _chunk(
    spec: SimulationSpec,
    pop: _Population,
    chunk: int,
    lo: int,
    hi: int,
    weight: int,
    id_salt: np.uint64,
    injected: dict[str, int],
) -> pa.RecordBatch:
    """Rows ``lo``..``hi`` (original rows) of one connector, with their duplicates."""
    rng = np.random.default_rng(_stream_key(spec.seed, pop.name, 1, chunk))
    n = hi - lo
    row = np.arange(lo, hi, dtype=np.int64)

    # Time: stratified over each day's rows, through the diurnal CDF, so it is sorted.
    day = np.searchsorted(pop.day_start, row, side="right") - 1
    within = (row - pop.day_start[day] + rng.random(n)) / pop.day_rows[day]
    seconds = np.interp(within, _DAY_CDF, _DAY_SECONDS)
    time = _epoch_us(spec.first_day) + day * 86_400_000_000 + (seconds * 1e6).astype(np.int64)
    time = np.minimum(time, _epoch_us(spec.first_day) + (day + 1) * 86_400_000_000 - 1)

    # Who: a connection active that day, and its owner or another active user.
    conn = _weighted_prefix_pick(pop.conn_cum, pop.conn_active[day], rng.random(n))
    other = _weighted_prefix_pick(pop.user_cum, pop.user_active[day], rng.random(n))
    user = np.where(rng.random(n) < _OWNER_SHARE, pop.owner[conn], other)

    # What and how it went.
    op = np.searchsorted(np.cumsum(_OP_WEIGHTS), rng.random(n) * _OP_WEIGHTS.sum(), "right")
    op = np.minimum(op, len(_OPERATIONS) - 1)
    outcome = np.searchsorted(_OUTCOME_CUM, rng.random(n), side="right")
    ok = outcome >= len(_OUTCOMES)
    table = np.vstack([_OUTCOMES, [[0, 0, _NULL, _NULL, 0.0, 1.0]]])[outcome]
    status = np.where(ok, _OP_OK_STATUS[op], table[:, 0]).astype(np.int16)
    backend = np.where(ok, status, table[:, 1]).astype(np.int16)
    source = table[:, 2].astype(np.int8)
    reason = table[:, 3].astype(np.int8)
    latency = rng.lognormal(0.0, 0.5, n) * _OP_LATENCY_MS[op] * table[:, 5]

    # Incidents: a share of the rows in the window, each row changed at most once.
    changed = np.full(n, _NULL, dtype=np.int8)
    for inc in spec.incidents:
        if inc.connector is not None and inc.connector != pop.name:
            continue
        start = _to_utc_us(inc.start)
        stop = start + round(inc.hours * 3_600_000_000)
        a, b = (int(i) for i in np.searchsorted(time, [start, stop], side="left"))
        if a >= b:
            continue
        m = b - a
        if inc.kind == "backend-outage":
            new = np.where(rng.random(m) < 0.5, 502, 503)
            backend_new, source_new, reason_new = 503, _SRC_BACKEND, _RSN_BACKEND_CONN
            median, sigma = 8000.0, 0.8
        elif inc.kind == "connector-bug":
            new = np.full(m, 500)
            backend_new, source_new, reason_new = 200, _SRC_POLICY, _RSN_EXPRESSION
            median, sigma = 40.0, 0.6
        elif inc.kind == "throttling-storm":
            new = np.full(m, 429)
            backend_new, source_new, reason_new = _NULL, _SRC_RATE_LIMIT, _RSN_RATE_LIMIT
            median, sigma = 4.0, 0.3
        else:  # unattributed-5xx: nothing says who failed
            new = np.where(rng.random(m) < 0.5, 500, 502)
            backend_new, source_new, reason_new = _NULL, _NULL, _NULL
            median, sigma = 1500.0, 0.8
        hit = (rng.random(m) < inc.rate) & (changed[a:b] == _NULL) & (new != status[a:b])
        where = a + np.flatnonzero(hit)
        if not len(where):
            continue
        status[where] = new[hit]
        backend[where], source[where], reason[where] = backend_new, source_new, reason_new
        latency[where] = median * rng.lognormal(0.0, sigma, len(where))
        changed[where] = INCIDENT_KINDS.index(inc.kind)

    # Each connector's ids are its own: two connectors simulated with the same seed (in
    # one run or two) share none, as two real connectors' logs share none.
    key = (np.uint64(pop.index) << np.uint64(40)) | row.astype(np.uint64)
    name_salt = np.random.SeedSequence([zlib.crc32(pop.name.encode()), 11]).generate_state(
        1, np.uint64
    )[0]
    ids = _hex_ids(_splitmix64(key ^ id_salt ^ name_salt))

    # Duplicates: re-emitted copies next to their original.
    dup_lo = lo * pop.duplicates // max(pop.originals, 1)
    dup_hi = hi * pop.duplicates // max(pop.originals, 1)
    take = None
    if dup_hi > dup_lo:
        copies = rng.choice(n, size=dup_hi - dup_lo, replace=False)
        take = np.sort(np.concatenate([np.arange(n), copies]), kind="stable")
        time, status, backend = time[take], status[take], backend[take]
        source, reason, latency = source[take], reason[take], latency[take]
        op, conn, user, changed = op[take], conn[take], user[take], changed[take]
        ids = ids.take(pa.array(take))
    for k, count in enumerate(np.bincount(changed[changed >= 0], minlength=len(INCIDENT_KINDS))):
        if count:
            injected[INCIDENT_KINDS[k]] += int(count)

    size = len(time)
    columns = [
        pa.array(time, pa.timestamp("us", tz="UTC")),
        pa.array(status, pa.int16()),
        pa.repeat(pop.name, size).cast(pa.string()),
        pa.array(_OPERATIONS, pa.string()).take(pa.array(op.astype(np.int32))),
        pop.conn_labels.take(pa.array(conn)),
        pop.user_labels.take(pa.array(user)),
        pa.array(backend, pa.int16(), mask=backend < 0),
        _nullable_take(pa.array(_SOURCES, pa.string()), source),
        _nullable_take(pa.array(_REASONS, pa.string()), reason),
        pa.nulls(size, pa.string()),
        pa.array(np.round(latency, 1), pa.float64()),
        pa.repeat("public", size).cast(pa.string()),
        ids,
        pa.array(np.full(size, weight, dtype=np.int32), pa.int32()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMA)


def _batches(spec: SimulationSpec, injected: dict[str, int]) -> Iterator[pa.RecordBatch]:
    weight = max(1, round(1 / spec.sample_rate))
    salt = np.random.SeedSequence([spec.seed, 7]).generate_state(1, np.uint64)[0]
    for pop in _plan(spec):
        total = pop.originals
        for chunk, lo in enumerate(range(0, total, CHUNK_ROWS)):
            hi = min(lo + CHUNK_ROWS, total)
            yield _chunk(spec, pop, chunk, lo, hi, weight, salt, injected)


# --- validation and parsing -------------------------------------------------------------


def _validate(spec: SimulationSpec) -> None:
    def bad(what: str, expected: str, got: object) -> InputError:
        return InputError(f"simulation: {what} must be {expected}, got {got!r}")

    if not isinstance(spec.days, int) or spec.days < 1:
        raise bad("days", "an integer ≥ 1", spec.days)
    if type(spec.end) is not dt.date:
        raise bad("end", "a date such as 2026-11-20", spec.end)
    if not isinstance(spec.seed, int) or spec.seed < 0:
        raise bad("seed", "an integer ≥ 0", spec.seed)
    for name in ("connections", "users"):
        value = getattr(spec, name)
        if not isinstance(value, int) or value < 1:
            raise bad(name, "an integer ≥ 1", value)
    if not isinstance(spec.requests_per_day, int) or spec.requests_per_day < 0:
        raise bad("requests_per_day", "an integer ≥ 0", spec.requests_per_day)
    if spec.rows is not None and (not isinstance(spec.rows, int) or spec.rows < 0):
        raise bad("rows", "an integer ≥ 0", spec.rows)
    if not spec.connectors or any(not isinstance(c, str) or not c for c in spec.connectors):
        raise bad("connectors", "a non-empty list of connector ids", spec.connectors)
    if len(set(spec.connectors)) != len(spec.connectors):
        raise bad("connectors", "distinct connector ids", spec.connectors)
    if not 0 < spec.sample_rate <= 1:
        raise bad("sample_rate", "in (0, 1]", spec.sample_rate)
    if not 0 <= spec.duplicate_rate <= 1:
        raise bad("duplicate_rate", "in [0, 1]", spec.duplicate_rate)
    for inc in spec.incidents:
        if inc.kind not in INCIDENT_KINDS:
            raise bad("incident kind", "one of " + ", ".join(INCIDENT_KINDS), inc.kind)
        if not inc.hours > 0:
            raise bad(f"{inc.kind} incident hours", "> 0", inc.hours)
        if not 0 < inc.rate <= 1:
            raise bad(f"{inc.kind} incident rate", "in (0, 1]", inc.rate)
        if inc.connector is not None and inc.connector not in spec.connectors:
            raise bad(
                f"{inc.kind} incident connector", "one of the simulated connectors", inc.connector
            )


_INCIDENT_RE = re.compile(
    r"^(?P<kind>[a-z0-9-]+)@(?P<start>[^/]+)/(?P<amount>\d+(?:\.\d+)?)(?P<unit>[smhd])"
    r"(?::(?P<rate>\d+(?:\.\d+)?%?))?$"
)
_UNIT_HOURS = {"s": 1 / 3600, "m": 1 / 60, "h": 1.0, "d": 24.0}
_INCIDENT_FORM = "KIND@START/DURATION[:RATE], e.g. backend-outage@2026-11-10T08:00:00Z/6h:0.5"


def parse_incident(text: str) -> Incident:
    """Parse the CLI form ``KIND@START/DURATION[:RATE]``.

    START is an ISO-8601 date-time (UTC unless it has an offset), DURATION a number with
    a unit s, m, h or d, RATE a share in (0, 1] or a percentage (``50%``).
    """

    def bad(why: str) -> InputError:
        return InputError(f"invalid incident {text!r}: {why}; expected {_INCIDENT_FORM}")

    match = _INCIDENT_RE.match(text.strip())
    if not match:
        raise bad("not in the expected form")
    kind = match["kind"]
    if kind not in INCIDENT_KINDS:
        raise bad(f"unknown kind {kind!r} (one of {', '.join(INCIDENT_KINDS)})")
    try:
        start = dt.datetime.fromisoformat(match["start"])
    except ValueError:
        raise bad(f"start {match['start']!r} is not an ISO-8601 date-time") from None
    start = start.replace(tzinfo=dt.UTC) if start.tzinfo is None else start.astimezone(dt.UTC)
    hours = float(match["amount"]) * _UNIT_HOURS[match["unit"]]
    if hours <= 0:
        raise bad("the duration must be > 0")
    rate = 1.0
    if match["rate"] is not None:
        raw = match["rate"]
        rate = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
        if not 0 < rate <= 1:
            raise bad(f"rate {raw!r} is not in (0, 1]")
    return Incident(kind=kind, start=start, hours=hours, rate=rate)  # type: ignore[arg-type]


# --- writing ----------------------------------------------------------------------------


def _for_text(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Times as ISO-8601 strings with 'Z', for CSV and JSONL."""
    time = pc.strftime(batch.column(0), format="%Y-%m-%dT%H:%M:%SZ")
    return pa.RecordBatch.from_arrays([time, *batch.columns[1:]], names=SCHEMA.names)


def _write(batches: Iterator[pa.RecordBatch], path: Path, fmt: str) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetWriter(path, SCHEMA, compression="zstd") as writer:
            for batch in batches:
                writer.write_batch(batch, row_group_size=CHUNK_ROWS)
    elif fmt == "csv":
        import pyarrow.csv as pcsv

        text_schema = SCHEMA.set(0, pa.field("time", pa.string()))
        with pcsv.CSVWriter(path, text_schema) as writer:
            for batch in batches:
                writer.write_batch(_for_text(batch))
    else:
        import duckdb

        failure: list[BaseException] = []

        def text_batches() -> Iterator[pa.RecordBatch]:
            try:
                for batch in batches:
                    yield _for_text(batch)
            except BaseException as exc:  # duckdb would wrap it: keep it to raise as is
                failure.append(exc)
                raise

        text_schema = SCHEMA.set(0, pa.field("time", pa.string()))
        reader = pa.RecordBatchReader.from_batches(text_schema, text_batches())
        con = duckdb.connect()
        try:
            con.execute("SET threads = 1")  # more threads buffer the stream to keep its order
            con.register("simulated", reader)
            target = str(path).replace("'", "''")
            con.execute(f"COPY (SELECT * FROM simulated) TO '{target}' (FORMAT json)")
        except duckdb.Error:
            if failure:
                raise failure[0] from None
            raise
        finally:
            con.close()
        if not path.exists():  # nothing to write: duckdb may not create the file
            path.touch()


def simulate(spec: SimulationSpec, out: str | Path, fmt: str | None = None) -> SimulationSummary:
    """Write the telemetry described by ``spec`` to ``out`` and say what was written.

    ``fmt`` is ``parquet``, ``csv`` or ``jsonl``; when None it comes from the suffix of
    ``out``. The file appears only once complete.
    """
    _validate(spec)
    out = Path(out)
    if fmt is None:
        suffix = out.suffix.lower().lstrip(".")
        fmt = {"pq": "parquet", "json": "jsonl", "ndjson": "jsonl"}.get(suffix, suffix)
    if fmt not in FORMATS:
        raise InputError(
            f"simulation output {str(out)!r}: format must be one of {', '.join(FORMATS)} "
            f"(from --format or the file suffix), got {fmt!r}"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:12]}.tmp")
    injected = {inc.kind: 0 for inc in spec.incidents}
    rows = 0

    def counted() -> Iterator[pa.RecordBatch]:
        nonlocal rows
        for batch in _batches(spec, injected):
            rows += batch.num_rows
            yield batch

    try:
        _write(counted(), tmp, fmt)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return SimulationSummary(
        rows=rows,
        first_day=spec.first_day,
        last_day=spec.end,
        connectors=list(spec.connectors),
        injected=injected,
    )
