"""Safe path components from untrusted names (district / department names come from document text)."""
from __future__ import annotations

import hashlib
import re
import unicodedata


def slug(name) -> str:
    """ASCII slug: Chinese romanised with pypinyin, everything else reduced to [a-z0-9-].

    The result never contains a path separator, `..`, or a leading dot, and is never empty.
    """
    text = unicodedata.normalize("NFKC", str(name if name is not None else ""))
    try:
        from pypinyin import lazy_pinyin

        parts = lazy_pinyin(text)
    except ImportError:  # pragma: no cover - pypinyin is a declared dependency
        parts = [text]
    s = re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")
    s = re.sub(r"-{2,}", "-", s)[:80].strip("-")
    if not s:
        s = "x-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return s
