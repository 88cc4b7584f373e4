"""Shared helpers: loading (by partition), document lookup, citations (file:line) and audit flags."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

KIND_LABELS = {"budget": "部门预算 budget", "final": "部门决算 final account"}
# A central unit (a ministry's university …) belongs to no local place: its disclosures are grouped here.
CENTRAL_PLACE = "中央单位 (central units)"
UNKNOWN_PLACE, UNKNOWN_DEPARTMENT, UNKNOWN_YEAR = "未识别地区 (place not identified)", "未识别部门 (department not identified)", "未识别年度 (year not identified)"


def load(processed_dir, years=None, names=None) -> dict:
    """The contract tables in `processed_dir` as {name: DataFrame}.

    `years` reads only those `fiscal_year=` partitions (a cross-district report over one year of a large
    corpus reads that year's fragments, not the corpus). A folder that does not exist or holds no
    extraction raises FileNotFoundError naming the folder: an empty report from a wrong path is worse
    than an error.
    """
    from ..schema import TABLES, arrow_schema, to_pandas
    from ..store import partitioning, table_path

    path = Path(processed_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"processed_dir {str(path)!r} (resolved: {path.resolve()}) is not a folder: "
                                "pass the folder `fiscal-nlp extract RAW -o OUT` wrote (OUT)")
    if not table_path(path, "documents").exists():
        raise FileNotFoundError(f"processed_dir {str(path)!r} (resolved: {path.resolve()}) holds no extracted "
                                "tables (documents.parquet is missing): run `fiscal-nlp extract RAW -o "
                                f"{path}` first, or pass the folder it wrote")
    if not years:
        from ..store import read_tables

        return read_tables(path, names)
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    out = {}
    wanted = [int(y) for y in years]
    for name in names or TABLES:
        schema = arrow_schema(name)
        tpath = table_path(path, name)
        if not tpath.exists():
            out[name] = to_pandas(schema.empty_table())
            continue
        part = partitioning(name)
        dset = ds.dataset(tpath, format="parquet", partitioning=part)
        tbl = dset.to_table(filter=ds.field("fiscal_year").isin(wanted)) if part is not None else dset.to_table()
        if tbl.num_rows:
            key = "source_file" if name == "errors" else "doc_id"
            tbl = tbl.take(pc.sort_indices(tbl, sort_keys=[(key, "ascending")])).select(schema.names).cast(schema)
        else:
            tbl = schema.empty_table()
        out[name] = to_pandas(tbl)
    return out


def place_of(doc) -> str:
    """The place a disclosure belongs to: district (county), else city, else province; 中央单位 for a
    central unit; a placeholder when identification found none (such a document still gets its
    reports, under that name)."""
    for col in ("district", "county", "city", "province"):
        v = doc.get(col) if hasattr(doc, "get") else getattr(doc, col, None)
        if v is not None and not (isinstance(v, float) and pd.isna(v)) and str(v).strip():
            return str(v)
    level = doc.get("level") if hasattr(doc, "get") else getattr(doc, "level", None)
    return CENTRAL_PLACE if level == "central" else UNKNOWN_PLACE


def department_key(doc) -> str:
    """The department without the place it is printed with, so one department's disclosures group across
    years however the title spells it: 武汉市汉阳区大数据中心 (2021) and 汉阳区大数据中心 (2024) are both
    大数据中心 of 汉阳区; 原青山区大数据中心 (“the former …”, after a reform) too."""
    get = doc.get if hasattr(doc, "get") else lambda k, d=None: getattr(doc, k, d)
    name = get("department")
    if not isinstance(name, str) or not name.strip():
        return UNKNOWN_DEPARTMENT
    name = name.strip().removeprefix("原")
    for col in ("district", "county", "city", "province"):
        place = get(col)
        if isinstance(place, str) and place:
            at = name.find(place)
            if 0 <= at <= 6:  # the place printed before the department (after a city or province name)
                name = name[at + len(place):]
                break
    return name.strip() or UNKNOWN_DEPARTMENT


def documents_of(tables, district: str | None = None, year: int | None = None, doc_kind: str | None = None,
                 department: str | None = None) -> pd.DataFrame:
    docs = tables["documents"]
    mask = pd.Series(True, index=docs.index)
    if district is not None:
        mask &= docs["district"] == district
    if year is not None:
        mask &= docs["fiscal_year"] == int(year)
    if doc_kind is not None:
        mask &= docs["doc_kind"] == doc_kind
    if department:
        mask &= docs["department"] == department
    return docs[mask.fillna(False).astype(bool)].sort_values(["fiscal_year", "doc_kind", "doc_id"]).reset_index(drop=True)


def find_doc_id(tables, district: str, year: int, doc_kind: str | None = None, department: str | None = None) -> str | None:
    """doc_id of the document for (district, year[, kind][, department]); None when there is none."""
    docs = documents_of(tables, district, year, doc_kind, department)
    return None if docs.empty else str(docs.iloc[0]["doc_id"])


def document(tables, doc_id: str):
    """The `documents` row of `doc_id` (a Series), or None."""
    docs = tables["documents"]
    hit = docs[docs["doc_id"] == doc_id]
    return None if hit.empty else hit.iloc[0]


def describe(doc) -> str:
    """“汉阳区 · 武汉市汉阳区大数据中心 · 2021 · 部门决算 final account” for a documents row."""
    year = doc.get("fiscal_year")
    dept = doc.get("department")
    return " · ".join([place_of(doc), str(dept) if isinstance(dept, str) and dept else UNKNOWN_DEPARTMENT,
                       str(int(year)) if year is not None and not pd.isna(year) else UNKNOWN_YEAR,
                       KIND_LABELS.get(doc.get("doc_kind"), str(doc.get("doc_kind")))])


def year_label(doc) -> str:
    """The document's fiscal year as printed in a caption, or the placeholder when identification found none."""
    y = doc.get("fiscal_year") if hasattr(doc, "get") else getattr(doc, "fiscal_year", None)
    return UNKNOWN_YEAR if y is None or pd.isna(y) else str(int(y))


def source_file(tables, doc_id: str) -> str:
    docs = tables["documents"]
    hit = docs.loc[docs["doc_id"] == doc_id, "source_file"]
    return str(hit.iloc[0]) if len(hit) else doc_id


def source_page_name(doc_id: str) -> str:
    """File name of the rendered source view of `doc_id` (`sources/<name>`; safe whatever the id holds)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", str(doc_id)).lstrip(".")
    if safe != str(doc_id) or not safe:
        import hashlib

        safe = f"{safe[:60]}-{hashlib.sha256(str(doc_id).encode()).hexdigest()[:8]}"
    return safe + ".html"


def cite(tables, doc_id: str, line) -> str | None:
    """`file:line` for a row of `doc_id` (None when the line is unknown)."""
    if line is None or pd.isna(line):
        return None
    return f"{source_file(tables, doc_id)}:{int(line)}"


def with_citation(tables, df: pd.DataFrame, line_col: str = "source_line", out: str = "citation") -> pd.DataFrame:
    """`df` plus `citation` (`file:line`) and `audit` (the failed checks, other than rounding gaps, that point
    at that line: a figure the audit found inconsistent is never shown without its flag)."""
    df = df.copy()
    if not len(df):
        df[out] = pd.Series(dtype=object)
        if out == "citation":
            df["audit"] = pd.Series(dtype=object)
        return df
    files = tables["documents"].set_index("doc_id")["source_file"]
    fname = df["doc_id"].map(files).fillna(df["doc_id"]).astype(str)
    line = pd.to_numeric(df[line_col], errors="coerce")
    df[out] = (fname + ":" + line.astype("Int64").astype(str)).where(line.notna(), None)
    page = pdf_pages(tables, df["doc_id"], line)
    if page.notna().any():  # PDFs: the page the line is on, as a reader of the PDF looks for it
        df[out] = [c if p is None or pd.isna(p) or c is None else f"{c} (p. {int(p)})" for c, p in zip(df[out], page)]
    if out == "citation":
        flags = audit_flags(tables, df["doc_id"], line)
        if "audit" in df:  # keep what the caller already flagged (e.g. `audited_projects`)
            flags = pd.Series([("; ".join(x for x in (a, b) if isinstance(x, str) and x) or None)
                               for a, b in zip(df["audit"], flags)], index=df.index, dtype=object)
        df["audit"] = flags
    return df


def pdf_pages(tables, doc_ids: pd.Series, lines: pd.Series) -> pd.Series:
    """The PDF page of each (doc_id, line): the page of the nearest line at or before it that any contract
    table records a page for (lines of a PDF's text stream run in page order). Null for text documents."""
    ids = set(doc_ids)
    docs = tables["documents"]
    pdf_ids = set(docs.loc[docs["doc_id"].isin(ids) & (docs["format"] == "pdf"), "doc_id"])
    empty = pd.Series([None] * len(doc_ids), index=doc_ids.index, dtype=object)
    if not pdf_ids:
        return empty
    known = pd.concat([t.loc[t["doc_id"].isin(pdf_ids) & t["page"].notna(), ["doc_id", "source_line", "page"]]
                       for t in (tables[n] for n in ("line_items", "facts", "variances", "projects", "changes",
                                                     "reform_events") if n in tables) if "page" in t])
    if known.empty:
        return empty
    known = known.astype({"source_line": "int64", "page": "int64"}).drop_duplicates(["doc_id", "source_line"])
    known = known.sort_values("source_line")
    want = pd.DataFrame({"doc_id": doc_ids.astype(str).to_numpy(),
                         "source_line": pd.to_numeric(lines, errors="coerce").fillna(-1).astype("int64").to_numpy(),
                         "_i": range(len(doc_ids))}).sort_values("source_line")
    got = pd.merge_asof(want, known, on="source_line", by="doc_id", direction="backward").sort_values("_i")
    return pd.Series(got["page"].to_numpy(dtype=object), index=doc_ids.index, dtype=object)


def audit_flags(tables, doc_ids: pd.Series, lines: pd.Series) -> pd.Series:
    """For each (doc_id, line): the failed `error`/`warning` checks whose row or related row is that line,
    as “check: detail” joined by “; ” (None when the audit found nothing there)."""
    c = tables["checks"]
    c = c[~c["passed"].fillna(False).astype(bool) & c["severity"].isin(["error", "warning"])
          & (c["check"] != "unparsed_statement")]
    if c.empty or not len(doc_ids):
        return pd.Series([None] * len(doc_ids), index=doc_ids.index, dtype=object)
    text = c["check"] + ": " + c["detail"].astype(str)
    at = pd.concat([pd.DataFrame({"doc_id": c["doc_id"], "line": c[col], "flag": text})
                    for col in ("source_line", "related_line")]).dropna(subset=["line"])
    at["line"] = at["line"].astype("int64")
    joined = at.drop_duplicates().groupby(["doc_id", "line"])["flag"].agg("; ".join)
    key = pd.MultiIndex.from_arrays([doc_ids.astype(str), pd.to_numeric(lines, errors="coerce").fillna(-1).astype("int64")])
    vals = joined.reindex(key).tolist()
    return pd.Series([v if isinstance(v, str) else None for v in vals], index=doc_ids.index, dtype=object)


def restrict(tables, doc_ids) -> dict:
    """`tables` with only the rows of `doc_ids` (e.g. one department's disclosures)."""
    ids = set(doc_ids)
    return {name: (df[df["doc_id"].isin(ids)] if "doc_id" in df else df) for name, df in tables.items()}


def rows(tables, doc_id: str, table_key: str) -> pd.DataFrame:
    li = tables["line_items"]
    return li[(li["doc_id"] == doc_id) & (li["table_key"] == table_key)]
