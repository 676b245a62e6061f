"""What every command shares: the error console, exit codes, one-line user errors, the
spinner, option types and the small parsers. No command module is imported from here."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import inspect
import os
import sys
import traceback
from copy import copy
from functools import wraps
from pathlib import Path
from typing import Annotated, get_type_hints

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from ..errors import InputError


def _quiet(stream) -> None:
    """Point a closed pipe's file descriptor at /dev/null (Python's recipe for SIGPIPE), so
    what is still written to it, and the flush at exit, go nowhere instead of failing."""
    try:
        fileno = stream.fileno()
    except (OSError, ValueError):  # not a real file (a test's capture): nothing to quiet
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fileno)
    finally:
        os.close(devnull)


class Terminal(Console):
    """A console that a closed pipe (`check … | head -1`) does not stop: Rich's default
    exits with code 1 there; this one stops printing and the command goes on, writing the
    files asked for and exiting with its verdict's code."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        _quiet(self.file)

    def print(self, *objects, crop: bool = False, **options) -> None:
        """Never crop: a path or URL longer than the line is shown whole on its own line
        (`outputs.fit.Prose` wraps everything else at the width)."""
        super().print(*objects, crop=crop, **options)


class ProseTerminal(Terminal):
    """A terminal for lines of prose: each printed line wraps at the width between words
    (never inside a name, a path or a URL), its continuation indented under it."""

    def print(self, *objects, style=None, markup=None, **options) -> None:
        if len(objects) == 1 and isinstance(objects[0], str | Text):
            from ..outputs.fit import Prose

            line = objects[0]
            if isinstance(line, str):
                use_markup = self._markup if markup is None else markup
                line = Text.from_markup(line) if use_markup else Text(line)
            lead = len(line.plain) - len(line.plain.lstrip(" "))
            line = Text.assemble(line, style=style or "") if style else line
            options.pop("soft_wrap", None)
            return super().print(Prose(line, indent=" " * (lead + 2)), **options)
        return super().print(*objects, style=style, markup=markup, **options)


def write_stdout(text: str) -> None:
    """Write to stdout; a reader that went away (`| head -1`) stops nothing else."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet(sys.stdout)


# Messages on stderr are never wrapped: one line each, whatever the terminal's width.
err = Terminal(stderr=True, highlight=False, soft_wrap=True)

EXIT_READY, EXIT_NOT_READY, EXIT_INPUT = 0, 1, 2

# `--debug` (or CONNECTOR_GA_DEBUG=1): an unexpected error shows its traceback.
debug = bool(os.environ.get("CONNECTOR_GA_DEBUG"))


def user_errors(command):
    """Turn a user's mistake into one clear line on stderr and exit code 2, never a traceback.

    Anything unexpected is one line and exit code 2 too (a CI gate must not read a crash as
    "not ready"); `--debug` shows its traceback.
    """

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            _say(exc)
        except KeyboardInterrupt:
            err.print("interrupted: nothing was written")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, typer.TyperException):  # Typer's own way out
            raise
        except Exception as exc:
            if debug:  # the traceback, and still exit code 2: not a verdict
                traceback.print_exc()
            if (known := _fault(exc)) is not None:  # a damaged file, a full disk: not a bug
                _say(known)
            if debug:
                raise typer.Exit(EXIT_INPUT) from None
            lines = str(exc).strip().splitlines()
            what = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
            err.print(
                f"[bold red]error:[/] unexpected {escape(what)} (a bug in connector-ga: please "
                "report it; --debug shows the traceback)",
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_INPUT) from None

    return wrapper


def _fault(exc: BaseException) -> InputError | None:
    """A damaged store segment, a full disk or a refused write: said as what it is."""
    from ..faults import damaged_segment, refused_write

    return refused_write(exc) or damaged_segment(exc)


def _say(exc: InputError):
    """One line on stderr (the located rows before it), exit code 2."""
    for line in exc.details:
        err.print(f"  {line}", markup=False)
    err.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
    raise typer.Exit(EXIT_INPUT) from None


class _Spinner:
    """A spinner on stderr; the one showing is `_Spinner.active`, so a wait for the store
    met inside it can say so in its place (Rich shows one live display at a time)."""

    active: _Spinner | None = None

    def __init__(self, message: str) -> None:
        self.message = message
        self.status = err.status(message)

    def __enter__(self):
        self.status.__enter__()
        _Spinner.active = self
        return self.status

    def __exit__(self, *exc) -> None:
        _Spinner.active = None
        self.status.__exit__(*exc)


def working(message: str):
    """A spinner on stderr while the engine works, only when a person is watching."""
    if err.is_terminal:
        return _Spinner(message)
    return contextlib.nullcontext()


@contextlib.contextmanager
def store_waiting(seconds: float):
    """Within the block, a store another process holds is waited for up to `seconds`: a
    spinner names the holder (one line per holder when no one watches); past the limit,
    opening it is one line naming the holder, exit 2."""
    from ..waiting import waiting

    if not seconds >= 0:
        raise InputError(f"--wait {seconds:g}: expected a number of seconds ≥ 0")
    told: set = set()
    own = None

    def on_wait(holder, waited: float) -> None:
        nonlocal own
        spinner = _Spinner.active
        if holder is None:  # the wait is over
            if spinner is not None:
                spinner.status.update(spinner.message)
            if own is not None:
                own.stop()
                own = None
            return
        text = f"waiting for the store: held by {holder} ({waited:.0f} s of at most {seconds:g} s)"
        if not err.is_terminal:
            if holder not in told:
                told.add(holder)
                err.print(
                    f"waiting up to {seconds:g} s for the store: held by {holder}", markup=False
                )
        elif spinner is not None:
            spinner.status.update(escape(text))
        elif own is None:
            own = err.status(escape(text))
            own.start()
        else:
            own.update(escape(text))

    with waiting(seconds, on_wait):
        try:
            yield
        finally:
            if own is not None:
                own.stop()


# Dates a check can be judged on: request times are kept within these (see sources.typed),
# and a window or forecast around them must still be a date.
EARLIEST_DATE, LATEST_DATE = dt.date(1970, 2, 1), dt.date(9998, 1, 1)


def parse_date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r}: expected a date such as 2026-11-20") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise InputError(
            f"{option} {value}: expected a date between {EARLIEST_DATE} and {LATEST_DATE}"
        )
    return day


def load_config_here(config: Path | None):
    """ga.toml: the one given, else ./ga.toml when present, else None."""
    from ..config import load_config

    if config is not None:
        return load_config(config)
    return load_config("ga.toml") if Path("ga.toml").is_file() else None


def check_reject_rate(max_reject_rate: float | None) -> None:
    if max_reject_rate is not None and not 0 <= max_reject_rate <= 1:
        raise InputError(f"--max-reject-rate {max_reject_rate}: expected a share between 0 and 1")


def waits_for_store(command):
    """A command with a `wait` option: every store it opens is waited for that long."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        with store_waiting(kwargs["wait"]):
            return command(*args, **kwargs)

    return wrapper


# ---- `-t a.parquet b.parquet`: several paths after one -t --------------------------------


def spread_telemetry(args: list[str], flags: tuple[str, ...], stop: frozenset = frozenset()):
    """`-t a b c` read as `-t a -t b -t c`: a shell expands an unquoted `-t logs/*.parquet`
    into several words. Every word after -t up to the next option (or `--`, or a
    sub-command's name in `stop`) is a telemetry path."""
    out: list[str] = []
    taking = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out.extend(args[i:])
            break
        if arg in flags and i + 1 < len(args):
            out += [arg, args[i + 1]]
            taking = True
            i += 2
            continue
        if taking and not arg.startswith("-") and arg not in stop:
            out += [flags[-1], arg]
        else:
            taking = False
            out.append(arg)
        i += 1
    return out


def _telemetry_flags(command) -> tuple[str, ...]:
    for param in command.params:
        if param.name == "telemetry" and isinstance(param, typer.core.TyperOption):
            return tuple(param.opts)
    return ()


# Typer carries its own Click: its usage error (exit 2, "Error: …" under the usage line).
_UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


class TelemetryCommand(typer.core.TyperCommand):
    """A command with -t/--telemetry: several paths after one -t are all telemetry."""

    def parse_args(self, ctx, args):
        flags = _telemetry_flags(self)
        spread = spread_telemetry(args, flags) if flags else args
        try:
            return super().parse_args(ctx, spread)
        except typer.BadParameter as exc:  # a positional argument missing: taken by -t
            if spread == args or not isinstance(exc.param, typer.core.TyperArgument):
                raise
            name = exc.param.metavar or (exc.param.name or "").upper()
            raise _UsageError(
                f"-t takes every path up to the next option: put {name} before -t "
                f"(or quote the pattern: -t 'logs/*.parquet')",
                ctx,
            ) from None


class TelemetryGroup(typer.core.TyperGroup):
    """A command group whose own options have -t/--telemetry (`request`)."""

    def parse_args(self, ctx, args):
        flags = _telemetry_flags(self)
        if flags:
            args = spread_telemetry(args, flags, frozenset(self.commands))
        return super().parse_args(ctx, args)


# ---- option types shared by several commands ------------------------------------------

_TYPE_WORDS = {"str": "TEXT", "path": "PATH", "int": "INTEGER", "float": "NUMBER"}


def _type_in_words(param, ctx) -> str | None:
    """`--help` shows what an option takes in words (FILE…, TEXT), never `<list[str]>`;
    a flag takes nothing. An explicit metavar wins."""
    if isinstance(param, typer.core.TyperOption) and param.is_flag:
        return None
    if param.metavar:
        return param.metavar
    label = param.display_type(ctx).strip("<>")
    many = label.startswith("list[")
    label = label.removeprefix("list[").removesuffix("]")
    word = _TYPE_WORDS.get(label.lower(), label.upper())
    return word + ("…" if many else "")


typer.core.TyperOption.display_type_rich = _type_in_words
typer.core.TyperArgument.display_type_rich = _type_in_words


TelemetryOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--telemetry",
        "-t",
        metavar="FILE…",
        help="Telemetry files, globs or folders (repeatable).",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", metavar="FILE", help="ga.toml (default: ./ga.toml if present)."),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", metavar="DATE", help="Evaluation date D (default: latest request)."),
]
PolicyOpt = Annotated[
    str | None,
    typer.Option(
        "--policy", metavar="FILE", help="A policy TOML file (default power-platform-ga)."
    ),
]
WaitOpt = Annotated[
    float,
    typer.Option(
        "--wait",
        metavar="SECONDS",
        help="Wait this long for a store another process is writing (then exit 2).",
    ),
]
FormatOpt = Annotated[
    str | None,
    typer.Option("--format", help="auto, csv, jsonl, parquet, apim, appinsights or otlp."),
]
ConnectorOpt = Annotated[
    str | None, typer.Option("--connector", help="The connector, in fleet telemetry.")
]
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine", help="duckdb (embedded) or spark (PySpark; SPARK_REMOTE for Connect)."
    ),
]
RejectOpt = Annotated[
    float | None,
    typer.Option(
        "--max-reject-rate",
        metavar="SHARE",
        help="Stop when more than this share of rows is bad.",
    ),
]
StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        metavar="PATH",
        help="The store to read when no --telemetry is given (default: "
        ".connector-ga/store.duckdb, when ga.toml names no telemetry paths).",
    ),
]


# ---- the telemetry options of check, history, watch and request: declared once --------


@dataclasses.dataclass(frozen=True)
class TelemetryOptions:
    """Where a command's telemetry comes from and how it is read. Each field is one option
    of every command decorated with `telemetry_options` (its type says its flag and help),
    so a new source option is one field here."""

    telemetry: TelemetryOpt = None
    config: ConfigOpt = None
    fmt: FormatOpt = None
    connector: ConnectorOpt = None
    policy: PolicyOpt = None
    max_reject_rate: RejectOpt = None
    store: StoreOpt = None
    engine: EngineOpt = "duckdb"

    def for_prepare(self, cfg, *, connector: str | None = None, all_connectors=False) -> dict:
        """The keywords of `api.prepare` (and so of run_check, run_history, run_watch);
        `connector` overrides --connector (`request status` walks its ledger's)."""
        check_reject_rate(self.max_reject_rate)
        return {
            "config": cfg,
            "telemetry": self.telemetry,
            "store": self.store,  # which telemetry is read: api.telemetry_to_read
            "fmt": self.fmt,
            "connector": connector or self.connector,
            "all_connectors": all_connectors,
            "policy": self.policy,
            "max_reject_rate": self.max_reject_rate,
            "engine": self.engine,
        }


def option_declarations(options: type = TelemetryOptions) -> dict[str, tuple[object, object]]:
    """Each field of an options dataclass: its `Annotated` declaration and its default."""
    hints = get_type_hints(options, include_extras=True)
    return {f.name: (hints[f.name], f.default) for f in dataclasses.fields(options)}


def telemetry_options(
    *, store_help: str | None = None, without: tuple[str, ...] = (), options: type | None = None
):
    """A command that takes `options: TelemetryOptions` gets, in that parameter's place,
    one option per field (so `--help` lists them), and is called with them gathered in
    one TelemetryOptions. `store_help` says what else the command keeps in the store;
    `without` leaves out options the command has no use for (set to their default)."""
    options = options or TelemetryOptions
    declared = option_declarations(options)
    unknown = set(without) - set(declared)
    assert not unknown, f"not a telemetry option: {unknown}"

    def decorate(command):
        signature = inspect.signature(command, eval_str=True)
        assert "options" in signature.parameters, f"{command.__name__} takes no options"
        params: list[inspect.Parameter] = []
        for param in signature.parameters.values():
            if param.name != "options":
                params.append(param)
                continue
            for name, (hint, default) in declared.items():
                if name in without:
                    continue
                if name == "store" and store_help is not None:
                    info = copy(hint.__metadata__[0])
                    info.help = store_help
                    hint = Annotated[hint.__origin__, info]
                kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
                params.append(inspect.Parameter(name, kind, default=default, annotation=hint))

        @wraps(command)
        def wrapper(*args, **kwargs):
            given = {name: kwargs.pop(name) for name in declared if name in kwargs}
            return command(*args, options=options(**given), **kwargs)

        wrapper.__signature__ = signature.replace(parameters=params)
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        if signature.return_annotation is not inspect.Signature.empty:
            wrapper.__annotations__["return"] = signature.return_annotation
        return wrapper

    return decorate
