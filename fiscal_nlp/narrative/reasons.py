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

# “主要原因是…”, “主要原因其他单位…”, “减少主要原因是…”, “主要是财政经费压减”.
_REASON = re.compile(r"(?:主要原因|原因)(?:是|为|在于)?[:：]?|主要是(?!用于)")
# A following sentence that carries the reason of the previous statement.
_REASON_LEAD = re.compile(r"^(?:支出决算数?[大小]于年初预算数?的?|[增减]少|增长|下降)?(?:的)?(?:主要)?原因")


@dataclass(frozen=True)
class Category:
    id: str
    label_zh: str
    label_en: str
    keywords: tuple[str, ...]


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
            Category(c["id"], c.get("label_zh", ""), c.get("label_en", ""), tuple(c.get("keywords") or ()))
            for c in data["categories"]
        )
        return cls(cats, data.get("fallback", "other"), Path(userdict))

    def classify(self, reason: str | None) -> str | None:
        """';'-joined category ids for a reason, `fallback` when none match, None for no reason.

        Example: “因机构改革，部分人员转隶和职能划转，相关经费减少” -> "institutional_reform".
        """
        if not reason:
            return None
        userdict = str(self.userdict)
        tokens = tuple(_tokenizer(userdict).lcut(reason))
        vocabulary = set(tokens)
        hits = [c.id for c in self.categories
                if any(_matches(tokens, vocabulary, _keyword_parts(userdict, kw)) for kw in c.keywords)]
        return ";".join(hits) if hits else self.fallback


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
    (“。支出决算数小于年初预算数的主要原因是…”, “。减少主要原因是…”). Returns the text up to the
    sentence end, e.g. “新增了终端采购项目”.
    """
    stop = len(text) if stop is None else stop
    end = _sentence_end(text, start, stop)
    m = _REASON.search(text, start, end)
    if m is None and end < stop and text[end - 1:end] == "。":
        nxt = _sentence_end(text, end, stop)
        if _REASON_LEAD.match(text[end:nxt]):
            m = _REASON.search(text, end, nxt)
            end = nxt
    if m is None:
        return None
    reason = text[m.end():end].strip("。,;:，；：\n ")
    return reason or None


def _sentence_end(text: str, start: int, stop: int) -> int:
    ends = [i for i in (text.find("。", start, stop), text.find("\n", start, stop)) if i >= 0]
    return min(ends) + 1 if ends else stop
