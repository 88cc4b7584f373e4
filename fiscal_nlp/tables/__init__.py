"""Tables stage: the nine standard public tables -> `line_items` rows (one per non-blank numeric cell).

Public surface: `extract_line_items(doc) -> (line_items DataFrame, checks rows)`, and
`line_item_records(doc)`, the same rows before conforming (the driver converts them to Arrow).
Tables are recognised by title (package_data/tables.yaml), never by number or position.
"""
from __future__ import annotations

import pandas as pd

from ..ingest.document import Document
from ..schema import conform
from .locate import find_regions
from .parse import ParsedTable, code_level, parse_region

__all__ = ["extract_line_items", "line_item_records", "parse_tables", "code_level"]


def parse_tables(doc: Document) -> tuple[list[ParsedTable], dict]:
    regions, listed = find_regions(doc)
    tables, unit = [], None
    for r in regions:
        tables.append(parse_region(r, default_unit=unit))
        unit = tables[-1].unit or unit
    return tables, listed


def extract_line_items(doc: Document) -> tuple[pd.DataFrame, list[dict]]:
    """line_items for one document, plus `checks` rows about the tables' presence and parsing."""
    rows, checks = line_item_records(doc)
    return conform("line_items", rows), checks


def line_item_records(doc: Document) -> tuple[list[dict], list[dict]]:
    """`extract_line_items` as contract records, before conforming."""
    tables, listed = parse_tables(doc)
    rows, checks = [], []
    seen = set()
    for t in tables:
        if t.key in seen and not t.cells:
            continue
        seen.add(t.key)
        for c in t.cells:
            rows.append({
                "doc_id": doc.doc_id, "table_key": t.key, "side": c.side, "code": c.code, "item": c.item,
                "level": c.level, "column": c.column, "amount": float(c.amount), "unit_printed": t.unit or "万元",
                "source_line": c.line.number, "page": c.line.page,
            })
        if t.status != "data":
            what = "present but empty (the document says it has no data)" if t.status == "empty" else "present but no numeric rows were read"
            checks.append(_check(doc, "table_presence", t.status == "empty", None if t.status == "empty" else "warning",
                                 f"{t.key} (line {t.title_line.number}): {what}", t.key, t.title_line.number))
        for severity, line, message in t.notes:
            checks.append(_check(doc, "table_parse", severity == "info", None if severity == "info" else severity,
                                 message, t.key, line.number))
    for key, line in listed.items():
        if key not in seen:
            checks.append(_check(doc, "table_presence", False, "warning",
                                 f"{key}: listed by title (line {line.number}) but the table is not in the text", key, line.number))
    return rows, checks


def _check(doc, check, passed, severity, detail, table_key=None, line=None) -> dict:
    return {"doc_id": doc.doc_id, "check": check, "passed": passed, "severity": severity,
            "expected": None, "found": None, "detail": detail, "table_key": table_key, "source_line": line}
