"""Test helper: lay disclosure text (a seed) out as an HTML page, a workbook or a Word document.

Not a test module. Like `pdf_factory` for PDFs, it renders the seeds at test time, the way
districts publish them:

- `render_html(text)`: the disclosure inside a government CMS page — header, navigation,
  breadcrumb, article metadata with a font-size widget, share buttons, previous/next links,
  a sidebar of related disclosures, a footer, scripts and styles; paragraphs as ``<p>``, each
  run of tab-separated lines as a ``<table>`` whose header cells are merged (colspan/rowspan)
  as `pdf_factory.merge_owners` finds them, the charts (图 N：…) as ``<img>``;
- `render_xlsx(text)` / `render_xls(text)`: the tables only, one sheet per table, as 公开表
  workbooks are: the title merged across the table, caption rows (公开01表, 单位, 部门), merged
  header cells, amounts as numbers with a ``#,##0.00`` format (some stored with binary float
  noise, as computed cells are), notes below; plus what a reader must ignore: a hidden working
  sheet, a hidden row and a hidden column of made-up numbers;
- `render_docx(text)`: paragraphs and tables in order, merged header cells, a running head and
  a page-number footer.

The seed text is written as it is (its mark-up left-overs such as ``<p>`` are text, escaped in
HTML), so every format must give back what the text path reads.
"""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from pathlib import Path

from pdf_factory import Table, merge_owners

_AMOUNT = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)\.\d+$")
_INT = re.compile(r"^\d{1,6}$")
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")
_CAPTION = re.compile(r"^(部门|单位|金额单位|编制单位)[:：]|^公开\s*\d+\s*表$")
_HEADING = re.compile(r"^\s*(?:[一二三四五六七八九十]+、|第[一二三四五六七八九十]+部分|\(?[（(][一二三四五六七八九十]+[)）])")
_TITLE = re.compile(r"^\d{4}\s*年度?.*表\s*$")
_CHART = re.compile(r"^图\s*\d+[:：]")
# Made-up numbers a reader must never emit (hidden rows, columns and sheets).
HIDDEN_AMOUNT = "987,654.32"


@dataclass
class Block:
    """A paragraph line (`text`) or a table (`rows`), with the seed's text as it is."""

    text: str | None = None
    rows: list[list[str]] | None = None


def seed_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    for raw in text.splitlines():
        line = raw.rstrip("\r\n ")
        if "\t" in line:
            cells = [c.strip() for c in line.split("\t")]
            if blocks and blocks[-1].rows is not None:
                blocks[-1].rows.append(cells)
            else:
                blocks.append(Block(rows=[cells]))
        elif line.strip():
            blocks.append(Block(text=line.strip()))
    for b in blocks:
        if b.rows is not None:
            width = max(map(len, b.rows))
            b.rows = [r + [""] * (width - len(r)) for r in b.rows]
    return blocks


def spans(rows: list[list[str]]) -> dict[tuple[int, int], tuple[int, int]]:
    """Merged header boxes: top-left (row, col) -> (rowspan, colspan); covered cells are absent."""
    owners = merge_owners(Table(rows))
    boxes: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for r, row in enumerate(owners):
        for c, owner in enumerate(row):
            boxes.setdefault(owner, []).append((r, c))
    out = {}
    for owner, members in boxes.items():
        r1 = max(m[0] for m in members)
        c1 = max(m[1] for m in members)
        out[owner] = (r1 - owner[0] + 1, c1 - owner[1] + 1)
    return out


# ---------------------------------------------------------------- HTML

_PAGE_HEAD = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title} - 武汉市某区人民政府</title>
<style>body{{font-family:SimSun}} .nav-menu li{{display:inline}} td{{border:1px solid #000}}</style>
<script>var _hmt = _hmt || []; document.write("统计代码 2021 年度部门决算");</script></head>
<body>
<div class="top-header"><div class="logo">武汉市某区人民政府</div>
<ul class="nav-menu"><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li>
<li><a href="/zwgk/czzj/">财政资金</a></li><li><a href="/zwgk/czzj/bmyjs/">部门预决算</a></li></ul></div>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt;
<a href="/zwgk/czzj/bmyjs/">部门预决算</a></div>
<div class="main-wrap"><div class="article">
<h1 class="article-title">{title}</h1>
<div class="article-info">发布时间：2022-09-30 10:00 <span class="fontsize">【字体：<a href="#">大</a>
<a href="#">中</a> <a href="#">小</a>】</span> <a class="print" href="javascript:window.print()">打印本页</a></div>
<div id="zoom" class="TRS_Editor">
"""
_PAGE_TAIL = """</div>
<div class="bdsharebuttonbox">分享到：<a class="bds_weixin" href="#">微信</a><a class="bds_tsina" href="#">微博</a></div>
<div><a href="/zwgk/czzj/bmyjs/202209/t1.shtml">上一篇：区城管执法局 2021 年度部门决算</a>
<a href="/zwgk/czzj/bmyjs/202209/t3.shtml">下一篇：区教育局 2021 年度部门决算</a></div>
</div>
<aside class="sidebar"><h3>相关文章</h3><ul>
<li><a href="/a1.shtml">区财政局 2020 年度部门决算公开</a></li>
<li><a href="/a2.shtml">区民政局 2022 年部门预算公开</a></li></ul></aside></div>
<div class="footer">主办：武汉市某区人民政府办公室 网站标识码 4201050001 鄂ICP备00000000号</div>
<script src="/js/share.js"></script>
</body></html>
"""


def html_table(rows: list[list[str]]) -> str:
    boxes = spans(rows)
    out = ['<table border="1" cellspacing="0">']
    for r, row in enumerate(rows):
        cells = []
        for c, text in enumerate(row):
            if (r, c) not in boxes:
                continue  # covered by a merged box
            rowspan, colspan = boxes[(r, c)]
            attrs = (f' rowspan="{rowspan}"' if rowspan > 1 else "") + (f' colspan="{colspan}"' if colspan > 1 else "")
            cells.append(f"<td{attrs}>{html.escape(text)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def render_html(text: str, path: Path, title: str = "部门决算公开") -> Path:
    parts = [_PAGE_HEAD.format(title=html.escape(title))]
    n_chart = 0
    for block in seed_blocks(text):
        if block.rows is not None:
            parts.append(html_table(block.rows))
            continue
        parts.append(f"<p>{html.escape(block.text)}</p>")
        if _CHART.match(block.text):
            n_chart += 1
            parts.append(f'<p style="text-align:center"><img src="/images/chart{n_chart}.png" alt="{html.escape(block.text)}"></p>')
    parts.append(_PAGE_TAIL)
    Path(path).write_text("\n".join(parts), "utf-8")
    return Path(path)


# ---------------------------------------------------------------- workbooks


@dataclass
class SheetPlan:
    """One table of the seed, as a sheet: caption lines above, the rows, note lines below."""

    title: str
    captions: list[str]
    rows: list[list[str]]
    notes: list[str]


def sheet_plans(text: str) -> list[SheetPlan]:
    blocks = seed_blocks(text)
    plans = []
    for i, block in enumerate(blocks):
        if block.rows is None:
            continue
        captions: list[str] = []
        j = i - 1
        while j >= 0 and blocks[j].text is not None and len(captions) < 5:
            line = blocks[j].text
            if _CAPTION.match(line.replace(" ", "")):
                captions.insert(0, line)
            elif "表" in line and not _HEADING.match(line):
                captions.insert(0, line)
                break
            else:
                break
            j -= 1
        notes = []
        k = i + 1
        while k < len(blocks) and blocks[k].text is not None and not _HEADING.match(blocks[k].text) \
                and not _TITLE.match(blocks[k].text) and "表" not in blocks[k].text.replace("本表", ""):
            notes.append(blocks[k].text)
            k += 1
        title = next((c for c in captions if not _CAPTION.match(c.replace(" ", ""))), f"表{len(plans) + 1}")
        plans.append(SheetPlan(title, captions, block.rows, notes))
    return plans


def sheet_name(title: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "", re.sub(r"^\d{4}\s*年度?\s*", "", title)).strip()[:28] or "表"
    base, n = name, 2
    while name in used:
        name = f"{base[:26]}{n}"
        n += 1
    used.add(name)
    return name


def cell_value(text: str, codes_as_numbers: bool = False):
    """(value, number format) as a 公开表 workbook stores the cell."""
    bare = text.replace(" ", "")
    if _AMOUNT.match(bare):
        decimals = len(bare.split(".")[1])
        return float(bare.replace(",", "")), "#,##0." + "0" * decimals
    m = _PERCENT.match(bare)
    if m:
        decimals = len(m.group(1).split(".")[1]) if "." in m.group(1) else 0
        return float(m.group(1)) / 100, "0" + ("." + "0" * decimals if decimals else "") + "%"
    if _INT.match(bare) and (len(bare) < 3 or codes_as_numbers):
        return int(bare), "General"
    return text, None


def noisy(value: float, steps: int) -> float:
    """`value` moved `steps` representable doubles away (a computed cell's binary noise)."""
    for _ in range(abs(steps)):
        value = math.nextafter(value, math.inf if steps > 0 else -math.inf)
    return value


def render_xlsx(text: str, path: Path, *, combine_captions: bool = False) -> Path:
    """One sheet per table; `combine_captions` puts 单位 and 部门 on one row (left and right)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Side

    book = Workbook()
    book.remove(book.active)
    thin = Side(style="thin")
    grid = Border(left=thin, right=thin, top=thin, bottom=thin)
    used: set[str] = set()
    hidden = book.create_sheet("底稿")
    hidden.sheet_state = "hidden"
    hidden.append(["合计", "", HIDDEN_AMOUNT])
    for n, plan in enumerate(sheet_plans(text)):
        sheet = book.create_sheet(sheet_name(plan.title, used))
        width = len(plan.rows[0])
        r = 1
        captions = list(plan.captions)
        while captions:
            line = captions.pop(0)
            if combine_captions and captions and _CAPTION.match(line.replace(" ", "")) \
                    and _CAPTION.match(captions[0].replace(" ", "")) and width > 1:
                sheet.cell(r, 1, line)
                sheet.cell(r, width, captions.pop(0))
            else:
                sheet.cell(r, 1, line)
                if width > 1 and not _CAPTION.match(line.replace(" ", "")):
                    sheet.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
                    sheet.cell(r, 1).alignment = Alignment(horizontal="center")
            r += 1
        top = r
        boxes = spans(plan.rows)
        codes_as_numbers = n % 2 == 0
        hide_row = n == 1  # a hidden row before the body's last row, a hidden column right of the table
        at = [top + i + (1 if hide_row and i == len(plan.rows) - 1 else 0) for i in range(len(plan.rows))]
        for i, row in enumerate(plan.rows):
            for c, cell in enumerate(row):
                value, fmt = cell_value(cell, codes_as_numbers)
                if isinstance(value, float) and "%" not in (fmt or "") and (i + c) % 3 == 0:
                    value = noisy(value, 1 + (i + c) % 2)  # stored as 2784.5100000000007, shown 2,784.51
                target = sheet.cell(at[i], c + 1)
                if (i, c) in boxes and cell:
                    target.value = value
                    if fmt:
                        target.number_format = fmt
                target.border = grid
        for (br, bc), (rowspan, colspan) in boxes.items():
            if rowspan > 1 or colspan > 1:
                sheet.merge_cells(start_row=at[br], start_column=bc + 1,
                                  end_row=at[br + rowspan - 1], end_column=bc + colspan)
        end = at[-1] + 1
        if hide_row:
            hidden_row = at[-1] - 1
            sheet.cell(hidden_row, 1, "2019999")
            sheet.cell(hidden_row, 2, "不应读出的隐藏行")
            sheet.cell(hidden_row, 3, float(HIDDEN_AMOUNT.replace(",", ""))).number_format = "#,##0.00"
            sheet.row_dimensions[hidden_row].hidden = True
            col = width + 2
            sheet.cell(top + 3, col, float(HIDDEN_AMOUNT.replace(",", ""))).number_format = "#,##0.00"
            sheet.column_dimensions[sheet.cell(1, col).column_letter].hidden = True
        for note in plan.notes:
            sheet.cell(end, 1, note)
            if width > 1:
                sheet.merge_cells(start_row=end, start_column=1, end_row=end, end_column=width)
            end += 1
    book.move_sheet("底稿", offset=len(book.sheetnames))
    book.save(path)
    return Path(path)


def render_single_sheet(text: str, path: Path) -> Path:
    """The whole disclosure pasted into one sheet (a paragraph per row in column A, tables below
    their titles), as some offices publish it: no merges, amounts as numbers."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "部门决算"
    r = 1
    for block in seed_blocks(text):
        for row in ([[block.text]] if block.rows is None else block.rows):
            for c, cell in enumerate(row):
                if cell:
                    value, fmt = cell_value(cell)
                    sheet.cell(r, c + 1, value)
                    if fmt:
                        sheet.cell(r, c + 1).number_format = fmt
            r += 1
    book.save(path)
    return Path(path)


def render_xls(text: str, path: Path) -> Path:
    """The same workbook as `render_xlsx`, in the Excel 97-2003 format (xlwt)."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    used: set[str] = set()
    styles: dict[str, xlwt.XFStyle] = {}

    def style(fmt: str | None):
        key = fmt or "General"
        if key not in styles:
            styles[key] = xlwt.easyxf("borders: left thin, right thin, top thin, bottom thin", num_format_str=key)
        return styles[key]

    for n, plan in enumerate(sheet_plans(text)):
        sheet = book.add_sheet(sheet_name(plan.title, used))
        width = len(plan.rows[0])
        r = 0
        for line in plan.captions:
            if width > 1 and not _CAPTION.match(line.replace(" ", "")):
                sheet.write_merge(r, r, 0, width - 1, line)
            else:
                sheet.write(r, 0, line)
            r += 1
        top = r
        boxes = spans(plan.rows)
        for i, row in enumerate(plan.rows):
            for c, cell in enumerate(row):
                if (i, c) not in boxes:
                    continue
                value, fmt = cell_value(cell, n % 2 == 0)
                rowspan, colspan = boxes[(i, c)]
                if isinstance(value, float) and "%" not in (fmt or "") and (i + c) % 3 == 0:
                    value = noisy(value, 1)
                if rowspan > 1 or colspan > 1:
                    sheet.write_merge(top + i, top + i + rowspan - 1, c, c + colspan - 1, value if cell else "", style(fmt))
                else:
                    sheet.write(top + i, c, value if cell else "", style(fmt))
        end = top + len(plan.rows)
        if n == 1:  # a hidden row below the body's last row, a hidden column right of it
            sheet.write(end, 0, "2019999")
            sheet.write(end, 1, "不应读出的隐藏行")
            sheet.write(end, 2, float(HIDDEN_AMOUNT.replace(",", "")), style("#,##0.00"))
            sheet.row(end).hidden = True
            end += 1
            sheet.write(top + 3, width + 1, float(HIDDEN_AMOUNT.replace(",", "")), style("#,##0.00"))
            sheet.col(width + 1).hidden = True
        for note in plan.notes:
            if width > 1:
                sheet.write_merge(end, end, 0, width - 1, note)
            else:
                sheet.write(end, 0, note)
            end += 1
    hidden = book.add_sheet("底稿")
    hidden.write(0, 0, "合计")
    hidden.write(0, 2, HIDDEN_AMOUNT)
    hidden.visibility = 1
    book.save(str(path))
    return Path(path)


# ---------------------------------------------------------------- Word


def render_docx(text: str, path: Path, running_head: str = "部门决算公开") -> Path:
    import docx

    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = running_head
    section.footer.paragraphs[0].text = "- 1 -"
    for block in seed_blocks(text):
        if block.rows is None:
            document.add_paragraph(block.text)
            continue
        rows = block.rows
        table = document.add_table(rows=len(rows), cols=len(rows[0]))
        table.style = "Table Grid"
        boxes = spans(rows)
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                if (r, c) in boxes and cell:
                    table.cell(r, c).text = cell
        for (r, c), (rowspan, colspan) in boxes.items():
            if rowspan > 1 or colspan > 1:
                table.cell(r, c).merge(table.cell(r + rowspan - 1, c + colspan - 1))
    document.save(str(path))
    return Path(path)


# ---------------------------------------------------------------- bad files


def encrypt(path: Path, password: str = "secret") -> bytes:
    """An .xlsx/.docx under a password (Agile encryption, as Office writes it: an OLE2 file)."""
    import io

    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    with open(path, "rb") as fh:
        OOXMLFile(fh).encrypt(password, out)
    return out.getvalue()


def render_encrypted_xls(path: Path) -> Path:
    """An .xls marked as password-protected: a FILEPASS record (RC4) right after the workbook's BOF,
    where Excel writes it. (No library writes encrypted BIFF8; the payload stays plain, which
    does not matter: a reader must stop at the marker.)"""
    import struct

    import xlwt

    book = xlwt.Workbook()
    book.add_sheet("收入支出决算总表").write(0, 0, "2021 年度收入支出决算总表")
    plain = book.get_biff_data()
    assert struct.unpack("<HH", plain[:4]) == (0x0809, 16)  # BOF, BIFF8
    filepass = struct.pack("<HHH", 0x002F, 54, 1) + struct.pack("<HH", 1, 1) + bytes(48)  # RC4, version 1.1
    book.get_biff_data = lambda: plain[:20] + filepass + plain[20:]
    book.save(str(path))
    return Path(path)


# ---------------------------------------------------------------- comparing with the text path

ITEM_KEY = ["table_key", "side", "code", "item", "column", "amount"]
NARRATIVE_TABLES = ("variances", "changes", "facts", "projects", "reform_events")
# Where a row was found differs between formats (blank lines, pages); what it says must not.
_POSITION = {"source_line", "page", "related_line"}


def item_set(df) -> set[tuple]:
    """line_items as comparable tuples (table, side, code, item, column, amount)."""
    d = df[ITEM_KEY].copy()
    for c in ("side", "code", "item", "column"):
        d[c] = d[c].fillna("").astype(str)
    d["amount"] = d["amount"].astype(float).round(4)
    return set(map(tuple, d.astype(str).values.tolist()))


def content_rows(tables: dict, name: str) -> list[str]:
    """A contract table's rows without their positions, sorted (for comparing two formats)."""
    df = tables[name]
    df = df.drop(columns=[c for c in df.columns if c in _POSITION])
    return sorted(repr(row) for row in df.astype(str).values.tolist())
