"""Checks of the document as a reader sees it: pages that need OCR, tables listed but absent.

ocr_needed      PDF pages without a text layer that hold an image (a blank page is no scan)
"""
from __future__ import annotations

from .compare import finding


def ocr_findings(doc) -> list[dict]:
    """A warning when some PDF pages had no text layer: whatever they hold is missing from the output."""
    pages = getattr(doc, "pages_without_text", None)
    if not pages:
        return []
    from ..ingest.pdf import page_list

    return [finding("ocr_needed", False, "warning", None, None,
                    f"{doc.source_file}: page(s) {page_list(pages)} have no text layer (scanned images); "
                    f"OCR is needed, and anything printed only there is missing from the output")]


def document_findings(doc, tables, narrative_rows, reader_notes) -> list[dict]:
    return ocr_findings(doc)
