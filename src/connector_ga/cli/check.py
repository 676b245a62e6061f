"""`connector-ga check`: judge a connector (or a fleet) and write the outputs asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from ..waiting import DEFAULT_WAIT_SECONDS
from .common import (
    EXIT_NOT_READY,
    EXIT_READY,
    AsOfOpt,
    TelemetryOptions,
    Terminal,
    WaitOpt,
    check_reject_rate,
    err,
    load_config_here,
    parse_date,
    telemetry_options,
    user_errors,
    waits_for_store,
    working,
    write_stdout,
)


@user_errors
@waits_for_store
@telemetry_options()
def check(
    options: TelemetryOptions,
    as_of: AsOfOpt = None,
    all_connectors: Annotated[
        bool, typer.Option("--all", help="One verdict per connector in the telemetry.")
    ] = False,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the JSON result to FILE, or - for stdout.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 0 only for the verdict 'ready'.")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write the self-contained HTML evidence report to FILE."),
    ] = None,
    markdown: Annotated[
        str | None,
        typer.Option("--markdown", help="Write the Markdown summary for CI to FILE, or -."),
    ] = None,
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario",
            help="The forecast's assumption: no-new-faults, or recent-rate (the median daily "
            "connector-fault rate of the last 14 days goes on).",
        ),
    ] = "no-new-faults",
    horizon: Annotated[
        int, typer.Option("--horizon", metavar="DAYS", help="How far the forecast looks.")
    ] = 180,
    wait: WaitOpt = DEFAULT_WAIT_SECONDS,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="azure: judge the rows Azure Monitor Logs holds (ga.toml telemetry.azure), "
            "in place: only the days the criteria need, nothing stored.",
        ),
    ] = None,
) -> None:
    """Judge a connector against the GA criteria; exit 0 when ready, 1 when not, 2 on bad input."""
    import contextlib
    import dataclasses

    check_reject_rate(options.max_reject_rate)
    if json_out == "-" and markdown == "-":
        raise InputError("--json - and --markdown -: only one of them can go to stdout")
    cfg = load_config_here(options.config)
    scratch = contextlib.ExitStack()
    if source is not None:
        telemetry, fmt = _from_remote(
            source, options.telemetry, options.store, cfg, options.config, as_of,
            options.policy, scratch,
        )  # fmt: skip
        options = dataclasses.replace(options, telemetry=telemetry, fmt=fmt)
    with scratch:
        _check(
            options, cfg, as_of, all_connectors, json_out, strict, report, markdown,
            scenario, horizon,
        )  # fmt: skip


def _from_remote(source, telemetry, store, cfg, config, as_of, policy, scratch):
    """`--from azure`: the window's rows fetched whole into a temporary folder, read in
    place as the export they are; the folder goes when the check is done."""
    import tempfile

    from ..azure_ingest import fetch_for_check
    from ..sources.azure_monitor import FORMATS

    if source != "azure":
        raise InputError(f"--from {source}: expected --from azure (the only remote source)")
    if telemetry or store is not None:
        raise InputError("--from azure: expected no --telemetry or --store beside it")
    if cfg is None or cfg.telemetry.azure is None:
        name = str(config) if config is not None else "ga.toml"
        raise InputError(
            f"{name}: --from azure needs a [telemetry.azure] section (workspace or resource, "
            "table, credential)"
        )
    folder = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="connector-ga-")))
    try:
        with working("asking Azure Monitor Logs"):
            answer = fetch_for_check(
                cfg.telemetry.azure, folder, as_of=parse_date(as_of, "--as-of"), policy=policy
            )
    except BaseException:
        scratch.close()
        raise
    return [str(answer)], FORMATS[cfg.telemetry.azure.table]


def _check(
    options, cfg, as_of, all_connectors, json_out, strict, report, markdown, scenario, horizon
) -> None:
    from ..api import run_check
    from ..outputs import json_result, terminal

    with working("reading telemetry and computing metrics"):
        run = run_check(
            **options.for_prepare(cfg, all_connectors=all_connectors),
            as_of=parse_date(as_of, "--as-of"),
            scenario=scenario,
            horizon=horizon,
            timeline_days=TIMELINE_DAYS if report else 0,
        )
    to_stdout = json_out == "-" or markdown == "-"
    console = err if to_stdout else Terminal(highlight=False)
    if all_connectors:
        terminal.render_fleet(run.results, console)
        payload = json_result.dumps(run.results)
    else:
        terminal.render(run.results[0], console)
        payload = json_result.dumps(run.results[0])
    if json_out == "-":
        write_stdout(payload)
    elif json_out:
        json_result.write_atomic(json_out, payload)
    write_summaries(run.results, report, markdown, run.histories)
    ok = [r.verdict == "ready" if strict else r.ready for r in run.results]
    raise typer.Exit(EXIT_READY if all(ok) else EXIT_NOT_READY)


TIMELINE_DAYS = 90  # the report's readiness timeline


def write_summaries(
    results: list, report: Path | None, markdown: str | None, histories: dict | None = None
) -> None:
    """The HTML report and the Markdown summary; a fleet gets one file of each. Their
    modules are imported only when asked for: the charts' libraries take half a second."""
    if report is None and not markdown:
        return
    from ..outputs import markdown as markdown_summary
    from ..outputs.json_result import write_atomic

    if report is not None:
        from ..outputs import html_report

        with working("rendering the HTML report"):
            write_atomic(report, html_report.render(results, histories))
        err.print(f"wrote the HTML report to {report}")
    if markdown == "-":
        write_stdout(markdown_summary.render(results))
    elif markdown:
        write_atomic(markdown, markdown_summary.render(results))
