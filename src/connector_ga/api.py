"""The library's front door: `check` returns Results; the CLI only parses and prints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ibis.backends import BaseBackend

from . import engine as engines
from .config import GaConfig, load_config
from .errors import InputError
from .evaluate import evaluate
from .metrics.compute import compute
from .metrics.model import InputQuality
from .package.evidence import package_backend
from .policy import Policy, load_policy
from .result import Result
from .sources import read_telemetry


@dataclass
class CheckRun:
    """Everything one check produced: a Result per connector and the input's quality."""

    results: list[Result]
    quality: InputQuality
    policy: Policy


def _pct(value: float) -> str:
    return f"{value * 100:.2f}%"


def run_check(
    *,
    config: GaConfig | None = None,
    telemetry: Sequence[str] | None = None,
    fmt: str | None = None,
    as_of: dt.date | None = None,
    connector: str | None = None,
    all_connectors: bool = False,
    policy: Policy | str | Path | None = None,
    max_reject_rate: float | None = None,
    con: BaseBackend | None = None,
    store: str | Path | None = None,
    engine: str = "duckdb",
) -> CheckRun:
    """Read telemetry (files in place, or a store), compute every metric, judge each connector.

    `engine` runs the metrics on DuckDB (default) or Spark; a store is always DuckDB.
    """
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    base_dir = None
    patterns: list[str] = []
    if telemetry:
        patterns = list(telemetry)
    elif store is not None:
        pass
    elif config is not None and config.telemetry.paths:
        patterns, base_dir = list(config.telemetry.paths), config.base_dir
    else:
        raise InputError(
            "no telemetry given: pass --telemetry PATH or set [telemetry] paths in ga.toml"
        )
    fmt = fmt or (config.telemetry.format if config else "auto")
    backend = package_backend(config)  # before the telemetry: a wrong package path fails fast
    declared_id = config.connector.id if config else None
    wanted = connector or declared_id
    if store is not None and not patterns:
        from .store import Store

        if engine != "duckdb":
            raise InputError(f"--engine {engine}: a store is read with DuckDB; pass --telemetry")

        opened = Store.open(store)
        con, data = opened.con, opened.telemetry(default_connector=wanted)
    else:
        con = con or engines.connect(engine=engine)
        fields = config.telemetry.fields if config else None
        data = read_telemetry(
            con, patterns, fmt, default_connector=wanted, base_dir=base_dir, fields=fields
        )

    selection = None if all_connectors else ([wanted] if wanted else None)
    try:
        quality, metrics = compute(con, data, policy, as_of=as_of, connectors=selection)
    except engines.engine_errors() as exc:
        raise _unreadable(data, exc) from None

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
            f"{', '.join(data.display.values())}: no valid request rows",
            details=[str(s) for s in quality.samples],
        )

    if selection and wanted and metrics[wanted].first_day is None:
        others = _connectors_in(data)
        raise InputError(
            f"telemetry holds no request for connector '{wanted}'"
            + (f" (it holds: {', '.join(others)})" if others else "")
        )
    if not all_connectors and not wanted and len(metrics) > 1:
        raise InputError(
            f"telemetry holds {len(metrics)} connectors ({', '.join(sorted(metrics))}): "
            "pass --connector ID for one, or --all for a verdict per connector"
        )

    def declares(name: str) -> bool:
        """ga.toml's declarations are about its own connector, and only that one."""
        if config is None:
            return False
        if declared_id is None:
            return not all_connectors
        return name == declared_id

    results = [
        evaluate(
            m,
            quality,
            policy,
            config if declares(name) else None,
            backend=backend if declares(name) else None,
        )
        for name, m in sorted(metrics.items())
    ]
    return CheckRun(results=results, quality=quality, policy=policy)


def _unreadable(data, exc: BaseException) -> InputError:
    """An engine error met mid-way (a file corrupt past its first rows): name the file."""
    from .sources.files import find_unreadable, first_line, json_problem

    for path, plan in data.plans.items():
        culprit = find_unreadable(data.con, plan.container, [plan.read_path])
        if culprit is not None:
            if plan.container == "json":
                located = json_problem(path)
                if located is not None:
                    return InputError(
                        f"{data.name_of(path)}:{located[0]}: not valid JSON: {located[1]}"
                    )
            return InputError(f"{data.name_of(path)}: cannot be read: {culprit[1]}")
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
