"""Narrative stage: budget-vs-actual statements (年初预算 vs 支出决算) -> `variances` rows.

Phrasings of the national final-account template, all matched on the joined text:
  “一般公共服务支出(类)。年初预算为2272.01万元，支出决算为2727.90万元，完成年初预算的120.07%，
   支出决算数大于年初预算数的主要原因是新增了终端采购项目。”
  “…年初预算为0万元，支出决算为35万元，支出决算数大于年初预算数的主要原因是年中追加预算。” (no rate)
  ““三公”经费财政拨款支出全年预算为0万元，支出决算为0万元。”
  “公务接待费支出决算为0.00万元，完成年初预算的0.00%，比年初预算减少2.00万元，主要原因是…”
    (no budget printed: budget = actual − the printed difference; without a difference the
     statement is left to the `unparsed_statement` check).
Amounts are Decimals as printed (precision drives the rate checks); `_span` is internal.
"""
from __future__ import annotations

import re
from decimal import Decimal

from .codes import CodeResolver
from . import grammar
from .reasons import Taxonomy, attach_reasons, find_reason
from .text import NUM, ClausePattern, JoinedText, strip_subject, subject_start, to_decimal

_RATE = rf"(?:,?(?:完成|为|占)(?:年初|全年|调整)?预算(?:数)?的?(?P<rate>{NUM})%)?"
_FULL = ClausePattern(
    rf"(?P<subject>[^。;\n]*?)。?(?P<basis>年初|全年)?预算(?:数)?为?(?P<budget>{NUM})万元,?"
    rf"(?:支出)?决算(?:数)?为?(?P<actual>{NUM})万元" + _RATE,
    anchor=re.compile(r"预算数?为?\d"), before=3,  # “预算” with an amount (not every “预算”), after “。全年”
)
_RATE_NEXT = re.compile(rf"。完成(?:年初|全年|调整)?预算(?:数)?的?(?P<rate>{NUM})%")
_ACTUAL_ONLY = ClausePattern(
    rf"(?P<subject>[^。;\n]*?)支出决算(?:数)?为?(?P<actual>{NUM})万元,完成年初预算(?:数)?的?(?P<rate>{NUM})%"
    rf"(?:,比年初预算(?P<dir>增加\(减少\)|增加|减少)(?P<delta>{NUM})万元)?"
)


def _budget_from_difference(actual: Decimal, direction: str | None, delta: str | None) -> Decimal | None:
    """Budget implied by “比年初预算减少2.00万元”: actual + 2.00; an unsigned “增加(减少)” only when 0."""
    if delta is None:
        return None
    d = to_decimal(delta)
    if direction == "增加":
        return actual - d
    if direction == "减少":
        return actual + d
    return actual if d == 0 else None


def extract_variances(jt: JoinedText, resolver: CodeResolver, taxonomy: Taxonomy,
                      fiscal_year: int | None = None) -> list[dict]:
    """All budget-vs-actual statements of a document, in text order (`fiscal_year`: see `extract_changes`)."""
    text = jt.text
    found: list[dict] = []
    for m in _FULL.finditer(text):
        found.append(dict(m=m, start=m.start(), budget=to_decimal(m["budget"]), actual=to_decimal(m["actual"]),
                          rate=m["rate"], basis=f"{m['basis']}预算" if m["basis"] else None, span=m.span()))
    for f in found:  # “…支出决算为0.88万元。完成年初预算的100.00%。”: the rate in the next sentence
        if f["rate"] is None:
            after = _RATE_NEXT.match(text, f["span"][1])
            if after:
                f["rate"], f["span"] = after["rate"], (f["span"][0], after.end())
    taken = [f["span"] for f in found]
    for m in _ACTUAL_ONLY.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in taken):
            continue
        budget = _budget_from_difference(to_decimal(m["actual"]), m["dir"], m["delta"])
        if budget is not None:
            found.append(dict(m=m, start=m.start(), budget=budget, actual=to_decimal(m["actual"]), rate=m["rate"],
                              basis="年初预算", span=m.span()))
    taken = [f["span"] for f in found]
    # the grammar: what the seed patterns above do not read
    for st in grammar.find_changes(jt, taken, fiscal_year):
        if st.kind == "variance" and st.delta is not None and st.current is not None:
            # “S 支出A万元，较年初预算减少D万元”: the budget is the actual minus the signed difference
            found.append(dict(st=st, start=st.start, budget=st.current - st.delta, actual=st.current,
                              rate=None, basis=st.basis, span=st.span))
    taken = [f["span"] for f in found]
    for st in grammar.find_variances(jt, taken):
        found.append(dict(st=st, start=st.start, budget=st.previous, actual=st.current,
                          rate=st.rate, basis=st.basis, span=st.span))
    found.sort(key=lambda f: f["start"])

    rows = []
    for i, f in enumerate(found):
        m = f.get("m")
        if m is not None:
            raw = m["subject"]
            subject = strip_subject(raw)
            start = subject_start(text, m.start("subject"), m.end("subject"))
            if grammar.PURPOSE.search(raw):  # “1、…(项)。主要用于：…。年初预算为…”: the item is the subject
                heading = grammar.item_heading(text, m.start("subject") + len(raw))
                if heading:
                    subject = heading
                    start = text.rfind("\n", 0, m.start("subject")) + 1
        else:
            subject, start = f["st"].subject, f["start"]
        if not subject:
            continue
        budget, actual = f["budget"], f["actual"]
        stop = found[i + 1]["start"] if i + 1 < len(found) else None
        reason = find_reason(text, f["span"][1], stop)
        rate = f["rate"]
        rows.append({
            "subject": subject,
            "code": resolver.resolve(subject),
            "budget": budget,
            "actual": actual,
            "stated_rate": (rate if isinstance(rate, Decimal) else to_decimal(rate)) if rate is not None else None,
            "computed_rate": float(actual / budget * 100) if budget else None,
            "basis": f["basis"],
            "reason": reason,
            "reason_category": taxonomy.classify(reason),
            "source_line": jt.source_line(start),
            "page": jt.page(start),
            "_span": f["span"],
            "_subject": subject,
        })
    attach_reasons(text, rows, taxonomy)
    return rows
