"""The `connector-ga` application: every command module registered on one Typer app."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from . import (
    check,
    common,
    diff,
    editions,
    history,
    init,
    lint,
    request,
    review,
    schema,
    serve,
    simulate,
    store,
    watch,
)

app = typer.Typer(
    name="connector-ga",
    help="Prove from evidence whether a Power Platform connector may move from preview to GA.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"connector-ga {__version__}")
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="Show the traceback of an unexpected error (CONNECTOR_GA_DEBUG=1)."
        ),
    ] = False,
) -> None:
    """Prove from evidence whether a Power Platform connector may move from preview to GA."""
    if debug:
        common.debug = True


app.command(cls=common.TelemetryCommand)(check.check)
app.command(cls=common.TelemetryCommand)(history.history)
app.command(cls=common.TelemetryCommand)(watch.watch)
app.command()(simulate.simulate)
app.command()(store.ingest)
app.command(cls=common.TelemetryCommand)(init.init)
app.add_typer(store.store_app, name="store")
app.command("promote")(editions.promote)
app.command("clouds")(editions.clouds)
app.command()(lint.lint)
app.command()(diff.diff)
app.add_typer(request.request_app, name="request")
app.command()(serve.serve)
app.command()(serve.site)
app.command("schema")(schema.schema)
app.command("review", cls=common.TelemetryCommand)(review.review)


def main() -> None:  # pragma: no cover - console entry point
    app()
