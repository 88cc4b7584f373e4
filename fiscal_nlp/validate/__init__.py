"""Validate stage: the audit of a document's own arithmetic -> `checks` rows.

Identities come from the national format, declared in package_data/tables.yaml:
row identities (1 栏 = 2 + 3 + …), the 类/款/项 hierarchy (类 = Σ款 = Σ项, 合计 = Σ类), the
two-sided totals (本年收入合计 = Σ 一、…; 总计 = 本年合计 + 结转), the 基本支出明细表 blocks
(人员经费合计 / 公用经费合计), and cross-table totals. Amounts are compared exactly, in
Decimal; a gap ≤ ROUNDING_TOLERANCE_WAN is severity `rounding`, larger is `error`.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from ..schema import ROUNDING_TOLERANCE_WAN, column_lists, conform
from ..tables.spec import TableSpec, load_specs

_TOL = Decimal(str(ROUNDING_TOLERANCE_WAN))
_NUMBERED = re.compile(r"^[一二三四五六七八九十]+、")
_SUB_ROW = re.compile(r"^(?:[一二三四五六七八九十]+、)?(?:一般公共预算|政府性基金预算|国有资本经营预算)财政拨款$")
_TABLE_ZH = {
    "summary": "收入支出决算总表", "income": "收入决算表", "expenditure": "支出决算表",
    "fiscal_summary": "财政拨款收入支出决算总表", "gpb_expenditure": "一般公共预算财政拨款支出决算表",
    "gpb_basic": "基本支出决算明细表", "three_public": "“三公”经费支出决算表",
    "gov_fund": "政府性基金预算财政拨款收入支出决算表", "soe_capital": "国有资本经营预算财政拨款支出决算表",
}


def dec(x) -> Decimal:
    return Decimal(str(x))


def severity_of(gap: Decimal) -> str | None:
    if gap == 0:
        return None
    return "rounding" if abs(gap) <= _TOL else "error"


def check_row(doc_id, check, expected, found, detail, table_key=None, line=None, related=None) -> dict:
    """A `checks` row comparing two exact amounts."""
    gap = found - expected
    return {"doc_id": doc_id, "check": check, "passed": gap == 0, "severity": severity_of(gap),
            "expected": float(expected), "found": float(found),
            "detail": detail + ("" if gap == 0 else f" (gap {gap:+})"),
            "table_key": table_key, "source_line": line, "related_line": related}


class _Item(NamedTuple):
    """One line_items row, as the audit reads it."""

    side: str | None
    code: str | None
    item: str | None
    column: str
    canon: str  # national column name
    amount: Decimal
    line: int


class _Table:
    """line_items of one table (in frame order) with lookups by row and national column name."""

    def __init__(self, spec: TableSpec, items: list[_Item]):
        self.spec = spec
        self.items = items

    def rows(self):
        """(row key, {national column: amount}) per printed row, in order of first appearance."""
        keys = ["side", "code", "item", "source_line"]
        groups: dict[tuple, dict[str, Decimal]] = {}
        for it in self.items:
            groups.setdefault((it.side or "", it.code or "", it.item or "", it.line), {})[it.canon] = it.amount
        for key, values in groups.items():
            yield dict(zip(keys, key)), values

    def value(self, canon, *, side=None, code=None, item=None, item_re=None):
        """(amount, source_line) of the first row matching every given criterion, else (None, None)."""
        for it in self.items:
            if (it.canon == canon and (not side or it.side == side) and (not code or it.code == code)
                    and (not item or it.item == item) and (not item_re or re.search(item_re, it.item))):
                return it.amount, it.line
        return None, None


def _tables(line_items: pd.DataFrame | pa.Table) -> dict[str, _Table]:
    """line_items -> {table_key: _Table}, keys sorted; amounts become exact Decimals once, here."""
    cols = column_lists(line_items, ("table_key", "side", "code", "item", "column", "amount", "source_line"))
    if cols is None:
        return {}
    specs = load_specs()[0]
    canonical: dict[tuple, str] = {}
    by_key: dict[str, list[_Item]] = {}
    for key, side, code, item, column, amount, line in zip(*cols):
        if not isinstance(key, str):
            continue  # a null table_key belongs to no table
        side, code, item = (x if isinstance(x, str) else None for x in (side, code, item))
        if (key, column, side) not in canonical:
            canonical[key, column, side] = specs[key].canonical(column, side)
        by_key.setdefault(key, []).append(_Item(side, code, item, column, canonical[key, column, side], dec(amount), int(line)))
    return {k: _Table(specs[k], by_key[k]) for k in sorted(by_key)}


def audit(doc, line_items: pd.DataFrame) -> pd.DataFrame:
    """All `checks` rows for one document's line_items."""
    return conform("checks", audit_records(doc, line_items))


def audit_records(doc, line_items: pd.DataFrame | pa.Table) -> list[dict]:
    """`audit` as contract records, before conforming."""
    doc_id = doc.doc_id if hasattr(doc, "doc_id") else str(doc)
    tables = _tables(line_items)
    out: list[dict] = []
    for key, t in tables.items():
        out += _row_identities(doc_id, t)
        if t.spec.layout == "coded":
            out += _hierarchy(doc_id, t)
        elif t.spec.layout == "two_sided":
            out += _two_sided_totals(doc_id, t)
        elif t.spec.layout == "economic_blocks":
            out += _blocks(doc_id, t)
    out += _cross_tables(doc_id, tables)
    return out


def _label(row) -> str:
    return " ".join(x for x in (row["code"], row["item"]) if x)


def _row_identities(doc_id, t: _Table) -> list[dict]:
    out = []
    for row, vals in t.rows():
        for ident in t.spec.row_identities(row["side"] or None):
            if not ident.columns() & vals.keys():
                continue
            expected = vals.get(ident.total, Decimal(0))
            found = expected + ident.gap(vals)
            out.append(check_row(doc_id, "row_sum", expected, found,
                                 f"{_TABLE_ZH[t.spec.key]} line {row['source_line']} {_label(row)}: {ident.text}",
                                 t.spec.key, int(row["source_line"])))
    return out


def _hierarchy(doc_id, t: _Table) -> list[dict]:
    """类 = Σ款, 款 = Σ项 and 合计 = Σ类, column by column."""
    out = []
    coded = [it for it in t.items if it.code is not None]
    totals = [it for it in t.items if it.code is None and it.item in ("合计", "总计")]
    codes = set(it.code for it in coded)
    children_of = {parent: [c for c in codes if len(c) == len(parent) + 2 and c.startswith(parent)]
                   for parent in sorted(c for c in codes if len(c) in (3, 5))}
    by_canon: dict[str, list[_Item]] = {}
    for it in coded:
        by_canon.setdefault(it.canon, []).append(it)
    for canon in sorted(by_canon):
        by_code = {it.code: (it.amount, it.line) for it in by_canon[canon]}
        for parent, children in children_of.items():
            if not children:
                continue
            expected, line = by_code.get(parent, (Decimal(0), None))
            found = sum((by_code.get(c, (Decimal(0), 0))[0] for c in children), Decimal(0))
            if parent not in by_code and found == 0:
                continue
            line = line or min(by_code[c][1] for c in children if c in by_code)
            out.append(check_row(doc_id, "hierarchy_sum", expected, found,
                                 f"{_TABLE_ZH[t.spec.key]} {canon}: {parent} = Σ {'、'.join(sorted(children))}",
                                 t.spec.key, line))
        top = [c for c in codes if len(c) == 3]
        tot = next((it for it in totals if it.canon == canon), None)
        if top and (tot or any(c in by_code for c in top)):
            expected = tot.amount if tot else Decimal(0)
            line = tot.line if tot else None
            found = sum((by_code.get(c, (Decimal(0), 0))[0] for c in top), Decimal(0))
            out.append(check_row(doc_id, "hierarchy_sum", expected, found,
                                 f"{_TABLE_ZH[t.spec.key]} {canon}: 合计 = Σ 类 {'、'.join(sorted(top))}",
                                 t.spec.key, line))
    return out


def _by_line(items: list[_Item]) -> list[_Item]:
    """Items in source-line order, rows of one line in the order pandas' sort_values gives (numpy quicksort)."""
    order = np.array([it.line for it in items], dtype=np.int64).argsort(kind="quicksort")
    return [items[i] for i in order]


def _two_sided_totals(doc_id, t: _Table) -> list[dict]:
    """本年收入/支出合计 = Σ numbered rows above it; 总计 = 本年合计 + the 结转/结余 rows between."""
    out = []
    groups: dict[tuple[str, str], list[_Item]] = {}
    for it in t.items:
        if it.side is not None:
            groups.setdefault((it.side, it.canon), []).append(it)
    for side, canon in sorted(groups):
        items = [(it.item, it.amount, it.line) for it in _by_line(groups[side, canon])]
        year_total = next((x for x in items if x[0].startswith("本年") and x[0].endswith("合计")), None)
        grand = next((x for x in items if x[0] == "总计"), None)
        if year_total:
            parts = [a for i, a, l in items if _NUMBERED.match(i) and l < year_total[2]]
            out.append(check_row(doc_id, "column_total", year_total[1], sum(parts, Decimal(0)),
                                 f"{_TABLE_ZH[t.spec.key]} {side} {canon}: {year_total[0]} = Σ 一、二、… rows",
                                 t.spec.key, year_total[2]))
        if grand and year_total:
            between = [a for i, a, l in items if year_total[2] < l < grand[2] and not _SUB_ROW.match(i)]
            out.append(check_row(doc_id, "column_total", grand[1], year_total[1] + sum(between, Decimal(0)),
                                 f"{_TABLE_ZH[t.spec.key]} {side} {canon}: 总计 = {year_total[0]} + 结转/结余 rows",
                                 t.spec.key, grand[2]))
    return out


def _blocks(doc_id, t: _Table) -> list[dict]:
    """基本支出明细表: 类 = Σ款; 人员经费合计 = Σ personnel 类; 公用经费合计 = Σ other 类."""
    out = []
    by_code = {it.code: (it.amount, it.line) for it in t.items if it.code is not None}
    codes = {it.code for it in t.items if it.code is not None}
    for parent in sorted(c for c in codes if len(c) == 3):
        children = [c for c in codes if len(c) == 5 and c.startswith(parent)]
        if children:
            out.append(check_row(doc_id, "hierarchy_sum", by_code[parent][0],
                                 sum((by_code[c][0] for c in children), Decimal(0)),
                                 f"基本支出明细表: {parent} = Σ {'、'.join(sorted(children))}", t.spec.key, by_code[parent][1]))
    personnel = set(t.spec.personnel_codes)
    for label, members in (("人员经费合计", [c for c in codes if len(c) == 3 and c in personnel]),
                           ("公用经费合计", [c for c in codes if len(c) == 3 and c not in personnel])):
        total, line = t.value(t.spec.canonical(t.items[0].column), item=label)
        if total is None:
            continue
        out.append(check_row(doc_id, "hierarchy_sum", total, sum((by_code[c][0] for c in members), Decimal(0)),
                             f"基本支出明细表: {label} = Σ {'、'.join(sorted(members)) or '(none)'}", t.spec.key, line))
    return out


def _strip_number(item: str) -> str:
    return _NUMBERED.sub("", item)


def _numbered_expenditure_rows(t: _Table) -> list[str]:
    """Items of the 支出 side's numbered rows (一、… 二、…), one per line_items row."""
    return [it.item for it in t.items if it.side == "expenditure" and it.item is not None and _NUMBERED.match(it.item)]


def _cross_tables(doc_id, tables: dict[str, _Table]) -> list[dict]:
    out = []

    def compare(a_key, a_val, b_key, b_val, what):
        (ea, la), (eb, lb) = a_val, b_val
        if ea is None or eb is None:
            return
        out.append(check_row(doc_id, "cross_table_total", ea, eb,
                             f"{what}: {_TABLE_ZH[a_key]} line {la} vs {_TABLE_ZH[b_key]} line {lb}", a_key, la, lb))

    s, inc, exp = tables.get("summary"), tables.get("income"), tables.get("expenditure")
    fs, gpb, basic, fund = tables.get("fiscal_summary"), tables.get("gpb_expenditure"), tables.get("gpb_basic"), tables.get("gov_fund")
    if s and exp:
        col = s.spec.expenditure_columns[0][0]
        compare("summary", s.value(col, side="expenditure", item_re="^本年支出合计$"),
                "expenditure", exp.value("本年支出合计", item="合计"), "本年支出合计")
        for item in _numbered_expenditure_rows(s):
            name = _strip_number(item)
            other = exp.value("本年支出合计", item=name)
            if other[0] is not None and any(it.item == name and it.code is not None and len(it.code) == 3 for it in exp.items):
                compare("summary", s.value(col, side="expenditure", item=item), "expenditure", other, f"支出 {name}")
    if s and inc:
        col = s.spec.income_columns[0][0]
        compare("summary", s.value(col, side="income", item_re="^本年收入合计$"),
                "income", inc.value("本年收入合计", item="合计"), "本年收入合计")
    if fs and gpb:
        compare("fiscal_summary", fs.value("一般公共预算财政拨款", side="expenditure", item_re="^本年支出合计$"),
                "gpb_expenditure", gpb.value("小计", item="合计"), "一般公共预算财政拨款支出合计")
        for item in dict.fromkeys(_numbered_expenditure_rows(fs)):
            name = _strip_number(item)
            other = gpb.value("小计", item=name)
            if other[0] is not None:
                compare("fiscal_summary", fs.value("一般公共预算财政拨款", side="expenditure", item=item),
                        "gpb_expenditure", other, f"一般公共预算财政拨款 {name}")
    if fs and fund:
        compare("fiscal_summary", fs.value("政府性基金预算财政拨款", side="expenditure", item_re="^本年支出合计$"),
                "gov_fund", fund.value("小计", item="合计"), "政府性基金预算财政拨款支出合计")
    if basic:
        col = basic.spec.canonical(basic.items[0].column)
        p, lp = basic.value(col, item="人员经费合计")
        c, lc = basic.value(col, item="公用经费合计")
        if p is not None and c is not None:
            for key, t in (("gpb_expenditure", gpb), ("expenditure", exp)):
                if t:
                    compare(key, t.value("基本支出", item="合计"), "gpb_basic", (p + c, lp),
                            "基本支出 = 人员经费合计 + 公用经费合计")
    return out
