"""`promote`: the GA edition of a connector package, and the diff a publisher reviews.

The edition is the package as it should look once Microsoft moves it to general
availability, and nothing more:

- `info.x-ms-api-annotation.status` and each operation's `x-ms-api-annotation.status`
  that say `Preview` become `Production`;
- "(Preview)" is removed from the connector title (`info.title`) and operation summaries;
- when the package marks itself preview only by its title or operations and has no
  connector status at all, `"x-ms-api-annotation": {"status": "Production"}` is added to
  `info` (into an existing `x-ms-api-annotation` object if there is one): a GA edition
  should say it is GA rather than leave it to a default. A package with no preview marker
  gets nothing added;
- deprecated operations (`"deprecated": true`) are left as they are: their "(Preview)"
  typically names the preview API version they still call (e.g. Azure Communication
  Services Email), which going GA does not change. They are listed in `skipped`.

Values are replaced in the file's text, so key order, indentation, escapes, line endings
(CRLF too) and a UTF-8 BOM stay byte-identical; every other file is copied unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .editions import SWAGGER, Change, EditablePackage, check_out_dir, write_atomically
from .findings import Finding
from .jsontext import JsonText, Node, pointer_token

PRODUCTION = "Production"
GA_DIFF = "ga-edition.diff"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
PATHS_KEYS = ("paths", "x-ms-paths")
_PREVIEW_MARK = re.compile(r"[ \t]*\(\s*preview\s*\)[ \t]*", re.IGNORECASE)


@dataclass
class PromoteResult:
    """What `promote` changed (or would change), the diff, and where it wrote the edition."""

    package: Path
    out_dir: Path | None  # None for a dry run
    changes: list[Change]
    diff: str
    skipped: list[str] = field(default_factory=list)  # left as they are, and why
    lint_errors: list[Finding] = field(default_factory=list)  # promoted past with --force

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def without_preview(text: str) -> str:
    """`text` without "(Preview)": "XC-Gate (Preview)" → "XC-Gate",
    "Send email (Preview) - v1" → "Send email - v1"."""

    def join(match: re.Match[str]) -> str:
        # Keep one space when words stand on both sides, none at either end.
        inside = match.start() > 0 and match.end() < len(match.string)
        return " " if inside else ""

    return _PREVIEW_MARK.sub(join, text)


def _says_preview(node: Node | None) -> bool:
    return node is not None and node.is_string() and node.value.strip().lower() == "preview"


def _has_preview_mark(node: Node | None) -> bool:
    return node is not None and node.is_string() and bool(_PREVIEW_MARK.search(node.value))


def operations(swagger: JsonText):
    """(pointer, label, operation node) for every operation under `paths` / `x-ms-paths`."""
    for paths_key in PATHS_KEYS:
        paths = swagger.root.get(paths_key)
        if paths is None or paths.kind != "object":
            continue
        for path in paths.members:
            for method in path.value.members:
                if method.key.lower() in HTTP_METHODS and method.value.kind == "object":
                    pointer = f"/{paths_key}/{pointer_token(path.key)}/{method.key}"
                    yield pointer, f"{method.key.upper()} {path.key}", method.value


class _GaEdition:
    """The edits that make one package's apiDefinition read as GA."""

    def __init__(self, swagger: JsonText) -> None:
        self.swagger = swagger
        self.changes: list[Change] = []
        self.skipped: list[str] = []

    def _record(self, node: Node, pointer: str, before: Any, after: Any, reason: str) -> None:
        line = self.swagger.line_of(node.start)
        self.changes.append(Change(SWAGGER, pointer, line, before, after, reason))

    def set_production(self, node: Node, pointer: str, reason: str) -> None:
        self.swagger.set_string(node, PRODUCTION)
        self._record(node, pointer, node.value, PRODUCTION, reason)

    def drop_preview_mark(self, node: Node, pointer: str, reason: str) -> None:
        after = self.swagger.rewrite_string(node, without_preview)
        self._record(node, pointer, node.value, after, reason)

    def plan(self) -> None:
        root = self.swagger.root
        if root.kind != "object":
            raise InputError(f"{self.swagger.name}: expected a JSON object at the top")
        preview_elsewhere = False
        for pointer, label, operation in operations(self.swagger):
            annotation = operation.get("x-ms-api-annotation")
            status = annotation.get("status") if annotation else None
            summary = operation.get("summary")
            if not (_says_preview(status) or _has_preview_mark(summary)):
                continue
            deprecated = operation.get("deprecated")
            if deprecated is not None and deprecated.kind == "true":
                self.skipped.append(f"{label}: deprecated, left as it is")
                continue
            preview_elsewhere = True
            if _says_preview(status):
                status_pointer = f"{pointer}/x-ms-api-annotation/status"
                self.set_production(status, status_pointer, "operation status")
            if _has_preview_mark(summary):
                self.drop_preview_mark(summary, f"{pointer}/summary", "operation summary")
        info = root.get("info")
        if info is None or info.kind != "object":
            return  # nothing to promote at connector level; the lint reports the missing info
        title = info.get("title")
        if _has_preview_mark(title):
            preview_elsewhere = True
            self.drop_preview_mark(title, "/info/title", "connector title")
        annotation = info.get("x-ms-api-annotation")
        status = annotation.get("status") if annotation is not None else None
        if _says_preview(status):
            self.set_production(status, "/info/x-ms-api-annotation/status", "connector status")
        elif status is None and preview_elsewhere:
            self._add_connector_status(info, annotation)

    def _add_connector_status(self, info: Node, annotation: Node | None) -> None:
        reason = "connector status (absent; the package said preview elsewhere)"
        if annotation is None:
            # Just after the title (before the member that follows it), else first: only
            # added lines in the diff, no existing line touched.
            keys = [member.key for member in info.members]
            after_title = keys.index("title") + 1 if "title" in keys else 0
            before = info.members[after_title if after_title < len(keys) else 0]
            value = {"status": PRODUCTION}
            self.swagger.insert_member(info, "x-ms-api-annotation", value, before=before)
            self._record(before.value, "/info/x-ms-api-annotation", None, value, reason)
        elif annotation.kind == "object":
            first = annotation.members[0] if annotation.members else None
            self.swagger.insert_member(annotation, "status", PRODUCTION, before=first)
            self._record(annotation, "/info/x-ms-api-annotation/status", None, PRODUCTION, reason)
        else:
            self.skipped.append("info.x-ms-api-annotation is not an object: no status added")


def lint_errors(package_dir: Path) -> list[Finding]:
    """The errors the certification lint finds in the package."""
    from .lint import lint_package  # imported here: the lint's rules are many modules

    return [finding for finding in lint_package(package_dir) if finding.severity == "error"]


def describe_finding(finding: Finding) -> str:
    """One line for a lint finding: `Rule file:line /pointer: message`."""
    where = finding.file + (f":{finding.line}" if finding.line else "")
    where += f" {finding.pointer}" if finding.pointer else ""
    return f"{finding.rule} {where.strip()}: {finding.message}"


def promote(
    package_dir: str | Path,
    out_dir: str | Path | None,
    force: bool = False,
    *,
    overwrite: bool = False,
) -> PromoteResult:
    """Write the GA edition of `package_dir` to `out_dir` with `ga-edition.diff` in it.

    Refuses (InputError) when the lint finds errors, unless `force`; refuses an existing
    non-empty `out_dir` unless `overwrite`. `out_dir=None` only computes the changes.
    Promoting an edition again changes nothing (an empty diff).
    """
    package = EditablePackage(package_dir)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        check_out_dir(out, package.path, overwrite)
    edition = _GaEdition(package.swagger)
    edition.plan()
    errors = lint_errors(package.path)
    if errors and not force:
        raise InputError(
            f"{package.path}: the lint found {len(errors)} error(s); fix them, or pass --force "
            "to promote anyway",
            details=[describe_finding(finding) for finding in errors],
        )
    result = PromoteResult(
        package=package.path,
        out_dir=out,
        changes=sorted(edition.changes, key=lambda change: change.line),
        diff=package.diff(),
        skipped=edition.skipped,
        lint_errors=errors,
    )
    if out is not None:
        files = package.edited_files()
        files[GA_DIFF] = result.diff.encode("utf-8")
        write_atomically(out, files, overwrite=overwrite)
    return result
