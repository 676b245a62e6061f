"""A finding: one thing the lint says about one place in a package file."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """`pointer` is a JSON pointer into `file`; `line`/`column` are 1-based, None when unknown."""

    rule: str
    severity: Severity
    file: str
    pointer: str
    line: int | None
    column: int | None
    message: str
    fix: str

    def to_json(self) -> dict:
        return asdict(self)


def count(findings: list[Finding], severity: Severity) -> int:
    return sum(1 for f in findings if f.severity == severity)
