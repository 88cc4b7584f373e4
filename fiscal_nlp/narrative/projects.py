"""Narrative stage: every project with money attached -> `projects` rows (one per statement).

`source_kind` says where a row comes from:
  self_evaluation  “X项目绩效自评综述：项目全年预算数为240万元，执行数为239.99万元，完成预算的99.9%”
                   and “X项目到位资金2190万元，实际支出2190万元，资金使用率为100%”
  evaluation_form  the 自评表 execution row (预算数(A) / 执行数(B) / 执行率)
  budget_narrative “政务网平台运行费 305.80万元，主要用于…” (a budget in 部门预算, spending in 部门决算)
  sub_item         “一是网络运转维护费。该项目支出1492.009583万元，主要用于…”
  declaration      部门项目申报表 (项目编码, 项目总预算, 项目当年预算, 前两年预算安排)
The same project usually appears several times; `checks` compares those rows. Department-wide
statements (“部门整体支出绩效自评综述”) are facts, not projects.
"""
from __future__ import annotations

import re

from .declarations import Declaration
from .forms import Block, find_blocks, read_evaluation
from .text import NUM, AnchoredPattern, ClausePattern, JoinedText, strip_subject, subject_start, to_decimal
from .themes import ThemeDictionary

_SELF_EVAL = ClausePattern(
    rf"(?P<name>[^。;\n]*?)(?:项目)?绩效自评综述[:：]?项目全年预算数?为(?P<budget>{NUM})万元,"
    rf"执行数为(?P<executed>{NUM})万元(?:\([^)]*\))?,完成预算的?(?P<rate>{NUM})%"
)
_FUNDS_USED = ClausePattern(
    rf"(?P<name>[^。;,\n]*?)(?:项目)?到位资金(?P<budget>{NUM})万元,实际支出(?P<executed>{NUM})万元,"
    rf"资金使用率为?(?P<rate>{NUM})%"
)
_SUB_ITEM = re.compile(
    rf"[一二三四五六七八九十]{{1,4}}是(?P<name>[^,。;:\n]{{2,30}}?)(?:。?该项目支出)?(?P<amount>{NUM})万元,?主要用于"
)
_PURPOSE = r"万元(?=,?(?:主要用于|主要成效)|:)"  # an amount's unit, followed by what the money is for
_NARRATIVE = AnchoredPattern(
    rf"(?:^|(?<=[。;:\n])|(?<=主要用于))(?P<name>[^,。;:\n]{{2,60}}?)(?P<amount>{NUM}){_PURPOSE}",
    # tried only where an amount is followed by its purpose (most “万元” are not), the name at
    # most 60 characters before the amount
    anchor=re.compile(_PURPOSE), lead="0123456789,.", before=60,
)
# Narrative “amounts with a purpose” that are not projects: functional subjects (…支出), totals, 人员/公用经费.
_NOT_A_PROJECT = re.compile(r"(?:支出|为|合计|总额|总计)$|^(?:人员经费|公用经费|基本支出|项目支出)$")
_DEPARTMENT_WIDE = {"部门整体支出", "整体支出", "部门整体"}


def _row(jt: JoinedText, themes: ThemeDictionary, kind: str, name: str | None, start: int, end: int, **money) -> dict:
    row = {
        "name": name, "code": None, "budget": None, "executed": None, "stated_rate": None,
        "total_budget": None, "prior_budgets": None, "theme": themes.assign(name),
        "source_line": jt.source_line(start), "source_kind": kind, "page": jt.page(start),
        "_span": (start, end),
    }
    row.update(money)
    return row


def _statements(jt: JoinedText, themes: ThemeDictionary) -> list[dict]:
    rows = []
    for pattern in (_SELF_EVAL, _FUNDS_USED):
        for m in pattern.finditer(jt.text):
            name = strip_subject(m["name"])
            if not name or name in _DEPARTMENT_WIDE:
                continue
            rows.append(_row(jt, themes, "self_evaluation", name, _start(m), m.end(),
                             budget=to_decimal(m["budget"]), executed=to_decimal(m["executed"]),
                             stated_rate=to_decimal(m["rate"])))
    return rows


def _start(m: re.Match) -> int:
    """Offset of the project name's first character (after enumerators and the year)."""
    return subject_start(m.string, m.start("name"), m.end("name"))


def _narratives(jt: JoinedText, themes: ThemeDictionary, is_budget: bool) -> list[dict]:
    field = "budget" if is_budget else "executed"
    rows, taken = [], []
    for m in _SUB_ITEM.finditer(jt.text):
        rows.append(_row(jt, themes, "sub_item", m["name"], m.start(), m.end(), **{field: to_decimal(m["amount"])}))
        taken.append(m.span())
    for m in _NARRATIVE.finditer(jt.text):
        name = strip_subject(m["name"].split("主要用于")[-1])
        if not name or _NOT_A_PROJECT.search(name) or any(s < m.end() and m.start() < e for s, e in taken):
            continue
        rows.append(_row(jt, themes, "budget_narrative", name, _start(m), m.end(), **{field: to_decimal(m["amount"])}))
    return rows


def _forms(jt: JoinedText, themes: ThemeDictionary, blocks: list[Block]) -> list[dict]:
    rows = []
    for block in blocks:
        if block.kind != "项目名称":
            continue
        form = read_evaluation(jt, block)
        if form is None:
            continue
        rows.append(_row(jt, themes, "evaluation_form", block.name, block.start, block.end,
                         budget=form.budget, executed=form.executed, stated_rate=form.rate))
    return rows


def _declarations(jt: JoinedText, themes: ThemeDictionary, declarations: list[Declaration]) -> list[dict]:
    return [
        _row(jt, themes, "declaration", d.block.name, d.block.start, d.block.end, code=d.code,
             budget=d.budget, total_budget=d.total_budget,
             prior_budgets={y: float(v) for y, v in sorted(d.prior_budgets.items())} or None)
        for d in declarations
    ]


def extract_projects(jt: JoinedText, themes: ThemeDictionary, declarations: list[Declaration], is_budget: bool,
                     blocks: list[Block] | None = None) -> list[dict]:
    """All project rows of a document, in text order. `is_budget`: a 部门预算 (amounts are budgets).

    `blocks`: the document's `find_blocks`, when the caller already has them.
    """
    blocks = find_blocks(jt) if blocks is None else blocks
    rows = (_statements(jt, themes) + _narratives(jt, themes, is_budget) + _forms(jt, themes, blocks)
            + _declarations(jt, themes, declarations))
    return sorted(rows, key=lambda r: r["_span"][0])
