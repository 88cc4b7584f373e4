"""Find the standard tables in a document: title line -> region of lines up to the next table or section."""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from ..ingest.document import Document, Line, compact
from .spec import format_vocabulary, load_specs, match_title

_SECTION = re.compile(r"^第[一二三四五六七八九十\d]+部分")
_TOC_ITEM = re.compile(r"^(?:-|表\s*\d+|[一二三四五六七八九十]+、|[(（][一二三四五六七八九十\d]+[)）])")
# Lines that open a table body: a header word, 栏次, or the 单位 line.
_TABLE_START = re.compile(r"栏次|行次|科目编码|科目名称|功能分类|经济分类|^(?:编制)?部门(?:名称)?[:：]|^编制单位[:：]|金额单位|^单位[:：]|[^期]单位[:：](?:万元|元|亿元)")
# A numbered entry of a list of tables ("表 10. …项目支出表") ends the region before it.
_TABLE_ENTRY = re.compile(r"^表\s*\d+[.、．]")
# A heading of the narrative part ("三、部门预算情况说明", "(一)收支预算情况说明") ends a table printed above it.
_NARRATIVE_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|[(（][一二三四五六七八九十]+[)）]).{0,30}(?:情况)?说明$")
_DATA = re.compile(r"\d\.\d")
# Anchors, word boundaries and lookarounds: a title pattern with one may match a line alone but not
# the same text inside the joined lines (then every line is checked with `match_title`).
_CONTEXT = re.compile(r"(?<!\[)\^|\$|\\[bBAZ]|\(\?<?[=!]")  # ("[^…]" is a class, not an anchor)


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
    scan = _TitleScan(lines)
    # Only a line in which some title occurs can be a title line: the rest skip `match_title`.
    title_at = {i: t for i in scan.lines_with_titles() if (t := match_title(lines[i].text))}
    listed = scan.listed()
    regions: list[Region] = []
    for i, (key, title) in title_at.items():
        end = i + 1
        while end < len(lines) and end not in title_at and not _ends_region(scan.compacted[end]):
            end += 1
        body = lines[i + 1:end]
        if not _looks_like_table(body, scan.compacted[i + 1:min(end, i + 16)]):
            continue
        if regions and regions[-1].key == key and regions[-1].lines and not _has_data_before(regions[-1]):
            regions.pop()  # "一、收入支出决算总表" heading then "2021 年度收入支出决算总表": keep the latter
        regions.append(Region(key, title, lines[i], body))
    return regions, listed


def _ends_region(text: str) -> bool:
    """Whether a (compacted) line ends the region above it: a new part, an entry of a list of tables,
    or the title of a table that is not read (项目支出绩效目标表 …)."""
    if _SECTION.match(text) or _TABLE_ENTRY.match(text) or _NARRATIVE_HEADING.match(text):
        return True
    return len(text) <= 40 and "说明" not in text and any(t in text for t in format_vocabulary()[0])


class _TitleScan:
    """Every occurrence of every table title in a document's whitespace-free text, found once.

    Titles may wrap ("…“三公”经费支出\n\n表"), so the search runs over the lines joined
    without whitespace; `starts` holds, per title pattern, every position where it matches.
    """

    def __init__(self, lines: list[Line]):
        specs = load_specs()[0]
        # Longest titles first, so a title is never also counted as a shorter one inside it.
        self.alternatives = sorted(((p, key) for key, s in specs.items() for p in s.titles), key=lambda x: -len(x[0].pattern))
        self.compacted = [compact(ln.text) for ln in lines]
        self.lines = lines
        self.offsets = []  # where each line starts in `joined`
        pos = 0
        for t in self.compacted:
            self.offsets.append(pos)
            pos += len(t)
        self.joined = "".join(self.compacted)
        self.starts: list[tuple[int, int, int]] = []  # (position, alternative, end), sorted
        for n, (pattern, _) in enumerate(self.alternatives):
            if re.escape(pattern.pattern) == pattern.pattern:  # a plain title: str.find is much faster
                title = pattern.pattern
                at = self.joined.find(title)
                while at >= 0:
                    self.starts.append((at, n, at + len(title)))
                    at = self.joined.find(title, at + 1)
                continue
            at = 0
            while (m := pattern.search(self.joined, at)) is not None:
                self.starts.append((m.start(), n, m.end()))
                at = m.start() + 1
        self.starts.sort()

    def _line_of(self, position: int) -> int:
        return bisect_right(self.offsets, position) - 1

    def lines_with_titles(self) -> list[int]:
        """Indexes of the lines in which a title starts (in ascending order)."""
        if any(_CONTEXT.search(pattern.pattern) for pattern, _ in self.alternatives):
            return list(range(len(self.lines)))
        return sorted({self._line_of(p) for p, _, _ in self.starts})

    def listed(self) -> dict[str, Line]:
        """Table keys whose title occurs anywhere, with the line of the first occurrence.

        The titles are read left to right without overlap, the first (longest) title in
        `alternatives` winning where several start at one place — one regex alternation's
        `finditer`, done from the occurrences already found.
        """
        listed: dict[str, Line] = {}
        after = 0  # end of the last title read
        for position, n, end in self.starts:
            if position < after:
                continue
            after = end  # the first entry at a position has the lowest n: the alternation's choice
            context = self.joined[end:end + 4]
            if context.startswith(("情况", "说明")):
                continue
            listed.setdefault(self.alternatives[n][1], self.lines[self._line_of(position)])
        return listed


def listed_tables(lines: list[Line]) -> dict[str, Line]:
    """Table keys whose title occurs anywhere (a table of contents, a list of tables, a heading)."""
    return _TitleScan(lines).listed()


def _looks_like_table(body: list[Line], compacted: list[str]) -> bool:
    """`compacted`: the first 15 body lines without whitespace."""
    head = body[:15]
    if not head:
        return False
    if all(_TOC_ITEM.match(t) for t in compacted[:3]) and not any("栏次" in ln.text for ln in head):
        return False
    return any(_TABLE_START.search(t) for t in compacted)


def _has_data_before(region: Region) -> bool:
    return any(_DATA.search(ln.text) for ln in region.lines)
