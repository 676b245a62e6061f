"""`init`: a commented ga.toml, pre-filled from a connector package, that loads back.

The expected strings were read by eye from the packages' JSON files (copied unchanged from
/work/shared/connectors into tests/data/connectors).
"""

import json
import shutil
import tomllib
from pathlib import Path

import pytest

from connector_ga.config import load_config
from connector_ga.errors import InputError
from connector_ga.init import connector_id_from_title, render_ga_toml, write_ga_toml

ROOT_EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "contoso-tasks" / "connector"

DATA = Path(__file__).parent / "data" / "connectors"
# All eight real packages, copied unchanged with their licence.
ALL_PACKAGES = sorted(path.parent for path in DATA.glob("*/apiProperties.json"))


def write_package(folder: Path, swagger: object, properties: object) -> Path:
    folder.mkdir(parents=True)
    (folder / "apiDefinition.swagger.json").write_text(json.dumps(swagger), encoding="utf-8")
    (folder / "apiProperties.json").write_text(json.dumps(properties), encoding="utf-8")
    return folder


def test_babybots_package_prefills_title_publisher_contact(tmp_path):
    # apiDefinition.swagger.json: info.title "Babybots", info.contact.email
    # "support@babybots.ai"; apiProperties.json: properties.publisher "Babybots LLC".
    path = write_ga_toml(tmp_path, DATA / "Babybots")
    assert path == tmp_path / "ga.toml"
    config = load_config(path)
    assert config.connector.title == "Babybots"
    assert config.connector.id == "babybots"
    assert config.connector.publisher == "Babybots LLC"
    assert config.support.connector.contact == "support@babybots.ai"
    assert config.connector.preview_since is None  # left as a commented hint
    assert config.backend.status is None  # the publisher must declare it
    assert "# preview_since = " in path.read_text(encoding="utf-8")
    assert '# status = "production"' in path.read_text(encoding="utf-8")


def test_package_path_is_relative_to_the_ga_toml_folder(tmp_path):
    package = shutil.copytree(DATA / "Babybots", tmp_path / "connector")
    config = load_config(write_ga_toml(tmp_path, package))
    assert config.connector.package == "connector/"
    assert (config.base_dir / config.connector.package).resolve() == package.resolve()

    nested = tmp_path / "deploy" / "ga"
    config = load_config(write_ga_toml(nested, package))
    assert config.connector.package == "../../connector/"


def test_preview_title_keeps_the_title_but_not_the_id(tmp_path):
    # XC-Gate: info.title "XC-Gate (Preview)", info.contact.email
    # "powerplatform-support@technotree.com", properties.publisher "TECHNOTREE CO., LTD.".
    config = load_config(write_ga_toml(tmp_path, DATA / "XC-Gate"))
    assert config.connector.title == "XC-Gate (Preview)"
    assert config.connector.id == "xc-gate"  # the id outlives the preview
    assert config.connector.publisher == "TECHNOTREE CO., LTD."
    assert config.support.connector.contact == "powerplatform-support@technotree.com"


def test_explicit_connector_id_wins(tmp_path):
    config = load_config(write_ga_toml(tmp_path, DATA / "Babybots", connector_id="bb"))
    assert config.connector.id == "bb"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Zoho Sign", "zoho-sign"),
        ("Azure Communication Email", "azure-communication-email"),
        ("XC-Gate (Preview)", "xc-gate"),
        ("Café  Connect!", "cafe-connect"),
        ("サイボウズ", ""),  # nothing ASCII to keep: the id is left for the publisher
    ],
)
def test_connector_id_from_title(title, expected):
    assert connector_id_from_title(title) == expected


def test_no_package_gives_a_template_that_loads(tmp_path):
    path = write_ga_toml(tmp_path, None)
    text = path.read_text(encoding="utf-8")
    config = load_config(path)
    # Every section is there, and nothing unknown was invented.
    sections = tomllib.loads(text)
    assert set(sections) == {"connector", "telemetry", "backend", "support", "exceptions", "clouds"}
    assert set(sections["support"]) == {"backend", "connector"}
    assert config.connector.id is None and config.connector.title is None
    assert config.connector.package is None
    assert config.support.connector.contact is None
    assert config.support.backend.hours == [] and config.support.backend.timezone is None
    assert config.clouds.endpoints() == {}
    assert config.exceptions.customer_requires_production is False
    assert '# hours = ["Mon-Fri 08:00-17:00"]' in text
    assert "# gcc-high = " in text


def test_every_key_has_a_comment(tmp_path):
    # Each key line, set or commented out, follows a comment line explaining it.
    lines = render_ga_toml(DATA / "Babybots", base=tmp_path).splitlines()
    for index, line in enumerate(lines):
        bare = line.removeprefix("# ")
        if "=" in bare and bare.split("=")[0].strip().replace("_", "").replace("-", "").isalnum():
            assert lines[index - 1].startswith("#"), line


def test_utf8_bom_is_accepted(tmp_path):
    # The same Babybots files with a UTF-8 byte-order mark in front give the same values.
    package = tmp_path / "bom"
    package.mkdir()
    for name in ("apiDefinition.swagger.json", "apiProperties.json"):
        (package / name).write_bytes(b"\xef\xbb\xbf" + (DATA / "Babybots" / name).read_bytes())
    text = (write_ga_toml(tmp_path, package)).read_text(encoding="utf-8")
    config = load_config(tmp_path / "ga.toml")
    assert config.connector.title == "Babybots"
    assert config.connector.publisher == "Babybots LLC"
    assert config.support.connector.contact == "support@babybots.ai"
    assert "# Note:" not in text


def test_invalid_json_package_never_crashes(tmp_path):
    # ZohoSign's apiDefinition.swagger.json is not valid JSON as published: line 14 starts
    # with two EM SPACE characters (U+2003) before "},". Its apiProperties.json is fine:
    # properties.publisher "Zoho Corporation".
    path = write_ga_toml(tmp_path, DATA / "ZohoSign")
    text = path.read_text(encoding="utf-8")
    config = load_config(path)
    assert config.connector.title is None
    assert config.connector.id is None
    assert config.support.connector.contact is None
    assert config.connector.publisher == "Zoho Corporation"
    assert (
        "# Note: apiDefinition.swagger.json could not be read: not valid JSON: "
        "Expecting ',' delimiter (line 14, column 1: unexpected character U+2003 EM SPACE)"
    ) in text


@pytest.mark.parametrize(
    ("swagger_text", "reason"),
    [
        ("[1, 2]", "expected a JSON object at the top"),
        ("", "Expecting value (line 1, column 1)"),
        ('{"info": {"title": "A"', "(line 1, column 23)"),  # ends early: column of the end
    ],
)
def test_unreadable_swagger_is_noted(tmp_path, swagger_text, reason):
    package = write_package(tmp_path / "pkg", {}, {"properties": {"publisher": "P"}})
    (package / "apiDefinition.swagger.json").write_text(swagger_text, encoding="utf-8")
    path = write_ga_toml(tmp_path, package)
    assert reason in path.read_text(encoding="utf-8")
    assert load_config(path).connector.publisher == "P"


def test_non_utf8_and_missing_files_are_noted(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "apiDefinition.swagger.json").write_bytes('{"x": "é"}'.encode("latin-1"))
    path = write_ga_toml(tmp_path, package)
    text = path.read_text(encoding="utf-8")
    # `{"x": "` is 7 characters; é in Latin-1 is the byte 0xe9 at column 8, followed by
    # `"`, which cannot continue a UTF-8 sequence.
    assert (
        "# Note: apiDefinition.swagger.json:1:8: not UTF-8 text "
        "(byte 0xe9, invalid continuation byte)"
    ) in text
    assert "# Note: apiProperties.json was not found in the package folder" in text
    load_config(path)


def test_fallbacks_contact_url_and_publisher_from_contact_name(tmp_path):
    # No email: the contact is info.contact.url; no properties.publisher: info.contact.name.
    swagger = {"info": {"title": "T", "contact": {"name": "T Team", "url": "https://t.example"}}}
    package = write_package(tmp_path / "pkg", swagger, {"properties": {}})
    config = load_config(write_ga_toml(tmp_path, package))
    assert config.support.connector.contact == "https://t.example"
    assert config.connector.publisher == "T Team"


def test_awkward_strings_are_escaped(tmp_path):
    title = 'Say "hi" \\ back\ttab \u2003 \U0001f600'
    package = write_package(tmp_path / "pkg", {"info": {"title": title}}, {})
    config = load_config(write_ga_toml(tmp_path, package))
    assert config.connector.title == title
    assert config.connector.id == "say-hi-back-tab"


def test_refuses_to_overwrite_unless_forced(tmp_path):
    path = tmp_path / "ga.toml"
    path.write_text("# mine\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        write_ga_toml(tmp_path, DATA / "Babybots")
    assert str(error.value).startswith(f"{path}: already exists")
    assert "--force" in str(error.value)
    assert path.read_text(encoding="utf-8") == "# mine\n"

    write_ga_toml(tmp_path, DATA / "Babybots", force=True)
    assert load_config(path).connector.title == "Babybots"


def test_missing_package_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="expected a connector package folder"):
        write_ga_toml(tmp_path, tmp_path / "nowhere")
    assert not (tmp_path / "ga.toml").exists()


def test_creates_the_target_folder(tmp_path):
    path = write_ga_toml(tmp_path / "new" / "dir", None)
    assert path.is_file()


@pytest.mark.parametrize(
    "package", ALL_PACKAGES, ids=lambda path: f"{path.parent.name}/{path.name}"
)
def test_every_real_package_loads_back(tmp_path, package):
    config = load_config(write_ga_toml(tmp_path, package))
    assert (config.base_dir / config.connector.package).resolve() == package.resolve()


def test_telemetry_option_declares_paths_relative_to_the_ga_toml_folder(tmp_path, monkeypatch):
    # Issue 16 item 17: `init PKG --telemetry t.parquet` writes an uncommented `paths`, so
    # the README's `check` right after it reads the telemetry. Given from the current
    # folder (tmp_path) with ga.toml in sub/: data/t.parquet is ../data/t.parquet from sub/.
    monkeypatch.chdir(tmp_path)
    path = write_ga_toml(tmp_path / "sub", ROOT_EXAMPLE, telemetry=["data/t.parquet", "logs/*.csv"])
    declared = tomllib.loads(path.read_text(encoding="utf-8"))
    assert declared["telemetry"]["paths"] == ["../data/t.parquet", "../logs/*.csv"]
    assert declared["connector"]["id"] == "contoso-tasks"  # from the title "Contoso Tasks"
    assert load_config(path).telemetry.paths == ["../data/t.parquet", "../logs/*.csv"]
