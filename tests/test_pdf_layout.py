"""fiscal_nlp.ingest.pdf_layout: visual lines by baseline, and prose never read as a borderless table.

Glyph boxes below are written by hand in the way pdfplumber reports them: a FangSong ideograph
and a Times New Roman digit on one baseline have different box tops (the fonts' ascents differ),
which is what the 上海市普陀区财政局 决算 PDF shows (tops 183.05 vs 187.93, one baseline 194.62).
"""
from __future__ import annotations

from types import SimpleNamespace

from fiscal_nlp.ingest.pdf_layout import BorderlessBlock, Fragment, TextLine, _is_table_block, page_text_lines


def _glyph(text: str, x0: float, top: float, baseline: float, size: float = 12.0, width: float = 12.0) -> dict:
    return {"text": text, "x0": x0, "x1": x0 + width, "top": top, "bottom": top + size, "size": size,
            "upright": True, "matrix": (1, 0, 0, 1, x0, 800.0 - baseline)}


def _sentence(chars: str, top_cjk: float, top_digit: float, baseline: float) -> list[dict]:
    glyphs, x = [], 72.0
    for ch in chars:
        digit = ch.isdigit() or ch == "."
        width = 6.0 if digit else 12.0
        glyphs.append(_glyph(ch, x, top_digit if digit else top_cjk, baseline, width=width))
        x += width
    return glyphs


def test_digits_in_another_font_stay_on_their_line():
    chars = (_sentence("年初预算为1560.05万元，", 183.05, 187.93, 194.62)
             + _sentence("支出决算为1511.89万元。", 197.02, 201.90, 208.59))
    lines = page_text_lines(SimpleNamespace(chars=chars), 1)
    assert [line.text for line in lines] == ["年初预算为1560.05万元,", "支出决算为1511.89万元。"]


def test_without_a_text_matrix_tops_decide():
    chars = [{k: v for k, v in g.items() if k != "matrix"} for g in _sentence("合计12.5", 100.0, 100.0, 112.0)]
    assert [line.text for line in page_text_lines(SimpleNamespace(chars=chars), 1)] == ["合计12.5"]


def _line(top: float, *cells: tuple[str, float, float]) -> TextLine:
    return TextLine(1, [Fragment(text, x0, x1, top, top + 10.5) for text, x0, x1 in cells], 10.5)


def test_justified_prose_with_aligned_gaps_is_no_table():
    prose = BorderlessBlock([
        _line(100, ("本部门主要职责是负责全区财政收支管理,", 72, 300), ("并组织实施预算绩效管理。", 320, 520)),
        _line(115, ("统筹安排各项资金,加强财政监督检查,", 72, 300), ("推进政府采购制度改革;", 320, 520)),
        _line(130, ("完成区委、区政府交办的其他任务,", 72, 300), ("做好财政信息公开工作。", 320, 520)),
    ])
    assert not _is_table_block(prose)
    table = BorderlessBlock([
        _line(100, ("基本支出", 72, 300), ("2,336.91", 470, 520)),
        _line(115, ("项目支出", 72, 300), ("603.14", 480, 520)),
        _line(130, ("合计", 72, 300), ("2,940.05", 470, 520)),
    ])
    assert _is_table_block(table)
