"""`connector-ga request`: draft (and --send) the GA request; `request status` follows it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..errors import InputError
from ..locations import DEFAULT_STORE
from ..waiting import DEFAULT_WAIT_SECONDS
from .common import (
    EXIT_NOT_READY,
    EXIT_READY,
    AsOfOpt,
    ConfigOpt,
    ConnectorOpt,
    ProseTerminal,
    TelemetryCommand,
    TelemetryGroup,
    TelemetryOptions,
    WaitOpt,
    err,
    load_config_here,
    parse_date,
    telemetry_options,
    user_errors,
    waits_for_store,
    working,
)

LEDGER_STORE_HELP = (
    "The store: telemetry when no --telemetry is given, and the request ledger "
    "(default .connector-ga/store.duckdb)."
)
LedgerStoreOpt = Annotated[
    Path | None, typer.Option("--store", metavar="PATH", help=LEDGER_STORE_HELP)
]


request_app = typer.Typer(
    cls=TelemetryGroup,
    help="Write the GA request email to Microsoft (ga-request.eml, with the HTML report "
    "and JSON result attached beside it) and record it in the store; --send sends it. "
    "Exit 1, naming the blocking criteria, when the connector is not ready.",
    no_args_is_help=False,
)


def check_run(cfg, options: TelemetryOptions, as_of: str | None, connector: str | None = None):
    """The same resolution of telemetry as `check`."""
    from ..api import run_check

    source = options.for_prepare(cfg, connector=connector)
    with working("reading telemetry and computing metrics"):
        run = run_check(**source, as_of=parse_date(as_of, "--as-of"))
    return run.results[0]


@request_app.callback(invoke_without_command=True)
@user_errors
@waits_for_store
@telemetry_options(store_help=LEDGER_STORE_HELP)
def request(
    ctx: typer.Context,
    options: TelemetryOptions,
    as_of: AsOfOpt = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for ga-request.eml and attachments.")
    ] = Path("."),
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help="Send it over SMTP with STARTTLS (CONNECTOR_GA_SMTP_HOST, _PORT, _USER, "
            "_PASSWORD, _FROM, _CA).",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Draft even when not ready; send again before the last decision is due.",
        ),
    ] = False,
    wait: WaitOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """Write the GA request and record it; exit 1 when the connector is not ready."""
    if ctx.invoked_subcommand is not None:
        return
    from ..mail import SmtpSettings
    from ..outputs.terminal import verdict_line
    from ..request import (
        RequestRefused,
        already_sent,
        draft_request,
        record_draft,
        send_request,
    )

    settings = SmtpSettings.from_env() if send else None  # fail fast, before writing
    cfg = load_config_here(options.config)
    contact = cfg.support.connector.contact if cfg and cfg.support.connector else None
    if settings is not None and not (settings.sender or contact):
        raise InputError(
            "--send needs a sender: set CONNECTOR_GA_SMTP_FROM (or a support contact in "
            "ga.toml [support.connector])"
        )
    result = check_run(cfg, options, as_of)
    console = ProseTerminal(highlight=False)
    console.print(verdict_line(result))
    store_path = options.store or DEFAULT_STORE
    if send and not force:
        previous = already_sent(store_path, result.connector, dt.datetime.now(dt.UTC).date())
        if previous is not None:
            err.print(
                f"[bold red]refused:[/] request #{previous.id} for {result.connector} was "
                f"sent on {previous.sent_at:%Y-%m-%d}; its decision is expected by "
                f"{previous.decision_expected} (pass --force to send again)",
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_NOT_READY)
    try:
        draft = draft_request(
            result, cfg, out, sender=settings.sender if settings else None, force=force
        )
    except RequestRefused as refused:
        err.print(f"[bold red]refused:[/] {escape(refused.message)}", soft_wrap=True)
        raise typer.Exit(EXIT_NOT_READY) from None
    for warning in draft.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}")
    entry = record_draft(store_path, draft)
    console.print(
        f"wrote {draft.eml_path} to {draft.message['To']}: {draft.message['Subject']}",
        markup=False,
    )
    console.print(
        f"attached {draft.report_path.name} and {draft.result_path.name} (written beside it)",
        markup=False,
    )
    console.print(f"recorded request #{entry.id} (drafted) in {store_path}", markup=False)
    if settings is None:
        console.print(
            "send it with `connector-ga request --send` or from your mail client "
            "(then `connector-ga request record-sent`)",
            markup=False,
        )
        raise typer.Exit(EXIT_READY)
    with working(f"sending to {settings.where}"):
        try:
            sent = send_request(store_path, draft, settings)
        except InputError as exc:
            exc.message += f"; the request is still drafted in {draft.eml_path}"
            raise
    console.print(
        f"sent request #{sent.id} via {settings.where} on {sent.sent_at:%Y-%m-%d}; "
        f"decision expected by {sent.decision_expected} (about a month)",
        markup=False,
    )


@request_app.command("status", cls=TelemetryCommand)
@user_errors
@waits_for_store
@telemetry_options(store_help=LEDGER_STORE_HELP)
def status(
    options: TelemetryOptions,
    as_of: AsOfOpt = None,
    wait: WaitOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """Drafted or sent, the expected decision date, and whether the evidence changed since."""
    from ..request import compare_evidence, ledger_connectors, request_status

    store_path = options.store or DEFAULT_STORE
    cfg = load_config_here(options.config)
    wanted = options.connector or (cfg.connector.id if cfg else None)
    names = [wanted] if wanted else ledger_connectors(store_path)
    console = ProseTerminal(highlight=False)
    today = dt.datetime.now(dt.UTC).date()
    found = 0
    for name in names:
        state = request_status(store_path, name)
        if state is None:
            continue
        found += 1
        why = None
        try:
            current = check_run(cfg, options, as_of, connector=name)
            state.change = compare_evidence(state.entry, current)
        except InputError as exc:
            why = exc.message
        e = state.entry
        console.print(
            f"{e.connector}: request #{e.id} {e.state}, verdict {e.verdict} as of {e.as_of}",
            style="bold",
            markup=False,
        )
        console.print(f"  drafted {e.drafted_at:%Y-%m-%d %H:%M} UTC: {e.message_path}")
        if state.sent:
            due = e.decision_expected
            left = (due - today).days
            when = f"in {left} days" if left >= 0 else f"{-left} days ago"
            console.print(
                f"  sent {e.sent_at:%Y-%m-%d} to {e.recipient}; "
                f"decision expected by {due} ({when}; sent + about a month)",
                markup=False,
            )
        else:
            console.print(
                "  not sent yet: `connector-ga request --send`, or send the .eml and run "
                "`connector-ga request record-sent`",
                markup=False,
            )
        since = "sending" if state.sent else "drafting"
        if state.change is None:
            console.print(f"  evidence not re-checked: {why}", markup=False)
        elif not state.change.changed:
            console.print(f"  evidence unchanged since {since}", markup=False)
        else:
            console.print(
                f"[yellow]  ! evidence changed since {since}:[/] "
                + escape("; ".join(state.change.lines))
            )
        if state.files_modified:
            console.print(
                "[yellow]  ! attachments changed or missing on disk:[/] "
                + escape(", ".join(state.files_modified))
            )
    if not found:
        where = f" for {wanted}" if wanted else ""
        err.print(f"no GA request recorded{where} in {store_path}: run `connector-ga request`")
        raise typer.Exit(EXIT_NOT_READY)


@request_app.command("record-sent")
@user_errors
@waits_for_store
def record_sent(
    on: Annotated[
        str | None, typer.Option("--on", help="The day it was sent (default: today, UTC).")
    ] = None,
    connector: ConnectorOpt = None,
    config: ConfigOpt = None,
    store: LedgerStoreOpt = None,
    wait: WaitOpt = DEFAULT_WAIT_SECONDS,
) -> None:
    """Record that the drafted request was sent from a mail client."""
    from ..ledger import latest
    from ..request import mark_sent
    from ..store import Store

    store_path = store or DEFAULT_STORE
    cfg = load_config_here(config)
    wanted = connector or (cfg.connector.id if cfg else None)
    if not wanted:
        raise InputError("which connector? pass --connector ID (or run beside ga.toml)")
    if not Path(store_path).exists():
        raise InputError(f"{store_path}: no request ledger here; run `connector-ga request`")
    with Store.open(store_path) as opened:
        entry = latest(opened, wanted)
    if entry is None:
        raise InputError(f"no GA request recorded for {wanted} in {store_path}")
    if entry.state == "sent":
        raise InputError(f"request #{entry.id} for {wanted} is already recorded as sent")
    day = parse_date(on, "--on")
    sent_at = dt.datetime.combine(day, dt.time(12), dt.UTC) if day else None
    sent = mark_sent(store_path, entry, sent_at)
    ProseTerminal(highlight=False).print(
        f"recorded request #{sent.id} for {wanted} as sent on {sent.sent_at:%Y-%m-%d}; "
        f"decision expected by {sent.decision_expected}",
        markup=False,
    )
