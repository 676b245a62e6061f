"""Other clouds: endpoint checks, and per-cloud editions with the host (and matching policy
template values) replaced in place, everything else byte for byte.

Expected files are the input files with the lines named in each test replaced by hand
(line numbers read from the literals below or from the files in tests/data/connectors).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector_ga.cli import app
from connector_ga.config import parse_config
from connector_ga.errors import InputError
from connector_ga.package.clouds import check_endpoint, cloud_editions, clouds_from_config

DATA = Path(__file__).parent / "data" / "connectors"
SWAGGER = "apiDefinition.swagger.json"
PROPERTIES = "apiProperties.json"

CLOUD_SWAGGER = """{
  "swagger": "2.0",
  "info": {"title": "Contoso Tasks", "version": "1.0"},
  "host": "api.contoso.com",
  "basePath": "/v1",
  "schemes": ["https"],
  "paths": {},
  "x-ms-connector-metadata": [
    {"propertyName": "Website", "propertyValue": "https://www.contoso.com"}
  ]
}
"""
# Line 4: host; line 5: basePath.
CLOUD_PROPERTIES = """{
  "properties": {
    "connectionParameters": {
      "token": {
        "type": "oauthSetting",
        "oAuthSettings": {
          "identityProvider": "oauth2",
          "customParameters": {
            "authorizationUrl": {"value": "https://api.contoso.com/oauth/authorize"}
          }
        }
      }
    },
    "iconBrandColor": "#123456",
    "policyTemplateInstances": [
      {
        "templateId": "dynamichosturl",
        "title": "Tasks host",
        "parameters": {
          "x-ms-apimTemplateParameter.urlTemplate": "https://api.contoso.com/v1",
          "x-ms-apimTemplate-operationName": ["ListTasks"]
        }
      },
      {
        "templateId": "routerequesttoendpoint",
        "title": "Old path",
        "parameters": {
          "x-ms-apimTemplateParameter.newPath": "/v1/tasks"
        }
      },
      {
        "templateId": "setheader",
        "title": "Origin",
        "parameters": {
          "x-ms-apimTemplateParameter.name": "X-Origin",
          "x-ms-apimTemplateParameter.value": "api.contoso.com"
        }
      },
      {
        "templateId": "setheader",
        "title": "Look-alike host",
        "parameters": {
          "x-ms-apimTemplateParameter.name": "X-Referer",
          "x-ms-apimTemplateParameter.value": "https://myapi.contoso.com"
        }
      }
    ]
  }
}
"""
# Line 9: the OAuth URL (reported, not replaced); line 20: the dynamichosturl urlTemplate;
# line 36: the setheader value holding the bare host; line 44: the look-alike host.


def write_package(folder: Path, swagger: str, properties: str | None = None) -> Path:
    folder.mkdir(parents=True)
    (folder / SWAGGER).write_bytes(swagger.encode())
    if properties is not None:
        (folder / PROPERTIES).write_bytes(properties.encode())
    return folder


def replace_lines(data: bytes, replacements: dict[int, bytes]) -> bytes:
    lines = data.split(b"\n")
    for number, line in replacements.items():
        lines[number - 1] = line
    return b"\n".join(lines)


def rules(findings) -> list[tuple[str, str]]:
    return [(f.rule, f.severity) for f in findings]


# --- endpoint checks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cloud", "url", "expected"),
    [
        ("gcc-high", "https://api.contoso.us", []),
        ("gcc-high", "https://api.contoso.us/gov/v1", []),
        ("azure-government", "https://contoso.azurewebsites.us", []),
        ("azure-government", "https://contoso.blob.core.usgovcloudapi.net", []),
        ("dod", "https://api.contoso.mil", []),
        ("mooncake", "https://contoso.chinacloudapi.cn", []),
        ("mooncake", "https://api.contoso.cn:8443", []),
        ("gcc-high", "http://api.contoso.us", [("CloudEndpointNotHttps", "error")]),
        ("dod", "https://10.1.2.3", [("CloudEndpointIpAddress", "error")]),
        ("dod", "https://[::1]/api", [("CloudEndpointIpAddress", "error")]),
        ("gcc", "https://localhost:8443", [("CloudEndpointLocalhost", "error")]),
        ("gcc", "https://tasks.localhost", [("CloudEndpointLocalhost", "error")]),
        ("gcc", "https://intranet", [("CloudEndpointHostNameNotValid", "error")]),
        ("gcc", "https://api_tasks.contoso.us", [("CloudEndpointHostNameNotValid", "error")]),
        ("gcc", "api.contoso.us", [("CloudEndpointNotUrl", "error")]),
        ("gcc", "https://api.contoso.us:99999", [("CloudEndpointNotUrl", "error")]),
        ("gcc", "https://me:secret@api.contoso.us", [("CloudEndpointHasCredentials", "error")]),
        ("gcc", "https://api.contoso.us/?code=1", [("CloudEndpointHasQuery", "error")]),
        # http and an IP: both said
        (
            "dod",
            "http://10.0.0.1",
            [("CloudEndpointNotHttps", "error"), ("CloudEndpointIpAddress", "error")],
        ),
        # a government cloud on a commercial host, Mooncake outside China: warnings only
        ("azure-government", "https://api.contoso.com", [("GovernmentCloudHost", "warning")]),
        ("gcc", "https://api.contoso.us.example.com", [("GovernmentCloudHost", "warning")]),
        ("mooncake", "https://api.contoso.com", [("MooncakeHost", "warning")]),
        ("mooncake", "https://api.contoso.us", [("MooncakeHost", "warning")]),
    ],
)
def test_check_endpoint(cloud, url, expected):
    findings = check_endpoint(cloud, url)
    assert rules(findings) == expected
    for finding in findings:
        assert (finding.file, finding.pointer) == ("ga.toml", f"/clouds/{cloud}")
        assert finding.message.startswith(f"{cloud}: ") and finding.fix


# --- editions -----------------------------------------------------------------------------


def test_host_and_matching_policy_template_values_are_replaced(tmp_path):
    source = write_package(tmp_path / "pkg", CLOUD_SWAGGER, CLOUD_PROPERTIES)
    result = cloud_editions(source, {"gcc-high": "https://api.contoso.us"}, tmp_path / "out")
    [edition] = result.editions
    assert edition.ok and edition.path == tmp_path / "out" / "gcc-high"
    swagger = (edition.path / SWAGGER).read_bytes()
    assert swagger == replace_lines(
        CLOUD_SWAGGER.encode(), {4: b'  "host": "api.contoso.us",'}
    )  # basePath stays: the endpoint has no path
    properties = (edition.path / PROPERTIES).read_bytes()
    assert properties == replace_lines(
        CLOUD_PROPERTIES.encode(),
        {
            20: b'          "x-ms-apimTemplateParameter.urlTemplate": "https://api.contoso.us/v1",',
            36: b'          "x-ms-apimTemplateParameter.value": "api.contoso.us"',
        },
    )
    assert [(c.file, c.pointer, c.line, c.after) for c in edition.changes] == [
        (SWAGGER, "/host", 4, "api.contoso.us"),
        (
            PROPERTIES,
            "/properties/policyTemplateInstances/0/parameters/x-ms-apimTemplateParameter.urlTemplate",
            20,
            "https://api.contoso.us/v1",
        ),
        (
            PROPERTIES,
            "/properties/policyTemplateInstances/2/parameters/x-ms-apimTemplateParameter.value",
            36,
            "api.contoso.us",
        ),
    ]
    # The OAuth URL on the public host is reported, not guessed; www.contoso.com and
    # myapi.contoso.com are other hosts and are neither replaced nor reported.
    [remains] = edition.findings
    assert (remains.rule, remains.severity, remains.file, remains.line) == (
        "PublicHostRemains",
        "info",
        PROPERTIES,
        9,
    )
    assert remains.pointer == (
        "/properties/connectionParameters/token/oAuthSettings/customParameters/authorizationUrl/value"
    )
    assert (edition.path / "gcc-high-edition.diff").read_text() == edition.diff
    removed = [line for line in edition.diff.splitlines() if line[:1] == "-" and line[:3] != "---"]
    assert len(removed) == 3  # host, urlTemplate, header value


def test_an_endpoint_path_becomes_the_base_path_and_follows_the_host_in_templates(tmp_path):
    source = write_package(tmp_path / "pkg", CLOUD_SWAGGER, CLOUD_PROPERTIES)
    endpoint = "https://gov.contoso.us/api/v2"
    result = cloud_editions(source, {"azure-government": endpoint}, tmp_path / "out")
    edition = result.editions[0]
    assert (edition.path / SWAGGER).read_bytes() == replace_lines(
        CLOUD_SWAGGER.encode(),
        {4: b'  "host": "gov.contoso.us",', 5: b'  "basePath": "/api/v2",'},
    )
    # https://api.contoso.com + /v1 (the public base path) → https://gov.contoso.us/api/v2;
    # the bare host in the header value has no path after it: only the host changes.
    assert (edition.path / PROPERTIES).read_bytes() == replace_lines(
        CLOUD_PROPERTIES.encode(),
        {
            20: b'          "x-ms-apimTemplateParameter.urlTemplate": "https://gov.contoso.us/api/v2",',
            36: b'          "x-ms-apimTemplateParameter.value": "gov.contoso.us"',
        },
    )


def test_a_missing_base_path_is_added_after_the_host(tmp_path):
    swagger = '{\n  "swagger": "2.0",\n  "host": "api.contoso.com",\n  "paths": {}\n}\n'
    source = write_package(tmp_path / "pkg", swagger)
    result = cloud_editions(source, {"gcc": "https://api.contoso.us/tasks"}, tmp_path / "out")
    assert (tmp_path / "out" / "gcc" / SWAGGER).read_text() == (
        '{\n  "swagger": "2.0",\n  "host": "api.contoso.us",\n  "basePath": "/tasks",\n'
        '  "paths": {}\n}\n'
    )
    assert [c.pointer for c in result.editions[0].changes] == ["/host", "/basePath"]


def test_editions_per_cloud_and_none_for_a_cloud_with_errors(tmp_path):
    source = write_package(tmp_path / "pkg", CLOUD_SWAGGER, CLOUD_PROPERTIES)
    endpoints = {
        "mooncake": "https://api.contoso.cn",
        "dod": "http://10.0.0.1",
        "gcc-high": "https://api.contoso.us",
    }
    result = cloud_editions(source, endpoints, tmp_path / "out")
    # Clouds come in the order of DESIGN.md: gcc, gcc-high, dod, azure-government, mooncake.
    assert [(e.cloud, e.ok) for e in result.editions] == [
        ("gcc-high", True),
        ("dod", False),
        ("mooncake", True),
    ]
    assert not result.ok
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["gcc-high", "mooncake"]
    assert result.editions[1].path is None and result.editions[1].changes == []
    mooncake = json.loads((tmp_path / "out" / "mooncake" / SWAGGER).read_text())
    assert mooncake["host"] == "api.contoso.cn"
    # The package itself is untouched.
    assert (source / SWAGGER).read_text() == CLOUD_SWAGGER
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "pkg"]  # no temp folders


def test_without_out_nothing_is_written(tmp_path):
    source = write_package(tmp_path / "pkg", CLOUD_SWAGGER, CLOUD_PROPERTIES)
    result = cloud_editions(source, {"gcc-high": "https://api.contoso.us"})
    assert result.editions[0].diff and result.editions[0].path is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg"]


def test_the_public_host_itself_gives_an_unchanged_edition(tmp_path):
    source = write_package(tmp_path / "pkg", CLOUD_SWAGGER, CLOUD_PROPERTIES)
    result = cloud_editions(source, {"gcc": "https://api.contoso.com"}, tmp_path / "out")
    edition = result.editions[0]
    assert edition.diff == "" and edition.changes == []
    assert ("CloudEndpointSameAsPublic", "info") in rules(edition.findings)
    assert ("GovernmentCloudHost", "warning") in rules(edition.findings)
    assert (edition.path / SWAGGER).read_text() == CLOUD_SWAGGER


def test_crlf_package_keeps_its_line_endings(tmp_path):
    source = DATA / "Babybots"  # CRLF; host on line 13
    result = cloud_editions(source, {"gcc-high": "https://babybots.azurewebsites.us"}, tmp_path)
    original = (source / SWAGGER).read_bytes()
    expected = replace_lines(original, {13: b'  "host": "babybots.azurewebsites.us",\r'})
    assert (tmp_path / "gcc-high" / SWAGGER).read_bytes() == expected
    assert (tmp_path / "gcc-high" / PROPERTIES).read_bytes() == (source / PROPERTIES).read_bytes()
    assert result.editions[0].findings == []


def test_run_time_hosts_of_dynamichosturl_are_flagged(tmp_path):
    # BoldSign's two dynamichosturl templates build the host from the connection's region
    # (apiProperties.json lines 65 and 72): the cloud host cannot be applied to them.
    source = DATA / "BoldSign"
    result = cloud_editions(source, {"gcc-high": "https://api.boldsign.us"}, tmp_path / "out")
    edition = result.editions[0]
    flagged = [f for f in edition.findings if f.rule == "CloudHostSetAtRuntime"]
    assert [(f.severity, f.file, f.line) for f in flagged] == [
        ("warning", PROPERTIES, 65),
        ("warning", PROPERTIES, 72),
    ]
    # Line 29 is the host; apiProperties.json and script.csx are copied unchanged.
    assert (edition.path / SWAGGER).read_bytes() == replace_lines(
        (source / SWAGGER).read_bytes(), {29: b'  "host": "api.boldsign.us",'}
    )
    for name in (PROPERTIES, "script.csx", "README.md"):
        assert (edition.path / name).read_bytes() == (source / name).read_bytes()


def test_a_package_without_host_has_no_edition(tmp_path):
    source = write_package(tmp_path / "pkg", '{"swagger": "2.0", "paths": {}}')
    result = cloud_editions(source, {"gcc": "https://api.contoso.us"}, tmp_path / "out")
    assert rules(result.editions[0].findings) == [("PackageHasNoHost", "error")]
    assert not (tmp_path / "out").exists()


def test_unknown_cloud_is_an_input_error(tmp_path):
    source = write_package(tmp_path / "pkg", CLOUD_SWAGGER)
    with pytest.raises(InputError, match="unknown cloud 'public'"):
        cloud_editions(source, {"public": "https://api.contoso.com"})


def test_clouds_from_config(tmp_path):
    write_package(tmp_path / "pkg", CLOUD_SWAGGER, CLOUD_PROPERTIES)
    config = parse_config(
        {"connector": {"package": "pkg"}, "clouds": {"gcc-high": "https://api.contoso.us"}}
    )
    config.base_dir = tmp_path  # the package path is relative to ga.toml
    result = clouds_from_config(config)
    assert [e.cloud for e in result.editions] == ["gcc-high"]
    with pytest.raises(InputError, match="declares no cloud"):
        clouds_from_config(parse_config({"connector": {"package": "pkg"}}))


# --- the command --------------------------------------------------------------------------


def test_cli_clouds(tmp_path, monkeypatch):
    write_package(tmp_path / "pkg", CLOUD_SWAGGER, CLOUD_PROPERTIES)
    (tmp_path / "ga.toml").write_text(
        '[connector]\npackage = "pkg"\n[clouds]\ngcc-high = "https://api.contoso.us"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    result = runner.invoke(app, ["clouds", "--out", "editions"])
    assert result.exit_code == 0, result.output
    assert "gcc-high" in result.stdout and "PublicHostRemains" in result.stdout
    assert json.loads((tmp_path / "editions/gcc-high" / SWAGGER).read_text())["host"] == (
        "api.contoso.us"
    )
    # An endpoint with an error: exit 1, like a lint error.
    (tmp_path / "ga.toml").write_text(
        '[connector]\npackage = "pkg"\n[clouds]\ndod = "http://10.0.0.1"\n'
    )
    failed = runner.invoke(app, ["clouds"])
    assert failed.exit_code == 1 and "CloudEndpointIpAddress" in failed.stdout


def test_cli_clouds_without_ga_toml_is_exit_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["clouds", str(tmp_path)])
    assert result.exit_code == 2 and "no ga.toml here" in result.stderr


# --- the command, --format json (connector-ga/clouds/v1) ----------------------------------


def clouds_json(*args) -> tuple[int, dict, str]:
    result = CliRunner().invoke(app, ["clouds", *map(str, args), "--format", "json"])
    return result.exit_code, json.loads(result.stdout), result.stderr  # stdout: only JSON


def test_cli_clouds_json_reports_every_cloud(tmp_path, monkeypatch):
    write_package(tmp_path / "pkg", CLOUD_SWAGGER, CLOUD_PROPERTIES)
    (tmp_path / "ga.toml").write_text(
        '[connector]\npackage = "pkg"\n[clouds]\nmooncake = "https://api.contoso.cn"\n'
        'dod = "http://10.0.0.1"\ngcc-high = "https://api.contoso.us"\n'
    )
    monkeypatch.chdir(tmp_path)
    code, report, _ = clouds_json("--out", "editions")
    assert code == 1  # dod's endpoint has errors, as in text
    assert report["schema"] == "connector-ga/clouds/v1"
    assert report["package"] == str(tmp_path / "pkg")
    assert report["out"] == "editions"
    assert report["ok"] is False
    # The clouds in DESIGN.md's order, whatever ga.toml's.
    gcc_high, dod, mooncake = report["editions"]
    assert [e["cloud"] for e in report["editions"]] == ["gcc-high", "dod", "mooncake"]
    templates = "/properties/policyTemplateInstances"
    oauth = (
        "/properties/connectionParameters/token/oAuthSettings/customParameters/"
        "authorizationUrl/value"
    )
    for edition, host in ((gcc_high, "api.contoso.us"), (mooncake, "api.contoso.cn")):
        cloud = edition["cloud"]
        assert edition["ok"] is True and (edition["errors"], edition["warnings"]) == (0, 0)
        assert edition["path"] == f"editions/{cloud}"
        assert edition["diff_file"] == f"editions/{cloud}/{cloud}-edition.diff"
        # By hand from CLOUD_SWAGGER / CLOUD_PROPERTIES: host (swagger line 4), the
        # dynamichosturl urlTemplate (line 20) and the bare host in a header (line 36).
        assert [
            (c["file"], c["pointer"], c["line"], c["from"], c["to"]) for c in edition["changes"]
        ] == [
            (SWAGGER, "/host", 4, "api.contoso.com", host),
            (
                PROPERTIES,
                f"{templates}/0/parameters/x-ms-apimTemplateParameter.urlTemplate",
                20,
                "https://api.contoso.com/v1",
                f"https://{host}/v1",
            ),
            (
                PROPERTIES,
                f"{templates}/2/parameters/x-ms-apimTemplateParameter.value",
                36,
                "api.contoso.com",
                host,
            ),
        ]
        # The OAuth URL on line 9 is reported, not replaced. Its string starts at column 43:
        # 12 spaces, "authorizationUrl" (18), `: {` (3), "value" (7), `: ` (2), then the quote.
        [remains] = edition["findings"]
        assert remains["rule"] == "PublicHostRemains" and remains["severity"] == "info"
        assert (remains["file"], remains["pointer"], remains["line"], remains["column"]) == (
            PROPERTIES,
            oauth,
            9,
            43,
        )
        assert remains["message"].startswith(f"{cloud}: ") and remains["fix"]
        assert edition["diff"] == (tmp_path / edition["diff_file"]).read_text()
    # http and an IP address: two errors at ga.toml's [clouds] dod, no edition.
    assert dod["endpoint"] == "http://10.0.0.1"
    assert dod["ok"] is False and (dod["errors"], dod["warnings"]) == (2, 0)
    assert dod["path"] is None and dod["diff_file"] is None
    assert dod["changes"] == [] and dod["diff"] == ""
    assert [
        (f["rule"], f["severity"], f["file"], f["pointer"], f["line"]) for f in dod["findings"]
    ] == [
        ("CloudEndpointNotHttps", "error", "ga.toml", "/clouds/dod", None),
        ("CloudEndpointIpAddress", "error", "ga.toml", "/clouds/dod", None),
    ]


def test_cli_clouds_json_without_out_writes_nothing(tmp_path):
    # Babybots (CRLF): its host on line 13 becomes the gcc-high host; nothing else to say.
    ga_toml = tmp_path / "ga.toml"
    ga_toml.write_text('[clouds]\ngcc-high = "https://babybots.azurewebsites.us"\n')
    code, report, err = clouds_json(DATA / "Babybots", "--config", ga_toml)
    assert code == 0
    assert report["ok"] is True and report["out"] is None
    [edition] = report["editions"]
    assert edition["path"] is None and edition["diff_file"] is None
    assert edition["findings"] == []
    assert edition["changes"] == [
        {
            "file": SWAGGER,
            "pointer": "/host",
            "line": 13,
            "from": "bb-fa-mpconnector-dev.azurewebsites.net",
            "to": "babybots.azurewebsites.us",
            "reason": "host",
        }
    ]
    assert "no edition written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ga.toml"]


def test_cli_clouds_unknown_format_is_exit_2_before_any_work(tmp_path, monkeypatch):
    write_package(tmp_path / "pkg", CLOUD_SWAGGER)
    (tmp_path / "ga.toml").write_text(
        '[connector]\npackage = "pkg"\n[clouds]\ngcc = "https://api.contoso.us"\n'
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["clouds", "--out", "editions", "--format", "yaml"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip() == "error: --format 'yaml': expected one of text, json"
    assert not (tmp_path / "editions").exists()
