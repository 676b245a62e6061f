"""`connector-ga promote` and `connector-ga clouds`: thin commands over
`package.promote.promote` and `package.clouds.clouds_from_config`.

`--format json` prints only the JSON on stdout (connector-ga/promote/v1,
connector-ga/clouds/v1, built in `package.output`); messages stay on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import InputError
from .common import Terminal, err, user_errors, write_stdout

if TYPE_CHECKING:
    from ..package.clouds import CloudsResult

EXIT_OK, EXIT_FINDINGS = 0, 1
SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}
FORMATS = ("text", "json")

FormatOpt = Annotated[str, typer.Option("--format", help="text (for people) or json.")]


def _check_format(fmt: str) -> None:
    """Before any work: an unknown format must not leave an edition written."""
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")


@user_errors
def promote(
    package: Annotated[
        Path, typer.Argument(help="The connector package folder (apiDefinition.swagger.json).")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the GA edition (a new folder).")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Promote even when the lint finds errors.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace --out if it exists and is not empty.")
    ] = False,
    fmt: FormatOpt = "text",
) -> None:
    """Write the GA edition of a package (status Production, no "(Preview)") and print its diff."""
    from ..package.promote import GA_DIFF
    from ..package.promote import promote as promote_package

    _check_format(fmt)
    result = promote_package(package, out, force=force, overwrite=overwrite)
    if fmt == "json":
        from ..package.output import dumps, promote_json

        write_stdout(dumps(promote_json(result)))
    else:
        write_stdout(result.diff)
    for line in result.skipped:
        err.print(f"left as it is: {line}", markup=False)
    if result.lint_errors:
        err.print(f"[yellow]promoted despite {len(result.lint_errors)} lint error(s) (--force)[/]")
    if result.changed:
        err.print(
            f"wrote {out}: {len(result.changes)} change(s); the diff is in {out / GA_DIFF}",
            markup=False,
        )
    else:
        err.print(f"nothing to change: the package already reads as GA; copied to {out}")


def _load_config(config: Path | None):
    from ..config import load_config

    if config is not None:
        return load_config(config)
    if Path("ga.toml").is_file():
        return load_config("ga.toml")
    raise InputError("no ga.toml here: pass --config FILE (its [clouds] names the endpoints)")


@user_errors
def clouds(
    package: Annotated[
        Path | None,
        typer.Argument(help="The connector package folder (default: package in ga.toml)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="ga.toml (default: ./ga.toml).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write one edition per cloud to DIR/<cloud>/."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace --out if it exists and is not empty.")
    ] = False,
    show_diff: Annotated[
        bool, typer.Option("--diff", help="Print each cloud's diff (in the JSON with json).")
    ] = False,
    fmt: FormatOpt = "text",
) -> None:
    """Check the other-cloud endpoints of ga.toml and write a package edition per cloud.

    Exit 1 when an endpoint has an error, 2 on bad input.
    """
    from ..package.clouds import clouds_from_config

    _check_format(fmt)
    result = clouds_from_config(_load_config(config), package, out, overwrite=overwrite)
    if fmt == "json":
        from ..package.output import clouds_json, dumps

        write_stdout(dumps(clouds_json(result)))
    else:
        _print_clouds(result, out is not None, show_diff)
    if out is None:
        err.print("no edition written: pass --out DIR to write one per cloud")
    elif not any(edition.path for edition in result.editions):
        err.print("no edition written: every cloud's endpoint has an error")
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FINDINGS)


def _print_clouds(result: CloudsResult, written: bool, show_diff: bool) -> None:
    """The table of clouds, then each finding and (with --diff) each diff, on stdout."""
    from rich.text import Text

    from ..outputs.fit import Col, Fitted, say

    console = Terminal(highlight=False)
    columns = [Col("cloud"), Col("endpoint"), Col("checks"), Col("changes", "right")]
    columns.append(Col("edition"))
    rows = []
    for edition in result.editions:
        severities = [finding.severity for finding in edition.findings]
        errors, warnings = severities.count("error"), severities.count("warning")
        checks = (
            f"[red]{errors} error(s)[/]"
            if errors
            else (f"[yellow]{warnings} warning(s)[/]" if warnings else "[green]ok[/]")
        )
        where = str(edition.path) if edition.path else ("not written" if written else "—")
        changes = str(len(edition.changes)) if edition.ok else "—"
        rows.append([Text(edition.cloud), Text(edition.endpoint), checks, changes, Text(where)])
    console.print(Fitted(columns, rows, title=f"clouds of {result.package}"))
    for edition in result.editions:
        for finding in edition.findings:
            where = finding.file + (f":{finding.line}" if finding.line else "")
            style = SEVERITY_STYLE.get(finding.severity, "")
            text = f"{finding.rule} ({where} {finding.pointer}) {finding.message}"
            text += f" — fix: {finding.fix}" if finding.fix else ""
            say(console, Text(finding.severity, style=style) + Text(f" {text}"), indent="  ")
        if show_diff and edition.diff:
            write_stdout(edition.diff)
