"""The extraction driver: one pure function per document, mapped over a folder.

`extract_document(path, override)` reads, identifies and parses one file and returns its
contract tables (or an `errors` row); `extract(raw_dir)` maps it over a folder, drops exact
duplicates, and concatenates. Nothing here writes files: see `fiscal_nlp.store`.
"""
from __future__ import annotations

import csv
import hashlib
import sys
import traceback
from pathlib import Path

import pandas as pd

from .ingest import SUPPORTED_SUFFIXES, IngestError, identify, read_document
from .schema import TABLES, conform

FACT_TABLES = ("line_items", "variances", "projects", "changes", "reform_events", "facts", "checks")
_IGNORED = {"README.md", "catalog.csv", ".gitkeep"}


def load_catalog(path: str | Path | None) -> dict[str, dict]:
    """`catalog.csv` (source_file + any of doc_id, district, department, fiscal_year, doc_kind): researcher overrides."""
    if not path or not Path(path).exists():
        return {}
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {row["source_file"]: row for row in csv.DictReader(fh) if row.get("source_file")}


def list_documents(raw_dir: str | Path) -> list[Path]:
    """Every file in `raw_dir` the toolkit should look at (sorted; README/catalog excluded)."""
    root = Path(raw_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{raw_dir}: not a directory")
    return sorted(p for p in root.iterdir() if p.is_file() and p.name not in _IGNORED and not p.name.startswith("."))


def error_row(source_file: str, kind: str, message: str) -> dict:
    return {"source_file": source_file, "kind": kind, "message": message}


def extract_document(path: str | Path, override: dict | None = None) -> dict[str, pd.DataFrame]:
    """All contract tables for one document. Never raises for bad input: returns an `errors` row instead."""
    path = Path(path)
    try:
        doc = read_document(path)
        identify(doc, {k: v for k, v in (override or {}).items() if k != "source_file"})
        return parse_document(doc)
    except IngestError as exc:
        return {"errors": pd.DataFrame([error_row(path.name, exc.kind, exc.message)])}
    except Exception as exc:  # a parser bug must not cost the rest of the batch
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return {"errors": pd.DataFrame([error_row(path.name, "internal_error", f"{path.name}: extraction failed ({detail}); please report it")])}


def parse_document(doc) -> dict[str, pd.DataFrame]:
    """Tables, narrative and audit for an identified `Document`."""
    from .narrative import extract_narrative
    from .tables import extract_line_items
    from .validate import audit

    line_items, table_checks = extract_line_items(doc)
    narrative = extract_narrative(doc, line_items)
    checks = pd.concat([conform("checks", table_checks), audit(doc, line_items), narrative.pop("checks", None),
                        conform("checks", ocr_checks(doc))], ignore_index=True)
    meta = doc.meta
    documents = pd.DataFrame([{
        "doc_id": meta.doc_id, "source_file": doc.source_file, "sha256": doc.sha256, "district": meta.district,
        "department": meta.department, "fiscal_year": meta.fiscal_year, "doc_kind": meta.doc_kind, "unit": meta.unit,
        "format": doc.format, "n_lines": len(doc.lines), "n_pages": doc.n_pages,
    }])
    return {"documents": documents, "line_items": line_items, "checks": checks, **narrative}


def ocr_checks(doc) -> list[dict]:
    """A warning when some PDF pages had no text layer: whatever they hold is missing from the output."""
    if not doc.pages_without_text:
        return []
    from .ingest.pdf import page_list

    pages = page_list(doc.pages_without_text)
    return [{"doc_id": doc.meta.doc_id, "check": "ocr_needed", "passed": False, "severity": "warning",
             "detail": f"{doc.source_file}: page(s) {pages} have no text layer (scanned images); "
                       f"OCR is needed, and anything printed only there is missing from the output"}]


def merge(results: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Concatenate per-document results into contract tables, dropping exact duplicate documents."""
    seen: dict[str, str] = {}
    ids: set[str] = set()
    kept, errors = [], []
    for res in results:
        errors.append(res.get("errors"))
        docs = res.get("documents")
        if docs is None or docs.empty:
            continue
        row = docs.iloc[0]
        if row["sha256"] in seen:
            errors.append(pd.DataFrame([error_row(row["source_file"], "duplicate",
                          f"{row['source_file']}: same content as {seen[row['sha256']]} (sha256 {row['sha256'][:12]}…); extracted once")]))
            continue
        seen[row["sha256"]] = row["source_file"]
        if row["doc_id"] in ids:  # two documents that identify alike: keep both, distinguishable
            new_id = f"{row['doc_id']}-{row['sha256'][:6]}"
            res = {name: df.assign(doc_id=new_id) if df is not None and "doc_id" in df else df for name, df in res.items()}
        ids.add(res["documents"].iloc[0]["doc_id"])
        kept.append(res)
    out = {}
    for name in TABLES:
        frames = [r.get(name) for r in kept] if name != "errors" else errors
        frames = [f for f in frames if f is not None and len(f)]
        out[name] = conform(name, pd.concat(frames, ignore_index=True) if frames else None)
    return out


def extract(raw_dir: str | Path, catalog: str | Path | None = None, progress: bool | None = None) -> dict[str, pd.DataFrame]:
    """Extract every document in `raw_dir` -> {table name: DataFrame} (the data contract).

    `catalog` defaults to `<raw_dir>/catalog.csv`. A progress bar shows on a terminal.
    """
    paths = list_documents(raw_dir)
    overrides = load_catalog(catalog or Path(raw_dir) / "catalog.csv")
    show = sys.stderr.isatty() if progress is None else progress
    results = []
    if show and len(paths) > 1:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("extracting", total=len(paths))
            for p in paths:
                results.append(extract_document(p, overrides.get(p.name)))
                bar.advance(task)
    else:
        results = [extract_document(p, overrides.get(p.name)) for p in paths]
    return merge(results)


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


__all__ = ["extract", "extract_document", "parse_document", "merge", "list_documents", "SUPPORTED_SUFFIXES"]
