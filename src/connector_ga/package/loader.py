"""Load a connector package folder: raw texts, parsed JSON, positions, `$ref` resolution.

Problems a publisher can fix inside the package (not JSON, not Swagger 2.0, a missing
apiProperties.json) become findings; a path that is not a package at all is an InputError.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..textfile import NotUtf8, decode_utf8
from .findings import Finding, Severity
from .positions import PositionMap, split

SWAGGER = "apiDefinition.swagger.json"
PROPERTIES = "apiProperties.json"
SCRIPT = "script.csx"
ICON = "icon.png"
README = "readme.md"  # matched without regard to case: Readme.md, README.md


@dataclass
class Package:
    """One connector package as read from disk. `data[name]` is None when it could not be read."""

    path: Path
    files: dict[str, Path] = field(default_factory=dict)  # present files by canonical name
    texts: dict[str, str] = field(default_factory=dict)  # JSON texts, BOM removed
    data: dict[str, Any] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)  # found while loading
    _positions: dict[str, PositionMap] = field(default_factory=dict, repr=False)

    @property
    def swagger(self) -> dict | None:
        """The Swagger 2.0 document, or None when it is not readable Swagger 2.0."""
        return self.data.get(SWAGGER)

    @property
    def properties(self) -> dict | None:
        return self.data.get(PROPERTIES)

    @property
    def title(self) -> str | None:
        info = (self.swagger or {}).get("info")
        title = info.get("title") if isinstance(info, dict) else None
        return title if isinstance(title, str) else None

    def size(self, name: str) -> int | None:
        path = self.files.get(name)
        return path.stat().st_size if path else None

    def line_of(self, file: str, json_pointer: str) -> tuple[int, int] | None:
        """(line, column) of the pointer in the original text, or of its nearest parent."""
        text = self.texts.get(file)
        if text is None or self.data.get(file) is None:
            return None
        if file not in self._positions:
            self._positions[file] = PositionMap(text)
        return self._positions[file].locate(json_pointer)

    def finding(
        self, rule: str, severity: Severity, file: str, json_pointer: str, message: str, fix: str
    ) -> Finding:
        where = self.line_of(file, json_pointer)
        line, column = where if where else (None, None)
        return Finding(rule, severity, file, json_pointer, line, column, message, fix)

    def get(self, json_pointer: str, file: str = SWAGGER) -> Any:
        """The value at a pointer, or None when there is nothing there."""
        node = self.data.get(file)
        for token in split(json_pointer):
            if isinstance(node, dict):
                node = node.get(token)
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return None
        return node

    def resolve(self, node: Any, at: str) -> tuple[Any, str]:
        """Follow local `$ref`s from `node` (found at pointer `at`): the target and its pointer.

        An unresolvable or looping reference gives back the reference object itself.
        """
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#") or ref in seen:
                break
            seen.add(ref)
            target = self.get(ref[1:])
            if target is None:
                break
            node, at = target, ref[1:]
        return node, at


def _json_error(exc: json.JSONDecodeError) -> str:
    detail = exc.msg
    if exc.pos < len(exc.doc):
        char = exc.doc[exc.pos]
        if not (char.isascii() and char.isprintable()):
            name = unicodedata.name(char, "")
            detail += f"; unexpected character U+{ord(char):04X} {name}".rstrip()
    return detail


def _read_json(package: Package, name: str) -> None:
    path = package.files[name]
    try:
        raw = path.read_bytes()
    except OSError as exc:
        package.problems.append(
            Finding(
                "FileNotReadable",
                "error",
                name,
                "",
                None,
                None,
                f"{name} cannot be read: {exc.strerror or exc}",
                "check the file's permissions",
            )
        )
        return
    try:
        text = decode_utf8(raw)  # a UTF-8 byte order mark is accepted
    except NotUtf8 as exc:
        package.problems.append(
            Finding(
                "FileNotReadable",
                "error",
                name,
                "",
                exc.line,
                exc.column,
                f"{name} is not UTF-8 text: {exc.detail} (line {exc.line}, column {exc.column})",
                "save the file as UTF-8 (the byte at that line and column is in another "
                "encoding, such as Windows-1252)",
            )
        )
        return
    package.texts[name] = text
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        package.problems.append(
            Finding(
                "InvalidJson",
                "error",
                name,
                "",
                exc.lineno,
                exc.colno,
                f"{name} is not valid JSON: {_json_error(exc)} (line {exc.lineno}, "
                f"column {exc.colno})",
                "fix the JSON syntax at that line and column (an editor with a JSON mode shows it)",
            )
        )
        return
    except RecursionError:
        package.problems.append(
            Finding(
                "InvalidJson",
                "error",
                name,
                "",
                None,
                None,
                f"{name} is nested too deeply to read",
                "flatten the document",
            )
        )
        return
    if not isinstance(data, dict):
        package.problems.append(
            Finding(
                "JsonTypeIncorrect",
                "error",
                name,
                "",
                1,
                1,
                f"{name} must hold a JSON object, not {type(data).__name__}",
                "make the top level a JSON object",
            )
        )
        return
    package.data[name] = data


def _check_swagger_version(package: Package) -> None:
    swagger = package.data.get(SWAGGER)
    if swagger is None:
        return
    version = swagger.get("swagger")
    if version == "2.0":
        return
    what = (
        f"an OpenAPI {swagger['openapi']} document"
        if "openapi" in swagger
        else (f"'swagger': {json.dumps(version)}" if "swagger" in swagger else "no 'swagger' key")
    )
    package.problems.append(
        package.finding(
            "SpecificationVersionIncorrect",
            "error",
            SWAGGER,
            "/swagger" if "swagger" in swagger else "",
            f"{SWAGGER} must be Swagger 2.0 ('swagger': \"2.0\"), found {what}",
            "Power Platform connectors take Swagger 2.0 only: convert the definition and set "
            '"swagger": "2.0"',
        )
    )
    package.data[SWAGGER] = None  # not Swagger 2.0: no rule may read it as such


def is_package(path: Path) -> bool:
    return (path / SWAGGER).is_file()


def load_package(path: str | Path) -> Package:
    """Read a connector package folder (or its apiDefinition.swagger.json)."""
    path = Path(path)
    if path.is_file() and path.name == SWAGGER:
        path = path.parent
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if not path.is_dir() or not is_package(path):
        raise InputError(f"{path}: not a connector package (no {SWAGGER} in it)")
    package = Package(path=path)
    for entry in sorted(path.iterdir()):
        if entry.is_file():
            if entry.name in (SWAGGER, PROPERTIES, SCRIPT, ICON):
                package.files[entry.name] = entry
            elif entry.name.lower() == README:
                package.files[README] = entry
    _read_json(package, SWAGGER)
    _check_swagger_version(package)
    if PROPERTIES in package.files:
        _read_json(package, PROPERTIES)
    else:
        package.problems.append(
            Finding(
                "FileMissing",
                "error",
                PROPERTIES,
                "",
                None,
                None,
                f"{PROPERTIES} is missing from the package",
                f"add {PROPERTIES} (paconn download writes it) with at least "
                "properties.iconBrandColor",
            )
        )
    return package
