"""Where the package says it is in preview: connector status, title, operation statuses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .loader import Package
from .operations import Operation

PREVIEW_IN_TEXT = re.compile(r"\(\s*preview\s*\)", re.IGNORECASE)
STATUSES = ("Preview", "Production")


def normalise_status(value: object) -> str | None:
    """'Preview' or 'Production' (any letter case), else None."""
    if isinstance(value, str):
        for status in STATUSES:
            if value.strip().lower() == status.lower():
                return status
    return None


@dataclass
class PreviewStatus:
    connector: str | None  # info.x-ms-api-annotation.status: Preview, Production or None
    title_says_preview: bool
    operations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))

    @property
    def effective(self) -> str | None:
        """The connector's status; a "(Preview)" title counts when no status is declared."""
        if self.connector is None and self.title_says_preview:
            return "Preview"
        return self.connector

    def to_json(self) -> dict:
        return {
            "connector": self.connector,
            "title_says_preview": self.title_says_preview,
            "operations": dict(self.operations),
        }


def preview_status(package: Package, ops: list[Operation]) -> PreviewStatus:
    info = (package.swagger or {}).get("info")
    annotation = info.get("x-ms-api-annotation") if isinstance(info, dict) else None
    status = normalise_status(annotation.get("status")) if isinstance(annotation, dict) else None
    title = package.title or ""
    counts = dict.fromkeys(STATUSES, 0)
    for op in ops:
        op_status = normalise_status(op.status)
        if op_status:
            counts[op_status] += 1
    return PreviewStatus(status, bool(PREVIEW_IN_TEXT.search(title)), counts)
