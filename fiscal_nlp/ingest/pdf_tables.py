"""PDF table cells (camelot): lattice for ruled tables, stream for borderless ones.

Reads a PDF file path plus the regions `pdf_layout` found; writes `PdfTable`s whose
rows are lists of clean cell strings (NFKC, no line breaks), in top-down page
coordinates. Also the two clean-ups camelot leaves to its caller:

- wrapped lines of one borderless row (a header "上级补助收" / "入", a label
  "一、一般公共预算财政拨" / "款收入") come back from stream as separate rows and are
  merged here;
- a table that continues on the next page (跨页续表) is joined, dropping the repeated
  header block and 栏次 row.

camelot renders pages with its pdfium backend (pypdfium2): no Ghostscript needed.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

from .document import compact, normalise
from .pdf_layout import BorderlessBlock, Region, TextLine, column_edges, is_body_line

# camelot's lattice reader: ruling lines read from the PDF's vector drawing ("vector", no
# rendering, ~7x faster) first; pages where that finds no grid are rendered with pdfium
# (pypdfium2, a wheel — never Ghostscript) and read again ("combined": raster + vector).
LATTICE_OPTIONS = {"backend": "pdfium", "use_fallback": False, "split_text": True}
LATTICE_ENGINES = ("vector", "combined")
# Stream reads the columns `pdf_layout.column_edges` found; pdfminer must not glue two
# cells into one text line (char_margin: a gap of half a glyph ends a line), and a
# header spanning several columns stays whole in the column it overlaps most.
STREAM_OPTIONS = {"split_text": False, "layout_kwargs": {"char_margin": 0.5}}
# Two lines of one borderless row are set tighter than two rows: a gap under this many ems.
WRAP_GAP_EM = 0.5

_AMOUNT = re.compile(r"^[-−(（]?\d[\d,，]*(?:\.\d+)?[)）]?%?$")
_CODE = re.compile(r"^\d{3,}$")  # 功能/经济分类科目编码: 201, 20103, 2010350, 30101
_ENUMERATOR = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[）)]|\d+[、.．](?!\d)|其中[:：])")
_LONE_NUMERAL = re.compile(r"\n\s*([一二三四五六七八九十]{1,3})\s*(?=\n|$)")
_COLUMN_INDEX_LABEL = re.compile(r"^(?:栏次|行次)$")


@dataclass
class PdfTable:
    """One table on one page, as camelot read it (rows of clean cells)."""

    page: int
    region: Region  # top-down page coordinates
    rows: list[list[str]]
    flavor: str  # "lattice" | "stream"

    @property
    def n_cols(self) -> int:
        return max((len(r) for r in self.rows), default=0)


# ---------------------------------------------------------------- cells


def clean_cell(text: str) -> str:
    """One cell's text: NFKC, line breaks of a wrapped cell removed, outer space trimmed.

    "一、一般公共预算财政拨\\n款收入" -> "一、一般公共预算财政拨款收入";
    "功能分 类科目\\n编码" -> "功能分 类科目编码" (inner spaces stay, as in text exports).
    """
    text = text or ""
    if text.lstrip().startswith("、"):  # an enumerator's numeral set as its own run lands on a line of its own
        numeral = _LONE_NUMERAL.search(text)
        if numeral:
            text = numeral.group(1) + text[: numeral.start()] + text[numeral.end():]
    return normalise(re.sub(r"\s*\n\s*", "", text)).strip()


def is_amount(cell: str) -> bool:
    """A number as printed in a cell: "2,784.51", "0.22", "100%", "12"."""
    return bool(_AMOUNT.match(cell.replace(" ", "")))


def _frame_rows(frame) -> list[list[str]]:
    return [[clean_cell(str(v)) for v in row] for row in frame.values.tolist()]


def _region_from_camelot(bbox, page_height: float) -> Region:
    """camelot's (x1, y1, x2, y2) with the origin at the bottom-left -> top-down Region."""
    x1, y1, x2, y2 = (float(v) for v in bbox)
    return Region(min(x1, x2), page_height - max(y1, y2), max(x1, x2), page_height - min(y1, y2))


def _camelot_area(region: Region, page_height: float) -> str:
    """A top-down Region -> camelot's table_areas string "x1,y1,x2,y2" (left-top, right-bottom)."""
    return f"{region.x0:.2f},{page_height - region.top:.2f},{region.x1:.2f},{page_height - region.bottom:.2f}"


def _drop_empty(rows: list[list[str]]) -> list[list[str]]:
    """Drop rows with no text at all. Empty columns stay: on a continuation page a real
    column may be blank, and dropping it would shift every cell after it."""
    return [r for r in rows if any(r)]


# ---------------------------------------------------------------- camelot


def _camelot():
    """Import camelot quietly (it warns about optional backends it does not need)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import camelot
    return camelot


def read_lattice_tables(
    path: str, pages: list[int], page_heights: dict[int, float], engines: tuple[str, ...] = LATTICE_ENGINES
) -> list[PdfTable]:
    """Ruled tables (有框线) on the given pages, found by their ruling lines (camelot lattice).

    Each engine in turn reads the pages the previous one found no table on.
    """
    tables: list[PdfTable] = []
    todo = list(pages)
    for engine in engines:
        if not todo:
            break
        found = _lattice_pass(path, todo, page_heights, engine)
        tables.extend(found)
        done = {t.page for t in found}
        todo = [p for p in todo if p not in done]
    return sorted(tables, key=lambda t: (t.page, t.region.top))


def _read_pages(read, pages: list[int]) -> list:
    """camelot's tables for `pages`. If camelot fails on the batch, it reads page by page
    and a page it cannot parse is left out (its text is still read as lines). A PDF whose
    permissions forbid text extraction is an answer, not a failure: that error goes up."""
    try:
        return list(read(pages))
    except Exception as exc:
        if type(exc).__name__ == "PDFTextExtractionNotAllowed":
            raise
        if len(pages) == 1:
            return []
        return [table for page in pages for table in _read_pages(read, [page])]


def _lattice_pass(path: str, pages: list[int], page_heights: dict[int, float], engine: str) -> list[PdfTable]:
    camelot = _camelot()

    def read(subset: list[int]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "No tables found on page-N" is an answer, not a problem
            return camelot.read_pdf(
                path, pages=",".join(map(str, subset)), flavor="lattice", suppress_stdout=True, engine=engine,
                **LATTICE_OPTIONS,
            )

    found = _read_pages(read, pages)
    tables = []
    for table in found:
        rows = _drop_empty(_frame_rows(table.df))
        if not rows or max(len(r) for r in rows) < 2:
            continue  # a page frame or a boxed note, not a table (one row is: a continued table's last row)
        page = int(table.page)
        tables.append(PdfTable(page, _region_from_camelot(table._bbox, page_heights[page]), rows, "lattice"))
    return tables


def read_stream_tables(
    path: str,
    blocks: dict[int, list[BorderlessBlock]],
    page_heights: dict[int, float],
    columns: dict[tuple[int, int], list[float]] | None = None,
) -> list[PdfTable]:
    """Borderless tables (无框线) in the given blocks' areas (camelot stream, one area per table).

    `columns` may fix the column edges of a block (keyed by page and the block's index),
    e.g. a continuation page that must keep the first page's columns.
    """
    wanted = {page: found for page, found in blocks.items() if found}
    if not wanted:
        return []
    camelot = _camelot()
    per_page = {}
    edges_of: dict[int, list[float]] = {}
    for page, page_blocks in wanted.items():
        # pad by a point: camelot keeps only text lying wholly inside the area
        options = {"table_areas": [_camelot_area(b.region.padded(1.0), page_heights[page]) for b in page_blocks]}
        for i, block in enumerate(page_blocks):
            edges_of[id(block)] = (columns or {}).get((page, i)) or column_edges(block)
        options["columns"] = [",".join(f"{x:.2f}" for x in edges_of[id(b)]) for b in page_blocks]
        per_page[page] = options
    def read(subset: list[int]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return camelot.read_pdf(
                path, pages=",".join(map(str, subset)), flavor="stream", suppress_stdout=True,
                per_page={p: per_page[p] for p in subset}, **STREAM_OPTIONS,
            )

    found = _read_pages(read, sorted(wanted))
    tables = []
    for table in found:
        page = int(table.page)
        height = page_heights[page]
        region = _region_from_camelot(table._bbox, height)
        block = _best_block(region, wanted[page])
        lines = block.lines if block else []
        bounds = [(height - float(top), height - float(bottom)) for top, bottom in table.rows]
        columns_x = [(float(c[0]), float(c[1])) for c in table.cols]
        rows = align_spanning_headers(_frame_rows(table.df), bounds, columns_x, lines)
        rows = merge_wrapped_rows(rows, _row_extents(lines, bounds))
        tables.append(PdfTable(page, region, _drop_empty(rows), "stream"))
    return tables


def align_spanning_headers(
    rows: list[list[str]], bounds: list[tuple[float, float]], columns: list[tuple[float, float]], lines: list[TextLine]
) -> list[list[str]]:
    """Put a header that runs over several columns (合并单元格) in the first of them.

    Text exports and lattice keep a merged header such as 收入 (over 项目/行次/金额) in
    the first column of its span; camelot stream gives it to the column it overlaps
    most. A header that overlaps two columns or more moves to the first one, if that
    cell is empty. (A short merged header centred over its span that touches one
    column only cannot be told from that column's own label and stays put.)
    """
    rows = [list(r) for r in rows]
    for line in lines:
        if is_body_line(line):
            continue
        middle = (line.top + line.bottom) / 2
        r = next((i for i, (top, bottom) in enumerate(bounds) if top - 0.5 <= middle <= bottom + 0.5), None)
        if r is None:
            continue
        for fragment in line.fragments:
            spanned = [j for j, (x0, x1) in enumerate(columns) if fragment.x0 < x1 - 1 and fragment.x1 > x0 + 1]
            if len(spanned) < 2 or rows[r][spanned[0]]:
                continue
            text = compact(fragment.text)
            holder = next((j for j in spanned[1:] if compact(rows[r][j]) == text), None)
            if holder is not None:
                rows[r][spanned[0]], rows[r][holder] = rows[r][holder], ""
    return rows


def _best_block(region: Region, blocks: list[BorderlessBlock]) -> BorderlessBlock | None:
    """The block whose area camelot read (the one overlapping `region` most)."""
    def overlap(block: BorderlessBlock) -> float:
        r = block.region
        w = min(r.x1, region.x1) - max(r.x0, region.x0)
        h = min(r.bottom, region.bottom) - max(r.top, region.top)
        return max(w, 0) * max(h, 0)
    best = max(blocks, key=overlap, default=None)
    return best if best is not None and overlap(best) > 0 else None


# ---------------------------------------------------------------- wrapped rows (stream)


@dataclass
class _RowExtent:
    top: float
    bottom: float
    size: float


def _row_extents(lines: list[TextLine], row_bounds: list[tuple[float, float]]) -> list[_RowExtent | None]:
    """Where each camelot row's text actually sits, from the page's visual lines."""
    extents: list[_RowExtent | None] = []
    for top, bottom in row_bounds:
        inside = [ln for ln in lines if top - 0.5 <= (ln.top + ln.bottom) / 2 <= bottom + 0.5]
        if inside:
            extents.append(_RowExtent(min(ln.top for ln in inside), max(ln.bottom for ln in inside),
                                      max(ln.size for ln in inside)))
        else:
            extents.append(None)
    return extents


def _starts_new_row(above: list[str], below: list[str]) -> bool:
    """Body rows: `below` is a row of its own, not the wrapped tail of `above`.

    A number never wraps onto a second line under another number, and a line that
    opens, in `above`'s label column or left of it, with a 科目编码 or an enumerator
    (二、 （三） 4.) begins a new row. ("2. 加强…" further right is the second
    paragraph of a long text cell.)
    """
    for a, b in zip(above, below):
        if a and b and is_amount(a) and is_amount(b):
            return True
    first_below = next((j for j, c in enumerate(below) if c), None)
    first_above = next((j for j, c in enumerate(above) if c), len(above))
    if first_below is None or first_below > first_above:
        return False
    first = below[first_below]
    return bool(_CODE.match(first) or _ENUMERATOR.match(first))


def _merge_into(above: list[str], below: list[str]) -> list[str]:
    width = max(len(above), len(below))
    above = above + [""] * (width - len(above))
    below = below + [""] * (width - len(below))
    return [a + b if a and b else a or b for a, b in zip(above, below)]


def merge_wrapped_rows(rows: list[list[str]], extents: list[_RowExtent | None]) -> list[list[str]]:
    """Join the lines of one visual row that a borderless reader split into several rows.

    Two consecutive rows are one when their lines overlap vertically (a code or an
    amount centred beside a wrapped label), or when the white space between them is
    under WRAP_GAP_EM ems (wrapped text is set solid; rows have padding) and — in the
    body, after the first row with a number — the lower line does not start a row of
    its own (see `_starts_new_row`).
    """
    merged: list[list[str]] = []
    merged_bottom: float | None = None
    in_header = True
    for cells, extent in zip(rows, extents):
        if merged and extent is not None and merged_bottom is not None:
            gap = extent.top - merged_bottom
            tight = gap < WRAP_GAP_EM * extent.size
            # overlapping lines are one visual row (a code centred beside a two-line label)
            if gap < 0 or (tight and (in_header or not _starts_new_row(merged[-1], cells))):
                merged[-1] = _merge_into(merged[-1], cells)
                merged_bottom = max(merged_bottom, extent.bottom)
                continue
        if any(is_amount(c) for c in cells):
            in_header = False
        merged.append(list(cells))
        merged_bottom = extent.bottom if extent is not None else None
    return merged


# ---------------------------------------------------------------- continuation across pages


def header_rows(rows: list[list[str]]) -> list[list[str]]:
    """The header block: rows up to and including the 栏次 row, or before the first data row.

    A data row has an amount or a 科目编码 in it; the 栏次 row (column numbers
    1 2 3 …) closes the header when present.
    """
    header = []
    for row in rows:
        first = next((c for c in row if c), "")
        if _is_index_row(row):
            header.append(row)
            break
        if _CODE.match(first) or any(is_amount(c) for c in row):
            break
        header.append(row)
    return header


def _is_column_number_row(row: list[str]) -> bool:
    """1 2 3 … 12: a 栏次 row without its label."""
    numbers = [c for c in row if c]
    return len(numbers) >= 3 and all(c.isdigit() for c in numbers) and [int(c) for c in numbers] == list(
        range(int(numbers[0]), int(numbers[0]) + len(numbers)))


def _row_key(row: list[str]) -> tuple[str, ...]:
    return tuple(compact(c) for c in row if compact(c))


def drop_repeated_header(first: PdfTable, continuation: PdfTable) -> list[list[str]]:
    """A continuation's rows without the header block the first part already printed.

    Leading rows equal (whitespace aside) to one of the first part's header rows go,
    and so does a repeated 栏次 row.
    """
    known = {_row_key(r) for r in header_rows(first.rows)}
    rows = continuation.rows
    start = 0
    while start < len(rows) and (_row_key(rows[start]) in known or _is_index_row(rows[start])):
        start += 1
    return rows[start:]


def _is_index_row(row: list[str]) -> bool:
    """栏次 1 2 3 … (or the column numbers alone)."""
    first = next((c for c in row if c), "")
    return bool(_COLUMN_INDEX_LABEL.match(compact(first))) or _is_column_number_row(row)


def continues(previous: PdfTable, table: PdfTable) -> bool:
    """True when `table` (top of a page) carries on `previous` (bottom of the page before).

    Same column count, and either it repeats the header or it starts straight
    with data rows (no header of its own).
    """
    if table.n_cols != previous.n_cols:
        return False
    own_header = header_rows(table.rows)
    if not own_header:
        return True
    known = {_row_key(r) for r in header_rows(previous.rows)}
    return any(_row_key(r) in known for r in own_header)
