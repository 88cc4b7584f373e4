"""Ingest stage: raw bytes -> `Document` (normalised lines with provenance) + identification.

One reader per format behind one function, `read_document(path)`:
text (.txt/.md/.text: UTF-8 with or without BOM, GBK/GB18030) and PDF (.pdf, via pdfplumber + camelot).
Failures raise `IngestError` with a stable kind; the driver turns them into `errors` rows.
"""
from __future__ import annotations

from pathlib import Path

from .document import Document, DocumentMeta, Line, compact, normalise
from .errors import IngestError
from .identify import identify, make_doc_id
from .text import read_text

TEXT_SUFFIXES = {".txt", ".md", ".text", ".markdown"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | PDF_SUFFIXES

__all__ = [
    "Document", "DocumentMeta", "Line", "IngestError", "read_document", "read_bytes",
    "identify", "make_doc_id", "normalise", "compact", "SUPPORTED_SUFFIXES",
]


def read_bytes(data: bytes, name: str) -> Document:
    """Read one document from its bytes; the format comes from the content first, then the name."""
    suffix = Path(name).suffix.lower()
    if data[:5] == b"%PDF-" or (suffix in PDF_SUFFIXES and data[:1024].lstrip().startswith(b"%PDF")):
        from .pdf import read_pdf  # heavy imports only when a PDF is seen

        return read_pdf(data, name)
    if suffix in PDF_SUFFIXES:
        if not data.strip():
            raise IngestError("empty", f"{name}: the file is empty (0 bytes)")
        raise IngestError("pdf_corrupt", f"{name}: named .pdf but is not a PDF (no %PDF- header)")
    if suffix in TEXT_SUFFIXES:
        return read_text(data, name)
    raise IngestError(
        "unsupported_format",
        f"{name}: unsupported file type {suffix or '(no extension)'!r}; expected one of {sorted(SUPPORTED_SUFFIXES)}",
    )


def read_document(path: str | Path) -> Document:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError("unreadable", f"{path.name}: cannot read the file ({exc.strerror or exc})") from exc
    return read_bytes(data, path.name)
