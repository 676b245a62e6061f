"""`connector-ga watch`: burn-rate alerts on the availability error budget, notified once
per episode; exit 0 when none fires, 1 when one does, 2 on bad input or a failed notice."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from ..errors import InputError
from ..waiting import DEFAULT_WAIT_SECONDS
from .common import (
    EXIT_NOT_READY,
    EXIT_READY,
    TelemetryOptions,
    Terminal,
    WaitOpt,
    err,
    load_config_here,
    telemetry_options,
    user_errors,
    waits_for_store,
    working,
    write_stdout,
)


def parse_time(value: str | None, option: str) -> dt.datetime | None:
    """An ISO time; an offset is converted to UTC, a naive time is UTC."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(
            f"{option} {value!r}: expected an ISO time such as 2026-11-20T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


@user_errors
@waits_for_store
@telemetry_options(
    store_help="The store: telemetry when no --telemetry is given, and the watch state "
    "(default .connector-ga/store.duckdb)."
)
def watch(
    options: TelemetryOptions,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", metavar="TIME", help="Evaluation time, ISO (default: the latest request)."
        ),
    ] = None,
    all_connectors: Annotated[
        bool, typer.Option("--all", help="Watch every connector in the telemetry.")
    ] = False,
    json_out: Annotated[
        str | None,
        typer.Option("--json", metavar="FILE|-", help="Write connector-ga/watch/v1 JSON."),
    ] = None,
    notify: Annotated[
        list[str] | None,
        typer.Option(
            "--notify",
            metavar="smtp|webhook=URL",
            help="Tell alert episodes and criteria changes to a webhook (JSON POST) or by "
            "email (CONNECTOR_GA_SMTP_*, to CONNECTOR_GA_SMTP_TO); repeatable. Records the "
            "state once all went through.",
        ),
    ] = None,
    wait: WaitOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """Multi-window burn-rate alerts on the availability error budget; exit 1 when one fires."""
    from ..api import run_watch
    from ..outputs import watch_terminal
    from ..store import load_watch_state, save_watch_state, watch_state_path
    from ..trajectory import notify as notifying
    from ..trajectory.watch import dumps, next_state, record_changes

    at_time = parse_time(at, "--at")
    webhooks, smtp = notifying.parse_targets(notify or [])
    cfg = load_config_here(options.config)
    targets: list[notifying.Target] = list(webhooks)
    if smtp:  # settings checked before anything is read
        contact = cfg.support.connector.contact if cfg and cfg.support.connector else None
        targets.append(notifying.email_target(contact))
    source = options.for_prepare(cfg, all_connectors=all_connectors)
    with working("reading telemetry and computing burn rates"):
        run = run_watch(**source, at=at_time)
    where = watch_state_path(options.store)
    names = [w.connector for w in run.watches]
    prior = load_watch_state(where, names)
    record_changes(run.watches, prior)

    console = err if json_out == "-" else Terminal(highlight=False)
    for w in run.watches:
        watch_terminal.render(w, console, first=not any(key[0] == w.connector for key in prior))
    payload = dumps(run.watches, fleet=all_connectors)
    if json_out == "-":
        write_stdout(payload)
    elif json_out:
        from ..outputs.json_result import write_atomic

        write_atomic(json_out, payload)

    if targets:
        with working("notifying"):
            sent = notifying.notify_all(run.watches, targets)  # a failure: exit 2, nothing kept
        save_watch_state(where, names, next_state(run.watches, prior, dt.datetime.now(dt.UTC)))
        for line in sent:
            err.print(f"notified {line}", markup=False)
        if not sent:
            err.print("nothing to notify: no alert started or resolved, no criterion changed")
    elif any(w.changes for w in run.watches):
        err.print("not recorded: only a watch with --notify records what it saw", style="dim")
    firing = any(w.firing for w in run.watches)
    raise typer.Exit(EXIT_NOT_READY if firing else EXIT_READY)
