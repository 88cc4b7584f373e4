"""PDF page layout (pdfplumber): visual text lines, ruling lines and borderless table regions.

Reads one `pdfplumber.Page`; writes plain dataclasses in top-down page coordinates
(points, origin at the top-left, as pdfplumber reports them). Nothing here knows
about camelot: `pdf_tables` turns the regions found here into cells.

The rules are about how disclosures are typeset, not about one file:
- a *fragment* is a run of glyphs with no column-sized gap (half an em or more with
  no typed space in it); a visual line with two or more fragments may be a table
  row, one with a single fragment is prose, a title or a wrapped cell;
- a borderless table (无框线表格) is a run of such rows whose fragments line up in
  columns; titles (…决算表 / …预算表), 部门：/金额单位：lines and prose end it;
- a ruled table (有框线表格) shows itself by its ruling lines (page.lines/rects/edges).
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from .document import normalise

# A gap of at least this many ems between two glyphs, not bridged by a typed space,
# separates two cells: set text has no such gaps (a word space is a typed space, or
# a positioned gap of ~0.3 em), while two cells can sit as close as two paddings
# (a right-aligned amount followed by a left-aligned label, ~0.6 em).
COLUMN_GAP_EM = 0.5
# A typed space stretched by justification is still a word space, up to this width.
STRETCHED_SPACE_EM = 3.0
# Lines whose tops differ by less than this many points are one visual line.
LINE_Y_TOLERANCE = 2.5
# Two fragments share a column edge when their edges are this close (points).
ANCHOR_TOLERANCE = 2.0
# Page-number footers/headers live in this top/bottom share of the page.
MARGIN_SHARE = 0.1

_SPACE = re.compile(r"\s")
# 页码: "- 3 -", "— 3 —", "3", "第 3 页", "第3页 共32页", "3/32", "Page 3".
_PAGE_NUMBER = re.compile(
    r"^(?:[-—–－]\s*\d{1,4}\s*[-—–－]|\d{1,4}|第\s*\d{1,4}\s*页(?:\s*[,，]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}|[Pp]age\s*\d{1,4}(?:\s*of\s*\d{1,4})?)$"
)
# 表头信息行: "部门：…", "单位：万元", "金额单位：万元", "编制单位：…".
_META_LINE = re.compile(r"^(?:部门|单位|金额单位|编制单位|预算单位|填报单位)\s*[:：]|金额单位\s*[:：]|单位\s*[:：]\s*(?:万元|元|千元)")
# 表标题: "2021 年度收入决算表", "收入支出预算总表", "…“三公”经费支出决算表", "（续表）".
TABLE_TITLE = re.compile(r"(?:决算|预算|明细|总|情况|自评|统计|汇总|附)表(?:[（(]续(?:表)?[)）])?$|^[（(]?续表[)）]?$")


@dataclass(frozen=True)
class Fragment:
    """A run of glyphs on one visual line with no column-sized gap inside."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float


@dataclass
class TextLine:
    """One visual line of a page, in reading order (top-down coordinates, points)."""

    page: int
    fragments: list[Fragment]
    size: float  # median glyph size: the line's em

    @property
    def text(self) -> str:
        return " ".join(f.text for f in self.fragments)

    @property
    def x0(self) -> float:
        return self.fragments[0].x0

    @property
    def x1(self) -> float:
        return self.fragments[-1].x1

    @property
    def top(self) -> float:
        return min(f.top for f in self.fragments)

    @property
    def bottom(self) -> float:
        return max(f.bottom for f in self.fragments)

    @property
    def width(self) -> float:
        return self.x1 - self.x0


@dataclass(frozen=True)
class Region:
    """A rectangle in top-down page coordinates."""

    x0: float
    top: float
    x1: float
    bottom: float

    def contains_line(self, line: TextLine, margin: float = 1.0) -> bool:
        """True when the line's vertical middle and most of its width fall inside."""
        middle = (line.top + line.bottom) / 2
        if not (self.top - margin <= middle <= self.bottom + margin):
            return False
        overlap = min(self.x1, line.x1) - max(self.x0, line.x0)
        return overlap >= 0.5 * max(line.width, 1.0)

    def padded(self, pad: float) -> Region:
        return Region(self.x0 - pad, self.top - pad, self.x1 + pad, self.bottom + pad)


@dataclass
class BorderlessBlock:
    """Lines that form one borderless table, with the region camelot should read."""

    lines: list[TextLine] = field(default_factory=list)

    @property
    def region(self) -> Region:
        return Region(
            min(line.x0 for line in self.lines),
            min(line.top for line in self.lines),
            max(line.x1 for line in self.lines),
            max(line.bottom for line in self.lines),
        )


# ---------------------------------------------------------------- text lines


def _glyph_size(char: dict) -> float:
    """A glyph's em in points (font size; falls back to the glyph box height)."""
    size = float(char.get("size") or 0)
    return size if size > 0 else max(float(char["bottom"]) - float(char["top"]), 1.0)


def split_fragments(chars: list[dict]) -> list[Fragment]:
    """Split one visual line's glyphs into fragments (cells / words runs).

    A gap of ≥ COLUMN_GAP_EM ems between two glyphs starts a new fragment unless a
    single typed space sits in it (justified prose stretches its spaces:
    "2021 年度支出合计 2785.73 万元" stays one fragment); two or more typed spaces
    (text laid out with spaces) split at one em. Text is NFKC-normalised
    (⼀ -> 一, ２ -> 2); a typed space or a word-sized gap becomes one space.
    """
    glyphs = sorted(chars, key=lambda c: float(c["x0"]))
    fragments: list[Fragment] = []
    run: list[dict] = []
    spaces = 0
    text = ""
    for char in glyphs:
        if _SPACE.fullmatch(char["text"] or " "):
            spaces += 1 if run else 0
            continue
        if run:
            prev = run[-1]
            em = max(_glyph_size(prev), _glyph_size(char))
            gap = float(char["x0"]) - float(prev["x1"])
            limit = (COLUMN_GAP_EM, STRETCHED_SPACE_EM)[spaces] * em if spaces < 2 else em
            if gap >= limit:
                fragments.append(_make_fragment(run, text))
                run, text = [], ""
            elif spaces or gap > 0.25 * em:
                text += " "
        run.append(char)
        text += char["text"]
        spaces = 0
    if run:
        fragments.append(_make_fragment(run, text))
    return fragments


def _make_fragment(run: list[dict], text: str) -> Fragment:
    return Fragment(
        text=normalise(text).strip(),
        x0=min(float(c["x0"]) for c in run),
        x1=max(float(c["x1"]) for c in run),
        top=min(float(c["top"]) for c in run),
        bottom=max(float(c["bottom"]) for c in run),
    )


def _baseline(char: dict) -> float:
    """A glyph's baseline, top-down (points): the origin of its text matrix when pdfplumber
    gives one, else its box top (the same for glyphs of one font)."""
    matrix = char.get("matrix")
    if matrix and len(matrix) == 6 and matrix[1] == 0 and matrix[2] == 0:
        return -float(matrix[5])
    return float(char["top"])


def page_text_lines(page, page_number: int) -> list[TextLine]:
    """Group a pdfplumber page's upright glyphs into visual lines, top to bottom."""
    chars = [c for c in page.chars if c.get("upright", True) and c["text"]]
    chars.sort(key=lambda c: (round(_baseline(c), 1), float(c["x0"])))
    groups: list[list[dict]] = []
    for char in chars:
        # A glyph joins the line whose baseline is within tolerance. Tops would not do: a
        # glyph box spans the font's ascent and descent, so digits set in another font
        # (Times New Roman amounts in FangSong prose) sit several points lower on the same
        # baseline and would fall out of their sentence onto a line of their own.
        if groups and abs(_baseline(char) - _baseline(groups[-1][0])) <= LINE_Y_TOLERANCE:
            groups[-1].append(char)
        else:
            groups.append([char])
    lines = []
    for group in groups:
        fragments = [f for f in split_fragments(group) if f.text]
        if fragments:
            size = statistics.median(_glyph_size(c) for c in group if c["text"].strip()) if any(
                c["text"].strip() for c in group) else 10.0
            lines.append(TextLine(page_number, fragments, size))
    lines.sort(key=lambda line: (line.top, line.x0))
    return lines


def is_page_number(line: TextLine, page_height: float) -> bool:
    """页码: a bare page number in the top or bottom margin ("- 3 -", "第 3 页")."""
    in_margin = line.top > page_height * (1 - MARGIN_SHARE) or line.bottom < page_height * MARGIN_SHARE
    return in_margin and bool(_PAGE_NUMBER.match(line.text.strip()))


def is_meta_line(line: TextLine) -> bool:
    """部门：… / 金额单位：万元 — the lines between a table's title and its header."""
    return any(_META_LINE.search(f.text.replace(" ", "")) for f in line.fragments)


def is_title_line(line: TextLine) -> bool:
    """A table title such as "2021 年度收入决算表" (one fragment ending in …表)."""
    return len(line.fragments) == 1 and bool(TABLE_TITLE.search(line.text.replace(" ", "")))


# ---------------------------------------------------------------- ruling lines


def ruling_segments(page, min_length: float = 8.0) -> tuple[list[dict], list[dict]]:
    """Horizontal and vertical ruling segments: drawn lines, thin rects and rect sides."""
    horizontal, vertical = [], []
    for edge in page.edges:
        length = float(edge["x1"]) - float(edge["x0"]) if edge["orientation"] == "h" else float(
            edge["bottom"]) - float(edge["top"])
        if length < min_length:
            continue
        (horizontal if edge["orientation"] == "h" else vertical).append(edge)
    return horizontal, vertical


def has_ruled_grid(page) -> bool:
    """True when the page draws a grid (≥ 2 horizontal and ≥ 2 vertical rules that cross).

    Only then is camelot's lattice reader worth running: it finds tables by their ruling
    lines. A page with three-line tables (三线表, no vertical rules) is read as borderless.
    """
    horizontal, vertical = ruling_segments(page)
    if len(horizontal) < 2 or len(vertical) < 2:
        return False
    crossings = 0
    for h in horizontal:
        y = float(h["top"])
        for v in vertical:
            x = float(v["x0"])
            if float(h["x0"]) - 2 <= x <= float(h["x1"]) + 2 and float(v["top"]) - 2 <= y <= float(v["bottom"]) + 2:
                crossings += 1
                if crossings >= 4:
                    return True
    return False


# ---------------------------------------------------------------- borderless tables


def _is_row_like(line: TextLine) -> bool:
    return len(line.fragments) >= 2 and not is_meta_line(line) and not is_title_line(line)


def _left_edges(block: BorderlessBlock) -> list[float]:
    return [f.x0 for row in block.lines for f in row.fragments]


def _on_left_edge(x: float, edges: list[float], skip_leftmost: bool) -> bool:
    leftmost = min(edges) if edges else x
    return any(
        abs(x - e) <= ANCHOR_TOLERANCE and not (skip_leftmost and abs(e - leftmost) <= ANCHOR_TOLERANCE)
        for e in edges
    )


def _is_cell_like(line: TextLine, block: BorderlessBlock, content_width: float) -> bool:
    """A single fragment in the table's font that can be part of a cell.

    Either short (a wrapped header such as "功能分类科目编" / "码") or starting on one of
    the block's inner column edges (a long text cell wrapped over several lines).
    """
    size = block.lines[-1].size
    if len(line.fragments) != 1 or is_meta_line(line) or is_title_line(line):
        return False
    if abs(line.size - size) > 0.2 * size:
        return False
    return line.width <= 0.35 * content_width or _on_left_edge(line.x0, _left_edges(block), skip_leftmost=True)


def _shared_inner_anchors(rows: list[TextLine]) -> int:
    """How many inner column anchors (left edge, right edge or centre) recur on two or more rows.

    Table rows share column edges: labels are left-aligned, amounts right-aligned,
    headers centred. Justified prose lines do not (their gaps fall at random). The
    block's outer left and right edges are left out: prose shares those too.
    """
    left = min(r.x0 for r in rows)
    right = max(r.x1 for r in rows)
    shared = 0
    for kind in range(3):  # 0 left edges, 1 right edges, 2 centres
        anchors: list[tuple[float, int]] = []
        for index, row in enumerate(rows):
            for frag in row.fragments:
                x = (frag.x0, frag.x1, (frag.x0 + frag.x1) / 2)[kind]
                if abs(x - left) > ANCHOR_TOLERANCE and abs(x - right) > ANCHOR_TOLERANCE:
                    anchors.append((x, index))
        anchors.sort()
        i = 0
        while i < len(anchors):
            j = i
            while j + 1 < len(anchors) and anchors[j + 1][0] - anchors[i][0] <= ANCHOR_TOLERANCE:
                j += 1
            if len({row for _, row in anchors[i:j + 1]}) >= 2:
                shared += 1
            i = j + 1
    return shared


def _is_table_block(block: BorderlessBlock) -> bool:
    rows = [line for line in block.lines if len(line.fragments) >= 2]
    if len(rows) < 2 or _is_prose(block):
        return False
    return _shared_inner_anchors(rows) >= (2 if len(rows) < 4 else 1)


_SENTENCE_PUNCTUATION = re.compile(r"[。;，；]|,(?!\d)")  # (text is NFKC: “，” reads “,”)


def _is_prose(block: BorderlessBlock) -> bool:
    """Justified paragraphs whose gaps happen to line up: no line holds an amount or a code
    on its own, and most lines carry sentence punctuation (。，；). A table has figures or
    codes in cells of their own; a narrative paragraph is never read as its rows."""
    if any(is_body_line(line) for line in block.lines):
        return False
    punctuated = sum(1 for line in block.lines if _SENTENCE_PUNCTUATION.search(line.text))
    return punctuated * 2 >= len(block.lines)


def _row_gap(block: BorderlessBlock) -> float:
    """The block's usual white space between consecutive lines (points)."""
    gaps = [b.top - a.bottom for a, b in zip(block.lines, block.lines[1:])]
    return statistics.median(gaps) if gaps else block.lines[-1].size


def _trailing_rows(pending: list[TextLine], block: BorderlessBlock, content_width: float) -> list[TextLine]:
    """One-cell last rows: 合计 with no amounts, or the wrapped lines of a long text cell.

    Kept when they start on a column's left edge, or are short and follow at the
    block's usual line spacing (a centred header leaves 合计 on no edge).
    """
    edges = _left_edges(block)
    kept: list[TextLine] = []
    above = block.lines[-1]
    for line in pending:
        on_edge = _on_left_edge(line.x0, edges, skip_leftmost=False)
        close_short = line.width <= 0.15 * content_width and line.top - above.bottom <= 1.5 * _row_gap(block) + 1
        if not (on_edge or close_short):
            break
        kept.append(line)
        above = line
    return kept


def _leading_rows(before: list[TextLine], block: BorderlessBlock, content_width: float) -> list[TextLine]:
    """Wrapped cell lines just above the first row (a long 项目名称 wrapped upwards), tight above it."""
    kept: list[TextLine] = []
    below = block.lines[0]
    for line in reversed(before):
        if below.top - line.bottom > 1.0 * below.size or not _is_cell_like(line, block, content_width):
            break
        kept.insert(0, line)
        below = line
    return kept


def find_borderless_blocks(lines: list[TextLine], content_width: float) -> list[BorderlessBlock]:
    """Find borderless tables among a page's lines (those not already in a ruled table).

    A block opens at a row-like line (≥ 2 fragments), keeps wrapped single-fragment
    lines that sit between its rows, and closes at prose, a title, a 部门/单位 line or
    a gap of more than three line heights. It counts as a table when its rows share
    column edges.
    """
    blocks: list[BorderlessBlock] = []
    current: BorderlessBlock | None = None
    pending: list[TextLine] = []  # single-fragment lines after the last row: cell parts or prose
    before: list[TextLine] = []  # single-fragment lines before a block opens

    def close() -> None:
        nonlocal current, pending
        if current is not None:
            current.lines.extend(_trailing_rows(pending, current, content_width))
            if _is_table_block(current):
                current.lines[:0] = _leading_rows(before, current, content_width)
                blocks.append(current)
        current, pending = None, []

    for line in lines:
        if current is not None:
            last = pending[-1] if pending else current.lines[-1]
            if line.top - last.bottom > 3 * max(line.size, last.size):
                close()
                before = []
        if _is_row_like(line):
            if current is None:
                current = BorderlessBlock([line])
            else:
                current.lines.extend(pending + [line])
                pending = []
        elif current is not None and _is_cell_like(line, current, content_width):
            pending.append(line)
        else:
            if current is not None:
                close()
                before = []
            before.append(line)
    close()
    return blocks


# ---------------------------------------------------------------- columns of a borderless table

_NUMERIC = re.compile(r"^[-−(（]?\d[\d,，]*(?:\.\d+)?[)）]?%?$")


def _is_index_line(line: TextLine) -> bool:
    """栏次 1 2 3 … : the header's column-number row (numbers, but not data)."""
    texts = [f.text.replace(" ", "") for f in line.fragments]
    if texts[0] in ("栏次", "行次"):
        return True
    return len(texts) >= 3 and all(t.isdigit() for t in texts) and [int(t) for t in texts] == list(
        range(int(texts[0]), int(texts[0]) + len(texts)))


def is_body_line(line: TextLine) -> bool:
    """A data row: it has an amount or a 科目编码 in it (the 栏次 row does not count)."""
    return not _is_index_line(line) and any(_NUMERIC.match(f.text.replace(" ", "")) for f in line.fragments)


def _merge_intervals(intervals: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for x0, x1 in sorted(intervals):
        if merged and x0 <= merged[-1][1] + tolerance:
            merged[-1] = (merged[-1][0], max(merged[-1][1], x1))
        else:
            merged.append((x0, x1))
    return merged


def _overlapping(fragment: Fragment, columns: list[tuple[float, float]], slack: float) -> list[int]:
    return [i for i, (x0, x1) in enumerate(columns) if fragment.x0 < x1 + slack and fragment.x1 > x0 - slack]


def _widen(columns: list[tuple[float, float]], fragments: list[Fragment], slack: float) -> list[tuple[float, float]]:
    """Let each header fragment that overlaps exactly one column widen it (widest first:
    a header naming a column is wider than the 栏次 number under it)."""
    columns = list(columns)
    for fragment in sorted(fragments, key=lambda f: f.x0 - f.x1):
        hits = _overlapping(fragment, columns, slack)
        if len(hits) == 1:
            x0, x1 = columns[hits[0]]
            columns[hits[0]] = (min(x0, fragment.x0), max(x1, fragment.x1))
    return _merge_intervals(columns, tolerance=0.0)


def _supported_spares(fragments: list[Fragment], block: BorderlessBlock, slack: float) -> list[tuple[float, float]]:
    """Header text outside every data column that names a column of its own.

    A column without data still has its label: often wrapped or with its 栏次 number
    under it (text stacked on two lines or more), or standing in a row of labels
    (a line with three fragments or more). A group label such as 收入 in a
    "收入 | 支出" row, centred over a white-space river, is neither and is no column.
    """
    line_of = {id(f): i for i, line in enumerate(block.lines) for f in line.fragments}
    clusters: list[tuple[float, float, set[int]]] = []
    for f in sorted(fragments, key=lambda f: f.x0):
        if clusters and f.x0 <= clusters[-1][1] + slack:
            x0, x1, lines = clusters[-1]
            clusters[-1] = (x0, max(x1, f.x1), lines | {line_of[id(f)]})
        else:
            clusters.append((f.x0, f.x1, {line_of[id(f)]}))
    return [
        (x0, x1) for x0, x1, lines in clusters
        if len(lines) >= 2 or any(len(block.lines[i].fragments) >= 3 for i in lines)
    ]


def column_edges(block: BorderlessBlock) -> list[float]:
    """Inner column boundaries (x, points) of a borderless table, from its white-space rivers.

    Data rows decide first: every x a data row's fragment covers belongs to a column,
    the gaps between are boundaries. Header text then widens the one column it
    overlaps (a centred 其他收入 over right-aligned amounts); header text that overlaps
    no column is a column without data (政府性基金预算财政拨款 in a department that has
    none) unless it is a lone group label (see `_supported_spares`); header text over
    several columns (本年支出 over 小计/基本支出/项目支出) is a spanning header and
    changes nothing. A table of header rows only is split by all its fragments.
    """
    em = statistics.median(line.size for line in block.lines)
    slack = 0.3 * em
    body = [f for line in block.lines if is_body_line(line) for f in line.fragments]
    header = [f for line in block.lines if not is_body_line(line) and len(line.fragments) > 1 for f in line.fragments]
    # one-cell lines (a wrapped header part, a 合计 row without amounts) widen a column, never add one
    loose = [f for line in block.lines if not is_body_line(line) and len(line.fragments) == 1 for f in line.fragments]
    if not body:
        body, header = header, []
    columns = _merge_intervals([(f.x0, f.x1) for f in body], tolerance=slack)
    columns = _widen(columns, header + loose, slack)
    spare = _supported_spares([f for f in header + loose if not _overlapping(f, columns, slack)], block, slack)
    if spare:
        columns = _merge_intervals(columns + spare, tolerance=0.0)
        columns = _widen(columns, header + loose, slack)
    return [(a[1] + b[0]) / 2 for a, b in zip(columns, columns[1:])]
