"""`connector-ga init`: a commented ga.toml, pre-filled from the package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import err, user_errors


@user_errors
def init(
    package: Annotated[
        Path | None,
        typer.Argument(help="The connector package folder (apiDefinition.swagger.json)."),
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write ga.toml (default: here).")
    ] = Path("."),
    connector_id: Annotated[str | None, typer.Option("--id", help="Connector id.")] = None,
    telemetry: Annotated[
        list[str] | None,
        typer.Option(
            "--telemetry", "-t", help="Telemetry file or glob that ga.toml's paths declares."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing ga.toml.")] = False,
) -> None:
    """Write a commented ga.toml, pre-filled from the connector package when one is given."""
    from ..init import write_ga_toml

    path = write_ga_toml(
        directory, package, force=force, connector_id=connector_id, telemetry=telemetry
    )
    err.print(
        f"wrote {path}: declare backend status, support hours and preview_since, then run "
        "`connector-ga check`"
    )
