"""fiscal_nlp.validate: the audit finds every inconsistency the documents contain, and invents none.

The expected findings (tests/golden/audit_findings.csv for the tables, and
tests/golden/narrative/checks_failed.csv for what the narrative says) were worked out by reading
the seeds and doing the sums by hand, independently of the parser.
"""
from __future__ import annotations

import csv
import math
from decimal import Decimal
from functools import lru_cache

import pandas as pd
import pytest

from conftest import GOLDEN, SEEDS, load_doc, seed_path
from fiscal_nlp.ingest.document import Document, Line
from fiscal_nlp.narrative import extract_rows
from fiscal_nlp.schema import CHECK_IDS, SEVERITIES
from fiscal_nlp.tables import extract_line_items
from fiscal_nlp.validate import audit
from fiscal_nlp.validate.compare import compare_amounts, judge_rate

FINDINGS = pd.read_csv(GOLDEN / "audit_findings.csv", dtype={"doc": str})
DOCS = sorted(SEEDS)


def _audit(seed):
    doc = load_doc(seed)
    li, _ = extract_line_items(doc)
    return audit(doc, li)


@lru_cache(maxsize=None)
def golden_line_items(seed: str) -> pd.DataFrame:
    """The table rows of a seed as read by hand, or an empty frame (budget documents)."""
    path = GOLDEN / f"line_items_{seed}.csv"
    if not path.exists():
        return pd.DataFrame()
    df = pd.read_csv(path, dtype={"code": str})
    df["doc_id"] = load_doc(seed).doc_id
    return df


@lru_cache(maxsize=None)
def narrative_checks(seed: str, with_tables: bool = True) -> pd.DataFrame:
    """The audit of a seed's narrative against its hand-read tables (no table identities)."""
    doc = load_doc(seed)
    li = golden_line_items(seed) if with_tables else pd.DataFrame()
    rows = extract_rows(doc, li)
    from fiscal_nlp.schema import conform
    from fiscal_nlp.validate.narrative import narrative_findings
    return conform("checks", [{"doc_id": doc.doc_id, **r} for r in narrative_findings(rows, li)])


def _cell(value) -> str:
    if value is None or value is pd.NA or value == "" or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{float(value):.6f}"


def _round(value) -> str:
    return "" if _cell(value) == "" else f"{float(value):.2f}"


# ------------------------------------------------------------------ tables
@pytest.mark.parametrize("seed", ["000", "002", "003"])
def test_audit_finds_every_table_inconsistency_and_invents_none(seed):
    checks = _audit(seed)
    failed = checks[~checks["passed"]]
    got = {(round(e, 2), round(f, 2)) for e, f in zip(failed["expected"], failed["found"])}
    golden = FINDINGS[(FINDINGS["doc"] == seed) & (FINDINGS["table_key"] != "narrative")]
    want = {(round(e, 2), round(f, 2)) for e, f in zip(golden["expected"], golden["found"])}
    assert want <= got, f"missed: {want - got}"
    assert got <= want, f"accused without cause: {got - want}"


def test_severity_and_provenance_of_a_rounding_gap():
    checks = _audit("003")
    row = checks[(checks["check"] == "hierarchy_sum") & (checks["expected"] == 1013.67)].iloc[0]
    assert (row["found"], row["severity"], row["passed"]) == (1013.66, "rounding", False)
    assert row["table_key"] == "expenditure" and row["source_line"] == 196
    assert "支出决算表" in row["detail"] and "项目支出" in row["detail"]


def test_every_identity_family_runs():
    checks = _audit("000")
    assert {"row_sum", "hierarchy_sum", "column_total", "cross_table_total"} <= set(checks["check"])
    assert checks["passed"].sum() >= 150  # verified identities are reported too, not only failures


# ------------------------------------------------------------------ narrative
@pytest.mark.parametrize("seed", DOCS)
def test_failed_narrative_checks_match_golden(seed):
    checks = narrative_checks(seed)
    failed = checks[~checks["passed"].astype(bool)]
    got = sorted((r["check"], r["severity"], _round(r["expected"]), _round(r["found"]), _cell(r["source_line"]),
                  _cell(r["related_line"])) for _, r in failed.iterrows())
    with open(GOLDEN / "narrative" / "checks_failed.csv", encoding="utf-8", newline="") as fh:
        want = sorted((r["check"], r["severity"], _round(r["expected"]), _round(r["found"]), _cell(r["source_line"]),
                       _cell(r["related_line"])) for r in csv.DictReader(fh) if r["doc"] == seed)
    assert got == want


@pytest.mark.parametrize("seed", DOCS)
def test_narrative_vs_table_only_with_tables(seed):
    assert "narrative_vs_table" not in set(narrative_checks(seed, with_tables=False)["check"])
    if len(golden_line_items(seed)):
        assert (narrative_checks(seed)["check"] == "narrative_vs_table").sum() > 0


@pytest.mark.parametrize("seed", DOCS)
def test_check_rows_are_well_formed(seed):
    checks = narrative_checks(seed)
    assert set(checks["check"]) <= set(CHECK_IDS)
    passed = checks["passed"].astype(bool)
    assert checks.loc[passed, "severity"].isna().all()
    assert set(checks.loc[~passed, "severity"]) <= set(SEVERITIES)
    assert passed.sum() > 0  # what was verified is reported too


def test_every_printed_rate_is_checked():
    for seed in DOCS:
        rows = extract_rows(load_doc(seed), golden_line_items(seed))
        rated = {v["source_line"] for v in rows["variances"] if v["stated_rate"] is not None and v["budget"]}
        checks = narrative_checks(seed)
        assert rated <= set(checks[checks["check"] == "stated_rate"]["source_line"])


def test_table_comparisons_report_both_numbers_and_lines():
    checks = narrative_checks("003")
    row = checks[(checks["check"] == "narrative_vs_table") & (checks["found"] == 4.9)].iloc[0]
    assert (row["expected"], row["source_line"], row["related_line"], row["table_key"]) == (4.99, 489, 339, "gpb_basic")
    assert not row["passed"] and row["severity"] == "error"


# ------------------------------------------------------------------ how numbers are judged
def test_rounding_severity_for_small_amount_gaps():
    assert compare_amounts(Decimal("4.99"), Decimal("4.98")) == (False, "rounding")
    assert compare_amounts(Decimal("4.99"), Decimal("4.96")) == (False, "error")
    assert compare_amounts(Decimal("1492.009583"), Decimal("1492.01")) == (True, None)
    # 99.9% of 239.99/240 passes: “240” may be anything in [239.5, 240.5]
    assert judge_rate(Decimal("99.9"), Decimal("239.99"), Decimal("240"))[0]
    # 239.99/240.00 = 99.996%: printed 99.9 only by truncation (passes), never 99.8
    assert judge_rate(Decimal("99.9"), Decimal("239.99"), Decimal("240.00"))[0]
    assert not judge_rate(Decimal("99.8"), Decimal("239.99"), Decimal("240.00"))[0]


def test_percentages_are_compared_at_the_printed_precision():
    # 9746.50 / 10210.34 = 95.4571…%: printed truncated (95.45) or rounded (95.46), both pass
    assert judge_rate(Decimal("95.45"), Decimal("9746.50"), Decimal("10210.34"))[0]
    assert judge_rate(Decimal("95.46"), Decimal("9746.50"), Decimal("10210.34"))[0]
    assert not judge_rate(Decimal("95.44"), Decimal("9746.50"), Decimal("10210.34"))[0]
    assert not judge_rate(Decimal("95.47"), Decimal("9746.50"), Decimal("10210.34"))[0]
    # seed 002 line 1009: 卫生健康 23.47 of 2,533.25 万元 = 0.9265%, printed 0.92 (truncated): no finding
    assert judge_rate(Decimal("0.92"), Decimal("23.47"), Decimal("2533.25"))[0]
    assert not judge_rate(Decimal("0.91"), Decimal("23.47"), Decimal("2533.25"))[0]


# ------------------------------------------------------------------ declared totals
def _audit_text(seed: str, drop_line: int) -> pd.DataFrame:
    """The audit of a seed with one printed line deleted (its tables re-read from the altered text)."""
    from fiscal_nlp.ingest import identify, read_bytes

    path = SEEDS[seed]
    lines = path.read_bytes().decode("utf-8").split("\n")
    assert lines[drop_line - 1].strip()
    doc = read_bytes("\n".join(lines[:drop_line - 1] + lines[drop_line:]).encode("utf-8"), path.name)
    identify(doc)
    li, notes = extract_line_items(doc)
    return audit(doc, li, table_checks=notes)


def test_a_removed_total_row_is_a_finding_not_a_pass():
    # seed 000 line 283 prints 人员经费合计 372.95 and 公用经费合计 13.48 (基本支出决算明细表)
    assert "人员经费合计" in SEEDS["000"].read_text(encoding="utf-8").split("\n")[282]
    whole, cut = _audit("000"), _audit_text("000", 283)
    assert not whole["check"].eq("total_missing").any()
    missing = cut[cut["check"] == "total_missing"]
    assert set(missing["table_key"]) == {"gpb_basic"}
    assert {"人员经费合计", "公用经费合计"} <= {w for d in missing["detail"] for w in ("人员经费合计", "公用经费合计") if w in d}
    assert (missing["severity"] == "warning").all() and not missing["passed"].any()
    # the identities the row carried are gone, and the audit says so instead of passing silently
    assert len(cut[cut["check"] == "hierarchy_sum"]) < len(whole[whole["check"] == "hierarchy_sum"])


def test_every_seed_prints_its_declared_totals():
    for seed in ("000", "002", "003"):
        assert not _audit(seed)["check"].eq("total_missing").any(), seed


def test_a_removed_coded_total_row_is_a_finding():
    # seed 000 line 154: 支出决算表 合计 2,785.73 / 386.43 / 2,399.30
    assert SEEDS["000"].read_text(encoding="utf-8").split("\n")[153].startswith("合计")
    cut = _audit_text("000", 154)
    missing = cut[cut["check"] == "total_missing"]
    assert list(missing["table_key"]) == ["expenditure"]
    assert "合计" in missing["detail"].iloc[0] and "支出决算表" in missing["detail"].iloc[0]


# ------------------------------------------------------------------ document-level checks
def _document(texts: list[str], year: int = 2021, kind: str = "final") -> Document:
    from fiscal_nlp.ingest.document import normalise

    doc = Document("synthetic.txt", "0" * 64, [Line(normalise(t), i + 1) for i, t in enumerate(texts)])
    doc.meta.doc_id, doc.meta.doc_kind, doc.meta.department, doc.meta.fiscal_year = "synthetic", kind, "某区数据中心", year
    return doc


def _document_checks(texts: list[str], year: int = 2021) -> pd.DataFrame:
    doc = _document(texts, year)
    return audit(doc, pd.DataFrame(), extract_rows(doc, pd.DataFrame()))


def test_a_comparison_word_that_contradicts_its_own_figures_is_an_error():
    checks = _document_checks([
        "1.教育支出(类)。年初预算为120.00万元，支出决算为98.50万元，完成年初预算的82.08%，决算数大于预算数的主要原因是招生增加。",
        "2.农林水支出(类)。年初预算为40.00万元，支出决算为52.00万元，完成年初预算的130%，决算数大于预算数的主要原因是追加防汛资金。",
        "3.节能环保支出(类)。年初预算为10.00万元，支出决算为10.00万元，完成年初预算的100%，决算数小于预算数的主要原因是无。",
    ])
    rows = checks[checks["check"] == "stated_comparison"].sort_values("source_line")
    assert list(rows["passed"]) == [False, True, False]
    first = rows.iloc[0]
    assert (first["severity"], first["expected"], first["found"], first["source_line"]) == ("error", 120.0, 98.5, 1)
    assert "大于" in first["detail"] and "98.50" in first["detail"]


def test_roughly_level_is_only_a_warning_when_far_off():
    checks = _document_checks([
        "1.教育支出(类)。年初预算为100.00万元，支出决算为97.00万元，完成年初预算的97%，决算数与预算数基本持平。",
        "2.文化旅游体育与传媒支出(类)。年初预算为100.00万元，支出决算为60.00万元，完成年初预算的60%，决算数与预算数基本持平。",
    ])
    rows = checks[checks["check"] == "stated_comparison"].sort_values("source_line")
    assert list(rows["passed"]) == [True, False] and rows.iloc[1]["severity"] == "warning"


def test_a_heading_of_another_year_is_a_warning_naming_both_years():
    checks = _document_checks(["某区数据中心2021年度部门决算", "目录", "2020年度部门决算表",
                               "2021年收入比2020年决算数增加10.00万元。"])
    rows = checks[checks["check"] == "year_mismatch"]
    assert list(rows["source_line"]) == [3]  # the narrative comparison with 2020 is no heading
    assert (rows["severity"] == "warning").all() and rows.iloc[0]["found"] == 2020 and rows.iloc[0]["expected"] == 2021


def test_a_change_from_a_zero_base_has_no_percentage_to_check():
    from fiscal_nlp.validate.narrative import check_changes, TableCells

    change = {"metric": "公务接待费", "project": None, "current": Decimal("3.20"), "delta": Decimal("3.20"),
              "pct": Decimal("100"), "source_line": 7}
    rows = check_changes([change], TableCells(None))
    assert [(r["check"], r["passed"]) for r in rows] == [("stated_change", True)]
    assert "zero base" in rows[0]["detail"]


def test_budget_lines_of_different_paths_are_different_projects():
    from fiscal_nlp.validate.narrative import project_groups

    names = ["一般公共服务支出(类)组织事务(款)一般行政管理事务(项)", "一般公共服务支出(类)宣传事务(款)一般行政管理事务(项)",
             "一般公共服务支出(类)组织事务(款)一般行政管理事务(项)", "网上群众工作年度经费", "网上群众工作部年度费用"]
    assert project_groups(names) == [0, 1, 0, 2, 2]
    # codes decide when both mentions print one
    assert project_groups(["数据平台运维", "数据平台运维"], ["42010523031T000000101", "42010523031T000000102"]) == [0, 1]


def test_fiscal_only_identity_is_not_applied_to_the_all_funds_table():
    from fiscal_nlp.validate.declared import load_declarations

    declared = load_declarations()
    basic = [r for r in declared.cross_table if "人员经费" in r.what]
    assert basic and all(r.fiscal_only and {r.a.table, r.b.table} <= declared.fiscal_tables for r in basic)
    assert "expenditure" not in declared.fiscal_tables


def test_a_ruled_but_empty_page_is_not_a_scan(tmp_path):
    """ocr_needed only for pages that hold an image: a page of bare ruling lines is blank."""
    import pdf_factory
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas
    from reportlab.lib.utils import ImageReader
    from PIL import Image

    from fiscal_nlp.pipeline import extract_document

    text = [ln for ln in SEEDS["000"].read_text("utf-8").splitlines() if ln.strip() and "\t" not in ln][:40]
    path = tmp_path / "ruled-blank.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    for page in range(4):
        c.setFont(pdf_factory.FONT, pdf_factory.TEXT_SIZE)
        if page == 1:  # an empty form: ruling lines only
            for i in range(12):
                c.line(60, 700 - 40 * i, 520, 700 - 40 * i)
        elif page == 2:  # a scanned insert
            c.drawImage(ImageReader(Image.new("RGB", (50, 50), "gray")), 100, 300, width=300, height=300)
        else:
            y = A4[1] - pdf_factory.MARGIN
            for line in text[page * 10:page * 10 + 10]:
                c.drawString(pdf_factory.MARGIN, y, pdf_factory.clean_markup(line)[:40])
                y -= pdf_factory.TEXT_LEADING
        c.showPage()
    c.save()
    checks = extract_document(path)["checks"]
    ocr = checks[checks["check"] == "ocr_needed"]
    assert len(ocr) == 1 and "page(s) 3 " in ocr.iloc[0]["detail"]


def test_a_quoted_cell_the_table_leaves_blank_is_a_warning_naming_the_row():
    from fiscal_nlp.validate.narrative import TableCells, check_facts

    # seed 002 line 865: the “三公” table prints 预算数 2.00 and leaves every 决算数 cell blank
    cells = TableCells(golden_line_items("002"))
    fact = {"key": "three_public_actual", "value": Decimal("1.50"), "unit": "万元", "source_line": 9, "_span": (0, 1)}
    rows = [r for r in check_facts([fact], cells) if r["check"] == "narrative_vs_table"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["passed"], row["severity"], row["found"], row["related_line"]) == (False, "warning", 1.5, 865)
    assert "blank" in row["detail"] and "1.50" in row["detail"]
    # a narrative 0.00 agrees with the blank cell
    zero = {**fact, "value": Decimal("0.00")}
    assert all(r["passed"] for r in check_facts([zero], cells) if r["check"] == "narrative_vs_table")


def test_narrative_three_public_budget_is_compared_with_the_table():
    checks = narrative_checks("002")
    row = checks[(checks["check"] == "narrative_vs_table") & (checks["table_key"] == "three_public")
                 & (checks["expected"] == 2.0)]
    assert len(row) == 1 and row.iloc[0]["passed"] and row.iloc[0]["related_line"] == 865


@pytest.mark.parametrize("seed", ["000", "002", "003"])
def test_the_whole_audit_finds_the_documented_narrative_inconsistencies(seed):
    """audit_findings.csv's narrative rows (narrative vs table, project vs project), through the driver."""
    from fiscal_nlp.pipeline import document_records

    checks = [c for c in document_records(load_doc(seed))["checks"] if not c["passed"]]
    got = {(round(c["expected"], 2), round(c["found"], 2)) for c in checks if c["expected"] is not None and c["found"] is not None}
    golden = FINDINGS[(FINDINGS["doc"] == seed) & (FINDINGS["table_key"] == "narrative")]
    want = {(round(e, 2), round(f, 2)) for e, f in zip(golden["expected"], golden["found"])}
    # project findings compare two mentions: either may be the first
    missed = {(e, f) for e, f in want if (e, f) not in got and (f, e) not in got}
    assert not missed


# ------------------------------------------------------------------ parse doubts are warnings
def _altered_000(line: int, column: str, amount: float) -> pd.DataFrame:
    """Seed 000's hand-read line_items with one 支出决算表 cell printed otherwise."""
    li = golden_line_items("000").copy()
    hit = (li["source_line"] == line) & (li["column"] == column) & (li["table_key"] == "expenditure")
    assert hit.sum() == 1
    li.loc[hit, "amount"] = amount
    return li


def _failed(checks: pd.DataFrame) -> pd.DataFrame:
    return checks[~checks["passed"].astype(bool)]


def test_a_misprinted_cell_is_an_error_and_a_doubted_row_a_parse_doubt():
    doc = load_doc("000")
    # 支出决算表 line 155: 201 本年支出合计 2729.12 = 基本 335.75 + 项目 2393.37; print 2793.37 instead
    li = _altered_000(155, "项目支出", 2793.37)
    plain = _failed(audit(doc, li))
    assert {"row_sum", "hierarchy_sum"} <= set(plain.loc[plain["severity"] == "error", "check"])
    note = {"doc_id": doc.doc_id, "check": "table_parse", "passed": False, "severity": "warning", "expected": None,
            "found": None, "detail": "expenditure: row 201: the numbers fit in more than one column order",
            "table_key": "expenditure", "source_line": 155}
    doubted = _failed(audit(doc, li, table_checks=[note]))
    assert "error" not in set(doubted["severity"])
    row = doubted[(doubted["check"] == "parse_doubt") & (doubted["source_line"] == 155)].iloc[0]
    assert row["severity"] == "warning" and "row_sum" in row["detail"] and "155" in row["detail"]
    assert (row["expected"], row["found"]) == (2729.12, 3129.12)  # both values kept
    # the reader's own note is kept, as a warning
    assert ((doubted["check"] == "table_parse") & (doubted["source_line"] == 155)).any()


def test_a_code_no_classification_has_is_a_parse_doubt():
    doc = load_doc("000")
    li = golden_line_items("000")
    junk = pd.DataFrame([{"table_key": "expenditure", "side": None, "code": "390", "item": "140.45万元),其中", "level": 1,
                          "column": "本年支出合计", "amount": 2021.0, "source_line": 170, "doc_id": doc.doc_id}])
    checks = _failed(audit(doc, pd.concat([li, junk], ignore_index=True)))
    assert "error" not in set(checks["severity"])
    assert checks[checks["check"] == "parse_doubt"]["detail"].str.contains("390").any()


def test_template_families_override_a_tables_identities():
    from fiscal_nlp.validate.declared import load_declarations

    declared = load_declarations()
    assert [i.text for i in declared.rules("gov_fund", "budget").row] == ["小计 = 基本支出 + 项目支出"]
    assert len(declared.rules("gov_fund", "final").row) == 2 and declared.rules("gov_fund", None).row == declared.tables["gov_fund"].row


def test_a_narrative_figure_against_a_doubted_row_is_a_parse_doubt():
    doc = load_doc("003")
    li = golden_line_items("003")
    rows = extract_rows(doc, li)
    plain = _failed(audit(doc, li, rows))
    # 情况说明 公用经费 4.9 (L489) vs 基本支出决算明细表 公用经费合计 4.99 (L339): the document's own gap
    hit = plain[(plain["check"] == "narrative_vs_table") & (plain["found"] == 4.9)]
    assert list(hit["severity"]) == ["error"] and list(hit["related_line"]) == [339]
    note = {"doc_id": doc.doc_id, "check": "table_parse", "passed": False, "severity": "warning", "expected": None,
            "found": None, "detail": "gpb_basic: numbers without a row label", "table_key": "gpb_basic", "source_line": 339}
    doubted = _failed(audit(doc, li, rows, table_checks=[note]))
    hit = doubted[doubted["found"] == 4.9]
    assert list(hit["check"]) == ["parse_doubt"] and list(hit["severity"]) == ["warning"]


@pytest.mark.parametrize("metric", ["收、支总计", "收入支出总计", "财政拨款收入支出总计"])
def test_narrative_grand_totals_are_compared_with_the_summary_tables(metric):
    from fiscal_nlp.validate.narrative import TableCells, check_changes

    # seed 000's summary tables print 总计 2,785.73 (收入支出决算总表) and 2,784.51 (财政拨款收入支出决算总表)
    cells = TableCells(golden_line_items("000"))
    table = "fiscal_summary" if metric.startswith("财政拨款") else "summary"
    total = cells.cell(table, "总计")[0]
    change = {"metric": metric, "project": None, "current": total + Decimal("1.00"), "delta": Decimal("10.00"),
              "pct": None, "source_line": 5}
    rows = [r for r in check_changes([change], cells) if r["check"] == "narrative_vs_table"]
    assert len(rows) == 1 and rows[0]["table_key"] == table
    assert (rows[0]["severity"], rows[0]["expected"], rows[0]["found"]) == ("error", float(total), float(total) + 1.0)


def test_verified_marks_the_cells_a_holding_identity_adds_up(tmp_path):
    """line_items.verified: every cell of seed 000 takes part in an identity that holds (its 16 printed
    gaps are one- or two-cent rounding); a cell changed to break its identities is no longer verified,
    while the other cells of its row still are (their columns' sums hold)."""
    from fiscal_nlp.pipeline import extract_document

    src = seed_path("000")
    li = extract_document(src)["line_items"]
    assert li["verified"].astype(bool).all()
    lines = src.read_text(encoding="utf-8").split("\n")
    # 支出决算表 line 155: 201 一般公共服务支出 本年支出合计 2,729.12 = 基本支出 335.75 + 项目支出 2,393.37
    assert "2,729.12" in lines[154] and "2,393.37" in lines[154]
    lines[154] = lines[154].replace("2,393.37", "2,793.37")
    altered = tmp_path / src.name
    altered.write_text("\n".join(lines), encoding="utf-8")
    li = extract_document(altered)["line_items"]
    row = li[(li.table_key == "expenditure") & (li.source_line == 155)].set_index("column")["verified"].astype(bool)
    assert not row["项目支出"] and row["基本支出"]
