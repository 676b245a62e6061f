"""`connector-ga diff`: the changes between two versions of a package that break its users."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from .common import EXIT_NOT_READY, EXIT_READY, Terminal, user_errors, write_stdout

FORMATS = ("text", "json", "sarif", "markdown")
FAIL_ON = ("breaking", "warning")


@user_errors
def diff(
    packages: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="OLD NEW | PACKAGE",
            help="Two package folders (old, new); with --base, one package (default: .).",
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(
            "--base", metavar="REF", help="Compare with the package as committed at this git ref."
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="text (for people), json, sarif or markdown.")
    ] = "text",
    fail_on: Annotated[
        str,
        typer.Option("--fail-on", help="breaking (default), or warning: warnings fail too."),
    ] = "breaking",
) -> None:
    """Report the changes between two versions of a connector package that break its users.

    `diff OLD NEW`: two folders. `diff --base REF [PACKAGE]`: the package at a git ref.

    Exit 0 without a breaking change, 1 with one (--fail-on warning: or a warning), 2 on bad input.
    """
    from ..package.diff import diff_packages, export_at_ref, load_for_diff
    from ..package.diff_output import render_text, to_json, to_markdown, to_sarif

    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if fail_on not in FAIL_ON:
        raise InputError(f"--fail-on {fail_on!r}: expected one of {', '.join(FAIL_ON)}")
    packages = packages or []
    git_base = None
    with tempfile.TemporaryDirectory(prefix="connector-ga-diff-") as tmp:
        if base is not None:
            if len(packages) > 1:
                raise InputError("with --base, give one package folder (the working copy)")
            new_path = packages[0] if packages else Path(".")
            new = load_for_diff(new_path)
            git_base = export_at_ref(new.path, base, Path(tmp))
            old = load_for_diff(git_base.folder, git_base.label)
            old_label, new_label = git_base.label, str(new_path)
        else:
            if len(packages) != 2:
                raise InputError("give two package folders, OLD and NEW (or --base REF [PACKAGE])")
            old, new = load_for_diff(packages[0]), load_for_diff(packages[1])
            old_label, new_label = str(packages[0]), str(packages[1])
        report = diff_packages(old, new, old_label, new_label, git_base)
        if fmt == "text":
            render_text(report, Terminal(highlight=False))
        else:
            render = {"json": to_json, "sarif": to_sarif, "markdown": to_markdown}[fmt]
            write_stdout(render(report))
    failing = report.breaking + (report.count("warning") if fail_on == "warning" else 0)
    raise typer.Exit(EXIT_NOT_READY if failing else EXIT_READY)
