"""Narrative stage: project declaration forms (部门项目申报表 / 部门专项(绩效目标)申报表).

Read from the “项目名称” blocks of `forms.find_blocks` that carry a budget field:
  项目名称 / 项目编码 / 项目总预算 (or 资金总额) / 项目当年预算 (or 当年资金总额),
  “1.前两年预算安排情况：2022 年的预算安排为 510 万元，2023 年的预算安排为 339.54 万元。”
  “2.当年预算变动情况及理由：…，故将该项目的预算增加 57.83 万元。”
The change sentence becomes a project-level `changes` row: a printed increase/decrease is the
delta; “费用预计为 45 万” gives the new figure, so delta = 45 − the latest prior budget; “无变动”
/ “无变化” is a delta of 0. The reason is the text before the amount clause (“按要求压减经费”).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from .forms import Block, find_blocks
from .reasons import Taxonomy
from .text import NUM, JoinedText, to_decimal

_CODE = re.compile(r"项目编码[:：]?(?P<v>[0-9A-Z]{8,})")
_TOTAL = re.compile(rf"(?:项目总预算|(?<!当年)(?<!年度)资金总额)[:：]?(?P<v>{NUM})")
_BUDGET = re.compile(rf"(?:项目当年预算|当年资金总额)[:：]?(?P<v>{NUM})")
_PRIOR = re.compile(rf"(?P<y>\d{{4}})年(?:的)?预算安排(?:为)?(?P<v>{NUM})万元?")
_CHANGE = re.compile(r"当年预算变动情况(?:及理由)?[:：](?P<t>[^。\n]*)")
_DELTA = re.compile(rf"(?P<dir>增加|减少|新增|核减|压减)(?:了)?(?:该项目的)?(?:预算|经费|资金)?(?P<v>{NUM})万元?")
_NEW_VALUE = re.compile(rf"(?:预计为|调整为|安排为|为)(?P<v>{NUM})万元?")
_UNCHANGED = re.compile(r"无变化|无变动|不变|持平")
_EXECUTION = re.compile(r"执行情况|执行数")  # a 自评表, not a 申报表
_NEGATIVE = {"减少", "核减", "压减"}


@dataclass
class Declaration:
    """One 申报表: amounts in 万元 as printed; offsets point into the joined text."""

    block: Block
    code: str | None
    total_budget: Decimal | None
    budget: Decimal | None
    prior_budgets: dict[int, Decimal] = field(default_factory=dict)
    change_text: str | None = None
    change_start: int | None = None


def read_declarations(jt: JoinedText, blocks: list[Block] | None = None) -> list[Declaration]:
    """All project declaration forms of a document (blocks with 项目当年预算 / 当年资金总额).

    `blocks`: the document's `find_blocks`, when the caller already has them.
    """
    text = jt.text
    out = []
    for block in find_blocks(jt) if blocks is None else blocks:
        if block.kind != "项目名称":
            continue
        budget = _BUDGET.search(text, block.start, block.end)
        if budget is None or _EXECUTION.search(text, block.start, block.end):
            continue
        code = _CODE.search(text, block.start, block.end)
        total = _TOTAL.search(text, block.start, block.end)
        change = _CHANGE.search(text, block.start, block.end)
        out.append(Declaration(
            block,
            code["v"] if code else None,
            to_decimal(total["v"]) if total else None,
            to_decimal(budget["v"]),
            {int(m["y"]): to_decimal(m["v"]) for m in _PRIOR.finditer(text, block.start, block.end)},
            change["t"] if change else None,
            change.start() if change else None,
        ))
    return out


def _reason(change_text: str, amount_start: int) -> str | None:
    """Text before the amount clause: “按要求压减经费，故经费减少10万” -> “按要求压减经费”."""
    head = change_text[:amount_start]
    if "故" in head:
        head = head[:head.rindex("故")]
    else:
        head = head[:head.rfind(",") + 1] if "," in head else ""
    return head.strip(",;:，；： ") or None


def declaration_changes(jt: JoinedText, declarations: list[Declaration], taxonomy: Taxonomy) -> list[dict]:
    """Project-level `changes` rows from the 当年预算变动情况 sentences; `_derived` marks computed deltas."""
    rows = []
    for d in declarations:
        t = d.change_text
        if t is None or d.budget is None:
            continue
        latest_prior = d.prior_budgets[max(d.prior_budgets)] if d.prior_budgets else None
        derived = False
        if (m := _DELTA.search(t)) is not None:
            delta = to_decimal(m["v"]) * (-1 if m["dir"] in _NEGATIVE else 1)
            reason = _reason(t, m.start())
        elif _UNCHANGED.search(t):
            delta, reason = Decimal(0), None
        elif (m := _NEW_VALUE.search(t)) is not None and latest_prior is not None:
            delta, derived = to_decimal(m["v"]) - latest_prior, True
            reason = _reason(t, m.start())
        else:
            continue
        rows.append({
            "metric": "项目当年预算",
            "project": d.block.name,
            "current": d.budget,
            "delta": delta,
            "pct": None,
            "reason": reason,
            "reason_category": taxonomy.classify(reason),
            "source_line": jt.source_line(d.change_start),
            "page": jt.page(d.change_start),
            "_span": (d.change_start, d.change_start + len(t)),
            "_derived": derived,
            "_prior": latest_prior,
        })
    return rows
