"""Narrative stage: audit what the narrative says -> `checks` rows (passing ones too).

Check ids (see `fiscal_nlp.schema.CHECK_IDS`):
  stated_rate         a printed completion/execution rate vs executed ÷ budget
  stated_share        a printed “占…%” vs part ÷ total
  stated_change       a printed change % vs delta ÷ (current − delta); a 申报表 change vs 当年预算 − last year's
  narrative_vs_table  a narrative figure vs the table cell it restates (only when `line_items` has the table)
  project_consistency the same project printed with different money; sub-items vs their project
  project_name_missing a form whose 项目名称 is empty
  unit_slip           an amount printed in 元 among 万元 parts that sum to it; otherwise parts vs total
  unparsed_statement  a sentence that mentions 年初预算/预算数/执行数/与…相比 but yielded no row

Tolerances. Amounts are compared in cents (Decimal): equal passes; a gap up to
`ROUNDING_TOLERANCE_WAN` is severity `rounding`, more is `error`. A printed rate passes when it
lies in the interval obtained by letting every printed amount vary by ± half a unit of its last
printed digit, widened by half a unit of the rate's own last digit; a rate that misses is
`rounding` when the numerator it implies is within `ROUNDING_TOLERANCE_WAN` of the printed one
(the same ≤ 0.02 万元 rule as amounts), else `error`.
"""
from __future__ import annotations

import bisect
import math
import re
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_UP, Context, Decimal, localcontext
from difflib import SequenceMatcher
from functools import lru_cache

import pandas as pd
import pyarrow as pa

from fiscal_nlp.ingest.document import compact
from fiscal_nlp.schema import ROUNDING_TOLERANCE_WAN, column_lists

from .text import JoinedText

CENT = Decimal("0.01")
TOLERANCE = Decimal(str(ROUNDING_TOLERANCE_WAN))
# Narrative figure -> (table_key, row item, acceptable columns). Keys are fact keys, change
# metrics and the overall variance subject.
TABLE_CELLS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "personnel_expenditure": ("gpb_basic", "人员经费合计", ()),
    "public_expenditure": ("gpb_basic", "公用经费合计", ()),
    "basic_expenditure": ("expenditure", "合计", ("基本支出",)),
    "project_expenditure": ("expenditure", "合计", ("项目支出",)),
    "expenditure_total": ("expenditure", "合计", ("本年支出合计",)),
    "income_total": ("income", "合计", ("本年收入合计",)),
    "gpb_basic_expenditure": ("gpb_expenditure", "合计", ("基本支出",)),
    "gpb_project_expenditure": ("gpb_expenditure", "合计", ("项目支出",)),
    "gpb_expenditure": ("gpb_expenditure", "合计", ("小计", "合计", "本年支出")),
    "一般公共预算财政拨款支出": ("gpb_expenditure", "合计", ("小计", "合计", "本年支出")),
    "财政拨款支出": ("gpb_expenditure", "合计", ("小计", "合计", "本年支出")),
    "收、支总计": ("summary", "总计", ()),
    "财政拨款收、支总计": ("fiscal_summary", "总计", ()),
    "收入合计": ("income", "合计", ("本年收入合计",)),
    "支出合计": ("expenditure", "合计", ("本年支出合计",)),
}
_CODE_COLUMNS = ("小计", "合计", "本年支出")
_TRIGGER = re.compile(r"年初预算|全年预算|预算数|执行数|与[^,。;]{0,12}相比|比\d{4}年|比上年")
_HAS_FIGURE = re.compile(r"\d(?:万元|万|元|%)")
_SUFFIXES = re.compile(r"(?:项目|专项经费|专项资金|经费|费用|资金|费)$")
_NAME_NOISE = re.compile(r"[“”\"'《》\s]")
_NAME_SIMILARITY = 0.85


# ---------------------------------------------------------------- primitives
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)  # sums and differences of printed amounts are exact


def half_unit(printed: Decimal) -> Decimal:
    """Half a unit of the last printed digit: 2272.01 -> 0.005, 240 -> 0.5."""
    return Decimal(1).scaleb(printed.as_tuple().exponent) / 2


def compare_amounts(expected: Decimal, found: Decimal) -> tuple[bool, str | None]:
    """(passed, severity) for two amounts in 万元, compared in cents."""
    with localcontext(_EXACT):  # quantize raises beyond the context's digits (a 30-digit run glued by a PDF)
        gap = abs(expected.quantize(CENT, ROUND_HALF_UP) - found.quantize(CENT, ROUND_HALF_UP))
    if gap == 0:
        return True, None
    return False, "rounding" if gap <= TOLERANCE else "error"


def ratio_interval(num: Decimal, den: Decimal) -> tuple[float, float]:
    """Range of 100·num/den when each printed amount may be off by half its last digit."""
    hn, hd = half_unit(num), half_unit(den)
    low_num, high_num = max(abs(num) - hn, Decimal(0)), abs(num) + hn
    low = float(low_num / (abs(den) + hd) * 100)
    high = float(high_num / (abs(den) - hd) * 100) if abs(den) > hd else math.inf
    return low, high


def judge_rate(stated: Decimal, num: Decimal, den: Decimal) -> tuple[bool, str | None, float]:
    """(passed, severity, computed) for a printed percentage of num/den.

    A miss is `rounding` when the numerator the printed rate implies is within
    `ROUNDING_TOLERANCE_WAN` of the printed numerator, else `error`.
    """
    low, high = ratio_interval(num, den)
    hr = half_unit(stated)
    s = abs(stated)
    computed = float(num / den * 100) if den else math.inf
    if float(s - hr) <= high and float(s + hr) >= low:
        return True, None, computed
    implied_low, implied_high = (s - hr) / 100 * abs(den), (s + hr) / 100 * abs(den)
    hn = half_unit(num)
    gap = max(implied_low - (abs(num) + hn), (abs(num) - hn) - implied_high, Decimal(0))
    return False, "rounding" if gap <= TOLERANCE else "error", computed


def _as_float(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isinf(value)) else float(value)


def _row(check: str, passed: bool, severity: str | None, expected, found, detail: str,
         source_line=None, related_line=None, table_key=None) -> dict:
    return {"check": check, "passed": passed, "severity": severity, "expected": _as_float(expected),
            "found": _as_float(found), "detail": detail, "table_key": table_key,
            "source_line": source_line, "related_line": related_line}


# ---------------------------------------------------------------- tables
class TableCells:
    """Look up `line_items` cells by (table_key, item, column) or by functional code.

    The frame is indexed once into plain dicts; item, column and code are compared in their
    compact form (no whitespace), and the first row in frame order wins.
    """

    def __init__(self, line_items: pd.DataFrame | pa.Table | None):
        self.tables: set[str] = set()
        # (table_key, item) -> [(column, amount, source_line)], and the gpb_expenditure rows by code.
        self._by_item: dict[tuple[str, str], list[tuple]] = {}
        self._by_code: dict[str, list[tuple]] = {}
        cols = column_lists(line_items, ("table_key", "item", "column", "code", "amount", "source_line"))
        if cols is None:
            return
        table_keys, items, columns, codes, amounts, lines = cols
        items, columns, codes = ([_label(v) for v in values] for values in (items, columns, codes))
        for table_key, item, column, code, amount, line in zip(table_keys, items, columns, codes, amounts, lines):
            cell = (column, amount, line)
            self._by_item.setdefault((table_key, item), []).append(cell)
            if table_key == "gpb_expenditure":
                self._by_code.setdefault(code, []).append(cell)
        self.tables = set(table_keys)

    @staticmethod
    def _pick(rows: list[tuple], columns: tuple[str, ...]):
        """(amount, source_line) of the first row, or of the first row in the first of `columns` present."""
        if columns:
            for col in columns:
                hit = [r for r in rows if r[0] == col]
                if hit:
                    rows = hit
                    break
            else:
                return None
        if not rows:
            return None
        _, amount, line = rows[0]
        return Decimal(str(round(float(amount), 6))), int(line)

    def cell(self, table_key: str, item: str, columns: tuple[str, ...] = ()):
        return self._pick(self._by_item.get((table_key, item), []), columns)

    def coded(self, code: str):
        return self._pick(self._by_code.get(code, []), _CODE_COLUMNS)


def _label(value) -> str:
    """A `line_items` label cell in compact form ('' when missing)."""
    if isinstance(value, str):
        return compact(value)
    return "" if value is None or pd.isna(value) else compact(str(value))


def _compare_cell(cells: TableCells, table_key: str, label: str, hit, value: Decimal, line: int, what: str) -> list[dict]:
    """narrative_vs_table row(s) for one narrative figure; nothing when the table is absent."""
    if table_key not in cells.tables:
        return []
    if hit is None:
        return [_row("narrative_vs_table", False, "warning", None, value,
                     f"{what} ({value} 万元): no table cell {label} to compare with", line, None, table_key)]
    amount, table_line = hit
    passed, severity = compare_amounts(amount, value)
    return [_row("narrative_vs_table", passed, severity, amount, value,
                 f"{what}: narrative {value} 万元 vs table {label} {amount} 万元", line, table_line, table_key)]


def _vs_table(cells: TableCells, name: str, value: Decimal, line: int, what: str) -> list[dict]:
    table_key, item, columns = TABLE_CELLS[name]
    label = f"{table_key} {item} {'/'.join(columns)}".strip()
    return _compare_cell(cells, table_key, label, cells.cell(table_key, item, columns), value, line, what)


# ---------------------------------------------------------------- per table
def check_variances(variances: list[dict], cells: TableCells) -> list[dict]:
    out = []
    for v in variances:
        what = f"variance {v['subject']}"
        if v["stated_rate"] is not None and v["budget"]:
            passed, severity, computed = judge_rate(v["stated_rate"], v["actual"], v["budget"])
            out.append(_row("stated_rate", passed, severity, computed, v["stated_rate"],
                            f"{what}: printed rate {v['stated_rate']}% vs {v['actual']}/{v['budget']}",
                            v["source_line"]))
        if v["code"]:
            out += _compare_cell(cells, "gpb_expenditure", f"gpb_expenditure {v['code']}", cells.coded(v["code"]),
                                 v["actual"], v["source_line"], f"{what} 支出决算")
        elif v["subject"] in TABLE_CELLS:
            out += _vs_table(cells, v["subject"], v["actual"], v["source_line"], f"{what} 支出决算")
    return out


def check_changes(changes: list[dict], cells: TableCells) -> list[dict]:
    out = []
    for c in changes:
        what = f"change {c['metric']}" + (f" ({c['project']})" if c["project"] else "")
        if c["pct"] is not None and c["current"] is not None:
            base = c["current"] - c["delta"]
            passed, severity, computed = judge_rate(c["pct"], c["delta"], base)
            if (c["pct"] < 0) != (c["delta"] < 0):
                passed, severity = False, "error"
            out.append(_row("stated_change", passed, severity, math.copysign(computed, float(c["delta"])), c["pct"],
                            f"{what}: printed {c['pct']}% vs {c['delta']}/({c['current']}-({c['delta']}))",
                            c["source_line"]))
        if c.get("_prior") is not None and not c.get("_derived") and c["current"] is not None:
            expected = c["current"] - c["_prior"]
            passed, severity = compare_amounts(expected, c["delta"])
            out.append(_row("stated_change", passed, severity, expected, c["delta"],
                            f"{what}: printed change {c['delta']} vs 当年预算 {c['current']} − last year's {c['_prior']}",
                            c["source_line"]))
        if c["current"] is not None and not c["project"] and c["metric"] in TABLE_CELLS:
            out += _vs_table(cells, c["metric"], c["current"], c["source_line"], what)
    return out


class _Facts(list):
    """A document's facts with the lookups the checks make, indexed once (scanning every fact per
    fact was quadratic: a 14 MB file took 48 s)."""

    def __init__(self, facts: list[dict]):
        super().__init__(facts)
        self.by_end: dict[int, dict[str, dict]] = {}
        self.by_key: dict[str, list[dict]] = {}
        self.by_text: dict[tuple[str, str], list[dict]] = {}
        self.index_of = {id(f): i for i, f in enumerate(facts)}
        for f in facts:
            self.by_end.setdefault(f["_span"][1], {})[f["key"]] = f
            self.by_key.setdefault(f["key"], []).append(f)
            self.by_text.setdefault((f["key"], f["text"]), []).append(f)
        # per key, the facts' starts when they are in text order (then `_preceding` bisects)
        self.starts = {key: [f["_span"][0] for f in fs] for key, fs in self.by_key.items()}
        self.starts = {key: st for key, st in self.starts.items() if all(a <= b for a, b in zip(st, st[1:]))}


def _siblings(facts: _Facts, fact: dict) -> dict[str, dict]:
    """Facts produced by the same statement (same match end), by key."""
    return facts.by_end.get(fact["_span"][1], {})


def _preceding(facts: _Facts, key: str, before: int) -> dict | None:
    """The last fact of `key` (in list order) that starts at or before `before`."""
    same = facts.by_key.get(key, [])
    if key in facts.starts:
        i = bisect.bisect_right(facts.starts[key], before)
        return same[i - 1] if i else None
    hits = [f for f in same if f["_span"][0] <= before]
    return hits[-1] if hits else None


def check_facts(facts: list[dict], cells: TableCells) -> list[dict]:
    facts = _Facts(facts)
    out, slipped = _check_procurement(facts)
    for f in facts:
        if f.get("_base"):
            out += _check_share(facts, f, cells, slipped)
        if f["key"] == "overall_execution_rate":
            sib = _siblings(facts, f)
            budget, executed = sib.get("overall_budget"), sib.get("overall_executed")
            if budget and executed and budget["value"]:
                passed, severity, computed = judge_rate(f["value"], executed["value"], budget["value"])
                out.append(_row("stated_rate", passed, severity, computed, f["value"],
                                f"department execution rate {f['value']}% vs {executed['value']}/{budget['value']}",
                                f["source_line"]))
        if f["key"] in TABLE_CELLS and f["unit"] == "万元":
            out += _vs_table(cells, f["key"], f["value"], f["source_line"], f"fact {f['key']}")
    return out


def _check_share(facts: _Facts, share: dict, cells: TableCells, slipped: set[int]) -> list[dict]:
    part = _siblings(facts, share).get(share["key"].removesuffix("_share"))
    base = _preceding(facts, share["_base"], share["_span"][0])
    base_value, base_line = (base["value"], base["source_line"]) if base else (None, None)
    note = ""
    if base is not None and id(base) in slipped:
        base_value, note = base["_printed"], " (base read in 万元: its 元 unit is a slip)"
    if base is None and share["_base"] in TABLE_CELLS:
        hit = cells.cell(*TABLE_CELLS[share["_base"]])
        base_value, base_line = hit if hit else (None, None)
    if part is None or base_value is None or not base_value:
        return []
    passed, severity, computed = judge_rate(share["value"], part["value"], base_value)
    return [_row("stated_share", passed, severity, computed, share["value"],
                 f"{share['key']}: printed {share['value']}% vs {part['value']}/{share['_base']} {base_value}{note}",
                 share["source_line"], base_line)]


def _check_procurement(facts: _Facts) -> tuple[list[dict], set[int]]:
    """Parts (货物/工程/服务) vs 政府采购 total; returns (check rows, ids of totals whose 元 is a slip for 万元)."""
    out, slipped = [], set()
    for total in facts.by_key.get("procurement_total", []):
        s = total["text"]
        parts = sorted((f for key in ("procurement_goods", "procurement_works", "procurement_services")
                        for f in facts.by_text.get((key, s), [])), key=lambda f: facts.index_of[id(f)])
        if not parts:
            continue
        parts_sum = sum((p["value"] for p in parts), Decimal(0))
        if total.get("_printed_unit") == "元" and total["_printed"] == parts_sum:
            out.append(_row("unit_slip", False, "error", parts_sum, total["value"],
                            f"政府采购支出总额 printed {total['_printed']} 元 ({total['value']} 万元) but its parts sum to "
                            f"{parts_sum} 万元: the unit is a slip for 万元", total["source_line"], parts[0]["source_line"]))
            slipped.add(id(total))
            continue
        passed, severity = compare_amounts(total["value"], parts_sum)
        out.append(_row("unit_slip" if passed else "row_sum", passed, severity, total["value"], parts_sum,
                        f"政府采购 parts (货物/工程/服务) sum {parts_sum} vs total {total['value']} 万元",
                        total["source_line"], parts[0]["source_line"]))
    return out, slipped


@lru_cache(maxsize=4096)
def _norm_name(name: str) -> str:
    name = _NAME_NOISE.sub("", name)
    while (stripped := _SUFFIXES.sub("", name)) != name and stripped:
        name = stripped
    return name


def _group_of(groups: list[list[dict]], name: str) -> list[dict] | None:
    """The first group whose first project has the same name (normalised, or ≥ `_NAME_SIMILARITY` alike)."""
    wanted = _norm_name(name)
    similar = SequenceMatcher(None, "", wanted)  # `wanted` is analysed once, then compared with each group
    for group in groups:
        other = _norm_name(group[0]["name"])
        if other == wanted:
            return group
        similar.set_seq1(other)
        # quick_ratio() is an upper bound of ratio(): most pairs are told apart without computing it
        if similar.quick_ratio() >= _NAME_SIMILARITY and similar.ratio() >= _NAME_SIMILARITY:
            return group
    return None


def project_groups(names: list[str]) -> list[int]:
    """Which project each name refers to, as the group index of its first mention: names are one
    project when they normalise alike or are ≥ `_NAME_SIMILARITY` alike (“网上群众工作年度经费” and
    “网上群众工作部年度费用”), as `check_projects` compares the mentions of a document."""
    groups: list[list[dict]] = []
    out = []
    for name in names:
        group = _group_of(groups, name)
        if group is None:
            group = [{"name": name, "group": len(groups)}]
            groups.append(group)
        out.append(group[0]["group"])
    return out


def check_projects(projects: list[dict]) -> list[dict]:
    out = []
    for p in projects:
        if p["stated_rate"] is not None and p["budget"] and p["executed"] is not None:
            passed, severity, computed = judge_rate(p["stated_rate"], p["executed"], p["budget"])
            out.append(_row("stated_rate", passed, severity, computed, p["stated_rate"],
                            f"{p['source_kind']} {p['name']}: printed rate {p['stated_rate']}% vs "
                            f"{p['executed']}/{p['budget']}", p["source_line"]))
        if p["name"] is None:
            out.append(_row("project_name_missing", False, "warning", None, p["budget"],
                            f"{p['source_kind']} form without a project name (budget {p['budget']})", p["source_line"]))
            continue
        if p["total_budget"] is not None and p["budget"] is not None and p["total_budget"] < p["budget"]:
            out.append(_row("project_consistency", False, "error", p["total_budget"], p["budget"],
                            f"{p['name']}: 当年预算 {p['budget']} exceeds 项目总预算 {p['total_budget']}", p["source_line"]))
    # the mentions of each project (sub-items are parts of one: `_check_sub_items` compares those)
    mentions = [p for p in projects if p["name"] is not None and p["source_kind"] != "sub_item"]
    groups: dict[int, list[dict]] = {}
    for p, group in zip(mentions, project_groups([p["name"] for p in mentions])):
        groups.setdefault(group, []).append(p)
    for group in groups.values():
        for field_name in ("budget", "executed"):
            rows = [p for p in group if p[field_name] is not None]
            for other in rows[1:]:
                first = rows[0]
                passed, severity = compare_amounts(first[field_name], other[field_name])
                out.append(_row("project_consistency", passed, severity, first[field_name], other[field_name],
                                f"{other['name']} {field_name}: {first['source_kind']} {first[field_name]} vs "
                                f"{other['source_kind']} {other[field_name]}", other["source_line"], first["source_line"]))
    out += _check_sub_items(projects)
    return out


def _check_sub_items(projects: list[dict]) -> list[dict]:
    out, parent, subs = [], None, []

    def flush():
        if parent is not None and subs:
            field_name = "executed" if parent["executed"] is not None else "budget"
            total = sum((s["executed"] if s["executed"] is not None else s["budget"] for s in subs), Decimal(0))
            passed, severity = compare_amounts(parent[field_name], total)
            out.append(_row("project_consistency", passed, severity, parent[field_name], total,
                            f"{parent['name']}: sub-items ({'、'.join(s['name'] for s in subs)}) sum {total} vs "
                            f"{field_name} {parent[field_name]}", subs[0]["source_line"], parent["source_line"]))

    for p in projects:
        if p["source_kind"] == "sub_item":
            subs.append(p)
        elif p["source_kind"] == "self_evaluation":
            flush()
            parent, subs = p, []
    flush()
    return out


def check_unparsed(jt: JoinedText, spans: list[tuple[int, int]]) -> list[dict]:
    """Sentences that look like budget statements but overlap no extracted row."""
    out = []
    for start, end in jt.sentences():
        sentence = jt.text[start:end]
        if not (_TRIGGER.search(sentence) and _HAS_FIGURE.search(sentence)):
            continue
        if any(s < end and start < e for s, e in spans):
            continue
        out.append(_row("unparsed_statement", False, "warning", None, None,
                        f"statement not parsed: {sentence.strip()[:160]}", jt.source_line(start)))
    return out


def run_checks(jt: JoinedText, tables: dict[str, list[dict]], line_items: pd.DataFrame | pa.Table | None) -> list[dict]:
    """All narrative checks of one document (rows without doc_id)."""
    cells = TableCells(line_items)
    spans = [r["_span"] for rows in tables.values() for r in rows]
    return (check_variances(tables["variances"], cells) + check_changes(tables["changes"], cells)
            + check_facts(tables["facts"], cells) + check_projects(tables["projects"])
            + check_unparsed(jt, spans))
