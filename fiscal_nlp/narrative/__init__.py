"""Narrative stage: 情况说明, 绩效自评, 自评表 and 项目申报表 -> research tables.

Reads a `Document` (and the `line_items` frame of its tables, possibly empty) and writes the
contract's `variances`, `changes`, `projects`, `facts` and `reform_events` tables. What the
statements say is audited by the validate stage (`fiscal_nlp.validate`), from `extract_rows`.
One module per job:
  text.py          lines joined into one searchable string with line provenance
  grammar.py       typed spans (amount+unit, percent, comparator+base, direction, reason opening)
                   assembled into change and variance statements; words in narrative_grammar.yaml
  reasons.py       reason text after a statement, which statement it belongs to (reason_scope);
                   taxonomy classification with its evidence (YAML + jieba)
  codes.py         类/款/项 subject -> functional code from `line_items`
  variances.py     年初预算 vs 支出决算 statements (seed patterns, then the grammar)
  changes.py       year-over-year statements (seed patterns, then the grammar)
  forms.py         “项目名称” blocks and 自评表 execution rows
  declarations.py  部门项目申报表 (and their 当年预算变动 changes)
  projects.py      project money rows;   themes.py  project themes (CSV dictionary)
  facts.py         other scalar facts (declarative rules)
  reform.py        机构改革 events
"""
from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pyarrow as pa

from fiscal_nlp.ingest.document import Document
from fiscal_nlp.schema import conform

from .changes import extract_changes
from .codes import CodeResolver
from .declarations import declaration_changes, read_declarations
from .facts import extract_facts
from .forms import find_blocks
from .projects import extract_projects
from .reasons import Taxonomy, default_taxonomy
from .reform import extract_reform_events
from .text import join_lines
from .themes import ThemeDictionary, default_themes
from .variances import extract_variances

__all__ = ["extract_narrative", "narrative_records", "extract_rows", "public_records", "NARRATIVE_TABLES"]

NARRATIVE_TABLES = ("variances", "changes", "projects", "facts", "reform_events")


def extract_rows(doc: Document, line_items: pd.DataFrame | pa.Table | None = None, taxonomy: Taxonomy | None = None,
                 themes: ThemeDictionary | None = None) -> dict[str, list[dict]]:
    """The narrative rows before conforming (amounts as Decimals, `_`-prefixed internals kept), and
    under `_text` the joined text they were read from (the audit reads both)."""
    if isinstance(line_items, pd.DataFrame) and "doc_id" in line_items:
        own = line_items["doc_id"] == doc.doc_id
        if own.any() and not own.all():  # rows of several documents: keep this one's
            line_items = line_items[own]
    taxonomy = taxonomy or default_taxonomy()
    themes = themes or default_themes()
    jt = join_lines(doc)  # shared by every extractor, with its sentences and sections
    blocks = find_blocks(jt)  # the form blocks (申报表, 自评表), read once
    declarations = read_declarations(jt, blocks)
    year = doc.meta.fiscal_year if doc.meta.doc_kind == "final" else None  # a final compares with its own budget
    rows = {
        "variances": extract_variances(jt, CodeResolver(line_items), taxonomy, year),
        "changes": sorted(extract_changes(jt, taxonomy, year) + declaration_changes(jt, declarations, taxonomy),
                          key=lambda r: r["_span"][0]),
        "projects": extract_projects(jt, themes, declarations, is_budget=doc.meta.doc_kind == "budget", blocks=blocks),
        "facts": extract_facts(jt, blocks),
        "reform_events": extract_reform_events(jt, doc.meta.department),
    }
    rows["_text"] = jt
    return rows


def _public(row: dict, doc_id: str) -> dict:
    out = {"doc_id": doc_id}
    for key, value in row.items():
        if key.startswith("_"):
            continue
        out[key] = float(value) if isinstance(value, Decimal) else value
    return out


def extract_narrative(doc: Document, line_items: pd.DataFrame | None = None, *, taxonomy: Taxonomy | None = None,
                      themes: ThemeDictionary | None = None) -> dict[str, pd.DataFrame]:
    """Extract the narrative tables of one document, each conformed to the data contract.

    `line_items` (the contract's table rows for this document) may be empty: codes then stay
    null. Example: `extract_narrative(doc, pd.DataFrame())["variances"]`.
    """
    return {name: conform(name, rows) for name, rows in narrative_records(doc, line_items, taxonomy, themes).items()}


def narrative_records(doc: Document, line_items: pd.DataFrame | pa.Table | None = None, taxonomy: Taxonomy | None = None,
                      themes: ThemeDictionary | None = None) -> dict[str, list[dict]]:
    """The narrative tables as contract records (what `extract_narrative` conforms). `line_items`
    may be this document's Arrow table. The driver calls `extract_rows` and `public_records` itself,
    so the audit reads the same rows with their internals."""
    return public_records(doc, extract_rows(doc, line_items, taxonomy, themes))


def public_records(doc: Document, rows: dict) -> dict[str, list[dict]]:
    """`extract_rows` output -> the contract records (internals dropped, Decimals as floats)."""
    return {name: [_public(r, doc.doc_id) for r in rows[name]] for name in NARRATIVE_TABLES}
