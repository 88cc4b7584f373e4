"""Cell tokens: numbers, codes, labels and blank cells, from tab-separated or space-aligned rows.

Two physical layouts reach the table parser:
- tab-separated cells (spreadsheet exports, and PDF grids read by camelot): a blank cell is an empty cell;
- pdftotext-style text where cells are joined by single spaces and a blank cell leaves a
  wider gap ("14.00   14.00": one blank between). Blank cells are recovered from the gap width
  and then confirmed or corrected with the table's printed identities (see `parse.place_values`).
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import NamedTuple

from ..ingest.document import Line, compact

# Bounded precision: 15 integer digits (10^15 元 is a hundred times the national budget) and 6 decimals.
# A longer run (digit runs a PDF glued together) is no amount; the audit (validate.document) warns.
_AMOUNT = re.compile(r"^[-−]?(?:\d{1,3}(?:,\d{3}){1,4}|\d{1,15})(?:\.\d{1,6})?$")
_DASHES = {"-", "—", "－", "–", "——", "--"}
_SPLIT = re.compile(r"(\s+)")
_INT = re.compile(r"\d+")


class Token(NamedTuple):
    """One cell (immutable; a NamedTuple because a document's tables have tens of thousands)."""

    kind: str  # "num" | "text" | "blank" | "break"
    text: str
    line: Line | None = None
    gap: int = 1  # spaces before the token (flow layout)

    @property
    def is_int(self) -> bool:
        return self.kind == "num" and _INT.fullmatch(self.text) is not None

    @property
    def value(self) -> Decimal:
        return parse_amount(self.text)


@lru_cache(maxsize=4096)  # a table's amounts recur (totals, identities tried per candidate placement)
def parse_amount(text: str) -> Decimal:
    """'2,533.25' -> Decimal('2533.25'); '-' (printed zero) -> 0. Raises ValueError otherwise."""
    t = text.strip().replace("−", "-")
    if t in _DASHES:
        return Decimal(0)
    if not _AMOUNT.match(t):
        raise ValueError(f"not an amount: {text!r}")
    try:
        return Decimal(t.replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - regex guards this
        raise ValueError(text) from exc


def is_amount(text: str) -> bool:
    t = text.strip().replace("−", "-")
    return t in _DASHES or bool(_AMOUNT.match(t))


def classify(cell: str, line: Line | None, gap: int = 1) -> Token:
    return Token(*_cell(cell), line, gap)


@lru_cache(maxsize=16384)  # cells recur: blanks, 合计, amounts, the classification's labels
def _cell(cell: str) -> tuple[str, str]:
    """(kind, text) of a cell: its text without whitespace, blank, a number or text."""
    text = compact(cell)
    if not text:
        return "blank", ""
    return "num" if is_amount(text) else "text", text


def is_tabbed(line: Line) -> bool:
    return "\t" in line.text


def tokenize_line(line: Line) -> list[Token]:
    """Tokens of one line. Tab rows keep their blank cells; flow rows get blanks from gap widths."""
    if is_tabbed(line):
        return [classify(cell, line) for cell in line.text.split("\t")]
    # Words and the whitespace runs between them alternate: ["", " ", "a", "  ", "b"] or ["a", " ", "b"].
    parts = _SPLIT.split(line.text.rstrip())
    first = 2 if parts[0] == "" else 0
    if first >= len(parts):
        return []
    tokens = [classify(parts[first], line, 0)]
    for i in range(first + 2, len(parts), 2):
        gap = len(parts[i - 1])  # no tab here: a tabbed line takes the branch above
        tok = classify(parts[i], line, gap)
        # A blank cell between two cells shows as one extra separator plus one space.
        if gap >= 3 and (tok.kind == "num" or tokens[-1].kind == "num"):
            tokens.extend(Token("blank", "", line) for _ in range((gap - 1) // 2))
        tokens.append(tok)
    return tokens
