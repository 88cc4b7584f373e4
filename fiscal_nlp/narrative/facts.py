"""Narrative stage: other scalar facts -> `facts` rows, from a declarative table of rules.

Each `Rule` is a regex over the joined text whose named groups become facts: group -> (key,
unit). `const` rules record a stated absence (“无公务车辆” -> vehicles 0). `scoped` keys get a
prefix from the statement's scope: `gpb_` for 一般公共预算, `fiscal_` for 财政拨款, none for the
department as a whole — read from the sentence, else from its section heading (“五、一般公共预算
财政拨款支出决算情况说明”). A share (`%`) group may name its base key (`_base`), the total it is
a share of; `checks` recomputes it. Money printed in 元 is converted to 万元 and remembered in
`_printed_unit` for the `unit_slip` check.

Sources beyond the rules: the department self-evaluation form (部门整体支出绩效自评表: overall
budget/executed/rate and 总分) and each project form's 总分.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from .forms import Block, find_blocks, read_evaluation
from .grammar import to_wan_amount
from .text import NUM, AnchoredPattern, JoinedText, to_decimal

V = rf"(?P<v>{NUM})"
S = rf"(?P<s>{NUM})"
M = rf"(?P<v>{NUM})(?P<u>亿元|万元|元)"  # money whose printed unit matters (converted by the grammar's units)


@dataclass(frozen=True)
class Rule:
    pattern: str
    outputs: dict[str, tuple[str, str]]  # group -> (key, unit)
    const: Decimal | None = None  # value for a stated absence (the group then need not exist)
    scoped: bool = False
    bases: dict[str, str] = field(default_factory=dict)  # share group -> base key
    # Speed hint, no meaning: a literal (or a regex) every match contains, and how far into a
    # match it can start (see `AnchoredPattern`; by default read from the pattern).
    anchor: str | re.Pattern | None = None
    before: int | None = None

    @cached_property
    def regex(self) -> AnchoredPattern:
        return AnchoredPattern(self.pattern, self.anchor, self.before)


def _pair(key: str, base: str) -> dict:
    """An amount group `v` and its share group `s` (a share of the fact `base`)."""
    return dict(outputs={"v": (key, "万元"), "s": (f"{key}_share", "%")}, bases={"s": base})


RULES: tuple[Rule, ...] = (
    # staffing (部门人员构成)
    Rule(rf"总?编制人数为?{V}人", {"v": ("staff_authorized", "人")}),
    Rule(rf"在职实有人数为?{V}人", {"v": ("staff_actual", "人")}),
    Rule(rf"离退休人员为?{V}人", {"v": ("retirees", "人")}),
    Rule(r"无离退休人员", {"v": ("retirees", "人")}, const=Decimal(0)),
    # income / expenditure totals and structure
    Rule(rf"(?:本年)?收入合计{V}万元", {"v": ("income_total", "万元")}),
    Rule(rf"部门收入预算{V}万元", {"v": ("income_total", "万元")}),
    Rule(rf"(?<!一般公共预算)财政拨款收入{V}万元,占(?:本年收入)?{S}%", **_pair("fiscal_income", "income_total")),
    Rule(rf"一般公共预算财政拨款收入{V}万元,占(?:本年收入)?{S}%", **_pair("gpb_income", "income_total")),
    Rule(rf"其他收入{V}万元,占(?:本年收入)?{S}%", **_pair("other_income", "income_total")),
    Rule(rf"(?<![购算])(?:本年)?支出合计{V}万元", {"v": ("expenditure_total", "万元")}),
    Rule(rf"部门支出预算{V}万元", {"v": ("expenditure_total", "万元")}),
    Rule(rf"基本支出{V}万元(?:,占(?:本年支出)?{S}%)?", **_pair("basic_expenditure", "expenditure_total"), scoped=True),
    Rule(rf"(?<![该本])项目支出{V}万元(?:,占(?:本年支出)?{S}%)?", **_pair("project_expenditure", "expenditure_total"), scoped=True),
    Rule(rf"财政拨款支出{V}万元,占本年支出合计的{S}%", **_pair("gpb_expenditure", "expenditure_total")),
    Rule(rf"财政拨款支出{V}万元,主要用于以下方面", {"v": ("gpb_expenditure", "万元")}),
    Rule(rf"(?:[:;]|\d[.、])[^,;:。\n]{{2,20}}?(?:\(类\)|类)支出{V}万元,占{S}%", **_pair("gpb_class_expenditure", "gpb_expenditure"),
         anchor=re.compile(rf"类\)?支出{NUM}万元,占"), before=23),
    Rule(rf"人员经费{V}万元", {"v": ("personnel_expenditure", "万元")}),
    Rule(rf"公用经费{V}万元", {"v": ("public_expenditure", "万元")}),
    # “三公” 经费 and 机关运行经费
    Rule(rf"“三公”经费(?:财政拨款)?(?:支出)?(?:年初|全年)?预算(?:数)?为?{V}万元", {"v": ("three_public_budget", "万元")}),
    Rule(r"未安排“三公”经费支出预算", {"v": ("three_public_budget", "万元")}, const=Decimal(0)),
    Rule(rf"“三公”经费(?:财政拨款)?(?:支出)?(?:年初|全年)?预算(?:数)?为?{NUM}万元,支出决算为?{V}万元",
         {"v": ("three_public_actual", "万元")}),
    Rule(rf"机关运行经费(?:支出)?{V}万元", {"v": ("admin_operating_cost", "万元")}),
    Rule(r"无机关运行经费支出|没有机关运行经费(?:预算|支出)", {"v": ("admin_operating_cost", "万元")}, const=Decimal(0),
         anchor="机关运行经费"),
    # 政府采购
    Rule(rf"政府采购(?:预算)?支出(?:总额|合计){M}", {"v": ("procurement_total", "万元")}),
    Rule(rf"(?:政府采购货物支出|货物类){V}万元", {"v": ("procurement_goods", "万元")}, anchor="货物", before=4),
    Rule(rf"(?:政府采购工程支出|工程类){V}万元", {"v": ("procurement_works", "万元")}, anchor="工程", before=4),
    Rule(rf"(?:政府采购服务支出|服务类){V}万元", {"v": ("procurement_services", "万元")}, anchor="服务", before=4),
    Rule(rf"授予中小企业合同金额{V}万元,占(?P<base>[^,;。%]{{2,20}}?)的{S}%",
         {"v": ("procurement_sme", "万元"), "s": ("procurement_sme_share", "%")}, bases={"s": "*"}),
    Rule(rf"授予小微企业合同金额{V}万元,占(?P<base>[^,;。%]{{2,20}}?)的{S}%",
         {"v": ("procurement_small_micro", "万元"), "s": ("procurement_small_micro_share", "%")}, bases={"s": "*"}),
    Rule(rf"货物采购授予中小企业合同金额占货物支出金额的{V}%", {"v": ("procurement_goods_sme_share", "%")}),
    Rule(rf"服务采购授予中小企业合同金额占服务支出金额的{V}%", {"v": ("procurement_services_sme_share", "%")}),
    # 国有资产
    Rule(rf"(?:共有|拥有)?(?:公务)?车辆{V}辆", {"v": ("vehicles", "辆")}),
    Rule(rf"公务用车保有量为?{V}辆", {"v": ("vehicles", "辆")}),
    Rule(r"无(?:公务)?车辆", {"v": ("vehicles", "辆")}, const=Decimal(0)),
    Rule(rf"(?:单位价值|单价)(?P<t>\d+)万元(?:\(含\))?以上通用设备{V}(?:台\(套\)|台|套)", {"v": ("equipment_general_over_{t}", "台(套)")}),
    Rule(rf"(?:单位价值|单价)(?P<t>\d+)万元(?:\(含\))?以上专用设备{V}(?:台\(套\)|台|套)", {"v": ("equipment_special_over_{t}", "台(套)")}),
    Rule(rf"(?:单位价值|单价)(?P<t>\d+)万元(?:\(含\))?以上设备(?:\([^)]*\))?{V}(?:台\(套\)|台|套)", {"v": ("equipment_over_{t}", "台(套)")}),
    # 预算绩效
    Rule(rf"共涉及项目{V}个", {"v": ("projects_self_evaluated", "个")}),
    Rule(rf"共涉及{V}个项目", {"v": ("projects_self_evaluated", "个")}),
    Rule(rf"共涉及项目\d+个,(?:[^,。]*,)?资金{V}万元(?:,占一般公共预算项目支出总额的{S}%)?",
         **_pair("self_evaluated_funds", "gpb_project_expenditure")),
    Rule(rf"整体支出绩效自评,资金{V}万元", {"v": ("overall_self_evaluated_funds", "万元")}),
    Rule(rf"绩效目标实现全覆盖,涉及[^。]*?{V}万元", {"v": ("performance_target_funds", "万元")}),
    Rule(rf"评价得分为?{V}分", {"v": ("self_evaluation_score", "分")}),
    Rule(rf"整体绩效自评总分{V}分", {"v": ("self_evaluation_score", "分")}),
    Rule(rf"预算执行率得分{V}分", {"v": ("self_evaluation_score_execution", "分")}),
    Rule(rf"绩效目标自评得分{V}分", {"v": ("self_evaluation_score_targets", "分")}),
    Rule(rf"部门整体支出绩效自评综述[:：]?项目全年预算数?为(?P<b>{NUM})万元,执行数为(?P<e>{NUM})万元,完成预算的?(?P<r>{NUM})%",
         {"b": ("overall_budget", "万元"), "e": ("overall_executed", "万元"), "r": ("overall_execution_rate", "%")}),
    Rule(rf"年初预算数为(?P<i>{NUM})万元,预算调整数为(?P<b>{NUM})万元,本年决算支出数为?(?P<e>{NUM})万元,"
         rf"本年预算执行率为?(?P<r>{NUM})%",
         {"i": ("overall_budget_initial", "万元"), "b": ("overall_budget", "万元"),
          "e": ("overall_executed", "万元"), "r": ("overall_execution_rate", "%")}),
)

# “占政府采购支出总额的” -> the share's base key.
SHARE_BASES = {"政府采购支出总额": "procurement_total", "授予中小企业合同金额": "procurement_sme"}


def _scope(jt: JoinedText, start: int) -> str:
    """'gpb_', 'fiscal_' or '' for the statement at `start` (sentence first, then section heading)."""
    s, e = jt.sentence_span(start)
    for context in (jt.text[s:e], jt.section_at(start)):
        if "一般公共预算" in context:
            return "gpb_"
        if "财政拨款" in context:
            return "fiscal_"
    return ""


def _fact(jt: JoinedText, key: str, value: Decimal, unit: str, start: int, end: int, **extra) -> dict:
    s, e = jt.sentence_span(start)
    row = {"key": key, "value": value, "unit": unit, "text": jt.text[s:e].strip("\n "),
           "source_line": jt.source_line(start), "page": jt.page(start), "_span": (start, end)}
    row.update(extra)
    return row


def _from_rules(jt: JoinedText) -> list[dict]:
    rows = []
    for rule in RULES:
        for m in rule.regex.finditer(jt.text):
            prefix = _scope(jt, m.start()) if rule.scoped else ""
            groups = m.groupdict()
            for group, (key, unit) in rule.outputs.items():
                if rule.const is None and groups.get(group) is None:
                    continue
                key = prefix + key.format(t=groups.get("t"))
                extra = {}
                if rule.const is not None:
                    value = rule.const
                elif group == "v" and groups.get("u"):
                    value = to_wan_amount(groups["v"], groups["u"])
                    extra["_printed_unit"] = groups["u"]
                    extra["_printed"] = to_decimal(groups["v"])
                else:
                    value = to_decimal(groups[group])
                base = rule.bases.get(group)
                if base == "*":
                    base = SHARE_BASES.get(groups.get("base") or "")
                if base:
                    extra["_base"] = base
                start = m.start(group) if groups.get(group) is not None else m.start()
                rows.append(_fact(jt, key, value, unit, start, m.end(), **extra))
    return rows


def _from_forms(jt: JoinedText, blocks: list[Block]) -> list[dict]:
    rows = []
    for block in blocks:
        form = read_evaluation(jt, block)
        if form is None:
            continue
        if block.kind == "部门名称":
            for key, value, unit in (("overall_budget", form.budget, "万元"), ("overall_executed", form.executed, "万元"),
                                     ("overall_execution_rate", form.rate, "%")):
                if value is not None:
                    rows.append(_form_fact(jt, key, value, unit, form.row_start, block.end))
        if form.score is not None:
            key = "self_evaluation_score" if block.kind == "部门名称" else "project_self_evaluation_score"
            row = _form_fact(jt, key, form.score, "分", form.score_start, block.end)
            if block.name:
                row["text"] = f"{block.name}:{row['text']}"
            rows.append(row)
    return rows


def _form_fact(jt: JoinedText, key: str, value: Decimal, unit: str, start: int, end: int) -> dict:
    """A fact from a form row: the row's own line is its `text`."""
    line = jt.text.rfind("\n", 0, start) + 1
    stop = jt.text.find("\n", start)
    row = _fact(jt, key, value, unit, start, end)
    row["text"] = jt.text[line:stop if stop >= 0 else len(jt.text)]
    return row


def extract_facts(jt: JoinedText, blocks: list[Block] | None = None) -> list[dict]:
    """All scalar facts of a document, in text order (keys documented in `RULES`).

    `blocks`: the document's `find_blocks`, when the caller already has them.
    """
    blocks = find_blocks(jt) if blocks is None else blocks
    return sorted(_from_rules(jt) + _from_forms(jt, blocks), key=lambda r: r["_span"][0])
