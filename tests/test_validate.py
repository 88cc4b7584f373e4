"""fiscal_nlp.validate: the audit finds every inconsistency the documents contain, and invents none.

The expected findings (tests/golden/audit_findings.csv) were worked out by reading the
seeds and doing the sums by hand, independently of the parser.
"""
from __future__ import annotations

import pandas as pd
import pytest

from conftest import GOLDEN, load_doc
from fiscal_nlp.tables import extract_line_items
from fiscal_nlp.validate import audit

FINDINGS = pd.read_csv(GOLDEN / "audit_findings.csv", dtype={"doc": str})


def _audit(seed):
    doc = load_doc(seed)
    li, _ = extract_line_items(doc)
    return audit(doc, li)


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
