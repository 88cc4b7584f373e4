"""Project mix before/after an institutional reform: themes, new/discontinued/continued projects, transfers."""
from __future__ import annotations

import re

import pandas as pd

from ..validate.narrative import project_groups
from ._common import documents_of, rows, with_citation

NO_COMPARISON = "no_comparison"


def compared(before, after, short: bool = False) -> str:
    """What a before/after comparison compares, in words: which years and which kinds of document (a budget
    plans, a final account reports what was spent: comparing the two is not like for like, and says so)."""
    from ._common import KIND_LABELS, year_label

    b = f"{year_label(before)} {KIND_LABELS.get(before.doc_kind, before.doc_kind)}"
    a = f"{year_label(after)} {KIND_LABELS.get(after.doc_kind, after.doc_kind)}"
    text = f"{b} ({before.source_file}) → {a} ({after.source_file})" if not short else f"{b} → {a}"
    if before.doc_kind != after.doc_kind:
        text += ("；注意：预算为计划数，决算为实际支出数 — a budget (planned) compared with a final account (spent)"
                 if not short else "（计划数 vs 实际数 planned vs spent）")
    return text


def reform_pair(tables, district: str | None, reform_year: int = 2024) -> dict:
    """The documents to compare: the latest before `reform_year` and the earliest from it on.

    Returns {"before": doc row or None, "after": doc row or None, "message": str|None}; `message` says in plain
    words why no comparison is possible (e.g. a district with 2019 only).
    """
    docs = documents_of(tables, district)
    docs = docs[docs["fiscal_year"].notna()]  # an undated disclosure cannot be placed before or after a reform
    district = district or "this department"
    before = docs[docs["fiscal_year"] < reform_year]
    after = docs[docs["fiscal_year"] >= reform_year]
    b = before.sort_values(["fiscal_year", "doc_kind"]).iloc[-1] if len(before) else None
    a = after.sort_values(["fiscal_year", "doc_kind"]).iloc[0] if len(after) else None
    years = sorted(set(int(y) for y in docs["fiscal_year"]))
    message = None
    if docs.empty:
        message = f"{district}: no documents in the processed data, so there is nothing to compare."
    elif b is None or a is None:
        side = f"from {reform_year} on" if a is None else f"before {reform_year}"
        message = (f"{district}: documents only for {', '.join(map(str, years))}; none {side}, so a before/after "
                   f"comparison around the {reform_year} reform is not possible.")
    return {"before": b, "after": a, "message": message}


# A document can describe the same project several times (self-evaluation, evaluation form, budget narrative,
# declaration), under spellings that differ; the portfolio takes one mention per project, of the first kind in
# this order. Sub-items (“一是网络运转维护费…该项目支出…”) are parts of a project.
SOURCE_PRIORITY = ("self_evaluation", "evaluation_form", "budget_narrative", "declaration", "sub_item")
_NAME_SUFFIXES = ("项目", "费用", "经费", "费")


def _name_key(name) -> str:
    """Project identity across years: punctuation/whitespace removed and a trailing 项目/费用/经费/费 dropped
    (`政务网平台运行费` and `政务网平台运行项目` are the same project)."""
    key = re.sub(r"[\s“”\"'《》()（）、，。]", "", str(name or ""))
    changed = True
    while changed:
        changed = False
        for suf in _NAME_SUFFIXES:
            if key.endswith(suf) and len(key) > len(suf) + 1:
                key, changed = key[: -len(suf)], True
    return key


def _num(x):
    return None if x is None or x is pd.NA or (isinstance(x, float) and x != x) else float(x)


def _selection(p: pd.DataFrame) -> tuple[list, dict]:
    """Which rows `one_source_per_document` keeps, and for each kept row the rows of its project group
    (its document's mentions of the same project). Plain Python over columns: this runs per document
    over a whole corpus, where pandas' per-group overhead dominated."""
    rank = {k: i for i, k in enumerate(SOURCE_PRIORITY)}
    docs: dict = {}
    codes = p["code"] if "code" in p else [None] * len(p)
    for i, d, name, kind, code in zip(p.index, p["doc_id"], p["name"], p["source_kind"], codes):
        docs.setdefault(d, []).append((i, name if isinstance(name, str) else None, kind, code if isinstance(code, str) else None))
    keep, members = [], {}
    grouped: dict = {}  # documents of one template repeat their project names: group each list once
    for rows in docs.values():
        rows = sorted(rows, key=lambda r: rank.get(r[2], len(SOURCE_PRIORITY)))  # stable: table order within a kind
        if any(r[2] != "sub_item" for r in rows):
            rows = [r for r in rows if r[2] != "sub_item"]
        named = [r for r in rows if r[1] is not None]
        if not named:
            keep += [r[0] for r in rows]
            continue
        first: dict = {}
        names = tuple((r[1], r[3]) for r in named)  # projects are told apart by code or full 类/款/项 path too
        if names not in grouped:
            grouped[names] = project_groups([n for n, _ in names], [c for _, c in names])
        for r, g in zip(named, grouped[names]):
            if g not in first:
                first[g] = r[0]
                members[r[0]] = [r[0]]
            else:
                members[first[g]].append(r[0])
        keep += list(first.values())
    return sorted(keep), members


def one_source_per_document(p: pd.DataFrame) -> pd.DataFrame:
    """One row per project and document (avoids double counting), in the table's order.

    Mentions are grouped as the audit groups them (`project_groups`: names that normalise alike or
    are ≥85% alike), and each project keeps its mention of the first kind in `SOURCE_PRIORITY`: a
    budget's 6 narrated projects and the 8 more it only declares are 14, not 20 or 6. Sub-items
    count only in a document that describes its projects in no other way (they would double their
    project); a mention without a name, which cannot be told apart, only in a document without names.
    """
    if p.empty or "source_kind" not in p:
        return p
    keep, _ = _selection(p)
    return p.loc[keep]


def _dec(x):
    from decimal import Decimal

    return Decimal(str(round(float(x), 6)))


def _rate_fits(stated, executed, budget) -> bool:
    from decimal import Decimal

    from ..validate.compare import judge_rate

    if stated is None or budget is None or not budget or executed is None:
        return False
    # the contract keeps rates as floats: 98.0 may have been printed “98%”, so its last digit is the units
    rate = _dec(stated)
    rate = rate.quantize(Decimal(1)) if rate == rate.to_integral_value() else rate.normalize()
    passed, severity, _ = judge_rate(rate, _dec(executed), _dec(budget))
    return passed or severity == "rounding"


def _distinct(values) -> list[float]:
    out: list[float] = []
    for v in values:
        if v is not None and not any(abs(v - o) <= 0.02 for o in out):
            out.append(v)
    return out


def audited_projects(p: pd.DataFrame) -> pd.DataFrame:
    """`one_source_per_document(p)` with the figures the document's own arithmetic supports.

    When the mentions of one project disagree (the audit's `project_consistency`), the budget/executed
    pair that some printed completion rate confirms is kept (汉阳区 2021 通信链路租赁费: self-evaluation
    36.91 万元 vs evaluation form 436.91; 436.79 / 436.91 = 99.97 % as printed, so 436.91), cited at the
    line that prints it, and `audit_status` is `resolved`; when no printed rate singles one pair out,
    `conflict` (the figure is shown flagged and left out of headline totals). `audit` names the conflict;
    `ok` rows have none. A printed rate that misses amounts all mentions agree on is the rate's problem:
    the audit's `stated_rate` row flags it (`with_citation`).
    """
    if p.empty or "source_kind" not in p:
        return p.assign(audit_status=pd.Series(dtype=object), audit=pd.Series(dtype=object))
    keep, members = _selection(p)
    kept = p.loc[keep].copy()
    status = {i: "ok" for i in keep}
    flags: dict = {}
    budget = dict(zip(p.index, map(_num, p["budget"])))
    executed = dict(zip(p.index, map(_num, p["executed"])))
    rate = dict(zip(p.index, map(_num, p["stated_rate"])))
    kinds = dict(zip(p.index, p["source_kind"]))
    lines = dict(zip(p.index, p["source_line"]))
    new_values: dict = {}
    for i, group in members.items():
        if len(group) < 2:
            continue
        named = [j for j in group if kinds[j] != "sub_item"]
        budgets = _distinct(budget[j] for j in named)
        execs = _distinct(executed[j] for j in named)
        if len(budgets) < 2 and len(execs) < 2:
            continue
        rates = [rate[j] for j in named if rate[j] is not None]
        fits = {(b, e) for b in budgets for e in execs for r in rates if _rate_fits(r, e, b)}
        printed = "; ".join(
            f"{budget[j] if budget[j] is not None else '—'} / {executed[j] if executed[j] is not None else '—'}"
            + (f" ({rate[j]}%)" if rate[j] is not None else "") + f" [{kinds[j]}, line {int(lines[j])}]" for j in named)
        name = p.at[i, "name"]
        if len(fits) == 1:
            b, e = fits.pop()
            support = [j for j in named if budget[j] is not None and executed[j] is not None
                       and abs(budget[j] - b) <= 0.02 and abs(executed[j] - e) <= 0.02]
            new_values[i] = (b, e, support[0] if support else None)  # cite the line that prints the figures shown
            status[i] = "resolved"
            flags[i] = (f"⚠ 审核冲突 audit conflict — {name}: the document prints budget / executed as {printed}; "
                        f"only {e:g} / {b:g} fits a printed rate, so {b:g} / {e:g} is shown")
        else:
            status[i] = "conflict"
            flags[i] = (f"⚠ 审核冲突 audit conflict — {name}: the document prints budget / executed as {printed}; "
                        "no printed rate singles out one pair, so this figure is left out of totals")
    if new_values:  # one assignment per column (a .loc per row cost ~1 ms each over a corpus)
        at = list(new_values)
        kept.loc[at, "budget"] = [new_values[i][0] for i in at]
        kept.loc[at, "executed"] = [new_values[i][1] for i in at]
        cited = [i for i in at if new_values[i][2] is not None]
        for col in ("source_line", "page") if "page" in kept else ("source_line",):
            kept.loc[cited, col] = p.loc[[new_values[i][2] for i in cited], col].to_numpy()
    kept["audit_status"] = [status[i] for i in kept.index]
    kept["audit"] = [flags.get(i) for i in kept.index]
    return kept


def project_portfolio(tables, doc_ids: list[str]) -> pd.DataFrame:
    """Projects of the given documents with their fiscal year (one row per project mention)."""
    docs = tables["documents"][["doc_id", "fiscal_year", "doc_kind"]]
    p = tables["projects"]
    p = audited_projects(p[p["doc_id"].isin(doc_ids)]).merge(docs, on="doc_id", how="left")
    p = p.assign(amount=p["budget"].astype("float64").fillna(p["executed"].astype("float64")))
    return with_citation(tables, p).reset_index(drop=True)


def theme_shares(tables, doc_ids: list[str]) -> pd.DataFrame:
    """Share (%) of project money by theme per fiscal year: fiscal_year, theme, amount, n_projects, share,
    n_conflict (projects whose printed amounts the audit found in conflict, unresolved) and its flag."""
    p = project_portfolio(tables, doc_ids)
    cols = ["fiscal_year", "theme", "amount", "n_projects", "share", "n_conflict", "audit"]
    if p.empty:
        return pd.DataFrame(columns=cols)
    p["theme"] = p["theme"].fillna("未分类")
    p["_flag"] = p["audit_status"] == "conflict"  # counted, and named: the report flags the share
    g = p.groupby(["fiscal_year", "theme"]).agg(amount=("amount", "sum"), n_projects=("name", "size"),
                                                n_conflict=("_flag", "sum")).reset_index()
    g["share"] = (g["amount"] / g.groupby("fiscal_year")["amount"].transform("sum") * 100).round(2)
    g["n_conflict"] = g["n_conflict"].astype(int)
    g["audit"] = [f"⚠ {n} project(s) with an unresolved audit conflict in this amount" if n else None
                  for n in g["n_conflict"]]
    return g[cols].sort_values(["fiscal_year", "theme"]).reset_index(drop=True)


def project_changes(tables, before_doc: str, after_doc: str) -> pd.DataFrame:
    """Projects new / discontinued / continued between two documents, with the budget change (万元)."""
    cols = ["name", "status", "budget_before", "budget_after", "change", "citation_before", "citation_after"]
    p = project_portfolio(tables, [before_doc, after_doc])
    if p.empty:
        return pd.DataFrame(columns=cols)
    p["key"] = p["name"].map(_name_key)
    p = p[p["key"] != ""]
    agg = p.groupby(["doc_id", "key"]).agg(name=("name", "first"), amount=("amount", "sum"),
                                           citation=("citation", "first")).reset_index()
    b = agg[agg["doc_id"] == before_doc].set_index("key")
    a = agg[agg["doc_id"] == after_doc].set_index("key")
    out = []
    for key in sorted(set(b.index) | set(a.index)):
        inb, ina = key in b.index, key in a.index
        bb = b.loc[key, "amount"] if inb else None
        aa = a.loc[key, "amount"] if ina else None
        out.append({"name": (a if ina else b).loc[key, "name"],
                    "status": "continued" if inb and ina else ("new" if ina else "discontinued"),
                    "budget_before": bb, "budget_after": aa,
                    "change": (aa if aa is not None and pd.notna(aa) else 0.0) - (bb if bb is not None and pd.notna(bb) else 0.0),
                    "citation_before": b.loc[key, "citation"] if inb else None,
                    "citation_after": a.loc[key, "citation"] if ina else None})
    df = pd.DataFrame(out, columns=cols)
    df["change"] = df["change"].round(2)
    order = {"new": 0, "continued": 1, "discontinued": 2}
    return df.sort_values(["status", "name"], key=lambda s: s.map(order) if s.name == "status" else s).reset_index(drop=True)


def function_transfers(tables, district: str) -> pd.DataFrame:
    """`reform_events` of a district's documents (which duty moved where, on what basis) with citations."""
    ids = documents_of(tables, district)["doc_id"]
    r = tables["reform_events"]
    r = r[r["doc_id"].isin(ids)]
    cols = ["doc_id", "effective", "unit", "function", "to_org", "basis", "source_line"]
    return with_citation(tables, r[cols]).sort_values(["doc_id", "source_line"]).reset_index(drop=True)


def project_share_over_time(tables, district: str | None = None) -> pd.DataFrame:
    """项目支出 / 本年支出合计 (%) per document, from the 合计 row of 支出(决算)表."""
    recs = []
    for d in documents_of(tables, district).itertuples():
        e = rows(tables, d.doc_id, "expenditure")
        tot = e[e["item"] == "合计"].drop_duplicates("column").set_index("column")
        if "项目支出" in tot.index and "本年支出合计" in tot.index and tot.loc["本年支出合计", "amount"]:
            proj, total = float(tot.loc["项目支出", "amount"]), float(tot.loc["本年支出合计", "amount"])
            recs.append({"doc_id": d.doc_id, "district": d.district, "fiscal_year": int(d.fiscal_year),
                         "doc_kind": d.doc_kind, "project": proj, "total": total,
                         "share": round(proj / total * 100, 2), "source_line": int(tot.loc["项目支出", "source_line"])})
    df = pd.DataFrame(recs, columns=["doc_id", "district", "fiscal_year", "doc_kind", "project", "total", "share",
                                     "source_line"])
    return with_citation(tables, df)
