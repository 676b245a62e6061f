"""Render lint reports: text for people, JSON (connector-ga/lint/v1) and SARIF 2.1.0; and
the JSON of `promote` (connector-ga/promote/v1) and `clouds` (connector-ga/clouds/v1)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from ..outputs.fit import Prose
from .catalog import MICROSOFT, RULES
from .clouds import CloudEdition, CloudsResult
from .editions import Change
from .findings import SEVERITIES, Finding, count
from .lint import LintReport, NotAPackage
from .promote import GA_DIFF, PromoteResult
from .sarif import sarif_location, sarif_log, sarif_uri

PROMOTE_SCHEMA = "connector-ga/promote/v1"
CLOUDS_SCHEMA = "connector-ga/clouds/v1"
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}
RULE_HELP = (
    "https://learn.microsoft.com/connectors/custom-connectors/certification-swagger-validator-rules"
)


def _where(report: LintReport, finding: Finding) -> str:
    place = f"{report.path / finding.file}"
    if finding.line is not None:
        place += f":{finding.line}:{finding.column}"
    return place


def render_text(results: list[LintReport | NotAPackage], console: Console) -> None:
    """Findings grouped by severity with file:line, then the preview and backend summary."""

    def say(text: str = "") -> None:
        # Wrapped between words at the width, under its own indent: never inside a name.
        line = Text.from_markup(text)
        indent = " " * (len(line.plain) - len(line.plain.lstrip(" ")) + 2)
        console.print(Prose(line, indent=indent))

    reports = [r for r in results if isinstance(r, LintReport)]
    for result in results:
        if isinstance(result, NotAPackage):
            say(f"[bold red]{escape(str(result.path))}[/]: {escape(result.reason)}")
            continue
        title = f" — {result.title}" if result.title else ""
        say(f"[bold]{escape(str(result.path))}[/]{escape(title)}")
        for severity in SEVERITIES:
            group = [f for f in result.findings if f.severity == severity]
            if not group:
                continue
            say(f"  [{COLOURS[severity]}]{severity}s ({len(group)})[/]")
            for finding in group:
                say(
                    f"    {escape(_where(result, finding))}  [bold]{finding.rule}[/]  "
                    f"{escape(finding.message)}"
                )
                say(f"      [dim]fix: {escape(finding.fix)}[/]")
        status = result.preview
        ops = ", ".join(f"{n} {s}" for s, n in status.operations.items() if n)
        say(
            f"  preview: connector {status.connector or 'status not set'}"
            + (", title says (Preview)" if status.title_says_preview else "")
            + (f", operations {ops}" if ops else "")
        )
        backend = result.backend
        verdict = {True: "production", False: "NOT production", None: "unknown"}[backend.production]
        hosts = ", ".join(backend.hosts) or "no host"
        say(f"  backend: {escape(hosts)} — {verdict}")
        for line in backend.evidence:
            say(f"    [dim]{escape(line)}[/]")
        say()
    errors = sum(r.errors for r in reports)
    warnings = sum(count(r.findings, "warning") for r in reports)
    bad = len(results) - len(reports)
    say(
        f"{len(reports)} package{'s' if len(reports) != 1 else ''}: {errors} errors, "
        f"{warnings} warnings"
        + (f"; {bad} path{'s' if bad != 1 else ''} not a package" if bad else "")
    )


def to_json(results: list[LintReport | NotAPackage], as_list: bool) -> str:
    """One object per package (connector-ga/lint/v1); a list when several were asked for."""
    objects = [r.to_json() for r in results if isinstance(r, LintReport)]
    return dumps(objects if as_list or len(objects) != 1 else objects[0])


def dumps(payload: dict | list) -> str:
    """The JSON text a command prints: indented, UTF-8 as is, one newline at the end."""
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _path(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def change_json(change: Change) -> dict:
    """One edited value; `from` is null when the value was added (e.g. a status)."""
    return {
        "file": change.file,
        "pointer": change.pointer,
        "line": change.line,
        "from": change.before,
        "to": change.after,
        "reason": change.reason,
    }


def promote_json(result: PromoteResult) -> dict:
    """`promote` as connector-ga/promote/v1. `out` and `diff_file` are null for a dry run;
    `lint_errors` holds the lint errors promoted past with --force (empty otherwise)."""
    return {
        "schema": PROMOTE_SCHEMA,
        "package": str(result.package),
        "out": _path(result.out_dir),
        "changed": result.changed,
        "changes": [change_json(change) for change in result.changes],
        "skipped": list(result.skipped),
        "lint_errors": [finding.to_json() for finding in result.lint_errors],
        "diff_file": _path(result.out_dir / GA_DIFF if result.out_dir is not None else None),
        "diff": result.diff,
    }


def cloud_edition_json(edition: CloudEdition) -> dict:
    """One cloud: `path` and `diff_file` are null when its edition was not written (an
    error, or no --out); `changes` is empty when the endpoint has an error."""
    return {
        "cloud": edition.cloud,
        "endpoint": edition.endpoint,
        "ok": edition.ok,
        "errors": count(edition.findings, "error"),
        "warnings": count(edition.findings, "warning"),
        "path": _path(edition.path),
        "diff_file": _path(edition.path / edition.diff_name if edition.path else None),
        "changes": [change_json(change) for change in edition.changes],
        "findings": [finding.to_json() for finding in edition.findings],
        "diff": edition.diff,
    }


def clouds_json(result: CloudsResult) -> dict:
    """`clouds` as connector-ga/clouds/v1: `ok` is false when any endpoint has an error."""
    return {
        "schema": CLOUDS_SCHEMA,
        "package": str(result.package),
        "out": _path(result.out_dir),
        "ok": result.ok,
        "editions": [cloud_edition_json(edition) for edition in result.editions],
    }


def to_sarif(results: list[LintReport | NotAPackage]) -> str:
    """One SARIF 2.1.0 run for every package, for GitHub code scanning."""
    reports = [r for r in results if isinstance(r, LintReport)]
    used = sorted({f.rule for r in reports for f in r.findings})
    rules = []
    for rule_id in used:
        source, description = RULES.get(rule_id, ("connector-ga", rule_id))
        descriptor = {
            "id": rule_id,
            "name": rule_id,
            "shortDescription": {"text": description},
            "properties": {"source": source},
        }
        if source == MICROSOFT:
            descriptor["helpUri"] = RULE_HELP
        rules.append(descriptor)
    index = {rule_id: i for i, rule_id in enumerate(used)}
    sarif_results = []
    for report in reports:
        for finding in report.findings:
            uri = sarif_uri(report.path / finding.file)
            location = sarif_location(uri, finding.line, finding.column, finding.pointer)
            sarif_results.append(
                {
                    "ruleId": finding.rule,
                    "ruleIndex": index[finding.rule],
                    "level": SARIF_LEVEL[finding.severity],
                    "message": {"text": f"{finding.message}. Fix: {finding.fix}"},
                    "locations": [location],
                    "properties": {"pointer": finding.pointer, "package": str(report.path)},
                }
            )
    return sarif_log(rules, sarif_results)
