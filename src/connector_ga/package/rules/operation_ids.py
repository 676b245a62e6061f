"""operationId: required, unique, and equal to its sanitised form (letters and digits)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..findings import Finding
from ..loader import SWAGGER
from . import Context

# Underscores are kept: Microsoft's own revisions are named like GetItems_V2.
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def check(ctx: Context) -> Iterator[Finding]:
    first: dict[str, str] = {}
    for op in ctx.operations:
        oid = op.value.get("operationId")
        if not isinstance(oid, str) or not oid:
            yield ctx.package.finding(
                "OperationIdRequired",
                "error",
                SWAGGER,
                op.at,
                f"operation {op.method.upper()} {op.path} has no operationId",
                "add a unique operationId made of letters and digits, e.g. 'ListInvoices'",
            )
            continue
        if oid in first:
            yield ctx.package.finding(
                "OperationIdNotUnique",
                "error",
                SWAGGER,
                op.at + "/operationId",
                f"operationId '{oid}' is also used by {first[oid]}",
                "give each operation its own operationId",
            )
        else:
            first[oid] = f"{op.method.upper()} {op.path}"
        if _UNSAFE.search(oid):
            sanitised = _UNSAFE.sub("", oid)
            yield ctx.package.finding(
                "OperationIdSanitized",
                "error",
                SWAGGER,
                op.at + "/operationId",
                f"operationId '{oid}' differs from its sanitised value '{sanitised}'",
                f"rename it '{sanitised}' (and update every reference to it)",
            )
