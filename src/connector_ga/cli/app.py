"""The `connector-ga` application: every command module registered on one Typer app."""

from __future__ import annotations

import typer

from . import check, editions, init, lint, request, simulate, store

app = typer.Typer(
    name="connector-ga",
    help="Prove from evidence whether a Power Platform connector may move from preview to GA.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command()(check.check)
app.command()(simulate.simulate)
app.command()(store.ingest)
app.command()(init.init)
app.add_typer(store.store_app, name="store")
app.command("promote")(editions.promote)
app.command("clouds")(editions.clouds)
app.command()(lint.lint)
app.add_typer(request.request_app, name="request")


def main() -> None:  # pragma: no cover - console entry point
    app()
