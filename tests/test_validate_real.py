"""The audit on the real PDFs of ../shared/real: every `error` is an inconsistency of the document.

Skipped when ../shared/real is absent (the files are never copied into the repository). Each
expected error below was checked by reading the PDF (pdftotext -layout, page images): the page and
the printed values are given. A new error, or a known one no longer found, fails the test: read the
page before updating the list (`python benchmarks/audit_real.py` prints them all).
"""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL = next((base / "shared" / "real" for base in (ROOT.parent, ROOT.parent.parent)
             if (base / "shared" / "real").is_dir()), None)
pytestmark = pytest.mark.skipif(REAL is None, reason="../shared/real is not available")

# file -> {(check, expected, found): (page of the statement, page of the table cell)}, read by hand.
KNOWN_ERRORS = {
    # p24 情况说明 “一般公共预算财政拨款基本支出 5377.64 万元。其中：人员经费 4896.98 万元 … 公用经费 480.66 万元”,
    # but p15 一般公共预算财政拨款支出决算表 合计 基本支出 prints 5364.75 and p16 基本支出决算表 人员经费合计
    # 4884.09 (4884.09 + 480.66 = 5364.75): the narrative restates the all-funds 基本支出 (支出决算表 p10:
    # 5377.64) under the fiscal heading.
    "上海市普陀区规划和自然资源局 2024 年度部门决算.pdf": {
        ("narrative_vs_table", 5364.75, 5377.64): (24, 15),
        ("narrative_vs_table", 4884.09, 4896.98): (24, 16),
    },
    # p21 “上海市普陀区财政局2024年度财政拨款收入支出总计0.3万元”, but p13 财政拨款收入支出决算总表 总计
    # prints 2,961.68.
    "上海市普陀区财政局2024年度部门决算.pdf": {
        ("narrative_vs_table", 2961.68, 0.3): (21, 13),
    },
    # p26 “项目支出预算数为4335.3万元。与上年相比减少了1237.7万元，减少13.22%” — 1237.7 / (4335.3 + 1237.7)
    # is 22.21% (13.22% is the 基本支出 sentence's rate, just above); p29 住房公积金 “支出1442.74万元，与上年相比
    # 增加368.97万元，增加34.38%” — 368.97 / 1073.77 is 34.36%.
    "2019年度部门预算公开.pdf": {
        ("stated_change", -22.21, -13.22): (26,),
        ("stated_change", 34.36, 34.38): (29,),
    },
    # p8 住房保障（类）支出3894.09万元 “与上年相比增加878.93万元，增长30%” — 878.93 / 3015.16 is 29.15%.
    "江苏省委办公厅2019年度部门预算公开文件.pdf": {
        ("stated_change", 29.15, 30.0): (8,),
    },
    # p15 机关运行经费 “1,115.85 万元，与上年相比减少 2,233.13 万元，下降66.69%” — 2233.13 / 3348.98 is 66.68%
    # (66.69% of 3348.98 is 2233.43, 0.30 万元 from the printed decrease).
    "江苏省政协办公厅2018年度部门预算.pdf": {
        ("stated_change", -66.68, -66.69): (15,),
    },
    # p9 item 31 住房公积金 “2023年当年预算执行数为348.52万元,2024年预算安排352.67万元,比2023年预算执行数增加
    # 0.53%” — 352.67 vs 348.52 is +1.19% (0.53% is what the item's headline 350.35万元 gives).
    "上海市普陀区人民政府万里街道办事处24年预算.pdf": {
        ("stated_change", 1.19, 0.53): (9,),
    },
}


def _pdfs() -> list[Path]:
    return sorted(REAL.glob("*/*.pdf")) if REAL else []


@pytest.mark.parametrize("path", _pdfs(), ids=lambda p: p.name)
def test_every_error_is_an_inconsistency_of_the_document(path):
    from fiscal_nlp.pipeline import extract_document

    tables = extract_document(path)
    if "checks" not in tables:  # read as an `errors` row (a tables-only file the identifier rejects): nothing audited
        assert path.name not in KNOWN_ERRORS and len(tables["errors"]) == 1
        return
    checks = tables["checks"]
    errors = checks[checks["severity"] == "error"]
    got = {(r["check"], round(float(r["expected"]), 2), round(float(r["found"]), 2)): r["detail"] for _, r in errors.iterrows()}
    known = KNOWN_ERRORS.get(path.name, {})
    assert set(got) == set(known), "\n".join(errors["detail"])
    for key, pages in known.items():  # the finding names both places
        assert all(f"p{page}" in got[key] for page in pages), got[key]
    # and every failed check that is not passed carries a severity
    assert checks.loc[~checks["passed"].astype(bool), "severity"].notna().all()
