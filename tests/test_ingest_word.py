"""fiscal_nlp.ingest.word: disclosures published as Word documents (.docx, python-docx).

Fixtures: seeds 000 and 003 rendered at test time by `format_factory.render_docx`
(paragraphs and tables in order, merged header cells, a running head and a page-number footer).
"""
from __future__ import annotations

import io

import docx
import pytest

import format_factory
from conftest import golden_line_items, seed_path
from fiscal_nlp.ingest import IngestError, compact, normalise, read_bytes, read_document
from fiscal_nlp.pipeline import extract_document
from fiscal_nlp.tables import extract_line_items

SEEDS = ["000", "003"]


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docx")
    return {seed: format_factory.render_docx(seed_path(seed).read_text("utf-8"), folder / f"{seed}.docx",
                                             running_head="武汉市 2021 年度部门预算公开")
            for seed in SEEDS}


@pytest.mark.parametrize("seed", SEEDS)
def test_word_document_gives_the_hand_read_line_items(documents, seed):
    doc = read_document(documents[seed])
    assert doc.format == "docx"
    got = format_factory.item_set(extract_line_items(doc)[0])
    want = format_factory.item_set(golden_line_items(seed))
    assert (want - got, got - want) == (set(), set())


@pytest.mark.parametrize("seed", SEEDS)
def test_word_document_gives_the_text_paths_narrative(documents, seed):
    text = extract_document(seed_path(seed))
    word = extract_document(documents[seed])
    assert word["documents"]["doc_id"].tolist() == text["documents"]["doc_id"].tolist()
    for name in format_factory.NARRATIVE_TABLES:
        assert format_factory.content_rows(word, name) == format_factory.content_rows(text, name), name
    assert len(word["variances"]) == {"000": 6, "003": 14}[seed]


def test_running_head_and_footer_are_not_read(documents):
    """The header says 部门预算 (a budget!); were it read, identification would be wrong."""
    doc = read_document(documents["000"])
    assert not any("部门预算公开" in line.text or line.text.strip() == "- 1 -" for line in doc.lines)
    tables = extract_document(documents["000"])
    assert tables["documents"]["doc_kind"].tolist() == ["final"]


def test_merged_header_cells_line_up_as_in_the_text(documents):
    lines = [line.text for line in read_document(documents["000"]).lines]
    assert "收入\t\t\t支出\t\t" in lines
    # vertically merged 本年收入合计 over three header rows: blank below it, as in the text export
    assert "功能分 类科目 编码\t科目名称\t\t\t\t\t\t\t" in lines


def test_each_line_names_its_paragraph_or_table_row(documents):
    doc = read_document(documents["000"])
    word = docx.Document(str(documents["000"]))
    row = next(line for line in doc.lines if line.text.startswith("2010399\t"))
    assert row.location == "table 2, row 8"
    cells = word.tables[1].rows[7].cells
    assert [compact(normalise(c.text)) for c in cells[:4]] == ["2010399", "其他政府办公厅(室)及相关机构事务支出", "2,392.38", "2,392.16"]
    paragraph = next(line for line in doc.lines if line.text.startswith("2021 年度收、支总计均为"))
    n = int(paragraph.location.split()[-1])
    assert word.paragraphs[n - 1].text.startswith("2021 年度收、支总计均为 2785.73 万元")


def test_truncated_docx_is_corrupt(documents):
    data = documents["000"].read_bytes()
    with pytest.raises(IngestError) as err:
        read_bytes(data[: len(data) // 2], "half.docx")
    assert err.value.kind == "docx_corrupt" and "half.docx" in err.value.message


def test_password_protected_docx_is_encrypted(documents):
    with pytest.raises(IngestError) as err:
        read_bytes(format_factory.encrypt(documents["000"]), "locked.docx")
    assert err.value.kind == "docx_encrypted" and "locked.docx" in err.value.message and "password" in err.value.message


def test_zip_that_is_not_a_word_document():
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("readme.txt", "2021 年度部门决算")
    with pytest.raises(IngestError) as err:
        read_bytes(buffer.getvalue(), "report.docx")
    assert err.value.kind == "docx_corrupt" and "report.docx" in err.value.message


def test_document_of_pictures_only_needs_ocr(tmp_path):
    from PIL import Image

    image = tmp_path / "table.png"
    Image.new("RGB", (60, 40), "white").save(image)
    document = docx.Document()
    document.add_picture(str(image))
    document.save(str(tmp_path / "scan.docx"))
    with pytest.raises(IngestError) as err:
        read_document(tmp_path / "scan.docx")
    assert err.value.kind == "docx_no_text" and "scan.docx" in err.value.message and "OCR" in err.value.message
