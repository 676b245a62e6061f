"""Where each value of a JSON text starts: JSON pointer → (line, column), both 1-based.

The standard library parses JSON but forgets positions; this small scanner walks text that
`json.loads` already accepted and records, for every member, where its key starts (the line
a person looks at) and, for every array item, where the item starts.
"""

from __future__ import annotations

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
