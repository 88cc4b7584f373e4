"""Test helper: lay disclosure text (a seed) out as a PDF, as districts publish it.

Not a test module. `render_pdf(text, path, ...)` writes a PDF with reportlab and the
built-in CID font STSong-Light (no font file needed, so it works on a fresh machine):

- ordinary lines become wrapped paragraphs (10.5 pt);
- each run of tab-separated lines becomes a table (9 pt): labels left-aligned,
  amounts right-aligned, long cells wrapped inside their column, header cells
  merged over the sub-headers below them (and down over empty cells);
- ``ruled=True`` draws every cell border (a grid, as Excel exports are),
  ``ruled=False`` draws none (columns aligned by white space only);
- a table wider than a portrait page goes on a landscape page; a table that does not
  fit continues on the next page, with its header block repeated or not
  (``repeat_header``); ``rows_per_page`` forces such breaks;
- page numbers ``- N -`` in the footer, optionally a running head (页眉) on every page;
  ``fullwidth_digits`` prints ２,７８４.５１.

`expected_tables(text)` gives the rows the text path sees for the same text, after
the same mark-up clean-up, for the tests to compare against.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FONT = "STSong-Light"
TEXT_SIZE, TEXT_LEADING = 10.5, 16.0
CELL_SIZE, CELL_LEADING, CELL_PAD = 9.0, 11.0, 3.0
MARGIN = 50.0
LABEL_CAP = 150.0  # widest a column may grow before its text wraps (points)

pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_AMOUNT = re.compile(r"^-?\d[\d,]*(\.\d+)?%?$")
_CODE = re.compile(r"^\d{3,}$")
_FULLWIDTH = str.maketrans("0123456789,.", "０１２３４５６７８９，．")


# ---------------------------------------------------------------- the text


def clean_markup(text: str) -> str:
    """Left-overs of an earlier conversion, as a publisher's PDF shows them.

    Checkboxes become √ / □ (STSong-Light has no ☑), ``<p>`` goes, ``$\\geq X$``
    becomes ≥X, list markers ``- `` and ``**`` are dropped.
    """
    text = re.sub(r'<input[^>]*checked[^>]*/?>', "√", text)
    text = re.sub(r"<input[^>]*/?>", "□", text)
    text = re.sub(r"</?p>", "", text)
    text = re.sub(r"\$\\geq\s*([^$]*?)\s*\$", r"≥\1", text)
    text = re.sub(r"\$\\leq\s*([^$]*?)\s*\$", r"≤\1", text)
    text = text.replace("**", "")
    return re.sub(r"^\s*- ", "", text)


@dataclass
class Table:
    rows: list[list[str]]

    @property
    def n_cols(self) -> int:
        return max(len(r) for r in self.rows)

    @property
    def n_header(self) -> int:
        """Header rows: up to the 栏次 row, else up to the first row with a code or an amount.

        More than four such rows is a form (项目自评表), not a header: no header then.
        """
        count = len(self.rows)
        for i, row in enumerate(self.rows):
            first = next((c for c in row if c.strip()), "")
            if first.replace(" ", "") in ("栏次", "行次") or _is_number_row(row):
                count = i + 1
                break
            if _CODE.match(first) or any(_AMOUNT.match(c.replace(" ", "")) for c in row):
                count = i
                break
        return count if count <= 4 else 0


def _is_number_row(row: list[str]) -> bool:
    cells = [c for c in row if c.strip()]
    return len(cells) >= 3 and all(c.strip().isdigit() for c in cells)


def parse_blocks(text: str) -> list[str | Table]:
    """Paragraph lines (str) and tables (runs of tab-separated lines), in order."""
    blocks: list[str | Table] = []
    for raw in text.splitlines():
        line = clean_markup(raw.rstrip("\r\n "))  # keep trailing tabs: "合计\t\t\t" is a table row
        if "\t" in line:
            cells = [c.strip() for c in line.split("\t")]
            if blocks and isinstance(blocks[-1], Table):
                blocks[-1].rows.append(cells)
            else:
                blocks.append(Table([cells]))
        elif line.strip():
            blocks.append(line.strip())
    for block in blocks:
        if isinstance(block, Table):
            width = block.n_cols
            block.rows = [r + [""] * (width - len(r)) for r in block.rows]
    return blocks


def expected_tables(text: str) -> list[list[list[str]]]:
    """The tables' rows as the text path reads them (same mark-up clean-up, NFKC), no spaces."""
    from fiscal_nlp.ingest.document import compact, normalise

    return [[[compact(normalise(c)) for c in row] for row in b.rows]
            for b in parse_blocks(text) if isinstance(b, Table)]


# ---------------------------------------------------------------- layout helpers


def _width(text: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, FONT, size)


def wrap(text: str, width: float, size: float) -> list[str]:
    """Break text into lines no wider than `width` (any character may end a line, as in CJK)."""
    lines, current = [], ""
    for char in text:
        if current and _width(current + char, size) > width + 0.01:
            lines.append(current.rstrip())
            current = char.lstrip()
        else:
            current += char
    return lines + [current] if current else lines or [""]


def column_widths(table: Table, available: float) -> list[float]:
    """Natural column widths (text columns capped), text columns shrunk until the table fits.

    Numbers never wrap (a column of amounts or codes keeps its natural width); labels do.
    """
    widths, shrinkable = [], []
    for j in range(table.n_cols):
        column = [r[j] for r in table.rows[table.n_header:] if r[j]]
        numeric = bool(column) and all(_AMOUNT.match(c.replace(" ", "")) for c in column)
        natural = max(_width(c, CELL_SIZE) for c in column or [""]) + 2 * CELL_PAD
        heading = max(_width(r[j], CELL_SIZE) for r in table.rows[:table.n_header] or [[""] * table.n_cols])
        width = max(natural, min(heading + 2 * CELL_PAD, 4 * CELL_SIZE + 2 * CELL_PAD), 26.0)
        # a column of long text (a 自评表's 改进措施) may take up to 45% of the page
        cap = LABEL_CAP if width < 3 * LABEL_CAP else max(LABEL_CAP, 0.45 * available)
        widths.append(width if numeric else min(width, cap))
        shrinkable.append(not numeric)
    while sum(widths) > available and any(shrinkable):
        widest = max((j for j in range(len(widths)) if shrinkable[j]), key=widths.__getitem__)
        if widths[widest] <= 3 * CELL_SIZE:
            break
        widths[widest] -= 2.0
    return widths


def merge_owners(table: Table) -> list[list[tuple[int, int]]]:
    """For each cell, the cell whose merged box it belongs to (合并单元格 in the header).

    A header cell followed by empty cells spans them when the next header row has
    sub-headers under them; an empty header cell under a label continues that label
    down. Body cells are never merged.
    """
    owners = [[(r, c) for c in range(table.n_cols)] for r in range(len(table.rows))]
    n_header = table.n_header
    labels = n_header - (1 if n_header and _is_index(table.rows[n_header - 1]) else 0)
    for r in range(labels - 1):  # the last label row has no sub-headers to span
        row, below = table.rows[r], table.rows[r + 1]
        c = 0
        while c < table.n_cols:
            end = c + 1
            while end < table.n_cols and not row[end]:
                end += 1
            if row[c] and end > c + 1 and any(below[c + 1:end]):
                for k in range(c + 1, end):
                    owners[r][k] = (r, c)
            c = end
    for r in range(1, labels):
        for c in range(table.n_cols):
            above = owners[r - 1][c]
            one_column = above[1] == c and owners[r - 1].count(above) == 1  # merged boxes stay rectangles
            if not table.rows[r][c] and owners[r][c] == (r, c) and one_column:
                owners[r][c] = above
    return owners


def _is_index(row: list[str]) -> bool:
    first = next((c for c in row if c.strip()), "")
    return first.replace(" ", "") in ("栏次", "行次") or _is_number_row(row)


# ---------------------------------------------------------------- the writer


class _Writer:
    def __init__(self, path: Path, ruled: bool, repeat_header: bool, rows_per_page: int | None,
                 fullwidth_digits: bool, page_numbers: bool, running_head: str | None = None):
        self.canvas = canvas.Canvas(str(path), pagesize=A4)
        self.canvas.setTitle("fiscal_nlp test PDF")
        self.ruled, self.repeat_header, self.rows_per_page = ruled, repeat_header, rows_per_page
        self.fullwidth, self.page_numbers, self.running_head = fullwidth_digits, page_numbers, running_head
        self.page_no, self.size, self.y = 1, A4, A4[1] - MARGIN
        self.fresh = True  # nothing drawn on this page yet

    # pages
    def new_page(self, size=A4) -> None:
        self._footer()
        self.canvas.showPage()
        self.canvas.setPageSize(size)
        self.page_no += 1
        self.size, self.y, self.fresh = size, size[1] - MARGIN, True

    def _footer(self) -> None:
        if self.running_head:
            self.canvas.setFont(FONT, 9)
            self.canvas.drawCentredString(self.size[0] / 2, self.size[1] - 30, self.running_head)
        if self.page_numbers:
            self.canvas.setFont(FONT, 10)
            self.canvas.drawCentredString(self.size[0] / 2, 28, f"- {self.page_no} -")

    def finish(self) -> None:
        self._footer()
        self.canvas.save()

    def text(self, s: str) -> str:
        return s.translate(_FULLWIDTH) if self.fullwidth else s

    # paragraphs
    def paragraph(self, text: str) -> None:
        if self.size != A4:
            self.new_page(A4)
        for line in wrap(self.text(text), self.size[0] - 2 * MARGIN, TEXT_SIZE):
            if self.y - TEXT_LEADING < MARGIN:
                self.new_page(self.size)
            self.canvas.setFont(FONT, TEXT_SIZE)
            self.canvas.drawString(MARGIN, self.y - TEXT_SIZE, line)
            self.y -= TEXT_LEADING
            self.fresh = False

    # tables
    def table(self, table: Table) -> None:
        portrait = A4[0] - 2 * MARGIN
        natural = sum(column_widths(table, 10_000))
        size = A4 if natural <= portrait else landscape(A4)
        widths = column_widths(table, size[0] - 2 * MARGIN)
        cells = [[wrap(self.text(c), w - 2 * CELL_PAD, CELL_SIZE) for c, w in zip(row, widths)] for row in table.rows]
        heights = [max(len(c) for c in row) * CELL_LEADING + 2 * CELL_PAD for row in cells]
        owners = merge_owners(table)
        n_header = table.n_header
        if size != self.size or self.y - sum(heights[: n_header + 2]) < MARGIN:
            self.new_page(size)
        self.y -= 4
        start, body_on_page, y = 0, 0, self.y
        for r in range(len(table.rows)):
            full = y - heights[r] < MARGIN + 20
            forced = self.rows_per_page is not None and r >= n_header and body_on_page >= self.rows_per_page
            if (full or forced) and r > start and r > n_header:
                self._draw_rows(table, cells, heights, widths, owners, start, r)
                self.new_page(size)
                self.y -= 4
                body_on_page = 0
                if self.repeat_header and n_header:
                    self._draw_rows(table, cells, heights, widths, owners, 0, n_header)
                start, y = r, self.y
            if r >= n_header:
                body_on_page += 1
            y -= heights[r]
        self._draw_rows(table, cells, heights, widths, owners, start, len(table.rows))
        self.y -= 8

    def _draw_rows(self, table, cells, heights, widths, owners, first: int, last: int) -> None:
        """Draw rows [first, last) at the cursor; merged boxes are clipped to these rows."""
        c = self.canvas
        xs = [MARGIN]
        for w in widths:
            xs.append(xs[-1] + w)
        ys = [self.y]
        for r in range(first, last):
            ys.append(ys[-1] - heights[r])
        rows = range(first, last)

        def box(owner):
            members = [(r, k) for r in rows for k in range(len(widths)) if owners[r][k] == owner]
            r0, r1 = min(m[0] for m in members), max(m[0] for m in members)
            k0, k1 = min(m[1] for m in members), max(m[1] for m in members)
            return xs[k0], ys[r0 - first], xs[k1 + 1], ys[r1 - first + 1]

        drawn = set()
        for r in rows:
            for k in range(len(widths)):
                owner = owners[r][k]
                if owner in drawn:
                    continue
                drawn.add(owner)
                x0, top, x1, bottom = box(owner)
                lines = cells[owner[0]][owner[1]] if owner[0] in rows else [""]
                self._cell_text(lines, table.rows[owner[0]][owner[1]], x0, top, x1, bottom, owner[0] < table.n_header)
        if self.ruled:
            c.setLineWidth(0.6)
            for r in rows:
                for k in range(len(widths)):
                    x0, x1, top, bottom = xs[k], xs[k + 1], ys[r - first], ys[r - first + 1]
                    if k == 0 or owners[r][k - 1] != owners[r][k]:
                        c.line(x0, top, x0, bottom)
                    if r == first or owners[r - 1][k] != owners[r][k]:
                        c.line(x0, top, x1, top)
                c.line(xs[-1], ys[r - first], xs[-1], ys[r - first + 1])
            c.line(xs[0], ys[-1], xs[-1], ys[-1])
        self.y = ys[-1]
        self.fresh = False

    def _cell_text(self, lines, raw, x0, top, x1, bottom, header: bool) -> None:
        """Centre a cell's lines vertically; headers centred, amounts right, labels left."""
        c = self.canvas
        c.setFont(FONT, CELL_SIZE)
        block = len(lines) * CELL_LEADING
        y = top - (top - bottom - block) / 2 - CELL_SIZE
        for line in lines:
            if header:
                c.drawCentredString((x0 + x1) / 2, y, line)
            elif _AMOUNT.match(raw.replace(" ", "")) and not _CODE.match(raw):
                c.drawRightString(x1 - CELL_PAD, y, line)
            else:
                c.drawString(x0 + CELL_PAD, y, line)
            y -= CELL_LEADING


def render_pdf(text: str, path: Path, *, ruled: bool = True, repeat_header: bool = True,
               rows_per_page: int | None = None, fullwidth_digits: bool = False,
               page_numbers: bool = True, running_head: str | None = None) -> Path:
    """Write `text` (seed layout: tab-separated tables, one line per paragraph) as a PDF at `path`.

    `running_head` prints a 页眉 line at the top of every page.
    """
    writer = _Writer(Path(path), ruled, repeat_header, rows_per_page, fullwidth_digits, page_numbers, running_head)
    for block in parse_blocks(text):
        if isinstance(block, Table):
            writer.table(block)
        else:
            writer.paragraph(block)
    writer.finish()
    return Path(path)


def excerpt(text: str, first_title: str, last_title: str | None = None) -> str:
    """The lines of `text` from the line containing `first_title` up to (not including) `last_title`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if first_title in line)
    end = next((i for i, line in enumerate(lines[start + 1:], start + 1) if last_title and last_title in line), len(lines))
    return "\n".join(lines[start:end])


# ---------------------------------------------------------------- unreadable PDFs


def render_image_only_pdf(path: Path) -> Path:
    """A 'scan': one page with a drawn image and shapes, no text at all."""
    from reportlab.lib.utils import ImageReader
    from PIL import Image

    c = canvas.Canvas(str(path), pagesize=A4)
    image = Image.new("RGB", (200, 120), "white")
    for x in range(0, 200, 7):
        for y in range(10, 110, 12):
            image.putpixel((x, y), (0, 0, 0))
    c.drawImage(ImageReader(image), 80, 500, width=400, height=240)
    c.rect(60, 460, 460, 300)
    c.save()
    return Path(path)


def render_encrypted_pdf(path: Path, text: str = "部门决算", user_password: str = "secret") -> Path:
    """A password-protected PDF (reportlab's standard encryption)."""
    c = canvas.Canvas(str(path), pagesize=A4, encrypt=user_password)
    c.setFont(FONT, 12)
    c.drawString(MARGIN, 700, text)
    c.save()
    return Path(path)


def render_mixed_scan_pdf(text: str, path: Path) -> Path:
    """Text pages with one image-only page (a scanned insert) in the middle."""
    from reportlab.lib.utils import ImageReader
    from PIL import Image

    c = canvas.Canvas(str(path), pagesize=A4)
    lines = [ln for ln in text.splitlines() if ln.strip() and "\t" not in ln][:40]
    for page, chunk in enumerate((lines[:20], None, lines[20:])):
        c.setFont(FONT, TEXT_SIZE)
        if chunk is None:
            c.drawImage(ImageReader(Image.new("RGB", (50, 50), "gray")), 100, 300, width=300, height=300)
        else:
            y = A4[1] - MARGIN
            for line in chunk:
                c.drawString(MARGIN, y, clean_markup(line)[:40])
                y -= TEXT_LEADING
        c.showPage()
    c.save()
    return Path(path)


def render_restricted_pdf(path: Path, text: str = "2021 年度部门决算") -> Path:
    """Opens without a password, but its permissions forbid copying text (owner password only)."""
    from reportlab.lib import pdfencrypt

    security = pdfencrypt.StandardEncryption("", ownerPassword="owner", canCopy=0, canPrint=1)
    c = canvas.Canvas(str(path), pagesize=A4, encrypt=security)
    c.setFont(FONT, 12)
    c.drawString(MARGIN, 700, text)
    c.save()
    return Path(path)


def render_unmapped_font_pdf(path: Path) -> Path:
    """Text in a CID font with no usable Unicode map: it extracts as (cid:N) and garbage.

    The STSong-Light CMap name is swapped for Identity-H (same length, so the file
    stays valid): the glyph codes then mean nothing to a text extractor, as with
    embedded subset fonts that lack a ToUnicode map.
    """
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont(FONT, 12)
    for i in range(10):
        c.drawString(MARGIN, 780 - 20 * i, "2021 年度部门决算 一般公共服务支出 2,728.12")
    c.save()
    data = Path(path).read_bytes()
    assert b"/UniGB-UCS2-H" in data
    Path(path).write_bytes(data.replace(b"/UniGB-UCS2-H", b"/Identity-H  "))
    return Path(path)
