"""`connector-ga schema NAME`: print the JSON Schema of a published contract."""

from __future__ import annotations

from typing import Annotated

import typer

from ..contracts import CONTRACTS
from .common import user_errors, write_stdout


@user_errors
def schema(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help="result, history, watch, lint, promote, clouds, review or diff "
            "(or connector-ga/result/v1).",
        ),
    ],
) -> None:
    """Print the JSON Schema (2020-12) of a JSON contract, e.g. `schema result`."""
    from ..contracts import schema_text

    write_stdout(schema_text(name))


schema.__doc__ += "\n\n" + "\n\n".join(f"{name}: {what}" for name, what in CONTRACTS.items())
