"""fiscal_nlp.ingest: decoding, normalisation, identification, and bad input."""
from __future__ import annotations

import pytest

from conftest import load_doc, seed_path
from fiscal_nlp.ingest import IngestError, compact, identify, normalise, read_bytes, read_document

# Values read from each seed's title lines (e.g. 003: "2024 年度原青山区大数据中心部门决算公开").
EXPECTED = {
    "000": ("汉阳区", "武汉市汉阳区大数据中心", 2021, "final"),
    "001": ("青山区", "青山区大数据中心", 2021, "budget"),
    "002": ("武昌区", "武汉市武昌区大数据中心", 2019, "final"),
    "003": ("青山区", "原青山区大数据中心", 2024, "final"),
    "004": ("汉阳区", "汉阳区大数据中心", 2024, "budget"),
}


@pytest.mark.parametrize("seed", sorted(EXPECTED))
def test_identify_from_the_text(seed):
    meta = load_doc(seed).meta
    assert (meta.district, meta.department, meta.fiscal_year, meta.doc_kind) == EXPECTED[seed]
    assert meta.doc_id.isascii() and str(meta.fiscal_year) in meta.doc_id


def test_doc_ids_are_unique_and_stable():
    ids = [load_doc(s).meta.doc_id for s in EXPECTED]
    assert len(set(ids)) == 5
    assert ids == [load_doc(s).meta.doc_id for s in EXPECTED]
    assert load_doc("000").meta.doc_id == "hanyang-dsjzx-2021-final"


def test_catalog_override_wins():
    doc = read_document(seed_path("000"))
    meta = identify(doc, {"department": "汉阳区大数据中心", "fiscal_year": "2021", "doc_id": "hy21"})
    assert (meta.department, meta.doc_id, meta.district) == ("汉阳区大数据中心", "hy21", "汉阳区")


@pytest.mark.parametrize("encoding,bom,newline", [("gb18030", b"", "\r\n"), ("gbk", b"", "\n"),
                                                   ("utf-8", b"\xef\xbb\xbf", "\r\n"), ("utf-8", b"", "\n")])
def test_encodings_and_line_endings(encoding, bom, newline):
    text = seed_path("000").read_text("utf-8").replace("\n", newline)
    doc = read_bytes(bom + text.encode(encoding), "x.txt")
    identify(doc)
    assert doc.meta.department == "武汉市汉阳区大数据中心"
    assert doc.lines[82].number == 83 and doc.lines[82].text.startswith("一、一般公共预算财政拨款收入")


def test_nfkc_folds_fullwidth_and_kangxi():
    assert normalise("２，５３３．２５") == "2,533.25"
    assert normalise("⼀般公共预算") == "一般公共预算"  # U+2F00 KANGXI RADICAL ONE
    assert compact("上 级 补 助 收 入") == "上级补助收入"


@pytest.mark.parametrize("name,data,kind", [
    ("empty.txt", b"", "empty"),
    ("blank.txt", b"  \n\n ", "empty"),
    ("binary.txt", bytes(range(256)) * 20, "binary"),
    ("fake.pdf", b"this is not a pdf", "pdf_corrupt"),
    ("sheet.xlsx", b"PK\x03\x04....", "xlsx_corrupt"),  # a truncated download: readers in test_ingest_formats.py
    ("notes.rtf", b"{\\rtf1\\ansi 2021}", "unsupported_format"),
])
def test_bad_input_gets_a_clear_error(name, data, kind):
    with pytest.raises(IngestError) as exc:
        read_bytes(data, name)
    assert exc.value.kind == kind and name in exc.value.message


def test_not_a_disclosure():
    doc = read_bytes("会议纪要\n今天讨论了食堂菜单。\n".encode(), "minutes.txt")
    with pytest.raises(IngestError) as exc:
        identify(doc)
    assert exc.value.kind == "not_a_disclosure" and "minutes.txt" in exc.value.message
