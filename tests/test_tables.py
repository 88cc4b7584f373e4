"""fiscal_nlp.tables: every numeric cell of the standard tables, against values read from the documents."""
from __future__ import annotations

import random
import re

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from conftest import golden_line_items, load_doc
from fiscal_nlp.ingest.document import Document, Line
from fiscal_nlp.tables import extract_line_items
from fiscal_nlp.tables.spec import load_specs, match_title
from fiscal_nlp.tables.tokens import parse_amount

KEY = ["table_key", "side", "code", "item", "level", "column", "amount"]


def as_set(df: pd.DataFrame, cols=KEY) -> set[tuple]:
    d = df[cols].copy()
    for c in ("side", "code", "item"):
        if c in d:
            d[c] = d[c].fillna("").astype(str)
    if "level" in d:
        d["level"] = d["level"].map(lambda x: "" if pd.isna(x) else str(int(x)))
    d["amount"] = d["amount"].astype(float).round(4)
    if "source_line" in d:
        d["source_line"] = d["source_line"].astype(int)
    # the “三公” table's single row has no printed label; compare it by column and amount
    d.loc[d["table_key"] == "three_public", "item"] = ""
    return set(map(tuple, d.astype(str).values.tolist()))


@pytest.mark.parametrize("seed", ["000", "002", "003"])
def test_every_cell_matches_the_document(seed):
    line_items, _ = extract_line_items(load_doc(seed))
    got, want = as_set(line_items, KEY + ["source_line"]), as_set(golden_line_items(seed), KEY + ["source_line"])
    assert got - want == set(), f"cells not in the document: {sorted(got - want)[:5]}"
    assert want - got == set(), f"cells missed: {sorted(want - got)[:5]}"


@pytest.mark.parametrize("seed", ["001", "004"])
def test_budget_documents_listing_tables_only(seed):
    line_items, checks = extract_line_items(load_doc(seed))
    assert line_items.empty
    presence = [c for c in checks if c["check"] == "table_presence"]
    assert len(presence) >= 7 and all(c["severity"] == "warning" and "not in the text" in c["detail"] for c in presence)


def test_empty_tables_are_present_not_errors():
    _, checks = extract_line_items(load_doc("000"))
    empty = {c["table_key"] for c in checks if c["check"] == "table_presence" and c["passed"]}
    assert empty == {"three_public", "gov_fund", "soe_capital"}  # “本表无数据” in 000


def test_codes_get_levels_and_row_numbers_are_not_amounts():
    li, _ = extract_line_items(load_doc("002"))
    assert set(li.loc[li.code.str.len() == 7, "level"]) == {3}
    assert set(li.loc[li.code.str.len() == 5, "level"]) == {2}
    summary = li[li.table_key == "summary"]
    # 行次 1..54 are never read as amounts: every summary amount has cents in 002
    assert (summary.amount % 1 != 0).all()
    assert summary.set_index(["side", "item"]).amount[("expenditure", "八、社会保障和就业支出")] == 23.32


def test_title_matching_prefers_the_longest_title():
    assert match_title("2021 年度财政拨款收入支出决算总表")[0] == "fiscal_summary"
    assert match_title("2021 年度收入支出决算总表")[0] == "summary"
    assert match_title("2019 年度一般公共预算财政拨款基本支出决算表（表 6）")[0] == "gpb_basic"
    assert match_title("九、国有资本经营预算财政拨款支出决算表")[0] == "soe_capital"
    assert match_title("五、一般公共预算财政拨款支出决算情况说明") is None


def test_titles_and_columns_come_from_the_data_file():
    specs, _ = load_specs()
    assert set(specs) == {"summary", "income", "expenditure", "fiscal_summary", "gpb_expenditure",
                          "gpb_basic", "three_public", "gov_fund", "soe_capital",
                          "fiscal_expenditure", "fiscal_basic", "operating_costs", "procurement", "project_expenditure"}
    assert specs["expenditure"].canonical("本年支出合计") == "本年支出合计"
    assert specs["gov_fund"].identities[0].text.startswith("年末结转和结余")


@pytest.mark.parametrize("text,value", [("2,533.25", "2533.25"), ("２，５３３．２５", None), ("-", "0"), ("0.22", "0.22")])
def test_amount_parsing(text, value):
    from fiscal_nlp.ingest.document import normalise

    assert str(parse_amount(normalise(text))) == (value or "2533.25")


# ---------------------------------------------------------------- generalisation: reflowed layouts

def _table_lines(seed: str) -> list[str]:
    """The seed's lines, as text (the table regions are tab-separated in 000)."""
    return [ln.text for ln in load_doc(seed).lines]


def reflow(lines: list[str], width: int, rng: random.Random, page_breaks: float) -> list[str]:
    """Render tab rows pdftotext-style: cells joined by single spaces, a blank cell as one more
    space, labels longer than `width` wrapped onto lines of their own before the row, and
    page footers dropped in between rows."""
    out = []
    for text in lines:
        if "\t" not in text:
            out.append(text)
            continue
        cells = text.split("\t")
        current: list[str] = []
        for cell in cells:
            label = cell.strip()
            if len(label) > width and not re.fullmatch(r"[\d,.\s-]+", label):
                if current:
                    out.append(" ".join(current))
                    current = []
                chunks = [label[i:i + width] for i in range(0, len(label), width)]
                out.extend(chunks[:-1])
                current = [chunks[-1]]
            else:
                current.append(label if label else " ")
        out.append(" ".join(current))
        if rng.random() < page_breaks:
            out += ["", f"- {rng.randint(2, 40)} -", ""]
    return out


@settings(max_examples=20, deadline=None)
@given(doc_seed=st.sampled_from(["000", "003"]), width=st.integers(min_value=4, max_value=14),
       seed=st.integers(0, 10_000), breaks=st.sampled_from([0.0, 0.1]))
def test_reflowed_tables_give_the_same_cells(doc_seed, width, seed, breaks):
    original, _ = extract_line_items(load_doc(doc_seed))
    lines = reflow(_table_lines(doc_seed), width, random.Random(seed), breaks)
    doc = Document("reflowed.txt", "x", [Line(t, i + 1) for i, t in enumerate(lines)])
    reflowed, checks = extract_line_items(doc)
    assert as_set(reflowed) == as_set(original)


def test_tampered_cell_breaks_the_identities():
    """A check that can fail: change one printed number and the audit must say so."""
    from fiscal_nlp.validate import audit

    doc = load_doc("000")
    lines = [Line(ln.text.replace("2010350\t事业运行\t335.74\t335.74", "2010350\t事业运行\t335.74\t325.74"), ln.number)
             for ln in doc.lines]
    tampered = Document(doc.source_file, doc.sha256, lines, meta=doc.meta)
    li, _ = extract_line_items(tampered)
    checks = audit(tampered, li)
    bad = checks[~checks.passed & (checks.severity == "error")]
    assert len(bad) >= 2
    assert any("2010350" in d for d in bad.detail)


def test_glued_column_numbers_are_split_only_when_they_continue_the_sequence():
    """A PDF reader may glue 栏次 cells ("678"); a real number that is not the next run stays whole."""
    from fiscal_nlp.tables.parse import _column_numbers

    assert _column_numbers(["1", "2", "3", "4", "5", "678", "9", "10", "11"]) == list(range(1, 12))
    assert _column_numbers(["12"], before=11) == [12]
    assert _column_numbers(["1", "2", "35"]) == [1, 2, 35]
    assert _column_numbers(["1", "2", "3", "4", "5", "6", "7", "8", "91011"]) == list(range(1, 12))


def test_a_unit_subtotal_row_is_neither_a_classification_row_nor_an_amount():
    """A department table that prints a unit's subtotal row ("105236 <unit> …", a 6-digit 单位代码) before
    the unit's coded rows: the row is not read, and its code never becomes an amount of the row above."""
    doc = load_doc("000")
    at = next(i for i, ln in enumerate(doc.lines) if ln.text.startswith("合计\t\t2,785.73"))  # 支出决算表's 合计 row
    unit_row = Line("105236\t汉阳区大数据中心\t2,785.73\t386.43\t2,399.30", doc.lines[at].number)
    lines = doc.lines[: at + 1] + [unit_row] + doc.lines[at + 1:]
    changed = Document(doc.source_file, doc.sha256, lines, meta=doc.meta)
    line_items, checks = extract_line_items(changed)
    assert as_set(line_items) == as_set(golden_line_items("000"))
    assert any("unit subtotal row" in c["detail"] for c in checks)
