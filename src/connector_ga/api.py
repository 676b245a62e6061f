"""The library's front door: `check` returns Results; the CLI only parses and prints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ibis
from ibis.backends import BaseBackend

from . import engine as engines
from .config import GaConfig, load_config
from .errors import InputError
from .evaluate import evaluate
from .lake import is_export, lake
from .metrics.compute import Aggregates, metrics_as_of
from .metrics.model import ConnectorMetrics, InputQuality
from .metrics.series import last_sunday, metric_series
from .package.evidence import BackendEvidence, package_backend
from .policy import Policy, load_policy
from .pseudonyms import local_salt
from .result import Result, TelemetrySource
from .rollups import in_place, input_quality
from .sources import Telemetry, read_telemetry
from .trajectory import history
from .trajectory.fixplan import fix_plan
from .trajectory.forecast import DEFAULT_HORIZON, SCENARIOS, TREND_WEEKS, forecast, project
from .trajectory.history import History
from .trajectory.watch import Watch, alert_table, watch_of


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
    """Telemetry read and checked, aggregated once: what a check, a history, a forecast
    and a watch are all computed from."""

    con: BaseBackend
    data: Telemetry | None  # files read in place; None for a store or an export
    quality: InputQuality
    policy: Policy
    aggs: Aggregates
    names: list[str]  # the connectors judged
    configs: dict[str, GaConfig | None]  # ga.toml for the connector it declares, else None
    backends: dict[str, BackendEvidence | None]
    source: TelemetrySource | None = None  # what was read: a store, an export, or files

    @property
    def pseudonymised(self) -> bool:
        """Whether connection ids are a store's salted hashes already."""
        return self.data is None

    def pseudonym(self, column: ibis.Value) -> ibis.Value:
        """A connection id as shown in reports: never the raw id. A store holds salted
        SHA-256 pseudonyms already; ids read in place are hashed with the local salt."""
        if self.pseudonymised:
            return column.substr(0, 16)
        return (ibis.literal(local_salt()) + column).hexdigest("sha256").substr(0, 16)

    def unreadable(self, exc: BaseException) -> InputError:
        if self.data is None:
            from .faults import damaged_segment

            return damaged_segment(exc) or InputError(
                f"the stored telemetry cannot be read: {engines.error_line(exc)}"
            )
        return _unreadable(self.data, exc)

    def release(self) -> None:
        """Let go of the engine session (and so of anything it holds open)."""
        if self.data is None:
            self.con.disconnect()


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
    con: BaseBackend | None = None,
    store: str | Path | None = None,
    engine: str = "duckdb",
) -> Prepared:
    """Read telemetry (files in place, or a store), check its quality, aggregate it, and
    settle which connectors are judged and what ga.toml declares for each. Which telemetry
    is read: see `telemetry_to_read`; `Prepared.source` says what was."""
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    patterns, base_dir, store = telemetry_to_read(config, telemetry, store)
    fmt = fmt or (config.telemetry.format if config else "auto")
    backend = package_backend(config)  # before the telemetry: a wrong package path fails fast
    declared_id = config.connector.id if config else None
    wanted = connector or declared_id
    selection = None if all_connectors else ([wanted] if wanted else None)
    if fmt == "export" and len(patterns) != 1:
        raise InputError("--format export: expected one folder that `store export` wrote")
    data = None
    if store is not None and not patterns:
        from .store import snapshot

        if engine != "duckdb":
            raise InputError(f"--engine {engine}: a store is read with DuckDB; pass --telemetry")
        stored = snapshot(store, selection)
        con, quality = stored.con, stored.quality
        source = TelemetrySource(kind="store", paths=[str(store)], version=stored.version)
        _check_quality(str(store), quality, policy, max_reject_rate)
        aggs = stored.aggregates(policy)
    elif len(patterns) == 1 and (fmt == "export" or is_export(_resolved(patterns[0], base_dir))):
        root = _resolved(patterns[0], base_dir)
        source = TelemetrySource(kind="export", paths=[root])
        con = con or engines.connect(engine=engine)
        try:
            aggs, quality = lake(con, root, policy, selection)
        except engines.engine_errors() as exc:
            raise InputError(
                f"{root}: cannot be read as an export: {engines.error_line(exc)}"
            ) from None
        _check_quality(root, quality, policy, max_reject_rate)
    else:
        con = con or engines.connect(engine=engine)
        fields = config.telemetry.fields if config else None
        azure = config.telemetry.azure if config else None
        data = read_telemetry(
            con,
            patterns,
            fmt,
            default_connector=wanted,
            base_dir=base_dir,
            fields=fields,
            identity=azure.credential if azure else "default",
        )
        source = TelemetrySource(kind="files", paths=[data.name_of(f) for f in data.files])
        try:
            quality = input_quality(data, selection)
            _check_quality(", ".join(data.display.values()), quality, policy, max_reject_rate)
            aggs = in_place(con, data, policy, quality, selection)
        except engines.engine_errors() as exc:
            raise _unreadable(data, exc) from None

    if selection and wanted and wanted not in aggs.spans:
        others = _connectors_in(data) if data is not None else sorted(aggs.spans)[:20]
        raise InputError(
            f"telemetry holds no request for connector '{wanted}'"
            + (f" (it holds: {', '.join(others)})" if others else "")
        )
    if not all_connectors and not wanted and len(aggs.spans) > 1:
        raise InputError(
            f"telemetry holds {len(aggs.spans)} connectors ({', '.join(sorted(aggs.spans))}): "
            "pass --connector ID for one, or --all for a verdict per connector"
        )

    def declares(name: str) -> bool:
        """ga.toml's declarations are about its own connector, and only that one."""
        if config is None:
            return False
        if declared_id is None:
            return not all_connectors
        return name == declared_id

    names = sorted(aggs.spans)
    return Prepared(
        con=con,
        data=data,
        quality=quality,
        policy=policy,
        aggs=aggs,
        names=names,
        configs={n: config if declares(n) else None for n in names},
        backends={n: backend if declares(n) else None for n in names},
        source=source,
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
    d = as_of or p.aggs.latest_day
    try:
        if trajectory:  # the forecast's weeks hold the check's: count them all at once
            last_monday = last_sunday(d) - dt.timedelta(days=6)
            first_monday = last_monday - dt.timedelta(weeks=TREND_WEEKS - 1)
            p.aggs.weekly_users(names, first_monday, last_monday)
        metrics = metrics_as_of(p.aggs, p.policy, d, names)
        results = {name: judge(p, m) for name, m in metrics.items()}
        if trajectory:
            _add_trajectory(p, results, scenario, horizon)
        histories = _histories(p, _timeline(p, d, timeline_days), names) if timeline_days else {}
    except engines.engine_errors() as exc:
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
    first = min((s.first for s in p.aggs.spans.values()), default=last)
    return [d for d in history_days(None, last, days, last) if d >= first]


def _day_results(
    p: Prepared, targets: list[dt.date], names: Sequence[str] | None = None
) -> dict[str, list[Result]]:
    """Each connector's Result as of each target day, from the aggregate in one pass."""
    names = list(names) if names is not None else p.names
    spans = {n: s for n, s in p.aggs.spans.items() if n in names}
    series = metric_series(p.aggs.daily, p.aggs.weekly_users, p.policy, targets, spans)
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
        p.aggs.daily,
        p.aggs.weekly_users,
        p.aggs.spans,
        p.quality,
        p.policy,
        p.configs,
        p.backends,
        scenario,
        horizon,
    )
    for name, result in results.items():
        result.forecast = forecast(result, projections.get(name), p.policy, scenario, horizon)
        result.fix_plan = fix_plan(p.aggs, result, p.policy, p.pseudonym)


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
    targets = history_days(first, last, days, p.aggs.latest_day)
    names = list(names) if names is not None else p.names
    try:
        results = _day_results(p, targets, names)
    except engines.engine_errors() as exc:
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


def _connectors_in(data) -> list[str]:
    t = data.table
    t = t.filter(t._reject.isnull())
    rows = t.select("connector").distinct().limit(20).execute()
    return sorted(rows["connector"].tolist())


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
    from telemetry already prepared; the figures a `checked` run judged are reused."""
    known = checked.figures if checked is not None else None
    return watch_of(p.aggs, p.policy, p.names, lambda m: judge(p, m), at, known)


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
    except engines.engine_errors() as exc:
        from .faults import damaged_segment

        damaged = damaged_segment(exc)
        if damaged is not None:
            raise damaged from None
        raise InputError(f"telemetry cannot be read: {engines.error_line(exc)}") from None
    finally:
        p.release()  # the store may be written next (the watch state)
    return WatchRun(watches=watches, quality=p.quality, policy=policy)
