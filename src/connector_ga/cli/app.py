"""The `connector-ga` application: every command module registered on one Typer app."""

from __future__ import annotations

import copy
import sys
from typing import Annotated

import typer
import typer.core

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


class RootGroup(typer.core.TyperGroup):
    """The top-level group. Its `--help` flag defaults to False, not None: Typer coerces a
    None through Pydantic (70 ms of imports) even for `check --help`, where it is unused."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.default = False
        return option


def _name(info) -> str:
    return info.name or info.callback.__name__.replace("_", "-")


def _without_options(info):
    """A command's entry as the top-level help shows it: its name and help, no options
    (building every command's options for that list costs more than the help itself)."""

    def command() -> None:  # pragma: no cover - listed, never run
        pass

    command.__doc__ = info.callback.__doc__
    command.__name__ = info.callback.__name__
    listed = copy.copy(info)
    listed.callback = command
    return listed


class Application(typer.Typer):
    """Builds the Click commands for the words typed, not for the whole tree: `--version`
    builds none, `check --help` only `check`, the top-level help each command's name and
    help. `typer.main.get_command(app)` (tests, CliRunner) still builds everything."""

    def __call__(self, *args, **kwargs):
        words = kwargs.get("args", args[0] if args else None)
        words = sys.argv[1:] if words is None else list(words)
        return typer.Typer.__call__(self.narrowed(words), *args, **kwargs)

    def narrowed(self, words: list[str]) -> typer.Typer:
        first = next((w for w in words if not w.startswith("-")), None)
        commands = [i for i in self.registered_commands if _name(i) == first]
        groups = [g for g in self.registered_groups if g.name == first]
        narrow = copy.copy(self)
        if commands or groups:
            narrow.registered_commands, narrow.registered_groups = commands, groups
        elif first is None:  # --version, --help or nothing: the list of commands at most
            narrow.registered_commands = [_without_options(i) for i in self.registered_commands]
            narrow.registered_groups = []
            for group in self.registered_groups:
                listed = copy.copy(group)
                listed.typer_instance = copy.copy(group.typer_instance)
                listed.typer_instance.registered_commands = []
                listed.typer_instance.registered_groups = []
                narrow.registered_groups.append(listed)
        return narrow  # an unknown word: the whole tree, for Click's "did you mean"


app = Application(
    name="connector-ga",
    cls=RootGroup,
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
