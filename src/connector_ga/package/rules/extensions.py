"""x-ms-visibility values, x-ms-api-annotation statuses, operation families and replacements."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from ..findings import Finding
from ..loader import SWAGGER
from ..operations import Operation
from ..positions import escape
from ..preview import STATUSES
from . import Context

VISIBILITY = ("important", "advanced", "internal")
MAX_ACTIVE_IN_FAMILY = 2


def _visibility(node: Any, at: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{at}/{escape(key)}"
            if key == "x-ms-visibility":
                yield here, value
            else:
                yield from _visibility(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _visibility(value, f"{at}/{index}")


def _statuses(ctx: Context) -> Iterator[tuple[str, Any]]:
    info = ctx.package.swagger.get("info")
    annotation = info.get("x-ms-api-annotation") if isinstance(info, dict) else None
    if isinstance(annotation, dict) and "status" in annotation:
        yield "/info/x-ms-api-annotation/status", annotation["status"]
    for op in ctx.operations:
        if "status" in op.annotation:
            yield op.at + "/x-ms-api-annotation/status", op.annotation["status"]


def _families(ctx: Context) -> Iterator[Finding]:
    package = ctx.package
    families: dict[str, list[Operation]] = defaultdict(list)
    for op in ctx.operations:
        family = op.annotation.get("family")
        if isinstance(family, str) and family:
            families[family].append(op)
    for family, members in families.items():
        empty = [op for op in members if op.annotation.get("revision") is None]
        for op in empty:
            yield package.finding(
                "OperationRevisionEmpty",
                "warning",
                SWAGGER,
                op.at + "/x-ms-api-annotation",
                f"operation {op.name} is in family '{family}' but gives no revision",
                "add a 'revision' number to its x-ms-api-annotation",
            )
        if len(empty) > 1:
            yield package.finding(
                "OperationFamilyHasManyEmptyRevisions",
                "error",
                SWAGGER,
                empty[1].at + "/x-ms-api-annotation",
                f"family '{family}' has {len(empty)} operations without a revision; only one "
                "may have none",
                "number the revisions 1, 2, …",
            )
        seen: dict[Any, str] = {}
        for op in members:
            revision = op.annotation.get("revision")
            if revision is None:
                continue
            if revision in seen:
                yield package.finding(
                    "OperationFamilyHasDuplicateRevisions",
                    "error",
                    SWAGGER,
                    op.at + "/x-ms-api-annotation/revision",
                    f"operations {seen[revision]} and {op.name} of family '{family}' both have "
                    f"revision {revision}",
                    "give each operation of the family its own revision",
                )
            seen.setdefault(revision, op.name)
        active = [op for op in members if not op.deprecated]
        if len(active) > MAX_ACTIVE_IN_FAMILY:
            yield package.finding(
                "OperationFamilyHasManyActiveOperations",
                "error",
                SWAGGER,
                active[MAX_ACTIVE_IN_FAMILY].at,
                f"family '{family}' has {len(active)} operations that are not deprecated; at "
                f"most {MAX_ACTIVE_IN_FAMILY} may be",
                'mark the older revisions "deprecated": true',
            )
        production = [op for op in active if op.status == "Production"]
        if len(production) > 1:
            yield package.finding(
                "OperationFamilyHasManyActiveProductionOperations",
                "error",
                SWAGGER,
                production[1].at,
                f"family '{family}' has {len(production)} active operations in Production",
                "deprecate the previous revisions",
            )


def _replacements(ctx: Context) -> Iterator[Finding]:
    for op in ctx.operations:
        replacement = op.annotation.get("replacement")
        if not isinstance(replacement, dict):
            continue
        at = op.at + "/x-ms-api-annotation/replacement"
        if not op.deprecated:
            yield ctx.package.finding(
                "ApiAnnotationExtensionReplacementInfoForNonDeprecatedOperations",
                "error",
                SWAGGER,
                at,
                f"operation {op.name} names a replacement but is not deprecated",
                'mark the operation "deprecated": true, or remove the replacement',
            )
        for key, rule in (
            ("api", "ApiAnnotationExtensionReplacementInfoMissingApiProperty"),
            ("operationId", "ApiAnnotationExtensionReplacementInfoMissingOperationIdProperty"),
        ):
            if not replacement.get(key):
                yield ctx.package.finding(
                    rule,
                    "error",
                    SWAGGER,
                    at,
                    f"the replacement of operation {op.name} has no '{key}'",
                    f"add '{key}' to the replacement",
                )


def check(ctx: Context) -> Iterator[Finding]:
    for at, value in _visibility(ctx.package.swagger, ""):
        if value not in VISIBILITY:
            yield ctx.package.finding(
                "JsonValueNotInEnum",
                "error",
                SWAGGER,
                at,
                f"x-ms-visibility {value!r} is not one of: {', '.join(VISIBILITY)}",
                "use important, advanced or internal (or leave x-ms-visibility out)",
            )
    for at, value in _statuses(ctx):
        if value not in STATUSES:
            yield ctx.package.finding(
                "JsonValueNotInEnum",
                "error",
                SWAGGER,
                at,
                f"x-ms-api-annotation status {value!r} is not one of: {', '.join(STATUSES)}",
                'use "Preview" or "Production"',
            )
    yield from _families(ctx)
    yield from _replacements(ctx)
