"""The lint rules, one module per concern. Each `check(context)` yields findings."""

from __future__ import annotations

from dataclasses import dataclass

from ..evidence import BackendEvidence
from ..loader import Package
from ..operations import Operation
from ..preview import PreviewStatus


@dataclass
class Context:
    package: Package
    operations: list[Operation]
    backend: BackendEvidence
    preview: PreviewStatus
