"""The ingest stage's output: a normalised document with line-level provenance."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple


class Line(NamedTuple):
    """One line of normalised text (immutable; a NamedTuple because a document has thousands).

    `text` is NFKC-normalised but keeps its internal spacing: in pdftotext-style
    tables a wider gap between two numbers is the only trace of a blank cell.
    Table rows read from a PDF grid, a spreadsheet, an HTML or a Word table are tab-separated
    cells, like text exports.
    """

    text: str
    number: int  # 1-based line in the text the parser read (for PDFs: the page-text stream)
    page: int | None = None  # 1-based PDF page
    # Where the line is in a structured source, for a citation: "sheet 收入决算表, row 12, columns A-I"
    # (spreadsheets), "/html/body/div[2]/table/tr[5]" (HTML), "table 3, row 5" or "paragraph 12"
    # (Word). None for text and PDF (their `number` and `page` say it).
    location: str | None = None


@dataclass
class DocumentMeta:
    doc_id: str | None = None
    district: str | None = None
    department: str | None = None
    fiscal_year: int | None = None
    doc_kind: str | None = None  # "budget" | "final"
    unit: str | None = "万元"


@dataclass
class Document:
    source_file: str
    sha256: str
    lines: list[Line]
    format: str = "text"  # "text" | "pdf" | "html" | "xlsx" | "xls" | "docx"
    n_pages: int | None = None
    meta: DocumentMeta = field(default_factory=DocumentMeta)
    # PDF pages that are images (a scan, or fonts without a Unicode map): OCR is needed for them.
    pages_without_text: list[int] = field(default_factory=list)
    # Images in the body of an HTML page or a Word document (where they stand, what they are):
    # nothing is read from them, so a table published as a picture needs OCR.
    images: list[str] = field(default_factory=list)

    def location_of(self, number: int) -> str | None:
        """Where line `number` (a `source_line`) is in the source: sheet/row, element path, paragraph/table."""
        if 1 <= number <= len(self.lines) and self.lines[number - 1].number == number:
            line = self.lines[number - 1]
        else:
            line = next((ln for ln in self.lines if ln.number == number), None)
        return line.location if line is not None else None

    @property
    def doc_id(self) -> str:
        return self.meta.doc_id or self.source_file

    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


# Kangxi radicals (U+2F00..U+2FD5) are NFKC-mapped to ordinary CJK ideographs;
# U+2E80..U+2EF3 (CJK radicals supplement) are not, so map the common look-alikes too.
_EXTRA_FOLD = str.maketrans({"⺠": "民", "⻓": "长", "⻔": "门", "⻢": "马", "⻆": "角", "⻅": "见", "⻜": "飞", "⻓": "长"})
_NEEDS_FOLD = re.compile("[" + "".join(map(chr, _EXTRA_FOLD)) + "]")  # (rare: translate only when present)


def normalise(text: str) -> str:
    """NFKC-normalise: full-width digits/commas, Kangxi radicals (⼀ -> 一), ideographic space."""
    text = unicodedata.normalize("NFKC", text)
    return text.translate(_EXTRA_FOLD) if _NEEDS_FOLD.search(text) else text


# Characters NFKC leaves alone in any context: each is its own NFKC form, has combining class 0
# and is never the second half of a canonical composition. A line made only of these (ASCII, CJK
# unified ideographs, the common Chinese punctuation) is already normalised. (Checked over every
# code point; Unicode's normalisation stability policy keeps it true in later versions.)
_STABLE = "\x00-\x7f\u2014\u2018\u2019\u201c\u201d\u2264\u2265\u3001\u3002\u3008-\u3011\u4e00-\u9fff\ufffd"
_UNSTABLE = re.compile(f"[^{_STABLE}]")
# Characters whose NFKC form is made only of stable characters and that are themselves starters
# no character composes with: replacing them one by one is their NFKC in any context.
# Full-width ASCII (，：（）；＋＝), the ideographic space, ①-⑳.
_SIMPLE = {c: unicodedata.normalize("NFKC", c) for c in map(chr, [0x3000, *range(0xFF01, 0xFF5F), *range(0x2460, 0x2474)])}
_SIMPLE_RE = re.compile("[" + "".join(_SIMPLE) + "]")
assert not any(_UNSTABLE.search(v) for v in _SIMPLE.values())


def normalise_text(text: str) -> str:
    """`normalise` of each line of a text with LF line ends (the same lines), in far fewer calls.

    The common compatibility characters are replaced in one pass; only the lines that still hold
    a character NFKC might change are then normalised (no character's NFKC form holds a LF).
    """
    text = _SIMPLE_RE.sub(lambda m: _SIMPLE[m.group()], text)
    pieces = []
    at = 0
    while (m := _UNSTABLE.search(text, at)) is not None:
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.end())
        end = len(text) if end < 0 else end
        pieces += [text[at:start], unicodedata.normalize("NFKC", text[start:end])]
        at = end
    text = "".join(pieces) + text[at:] if pieces else text
    return text.translate(_EXTRA_FOLD) if _NEEDS_FOLD.search(text) else text


def compact(text: str) -> str:
    """Remove all whitespace (the contract's label form): "本年收入 合计" -> "本年收入合计".

    `str.split()` splits at exactly the characters regex `\\s` matches (Unicode whitespace).
    """
    return "".join(text.split())
