"""The command line: each command parses options and calls one library function."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import time
from functools import wraps
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .errors import InputError
from .store import DEFAULT_STORE

app = typer.Typer(
    name="connector-ga",
    help="Prove from evidence whether a Power Platform connector may move from preview to GA.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False)

EXIT_READY, EXIT_NOT_READY, EXIT_INPUT = 0, 1, 2


def user_errors(command):
    """Turn a user's mistake into one clear line on stderr and exit code 2, never a traceback."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            for line in exc.details:
                err.print(f"  {line}", markup=False)
            err.print(f"[bold red]error:[/] {exc.message}", soft_wrap=True)
            raise typer.Exit(EXIT_INPUT) from None
        except KeyboardInterrupt:
            err.print("interrupted: nothing was written")
            raise typer.Exit(130) from None

    return wrapper


def _working(message: str):
    """A spinner on stderr while the engine works, only when a person is watching."""
    if err.is_terminal:
        return err.status(message)
    return contextlib.nullcontext()


def telemetry_store(telemetry, store: Path | None, cfg) -> Path | None:
    """The store `check` reads: none when files are given; the named one; the default one
    when it holds telemetry (it may exist only for the request ledger). Without any of
    them, ga.toml must name telemetry paths."""
    from .ledger import holds_telemetry

    if telemetry:
        return None
    store_path = store or DEFAULT_STORE
    if store is not None or holds_telemetry(store_path):
        return store_path
    if not (cfg and cfg.telemetry.paths):
        raise InputError(
            "no telemetry: pass --telemetry PATH, ingest into a store "
            "(`connector-ga ingest FILES`), or set [telemetry] paths in ga.toml"
        )
    return None


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r}: expected a date such as 2026-11-20") from None


@app.command()
@user_errors
def check(
    telemetry: Annotated[
        list[str] | None,
        typer.Option("--telemetry", "-t", help="Telemetry files, globs or folders (repeatable)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="ga.toml (default: ./ga.toml if present).")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="auto, csv, jsonl, parquet, apim, appinsights or otlp."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Evaluation date D (default: latest request).")
    ] = None,
    connector: Annotated[
        str | None, typer.Option("--connector", help="The connector to judge in fleet telemetry.")
    ] = None,
    all_connectors: Annotated[
        bool, typer.Option("--all", help="One verdict per connector in the telemetry.")
    ] = False,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the JSON result to FILE, or - for stdout.")
    ] = None,
    policy: Annotated[
        str | None, typer.Option("--policy", help="A policy TOML file (default power-platform-ga).")
    ] = None,
    max_reject_rate: Annotated[
        float | None,
        typer.Option("--max-reject-rate", help="Stop when more than this share of rows is bad."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 0 only for the verdict 'ready'.")
    ] = False,
    store: Annotated[
        Path | None,
        typer.Option("--store", help="Store to read when no --telemetry is given."),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write the self-contained HTML evidence report to FILE."),
    ] = None,
    markdown: Annotated[
        str | None,
        typer.Option("--markdown", help="Write the Markdown summary for CI to FILE, or -."),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine", help="duckdb (embedded) or spark (PySpark; SPARK_REMOTE for Connect)."
        ),
    ] = "duckdb",
) -> None:
    """Judge a connector against the GA criteria; exit 0 when ready, 1 when not, 2 on bad input."""
    from .api import run_check
    from .config import load_config
    from .outputs import json_result, terminal

    if max_reject_rate is not None and not 0 <= max_reject_rate <= 1:
        raise InputError(f"--max-reject-rate {max_reject_rate}: expected a share between 0 and 1")
    if json_out == "-" and markdown == "-":
        raise InputError("--json - and --markdown -: only one of them can go to stdout")
    cfg = None
    if config is not None:
        cfg = load_config(config)
    elif Path("ga.toml").is_file():
        cfg = load_config("ga.toml")
    with _working("reading telemetry and computing metrics"):
        run = run_check(
            config=cfg,
            telemetry=telemetry,
            store=telemetry_store(telemetry, store, cfg),
            fmt=fmt,
            as_of=_date(as_of, "--as-of"),
            connector=connector,
            all_connectors=all_connectors,
            policy=policy,
            max_reject_rate=max_reject_rate,
            engine=engine,
        )
    to_stdout = json_out == "-" or markdown == "-"
    console = err if to_stdout else Console(highlight=False)
    if all_connectors:
        terminal.render_fleet(run.results, console)
        payload = json_result.dumps(run.results)
    else:
        terminal.render(run.results[0], console)
        payload = json_result.dumps(run.results[0])
    if json_out == "-":
        sys.stdout.write(payload)
    elif json_out:
        json_result.write_atomic(json_out, payload)
    _write_summaries(run.results, report, markdown)
    ok = [r.verdict == "ready" if strict else r.ready for r in run.results]
    raise typer.Exit(EXIT_READY if all(ok) else EXIT_NOT_READY)


def _write_summaries(results: list, report: Path | None, markdown: str | None) -> None:
    """The HTML report and the Markdown summary; a fleet gets one file of each."""
    from .outputs import html_report
    from .outputs import markdown as markdown_summary
    from .outputs.json_result import write_atomic

    if report is not None:
        with _working("rendering the HTML report"):
            write_atomic(report, html_report.render(results))
        err.print(f"wrote the HTML report to {report}")
    if markdown == "-":
        sys.stdout.write(markdown_summary.render(results))
    elif markdown:
        write_atomic(markdown, markdown_summary.render(results))


@app.command()
@user_errors
def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .parquet, .csv or .jsonl.")],
    days: Annotated[int, typer.Option(help="Days of telemetry.")] = 90,
    end: Annotated[str | None, typer.Option(help="Last UTC day (default 2026-11-20).")] = None,
    connections: Annotated[int, typer.Option(help="Connections per connector at the end.")] = 300,
    users: Annotated[int, typer.Option(help="Users per connector at the end.")] = 1200,
    requests_per_day: Annotated[int, typer.Option(help="Requests per day at the end.")] = 20000,
    rows: Annotated[int | None, typer.Option(help="Total rows (overrides requests/day).")] = None,
    connector: Annotated[
        list[str] | None, typer.Option("--connector", help="Connector id (repeat for a fleet).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    sample_rate: Annotated[float, typer.Option(help="Keep this share of rows, weighted.")] = 1.0,
    duplicate_rate: Annotated[float, typer.Option(help="Share of rows logged twice.")] = 0.0,
    incident: Annotated[
        list[str] | None,
        typer.Option(
            "--incident",
            help="KIND@START/DURATION[:RATE], e.g. connector-bug@2026-11-10T08:00Z/6h "
            "(backend-outage, connector-bug, throttling-storm, unattributed-5xx).",
        ),
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="parquet, csv or jsonl.")] = None,
) -> None:
    """Write realistic simulated telemetry in the canonical schema."""
    from .simulate import SimulationSpec, parse_incident
    from .simulate import simulate as run

    spec = SimulationSpec(
        days=days,
        connections=connections,
        users=users,
        requests_per_day=requests_per_day,
        rows=rows,
        seed=seed,
        sample_rate=sample_rate,
        duplicate_rate=duplicate_rate,
        incidents=[parse_incident(text) for text in incident or []],
    )
    if end is not None:
        spec.end = _date(end, "--end")
    if connector:
        spec.connectors = list(connector)
    summary = run(spec, out, fmt)
    injected = ", ".join(f"{k} {v:,}" for k, v in summary.injected.items())
    err.print(
        f"wrote {summary.rows:,} requests for {', '.join(summary.connectors)} "
        f"({summary.first_day} – {summary.last_day}) to {out}"
        + (f"; injected: {injected}" if injected else "")
    )


store_app = typer.Typer(help="The embedded store: what it holds, and retention.")
app.add_typer(store_app, name="store")


@app.command()
@user_errors
def ingest(
    files: Annotated[list[str], typer.Argument(help="Telemetry files, globs or folders.")],
    fmt: Annotated[
        str, typer.Option("--format", help="auto, csv, jsonl, parquet, apim, appinsights, otlp.")
    ] = "auto",
    store: Annotated[Path, typer.Option("--store", help="The store file.")] = DEFAULT_STORE,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="ga.toml (default: ./ga.toml).")
    ] = None,
) -> None:
    """Ingest telemetry into the store, in one transaction; ids are pseudonymised first."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .config import load_config
    from .store import Store

    cfg = (
        load_config(config)
        if config
        else (load_config("ga.toml") if Path("ga.toml").is_file() else None)
    )
    with Store.open(store, create=True) as opened:
        started = time.perf_counter()
        done_rows = 0
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            console=err,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task("ingesting", total=None, rate="")

            def advance(entry) -> None:
                nonlocal done_rows
                done_rows += entry.rows
                rate = done_rows / max(time.perf_counter() - started, 1e-9)
                bar.update(task, advance=1, rate=f"{rate:,.0f} rows/s")

            report = opened.ingest(
                files,
                fmt,
                fields=cfg.telemetry.fields if cfg else None,
                default_connector=cfg.connector.id if cfg else None,
                progress=advance,
                found_files=lambda total: bar.update(task, total=total),
            )
    elapsed = time.perf_counter() - started
    for entry in report.files:
        if entry.skipped:
            err.print(f"{entry.path}: already ingested (same content), nothing changed")
        else:
            err.print(
                f"{entry.path}: {entry.rows:,} rows, {entry.accepted - entry.duplicates:,} "
                f"stored, {entry.duplicates:,} already stored (request_id), "
                f"{entry.rejected:,} rejected"
            )
    total = sum(e.rows for e in report.files)
    err.print(
        f"stored {report.inserted:,} requests in {store} ({total / max(elapsed, 1e-9):,.0f} rows/s)"
    )


@store_app.command("info")
@user_errors
def store_info(
    store: Annotated[Path, typer.Option("--store", help="The store file.")] = DEFAULT_STORE,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Connectors, date range, rows and rejects, per ingested file."""
    import json

    from rich.table import Table

    from .store import Store

    with Store.open(store) as opened:
        info = opened.info()
    if as_json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        return
    console = Console(highlight=False)
    console.print(
        f"{info['store']}: {info['rows']:,} requests, {info['rejects']:,} rejected rows, "
        f"schema v{info['schema_version']}"
    )
    connectors = Table("connector", "requests", "first", "last", title="connectors")
    for c in info["connectors"]:
        connectors.add_row(c["connector"], f"{c['rows']:,}", c["first"], c["last"])
    console.print(connectors)
    files = Table(
        "file", "hash", "format", "ingested", "rows", "stored", "dupes", "rejected", title="files"
    )
    for f in info["files"]:
        files.add_row(
            f["path"],
            f["hash"],
            f["format"],
            f["ingested_at"],
            f"{f['rows']:,}",
            f"{f['accepted'] - f['duplicates']:,}",
            f"{f['duplicates']:,}",
            f"{f['rejected']:,}",
        )
    console.print(files)


@store_app.command("prune")
@user_errors
def store_prune(
    keep_days: Annotated[int, typer.Option("--keep-days", help="Keep this many days.")],
    store: Annotated[Path, typer.Option("--store", help="The store file.")] = DEFAULT_STORE,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Today (default: UTC).")] = None,
) -> None:
    """Delete stored requests older than N days, in one transaction."""
    from .store import Store

    with Store.open(store, write=True) as opened:
        deleted = opened.prune(keep_days, _date(as_of, "--as-of"))
    err.print(f"deleted {deleted:,} requests older than {keep_days} days from {store}")


@app.command()
@user_errors
def init(
    package: Annotated[
        Path | None,
        typer.Argument(help="The connector package folder (apiDefinition.swagger.json)."),
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write ga.toml (default: here).")
    ] = Path("."),
    connector_id: Annotated[str | None, typer.Option("--id", help="Connector id.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing ga.toml.")] = False,
) -> None:
    """Write a commented ga.toml, pre-filled from the connector package when one is given."""
    from .init import write_ga_toml

    path = write_ga_toml(directory, package, force=force, connector_id=connector_id)
    err.print(
        f"wrote {path}: declare backend status, support hours and preview_since, then run "
        "`connector-ga check`"
    )


from .package.edition_commands import register as _register_editions  # noqa: E402

_register_editions(app)

from .package.commands import register as _register_package  # noqa: E402

_register_package(app)

from .request_commands import register as _register_request  # noqa: E402

_register_request(app)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
