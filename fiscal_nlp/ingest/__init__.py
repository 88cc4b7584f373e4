"""Ingest stage: raw bytes -> `Document` (normalised lines with provenance) + identification.

One reader per format behind one registry (`READERS`), as camelot swaps its parsers; every
reader produces the same `Document` lines (tables as TAB-joined rows), so the table
recogniser, the narrative and the audit read every format alike:

| format | suffixes | library | provenance (`Line`) |
|---|---|---|---|
| text | .txt .md .text .markdown | charset-normalizer (UTF-8/GBK/GB18030) | number |
| pdf | .pdf | pdfplumber + camelot | number, page |
| html | .html .htm .shtml .xhtml | lxml | number, location (element path) |
| xlsx | .xlsx .xlsm | openpyxl | number, location (sheet, row, columns) |
| xls | .xls | xlrd | number, location (sheet, row, columns) |
| docx | .docx | python-docx | number, location (paragraph / table, row) |

`read_bytes` picks the reader from the content first (PDF header, ZIP package parts, OLE2
streams, an HTML document), then from the name, so an .xls that is really an HTML page
or a .xlsx that is really an .xls is still read. Failures raise `IngestError` with a stable
kind (`xlsx_corrupt`, `xlsx_encrypted`, `docx_corrupt`, `html_no_disclosure`, …); the driver
turns them into `errors` rows.
"""
from __future__ import annotations

import re
from pathlib import Path

from .document import Document, DocumentMeta, Line, compact, normalise
from .errors import IngestError
from .identify import identify, make_doc_id
from .text import read_text


class Reader:
    """One input format: its name (the `documents.format` value), file suffixes and reading function.

    `read(data, name)` returns a `Document` or raises `IngestError`; the heavy library is
    imported on first use only (a text corpus never loads lxml, openpyxl or camelot).
    """

    format: str = ""
    suffixes: frozenset[str] = frozenset()

    def read(self, data: bytes, name: str) -> Document:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.format} {sorted(self.suffixes)}>"


class TextReader(Reader):
    format, suffixes = "text", frozenset({".txt", ".md", ".text", ".markdown"})

    def read(self, data: bytes, name: str) -> Document:
        return read_text(data, name)


class PdfReader(Reader):
    format, suffixes = "pdf", frozenset({".pdf"})

    def read(self, data: bytes, name: str) -> Document:
        if data[:5] == b"%PDF-" or data[:1024].lstrip().startswith(b"%PDF"):
            from .pdf import read_pdf

            return read_pdf(data, name)
        if not data.strip():
            raise IngestError("empty", f"{name}: the file is empty (0 bytes)")
        raise IngestError("pdf_corrupt", f"{name}: named .pdf but is not a PDF (no %PDF- header)")


class HtmlReader(Reader):
    format, suffixes = "html", frozenset({".html", ".htm", ".shtml", ".xhtml"})

    def read(self, data: bytes, name: str) -> Document:
        from .html import read_html

        return read_html(data, name)


class XlsxReader(Reader):
    format, suffixes = "xlsx", frozenset({".xlsx", ".xlsm"})

    def read(self, data: bytes, name: str) -> Document:
        from .spreadsheet import read_xlsx

        return read_xlsx(data, name)


class XlsReader(Reader):
    format, suffixes = "xls", frozenset({".xls"})

    def read(self, data: bytes, name: str) -> Document:
        from .spreadsheet import read_xls

        return read_xls(data, name)


class DocxReader(Reader):
    format, suffixes = "docx", frozenset({".docx"})

    def read(self, data: bytes, name: str) -> Document:
        from .word import read_docx

        return read_docx(data, name)


READERS: dict[str, Reader] = {r.format: r for r in (TextReader(), PdfReader(), HtmlReader(), XlsxReader(),
                                                     XlsReader(), DocxReader())}
_BY_SUFFIX = {suffix: reader for reader in READERS.values() for suffix in reader.suffixes}

TEXT_SUFFIXES = set(READERS["text"].suffixes)
PDF_SUFFIXES = set(READERS["pdf"].suffixes)
SUPPORTED_SUFFIXES = set(_BY_SUFFIX)

__all__ = [
    "Document", "DocumentMeta", "Line", "IngestError", "read_document", "read_bytes", "reader_for",
    "identify", "make_doc_id", "normalise", "compact", "SUPPORTED_SUFFIXES", "READERS", "Reader",
]

# An HTML document announces itself in its first bytes (after a BOM, blanks and comments).
_HTML_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*(?:<\?xml[^>]*>\s*)?<(?:!doctype\s+html|html[\s>])",
                         re.IGNORECASE | re.DOTALL)


def reader_for(data: bytes, name: str) -> Reader:
    """The reader for these bytes: the content decides first (see the module docstring), then the suffix."""
    from .office import container, encrypted_error, ole_kind, ole_streams, package_kind

    suffix = Path(name).suffix.lower()
    named = _BY_SUFFIX.get(suffix)
    if data[:5] == b"%PDF-":
        return READERS["pdf"]
    box = container(data)
    if box == "zip":
        kind = package_kind(data)
        if kind in ("xlsx", "docx"):
            return READERS[kind]
        if kind == "xlsb":
            raise IngestError("unsupported_format", f"{name}: a binary .xlsb workbook; save it as .xlsx")
        if named is not None and named.format in ("xlsx", "docx"):
            return named  # a damaged package: its reader names the damage
        raise IngestError("unsupported_format", f"{name}: a ZIP archive, not a document; unpack it and extract its files")
    if box == "ole":
        office_kind = "docx" if suffix in (".docx", ".doc") else ("xls" if suffix == ".xls" else "xlsx")
        what = ole_kind(ole_streams(data, name, office_kind))
        if what == "encrypted":
            raise encrypted_error(name, office_kind)
        if what == "xls":
            return READERS["xls"]
        if what == "doc":
            raise IngestError("unsupported_format", f"{name}: a legacy Word 97-2003 (.doc) document; "
                                                    f"save it as .docx or PDF")
        raise IngestError(f"{office_kind}_corrupt", f"{name}: an Office compound file, but neither an Excel "
                                                    f"workbook nor a Word document")
    if _HTML_START.match(data[:4096]):
        return READERS["html"]
    if named is None:
        raise IngestError(
            "unsupported_format",
            f"{name}: unsupported file type {suffix or '(no extension)'!r}; expected one of {sorted(SUPPORTED_SUFFIXES)}",
        )
    if named.format in ("xlsx", "xls", "docx"):
        if not data.strip():
            raise IngestError("empty", f"{name}: the file is empty (0 bytes)")
        if named.format == "xls" and data.lstrip()[:1] == b"<":
            return READERS["html"]  # "xls" exports that are HTML tables
        what = "a Word document" if named.format == "docx" else "an Excel workbook"
        raise IngestError(f"{named.format}_corrupt", f"{name}: named {suffix} but is not {what} "
                                                     f"(no ZIP or OLE2 header); download it again")
    return named


def read_bytes(data: bytes, name: str) -> Document:
    """Read one document from its bytes; the format comes from the content first, then the name."""
    return reader_for(data, name).read(data, name)


def read_document(path: str | Path) -> Document:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError("unreadable", f"{path.name}: cannot read the file ({exc.strerror or exc})") from exc
    return read_bytes(data, path.name)
