"""Narrative stage, step 1: one searchable string per document, with line provenance.

pdftotext-style exports break sentences across lines and blank lines (“年初预算为 2,417.70万\\n\\n元”),
so statements are matched on the document's lines *joined*:
  * whitespace inside a line is dropped, except one space between two ASCII digits/letters
    (“1170.83 1012.84” stay two numbers);
  * wrapped lines are glued with nothing (a wrap may split a number) and blank lines vanish;
  * a line that opens a heading, an enumerated item (“1.”, “(一)”, “①”) or a tab-separated table
    row starts on a fresh “\\n”; so does the line after a heading alone on its line, or after a
    line the source cut off (ending in U+FFFD “�”).
Every offset in the joined text maps back to the source line it came from, so a statement's
`source_line` is the line where it starts.
"""
from __future__ import annotations

import bisect
import re
import string
from dataclasses import dataclass, field
from decimal import Decimal

from fiscal_nlp.ingest.document import Document, Line

# An amount as printed: “2,417.70”, “645.72”, “1492.009583”, “0”.
NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
# Money unit right after an amount; “万” alone (“减少 10 万”) means 万元.
MONEY_UNIT = r"(?:万元|万|元)"

_LINE_OPENER = re.compile(
    r"^(?:第[一二三四五六七八九十]+部分|[一二三四五六七八九十]+[、.]|[(（][一二三四五六七八九十\d]{1,3}[)）]"
    r"|\d{1,2}[.、](?!\d)|[①-⑳]|图\s*\d|表\s*\d|附[件表]|部门项目申报表|项目名称)"
)
_SECTION = re.compile(r"^(?:第[一二三四五六七八九十]+部分|[一二三四五六七八九十]+、)")
# A heading alone on its line (“一、收入支出决算总体情况说明”, “(一) 自评得分”, “图 1：…”): the
# next line starts a new statement, so a break is inserted after it too.
_HEADING = re.compile(r"^(?:第[一二三四五六七八九十]+部分|[一二三四五六七八九十]+、|[(（][一二三四五六七八九十]+[)）]|图\s*\d)")
_SENTENCE_MARK = re.compile(r"[。,;，；]")
# The source cut very long lines and marked the cut with U+FFFD: the next line is not a continuation.
TRUNCATED = "\ufffd"
_PAGE_FOOTER = re.compile(r"^[-—–]\s*\d+\s*[-—–]$")
# A whitespace run squeezes to one space between these characters (“1170.83 1012.84”, “5 G”).
_KEEP_SPACE_LEFT = frozenset(string.digits + string.ascii_letters + ".%")
_KEEP_SPACE_RIGHT = frozenset(string.digits + string.ascii_letters)
_WS_RUN = re.compile(r"\s+")
_INNER_WS_RUN = re.compile(r"[^\S\n]+")  # a run inside one of several texts joined by line breaks
# A sentence: some text and the “。” or line break that ends it (a bare “。” or blank line is none).
_SENTENCE = re.compile(r"[^。\n]+[。\n]?")


def squeeze(text: str) -> str:
    """Drop whitespace except one space between ASCII alphanumerics: “年初预算为 2,417.70 万元” -> “年初预算为2,417.70万元”."""
    return _WS_RUN.sub(_squeezed_run, text.strip())


def _squeeze_all(texts: list[str]) -> list[str]:
    """`squeeze` of each of `texts` (stripped already), in one regex pass over them all."""
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1:  # a text holds a line break itself: one by one
        return [squeeze(t) for t in texts]
    return _INNER_WS_RUN.sub(_squeezed_run, joined).split("\n") if texts else []


def _squeezed_run(run: re.Match) -> str:
    """One space for a whitespace run between the characters of `_KEEP_SPACE_*`, else nothing (runs are inner)."""
    text = run.string
    return " " if text[run.start() - 1] in _KEEP_SPACE_LEFT and text[run.end()] in _KEEP_SPACE_RIGHT else ""


def to_decimal(printed: str) -> Decimal:
    """“2,417.70” -> Decimal('2417.70') (the printed precision is kept: it sets rounding intervals)."""
    return Decimal(printed.replace(",", ""))


def to_wan(printed: str, unit: str | None) -> Decimal:
    """An amount in 万元: “21900000”, “元” -> Decimal('2190'); “45”, “万” -> Decimal('45')."""
    value = to_decimal(printed)
    return value / Decimal(10000) if unit == "元" else value


class AnchoredPattern:
    """A compiled regex searched only next to a literal that every match contains.

    `re` tries a pattern at every offset when it opens with optional words or a look-behind
    (“(?:共有|拥有)?(?:公务)?车辆…”, “(?<![购算])(?:本年)?支出合计…”). Here `str.find` looks for the
    pattern's anchor (“车辆”, “支出合计”), and the regex is tried only at the offsets from which a
    match can reach it: at most `before` characters back — the widest the pattern's text before
    the anchor can be. `search` and `finditer` return exactly what the plain regex would.

    The anchor is read from the pattern: its longest literal run within a few characters of the
    match start (none when the pattern opens with a literal: `re` scans for such a prefix
    itself). A hint may name it instead (`anchor=`), with how far into a match it can start
    (`before=`; by default the pattern's widest match), or with the characters the match text
    before it is made of when that part is unbounded (`lead=`: “0123456789,.” for an amount
    opening the pattern; with `before=` too, the match may open up to that many characters
    before the amount). A hint may also be a compiled regex that every match contains, when the
    literal alone is common: `re.compile("万元(?=,?主要用于)")` is tried only where an amount is
    followed by its purpose, not at every “万元”. Without an anchor the plain regex runs.
    """

    def __init__(self, pattern: str, anchor: str | re.Pattern | None = None, before: int | None = None,
                 lead: str | None = None, max_lead: int | None = None):
        self.regex = re.compile(pattern)
        self.anchor, self._before, self._lead, self._max_lead = anchor, before, lead, max_lead
        parsed = _sre_parser.parse(pattern)
        if parsed.getwidth()[0] == 0:  # may match empty text: leave it to `re`
            self.anchor = None
        elif anchor is None:
            self.anchor, self._before = _literal_anchor(parsed)
        elif before is None and lead is None:  # a declared anchor lies inside the match: bounded by its width
            widest = parsed.getwidth()[1]
            shortest = len(anchor) if isinstance(anchor, str) else _sre_parser.parse(anchor.pattern).getwidth()[0]
            self._before = widest - shortest if widest < _sre_parser.MAXREPEAT else None
            if self._before is None:
                raise ValueError(f"unbounded pattern needs `lead` with its anchor: {pattern[:40]!r}")

    def _find(self, text: str, pos: int) -> int:
        """Offset of the next anchor at or after `pos`, or -1."""
        if isinstance(self.anchor, str):
            return text.find(self.anchor, pos)
        m = self.anchor.search(text, pos)
        return -1 if m is None else m.start()

    def search(self, text: str, pos: int = 0) -> re.Match | None:
        """The leftmost match at or after `pos` (as `regex.search(text, pos)`)."""
        if self.anchor is None:
            return self.regex.search(text, pos)
        match, tried = self.regex.match, pos  # offsets below `tried` are out
        at = self._find(text, pos)
        while at >= 0:
            if self._lead is None:
                first = max(tried, at - self._before)
            else:  # back over the run of lead characters, then up to `before` more
                first, floor = at, max(tried, at - self._max_lead) if self._max_lead is not None else tried
                while first > floor and text[first - 1] in self._lead:
                    first -= 1
                first = max(tried, first - (self._before or 0))
            for start in range(first, at + 1):
                m = match(text, start)
                if m is not None:
                    return m
            tried = at + 1
            at = self._find(text, at + 1)
        return None

    def finditer(self, text: str):
        """The matches of `regex.finditer(text)` (never empty: see `__init__`)."""
        if self.anchor is None:
            yield from self.regex.finditer(text)
            return
        pos = 0
        while (m := self.search(text, pos)) is not None:
            yield m
            pos = m.end()


# Walk-back over lead characters in a `ClausePattern`'s search: more than the longest amount (26 characters).
_MAX_LEAD = 40
_sre_parser = getattr(re, "_parser", None) or __import__("sre_parse")
# Farthest an automatic anchor may lie into a match: each hit costs one try per offset before it.
_MAX_BEFORE = 8


def _literal_anchor(parsed) -> tuple[str | None, int | None]:
    """The longest literal run of a parsed pattern's top level whose preceding part has a
    width of at most `_MAX_BEFORE`, and that width; (None, None) when there is no run of 2+
    characters, or when the pattern opens with a literal (`re` scans for such a prefix itself).
    """
    if parsed.data and parsed.data[0][0] is _sre_parser.LITERAL:
        return None, None
    best, best_before = "", None
    run, run_before, before = "", 0, 0
    for item in list(parsed.data) + [(None, None)]:
        op, arg = item
        if op is _sre_parser.LITERAL:
            if not run:
                run_before = before
            run += chr(arg)
            before += 1
            continue
        if len(run) > len(best) and run_before <= _MAX_BEFORE:
            best, best_before = run, run_before
        run = ""
        if op is None:
            break
        before += _sre_parser.SubPattern(parsed.state, [item]).getwidth()[1]
        if before >= _sre_parser.MAXREPEAT:
            break
    return (best, best_before) if len(best) >= 2 else (None, None)


# What a `ClausePattern` opens with: its subject, `(?P<name>[^<stop characters>]*?)` (or `+?`),
# the stop characters written literally or as `\n`.
_CLAUSE_SUBJECT = re.compile(r"\(\?P<\w+>\[\^(?P<stops>(?:\\n|[^]\\^-])+)\][*+]\?\)")


class ClausePattern:
    """A statement regex that opens with its subject: a lazy run of clause characters.

    Example: `(?P<subject>[^。;\\n]*?)。?(?:年初|全年)?预算…` — the subject reaches back to the
    clause start (after the last stop character “。”, “;” or line break). `re.finditer` tries
    such a pattern at every offset, and every try rescans the clause up to its end: quadratic in
    the clause length. `finditer` here yields the very same matches in one pass: it searches for
    the rest of the pattern (the statement proper), and tries the whole pattern only at the
    earliest offset that can reach it — the clause start, or the previous match's end. No earlier
    offset can match: from there the subject would have to cross a stop character.
    """

    def __init__(self, pattern: str, anchor: str | re.Pattern | None = None, lead: str | None = None,
                 before: int | None = None):
        subject = _CLAUSE_SUBJECT.match(pattern)
        if subject is None:
            raise ValueError(f"a clause pattern must open with (?P<name>[^…]*?): {pattern[:40]!r}")
        rest = pattern[subject.end():]
        self.regex = re.compile(f"{subject.group()}(?:{rest})")
        # hints for the statement proper; only where it is matters (the whole pattern is matched from the
        # clause start), so a lead run is walked back a bounded way: a glued digit run would cost its square
        self._rest = AnchoredPattern(rest, anchor, before, lead, max_lead=_MAX_LEAD)
        self._stops = subject["stops"].replace(r"\n", "\n")  # the characters the subject cannot contain

    def finditer(self, text: str):
        pos = 0
        while pos <= len(text):
            rest = self._rest.search(text, pos)
            if rest is None:
                return
            start = max([pos] + [text.rfind(c, pos, rest.start()) + 1 for c in self._stops])
            m = self.regex.match(text, start)
            if m is None:  # a `+?` subject needs a character before `rest`: go on after `start`
                pos = start + 1
                continue
            yield m
            pos = max(m.end(), start + 1)


@dataclass
class JoinedText:
    """The document's lines joined into `text`, with `starts[i]` the offset where `lines[i]` begins."""

    text: str
    starts: list[int] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    _sections: list[tuple[int, str]] = field(default_factory=list)
    # Computed on first use and shared by every extractor (the text is final once joined).
    _section_offsets: list[int] | None = field(default=None, repr=False)
    _sentence_spans: list[tuple[int, int]] | None = field(default=None, repr=False)

    def line_at(self, offset: int) -> Line:
        i = bisect.bisect_right(self.starts, offset) - 1
        return self.lines[max(i, 0)]

    def source_line(self, offset: int) -> int:
        """1-based source line of the character at `offset`, skipping leading separators."""
        while offset < len(self.text) - 1 and self.text[offset] in "\n ":
            offset += 1
        return self.line_at(offset).number

    def page(self, offset: int) -> int | None:
        return self.line_at(offset).page

    def _section_index(self, offset: int) -> int:
        if self._section_offsets is None:
            self._section_offsets = [s for s, _ in self._sections]
        return bisect.bisect_right(self._section_offsets, offset) - 1

    def section_at(self, offset: int) -> str:
        """The heading line (“五、一般公共预算财政拨款支出决算情况说明”) governing `offset`, or ''."""
        i = self._section_index(offset)
        return self._sections[i][1] if i >= 0 else ""

    def section_start(self, offset: int) -> int:
        """Offset of the heading governing `offset` (0 before the first heading)."""
        i = self._section_index(offset)
        return self._sections[i][0] if i >= 0 else 0

    def sentence_span(self, offset: int) -> tuple[int, int]:
        """[start, end) of the sentence around `offset`: bounded by “。” and line-opener breaks."""
        start = max(self.text.rfind("。", 0, offset), self.text.rfind("\n", 0, offset)) + 1
        ends = [i for i in (self.text.find("。", offset), self.text.find("\n", offset)) if i >= 0]
        end = min(ends) + 1 if ends else len(self.text)
        return start, end

    def sentences(self) -> list[tuple[int, int]]:
        """[start, end) of every sentence (split after “。” and line breaks), computed once per text."""
        if self._sentence_spans is None:
            self._sentence_spans = [m.span() for m in _SENTENCE.finditer(self.text)]
        return self._sentence_spans


def join_lines(doc: Document) -> JoinedText:
    """Join `doc.lines` into one `JoinedText` (see the module docstring for the rules)."""
    chunks: list[str] = []
    joined = JoinedText("")
    length = 0
    prev_tabbed = prev_heading = prev_cut = False
    lines = [(line, raw) for line in doc.lines if (raw := line.text.strip()) and not _PAGE_FOOTER.match(raw)]
    joined.lines = [line for line, _ in lines]
    for (line, raw), squeezed in zip(lines, _squeeze_all([raw for _, raw in lines])):
        tabbed = "\t" in line.text
        # else glued with nothing: a wrapped line may split a number (“23” + “30.28万元”)
        if chunks and (tabbed or prev_tabbed or prev_heading or prev_cut or _LINE_OPENER.match(raw)):
            chunks.append("\n")
            length += 1
        heading = _HEADING.match(raw)
        if heading and _SECTION.match(raw):  # (a section heading is a heading)
            joined._sections.append((length, squeezed))
        joined.starts.append(length)
        chunks.append(squeezed)
        length += len(squeezed)
        prev_tabbed = tabbed
        prev_cut = squeezed.endswith(TRUNCATED)
        prev_heading = heading is not None and len(squeezed) <= 40 and not _SENTENCE_MARK.search(squeezed)
    joined.text = "".join(chunks)
    return joined


_LEADING_NOISE = re.compile(
    r"^(?:[\n ]|其中[:：]?|此外[,，]|另外[,，]|[(（]?\d{1,2}[)）.、]|[(（][一二三四五六七八九十]+[)）]|[一二三四五六七八九十]+[、是]"
    r"|\d{4}年(?:度)?|\d{4}度|[,，;；:：])+"
)


_YEAR_MARK = re.compile(r"\d{4}年度?|\d{4}度")
# What may precede a subject inside its clause: the year, a “…具体包括：” lead-in, an item number.
_SUBJECT_OPENERS = (_YEAR_MARK, re.compile(r"[:：]"), re.compile(r"[(（]\d{1,2}[)）]"))


def strip_subject(text: str) -> str:
    """The subject of a statement, without enumerators, “其中：” or the year that opens it.

    “(1)2021年度财政拨款支出” -> “财政拨款支出”. Text glued before the subject by the joining
    (“(三)…具体情况2024年度…”, “2.社会保障和就业支出具体包括：(1)社会保障…”) is dropped up to
    the last year mark, colon or item number, since template sentences open with those.
    """
    text = text.strip("\n ")
    for mark in _SUBJECT_OPENERS:
        hits = [m for m in mark.finditer(text) if m.end() < len(text)]
        if hits:
            text = text[hits[-1].end():]
    return _LEADING_NOISE.sub("", text).strip("。,;:")


def subject_start(text: str, start: int, end: int) -> int:
    """Offset where the subject in text[start:end] begins, by the rules of `strip_subject`.

    Used for `source_line`: “1.预算收入情况2024年部门收入预算…” starts at “2024年”.
    """
    for mark in _SUBJECT_OPENERS:
        hits = [m for m in mark.finditer(text, start, end) if m.end() < end]
        if hits:
            start = hits[-1].start()
    while start < end and text[start] in "\n ":
        start += 1
    return start
