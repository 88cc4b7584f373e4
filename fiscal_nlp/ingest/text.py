"""Text reader: bytes -> normalised lines, with encoding detection (UTF-8 with/without BOM, GBK/GB18030)."""
from __future__ import annotations

import hashlib
from functools import partial
from itertools import count, repeat

from charset_normalizer import from_bytes

from .document import Document, Line, normalise_text
from .errors import IngestError

# Control characters other than tab/CR/LF/FF: a text file has (almost) none.
_CONTROL = bytes(sorted(set(range(0, 9)) | {11} | set(range(14, 32))))


def decode_text(data: bytes, name: str) -> str:
    """Decode disclosure text. Tries UTF-8, then GB18030 (a superset of GBK/GB2312), then detection.

    Raises IngestError("empty" | "encoding" | "binary") with a message naming the file.
    """
    if not data.strip():
        raise IngestError("empty", f"{name}: the file is empty (0 bytes of text)")
    sample = data[:65536]
    n_control = len(sample) - len(sample.translate(None, _CONTROL))
    if b"\x00" in sample or n_control > len(sample) * 0.01:
        raise IngestError("binary", f"{name}: the file is binary data, not text (is it a PDF, Word or Excel file with the wrong extension?)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise IngestError("encoding", f"{name}: cannot determine the text encoding (not UTF-8 or GBK/GB18030)")
    return str(best)


def split_lines(text: str, page: int | None = None, start: int = 1) -> list[Line]:
    """Normalise and split into Line objects numbered from `start` (CRLF/CR/LF all accepted)."""
    texts = normalise_text(text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    return list(map(_make_line, zip(texts, count(start), repeat(page), repeat(None))))


_make_line = partial(tuple.__new__, Line)  # Line._make without its per-call Python frame


def read_text(data: bytes, name: str) -> Document:
    text = decode_text(data, name)
    return Document(source_file=name, sha256=hashlib.sha256(data).hexdigest(), lines=split_lines(text), format="text")
