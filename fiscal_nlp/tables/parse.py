"""Parse one located table region into cells: (side, code, item, level, column, amount, line).

The same rules serve every physical layout (tab cells, pdftotext-style text, PDF grids):
a row is keyed by what the national format prints — a classification code, 合计, or a
行次 number — and its numbers are placed in columns by the header vocabulary, the blank
cells the layout shows, and the identities the table prints (1 栏 = 2 + 3 + …).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import combinations

from ..ingest.document import Line, compact
from .locate import Region
from .spec import Identity, TableSpec, load_specs
from .tokens import Token, tokenize_line

_FUNC_CODE = re.compile(r"^(\d{3}|\d{5}|\d{7})$")
_CODE_LABEL = re.compile(r"^(\d{3}|\d{5}|\d{7})(\D.*)$")
_NOTE = re.compile(r"^(注|说明|备注|附注)[:：0-9一-]|^注$|^\d+栏|^\d+行[=＝]")
# Page furniture a page break leaves inside a table: "- 3 -", "— 21 —", "第 3 页".
_PAGE_FOOTER = re.compile(r"^[-—–－]\s*\d+\s*[-—–－]$|^第\d+页(?:共\d+页)?$|^\d+/\d+$")
_META = re.compile(r"^(部门|单位|金额单位|编制单位)[:：]|^公开\d+表|^表\d+")
_TOTAL_ROW = re.compile(r"^(合计|总计)$")
_ECON_CODE = re.compile(r"^\d{3}$|^\d{5}$")
_CLASS_CODE = re.compile(r"\d{3}")


@dataclass
class Cell:
    side: str | None
    code: str | None
    item: str
    level: int | None
    column: str
    amount: Decimal
    line: Line


@dataclass
class ParsedTable:
    key: str
    title_line: Line
    cells: list[Cell] = field(default_factory=list)
    status: str = "data"  # data | empty | no_rows
    notes: list[tuple[str, Line, str]] = field(default_factory=list)  # (severity, line, message)


def code_level(code: str | None) -> int | None:
    """类/款/项 level from a code's length: 3 -> 1, 5 -> 2, 7 -> 3."""
    return {3: 1, 5: 2, 7: 3}.get(len(code)) if code else None


# ---------------------------------------------------------------- tokens and header

def _split_code_label(tokens: list[Token]) -> list[Token]:
    """A cell holding "2010350 事业运行" (merged by a PDF grid) becomes a code and a label."""
    out = []
    for t in tokens:
        m = _CODE_LABEL.match(t.text) if t.kind == "text" else None
        if m:
            out += [Token("num", m.group(1), t.line, t.gap), Token("text", m.group(2), t.line, 1)]
        else:
            out.append(t)
    return out


def _tokens(line: Line) -> list[Token]:
    return _split_code_label(tokenize_line(line))


def _is_colnum_line(tokens: list[Token]) -> bool:
    """The 栏次 row: column numbers 1 2 3 …, maybe after 栏次 / 类 款 项 labels."""
    texts = [t.text for t in tokens if t.kind != "blank"]
    nums = [t for t in texts if t.isdigit()]
    words_ok = all(t.isdigit() or t in {"栏次", "类", "款", "项", "行次", "类款项"} for t in texts)
    return bool(nums) and words_ok and (len(nums) >= 2 or "栏次" in texts)


def pick_columns(header: str, entries: tuple[tuple[str, ...], ...], groups: tuple[str, ...] = ()) -> list[str]:
    """Columns named in the header text, in national order, as printed.

    `entries` lists, per national column, the spellings it may have; each header word is
    used once (longest spellings first), so 本年收入合计 never also counts as 合计.
    """
    remaining = header
    found: dict[int, tuple[int, str]] = {}
    flat = sorted(((alias, i) for i, alts in enumerate(entries) for alias in alts), key=lambda x: -len(x[0]))
    for alias, i in flat:
        if i in found:
            continue
        pos = remaining.find(alias)
        if pos >= 0:
            found[i] = (pos, alias)
            remaining = remaining[:pos] + "\0" * len(alias) + remaining[pos + len(alias):]
    cols = [found[i][1] for i in sorted(found)]
    return [c for c in cols if c not in groups] if len(cols) > 1 else cols


# ---------------------------------------------------------------- value placement

@dataclass
class Placement:
    values: dict[int, Token]  # 1-based column -> token
    ambiguous: bool = False
    satisfied: bool = True


def _by_name(values: dict[int, Token], names: list[str]) -> dict[str, Decimal]:
    return {names[c - 1]: t.value for c, t in values.items()}


def identities_hold(values: dict[int, Token], identities: tuple[Identity, ...], names: list[str]) -> bool:
    d = _by_name(values, names)
    return all(i.gap(d) == 0 for i in identities)


def _near(values: dict[int, Token], identities: tuple[Identity, ...], names: list[str], tol: Decimal) -> bool:
    d = _by_name(values, names)
    return all(abs(i.gap(d)) <= tol for i in identities)


def place_values(slots: list[Token], names: list[str], identities: tuple[Identity, ...]) -> Placement:
    """Assign a row's numbers to columns 1..k.

    `slots` are the row's value cells in order, blanks included where the layout shows them.
    Candidates keep the layout's relative order and gaps, shifted as a whole (exports often
    add or drop an empty leading cell): the unshifted one first, then the nearest shifts.
    The first candidate whose printed identities hold to the cent is taken. If none does,
    a unique order-preserving placement that satisfies them is taken; otherwise the layout's
    placement is kept and, unless the gap is mere rounding, flagged — the audit then reports
    it instead of a silent guess.
    """
    k = len(names)
    numbers = [(i, t) for i, t in enumerate(slots) if t.kind == "num"]
    if not numbers:
        return Placement({})
    if len(numbers) > k:
        return Placement({}, ambiguous=True, satisfied=False)
    first, last = numbers[0][0], numbers[-1][0]
    shifts = sorted(range(-first, k - last), key=lambda s: (abs(s), s > 0))
    layouts = [{i + 1 + s: t for i, t in numbers} for s in shifts]
    packed = {i + 1: t for i, (_, t) in enumerate(numbers)}
    if packed not in layouts:  # more gaps than columns: the layout over-counts blanks
        layouts.append(packed)
    if not identities:
        return Placement(layouts[0])
    for cand in layouts:
        if identities_hold(cand, identities, names):
            return Placement(cand)
    values = [t for _, t in numbers]
    fits = [dict(zip(cols, values)) for cols in combinations(range(1, k + 1), len(values))
            if identities_hold(dict(zip(cols, values)), identities, names)]
    if len(fits) == 1:
        return Placement(fits[0])
    best = layouts[0]
    if _near(best, identities, names, Decimal("0.02")):
        return Placement(best, satisfied=False)  # a rounding gap the audit will report
    return Placement(best, ambiguous=bool(fits), satisfied=False)


# ---------------------------------------------------------------- layouts

def _column_numbers(texts: list[str], before: int = 0) -> list[int]:
    """栏次 numbers, with runs a PDF reader glued together split again ("678" after 5 is 6, 7, 8).

    Only a token that is exactly the next numbers of the sequence written together is split, so
    a real number is never taken apart.
    """
    out, expected = [], before + 1
    for text in texts:
        value = int(text)
        if value != expected:
            run, n = "", expected
            while len(run) < len(text):
                run += str(n)
                n += 1
            if run == text and n - expected > 1:
                out += range(expected, n)
                expected = n
                continue
        out.append(value)
        expected = value + 1
    return out


def _header_and_body(region: Region) -> tuple[str, list[tuple[Line, list[Token]]], int | None]:
    """Split a region at its 栏次 row (or first data row); returns header text, body rows, 栏次 count."""
    rows = [(ln, _tokens(ln)) for ln in region.lines]
    header_end = None
    ncols = None
    for i, (ln, toks) in enumerate(rows[:40]):
        if _PAGE_FOOTER.match(compact(ln.text)):
            continue
        nums = _column_numbers([t.text for t in toks if t.kind == "num" and t.text.isdigit()], ncols or 0)
        spill = header_end is not None and nums and all(t.kind == "blank" or t.is_int for t in toks) and min(nums) > (ncols or 0)
        if _is_colnum_line(toks) or spill:  # a 栏次 row, or its last numbers wrapped onto the next line
            header_end = i + 1
            ncols = max(nums + [ncols or 0])
        elif header_end is not None:
            break
    if header_end is None:
        for i, (ln, toks) in enumerate(rows):
            first = next((t for t in toks if t.kind != "blank"), None)
            if first and (_FUNC_CODE.match(first.text) or _TOTAL_ROW.match(first.text) or first.text.startswith("一、")):
                header_end = i
                break
        else:
            header_end = len(rows)
    header = "".join(compact(ln.text) for ln, _ in rows[:header_end] if not _META.match(compact(ln.text)))
    return header, rows[header_end:], ncols


def _body_rows(rows):
    """Body rows up to the first note line (注：… / 说明：… / "1 栏各行＝…")."""
    out = []
    for ln, toks in rows:
        text = compact(ln.text)
        if _NOTE.match(text):
            break
        if not _PAGE_FOOTER.match(text):
            out.append((ln, toks))
    return out


def parse_coded(region: Region, spec: TableSpec, table: ParsedTable) -> None:
    """收入/支出/一般公共预算/政府性基金/国有资本 tables: rows keyed by functional code or 合计."""
    header, rows, ncols = _header_and_body(region)
    columns = pick_columns(header, spec.columns, spec.groups)
    if not columns:
        table.notes.append(("warning", region.title_line, f"{spec.key}: no known column header found; table skipped"))
        return
    if ncols and ncols != len(columns):
        table.notes.append(("info", region.title_line,
                            f"{spec.key}: 栏次 numbers {ncols} columns, header names {len(columns)} ({'、'.join(columns)}); using the header"))
    records: list[tuple[str | None, list[Token], list[Token]]] = []  # code, label tokens, value tokens
    for ln, toks in _body_rows(rows):
        first = next((t for t in toks if t.kind != "blank"), None)
        if first is None:
            continue
        starts = (first.kind == "num" and _FUNC_CODE.match(first.text)) or (first.kind == "text" and _TOTAL_ROW.match(first.text))
        if starts:
            records.append((first.text if first.kind == "num" else None, [], []))
            rest = toks[toks.index(first) + (1 if first.kind == "num" else 0):]
        elif records:
            rest = toks
        else:
            continue
        code, label, values = records[-1]
        for t in rest:
            if t.kind == "text":
                if values and any(v.kind == "num" for v in values):
                    break  # text after the numbers: not part of this table's row
                label.append(t)
                values.clear()  # blanks before the label are layout, not cells
            else:
                values.append(t)
    for code, label, values in records:
        item = "".join(t.text for t in label) or ("合计" if code is None else "")
        placement = place_values(values, [spec.canonical(c) for c in columns], spec.identities)
        _emit(table, None, code, item, columns, placement, region)


def _emit(table: ParsedTable, side, code, item, columns, placement: Placement, region: Region) -> None:
    for col, tok in sorted(placement.values.items()):
        table.cells.append(Cell(side, code, item, code_level(code), columns[col - 1], tok.value, tok.line))
    if placement.ambiguous and placement.values:
        line = next(iter(placement.values.values())).line
        table.notes.append(("warning", line, f"{table.key}: row {code or ''} {item}: the numbers fit the table's identities in more than one column order; kept the layout's order"))


def parse_two_sided(region: Region, spec: TableSpec, table: ParsedTable) -> None:
    """收入支出(决算)总表 / 财政拨款收入支出(决算)总表: 收入 left, 支出 right, each with 行次."""
    header, rows, _ = _header_and_body(region)
    left_h, right_h = _split_sides(header)
    left_cols = pick_columns(left_h, spec.income_columns) or [spec.income_columns[0][0]]
    right_cols = pick_columns(right_h, spec.expenditure_columns, spec.expenditure_groups) or [spec.expenditure_columns[0][0]]
    tokens: list[Token] = []
    for ln, toks in _body_rows(rows):
        tokens += toks + [Token("break", "", ln)]
    groups = _rowno_groups(tokens)
    for side, label, values in groups:
        cols = left_cols if side == "income" else right_cols
        ids = spec.row_identities(side)
        item = "".join(t.text for t in label)
        if not item:
            if any(v.kind == "num" for v in values):
                table.notes.append(("warning", values[0].line, f"{spec.key}: numbers without a row label on the {side} side"))
            continue
        _emit(table, side, None, item, cols, place_values(values, [spec.canonical(c, side) for c in cols], ids), region)


def _split_sides(header: str) -> tuple[str, str]:
    marks = [m.start() for m in re.finditer("项目", header)]
    if len(marks) >= 2:
        return header[marks[0]:marks[1]], header[marks[1]:]
    half = len(header) // 2
    return header[:half], header[half:]


def _rowno_groups(tokens: list[Token]):
    """Split a two-sided body into (side, label tokens, value tokens) groups at its 行次 numbers.

    行次 run 1, 2, 3 … on the left and continue (e.g. 28 …) on the right, so a number is a
    行次 only when it is the next one expected on its side — never an amount. The right
    side's first 行次 is the first larger number that follows a left row and a label.
    """
    expect_left, expect_right = 1, None
    groups: list[list] = []
    label: list[Token] = []
    current = None  # [side, label tokens, value tokens]
    for t in tokens:
        if t.kind == "break":
            continue
        n = int(t.text) if t.is_int else None
        side = None
        if n is not None:
            if n == expect_left and (current is None or current[0] == "expenditure" or expect_right is not None):
                side = "income"
            elif n == expect_right:
                side = "expenditure"
            elif expect_right is None and current is not None and current[0] == "income" and label and n > expect_left:
                side = "expenditure"
        if side:
            current = [side, label, []]
            groups.append(current)
            label = []
            if side == "income":
                expect_left = n + 1
            else:
                expect_right = n + 1
        elif t.kind == "text":
            label.append(t)
        elif current is not None and not label:
            current[2].append(t)
    return groups


def _has_num(tokens: list[Token]) -> bool:
    return any(t.kind == "num" for t in tokens)


def parse_economic_blocks(region: Region, spec: TableSpec, table: ParsedTable) -> None:
    """基本支出明细表: (经济分类科目编码, 科目名称, 决算数) blocks side by side, plus 人员/公用经费合计."""
    header, rows, _ = _header_and_body_blocks(region)
    column = next((a for alts in spec.columns for a in alts if a in header), spec.columns[0][0])
    tokens = [t for ln, toks in _body_rows(rows) for t in toks if t.kind != "blank"]
    entry = None  # [code, label tokens, amount token]
    entries = []
    for i, t in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if t.kind == "num" and _ECON_CODE.match(t.text) and nxt is not None and nxt.kind == "text":
            entry = [t.text, [], None]
            entries.append(entry)
        elif t.kind == "text":
            if entry is None or entry[2] is not None or (t.text.endswith("合计") and entry[0] is not None):
                entry = [None, [], None]
                entries.append(entry)
            entry[1].append(t)
        elif t.kind == "num" and entry is not None and entry[2] is None and entry[1]:
            entry[2] = t
    for code, label, amount in entries:
        item = "".join(t.text for t in label)
        if amount is not None and item:
            level = {3: 1, 5: 2}.get(len(code)) if code else None
            table.cells.append(Cell(None, code, item, level, column, amount.value, amount.line))


def _header_and_body_blocks(region: Region):
    rows = [(ln, _tokens(ln)) for ln in region.lines]
    for i, (ln, toks) in enumerate(rows):
        first = next((t for t in toks if t.kind != "blank"), None)
        if first is not None and first.kind == "num" and _CLASS_CODE.fullmatch(first.text):
            header = "".join(compact(l.text) for l, _ in rows[:i])
            return header, rows[i:], None
    return "".join(compact(l.text) for l, _ in rows), [], None


def parse_values_only(region: Region, spec: TableSpec, table: ParsedTable) -> None:
    """“三公”经费表: one row of up to 12 numbers (预算数 1-6, 决算数 7-12) under a fixed header."""
    header, rows, ncols = _header_and_body(region)
    groups = [g for g in spec.column_groups if g in header] or list(spec.column_groups)
    k = ncols if ncols in (6, 12) else 6 * len(groups)
    columns = [f"{g}/{c[0]}" for g in groups[: k // 6] for c in spec.columns]
    values = []
    line_of = None
    for ln, toks in _body_rows(rows):
        if _is_colnum_line(toks):
            continue
        if any(t.kind == "text" for t in toks):
            break
        values += toks
        line_of = line_of or ln
    if not any(t.kind == "num" for t in values):
        return
    placement = place_values(values, columns, spec.identities)
    _emit(table, None, None, "合计", columns, placement, region)


LAYOUTS = {
    "coded": parse_coded,
    "two_sided": parse_two_sided,
    "economic_blocks": parse_economic_blocks,
    "values_only": parse_values_only,
}


def parse_region(region: Region) -> ParsedTable:
    specs, empty_markers = load_specs()
    spec = specs[region.key]
    table = ParsedTable(region.key, region.title_line)
    LAYOUTS[spec.layout](region, spec, table)
    if not table.cells:
        body = "".join(compact(ln.text) for ln in region.lines)
        table.status = "empty" if any(p.search(body) for p in empty_markers) else "no_rows"
    return table
