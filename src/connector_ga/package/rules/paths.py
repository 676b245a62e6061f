"""Paths and parameters: duplicates that make routing or the designer ambiguous."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..findings import Finding
from ..loader import SWAGGER, Package
from ..operations import Parameter
from ..positions import pointer
from . import Context

_VARIABLE = re.compile(r"\{[^}]*\}")


def _duplicates(
    package: Package, parameters: list[Parameter], rule: str, owner: str
) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    bodies = 0
    for parameter in parameters:
        name, where = parameter.value.get("name"), parameter.value.get("in")
        if not isinstance(name, str) or not isinstance(where, str):
            continue
        if (name, where) in seen:
            yield package.finding(
                rule,
                "error",
                SWAGGER,
                parameter.used_at,
                f"{owner} lists parameter '{name}' in '{where}' twice",
                "remove the repeated parameter",
            )
        seen.add((name, where))
        if where == "body":
            bodies += 1
            if bodies == 2 and rule.startswith("Operation"):
                yield package.finding(
                    "OperationParametersContainMultipleBodyParameters",
                    "error",
                    SWAGGER,
                    parameter.used_at,
                    f"{owner} has more than one body parameter",
                    "merge the body parameters into one object schema",
                )


def check(ctx: Context) -> Iterator[Finding]:
    package = ctx.package
    checked_paths: set[str] = set()
    for op in ctx.operations:
        path_list = pointer("paths", op.path) + "/parameters/"
        shared = [p for p in op.parameters if p.used_at.startswith(path_list)]
        if op.path not in checked_paths:
            checked_paths.add(op.path)
            yield from _duplicates(
                package, shared, "PathParametersContainDuplicateParameter", f"path {op.path}"
            )
        own = [p for p in op.parameters if p not in shared]
        yield from _duplicates(
            package, own, "OperationParametersContainDuplicateParameter", f"operation {op.name}"
        )

    paths = [p for p in (package.swagger.get("paths") or {}) if not p.startswith("x-")]
    by_case: dict[str, str] = {}
    by_shape: dict[tuple[str, str], str] = {}
    for path in paths:
        folded = path.lower()
        if folded in by_case:
            yield package.finding(
                "PathRedefined",
                "error",
                SWAGGER,
                pointer("paths", path),
                f"path {path} differs from {by_case[folded]} only in letter case",
                "merge the two paths or make them differ in more than case",
            )
        else:
            by_case[folded] = path
    for op in ctx.operations:
        shape = _VARIABLE.sub("{}", op.path)
        key = (op.method, shape)
        other = by_shape.get(key)
        if other is not None and other != op.path:
            yield package.finding(
                "DuplicateOperationPath",
                "error",
                SWAGGER,
                op.at,
                f"{op.method.upper()} {op.path} and {op.method.upper()} {other} cannot be told "
                "apart: they differ only in path variable names",
                "make the static parts of the two paths differ",
            )
        by_shape.setdefault(key, op.path)
