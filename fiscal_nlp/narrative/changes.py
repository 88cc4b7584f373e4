"""Narrative stage: year-over-year statements (与上年相比 / 比上年预算) -> `changes` rows.

Department-level phrasings matched on the joined text:
  “2021年度收、支总计均为2785.73万元。与2020年度相比，收、支总计各增加1089.63万元，增长64.24%，主要原因是…”
  “本年预算1037.60万元，比2020年预算减少133.23万元，下降11.38%，主要是财政经费压减”
  “一般公共预算财政拨款收入1,201.43万元，比2023年度决算数减少87.46万元。减少主要原因是…”
  “…支出决算为0万元。与上年相比无增减变化。” / “…支出决算数与2018年持平。” (delta 0)
`current` is the figure the statement is about, read from the same or the previous sentence
(“收、支总计均为2785.73万元”); delta and pct are signed (减少/下降 negative). Project-level
changes (申报表 “当年预算变动情况及理由”) come from `declarations.declaration_changes`.
"""
from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from . import grammar
from .reasons import Taxonomy, attach_reasons, find_reason
from .text import NUM, ClausePattern, JoinedText, strip_subject, subject_start, to_decimal

_YEAR = r"(?:\d{4}年度?|上年度?|上一年度?)"
_PCT = rf"(?:,(?P<pdir>增长|下降|增加|减少)(?P<pct>{NUM})%)?"
_COMPARED = re.compile(
    rf"与{_YEAR}相比,?(?P<metric>[^,。;\n]{{0,100}}?)各?(?P<dir>增加|减少|增长|下降)(?P<delta>{NUM})万元?" + _PCT
)
_THAN = ClausePattern(
    rf"(?P<label>[^,。;\n]*?)(?P<current>{NUM})万元[。,]?比{_YEAR}(?:预算数?|决算数?)?"
    rf"(?P<dir>增加|减少)(?P<delta>{NUM})万元?" + _PCT,
    # the statement opens with the amount before “万元比…”
    anchor=re.compile(rf"万元[。,]?比{_YEAR}"), lead="0123456789,.",
)
_UNCHANGED = ClausePattern(rf"(?P<label>[^,。;\n]*?)与{_YEAR}(?:相比)?,?(?:无增减变化|持平|无变化)")
_NEGATIVE = {"减少", "下降"}
_SUBJECT_CUT = re.compile(rf"(?:年初|全年)?预算|决算|为|{NUM}")


def _signed(value: str | None, direction: str | None) -> Decimal | None:
    if value is None:
        return None
    v = to_decimal(value)
    return -v if direction in _NEGATIVE else v


@lru_cache(maxsize=1024)
def _figure_of(metric: str) -> re.Pattern:
    return re.compile(rf"{re.escape(metric)}(?:均为|为|合计)?({NUM})万元")


def _current_before(text: str, metric: str, start: int, stop: int) -> Decimal | None:
    """The last “<metric>(均为|为)?N万元” in text[start:stop] (the figure the change is about)."""
    if not metric:
        return None
    hits = list(_figure_of(metric).finditer(text, start, stop))
    return to_decimal(hits[-1].group(1)) if hits else None


def _previous_sentence(jt: JoinedText, offset: int) -> tuple[int, int]:
    start, _ = jt.sentence_span(offset)
    return jt.sentence_span(max(start - 2, 0))


def extract_changes(jt: JoinedText, taxonomy: Taxonomy, fiscal_year: int | None = None) -> list[dict]:
    """All department-level year-over-year statements of a document, in text order.

    `fiscal_year` (the document's): a comparison with that year's own budget is a variance, not a change."""
    text = jt.text
    found: list[dict] = []
    for m in _COMPARED.finditer(text):
        metric = strip_subject(m["metric"])
        prev_start, _ = _previous_sentence(jt, m.start())
        found.append(dict(m=m, start=m.start(), metric=metric,
                          current=_current_before(text, metric, prev_start, m.start())))
    for m in _THAN.finditer(text):
        found.append(dict(m=m, start=subject_start(text, m.start("label"), m.end("label")), metric=strip_subject(m["label"]), current=to_decimal(m["current"])))
    for m in _UNCHANGED.finditer(text):
        label = strip_subject(m["label"])
        start = subject_start(text, m.start("label"), m.end("label"))
        sentence_start, _ = jt.sentence_span(m.start())
        if not label and sentence_start < m.start():  # “S 0万元，与上年相比无变化”: the subject opens the sentence
            figures = list(re.finditer(rf"{NUM}(?:万元|万|元|亿元)", text[sentence_start:m.start()]))
            figure_at = sentence_start + figures[-1].start() if figures else m.start()
            label, start = grammar.subject_before(text, sentence_start, figure_at)
        if not label:  # “。与上年相比无增减变化”: the subject is the previous sentence's
            prev_start, prev_end = _previous_sentence(jt, m.start())
            label = _SUBJECT_CUT.split(strip_subject(text[prev_start:prev_end]), maxsplit=1)[0]
            start = m.start() + (1 if text[m.start()] == "\n" else 0)
        found.append(dict(m=m, start=start, metric=label, current=None, zero=True))
    found.sort(key=lambda f: f["start"])

    found = [f for f in found if f["metric"]]  # a seed pattern without a subject: left to the grammar
    for st in grammar.find_changes(jt, [f["m"].span() for f in found], fiscal_year):
        if st.kind == "change":
            found.append(dict(m=None, st=st, start=st.start, metric=st.subject, current=st.current))
    found.sort(key=lambda f: f["start"])

    rows = []
    for i, f in enumerate(found):
        m, st = f["m"], f.get("st")
        if not f["metric"]:
            continue
        end = m.end() if m is not None else st.span[1]
        stop = found[i + 1]["start"] if i + 1 < len(found) else None
        reason = find_reason(text, end, stop)
        zero = f.get("zero", False)
        if st is not None:
            delta, pct, previous, basis = st.delta, st.pct, st.previous, st.basis
        else:
            delta = Decimal(0) if zero else _signed(m["delta"], m["dir"])
            pct = None if zero else _signed(m["pct"], m["pdir"] or m["dir"])
            previous, basis = None, _basis(m.group())
        rows.append({
            "metric": f["metric"],
            "project": None,
            "current": f["current"],
            "previous": previous,
            "delta": delta,
            "pct": pct,
            "basis": basis,
            "reason": reason,
            "reason_category": taxonomy.classify(reason),
            "source_line": jt.source_line(f["start"]),
            "page": jt.page(f["start"]),
            "_span": (m.start(), m.end()) if m is not None else st.span,
            "_subject": f["metric"],
        })
    attach_reasons(text, rows, taxonomy)
    return rows


_COMPARATOR = re.compile(rf"(?:与|比|较){_YEAR}[^,。;\n\d]{{0,8}}?(?=相比|对比|增加|减少|增长|下降|持平|无|,)")


def _basis(statement: str) -> str | None:
    """The base a seed-pattern statement names (“比2020年预算” -> 上年预算), None when unnamed."""
    m = _COMPARATOR.search(statement)
    return grammar.basis_of(m.group())[0] if m else None
