"""Narrative stage: reasons as data — find the explanation after a statement and classify it.

The taxonomy lives in `package_data/reason_taxonomy.yaml` (ids, 中文/English labels, keyword
lists); matching is on jieba tokens with the fiscal user dictionary
`package_data/fiscal_userdict.txt`, so “机构改革” is one token and the keyword “改革” would not
fire inside it. Extending the taxonomy is a YAML edit; see the file's header for the rules.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jieba
import yaml

jieba.setLogLevel(logging.WARNING)

_PACKAGE_DATA = resources.files("fiscal_nlp") / "package_data"
TAXONOMY_PATH = Path(str(_PACKAGE_DATA / "reason_taxonomy.yaml"))
USERDICT_PATH = Path(str(_PACKAGE_DATA / "fiscal_userdict.txt"))
GAP = "…"

# Reason openings come from the grammar's vocabulary (narrative_grammar.yaml `reason_openers`).
# A following sentence carries the reason of the statement before it when a reason opening
# sits in its first words, with no figure before it (“决算数小于预算数的主要原因：…”,
# “2024年度“三公”经费支出决算数小于预算数的主要原因：…”, “减少主要原因是…”); those words
# (the lead) may name the statement the reason belongs to.
_LEAD_WORDS = 40
# Where a reason ends: 。 ; a line break (a heading or enumerated item starts there) or 其中：.
_REASON_END = re.compile(r"[。;\n]|其中:")


@dataclass(frozen=True)
class Category:
    id: str
    label_zh: str
    label_en: str
    keywords: tuple[str, ...]
    weak: bool = False  # assigned only when no other category matches (see the YAML header)


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Category, ...]
    fallback: str
    userdict: Path

    @classmethod
    def load(cls, path: str | Path = TAXONOMY_PATH, userdict: str | Path = USERDICT_PATH) -> "Taxonomy":
        """Read the YAML taxonomy (see `reason_taxonomy.yaml`)."""
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        cats = tuple(
            Category(c["id"], c.get("label_zh", ""), c.get("label_en", ""), tuple(c.get("keywords") or ()),
                     bool(c.get("weak", False)))
            for c in data["categories"]
        )
        return cls(cats, data.get("fallback", "other"), Path(userdict))

    def classify(self, reason: str | None) -> str | None:
        """';'-joined category ids for a reason, `fallback` when none match, None for no reason.

        Example: “因机构改革，部分人员转隶和职能划转，相关经费减少” -> "institutional_reform".
        """
        if not reason:
            return None
        hits = _assigned(self, reason)
        return ";".join(c for c, _ in hits) if hits else self.fallback

    def evidence(self, reason: str | None) -> str | None:
        """The keyword that put a reason in each of its categories, as ';'-joined “id:keyword”
        (“压减经费，人员减少” -> "staffing_change:人员减少;austerity:压减"); None for no reason
        or the fallback."""
        if not reason:
            return None
        return ";".join(f"{c}:{kw}" for c, kw in _assigned(self, reason)) or None


@lru_cache(maxsize=8192)
def _assigned(taxonomy: Taxonomy, reason: str) -> tuple[tuple[str, str], ...]:
    """(category id, first matching keyword) of the categories a reason is assigned, in
    taxonomy order; weak categories only when no other matches. Reasons repeat across a
    document (and a corpus), so each is segmented and matched once."""
    userdict = str(taxonomy.userdict)
    tokens = tuple(_tokenizer(userdict).lcut(reason))
    vocabulary = set(tokens)
    hits = []
    for c in taxonomy.categories:
        keyword = next((kw for kw in c.keywords if _matches(tokens, vocabulary, _keyword_parts(userdict, kw))), None)
        if keyword is not None:
            hits.append((c, keyword))
    strong = [(c.id, kw) for c, kw in hits if not c.weak]
    return tuple(strong or [(c.id, kw) for c, kw in hits])


@lru_cache(maxsize=4)
def _tokenizer(userdict: str) -> jieba.Tokenizer:
    """One jieba tokenizer per user dictionary and process (loading the dictionary is the slow part)."""
    tokenizer = jieba.Tokenizer()
    tokenizer.load_userdict(userdict)
    return tokenizer


@lru_cache(maxsize=4096)
def _keyword_parts(userdict: str, keyword: str) -> tuple[tuple[str, ...], ...]:
    """A keyword's token runs, segmented once: “新增…项目” -> (("新增",), ("项目",))."""
    tokenizer = _tokenizer(userdict)
    parts = (tuple(tokenizer.lcut(piece.strip())) for piece in keyword.split(GAP))
    return tuple(part for part in parts if part)


def _contains(tokens: tuple[str, ...], part: tuple[str, ...], start: int) -> int:
    """Index just past the first contiguous occurrence of `part` in tokens[start:], or -1."""
    n = len(part)
    for i in range(start, len(tokens) - n + 1):
        if tokens[i:i + n] == part:
            return i + n
    return -1


def _matches(tokens: tuple[str, ...], vocabulary: set[str], parts: tuple[tuple[str, ...], ...]) -> bool:
    """Whether the keyword's token runs occur in `tokens` (whose set is `vocabulary`) in order, each contiguous."""
    if not all(token in vocabulary for part in parts for token in part):
        return False
    pos = 0
    for part in parts:
        pos = _contains(tokens, part, pos)
        if pos < 0:
            return False
    return True


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    return Taxonomy.load()


def find_reason(text: str, start: int, stop: int | None = None) -> str | None:
    """The explanation printed after a statement ending at `start`.

    Looks in the rest of the statement's sentence (up to `stop`, e.g. the next statement) and,
    when that has none, in the next sentence if it opens with a reason phrase
    (“。支出决算数小于年初预算数的主要原因是…”, “。减少主要原因是…”). Returns the text up to
    the reason's end (。 ; a new item, 其中：), e.g. “新增了终端采购项目”.
    """
    return reason_detail(text, start, stop)[0]


def reason_detail(text: str, start: int, stop: int | None = None) -> tuple[str | None, str | None, int]:
    """(reason, lead, offset): the reason as `find_reason` reads it; `lead` is the next
    sentence's words before its reason opening when the reason came from there (None when it
    was printed in the statement's own sentence); `offset` where the reason text starts."""
    from .grammar import rules

    opening = rules().reason_open
    stop = len(text) if stop is None else stop
    end = _sentence_end(text, start, stop)
    m = opening.search(text, start, end)
    lead = None
    if m is None and end < stop and text[end - 1:end] in ("。", ";"):
        nxt = _reason_end(text, end, stop)
        if text.startswith("\n", end):
            nxt = end
        m = opening.search(text, end, min(nxt, end + _LEAD_WORDS + 12))
        if m is not None and not re.search(r"\d(?:万元|万|元|%)", text[end:m.start()]) and m.start() - end <= _LEAD_WORDS:
            lead = text[end:m.start()]
            end = nxt
        else:
            m = None
    if m is None:
        return None, None, -1
    end = _reason_end(text, m.end(), end if lead is None else stop) if lead is None else end
    reason = text[m.end():end].strip("。,;:，；：\n ")
    return (reason or None), lead, m.end()


def _sentence_end(text: str, start: int, stop: int) -> int:
    ends = [i for i in (text.find("。", start, stop), text.find("\n", start, stop)) if i >= 0]
    return min(ends) + 1 if ends else stop


def _reason_end(text: str, start: int, stop: int) -> int:
    """Just past where a reason starting at `start` ends (its 。 or ;), or where the next item starts."""
    m = _REASON_END.search(text, start, stop)
    if m is None:
        return stop
    return m.end() if m.group() in ("。", ";") else m.start()


# A reason sentence that says it explains everything above (“上述支出变动的主要原因…”).
_TOTAL_LEAD = re.compile(r"上述|以上|总体|整体|总计|合计")
# The statements a reason sentence can reach back to lie within this many characters of it.
_RUN_REACH = 400
# A reason's lead names a statement when it repeats this share of the subject's character pairs
# (““三公”经费支出决算数小于预算数的” names ““三公”经费财政拨款支出”: 4 of its 9 pairs).
NAMED_SHARE = 0.4


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"\d{4}年度?|[(（][类款项][)）]|[“”\"]", "", text)
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _names(lead: str, subject: str) -> float:
    """How much of `subject` a reason's lead repeats (share of the subject's character pairs)."""
    pairs = _bigrams(subject)
    return len(pairs & _bigrams(lead)) / len(pairs) if pairs else 0.0


def attach_reasons(text: str, rows: list[dict], taxonomy: "Taxonomy") -> None:
    """Set `reason`/`reason_scope` of statement rows (in text order), in place.

    `reason_scope`: ``statement`` — the reason is printed with the statement; ``named`` — a
    reason sentence after several statements names this one (““三公”经费支出决算数小于预算数
    的主要原因：…” after the total and its items goes to the total); ``total`` — a reason
    sentence that says it covers them all (上述/以上/总体…) without naming one, after several
    statements of one paragraph without their own reason, goes to the first of them (the total
    they break down). Otherwise a reason stays with the statement it follows.
    """
    for i, row in enumerate(rows):
        row.setdefault("reason_scope", "statement" if row.get("reason") else None)
        row["_reason_lead"] = None
        if row.get("reason") is None:
            continue
        stop = rows[i + 1]["_span"][0] if i + 1 < len(rows) else None
        _, lead, _ = reason_detail(text, row["_span"][1], stop)
        row["_reason_lead"] = lead
    for i, row in enumerate(rows):
        lead = row["_reason_lead"]
        if lead is None or row.get("reason") is None:
            continue
        # the run: earlier statements of this paragraph (no line break between) without a reason
        run = [row]
        j = i - 1
        while (j >= 0 and rows[j].get("reason") is None and "\n" not in text[rows[j]["_span"][1]:run[0]["_span"][0]]
               and row["_span"][1] - rows[j]["_span"][0] <= _RUN_REACH):
            run.insert(0, rows[j])
            j -= 1
        if len(run) < 2:
            continue
        scores = [(_names(lead, r.get("_subject") or ""), k) for k, r in enumerate(run)]
        best, k = max(scores, key=lambda sk: (sk[0], -sk[1]))
        if best >= NAMED_SHARE and scores[-1][0] < best:
            target, scope = run[k], "named"
        elif best < NAMED_SHARE and _TOTAL_LEAD.search(lead):
            target, scope = run[0], "total"
        else:
            continue
        target["reason"], target["reason_category"], target["reason_scope"] = row["reason"], row["reason_category"], scope
        row["reason"] = row["reason_category"] = row["reason_scope"] = None
    for row in rows:
        row.pop("_reason_lead", None)
        row["reason_evidence"] = taxonomy.evidence(row.get("reason"))
