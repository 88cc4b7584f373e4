"""Narrative stage: resolve a narrative subject to a functional classification code (功能分类科目编码).

A subject such as “一般公共服务支出(类)政府办公厅(室)及相关机构事务(款)事业运行(项)” is split
into its 类/款/项 names and walked down the coded rows of `line_items`: the 类 name picks a
3-digit code, the 款 name a 5-digit code under it, the 项 name a 7-digit code under that.
With no coded rows (budget documents, or tables not parsed yet) every code is None.
"""
from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa

from fiscal_nlp.ingest.document import compact
from fiscal_nlp.schema import column_lists

_LEVEL_MARK = re.compile(r"[(（](类|款|项)[)）]")
_EXPENDITURE_SUFFIX = re.compile(r"支出$")


def split_path(subject: str) -> list[str]:
    """“卫生健康支出(类)行政事业单位医疗(款)事业单位医疗(项)” -> ["卫生健康支出", "行政事业单位医疗", "事业单位医疗"]."""
    parts = _LEVEL_MARK.split(subject)
    names = [p for p, mark in zip(parts[0::2], parts[1::2]) if p]
    return names


def _key(name: str) -> str:
    return _EXPENDITURE_SUFFIX.sub("", compact(name).replace("（", "(").replace("）", ")"))


class CodeResolver:
    """Look up codes by walking 类 -> 款 -> 项 names among `line_items` rows that carry a code."""

    def __init__(self, line_items: pd.DataFrame | pa.Table | None):
        self._by_len: dict[int, dict[str, set[str]]] = {}
        cols = column_lists(line_items, ("code", "item"))
        if cols is None:
            return
        for code, item in zip(*cols):
            if code is None or pd.isna(code):
                continue
            code = str(code)
            self._by_len.setdefault(len(code), {}).setdefault(_key(str(item)), set()).add(code)

    def resolve(self, subject: str) -> str | None:
        """Code of the deepest level named in `subject`, or None when any level is unknown or ambiguous."""
        names = split_path(subject)
        if not names:
            return None
        parent = ""
        for depth, name in enumerate(names):
            width = (3, 5, 7)[depth] if depth < 3 else None
            if width is None:
                return None
            codes = {c for c in self._by_len.get(width, {}).get(_key(name), set()) if c.startswith(parent)}
            if len(codes) != 1:
                return None
            parent = codes.pop()
        return parent
