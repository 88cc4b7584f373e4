"""A synthetic corpus for throughput measurement only — never for accuracy claims or analysis.

    python benchmarks/make_corpus.py N OUT_DIR [--seed S] [--pdf-share 0.1] [--reflow-share 0.3]
                                     [--max-pdfs 200] [--gb18030-share 0.05] [--max-factor 5]
                                     [--no-rounding-cap] [--jobs J] [--force] [--verify K]

writes N documents into OUT_DIR (refused inside the repo's data/) plus a `.corpus.json` manifest (a dotfile, so `fiscal-nlp extract` skips it)
(per file: origin seed, city, district, department as identify reads it, year, kind, factor,
layout, encoding). The same --seed gives the same bytes. Every document is one of the five seeds
in data/raw, varied so that it reads as another department's disclosure and stays consistent:

- names: the city (武汉市/武汉), the district (汉阳区, and its short form: “智慧汉阳”, 汉阳品牌) and
  the department (大数据中心 -> 统计局, 区大数据中心 -> 区统计局, 我中心 -> 我局) are replaced
  everywhere, also where a pdftotext line break splits them, so `fiscal_nlp.ingest.identify`
  reads the new ones from the titles. 60 real districts of 9 cities x 24 departments; the
  (district, department, year) of a doc kind are drawn without replacement, so doc_ids stay
  distinct up to ~20,000 documents per kind.
- fiscal year (2012-2025): every year in the text moves by the same offset (2021 -> 2018 also
  moves 2020 -> 2017, 2025 年 11 月 5 日, 〔2019〕, (2016-2020), 2021.01.01-2021.12.31, 起始年度 2023).
- amounts: every money amount is multiplied by one integer k per document and printed with the
  seed's own decimals and thousands separators, so each identity the seed prints still holds as
  exactly as it did. Scaled: decimal cells of the financial tables (tab rows; the pdftotext-style
  table block of seed 002), numbers written with 万元/元, “故经费减少 10 万”-style budget changes, and
  the form amounts (自评表 预算数/执行数, 基本支出总额; 申报表 资金总额/项目总预算/项目当年预算/合计 …,
  总体资金情况 rows, 项目支出明细 and 采购 amounts). Not scaled: percentages, 行次/栏次, codes, years,
  dates, scores, counts, phone/postal numbers, and thresholds (≥ 200 万, ≤ 22 万元, 低于 125 万,
  50 万元以上, 45 万元左右). k is drawn from 1..--max-factor, capped per seed so that k x the
  seed's own rounding gaps stays within the audit's 0.02 万元 tolerance (000/003: k <= 2,
  002: k = 1, 001/004: no tables, k <= 5); `--no-rounding-cap` lifts the cap.
- layout, drawn by share, then a seed that suits it (the first documents cover every seed x
  layout): `orig` (the seed's own layout), `reflow` (tab rows re-flowed pdftotext-style with
  wrapped labels and page footers: `reflow` from tests/test_tables.py; seeds 000/003), `pdf`
  (tests/pdf_factory.render_pdf, ruled or borderless; 000/001/003/004, 003 ruled only; at most
  --max-pdfs, rendered in --jobs processes while the text files are written — ~0.1-0.25 s each).
- encoding: UTF-8, a --gb18030-share of the text files GB18030.

Files are named `syn-000123-from-000-reflow.txt` / `.pdf`. `--verify K` then extracts K of them
(at least one per seed x layout, and a GB18030 one) and the seeds with
`fiscal_nlp.pipeline.extract_document` and compares: identity, line items per table, every cell
= k x the seed's cell, arithmetic-check errors <= the seed's, and (informational; required for
`orig`) the money in facts/projects = k x the seed's.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
TESTS = ROOT / "tests"

# ---------------------------------------------------------------- seeds


@dataclass(frozen=True)
class SeedProfile:
    """What a seed prints about itself, and how its amounts may be recognised."""

    prefix: str
    city: str  # as printed ("武汉市"); its short form "武汉" is replaced too
    district: str  # "汉阳区"; its short form "汉阳" is replaced too
    department: str  # department without city/district: "大数据中心"
    year: int
    kind: str  # "final" | "budget"
    tab_tables: bool  # tables are tab-separated rows (re-flowable, renderable as PDF tables)
    pdf_ok: bool  # a PDF of it extracts like the text
    # a borderless (ruled=False) PDF of it extracts like the text; seed 003's does not (an extra
    # “三公” row and 1-3 arithmetic errors, with the seed's own text unchanged), so it is ruled only
    pdf_borderless_ok: bool
    # decimals inside 第二部分 (the tables) are amounts: the tables are pdftotext-style text
    region_decimals: bool
    # largest rounding gap of the seed's own arithmetic checks (severity `rounding`, ≤ 0.02 万元):
    # k x gap must stay ≤ 0.02, or the scaled document fails checks the seed passes.
    max_gap: Decimal
    # what precedes the district in “第一部分 X概况”, where identify reads the department
    dept_head: str  # "city" (武汉市汉阳区…), "" (青山区…) or "原" (原青山区…)


PROFILES = {
    "000": SeedProfile("000", "武汉市", "汉阳区", "大数据中心", 2021, "final", True, True, True, False, Decimal("0.01"), "city"),
    "001": SeedProfile("001", "武汉市", "青山区", "大数据中心", 2021, "budget", False, True, True, False, Decimal(0), ""),
    "002": SeedProfile("002", "武汉市", "武昌区", "大数据中心", 2019, "final", False, False, False, True, Decimal("0.02"), "city"),
    "003": SeedProfile("003", "武汉市", "青山区", "大数据中心", 2024, "final", True, True, False, False, Decimal("0.01"), "原"),
    "004": SeedProfile("004", "武汉市", "汉阳区", "大数据中心", 2024, "budget", False, True, True, False, Decimal(0), ""),
}
ROUNDING_TOLERANCE = Decimal("0.02")  # fiscal_nlp.schema.ROUNDING_TOLERANCE_WAN
YEAR_RANGE = (2012, 2025)  # fiscal years of the synthetic documents

# Real districts (city, district). No district name contains 市/县/旗, so identify's prefix
# and district patterns read them back unchanged.
DISTRICTS = [
    ("武汉市", d) for d in ("江岸区", "江汉区", "硚口区", "汉阳区", "武昌区", "青山区", "洪山区", "东西湖区",
                           "蔡甸区", "江夏区", "黄陂区", "新洲区", "汉南区")
] + [("长沙市", d) for d in ("芙蓉区", "天心区", "岳麓区", "开福区", "雨花区", "望城区")] + [
    ("南京市", d) for d in ("玄武区", "秦淮区", "建邺区", "鼓楼区", "浦口区", "栖霞区", "雨花台区", "江宁区", "六合区")
] + [("成都市", d) for d in ("锦江区", "青羊区", "金牛区", "武侯区", "成华区", "龙泉驿区", "温江区")] + [
    ("杭州市", d) for d in ("上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "临平区")
] + [("郑州市", d) for d in ("中原区", "二七区", "管城回族区", "金水区", "惠济区")] + [
    ("合肥市", d) for d in ("瑶海区", "庐阳区", "蜀山区", "包河区")
] + [("西安市", d) for d in ("新城区", "碑林区", "莲湖区", "雁塔区", "未央区", "灞桥区")] + [
    ("南昌市", d) for d in ("东湖区", "青云谱区", "青山湖区")
]

# (department as printed after the district, how it calls itself: 我中心 -> 我局). No name
# starts with 市 (identify would take "X区市" for a city prefix) or contains 区/县/旗.
DEPARTMENTS = [
    ("大数据中心", "中心"), ("档案馆", "馆"), ("统计局", "局"), ("政务服务中心", "中心"), ("审计局", "局"),
    ("司法局", "局"), ("民政局", "局"), ("文化和旅游局", "局"), ("退役军人事务局", "局"),
    ("医疗保障局", "局"), ("信访局", "局"), ("应急管理局", "局"), ("机关事务服务中心", "中心"),
    ("融媒体中心", "中心"), ("政务服务和大数据管理局", "局"), ("人力资源和社会保障局", "局"),
    ("财政局", "局"), ("商务局", "局"), ("投资促进局", "局"), ("地方志编纂中心", "中心"),
    ("数字城管中心", "中心"), ("网格化服务管理中心", "中心"), ("科学技术和经济信息化局", "局"),
    ("公共资源交易中心", "中心"),
]

# ---------------------------------------------------------------- the template of a seed

# Name placeholders (private-use characters): filled per document with str.replace.
P_CITY, P_CITY_SHORT, P_DIST, P_DIST_SHORT, P_DEPT, P_SELF = (chr(0xE001 + i) for i in range(6))

NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_NUM_FULL = re.compile(rf"-?{NUM}")
_TOKEN = re.compile(
    r"(?P<date>(?<![0-9A-Za-z.,])(?:19|20)\d\d(?=[./\-]\d{1,2}[./\-]\d{1,2}(?!\d)))"
    rf"|(?P<num>(?<![0-9A-Za-z.,]){NUM}(?![0-9A-Za-z]))"
)
_MONEY_UNIT = re.compile(r"\s*(?:万\s*元|元)")
# thresholds and estimates are not amounts of the document
_THRESHOLD_LEFT = re.compile(r"(?:[≥≤<>＜＞]|低于|高于|超过|不少于|不低于|不高于|少于|多于|小于|大于)\s*$")
_THRESHOLD_RIGHT = re.compile(r"\s*(?:万\s*)?元\s*(?:[(（]含[)）])?\s*(?:以上|以下|以内|左右|[/／])")
# “故经费减少 10 万”, “费用预计为 45 万”: 万 alone is 万元 in a budget-change clause
_WAN_ONLY = re.compile(r"\s*万(?![\u4e00-\u9fff])")
_CHANGE_VERB = re.compile(r"(?:增加|减少|新增|核减|压减|预计为|调整为)(?:了)?(?:该项目的)?(?:预算|经费|资金)?\s*$")
_YEAR_RIGHT = re.compile(r"\s*(?:年|度|届)")
_YEAR_RANGE_RIGHT = re.compile(r"\s*[-—－~～至]\s*(?:19|20)\d\d(?!\d)")
_YEAR_RANGE_LEFT = re.compile(r"(?:19|20)\d\d\s*[-—－~～至]\s*$")
_YEAR_LABEL_LEFT = re.compile(r"(?:年度|截至|截止)\s*$")
_SECTION = re.compile(r"^\s*第[一二三四五六七八九十]+部分")


def _spaced(word: str) -> str:
    """A word that a pdftotext line break may split: 智慧武\\n\\n昌."""
    return r"\s*".join(map(re.escape, word))


def substitute_names(text: str, p: SeedProfile) -> str:
    """City, district and department -> placeholders (one pass, longest first).

    Whitespace inside a split name is kept, after the placeholder, so lines stay lines.
    “区级大数据中心” (a computer room, not the department) and other 大数据 words are left alone.
    """
    city_short = p.city[:-1]
    short = p.district[:-1]
    names = [
        (_spaced(p.city), P_CITY), (_spaced(city_short), P_CITY_SHORT),
        (_spaced(p.district), P_DIST), (_spaced(short), P_DIST_SHORT),
        (r"(?<!级)" + _spaced(p.department), P_DEPT),
        (r"大数据(?=执行)", P_DEPT),  # “原青山区大数据执行 280 次” (also after a line break)
        (r"(?<=[我本])中心", P_SELF),
    ]
    pattern = re.compile("|".join(f"(?P<g{i}>{pat})" for i, (pat, _) in enumerate(names)))

    def repl(m: re.Match) -> str:
        i = int(m.lastgroup[1:])
        return names[i][1] + "".join(re.findall(r"\s+", m.group(0)))

    return pattern.sub(repl, text)


@dataclass
class _Line:
    start: int
    text: str  # without the newline


def _lines(text: str) -> list[_Line]:
    out, pos = [], 0
    for raw in text.split("\n"):
        out.append(_Line(pos, raw))
        pos += len(raw) + 1
    return out


def _cells(line: _Line) -> list[tuple[int, str]]:
    """(offset in the text, cell text) of a tab-separated line."""
    out, pos = [], line.start
    for cell in line.text.split("\t"):
        out.append((pos, cell))
        pos += len(cell) + 1
    return out


def _cell_number(offset: int, cell: str) -> int | None:
    """Offset of the number when the whole cell is one (optionally signed) number."""
    s = cell.strip()
    if not _NUM_FULL.fullmatch(s):
        return None
    return offset + cell.index(s) + (1 if s.startswith("-") else 0)


_FORM_WORDS = re.compile(r"项目名称|部门名称|预算执行情况|得分|总分")
_EXEC_HEADER = re.compile(r"预算数")
_EXEC_STOP = re.compile(r"绩效|指标|目标")


def table_amounts(lines: list[_Line]) -> set[int]:
    """Offsets of the amounts in tab-separated tables.

    Financial tables: every decimal cell (行次/栏次/codes are integers). Forms (自评表): the
    cells of the execution row(s) before the rate (预算数, 执行数 — not 执行率, 得分, 总分), and a
    number right after a label ending in 总额/金额 (基本支出总额 449.39).
    """
    found: set[int] = set()
    i = 0
    while i < len(lines):
        if "\t" not in lines[i].text:
            i += 1
            continue
        j = i
        while j < len(lines) and "\t" in lines[j].text:
            j += 1
        block = lines[i:j]
        if any(_FORM_WORDS.search(ln.text) for ln in block):
            after_header = 0
            for ln in block:
                cells = _cells(ln)
                if _EXEC_HEADER.search(ln.text) and "执行数" in ln.text:
                    after_header = 3
                    continue
                if after_header and _EXEC_STOP.search(ln.text):
                    after_header = 0
                if after_header:
                    after_header -= 1
                    for off, cell in cells:
                        if cell.strip().endswith("%"):
                            break
                        pos = _cell_number(off, cell)
                        if pos is not None:
                            found.add(pos)
                label = ""
                for off, cell in cells:
                    pos = _cell_number(off, cell)
                    if pos is not None and re.search(r"(?:总额|金额)$", label):
                        found.add(pos)
                    if cell.strip():
                        label = cell.strip()
        else:
            for ln in block:
                for off, cell in _cells(ln):
                    pos = _cell_number(off, cell)
                    if pos is not None and "." in cell:
                        found.add(pos)
        i = j
    return found


def region_amounts(text: str, lines: list[_Line]) -> set[int]:
    """pdftotext-style tables (seed 002): decimals between 第二部分 and 第三部分 are amounts."""
    found: set[int] = set()
    inside = False
    for ln in lines:
        if _SECTION.match(ln.text):
            inside = "第二部分" in ln.text
            continue
        if not inside or "\t" in ln.text:
            continue
        for m in re.finditer(rf"(?<![0-9A-Za-z.,]){NUM}(?![0-9A-Za-z])", ln.text):
            if "." in m.group(0) and not text.startswith("%", ln.start + m.end()):
                found.add(ln.start + m.start())
    return found


_DECL_LABELS = (
    r"(?:项目总预算|项目当年预算|当年资金总额|资金总额|其中[:：]\s*财政拨款|当\s*年\s*财\s*政\s*拨\s*款"
    r"|申请当年预算拨款|一般公共预算财政拨款|政府性基金预算财政拨款|财政专户管理资金|单位资金"
    r"|使用上年度财政拨款结转|(?<![\u4e00-\u9fff])合\s*计)"
)
_DECL_PAIR = re.compile(_DECL_LABELS + rf"\s*[:：]?\s*(?P<v>{NUM})(?![\d%％])")
_FUND_ROW = re.compile(rf"^\s*[\u4e00-\u9fff][\u4e00-\u9fff ]*?(?:\s+{NUM}%?)+\s*$")
_PROJECT_ROW = re.compile(rf"本级支出项目\s+(?P<a>{NUM})\s+(?P<b>{NUM})\s*$")
_PURCHASE_ROW = re.compile(rf"^\s*[A-Z]\d{{8}}\s+\d+\s+(?P<v>{NUM})\s*$")
_ECON_CODE = re.compile(r"^\s*\d{5}-\S")
_LEADING_NUM = re.compile(rf"^\s*(?P<v>{NUM})(?=\s|$)")


def form_amounts(text: str, lines: list[_Line]) -> set[int]:
    """Unit-less amounts of the declaration forms (申报表; the page says 单位：万元 once).

    In the zone from the first 申报表 to the next 第N部分: label-amount pairs (项目总预算 736.91,
    当年资金总额： 625.98, 合计 397.37 …), 总体资金情况 rows (财政拨款 1037.6 100% 1170.83 1012.84 —
    not the shares), 项目支出情况 rows (本级支出项目 8 8), procurement rows (C17010200 1 397.37)
    and the amount under an economic classification (30214-租赁 / 费 / 397.37).
    """
    found: set[int] = set()
    start = next((i for i, ln in enumerate(lines) if "申报表" in ln.text), None)
    if start is None:
        return found
    end = next((i for i in range(start + 1, len(lines)) if _SECTION.match(lines[i].text)), len(lines))
    zone = lines[start:end]
    zone_start, zone_end = zone[0].start, zone[-1].start + len(zone[-1].text)
    for m in _DECL_PAIR.finditer(text, zone_start, zone_end):
        if "\t" not in text[text.rfind("\n", 0, m.start()) + 1: m.start()]:
            found.add(m.start("v"))
    in_fund = False
    pending_econ = 0
    for ln in zone:
        if "\t" in ln.text:
            continue
        if "总体资金情况" in ln.text:
            in_fund = True
        elif "部门职能概述" in ln.text:
            in_fund = False
        if in_fund and _FUND_ROW.match(ln.text):
            for m in re.finditer(rf"(?<![0-9A-Za-z.,]){NUM}(?![0-9A-Za-z.%])", ln.text):
                found.add(ln.start + m.start())
        if (m := _PROJECT_ROW.search(ln.text)) is not None:
            found.update({ln.start + m.start("a"), ln.start + m.start("b")})
        if (m := _PURCHASE_ROW.match(ln.text)) is not None:
            found.add(ln.start + m.start("v"))
        if _ECON_CODE.match(ln.text):
            pending_econ = 5
            continue
        if pending_econ and ln.text.strip():
            pending_econ -= 1
            if (m := _LEADING_NUM.match(ln.text)) is not None:
                found.add(ln.start + m.start("v"))
                pending_econ = 0
    return found


def _is_year(text: str, start: int, end: int, token: str) -> bool:
    if len(token) != 4 or not token.isdigit() or not 1990 <= int(token) <= 2039:
        return False
    right, left = text[end:end + 12], text[max(0, start - 12):start]
    if re.match(r"\s*(?:万|元|亿)", right):
        return False
    return bool(
        _YEAR_RIGHT.match(right) or _YEAR_RANGE_RIGHT.match(right) or _YEAR_RANGE_LEFT.search(left)
        or _YEAR_LABEL_LEFT.search(left)
        or (re.search(r"[(（〔\[【]$", left) and re.match(r"[)）〕\]】]", right))
    )


def _is_unit_money(text: str, start: int, end: int) -> bool:
    right, left = text[end:end + 16], text[max(0, start - 12):start]
    if _THRESHOLD_LEFT.search(left):
        return False
    if _MONEY_UNIT.match(right):
        return not _THRESHOLD_RIGHT.match(right)
    return bool(_WAN_ONLY.match(right) and _CHANGE_VERB.search(left))


@dataclass
class Template:
    """A seed as literal text and slots: ("y", year) or ("m", digits, decimals, comma)."""

    profile: SeedProfile
    parts: list  # str | tuple
    n_money: int
    n_year: int
    unclassified_years: list[str]

    def render(self, k: int, dy: int) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif part[0] == "y":
                out.append(str(part[1] + dy))
            else:
                out.append(_format_amount(part[1] * k, part[2], part[3]))
        return "".join(out)


def _format_amount(units: int, decimals: int, comma: bool) -> str:
    """`units` in 10^-decimals: 253325, 2, True -> “2,533.25”."""
    whole, frac = divmod(units, 10 ** decimals)
    head = f"{whole:,}" if comma else str(whole)
    return f"{head}.{frac:0{decimals}d}" if decimals else head


def build_template(text: str, profile: SeedProfile) -> Template:
    text = substitute_names(text.replace("\r\n", "\n"), profile)
    lines = _lines(text)
    money = table_amounts(lines) | form_amounts(text, lines)
    if profile.region_decimals:
        money |= region_amounts(text, lines)
    parts: list = []
    pos = n_money = n_year = 0
    unclassified = []
    for m in _TOKEN.finditer(text):
        token = m.group(0)
        start, end = m.span()
        slot = None
        if m.group("date") or _is_year(text, start, end, token):
            slot = ("y", int(token))
            n_year += 1
        elif start in money or _is_unit_money(text, start, end):
            whole, _, frac = token.replace(",", "").partition(".")
            slot = ("m", int(whole + frac), len(frac), "," in token)
            n_money += 1
        elif len(token) == 4 and token.isdigit() and 1990 <= int(token) <= 2039:
            unclassified.append(text[max(0, start - 10):end + 6].replace("\n", "⏎"))
        if slot is not None:
            parts.append(text[pos:start])
            parts.append(slot)
            pos = end
    parts.append(text[pos:])
    return Template(profile, parts, n_money, n_year, unclassified)


# ---------------------------------------------------------------- layouts


def _reflow():
    """`reflow` from tests/test_tables.py (pdftotext-style rows, wrapped labels, page footers)."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    from test_tables import reflow

    return reflow


def _render_pdf(job: tuple[str, str, dict]) -> str:
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    from pdf_factory import render_pdf
    from reportlab import rl_config

    rl_config.invariant = 1  # no timestamps or random ids: the same --seed gives the same bytes
    text, path, options = job
    render_pdf(text, Path(path), **options)
    return path


# ---------------------------------------------------------------- the corpus


def load_seeds() -> dict[str, str]:
    seeds = {}
    for path in sorted(RAW.glob("*.txt")):
        prefix = path.name[:3]
        if prefix not in PROFILES:
            print(f"make_corpus: {path.name} has no seed profile; not used", file=sys.stderr)
            continue
        text = path.read_text(encoding="utf-8")
        p = PROFILES[prefix]
        if p.district + p.department not in text or str(p.year) not in text:
            raise SystemExit(f"make_corpus: {path.name} does not match its profile ({p.district}{p.department} {p.year})")
        seeds[prefix] = text
    if not seeds:
        raise SystemExit(f"make_corpus: no seeds in {RAW}")
    return seeds


def factors(profile: SeedProfile, max_factor: int, rounding_cap: bool) -> list[int]:
    top = max_factor
    if rounding_cap and profile.max_gap:
        top = min(top, int(ROUNDING_TOLERANCE / profile.max_gap))
    return list(range(1, max(top, 1) + 1))


class Identities:
    """(city, district, department, year) per document: distinct doc_ids per kind while they last."""

    def __init__(self, rng: random.Random):
        from fiscal_nlp.ingest.identify import make_doc_id

        self.rng = rng
        self.pools: dict[tuple[str, int, int], list] = {}
        self.used: set[str] = set()
        self.repeats = 0
        self.base = {}
        for ci, (_city, dist) in enumerate(DISTRICTS):
            for di, (dept, _self) in enumerate(DEPARTMENTS):
                self.base[(ci, di)] = make_doc_id(dist, dist + dept, 0, "x").rsplit("-", 2)[0]

    def draw(self, profile: SeedProfile, years: range) -> tuple[int, int, int]:
        key = (profile.kind, years.start, years.stop)
        pool = self.pools.get(key)
        if pool is None:
            pool = [(ci, di, y) for (ci, di) in self.base for y in years]
            self.rng.shuffle(pool)
            self.pools[key] = pool
        while pool:
            ci, di, y = pool.pop()
            doc_id = f"{self.base[(ci, di)]}-{y}-{profile.kind}"
            if doc_id not in self.used:
                self.used.add(doc_id)
                return ci, di, y
        self.repeats += 1
        ci, di = self.rng.choice(list(self.base))
        return ci, di, self.rng.choice(list(years))


def _eligible(p: SeedProfile, layout: str) -> bool:
    return layout == "orig" or (layout == "reflow" and p.tab_tables) or (layout == "pdf" and p.pdf_ok)


def plan(n: int, seeds: dict[str, str], args, rng: random.Random) -> tuple[list[dict], int]:
    """One dict per document. Layouts are drawn by share (PDFs until --max-pdfs), then the seed among
    those the layout suits; the first documents cover every seed x layout, so a small corpus does too."""
    prefixes = sorted(seeds)
    layouts_on = ["orig"] + (["reflow"] if args.reflow_share > 0 else []) \
        + (["pdf"] if args.pdf_share > 0 and args.max_pdfs > 0 else [])
    first = [(pr, lay) for lay in layouts_on for pr in prefixes if _eligible(PROFILES[pr], lay)]
    ids = Identities(rng)
    pdf_budget = args.max_pdfs
    docs = []
    for i in range(n):
        if i < len(first):
            prefix, layout = first[i]
        else:
            r = rng.random()
            layout = "pdf" if r < args.pdf_share else "reflow" if r < args.pdf_share + args.reflow_share else "orig"
            prefix = None
        if layout == "pdf" and pdf_budget <= 0:
            layout = "orig"
        if prefix is None or not _eligible(PROFILES[prefix], layout):
            prefix = rng.choice([pr for pr in prefixes if _eligible(PROFILES[pr], layout)] or prefixes)
            layout = layout if _eligible(PROFILES[prefix], layout) else "orig"
        pdf_budget -= layout == "pdf"
        p = PROFILES[prefix]
        lo, hi = YEAR_RANGE
        ci, di, year = ids.draw(p, range(lo, hi + 1))
        city, district = DISTRICTS[ci]
        department, self_ref = DEPARTMENTS[di]
        doc = {
            "seed": prefix, "city": city, "district": district, "department": department, "self": self_ref,
            "year": year, "kind": p.kind, "factor": rng.choice(factors(p, args.max_factor, not args.no_rounding_cap)),
            "layout": layout,
            "encoding": "gb18030" if layout != "pdf" and rng.random() < args.gb18030_share else ("utf-8" if layout != "pdf" else None),
        }
        if layout == "reflow":
            doc["reflow"] = {"width": rng.randint(6, 14), "page_breaks": rng.choice([0.0, 0.1]), "rng": rng.randrange(1 << 30)}
        if layout == "pdf":
            doc["pdf"] = {"ruled": rng.random() < 0.6 or not p.pdf_borderless_ok, "repeat_header": rng.random() < 0.5}
        doc["file"] = f"syn-{i:06d}-from-{prefix}-{layout}.{'pdf' if layout == 'pdf' else 'txt'}"
        docs.append(doc)
    return docs, ids.repeats


def printed_department(doc: dict) -> str:
    """The department as identify reads it from “第一部分 X概况” (city prefix as the seed prints it)."""
    head = PROFILES[doc["seed"]].dept_head
    return f"{doc['city'] if head == 'city' else head}{doc['district']}{doc['department']}"


def check_out_dir(out: Path) -> Path:
    out = out.resolve()
    data = (ROOT / "data").resolve()
    if out == data or data in out.parents:
        raise SystemExit(f"make_corpus: refusing to write into {out}: it is inside the repository's data/ "
                         f"(data/raw holds the immutable seeds); use e.g. /tmp/corpus")
    return out


def clear_out_dir(out: Path, force: bool) -> None:
    entries = list(out.iterdir())
    ours = [p for p in entries if re.fullmatch(r"syn-\d{6}-from-\d{3}-\w+\.(txt|pdf)", p.name) or p.name == ".corpus.json"]
    others = len(entries) - len(ours)
    if ours and not force:
        raise SystemExit(f"make_corpus: {out} already holds a corpus ({len(ours)} files); pass --force to replace it")
    if others:
        print(f"make_corpus: note: {out} also holds {others} other entries (left alone)", file=sys.stderr)
    for p in ours:
        p.unlink()


def generate(args) -> dict:
    out = check_out_dir(Path(args.out_dir))
    out.mkdir(parents=True, exist_ok=True)
    clear_out_dir(out, args.force)
    t0 = time.perf_counter()
    rng = random.Random(args.seed)
    seeds = load_seeds()
    templates = {prefix: build_template(text, PROFILES[prefix]) for prefix, text in seeds.items()}
    docs, repeats = plan(args.n, seeds, args, rng)
    reflow = _reflow() if any(d["layout"] == "reflow" for d in docs) else None
    cache: dict[tuple[str, int, int], str] = {}

    def doc_text(doc: dict) -> str:
        p = PROFILES[doc["seed"]]
        dy = doc["year"] - p.year
        key = (doc["seed"], doc["factor"], dy)
        if key not in cache:
            cache[key] = templates[doc["seed"]].render(doc["factor"], dy)
        text = cache[key]
        for placeholder, name in ((P_CITY, doc["city"]), (P_CITY_SHORT, doc["city"][:-1]), (P_DIST, doc["district"]),
                                  (P_DIST_SHORT, doc["district"][:-1]), (P_DEPT, doc["department"]), (P_SELF, doc["self"])):
            text = text.replace(placeholder, name)  # str.replace: far faster than str.translate here
        return text

    # PDFs first, in worker processes, while this process writes the text files
    pdf_jobs = [(doc_text(d), str(out / d["file"]), d["pdf"]) for d in docs if d["layout"] == "pdf"]
    pool, futures = None, []
    if pdf_jobs and args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(min(args.jobs, len(pdf_jobs)))
        futures = [pool.submit(_render_pdf, job) for job in pdf_jobs]
    for doc in docs:
        if doc["layout"] == "pdf":
            continue
        text = doc_text(doc)
        if doc["layout"] == "reflow":
            r = doc["reflow"]
            text = "\n".join(reflow(text.split("\n"), r["width"], random.Random(r["rng"]), r["page_breaks"]))
        (out / doc["file"]).write_bytes(text.encode(doc["encoding"]))
    t_text = time.perf_counter() - t0
    if pool is not None:
        for future in futures:
            future.result()
        pool.shutdown()
    else:
        for job in pdf_jobs:
            _render_pdf(job)
    elapsed = time.perf_counter() - t0
    manifest = {
        "purpose": "synthetic corpus for throughput measurement only (benchmarks/make_corpus.py); not real disclosures",
        "N": args.n, "seed": args.seed,
        "options": {k: getattr(args, k) for k in ("pdf_share", "reflow_share", "max_pdfs", "gb18030_share", "max_factor", "no_rounding_cap")},
        "seeds": {prefix: {"file": next(RAW.glob(f"{prefix}_*.txt")).name, "district": p.district, "department": p.department,
                           "year": p.year, "kind": p.kind, "factors": factors(p, args.max_factor, not args.no_rounding_cap),
                           "money_slots": templates[prefix].n_money, "year_slots": templates[prefix].n_year}
                  for prefix, p in PROFILES.items() if prefix in templates},
        "identity_repeats": repeats,
        "generation_seconds": round(elapsed, 2),
        "files": [{
            "file": d["file"], "origin_seed": d["seed"], "city": d["city"], "district": d["district"],
            "department": printed_department(d), "year": d["year"], "kind": d["kind"], "factor": d["factor"],
            "layout": d["layout"], "encoding": d["encoding"],
            **({"reflow": {k: v for k, v in d["reflow"].items() if k != "rng"}} if "reflow" in d else {}),
            **({"pdf": d["pdf"]} if "pdf" in d else {}),
        } for d in docs],
    }
    (out / ".corpus.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    layouts = {}
    for d in docs:
        layouts[d["layout"]] = layouts.get(d["layout"], 0) + 1
    print(f"make_corpus: {args.n} documents in {out} ({', '.join(f'{v} {k}' for k, v in sorted(layouts.items()))}; "
          f"{sum(d['encoding'] == 'gb18030' for d in docs)} GB18030) in {elapsed:.1f} s "
          f"(text files done after {t_text:.1f} s; {len(pdf_jobs)} PDFs rendered alongside); identity repeats: {repeats}")
    for prefix, t in templates.items():
        if t.unclassified_years and args.verbose:
            print(f"make_corpus: seed {prefix}: year-like numbers left as they are: {t.unclassified_years}", file=sys.stderr)
    return manifest


# ---------------------------------------------------------------- verification

ARITHMETIC = ("row_sum", "hierarchy_sum", "column_total", "cross_table_total")


def _cents(x) -> Decimal:
    return Decimal(repr(float(x))).quantize(Decimal("0.000001"))


def _arith_errors(res, severity: str = "error") -> int:
    ch = res["checks"]
    return int((ch["check"].isin(ARITHMETIC) & ~ch["passed"].astype(bool) & (ch["severity"] == severity)).sum())


def _money_values(res) -> dict[str, list[Decimal]]:
    """Money the narrative stage read: facts in 万元, project amounts."""
    import pandas as pd

    out = {}
    facts = res.get("facts")
    if facts is not None and len(facts):
        f = facts[facts["unit"] == "万元"]
        out["facts"] = [_cents(v) for v in f["value"]]
    projects = res.get("projects")
    if projects is not None and len(projects):
        vals = []
        for col in ("budget", "executed", "total_budget"):
            vals += [_cents(v) for v in projects[col] if not pd.isna(v)]
        out["projects"] = vals
    return out


def verify(out: Path, manifest: dict, sample: int, seed: int) -> bool:
    import pandas as pd

    from fiscal_nlp.ingest.document import compact
    from fiscal_nlp.pipeline import extract_document

    rng = random.Random(seed)
    files = manifest["files"]
    groups: dict[tuple[str, str], list[dict]] = {}
    for f in files:
        groups.setdefault((f["origin_seed"], f["layout"]), []).append(f)
    chosen = [rng.choice(g) for g in groups.values()]
    gb = [f for f in files if f["encoding"] == "gb18030"]
    if gb and not any(f["encoding"] == "gb18030" for f in chosen):
        chosen.append(rng.choice(gb))
    rest = [f for f in files if f not in chosen]
    chosen += rng.sample(rest, max(0, min(sample - len(chosen), len(rest))))
    seed_res = {}
    for prefix in sorted({f["origin_seed"] for f in chosen}):
        seed_res[prefix] = extract_document(next(RAW.glob(f"{prefix}_*.txt")))

    def keyed(li: pd.DataFrame) -> dict:
        out = {}
        for r in li.itertuples():
            key = (r.table_key, str(r.side), str(r.code), compact(str(r.item)), str(r.column))
            out.setdefault(key, []).append(_cents(r.amount))
        return {k: sorted(v) for k, v in out.items()}

    ok_all, rows, ids = True, [], []
    tally = {"cells": 0, "cells_ok": 0, "arith_errors": 0, "seed_arith_errors": 0, "rounding": 0, "seed_rounding": 0}
    t0 = time.perf_counter()
    for f in sorted(chosen, key=lambda f: f["file"]):
        t = time.perf_counter()
        res = extract_document(out / f["file"])
        dt = time.perf_counter() - t
        problems = []
        if "errors" in res:
            problems.append(f"error: {res['errors'].to_dict('records')}")
            rows.append((f, dt, problems))
            ok_all = False
            continue
        base, k = seed_res[f["origin_seed"]], f["factor"]
        d = res["documents"].iloc[0]
        ids.append(d["doc_id"])
        if (d["district"], d["department"], int(d["fiscal_year"]), d["doc_kind"]) != (f["district"], f["department"], f["year"], f["kind"]):
            problems.append(f"identified {d['district']}/{d['department']}/{d['fiscal_year']}/{d['doc_kind']}")
        got_counts = res["line_items"].groupby("table_key").size().to_dict()
        want_counts = base["line_items"].groupby("table_key").size().to_dict()
        if got_counts != want_counts:
            problems.append(f"line items per table {got_counts} vs seed {want_counts}")
        got, want = keyed(res["line_items"]), keyed(base["line_items"])
        mismatched = [key for key, vals in want.items() if got.get(key) != [v * k for v in vals]]
        bad = len(mismatched)
        n_cells = sum(len(v) for v in want.values())
        tally["cells"] += n_cells
        tally["cells_ok"] += n_cells - sum(len(want[key]) for key in mismatched)
        tally["arith_errors"] += _arith_errors(res)
        tally["seed_arith_errors"] += _arith_errors(base)
        tally["rounding"] += _arith_errors(res, "rounding")
        tally["seed_rounding"] += _arith_errors(base, "rounding")
        if bad:
            problems.append(f"{bad} cells not k x seed")
        if _arith_errors(res) > _arith_errors(base):
            problems.append(f"arithmetic errors {_arith_errors(res)} > seed {_arith_errors(base)}")
        info = []
        gm, wm = _money_values(res), _money_values(base)
        for what in ("facts", "projects"):
            g, w = gm.get(what, []), wm.get(what, [])
            scaled = sorted(v * k for v in w)
            if sorted(g) != scaled:
                miss = len(set(scaled) - set(g))
                info.append(f"{what}: {len(g)} vs {len(w)}, {miss} seed values not found x k")
        if f["layout"] == "orig" and info:  # the seed's own layout: the narrative must scale too
            problems += info
            info = []
        rows.append((f, dt, problems, info))
        ok_all &= not problems
    n_dup = len(ids) - len(set(ids))
    for row in rows:
        f, dt, problems = row[:3]
        info = row[3] if len(row) > 3 else []
        status = "ok" if not problems else "FAIL " + "; ".join(problems)
        print(f"  {f['file']:<36} {f['encoding'] or '':<7} k={f['factor']} {f['year']} {f['department']:<22} {dt:5.2f}s  {status}"
              + (f"  [{'; '.join(info)}]" if info else ""))
    print(f"verify: line-item cells = k x seed: {tally['cells_ok']}/{tally['cells']}; arithmetic checks failed: "
          f"{tally['arith_errors']} error / {tally['rounding']} rounding (the same seeds: "
          f"{tally['seed_arith_errors']} / {tally['seed_rounding']})")
    print(f"verify: {len(rows)} documents ({len(groups)} seed x layout groups) in {time.perf_counter() - t0:.1f} s; "
          f"{sum(1 for r in rows if not r[2])} ok; duplicate doc_ids in sample: {n_dup}")
    return ok_all and not n_dup


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, help="number of documents")
    ap.add_argument("out_dir", help="output directory (not inside data/)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (the corpus is a function of it)")
    ap.add_argument("--pdf-share", type=float, default=0.1, help="share of PDFs (seeds 000/001/003/004)")
    ap.add_argument("--reflow-share", type=float, default=0.3, help="share of re-flowed text (seeds 000/003)")
    ap.add_argument("--max-pdfs", type=int, default=200, help="at most this many PDFs (rendering is the slow part)")
    ap.add_argument("--gb18030-share", type=float, default=0.05, help="share of text files encoded GB18030")
    ap.add_argument("--max-factor", type=int, default=5, help="amounts are multiplied by k in 1..max")
    ap.add_argument("--no-rounding-cap", action="store_true",
                    help="allow k up to --max-factor even where the seed's rounding gaps x k exceed 0.02 万元")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes rendering PDFs")
    ap.add_argument("--force", action="store_true", help="replace a corpus already in OUT_DIR")
    ap.add_argument("--verbose", action="store_true", help="also list year-like numbers left unshifted")
    ap.add_argument("--verify", type=int, default=0, metavar="K",
                    help="then extract K documents (at least one per seed x layout) and compare with the seeds")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("N must be at least 1")
    manifest = generate(args)
    if args.verify:
        return 0 if verify(Path(args.out_dir).resolve(), manifest, args.verify, args.seed) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
