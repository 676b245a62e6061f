"""The library's front door: `check` returns Results; the CLI only parses and prints."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import GaConfig, load_config
from .engine_errors import engine_errors, error_line
from .errors import InputError
from .evaluate import evaluate
from .metrics.compute import metrics_as_of
from .metrics.local import Rollups
from .metrics.model import ConnectorMetrics, InputQuality
from .metrics.series import last_sunday, metric_series
from .package.evidence import BackendEvidence, package_backend
from .policy import Policy, load_policy
from .result import Result, TelemetrySource
from .trajectory import history
from .trajectory.fixplan import fix_plan
from .trajectory.forecast import DEFAULT_HORIZON, SCENARIOS, TREND_WEEKS, forecast, project
from .trajectory.history import History
from .trajectory.watch import Watch, alert_table, as_utc, bucket_minutes, watch_of

# The requests of some days, attributed, as the engine reads them (a watch's last hours):
# the engine's connection and an Ibis table.
RequestsOf = Callable[[dt.date, dt.date], tuple[Any, Any]]


def stored_pseudonym(connection: str) -> str:
    """A store's connection ids are its salted SHA-256 already: shown by their start."""
    return connection[:16]


@dataclass
class CheckRun:
    """Everything one check produced: a Result per connector and the input's quality."""

    results: list[Result]
    quality: InputQuality
    policy: Policy
    histories: dict[str, History] = field(default_factory=dict)  # when asked for (reports)
    figures: dict[str, ConnectorMetrics] = field(default_factory=dict)  # what was judged


@dataclass
class Prepared:
    """Telemetry read once into its rollups (files in place, a store or an export): what a
    check, a history, a forecast and a watch are all computed from, locally."""

    quality: InputQuality
    policy: Policy
    rollups: Rollups
    names: list[str]  # the connectors judged
    configs: dict[str, GaConfig | None]  # ga.toml for the connector it declares, else None
    backends: dict[str, BackendEvidence | None]
    source: TelemetrySource | None = None  # what was read: a store, an export, or files
    requests: RequestsOf | None = None  # a watch's last hours
    pseudonym: Callable[[str], str] = stored_pseudonym
    damaged: Callable[[BaseException], InputError] | None = None  # a store's segments

    def unreadable(self, exc: BaseException) -> InputError:
        if self.damaged is not None:
            return self.damaged(exc)
        return InputError(f"telemetry cannot be read: {error_line(exc)}")

    def release(self) -> None:
        """Let go of the local session (and so of the memory it holds)."""
        self.rollups.close()


def _pct(value: float) -> str:
    return f"{value * 100:.2f}%"


def prepare(
    *,
    config: GaConfig | None = None,
    telemetry: Sequence[str] | None = None,
    fmt: str | None = None,
    connector: str | None = None,
    all_connectors: bool = False,
    policy: Policy | str | Path | None = None,
    max_reject_rate: float | None = None,
    con: Any = None,
    store: str | Path | None = None,
    engine: str = "duckdb",
) -> Prepared:
    """Read telemetry (files in place, a store or an export) once into its rollups, check
    its quality, and settle which connectors are judged and what ga.toml declares for
    each. Which telemetry is read: see `telemetry_to_read`; `Prepared.source` says what
    was. `con` is an engine connection to read files or an export with (default: a new
    one of `engine`); a store is read by DuckDB's own API."""
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    patterns, base_dir, store = telemetry_to_read(config, telemetry, store)
    fmt = fmt or (config.telemetry.format if config else "auto")
    backend = package_backend(config)  # before the telemetry: a wrong package path fails fast
    declared_id = config.connector.id if config else None
    wanted = connector or declared_id
    selection = None if all_connectors else ([wanted] if wanted else None)
    unattributed = policy.attribution.unattributed_5xx
    if fmt == "export" and len(patterns) != 1:
        raise InputError("--format export: expected one folder that `store export` wrote")
    if store is not None and not patterns:
        if engine != "duckdb":
            raise InputError(f"--engine {engine}: a store is read with DuckDB; pass --telemetry")
        read = _from_store(Path(store), selection, unattributed)
    elif len(patterns) == 1 and (fmt == "export" or _is_export(_resolved(patterns[0], base_dir))):
        read = _from_export(_resolved(patterns[0], base_dir), selection, unattributed, con, engine)
    else:
        fields = config.telemetry.fields if config else None
        azure = config.telemetry.azure if config else None
        read = _from_files(
            patterns, fmt, base_dir, fields, azure, wanted, selection, unattributed, con, engine
        )
    try:
        _check_quality(read.where, read.quality, policy, max_reject_rate)
        spans = read.rollups.spans
        if selection and wanted and wanted not in spans:
            others = sorted(read.seen)[:20]
            raise InputError(
                f"telemetry holds no request for connector '{wanted}'"
                + (f" (it holds: {', '.join(others)})" if others else "")
            )
        if not all_connectors and not wanted and len(spans) > 1:
            raise InputError(
                f"telemetry holds {len(spans)} connectors ({', '.join(sorted(spans))}): "
                "pass --connector ID for one, or --all for a verdict per connector"
            )
    except BaseException:
        read.rollups.close()
        raise

    def declares(name: str) -> bool:
        """ga.toml's declarations are about its own connector, and only that one."""
        if config is None:
            return False
        if declared_id is None:
            return not all_connectors
        return name == declared_id

    names = sorted(read.rollups.spans)
    return Prepared(
        quality=read.quality,
        policy=policy,
        rollups=read.rollups,
        names=names,
        configs={n: config if declares(n) else None for n in names},
        backends={n: backend if declares(n) else None for n in names},
        source=read.source,
        requests=read.requests,
        pseudonym=read.pseudonym,
        damaged=read.damaged,
    )


@dataclass
class _Read:
    """One way of reading telemetry, done: its rollups and what `Prepared` keeps of it."""

    rollups: Rollups
    quality: InputQuality
    source: TelemetrySource
    where: str  # what was read, as an error names it
    seen: set[str]  # every connector with an accepted request, asked for or not
    requests: RequestsOf
    pseudonym: Callable[[str], str] = stored_pseudonym
    damaged: Callable[[BaseException], InputError] | None = None


def _from_store(store: Path, selection: list[str] | None, unattributed: str) -> _Read:
    """A store's rollups and quality, copied into a local session (no engine)."""
    from .snapshot import snapshot

    snap = snapshot(store, selection)
    rollups = snap.rollups(unattributed)

    engines: list = []  # one engine session, opened when a watch first asks

    def requests(first: dt.date, last: dt.date):
        from . import engine
        from .attribution import attribute
        from .store import requests_of

        if not engines:
            engines.append(engine.connect())
        con = engines[0]
        r = requests_of(con, snap.segment_files(first, last))
        r = r.filter((r.day >= first) & (r.day <= last))
        if selection:
            r = r.filter(r.connector.isin(selection))
        return con, attribute(r, unattributed)

    def damaged(exc: BaseException) -> InputError:
        from .faults import damaged_segment

        return damaged_segment(exc) or InputError(
            f"the stored telemetry cannot be read: {error_line(exc)}"
        )

    return _Read(
        rollups=rollups,
        quality=snap.quality,
        source=TelemetrySource(kind="store", paths=[str(store)], version=snap.version),
        where=str(store),
        seen=set(rollups.spans),
        requests=requests,
        damaged=damaged,
    )


def _is_export(path: str) -> bool:
    from .lake import is_export

    return is_export(path)


def _from_export(
    root: str, selection: list[str] | None, unattributed: str, con: Any, engine: str
) -> _Read:
    """An export's rollups and quality, read by the engine into a local session."""
    from . import engine as engines
    from .attribution import attribute
    from .lake import lake, requests_of_days

    con = con or engines.connect(engine=engine)
    try:
        session, quality = lake(con, root, selection)
    except engines.engine_errors() as exc:
        raise InputError(f"{root}: cannot be read as an export: {error_line(exc)}") from None
    rollups = Rollups(session, unattributed)

    def requests(first: dt.date, last: dt.date):
        return con, attribute(requests_of_days(con, root, selection, first, last), unattributed)

    return _Read(
        rollups=rollups,
        quality=quality,
        source=TelemetrySource(kind="export", paths=[root]),
        where=root,
        seen=set(rollups.spans),
        requests=requests,
    )


def _from_files(
    patterns, fmt, base_dir, fields, azure, wanted, selection, unattributed, con, engine
) -> _Read:
    """Files read in place, once (`rollups.check_in_place`)."""
    from . import engine as engines
    from .pseudonyms import local_salt
    from .rollups import check_in_place, valid_requests
    from .sources import read_telemetry

    con = con or engines.connect(engine=engine)
    data = read_telemetry(
        con,
        patterns,
        fmt,
        default_connector=wanted,
        base_dir=base_dir,
        fields=fields,
        identity=azure.credential if azure else "default",
    )
    try:
        counted, quality = check_in_place(data, selection)
    except engines.engine_errors() as exc:
        raise _unreadable(data, exc) from None
    salt = local_salt()

    def pseudonym(connection: str) -> str:
        """Ids read in place are shown hashed with the local salt, never raw."""
        return hashlib.sha256((salt + connection).encode()).hexdigest()[:16]

    def requests(first: dt.date, last: dt.date):
        import ibis

        r = valid_requests(data, unattributed, quality, selection)
        start = ibis.literal(dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC))
        end = ibis.literal(
            dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        )
        return con, r.filter((r.time >= start) & (r.time < end))

    return _Read(
        rollups=counted.rollups(unattributed),
        quality=quality,
        source=TelemetrySource(kind="files", paths=[data.name_of(f) for f in data.files]),
        where=", ".join(data.display.values()),
        seen=counted.seen,
        requests=requests,
        pseudonym=pseudonym,
        damaged=lambda exc: _unreadable(data, exc),
    )


def telemetry_to_read(
    config: GaConfig | None, telemetry: Sequence[str] | None, store: str | Path | None
) -> tuple[list[str], Path | None, Path | None]:
    """The one rule the CLI and the library follow: the telemetry given (`-t`), else the
    store given (`--store`), else ga.toml's `[telemetry] paths` (relative to its folder),
    else the default store (`.connector-ga/store.duckdb` in the working folder) when it
    holds telemetry. Returns the patterns, their base folder, and the store to read."""
    if telemetry:
        return list(telemetry), None, None
    if store is not None:
        return [], None, Path(store)
    if config is not None and config.telemetry.paths:
        return list(config.telemetry.paths), config.base_dir, None
    from .ledger import holds_telemetry
    from .locations import DEFAULT_STORE

    if holds_telemetry(DEFAULT_STORE):
        return [], None, DEFAULT_STORE
    raise InputError(
        "no telemetry: pass --telemetry PATH, ingest into a store "
        "(`connector-ga ingest FILES`), or set [telemetry] paths in ga.toml"
    )


def _resolved(pattern: str, base_dir: Path | None) -> str:
    """A telemetry path as the engine reads it (relative to ga.toml's folder if it came
    from there; an URI as it is)."""
    if "://" in pattern or base_dir is None or Path(pattern).is_absolute():
        return pattern
    return str(base_dir / pattern)


def _check_quality(where: str, quality: InputQuality, policy: Policy, max_reject_rate) -> None:
    limit = policy.data_quality.max_reject_rate if max_reject_rate is None else max_reject_rate
    if quality.rows and quality.rejected_rows > limit * quality.rows:
        raise InputError(
            f"{quality.rejected_rows:,} of {quality.rows:,} rows rejected "
            f"({_pct(quality.reject_rate)}, more than the {_pct(limit)} allowed by "
            "--max-reject-rate): fix the telemetry or raise the limit",
            details=[str(s) for s in quality.samples],
        )
    if quality.rows == quality.rejected_rows:
        raise InputError(
            f"{where}: no valid request rows",
            details=[str(s) for s in quality.samples],
        )


def judge(p: Prepared, metrics: ConnectorMetrics) -> Result:
    name = metrics.connector
    result = evaluate(
        metrics, p.quality, p.policy, p.configs.get(name), backend=p.backends.get(name)
    )
    result.data_quality.source = p.source  # every output says what it read
    return result


def run_check(
    *,
    as_of: dt.date | None = None,
    scenario: str = "no-new-faults",
    horizon: int = DEFAULT_HORIZON,
    trajectory: bool = True,
    timeline_days: int = 0,
    **options,
) -> CheckRun:
    """Read telemetry, compute every metric, judge each connector as of one date D (the
    latest request of all, or `as_of`), and add the forecast and the fix plan (unless
    `trajectory` is False). `timeline_days` adds each connector's history over that many
    days up to D (the report's readiness timeline), from the same aggregate.

    `engine` runs the metrics on DuckDB (default) or Spark; a store is always DuckDB.
    """
    if scenario not in SCENARIOS:
        raise InputError(f"--scenario {scenario}: expected one of {', '.join(SCENARIOS)}")
    if horizon < 1:
        raise InputError(f"--horizon {horizon}: expected a number of days >= 1")
    return check_prepared(
        prepare(**options),
        as_of=as_of,
        scenario=scenario,
        horizon=horizon,
        trajectory=trajectory,
        timeline_days=timeline_days,
    )


def check_prepared(
    p: Prepared,
    *,
    as_of: dt.date | None = None,
    scenario: str = "no-new-faults",
    horizon: int = DEFAULT_HORIZON,
    trajectory: bool = True,
    timeline_days: int = 0,
    names: Sequence[str] | None = None,
) -> CheckRun:
    """`run_check` on telemetry already prepared (the dashboard keeps one per store
    version); `names` judges only those of the prepared connectors."""
    names = list(names) if names is not None else p.names
    d = as_of or p.rollups.latest_day
    try:
        if trajectory:  # the forecast's weeks hold the check's: count them all at once
            last_monday = last_sunday(d) - dt.timedelta(days=6)
            first_monday = last_monday - dt.timedelta(weeks=TREND_WEEKS - 1)
            p.rollups.weekly_users(names, first_monday, last_monday)
        metrics = metrics_as_of(p.rollups, p.policy, d, names)
        results = {name: judge(p, m) for name, m in metrics.items()}
        if trajectory:
            _add_trajectory(p, results, scenario, horizon)
        histories = _histories(p, _timeline(p, d, timeline_days), names) if timeline_days else {}
    except engine_errors() as exc:
        raise p.unreadable(exc) from None
    return CheckRun(
        results=[results[n] for n in sorted(results)],
        quality=p.quality,
        policy=p.policy,
        histories=histories,
        figures=metrics,
    )


def _timeline(p: Prepared, last: dt.date, days: int) -> list[dt.date]:
    """Up to `days` days ending on `last`, from the first telemetry day on."""
    first = min((s.first for s in p.rollups.spans.values()), default=last)
    return [d for d in history_days(None, last, days, last) if d >= first]


def _day_results(
    p: Prepared, targets: list[dt.date], names: Sequence[str] | None = None
) -> dict[str, list[Result]]:
    """Each connector's Result as of each target day, from the aggregate in one pass."""
    names = list(names) if names is not None else p.names
    spans = {n: s for n, s in p.rollups.spans.items() if n in names}
    series = metric_series(p.rollups, p.policy, targets, spans)
    return {name: [judge(p, m) for m in series[name]] for name in names}


def _histories(
    p: Prepared, targets: list[dt.date], names: Sequence[str] | None = None
) -> dict[str, History]:
    return {
        name: history.build(name, days) for name, days in _day_results(p, targets, names).items()
    }


def _add_trajectory(p: Prepared, results: dict[str, Result], scenario: str, horizon: int):
    """The forecast of every connector (projected together) and the fix plan of each."""
    projections = project(
        {n: r for n, r in results.items() if r.verdict not in ("ready", "ready-with-exception")},
        p.rollups,
        p.quality,
        p.policy,
        p.configs,
        p.backends,
        scenario,
        horizon,
    )
    for name, result in results.items():
        result.forecast = forecast(result, projections.get(name), p.policy, scenario, horizon)
        result.fix_plan = fix_plan(p.rollups, result, p.policy, p.pseudonym)


@dataclass
class HistoryRun:
    """A history per connector, and the Result of every day it holds."""

    histories: list[History]
    results: dict[str, list[Result]]
    quality: InputQuality


def history_days(
    first: dt.date | None, last: dt.date | None, days: int | None, latest: dt.date | None
) -> list[dt.date]:
    """The days of a history: [first, last], or the `days` days up to `last` (default: the
    latest request); 90 days when neither a first day nor a number of days is given."""
    end = last or latest
    if end is None:
        return []
    if first is not None and days is not None:
        raise InputError("--from and --days: give one of them")
    start = first or end - dt.timedelta(days=(days or DEFAULT_HISTORY_DAYS) - 1)
    if start > end:
        raise InputError(f"--from {start} is after --to {end}")
    if days is not None and days < 1:
        raise InputError(f"--days {days}: expected a number of days >= 1")
    return [start + dt.timedelta(days=k) for k in range((end - start).days + 1)]


DEFAULT_HISTORY_DAYS = 90


def run_history(
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
    days: int | None = None,
    **options,
) -> HistoryRun:
    """For every day of a range, each connector's Result as of that day (equal to a check
    `--as-of` that day), from the daily aggregate in one pass."""
    # bad options fail before reading: the latest request is not known yet, so a range
    # without --to is checked as if it ended on --from itself
    history_days(first, last, days, last or first or dt.date(2000, 1, 1))
    return history_prepared(prepare(**options), first=first, last=last, days=days)


def history_prepared(
    p: Prepared,
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
    days: int | None = None,
    names: Sequence[str] | None = None,
) -> HistoryRun:
    """`run_history` on telemetry already prepared; `names`: only those connectors."""
    targets = history_days(first, last, days, p.rollups.latest_day)
    names = list(names) if names is not None else p.names
    try:
        results = _day_results(p, targets, names)
    except engine_errors() as exc:
        raise p.unreadable(exc) from None
    return HistoryRun(
        histories=[history.build(name, results[name]) for name in names],
        results=results,
        quality=p.quality,
    )


def _unreadable(data, exc: BaseException) -> InputError:
    """An engine error met mid-way (a file corrupt past its first rows): name the file."""
    from .sources.files import find_unreadable, first_line, why_unreadable

    for path, plan in data.plans.items():
        culprit = find_unreadable(data.con, plan.container, [plan.read_path])
        if culprit is not None:
            return InputError(why_unreadable(path, data.name_of(path), plan.container, culprit[1]))
    return InputError(f"telemetry cannot be read: {first_line(exc)}")


def check(
    config: GaConfig | str | Path | None = None,
    telemetry: Sequence[str] | str | None = None,
    **options,
) -> Result:
    """Judge one connector. `config` is a GaConfig or the path of a ga.toml."""
    if isinstance(config, str | Path):
        config = load_config(config)
    if isinstance(telemetry, str | Path):
        telemetry = [str(telemetry)]
    run = run_check(config=config, telemetry=telemetry, **options)
    return run.results[0]


def check_fleet(telemetry: Sequence[str] | str, **options) -> list[Result]:
    """One Result per connector in the telemetry."""
    if isinstance(telemetry, str | Path):
        telemetry = [str(telemetry)]
    return run_check(telemetry=telemetry, all_connectors=True, **options).results


@dataclass
class WatchRun:
    watches: list[Watch]
    quality: InputQuality
    policy: Policy


def watch_prepared(
    p: Prepared, at: dt.datetime | None = None, checked: CheckRun | None = None
) -> list[Watch]:
    """Each judged connector's alerts and budget as of `at` (default: the latest request),
    from telemetry already prepared and the buckets of its last hours (the requests of
    those days, read again: a window ends at any moment, not at the end of a day); the
    figures a `checked` run judged are reused."""
    from .rollups import burn_buckets, latest_time

    known = checked.figures if checked is not None else None
    latest = p.rollups.latest_day
    if at is None:
        con, requests = p.requests(latest, latest)
        at = latest_time(con, requests)
    at = as_utc(at)
    minutes = bucket_minutes(p.policy)
    con, requests = p.requests((at - dt.timedelta(minutes=minutes)).date(), at.date())
    buckets = burn_buckets(con, requests, at, minutes)
    return watch_of(p.rollups, p.policy, p.names, lambda m: judge(p, m), at, buckets, known)


def run_watch(*, at: dt.datetime | None = None, **options) -> WatchRun:
    """Read telemetry once (files in place or a store, as `check` takes them) and watch
    every judged connector as of `at`. The changes are left to `record_changes`."""
    policy = options.pop("policy", None)
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    alert_table(policy)  # before reading anything
    p = prepare(policy=policy, **options)
    try:
        watches = watch_prepared(p, at)
    except engine_errors() as exc:
        from .faults import damaged_segment

        damaged = damaged_segment(exc)
        if damaged is not None:
            raise damaged from None
        raise InputError(f"telemetry cannot be read: {error_line(exc)}") from None
    finally:
        p.release()  # the store may be written next (the watch state)
    return WatchRun(watches=watches, quality=p.quality, policy=policy)
