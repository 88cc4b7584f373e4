"""Shared helpers: document lookup and citations (file:line) for every quoted figure."""
from __future__ import annotations

import pandas as pd


def documents_of(tables, district: str | None = None, year: int | None = None, doc_kind: str | None = None) -> pd.DataFrame:
    docs = tables["documents"]
    mask = pd.Series(True, index=docs.index)
    if district is not None:
        mask &= docs["district"] == district
    if year is not None:
        mask &= docs["fiscal_year"] == int(year)
    if doc_kind is not None:
        mask &= docs["doc_kind"] == doc_kind
    return docs[mask.astype(bool)].sort_values(["fiscal_year", "doc_kind", "doc_id"]).reset_index(drop=True)


def find_doc_id(tables, district: str, year: int, doc_kind: str | None = None) -> str | None:
    """doc_id of the document for (district, year[, kind]); None when there is none."""
    docs = documents_of(tables, district, year, doc_kind)
    return None if docs.empty else str(docs.iloc[0]["doc_id"])


def source_file(tables, doc_id: str) -> str:
    docs = tables["documents"]
    hit = docs.loc[docs["doc_id"] == doc_id, "source_file"]
    return str(hit.iloc[0]) if len(hit) else doc_id


def cite(tables, doc_id: str, line) -> str | None:
    """`file:line` for a row of `doc_id` (None when the line is unknown)."""
    if line is None or pd.isna(line):
        return None
    return f"{source_file(tables, doc_id)}:{int(line)}"


def with_citation(tables, df: pd.DataFrame, line_col: str = "source_line", out: str = "citation") -> pd.DataFrame:
    df = df.copy()
    df[out] = [cite(tables, d, ln) for d, ln in zip(df["doc_id"], df[line_col])] if len(df) else pd.Series(dtype=object)
    return df


def rows(tables, doc_id: str, table_key: str) -> pd.DataFrame:
    li = tables["line_items"]
    return li[(li["doc_id"] == doc_id) & (li["table_key"] == table_key)]
