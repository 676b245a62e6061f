"""`connector-ga ingest` and `connector-ga store info|prune|forget|export|verify`: the
embedded store."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from ..locations import DEFAULT_STORE
from ..waiting import DEFAULT_WAIT_SECONDS
from .common import (
    EARLIEST_DATE,
    LATEST_DATE,
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
    files: Annotated[
        list[str] | None,
        typer.Argument(
            help="Telemetry files, globs or folders; az://CONTAINER/PREFIX or "
            "abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PREFIX for blobs."
        ),
    ] = None,
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
    source: Annotated[
        str | None,
        typer.Option("--from", help="azure: ask Azure Monitor Logs (ga.toml telemetry.azure)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="With --from azure: from this date or UTC time."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="With --from azure: up to this date or UTC time (now)."),
    ] = None,
) -> None:
    """Ingest telemetry into the store, in one transaction; ids are pseudonymised first.
    Files with more bad rows than --max-reject-rate allows (as `check`) are refused whole.
    `--from azure` reads Azure Monitor Logs instead, resuming where the last ingest ended."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ..store import ingest as ingest_files

    check_reject_rate(max_reject_rate)
    cfg = load_config_here(config)
    if source is not None or since is not None or until is not None:
        _ingest_remote(source, files, since, until, cfg, config, store, policy, max_reject_rate)
        return
    if not files:
        raise InputError("ingest: expected telemetry files, or --from azure")
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
            identity=cfg.telemetry.azure.credential if cfg and cfg.telemetry.azure else "default",
        )
    elapsed = time.perf_counter() - started
    for entry in report.files:
        if entry.unchanged_blob:
            err.print(f"{entry.path}: already ingested (same ETag), not downloaded")
        elif entry.skipped:
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


def parse_instant(value: str | None, option: str) -> dt.datetime | None:
    """A date (midnight UTC) or an ISO 8601 time (UTC when it names no offset)."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{option} {value!r}: expected a date such as 2026-09-01 or a UTC time such as "
            "2026-11-30T00:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if not EARLIEST_DATE <= moment.date() <= LATEST_DATE:
        raise InputError(
            f"{option} {value}: expected a time between {EARLIEST_DATE} and {LATEST_DATE}"
        )
    return moment.astimezone(dt.UTC)


def _ingest_remote(source, files, since, until, cfg, config, store, policy, max_reject_rate):
    from rich.progress import BarColumn, Progress, TextColumn

    from ..azure_ingest import ingest_from_azure

    if source != "azure":
        shown = "--since/--until" if source is None else f"--from {source}"
        raise InputError(f"{shown}: expected --from azure (the only remote source)")
    if files:
        raise InputError("--from azure: expected no telemetry files beside it")
    name = str(config) if config is not None else "ga.toml"
    if cfg is None or cfg.telemetry.azure is None:
        raise InputError(
            f"{name}: --from azure needs a [telemetry.azure] section (workspace or resource, "
            "table, credential)"
        )
    start, end = parse_instant(since, "--since"), parse_instant(until, "--until")
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}% of the time, {task.fields[rows]} rows"),
        console=err,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("asking Azure Monitor Logs", total=None, rows="0")

        def advance(covered, total, rows) -> None:
            bar.update(
                task,
                completed=covered.total_seconds(),
                total=total.total_seconds(),
                rows=f"{rows:,}",
            )

        done = ingest_from_azure(
            store,
            cfg.telemetry.azure,
            since=start,
            until=end,
            fields=cfg.telemetry.fields,
            default_connector=cfg.connector.id,
            progress=advance,
            max_reject_rate=max_reject_rate,
            policy=policy,
        )
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    how = "resumed, less the overlap" if done.resumed else "asked"
    err.print(
        f"azure: {done.start:{stamp}} to {done.end:{stamp}} ({how}): {done.rows:,} rows in "
        f"{done.slices} slice(s), {done.splits} split, {done.retries} retried"
    )
    for entry in done.report.files:
        if entry.skipped:
            err.print(f"{entry.path}: already ingested (same content), nothing changed")
        else:
            err.print(
                f"{entry.path}: {entry.rows:,} rows, {entry.accepted - entry.duplicates:,} "
                f"stored, {entry.duplicates:,} already stored (request_id), "
                f"{entry.rejected:,} rejected"
            )
    err.print(f"stored {done.report.inserted:,} requests in {store}")


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

    from rich.text import Text

    from ..outputs.fit import Col, Fitted, say
    from ..store import Store

    with Store.open(store) as opened:
        info = opened.info()
    if as_json:
        write_stdout(json.dumps(info, indent=2) + "\n")
        return
    console = Terminal(highlight=False)
    say(
        console,
        f"{info['store']}: {info['rows']:,} requests, {info['rejects']:,} rejected rows, "
        f"schema v{info['schema_version']}",
        indent="  ",
    )
    columns = [Col("connector"), Col("requests", "right"), Col("first"), Col("last")]
    rows = [
        [Text(c["connector"]), f"{c['rows']:,}", c["first"], c["last"]] for c in info["connectors"]
    ]
    console.print(Fitted(columns, rows, title="connectors"))
    headers = ("file", "hash", "format", "ingested", "rows", "stored", "dupes", "rejected")
    columns = [Col(h, "right" if i > 3 else "left") for i, h in enumerate(headers)]
    rows = [
        [
            Text(f["path"]),
            f["hash"][:12],  # a prefix `store forget` accepts; `--json` has the whole hash
            Text(f["format"]),
            f["ingested_at"],
            f"{f['rows']:,}",
            f"{f['accepted'] - f['duplicates']:,}",
            f"{f['duplicates']:,}",
            f"{f['rejected']:,}",
        ]
        for f in info["files"]
    ]
    console.print(Fitted(columns, rows, title="files"))
    for source in info["sources"]:
        # Spaces between the parts: a narrow terminal wraps between them, not inside a name.
        where = source["source"].replace(";", "; ")
        say(console, f"{where}: complete up to {source['covered_until']}", indent="  ")


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
