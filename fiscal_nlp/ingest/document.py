"""The ingest stage's output: a normalised document with line-level provenance."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    """One line of normalised text.

    `text` is NFKC-normalised but keeps its internal spacing: in pdftotext-style
    tables a wider gap between two numbers is the only trace of a blank cell.
    Table rows read from a PDF grid are tab-separated cells, like text exports.
    """

    text: str
    number: int  # 1-based line in the text the parser read (for PDFs: the page-text stream)
    page: int | None = None  # 1-based PDF page


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
    format: str = "text"  # "text" | "pdf"
    n_pages: int | None = None
    meta: DocumentMeta = field(default_factory=DocumentMeta)
    # PDF pages that are images (a scan, or fonts without a Unicode map): OCR is needed for them.
    pages_without_text: list[int] = field(default_factory=list)

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


def normalise_lines(texts: list[str]) -> list[str]:
    """`normalise` of each text; the rare look-alikes are looked for once, over all of them."""
    out = [unicodedata.normalize("NFKC", t) for t in texts]
    if _NEEDS_FOLD.search("\n".join(out)):
        out = [t.translate(_EXTRA_FOLD) for t in out]
    return out


def compact(text: str) -> str:
    """Remove all whitespace (the contract's label form): "本年收入 合计" -> "本年收入合计".

    `str.split()` splits at exactly the characters regex `\\s` matches (Unicode whitespace).
    """
    return "".join(text.split())
