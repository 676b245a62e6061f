"""The metric queries: DESIGN.md's definitions as Ibis expressions, executed at the edge.

The requests stream through the engine a few times (input quality, duplicates, the daily
aggregate, weekly users, operations); everything later works on the small daily aggregate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from fractions import Fraction

import ibis
from ibis.backends import BaseBackend

from .. import engine
from ..attribution import attribute
from ..policy import Policy
from ..schema import REJECT_REASONS
from ..sources import Telemetry
from .model import (
    ConnectorMetrics,
    DayCounts,
    InputQuality,
    OperationCounts,
    RejectSample,
    WeekCount,
)

MAX_SAMPLES = 10


# ---- input quality ---------------------------------------------------------------------


def input_quality(telemetry: Telemetry, connectors: Sequence[str] | None = None) -> InputQuality:
    """One scan: rows read, rejected (by reason), and request_ids repeated among accepted rows
    of the selected connectors. Files are broken down only when something was rejected."""
    t = telemetry.table
    accepted = t._reject.isnull()
    if connectors:
        accepted = accepted & t.connector.isin(list(connectors))
    # Distinct 64-bit hashes cost less than distinct strings; as many hashes as ids proves
    # there is no duplicate. Fewer (a duplicate, or a collision) is settled exactly below.
    metrics = {
        "rows": t.count(),
        "with_id": t.request_id.count(where=accepted),
        "distinct_hashes": engine.id_hash(t.request_id).nunique(
            where=accepted & t.request_id.notnull()  # a null id may hash to a value
        ),
    }
    for code in REJECT_REASONS:
        metrics[f"reject_{code}"] = (t._reject == code).cast("int64").sum().fill_null(0)
    row = t.aggregate(**metrics).execute().iloc[0]
    quality = InputQuality(
        files=len(telemetry.files), rows=int(row["rows"]), sources=telemetry.sources
    )
    if int(row["distinct_hashes"]) != int(row["with_id"]):
        exact = t.aggregate(distinct_ids=t.request_id.nunique(where=accepted)).execute()
        quality.duplicate_rows = int(row["with_id"]) - int(exact["distinct_ids"].iloc[0])
    for code in REJECT_REASONS:
        n = int(row[f"reject_{code}"])
        if n:
            quality.rejects_by_reason[code] = n
            quality.rejected_rows += n
    if quality.rejected_rows:
        bad = t.filter(t._reject.notnull())
        per_file = bad.group_by("_file").aggregate(n=bad.count()).execute()
        given = {path: i for i, path in enumerate(telemetry.files)}
        # In the order the files were given, whatever order the engine returns them in.
        for file, rows in sorted(
            per_file.itertuples(index=False), key=lambda r: (given.get(r[0], len(given)), r[0])
        ):
            quality.rejects_by_file[telemetry.name_of(file)] = int(rows)
        quality.samples = reject_samples(telemetry, quality)
    return quality


def reject_samples(telemetry: Telemetry, quality: InputQuality) -> list[RejectSample]:
    """Locate the first rejected rows, file by file, in the order the files were given."""
    if telemetry.stored_samples is not None:
        return telemetry.stored_samples[:MAX_SAMPLES]
    samples: list[RejectSample] = []
    for path in telemetry.files:
        if telemetry.name_of(path) not in quality.rejects_by_file:
            continue
        numbered = telemetry.numbered(path)
        bad = numbered.filter(numbered._reject.notnull()).order_by("_row")
        records = bad.limit(MAX_SAMPLES - len(samples)).execute().to_dict("records")
        places = telemetry.locations(path, [int(r["_row"]) for r in records])
        for record in records:
            code = record["_reject"]
            unit, number = places[int(record["_row"])]
            value = record.get(f"_raw_{code}")
            samples.append(
                RejectSample(
                    file=telemetry.name_of(path),
                    line=number,
                    unit=unit,
                    reason=REJECT_REASONS.get(code, code),
                    value=value if isinstance(value, str) else None,
                )
            )
        if len(samples) >= MAX_SAMPLES:
            break
    return samples


# ---- the request table -----------------------------------------------------------------


def first_of_each_request(t: ibis.Table) -> ibis.Table:
    """A repeated request_id counts once: keep its earliest row (rows without an id stay)."""
    rank = ibis.row_number().over(
        group_by=t.request_id, order_by=[t.time, t.status, t.fault, t.backend_status]
    )
    t = t.mutate(_rank=rank)
    return t.filter(t.request_id.isnull() | (t._rank == 0)).drop("_rank")


def valid_requests(
    telemetry: Telemetry,
    policy: Policy,
    quality: InputQuality,
    connectors: Sequence[str] | None = None,
) -> ibis.Table:
    """Accepted rows, duplicates of a request_id removed, with fault and UTC day.

    When the input scan found no rejects (or no duplicates), that step is left out, so the
    engine reads only the columns each query needs.
    """
    t = telemetry.table
    if quality.rejected_rows:
        t = t.filter(t._reject.isnull())
    if connectors:
        t = t.filter(t.connector.isin(list(connectors)))
    if quality.duplicate_rows:
        t = first_of_each_request(t)
    t = attribute(t, policy.attribution.unattributed_5xx)
    return t.mutate(day=t.time.date())


def daily_aggregate(requests: ibis.Table) -> ibis.Table:
    """Requests per connector, day, connection, fault and status class: the small table
    from which reliability, SLO, MAC and the daily series are all computed."""
    r = requests
    return r.group_by(
        connector=r.connector,
        day=r.day,
        connection_id=r.connection_id,
        fault=r.fault,
        status_class=(r.status // 100).cast("int16"),
        unattributed=r.unattributed,
        has_user=r.user_id.notnull(),
    ).aggregate(requests=r.weight.sum(), rows=r.count(), max_weight=r.weight.max())


# ---- windows ---------------------------------------------------------------------------


def last_sunday(day: dt.date) -> dt.date:
    """The latest Sunday on or before `day` (a week is complete when its Sunday ≤ D)."""
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def iso_week_label(monday: dt.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _windows_table(rows: list[dict]) -> ibis.Table:
    return ibis.memtable(
        rows,
        schema=ibis.schema(
            {"connector": "string", "w_start": "date", "w_end": "date", "m_start": "date"}
        ),
    )


def _in_window(table: ibis.Table, windows: ibis.Table, start: str = "w_start") -> ibis.Table:
    joined = table.join(windows, "connector")
    return joined.filter((joined.day >= joined[start]) & (joined.day <= joined.w_end))


# ---- the computation -------------------------------------------------------------------


def compute(
    con: BaseBackend,
    telemetry: Telemetry,
    policy: Policy,
    as_of: dt.date | None = None,
    connectors: Sequence[str] | None = None,
) -> tuple[InputQuality, dict[str, ConnectorMetrics]]:
    """Every metric for every connector in the telemetry (or the named ones)."""
    quality = input_quality(telemetry, connectors)
    requests = valid_requests(telemetry, policy, quality, connectors)
    daily = engine.materialize(con, daily_aggregate(requests), "cga_daily")

    spans = (
        daily.group_by("connector")
        .aggregate(first=daily.day.min(), last=daily.day.max(), max_weight=daily.max_weight.max())
        .execute()
    )
    window_days = policy.window.reliability_days
    lookback = policy.window.mac_lookback_days
    mac_days = policy.window.mac_days
    results: dict[str, ConnectorMetrics] = {}
    windows: list[dict] = []
    # Every connector is judged as of one D: the latest request in the whole telemetry.
    d = as_of or max((_date(last) for last in spans["last"]), default=None)
    for row in spans.itertuples(index=False):
        first, last = _date(row.first), _date(row.last)
        start = d - dt.timedelta(days=window_days - 1)
        results[row.connector] = ConnectorMetrics(
            connector=row.connector,
            as_of=d,
            window_start=start,
            window_end=d,
            first_day=first,
            last_day=last,
            weighted=int(row.max_weight) > 1,
        )
        mac_first_target = d - dt.timedelta(days=mac_days - 1)
        windows.append(
            {
                "connector": row.connector,
                "w_start": start,
                "w_end": d,
                "m_start": mac_first_target - dt.timedelta(days=lookback - 1),
            }
        )
    for name in connectors or ():
        if name not in results:
            results[name] = _empty(name, as_of)
    if not windows:
        return quality, results

    wins = _windows_table(windows)
    _reliability(daily, wins, results, policy)
    _slo(daily, wins, results, policy)
    _mac(daily, wins, results, lookback, mac_days)
    _wau(requests, results, policy.window.wau_weeks)
    _operations(requests, windows, results)
    return quality, results


def _utc(day: dt.date) -> ibis.Value:
    """Midnight UTC of a day, as a zone-aware literal comparable with `time`."""
    return ibis.literal(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC))


def _date(value) -> dt.date:
    return value.date() if hasattr(value, "date") else value


def _empty(name: str, as_of: dt.date | None) -> ConnectorMetrics:
    d = as_of or dt.datetime.now(dt.UTC).date()
    return ConnectorMetrics(
        connector=name, as_of=d, window_start=d, window_end=d, first_day=None, last_day=None
    )


def _reliability(
    daily: ibis.Table, wins: ibis.Table, results: dict[str, ConnectorMetrics], policy: Policy
) -> None:
    w = _in_window(daily, wins)
    per_day = (
        w.group_by("connector", "day", "fault", "status_class")
        .aggregate(
            requests=w.requests.sum(),
            rows_without_connection=w.rows.sum(where=w.connection_id.isnull()).fill_null(0),
            rows_without_user=w.rows.sum(where=~w.has_user).fill_null(0),
            unattributed=w.requests.sum(where=w.unattributed).fill_null(0),
        )
        .execute()
    )
    days: dict[tuple[str, dt.date], DayCounts] = {}
    for row in per_day.itertuples(index=False):
        m = results[row.connector]
        n = int(row.requests)
        fault = row.fault
        m.requests += n
        m.faults[fault] += n
        m.rows_without_connection += int(row.rows_without_connection)
        m.rows_without_user += int(row.rows_without_user)
        m.unattributed_5xx += int(row.unattributed)
        success = fault != "throttled" and 1 <= int(row.status_class) <= 3
        if success:
            m.successes += n
        day = _date(row.day)
        counts = days.setdefault((row.connector, day), DayCounts(date=day))
        counts.requests += n
        counts.faults[fault] += n
        label = f"{int(row.status_class)}xx"
        counts.status_classes[label] = counts.status_classes.get(label, 0) + n
        if fault != "throttled":
            counts.eligible += n
            if success:
                counts.successes += n
    for counts in days.values():
        # Rows come in the engine's order: the JSON lists classes the same on every run.
        counts.status_classes = dict(sorted(counts.status_classes.items()))
    for m in results.values():
        m.throttled = m.faults["throttled"]
        m.eligible = m.requests - m.throttled
        m.daily = sorted(
            (c for (name, _), c in days.items() if name == m.connector), key=lambda c: c.date
        )


def _slo(
    daily: ibis.Table, wins: ibis.Table, results: dict[str, ConnectorMetrics], policy: Policy
) -> None:
    """Connections whose own availability meets the bar, decided on integers."""
    bar: Fraction = policy.criteria.availability.exact_threshold
    w = _in_window(daily, wins)
    w = w.filter(w.connection_id.notnull())
    per_connection = w.group_by("connector", "connection_id").aggregate(
        eligible=w.requests.sum(where=w.fault != "throttled"),
        connector_faults=w.requests.sum(where=w.fault == "connector"),
    )
    c = per_connection.mutate(
        eligible=per_connection.eligible.fill_null(0),
        connector_faults=per_connection.connector_faults.fill_null(0),
    )
    c = c.filter(c.eligible >= 1)
    meets = (c.eligible - c.connector_faults) * bar.denominator >= c.eligible * bar.numerator
    if policy.criteria.availability.comparison == ">":
        meets = (c.eligible - c.connector_faults) * bar.denominator > c.eligible * bar.numerator
    flagged = c.mutate(meets=meets.cast("int64"))
    summary = (
        flagged.group_by("connector")
        .aggregate(connections=flagged.count(), meeting=flagged.meets.sum())
        .execute()
    )
    for row in summary.itertuples(index=False):
        m = results[row.connector]
        m.connections = int(row.connections)
        m.connections_meeting_bar = int(row.meeting)


def _mac(
    daily: ibis.Table,
    wins: ibis.Table,
    results: dict[str, ConnectorMetrics],
    lookback: int,
    mac_days: int,
) -> None:
    """MAC(d) = distinct connections with a request on [d-lookback+1, d], for the last days.

    Each connection's active days are merged into islands whose coverage is contiguous
    (next active day ≤ previous + lookback), so MAC(d) counts islands covering d: +1 at an
    island's first day, -1 the day after its coverage ends. No distinct count per day.
    """
    w = _in_window(daily, wins, start="m_start")
    pairs = w.filter(w.connection_id.notnull()).select("connector", "connection_id", "day")
    pairs = pairs.distinct()
    order = ibis.window(group_by=[pairs.connector, pairs.connection_id], order_by=pairs.day)
    previous = pairs.day.lag().over(order)
    gap = pairs.day.delta(previous, unit="day")
    starts = ibis.ifelse(previous.isnull() | (gap > lookback), 1, 0)
    marked = pairs.mutate(_new=starts)
    marked = marked.mutate(_island=marked._new.cumsum().over(order))
    islands = marked.group_by("connector", "connection_id", "_island").aggregate(
        first=marked.day.min(), last=marked.day.max()
    )
    events = islands.group_by("connector", "first", "last").aggregate(n=islands.count()).execute()
    deltas: dict[str, dict[dt.date, int]] = {}
    for row in events.itertuples(index=False):
        per = deltas.setdefault(row.connector, {})
        first, last = _date(row.first), _date(row.last)
        per[first] = per.get(first, 0) + int(row.n)
        end = last + dt.timedelta(days=lookback)
        per[end] = per.get(end, 0) - int(row.n)
    for name, m in results.items():
        if m.first_day is None:
            continue
        per = sorted(deltas.get(name, {}).items())
        targets = [m.as_of - dt.timedelta(days=k) for k in range(mac_days - 1, -1, -1)]
        series, running, i = [], 0, 0
        for d in targets:
            while i < len(per) and per[i][0] <= d:
                running += per[i][1]
                i += 1
            series.append((d, running))
        m.mac_series = series
        m.mac_current = series[-1][1]
        qualifying = [
            (d, n)
            for d, n in series
            if d - dt.timedelta(days=lookback - 1) >= m.first_day and d <= m.last_day
        ]
        if qualifying:
            m.mac_min_date, m.mac_min = min(qualifying, key=lambda item: (item[1], item[0]))
            m.mac_partial_lookback = False
        else:
            m.mac_min_date, m.mac_min = m.as_of, m.mac_current
            m.mac_partial_lookback = True


def _wau(requests: ibis.Table, results: dict[str, ConnectorMetrics], weeks: int) -> None:
    """Distinct users in each of the last complete ISO weeks (throttled requests included)."""
    plans: dict[str, list[dt.date]] = {}
    for name, m in results.items():
        if m.first_day is None:
            continue
        sunday = last_sunday(m.as_of)
        plans[name] = [sunday - dt.timedelta(days=6 + 7 * k) for k in range(weeks - 1, -1, -1)]
    if not plans:
        return
    lo = min(mondays[0] for mondays in plans.values())
    hi = max(mondays[-1] for mondays in plans.values()) + dt.timedelta(days=7)
    r = requests
    lo_ts, hi_ts = _utc(lo), _utc(hi)
    r = r.filter((r.time >= lo_ts) & (r.time < hi_ts) & r.connector.isin(list(plans)))
    counts = (
        r.group_by(connector=r.connector, week=r.time.truncate("W").date())
        .aggregate(users=r.user_id.nunique())
        .execute()
    )
    found = {(row.connector, _date(row.week)): int(row.users) for row in counts.itertuples()}
    for name, mondays in plans.items():
        m = results[name]
        m.wau = [
            WeekCount(
                week=iso_week_label(monday),
                start=monday,
                users=found.get((name, monday), 0),
                before_first_day=monday < m.first_day,
            )
            for monday in mondays
        ]


def _requests_in_windows(requests: ibis.Table, windows: list[dict]) -> ibis.Table:
    """Requests inside their connector's reliability window (a time range when all agree,
    so the engine can skip row groups; a join on the connector otherwise)."""
    spans = {(w["w_start"], w["w_end"]) for w in windows}
    if len(spans) == 1:
        ((start, end),) = spans
        lo = _utc(start)
        hi = _utc(end + dt.timedelta(days=1))
        return requests.filter((requests.time >= lo) & (requests.time < hi))
    return _in_window(requests, _windows_table(windows))


def _operations(requests: ibis.Table, windows: list[dict], results: dict[str, ConnectorMetrics]):
    """Per operation in the window: eligible requests, connector faults and successes."""
    w = _requests_in_windows(requests, windows)
    eligible = w.fault != "throttled"
    ops = (
        w.group_by(connector=w.connector, operation=w.operation.fill_null("(none)"))
        .aggregate(
            eligible=w.weight.sum(where=eligible).fill_null(0),
            connector_faults=w.weight.sum(where=w.fault == "connector").fill_null(0),
            successes=w.weight.sum(where=eligible & (w.status < 400)).fill_null(0),
        )
        .execute()
    )
    for row in ops.itertuples(index=False):
        results[row.connector].operations.append(
            OperationCounts(
                operation=row.operation,
                eligible=int(row.eligible),
                connector_faults=int(row.connector_faults),
                successes=int(row.successes),
            )
        )
    for m in results.values():
        m.operations.sort(key=lambda o: (-o.connector_faults, -o.eligible, o.operation))
