"""`connector-ga ingest` and `connector-ga store info|prune|forget|export|verify`: the
embedded store."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ..locations import DEFAULT_STORE
from ..waiting import DEFAULT_WAIT_SECONDS
from .common import (
    PolicyOpt,
    RejectOpt,
    Terminal,
    WaitOpt,
    check_reject_rate,
    err,
    load_config_here,
    parse_date,
    user_errors,
    waits_for_store,
    write_stdout,
)

store_app = typer.Typer(
    help="The embedded store: what it holds, retention, and taking a file back out."
)

StoreFileOpt = Annotated[Path, typer.Option("--store", help="The store file.")]


@user_errors
@waits_for_store
def ingest(
    files: Annotated[list[str], typer.Argument(help="Telemetry files, globs or folders.")],
    fmt: Annotated[
        str, typer.Option("--format", help="auto, csv, jsonl, parquet, apim, appinsights, otlp.")
    ] = "auto",
    store: StoreFileOpt = DEFAULT_STORE,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="ga.toml (default: ./ga.toml).")
    ] = None,
    policy: PolicyOpt = None,
    max_reject_rate: RejectOpt = None,
    wait: WaitOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """Ingest telemetry into the store, in one transaction; ids are pseudonymised first.
    Files with more bad rows than --max-reject-rate allows (as `check`) are refused whole."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..store import ingest as ingest_files

    check_reject_rate(max_reject_rate)
    cfg = load_config_here(config)
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

        report = ingest_files(
            store,
            files,
            fmt,
            fields=cfg.telemetry.fields if cfg else None,
            default_connector=cfg.connector.id if cfg else None,
            progress=advance,
            found_files=lambda total: bar.update(task, total=total),
            max_reject_rate=max_reject_rate,
            policy=policy,
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
@waits_for_store
def store_info(
    store: StoreFileOpt = DEFAULT_STORE,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    wait: WaitOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """Connectors, date range, rows and rejects, per ingested file."""
    import json

    from rich.table import Table

    from ..store import Store

    with Store.open(store) as opened:
        info = opened.info()
    if as_json:
        write_stdout(json.dumps(info, indent=2) + "\n")
        return
    console = Terminal(highlight=False)
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
@waits_for_store
def store_prune(
    keep_days: Annotated[int, typer.Option("--keep-days", help="Keep this many days.")],
    store: StoreFileOpt = DEFAULT_STORE,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Count back from this day (default: the latest stored day)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Prune days a criterion's value rests on."),
    ] = False,
    wait: WaitOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """Delete stored requests older than N days before the latest stored day, in one
    transaction."""
    from ..store import prune

    deleted = prune(store, keep_days, parse_date(as_of, "--as-of"), force=force)
    err.print(f"deleted {deleted:,} requests older than {keep_days} days from {store}")


@store_app.command("forget")
@user_errors
@waits_for_store
def store_forget(
    files: Annotated[
        list[str],
        typer.Argument(
            help="Ingested files: a path as `store info` lists it, or a content hash "
            "(a unique prefix of at least 8 hex digits).",
        ),
    ],
    store: StoreFileOpt = DEFAULT_STORE,
    wait: WaitOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """Take ingested files back out: their requests, rollups and rejects, in one publish."""
    from ..store import forget

    forgotten = forget(store, files)
    for entry in forgotten:
        err.print(
            f"forgot {entry.path} ({entry.hash[:12]}): {entry.requests:,} requests, "
            f"{entry.rejects:,} rejected rows"
        )
        if entry.deduplicated_after:
            later = ", ".join(entry.deduplicated_after[:3])
            more = (
                f" and {len(entry.deduplicated_after) - 3} more"
                if len(entry.deduplicated_after) > 3
                else ""
            )
            err.print(
                f"  note: {later}{more}, ingested after {entry.path}, had requests already "
                f"stored (same request_id); those that were {entry.path}'s are not in the "
                "store now: forget and ingest them again to store them"
            )
    err.print(f"removed {len(forgotten)} file(s) from {store} in one publish")


@store_app.command("export")
@user_errors
@waits_for_store
def store_export(
    out: Annotated[Path, typer.Argument(help="The folder to write (Hive-partitioned Parquet).")],
    store: StoreFileOpt = DEFAULT_STORE,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace OUT if it exists and is not empty.")
    ] = False,
    wait: WaitOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """Write the pseudonymised requests and the rollups as Hive-partitioned Parquet
    (connector=…/day=…) with a manifest, for Spark or DuckDB: `check -t OUT`."""
    from ..lake import export

    manifest = export(store, out, overwrite=overwrite)
    tables = ", ".join(f"{name} {t['rows']:,}" for name, t in manifest["tables"].items())
    err.print(f"exported {store} (version {manifest['store_version']}) to {out}: {tables}")


@store_app.command("verify")
@user_errors
@waits_for_store
def store_verify(
    store: StoreFileOpt = DEFAULT_STORE,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Write a damaged segment again from its source files, when they are still "
            "there with the same content.",
        ),
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="ga.toml (default: ./ga.toml).")
    ] = None,
    wait: WaitOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """Check every segment file against what was recorded when it was published (size, rows,
    checksum) and against the rollups; exit 1 when something is damaged, 0 when sound."""
    from ..integrity import verify

    cfg = load_config_here(config) if repair else None
    result = verify(
        store,
        repair=repair,
        fields=cfg.telemetry.fields if cfg else None,
        default_connector=cfg.connector.id if cfg else None,
    )
    segments_dir = f"{store}.segments"
    for d in result.damaged:
        rows = sum(d.days.values())
        source = f" (from {', '.join(d.sources)})" if d.sources else ""
        err.print(
            f"damaged: {segments_dir}/{d.path}: {d.problem}; {rows:,} requests{source}",
            markup=False,
        )
        if d.repaired:
            err.print(f"  repaired: written again from {', '.join(d.sources)}", markup=False)
        elif repair:
            err.print(f"  not repaired: {d.not_repaired}", markup=False)
    for m in result.mismatched:
        err.print(
            f"mismatch: {m.connector} {m.day}: the segments hold {m.segments:,} {m.what}, "
            f"the daily rollup {m.rollup:,}",
            markup=False,
        )
    for connector, days in result.lost_days().items():
        listed = ", ".join(_day_ranges(days))
        err.print(
            f"{connector}: the requests of {listed} are in a damaged segment; the figures "
            "stay (from the rollups), an export or a watch of those days cannot read them",
            markup=False,
        )
    if result.recorded:
        err.print(f"recorded {result.recorded} segment(s) written by an older connector-ga")
    if result.sound:
        repaired = sum(d.repaired for d in result.damaged)
        done = f", {repaired} repaired" if repaired else ""
        err.print(f"{store}: {result.segments} segment(s) sound{done}")
        return
    if not repair and any(d for d in result.damaged):
        err.print("run `connector-ga store verify --repair` to write them again from their files")
    raise typer.Exit(1)


def _day_ranges(days) -> list[str]:
    """Consecutive days as one range: 2026-11-01…2026-11-05, 2026-11-09."""
    import datetime as dt

    out: list[list] = []
    for day in days:
        if out and day - out[-1][1] == dt.timedelta(days=1):
            out[-1][1] = day
        else:
            out.append([day, day])
    return [f"{a}…{b}" if a != b else str(a) for a, b in out]
