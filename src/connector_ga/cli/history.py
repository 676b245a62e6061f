"""`connector-ga history`: the verdict and every criterion per day, and what changed."""

from __future__ import annotations

from typing import Annotated

import typer

from ..waiting import DEFAULT_WAIT_SECONDS
from .common import (
    TelemetryOptions,
    Terminal,
    WaitOpt,
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
def history(
    options: TelemetryOptions,
    first: Annotated[
        str | None, typer.Option("--from", metavar="DATE", help="First day of the history.")
    ] = None,
    last: Annotated[
        str | None,
        typer.Option("--to", metavar="DATE", help="Last day (default: the latest request)."),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option("--days", metavar="N", help="The N days up to --to (default 90)."),
    ] = None,
    all_connectors: Annotated[
        bool, typer.Option("--all", help="A history per connector in the telemetry.")
    ] = False,
    json_out: Annotated[
        str | None,
        typer.Option("--json", metavar="FILE|-", help="Write connector-ga/history/v1 JSON."),
    ] = None,
    wait: WaitOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """The verdict and each criterion for every day, as `check --as-of` that day would give."""
    from ..api import run_history
    from ..outputs import history_terminal
    from ..outputs.json_result import write_atomic
    from ..trajectory.history import dumps

    first_day, last_day = parse_date(first, "--from"), parse_date(last, "--to")
    cfg = load_config_here(options.config)
    source = options.for_prepare(cfg, all_connectors=all_connectors)
    with working("reading telemetry and computing the history"):
        run = run_history(**source, first=first_day, last=last_day, days=days)
    console = err if json_out == "-" else Terminal(highlight=False)
    history_terminal.render_all(run.histories, console)
    payload = dumps(run.histories, fleet=all_connectors)
    if json_out == "-":
        write_stdout(payload)
    elif json_out:
        write_atomic(json_out, payload)
