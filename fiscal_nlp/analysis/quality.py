"""Data quality: every failed audit check with both numbers and citations."""
from __future__ import annotations

import pandas as pd

from ._common import cite, documents_of, pdf_pages

SEVERITY_ORDER = {"error": 0, "warning": 1, "rounding": 2, "info": 3}


def failed_checks(tables, doc_ids: list[str], include_rounding: bool = True) -> pd.DataFrame:
    """Failed checks of `doc_ids`: check, severity, expected, found, gap, detail, citation, related_citation."""
    c = tables["checks"]
    c = c[c["doc_id"].isin(doc_ids) & ~c["passed"].fillna(False).astype(bool)].copy()
    if not include_rounding:
        c = c[c["severity"] != "rounding"]
    c["gap"] = (c["found"].astype("float64") - c["expected"].astype("float64")).round(2)
    c["citation"] = [cite(tables, d, ln) for d, ln in zip(c["doc_id"], c["source_line"])]
    c["related_citation"] = [cite(tables, d, ln) for d, ln in zip(c["doc_id"], c["related_line"])]
    for col, line in (("citation", "source_line"), ("related_citation", "related_line")):
        page = pdf_pages(tables, c["doc_id"], c[line])  # PDFs: the page a reader looks for
        c[col] = [x if p is None or pd.isna(p) or x is None else f"{x} (p. {int(p)})" for x, p in zip(c[col], page)]
    c["_o"] = c["severity"].map(SEVERITY_ORDER).fillna(9)
    cols = ["doc_id", "check", "severity", "table_key", "expected", "found", "gap", "detail", "citation",
            "related_citation"]
    return c.sort_values(["_o", "doc_id", "source_line", "check"])[cols].reset_index(drop=True)


def quality_docs(tables, district: str, year: int) -> list[str]:
    return list(documents_of(tables, district, year)["doc_id"])


def severity_counts(failed: pd.DataFrame) -> dict[str, int]:
    return {s: int((failed["severity"] == s).sum()) for s in SEVERITY_ORDER}
