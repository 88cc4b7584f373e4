"""Parse one located table region into cells: (side, code, item, level, column, amount, line).

The same rules serve every physical layout (tab cells, pdftotext-style text, PDF grids):
a row is keyed by what the national format prints — a classification code, 合计, or a
行次 number — and its numbers are placed in columns by the header vocabulary, the blank
cells the layout shows, and the identities the table prints (1 栏 = 2 + 3 + …).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import combinations

from ..ingest.document import Line, compact
from .locate import Region
from .spec import Identity, TableSpec, format_vocabulary, load_specs
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
_DATA_ROW = re.compile(r"\d[\d,]*\.\d\d|\d{1,3}(?:,\d{3})+")
# Split classification cells: a 类 (functional 2xx, economic 3xx/5xx) and its 款/项 parts.
_CLASS_CELL = re.compile(r"[2-5]\d{2}")
_SUB_CELL = re.compile(r"\d{1,2}")
_LEVEL_WORDS = {"类", "款", "项", "类款项"}
_UNIT_CODE = re.compile(r"^\d{6}$")  # 单位代码 of a unit row (105236 西南大学), never a classification code
_UNIT_ROW = "unit"  # the code of a unit subtotal record (never a classification code: those are digits)
_AMOUNT_HEADERS = ("金额", "预算数", "决算数")
# A label never opens with punctuation nor holds an amount with its unit or a percentage.
_PROSE = re.compile(r"^[,，.。;；:：)）]|\d万元|\d%|[。；]")
# A label with its amount glued on by a PDF grid ("二、项目支出13,025.38"): only amounts with a
# thousands separator or decimals, so a label ending in a number ("2号楼") is left alone.
_GLUED_AMOUNT = re.compile(r"^(\D.*?[^\d,.\-])((?:\d{1,3}(?:,\d{3})+|\d+)\.\d{1,2}|\d{1,3}(?:,\d{3})+)$")


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
    unit: str | None = None  # as printed: 万元 | 元 | …; amounts in `cells` are in 万元
    notes: list[tuple[str, Line, str]] = field(default_factory=list)  # (severity, line, message)


def code_level(code: str | None) -> int | None:
    """类/款/项 level from a code's length: 3 -> 1, 5 -> 2, 7 -> 3."""
    return {3: 1, 5: 2, 7: 3}.get(len(code)) if code else None


# ---------------------------------------------------------------- tokens and header

def _split_code_label(tokens: list[Token]) -> list[Token]:
    """Cells a PDF grid merged: "2010350 事业运行" becomes a code and a label, and "二、项目支出13,025.38"
    (a label with its amount glued on) a label and an amount."""
    out = []
    for t in tokens:
        m = _CODE_LABEL.match(t.text) if t.kind == "text" else None
        g = _GLUED_AMOUNT.match(t.text) if t.kind == "text" and m is None and t.line is not None and "\t" in t.line.text else None
        if m:
            out += [Token("num", m.group(1), t.line, t.gap), Token("text", m.group(2), t.line, 1)]
        elif g:
            out += [Token("text", g.group(1), t.line, t.gap), Token("num", g.group(2), t.line, 1)]
        else:
            out.append(t)
    return out


def _join_split_codes(tokens: list[Token]) -> list[Token]:
    """Codes printed as sub-columns 类 | 款 | 项 ("201 | 06 | 01 | 行政运行", "301 | 2 | 津贴补贴") -> one
    code ("2010601", "30102"). A 类 cell followed by one or two 1-2 digit cells and then a label is a
    split code; blank 款/项 cells (a 类 or 款 row) are dropped. Leading header words 类/款/项 on a
    row (the 合计 row printed on the header's last line) are dropped too."""
    i = 0
    while i < len(tokens) and (tokens[i].kind == "blank" or tokens[i].text in _LEVEL_WORDS):
        i += 1
    words = {t.text for t in tokens[:i]}
    if ({"类", "款"} <= words or "类款项" in words) and any(t.kind != "blank" for t in tokens[i:]):
        tokens = tokens[i:]
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.kind == "num" and _CLASS_CELL.fullmatch(t.text):
            j, parts = i + 1, [t.text]
            while j < len(tokens) and len(parts) < 3 and (tokens[j].kind == "blank" or (tokens[j].kind == "num" and _SUB_CELL.fullmatch(tokens[j].text))):
                if tokens[j].kind == "num":
                    parts.append(tokens[j].text.zfill(2))
                j += 1
            if j < len(tokens) and tokens[j].kind == "text" and (len(parts) > 1 or j > i + 1):
                out.append(Token("num", "".join(parts), t.line, t.gap))
                i = j
                continue
        out.append(t)
        i += 1
    return out


def _tokens(line: Line) -> list[Token]:
    return _join_split_codes(_split_code_label(tokenize_line(line)))


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
    # A group word (预算数 over 合计 | 基本支出 | 项目支出) names a column only when nothing else does.
    flat = sorted(((alias, i) for i, alts in enumerate(entries) for alias in alts), key=lambda x: (x[0] in groups, -len(x[0])))
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
            values_only = sum(t.kind == "num" for t in toks) >= 2 and all(t.kind != "text" for t in toks)
            if first and (_FUNC_CODE.match(first.text) or _is_total_row(toks) or first.text.startswith("一、") or values_only):
                header_end = i
                break
        else:
            header_end = len(rows)
    header = "".join(compact(ln.text) for ln, _ in rows[:header_end] if not _META.match(compact(ln.text)))
    return header, rows[header_end:], ncols


def _sentence_after(toks: list[Token], code: Token) -> bool:
    """Whether what follows a would-be code is prose, not a row label: "390 ,140.45万元),其中…" is an
    amount of a sentence that a PDF line split after its first digits."""
    rest = next((t for t in toks[toks.index(code) + 1:] if t.kind != "blank"), None)
    return rest is not None and rest.kind == "text" and bool(_PROSE.search(rest.text))


def _is_total_row(toks: list[Token]) -> bool:
    """A 合计/总计 row; a line that also names other columns and holds no number is the header."""
    first = next((t for t in toks if t.kind != "blank"), None)
    if first is None or first.kind != "text" or not _TOTAL_ROW.match(first.text):
        return False
    return any(t.kind == "num" for t in toks) or sum(t.kind == "text" for t in toks) == 1


def _is_page_number(rows, i: int) -> bool:
    """A lone small integer that closes its page (the next row is on another page): a page number."""
    ln, toks = rows[i]
    cells = [t for t in toks if t.kind != "blank"]
    if len(cells) != 1 or not cells[0].is_int or len(cells[0].text) > 3 or ln.page is None:
        return False
    return i + 1 == len(rows) or rows[i + 1][0].page != ln.page


def _body_rows(rows):
    """Body rows up to the first note line (注：… / 说明：… / "1 栏各行＝…"), without page furniture."""
    out = []
    for i, (ln, toks) in enumerate(rows):
        text = compact(ln.text)
        if _NOTE.match(text):
            break
        if not _PAGE_FOOTER.match(text) and not _is_page_number(rows, i):
            out.append((ln, toks))
    return out


def parse_coded(region: Region, spec: TableSpec, table: ParsedTable, entries=None, identities=None) -> None:
    """收入/支出/一般公共预算/政府性基金/国有资本 tables: rows keyed by functional code or 合计.

    A table with no coded row but one row of numbers under its header (a one-row 支出预算总表)
    reads that row as its 合计; one whose rows are labels with amounts (a 收入预算总表 listing
    sources of funds) is read as `labelled`.
    """
    entries = entries or spec.columns
    identities = spec.identities if identities is None else identities
    header, rows, ncols = _header_and_body(region)
    columns = pick_columns(header, entries, spec.groups)
    if not columns:
        if _labelled_rows(region, spec, table):
            return
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
        if first.kind == "num" and _UNIT_CODE.match(first.text):
            # "105236 西南大学 …": a unit's subtotal in a department table; its code is no amount and its
            # numbers repeat the rows below, so the row is noted and not read.
            records.append((_UNIT_ROW, [], []))
            table.notes.append(("info", ln, f"{spec.key}: unit subtotal row {compact(ln.text)[:40]} not read as a classification row"))
            continue
        starts = (first.kind == "num" and _FUNC_CODE.match(first.text) and not _sentence_after(toks, first)) or (
            first.kind == "text" and _TOTAL_ROW.match(first.text))
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
    if not records:
        body = [(ln, toks) for ln, toks in _body_rows(rows) if any(t.kind == "num" for t in toks)]
        if len(body) == 1 and all(t.kind != "text" for t in body[0][1]):
            records.append((None, [], list(body[0][1])))  # one row of numbers: the table's 合计
        elif _labelled_rows(region, spec, table):
            return
    for code, label, values in records:
        if code == _UNIT_ROW:
            continue
        item = "".join(t.text for t in label) or ("合计" if code is None else "")
        placement = place_values(values, [spec.canonical(c) for c in columns], identities)
        _emit(table, None, code, item, columns, placement, region)


def _labelled_rows(region: Region, spec: TableSpec, table: ParsedTable) -> bool:
    """Rows keyed by their labels, each with one amount in the table's amount column.

    政府采购 and 项目支出 tables, and sources-of-funds listings (收入预算总表: 一般公共预算资金 | 小计 |
    27,664.22). A label cell that is blank repeats the label above it (merged cells), so a row's
    item is its path ("一般公共预算资金/小计"). Only rows with exactly one number are read; others
    are flagged, not guessed.
    """
    rows = [(ln, _tokens(ln)) for ln in region.lines]
    header = []
    start = None
    for i, (ln, toks) in enumerate(rows[:12]):
        if any(t.kind == "num" for t in toks):
            start = i
            break
        header.append(compact(ln.text))
    if start is None:
        return False
    printed = "".join(header)
    column = next((a for a in (*spec.columns[0], *_AMOUNT_HEADERS) if a in printed), spec.columns[0][0])
    path: list[str] = []
    found = False
    for ln, toks in _body_rows(rows[start:]):
        cells = list(toks)
        while cells and cells[-1].kind == "blank":
            cells.pop()
        labels = [(i, t.text) for i, t in enumerate(cells) if t.kind == "text"]
        numbers = [t for t in cells if t.kind == "num"]
        if not labels:
            continue
        depth = labels[0][0] if "\t" in ln.text else 0
        path = path[:depth] + [text for _, text in labels]
        if len(numbers) > 1:
            table.notes.append(("warning", ln, f"{spec.key}: row {'/'.join(path)}: {len(numbers)} numbers in a one-amount table; not read"))
            continue
        if numbers:
            item = "/".join(p for p in path if p)
            table.cells.append(Cell(None, None, item, None, column, numbers[0].value, numbers[0].line))
            found = True
    return found


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
    body = _body_rows(rows)
    grid = [(ln, toks) for ln, toks in body if "\t" in ln.text]
    if "行次" not in header and grid and 2 * len(grid) >= len(body):
        _two_sided_grid(grid, spec, table, left_cols, right_cols, region)
        return
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


def _two_sided_grid(body, spec: TableSpec, table: ParsedTable, left_cols, right_cols, region: Region) -> None:
    """A two-sided table printed without 行次 (most budget templates, Shanghai and university finals):
    each grid row holds an income label with its amounts, then expenditure labels with theirs.

    The side of a row's only label comes from its column: left of the first column where a second
    label starts in any row is income. Jiangsu's 收支预算总表 prints two expenditure panels (by
    function and by use); both are the expenditure side.
    """
    rows = []
    for ln, toks in body:
        groups: list[list] = []  # [label index, label, value tokens]
        for i, t in enumerate(toks):
            if t.kind == "text":
                if groups and not groups[-1][2]:
                    groups[-1][1] += t.text  # a label split over two cells
                else:
                    groups.append([i, t.text, []])
            elif groups:
                groups[-1][2].append(t)
            elif t.kind == "num":
                table.notes.append(("warning", ln, f"{spec.key}: number {t.text} before any row label; not read"))
        rows.append((ln, groups))
    second = [g[1][0] for _, g in rows if len(g) > 1]
    if not second:
        return
    boundary = min(second)
    for ln, groups in rows:
        for index, label, values in groups:
            side = "income" if index < boundary else "expenditure"
            if side == "income" and index + len(values) >= boundary:  # amounts under the other side's (lost) label
                stray = [v for v in values[boundary - index - 1:] if v.kind == "num"]
                values = values[: boundary - index - 1]
                if stray:
                    table.notes.append(("warning", ln, f"{spec.key}: {len(stray)} expenditure-side number(s) without a row label; not read"))
            cols = left_cols if side == "income" else right_cols
            while values and values[-1].kind == "blank":
                values.pop()
            if not any(v.kind == "num" for v in values):
                continue
            placement = place_values(values, [spec.canonical(c, side) for c in cols], spec.row_identities(side))
            _emit(table, side, None, label, cols, placement, region)


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
    side_by_side = header.count("科目名称") > 1 or header.count("科目编码") > 1
    if spec.coded_columns and len(pick_columns(header, spec.coded_columns)) == len(spec.coded_columns) and not side_by_side:
        # Budget templates: one row per economic code, columns 合计 | 人员经费 | 公用经费.
        parse_coded(region, spec, table, entries=spec.coded_columns, identities=spec.coded_identities)
        return
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
        if first is not None and (first.kind == "num" and _CLASS_CODE.fullmatch(first.text) or _is_total_row(toks)):
            header = "".join(compact(l.text) for l, _ in rows[:i])
            return header, rows[i:], None
    return "".join(compact(l.text) for l, _ in rows), [], None


def header_paths(header_rows: list[list[Token]]) -> dict[int, list[str]]:
    """Column position -> the header cells above it, top to bottom, in a grid whose merged cells
    print their text in their first column.

    A cell spans to the next cell of its row, but never past the span of the cell above it
    ("2024年“三公”经费预算数" over 合计 … 运行费 ends where "2024年机关运行经费预算数" begins).
    """
    width = max((len(r) for r in header_rows), default=0)
    spans: list[list[tuple[int, int, str]]] = []  # per row: (start, end, text)
    for r, toks in enumerate(header_rows):
        starts = [(i, t.text) for i, t in enumerate(toks) if t.kind != "blank"]
        row = []
        for n, (i, text) in enumerate(starts):
            end = starts[n + 1][0] - 1 if n + 1 < len(starts) else width - 1
            for above in reversed(spans):
                parent = next(((a, b) for a, b, _ in above if a <= i <= b), None)
                if parent:
                    end = min(end, parent[1])
                    break
            row.append((i, end, text))
        spans.append(row)
    return {j: [text for row in spans for a, b, text in row if a <= j <= b] for j in range(width)}


def _three_public_column(spec: TableSpec, path: list[str], default_group: str, pooled: bool) -> str | None:
    """National column ("预算数/公务接待费") of a 三公 header path; None when the path names none.

    小计 under “三公”经费 is the 三公 total (合计); under 公务用车购置及运行费 the vehicle subtotal.
    A 合计 beside “三公”经费 in a table that adds 会议费/培训费 (`pooled`) is their sum: 总计.
    """
    group = next((g for g in spec.column_groups for p in path if p.endswith(g)), default_group)
    names = [p.replace("其中:", "") for p in path if p not in spec.column_groups]
    for depth in range(len(names) - 1, -1, -1):
        name = spec.column_aliases.get(names[depth], names[depth])
        parent = names[depth - 1] if depth else ""
        if name == "小计":
            leaf = "合计" if "三公" in parent else "小计"
        elif name == "合计":
            leaf = "总计" if pooled and "三公" not in parent else "合计"
        elif name.startswith("公务用车购置及运行"):
            leaf = "小计"
        elif any(name in alts for alts in spec.columns):
            leaf = next(alts[0] for alts in spec.columns if name in alts)
        elif extra := next((e for e in spec.extra_columns if e in name), None):
            leaf = extra
        elif "三公" in name and depth == len(names) - 1:
            leaf = "合计"
        else:
            continue
        return f"{group}/{leaf}"
    return None


def _parse_three_public_grid(region: Region, spec: TableSpec, table: ParsedTable) -> bool:
    """A tab-grid 三公 table: each number placed by the header cells above its column."""
    rows = [(ln, _tokens(ln)) for ln in region.lines]
    data, last_column = None, 0
    for i, (ln, toks) in enumerate(rows):
        nums = [t for t in toks if t.kind == "num"]
        if not nums or any(t.kind == "text" for t in toks):
            continue
        if _is_colnum_line(toks) or (last_column and all(t.is_int for t in nums) and int(nums[0].text) == last_column + 1):
            last_column = int(nums[-1].text) if all(t.is_int for t in nums) else 0  # 栏次, or its wrapped end
            continue
        data = i
        break
    if data is None or "\t" not in rows[data][0].text:
        return False
    header_rows = [toks for ln, toks in rows[:data] if "\t" in ln.text and not _META.match(compact(ln.text))
                   and not _is_colnum_line(toks) and not _UNIT.search(compact(ln.text))]
    paths = header_paths(header_rows)
    title = compact(region.title_line.text)
    default_group = "预算数" if "预算" in title else "决算数"
    pooled = any(e in "".join(compact(ln.text) for ln, _ in rows[:data]) for e in spec.extra_columns[1:])
    columns = {j: _three_public_column(spec, p, default_group, pooled) for j, p in paths.items()}
    if len({c for c in columns.values() if c}) < 2:
        return False
    ln, toks = rows[data]
    for j, t in enumerate(toks):
        if t.kind != "num":
            continue
        if not columns.get(j):
            table.notes.append(("warning", ln, f"{spec.key}: number {t.text} under no known column header; not read"))
            continue
        table.cells.append(Cell(None, None, "合计", None, columns[j], t.value, ln))
    return True


def parse_values_only(region: Region, spec: TableSpec, table: ParsedTable) -> None:
    """“三公”经费表: one row of up to 12 numbers (预算数 1-6, 决算数 7-12) under a fixed header.

    A tab grid is read by its header; text layouts by the national order and the identities.
    """
    if _parse_three_public_grid(region, spec, table):
        return
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


def parse_labelled(region: Region, spec: TableSpec, table: ParsedTable) -> None:
    """政府采购 / 项目支出 tables: rows keyed by their labels (see `_labelled_rows`)."""
    _labelled_rows(region, spec, table)


LAYOUTS = {
    "coded": parse_coded,
    "labelled": parse_labelled,
    "two_sided": parse_two_sided,
    "economic_blocks": parse_economic_blocks,
    "values_only": parse_values_only,
}


_UNIT = re.compile(r"单位[:：]?(万元|亿元|千元|元)(?![/每])")


def table_unit(region: Region, default: str | None = None) -> str | None:
    """The unit a table states (单位：元 / 金额单位：万元) on its title line or the lines above its data."""
    for ln in [region.title_line, *region.lines[:8]]:
        m = _UNIT.search(compact(ln.text))
        if m:
            return m.group(1)
        if _DATA_ROW.search(ln.text):
            break
    return default


def parse_region(region: Region, default_unit: str | None = None) -> ParsedTable:
    """Cells of one table, amounts in 万元: a table printed in 元 is converted exactly (Decimal).

    `default_unit`: the unit of the document's previous table, for a table that states none.
    """
    specs, empty_markers = load_specs()
    spec = specs[region.key]
    table = ParsedTable(region.key, region.title_line)
    table.unit = table_unit(region, default_unit)
    LAYOUTS[spec.layout](region, spec, table)
    factor = format_vocabulary()[1].get(table.unit or "万元", Decimal(1))
    if factor != 1:
        table.cells = [replace(c, amount=c.amount * factor) for c in table.cells]
    if not table.cells:
        body = "".join(compact(ln.text) for ln in region.lines)
        table.status = "empty" if any(p.search(body) for p in empty_markers) else "no_rows"
    return table
