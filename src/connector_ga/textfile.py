"""Text files a user gives us (packages, ga.toml, policies): UTF-8, located when not."""

from __future__ import annotations

import codecs


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
