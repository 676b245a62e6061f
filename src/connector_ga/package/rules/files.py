"""Package files: the Swagger file's size and the readme."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding
from ..loader import README, SWAGGER
from . import Context

# "Swagger files shouldn't be greater than 1 MB" (certification submission page), 1 MB = 2^20.
MAX_SWAGGER_BYTES = 1024 * 1024


def check(ctx: Context) -> Iterator[Finding]:
    size = ctx.package.size(SWAGGER) or 0
    if size > MAX_SWAGGER_BYTES:
        yield Finding(
            "FileTooLarge",
            "error",
            SWAGGER,
            "",
            None,
            None,
            f"{SWAGGER} is {size:,} bytes, more than 1 MB ({MAX_SWAGGER_BYTES:,} bytes)",
            "split the connector into two or more connectors, or remove unused definitions",
        )
    if README not in ctx.package.files:
        yield Finding(
            "ReadmeMissing",
            "warning",
            README,
            "",
            None,
            None,
            "the package has no readme.md, which certification requires",
            "add a readme.md describing the connector, its prerequisites and its operations",
        )
