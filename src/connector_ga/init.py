"""`connector-ga init`: write a commented ga.toml, pre-filled from a connector package.

Only what the package states is filled in; everything else stays a commented-out example
for the publisher to declare. A package file that cannot be read never stops the command:
its fields stay unfilled and a comment at the top says which file failed and why.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .textfile import NotUtf8, decode_utf8

SWAGGER = "apiDefinition.swagger.json"
PROPERTIES = "apiProperties.json"
GA_TOML = "ga.toml"


@dataclass
class PackageFacts:
    """What a connector package says about itself, and what could not be read."""

    title: str | None = None
    publisher: str | None = None
    contact: str | None = None
    problems: list[str] = field(default_factory=list)


def _one_line(text: str) -> str:
    # TOML comments may not hold control characters (tab aside).
    return "".join(ch if ch == "\t" or ch.isprintable() else " " for ch in text)


def _json_error(exc: json.JSONDecodeError) -> str:
    where = f"line {exc.lineno}, column {exc.colno}"
    if exc.pos < len(exc.doc):
        char = exc.doc[exc.pos]
        if not (char.isascii() and char.isprintable()):
            name = unicodedata.name(char, "")
            where += f": unexpected character U+{ord(char):04X} {name}".rstrip()
    return f"not valid JSON: {exc.msg} ({where})"


def _read_json(path: Path, problems: list[str]) -> dict | None:
    """The JSON object in `path`, or None with the reason appended to `problems`."""
    try:
        text = decode_utf8(path.read_bytes())  # some packages start with a BOM
    except FileNotFoundError:
        problems.append(f"{path.name} was not found in the package folder")
        return None
    except NotUtf8 as exc:
        problems.append(f"{exc.located(path.name)}")
        return None
    except OSError as exc:
        problems.append(f"{path.name} could not be read: {exc.strerror or exc}")
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(f"{path.name} could not be read: {_json_error(exc)}")
        return None
    except RecursionError:
        problems.append(f"{path.name} could not be read: JSON nested too deeply")
        return None
    if not isinstance(data, dict):
        problems.append(f"{path.name} could not be read: expected a JSON object at the top")
        return None
    return data


def _text(data: object, *keys: str) -> str | None:
    """The non-blank string at data[keys[0]][keys[1]]…, or None."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data.strip() if isinstance(data, str) and data.strip() else None


def read_package(package: Path) -> PackageFacts:
    """Title, publisher and support contact from a connector package folder."""
    if not package.is_dir():
        raise InputError(
            f"{package}: expected a connector package folder with {SWAGGER} and {PROPERTIES}"
        )
    facts = PackageFacts()
    swagger = _read_json(package / SWAGGER, facts.problems)
    properties = _read_json(package / PROPERTIES, facts.problems)
    facts.title = _text(swagger, "info", "title")
    facts.publisher = _text(properties, "properties", "publisher") or _text(
        swagger, "info", "contact", "name"
    )
    facts.contact = _text(swagger, "info", "contact", "email") or _text(
        swagger, "info", "contact", "url"
    )
    return facts


def connector_id_from_title(title: str) -> str:
    """Lower-case, hyphenated id from a title; a "(Preview)" marker is dropped, as the id
    outlives the preview. Empty when the title has no ASCII letters or digits."""
    title = re.sub(r"\(\s*(preview|beta)\s*\)", " ", title, flags=re.IGNORECASE)
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")


def _toml_string(value: str) -> str:
    escaped = []
    for char in value:
        if char in '"\\':
            escaped.append("\\" + char)
        elif not char.isprintable() or 0xD800 <= ord(char) <= 0xDFFF:
            # Control characters and lone surrogates cannot appear raw in a TOML string.
            code = 0xFFFD if 0xD800 <= ord(char) <= 0xDFFF else ord(char)
            escaped.append(f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def _relative(package: Path, base: Path) -> str:
    try:
        path = Path(os.path.relpath(package.resolve(), base.resolve()))
    except ValueError:  # another drive on Windows
        path = package.resolve()
    return path.as_posix().rstrip("/") + "/"


def _telemetry_path(given: str, base: Path) -> str:
    """A telemetry file or glob given relative to the current directory, written relative
    to ga.toml's folder (as `paths` is read); a URL stays as it is."""
    if "://" in given:
        return given
    try:
        return Path(os.path.relpath(Path(given).absolute(), base.absolute())).as_posix()
    except ValueError:  # another drive on Windows
        return Path(given).absolute().as_posix()


def _paths_line(telemetry: list[str], base: Path) -> str:
    if not telemetry:
        return '# paths = ["telemetry/*.parquet"]'
    return f"paths = [{', '.join(_toml_string(_telemetry_path(t, base)) for t in telemetry)}]"


def _key(name: str, value: str | None, example: str) -> str:
    """`name = value`, or the example commented out when the value is unknown."""
    if value is None:
        return f"# {name} = {example}"
    return f"{name} = {_toml_string(value)}"


def render_ga_toml(
    package: Path | None,
    connector_id: str | None = None,
    *,
    base: Path | None = None,
    telemetry: list[str] | None = None,
) -> str:
    """The text of a commented ga.toml, pre-filled from `package` when one is given.

    `base` is the folder the ga.toml will live in (default: the current directory); the
    package path is written relative to it, and so are the `telemetry` paths (given
    relative to the current directory), which `paths` then declares.
    """
    facts = read_package(Path(package)) if package is not None else PackageFacts()
    package_path = _relative(Path(package), base or Path.cwd()) if package is not None else None
    derived_id = connector_id_from_title(facts.title) if facts.title else ""
    connector_id = connector_id or derived_id or None

    lines = [
        "# ga.toml: the publisher's declarations for connector-ga.",
        "# Written by `connector-ga init`; check every value. A commented-out key is not",
        "# declared: uncomment it and put the real value in.",
    ]
    if package is not None:
        lines.append(f"# Pre-filled from the connector package in {_one_line(package_path)}")
    lines += [
        f"# Note: {_one_line(problem)}; the fields it would give are left unfilled."
        for problem in facts.problems
    ]

    lines += [
        "",
        "[connector]",
        "# id: the connector's id, lower-case and hyphenated (derived from the title); the",
        "# default `connector` of telemetry rows.",
        _key("id", connector_id, '"contoso-tasks"'),
        f"# title: the connector's display name ({SWAGGER} info.title).",
        _key("title", facts.title, '"Contoso Tasks"'),
        f"# publisher: who publishes the connector ({PROPERTIES} properties.publisher,",
        "# else the swagger's info.contact.name).",
        _key("publisher", facts.publisher, '"Contoso, Ltd."'),
        f"# package: folder with {SWAGGER} and {PROPERTIES}, relative to this file.",
        _key("package", package_path, '"connector/"'),
        "# preview_since: the date the connector was first published in preview, a bare",
        "# YYYY-MM-DD date; if absent, the first telemetry day is used (flagged as inferred).",
        "# preview_since = 2026-03-02",
        "",
        "[telemetry]",
        "# paths: telemetry files or glob patterns, relative to this file.",
        _paths_line(telemetry or [], base or Path.cwd()),
        '# format: "auto" (detect), "csv", "jsonl", "parquet" (canonical columns), "apim",',
        '# "appinsights" or "otlp".',
        'format = "auto"',
        "",
        "[telemetry.fields]",
        "# The source fields that carry the connection id and the user id (hashed at ingest).",
        '# connection_id = "connectionId"',
        '# user_id = "userId"',
        "",
        "[backend]",
        '# status: "production" when the backend APIs the connector uses are in production;',
        '# anything else ("preview", "beta", ...) fails backend-production. Declare it yourself.',
        '# status = "production"',
        "# evidence: a link showing the backend's status (status page, release notes).",
        '# evidence = "https://status.contoso.com"',
        "",
        "[support.backend]",
        '# hours: when the backend service is supported, a list of "DAYS HH:MM-HH:MM":',
        '# days "Mon-Fri", "Mon,Wed,Fri" or "Fri-Mon" (wraps over the weekend); 24-hour times,',
        '# "22:00-06:00" ends the next day, "00:00-24:00" is the whole day; or "24x7".',
        '# hours = ["Mon-Fri 08:00-17:00"]',
        "# timezone: the IANA time zone of those hours (DST is followed); not needed for 24x7.",
        '# timezone = "America/Los_Angeles"',
        "",
        "[support.connector]",
        "# hours, timezone: when the connector is supported, in the same form; they must cover",
        "# the backend's hours on every day of the year (support-model).",
        '# hours = ["Mon-Fri 08:00-17:00"]',
        '# timezone = "America/Los_Angeles"',
        "# contact: where users get support for the connector, an email address or URL",
        "# (the swagger's info.contact.email, else .url); support-model fails without one.",
        _key("contact", facts.contact, '"connectors@contoso.com"'),
        "",
        "[exceptions]",
        "# customer_requires_production: true when a customer needs the connector in",
        "# production to use it; an exception to the usage criteria.",
        "customer_requires_production = false",
        "# customer_reference: who that customer is (name or ticket); needed when true.",
        'customer_reference = ""',
        "",
        "[clouds]",
        "# The backend's endpoint in each other cloud the connector is released to, if any.",
        "# Keys: gcc, gcc-high, dod, azure-government, mooncake.",
        '# gcc-high = "https://api.contoso.us"',
        "",
    ]
    return "\n".join(lines)


def write_ga_toml(
    folder: Path,
    package: Path | None,
    force: bool = False,
    connector_id: str | None = None,
    telemetry: list[str] | None = None,
) -> Path:
    """Write `folder`/ga.toml (see render_ga_toml) and return its path.

    Refuses to replace an existing ga.toml unless `force`.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: expected a folder to write {GA_TOML} in")
    path = folder / GA_TOML
    if path.exists() and not force:
        raise InputError(f"{path}: already exists; not overwritten (use --force to replace it)")
    text = render_ga_toml(package, connector_id, base=folder, telemetry=telemetry)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "w" if force else "x", encoding="utf-8", newline="\n") as out:
            out.write(text)
    except FileExistsError:
        raise InputError(
            f"{path}: already exists; not overwritten (use --force to replace it)"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    return path
