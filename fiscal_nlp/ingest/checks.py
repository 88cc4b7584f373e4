"""`checks` rows about what a reader could not read (pictures, formulas never calculated).

The readers note these on the `Document` (`images`, `formulas_without_value`); the driver adds
`reader_checks(doc, table_checks)` to the document's checks. PDF pages without text have their
own `ocr_needed` warning (pipeline / audit).
"""
from __future__ import annotations


def reader_checks(doc, table_checks: list[dict] = ()) -> list[dict]:
    """An `ocr_needed` row for pictures in an HTML or Word body (a `warning` when a standard table is
    missing or empty — it may be one of them — else `info`), and a `formula_without_value` warning."""
    return _image_checks(doc, table_checks) + _formula_checks(doc)


def _shown(items: list[str]) -> str:
    return "; ".join(items[:5]) + (f"; … ({len(items)} in all)" if len(items) > 5 else "")


def _image_checks(doc, table_checks) -> list[dict]:
    images = getattr(doc, "images", None)
    if not images:
        return []
    missing = sorted({c["table_key"] for c in table_checks if c.get("check") == "table_presence"
                      and not c.get("passed") and c.get("table_key")})
    detail = (f"{doc.source_file}: {len(images)} image(s) in the body are not read ({_shown(images)})"
              + (f"; tables {', '.join(missing)} are missing or empty: if they are among the pictures, OCR is needed"
                 if missing else ""))
    return [{"doc_id": doc.meta.doc_id, "check": "ocr_needed", "passed": False,
             "severity": "warning" if missing else "info", "detail": detail}]


def _formula_checks(doc) -> list[dict]:
    cells = getattr(doc, "formulas_without_value", None)
    if not cells:
        return []
    return [{"doc_id": doc.meta.doc_id, "check": "formula_without_value", "passed": False, "severity": "warning",
             "detail": f"{doc.source_file}: {len(cells)} formula cell(s) hold no computed value ({_shown(cells)}); the "
                       f"file was never recalculated, so these amounts are missing — open and save it in Excel or LibreOffice"}]
