"""Narrative grammar: typed spans assembled into statements (changes and variances).

A statement is read as a few typed spans rather than one regex per wording:
  AMOUNT    a figure with its unit (元 / 万元 / 亿元), converted to 万元 at full precision
  PERCENT   “12.5%”
  COMPARATOR 与…相比 / 与…对比 / 较… / 比… / 同比 / 对比…, naming a YEAR and a BASE
            (上年决算, 上年预算, 上年执行数; or this year's 年初预算 / 全年预算 / 调整预算)
  DIRECTION 增加 / 减少 / 持平 … (signed)
  BUDGET / ACTUAL words with their amount (年初预算为 B, 支出决算为 A), RATE (完成…预算的 R%)
and a few rules put them together:
  change    [subject] [current] COMPARATOR [previous] DIRECTION [delta] [, DIRECTION percent]
            — and items of a “其中：” list after a comparison inherit its comparator;
  variance  ACTUAL with a BUDGET in the same sentence, or a RATE (budget inside it or none),
            or a COMPARATOR whose base is this year's budget (budget = actual ∓ difference).
The words are data (`package_data/narrative_grammar.yaml`); the rules here name none of them.
`changes.py` and `variances.py` keep the seed-proven patterns and call this grammar for what
those patterns do not read; `facts` share `amount_pattern`/`to_wan_amount` for units.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from .text import NUM, JoinedText, strip_subject, to_decimal

GRAMMAR_PATH = Path(str(resources.files("fiscal_nlp") / "package_data" / "narrative_grammar.yaml"))


def _alt(words, escape: bool = True) -> str:
    """Alternation of words, longest first (so 增加了 wins over 增加)."""
    words = sorted(set(words), key=len, reverse=True)
    return "(?:" + "|".join(re.escape(w) if escape else w for w in words) + ")"


@dataclass(frozen=True)
class Vocabulary:
    """The grammar's words (see narrative_grammar.yaml) and the regexes built from them."""

    units: dict[str, Decimal]
    signs: dict[str, int]  # direction word -> +1 / -1 / 0
    change_bases: dict[str, str]  # printed base -> contract basis
    variance_bases: dict[str, str]
    years: tuple[str, ...]
    budget_words: tuple[str, ...]
    actual_words: tuple[str, ...]
    rate_openers: tuple[str, ...]
    reason_openers: tuple[str, ...]
    not_reason: tuple[str, ...]

    @classmethod
    def load(cls, path: str | Path = GRAMMAR_PATH) -> "Vocabulary":
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        signs = {}
        for kind, sign in (("up", 1), ("down", -1), ("flat", 0)):
            for word in data["directions"][kind]:
                signs[word] = sign
        return cls(
            units={u: Decimal(str(f)) for u, f in data["units"].items()},
            signs=signs,
            change_bases={w: basis for basis, words in data["change_bases"].items() for w in words},
            variance_bases={w: basis for basis, words in data["variance_bases"].items() for w in words},
            years=tuple(data["years"]),
            budget_words=tuple(data["budget_words"]),
            actual_words=tuple(data["actual_words"]),
            rate_openers=tuple(data["rate_openers"]),
            reason_openers=tuple(data["reason_openers"]),
            not_reason=tuple(data["not_reason"]),
        )

    # ---- span regexes
    @property
    def unit(self) -> str:
        return _alt(self.units)

    def amount(self, name: str) -> str:
        """An AMOUNT span: named groups `name` (the figure) and `name`_u (its unit)."""
        return rf"(?P<{name}>{NUM})(?P<{name}_u>{self.unit})"

    @property
    def direction(self) -> str:
        return _alt(w for w, s in self.signs.items() if s)

    @property
    def flat(self) -> str:
        return _alt(w for w, s in self.signs.items() if s == 0)

    @property
    def year(self) -> str:
        return _alt(self.years, escape=False)

    @property
    def comparator(self) -> str:
        """与 YEAR [BASE] 相比 | 较 [YEAR] [BASE] | 比 YEAR [BASE] | 比 VARIANCE-BASE | 同比 | 对比 [YEAR] [BASE]."""
        y, cb, vb = self.year, _alt(self.change_bases), _alt(self.variance_bases)
        year_base = rf"(?:{y}(?:{cb})?|{vb})"
        return (rf"(?P<comp>与{year_base}(?:相比较?|对比|比较)?|较{year_base}|较{cb}|比{year_base}"
                rf"|同比|对比(?:{year_base})?)")


@lru_cache(maxsize=4)
def vocabulary(path: str | None = None) -> Vocabulary:
    return Vocabulary.load(path or GRAMMAR_PATH)


def to_wan_amount(printed: str, unit: str | None, vocab: Vocabulary | None = None) -> Decimal:
    """An amount in 万元 at full precision: (“1,234.5”, “元”) -> Decimal('0.12345')."""
    vocab = vocab or vocabulary()
    factor = vocab.units.get(unit or "万元", Decimal(1))
    value = to_decimal(printed)
    return value if factor == 1 else value * factor


def _signed(value: Decimal | None, sign: int) -> Decimal | None:
    if value is None:
        return None
    return -value if sign < 0 else value


# ---------------------------------------------------------------- compiled rules
@dataclass(frozen=True)
class Rules:
    change: re.Pattern
    list_item: re.Pattern
    budget: re.Pattern
    actual: re.Pattern
    rate: re.Pattern
    gap: re.Pattern
    any_amount: re.Pattern
    trigger: re.Pattern
    reason_open: re.Pattern
    over_under: re.Pattern
    subject_figure: re.Pattern


@lru_cache(maxsize=4)
def rules(path: str | None = None) -> Rules:
    v = vocabulary(path)
    num_list = rf"{NUM}(?:{v.unit})?(?:[、和及]{NUM}(?:{v.unit})?){{0,3}}"
    pct_list = rf"{NUM}%(?:[、和及]{NUM}%){{0,3}}"
    change = re.compile(
        v.comparator
        + rf"[,:]?(?:{v.year})?(?P<metric>[^,。;:\n\d%]{{0,25}}?)(?:各|分别)?"
        + rf"(?:(?P<prev>{NUM})(?P<prev_u>{v.unit})[,]?)?"
        + rf"(?:(?P<flat>{v.flat})|(?P<dir>{v.direction})"
        + rf"(?:(?P<delta>{num_list})(?P<delta_u>{v.unit})|(?P<pct0>{pct_list}))?"
        + rf"(?:,?(?:各|分别)?(?P<pdir>{v.direction})?(?:幅度?为?)?(?P<pct>{pct_list}))?)"
    )
    list_item = re.compile(
        rf"(?P<subject>[^,。;:\n\d%]{{2,30}}?)(?:(?P<flat>{v.flat})|(?P<dir>{v.direction})"
        rf"(?P<delta>{NUM})(?P<delta_u>{v.unit})(?:,?(?P<pdir>{v.direction})?(?P<pct>{NUM})%)?)"
    )
    budget_word = _alt(v.budget_words)
    budget = re.compile(rf"(?P<word>{budget_word})(?:为|是|共计|合计)?{v.amount('b')}")
    actual = re.compile(rf"(?P<word>{_alt(v.actual_words)})(?:为|是|共计|合计)?{v.amount('a')}")
    rate = re.compile(rf"{_alt(v.rate_openers)}(?P<word>{budget_word})(?:{v.amount('rb')})?的?(?P<r>{NUM})%")
    gap = re.compile(rf"差(?:值|额)为?{v.amount('d')}")
    over_under = re.compile(rf"决算数?(?P<cmp>大于|小于|超过|低于|多于|少于)(?P<word>{budget_word})?数?{v.amount('d')}")
    subject_figure = re.compile(rf"\n?(?:\d{{1,2}}[.、]|[(（]\d{{1,2}}[)）])?(?:\d{{4}}年度?)?[^,。;\d%]{{2,40}}?{v.amount('a')}")
    any_amount = re.compile(rf"{NUM}(?:{v.unit}|%)")
    trigger = re.compile(rf"{v.comparator}|{budget_word}|{_alt(v.actual_words)}")
    reason_open = re.compile(rf"(?!{_alt(v.not_reason)}){_alt(v.reason_openers)}[:]?")
    return Rules(change, list_item, budget, actual, rate, gap, any_amount, trigger, reason_open, over_under, subject_figure)


def basis_of(comparator: str, vocab: Vocabulary | None = None, fiscal_year: int | None = None) -> tuple[str | None, bool]:
    """(basis, is_variance) named by a comparator: “比2023年预算执行数” -> ("上年执行数", False);
    “较年初预算数” -> ("年初预算", True); “与上年相比” -> (None, False) — the base is not printed.
    With the document's `fiscal_year`, a budget of that very year (“与2023年度预算相比” in the 2023
    决算) makes the statement a variance."""
    vocab = vocab or vocabulary()
    stripped = re.sub(rf"^(?:与|较|比|对比|同比)|(?:相比较?|对比|比较)$", "", comparator)
    year = re.match(vocab.year, stripped)
    rest = stripped[year.end():] if year else stripped
    printed_year = re.match(r"\d{4}", year.group()) if year else None
    if (printed_year and fiscal_year and int(printed_year.group()) == fiscal_year
            and vocab.change_bases.get(rest) == "上年预算"):
        return vocab.variance_bases.get(rest), True
    if not year and rest in vocab.variance_bases:
        return vocab.variance_bases[rest], True
    if rest in vocab.change_bases:
        return vocab.change_bases[rest], False
    return None, False


# ---------------------------------------------------------------- subjects
_CLAUSE_STOP = re.compile(r"[。;\n]|其中:")
_GENERIC_SUBJECT = re.compile(r"^(?:本年|当年|本年度|全年|年度)?(?:预算安排|预算执行数|预算数|预算|决算数|决算|支出决算|数|"
                              r"收入|支出|金额|合计|总计|其中)?$")
# Connectives between a subject and its figure (“合计”/“总额” stay: 本年收入合计 is a name).
_SUBJECT_TAIL = re.compile(r"(?:均为|合计为|共计|总额为|为|是|达|:)+$")
_ITEM_OPEN = re.compile(r"\n?(?:\d{1,2}[.、]|[(（]\d{1,2}[)）]|[(（][一二三四五六七八九十]+[)）]|[一二三四五六七八九十]+、)")
PURPOSE = re.compile(r"主要用于|主要包括|用于")
# What may follow the figure a comparison in the next sentence is about: nothing, what the money
# is for (“，主要用于…”) or its share (“，占本年支出合计的99.21%”).
_FIGURE_TAIL = re.compile(r"(?:,(?:主要用于|主要是用于|用于)[^。]*|,占[^。%]{0,20}?\d+(?:\.\d+)?%)?。")


def clause_start(text: str, offset: int) -> int:
    """Where the clause holding `offset` begins: after the last 。 ; line break or 其中：."""
    best = 0
    for m in _CLAUSE_STOP.finditer(text, max(0, offset - 400), offset):
        best = m.end()
    return best


def item_heading(text: str, offset: int) -> str | None:
    """The enumerated item (“1、一般公共服务支出(类)财政事务(款)行政运行(项)。主要用于…”) that
    `offset` sits in, when the statement names no subject of its own; None outside an item."""
    start = text.rfind("\n", 0, offset) + 1
    opener = _ITEM_OPEN.match(text, start)
    if not opener:
        return None
    head = text[opener.end():offset]
    for stop in ("。", ",主要用于", "主要用于", ":"):
        cut = head.find(stop)
        if cut > 0:
            head = head[:cut]
    year = re.search(r",\d{4}年", head)  # “初中教育(2050203),2023年度决算数为…”
    if year:
        head = head[:year.start()]
    head = re.sub(rf"{NUM}(?:万元|万|元|亿元)?[,]?$", "", head)
    return head.strip("“”\"' ,") or None


def subject_before(text: str, start: int, end: int) -> tuple[str, int]:
    """The subject printed in text[start:end] (before a figure), cleaned; and where it starts."""
    raw = text[start:end]
    comma = raw.rfind(",")
    if comma >= 0 and _SUBJECT_TAIL.sub("", strip_subject(raw[comma + 1:])):
        # “财政拨款收入中,一般公共预算财政拨款收入1,201.43万元”: the subject is next to its figure
        start, raw = start + comma + 1, raw[comma + 1:]
    subject = _SUBJECT_TAIL.sub("", strip_subject(raw))
    if PURPOSE.search(subject):  # “主要用于：…” is what the money buys, not the subject
        subject = ""
    lead = raw.find(subject) if subject else -1
    return subject, start + max(lead, 0)


def resolve_subject(text: str, subject: str, offset: int) -> str:
    """The statement's own subject, or the item heading it sits under when it prints none."""
    if not subject or _GENERIC_SUBJECT.match(subject):
        heading = item_heading(text, offset)
        if heading:
            return heading
    return subject


# ---------------------------------------------------------------- changes
@dataclass
class Statement:
    kind: str  # "change" | "variance"
    subject: str
    start: int  # where the statement (its subject) starts
    span: tuple[int, int]
    current: Decimal | None = None  # change: this year's figure; variance: actual
    previous: Decimal | None = None  # change: last year's figure; variance: budget
    delta: Decimal | None = None
    pct: Decimal | None = None
    rate: Decimal | None = None
    basis: str | None = None


def _split_list(printed: str | None, vocab: Vocabulary) -> list[tuple[str, str | None]]:
    """“12.5、3万元” -> [("12.5", None), ("3", "万元")]."""
    if not printed:
        return []
    return [(m.group(1), m.group(2)) for m in re.finditer(rf"({NUM})({vocab.unit})?", printed)]


def _split_subjects(subject: str) -> list[str]:
    """“收、支总计” -> [“收入总计”, “支出总计”]: two subjects sharing a tail."""
    m = re.match(r"^(?P<a>[^、]{1,8})、(?P<b>[^、]{1,8}?)(?P<tail>总计|合计|预算|决算)$", subject)
    if not m:
        return [subject]
    full = {"收": "收入", "支": "支出"}
    return [full.get(m["a"], m["a"]) + m["tail"], full.get(m["b"], m["b"]) + m["tail"]]


def find_changes(jt: JoinedText, taken: list[tuple[int, int]], fiscal_year: int | None = None) -> list[Statement]:
    """Year-over-year statements (and budget-basis differences, as variances) not in `taken`.

    `fiscal_year`: the document's year, so that a comparison with that year's budget is read as
    a variance (see `basis_of`)."""
    vocab, r = vocabulary(), rules()
    text = jt.text
    out: list[Statement] = []
    for m in r.change.finditer(text):
        if not (m["flat"] or m["delta"] or m["pct"] or m["pct0"]):
            continue
        basis, is_variance = basis_of(m["comp"], vocab, fiscal_year)
        sign = 0 if m["flat"] else vocab.signs[m["dir"]]
        if any(s < m.end() and m.start() < e for s, e in taken):
            out += _list_items(jt, m, sign, basis, is_variance, taken)
            continue
        cstart = clause_start(text, m.start())
        sent_start = max(text.rfind("。", 0, m.start()), text.rfind("\n", 0, m.start())) + 1
        before = list(r.any_amount.finditer(text, cstart, m.start()))
        money = [a for a in before if not a.group().endswith("%")]
        current = None
        subject, start = "", cstart
        if money:
            last = money[-1]
            figure = re.match(rf"({NUM})({vocab.unit})", last.group())
            current = to_wan_amount(figure.group(1), figure.group(2), vocab)
            subject, start = subject_before(text, cstart, last.start())
        metric = strip_subject(m["metric"] or "")
        if metric and not _GENERIC_SUBJECT.match(metric):
            subject = metric
            if current is None:  # “…均为2785.73万元。与上年相比，收、支总计…”: the figure of the sentence before
                prev = list(re.compile(rf"{re.escape(metric)}(?:均为|为|合计)?({NUM})({vocab.unit})").finditer(
                    text, max(0, sent_start - 300), m.start()))
                if prev:
                    current = to_wan_amount(prev[-1].group(1), prev[-1].group(2), vocab)
            start = m.start()  # the statement opens with its comparison (“与上年相比，收、支总计…”)
        if not subject and not money:  # “其中教育支出比上年减少…”: a subject without its figure
            subject, start = subject_before(text, cstart, m.start())
            if _GENERIC_SUBJECT.match(subject):
                subject = ""
        if not subject and not money and cstart == sent_start and text[sent_start - 1:sent_start] == "。":
            # “基本支出预算数为15,844.04万元。与上年相比增加…”: the figure closes the sentence before
            prev_start = max(text.rfind("。", 0, sent_start - 1), text.rfind("\n", 0, sent_start - 1)) + 1
            while PURPOSE.match(text, prev_start) and text[prev_start - 1:prev_start] == "。":
                # “S A万元。主要用于…。与上年相比…”: what the money buys sits between
                sent_start = prev_start
                prev_start = max(text.rfind("。", 0, sent_start - 1), text.rfind("\n", 0, sent_start - 1)) + 1
            prev_money = [a for a in r.any_amount.finditer(text, prev_start, sent_start) if not a.group().endswith("%")]
            if (not prev_money or not _FIGURE_TAIL.fullmatch(text, prev_money[-1].end(), sent_start) or current is not None
                    or r.change.search(text, prev_start, sent_start)):
                continue  # the sentence before does not end with the figure (or is a comparison itself)
            figure = re.match(rf"({NUM})({vocab.unit})", prev_money[-1].group())
            current = to_wan_amount(figure.group(1), figure.group(2), vocab)
            subject, start = subject_before(text, clause_start(text, prev_money[-1].start()), prev_money[-1].start())
            if not subject:
                continue
        if not subject and not money:
            continue  # no subject and no figure of its own: not an item's statement either
        subject = resolve_subject(text, subject, m.start())
        if not subject:
            continue
        deltas = _split_list(m["delta"], vocab)
        unit = m["delta_u"]
        if unit == "元" and deltas and deltas[-1][1] in ("万", "亿"):  # “30.00、20.00万元”: the list shares 万元
            unit = deltas[-1][1] + "元"
            deltas = [(printed, None) for printed, _ in deltas]
        pcts = [p for p, _ in _split_list(m["pct"] or m["pct0"], vocab)]
        subjects = _split_subjects(subject) if max(len(deltas), len(pcts)) > 1 else [subject]
        previous = to_wan_amount(m["prev"], m["prev_u"], vocab) if m["prev"] else None
        if previous is None and basis == "上年执行数" and len(money) >= 2 and current is not None:
            # “上年预算执行数为A万元，本年预算安排B万元，比上年预算执行数增加P%”: A is the previous figure
            figure = re.match(rf"({NUM})({vocab.unit})", money[-2].group())
            previous = to_wan_amount(figure.group(1), figure.group(2), vocab)
        pct_sign = vocab.signs.get(m["pdir"], sign) if m["pdir"] else sign
        for i, name in enumerate(subjects):
            delta = None
            if deltas:
                printed, own_unit = deltas[min(i, len(deltas) - 1)]
                delta = _signed(to_wan_amount(printed, own_unit or unit, vocab), sign)
            elif m["flat"]:
                delta = Decimal(0)
            pct = _signed(to_decimal(pcts[min(i, len(pcts) - 1)]), pct_sign) if pcts else None
            st = Statement("variance" if is_variance else "change", name, start, (min(start, m.start()), m.end()),
                           current=current if len(subjects) == 1 else None, previous=previous, delta=delta,
                           pct=pct, basis=basis)
            if st.kind == "change" and previous is not None and current is not None and delta is None:
                st.delta = current - previous  # both figures printed: the difference is exact
            out.append(st)
        out += _list_items(jt, m, sign, basis, is_variance, taken)
    # (two comparisons in the sentence before one “其中：” list would each read it)
    unique = {(st.kind, st.span, st.subject): st for st in out}
    return sorted(unique.values(), key=lambda st: st.start)


def _list_items(jt: JoinedText, head: re.Match, sign: int, basis: str | None, is_variance: bool,
                taken: list[tuple[int, int]]) -> list[Statement]:
    """“…与上年持平。其中：A持平；B减少2万元…”: items after a comparison inherit its comparator."""
    vocab, r = vocabulary(), rules()
    text = jt.text
    end = text.find("。", head.end())
    lead = text.find("其中:", head.end(), end + 4 if end >= 0 else None)
    if lead < 0 or (end >= 0 and lead > end + 1):
        return []
    stop = text.find("。", lead)
    stop = len(text) if stop < 0 else stop
    out = []
    pos = lead + 3
    # items end at ; or at a comma that is no thousands separator and does not lead to the item's percent
    for part in re.split(rf"(;|(?<!\d),(?!\d)(?!{vocab.direction}?(?:幅度?为?)?{NUM}%)|(?<=\d),(?!\d))", text[pos:stop]):
        if part in (";", ","):
            pos += 1
            continue
        m = r.list_item.match(text, pos, pos + len(part))
        pos += len(part)
        if m is None or r.change.search(m.group()) or r.reason_open.search(m.group()) \
                or any(s < m.end() and m.start() < e for s, e in taken):
            continue
        item_sign = 0 if m["flat"] else vocab.signs[m["dir"]]
        subject = _SUBJECT_TAIL.sub("", strip_subject(m["subject"]))
        subject = re.sub(r"(?:支出决算|决算)$", "", subject) or subject
        delta = Decimal(0) if m["flat"] else _signed(to_wan_amount(m["delta"], m["delta_u"], vocab), item_sign)
        pct = _signed(to_decimal(m["pct"]), vocab.signs.get(m["pdir"], item_sign)) if m["pct"] else None
        out.append(Statement("variance" if is_variance else "change", subject, m.start(), m.span(),
                             delta=delta, pct=pct, basis=basis))
    return out


# ---------------------------------------------------------------- variances
def _budget_basis(word: str, vocab: Vocabulary) -> str | None:
    return vocab.variance_bases.get(word) or next(
        (basis for w, basis in sorted(vocab.variance_bases.items(), key=lambda kv: -len(kv[0])) if word.startswith(w)), None)


def find_variances(jt: JoinedText, taken: list[tuple[int, int]]) -> list[Statement]:
    """Budget-vs-actual statements in sentences no seed pattern read (see the module docstring)."""
    vocab, r = vocabulary(), rules()
    text = jt.text
    out: list[Statement] = []
    for s_start, s_end in sentences_with(jt, r.actual, r.rate):
        sentence = text[s_start:s_end]
        # clauses of one sentence split at ";" (a list of items each with its own figures)
        pos = s_start
        for clause in re.split(r"(?<=;)|(?<=其中:)", sentence):
            c_start, c_end = pos, pos + len(clause)
            pos = c_end
            if any(s < c_end and c_start < e for s, e in taken):
                continue
            st = _variance_in(text, c_start, c_end, s_start, vocab, r)
            if st is not None:
                out.append(st)
    return out


def _variance_in(text: str, start: int, end: int, s_start: int, vocab: Vocabulary, r: Rules) -> Statement | None:
    actual = r.actual.search(text, start, end)
    over = r.over_under.search(text, start, end)
    # (“决算数大于预算数8.00万元” prints a difference, not the budget)
    budgets = [b for b in r.budget.finditer(text, start, end) if over is None or not over.start() <= b.start() < over.end()]
    rate = r.rate.search(text, start, end)
    gap = r.gap.search(text, start, end)
    if actual is None:
        # “教育支出1595.95万元，主要用于…，完成年初预算100%”: the subject's own figure is the actual,
        # when it opens the clause and no budget figure is printed
        figure = r.subject_figure.match(text, start, end)
        if rate is None or budgets or figure is None or figure.end() > rate.start():
            return None
        actual = figure
    a = to_wan_amount(actual["a"], actual["a_u"], vocab)
    budget = basis = None
    if budgets:
        b = budgets[0]
        budget = to_wan_amount(b["b"], b["b_u"], vocab)
        basis = _budget_basis(b["word"], vocab)
    elif rate is not None and rate["rb"]:
        budget = to_wan_amount(rate["rb"], rate["rb_u"], vocab)
        basis = _budget_basis(rate["word"], vocab)
    elif over is not None:  # “决算数大于预算数55.93万元”: budget = actual ∓ the printed difference
        d = to_wan_amount(over["d"], over["d_u"], vocab)
        budget = a - d if over["cmp"] in ("大于", "超过", "多于") else a + d
        basis = _budget_basis(over["word"], vocab) if over["word"] else None
    elif rate is not None:
        basis = _budget_basis(rate["word"], vocab)
    else:
        return None
    if rate is not None and basis is None:
        basis = _budget_basis(rate["word"], vocab)
    first = min([actual.start()] + [b.start() for b in budgets])
    subject, s_at = subject_before(text, start, first if actual.re is not r.subject_figure else actual.start("a"))
    if not subject:  # “一般公共服务支出(类)。年初预算为…”: the sentence before names it
        prev_end = start - 1 if start > 0 and text[start - 1] == "。" else start
        if text[start - 1:start] == "。":
            prev_start = max(text.rfind("。", 0, prev_end), text.rfind("\n", 0, prev_end)) + 1
            cand, at = subject_before(text, prev_start, prev_end)
            if cand and len(cand) <= 40:
                subject, s_at = cand, at
    subject = resolve_subject(text, subject, first)
    if not subject:
        return None
    last = max(m.end() for m in [actual, rate, gap, over, *budgets] if m is not None)
    return Statement("variance", subject, s_at, (min(s_at, first), last), current=a, previous=budget,
                     rate=to_decimal(rate["r"]) if rate is not None else None, basis=basis,
                     delta=to_wan_amount(gap["d"], gap["d_u"], vocab) if gap is not None else None)


def sentences_with(jt: JoinedText, *patterns: re.Pattern) -> list[tuple[int, int]]:
    """The sentences of `jt` in which any of `patterns` matches (each pattern scans the text
    once, instead of once per sentence). A match is credited to the sentence it starts in."""
    spans = jt.sentences()
    starts = [s for s, _ in spans]
    hit: set[int] = set()
    for pattern in patterns:
        for m in pattern.finditer(jt.text):
            i = bisect.bisect_right(starts, m.start()) - 1
            if i >= 0 and m.start() < spans[i][1]:
                hit.add(i)
    return [spans[i] for i in sorted(hit)]


# ---------------------------------------------------------------- unparsed
def statement_sentences(jt: JoinedText) -> list[tuple[int, int]]:
    """Sentences holding an amount and a comparator or a budget word: each should yield a row.

    A sentence whose only comparison is qualitative (有所减少, 基本持平 with no figure) is none.
    """
    r = rules()
    out = []
    for start, end in sentences_with(jt, r.trigger):
        sentence = jt.text[start:end]
        opener = r.reason_open.search(sentence)
        if opener:  # figures inside a reason (“…较年初完成92%”) are not a statement
            sentence = sentence[:opener.start()]
        if len(sentence) > MAX_SENTENCE or not r.any_amount.search(sentence):
            continue  # (a form or table glued into one “sentence” is no statement)
        compared = r.change.search(sentence)
        budget_and_actual = r.budget.search(sentence) and r.actual.search(sentence)
        if compared or budget_and_actual or r.rate.search(sentence):
            out.append((start, end))
    return out


# Longest text read as one sentence by `statement_sentences`.
MAX_SENTENCE = 300
