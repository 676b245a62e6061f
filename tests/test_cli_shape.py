"""The command line's shape: `--version`, help in words, one line (exit 2) for anything
unexpected, and the layout that keeps command modules apart from the library."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import connector_ga
from connector_ga.cli import app, common

SRC = Path(connector_ga.__file__).parent
PYPROJECT = SRC.parent.parent / "pyproject.toml"
runner = CliRunner()


def test_version_prints_the_project_version():
    version = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"connector-ga {version}"


def _commands() -> list[list[str]]:
    """Every command and sub-command, as the words a user types."""
    found = []
    for info in app.registered_commands:
        found.append([info.name or info.callback.__name__])
    for group in app.registered_groups:
        found.append([group.name])
        for info in group.typer_instance.registered_commands:
            found.append([group.name, info.name or info.callback.__name__])
    return found


@pytest.mark.parametrize("words", _commands(), ids=lambda w: " ".join(w))
def test_help_says_what_an_option_takes_in_words(words):
    result = runner.invoke(app, [*words, "--help"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    # Typer's raw type labels: <list[str]>, <str>, <path>, <bool>, <int>, <float>.
    assert not re.search(r"<(list\[)?(str|path|Path|bool|int|float)\]?>", result.output)


def test_telemetry_option_reads_as_files_and_flags_take_nothing():
    result = runner.invoke(app, ["check", "--help"], env={"COLUMNS": "160"})
    telemetry = next(line for line in result.output.splitlines() if "--telemetry" in line)
    assert "FILE…" in telemetry
    strict = next(line for line in result.output.splitlines() if "--strict" in line)
    # "│ --strict   Exit 0 only …": no word between the flag and its help.
    assert re.search(r"--strict\s+Exit 0", strict), strict


def _telemetry_commands() -> list[list[str]]:
    """Every command (or group) with a -t/--telemetry option, as the words a user types."""
    import typer.main

    found = []

    def walk(command, words):
        if any(p.name == "telemetry" for p in command.params):
            found.append(words)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*words, name])

    walk(typer.main.get_command(app), [])
    return found


def test_the_commands_with_telemetry_are_the_known_ones():
    assert sorted(" ".join(w) for w in _telemetry_commands()) == [
        "check",
        "history",
        "init",  # writes them as ga.toml's paths
        "request",
        "request status",
        "review",
        "watch",
    ]


@pytest.mark.parametrize("words", _telemetry_commands(), ids=lambda w: " ".join(w))
def test_several_paths_after_one_t_are_all_telemetry(words):
    """Issue 16 item 13: `-t logs/*.parquet` unquoted reaches the command as several words;
    every word up to the next option is a telemetry path."""
    import typer.main

    command = typer.main.get_command(app)
    for word in words:
        command = command.commands[word]
    before = ["request.eml"] if words == ["review"] else []  # review's EMAIL… argument
    paths = ["-t", "a.parquet", "b.parquet", "c.parquet"]
    if words == ["request"]:  # the group: its sub-command's name ends the paths
        ctx = command.make_context("request", [*paths, "status", "--format", "parquet"])
        assert ctx.params["telemetry"] == ["a.parquet", "b.parquet", "c.parquet"]
        assert ctx.args == ["--format", "parquet"]  # for `status` (its name kept apart)
        return
    if words == ["init"]:  # no --format: the next option ends the paths all the same
        ctx = command.make_context("init", [*paths, "--force"])
        assert ctx.params["telemetry"] == ["a.parquet", "b.parquet", "c.parquet"]
        assert ctx.params["force"] is True
        return
    ctx = command.make_context(words[-1], [*before, *paths, "--format", "parquet"])
    assert ctx.params["telemetry"] == ["a.parquet", "b.parquet", "c.parquet"]
    assert ctx.params["fmt"] == "parquet"


def test_review_emails_after_t_are_one_usage_line(tmp_path):
    result = runner.invoke(app, ["review", "-t", "a.csv", "b.csv", "request.eml"])
    assert result.exit_code == 2
    assert "put EMAIL… before -t" in " ".join(result.output.split())


def _boom(*args, **kwargs):
    raise RuntimeError("the engine fell over\nsecond line of detail")


def test_an_unexpected_error_is_one_line_and_exit_2(monkeypatch, tmp_path):
    import connector_ga.api

    monkeypatch.setattr(connector_ga.api, "run_check", _boom)
    telemetry = tmp_path / "t.csv"
    telemetry.write_text("time,status\n2026-11-20T10:00:00Z,200\n")
    result = runner.invoke(app, ["check", "-t", str(telemetry)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "unexpected RuntimeError: the engine fell over" in lines[0]
    assert "--debug" in lines[0]


def test_debug_lets_the_traceback_through(monkeypatch, tmp_path):
    import connector_ga.api

    monkeypatch.setattr(connector_ga.api, "run_check", _boom)
    monkeypatch.setattr(common, "debug", False)
    telemetry = tmp_path / "t.csv"
    telemetry.write_text("time,status\n2026-11-20T10:00:00Z,200\n")
    result = runner.invoke(app, ["--debug", "check", "-t", str(telemetry)])
    assert "Traceback (most recent call last)" in result.output
    assert "RuntimeError: the engine fell over" in result.output
    # Still exit code 2 (issue 16 item 15): a traceback's usual 1 would read "not ready".
    assert result.exit_code == 2


def _imports(path: Path) -> set[str]:
    """Modules a file imports, as absolute names within connector_ga where relative."""
    tree = ast.parse(path.read_text())
    package = ".".join(("connector_ga", *path.relative_to(SRC).parent.parts))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                names.add(module)
                names.update(f"{module}.{alias.name}" for alias in node.names)
            else:
                names.add(node.module or "")
    return names


def test_the_shared_cli_module_imports_no_command_module():
    commands = {
        f"connector_ga.cli.{p.stem}"
        for p in (SRC / "cli").glob("*.py")
        if p.stem not in ("common", "__init__", "__main__")
    }
    assert not _imports(SRC / "cli" / "common.py") & commands


def test_the_library_is_free_of_typer():
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "cli" not in path.relative_to(SRC).parts[:1]
        and any(name == "typer" or name.startswith("typer.") for name in _imports(path))
    ]
    assert offenders == []


# ---- issue 18 item 8: the telemetry options of check, history, watch and request -------

SHARED_FLAGS = ["--telemetry", "-t", "--config", "-c", "--format", "--connector", "--policy"]
SHARED_FLAGS += ["--max-reject-rate", "--store", "--engine"]
TELEMETRY_OPTION_COMMANDS = [["check"], ["history"], ["watch"], ["request"], ["request", "status"]]


def _callback(words: list[str]):
    import typer.main

    command = typer.main.get_command(app)
    for word in words:
        command = command.commands[word]
    return command.callback


@pytest.mark.parametrize("words", TELEMETRY_OPTION_COMMANDS, ids=" ".join)
def test_help_of_each_telemetry_command_lists_the_shared_options(words):
    result = runner.invoke(app, [*words, "--help"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    shown = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", result.output))
    assert [flag for flag in SHARED_FLAGS if flag not in shown] == []


@pytest.mark.parametrize("words", TELEMETRY_OPTION_COMMANDS, ids=" ".join)
def test_each_shared_option_comes_from_its_one_declaration(words):
    """The commands' parameters are the fields of common.TelemetryOptions, not lists of
    their own: the same Annotated object (for --store, a command may say what else it
    keeps in the store; the flag, type and default are still the declared ones)."""
    import inspect

    declared = common.option_declarations()
    params = inspect.signature(_callback(words)).parameters
    for name, (hint, default) in declared.items():
        param = params[name]
        assert param.default == default, name
        if param.annotation is hint:
            continue
        assert name == "store", f"{' '.join(words)} declares its own {name}"
        info, declared_info = param.annotation.__metadata__[0], hint.__metadata__[0]
        assert param.annotation.__origin__ == hint.__origin__
        assert info.param_decls is declared_info.param_decls


def test_a_new_telemetry_option_is_one_field(tmp_path):
    """A field added to TelemetryOptions becomes an option of a decorated command (shown
    in --help, parsed, handed over in the options object), with -t still spreading."""
    import dataclasses
    from typing import Annotated

    import typer

    seen = {}
    extended = dataclasses.make_dataclass(
        "Extended",
        [("source", Annotated[str | None, typer.Option("--source-kind")], None)],
        bases=(common.TelemetryOptions,),
        frozen=True,
    )

    @common.telemetry_options(options=extended)
    def probe(options: common.TelemetryOptions, extra: int = 0) -> None:
        seen["options"], seen["extra"] = options, extra

    cli = typer.Typer()
    cli.command(cls=common.TelemetryCommand)(probe)
    cli.command("other")(lambda: None)  # a group, so `probe` is named on the line
    result = runner.invoke(cli, ["probe", "--help"], env={"COLUMNS": "160"})
    assert "--source-kind" in result.output and "--telemetry" in result.output
    args = ["probe", "-t", "a.csv", "b.csv", "--source-kind", "azure", "--extra", "3"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    options = seen["options"]
    assert (options.source, options.telemetry, seen["extra"]) == ("azure", ["a.csv", "b.csv"], 3)
    assert (options.engine, options.store) == ("duckdb", None)  # the declared defaults
