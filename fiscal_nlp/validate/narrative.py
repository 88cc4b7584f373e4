"""What the narrative says, audited -> `checks` rows (passing ones too).

Reads the narrative stage's rows with their internals (`fiscal_nlp.narrative.extract_rows`).
Check ids (see `fiscal_nlp.schema.CHECK_IDS`):
  stated_rate         a printed completion/execution rate vs executed ÷ budget
  stated_share        a printed “占…%” vs part ÷ total
  stated_change       a printed change % vs delta ÷ (current − delta) (none from a zero base: there
                      is no percentage to check); a 申报表 change vs 当年预算 − last year's
  narrative_vs_table  a narrative figure vs the table cell it restates (only when `line_items` has the
                      table; a row the table prints with that cell blank is a warning naming the row)
  project_consistency the same project printed with different money; sub-items vs their project.
                      Mentions are one project when their codes agree or, without codes, their full
                      类/款/项 path is the same (plain names: alike names); never by the 项 name alone
  project_name_missing a form whose 项目名称 is empty
  unit_slip           an amount printed in 元 among 万元 parts that sum to it; otherwise parts vs total
  unparsed_statement  a sentence that mentions 年初预算/预算数/执行数/与…相比 but yielded no row

Tolerances: see `compare` (amounts in cents, percentages at their printed precision).
"""
from __future__ import annotations

import bisect
import math
import re
from decimal import Decimal
from difflib import SequenceMatcher
from functools import lru_cache

import pandas as pd
import pyarrow as pa

from ..ingest.document import compact
from ..narrative import NARRATIVE_TABLES
from ..narrative.grammar import statement_sentences
from ..narrative.text import JoinedText
from ..schema import column_lists
from .compare import compare_amounts, half_unit, judge_rate
from .compare import finding as _row
from .declared import load_declarations

_CODE_COLUMNS = ("小计", "合计", "本年支出")
_TRIGGER = re.compile(r"年初预算|全年预算|预算数|执行数|与[^,。;]{0,12}相比|比\d{4}年|比上年")
_HAS_FIGURE = re.compile(r"\d(?:万元|万|元|%)")
_SUFFIXES = re.compile(r"(?:项目|专项经费|专项资金|经费|费用|资金|费)$")
_NAME_NOISE = re.compile(r"[“”\"'《》\s]")
_NAME_SIMILARITY = 0.85
# A name printed as a classification path: “一般公共服务支出(类)组织事务(款)一般行政管理事务(项)”.
_PATH = re.compile(r"[(（](?:类|款|项)[)）]")


def table_cells() -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """Narrative figure -> (table_key, row item, acceptable columns), declared in identities.yaml."""
    return {k: (c.table, c.item, c.columns) for k, c in load_declarations().narrative_cells.items()}


TABLE_CELLS = table_cells()
LOOSE_CELLS = {k for k, c in load_declarations().narrative_cells.items() if c.scope_may_differ}


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

    def row_line(self, table_key: str, item: str) -> int | None:
        """The line of a printed row (any of its cells), None when the table has no such row."""
        rows = (self._by_item.get((table_key, item)) if item != "*" else
                [r for (key, _), cells in self._by_item.items() if key == table_key for r in cells])
        return int(rows[0][2]) if rows else None

    def cell(self, table_key: str, item: str, columns: tuple[str, ...] = ()):
        """A cell by row label (`*`: any row of the table) and the first of `columns` it prints."""
        if item == "*":
            rows = [r for (key, _), cells in self._by_item.items() if key == table_key for r in cells]
            return self._pick(rows, columns)
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
        row_line = cells.row_line(table_key, label.split(" ")[1] if " " in label else "")
        if row_line is not None and value == 0:
            return [_row("narrative_vs_table", True, None, None, value,
                         f"{what}: narrative {value} 万元, table {label} blank (row on line {row_line})",
                         line, row_line, table_key)]
        if row_line is not None:
            # the row is printed, the cell the narrative quotes is blank: one of the two is wrong
            return [_row("narrative_vs_table", False, "warning", None, value,
                         f"{what}: narrative {value} 万元 but table {label} is blank (row on line {row_line})",
                         line, row_line, table_key)]
        return [_row("narrative_vs_table", False, "warning", None, value,
                     f"{what} ({value} 万元): no table cell {label} to compare with", line, None, table_key)]
    amount, table_line = hit
    passed, severity = compare_amounts(amount, value)
    return [_row("narrative_vs_table", passed, severity, amount, value,
                 f"{what}: narrative {value} 万元 vs table {label} {amount} 万元", line, table_line, table_key)]


def _vs_table(cells: TableCells, name: str, value: Decimal, line: int, what: str) -> list[dict]:
    table_key, item, columns = TABLE_CELLS[name]
    label = f"{table_key} {item} {'/'.join(columns)}".strip()  # “*”: the table's row, whatever its label
    out = _compare_cell(cells, table_key, label, cells.cell(table_key, item, columns), value, line, what)
    if name in LOOSE_CELLS:
        for r in out:
            if r["severity"] == "error":
                r.update(severity="warning", detail=r["detail"] + " (the statement may cover other money than the table)")
    return out


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
        # a percent-only change (no delta printed) has no base to check its percentage against
        base = c["current"] - c["delta"] if c["current"] is not None and c["delta"] is not None else None
        if c["pct"] is not None and base is not None and abs(base) <= half_unit(c["current"]):
            # from nothing to something: no percentage exists, whatever the text prints (often 100%)
            out.append(_row("stated_change", True, None, None, c["pct"],
                            f"{what}: printed {c['pct']}% of a change from a zero base ({c['current']} − "
                            f"{c['delta']}): no percentage to check", c["source_line"]))
        elif c["pct"] is not None and base is not None:
            passed, severity, computed = judge_rate(c["pct"], c["delta"], base)
            if (c["pct"] < 0) != (c["delta"] < 0):
                passed, severity = False, "error"
            out.append(_row("stated_change", passed, severity, math.copysign(computed, float(c["delta"])), c["pct"],
                            f"{what}: printed {c['pct']}% vs {c['delta']}/({c['current']}-({c['delta']}))",
                            c["source_line"]))
        if c.get("_prior") is not None and not c.get("_derived") and c["current"] is not None and c["delta"] is not None:
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
            self.by_text.setdefault((f["key"], f.get("text")), []).append(f)
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


def _same_project(first: dict, name: str, code: str | None, similar: SequenceMatcher) -> bool:
    """Whether a mention (name, code) is the project of a group's first mention.

    Codes decide when both mentions print one. A classification path (…(类)…(款)…(项)) names a
    budget line, not a project: only the same whole path is the same line (two 款 each have an
    “一般行政管理事务(项)”). Plain names are alike when they normalise alike or are
    ≥ `_NAME_SIMILARITY` alike (“网上群众工作年度经费” / “网上群众工作部年度费用”).
    """
    if code and first["code"]:
        return code == first["code"]
    wanted, other = _norm_name(name), _norm_name(first["name"])
    if other == wanted:
        return True
    if _PATH.search(name) or _PATH.search(first["name"]):
        return False
    similar.set_seq1(other)
    # quick_ratio() is an upper bound of ratio(): most pairs are told apart without computing it
    return similar.quick_ratio() >= _NAME_SIMILARITY and similar.ratio() >= _NAME_SIMILARITY


def project_groups(names: list[str], codes: list[str | None] | None = None) -> list[int]:
    """Which project each mention refers to, as the group index of its first mention (see
    `_same_project`), as `check_projects` compares the mentions of a document."""
    groups: list[dict] = []
    out = []
    for name, code in zip(names, codes or [None] * len(names)):
        code = code if isinstance(code, str) and code else None
        similar = SequenceMatcher(None, "", _norm_name(name))  # analysed once, compared with each group
        group = next((g for g in groups if _same_project(g, name, code, similar)), None)
        if group is None:
            group = {"name": name, "code": code, "group": len(groups)}
            groups.append(group)
        out.append(group["group"])
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
    for p, group in zip(mentions, project_groups([p["name"] for p in mentions], [p.get("code") for p in mentions])):
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




def narrative_findings(rows: dict, line_items: pd.DataFrame | pa.Table | None) -> list[dict]:
    """All checks of what one document's narrative says (rows without doc_id).

    `rows`: `fiscal_nlp.narrative.extract_rows` output (internals kept, the joined text under `_text`).
    """
    cells = TableCells(line_items)
    spans = [r["_span"] for name in NARRATIVE_TABLES for r in rows.get(name, ())]
    out = (check_variances(rows["variances"], cells) + check_changes(rows["changes"], cells)
           + check_facts(rows["facts"], cells) + check_projects(rows["projects"]))
    if rows.get("_text") is not None:
        out += check_unparsed(rows["_text"], spans)
        out += unparsed_by_grammar(rows["_text"], spans, out)
    return out


def unparsed_by_grammar(jt: JoinedText, spans: list[tuple[int, int]], checks: list[dict]) -> list[dict]:
    """`unparsed_statement` warnings for sentences the narrative grammar sees as statements (an amount
    and a comparator 较/同比/对比/与…相比/比 or a budget word) that yielded no row and that
    `check_unparsed` has not reported already (its trigger words are fewer)."""
    reported = {c["source_line"] for c in checks if c["check"] == "unparsed_statement"}
    out = []
    for start, end in statement_sentences(jt):
        if any(s < end and start < e for s, e in spans):
            continue
        line = jt.source_line(start)
        if line in reported:
            continue
        reported.add(line)
        out.append(_row("unparsed_statement", False, "warning", None, None,
                        f"statement not parsed: {jt.text[start:end].strip()[:160]}", line))
    return out
