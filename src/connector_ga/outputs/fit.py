"""Terminal output that reads whole at any width (80 columns in a CI log, 200 on a desk).

Two renderables every terminal view uses:

- `Prose`: text wrapped at the console's width between words, never inside one; a word
  longer than the line (a path, a URL) takes a line of its own, whole.
- `Fitted`: a table when every name column fits whole (names are `no_wrap`), else the same
  rows as a list of "header: value" lines under each row's first cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

_WORD = re.compile(r"\S+")
_UNBOUNDED = 100_000


def wrap(text: Text | str, width: int, indent: str = "") -> list[Text]:
    """Lines of at most `width` cells, broken between words; `indent` starts every line
    after the first of each paragraph. A word wider than the line stays whole."""
    text = Text(text) if isinstance(text, str) else text
    out: list[Text] = []
    for paragraph in text.split("\n", allow_blank=True):
        plain = paragraph.plain
        offsets: list[int] = []
        column, previous_end, first = 0, 0, True
        for match in _WORD.finditer(plain):
            start, end = match.span()
            word = cell_len(plain[start:end])
            if first:
                column, first = cell_len(plain[:end]), False
            elif column + cell_len(plain[previous_end:start]) + word > width:
                offsets.append(start)
                column = cell_len(indent) + word
            else:
                column += cell_len(plain[previous_end:start]) + word
            previous_end = end
        for i, line in enumerate(paragraph.divide(offsets)):
            line.rstrip()
            out.append(Text(indent) + line if i else line)
    return out


class Prose:
    """Text that wraps at the width it is given, between words only."""

    def __init__(self, text: Text | str, style: str = "", indent: str = "") -> None:
        self.text = Text(text, style=style) if isinstance(text, str) else text
        self.indent = indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in wrap(self.text, options.max_width, self.indent):
            yield from line.render(console)
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        words = [cell_len(w) for w in _WORD.findall(self.text.plain)] or [0]
        longest = max(cell_len(line) for line in self.text.plain.split("\n"))
        return Measurement(max(words), longest)


def say(console: Console, text: Text | str, style: str = "", indent: str = "") -> None:
    """Print prose at the console's width; `text` is plain (never markup)."""
    console.print(Prose(text, style=style, indent=indent))


@dataclass(frozen=True)
class Col:
    """A column: `wrap` for prose (wraps between words); a name column never wraps."""

    header: str
    justify: str = "left"
    wrap: bool = False
    ratio: int | None = None


def table_needs(table: Table, console: Console) -> int:
    """The narrowest width that shows every no_wrap cell whole and every other cell without
    cutting a word: a wider table is squeezed by Rich, which crops names ("fleet.…")."""
    options = console.options.update_width(_UNBOUNDED)
    need = 0
    for column in table.columns:
        measured = table._measure_column(console, options, column)
        need += measured.maximum if column.no_wrap else measured.minimum
    return need + table._extra_width


class Fitted:
    """A table if it fits the width, else a list: each row's first cell, then one
    "header: value" line per other non-empty cell."""

    def __init__(
        self,
        columns: Sequence[Col],
        rows: Iterable[Sequence[RenderableType]],
        title: str | None = None,
        **table_options,
    ) -> None:
        self.columns = list(columns)
        self.rows = [list(row) for row in rows]
        self.title = title
        self.table_options = table_options

    def table(self) -> Table:
        options = {"title": self.title, "title_justify": "left", **self.table_options}
        table = Table(**options)
        for col in self.columns:
            table.add_column(
                col.header,
                justify=col.justify,
                no_wrap=not col.wrap,
                ratio=col.ratio,
                overflow="fold" if col.wrap else "ellipsis",
            )
        for row in self.rows:
            table.add_row(*row)
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = self.table()
        if table_needs(table, console) <= options.max_width:
            yield table
            return
        if self.title:
            yield Prose(Text(self.title, style="italic"))
        for row in self.rows:
            yield Prose(_flat(row[0]) if row else Text(), indent="  ")
            for col, cell in zip(self.columns[1:], row[1:], strict=False):
                value = _flat(cell)
                if not value.plain.strip():
                    continue
                label = Text(f"  {col.header.replace(chr(10), ' ')}: ", style="dim")
                yield Prose(
                    label + value if col.header.strip() else Text("  ") + value, indent="    "
                )


def _flat(cell: RenderableType) -> Text:
    """A cell as one line of text: its own line breaks become spaces."""
    text = cell.copy() if isinstance(cell, Text) else Text.from_markup(str(cell))
    text.plain = text.plain.replace("\n", " ")  # the same length: the styles stay in place
    return text
