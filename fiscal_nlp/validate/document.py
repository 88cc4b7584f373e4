"""Checks of the document as a reader sees it.

ocr_needed         PDF pages without a text layer that hold an image (the reader lists them; a blank
                   page is no scan)
table_presence     (from the tables stage) a table listed in the table of contents but absent, or
                   present without numbers: always a warning (the reader may have missed it)
year_mismatch      a heading (a title line: “2023年度部门决算”, a table title) whose year is not the
                   document's fiscal year: a warning naming the line, page and both years
stated_comparison  a variance statement that says 决算数大于/小于/等于 (or 与…持平) 预算数 when its own
                   年初预算 and 支出决算 say otherwise: an error (基本持平 beyond 10%: a warning)
"""
from __future__ import annotations

import re
from decimal import Decimal

from ..ingest.document import compact
from .compare import finding

# A title line: the year leads it (after at most a department name), and it names the disclosure or a table.
_TITLE_YEAR = re.compile(r"^[^，。,；;：:（(比与较]{0,30}?(?P<year>(?:19|20)\d{2})\s*年度?[^，。,；;]{0,24}?"
                         r"(?:部门|单位)?(?:决算|预算)(?:公开|报告|表|情况说明|编制说明)?")
_NOT_A_TITLE = re.compile(r"比|与|较|相比|上年|以前|截至|截止|执行|调整|万元|%")
_COMPARISON = re.compile(
    r"决算数?(?P<word>大于|小于|高于|低于|超过|等于|少于|多于)(?:年初)?预算数?"
    r"|决算数?与(?:年初)?预算数?(?P<flat>基本持平|持平|相等|一致|相同)")
_WORDS = {"大于": 1, "高于": 1, "超过": 1, "多于": 1, "小于": -1, "低于": -1, "少于": -1, "等于": 0,
          "持平": 0, "相等": 0, "一致": 0, "相同": 0}
_FLAT_TOLERANCE = Decimal("0.10")  # 基本持平: within 10% of the budget


def ocr_findings(doc) -> list[dict]:
    """A warning when some PDF pages had no text layer: whatever they hold is missing from the output."""
    pages = getattr(doc, "pages_without_text", None)
    if not pages:
        return []
    from ..ingest.pdf import page_list

    return [finding("ocr_needed", False, "warning", None, None,
                    f"{doc.source_file}: page(s) {page_list(pages)} have no text layer (scanned images); "
                    f"OCR is needed, and anything printed only there is missing from the output")]


def year_findings(doc) -> list[dict]:
    """Title lines whose year is not the document's fiscal year."""
    year = getattr(getattr(doc, "meta", None), "fiscal_year", None)
    if not year:
        return []
    out = []
    for line in doc.lines:
        if ("20" not in line.text and "19" not in line.text) or len(line.text) > 200:  # cheap tests first
            continue
        text = compact(line.text)
        if not text or len(text) > 48 or _NOT_A_TITLE.search(text):
            continue
        m = _TITLE_YEAR.match(text)
        if m and int(m["year"]) != int(year):
            where = f"line {line.number}" + (f", page {line.page}" if line.page else "")
            out.append(finding("year_mismatch", False, "warning", year, int(m["year"]),
                               f"{where}: heading “{text}” says {m['year']}, the document is for {year}",
                               line.number))
    return out


def comparison_findings(narrative_rows: dict | None) -> list[dict]:
    """A 决算数大于/小于/等于预算数 wording after a variance statement vs its own two figures."""
    if not narrative_rows or narrative_rows.get("_text") is None:
        return []
    jt = narrative_rows["_text"]
    variances = sorted(narrative_rows.get("variances", ()), key=lambda v: v["_span"][0])
    out = []
    for i, v in enumerate(variances):
        start = v["_span"][0]
        stop = variances[i + 1]["_span"][0] if i + 1 < len(variances) else len(jt.text)
        m = _COMPARISON.search(jt.text, start, min(stop, v["_span"][1] + 200))
        if not m:
            continue
        word = m["word"] or m["flat"]
        budget, actual = v["budget"], v["actual"]
        if budget is None or actual is None:  # a rate-only statement: no figures to compare the wording with
            continue
        said = _WORDS["持平" if word.endswith("持平") else word]
        actual_sign = (actual > budget) - (actual < budget)
        line = jt.source_line(m.start())
        what = f"variance {v['subject']}: 年初预算 {budget} vs 支出决算 {actual}, the text says 决算数{word}预算数"
        if word == "基本持平":
            ok = budget != 0 and abs(actual - budget) <= _FLAT_TOLERANCE * abs(budget)
            out.append(finding("stated_comparison", ok, None if ok else "warning", budget, actual, what, line,
                               v["source_line"]))
            continue
        ok = said == actual_sign
        out.append(finding("stated_comparison", ok, None if ok else "error", budget, actual, what, line, v["source_line"]))
    return out


# More integer digits than an amount can have (tables.tokens reads at most 15): digit runs a PDF glued together.
_LONG_NUMBER = re.compile(r"\d(?:,?\d){15,}")
# The cheap test first (a regex over CJK text cost ~2 ms per document): digits and commas as "d", the rest blank.
_DIGIT_MAP = bytes(ord("d") if chr(i) in "0123456789," else ord(" ") for i in range(256))


def implausible_amount_findings(doc) -> list[dict]:
    """A warning per number too long to be an amount: the tables do not read it as one (its row is
    then flagged by the identities); a statement's figure is still read, and this says it is suspect."""
    text = "\n".join([line.text for line in doc.lines])
    # dropping the non-ASCII characters can only join digit runs, never split one: no hit there, none here
    if b"d" * 16 not in text.encode("ascii", "ignore").translate(_DIGIT_MAP):
        return []
    out = []
    for m in _LONG_NUMBER.finditer(text):
        line = doc.lines[text.count("\n", 0, m.start())]
        digits = sum(c.isdigit() for c in m.group())
        shown = m.group() if len(m.group()) <= 24 else m.group()[:20] + "…"
        out.append(finding("implausible_amount", False, "warning", None, None,
                           f"{doc.source_file} line {line.number}: a number of {digits} digits ({shown}) is no "
                           f"plausible amount (digit runs glued together?); the tables do not read it as one, "
                           f"and a statement's figures read from it are suspect", line.number))
        if len(out) == 100:  # a file of nothing else must not become a million rows
            break
    return out


def document_findings(doc, tables, narrative_rows, reader_notes) -> list[dict]:
    return (ocr_findings(doc) + year_findings(doc) + comparison_findings(narrative_rows)
            + implausible_amount_findings(doc))
