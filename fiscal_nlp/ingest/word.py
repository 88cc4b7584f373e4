"""Word reader: a .docx disclosure -> `Document` (python-docx), paragraphs and tables in document order.

- each body paragraph is a line (a manual line break ``<w:br/>`` starts a new one); headers and
  footers (running heads, page numbers) live in other parts and are not read;
- each table row is one TAB-joined line on the table's grid: a cell spanning columns
  (``gridSpan``) gives its text to its first column and leaves the others blank, a cell
  continuing a vertical merge (``vMerge``) is blank, as in the text exports;
- every line keeps where it came from: ``paragraph 12`` or ``table 3, row 5``;
- pictures in the body are listed in `Document.images` (a table pasted as a picture needs OCR).
"""
from __future__ import annotations

import hashlib
import io

from .document import Document
from .errors import IngestError
from .lines import LineWriter, cell_text
from .office import open_zip

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_PICTURES = (f"{_W}drawing", f"{_W}pict", "{urn:schemas-microsoft-com:vml}imagedata")


def read_docx(data: bytes, name: str) -> Document:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    open_zip(data, name, "docx")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # PackageNotFoundError, KeyError, XML errors from a broken package
        raise IngestError("docx_corrupt", f"{name}: the Word document is damaged and cannot be opened "
                                          f"({type(exc).__name__}: {exc})") from exc
    out, images = LineWriter(), []
    n_paragraph = n_table = 0
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            n_paragraph += 1
            where = f"paragraph {n_paragraph}"
            if any(el.tag in _PICTURES for el in block._p.iter()):
                images.append(f"line {len(out.lines) + 1}: a picture in {where}")
            out.text(block.text, where)
        elif isinstance(block, Table):
            n_table += 1
            for n_row, cells in enumerate(table_grid(block), 1):
                out.row(cells, f"table {n_table}, row {n_row}")
            for el in block._tbl.iter():
                if el.tag in _PICTURES:
                    images.append(f"line {len(out.lines)}: a picture in table {n_table}")
                    break
    if not out.has_content():
        if images:
            raise IngestError("docx_no_text", f"{name}: the document holds only {len(images)} picture(s) and "
                                              f"no text; OCR is needed")
        raise IngestError("empty", f"{name}: the Word document has no text")
    return Document(source_file=name, sha256=hashlib.sha256(data).hexdigest(), lines=out.lines, format="docx",
                    images=images)


def table_grid(table) -> list[list[str]]:
    """The table's rows on its column grid (see the module docstring); trailing blank columns dropped."""
    from docx.table import _Cell

    rows = []
    for tr in table._tbl.tr_lst:
        row = [""] * _grid_before(tr)
        for tc in tr.tc_lst:
            span = max(1, tc.grid_span)
            text = "" if tc.vMerge == "continue" else cell_text(_Cell(tc, table).text)
            row += [text] + [""] * (span - 1)
        rows.append(row)
    width = max((len(r) for r in rows), default=0)
    rows = [r + [""] * (width - len(r)) for r in rows]
    while width and all(not r[width - 1] for r in rows):
        width -= 1
        rows = [r[:width] for r in rows]
    return rows


def _grid_before(tr) -> int:
    """Grid columns skipped before the row's first cell (``w:gridBefore``)."""
    try:
        return int(tr.grid_before)
    except (AttributeError, TypeError, ValueError):
        return 0
