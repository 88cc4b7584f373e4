"""PDF reader: PDF bytes -> `Document` (one stream of numbered lines, each with its page).

The same table recogniser and narrative extractor serve text and PDF, so this
reader writes the layout of the tab-separated text exports (seeds 000, 003):

- ordinary text (titles, 部门：…, 金额单位：万元, notes, narrative) comes from
  pdfplumber, one `Line` per visual line; page-number footers (``- 3 -``) and running
  heads repeated in the margin of most pages are dropped;
- every table camelot finds becomes one `Line` per row, cells joined by TAB, blank
  cells empty, line breaks inside a cell removed, placed where the table sits;
  ruled tables are read with camelot lattice, borderless ones with camelot stream
  (chosen per table from the ruling lines the page draws);
- a table continued on the next page (续表) reads as one table: its repeated header
  block and 栏次 row are dropped;
- all text is NFKC-normalised (⼀ -> 一, ２０２１ -> 2021) before anything matches it.

Unreadable files raise `IngestError`: ``pdf_encrypted`` (password or permissions),
``pdf_corrupt`` (truncated or damaged), ``pdf_no_text_layer`` (scans, or fonts
without a Unicode map that extract as ``(cid:N)``). When only some pages lack text
the rest is read and the pages are listed in ``Document.pages_without_text``.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from .document import Document, Line, compact
from .errors import IngestError
from .pdf_layout import (
    MARGIN_SHARE,
    BorderlessBlock,
    TextLine,
    column_edges,
    find_borderless_blocks,
    has_ruled_grid,
    is_page_number,
    page_text_lines,
)
from .pdf_tables import (
    LATTICE_ENGINES, PdfTable, continues, drop_repeated_header, read_lattice_tables, read_stream_tables,
)

# A page whose ideographs are mostly (cid:N) codes, private-use code points or
# characters outside GB2312 (fonts without a Unicode map extract as such garbage:
# "QOQP?㩾㪰(cid:37096)颭") has no usable text; real disclosures stay far below this.
UNMAPPED_SHARE = 0.3
# A ruled table whose cells hold less of the text printed inside its frame than this lost text
# to a grid with missing rulings (merged header cells); its page is read again.
MIN_TEXT_COVERAGE = 0.98
_CID = re.compile(r"^\(cid:\d+\)$")
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff\ufffd]")


@dataclass
class PageLayout:
    """What pdfplumber saw on one page."""

    number: int
    width: float
    height: float
    lines: list[TextLine] = field(default_factory=list)
    ruled: bool = False
    text_problem: str | None = None  # why the page has no usable text, if it has none
    blank: bool = False


@dataclass
class _Item:
    """One thing in a page's reading order: a text line or a whole table."""

    top: float
    line: TextLine | None = None
    table: PdfTable | None = None


# ---------------------------------------------------------------- opening


def check_complete(data: bytes, name: str) -> None:
    """A PDF ends with %%EOF; without one anywhere the file was cut short. Bytes after the last
    %%EOF (a web server's trailer, padding) are junk readers ignore: pdfium decides (`check_opens`)."""
    if b"%%EOF" not in data[-1024:] and data.rfind(b"%%EOF") < 0:
        raise IngestError(
            "pdf_corrupt",
            f"{name}: the PDF is truncated (no %%EOF end marker; {len(data):,} bytes) — download it again",
        )


def check_opens(data: bytes, name: str) -> int:
    """Open with pdfium: a password -> pdf_encrypted, damage -> pdf_corrupt. Returns the page count."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code in (4, 5) or "password" in str(exc).lower() or "security" in str(exc).lower():
            raise IngestError(
                "pdf_encrypted", f"{name}: the PDF is encrypted and needs a password to open ({exc})"
            ) from exc
        raise IngestError("pdf_corrupt", f"{name}: the PDF is damaged and cannot be opened ({exc})") from exc
    try:
        n_pages = len(document)
    finally:
        document.close()
    if n_pages == 0:
        raise IngestError("pdf_corrupt", f"{name}: the PDF has no pages")
    return n_pages


@contextmanager
def spilled(data: bytes) -> Iterator[str]:
    """The bytes as a temporary file: camelot renders pages from a path."""
    handle, path = tempfile.mkstemp(prefix="fiscal-nlp-", suffix=".pdf")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        yield path
    finally:
        os.unlink(path)


# ---------------------------------------------------------------- pages


def text_problem(page) -> tuple[str | None, bool]:
    """Why a page has no usable text layer (None if it has one), and whether it is blank.

    No glyphs but an image or curves: a scan (扫描件) or text turned into outlines. A page with
    nothing but ruling lines or boxes (an empty form, a separator page) is blank, not a scan.
    Glyphs that extract as (cid:N), private-use or garbled characters: a font with
    no Unicode map.
    """
    glyphs = [c["text"] for c in page.chars if c["text"].strip()]
    if not glyphs:
        drawn = bool(page.images) or bool(page.curves)
        return ("no text layer (scanned image)" if drawn else None), not drawn
    unmapped, letters = unmapped_glyphs(glyphs)
    if letters >= 5 and unmapped > UNMAPPED_SHARE * letters:
        return "fonts without a Unicode map (text extracts as (cid:N) codes or garbled characters)", False
    return None, False


def unmapped_glyphs(glyphs: list[str]) -> tuple[int, int]:
    """(unreadable, all) among a page's ideographs and unmapped glyphs."""
    unmapped = letters = 0
    for glyph in glyphs:
        if _CID.match(glyph) or _PRIVATE_USE.search(glyph):
            unmapped += 1
            letters += 1
        elif unicodedata.category(glyph[0]) == "Lo":
            letters += 1
            try:
                unicodedata.normalize("NFKC", glyph).encode("gb2312")
            except UnicodeEncodeError:
                unmapped += 1
    return unmapped, letters


def read_page_layout(page, number: int) -> PageLayout:
    """Lines (page numbers dropped), ruling and text-layer status of one pdfplumber page."""
    layout = PageLayout(number, float(page.width), float(page.height))
    layout.text_problem, layout.blank = text_problem(page)
    if layout.text_problem or layout.blank:
        return layout
    layout.lines = [ln for ln in page_text_lines(page, number) if not is_page_number(ln, layout.height)]
    layout.ruled = has_ruled_grid(page)
    return layout


def read_layouts(path: str, name: str) -> list[PageLayout]:
    import pdfplumber

    try:
        with pdfplumber.open(path) as pdf:
            if not getattr(pdf.doc, "is_extractable", True):
                raise IngestError(
                    "pdf_encrypted",
                    f"{name}: the PDF is encrypted with permissions that forbid text extraction "
                    "(it opens without a password, but copying text is not allowed)",
                )
            layouts = []
            for number, page in enumerate(pdf.pages, 1):
                layouts.append(read_page_layout(page, number))
                page.close()  # drop pdfplumber's per-page object cache: long PDFs stay small
            return layouts
    except IngestError:
        raise
    except Exception as exc:  # pdfminer raises many kinds of parse errors
        raise IngestError("pdf_corrupt", f"{name}: the PDF cannot be parsed ({type(exc).__name__}: {exc})") from exc


def drop_running_heads(layouts: list[PageLayout]) -> None:
    """Drop 页眉/页脚 text repeated in the top or bottom margin of most pages.

    A running head ("汉阳区大数据中心 2021 年度部门决算" over every page) is no part of
    the text, and between two parts of a continued table it would split them.
    Numbers are ignored when comparing ("第 3 页" and "第 4 页" repeat).
    """
    pages_with_text = [p for p in layouts if p.lines]
    if len(pages_with_text) < 3:
        return

    def key(line: TextLine) -> str:
        return re.sub(r"\d+", "#", compact(line.text))

    def in_margin(line: TextLine, layout: PageLayout) -> bool:
        return line.bottom < layout.height * MARGIN_SHARE or line.top > layout.height * (1 - MARGIN_SHARE)

    seen: dict[str, int] = {}
    for layout in pages_with_text:
        for k in {key(ln) for ln in layout.lines if in_margin(ln, layout)}:
            seen[k] = seen.get(k, 0) + 1
    repeated = {k for k, n in seen.items() if n >= max(3, len(pages_with_text) // 2)}
    for layout in pages_with_text:
        layout.lines = [ln for ln in layout.lines if not (in_margin(ln, layout) and key(ln) in repeated)]


def page_list(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> "1-3, 7"."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def check_text_layer(layouts: list[PageLayout], name: str) -> list[int]:
    """Pages without usable text; raise pdf_no_text_layer when no page has any."""
    missing = [p.number for p in layouts if p.text_problem]
    readable = [p for p in layouts if not p.text_problem and not p.blank]
    if not readable:
        reasons = sorted({p.text_problem for p in layouts if p.text_problem}) or ["no text on any page"]
        pages = page_list(missing) if missing else page_list([p.number for p in layouts])
        raise IngestError(
            "pdf_no_text_layer",
            f"{name}: no usable text layer on page(s) {pages} ({'; '.join(reasons)}) — OCR is needed to read it",
        )
    return missing


# ---------------------------------------------------------------- tables


def find_tables(path: str, layouts: list[PageLayout]) -> dict[int, list[PdfTable]]:
    """All tables, by page: lattice where the page draws a grid, stream for the borderless rest."""
    heights = {p.number: p.height for p in layouts}
    by_page: dict[int, list[PdfTable]] = {p.number: [] for p in layouts}
    ruled_pages = [p.number for p in layouts if p.ruled and p.lines]
    lattice = read_lattice_tables(path, ruled_pages, heights)
    lossy = sorted({t.page for t in lattice if text_coverage(t, layouts) < MIN_TEXT_COVERAGE})
    if lossy:  # the vector grid missed rulings and dropped text: read those pages from the rendered grid too
        again = read_lattice_tables(path, lossy, heights, engines=LATTICE_ENGINES[1:])
        for page in lossy:
            before = [t for t in lattice if t.page == page]
            after = [t for t in again if t.page == page]
            if after and sum(text_coverage(t, layouts) for t in after) / len(after) > sum(
                    text_coverage(t, layouts) for t in before) / len(before):
                lattice = [t for t in lattice if t.page != page] + after
    for table in sorted(lattice, key=lambda t: (t.page, t.region.top)):
        by_page[table.page].append(table)
    blocks = {p.number: borderless_blocks(p, by_page[p.number]) for p in layouts if p.lines}
    columns = continuation_columns(layouts, blocks)
    for table in read_stream_tables(path, blocks, heights, columns):
        by_page[table.page].append(table)
    return by_page


def text_coverage(table: PdfTable, layouts: list[PageLayout]) -> float:
    """Share of the text printed inside a table's frame that its cells hold (1.0: nothing lost)."""
    layout = next(p for p in layouts if p.number == table.page)
    printed = sum(len(compact(ln.text)) for ln in layout.lines if table.region.padded(2).contains_line(ln))
    read = sum(len(compact(cell)) for row in table.rows for cell in row)
    return min(1.0, read / printed) if printed else 1.0


def borderless_blocks(layout: PageLayout, ruled: list[PdfTable]) -> list[BorderlessBlock]:
    """Borderless tables among the lines that no ruled table covers."""
    free = [ln for ln in layout.lines if not any(t.region.padded(2).contains_line(ln) for t in ruled)]
    if not free:
        return []
    content_width = max(ln.x1 for ln in layout.lines) - min(ln.x0 for ln in layout.lines)
    return find_borderless_blocks(free, content_width)


def continuation_columns(
    layouts: list[PageLayout], blocks: dict[int, list[BorderlessBlock]]
) -> dict[tuple[int, int], list[float]]:
    """One set of column edges for a borderless table that runs over several pages (续表).

    A block at the very top of a page that spans the same width as the last block of
    the page before is read as its continuation: the columns come from all the parts'
    lines together, so a part whose rows leave a column blank, or that does not repeat
    the header, keeps the same columns.
    """
    chains: list[list[tuple[int, int, BorderlessBlock]]] = []
    previous_last: tuple[int, int, BorderlessBlock] | None = None
    for layout in layouts:
        page_blocks = blocks.get(layout.number, [])
        if page_blocks:
            first = page_blocks[0]
            carries_on = (
                previous_last is not None
                and previous_last[0] == layout.number - 1
                and layout.lines and layout.lines[0] is first.lines[0]
                and _same_width(first, previous_last[2])
            )
            if carries_on and chains and chains[-1][-1][2] is previous_last[2]:
                chains[-1].append((layout.number, 0, first))
            else:
                chains.append([(layout.number, 0, first)])
            chains.extend([(layout.number, i, b)] for i, b in enumerate(page_blocks[1:], 1))
            previous_last = (layout.number, len(page_blocks) - 1, page_blocks[-1])
            if not _ends_page(layout, page_blocks[-1]):
                previous_last = None
        else:
            previous_last = None
    fixed: dict[tuple[int, int], list[float]] = {}
    for chain in chains:
        if len(chain) > 1:
            whole = BorderlessBlock([line for _, _, block in chain for line in block.lines])
            edges = column_edges(whole)
            for page, index, _ in chain:
                fixed[(page, index)] = edges
    return fixed


def _ends_page(layout: PageLayout, block: BorderlessBlock) -> bool:
    """Nothing but the block's own rows below its top on this page."""
    return bool(layout.lines) and layout.lines[-1] is block.lines[-1]


def _same_width(a: BorderlessBlock, b: BorderlessBlock, tolerance: float = 20.0) -> bool:
    ra, rb = a.region, b.region
    return abs(ra.x0 - rb.x0) <= tolerance and abs(ra.x1 - rb.x1) <= tolerance


# ---------------------------------------------------------------- reading order


def page_items(layout: PageLayout, tables: list[PdfTable]) -> list[_Item]:
    """Text lines outside every table, and each table once at its top, top to bottom."""
    items = [_Item(t.region.top, table=t) for t in tables]
    for line in layout.lines:
        if not any(t.region.padded(2).contains_line(line) for t in tables):
            items.append(_Item(line.top, line=line))
    items.sort(key=lambda item: (item.top, 0 if item.table else 1))
    return items


def assemble_lines(layouts: list[PageLayout], tables: dict[int, list[PdfTable]]) -> list[Line]:
    """Number every text line and table row 1..N across the PDF, joining continued tables."""
    lines: list[Line] = []
    chain_head: PdfTable | None = None  # first part of the table the last page ended in
    for layout in layouts:
        items = page_items(layout, tables.get(layout.number, []))
        for index, item in enumerate(items):
            if item.table is not None:
                rows = item.table.rows
                if index == 0 and chain_head is not None and continues(chain_head, item.table):
                    rows = drop_repeated_header(chain_head, item.table)
                else:
                    chain_head = item.table
                for row in rows:
                    lines.append(Line("\t".join(row), len(lines) + 1, layout.number))
            else:
                chain_head = None
                lines.append(Line(item.line.text, len(lines) + 1, layout.number))
        if layout.text_problem:
            chain_head = None
    return lines


# ---------------------------------------------------------------- entry point


def read_pdf(data: bytes, name: str) -> Document:
    """Read a disclosure PDF into a `Document` whose lines carry page and line numbers.

    Raises IngestError with kind pdf_corrupt, pdf_encrypted or pdf_no_text_layer,
    its message naming the file.
    """
    check_complete(data, name)
    n_pages = check_opens(data, name)
    with spilled(data) as path:
        layouts = read_layouts(path, name)
        missing = check_text_layer(layouts, name)
        drop_running_heads(layouts)
        try:
            tables = find_tables(path, layouts)
        except IngestError:
            raise
        except Exception as exc:
            # camelot (playa) enforces the permission flag even when pdfplumber opened the file
            if type(exc).__name__ == "PDFTextExtractionNotAllowed":
                raise IngestError(
                    "pdf_encrypted", f"{name}: the PDF's permissions forbid text extraction"
                ) from exc
            raise
    return Document(
        source_file=name,
        sha256=hashlib.sha256(data).hexdigest(),
        lines=assemble_lines(layouts, tables),
        format="pdf",
        n_pages=n_pages,
        pages_without_text=missing,
    )
