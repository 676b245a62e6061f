"""`promote`: the GA edition of a package changes only status, title and summary values,
byte for byte everything else; a second promote is a no-op.

Expected files are the input files with the lines named in each test replaced by hand
(line numbers read from the files in tests/data/connectors or from the literals below).
"""

from __future__ import annotations

import codecs
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector_ga.cli import app
from connector_ga.errors import InputError
from connector_ga.package import promote as promote_module
from connector_ga.package.findings import Finding
from connector_ga.package.lint import lint_package
from connector_ga.package.promote import GA_DIFF, promote, without_preview

DATA = Path(__file__).parent / "data" / "connectors"
SWAGGER = "apiDefinition.swagger.json"
PROPERTIES = "apiProperties.json"


PREVIEW_RULES = {
    "ConnectorInPreview",
    "PreviewStatusInconsistent",
    "OperationStatusAheadOfConnector",
}


@pytest.fixture
def no_lint(monkeypatch):
    """For the small hand-made packages, whose other lint findings are not the point."""
    monkeypatch.setattr(promote_module, "lint_errors", lambda package_dir: [])


def lines_of(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def replace_lines(data: bytes, replacements: dict[int, list[bytes]]) -> bytes:
    """`data` with 1-based line N replaced by the lines replacements[N] (CR kept as given)."""
    lines = lines_of(data)
    for number in sorted(replacements, reverse=True):
        lines[number - 1 : number] = replacements[number]
    return b"\n".join(lines)


def write_package(
    folder: Path, swagger: str, properties: str | None = None, *, crlf=False, bom=False
):
    folder.mkdir(parents=True)
    for name, text in ((SWAGGER, swagger), (PROPERTIES, properties)):
        if text is None:
            continue
        data = text.replace("\n", "\r\n") if crlf else text
        raw = data.encode("utf-8")
        (folder / name).write_bytes(codecs.BOM_UTF8 + raw if bom else raw)
    return folder


# A preview package: connector status, title, one preview operation, one production
# operation and one deprecated preview operation. The title keeps a \u00e2 escape.
PREVIEW_SWAGGER = r"""{
  "swagger": "2.0",
  "info": {
    "title": "Contoso T\u00e2ches (Preview)",
    "description": "Tasks for Contoso (Preview) teams: descriptions are not titles.",
    "version": "1.0",
    "x-ms-api-annotation": {
      "status": "Preview"
    }
  },
  "host": "api.contoso.com",
  "basePath": "/",
  "schemes": ["https"],
  "paths": {
    "/tasks": {
      "get": {
        "operationId": "ListTasks",
        "summary": "List tasks (Preview)",
        "description": "Lists tasks (Preview).",
        "x-ms-api-annotation": {"status": "Preview"},
        "responses": {"200": {"description": "OK"}}
      },
      "post": {
        "operationId": "CreateTask",
        "summary": "Create task",
        "x-ms-api-annotation": {"status": "Production"},
        "responses": {"200": {"description": "OK"}}
      }
    },
    "/v1/tasks": {
      "get": {
        "operationId": "ListTasksV1",
        "summary": "List tasks (Preview) - old",
        "deprecated": true,
        "x-ms-api-annotation": {"status": "Preview"},
        "responses": {"200": {"description": "OK"}}
      }
    }
  }
}
"""
# The four lines that change, by hand (CR added for CRLF files by the tests).
PREVIEW_EDITS = {
    4: [rb'    "title": "Contoso T\u00e2ches",'],
    8: [b'      "status": "Production"'],
    18: [b'        "summary": "List tasks",'],
    20: [b'        "x-ms-api-annotation": {"status": "Production"},'],
}
PROPERTIES_TEXT = '{\n  "properties": {\n    "iconBrandColor": "#123456"\n  }\n}\n'


# --- without_preview ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("XC-Gate (Preview)", "XC-Gate"),
        ("Send email (Preview) - DEPRECATED", "Send email - DEPRECATED"),
        ("(Preview) List tasks", "List tasks"),
        ("List tasks (preview)", "List tasks"),  # any letter case
        ("List tasks ( Preview )", "List tasks"),  # spaces inside, as the lint reads it
        ("List tasks", "List tasks"),
        ("Preview a task", "Preview a task"),  # the word alone is not the marker
    ],
)
def test_without_preview(title, expected):
    assert without_preview(title) == expected


# --- real packages ------------------------------------------------------------------------


def test_almabase_only_the_connector_status_line_changes(tmp_path):
    source = DATA / "Almabase"
    result = promote(source, tmp_path / "ga")
    original = (source / SWAGGER).read_bytes()
    # Line 13 is `      "status": "Preview"` inside info.x-ms-api-annotation.
    expected = replace_lines(original, {13: [b'      "status": "Production"']})
    assert (tmp_path / "ga" / SWAGGER).read_bytes() == expected
    for name in (PROPERTIES, "readme.md"):  # other files copied byte for byte
        assert (tmp_path / "ga" / name).read_bytes() == (source / name).read_bytes()
    assert [(c.pointer, c.line, c.before, c.after) for c in result.changes] == [
        ("/info/x-ms-api-annotation/status", 13, "Preview", "Production")
    ]
    # Hunk: line 13 with three lines of context each side, lines 10-16.
    assert result.diff == (
        "--- a/apiDefinition.swagger.json\n"
        "+++ b/apiDefinition.swagger.json\n"
        "@@ -10,7 +10,7 @@\n"
        '     "title": "Almabase",\n'
        '     "version": "1.0",\n'
        '     "x-ms-api-annotation": {\n'
        '-      "status": "Preview"\n'
        '+      "status": "Production"\n'
        "     }\n"
        "   },\n"
        '   "host": "api.almabaseapp.com",\n'
    )
    assert (tmp_path / "ga" / GA_DIFF).read_text(encoding="utf-8") == result.diff
    assert sorted(p.name for p in (tmp_path / "ga").iterdir()) == sorted(
        [SWAGGER, PROPERTIES, "readme.md", GA_DIFF]
    )


def test_xc_gate_title_loses_preview_and_gains_an_explicit_status(tmp_path):
    source = DATA / "XC-Gate"
    result = promote(source, tmp_path / "ga")
    # Line 5 is the title; XC-Gate has no connector status, so one is added just after the
    # title (before "contact"), as three new lines indented like the other info members.
    expected = replace_lines(
        (source / SWAGGER).read_bytes(),
        {
            5: [
                b'    "title": "XC-Gate",',
                b'    "x-ms-api-annotation": {',
                b'      "status": "Production"',
                b"    },",
            ]
        },
    )
    assert (tmp_path / "ga" / SWAGGER).read_bytes() == expected
    assert [(c.pointer, c.before, c.after) for c in result.changes] == [
        ("/info/title", "XC-Gate (Preview)", "XC-Gate"),
        ("/info/x-ms-api-annotation", None, {"status": "Production"}),
    ]
    # Only the title line is removed; everything else in the diff is an addition.
    removed = [line for line in result.diff.splitlines() if line.startswith("-")]
    assert removed == ["--- a/apiDefinition.swagger.json", '-    "title": "XC-Gate (Preview)",']


def test_deprecated_preview_operations_are_left_as_they_are(tmp_path):
    # Connector status Production; its two "(Preview) - DEPRECATED" summaries name the
    # preview API version the deprecated operations still call.
    source = DATA / "Azure-Communication-Services-Email"
    # forced: the lint rightly says ProductionStatusOnBetaService (a -preview API version)
    result = promote(source, tmp_path / "ga", force=True)
    assert result.changes == [] and result.diff == ""
    assert result.skipped == [
        "POST /emails:send: deprecated, left as it is",
        "GET /emails/{messageId}/status: deprecated, left as it is",
    ]
    assert (tmp_path / "ga" / SWAGGER).read_bytes() == (source / SWAGGER).read_bytes()


def test_a_package_with_no_preview_marker_gets_nothing_added(tmp_path):
    source = DATA / "Babybots"  # no status, no "(Preview)": nothing says preview; CRLF file
    result = promote(source, tmp_path / "ga", force=True)  # the lint errs on its -dev host
    assert result.changes == []
    assert (tmp_path / "ga" / SWAGGER).read_bytes() == (source / SWAGGER).read_bytes()
    assert (tmp_path / "ga" / GA_DIFF).read_bytes() == b""


@pytest.mark.parametrize("name", ["Almabase", "XC-Gate", "BoldSign"])
def test_the_edition_passes_the_lint_preview_checks_and_a_second_promote_is_a_no_op(tmp_path, name):
    before = lint_package(DATA / name)
    assert before.preview.effective == "Preview"
    assert "ConnectorInPreview" in {f.rule for f in before.findings}
    # BoldSign's lint errors (DefaultResponseHasSchema) are not about preview: forced.
    first = promote(DATA / name, tmp_path / "ga", force=name == "BoldSign")
    assert first.changed
    after = lint_package(tmp_path / "ga")
    assert after.preview.effective == "Production"
    assert not PREVIEW_RULES & {f.rule for f in after.findings}
    second = promote(tmp_path / "ga", tmp_path / "ga2", force=True)
    assert second.changes == [] and second.diff == ""
    for file in (SWAGGER, PROPERTIES):
        assert (tmp_path / "ga2" / file).read_bytes() == (tmp_path / "ga" / file).read_bytes()


def test_the_real_lint_refuses_a_package_with_errors_unless_forced(tmp_path):
    source = DATA / "Babybots"  # its host bb-fa-mpconnector-dev… is a -dev backend
    with pytest.raises(InputError, match="the lint found") as caught:
        promote(source, tmp_path / "ga")
    assert any(line.startswith("BackendNotProduction") for line in caught.value.details)
    assert not (tmp_path / "ga").exists()
    result = promote(source, tmp_path / "ga", force=True)
    assert "BackendNotProduction" in {f.rule for f in result.lint_errors}


def test_invalid_json_is_one_error_with_line_and_column(tmp_path):
    # ZohoSign as published: a missing comma, reported where json sees it.
    with pytest.raises(
        InputError, match=r"not valid JSON: Expecting ',' delimiter \(line 14, column 1\)"
    ):
        promote(DATA / "ZohoSign", tmp_path / "ga", force=True)
    assert not (tmp_path / "ga").exists()


# --- hand-made packages: CRLF, BOM, escapes, layout ---------------------------------------


@pytest.mark.usefixtures("no_lint")
@pytest.mark.parametrize(("crlf", "bom"), [(False, False), (True, False), (True, True)])
def test_only_status_title_and_summary_lines_change(tmp_path, crlf, bom):
    source = write_package(tmp_path / "pkg", PREVIEW_SWAGGER, PROPERTIES_TEXT, crlf=crlf, bom=bom)
    result = promote(source, tmp_path / "ga")
    original = (source / SWAGGER).read_bytes()
    cr = b"\r" if crlf else b""
    edits = {n: [line + cr for line in lines] for n, lines in PREVIEW_EDITS.items()}
    edited = (tmp_path / "ga" / SWAGGER).read_bytes()
    assert edited == replace_lines(original, edits)
    assert edited.startswith(codecs.BOM_UTF8) == bom
    if crlf:
        assert edited.count(b"\n") == edited.count(b"\r\n") == original.count(b"\r\n")
    assert (tmp_path / "ga" / PROPERTIES).read_bytes() == (source / PROPERTIES).read_bytes()
    assert [(c.pointer, c.line, c.before, c.after) for c in result.changes] == [
        ("/info/title", 4, "Contoso Tâches (Preview)", "Contoso Tâches"),
        ("/info/x-ms-api-annotation/status", 8, "Preview", "Production"),
        ("/paths/~1tasks/get/summary", 18, "List tasks (Preview)", "List tasks"),
        ("/paths/~1tasks/get/x-ms-api-annotation/status", 20, "Preview", "Production"),
    ]
    assert result.skipped == ["GET /v1/tasks: deprecated, left as it is"]
    changed = [
        line for line in result.diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"
    ]
    assert len(changed) == 8  # four lines out, four in
    assert promote(tmp_path / "ga", tmp_path / "ga2").diff == ""


@pytest.mark.usefixtures("no_lint")
def test_one_line_json_keeps_its_compact_layout(tmp_path):
    swagger = '{"swagger":"2.0","info":{"title":"Tasks (Preview)","version":"1.0"},"paths":{}}'
    source = write_package(tmp_path / "pkg", swagger)
    promote(source, tmp_path / "ga")
    # The status goes after the title, written with the file's own `:` spacing (none).
    assert (tmp_path / "ga" / SWAGGER).read_text() == (
        '{"swagger":"2.0","info":{"title":"Tasks","x-ms-api-annotation":{"status":"Production"},'
        '"version":"1.0"},"paths":{}}'
    )


@pytest.mark.usefixtures("no_lint")
def test_status_is_added_into_an_existing_annotation_without_one(tmp_path):
    swagger = (
        "{\n"
        '\t"swagger": "2.0",\n'
        '\t"info": {\n'
        '\t\t"title": "Tasks (Preview)",\n'
        '\t\t"version": "1.0",\n'
        '\t\t"x-ms-api-annotation": {\n'
        '\t\t\t"family": "tasks"\n'
        "\t\t}\n"
        "\t},\n"
        '\t"paths": {}\n'
        "}"  # no newline at the end of the file
    )
    source = write_package(tmp_path / "pkg", swagger)
    result = promote(source, tmp_path / "ga")
    # Line 4 loses "(Preview)"; "status" goes before "family" (line 7), tab-indented.
    assert (tmp_path / "ga" / SWAGGER).read_text() == swagger.replace(
        '"Tasks (Preview)"', '"Tasks"'
    ).replace('\t\t\t"family"', '\t\t\t"status": "Production",\n\t\t\t"family"')
    assert [c.pointer for c in result.changes] == [
        "/info/title",
        "/info/x-ms-api-annotation/status",
    ]
    assert json.loads((tmp_path / "ga" / SWAGGER).read_text())["info"]["x-ms-api-annotation"] == {
        "status": "Production",
        "family": "tasks",
    }


@pytest.mark.usefixtures("no_lint")
def test_dry_run_writes_nothing(tmp_path):
    source = write_package(tmp_path / "pkg", PREVIEW_SWAGGER)
    result = promote(source, None)
    assert result.out_dir is None and len(result.changes) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg"]


# --- the output folder --------------------------------------------------------------------


@pytest.mark.usefixtures("no_lint")
def test_refuses_a_non_empty_out_unless_overwrite(tmp_path):
    source = write_package(tmp_path / "pkg", PREVIEW_SWAGGER)
    out = tmp_path / "ga"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="exists and is not empty"):
        promote(source, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    promote(source, out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted([GA_DIFF, SWAGGER])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ga", "pkg"]  # no temp folder left


@pytest.mark.usefixtures("no_lint")
def test_an_existing_empty_out_is_used(tmp_path):
    source = write_package(tmp_path / "pkg", PREVIEW_SWAGGER)
    (tmp_path / "ga").mkdir()
    promote(source, tmp_path / "ga")
    assert (tmp_path / "ga" / SWAGGER).is_file()


@pytest.mark.usefixtures("no_lint")
@pytest.mark.parametrize("out", ["pkg", "pkg/ga", "."])
def test_out_may_not_be_the_package_hold_it_or_be_inside_it(tmp_path, out):
    source = write_package(tmp_path / "pkg", PREVIEW_SWAGGER)
    before = (source / SWAGGER).read_bytes()
    with pytest.raises(InputError, match="must be outside the package folder"):
        promote(source, tmp_path / out, overwrite=True)
    assert (source / SWAGGER).read_bytes() == before


@pytest.mark.usefixtures("no_lint")
def test_a_failed_write_leaves_no_partial_out(tmp_path, monkeypatch):
    source = write_package(tmp_path / "pkg", PREVIEW_SWAGGER, PROPERTIES_TEXT)
    real_write = Path.write_bytes
    calls = []

    def fail_on_second_file(self, data):
        calls.append(self.name)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", fail_on_second_file)
    with pytest.raises(InputError, match="No space left on device"):
        promote(source, tmp_path / "ga")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg"]


@pytest.mark.usefixtures("no_lint")
def test_not_a_package(tmp_path):
    with pytest.raises(InputError, match="no apiDefinition.swagger.json"):
        promote(tmp_path, tmp_path / "ga")
    with pytest.raises(InputError, match="not a folder"):
        promote(tmp_path / "missing", tmp_path / "ga")


# --- the lint gate ------------------------------------------------------------------------


def lint_error():
    return Finding(
        "HostNameNotValid", "error", SWAGGER, "/host", 11, 12, "bad host", "use a host name"
    )


def test_refuses_when_the_lint_has_errors_unless_forced(tmp_path, monkeypatch):
    source = write_package(tmp_path / "pkg", PREVIEW_SWAGGER)
    monkeypatch.setattr(promote_module, "lint_errors", lambda package_dir: [lint_error()])
    with pytest.raises(InputError, match=r"the lint found 1 error\(s\)") as caught:
        promote(source, tmp_path / "ga")
    assert caught.value.details == [
        "HostNameNotValid apiDefinition.swagger.json:11 /host: bad host"
    ]
    assert not (tmp_path / "ga").exists()
    result = promote(source, tmp_path / "ga", force=True)
    assert result.lint_errors == [lint_error()]
    assert (tmp_path / "ga" / SWAGGER).is_file()


# --- the command --------------------------------------------------------------------------


def test_cli_prints_the_diff_and_writes_the_edition(tmp_path):
    source = DATA / "Almabase"
    runner = CliRunner()
    result = runner.invoke(app, ["promote", str(source), "--out", str(tmp_path / "ga")])
    assert result.exit_code == 0, result.output
    assert '+      "status": "Production"' in result.stdout
    assert (tmp_path / "ga" / GA_DIFF).read_text() in result.stdout
    again = runner.invoke(app, ["promote", str(source), "--out", str(tmp_path / "ga")])
    assert again.exit_code == 2
    assert "exists and is not empty" in again.stderr and "Traceback" not in again.output


def test_cli_refusal_is_one_line_and_exit_2(tmp_path, monkeypatch):
    monkeypatch.setattr(promote_module, "lint_errors", lambda package_dir: [lint_error()])
    source = shutil.copytree(DATA / "Almabase", tmp_path / "pkg")
    result = CliRunner().invoke(app, ["promote", str(source), "--out", str(tmp_path / "ga")])
    assert result.exit_code == 2
    assert "--force" in result.stderr and "HostNameNotValid" in result.stderr
    forced = CliRunner().invoke(
        app, ["promote", str(source), "--out", str(tmp_path / "ga"), "--force"]
    )
    assert forced.exit_code == 0 and "despite 1 lint error" in forced.stderr


# --- the command, --format json (connector-ga/promote/v1) ---------------------------------


def promote_json(*args) -> tuple[int, dict | None, str, str]:
    result = CliRunner().invoke(app, ["promote", *map(str, args), "--format", "json"])
    payload = json.loads(result.stdout) if result.exit_code == 0 else None  # stdout: only JSON
    return result.exit_code, payload, result.stdout, result.stderr


@pytest.mark.usefixtures("no_lint")
def test_cli_json_lists_every_change_of_a_preview_package(tmp_path):
    source = write_package(tmp_path / "pkg", PREVIEW_SWAGGER)
    code, report, _, err = promote_json(source, "--out", tmp_path / "ga")
    assert code == 0
    assert report["schema"] == "connector-ga/promote/v1"
    assert report["package"] == str(source)
    assert report["out"] == str(tmp_path / "ga")
    assert report["changed"] is True
    # By hand from PREVIEW_SWAGGER: the title (line 4) and ListTasks's summary (line 18)
    # lose "(Preview)", the connector status (line 8) and ListTasks's status (line 20)
    # become Production: 4 changes, 2 of them "(Preview)" dropped. ListTasksV1 is
    # deprecated: skipped. CreateTask is already Production.
    pointer = "/paths/~1tasks/get"
    assert report["changes"] == [
        {
            "file": SWAGGER,
            "pointer": "/info/title",
            "line": 4,
            "from": "Contoso T\u00e2ches (Preview)",
            "to": "Contoso T\u00e2ches",
            "reason": "connector title",
        },
        {
            "file": SWAGGER,
            "pointer": "/info/x-ms-api-annotation/status",
            "line": 8,
            "from": "Preview",
            "to": "Production",
            "reason": "connector status",
        },
        {
            "file": SWAGGER,
            "pointer": f"{pointer}/summary",
            "line": 18,
            "from": "List tasks (Preview)",
            "to": "List tasks",
            "reason": "operation summary",
        },
        {
            "file": SWAGGER,
            "pointer": f"{pointer}/x-ms-api-annotation/status",
            "line": 20,
            "from": "Preview",
            "to": "Production",
            "reason": "operation status",
        },
    ]
    assert sum("(Preview)" in change["from"] for change in report["changes"]) == 2
    assert report["skipped"] == ["GET /v1/tasks: deprecated, left as it is"]
    assert report["lint_errors"] == []
    assert report["diff_file"] == str(tmp_path / "ga" / GA_DIFF)
    assert report["diff"] == (tmp_path / "ga" / GA_DIFF).read_text(encoding="utf-8")
    # Messages go to stderr, never into the JSON on stdout.
    assert "wrote" in err and "left as it is: GET /v1/tasks" in err


def test_cli_json_of_an_added_status_has_null_from(tmp_path):
    # XC-Gate: the title on line 5 loses "(Preview)"; it has no connector status, so
    # {"status": "Production"} is added before "contact" (line 6 of the original).
    code, report, _, _ = promote_json(DATA / "XC-Gate", "--out", tmp_path / "ga")
    assert code == 0
    assert [(c["pointer"], c["line"], c["from"], c["to"]) for c in report["changes"]] == [
        ("/info/title", 5, "XC-Gate (Preview)", "XC-Gate"),
        ("/info/x-ms-api-annotation", 6, None, {"status": "Production"}),
    ]


def test_cli_json_forced_past_the_lint_lists_its_errors(tmp_path):
    # Azure Communication Services Email: status already Production, its two "(Preview)"
    # summaries are deprecated operations; the lint errs on its -preview API version.
    source = DATA / "Azure-Communication-Services-Email"
    code, report, _, err = promote_json(source, "--out", tmp_path / "ga", "--force")
    assert code == 0
    assert report["changed"] is False and report["changes"] == [] and report["diff"] == ""
    assert report["skipped"] == [
        "POST /emails:send: deprecated, left as it is",
        "GET /emails/{messageId}/status: deprecated, left as it is",
    ]
    rules = {(f["rule"], f["severity"]) for f in report["lint_errors"]}
    assert ("ProductionStatusOnBetaService", "error") in rules
    assert {"file", "pointer", "line", "column", "message", "fix"} <= set(report["lint_errors"][0])
    assert "despite" in err


def test_cli_json_unknown_format_is_one_line_exit_2_and_writes_nothing(tmp_path):
    result = CliRunner().invoke(
        app, ["promote", str(DATA / "Almabase"), "--out", str(tmp_path / "ga"), "--format", "xml"]
    )
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip() == "error: --format 'xml': expected one of text, json"
    assert not (tmp_path / "ga").exists()


def test_cli_json_refusal_leaves_stdout_empty(tmp_path):
    code, _, out, err = promote_json(DATA / "Babybots", "--out", tmp_path / "ga")
    assert code == 2 and out == ""  # the lint's errors refuse it, as in text
    assert "BackendNotProduction" in err
