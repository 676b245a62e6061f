"""Preview status: where the package says it is in preview, and where those places disagree."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding
from ..loader import SWAGGER
from ..preview import PREVIEW_IN_TEXT, normalise_status
from . import Context


def check(ctx: Context) -> Iterator[Finding]:
    package, status = ctx.package, ctx.preview
    if status.effective == "Preview":
        said = []
        if status.connector == "Preview":
            said.append("info.x-ms-api-annotation.status is Preview")
        if status.title_says_preview:
            said.append("the title says (Preview)")
        yield package.finding(
            "ConnectorInPreview",
            "info",
            SWAGGER,
            "/info/x-ms-api-annotation/status" if status.connector else "/info/title",
            "the connector is in preview: " + " and ".join(said),
            "once the GA criteria pass, `connector-ga promote` writes the GA edition",
        )
    if status.title_says_preview and status.connector != "Preview":
        yield package.finding(
            "PreviewStatusInconsistent",
            "warning",
            SWAGGER,
            "/info/title",
            "the title says (Preview) but info.x-ms-api-annotation.status is "
            + (status.connector or "not set"),
            'set info.x-ms-api-annotation.status to "Preview" while in preview, and drop '
            '"(Preview)" from the title at GA',
        )
    for op in ctx.operations:
        op_status = normalise_status(op.status)
        if op_status == "Production" and status.effective == "Preview":
            yield package.finding(
                "OperationStatusAheadOfConnector",
                "error",
                SWAGGER,
                op.at + "/x-ms-api-annotation/status",
                f"operation {op.name} is in Production status while the connector is in Preview",
                "mark the operation Preview, or move the whole connector to Production",
            )
        summary = op.value.get("summary")
        if (
            op_status == "Production"
            and isinstance(summary, str)
            and PREVIEW_IN_TEXT.search(summary)
        ):
            yield package.finding(
                "PreviewStatusInconsistent",
                "warning",
                SWAGGER,
                op.at + "/summary",
                f"the summary of {op.name} says (Preview) but its status is Production",
                'remove "(Preview)" from the summary',
            )
