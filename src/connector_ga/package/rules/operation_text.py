"""Operation summaries and descriptions (certification step 2: "Define operation … summaries").

Internal operations are hidden from makers, so their texts are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..findings import Finding
from ..loader import SWAGGER
from . import Context
from .text import product_names, quoted

SUMMARY_ADVISED = 80  # "phrases of 80 characters or shorter"
SUMMARY_LIMIT = 120  # the validator's OperationSummaryTooLong: "fewer than 120 characters"
# "contain only alphanumeric characters or parentheses" (spaces separate the words).
_RESTRICTED = re.compile(r"[^A-Za-z0-9 ()]")


def check(ctx: Context) -> Iterator[Finding]:
    for op in ctx.operations:
        if op.internal:
            continue
        summary = op.value.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            yield ctx.package.finding(
                "OperationSummaryMissing",
                "error",
                SWAGGER,
                op.at + "/summary",
                f"operation {op.name} has no summary (its name in the designer)",
                "add a short English summary such as 'Send an email'",
            )
        else:
            if len(summary) >= SUMMARY_LIMIT or len(summary) > SUMMARY_ADVISED:
                error = len(summary) >= SUMMARY_LIMIT
                yield ctx.package.finding(
                    "OperationSummaryTooLong",
                    "error" if error else "warning",
                    SWAGGER,
                    op.at + "/summary",
                    f"the summary of {op.name} has {len(summary)} characters; "
                    + (
                        f"it must have fewer than {SUMMARY_LIMIT}"
                        if error
                        else f"summaries should have {SUMMARY_ADVISED} or fewer"
                    ),
                    f"shorten the summary to {SUMMARY_ADVISED} characters or fewer",
                )
            characters = sorted(set(_RESTRICTED.findall(summary)))
            if characters:
                yield ctx.package.finding(
                    "RestrictedCharactersInSummary",
                    "warning",
                    SWAGGER,
                    op.at + "/summary",
                    f"the summary of {op.name} contains {quoted(characters)}: summaries should "
                    "hold only letters, digits and parentheses",
                    "rephrase the summary without those characters",
                )
        description = op.value.get("description")
        if not isinstance(description, str) or not description.strip():
            yield ctx.package.finding(
                "OperationDescriptionMissing",
                "error",
                SWAGGER,
                op.at + "/description",
                f"operation {op.name} has no description",
                "add a full English sentence that says what the operation does",
            )
        for key in ("summary", "description"):
            text = op.value.get(key)
            names = product_names(text) if isinstance(text, str) else []
            if names:
                yield ctx.package.finding(
                    "ValueContainsRestrictedWords",
                    "error",
                    SWAGGER,
                    f"{op.at}/{key}",
                    f"the {key} of {op.name} contains {quoted(names)}: Power Platform product "
                    "names are not allowed",
                    f"remove the product names from the {key}",
                )
