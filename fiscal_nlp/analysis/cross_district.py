"""Districts side by side: totals, project share, personnel cost per head, execution, audit, completeness.

Vectorised over all documents at once (group-bys and merges, no per-document filtering of the big
tables), so the cost grows with the rows read: pass `years` to `load` to read only those partitions.
"""
from __future__ import annotations

import pandas as pd

from ._common import documents_of, place_of
from .project_mix import audited_projects

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
_BASIC_COLUMNS = ("决算数", "合计", "金额", "本年支出合计")
COMPLETENESS_COLUMNS = ["doc_id", "district", "fiscal_year", "doc_kind", "kind", "item", "present", "detail"]


def _docs(tables, years):
    docs = documents_of(tables)
    if years:
        docs = docs[docs["fiscal_year"].isin([int(y) for y in years])]
    return docs


def disclosure_completeness(tables, years: list[int] | None = None) -> pd.DataFrame:
    """One row per (document, required item): kind (table/explanation), item, present, detail."""
    docs = _docs(tables, years)[["doc_id", "district", "fiscal_year", "doc_kind"]]
    if docs.empty:
        return pd.DataFrame(columns=COMPLETENESS_COLUMNS)
    ids = set(docs["doc_id"])
    req = pd.DataFrame([(k, key) for k, keys in REQUIRED_TABLES.items() for key in keys], columns=["_k", "item"])
    tabs = docs.assign(_k=docs["doc_kind"].where(docs["doc_kind"].isin(list(REQUIRED_TABLES)), "final")).merge(req, on="_k")
    li = tables["line_items"]
    have = li.loc[li["doc_id"].isin(ids), ["doc_id", "table_key"]].drop_duplicates().assign(present=True)
    tabs = tabs.merge(have.rename(columns={"table_key": "item"}), on=["doc_id", "item"], how="left")
    tabs["present"] = tabs["present"].fillna(False).astype(bool)
    checks = tables["checks"]
    flagged = checks[(checks["check"] == "table_presence") & ~checks["passed"].fillna(False).astype(bool)
                     & checks["doc_id"].isin(ids)].drop_duplicates(["doc_id", "table_key"])
    tabs = tabs.merge(flagged[["doc_id", "table_key", "detail"]].rename(columns={"table_key": "item"}),
                      on=["doc_id", "item"], how="left")
    tabs["detail"] = tabs["detail"].where(~tabs["present"], None)
    tabs.loc[~tabs["present"] & tabs["detail"].isna(), "detail"] = "no rows extracted for this table"
    tabs["kind"] = "table"
    parts = [tabs]
    for name, (kinds, table, keys) in REQUIRED_EXPLANATIONS.items():
        t = tables[table]
        t = t[t["doc_id"].isin(ids)]
        if keys is not None:
            t = t[t["key"].isin(keys)]
        found = set(t["doc_id"])
        e = docs[docs["doc_kind"].isin(kinds)].copy()
        e["kind"], e["item"] = "explanation", name
        e["present"] = e["doc_id"].isin(found)
        e["detail"] = None
        e.loc[~e["present"], "detail"] = f"no {name} found in the text"
        parts.append(e)
    out = pd.concat(parts, ignore_index=True)
    order = {d: i for i, d in enumerate(docs["doc_id"])}
    out["_o"] = out["doc_id"].map(order)
    out["_kind"] = (out["kind"] == "explanation").astype(int)
    return out.sort_values(["_o", "_kind"], kind="stable")[COMPLETENESS_COLUMNS].reset_index(drop=True)


def completeness_score(completeness: pd.DataFrame) -> pd.DataFrame:
    """Per document: share (%) of required tables and explanations present."""
    if completeness.empty:
        return pd.DataFrame(columns=["doc_id", "n_required", "n_present", "completeness"])
    g = completeness.groupby("doc_id", sort=False)["present"].agg(n_required="size", n_present="sum").reset_index()
    g["completeness"] = (g["n_present"] / g["n_required"] * 100).round(1)
    return g


def _personnel(li: pd.DataFrame) -> pd.Series:
    """人员经费 per document from 基本支出明细表: the printed 人员经费合计, else 301 + 303 (as `personnel_vs_public`)."""
    b = li[li["table_key"] == "gpb_basic"]
    if b.empty:
        return pd.Series(dtype="float64")
    rank = b["column"].map({c: i for i, c in enumerate(_BASIC_COLUMNS)})
    best = rank.groupby(b["doc_id"]).transform("min")
    b = b[(rank == best) | best.isna()]
    printed = b[b["item"].isin(["人员经费合计", "公用经费合计"])].drop_duplicates(["doc_id", "item"])
    both = printed.groupby("doc_id")["item"].transform("size") == 2
    from_printed = printed[both & (printed["item"] == "人员经费合计")].set_index("doc_id")["amount"].astype("float64")
    lvl1 = b[(b["level"] == 1) & b["code"].isin(["301", "303"]) & ~b["doc_id"].isin(from_printed.index)]
    from_codes = lvl1.groupby("doc_id")["amount"].sum().astype("float64")
    return pd.concat([from_printed, from_codes])


def district_summary(tables, years: list[int] | None = None) -> pd.DataFrame:
    """One row per document: totals, project share, personnel cost per staff, project execution and audit pass rates.

    `execution_rate` is Σ executed / Σ budget over the document's projects (one mention each) with the figures
    the document's arithmetic supports (`audited_projects`); projects with an unresolved audit conflict are
    left out and counted in `n_projects_conflict`; `n_projects_resolved` counts those whose printed
    figures disagreed and were resolved.
    """
    docs = _docs(tables, years)
    ids = set(docs["doc_id"])
    li = tables["line_items"]
    li = li[li["doc_id"].isin(ids)]
    e = li[(li["table_key"] == "expenditure") & (li["item"] == "合计") & li["column"].isin(["本年支出合计", "基本支出", "项目支出"])]
    tot = e.drop_duplicates(["doc_id", "column"]).pivot(index="doc_id", columns="column", values="amount")
    for c in ("本年支出合计", "基本支出", "项目支出"):
        if c not in tot:
            tot[c] = float("nan")
    personnel = _personnel(li)
    f = tables["facts"]
    staff = f[f["doc_id"].isin(ids) & (f["key"] == "staff_actual")].drop_duplicates("doc_id").set_index("doc_id")["value"]
    p = tables["projects"]
    p = p[p["doc_id"].isin(ids) & p["executed"].notna() & p["budget"].notna()]
    pr = audited_projects(p) if len(p) else p.assign(audit_status=pd.Series(dtype=object))
    usable = pr[pr["audit_status"] != "conflict"]
    ex = usable.groupby("doc_id").agg(executed=("executed", "sum"), budget=("budget", "sum"))
    n_res = pr[pr["audit_status"] == "resolved"].groupby("doc_id").size()
    n_con = pr[pr["audit_status"] == "conflict"].groupby("doc_id").size()
    c = tables["checks"]
    c = c[c["doc_id"].isin(ids)]
    passed = c.assign(_p=c["passed"].fillna(False).astype(bool)).groupby("doc_id")["_p"].mean()
    score = completeness_score(disclosure_completeness(tables, years)).set_index("doc_id")["completeness"]

    out = docs[["doc_id", "district", "department", "fiscal_year", "doc_kind"]].copy()
    out.insert(1, "place", [place_of(r) for r in docs.to_dict("records")])
    d = out["doc_id"]
    total = d.map(tot["本年支出合计"]).astype("float64")
    project = d.map(tot["项目支出"]).astype("float64")
    out["total_expenditure"], out["project_expenditure"] = total, project
    out["project_share"] = (project / total.where(total != 0) * 100).round(2)
    out["personnel_cost"] = d.map(personnel).astype("float64")
    out["staff_actual"] = d.map(staff).astype("float64")
    out["personnel_per_staff"] = (out["personnel_cost"] / out["staff_actual"].where(out["staff_actual"] != 0)).round(2)
    budget = d.map(ex["budget"]).astype("float64")
    out["execution_rate"] = (d.map(ex["executed"]).astype("float64") / budget.where(budget != 0) * 100).round(2)
    out["n_projects_resolved"] = d.map(n_res).fillna(0).astype(int)
    out["n_projects_conflict"] = d.map(n_con).fillna(0).astype(int)
    out["audit_pass_rate"] = (d.map(passed).astype("float64") * 100).round(1)
    out["completeness"] = d.map(score).astype("float64")
    out["fiscal_year"] = out["fiscal_year"].astype("Int64")
    out["basic_expenditure"] = d.map(tot["基本支出"]).astype("float64")
    out["audit"] = [
        "; ".join(x for x in (
            f"⚠ execution rate uses {r} project figure(s) resolved from an audit conflict (see budget_vs_actual)" if r else "",
            f"⚠ {c} project(s) with an unresolved audit conflict left out of the execution rate" if c else "") if x) or None
        for r, c in zip(out["n_projects_resolved"], out["n_projects_conflict"])]
    return out.reset_index(drop=True)


def place_summary(summary: pd.DataFrame, how: str = "median") -> pd.DataFrame:
    """`district_summary` by place, year and kind: the number of disclosures and the median (or sum, for
    amounts to be stacked) of each figure — what a chart or a table can show for thousands of documents."""
    cols = ["total_expenditure", "basic_expenditure", "project_expenditure", "project_share", "personnel_per_staff",
            "execution_rate", "audit_pass_rate", "completeness"]
    if summary.empty:
        return pd.DataFrame(columns=["place", "fiscal_year", "doc_kind", "n_documents", *cols])
    g = summary.groupby(["place", "fiscal_year", "doc_kind"], dropna=False)
    out = g[cols].agg(how).round(2)
    out.insert(0, "n_documents", g.size())
    return out.reset_index().sort_values(["place", "fiscal_year", "doc_kind"]).reset_index(drop=True)
