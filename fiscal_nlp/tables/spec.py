"""Table declarations: `package_data/tables.yaml` (titles, column vocabularies) and the row identities
of `package_data/identities.yaml`, which the parser uses to place a row's numbers in its columns."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from importlib import resources

import yaml

from ..ingest.document import compact, normalise


@dataclass(frozen=True)
class Identity:
    """A printed identity between columns, by national column name: "小计 = 基本支出 + 项目支出"."""

    total: str
    terms: tuple[tuple[int, str], ...]  # (sign, column)
    text: str

    def gap(self, values: dict[str, Decimal]) -> Decimal:
        """sum(terms) - total, blank or absent columns counting as 0."""
        found = sum((sign * values.get(col, Decimal(0)) for sign, col in self.terms), Decimal(0))
        return found - values.get(self.total, Decimal(0))

    def columns(self) -> set[str]:
        return {self.total, *(c for _, c in self.terms)}


def parse_identity(text: str) -> Identity:
    left, right = normalise(text).split("=")
    terms = tuple((-1 if sign == "-" else 1, name.strip()) for sign, name in re.findall(r"([+-]?)\s*([^+\-]+)", right))
    return Identity(left.strip(), terms, text)


@dataclass(frozen=True)
class TableSpec:
    key: str
    name: str
    titles: tuple[re.Pattern, ...]
    layout: str
    columns: tuple[tuple[str, ...], ...] = ()
    groups: tuple[str, ...] = ()
    identities: tuple[Identity, ...] = ()
    income_columns: tuple[tuple[str, ...], ...] = ()
    expenditure_columns: tuple[tuple[str, ...], ...] = ()
    expenditure_groups: tuple[str, ...] = ()
    expenditure_identities: tuple[Identity, ...] = ()
    column_groups: tuple[str, ...] = ()
    column_aliases: dict = field(default_factory=dict)
    personnel_codes: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    coded_columns: tuple[tuple[str, ...], ...] = ()
    coded_identities: tuple[Identity, ...] = ()

    def canonical(self, printed: str, side: str | None = None) -> str:
        """National name (first spelling) of a printed column header; unknown headers map to themselves."""
        if self.layout == "values_only":
            group, _, leaf = printed.partition("/")
            leaf = self.column_aliases.get(leaf, leaf)
            for alts in self.columns:
                if leaf in alts:
                    return f"{group}/{alts[0]}"
            return printed
        entries = self.expenditure_columns if side == "expenditure" else self.income_columns if side == "income" else self.columns
        for alts in entries:
            if printed in alts:
                return alts[0]
        return printed

    def row_identities(self, side: str | None = None) -> tuple[Identity, ...]:
        if self.layout == "two_sided":
            return self.expenditure_identities if side == "expenditure" else ()
        return self.identities


def _alts(entries) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(normalise(a) for a in ([e] if isinstance(e, str) else e)) for e in entries or ())


@lru_cache(maxsize=1)
def load_specs() -> tuple[dict[str, TableSpec], tuple[re.Pattern, ...]]:
    raw = package_yaml("tables.yaml")
    rules = package_yaml("identities.yaml")["tables"]
    specs = {}
    for t in raw["tables"]:
        declared = rules.get(t["key"]) or {}
        budget = (declared.get("families") or {}).get("budget") or {}
        specs[t["key"]] = TableSpec(
            key=t["key"],
            name=t.get("name", t["key"]),
            titles=tuple(re.compile(normalise(p)) for p in t["titles"]),
            layout=t["layout"],
            columns=_alts(t.get("columns")),
            groups=tuple(normalise(g) for g in t.get("groups", ())),
            identities=tuple(parse_identity(i) for i in declared.get("row", ())),
            income_columns=_alts(t.get("income_columns")),
            expenditure_columns=_alts(t.get("expenditure_columns")),
            expenditure_groups=tuple(normalise(g) for g in t.get("expenditure_groups", ())),
            expenditure_identities=tuple(parse_identity(i) for i in declared.get("row_expenditure", ())),
            column_groups=tuple(t.get("column_groups", ())),
            column_aliases={normalise(k): normalise(v) for k, v in (t.get("column_aliases") or {}).items()},
            personnel_codes=tuple(str(c) for c in t.get("personnel_codes", ())),
            extra_columns=tuple(normalise(c) for c in t.get("extra_columns", ())),
            coded_columns=_alts(t.get("coded_columns")),
            coded_identities=tuple(parse_identity(i) for i in budget.get("row", ())) if t.get("coded_columns") else (),
        )
    empty = tuple(re.compile(p) for p in raw.get("empty_markers", ()))
    return specs, empty


@lru_cache(maxsize=None)
def package_yaml(name: str) -> dict:
    """A YAML file of package_data, parsed once per process (callers read it, never change it)."""
    return yaml.safe_load(resources.files("fiscal_nlp.package_data").joinpath(name).read_text("utf-8"))


@lru_cache(maxsize=1)
def format_vocabulary() -> tuple[tuple[str, ...], dict[str, Decimal]]:
    """(titles of tables that are not read but end a region, {unit printed: factor to 万元})."""
    raw = package_yaml("tables.yaml")
    units = {normalise(k): Decimal(str(v)) for k, v in raw.get("units", {"万元": 1}).items()}
    return tuple(normalise(t) for t in raw.get("boundary_titles", ())), units


def match_title(line_text: str) -> tuple[str, str] | None:
    """(table_key, matched title) for a title line, the longest matching title winning; else None.

    A title line is short and is not a narrative heading (…情况说明).
    """
    text = compact(line_text)
    if not text or len(text) > 80 or "说明" in text or "情况" in text:
        return None
    best = None
    for spec in load_specs()[0].values():
        for pattern in spec.titles:
            m = pattern.search(text)
            if m and (best is None or len(m.group(0)) > len(best[1])) and _title_context(text[: m.start()], text[m.end():]):
                best = (spec.key, m.group(0))
    return best


_SENTENCE = re.compile(r"[，。；,;“”\"]")


def _title_context(before: str, after: str) -> bool:
    """A title line holds the title with a number, year or department around it ("2024年部门…表",
    "…表(功能科目)", "…表（表 6）"), not a sentence that names a table ("按“…预算表”中实际发生…填写")."""
    return not _SENTENCE.search(before) and len(after) <= 12 and not _SENTENCE.search(after)
