"""Each lint rule on a hand-written package: the minimal package passes, one change fails it.

The minimal package (tests/package_builders.py) is valid Swagger 2.0 and meets every rule;
each case changes one thing and states the exact findings, worked out from the rule text.
"""

from __future__ import annotations

import json

import pytest
from package_builders import changed, properties, swagger, write_package

from connector_ga.package.lint import lint_package

OP = "/paths/~1tasks/get"  # the ListTasks operation
POST = "/paths/~1tasks/post"  # CreateTask
DELETE = "/paths/~1tasks~1{id}/delete"  # DeleteTask


def found(report) -> list[tuple[str, str, str]]:
    return sorted((f.rule, f.severity, f.pointer) for f in report.findings)


def lint(tmp_path, swagger_doc=None, properties_doc=None, **options):
    return lint_package(write_package(tmp_path / "pkg", swagger_doc, properties_doc, **options))


def test_the_minimal_package_has_no_finding(tmp_path):
    report = lint(tmp_path)
    assert report.findings == []
    assert report.ok


def _keys(path: str) -> list[str]:
    """'paths|/tasks|get|summary' → the keys; '|' separates them since paths hold '/'."""
    return path.split("|")


def setter(path: str, value):
    """A change that sets doc[k1][k2]… = value."""

    def change(doc):
        *parents, last = _keys(path)
        node = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value

    return change


def deleter(path: str):
    def change(doc):
        *parents, last = _keys(path)
        node = doc
        for key in parents:
            node = node[key]
        del node[last]

    return change


CASES = {
    # Title: 31 characters is one more than the 30 allowed.
    "title too long": (
        setter("info|title", "Northwind Task Management Suite"),
        {("FieldLengthExceeded", "error", "/info/title")},
    ),
    "title with API": (
        setter("info|title", "Northwind API"),
        {("ValueContainsRestrictedWords", "error", "/info/title")},
    ),
    "title with a product name": (
        setter("info|title", "Northwind for Power Apps"),
        {("ValueContainsRestrictedWords", "error", "/info/title")},
    ),
    "title ends with a dot": (
        setter("info|title", "Northwind Tasks."),
        {("ValueMustEndWithAlphanumeric", "error", "/info/title")},
    ),
    "title empty": (setter("info|title", " "), {("RequiredValueEmpty", "error", "/info/title")}),
    # 29 characters: one short of 30.
    "description too short": (
        setter("info|description", "Create tasks in Northwind now"),
        {("FieldLengthNotInRange", "error", "/info/description")},
    ),
    # 501 characters: one more than 500.
    "description too long": (
        setter("info|description", "a" * 501),
        {("FieldLengthNotInRange", "error", "/info/description")},
    ),
    "description missing": (
        deleter("info|description"),
        {("RequiredPropertyMissing", "error", "/info/description")},
    ),
    "description with a product name": (
        setter("info|description", "Create and list Northwind tasks from Power Automate flows."),
        {("ValueContainsRestrictedWords", "error", "/info/description")},
    ),
    "contact email invalid": (
        setter("info|contact|email", "support at northwind"),
        {("ContactEmailNotValid", "error", "/info/contact/email")},
    ),
    "metadata missing": (
        deleter("x-ms-connector-metadata"),
        # Website, Privacy policy and Categories are each missing, at the same spot.
        [("ConnectorMetadataPropertiesMissing", "error", "")] * 3,
    ),
    "metadata website not a URL": (
        setter("x-ms-connector-metadata|0|propertyValue", "northwind.io"),
        {("UrlNotValid", "error", "/x-ms-connector-metadata/0/propertyValue")},
    ),
    "unknown category": (
        setter("x-ms-connector-metadata|2|propertyValue", "Productivity;Games"),
        {("InvalidConnectorCategory", "error", "/x-ms-connector-metadata/2/propertyValue")},
    ),
    "three categories": (
        setter("x-ms-connector-metadata|2|propertyValue", "Productivity;Data;AI"),
        {("TooManyConnectorCategories", "error", "/x-ms-connector-metadata/2/propertyValue")},
    ),
    "operationId missing": (
        deleter("paths|/tasks|get|operationId"),
        {("OperationIdRequired", "error", OP)},
    ),
    "operationId repeated": (
        setter("paths|/tasks|post|operationId", "ListTasks"),
        {("OperationIdNotUnique", "error", POST + "/operationId")},
    ),
    "operationId with a hyphen": (
        setter("paths|/tasks|get|operationId", "list-tasks"),
        {("OperationIdSanitized", "error", OP + "/operationId")},
    ),
    "summary missing": (
        deleter("paths|/tasks|get|summary"),
        {("OperationSummaryMissing", "error", OP + "/summary")},
    ),
    # 81 characters: over the advised 80, under the 120 limit.
    "summary of 81 characters": (
        setter("paths|/tasks|get|summary", "List tasks " + "x" * 70),
        {("OperationSummaryTooLong", "warning", OP + "/summary")},
    ),
    # 120 characters: the validator wants fewer than 120.
    "summary of 120 characters": (
        setter("paths|/tasks|get|summary", "List tasks " + "x" * 109),
        {("OperationSummaryTooLong", "error", OP + "/summary")},
    ),
    "summary with a colon": (
        setter("paths|/tasks|get|summary", "Tasks: list them"),
        {("RestrictedCharactersInSummary", "warning", OP + "/summary")},
    ),
    "description of an operation missing": (
        deleter("paths|/tasks|get|description"),
        {("OperationDescriptionMissing", "error", OP + "/description")},
    ),
    "default response with a schema": (
        setter("paths|/tasks|get|responses|default|schema", {"type": "object"}),
        {("DefaultResponseHasSchema", "error", OP + "/responses/default/schema")},
    ),
    "200 response without a schema": (
        deleter("paths|/tasks|get|responses|200|schema"),
        {("SchemaDefinitionSetIncorrectly", "warning", OP + "/responses")},
    ),
    "duplicate parameter": (
        setter(
            "paths|/tasks|get|parameters",
            [{"$ref": "#/parameters/Top"}, {"name": "top", "in": "query", "type": "integer"}],
        ),
        {("OperationParametersContainDuplicateParameter", "error", OP + "/parameters/1")},
    ),
    "paths differing in case": (
        setter("paths|/Tasks", {}),
        {("PathRedefined", "error", "/paths/~1Tasks")},
    ),
    "indistinguishable paths": (
        setter(
            "paths|/tasks/{name}",
            {
                "delete": {
                    "summary": "Delete a task by name",
                    "description": "Deletes a task.",
                    "operationId": "DeleteTaskByName",
                    "parameters": [
                        {"name": "name", "in": "path", "required": True, "type": "string"}
                    ],
                    "responses": {"204": {"description": "Deleted."}},
                }
            },
        ),
        {("DuplicateOperationPath", "error", "/paths/~1tasks~1{name}/delete")},
    ),
    "visibility none": (
        setter("paths|/tasks|get|x-ms-visibility", "none"),
        {("JsonValueNotInEnum", "error", OP + "/x-ms-visibility")},
    ),
    "status in lower case": (
        setter("info|x-ms-api-annotation", {"status": "preview"}),
        # 'preview' is not one of Preview/Production; it still reads as preview, so the
        # connector-in-preview information is given too.
        {
            ("JsonValueNotInEnum", "error", "/info/x-ms-api-annotation/status"),
            ("ConnectorInPreview", "info", "/info/x-ms-api-annotation/status"),
        },
    ),
    "host with a scheme": (
        setter("host", "https://api.northwind.io"),
        {("HostNameNotValid", "error", "/host")},
    ),
    "base path without a slash": (
        setter("basePath", "v1"),
        {("BasePathNotValid", "error", "/basePath")},
    ),
    "no schemes": (setter("schemes", []), {("SchemesArrayEmpty", "error", "/schemes")}),
    "ftp scheme": (setter("schemes", ["ftp"]), {("SchemeNotValid", "error", "/schemes/0")}),
    "websocket scheme": (
        setter("schemes", ["wss"]),
        {("SchemeNotSupported", "error", "/schemes/0")},
    ),
    "plain http": (
        setter("schemes", ["https", "http"]),
        {("InsecureScheme", "warning", "/schemes/1")},
    ),
    "staging host": (
        setter("host", "api-staging.northwind.io"),
        {("BackendNotProduction", "error", "/host")},
    ),
    "test base path": (
        setter("basePath", "/test/v1"),
        {("BackendNotProduction", "error", "/basePath")},
    ),
    "beta API version in a path": (
        setter("basePath", "/v2beta"),
        {("PreviewApiVersion", "warning", "/basePath")},
    ),
    "preview API version as a parameter default": (
        setter(
            "parameters|Top",
            {
                "name": "api-version",
                "in": "query",
                "type": "string",
                "default": "2024-05-01-preview",
            },
        ),
        {("PreviewApiVersion", "warning", "/parameters/Top/default")},
    ),
    "placeholder host": (
        setter("host", "api.contoso.com"),
        {("HostIsPlaceholder", "warning", "/host")},
    ),
    "production status on a dev host": (
        lambda doc: (
            doc["info"].update({"x-ms-api-annotation": {"status": "Production"}}),
            doc.update({"host": "northwind-dev.azurewebsites.net"}),
        ),
        {
            ("BackendNotProduction", "error", "/host"),
            ("ProductionStatusOnBetaService", "error", "/info/x-ms-api-annotation/status"),
        },
    ),
    "operation Production in a Preview connector": (
        lambda doc: (
            doc["info"].update({"x-ms-api-annotation": {"status": "Preview"}}),
            doc["paths"]["/tasks"]["get"].update({"x-ms-api-annotation": {"status": "Production"}}),
        ),
        {
            ("ConnectorInPreview", "info", "/info/x-ms-api-annotation/status"),
            ("OperationStatusAheadOfConnector", "error", OP + "/x-ms-api-annotation/status"),
        },
    ),
    "title says preview, status Production": (
        lambda doc: doc["info"].update(
            {"title": "Northwind (Preview)", "x-ms-api-annotation": {"status": "Production"}}
        ),
        {("PreviewStatusInconsistent", "warning", "/info/title")},
    ),
    "summary says preview on a Production operation": (
        lambda doc: doc["paths"]["/tasks"]["get"].update(
            {"summary": "List tasks (Preview)", "x-ms-api-annotation": {"status": "Production"}}
        ),
        {("PreviewStatusInconsistent", "warning", OP + "/summary")},
    ),
    "broken schema reference": (
        setter("definitions", {}),
        # Two $refs point to #/definitions/Task: the 200 items and the 201 schema and body.
        {
            ("SchemaReferenceNotFound", "error", OP + "/responses/200/schema/items/$ref"),
            ("SchemaReferenceNotFound", "error", POST + "/parameters/0/schema/$ref"),
            ("SchemaReferenceNotFound", "error", POST + "/responses/201/schema/$ref"),
        },
    ),
    "external reference": (
        setter("paths|/tasks|get|parameters", [{"$ref": "common.json#/parameters/Top"}]),
        {("JsonPointerNotValid", "error", OP + "/parameters/0/$ref")},
    ),
    "not valid Swagger 2.0": (
        setter("paths|/tasks|get|responses", {}),
        # Swagger 2.0 requires at least one response (minProperties 1 and a 'not' clause both
        # fail there: one spot gives one finding).
        {("SwaggerStructure", "error", OP + "/responses")},
    ),
    "path parameter missing from the template": (
        setter("paths|/tasks/{id}|delete|parameters|0|name", "taskId"),
        # The validator says '{id}' is not resolved and 'taskId' is not in the path: both
        # name the operation, so they locate to it and give one finding.
        {("SwaggerStructure", "error", DELETE)},
    ),
    "two families without revisions": (
        lambda doc: [
            doc["paths"]["/tasks"][m].update({"x-ms-api-annotation": {"family": "Tasks"}})
            for m in ("get", "post")
        ],
        {
            ("OperationRevisionEmpty", "warning", OP + "/x-ms-api-annotation"),
            ("OperationRevisionEmpty", "warning", POST + "/x-ms-api-annotation"),
            ("OperationFamilyHasManyEmptyRevisions", "error", POST + "/x-ms-api-annotation"),
        },
    ),
    "family with a repeated revision": (
        lambda doc: [
            doc["paths"]["/tasks"][m].update(
                {"x-ms-api-annotation": {"family": "Tasks", "revision": 1}}
            )
            for m in ("get", "post")
        ],
        {("OperationFamilyHasDuplicateRevisions", "error", POST + "/x-ms-api-annotation/revision")},
    ),
    "three active operations in a family": (
        lambda doc: [
            op.update({"x-ms-api-annotation": {"family": "Tasks", "revision": n}})
            for n, op in enumerate(
                (
                    doc["paths"]["/tasks"]["get"],
                    doc["paths"]["/tasks"]["post"],
                    doc["paths"]["/tasks/{id}"]["delete"],
                ),
                start=1,
            )
        ],
        {("OperationFamilyHasManyActiveOperations", "error", DELETE)},
    ),
    "two Production revisions active": (
        lambda doc: [
            doc["paths"]["/tasks"][m].update(
                {"x-ms-api-annotation": {"family": "Tasks", "revision": n, "status": "Production"}}
            )
            for n, m in ((1, "get"), (2, "post"))
        ],
        {("OperationFamilyHasManyActiveProductionOperations", "error", POST)},
    ),
    "replacement on an active operation": (
        setter("paths|/tasks|get|x-ms-api-annotation", {"replacement": {"api": "Northwind"}}),
        {
            (
                "ApiAnnotationExtensionReplacementInfoForNonDeprecatedOperations",
                "error",
                OP + "/x-ms-api-annotation/replacement",
            ),
            (
                "ApiAnnotationExtensionReplacementInfoMissingOperationIdProperty",
                "error",
                OP + "/x-ms-api-annotation/replacement",
            ),
        },
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_broken_rule(tmp_path, name):
    change, expected = CASES[name]
    assert found(lint(tmp_path, changed(change))) == sorted(expected)


def props(change) -> dict:
    doc = properties()
    change(doc["properties"])
    return doc


PROPERTY_CASES = {
    "no iconBrandColor": (
        lambda p: p.pop("iconBrandColor"),
        [("RequiredPropertyMissing", "error", "/properties/iconBrandColor")],
    ),
    "iconBrandColor not a colour": (
        lambda p: p.update(iconBrandColor="blue"),
        [("IconBrandColorNotValid", "error", "/properties/iconBrandColor")],
    ),
    "iconBrandColor the default blue": (
        lambda p: p.update(iconBrandColor="#007EE5"),  # compared without regard to case
        [("IconBrandColorNotAllowed", "error", "/properties/iconBrandColor")],
    ),
    "iconBrandColor white": (
        lambda p: p.update(iconBrandColor="#ffffff"),
        [("IconBrandColorNotAllowed", "error", "/properties/iconBrandColor")],
    ),
    "unknown policy template": (
        lambda p: p.update(policyTemplateInstances=[{"templateId": "rewriteeverything"}]),
        [("PolicyTemplateUnknown", "error", "/properties/policyTemplateInstances/0/templateId")],
    ),
    "dynamichosturl without a URL": (
        lambda p: p.update(
            policyTemplateInstances=[{"templateId": "dynamichosturl", "parameters": {}}]
        ),
        [
            (
                "PolicyTemplateParameterMissing",
                "error",
                "/properties/policyTemplateInstances/0/parameters",
            )
        ],
    ),
    "policy naming a missing operation": (
        lambda p: p.update(
            policyTemplateInstances=[
                {
                    "templateId": "setheader",
                    "parameters": {
                        "x-ms-apimTemplate-operationName": ["ListTask", "listtasks"],
                        "x-ms-apimTemplateParameter.name": "X-Source",
                        "x-ms-apimTemplateParameter.value": "flows",
                    },
                }
            ]
        ),
        # 'ListTask' is no operation (error); 'listtasks' is ListTasks in other case (warning).
        [
            (
                "OperationIdNotFound",
                "error",
                "/properties/policyTemplateInstances/0/parameters/x-ms-apimTemplate-operationName/0",
            ),
            (
                "OperationIdNotFound",
                "warning",
                "/properties/policyTemplateInstances/0/parameters/x-ms-apimTemplate-operationName/1",
            ),
        ],
    ),
    "script operation missing": (
        lambda p: p.update(scriptOperations=["Invoke"]),
        [("OperationIdNotFound", "error", "/properties/scriptOperations/0")],
    ),
    "connection parameter of an unknown type": (
        lambda p: p.update(connectionParameters={"key": {"type": "password"}}),
        [
            (
                "ConnectionParameterTypeNotValid",
                "error",
                "/properties/connectionParameters/key/type",
            )
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(PROPERTY_CASES))
def test_one_broken_property_rule(tmp_path, name):
    change, expected = PROPERTY_CASES[name]
    assert found(lint(tmp_path, None, props(change))) == sorted(expected)


def test_known_templates_with_their_parameters_pass(tmp_path):
    # Template ids are compared without regard to case (the paconn schema lists both
    # 'dynamichosturl' and 'DynamicHostUrl'); operation names in the list exist.
    report = lint(
        tmp_path,
        None,
        props(
            lambda p: p.update(
                policyTemplateInstances=[
                    {
                        "templateId": "DynamicHostUrl",
                        "parameters": {
                            "x-ms-apimTemplateParameter.urlTemplate": "https://eu.northwind.io/v1",
                            "x-ms-apimTemplate-operationName": ["ListTasks"],
                        },
                    },
                    {
                        "templateId": "updatenextlink",
                        "parameters": {
                            "x-ms-apimTemplateParameter.nextLinkPropertyName": "nextLink"
                        },
                    },
                ]
            )
        ),
    )
    assert report.findings == []


def test_independent_publisher_title_and_colour(tmp_path):
    # "(Independent Publisher)" ends with ')' — allowed, it is Microsoft's naming pattern;
    # 'Northwind (Independent Publisher)' has 33 characters, over 30.
    title = "Northwind (Independent Publisher)"
    doc = changed(lambda d: d["info"].update(title=title))
    report = lint(tmp_path, doc, props(lambda p: p.update(iconBrandColor="#da3b01")))
    assert found(report) == [("FieldLengthExceeded", "error", "/info/title")]

    wrong = lint(tmp_path / "wrong", doc, props(lambda p: None))  # #3c1d6e
    assert found(wrong) == sorted(
        [
            ("FieldLengthExceeded", "error", "/info/title"),
            ("IconBrandColorNotAllowed", "error", "/properties/iconBrandColor"),
        ]
    )


def test_missing_readme_is_a_warning(tmp_path):
    report = lint(tmp_path, readme=False)
    assert [(f.rule, f.severity, f.file) for f in report.findings] == [
        ("ReadmeMissing", "warning", "readme.md")
    ]
    assert report.ok  # a warning is not an error


def test_swagger_over_one_megabyte(tmp_path):
    # The minimal document padded with spaces to 1 MiB + 1 byte: still valid JSON.
    text = json.dumps(swagger())
    padded = text + " " * (1024 * 1024 + 1 - len(text.encode("utf-8")))
    report = lint(tmp_path, raw_swagger=padded)
    assert [(f.rule, f.severity) for f in report.findings] == [("FileTooLarge", "error")]
    assert "1,048,577 bytes" in report.findings[0].message

    exactly = lint(tmp_path / "exact", raw_swagger=padded[:-1])  # 1,048,576 bytes: allowed
    assert exactly.findings == []


def test_an_internal_operation_needs_no_summary_description_or_output(tmp_path):
    # Internal operations are hidden from makers: the text and output-schema rules skip them.
    def hide(doc):
        op = doc["paths"]["/tasks"]["get"]
        op["x-ms-visibility"] = "internal"
        del op["summary"], op["description"], op["responses"]["200"]["schema"]

    assert lint(tmp_path, changed(hide)).findings == []
