"""JSON files edited in place: values located in the text and replaced there, nothing else.

`json.load` + `json.dump` would reorder nothing but still rewrite indentation, escapes,
line endings and the BOM of the whole file; a publisher reviewing the GA or cloud edition
must see only the lines that had to change. So a package file is parsed into nodes that
know where they sit in the text, and edits are byte ranges of that text.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from ..textfile import NotUtf8, decode_utf8

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_INDENT = re.compile(r"[ \t]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}
_scanstring = json.decoder.scanstring  # the standard library's own string decoder


@dataclass
class Member:
    """One `"key": value` of an object, with where its key sits in the text."""

    key: str
    key_start: int
    key_end: int
    value: Node


@dataclass
class Node:
    """A JSON value and its span `[start, end)` in the text."""

    kind: str  # object, array, string, number, true, false, null
    start: int
    end: int
    value: Any = None  # the decoded value of a scalar
    members: list[Member] = field(default_factory=list)  # objects
    items: list[Node] = field(default_factory=list)  # arrays

    def get(self, key: str) -> Node | None:
        """The value of `key` in an object (the last one, as `json.loads` keeps), or None."""
        if self.kind != "object":
            return None
        for member in reversed(self.members):
            if member.key == key:
                return member.value
        return None

    def is_string(self) -> bool:
        return self.kind == "string"


def pointer_token(key: str | int) -> str:
    """One JSON Pointer reference token (RFC 6901)."""
    return str(key).replace("~", "~0").replace("/", "~1")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text

    def fail(self, message: str, pos: int) -> None:
        raise json.JSONDecodeError(message, self.text, pos)

    def skip(self, pos: int) -> int:
        return _WHITESPACE.match(self.text, pos).end()

    def document(self) -> Node:
        pos = self.skip(0)
        node = self.value(pos)
        end = self.skip(node.end)
        if end != len(self.text):
            self.fail("Extra data", end)
        return node

    def value(self, pos: int) -> Node:
        text = self.text
        char = text[pos : pos + 1]
        if char == "{":
            return self.object(pos)
        if char == "[":
            return self.array(pos)
        if char == '"':
            decoded, end = _scanstring(text, pos + 1, True)
            return Node("string", pos, end, decoded)
        for word, literal in _LITERALS.items():
            if text.startswith(word, pos):
                return Node(word, pos, pos + len(word), literal)
        match = _NUMBER.match(text, pos)
        if match:
            return Node("number", pos, match.end(), json.loads(match.group()))
        self.fail("Expecting value", pos)
        raise AssertionError  # unreachable: fail() raises

    def object(self, start: int) -> Node:
        text = self.text
        node = Node("object", start, start)
        pos = self.skip(start + 1)
        if text[pos : pos + 1] == "}":
            node.end = pos + 1
            return node
        while True:
            if text[pos : pos + 1] != '"':
                self.fail("Expecting property name enclosed in double quotes", pos)
            key, key_end = _scanstring(text, pos + 1, True)
            colon = self.skip(key_end)
            if text[colon : colon + 1] != ":":
                self.fail("Expecting ':' delimiter", colon)
            value = self.value(self.skip(colon + 1))
            node.members.append(Member(key, pos, key_end, value))
            pos = self.skip(value.end)
            char = text[pos : pos + 1]
            if char == "}":
                node.end = pos + 1
                return node
            if char != ",":
                self.fail("Expecting ',' delimiter", pos)
            pos = self.skip(pos + 1)

    def array(self, start: int) -> Node:
        text = self.text
        node = Node("array", start, start)
        pos = self.skip(start + 1)
        if text[pos : pos + 1] == "]":
            node.end = pos + 1
            return node
        while True:
            item = self.value(pos)
            node.items.append(item)
            pos = self.skip(item.end)
            char = text[pos : pos + 1]
            if char == "]":
                node.end = pos + 1
                return node
            if char != ",":
                self.fail("Expecting ',' delimiter", pos)
            pos = self.skip(pos + 1)


def parse(text: str) -> Node:
    """The node tree of `text`; raises `json.JSONDecodeError` (with line and column)."""
    return _Parser(text).document()


def _encode_like(raw: str, value: str) -> str:
    """`value` as a JSON string literal written in the escaping style of the literal `raw`."""
    ascii_only = bool(re.search(r"\\u[0-9a-fA-F]{4}", raw))
    encoded = json.dumps(value, ensure_ascii=ascii_only)
    if "\\/" in raw:
        encoded = encoded.replace("/", "\\/")
    return encoded


class JsonText:
    """A package's JSON file: its text, its node tree and the edits pending on it."""

    def __init__(self, name: str, raw: bytes) -> None:
        self.name = name
        self.bom = raw.startswith(codecs.BOM_UTF8)
        try:
            self.text = decode_utf8(raw)
        except NotUtf8 as exc:
            raise InputError(exc.located(name)) from None
        try:
            self.root = parse(self.text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from None
        except RecursionError:
            raise InputError(f"{name}: not valid JSON: nested too deeply") from None
        self._edits: list[tuple[int, int, str]] = []

    # --- reading ---------------------------------------------------------------------

    def line_of(self, offset: int) -> int:
        """The 1-based line of a text offset."""
        return self.text.count("\n", 0, offset) + 1

    def position_of(self, offset: int) -> tuple[int, int]:
        """The 1-based (line, column) of a text offset."""
        return self.line_of(offset), offset - self.text.rfind("\n", 0, offset)

    def raw(self, node: Node) -> str:
        return self.text[node.start : node.end]

    def newline(self) -> str:
        return "\r\n" if "\r\n" in self.text else "\n"

    def walk_strings(
        self, node: Node | None = None, pointer: str = ""
    ) -> Iterator[tuple[str, Node]]:
        """Every string value under `node` with its JSON pointer (keys are not values)."""
        node = self.root if node is None else node
        if node.kind == "string":
            yield pointer, node
        for member in node.members:
            yield from self.walk_strings(member.value, f"{pointer}/{pointer_token(member.key)}")
        for index, item in enumerate(node.items):
            yield from self.walk_strings(item, f"{pointer}/{index}")

    # --- editing ---------------------------------------------------------------------

    def replace(self, start: int, end: int, new_text: str) -> None:
        self._edits.append((start, end, new_text))

    def set_string(self, node: Node, value: str) -> None:
        """Replace a value by the string `value`, escaped as the old literal was."""
        self.replace(node.start, node.end, _encode_like(self.raw(node), value))

    def rewrite_string(self, node: Node, change: Callable[[str], str]) -> str:
        """Apply `change` to a string value and return the new value.

        `change` is applied to the literal's own text first, so escapes elsewhere in the
        string stay as written; when that does not decode to `change(value)` (the part to
        change was written with escapes), the literal is re-encoded whole.
        """
        new_value = change(node.value)
        if new_value == node.value:
            return new_value
        inner = change(self.raw(node)[1:-1])
        try:
            same = json.loads(f'"{inner}"') == new_value
        except json.JSONDecodeError:
            same = False
        if same:
            self.replace(node.start, node.end, f'"{inner}"')
        else:
            self.set_string(node, new_value)
        return new_value

    def insert_member(self, obj: Node, key: str, value: Any, before: Member | None = None) -> None:
        """Add `"key": value` to `obj`, laid out like its siblings (line breaks, indentation,
        `:` spacing): just before the member `before`, so no existing line changes, or
        after the last member when `before` is None."""
        text, newline = self.text, self.newline()
        if not obj.members:
            indent = self._line_indent(obj.start)
            body = json.dumps({key: value}, indent=self._indent_unit(), ensure_ascii=False)
            self.replace(obj.start, obj.end, body.replace("\n", newline + indent))
            return
        anchor = before or obj.members[-1]
        gap = text[self._token_before(anchor.key_start) : anchor.key_start]  # whitespace
        separator = text[anchor.key_end : anchor.value.start]  # e.g. `": "`
        if "\n" in gap:
            indent = gap.rsplit("\n", 1)[1]
            closing = self._line_indent(obj.end - 1)
            unit = indent[len(closing) :] if indent.startswith(closing) else ""
            rendered = json.dumps(value, indent=unit or "  ", ensure_ascii=False)
            rendered = rendered.replace("\n", newline + indent)
        else:
            rendered = json.dumps(value, ensure_ascii=False, separators=(",", separator.strip()))
        member = f"{json.dumps(key)}{separator}{rendered}"
        if before is not None:
            self.replace(anchor.key_start, anchor.key_start, f"{member},{gap}")
        else:
            self.replace(anchor.value.end, anchor.value.end, f",{gap}{member}")

    def _token_before(self, pos: int) -> int:
        """The offset just after the last non-whitespace character before `pos`."""
        index = pos
        while index > 0 and self.text[index - 1] in " \t\r\n":
            index -= 1
        return index

    def _line_indent(self, pos: int) -> str:
        line_start = self.text.rfind("\n", 0, pos) + 1
        return _INDENT.match(self.text, line_start).group()

    def _indent_unit(self) -> str:
        for member in self.root.members:
            indent = self._line_indent(member.key_start)
            if indent:
                return indent
        return "  "

    @property
    def changed(self) -> bool:
        return bool(self._edits)

    def edited_text(self) -> str:
        """The text with every pending edit applied (edits may not overlap)."""
        parts, pos = [], 0
        for start, end, new_text in sorted(self._edits, key=lambda edit: (edit[0], edit[1])):
            if start < pos:
                raise ValueError(f"{self.name}: overlapping edits at offset {start}")
            parts.append(self.text[pos:start])
            parts.append(new_text)
            pos = end
        parts.append(self.text[pos:])
        return "".join(parts)

    def edited_bytes(self) -> bytes:
        body = self.edited_text().encode("utf-8")
        return codecs.BOM_UTF8 + body if self.bom else body
