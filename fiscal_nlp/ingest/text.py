"""Text reader: bytes -> normalised lines, with encoding detection (UTF-8 with/without BOM, GBK/GB18030, UTF-16, Big5)."""
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
    utf16 = _utf16(data)
    if utf16 is not None:
        return utf16
    sample = data[:65536]
    n_control = len(sample) - len(sample.translate(None, _CONTROL))
    if b"\x00" in sample or n_control > len(sample) * 0.01:
        raise IngestError("binary", f"{name}: the file is binary data, not text (is it a PDF, Word or Excel file with the wrong extension?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    else:  # GB18030 decodes almost any byte pairs: Big5 too, as mojibake
        return _big5_instead(data, text) or text
    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise IngestError("encoding", f"{name}: cannot determine the text encoding (not UTF-8 or GBK/GB18030)")
    return str(best)


def _utf16(data: bytes) -> str | None:
    """UTF-16 text (Windows' "Unicode" export): with a byte-order mark, or without one when the NUL
    bytes (the high half of line breaks, digits, tabs) fall on one side of the byte pairs. None when
    it is not UTF-16."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    elif len(data) >= 4 and len(data) % 2 == 0:
        sample = data[:4096]
        odd, even = sample[1::2].count(0), sample[0::2].count(0)
        if max(odd, even) < 16 or min(odd, even) * 8 > max(odd, even):  # (一 is 00 4E: some NULs fall on the other side)
            return None
        encoding = "utf-16-le" if odd > even else "utf-16-be"
    else:
        return None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    controls = sum(1 for c in text[:32768] if ord(c) < 32 and c not in "\t\r\n\f")
    return text if controls <= len(text[:32768]) * 0.01 else None


# Characters every disclosure prints many times, simplified (GB) and traditional (Big5) alike.
_COMMON = frozenset("的年元一支出收入合计预預算决決")


def _big5_instead(data: bytes, gb_text: str) -> str | None:
    """The Big5 reading when it is the one that makes sense: it decodes, and the characters every
    disclosure prints occur far more often in it than in the GB18030 reading."""
    try:
        big5 = data.decode("big5")
    except UnicodeDecodeError:
        return None
    gb_hits = sum(c in _COMMON for c in gb_text[:20000])
    big5_hits = sum(c in _COMMON for c in big5[:20000])
    return big5 if big5_hits >= 20 and big5_hits > 3 * gb_hits else None


def split_lines(text: str, page: int | None = None, start: int = 1) -> list[Line]:
    """Normalise and split into Line objects numbered from `start` (CRLF/CR/LF all accepted)."""
    texts = normalise_text(text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    return list(map(_make_line, zip(texts, count(start), repeat(page), repeat(None))))


_make_line = partial(tuple.__new__, Line)  # Line._make without its per-call Python frame


def read_text(data: bytes, name: str) -> Document:
    text = decode_text(data, name)
    return Document(source_file=name, sha256=hashlib.sha256(data).hexdigest(), lines=split_lines(text), format="text")
