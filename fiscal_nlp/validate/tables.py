"""The tables' own arithmetic -> `checks` rows (identities declared in package_data/identities.yaml).

Row identities (1 栏 = 2 + 3 + …), the 类/款/项 hierarchy (类 = Σ款 = Σ项, 合计 = Σ类), the
two-sided totals (本年收入合计 = Σ 一、…; 总计 = 本年合计 + 结转), the 基本支出明细表 blocks
(人员经费合计 / 公用经费合计), the total rows a table must print (`total_missing`) and the
cross-table totals. Amounts are compared exactly, in Decimal (see `compare`).

Each finding carries, under `_lines`, the source lines of every row it used: the audit turns a
failed identity that rests on a row the parser doubted into a `parse_doubt` warning.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from ..schema import column_lists
from ..tables.spec import TableSpec, load_specs
from .compare import TOLERANCE, amount_finding, dec, finding
from .declared import CrossRule, Cell, Declarations, TableRules, load_declarations

_NUMBERED = re.compile(r"^[一二三四五六七八九十]+、")
_SUB_ROW = re.compile(r"^(?:[一二三四五六七八九十]+、)?(?:一般公共预算|政府性基金预算|国有资本经营预算)财政拨款$")
def table_name(key: str) -> str:
    """The national name of a table key (tables.yaml `name`), as findings cite it."""
    spec = load_specs()[0].get(key)
    return spec.name if spec else key


class Item(NamedTuple):
    """One line_items row, as the audit reads it."""

    side: str | None
    code: str | None
    item: str | None
    column: str
    canon: str  # national column name
    amount: Decimal
    line: int
    page: int | None


class Table:
    """line_items of one table (in frame order) with lookups by row and national column name."""

    def __init__(self, spec: TableSpec, rules: TableRules | None, items: list[Item]):
        self.spec = spec
        self.rules = rules
        self.items = items
        self.key = spec.key

    def rows(self):
        """(row key, {national column: amount}) per printed row, in order of first appearance."""
        keys = ["side", "code", "item", "source_line"]
        groups: dict[tuple, dict[str, Decimal]] = {}
        for it in self.items:
            groups.setdefault((it.side or "", it.code or "", it.item or "", it.line), {})[it.canon] = it.amount
        for key, values in groups.items():
            yield dict(zip(keys, key)), values

    def first_column(self, side=None) -> str | None:
        for it in self.items:
            if not side or it.side == side:
                return it.canon
        return None

    def value(self, canon, *, side=None, code=None, item=None, item_re=None):
        """(amount, source_line) of the first row matching every given criterion, else (None, None)."""
        if canon == "first":
            canon = self.first_column(side)
        for it in self.items:
            if (it.canon == canon and (not side or it.side == side) and (not code or it.code == code)
                    and (not item or it.item == item) and (not item_re or re.search(item_re, it.item or ""))):
                return it.amount, it.line
        return None, None

    def has_item(self, labels, side=None) -> bool:
        return any(it.item in labels and it.code is None and (not side or it.side == side) for it in self.items)


def read_tables(line_items: pd.DataFrame | pa.Table | None, family: str | None = None,
                declarations: Declarations | None = None) -> dict[str, Table]:
    """line_items -> {table_key: Table}, keys sorted; amounts become exact Decimals once, here."""
    cols = column_lists(line_items, ("table_key", "side", "code", "item", "column", "amount", "source_line"))
    if cols is None:
        return {}
    pages = column_lists(line_items, ("page",))
    pages = pages[0] if pages is not None else [None] * len(cols[0])
    specs = load_specs()[0]
    declared = declarations or load_declarations()
    canonical: dict[tuple, str] = {}
    by_key: dict[str, list[Item]] = {}
    for key, side, code, item, column, amount, line, page in zip(*cols, pages):
        if not isinstance(key, str) or key not in specs:
            continue  # a null table_key belongs to no table
        side, code, item = (x if isinstance(x, str) else None for x in (side, code, item))
        if (key, column, side) not in canonical:
            canonical[key, column, side] = specs[key].canonical(column, side)
        page = None if page is None or pd.isna(page) else int(page)
        by_key.setdefault(key, []).append(Item(side, code, item, column, canonical[key, column, side], dec(amount),
                                               int(line), page))
    return {k: Table(specs[k], declared.rules(k, family), by_key[k]) for k in sorted(by_key)}


def _with_lines(row: dict, lines, cells=()) -> dict:
    """`_lines`: the source lines of every row a finding used; `_cells`: the (line, national column)
    cells its identity added up, which a holding identity verifies."""
    row["_lines"] = frozenset(int(x) for x in lines if x is not None)
    row["_cells"] = frozenset((int(line), canon) for line, canon in cells if line is not None)
    return row


def _label(row) -> str:
    return " ".join(x for x in (row["code"], row["item"]) if x)


# ---------------------------------------------------------------- one table
def table_findings(t: Table) -> list[dict]:
    """Every identity of one table, and its missing totals."""
    if t.rules is None:
        return []
    out = _row_identities(t)
    if t.rules.hierarchy:
        out += _hierarchy(t)
    if t.rules.two_sided:
        out += _two_sided_totals(t)
    if t.rules.blocks:
        out += _blocks(t)
    missing = _missing_totals(t)
    sides = {it.side for it in t.items}
    wanted = len(t.rules.totals) + sum(len(v) for side, v in t.rules.side_totals.items() if side in sides)
    if wanted and len(missing) == wanted:
        # not one of its total rows was read: what the reader took for this table's rows is unproven
        for f in out:
            if not f["passed"] and f["severity"] == "error":
                f.update(check="parse_doubt", severity="warning",
                         detail=f"{f['check']} not judged: none of the table's total rows was read — {f['detail']}")
    return out + missing


def _row_identities(t: Table) -> list[dict]:
    """Each printed row's identities. One whose total or every term is a column the table never
    prints is not judged: that table (or what the reader took for it) has no such columns."""
    out = []
    printed = {(it.side or ""): set() for it in t.items}
    for it in t.items:
        printed[it.side or ""].add(it.canon)
    for row, vals in t.rows():
        columns = printed[row["side"]]
        for ident in t.rules.row_identities(row["side"] or None):
            if not ident.columns() & vals.keys():
                continue
            if ident.total not in columns or not {c for _, c in ident.terms} & columns:
                continue
            expected = vals.get(ident.total, Decimal(0))
            found = expected + ident.gap(vals)
            row_finding = _with_lines(amount_finding(
                "row_sum", expected, found,
                f"{table_name(t.key)} line {row['source_line']} {_label(row)}: {ident.text}",
                t.key, int(row["source_line"])), [row["source_line"]],
                [(row["source_line"], c) for c in ident.columns() if c in vals])
            doubt = _row_doubt(ident, vals, found - expected)
            if doubt and row_finding["severity"] == "error":
                row_finding.update(check="parse_doubt", severity="warning",
                                   detail=f"row_sum not judged: {doubt} — {row_finding['detail']}")
            out.append(row_finding)
    return out


def _row_doubt(ident, vals: dict[str, Decimal], gap: Decimal) -> str | None:
    """Why a failed row identity more likely shows a misread row than a misprinted one, or None.

    The total's cell is blank while parts are printed (a row split over two lines), or the gap is
    exactly one part's cell (a 其中 “of which” column read as a national column, or a cell placed twice).
    """
    if gap == 0:
        return None
    if ident.total not in vals:
        return f"the row prints parts but no {ident.total} (a row split or shifted by the reader?)"
    for _, column in ident.terms:
        if column in vals and vals[column] != 0 and abs(abs(gap) - abs(vals[column])) <= TOLERANCE:
            return (f"the gap is exactly the {column} cell ({vals[column]}): an “其中” (of which) column read as "
                    f"{column}, or a cell placed twice?")
    return None


def _hierarchy(t: Table) -> list[dict]:
    """类 = Σ款, 款 = Σ项 and 合计 = Σ类, column by column."""
    out = []
    coded = [it for it in t.items if it.code is not None]
    totals = [it for it in t.items if it.code is None and it.item in ("合计", "总计")]
    codes = set(it.code for it in coded)
    children_of = {parent: [c for c in codes if len(c) == len(parent) + 2 and c.startswith(parent)]
                   for parent in sorted(c for c in codes if len(c) in (3, 5))}
    by_canon: dict[str, list[Item]] = {}
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
            lines = [by_code[c][1] for c in [parent, *children] if c in by_code]
            out.append(_with_lines(amount_finding(
                "hierarchy_sum", expected, found,
                f"{table_name(t.key)} {canon}: {parent} = Σ {'、'.join(sorted(children))}", t.key, line), lines,
                [(x, canon) for x in lines]))
        top = [c for c in codes if len(c) == 3]
        tot = next((it for it in totals if it.canon == canon), None)
        if top and (tot or any(c in by_code for c in top)):
            if tot is None and not totals:
                continue  # no 合计 row at all: `total_missing` reports it
            # a 合计 row printed with this column blank counts as 0 there (a blank cell is no amount)
            expected = tot.amount if tot else Decimal(0)
            line = tot.line if tot else totals[0].line
            found = sum((by_code.get(c, (Decimal(0), 0))[0] for c in top), Decimal(0))
            lines = [line] + [by_code[c][1] for c in top if c in by_code]
            out.append(_with_lines(amount_finding(
                "hierarchy_sum", expected, found,
                f"{table_name(t.key)} {canon}: 合计 = Σ 类 {'、'.join(sorted(top))}", t.key, line), lines,
                [(x, canon) for x in lines if tot is not None or x != line]))
    return out


def _by_line(items: list[Item]) -> list[Item]:
    """Items in source-line order, rows of one line in the order pandas' sort_values gives (numpy quicksort)."""
    order = np.array([it.line for it in items], dtype=np.int64).argsort(kind="quicksort")
    return [items[i] for i in order]


def _two_sided_totals(t: Table) -> list[dict]:
    """本年收入/支出合计 = Σ numbered rows above it; 总计 = 本年合计 + the 结转/结余 rows between."""
    out = []
    groups: dict[tuple[str, str], list[Item]] = {}
    for it in t.items:
        if it.side is not None:
            groups.setdefault((it.side, it.canon), []).append(it)
    for side, canon in sorted(groups):
        items = [(it.item or "", it.amount, it.line) for it in _by_line(groups[side, canon])]
        year_total = next((x for x in items if x[0].startswith("本年") and x[0].endswith("合计")), None)
        grand = next((x for x in items if x[0] == "总计"), None)
        if year_total:
            parts = [(a, l) for i, a, l in items if _NUMBERED.match(i) and l < year_total[2]]
            out.append(_with_lines(amount_finding(
                "column_total", year_total[1], sum((a for a, _ in parts), Decimal(0)),
                f"{table_name(t.key)} {side} {canon}: {year_total[0]} = Σ 一、二、… rows", t.key, year_total[2]),
                [year_total[2]] + [l for _, l in parts], [(x, canon) for x in [year_total[2]] + [l for _, l in parts]]))
        if grand and year_total:
            between = [(a, l) for i, a, l in items if year_total[2] < l < grand[2] and not _SUB_ROW.match(i)]
            out.append(_with_lines(amount_finding(
                "column_total", grand[1], year_total[1] + sum((a for a, _ in between), Decimal(0)),
                f"{table_name(t.key)} {side} {canon}: 总计 = {year_total[0]} + 结转/结余 rows", t.key, grand[2]),
                [grand[2], year_total[2]] + [l for _, l in between],
                [(x, canon) for x in [grand[2], year_total[2]] + [l for _, l in between]]))
    return out


def _blocks(t: Table) -> list[dict]:
    """基本支出明细表: 类 = Σ款; each block total (人员经费合计, 公用经费合计) = Σ its 类."""
    out = []
    by_code = {it.code: (it.amount, it.line) for it in t.items if it.code is not None}
    codes = {it.code for it in t.items if it.code is not None}
    for parent in sorted(c for c in codes if len(c) == 3):
        children = [c for c in codes if len(c) == 5 and c.startswith(parent)]
        if children:
            out.append(_with_lines(amount_finding(
                "hierarchy_sum", by_code[parent][0], sum((by_code[c][0] for c in children), Decimal(0)),
                f"基本支出明细表: {parent} = Σ {'、'.join(sorted(children))}", t.key, by_code[parent][1]),
                [by_code[c][1] for c in [parent, *children]], [(by_code[c][1], t.first_column()) for c in [parent, *children]]))
    named = {c for _, members in t.rules.blocks if members for c in members}
    column = t.first_column()
    for label, members in t.rules.blocks:
        classes = sorted(c for c in codes if len(c) == 3 and (c in members if members else c not in named))
        total, line = t.value(column, item=label)
        if total is None:
            continue
        out.append(_with_lines(amount_finding(
            "hierarchy_sum", total, sum((by_code[c][0] for c in classes), Decimal(0)),
            f"基本支出明细表: {label} = Σ {'、'.join(classes) or '(none)'}", t.key, line),
            [line] + [by_code[c][1] for c in classes], [(x, column) for x in [line] + [by_code[c][1] for c in classes]]))
    return out


def _missing_totals(t: Table) -> list[dict]:
    """A total row the identities need that the table does not print (`total_missing`).

    A table that prints numbers but not its 合计 (or 人员经费合计, 本年支出合计) can be neither
    verified nor cited for its total; when the row is merely lost by the reader, the tables stage
    says so too. A warning: it cannot tell which.
    """
    out = []
    wanted = [(None, labels) for labels in t.rules.totals]
    wanted += [(side, labels) for side, entries in t.rules.side_totals.items() for labels in entries]
    first_line = min(it.line for it in t.items)
    for side, labels in wanted:
        if side and not any(it.side == side for it in t.items):
            continue  # the reader found no 收入/支出 side at all: nothing to total
        if t.has_item(labels, side) or any(it.item in labels for it in t.items if not side or it.side == side):
            continue
        where = f"{side} side " if side else ""
        out.append(_with_lines(finding(
            "total_missing", False, "warning", None, None,
            f"{table_name(t.key)} (from line {first_line}): {where}total row {'/'.join(labels)} is not printed "
            f"(or not read), so the rows above it cannot be verified against it", first_line, None, t.key), []))
    return out


# ---------------------------------------------------------------- between tables
def _cell_value(t: Table, cell: Cell):
    if cell.sum:
        hits = [t.value(cell.column, side=cell.side, item=label) for label in cell.sum]
        if any(a is None for a, _ in hits):
            return None, None
        return sum((a for a, _ in hits), Decimal(0)), hits[-1][1]
    return t.value(cell.column, side=cell.side, item=cell.item, item_re=cell.item_re)


def _describe(cell: Cell) -> str:
    row = "+".join(cell.sum) if cell.sum else cell.item or cell.item_re.strip("^$")
    side = {"income": "收入 ", "expenditure": "支出 "}.get(cell.side or "", "")
    return f"{table_name(cell.table)} {side}{row}"


def cross_table_findings(tables: dict[str, Table], declarations: Declarations | None = None) -> list[dict]:
    declared = declarations or load_declarations()
    out = []

    def compare(rule: CrossRule, a_val, b_val, what):
        (ea, la), (eb, lb) = a_val, b_val
        if ea is None or eb is None:
            return
        out.append(_with_lines(amount_finding(
            "cross_table_total", ea, eb,
            f"{what}: {_describe(rule.a)} ({ea}, line {la}) vs {_describe(rule.b)} ({eb}, line {lb})",
            rule.a.table, la, lb), [la, lb]))

    for rule in declared.cross_table:
        a, b = tables.get(rule.a.table), tables.get(rule.b.table)
        if a is None or b is None:
            continue
        if rule.fiscal_only and not {rule.a.table, rule.b.table} <= declared.fiscal_tables:
            continue  # the identity holds for fiscal money only (declared so; kept as a guard)
        compare(rule, _cell_value(a, rule.a), _cell_value(b, rule.b), rule.what)
        if rule.per_class:
            column = rule.a.column if rule.a.column != "first" else a.first_column(rule.a.side)
            b_column = rule.b.column if rule.b.column != "first" else b.first_column()
            seen = set()
            for it in a.items:
                if it.side != rule.a.side or not it.item or not _NUMBERED.match(it.item) or it.item in seen:
                    continue
                seen.add(it.item)
                name = _NUMBERED.sub("", it.item)
                classes = [x for x in b.items if x.item == name and x.code is not None and len(x.code) == 3]
                if classes:
                    other = b.value(b_column, item=name)
                    if other[0] is not None:
                        sub = CrossRule(f"{rule.what}: {name}", Cell(a.key, column, rule.a.side, it.item),
                                        Cell(b.key, b_column, None, name))
                        compare(sub, a.value(column, side=rule.a.side, item=it.item), other, f"{rule.what.split('合计')[0]} {name}")
    return out


def code_doubts(tables: dict[str, Table], declarations: Declarations | None = None) -> list[dict]:
    """A coded row whose code is not a national 类 of its classification: not a 科目编码 cell."""
    declared = declarations or load_declarations()
    out = []
    for t in tables.values():
        if t.rules is None or not (t.rules.hierarchy or t.rules.blocks):
            continue
        valid = declared.economic_classes if t.rules.classification == "economic" else declared.functional_classes
        bad: dict[str, int] = {}
        for it in t.items:
            if it.code is not None and not valid.match(it.code):
                bad.setdefault(it.code, it.line)
        rows_of: dict[tuple, set[int]] = {}
        for it in t.items:
            if it.code is not None:
                rows_of.setdefault((it.side, it.code), set()).add(it.line)
        for it in t.items:
            if it.code is None and it.item in ("合计", "总计"):
                rows_of.setdefault((it.side, it.item), set()).add(it.line)
        for (side, code), lines in rows_of.items():
            if len(lines) > 1 and code not in bad:
                # a national table prints each code once: several rows with one code are misread rows
                out.append(_with_lines(finding(
                    "parse_doubt", False, "warning", None, None,
                    f"{table_name(t.key)}: row {code} on {len(lines)} lines (lines {', '.join(map(str, sorted(lines)))}); "
                    f"identities that use these rows are not judged", min(lines), None, t.key), lines))
        for code, line in bad.items():
            lines = {it.line for it in t.items if it.code == code}
            out.append(_with_lines(finding(
                "parse_doubt", False, "warning", None, None,
                f"{table_name(t.key)} line {line}: code {code} is not a class of the national "
                f"{t.rules.classification} classification (read from a number that is not a "
                f"科目编码?); identities that use this row are not judged", line, None, t.key), lines))
    return out
