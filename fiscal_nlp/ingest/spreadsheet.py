"""Spreadsheet readers: .xlsx (openpyxl) and .xls (xlrd) -> `Document`, one visible sheet after another.

A 公开表 workbook holds one table per sheet: a title row (merged across the table), caption
rows (公开01表, 部门：…, 金额单位：万元), the header block, the body, notes. Each sheet is
written in the layout of the text exports:

- the table is the band of rows its ruled grid covers (cells with borders, as a printed
  公开表 has); in a sheet without borders, the rows from the first to the last holding two
  values or more. Rows above and below it (title, 公开01表, 部门：…, 金额单位：…, notes) become
  text lines, one per value (the title is then the line the table recogniser looks for);
  so do single values inside the band that are text, not a cell: merged across most of the
  width, or a sentence (a paragraph of a disclosure pasted into one sheet). Every other row
  becomes one TAB-joined line, one cell per visible column, so the columns line up (合计
  alone on its row stays a row of the table);
- a sheet that starts with its header (no title row) is introduced by its sheet name;
- merged cells: the text stands in the top-left cell and the rest of the area is blank, as in
  the exports (openpyxl and xlrd give exactly that);
- hidden sheets, hidden rows and hidden columns are not read (working copies, 底稿);
- a number is the cell's own value, never a float printed and re-parsed: rounded to 15
  significant digits (what Excel itself keeps: 2784.5099999999998 is 2784.51) and written with
  the decimals its number format shows (3 under ``#,##0.00`` is ``3.00``, as printed, so an
  amount is never taken for a 行次 or a code; 0.9949 under ``0.00%`` is ``99.49%``).

Formula cells are read from the values the file has cached (what Excel last computed); a
formula without one (a file written by a program and never recalculated) is listed in
`Document.formulas_without_value`, and the driver warns that its number is missing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .document import Document
from .errors import IngestError
from .lines import LineWriter, cell_text
from .office import encrypted_error, open_zip

_DECIMALS = re.compile(r"\.([0#?]+)")
_SENTENCE = re.compile(r"[。；;！？]")
SENTENCE_CHARS = 30  # a single value longer than this is a paragraph, not a table cell
_QUOTED = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')  # literal text, escapes, [colour]/[condition] in a format


def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def format_number(value: float | int | Decimal, number_format: str | None) -> str:
    """The number as the sheet shows it, from its exact value (see the module docstring)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        number = Decimal(format(value, ".15g"))
    else:
        number = Decimal(value)
    section = _QUOTED.sub("", (number_format or "General").split(";")[0])
    percent = "%" in section
    if percent:
        number *= 100
    m = _DECIMALS.search(section)
    if section.strip().lower() in ("general", "@", "") or not re.search(r"[0#?]", section):
        text = _plain(number)
    else:
        shown = len(m.group(1)) if m else 0
        least = m.group(1).count("0") if m else 0
        places = -number.as_tuple().exponent if number.as_tuple().exponent < 0 else 0
        places = min(max(places, least), shown)
        number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        grouped = "," in section.split(".")[0]
        text = f"{number:,.{places}f}" if grouped else f"{number:.{places}f}"
    return text + "%" if percent else text


def _plain(number: Decimal) -> str:
    """Decimal without exponent or trailing zeros: 2784.51, 3, 0.00001."""
    text = format(number.normalize(), "f") if number != 0 else "0"
    return text


def _cell_value_text(value, number_format: str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)):
        return format_number(value, number_format)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return cell_text(str(value))


class SheetGrid:
    """One sheet's visible rows: (sheet row number, {visible column number: text})."""

    def __init__(self, title: str, rows: list[tuple[int, dict[int, str]]], columns: list[int],
                 merged: dict[tuple[int, int], int] | None = None, ruled: set[int] | None = None):
        self.title = title
        self.rows = rows
        self.columns = columns  # visible columns that hold a value somewhere, in order
        self.merged = merged or {}  # (row, column) of a merged range's top-left cell -> its last column
        self.ruled = ruled or set()  # rows with a bordered cell that holds a value

    def _is_text(self, r: int, column: int, value: str) -> bool:
        """A single value in the table's band that is a paragraph or a caption, not a cell."""
        last = self.merged.get((r, column))
        wide = last is not None and sum(1 for c in self.columns if column <= c <= last) * 2 > len(self.columns)
        return wide or len(value) > SENTENCE_CHARS or bool(_SENTENCE.search(value))

    def write(self, out: LineWriter) -> None:
        filled = [(r, [cells.get(c, "") for c in self.columns]) for r, cells in self.rows]
        filled = [(r, cells) for r, cells in filled if any(cells)]
        band = [i for i, (r, _) in enumerate(filled) if r in self.ruled]
        if not band:  # no ruled grid: the rows from the first to the last holding two values or more
            band = [i for i, (_, cells) in enumerate(filled) if sum(1 for c in cells if c) >= 2]
        first, last = (band[0], band[-1]) if band else (len(filled), -1)
        span = f"{column_letter(self.columns[0])}-{column_letter(self.columns[-1])}" if self.columns else ""
        out.blank()
        if first == 0:  # no title above the table: the sheet's name says what it is
            out.text(cell_text(self.title), f"sheet {self.title}")
        for i, (r, cells) in enumerate(filled):
            values = [k for k, c in enumerate(cells) if c]
            j = values[0]
            if first <= i <= last and not (len(values) == 1 and self._is_text(r, self.columns[j], cells[j])):
                out.row(cells, f"sheet {self.title}, row {r}, columns {span}")
            else:
                for k in values:
                    out.text(cells[k], f"sheet {self.title}, cell {column_letter(self.columns[k])}{r}")


def _document(data: bytes, name: str, fmt: str, grids: list[SheetGrid]) -> Document:
    out = LineWriter()
    for grid in grids:
        grid.write(out)
    if not out.has_content():
        raise IngestError("empty", f"{name}: the workbook has no visible cell with a value")
    return Document(source_file=name, sha256=hashlib.sha256(data).hexdigest(), lines=out.lines, format=fmt)


def _grid(title: str, cells: dict[int, dict[int, str]], hidden_rows: set[int], hidden_cols: set[int],
          merged: dict[tuple[int, int], int], ruled: set[int]) -> SheetGrid:
    rows = [(r, {c: t for c, t in row.items() if t and c not in hidden_cols})
            for r, row in sorted(cells.items()) if r not in hidden_rows]
    columns = sorted({c for _, row in rows for c in row})
    return SheetGrid(title, rows, columns, merged, ruled)


# ---------------------------------------------------------------- .xlsx


def read_xlsx(data: bytes, name: str) -> Document:
    """Read an .xlsx/.xlsm workbook (openpyxl); a damaged file raises IngestError("xlsx_corrupt")."""
    from openpyxl import load_workbook

    open_zip(data, name, "xlsx")
    try:
        book = load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises KeyError, InvalidFileException, XML errors… for a broken package
        raise IngestError("xlsx_corrupt", f"{name}: the workbook is damaged and cannot be opened "
                                          f"({type(exc).__name__}: {exc})") from exc
    grids = []
    formulas = _formulas(data, book) if _has_formulas(data) else {}
    uncomputed = []
    for sheet in book.worksheets:  # chartsheets hold no cells
        if sheet.sheet_state != "visible":
            continue
        hidden_rows = {r for r, dim in sheet.row_dimensions.items() if dim.hidden}
        hidden_cols = {c for dim in sheet.column_dimensions.values() if dim.hidden and dim.min
                       for c in range(dim.min, (dim.max or dim.min) + 1)}
        cells: dict[int, dict[int, str]] = {}
        ruled: set[int] = set()
        # only the cells the file holds (iter_rows would create every cell of the used range: a
        # sheet formatted down to row 1,048,576 would take minutes)
        for (r, c), cell in sorted(sheet._cells.items()):
            if cell.value is None:
                formula = formulas.get((sheet.title, r, c))
                if formula and r not in hidden_rows and c not in hidden_cols:
                    uncomputed.append(f"sheet {sheet.title}, cell {column_letter(c)}{r} ({formula})")
                continue
            text = _cell_value_text(cell.value, cell.number_format)
            if text:
                cells.setdefault(r, {})[c] = text
                border = cell.border
                if cell.has_style and any(side is not None and side.style for side in
                                          (border.left, border.right, border.top, border.bottom)):
                    ruled.add(r)
        merged = {(m.min_row, m.min_col): m.max_col for m in sheet.merged_cells.ranges}
        grids.append(_grid(sheet.title, cells, hidden_rows, hidden_cols, merged, ruled))
    doc = _document(data, name, "xlsx", grids)
    doc.formulas_without_value = uncomputed
    return doc


def _has_formulas(data: bytes) -> bool:
    """Whether any worksheet part holds a formula (<f>): only then are formulas read a second time."""
    import zipfile

    package = zipfile.ZipFile(io.BytesIO(data))
    parts = (package.read(n) for n in package.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml"))
    return any(b"<f>" in part or b"<f " in part for part in parts)


def _formulas(data: bytes, book) -> dict[tuple[str, int, int], str]:
    """(sheet, row, column) -> formula text, for the visible sheets (the workbook opened without cached values)."""
    from openpyxl import load_workbook

    visible = {sheet.title for sheet in book.worksheets if sheet.sheet_state == "visible"}
    raw = load_workbook(io.BytesIO(data), data_only=False)
    return {(sheet.title, r, c): str(cell.value) for sheet in raw.worksheets if sheet.title in visible
            for (r, c), cell in sheet._cells.items()
            if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("="))}


# ---------------------------------------------------------------- .xls


def read_xls(data: bytes, name: str) -> Document:
    """Read a legacy .xls workbook (BIFF8, via xlrd with its formatting: number formats, hidden rows)."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=False)
    except xlrd.XLRDError as exc:
        if "encrypt" in str(exc).lower() or "password" in str(exc).lower():
            raise encrypted_error(name, "xls") from exc
        raise IngestError("xls_corrupt", f"{name}: the workbook is damaged and cannot be opened ({exc})") from exc
    except Exception as exc:  # struct errors, assertion errors in a damaged BIFF stream
        raise IngestError("xls_corrupt", f"{name}: the workbook is damaged and cannot be opened "
                                         f"({type(exc).__name__}: {exc})") from exc
    grids = []
    for sheet in book.sheets():
        if sheet.visibility != 0:
            continue
        hidden_rows = {r + 1 for r, info in sheet.rowinfo_map.items() if info.hidden}
        hidden_cols = {c + 1 for c, info in sheet.colinfo_map.items() if info.hidden}
        cells: dict[int, dict[int, str]] = {}
        ruled: set[int] = set()
        for r in range(sheet.nrows):
            for c, cell in enumerate(sheet.row(r)):
                text = _xls_cell_text(book, cell)
                if text:
                    cells.setdefault(r + 1, {})[c + 1] = text
                    if _xls_bordered(book, cell):
                        ruled.add(r + 1)
        merged = {(rlo + 1, clo + 1): chi for rlo, _, clo, chi in sheet.merged_cells}  # chi is exclusive, 0-based
        grids.append(_grid(sheet.name, cells, hidden_rows, hidden_cols, merged, ruled))
    return _document(data, name, "xls", grids)


def _xls_bordered(book, cell) -> bool:
    try:
        border = book.xf_list[cell.xf_index].border
    except (IndexError, TypeError, AttributeError):
        return False
    return any((border.left_line_style, border.right_line_style, border.top_line_style, border.bottom_line_style))


def _xls_cell_text(book, cell) -> str:
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return ""
    if cell.ctype == xlrd.XL_CELL_TEXT:
        return cell_text(cell.value)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if cell.value else "FALSE"
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return _cell_value_text(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode), None)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return format_number(cell.value, None)
    number_format = None
    try:
        xf = book.xf_list[cell.xf_index]
        number_format = book.format_map[xf.format_key].format_str
    except (IndexError, KeyError, TypeError, AttributeError):
        pass
    try:
        return format_number(cell.value, number_format)
    except (InvalidOperation, ValueError):
        return format_number(cell.value, None)
