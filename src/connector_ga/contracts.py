"""The published JSON contracts: a JSON Schema (2020-12) for every JSON the program writes,
shipped in the package (`connector_ga/schemas/NAME.json`) and printed by `connector-ga schema`.

    validation_errors(document, "result")   # [] when the document keeps the contract
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from .errors import InputError

# Contract name -> what writes it.
CONTRACTS = {
    "result": "check --json, request's attached JSON (connector-ga/result/v1)",
    "history": "history --json (connector-ga/history/v1)",
    "watch": "watch --json (connector-ga/watch/v1)",
    "lint": "lint --format json (connector-ga/lint/v1)",
    "promote": "promote --format json (connector-ga/promote/v1)",
    "clouds": "clouds --format json (connector-ga/clouds/v1)",
    "review": "review --json (connector-ga/review/v1)",
    "diff": "diff --format json (connector-ga/diff/v1)",
}


def _known(name: str) -> str:
    short = name.removeprefix("connector-ga/").removesuffix("/v1")
    if short not in CONTRACTS:
        raise InputError(f"schema {name!r}: expected one of {', '.join(CONTRACTS)}")
    return short


def schema_text(name: str) -> str:
    """The schema file as shipped, byte for byte (`result` or `connector-ga/result/v1`)."""
    short = _known(name)
    return resources.files("connector_ga").joinpath("schemas", f"{short}.json").read_text("utf-8")


@cache
def schema(name: str) -> dict[str, Any]:
    return json.loads(schema_text(name))


@cache
def _validator(name: str, many: bool):
    """A contract whose document is one object or a list of them is checked against the
    branch the document's type picks, so an error names the key, not the whole document."""
    from jsonschema import Draft202012Validator

    whole = dict(schema(name))
    branches = whole.pop("anyOf", None)
    if branches is None:
        return Draft202012Validator(whole)
    one = next(b for b in branches if "$ref" in b)
    branch = {"type": "array", "items": one} if many else one
    return Draft202012Validator({**whole, **branch})


def validation_errors(document: Any, name: str, limit: int = 5) -> list[str]:
    """Where a document breaks the contract, as 'at /criteria/1/status: ...' lines (at most
    `limit`); [] when it keeps it."""
    from jsonschema.exceptions import best_match

    lines: list[str] = []
    for error in _validator(name, isinstance(document, list)).iter_errors(document):
        while error.context:  # anyOf/oneOf: the branch that came closest says why
            error = best_match([e for e in error.context if not _null_branch(e)] or error.context)
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
        line = f"at {where}: {message}"
        if line not in lines:
            lines.append(line)
        if len(lines) == limit:
            break
    return lines


def _null_branch(error) -> bool:
    """`X or null` failed on a value that is not null: the X branch says why."""
    return error.validator == "type" and error.validator_value == "null"
