"""fiscal_nlp.ingest.spreadsheet: 公开表 workbooks (.xlsx via openpyxl, .xls via xlrd).

Fixtures: the tables of seeds 000 and 003 rendered at test time by `format_factory` as
workbooks, one sheet per table (title merged across, caption rows, merged header cells,
amounts stored as numbers under ``#,##0.00``, some with binary float noise), with a hidden
working sheet, a hidden row and a hidden column of made-up numbers that must not be read.
"""
from __future__ import annotations

import io

import openpyxl
import pytest
import xlrd

import format_factory
from conftest import golden_line_items, seed_path
from fiscal_nlp.ingest import IngestError, read_bytes, read_document
from fiscal_nlp.ingest.spreadsheet import format_number
from fiscal_nlp.tables import extract_line_items

SEEDS = ["000", "003"]


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sheets")
    out = {}
    for seed in SEEDS:
        text = seed_path(seed).read_text("utf-8")
        out[(seed, "xlsx")] = format_factory.render_xlsx(text, folder / f"{seed}.xlsx", combine_captions=seed == "003")
        out[(seed, "xls")] = format_factory.render_xls(text, folder / f"{seed}.xls")
    return out


@pytest.mark.parametrize("fmt", ["xlsx", "xls"])
@pytest.mark.parametrize("seed", SEEDS)
def test_workbook_gives_the_hand_read_line_items(workbooks, seed, fmt):
    """Every cell of the nine tables as read by hand (tests/golden), nothing from hidden parts."""
    doc = read_document(workbooks[(seed, fmt)])
    assert doc.format == fmt
    got = format_factory.item_set(extract_line_items(doc)[0])
    want = format_factory.item_set(golden_line_items(seed))
    assert (want - got, got - want) == (set(), set())


@pytest.mark.parametrize("fmt", ["xlsx", "xls"])
def test_hidden_sheets_rows_and_columns_are_not_read(workbooks, fmt):
    path = workbooks[("000", fmt)]
    if fmt == "xlsx":  # the file does hold them: a hidden sheet, row and column with 987654.32
        book = openpyxl.load_workbook(path)
        assert book["底稿"].sheet_state == "hidden"
        sheet = book.worksheets[1]
        assert any(sheet.row_dimensions[r].hidden for r in sheet.row_dimensions)
        assert any(d.hidden for d in sheet.column_dimensions.values())
        assert sum(c.value == 987654.32 for row in sheet.iter_rows() for c in row) == 2
    else:
        book = xlrd.open_workbook(str(path), formatting_info=True)
        assert book.sheet_by_name("底稿").visibility == 1
        sheet = book.sheet_by_index(1)
        assert any(info.hidden for info in sheet.rowinfo_map.values())
        assert any(info.hidden for info in sheet.colinfo_map.values())
    text = "\n".join(line.text for line in read_document(path).lines)
    assert "987,654.32" not in text and "987654.32" not in text
    assert "隐藏行" not in text and "2019999" not in text and "底稿" not in text


def test_numbers_are_the_cells_values_without_float_noise(workbooks):
    """The file stores 2784.5100000000007 where 2,784.51 is shown; the reader gives 2,784.51, and 3.00 not 3."""
    book = openpyxl.load_workbook(workbooks[("000", "xlsx")])
    summary = book.worksheets[0]
    stored = [c.value for row in summary.iter_rows() for c in row if isinstance(c.value, float)]
    assert any(repr(v) not in {repr(round(v, 2))} for v in stored), "the fixture should hold noisy floats"
    lines = [line.text for line in read_document(workbooks[("000", "xlsx")]).lines]
    assert "一、一般公共预算财政拨款收入\t1\t2,784.51\t一、一般公共服务支出\t31\t2,729.12" in lines
    assert "213\t农林水支出\t3.00\t3.00\t\t\t\t\t" in lines


@pytest.mark.parametrize("value,number_format,shown", [
    (2784.5100000000007, "#,##0.00", "2,784.51"),
    (2784.5099999999998, "0.00", "2784.51"),
    (3, "#,##0.00", "3.00"),
    (0.1 + 0.2, "General", "0.3"),
    (1e-05, "General", "0.00001"),
    (2392.16, "General", "2392.16"),
    (-1.5, "0.00", "-1.50"),
    (0.9949, "0.00%", "99.49%"),
    (1, "0%", "100%"),
    (12345678.9, '_ * #,##0.00_ ;_ * -#,##0.00_ ;_ * "-"??_ ;_ @_ ', "12,345,678.90"),
    (2784.514, "#,##0.00", "2,784.51"),  # what the sheet shows, rounded half up as Excel does
    (0.125, "0.00", "0.13"),
    (31, "General", "31"),
])
def test_number_formats(value, number_format, shown):
    assert format_number(value, number_format) == shown


def test_merged_header_cells_line_up_as_in_the_text(workbooks):
    path = workbooks[("000", "xlsx")]
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert "A4:C4" in {str(r) for r in sheet.merged_cells.ranges}  # 收入 over 项目/行次/金额
    lines = [line.text for line in read_document(path).lines]
    assert "收入\t\t\t支出\t\t" in lines
    assert lines[0] == "2021 年度收入支出决算总表"  # the merged title row is a text line, once


@pytest.mark.parametrize("fmt", ["xlsx", "xls"])
def test_caption_rows_above_the_ruled_grid_are_text(workbooks, fmt):
    """Title, 公开 01 表, 单位 and 部门 stand above the bordered table: one text line per value, as
    the text export prints them (in 003's .xlsx 公开 01 表 and 单位 share a row, left and right)."""
    doc = read_document(workbooks[("003", fmt)])
    assert [line.text for line in doc.lines[:5]] == ["2024 年度收入支出决算总表", "公开 01 表", "单位:万元",
                                                     "部门:原武汉市青山区大数据中心本级", "收入\t\t\t支出\t\t"]
    if fmt == "xlsx":
        assert doc.lines[2].location == "sheet 收入支出决算总表, cell F2"


def test_each_line_names_its_sheet_row_and_columns(workbooks):
    path = workbooks[("000", "xlsx")]
    doc = read_document(path)
    line = next(ln for ln in doc.lines if ln.text.startswith("2010399\t") and "2,392.38" in ln.text)
    assert line.location == "sheet 收入决算表, row 11, columns A-I"
    assert doc.location_of(line.number) == line.location
    sheet = openpyxl.load_workbook(path)["收入决算表"]
    assert str(sheet["A11"].value) == "2010399" and sheet["C11"].value == pytest.approx(2392.38)
    assert doc.lines[0].location == "sheet 收入支出决算总表, cell A1"


def test_disclosure_pasted_into_one_sheet_reads_as_the_text(tmp_path):
    """Paragraphs in column A between the tables: text lines (the narrative reads them), tables as rows."""
    from fiscal_nlp.pipeline import extract_document

    path = format_factory.render_single_sheet(seed_path("000").read_text("utf-8"), tmp_path / "all.xlsx")
    text, sheet = extract_document(seed_path("000")), extract_document(path)
    assert format_factory.item_set(sheet["line_items"]) == format_factory.item_set(golden_line_items("000"))
    for name in format_factory.NARRATIVE_TABLES:
        assert format_factory.content_rows(sheet, name) == format_factory.content_rows(text, name), name
    lines = [line.text for line in read_document(path).lines]
    assert "年初预算数的主要原因是按养老核定基数进行缴费。" in lines  # a wrapped sentence alone on its row
    # 合计 alone on its row (政府性基金表, no data) stays a row of the table, as wide as the sheet
    assert any(line.startswith("合计\t") and not line.replace("合计", "").strip() for line in lines)


def test_formulas_never_calculated_are_reported_not_guessed(workbooks, tmp_path):
    """A workbook written by a program: 收入决算表's 合计 row as SUM formulas with no cached value.
    Those amounts are missing (never invented), the warning names the cells, the rest is read."""
    from fiscal_nlp.pipeline import extract_document

    book = openpyxl.load_workbook(workbooks[("000", "xlsx")])
    sheet = book["收入决算表"]
    total = next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == "合计")
    sheet.cell(total, 3).value = f"=SUM(C{total + 1},C{total + 5},C{total + 10},C{total + 13})"
    sheet.cell(total, 4).value = f"=SUM(D{total + 1},D{total + 5},D{total + 10},D{total + 13})"
    book.save(tmp_path / "formulas.xlsx")
    tables = extract_document(tmp_path / "formulas.xlsx", {"department": "武汉市汉阳区大数据中心", "fiscal_year": "2021",
                                                            "doc_kind": "final", "district": "汉阳区"})
    items = tables["line_items"]
    income_total = items[(items["table_key"] == "income") & (items["item"] == "合计")]
    assert income_total[["column", "amount"]].values.tolist() == [["其他收入", 0.22]]
    assert len(items) == 165 - 2
    warning = tables["checks"][tables["checks"]["check"] == "formula_without_value"]
    assert len(warning) == 1 and warning.iloc[0]["severity"] == "warning"
    assert f"sheet 收入决算表, cell C{total}" in warning.iloc[0]["detail"] and "2 formula cell(s)" in warning.iloc[0]["detail"]


# ---------------------------------------------------------------- bad workbooks


def test_truncated_xlsx_is_corrupt(workbooks):
    data = workbooks[("000", "xlsx")].read_bytes()
    with pytest.raises(IngestError) as err:
        read_bytes(data[: len(data) // 2], "half.xlsx")
    assert err.value.kind == "xlsx_corrupt" and "half.xlsx" in err.value.message


def test_xlsx_with_a_broken_part_is_corrupt(workbooks):
    import zipfile

    source = zipfile.ZipFile(workbooks[("000", "xlsx")])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            out.writestr(item, b"<worksheet><sheetData><row" if item.filename == "xl/worksheets/sheet2.xml" else data)
    with pytest.raises(IngestError) as err:
        read_bytes(buffer.getvalue(), "broken.xlsx")
    assert err.value.kind == "xlsx_corrupt" and "broken.xlsx" in err.value.message


def test_password_protected_xlsx_is_encrypted(workbooks):
    data = format_factory.encrypt(workbooks[("000", "xlsx")])
    assert data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE2 file with an EncryptedPackage
    with pytest.raises(IngestError) as err:
        read_bytes(data, "locked.xlsx")
    assert err.value.kind == "xlsx_encrypted" and "locked.xlsx" in err.value.message and "password" in err.value.message


def test_truncated_xls_is_corrupt(workbooks):
    data = workbooks[("000", "xls")].read_bytes()
    with pytest.raises(IngestError) as err:
        read_bytes(data[: len(data) // 3], "half.xls")
    assert err.value.kind == "xls_corrupt" and "half.xls" in err.value.message


def test_password_protected_xls_is_encrypted(tmp_path):
    path = format_factory.render_encrypted_xls(tmp_path / "locked.xls")
    with pytest.raises(IngestError) as err:
        read_document(path)
    assert err.value.kind == "xls_encrypted" and "locked.xls" in err.value.message and "password" in err.value.message


def test_xls_saved_under_xlsx_is_read_by_content(workbooks):
    doc = read_bytes(workbooks[("003", "xls")].read_bytes(), "公开表.xlsx")
    assert doc.format == "xls"
    assert format_factory.item_set(extract_line_items(doc)[0]) == format_factory.item_set(golden_line_items("003"))


def test_text_named_xlsx_is_corrupt():
    with pytest.raises(IngestError) as err:
        read_bytes("2021 年度部门决算".encode(), "table.xlsx")
    assert err.value.kind == "xlsx_corrupt" and "table.xlsx" in err.value.message
