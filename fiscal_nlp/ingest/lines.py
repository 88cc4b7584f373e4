"""Shared by the structured readers (HTML, spreadsheets, Word): paragraphs and table rows -> `Line`s.

Every reader writes the layout of the tab-separated text exports, so the table recogniser,
the narrative and the audit read all formats alike:

- a paragraph is one line (a paragraph holding line breaks, several), NFKC-normalised;
- a table row is one line of TAB-joined cells; a merged cell's text stands in its first
  (top-left) grid cell and the rest of its area is blank, as in the exports and the PDF
  grids, so the columns line up under their headers; line breaks inside a cell are removed
  (a wrapped header "本年收入\\n合计" reads "本年收入合计"), as the PDF reader does;
- each line keeps where it came from (`Line.location`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .document import Line, normalise

_BREAK_IN_CELL = re.compile(r"[ \t\u3000]*[\r\n]+[ \t\u3000]*")
_SPACES = re.compile(r"[\t\u00a0]+")


def cell_text(text: str) -> str:
    """A cell's text on one line: breaks inside the cell removed, tabs made spaces, NFKC."""
    return normalise(_SPACES.sub(" ", _BREAK_IN_CELL.sub("", text)).strip())


@dataclass
class LineWriter:
    """Numbers lines as they are written (1-based), with their locations."""

    lines: list[Line] = field(default_factory=list)

    def text(self, text: str, location: str | None) -> None:
        """A paragraph: one line per line break in it; blank paragraphs leave a blank line."""
        for part in normalise(text.replace("\r\n", "\n").replace("\r", "\n")).split("\n"):
            self.lines.append(Line(part.rstrip(), len(self.lines) + 1, None, location))

    def row(self, cells: list[str], location: str | None) -> None:
        """A table row: TAB-joined cells (already `cell_text`); an all-blank row is skipped."""
        if any(cells):
            self.lines.append(Line("\t".join(cells), len(self.lines) + 1, None, location))

    def blank(self) -> None:
        if self.lines and self.lines[-1].text:
            self.lines.append(Line("", len(self.lines) + 1, None, None))

    def has_content(self) -> bool:
        return any(line.text.strip() for line in self.lines)


def lay_out_grid(rows: list[list[tuple[str, int, int]]]) -> list[list[str]]:
    """Rows of (text, colspan, rowspan) cells -> a rectangular grid of texts.

    A merged cell's text goes to its top-left slot and the rest of its area stays blank;
    slots covered by a rowspan from above are skipped when placing the next cells (HTML
    table layout). Trailing blank columns are dropped.
    """
    grid: list[list[str | None]] = []
    for r, cells in enumerate(rows):
        while len(grid) <= r:
            grid.append([])
        c = 0
        for text, colspan, rowspan in cells:
            row = grid[r]
            while c < len(row) and row[c] is not None:
                c += 1
            colspan, rowspan = max(1, colspan), max(1, rowspan)
            for dr in range(rowspan):
                while len(grid) <= r + dr:
                    grid.append([])
                target = grid[r + dr]
                if len(target) < c + colspan:
                    target.extend([None] * (c + colspan - len(target)))
                for dc in range(colspan):
                    target[c + dc] = text if (dr == 0 and dc == 0) else ""
            c += colspan
    width = max((len(row) for row in grid), default=0)
    out = [[cell or "" for cell in row] + [""] * (width - len(row)) for row in grid]
    while width and all(not row[width - 1] for row in out):
        width -= 1
        out = [row[:width] for row in out]
    return out
