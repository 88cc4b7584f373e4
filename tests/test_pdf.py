"""fiscal_nlp.ingest.pdf: disclosure PDFs read into the same line stream as text exports.

Fixtures: the two PDFs rendered from seed 000 (tests/fixtures/pdf, copied byte for byte from
the shared fixtures; ruled and borderless) and PDFs generated at test time from the seeds by `pdf_factory`
(ruled / borderless, tables broken across pages with and without a repeated header,
full-width digits), plus unreadable PDFs (truncated, encrypted, scanned, unmapped fonts).
"""
from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest

import pdf_factory
from conftest import GOLDEN, ROOT, load_doc, seed_path
from fiscal_nlp.ingest import IngestError, compact, identify, read_bytes, read_document
from fiscal_nlp.ingest.pdf_layout import split_fragments

FIXTURES = ROOT / "tests" / "fixtures" / "pdf"
FIXTURE_PDFS = {
    "ruled": FIXTURES / "hanyang-2021-final.pdf",
    "borderless": FIXTURES / "hanyang-2021-final-stream.pdf",
}
KEY = ["table_key", "side", "code", "item", "column", "amount"]
# The nine standard tables' titles in seed 000 (决算 wording).
TITLES_000 = [
    "2021年度收入支出决算总表", "2021年度收入决算表", "2021年度支出决算表", "2021年度财政拨款收入支出决算总表",
    "2021年度一般公共预算财政拨款支出决算表", "2021年度一般公共预算财政拨款基本支出决算明细表",
    "2021年度一般公共预算财政拨款“三公”经费支出决算表", "2021年度政府性基金预算财政拨款收入支出决算表",
    "2021年度国有资本经营预算财政拨款支出决算表",
]

# ---------------------------------------------------------------- helpers


def table_rows(doc) -> list[tuple[str, ...]]:
    """Every tab-separated line as compact cells, trailing blank cells dropped."""
    return [_strip(tuple(compact(c) for c in line.text.split("\t"))) for line in doc.lines if "\t" in line.text]


def _strip(row: tuple[str, ...]) -> tuple[str, ...]:
    end = max((i + 1 for i, c in enumerate(row) if c), default=0)
    return row[:end]


def expected_rows(text: str) -> list[tuple[str, ...]]:
    return [_strip(tuple(row)) for table in pdf_factory.expected_tables(text) for row in table]


def has_amount(row: tuple[str, ...]) -> bool:
    return any(re.fullmatch(r"-?\d[\d,]*\.\d+", c) for c in row)


def line_items_of(doc) -> pd.DataFrame | None:
    """line_items from the lead's table parser, or None while it is not there yet."""
    try:
        from fiscal_nlp.tables import extract_line_items
    except ImportError:
        return None
    result = extract_line_items(doc)
    return result[0] if isinstance(result, tuple) else result


def as_set(df: pd.DataFrame) -> set[tuple]:
    d = df[KEY].copy()
    for c in ("side", "code", "item", "column"):
        d[c] = d[c].fillna("").astype(str)
    d["amount"] = d["amount"].astype(float).round(4)
    return set(map(tuple, d.astype(str).values.tolist()))


def text_path_items(seed: str) -> pd.DataFrame:
    """What the text path gives for a seed: the parser's line_items, else the golden CSV."""
    items = line_items_of(load_doc(seed))
    if items is None:
        items = pd.read_csv(GOLDEN / f"line_items_{seed}.csv", dtype={"code": str, "item": str, "side": str})
    return items


# ---------------------------------------------------------------- the fixture PDFs


@pytest.fixture(scope="module")
def fixture_docs():
    docs = {}
    for style, path in FIXTURE_PDFS.items():
        doc = read_document(path)
        identify(doc)
        docs[style] = doc
    return docs


@pytest.mark.parametrize("style", sorted(FIXTURE_PDFS))
def test_fixture_pdfs_read_with_pages_and_titles(fixture_docs, style):
    doc = fixture_docs[style]
    assert doc.format == "pdf" and doc.n_pages == 32 and doc.pages_without_text == []
    assert [line.number for line in doc.lines] == list(range(1, len(doc.lines) + 1))
    assert all(line.page is not None and 1 <= line.page <= 32 for line in doc.lines)
    assert [line.page for line in doc.lines] == sorted(line.page for line in doc.lines)
    texts = [compact(line.text) for line in doc.lines]
    for title in TITLES_000:
        assert title in texts, f"title {title} not found"
    assert (doc.meta.department, doc.meta.fiscal_year, doc.meta.doc_kind) == ("武汉市汉阳区大数据中心", 2021, "final")
    assert not any(re.fullmatch(r"-\s*\d+\s*-", line.text.strip()) for line in doc.lines), "page footers kept"
    # cells exactly as the text export has them, on the page the table is printed on
    row = next(line for line in doc.lines if line.text.startswith("2010399\t"))
    assert row.text.split("\t")[:4] == ["2010399", "其他政府办公厅(室)及相关机构事务支出", "2,392.38", "2,392.16"]
    assert row.page == 5


@pytest.mark.parametrize("style", sorted(FIXTURE_PDFS))
def test_fixture_tables_continue_across_pages(fixture_docs, style):
    """财政拨款收入支出决算总表 runs over pages 7-8 and repeats its header: read as one table."""
    doc = fixture_docs[style]
    text_doc = load_doc("000")
    index_rows = lambda d: sum(1 for line in d.lines if line.text.startswith("栏次\t"))  # noqa: E731
    assert index_rows(doc) == index_rows(text_doc)
    lines = [line for line in doc.lines if line.page in (7, 8) and "\t" in line.text]
    row_numbers = [line.text.split("\t")[1] for line in lines if line.text.split("\t")[1].isdigit()]
    assert row_numbers == [str(n) for n in range(1, 33)]  # 行次 1-22 on page 7, 23-32 on page 8
    assert sum(1 for line in lines if line.text.startswith("项目\t行次")) == 1


@pytest.mark.parametrize("style", sorted(FIXTURE_PDFS))
def test_fixture_cells_match_the_text_path(fixture_docs, style):
    """Every standard-table row of seed 000 comes out of the PDF cell for cell."""
    got = table_rows(fixture_docs[style])
    want = [r for r in table_rows(load_doc("000")) if r]
    standard = want[: next(i for i, r in enumerate(want) if r[0] == "项目名称")]  # before the 项目自评表
    missing = [r for r in standard if r not in got]
    assert missing == [], f"rows not read from the PDF: {missing[:3]}"


@pytest.mark.parametrize("style", sorted(FIXTURE_PDFS))
def test_fixture_line_items_equal_the_text_path(fixture_docs, style):
    """The table parser gives the same (table_key, side, code, item, column, amount) from PDF as from text."""
    pdf_items = line_items_of(fixture_docs[style])
    if pdf_items is None:
        pytest.skip("fiscal_nlp.tables.extract_line_items not available yet")
    want, got = as_set(text_path_items("000")), as_set(pdf_items)
    assert want - got == set(), f"missed: {sorted(want - got)[:5]}"
    assert got - want == set(), f"extra: {sorted(got - want)[:5]}"
    if "page" in pdf_items:
        assert pdf_items["page"].notna().all()


# ---------------------------------------------------------------- generated PDFs


@pytest.fixture(scope="module")
def seed_000_text() -> str:
    return seed_path("000").read_text("utf-8")


@pytest.fixture(scope="module")
def generated(tmp_path_factory, seed_000_text):
    """Seed 000 laid out as PDF, ruled and borderless (written to a temporary folder)."""
    folder = tmp_path_factory.mktemp("pdf")
    docs = {}
    for style, ruled in (("ruled", True), ("borderless", False)):
        path = pdf_factory.render_pdf(seed_000_text, folder / f"000-{style}.pdf", ruled=ruled)
        docs[style] = read_document(path)
        identify(docs[style])
    return docs


def test_generated_ruled_pdf_gives_every_cell_of_the_text(generated, seed_000_text):
    """Grid tables (lattice), merged header cells, wrapped labels, a 自评表 row continued on a new page."""
    assert table_rows(generated["ruled"]) == expected_rows(seed_000_text)


def test_generated_borderless_pdf_gives_every_data_row(generated, seed_000_text):
    """White-space tables (stream): every row with an amount, wrapped labels joined, nothing extra."""
    got = table_rows(generated["borderless"])
    want = [r for r in expected_rows(seed_000_text) if has_amount(r)]
    standard = want[: next(i for i, r in enumerate(want) if "年度财政资金总额" in r)]  # before the 项目自评表
    got_standard = got[: next(i for i, r in enumerate(got) if "年度财政资金总额" in r)]
    assert [r for r in standard if r not in got] == []
    assert [r for r in got_standard if has_amount(r) and r not in want] == []
    assert ("2010399", "其他政府办公厅(室)及相关机构事务支出", "2,392.38", "2,392.16", "", "", "", "", "0.22") in got


@pytest.mark.parametrize("style", ["ruled", "borderless"])
def test_generated_pdfs_give_the_text_paths_line_items(generated, style):
    pdf_items = line_items_of(generated[style])
    if pdf_items is None:
        pytest.skip("fiscal_nlp.tables.extract_line_items not available yet")
    want, got = as_set(text_path_items("000")), as_set(pdf_items)
    assert (want - got, got - want) == (set(), set())


@pytest.mark.parametrize("seed", ["003"])
@pytest.mark.parametrize("ruled", [True, False], ids=["ruled", "borderless"])
def test_other_seed_as_pdf_gives_the_same_line_items(tmp_path, seed, ruled):
    """Seed 003 (2024 决算, another layout of the same tables) through the PDF path."""
    path = pdf_factory.render_pdf(seed_path(seed).read_text("utf-8"), tmp_path / f"{seed}.pdf", ruled=ruled)
    doc = read_document(path)
    identify(doc)
    pdf_items = line_items_of(doc)
    if pdf_items is None:
        pytest.skip("fiscal_nlp.tables.extract_line_items not available yet")
    want, got = as_set(text_path_items(seed)), as_set(pdf_items)
    # borderless, 003's “三公” 栏次 row reads as "1 2 3 4 5 678 9 10 11" with its "12" wrapped onto
    # a row of its own: the glued run is split again, so the "12" is not taken for an amount
    assert (want - got, got - want) == (set(), set())


@pytest.mark.parametrize("repeat_header", [True, False], ids=["header-repeated", "header-not-repeated"])
@pytest.mark.parametrize("ruled", [True, False], ids=["ruled", "borderless"])
def test_table_broken_across_pages_reads_as_one(tmp_path, seed_000_text, ruled, repeat_header):
    """收入决算表 printed six data rows a page: one header, every data row once, in order."""
    part = pdf_factory.excerpt(seed_000_text, "2021 年度收入决算表", "三、支出决算表")
    path = pdf_factory.render_pdf(part, tmp_path / "income.pdf", ruled=ruled, repeat_header=repeat_header,
                                  rows_per_page=6)
    doc = read_document(path)
    assert doc.n_pages >= 3
    got = table_rows(doc)
    want = expected_rows(part)
    data_want = [r for r in want if has_amount(r)]
    assert [r for r in got if has_amount(r)] == data_want
    assert sum(1 for r in got if r[:1] == ("栏次",)) == 1
    assert sum(1 for r in got if "本年收入合计" in r) == 1
    if ruled:
        assert got == want
    pages = {line.page for line in doc.lines if "\t" in line.text}
    assert len(pages) >= 3


def test_running_heads_are_dropped_and_do_not_split_tables(tmp_path, seed_000_text):
    """A 页眉 on every page is not text, and a table continued under it still reads as one."""
    part = pdf_factory.excerpt(seed_000_text, "2021 年度收入决算表", "三、支出决算表")
    path = pdf_factory.render_pdf(part, tmp_path / "head.pdf", rows_per_page=6, repeat_header=False,
                                  running_head="武汉市汉阳区大数据中心 2021 年度部门决算")
    doc = read_document(path)
    assert not any("2021年度部门决算" in compact(line.text) for line in doc.lines)
    assert table_rows(doc) == expected_rows(part)


def test_fullwidth_digits_are_folded(tmp_path, seed_000_text):
    """２,７８４.７３ printed in full-width digits reads as 2,784.73 (NFKC)."""
    part = pdf_factory.excerpt(seed_000_text, "2021 年度收入决算表", "三、支出决算表")
    doc = read_document(pdf_factory.render_pdf(part, tmp_path / "fw.pdf", fullwidth_digits=True))
    assert "2021年度收入决算表" in [compact(line.text) for line in doc.lines]
    assert ("合计", "", "2,784.73", "2,784.51", "", "", "", "", "0.22") in table_rows(doc)


def test_kangxi_radicals_and_spacing_in_fragments():
    """Glyphs in the Kangxi-radical block (⼀ U+2F00) read as ordinary characters; gaps split cells."""
    def glyph(text, x0, size=10.0):
        return {"text": text, "x0": x0, "x1": x0 + size, "top": 100.0, "bottom": 110.0, "size": size}

    chars = [glyph("⼀", 0), glyph("般", 10), glyph(" ", 20, 3), glyph("公", 26), glyph("２", 60, 5), glyph("１", 65, 5)]
    fragments = split_fragments(chars)
    assert [f.text for f in fragments] == ["一般 公", "21"]


# ---------------------------------------------------------------- unreadable PDFs


def test_truncated_pdf_is_corrupt():
    data = FIXTURE_PDFS["ruled"].read_bytes()
    with pytest.raises(IngestError) as err:
        read_bytes(data[: len(data) // 2], "half.pdf")
    assert err.value.kind == "pdf_corrupt" and "half.pdf" in err.value.message


def test_damaged_pdf_is_corrupt(tmp_path):
    path = pdf_factory.render_encrypted_pdf(tmp_path / "x.pdf", user_password="")
    data = path.read_bytes()
    damaged = data[:200] + b"\x00garbage\x00" * 50 + data[-300:]
    with pytest.raises(IngestError) as err:
        read_bytes(damaged, "damaged.pdf")
    assert err.value.kind == "pdf_corrupt" and "damaged.pdf" in err.value.message


def test_password_protected_pdf_is_encrypted(tmp_path):
    path = pdf_factory.render_encrypted_pdf(tmp_path / "locked.pdf")
    with pytest.raises(IngestError) as err:
        read_document(path)
    assert err.value.kind == "pdf_encrypted" and "locked.pdf" in err.value.message and "password" in err.value.message


def test_pdf_forbidding_text_extraction_is_encrypted(tmp_path):
    path = pdf_factory.render_restricted_pdf(tmp_path / "restricted.pdf")
    with pytest.raises(IngestError) as err:
        read_document(path)
    assert err.value.kind == "pdf_encrypted" and "restricted.pdf" in err.value.message


def test_image_only_pdf_needs_ocr(tmp_path):
    path = pdf_factory.render_image_only_pdf(tmp_path / "scan.pdf")
    with pytest.raises(IngestError) as err:
        read_document(path)
    assert err.value.kind == "pdf_no_text_layer"
    assert "scan.pdf" in err.value.message and "OCR" in err.value.message and "page(s) 1" in err.value.message


def test_font_without_unicode_map_needs_ocr(tmp_path):
    path = pdf_factory.render_unmapped_font_pdf(tmp_path / "cid.pdf")
    with pytest.raises(IngestError) as err:
        read_document(path)
    assert err.value.kind == "pdf_no_text_layer" and "cid.pdf" in err.value.message and "(cid:N)" in err.value.message


def test_scanned_page_inside_a_text_pdf_is_listed(tmp_path, seed_000_text):
    """Only page 2 is an image: pages 1 and 3 are read, page 2 is reported."""
    doc = read_document(pdf_factory.render_mixed_scan_pdf(seed_000_text, tmp_path / "mixed.pdf"))
    assert doc.pages_without_text == [2]
    assert {line.page for line in doc.lines} == {1, 3}


def test_scanned_page_is_reported_as_a_check(tmp_path, seed_000_text):
    """The driver turns the missing page into an `ocr_needed` warning naming the file and page."""
    from fiscal_nlp.pipeline import extract_document

    tables = extract_document(pdf_factory.render_mixed_scan_pdf(seed_000_text, tmp_path / "mixed.pdf"))
    ocr = tables["checks"][tables["checks"]["check"] == "ocr_needed"]
    assert len(ocr) == 1 and ocr.iloc[0]["severity"] == "warning" and not ocr.iloc[0]["passed"]
    assert "mixed.pdf" in ocr.iloc[0]["detail"] and "page(s) 2 " in ocr.iloc[0]["detail"]


def test_bad_pdfs_do_not_stop_the_next_read(tmp_path, seed_000_text):
    """Each failure is an IngestError (the driver records it); the next file reads as usual."""
    bad = pdf_factory.render_image_only_pdf(tmp_path / "scan.pdf")
    good = pdf_factory.render_pdf(pdf_factory.excerpt(seed_000_text, "2021 年度收入决算表", "三、支出决算表"),
                                  tmp_path / "good.pdf")
    with pytest.raises(IngestError):
        read_document(bad)
    assert any("\t" in line.text for line in read_document(good).lines)


def test_camelot_needs_no_ghostscript(tmp_path, seed_000_text):
    """Ruled tables are read with camelot's pdfium backend even when Ghostscript cannot be imported."""
    path = pdf_factory.render_pdf(pdf_factory.excerpt(seed_000_text, "2021 年度收入决算表", "三、支出决算表"),
                                  tmp_path / "t.pdf")
    script = (
        "import sys; sys.modules['ghostscript'] = None\n"  # importing it now fails, as on a fresh machine
        "from fiscal_nlp.ingest import read_document\n"
        f"doc = read_document({str(path)!r})\n"
        "assert any(l.text.startswith('201\\t') for l in doc.lines)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
