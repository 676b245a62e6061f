"""Render lint reports: text for people, JSON (connector-ga/lint/v1) and SARIF 2.1.0."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from .. import __version__
from .catalog import MICROSOFT, RULES
from .findings import SEVERITIES, Finding, count
from .lint import LintReport, NotAPackage

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
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
    print_line = console.print

    def say(text: str = "") -> None:
        print_line(text, soft_wrap=True)  # a finding stays on one line, whatever the width

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
    payload = objects if as_list or len(objects) != 1 else objects[0]
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _uri(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_uri()


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
            location: dict = {
                "physicalLocation": {"artifactLocation": {"uri": _uri(report.path / finding.file)}}
            }
            if finding.line is not None:
                location["physicalLocation"]["region"] = {
                    "startLine": finding.line,
                    "startColumn": finding.column or 1,
                }
            if finding.pointer:
                location["logicalLocations"] = [{"fullyQualifiedName": finding.pointer}]
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
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "connector-ga",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": sarif_results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
