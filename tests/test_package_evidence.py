"""Backend-in-production evidence from the package, worked out by hand for each case."""

from __future__ import annotations

import pytest
from package_builders import changed, properties, write_package

from connector_ga.api import check
from connector_ga.config import load_config
from connector_ga.package.evidence import backend_evidence, expand_template, non_production_word
from connector_ga.package.lint import lint_package
from connector_ga.package.loader import PROPERTIES, load_package


def evidence(tmp_path, change=None, properties_doc=None, script=False):
    folder = write_package(tmp_path / "p", changed(change or (lambda d: None)), properties_doc)
    if script:
        (folder / "script.csx").write_text("// sets the host\n", encoding="utf-8")
    return backend_evidence(load_package(folder))


@pytest.mark.parametrize(
    ("host", "production"),
    [
        ("api.northwind.io", True),
        ("api.example.dev", True),  # .dev is the top-level domain, not an environment
        ("northwind.app.test", None),  # .test is reserved for testing (RFC 2606): placeholder
        ("api-staging.northwind.io", False),
        ("stage.northwind.io", False),
        ("northwind-dev.azurewebsites.net", False),  # 'dev' is a part of the label
        ("qa.northwind.io", False),
        ("uat-api.northwind.io", False),
        ("sandbox.northwind.io", False),
        ("preview.northwind.io", False),
        ("beta.northwind.io", False),
        ("test.northwind.io", False),
        ("devices.northwind.io", True),  # 'devices' is a word of its own, not 'dev'
        ("latest.northwind.io", True),  # nor is 'latest' 'test'
        ("dev.azure.com", True),  # Azure DevOps' production host
        ("api.contoso.com", None),  # Microsoft's documentation company: a placeholder
    ],
)
def test_host_labels(tmp_path, host, production):
    assert evidence(tmp_path, lambda d: d.update(host=host)).production is production


@pytest.mark.parametrize(
    ("base_path", "production"),
    [
        ("/v1", True),
        ("/sandbox/v1", False),
        ("/api-test", False),
        ("/v2-preview", False),
        ("/2024-01-01-preview/api", False),
        ("/v1beta", False),
        ("/beta", False),
        ("/testing-tools", True),  # 'testing' and 'tools' are not 'test'
    ],
)
def test_base_path_segments(tmp_path, base_path, production):
    assert evidence(tmp_path, lambda d: d.update(basePath=base_path)).production is production


def test_operation_paths_count_api_versions_not_feature_names(tmp_path):
    # A '/preview' operation (a document preview) is a feature; '/v3-beta/…' is a version.
    def paths(doc):
        doc["paths"]["/documents/{id}/preview"] = doc["paths"].pop("/tasks/{id}")
        doc["paths"]["/documents/{id}/preview"]["delete"]["parameters"][0]["name"] = "id"

    assert evidence(tmp_path, paths).production is True

    def beta(doc):
        doc["paths"]["/v3-beta/tasks"] = doc["paths"].pop("/tasks")

    found = evidence(tmp_path / "b", beta)
    assert found.production is False
    assert found.evidence == ["path /v3-beta/tasks: API version 'v3-beta' is not a stable release"]


def test_a_preview_api_version_default(tmp_path):
    def version(doc):
        doc["parameters"]["Top"] = {
            "name": "api-version",
            "in": "query",
            "type": "string",
            "default": "2021-10-01-preview",
        }

    found = evidence(tmp_path, version)
    assert found.production is False
    assert found.evidence == [
        "parameter api-version defaults to API version '2021-10-01-preview' "
        "(#/parameters/Top), used by ListTasks"
    ]


def test_plain_http_is_evidence_but_not_a_verdict(tmp_path):
    found = evidence(tmp_path, lambda d: d.update(schemes=["http"]))
    assert found.production is True
    assert found.evidence[0] == "schemes include plain http: requests may travel unencrypted"


def test_a_dynamichosturl_policy_replaces_a_placeholder_host(tmp_path):
    props = properties()
    props["properties"]["policyTemplateInstances"] = [
        {
            "templateId": "dynamichosturl",
            "title": "Region",
            "parameters": {
                "x-ms-apimTemplateParameter.urlTemplate": (
                    "https://api@connectionParameters('region')/v1"
                )
            },
        }
    ]
    props["properties"]["connectionParameters"]["region"] = {
        "type": "string",
        "uiDefinition": {
            "constraints": {
                "allowedValues": [
                    {"text": "US", "value": ".northwind.io"},
                    {"text": "EU", "value": "-staging.northwind.eu"},
                ]
            }
        },
    }
    found = evidence(tmp_path, lambda d: d.update(host="api.contoso.com"), props)
    # The placeholder is not used; the template expands over the two allowed values, and
    # the EU one is a staging host.
    assert found.hosts == ["api.northwind.io", "api-staging.northwind.eu"]
    assert found.production is False
    assert found.evidence == [
        "host api.contoso.com is not used: the policy dynamichosturl 'Region' sets the host",
        "host api-staging.northwind.eu (dynamichosturl policy 'Region'): label 'api-staging' "
        "names a staging environment",
    ]


def test_a_host_chosen_per_request_cannot_be_judged(tmp_path):
    props = properties()
    props["properties"]["policyTemplateInstances"] = [
        {
            "templateId": "dynamichosturl",
            "title": "Host",
            "parameters": {
                "x-ms-apimTemplateParameter.urlTemplate": "https://@queryParameters('host')/api"
            },
        }
    ]
    found = evidence(tmp_path, None, props)
    assert found.hosts == ["@queryParameters('host')"]
    assert found.production is None


def test_a_policy_for_some_operations_keeps_the_definition_host_for_the_rest(tmp_path):
    props = properties()
    props["properties"]["policyTemplateInstances"] = [
        {
            "templateId": "routerequesttoendpoint",
            "title": "Webhooks",
            "parameters": {
                "x-ms-apimTemplate-operationName": ["CreateTask"],
                "x-ms-apimTemplateParameter.newPath": "https://hooks.northwind.io/v1",
            },
        }
    ]
    found = evidence(tmp_path, None, props)
    assert found.hosts == ["api.northwind.io", "hooks.northwind.io"]
    assert found.production is True


def test_a_placeholder_host_with_a_script_is_unknown(tmp_path):
    found = evidence(tmp_path, lambda d: d.update(host="api.contoso.com"), script=True)
    assert found.production is None
    assert found.evidence == [
        "host api.contoso.com is a placeholder name; script.csx may set the real host at run time"
    ]


def test_template_expansion_keeps_unknown_expressions():
    class NoValues:
        properties = {"properties": {"connectionParameters": {"host": {"type": "string"}}}}

    assert expand_template(NoValues(), "https://@connectionParameters('host')/x") == [
        "https://@connectionParameters('host')/x"
    ]


@pytest.mark.parametrize(
    ("part", "word"),
    [("bb-fa-mpconnector-dev", "dev"), ("api_uat", "uat"), ("developer", None), ("qa", "qa")],
)
def test_non_production_words(part, word):
    assert non_production_word(part) == word


# --- a connection parameter that supplies the whole URL (the shape of the certified Korto) --

KORTO_HOST = "korto-contoso-dev-api.azurewebsites.net"


def korto_properties(template: str, template_id: str = "dynamichosturl") -> dict:
    """apiProperties.json of Korto's shape: a free-text connection parameter holds the URL."""
    key = (
        "x-ms-apimTemplateParameter.urlTemplate"
        if template_id == "dynamichosturl"
        else "x-ms-apimTemplateParameter.newPath"
    )
    props = properties()
    props["properties"]["connectionParameters"]["korto_API_URL"] = {
        "type": "string",
        "uiDefinition": {
            "displayName": "Korto API URL",
            "description": "Full URL to your Korto instance API",
            "tooltip": "Full URL to your Korto instance API",
            "constraints": {"tabIndex": 2, "required": "true"},
        },
    }
    props["properties"]["policyTemplateInstances"] = [
        {"templateId": template_id, "title": "Set Korto API URL", "parameters": {key: template}}
    ]
    return props


def korto_evidence(tmp_path, template: str, change=None, template_id: str = "dynamichosturl"):
    def korto(doc):
        doc.update(host=KORTO_HOST, basePath="/api")
        if change:
            change(doc)

    return evidence(tmp_path, korto, korto_properties(template, template_id))


def test_a_connection_parameter_that_supplies_the_whole_url_leaves_nothing_to_judge(tmp_path):
    found = korto_evidence(tmp_path, "@connectionParameters('korto_API_URL')")
    # The user types the whole URL: the swagger host (a dev name) is only a placeholder.
    assert found.hosts == ["@connectionParameters('korto_API_URL')"]
    assert found.production is None
    assert found.evidence == [
        f"host {KORTO_HOST} is not used: the policy dynamichosturl 'Set Korto API URL' sets "
        "the host",
        "connection parameter 'korto_API_URL' supplies the whole URL (dynamichosturl policy "
        "'Set Korto API URL'): the package cannot show the backend",
    ]
    assert not any(c.non_production for c in found.clues)
    assert [c.kind for c in found.clues] == ["policy", "dynamic-host"]


def test_a_whole_url_parameter_is_a_dynamic_host_finding_not_a_dev_host(tmp_path):
    folder = write_package(
        tmp_path / "p",
        changed(lambda d: d.update(host=KORTO_HOST, basePath="/api")),
        korto_properties("@connectionParameters('korto_API_URL')"),
    )
    report = lint_package(folder)
    # apiProperties.json written by json.dumps(indent=2): line 1 '{', 2 '"properties": {',
    # 3 iconBrandColor, 4 '"capabilities": [],', 5 '"connectionParameters": {', 6 api_key,
    # 7 '"type": …', 8 '},', 9 korto_API_URL, 10 type, 11 uiDefinition, 12 displayName,
    # 13 description, 14 tooltip, 15 constraints, 16 tabIndex, 17 required, 18 '}', 19 '}',
    # 20 '}', 21 '},', 22 '"policyTemplateInstances": [', 23 '{': the policy, column 7.
    assert [(f.rule, f.severity, f.file, f.line, f.column) for f in report.findings] == [
        ("DynamicHost", "info", PROPERTIES, 23, 7)
    ]
    assert report.ok


@pytest.mark.parametrize(
    ("template", "production"),
    [
        ("@connectionParameters('korto_API_URL')/", None),
        ("@{connectionParameters('korto_API_URL')}/v1", None),
        ("@connectionParameters('korto_API_URL','https://korto.io')", None),  # a default value
        # '/' inside the parameter name is not the end of the host.
        ("@connectionParameters('token/oAuthSettings/customParameters/tokenUrl/value')", None),
        # A literal host part is still judged: 'example-dev' and 'contoso-dev' name dev.
        ("https://{instance}.example-dev.com", False),
        ("https://@{connectionParameters('instance')}.contoso-dev.com/api", False),
        ("@connectionParameters('instance').northwind-staging.io/api", False),
        # ... on its labels, not its top-level domain: .dev is a production TLD.
        ("https://@{connectionParameters('instance')}.northwind.dev/api", None),
        # The path after the run-time URL still counts.
        ("@connectionParameters('korto_API_URL')/v2-preview", False),
    ],
)
def test_whole_url_templates(tmp_path, template, production):
    found = korto_evidence(tmp_path, template)
    assert found.production is production
    # The swagger's dev host is never the evidence: the policy replaces it.
    assert not any(KORTO_HOST in c.text for c in found.clues if c.non_production)


def test_routerequesttoendpoint_to_a_whole_url_parameter(tmp_path):
    found = korto_evidence(
        tmp_path, "@connectionParameters('korto_API_URL')", template_id="routerequesttoendpoint"
    )
    assert found.production is None
    assert found.evidence[0] == (
        f"host {KORTO_HOST} is not used: the policy routerequesttoendpoint 'Set Korto API URL' "
        "sets the host"
    )


def test_a_preview_api_version_still_shows_behind_a_whole_url_parameter(tmp_path):
    def version(doc):
        doc["parameters"]["Top"] = {
            "name": "api-version",
            "in": "query",
            "type": "string",
            "default": "2021-10-01-preview",
        }

    found = korto_evidence(tmp_path, "@connectionParameters('korto_API_URL')", version)
    assert found.production is False
    assert found.evidence[-1] == (
        "parameter api-version defaults to API version '2021-10-01-preview' "
        "(#/parameters/Top), used by ListTasks"
    )


def korto_project(tmp_path, backend: str | None):
    """ga.toml, the Korto-shaped package as connector/ and 20 days of 200s."""
    write_package(
        tmp_path / "connector",
        changed(lambda d: d.update(host=KORTO_HOST, basePath="/api")),
        korto_properties("@connectionParameters('korto_API_URL')"),
    )
    rows = ["time,status"] + [f"2026-11-{day:02d}T12:00:00Z,200" for day in range(1, 21)]
    (tmp_path / "telemetry.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    lines = ["[connector]", 'id = "korto"', 'package = "connector/"']
    lines += ["[telemetry]", 'paths = ["telemetry.csv"]']
    if backend:
        lines += ["[backend]", f'status = "{backend}"']
    (tmp_path / "ga.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return check(load_config(tmp_path / "ga.toml")).criterion("backend-production")


def test_check_with_a_whole_url_parameter_needs_the_declaration(tmp_path):
    # Nothing declared and nothing shown: insufficient, not a fail on the placeholder host.
    criterion = korto_project(tmp_path / "undeclared", None)
    assert criterion.status == "insufficient-data"
    assert "the package does not show whether the backend is in production" in criterion.detail
    # Declared production, and the package does not contradict it: pass.
    assert korto_project(tmp_path / "declared", "production").status == "pass"
