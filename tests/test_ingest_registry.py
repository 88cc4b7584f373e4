"""fiscal_nlp.ingest: the reader registry — every format through one `read_bytes`, bad files as `errors` rows.

Fixtures: seeds 000 and 003 (text, and rendered at test time by `format_factory`), and broken
or protected renderings of them.
"""
from __future__ import annotations

import csv
import shutil

import pytest

import format_factory
from conftest import load_doc, seed_path
from fiscal_nlp import extract
from fiscal_nlp.ingest import READERS, SUPPORTED_SUFFIXES, Line, read_bytes, reader_for
from fiscal_nlp.pipeline import extract_document


def test_registry_lists_every_format():
    assert set(READERS) == {"text", "pdf", "html", "xlsx", "xls", "docx"}
    assert {".txt", ".md", ".pdf", ".html", ".htm", ".xlsx", ".xls", ".docx"} <= SUPPORTED_SUFFIXES


def test_text_lines_are_unchanged():
    """The text path keeps its lines (number, no page, no location)."""
    doc = load_doc("000")
    assert doc.format == "text" and all(isinstance(line, Line) and len(line) == 4 for line in doc.lines[:50])
    assert doc.lines[82] == Line(doc.lines[82].text, 83, None, None)
    assert doc.location_of(83) is None


def test_content_decides_before_the_name(tmp_path):
    text = seed_path("003").read_text("utf-8")
    html = format_factory.render_html(text, tmp_path / "p.html").read_bytes()
    xlsx = format_factory.render_xlsx(text, tmp_path / "t.xlsx").read_bytes()
    docx = format_factory.render_docx(text, tmp_path / "d.docx").read_bytes()
    assert reader_for(html, "download.php").format == "html"
    assert reader_for(xlsx, "download.bin").format == "xlsx"
    assert reader_for(docx, "附件2.zip").format == "docx"
    assert reader_for(seed_path("003").read_bytes(), "003.txt").format == "text"


@pytest.fixture
def messy(tmp_path):
    """Good documents in four formats beside broken ones."""
    raw = tmp_path / "raw"
    raw.mkdir()
    text0, text3 = (seed_path(s).read_text("utf-8") for s in ("000", "003"))
    shutil.copy(seed_path("000"), raw / seed_path("000").name)
    format_factory.render_docx(text3, raw / "003.docx")
    work = tmp_path / "work"
    work.mkdir()
    xlsx = format_factory.render_xlsx(text0, work / "t.xlsx").read_bytes()
    docx = (raw / "003.docx").read_bytes()
    xls = format_factory.render_xls(text0, work / "t.xls").read_bytes()
    (raw / "half.xlsx").write_bytes(xlsx[: len(xlsx) // 2])
    (raw / "locked.xlsx").write_bytes(format_factory.encrypt(work / "t.xlsx"))
    (raw / "half.xls").write_bytes(xls[: len(xls) // 3])
    (raw / "half.docx").write_bytes(docx[: len(docx) // 2])
    (raw / "locked.docx").write_bytes(format_factory.encrypt(raw / "003.docx"))
    (raw / "list.html").write_text("<html><body><div class='nav'><a href='/'>首页</a></div><ul>"
                                   "<li><a href='/u/决算.pdf'>2021年部门决算.pdf</a></li></ul></body></html>", "utf-8")
    (raw / "scan.html").write_text("<!DOCTYPE html><html><body><img src='t1.jpg'><img src='t2.jpg'></body></html>", "utf-8")
    return raw


def test_bad_files_become_errors_and_cost_nothing_else(messy):
    tables = extract(messy, progress=False)
    errors = dict(zip(tables["errors"]["source_file"], tables["errors"]["kind"]))
    assert errors == {"half.xlsx": "xlsx_corrupt", "locked.xlsx": "xlsx_encrypted", "half.xls": "xls_corrupt",
                      "half.docx": "docx_corrupt", "locked.docx": "docx_encrypted", "list.html": "html_no_disclosure",
                      "scan.html": "html_no_text"}
    assert all(name in message for name, message in zip(tables["errors"]["source_file"], tables["errors"]["message"]))
    # the good documents are complete: 165 + 202 cells read by hand from 000 and 003
    assert tables["line_items"].groupby("doc_id").size().to_dict() == {"hanyang-dsjzx-2021-final": 165,
                                                                        "qingshan-dsjzx-2024-final": 202}
    alone = extract_document(seed_path("000"))
    mine = tables["line_items"][tables["line_items"]["doc_id"] == "hanyang-dsjzx-2021-final"]
    assert format_factory.item_set(mine) == format_factory.item_set(alone["line_items"])
    assert dict(zip(tables["documents"]["source_file"], tables["documents"]["format"])) == {
        seed_path("000").name: "text", "003.docx": "docx"}


def test_tables_only_workbook_is_a_disclosure_with_its_catalog_row(tmp_path):
    """A 公开表 workbook has no 部门决算 title of its own: catalog.csv says whose it is, and its cells are read."""
    raw = tmp_path / "raw"
    raw.mkdir()
    format_factory.render_xlsx(seed_path("000").read_text("utf-8"), raw / "汉阳区大数据中心2021年决算公开表.xlsx")
    with open(raw / "catalog.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["source_file", "district", "department", "fiscal_year", "doc_kind"])
        writer.writerow(["汉阳区大数据中心2021年决算公开表.xlsx", "汉阳区", "武汉市汉阳区大数据中心", "2021", "final"])
    tables = extract(raw, progress=False)
    assert tables["errors"].empty
    assert tables["documents"][["format", "doc_kind", "fiscal_year"]].values.tolist() == [["xlsx", "final", 2021]]
    assert len(tables["line_items"]) == 165
