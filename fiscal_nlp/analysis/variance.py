"""Budget vs actual: per-subject variances, stated vs computed rates, project execution, unexplained deviations."""
from __future__ import annotations

import pandas as pd

from ._common import with_citation

DEFAULT_THRESHOLD_PCT = 10.0


def variance_table(tables, doc_id: str) -> pd.DataFrame:
    """`variances` of one document plus variance (万元, %) and the stated-minus-computed rate gap."""
    v = tables["variances"]
    v = v[v["doc_id"] == doc_id].copy()
    budget = v["budget"].astype("float64")
    actual = v["actual"].astype("float64")
    v["variance"] = (actual - budget).round(2)
    v["variance_pct"] = ((actual - budget) / budget.where(budget != 0) * 100).round(2)
    v["rate_gap"] = (v["stated_rate"].astype("float64") - v["computed_rate"].astype("float64")).round(2)
    # a chart label that keeps additions from a zero budget visible (their % of budget is undefined)
    v["chart_label"] = v["subject"].where(budget != 0, v["subject"] + "（年初预算为 0，年中新增 added from a zero budget）")
    cols = ["doc_id", "subject", "code", "budget", "actual", "variance", "variance_pct", "stated_rate",
            "computed_rate", "rate_gap", "reason", "reason_category", "source_line", "chart_label"]
    return with_citation(tables, v[cols]).sort_values("source_line").reset_index(drop=True)


def unexplained_deviations(vt: pd.DataFrame, threshold_pct: float = DEFAULT_THRESHOLD_PCT) -> pd.DataFrame:
    """Rows of `variance_table` deviating more than `threshold_pct` % from budget with no stated reason."""
    if vt.empty:
        return vt
    reason = vt["reason"].astype("string").str.strip()
    mask = (vt["variance_pct"].abs() > threshold_pct) & (reason.isna() | (reason == ""))
    return vt[mask.fillna(False).astype(bool)].reset_index(drop=True)


def rate_mismatches(vt: pd.DataFrame, tolerance: float = 0.01) -> pd.DataFrame:
    """Rows where the printed completion rate differs from actual/budget by more than `tolerance` points."""
    if vt.empty:
        return vt
    return vt[(vt["rate_gap"].abs() > tolerance).fillna(False).astype(bool)].reset_index(drop=True)


def project_execution(tables, doc_id: str) -> pd.DataFrame:
    """Projects with a budget and an executed amount: computed execution rate next to the stated one.

    Figures are those the document's arithmetic supports (`audited_projects`); `audit` names any conflict."""
    p = tables["projects"]
    from .project_mix import audited_projects

    p = audited_projects(p[(p["doc_id"] == doc_id) & p["executed"].notna()]).copy()
    budget = p["budget"].astype("float64")
    p["computed_rate"] = (p["executed"].astype("float64") / budget.where(budget != 0) * 100).round(2)
    cols = ["doc_id", "name", "code", "theme", "budget", "executed", "stated_rate", "computed_rate", "source_line",
            "audit_status", "audit"]
    return with_citation(tables, p[cols]).sort_values("source_line").reset_index(drop=True)
