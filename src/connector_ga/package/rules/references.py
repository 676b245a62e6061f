"""`$ref`s must point to something inside the file (#/definitions, #/parameters, #/responses)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..findings import Finding
from ..loader import SWAGGER, Package
from ..positions import escape
from . import Context

KINDS = {
    "#/definitions/": "SchemaReferenceNotFound",
    "#/parameters/": "ParameterReferenceNotFound",
    "#/responses/": "ResponseReferenceNotFound",
}


def references(node: Any, at: str = "") -> Iterator[tuple[str, str]]:
    """(pointer of the $ref key, reference) for every `$ref` string in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield f"{at}/$ref", value
            else:
                yield from references(value, f"{at}/{escape(key)}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from references(value, f"{at}/{index}")


def broken(package: Package) -> list[tuple[str, str, str]]:
    """(pointer, reference, rule) of every `$ref` that does not resolve within the file."""
    found = []
    for at, ref in references(package.swagger):
        kind = next((rule for prefix, rule in KINDS.items() if ref.startswith(prefix)), None)
        if kind is None:
            found.append((at, ref, "JsonPointerNotValid"))
        elif package.get(ref[1:]) is None:
            found.append((at, ref, kind))
    return found


def check(ctx: Context) -> Iterator[Finding]:
    for at, ref, rule in broken(ctx.package):
        if rule == "JsonPointerNotValid":
            message = (
                f"$ref '{ref}' must point into this file's #/definitions, #/parameters or "
                "#/responses: a connector is one self-contained file"
            )
            fix = "copy the referenced object into #/definitions (or #/parameters, #/responses)"
        else:
            message = f"$ref '{ref}' points to nothing in {SWAGGER}"
            fix = f"define '{ref[2:]}' or correct the reference"
        yield ctx.package.finding(rule, "error", SWAGGER, at, message, fix)
