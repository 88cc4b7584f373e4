"""Narrative stage: institutional-reform statements (机构改革) -> `reform_events` rows.

One row per function moved, e.g. from
  “按照机构改革有关要求，原青山区大数据中心承担的职能职责中政务网络管理、基础政务应用管理、
   智慧新青山项目建设等相关职责划入区经济信息化和科技创新局，政务公开工作职责划入区委（区政府）
   办公室，其他工作职责由区城市运行管理中心承担。”
and one row (function = `WHOLE_UNIT`, “单位整体”) for a statement placing the unit itself:
  “原青山区大数据中心由区政府直属事业单位调整为区经济信息化和科技创新局（区数据局）所属事业单位”
  “根据《…区级机构改革的实施意见》（阳发〔2019〕2 号）…精神，汉阳区大数据中心为区政府直属…事业单位”
`effective` is the nearest preceding “2024年6月” (→ "2024-06") in the same section, else the
year of the cited instrument (“〔2019〕” → "2019"); `basis` the instrument(s) cited, as printed.
Anaphoric restatements (“以上工作职能职责划入…”) repeat moves already recorded and are skipped.
"""
from __future__ import annotations

import re

from .text import ClausePattern, JoinedText

WHOLE_UNIT = "单位整体"
_INSTRUMENT = r"《[^》]{2,80}》(?:\([^)]{2,30}\))?"
_BASIS = re.compile(rf"{_INSTRUMENT}(?:、{_INSTRUMENT})*")
_DATE = re.compile(r"(\d{4})年(\d{1,2})月")
_INSTRUMENT_YEAR = re.compile(r"〔(\d{4})〕")
_MOVE_INTO = re.compile(r"^(?P<funcs>.+?)(?:等)?(?:相关)?(?:工作)?(?:职能)?职责(?:划入|划转至|划转到|划归|移交)(?P<to>.+)$")
_MOVE_BY = re.compile(r"^(?P<funcs>.+?)由(?P<to>.+?)承担$")
_UNIT_PREFIX = re.compile(r"^(?P<unit>.+?)承担的(?:职能)?(?:职责)?中(?P<rest>.+)$")
# from/to bounded (an organ's name is far shorter): unbounded, each 由 scanned the rest of its clause twice over
_PLACED = ClausePattern(r"(?P<unit>[^,。;由]+?)由(?P<from>[^,。;]{1,100}?)调整为(?P<to>[^,。;]{1,100}?)所属(?:事业)?单位")
_REFERENCE = re.compile(
    rf"根据(?P<basis>{_INSTRUMENT}(?:、{_INSTRUMENT})*)(?:等文件)?精神?,(?P<unit>[^,。;由]+?)为(?P<to>[^,。;]+?)(?:直属|所属)"
)
_ANAPHORA = re.compile(r"^(?:以上|上述)")
# A sentence that moves functions (read clause by clause by `_moves`).
_MOVE_SENTENCE = re.compile(r"职责(?:划入|划转至|划转到|划归|移交)|由[^,。;]+承担")
_CLAUSE_BREAK = re.compile(r"[,;]")
_FUNCTION_TAIL = re.compile(r"(?:等)?(?:相关)?(?:工作)?$")
_REFORM_WORDS = re.compile(r"机构改革|机构编制|职能划转")


def _context(jt: JoinedText, start: int) -> tuple[str | None, str | None]:
    """(effective, basis) from the text before `start` in the same section."""
    window = jt.text[jt.section_start(start):start + 1]
    dates = list(_DATE.finditer(window))
    bases = [b for b in _BASIS.finditer(window) if _REFORM_WORDS.search(b.group())]
    basis = bases[-1].group() if bases else None
    if dates:
        effective = f"{dates[-1].group(1)}-{int(dates[-1].group(2)):02d}"
    else:
        year = _INSTRUMENT_YEAR.search(basis or "")
        effective = year.group(1) if year else None
    return effective, basis


def _event(jt: JoinedText, unit: str, function: str, to_org: str, start: int, effective, basis) -> dict:
    return {"effective": effective, "unit": unit, "function": function, "to_org": to_org, "basis": basis,
            "source_line": jt.source_line(start), "page": jt.page(start), "_span": (start, start + 1)}


def _moves(jt: JoinedText, sentence_start: int, sentence: str, default_unit: str | None) -> list[dict]:
    rows, unit = [], default_unit
    effective, basis = _context(jt, sentence_start)
    for clause in _CLAUSE_BREAK.split(sentence.strip("。\n ")):
        m = _MOVE_INTO.match(clause)
        keep_suffix = False
        if m is None:
            m, keep_suffix = _MOVE_BY.match(clause), True
        if m is None:
            continue
        funcs = m["funcs"]
        prefix = _UNIT_PREFIX.match(funcs)
        if prefix:
            unit, funcs = prefix["unit"], prefix["rest"]
        if _ANAPHORA.match(funcs) or not unit:
            continue
        if not keep_suffix:
            funcs = _FUNCTION_TAIL.sub("", funcs)
        for function in filter(None, funcs.split("、")):
            rows.append(_event(jt, unit, function, m["to"].strip("。"), sentence_start, effective, basis))
    return rows


def extract_reform_events(jt: JoinedText, department: str | None) -> list[dict]:
    """All reform events of a document, in text order."""
    text, rows = jt.text, []
    for m in _PLACED.finditer(text):
        effective, basis = _context(jt, m.end())
        rows.append(_event(jt, m["unit"].strip(), WHOLE_UNIT, m["to"], jt.sentence_span(m.start())[0], effective, basis))
    for m in _REFERENCE.finditer(text):
        if not _REFORM_WORDS.search(m["basis"]):
            continue
        effective, basis = _context(jt, m.end())
        rows.append(_event(jt, m["unit"], WHOLE_UNIT, m["to"], jt.sentence_span(m.start())[0], effective, basis))
    for start, end in jt.sentences():
        sentence = text[start:end]
        if "职责" in sentence and _MOVE_SENTENCE.search(sentence):
            rows.extend(_moves(jt, start, sentence, department))
    return sorted(rows, key=lambda r: r["_span"][0])
