"""The operations of a Swagger 2.0 document, with their `$ref`-resolved parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .loader import Package
from .positions import pointer

METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


@dataclass
class Parameter:
    value: dict
    at: str  # pointer of the resolved parameter (a #/parameters/… entry for a $ref)
    used_at: str  # pointer of the entry in the operation's or path's list


@dataclass
class Operation:
    path: str
    method: str
    value: dict
    at: str
    parameters: list[Parameter] = field(default_factory=list)  # path-level then operation-level

    @property
    def operation_id(self) -> str | None:
        oid = self.value.get("operationId")
        return oid if isinstance(oid, str) else None

    @property
    def name(self) -> str:
        return self.operation_id or f"{self.method.upper()} {self.path}"

    @property
    def annotation(self) -> dict:
        value = self.value.get("x-ms-api-annotation")
        return value if isinstance(value, dict) else {}

    @property
    def status(self) -> str | None:
        status = self.annotation.get("status")
        return status if isinstance(status, str) else None

    @property
    def deprecated(self) -> bool:
        return self.value.get("deprecated") is True

    @property
    def internal(self) -> bool:
        return self.value.get("x-ms-visibility") == "internal"

    @property
    def responses(self) -> dict[str, Any]:
        value = self.value.get("responses")
        return value if isinstance(value, dict) else {}


def _parameters(package: Package, items: Any, at: str) -> list[Parameter]:
    if not isinstance(items, list):
        return []
    found = []
    for index, item in enumerate(items):
        used_at = f"{at}/{index}"
        value, resolved_at = package.resolve(item, used_at)
        if isinstance(value, dict) and "$ref" not in value:
            found.append(Parameter(value, resolved_at, used_at))
    return found


def operations(package: Package) -> list[Operation]:
    """Every operation in document order; empty when the definition is not readable."""
    paths = (package.swagger or {}).get("paths")
    if not isinstance(paths, dict):
        return []
    found = []
    for path, item in paths.items():
        if not isinstance(item, dict) or path.startswith("x-"):
            continue
        path_at = pointer("paths", path)
        shared = _parameters(package, item.get("parameters"), path_at + "/parameters")
        for method, value in item.items():
            if method not in METHODS or not isinstance(value, dict):
                continue
            at = f"{path_at}/{method}"
            own = _parameters(package, value.get("parameters"), at + "/parameters")
            found.append(Operation(path, method, value, at, shared + own))
    return found
