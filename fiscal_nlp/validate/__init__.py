"""Validate stage: the audit -> `checks` rows. Every check of the toolkit is decided here.

Reads what the earlier stages produced for one document: its `line_items`, the narrative rows
(`fiscal_nlp.narrative.extract_rows`, internals kept), the tables stage's notes about its own
reading (`table_presence`, `table_parse`) and the `Document` itself (pages, lines). One module per
family of checks, every identity declared as data in `package_data/identities.yaml`:

  compare.py    how two amounts or a printed percentage are judged (exact cents; printed precision)
  declared.py   identities.yaml: row identities, hierarchy, two-sided totals, blocks, required
                totals, cross-table totals (fiscal-only ones kept to fiscal tables), narrative cells
  tables.py     the tables' arithmetic (row_sum, hierarchy_sum, column_total, cross_table_total,
                total_missing, parse_doubt for codes no national classification has)
  narrative.py  what the narrative says (stated_rate/share/change, narrative_vs_table, projects…)
  document.py   the document as a reader sees it (ocr_needed, table_presence, year_mismatch,
                stated_comparison)

Severity. `error` means the document itself is inconsistent: two printed figures that cannot both
be right. A gap ≤ 0.02 万元 is `rounding`. Anything that may be the reader's doing is a `warning`:
a failed identity resting on a row the tables stage doubted (its `table_parse` notes, a `verified`
flag that is false, a code no classification has) becomes `parse_doubt`, naming the identity.
"""
from __future__ import annotations

import pandas as pd
import pyarrow as pa

from ..schema import column_lists, conform
from ..tables.spec import load_specs
from .declared import load_declarations
from .document import document_findings
from .narrative import narrative_findings
from .tables import code_doubts, cross_table_findings, read_tables, table_findings

__all__ = ["audit", "audit_document", "audit_and_verify"]


def audit(doc, line_items: pd.DataFrame | pa.Table, narrative_rows: dict | None = None,
          table_checks: list[dict] | None = None) -> pd.DataFrame:
    """All `checks` rows for one document (its tables' arithmetic; the narrative too when given)."""
    return conform("checks", audit_document(doc, line_items, narrative_rows, table_checks))


def audit_and_verify(doc, line_items: pd.DataFrame | pa.Table | None, narrative_rows: dict | None = None,
                     table_checks: list[dict] | None = None) -> tuple[list[dict], list[bool]]:
    """(`audit_document`'s checks, `line_items.verified` for each row of `line_items`).

    A cell is verified when an identity it takes part in holds, to the cent or within rounding
    (a row's 合计 = Σ parts, 类 = Σ款, 合计 = Σ类, 本年合计 = Σ 一、二、…, the 基本支出 blocks): the
    document's own arithmetic vouches for that number. Cross-table totals are not counted.
    """
    findings: list[dict] = []
    checks = audit_document(doc, line_items, narrative_rows, table_checks, findings=findings)
    holding: dict[str, set] = {}
    for f in findings:
        if f.get("_cells") and (f["passed"] or f["severity"] == "rounding"):
            holding.setdefault(f["table_key"], set()).update(f["_cells"])
    return checks, verified_flags(line_items, holding)


def verified_flags(line_items: pd.DataFrame | pa.Table | None, holding: dict[str, set]) -> list[bool]:
    """Per line_items row: does (its line, its national column) belong to a holding identity of its table?"""
    cols = column_lists(line_items, ("table_key", "side", "column", "source_line"))
    if cols is None:
        return []
    specs = load_specs()[0]
    canonical: dict[tuple, str] = {}
    out = []
    for key, side, column, line in zip(*cols):
        cells = holding.get(key)
        if not cells or key not in specs:
            out.append(False)
            continue
        side = side if isinstance(side, str) else None
        if (key, column, side) not in canonical:
            canonical[key, column, side] = specs[key].canonical(column, side)
        out.append((int(line), canonical[key, column, side]) in cells)
    return out


def audit_document(doc, line_items: pd.DataFrame | pa.Table | None, narrative_rows: dict | None = None,
                   table_checks: list[dict] | None = None, *,
                   findings: list | None = None) -> list[dict]:
    """Every `checks` row of one document, as contract records.

    `narrative_rows`: `extract_rows` output (None: no narrative checks). `table_checks`: the rows
    the tables stage wrote about its reading (kept, severities normalised; their lines mark doubts).
    """
    doc_id = doc.doc_id if hasattr(doc, "doc_id") else str(doc)
    meta = getattr(doc, "meta", None)
    declared = load_declarations()
    tables = read_tables(line_items, getattr(meta, "doc_kind", None), declared)
    reader_notes = [_reader_note(r) for r in table_checks or ()]
    out: list[dict] = []
    for t in tables.values():
        out += table_findings(t)
    out += cross_table_findings(tables, declared)
    doubts = code_doubts(tables, declared)
    # a row the identities themselves doubt (its own row_sum could not be judged) is doubtful for the rest
    doubts += [f for f in out if f["check"] == "parse_doubt"]
    out = [f for f in out if f["check"] != "parse_doubt"]
    doubtful = _doubtful_lines(reader_notes, doubts, line_items)
    out = _demote_systematic(_demote_doubtful(out, doubtful)) + doubts
    if narrative_rows is not None:
        # a narrative figure compared with a doubted table row proves nothing about the document either
        narrative = [{**f, "_lines": frozenset([f["related_line"]])} if f["check"] == "narrative_vs_table"
                     and f.get("related_line") is not None else f for f in narrative_findings(narrative_rows, line_items)]
        out += _demote_doubtful(narrative, doubtful)
    if hasattr(doc, "lines"):
        out += document_findings(doc, tables, narrative_rows, reader_notes)
    if findings is not None:  # the findings with their internals (`_cells`), for `audit_and_verify`
        findings += out
    out = _with_pages(doc, reader_notes + out)
    return [{"doc_id": doc_id, **{k: v for k, v in r.items() if k not in ("_lines", "_cells", "doc_id")}} for r in out]


def _with_pages(doc, findings: list[dict]) -> list[dict]:
    """For a PDF, the detail of a failed check also names the page of each line it cites."""
    page_of = {line.number: line.page for line in getattr(doc, "lines", ()) if line.page is not None}
    if not page_of:
        return findings
    out = []
    for f in findings:
        pages = [f"line {n} p{page_of[n]}" for n in (f.get("source_line"), f.get("related_line"))
                 if n is not None and n in page_of]
        if pages and not f["passed"]:
            f = {**f, "detail": f"{f['detail']} [{'; '.join(pages)}]"}
        out.append(f)
    return out


def _reader_note(row: dict) -> dict:
    """A tables-stage row: the reader's doubts are never more than a warning."""
    row = dict(row)
    if row.get("severity") == "error":
        row["severity"] = "warning"
    return row


def _doubtful_lines(reader_notes, doubts, line_items) -> set[int]:
    lines = {int(r["source_line"]) for r in reader_notes
             if r.get("check") == "table_parse" and not r.get("passed") and r.get("source_line") is not None}
    for d in doubts:
        lines |= d["_lines"]
    return lines


def _demote_doubtful(findings: list[dict], doubtful: set[int]) -> list[dict]:
    """A failed identity that rests on a doubted row: `parse_doubt` (warning), the identity named."""
    out = []
    for f in findings:
        if not f["passed"] and f["severity"] == "error" and f.get("_lines", frozenset()) & doubtful:
            rows = sorted(f["_lines"] & doubtful)
            f = {**f, "check": "parse_doubt", "severity": "warning",
                 "detail": f"{f['check']} not judged: line(s) {', '.join(map(str, rows))} may be misread — {f['detail']}"}
        out.append(f)
    return out


SYSTEMATIC_MIN = 3  # failures of one identity family in one table before they are read as a reading fault


def _demote_systematic(findings: list[dict]) -> list[dict]:
    """A table that fails the same family of identity on most of its rows was misread (columns
    shifted, split 类|款|项 codes taken for amounts), not printed wrong row after row: those
    failures become `parse_doubt` warnings. Isolated failures stay errors."""
    judged: dict[tuple, int] = {}
    failed: dict[tuple, int] = {}
    for f in findings:
        key = (f["check"], f.get("table_key"))
        judged[key] = judged.get(key, 0) + 1
        if not f["passed"] and f["severity"] == "error":
            failed[key] = failed.get(key, 0) + 1
    systematic = {k for k, n in failed.items() if n >= SYSTEMATIC_MIN and 2 * n > judged[k]}
    out = []
    for f in findings:
        key = (f["check"], f.get("table_key"))
        if key in systematic and not f["passed"] and f["severity"] == "error":
            f = {**f, "check": "parse_doubt", "severity": "warning",
                 "detail": f"{f['check']} not judged: {failed[key]} of {judged[key]} such checks of this table fail, "
                           f"so its columns are more likely misread than misprinted — {f['detail']}"}
        out.append(f)
    return out
