"""Response schemas: an output schema on 200/201, none on the default response."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding
from ..loader import SWAGGER
from . import Context

# Responses that carry no body: an operation answering only these needs no output schema.
NO_CONTENT = ("202", "204")


def check(ctx: Context) -> Iterator[Finding]:
    package = ctx.package
    for op in ctx.operations:
        resolved = {
            code: package.resolve(value, f"{op.at}/responses/{code}")
            for code, value in op.responses.items()
            if not code.startswith("x-")
        }
        default, default_at = resolved.get("default", (None, ""))
        if isinstance(default, dict) and "schema" in default:
            yield package.finding(
                "DefaultResponseHasSchema",
                "error",
                SWAGGER,
                default_at + "/schema",
                f"the default response of {op.name} defines a schema",
                "move the schema to the expected response (200 or 201) and leave the default "
                "response without one",
            )
        if op.internal:
            continue  # hidden from the designer: an output schema would not be shown anyway
        notification = op.value.get("x-ms-notification-content")
        if isinstance(notification, dict) and "schema" in notification:
            continue  # a webhook's output is its notification content
        has_output = any(
            isinstance(value, dict) and "schema" in value
            for code, (value, _) in resolved.items()
            if code in ("200", "201")
        )
        expects_output = any(code.startswith("2") and code not in NO_CONTENT for code in resolved)
        expects_output |= isinstance(default, dict) and "schema" in default
        if expects_output and not has_output:
            yield package.finding(
                "SchemaDefinitionSetIncorrectly",
                "warning",
                SWAGGER,
                op.at + "/responses",
                f"{op.name} defines no output schema on a 200 or 201 response: its output is "
                "not visible in the designer",
                "add a 'schema' to the 200 (or 201) response",
            )
