"""Structural validation against Swagger 2.0 with openapi-spec-validator, as findings."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from jsonschema.exceptions import ValidationError, best_match
from openapi_spec_validator import OpenAPIV2SpecValidator
from openapi_spec_validator.validation.exceptions import (
    DuplicateOperationIDError,
    ParameterDuplicateError,
)

from ..findings import Finding
from ..loader import SWAGGER, Package
from ..positions import pointer
from . import Context, references

# Reported by the Microsoft-named rules instead (OperationIdNotUnique, …DuplicateParameter).
COVERED_ELSEWHERE = (DuplicateOperationIDError, ParameterDuplicateError)
_OPERATION = re.compile(r"for '(\w+)' (?:operation )?in '([^']+)'")
MAX_MESSAGE = 240


def _value_pointer(node: Any, wanted: Any, at: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _value_pointer(value, wanted, at + pointer(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _value_pointer(value, wanted, f"{at}/{index}")
    elif type(node) is type(wanted) and node == wanted:
        yield at


def _locate(error: ValidationError, package: Package) -> str:
    """A pointer for an error: its own path, the operation it names, or the offending value."""
    if error.absolute_path:
        return pointer(*error.absolute_path)
    match = _OPERATION.search(error.message)
    if match:
        return pointer("paths", match.group(2), match.group(1))
    if isinstance(error.instance, str | int | float | bool):
        spots = list(_value_pointer(package.swagger, error.instance))
        defaults = [s for s in spots if s.endswith("/default")]
        if defaults or spots:
            return (defaults or spots)[0]
    return ""


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def check(ctx: Context) -> Iterator[Finding]:
    package = ctx.package
    if references.broken(package):
        return  # the reference findings come first; the validator cannot follow broken $refs
    try:
        errors = list(OpenAPIV2SpecValidator(package.swagger).iter_errors())
    except Exception as exc:  # noqa: BLE001 - a validator crash must not stop the lint
        yield package.finding(
            "SwaggerStructure",
            "error",
            SWAGGER,
            "",
            _shorten(f"structural validation could not finish: {exc}"),
            "fix the other errors first, then lint again",
        )
        return
    reported: set[str] = set()
    for error in errors:
        if isinstance(error, COVERED_ELSEWHERE):
            continue
        if error.context:  # oneOf/anyOf: the most relevant branch says what is wrong
            error = best_match(error.context)
        at = _locate(error, package)
        if at in reported:
            continue  # one spot, one finding: the first message is the plainest
        reported.add(at)
        # Swagger 2.0: "format is an open string-valued property" — a hint, not a constraint.
        format_only = error.validator == "format"
        yield package.finding(
            "SwaggerStructure",
            "warning" if format_only else "error",
            SWAGGER,
            at,
            _shorten(f"not valid Swagger 2.0: {error.message}"),
            "give a value in that format, or drop the 'format'"
            if format_only
            else "correct this part of the definition to follow the Swagger 2.0 specification",
        )
