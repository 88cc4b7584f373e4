"""Districts side by side: totals, project share, personnel cost per head, execution, audit, completeness."""
from __future__ import annotations

import pandas as pd

from ._common import documents_of, rows
from .profile import personnel_vs_public
from .project_mix import one_source_per_document

# The standard public tables each disclosure should contain (table_key of `line_items`).
REQUIRED_TABLES = {
    "budget": ("summary", "income", "expenditure", "fiscal_summary", "gpb_expenditure", "gpb_basic",
               "three_public", "gov_fund"),
    "final": ("summary", "income", "expenditure", "fiscal_summary", "gpb_expenditure", "gpb_basic",
              "three_public", "gov_fund", "soe_capital"),
}
# Narrative explanations each disclosure should contain: name -> (doc kinds, table, facts keys or None).
REQUIRED_EXPLANATIONS = {
    "variance_explanations": (("final",), "variances", None),
    "staffing": (("budget", "final"), "facts", ("staff_authorized", "staff_actual")),
    "procurement": (("budget", "final"), "facts", ("procurement_total",)),
}


def disclosure_completeness(tables, years: list[int] | None = None) -> pd.DataFrame:
    """One row per (document, required item): kind (table/explanation), item, present, detail."""
    docs = documents_of(tables)
    if years:
        docs = docs[docs["fiscal_year"].isin([int(y) for y in years])]
    checks = tables["checks"]
    presence = checks[(checks["check"] == "table_presence") & ~checks["passed"].fillna(False).astype(bool)]
    recs = []
    for d in docs.itertuples():
        li = tables["line_items"]
        have = set(li.loc[li["doc_id"] == d.doc_id, "table_key"])
        flagged = presence[presence["doc_id"] == d.doc_id].drop_duplicates("table_key").set_index("table_key")["detail"]
        for key in REQUIRED_TABLES.get(d.doc_kind, REQUIRED_TABLES["final"]):
            ok = key in have
            detail = None if ok else (flagged.get(key) or "no rows extracted for this table")
            recs.append({"doc_id": d.doc_id, "district": d.district, "fiscal_year": int(d.fiscal_year),
                         "doc_kind": d.doc_kind, "kind": "table", "item": key, "present": ok, "detail": detail})
        for name, (kinds, table, keys) in REQUIRED_EXPLANATIONS.items():
            if d.doc_kind not in kinds:
                continue
            t = tables[table]
            t = t[t["doc_id"] == d.doc_id]
            ok = bool(len(t) if keys is None else t["key"].isin(keys).any())
            recs.append({"doc_id": d.doc_id, "district": d.district, "fiscal_year": int(d.fiscal_year),
                         "doc_kind": d.doc_kind, "kind": "explanation", "item": name, "present": ok,
                         "detail": None if ok else f"no {name} found in the text"})
    return pd.DataFrame(recs, columns=["doc_id", "district", "fiscal_year", "doc_kind", "kind", "item", "present",
                                       "detail"])


def completeness_score(completeness: pd.DataFrame) -> pd.DataFrame:
    """Per document: share (%) of required tables and explanations present."""
    if completeness.empty:
        return pd.DataFrame(columns=["doc_id", "n_required", "n_present", "completeness"])
    g = completeness.groupby("doc_id")["present"].agg(n_required="size", n_present="sum").reset_index()
    g["completeness"] = (g["n_present"] / g["n_required"] * 100).round(1)
    return g


def district_summary(tables, years: list[int] | None = None) -> pd.DataFrame:
    """One row per document: totals, project share, personnel cost per staff, execution and audit pass rates."""
    docs = documents_of(tables)
    if years:
        docs = docs[docs["fiscal_year"].isin([int(y) for y in years])]
    score = completeness_score(disclosure_completeness(tables, years)).set_index("doc_id")
    facts, projects, checks = tables["facts"], tables["projects"], tables["checks"]
    recs = []
    for d in docs.itertuples():
        e = rows(tables, d.doc_id, "expenditure")
        tot = e[e["item"] == "合计"].drop_duplicates("column").set_index("column")["amount"]
        total = float(tot["本年支出合计"]) if "本年支出合计" in tot else None
        project = float(tot["项目支出"]) if "项目支出" in tot else None
        pvp = personnel_vs_public(tables, d.doc_id).set_index("category")["amount"]
        personnel = float(pvp["人员经费"]) if "人员经费" in pvp else None
        staff = facts[(facts["doc_id"] == d.doc_id) & (facts["key"] == "staff_actual")]["value"]
        staff = float(staff.iloc[0]) if len(staff) else None
        pr = one_source_per_document(projects[(projects["doc_id"] == d.doc_id) & projects["executed"].notna()
                                              & projects["budget"].notna()])
        pr_budget = float(pr["budget"].sum()) if len(pr) else 0.0
        c = checks[checks["doc_id"] == d.doc_id]
        recs.append({
            "doc_id": d.doc_id, "district": d.district, "fiscal_year": int(d.fiscal_year), "doc_kind": d.doc_kind,
            "total_expenditure": total, "project_expenditure": project,
            "project_share": round(project / total * 100, 2) if total and project is not None else None,
            "personnel_cost": personnel, "staff_actual": staff,
            "personnel_per_staff": round(personnel / staff, 2) if personnel is not None and staff else None,
            "execution_rate": round(float(pr["executed"].sum()) / pr_budget * 100, 2) if pr_budget else None,
            "audit_pass_rate": round(float(c["passed"].fillna(False).astype(bool).mean()) * 100, 1) if len(c) else None,
            "completeness": float(score.loc[d.doc_id, "completeness"]) if d.doc_id in score.index else None,
        })
    return pd.DataFrame(recs)
