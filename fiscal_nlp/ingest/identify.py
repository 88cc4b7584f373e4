"""Identify a disclosure: district, department, fiscal year, budget vs final, and a stable doc_id.

Everything is read from the document's own titles, e.g.
"武汉市汉阳区大数据中心 2021 年度部门决算", "2024 年度原青山区大数据中心部门决算公开",
"第一部分 青山区大数据中心概况". A researcher's `catalog.csv` may override any value.
"""
from __future__ import annotations

import re

from pypinyin import Style, lazy_pinyin

from .document import Document, DocumentMeta, compact
from .errors import IngestError

_HEAD_CHARS = 4000  # titles live at the top; identification reads only this much compacted text
_YEAR_KIND = re.compile(r"(20\d{2})年度?(?:[^，。；、\d]{0,40}?)部门(决算|预算)")
_KIND_ONLY = re.compile(r"部门(决算|预算)")
_OVERVIEW = re.compile(r"第[一1]部分(?:[:：])?(.{2,40}?)(?:概况|基本情况)")
_TITLE_DEPT = re.compile(r"(?:20\d{2}年度?)?(.{2,40}?)(?:20\d{2}年度?)?部门(?:决算|预算)")
_DISTRICT = re.compile(r"([\u4e00-\u9fff]{1,5}?(?:新区|自治县|区|县|旗))")
_CITY_PREFIX = re.compile(r"^(?:[\u4e00-\u9fff]{2,4}?(?:省|自治区))?(?:[\u4e00-\u9fff]{2,4}?市)")
_NOISE = re.compile(r"^(?:第[一二三四五六七八九十\d]+部分|目录|\d+)")
KIND_EN = {"决算": "final", "预算": "budget"}


def _clean_department(name: str) -> str:
    name = _NOISE.sub("", name)
    return name.strip("：:，,。 ")


def _district(department: str) -> str | None:
    rest = department[1:] if department.startswith("原") else department
    rest = _CITY_PREFIX.sub("", rest) or rest
    m = _DISTRICT.match(rest) or _DISTRICT.search(rest)
    return m.group(1) if m else None


def _romanise(text: str) -> str:
    return "".join(lazy_pinyin(text, errors="ignore"))


def make_doc_id(district: str | None, department: str | None, year: int | None, kind: str | None) -> str:
    """Stable ASCII id: district pinyin, department initials, year, kind — e.g. `hanyang-dsjzx-2021-final`."""
    dist = _romanise(re.sub(r"(新区|自治县|区|县|旗)$", "", district or "")) or "unknown"
    dept = department or ""
    if district and district in dept:
        dept = dept[dept.index(district) + len(district):]
    dept = _CITY_PREFIX.sub("", dept.lstrip("原")) if dept else dept
    initials = "".join(lazy_pinyin(dept, style=Style.FIRST_LETTER, errors="ignore")) or "dept"
    return f"{dist}-{initials}-{year or 'unknown'}-{kind or 'unknown'}"


def identify(doc: Document, override: dict | None = None) -> DocumentMeta:
    """Fill doc.meta from the text; raise IngestError('not_a_disclosure') when nothing marks it as one."""
    head = compact("".join(line.text for line in doc.lines[:400]))[:_HEAD_CHARS]
    year = kind = department = None
    m = _YEAR_KIND.search(head)
    if m:
        year, kind = int(m.group(1)), KIND_EN[m.group(2)]
    else:
        k = _KIND_ONLY.search(compact(doc.text()))
        kind = KIND_EN[k.group(1)] if k else None
    ov = _OVERVIEW.search(head)
    if ov:
        department = _clean_department(ov.group(1))
    elif m:
        t = _TITLE_DEPT.search(head[max(0, m.start() - 40): m.end()])
        department = _clean_department(t.group(1)) if t else None
    if kind is None and not override:
        raise IngestError(
            "not_a_disclosure",
            f"{doc.source_file}: no 部门预算/部门决算 title found — this does not look like a department budget or final-account disclosure",
        )
    meta = DocumentMeta(
        district=_district(department) if department else None,
        department=department,
        fiscal_year=year,
        doc_kind=kind,
        unit="万元",
    )
    for key, value in (override or {}).items():
        if value not in (None, "") and hasattr(meta, key):
            setattr(meta, key, int(value) if key == "fiscal_year" else value)
    if not meta.doc_id:
        meta.doc_id = make_doc_id(meta.district, meta.department, meta.fiscal_year, meta.doc_kind)
    doc.meta = meta
    return meta
