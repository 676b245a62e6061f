"""`connector-ga lint`: the offline certification lint of connector packages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from .common import EXIT_INPUT, EXIT_NOT_READY, EXIT_READY, Terminal, err, user_errors, write_stdout

FORMATS = ("text", "json", "sarif")


@user_errors
def lint(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Package folders (apiDefinition.swagger.json + apiProperties.json), or "
            "folders of packages."
        ),
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="text (for people), json or sarif.")
    ] = "text",
) -> None:
    """Check packages offline against Microsoft's certification rules.

    Exit 0 when no finding is an error, 1 when one is, 2 when a path is not a package.
    """
    from rich.markup import escape

    from ..package.lint import NotAPackage, lint_paths
    from ..package.output import render_text, to_json, to_sarif

    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    results = lint_paths(paths)
    not_packages = [r for r in results if isinstance(r, NotAPackage)]
    if fmt == "text":
        render_text(results, Terminal(highlight=False))
    else:
        for result in not_packages:
            err.print(f"[bold red]error:[/] {escape(f'{result.path}: {result.reason}')}")
        single = len(paths) == 1 and len(results) == 1 and not not_packages
        single = single and results[0].path == _package_folder(paths[0])
        write_stdout(to_json(results, not single) if fmt == "json" else to_sarif(results))
    if not_packages:
        raise typer.Exit(EXIT_INPUT)
    ok = all(r.ok for r in results)
    raise typer.Exit(EXIT_READY if ok else EXIT_NOT_READY)


def _package_folder(path: Path) -> Path:
    return path.parent if path.is_file() else path
