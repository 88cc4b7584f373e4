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
