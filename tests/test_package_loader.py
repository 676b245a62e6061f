"""Loading a package: BOM, JSON and UTF-8 errors with line and column, Swagger version,
positions, $refs."""

from __future__ import annotations

import json

import pytest
from package_builders import properties, swagger, write_package
from rich.console import Console

from connector_ga.config import load_config
from connector_ga.errors import InputError
from connector_ga.package.lint import lint_package
from connector_ga.package.loader import PROPERTIES, SWAGGER, load_package
from connector_ga.package.output import render_text, to_json, to_sarif
from connector_ga.package.positions import PositionMap
from connector_ga.package.promote import promote


def rules(report) -> list[tuple[str, str, int | None, int | None]]:
    return [(f.rule, f.severity, f.line, f.column) for f in report.findings]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    text = json.dumps(swagger(), indent=2)
    folder = write_package(tmp_path / "bom", raw_swagger=b"\xef\xbb\xbf" + text.encode())
    package = load_package(folder)
    assert package.problems == []
    assert package.title == "Northwind Tasks"
    # json.dumps(indent=2): line 1 '{', line 2 '"swagger"', line 3 '"info": {', line 4 title.
    assert package.line_of(SWAGGER, "/info/title") == (4, 5)
    assert lint_package(package).findings == []


def test_not_json_is_one_error_with_line_and_column(tmp_path):
    # Line 3 is '  "info": {' followed by a missing comma after the title on line 4:
    raw = '{\n  "swagger": "2.0",\n  "info": {\n    "title": "X"\n    "version": "1"\n  }\n}\n'
    report = lint_package(write_package(tmp_path / "p", raw_swagger=raw))
    # The parser stops at the '"' opening "version" on line 5, column 5.
    assert rules(report) == [("InvalidJson", "error", 5, 5)]
    assert "Expecting ',' delimiter" in report.findings[0].message
    assert report.backend.production is None
    assert not report.ok


def test_not_utf8_is_an_error_not_a_traceback(tmp_path):
    report = lint_package(write_package(tmp_path / "p", raw_swagger=b'{"swagger": "2.0\xff"}'))
    # '{"swagger": "2.0' is 16 characters: the byte 0xff is column 17 of line 1.
    assert rules(report) == [("FileNotReadable", "error", 1, 17)]
    assert "not UTF-8" in report.findings[0].message


# Line 3 is '  "info": {"title": "Café ø"}' with é in UTF-8 (2 bytes, 1 character) and ø in
# Latin-1 (the one byte 0xf8). Before 0xf8 on line 3: 2 spaces, '"info":' (7), a space,
# '{' (1), '"title":' (8), a space, '"' (1), 'Café' (4 characters), a space: 26 characters,
# so 0xf8 is line 3, column 27 (column 28 if é were counted as its two bytes).
NOT_UTF8 = b'{\n  "swagger": "2.0",\n  "info": {"title": "Caf\xc3\xa9 \xf8"}\n}\n'


def test_not_utf8_is_located_by_line_and_column(tmp_path):
    report = lint_package(write_package(tmp_path / "p", raw_swagger=NOT_UTF8))
    assert rules(report) == [("FileNotReadable", "error", 3, 27)]
    assert report.findings[0].message == (
        "apiDefinition.swagger.json is not UTF-8 text: byte 0xf8, invalid start byte "
        "(line 3, column 27)"
    )


def test_not_utf8_after_a_byte_order_mark_counts_from_the_text(tmp_path):
    # The BOM is not a character of line 1: '{"a": "' is 7 characters, 0xe9 is column 8.
    raw = b'\xef\xbb\xbf{"a": "\xe9"}'
    package = load_package(write_package(tmp_path / "p", raw_swagger=raw))
    problem = package.problems[0]
    assert (problem.rule, problem.line, problem.column) == ("FileNotReadable", 1, 8)
    assert "byte 0xe9" in problem.message


def test_not_utf8_location_in_every_lint_output(tmp_path):
    folder = write_package(tmp_path / "p", raw_swagger=NOT_UTF8)
    report = lint_package(folder)
    console = Console(width=300, record=True)
    render_text([report], console)
    assert f"{folder / SWAGGER}:3:27  FileNotReadable" in console.export_text()
    finding = json.loads(to_json([report], as_list=False))["findings"][0]
    assert (finding["line"], finding["column"]) == (3, 27)
    sarif = json.loads(to_sarif([report]))["runs"][0]["results"][0]
    region = sarif["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 3, "startColumn": 27}


def test_not_utf8_stops_promote_with_one_located_line(tmp_path):
    folder = write_package(tmp_path / "p", raw_swagger=NOT_UTF8)
    with pytest.raises(InputError) as caught:
        promote(folder, tmp_path / "ga", force=True)
    assert caught.value.message == (
        f"{folder / SWAGGER}:3:27: not UTF-8 text (byte 0xf8, invalid start byte)"
    )
    assert not (tmp_path / "ga").exists()


def test_a_ga_toml_that_is_not_utf8_is_located(tmp_path):
    # Line 2 is 'title = "Caf' then 0xe9 (é in Latin-1) before '"': 'title = "Caf' is 12
    # characters, so line 2, column 13; 0xe9 starts a 3-byte sequence that '"' breaks.
    path = tmp_path / "ga.toml"
    path.write_bytes(b'[connector]\ntitle = "Caf\xe9"\n')
    with pytest.raises(InputError) as caught:
        load_config(path)
    assert caught.value.message == (
        f"{path}:2:13: not UTF-8 text (byte 0xe9, invalid continuation byte)"
    )


def test_openapi_3_is_not_swagger_2(tmp_path):
    doc = {"openapi": "3.0.1", "info": {"title": "X", "version": "1"}, "paths": {}}
    report = lint_package(write_package(tmp_path / "p", doc))
    # No 'swagger' key: the finding points at the document itself (line 1, column 1); no
    # definition rule runs on a document that is not Swagger 2.0.
    assert rules(report) == [("SpecificationVersionIncorrect", "error", 1, 1)]
    assert "OpenAPI 3.0.1" in report.findings[0].message


def test_swagger_1_2_points_at_the_version(tmp_path):
    doc = dict(swagger(), swagger="1.2")
    report = lint_package(write_package(tmp_path / "p", doc))
    # indent=2: line 2 is '  "swagger": "1.2",' and the key starts at column 3.
    assert rules(report) == [("SpecificationVersionIncorrect", "error", 2, 3)]


def test_a_json_array_is_not_a_definition(tmp_path):
    report = lint_package(write_package(tmp_path / "p", [1, 2]))
    assert rules(report) == [("JsonTypeIncorrect", "error", 1, 1)]


def test_missing_api_properties_is_a_finding(tmp_path):
    folder = write_package(tmp_path / "p")
    (folder / PROPERTIES).unlink()
    report = lint_package(folder)
    assert rules(report) == [("FileMissing", "error", None, None)]
    assert report.findings[0].file == PROPERTIES


@pytest.mark.parametrize("make", ["missing", "empty folder", "file"])
def test_a_path_that_is_no_package_is_an_input_error(tmp_path, make):
    path = tmp_path / "x"
    if make == "empty folder":
        path.mkdir()
    elif make == "file":
        path.write_text("hello", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_package(path)
    assert str(path) in caught.value.message


def test_the_swagger_file_itself_names_its_package(tmp_path):
    folder = write_package(tmp_path / "p")
    assert load_package(folder / SWAGGER).path == folder


def test_positions_of_keys_items_and_escaped_keys():
    text = '{\n  "a/b": {"x~y": [10,\n    {"k": "v"}]},\n  "s": "q\\"uote"\n}'
    positions = PositionMap(text)
    assert positions.locate("") == (1, 1)
    assert positions.locate("/a~1b") == (2, 3)  # the key '"a/b"' starts line 2, column 3
    assert positions.locate("/a~1b/x~0y") == (2, 11)
    assert positions.locate("/a~1b/x~0y/0") == (2, 19)  # the item 10
    assert positions.locate("/a~1b/x~0y/1/k") == (3, 6)  # line 3 is '    {"k": "v"}]},'
    assert positions.locate("/s") == (4, 3)
    # A pointer to nothing gives the nearest parent that exists: /a~1b.
    assert positions.locate("/a~1b/missing") == (2, 3)


def test_refs_resolve_within_the_file(tmp_path):
    package = load_package(write_package(tmp_path / "p"))
    at = "/paths/~1tasks/get/parameters/0"
    value, where = package.resolve(package.get(at), at)
    assert where == "/parameters/Top"
    assert value["name"] == "top"
    # A loop ends where it started instead of spinning.
    doc = swagger()
    doc["parameters"] = {"A": {"$ref": "#/parameters/B"}, "B": {"$ref": "#/parameters/A"}}
    looped = load_package(write_package(tmp_path / "loop", doc, properties()))
    value, _ = looped.resolve({"$ref": "#/parameters/A"}, "")
    assert value == {"$ref": "#/parameters/A"}
