"""District profile: revenue by source, expenditure by function, 基本 vs 项目, 人员 vs 公用, key facts, audit."""
from __future__ import annotations

import pandas as pd

from ._common import rows, with_citation

TOTAL_LABELS = ("合计", "总计", "本年收入合计", "本年支出合计", "收入总计", "支出总计")
_TOTAL_COLUMNS = ("本年支出合计", "合计", "决算数", "金额")


def _pick_column(df: pd.DataFrame, preferred=_TOTAL_COLUMNS) -> str | None:
    for col in preferred:
        if (df["column"] == col).any():
            return col
    return None


def revenue_by_source(tables, doc_id: str) -> pd.DataFrame:
    """Income lines of 收入支出(决算)总表 (numbered sources, without totals/carry-overs): item, amount, citation."""
    s = rows(tables, doc_id, "summary")
    s = s[(s["side"] == "income") & s["item"].str.match(r"^[一二三四五六七八九十]+、")]
    out = with_citation(tables, s[["doc_id", "item", "amount", "source_line"]])
    return out.sort_values("source_line").reset_index(drop=True)


def expenditure_by_function(tables, doc_id: str, level: int = 1) -> pd.DataFrame:
    """支出(决算)表 rows at functional level 1 类 / 2 款 / 3 项: code, item, total, basic, project, citation."""
    e = rows(tables, doc_id, "expenditure")
    if e.empty:
        e = rows(tables, doc_id, "gpb_expenditure")
    e = e[e["level"] == level]
    if e.empty:
        return pd.DataFrame(columns=["doc_id", "code", "item", "total", "basic", "project", "source_line", "citation"])
    wide = e.pivot_table(index=["doc_id", "code", "item", "source_line"], columns="column", values="amount",
                         aggfunc="first").reset_index()
    total_col = _pick_column(e)
    wide = wide.rename(columns={total_col: "total", "基本支出": "basic", "项目支出": "project"})
    for c in ("total", "basic", "project"):
        if c not in wide:
            wide[c] = float("nan")
    wide = with_citation(tables, wide[["doc_id", "code", "item", "total", "basic", "project", "source_line"]])
    return wide.sort_values("code").reset_index(drop=True)


def basic_vs_project(tables, doc_id: str) -> pd.DataFrame:
    """基本支出 vs 项目支出 from the 合计 row of 支出(决算)表: kind, amount (万元), share (%), citation."""
    for key in ("expenditure", "gpb_expenditure"):
        e = rows(tables, doc_id, key)
        tot = e[(e["item"] == "合计") & e["column"].isin(["基本支出", "项目支出"])]
        if len(tot):
            out = tot[["doc_id", "column", "amount", "source_line"]].rename(columns={"column": "kind"})
            out = out.drop_duplicates("kind")
            out["share"] = (out["amount"].astype("float64") / float(out["amount"].sum()) * 100).round(2)
            return with_citation(tables, out).sort_values("kind").reset_index(drop=True)
    return pd.DataFrame(columns=["doc_id", "kind", "amount", "source_line", "share", "citation"])


def personnel_vs_public(tables, doc_id: str) -> pd.DataFrame:
    """人员经费 vs 公用经费 (基本支出明细表): the printed 合计 rows, else 301+303 vs 302 by economic code."""
    b = rows(tables, doc_id, "gpb_basic")
    col = _pick_column(b, ("决算数", "合计", "金额", "本年支出合计")) if len(b) else None
    b = b[b["column"] == col] if col else b
    printed = b[b["item"].isin(["人员经费合计", "公用经费合计"])].drop_duplicates("item")
    if len(printed) == 2:
        out = printed[["doc_id", "item", "amount", "source_line"]].rename(columns={"item": "category"})
        out["category"] = out["category"].str.replace("合计", "", regex=False)
    else:
        lvl1 = b[b["level"] == 1]
        groups = {"人员经费": ("301", "303"), "公用经费": ("302",)}
        recs = []
        for cat, codes in groups.items():
            part = lvl1[lvl1["code"].isin(codes)]
            if len(part):
                recs.append({"doc_id": doc_id, "category": cat, "amount": float(part["amount"].sum()),
                             "source_line": int(part["source_line"].min())})
        out = pd.DataFrame(recs, columns=["doc_id", "category", "amount", "source_line"])
    if out.empty:
        return pd.DataFrame(columns=["doc_id", "category", "amount", "source_line", "share", "citation"])
    out["share"] = (out["amount"].astype("float64") / float(out["amount"].sum()) * 100).round(2)
    return with_citation(tables, out).sort_values("category", ascending=False).reset_index(drop=True)


def economic_breakdown(tables, doc_id: str) -> pd.DataFrame:
    """基本支出明细表 by economic class (301/302/303…, level 1): code, item, amount, citation."""
    b = rows(tables, doc_id, "gpb_basic")
    col = _pick_column(b, ("决算数", "合计", "金额", "本年支出合计")) if len(b) else None
    b = b[(b["level"] == 1) & (b["column"] == col)] if col else b.iloc[0:0]
    return with_citation(tables, b[["doc_id", "code", "item", "amount", "source_line"]]).sort_values("code").reset_index(drop=True)


def key_facts(tables, doc_id: str, keys: list[str] | None = None) -> pd.DataFrame:
    """`facts` rows (staffing, 三公, procurement …) with the sentence and its citation."""
    f = tables["facts"]
    f = f[f["doc_id"] == doc_id]
    if keys:
        f = f[f["key"].isin(keys)]
    f = f[["doc_id", "key", "value", "unit", "text", "source_line"]].copy()
    # a value the audit found printed in the wrong unit (`unit_slip`: 645.72 元 whose parts sum to 645.72 万元)
    # is shown as the figure its parts support, marked; the flag (with_citation's `audit`) names the slip
    c = tables["checks"]
    slips = c[(c["check"] == "unit_slip") & ~c["passed"].fillna(False).astype(bool) & c["doc_id"].isin(f["doc_id"])]
    f["audit_status"] = "ok"
    for s in slips.itertuples():
        hit = (f["doc_id"] == s.doc_id) & (f["source_line"] == s.source_line) & \
              ((f["value"].astype("float64") - float(s.found)).abs() < 1e-9)
        f.loc[hit, "value"] = float(s.expected)
        f.loc[hit, "audit_status"] = "resolved"
    return with_citation(tables, f).reset_index(drop=True)


def audit_summary(tables, doc_id: str) -> pd.DataFrame:
    """Checks per check id: total, passed, and failures by severity."""
    c = tables["checks"]
    c = c[c["doc_id"] == doc_id]
    cols = ["check", "total", "passed", "error", "rounding", "warning", "info"]
    if c.empty:
        return pd.DataFrame(columns=cols)
    passed = c["passed"].fillna(False).astype(bool)
    out = c.assign(passed_=passed).groupby("check").agg(total=("passed_", "size"), passed=("passed_", "sum"))
    sev = c[~passed].groupby(["check", "severity"]).size().unstack(fill_value=0)
    out = out.join(sev, how="left").fillna(0)
    for s in ("error", "rounding", "warning", "info"):
        if s not in out:
            out[s] = 0
    return out.reset_index()[cols].astype({k: int for k in cols[1:]})
