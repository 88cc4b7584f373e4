"""Narrative stage: the form-shaped parts — blocks opened by “项目名称”/“部门名称”, and 自评表 rows.

Forms are read on the joined text (so a name wrapped over lines, “汉阳区市民热线工作服\\n务平台…”,
comes back whole). A block runs from its “项目名称” to the next block, a “第N部分” heading or the
end of the text.

A self-evaluation form (项目支出绩效自评表 / 部门整体支出绩效自评表) has an execution header
and one row of values, e.g.
  “预算执行情况(万元)(20分) 预算数(A) 执行数(B) 执行率(B/A) 得分(20分*执行率)
   年度财政资金总额 110 110 100% 20”
The header's column names are matched to the values in order, so a variant header
(“项目当年预算 预算批复数 承诺支出进度 实际支出进度 / 年度资金总额 21900000元 21900000元”)
maps correctly; amounts printed with “元” are converted to 万元.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from .text import NUM, JoinedText, to_decimal, to_wan

_BLOCK_START = re.compile(r"(?:^|\n)(?P<kind>项目名称|部门名称)")
_BLOCK_STOP = re.compile(r"\n(?:第[一二三四五六七八九十]+部分|部门项目申报表)")
_EXEC_HEADER = re.compile(r"(?:预算|项目)执行情况")
# Column names -> field; None: a column that is read but not kept (预算批复数, 承诺支出进度, 得分…).
COLUMNS = {
    "预算数": "budget", "项目当年预算": "budget", "执行数": "executed", "执行率": "rate",
    "预算批复数": None, "承诺支出进度": None, "实际支出进度": None, "得分": None,
}
_TOKEN = re.compile(
    r"(?P<paren>\([^)]*\))|(?P<col>" + "|".join(sorted(COLUMNS, key=len, reverse=True)) + ")"
    rf"|(?P<num>{NUM})(?P<unit>万元|元|%)?"
)
_TOTAL_SCORE = re.compile(rf"总分[:：]?(?P<v>{NUM})")
_NAME_END = re.compile(r"项目编码|项目主管部门|主管部门|项目实施单位|实施单位")


@dataclass
class Block:
    """One form block: `kind` is 项目名称 or 部门名称; [start, end) in the joined text."""

    kind: str
    start: int
    end: int
    name: str | None
    name_start: int


@dataclass
class EvaluationForm:
    """The execution row and total score of a 自评表."""

    block: Block
    budget: Decimal | None
    executed: Decimal | None
    rate: Decimal | None
    row_start: int
    score: Decimal | None
    score_start: int | None


def find_blocks(jt: JoinedText) -> list[Block]:
    """All “项目名称”/“部门名称” blocks of the document, in order."""
    text = jt.text
    starts = [(m.start("kind"), m["kind"]) for m in _BLOCK_START.finditer(text)]
    blocks = []
    for i, (start, kind) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        stop = _BLOCK_STOP.search(text, start, end)
        end = stop.start() if stop else end
        name_start = start + len(kind)
        name_end = _NAME_END.search(text, name_start, end)
        name = text[name_start:name_end.start()] if name_end else None
        name = name.replace("\n", "").strip(":：") if name is not None else None
        blocks.append(Block(kind, start, end, name or None, name_start))
    return blocks


def read_evaluation(jt: JoinedText, block: Block) -> EvaluationForm | None:
    """The execution row of a 自评表 block, or None when the block has no execution header."""
    text = jt.text
    header = _EXEC_HEADER.search(text, block.start, block.end)
    if header is None:
        return None
    fields: list[str | None] = []
    values: list[tuple[str | None, Decimal, str | None]] = []
    row_start, last_end = None, None
    for tok in _TOKEN.finditer(text, header.end(), block.end):
        if tok["paren"]:
            continue
        if tok["col"] and not values:
            fields.append(COLUMNS[tok["col"]])
            continue
        if tok["num"] and fields:
            if values and text[last_end:tok.start()].strip(" ") != "":
                break
            value = to_wan(tok["num"], tok["unit"]) if tok["unit"] != "%" else to_decimal(tok["num"])
            field = fields[len(values)] if len(values) < len(fields) else None
            values.append((field, value, tok["unit"]))
            row_start = tok.start() if row_start is None else row_start
            last_end = tok.end()
            continue
        if values:
            break
    if not values:
        return None
    got = {f: v for f, v, _ in values if f}
    score = _TOTAL_SCORE.search(text, header.end(), block.end)
    return EvaluationForm(
        block, got.get("budget"), got.get("executed"), got.get("rate"), row_start,
        to_decimal(score["v"]) if score else None, score.start() if score else None,
    )
