"""Find the standard tables in a document: title line -> region of lines up to the next table or section."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..ingest.document import Document, Line, compact
from .spec import load_specs, match_title

_SECTION = re.compile(r"^第[一二三四五六七八九十\d]+部分")
_TOC_ITEM = re.compile(r"^(?:-|表\s*\d+|[一二三四五六七八九十]+、)")
# Lines that open a table body: a header word, 栏次, or the 单位 line.
_TABLE_START = re.compile(r"栏次|行次|科目编码|科目名称|功能分类|经济分类|^部门[:：]|金额单位|^单位[:：]|[^期]单位[:：]万元")
# A numbered entry of a list of tables ("表 10. …项目支出表") ends the region before it.
_TABLE_ENTRY = re.compile(r"^表\s*\d+[.、．]")


@dataclass
class Region:
    key: str
    title: str
    title_line: Line
    lines: list[Line]  # body lines after the title (non-empty)


def find_regions(doc: Document) -> tuple[list[Region], dict[str, Line]]:
    """Tables found in the body, and every table key mentioned by title anywhere (the listing).

    A title followed by table content starts a region; a title followed only by more titles
    (a table of contents, or a budget document's list of tables) is a listing, not a table.
    """
    lines = [ln for ln in doc.lines if ln.text.strip()]
    titles = [(i, match_title(ln.text)) for i, ln in enumerate(lines)]
    title_at = {i: t for i, t in titles if t}
    listed = listed_tables(lines)
    regions: list[Region] = []
    for i, (key, title) in title_at.items():
        end = i + 1
        while end < len(lines) and end not in title_at and not _ends_region(lines[end]):
            end += 1
        body = lines[i + 1:end]
        if not _looks_like_table(body):
            continue
        if regions and regions[-1].key == key and regions[-1].lines and not _has_data_before(regions[-1]):
            regions.pop()  # "一、收入支出决算总表" heading then "2021 年度收入支出决算总表": keep the latter
        regions.append(Region(key, title, lines[i], body))
    return regions, listed


def _ends_region(line: Line) -> bool:
    text = compact(line.text)
    return bool(_SECTION.match(text) or _TABLE_ENTRY.match(text))


def listed_tables(lines: list[Line]) -> dict[str, Line]:
    """Table keys whose title occurs anywhere (a table of contents, a list of tables, a heading).

    Titles may wrap ("…“三公”经费支出\n\n表"), so the search runs over the whitespace-free text;
    one alternation, longest titles first, so a title is never also counted as a shorter one inside it.
    """
    specs = load_specs()[0]
    alternatives = sorted(((p.pattern, key) for key, s in specs.items() for p in s.titles), key=lambda x: -len(x[0]))
    combined = re.compile("|".join(f"(?P<g{i}>{pat})" for i, (pat, _) in enumerate(alternatives)))
    text, owner = [], []
    for ln in lines:
        t = compact(ln.text)
        text.append(t)
        owner.extend([ln] * len(t))
    joined = "".join(text)
    listed: dict[str, Line] = {}
    for m in combined.finditer(joined):
        key = alternatives[int(m.lastgroup[1:])][1]
        context = joined[m.end(): m.end() + 4]
        if context.startswith(("情况", "说明")):
            continue
        listed.setdefault(key, owner[m.start()])
    return listed


def _looks_like_table(body: list[Line]) -> bool:
    head = body[:15]
    if not head:
        return False
    if all(_TOC_ITEM.match(compact(ln.text)) for ln in head[:3]) and not any("栏次" in ln.text for ln in head):
        return False
    return any(_TABLE_START.search(compact(ln.text)) for ln in head)


def _has_data_before(region: Region) -> bool:
    return any(re.search(r"\d\.\d", ln.text) for ln in region.lines)
