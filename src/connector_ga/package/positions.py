"""Where each value of a JSON text starts: JSON pointer → (line, column), both 1-based.

The standard library parses JSON but forgets positions; this small scanner walks text that
`json.loads` already accepted and records, for every member, where its key starts (the line
a person looks at) and, for every array item, where the item starts. A file that is not
UTF-8 at all is located the same way: the line and column of its first bad byte.
"""

from __future__ import annotations

import codecs
import json
import re

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(r"[^,\]}\s]+")


def escape(token: str) -> str:
    """One reference token of a JSON pointer (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def pointer(*tokens: str | int) -> str:
    return "".join("/" + escape(str(t)) for t in tokens)


def split(json_pointer: str) -> list[str]:
    if not json_pointer:
        return []
    return [unescape(t) for t in json_pointer.split("/")[1:]]


class PositionMap:
    """Offsets of every value in one JSON text, turned into lines and columns on demand."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._offsets: dict[str, int] = {}
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        try:
            self._value(self._skip(0), "", None)
        except (RecursionError, IndexError, AttributeError):
            self._offsets = {}  # positions are a help, never a reason to fail

    def _skip(self, i: int) -> int:
        return _WHITESPACE.match(self._text, i).end()

    def _value(self, i: int, path: str, key_offset: int | None) -> int:
        self._offsets[path] = i if key_offset is None else key_offset
        char = self._text[i]
        if char == "{":
            i = self._skip(i + 1)
            if self._text[i] == "}":
                return i + 1
            while True:
                key_at = i
                match = _STRING.match(self._text, i)
                key = _decode_key(match.group())
                i = self._skip(match.end())
                i = self._skip(i + 1)  # the colon
                i = self._skip(self._value(i, path + "/" + escape(key), key_at))
                if self._text[i] == ",":
                    i = self._skip(i + 1)
                    continue
                return i + 1  # the closing brace
        if char == "[":
            i = self._skip(i + 1)
            if self._text[i] == "]":
                return i + 1
            index = 0
            while True:
                i = self._skip(self._value(i, f"{path}/{index}", None))
                index += 1
                if self._text[i] == ",":
                    i = self._skip(i + 1)
                    continue
                return i + 1
        if char == '"':
            return _STRING.match(self._text, i).end()
        return _SCALAR.match(self._text, i).end()

    def offset(self, json_pointer: str) -> int | None:
        return self._offsets.get(json_pointer)

    def line_column(self, offset: int) -> tuple[int, int]:
        lo, hi = 0, len(self._line_starts) - 1
        while lo < hi:  # the last line start at or before the offset
            mid = (lo + hi + 1) // 2
            if self._line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self._line_starts[lo] + 1

    def locate(self, json_pointer: str) -> tuple[int, int] | None:
        """(line, column) of the value at the pointer, or of its nearest existing parent."""
        tokens = json_pointer.split("/") if json_pointer else [""]
        while tokens:
            offset = self._offsets.get("/".join(tokens))
            if offset is not None:
                return self.line_column(offset)
            tokens = tokens[:-1]
        return None


def _decode_key(quoted: str) -> str:
    return json.loads(quoted)


class NotUtf8(ValueError):
    """Bytes that are not UTF-8: the first bad byte, its 1-based line and column, and why."""

    def __init__(self, byte: int, line: int, column: int, reason: str) -> None:
        self.byte, self.line, self.column, self.reason = byte, line, column, reason
        super().__init__(f"not UTF-8 text ({self.detail}) at line {line}, column {column}")

    @property
    def detail(self) -> str:
        """What is wrong, without the place: 'byte 0xf8, invalid start byte'."""
        return f"byte 0x{self.byte:02x}, {self.reason}"

    def located(self, file: str) -> str:
        """One line an editor can jump from: `file:line:column: not UTF-8 text (…)`."""
        return f"{file}:{self.line}:{self.column}: not UTF-8 text ({self.detail})"


def decode_utf8(raw: bytes) -> str:
    """`raw` as text, without a leading UTF-8 byte order mark; NotUtf8 says where it is not.

    The line counts the newlines before the bad byte; the column counts the characters (not
    the bytes) of its line before it, so both match what an editor shows, and what
    `json.JSONDecodeError` reports for the same text.
    """
    body = raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Decoding stops at the first bad byte: every byte before it is valid UTF-8.
        line_start = body.rfind(b"\n", 0, exc.start) + 1
        column = len(body[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        line = body.count(b"\n", 0, exc.start) + 1
        raise NotUtf8(body[exc.start], line, column, exc.reason) from None
