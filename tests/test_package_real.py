"""The eight real certified packages (tests/data/connectors, copied unchanged from
microsoft/PowerPlatformConnectors): the exact findings, read off the files by hand.

Each expected line and column was found by opening the file at that spot: a member's
position is where its key starts (`"host": …` on line 13 with two spaces of indent is
13:3). The reasons are in the comments.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connector_ga.package.lint import lint_package

DATA = Path(__file__).parent / "data" / "connectors"
SW, PR = "apiDefinition.swagger.json", "apiProperties.json"

EXPECTED = {
    # info.x-ms-api-annotation.status "Preview" (line 13). One summary, line 3963, has a
    # comma: "When an email is created, updated or deleted on a record". The setQueryParameter
    # policy (apiProperties.json line 103) names 'Listforms'; the operation is 'ListForms'.
    "Almabase": [
        ("RestrictedCharactersInSummary", "warning", SW, 3963, 9),
        ("OperationIdNotFound", "warning", PR, 103, 13),
        ("ConnectorInPreview", "info", SW, 13, 7),
    ],
    # Status Production (line 8) while the deprecated SendEmail and GetMessageStatus use
    # #/parameters/PreviewApiVersion, default "2021-10-01-preview" (line 530). Their
    # summaries (lines 30 and 436) contain '-' ("… (Preview) - DEPRECATED"). The host
    # api.contoso.com (line 16) is Microsoft's example domain; script.csx sets the host.
    "Azure-Communication-Services-Email": [
        ("ProductionStatusOnBetaService", "error", SW, 8, 7),
        ("RestrictedCharactersInSummary", "warning", SW, 30, 9),
        ("RestrictedCharactersInSummary", "warning", SW, 436, 9),
        ("PreviewApiVersion", "warning", SW, 530, 7),
        ("HostIsPlaceholder", "info", SW, 16, 3),
    ],
    # host "bb-fa-mpconnector-dev.azurewebsites.net" (line 13): a dev host. Both operations
    # answer only "default" with a schema (lines 26 and 63) and no 200/201 (responses at
    # lines 23 and 60).
    "Babybots": [
        ("BackendNotProduction", "error", SW, 13, 3),
        ("DefaultResponseHasSchema", "error", SW, 26, 13),
        ("DefaultResponseHasSchema", "error", SW, 63, 13),
        ("SchemaDefinitionSetIncorrectly", "warning", SW, 23, 9),
        ("SchemaDefinitionSetIncorrectly", "warning", SW, 60, 9),
    ],
    # schemes ["https", "http"]: "http" is the second item, line 17. The description has
    # exactly 500 characters, the most allowed.
    "Bitvore": [("InsecureScheme", "warning", SW, 17, 5)],
    # Status Preview (line 26). DownloadDocument and DownloadAuditTrail answer "default"
    # with a schema (lines 236, 275) and have no 200/201 (responses at 233, 272); the
    # internal DeleteWebHooks too (line 624) — internal, so no output-schema warning.
    "BoldSign": [
        ("DefaultResponseHasSchema", "error", SW, 236, 13),
        ("DefaultResponseHasSchema", "error", SW, 275, 13),
        ("DefaultResponseHasSchema", "error", SW, 624, 13),
        ("SchemaDefinitionSetIncorrectly", "warning", SW, 233, 9),
        ("SchemaDefinitionSetIncorrectly", "warning", SW, 272, 9),
        ("ConnectorInPreview", "info", SW, 26, 7),
    ],
    # operationIds 'scp-get-related-activities' (line 1193) and 'scp-get-related-records'
    # (1311) have hyphens; iconBrandColor "#FFFFFF" (apiProperties.json line 33) is white.
    # Nine visible summaries contain ':' or '.'; three visible operations answer 200/201
    # without a schema (UpdateDocgenFormFields 468, UpdateEnvelopePrefillTabs 925,
    # UpdateRecipientTabsValues 4168); the from_date default "2000-01-02T12:45Z" (line 1566)
    # has no seconds, so it is not an RFC 3339 date-time (a format: a warning).
    "DocuSign": [
        ("OperationIdSanitized", "error", SW, 1193, 9),
        ("OperationIdSanitized", "error", SW, 1311, 9),
        ("IconBrandColorNotAllowed", "error", PR, 33, 7),
        ("RestrictedCharactersInSummary", "warning", SW, 69, 9),
        ("RestrictedCharactersInSummary", "warning", SW, 120, 9),
        ("SchemaDefinitionSetIncorrectly", "warning", SW, 468, 9),
        ("RestrictedCharactersInSummary", "warning", SW, 479, 9),
        ("SchemaDefinitionSetIncorrectly", "warning", SW, 925, 9),
        ("RestrictedCharactersInSummary", "warning", SW, 1191, 9),
        ("RestrictedCharactersInSummary", "warning", SW, 1309, 9),
        ("RestrictedCharactersInSummary", "warning", SW, 1425, 9),
        ("SwaggerStructure", "warning", SW, 1566, 13),
        ("RestrictedCharactersInSummary", "warning", SW, 1602, 9),
        ("RestrictedCharactersInSummary", "warning", SW, 2426, 9),
        ("SchemaDefinitionSetIncorrectly", "warning", SW, 4168, 9),
        ("RestrictedCharactersInSummary", "warning", SW, 4526, 9),
    ],
    # Title "XC-Gate (Preview)" (line 5) with no status annotation; "Login to XC-Gate"
    # (line 61) has '-'; the dynamichosturl policy (apiProperties.json line 7) takes the host
    # from the query parameter 'host' on every call.
    "XC-Gate": [
        ("PreviewStatusInconsistent", "warning", SW, 5, 5),
        ("RestrictedCharactersInSummary", "warning", SW, 61, 9),
        ("ConnectorInPreview", "info", SW, 5, 5),
        ("DynamicHost", "info", PR, 7, 7),
    ],
    # Line 14 starts with two U+2003 EM SPACEs before '},': not JSON; nothing else can be
    # checked in the definition, and apiProperties.json has nothing wrong.
    "ZohoSign": [("InvalidJson", "error", SW, 14, 1)],
}


@pytest.fixture(scope="module")
def reports():
    return {name: lint_package(DATA / name) for name in EXPECTED}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_findings(reports, name):
    found = [(f.rule, f.severity, f.file, f.line, f.column) for f in reports[name].findings]
    assert found == EXPECTED[name]


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("Almabase", True),
        ("Azure-Communication-Services-Email", False),
        ("Babybots", False),
        ("Bitvore", True),
        ("BoldSign", False),
        ("DocuSign", False),
        ("XC-Gate", True),
        ("ZohoSign", False),
    ],
)
def test_exit_status_follows_errors(reports, name, ok):
    assert reports[name].ok is ok


def test_zoho_sign_says_where_and_what(reports):
    finding = reports["ZohoSign"].findings[0]
    assert finding.message == (
        "apiDefinition.swagger.json is not valid JSON: Expecting ',' delimiter; unexpected "
        "character U+2003 EM SPACE (line 14, column 1)"
    )


@pytest.mark.parametrize(
    ("name", "connector", "title_says_preview"),
    [
        ("Almabase", "Preview", False),
        ("Azure-Communication-Services-Email", "Production", False),
        ("Babybots", None, False),
        ("Bitvore", None, False),
        ("BoldSign", "Preview", False),
        ("DocuSign", "Production", False),
        ("XC-Gate", None, True),
        ("ZohoSign", None, False),  # not readable
    ],
)
def test_preview_status(reports, name, connector, title_says_preview):
    status = reports[name].preview
    assert (status.connector, status.title_says_preview) == (connector, title_says_preview)
    # None of the eight annotates an operation's status.
    assert status.operations == {"Preview": 0, "Production": 0}


@pytest.mark.parametrize(
    ("name", "hosts", "production"),
    [
        ("Almabase", ["api.almabaseapp.com"], True),
        ("Azure-Communication-Services-Email", ["api.contoso.com"], False),  # -preview version
        ("Babybots", ["bb-fa-mpconnector-dev.azurewebsites.net"], False),
        ("Bitvore", ["api.bitvore.com"], True),  # http is noted, not a verdict
        # Policy 1 (every operation) https://app@connectionParameters('token:customHost')/ and
        # policy 2 https://api…, over the allowed values ".boldsign.com" and "-eu.boldsign.com".
        (
            "BoldSign",
            ["app.boldsign.com", "app-eu.boldsign.com", "api.boldsign.com", "api-eu.boldsign.com"],
            True,
        ),
        ("DocuSign", ["www.docusign.net"], True),
        ("XC-Gate", ["@queryParameters('host')"], None),  # the caller names the host
        ("ZohoSign", [], None),
    ],
)
def test_backend_evidence(reports, name, hosts, production):
    backend = reports[name].backend
    assert (backend.hosts, backend.production) == (hosts, production)


def test_babybots_dev_host_evidence(reports):
    assert reports["Babybots"].backend.evidence == [
        "host bb-fa-mpconnector-dev.azurewebsites.net: label 'bb-fa-mpconnector-dev' names a "
        "dev environment"
    ]
