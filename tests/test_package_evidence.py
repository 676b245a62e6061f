"""Backend-in-production evidence from the package, worked out by hand for each case."""

from __future__ import annotations

import pytest
from package_builders import changed, properties, write_package

from connector_ga.package.evidence import backend_evidence, expand_template, non_production_word
from connector_ga.package.loader import load_package


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
