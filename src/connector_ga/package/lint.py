"""The offline certification lint: load a package, run every rule, return a report."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .evidence import BackendEvidence, backend_evidence
from .findings import SEVERITIES, Finding, count
from .loader import SWAGGER, Package, is_package, load_package
from .operations import operations
from .preview import PreviewStatus, preview_status
from .rules import (
    Context,
    endpoint,
    extensions,
    files,
    metadata,
    operation_ids,
    operation_text,
    paths,
    preview,
    properties,
    references,
    responses,
    structure,
)

SCHEMA = "connector-ga/lint/v1"
# Rules that read the Swagger document; skipped when it is not readable Swagger 2.0.
DEFINITION_RULES = (
    references,
    structure,
    metadata,
    operation_ids,
    operation_text,
    responses,
    paths,
    extensions,
    endpoint,
    preview,
)
PACKAGE_RULES = (files, properties)


@dataclass
class LintReport:
    """Everything the lint says about one package."""

    path: Path
    title: str | None
    preview: PreviewStatus
    backend: BackendEvidence
    findings: list[Finding] = field(default_factory=list)

    def __iter__(self):
        """The findings, so a report can be used where a list of findings is expected."""
        return iter(self.findings)

    @property
    def errors(self) -> int:
        return count(self.findings, "error")

    @property
    def ok(self) -> bool:
        """True when no finding is an error."""
        return self.errors == 0

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA,
            "package": str(self.path),
            "title": self.title,
            "preview": self.preview.to_json(),
            "backend": self.backend.to_json(),
            "findings": [f.to_json() for f in self.findings],
        }


def _drop_structural_duplicates(findings: list[Finding]) -> list[Finding]:
    """A structural finding at a spot a named rule already reports says nothing new."""
    named = {(f.file, f.pointer) for f in findings if f.rule != "SwaggerStructure"}
    return [f for f in findings if f.rule != "SwaggerStructure" or (f.file, f.pointer) not in named]


def _order(finding: Finding) -> tuple:
    return (
        SEVERITIES.index(finding.severity),
        finding.file,
        finding.line if finding.line is not None else 0,
        finding.column or 0,
        finding.rule,
        finding.pointer,
    )


def lint_package(package: Package | str | Path) -> LintReport:
    """Lint one package (a Package or its folder). A folder that is no package: InputError."""
    if not isinstance(package, Package):
        package = load_package(package)
    ops = operations(package)
    context = Context(package, ops, backend_evidence(package), preview_status(package, ops))
    findings = list(package.problems)
    rules = PACKAGE_RULES + (DEFINITION_RULES if package.swagger is not None else ())
    for rule in rules:
        findings.extend(rule.check(context))
    findings = sorted(set(_drop_structural_duplicates(findings)), key=_order)
    return LintReport(package.path, package.title, context.preview, context.backend, findings)


@dataclass
class NotAPackage:
    """A path given to the lint that holds no connector package."""

    path: Path
    reason: str


def expand(paths: Iterable[str | Path]) -> Iterator[Path | NotAPackage]:
    """Each path as a package folder, once; a folder of packages gives each package in it;
    a file of a package (apiProperties.json, script.csx…: what a pre-commit hook passes)
    gives its package.

    Inside a folder of packages, a sub-folder that has apiProperties.json but no
    apiDefinition.swagger.json is reported; other files and folders are left alone.
    """
    seen: set[Path] = set()
    for item in _expand(paths):
        if isinstance(item, Path):
            if item.resolve() in seen:
                continue
            seen.add(item.resolve())
        yield item


def _expand(paths: Iterable[str | Path]) -> Iterator[Path | NotAPackage]:
    for raw in paths:
        path = Path(raw)
        if path.is_file() and (path.name == SWAGGER or is_package(path.parent)):
            yield path.parent
        elif path.is_dir() and is_package(path):
            yield path
        elif path.is_dir():
            children = sorted(p for p in path.iterdir() if p.is_dir())
            packages = [c for c in children if is_package(c)]
            broken = [
                c for c in children if not is_package(c) and (c / "apiProperties.json").is_file()
            ]
            if not packages and not broken:
                yield NotAPackage(path, f"not a connector package (no {SWAGGER} in it or below)")
            for child in children:
                if child in packages:
                    yield child
                elif child in broken:
                    yield NotAPackage(child, f"not a connector package (no {SWAGGER} in it)")
        elif path.exists():
            yield NotAPackage(path, "not a connector package (a file, not a folder)")
        else:
            yield NotAPackage(path, "no such file or folder")


def lint_paths(paths: Iterable[str | Path]) -> list[LintReport | NotAPackage]:
    """Lint every package under the paths; one bad package never stops the others."""
    results: list[LintReport | NotAPackage] = []
    for item in expand(paths):
        if isinstance(item, NotAPackage):
            results.append(item)
            continue
        try:
            results.append(lint_package(item))
        except InputError as exc:
            results.append(NotAPackage(item, exc.message))
    return results
