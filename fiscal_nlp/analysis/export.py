"""Analysis-ready tables for economists: `fiscal-nlp export PROCESSED -o OUT --format csv|stata|parquet`.

Each contract table is written as one file with, next to every code column, its label from the labels
table (`key` → `key_label`: 政府采购支出总额; `theme`, `check`, `reason_category` (';'-joined ids → labels),
`doc_kind`, `severity`, `table_key`, `source_kind`); `projects.prior_budgets` (a year → amount map) is
flattened into one column per year (`prior_budget_2022` …); every row carries its document's place,
department, year and kind, and `audit`: the failed checks (error/warning) at its line. `codebook.csv` lists every column with its label and unit, `labels` the codes.
Stata files (version 118, Unicode) carry the variable labels.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..labels import label_map, labels_table

FORMATS = {"csv": ".csv", "stata": ".dta", "parquet": ".parquet"}
CODE_LABELS = {"key": "fact", "theme": "theme", "check": "check", "reason_category": "reason_category",
               "doc_kind": "doc_kind", "severity": "severity", "table_key": "table_key", "source_kind": "source_kind"}
DOC_COLUMNS = ("district", "department", "fiscal_year", "doc_kind")


def _labelled(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col, kind in CODE_LABELS.items():
        if col in out:
            labels = label_map(kind)
            lab = [("；".join(labels.get(c, c) for c in v.split(";") if c) if isinstance(v, str) else None)
                   for v in out[col]]
            out.insert(out.columns.get_loc(col) + 1, f"{col}_label", pd.Series(lab, index=out.index, dtype=object))
    return out


def flatten_prior_budgets(projects: pd.DataFrame) -> pd.DataFrame:
    """`prior_budgets` ({year: 万元}) as columns `prior_budget_<year>` (blank where a project has none)."""
    if "prior_budgets" not in projects:
        return projects
    maps = [dict(v) if isinstance(v, (dict, list)) and len(v) else {} for v in projects["prior_budgets"]]
    years = sorted({int(y) for m in maps for y in m})
    out = projects.drop(columns=["prior_budgets"])
    for y in years:
        out[f"prior_budget_{y}"] = pd.array([m.get(y, m.get(str(y))) for m in maps], dtype="Float64")
    return out


def analysis_tables(tables: dict) -> dict[str, pd.DataFrame]:
    """The contract tables, labelled, flattened and with their documents' identification columns."""
    docs = tables["documents"]
    ident = docs[["doc_id", *[c for c in DOC_COLUMNS if c in docs]]]
    out = {"documents": _labelled(docs)}
    for name, df in tables.items():
        if name == "documents":
            continue
        if name == "projects":
            df = flatten_prior_budgets(df)
        if "doc_id" in df and "source_line" in df and name != "checks":
            from ._common import audit_flags

            df = df.assign(audit=audit_flags(tables, df["doc_id"], df["source_line"]).to_numpy())
        if "doc_id" in df:
            df = df.merge(ident, on="doc_id", how="left")
        out[name] = _labelled(df)
    out["labels"] = labels_table()
    return out


def codebook(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    from ..schema import TABLES

    heads_zh, heads_en = label_map("column"), label_map("column", "en")
    units = {(t, c.name): c.unit for t, cols in TABLES.items() for c in cols}
    recs = []
    for name, df in tables.items():
        for col in df.columns:
            base = col[:-6] if col.endswith("_label") else col
            recs.append({"table": name, "column": col, "label_zh": heads_zh.get(base, "") + ("（标签）" if base != col else ""),
                         "label_en": heads_en.get(base, "") + (" (label)" if base != col else ""),
                         "unit": units.get((name, col)) or ("万元" if col.startswith("prior_budget_") else None)})
    return pd.DataFrame(recs)


def _for_stata(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Stata wants ≤32-character ASCII names, no nullable extension types, no all-None object columns."""
    from pandas.io.stata import StataParser

    reserved = StataParser().RESERVED_WORDS
    out = pd.DataFrame(index=df.index)
    labels = {}
    heads = label_map("column", "en")
    for col in df.columns:
        name = re.sub(r"[^A-Za-z0-9_]", "_", col)[:32]
        name = name + "_" if name in reserved else name  # `function` is a Stata word
        s = df[col]
        if pd.api.types.is_bool_dtype(s):
            s = s.astype("Float64").astype("float64")
        elif pd.api.types.is_integer_dtype(s) or pd.api.types.is_float_dtype(s):
            s = s.astype("Float64").astype("float64")
        else:
            s = pd.Series(["" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v) for v in s],
                          index=df.index, dtype=object)
        out[name] = s
        base = col[:-6] if col.endswith("_label") else col
        if heads.get(base):
            labels[name] = (heads[base] + (" (label)" if base != col else ""))[:80]
    return out, labels


def export(processed_dir, out_dir, fmt: str = "csv", names=None) -> list[Path]:
    """Write the analysis tables of `processed_dir` into `out_dir` in `fmt`; returns the files written."""
    from ._common import load

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: expected one of {sorted(FORMATS)}")
    names = list(dict.fromkeys(["documents", *names])) if names else None
    tables = analysis_tables(load(processed_dir, names=names))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in {**tables, "codebook": codebook(tables)}.items():
        path = out / f"{name}{FORMATS[fmt]}"
        if fmt == "csv":
            df.to_csv(path, index=False, encoding="utf-8-sig")  # the BOM lets spreadsheet programs read UTF-8
        elif fmt == "parquet":
            df.to_parquet(path, index=False)
        else:
            data, labels = _for_stata(df)
            data.to_stata(path, write_index=False, version=118, variable_labels=labels,
                          data_label=f"fiscal_nlp {name}"[:80])
        path.chmod(0o644)
        written.append(path)
    return written
