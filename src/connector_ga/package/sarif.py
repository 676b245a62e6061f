"""The SARIF 2.1.0 that `lint` and `diff` share: a file's URI, one location, the log."""

from __future__ import annotations

import json
from pathlib import Path

from .. import __version__

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


def sarif_uri(path: Path) -> str:
    """Relative to the working folder when under it (what code scanning resolves), else a
    file:// URI."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_uri()


def sarif_location(uri: str, line: int | None, column: int | None, pointer: str) -> dict:
    """The file, the line and column when known (column 1 without one), the JSON pointer."""
    physical: dict = {"artifactLocation": {"uri": uri}}
    if line is not None:
        physical["region"] = {"startLine": line, "startColumn": column or 1}
    location: dict = {"physicalLocation": physical}
    if pointer:
        location["logicalLocations"] = [{"fullyQualifiedName": pointer}]
    return location


def sarif_log(rules: list[dict], results: list[dict]) -> str:
    """One run of connector-ga with its rules and results, as the JSON text printed."""
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {"name": "connector-ga", "version": __version__, "rules": rules}
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
