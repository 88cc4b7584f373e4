"""HTML reader: a disclosure published as a web page -> `Document` (lxml).

Only the disclosure's body is read. Site chrome goes first: elements that are never text
(script, style, nav, header, footer, aside, forms…), elements the page does not show
(``hidden``, ``style="display:none"``), elements whose class/id/role names them
chrome (breadcrumbs, share buttons, related links…: `package_data/html_page.yaml`) and
link lists (blocks whose text is mostly links). Of what remains, the smallest container
named as the article (``<article>``, ``<main>``, ``class="TRS_Editor"``…) that holds most of
the text is the body; without one, or when a table of amounts stands outside it, the whole
(de-chromed) page is.

The body is written in the layout of the text exports: one line per paragraph (block
element, ``<br>``), one TAB-joined line per table row with colspan/rowspan laid out on the
grid. Every line keeps the element path it came from (``/html/body/div[2]/table/tr[5]``).

Images in the body are listed in `Document.images` (nothing is read from them: a table
published as a picture needs OCR). A page with no disclosure text — an index page, an empty
shell, a page that only links to attachments — raises ``html_no_disclosure``; a page whose
body is only images raises ``html_no_text`` (like a scanned PDF).
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from importlib import resources

import yaml

from .document import Document
from .errors import IngestError
from .lines import LineWriter, cell_text, lay_out_grid
from .text import decode_text

_BLOCK = frozenset("""address article blockquote body center dd details dialog div dl dt fieldset figcaption figure
h1 h2 h3 h4 h5 h6 hr li main ol p pre section summary table tbody thead tfoot tr ul caption""".split())
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w-]+)""", re.IGNORECASE)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_WS = re.compile(r"[ \t\r\n\f]+")
_ATTACHMENT = re.compile(r"\.(pdf|xlsx?|docx?|zip|rar|wps|et)(?:$|[?#])", re.IGNORECASE)
_AMOUNTS = re.compile(r"\d\.\d{2}(?!\d)")
MIN_BODY_CHARS = 40  # less text than this (links excluded) is no disclosure


@lru_cache(maxsize=1)
def page_rules() -> dict:
    """The chrome and content vocabularies (package_data/html_page.yaml), compiled."""
    raw = yaml.safe_load(resources.files("fiscal_nlp.package_data").joinpath("html_page.yaml").read_text("utf-8"))
    words = lambda key: re.compile(r"(?:^|[\s_-])(?:" + "|".join(map(re.escape, raw[key])) + r")(?:$|[\s_\d-])",  # noqa: E731
                                   re.IGNORECASE)
    return {"drop_tags": frozenset(raw["drop_tags"]), "chrome_tags": frozenset(raw["chrome_tags"]),
            "chrome": words("chrome_words"),
            "content": words("content_words"), "lines": [re.compile(p) for p in raw["chrome_lines"]]}


def decode_html(data: bytes, name: str) -> str:
    """The page as text: a BOM or <meta charset> decides, else UTF-8 / GB18030 / detection."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    m = _META_CHARSET.search(data[:4096])
    if m:
        encoding = m.group(1).decode("ascii", "ignore").lower()
        encoding = "gb18030" if encoding in ("gb2312", "gbk", "gb_2312-80", "x-gbk") else encoding
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(data, name)


_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def _hidden(el) -> bool:
    """Not shown on the page: the `hidden` attribute or an inline display:none / visibility:hidden."""
    return el.get("hidden") is not None or el.get("aria-hidden") == "true" \
        or bool(_HIDDEN_STYLE.search(el.get("style") or ""))


def _names(el) -> str:
    return " ".join(filter(None, (el.get("class"), el.get("id"), el.get("role"))))


def _text_len(el) -> int:
    """Characters of text under `el`, whitespace excluded."""
    text = "".join(el.itertext())
    return len(text) - sum(map(text.count, " \t\r\n\f\u3000\xa0"))


def _link_text_len(el) -> int:
    return sum(_text_len(a) for a in el.iter("a") if not (a.get("href") or "").startswith("#"))


def remove_chrome(body) -> None:
    """Drop chrome elements and link lists from `body` in place (see the module docstring)."""
    rules = page_rules()
    total = max(_text_len(body), 1)
    for el in list(body.iter()):
        if not isinstance(el.tag, str):  # comments, processing instructions
            if el.getparent() is not None:
                el.drop_tree()
            continue
        if el.tag in rules["drop_tags"] or _hidden(el):
            el.drop_tree()
        elif el.tag == "input":  # a ticked box in a 自评表 (项目类别 ☑ 部门预算项目) is text; other controls are not
            if (el.get("type") or "").lower() in ("checkbox", "radio"):
                el.tail = ("☑" if el.get("checked") is not None else "☐") + (el.tail or "")
            el.drop_tree()
    for el in list(body.iter()):
        if el is body or not isinstance(el.tag, str) or el.getparent() is None:
            continue
        names = _names(el)
        chrome = el.tag in rules["chrome_tags"] or (
            names and rules["chrome"].search(names) and not rules["content"].search(names))
        if chrome and _text_len(el) < 0.5 * total:
            el.drop_tree()
    for el in list(body.iter("ul", "ol", "div", "p", "table", "dl", "td", "span")):
        if el.getparent() is None or el is body:
            continue
        links = [a for a in el.iter("a") if not (a.get("href") or "").startswith("#")]
        if len(links) < 2:
            continue
        text = _text_len(el)
        if text and _link_text_len(el) >= 0.7 * text and text < 0.5 * total:
            el.drop_tree()


def main_content(body):
    """The smallest container named as the article that holds at least half of the page's text."""
    rules = page_rules()
    total = _text_len(body)
    best, best_len = body, total
    for el in body.iter():
        if el is body or not isinstance(el.tag, str):
            continue
        named = el.tag in ("article", "main") or (el.get("role") or "").lower() == "main" \
            or rules["content"].search(_names(el) or "\0")
        if named and 0.5 * total <= (length := _text_len(el)) <= best_len:
            best, best_len = el, length
    # a table of amounts outside it (the tables in a sibling block): read the whole page instead
    if best is not body and any(_AMOUNTS.search("".join(t.itertext())) for t in body.iter("table")
                                if best not in t.iterancestors() and not _is_layout(t)):
        return body
    return best


class _Walker:
    """Writes a body's paragraphs and tables as lines, in document order."""

    def __init__(self, tree, out: LineWriter, images: list[str]):
        self.tree, self.out, self.images = tree, out, images
        self.buffer: list[str] = []
        self.where = None

    def add(self, text: str) -> None:
        self.buffer.append(_WS.sub(" ", text))  # source line breaks are white space in HTML

    def flush(self) -> None:
        text = "".join(self.buffer).strip()
        self.buffer = []
        if text:
            path = self.tree.getpath(self.where) if self.where is not None else None
            for line in text.split("\n"):
                self.out.text(line.strip(), path)

    def walk(self, el) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "table" and not _is_layout(el):
            self.flush()
            self.table(el)
        elif tag == "br":
            self.buffer.append("\n")
        elif tag == "img":
            self.flush()
            src = el.get("src") or ""
            alt = (el.get("alt") or el.get("title") or "").strip()
            self.images.append(f"line {len(self.out.lines) + 1}: <img> {alt or src.rsplit('/', 1)[-1] or '(no source)'}"
                               f" ({self.tree.getpath(el)})")
        elif tag == "pre":
            self.flush()
            self.where = el
            for line in "".join(el.itertext()).splitlines():
                self.out.text(line.rstrip(), self.tree.getpath(el))
        else:
            block = tag in _BLOCK
            if block:
                self.flush()
                self.where = el
            if el.text:
                self.add(el.text)
            for child in el:
                self.walk(child)
                if child.tail:
                    if child.tag in _BLOCK:
                        self.where = el
                    self.add(child.tail)
            if block:
                self.flush()

    def table(self, table) -> None:
        rows, paths = [], []
        for tr in table.iter("tr"):
            if _owner_table(tr) is not table:
                continue  # a row of a table nested in a cell: part of that cell's text
            cells = []
            for td in tr:
                if not isinstance(td.tag, str) or td.tag not in ("td", "th"):
                    continue
                cells.append((cell_text(_cell_lines(td)), _span(td.get("colspan")), _span(td.get("rowspan"))))
                for img in td.iter("img"):
                    self.images.append(f"line {len(self.out.lines) + 1}: <img> in a table cell ({self.tree.getpath(img)})")
            rows.append(cells)
            paths.append(self.tree.getpath(tr))
        caption = table.find("caption")
        if caption is not None and "".join(caption.itertext()).strip():
            self.out.text(cell_text("".join(caption.itertext())), self.tree.getpath(caption))
        for cells, path in zip(lay_out_grid(rows), paths):
            self.out.row(cells, path)


def _is_layout(table) -> bool:
    """A table used to lay out the page (a cell holds another table): its cells are read as blocks."""
    return any(_owner_table(inner) is table for inner in table.iter("table") if inner is not table)


def _owner_table(tr):
    el = tr.getparent()
    while el is not None and el.tag != "table":
        el = el.getparent()
    return el


def _cell_lines(td) -> str:
    """A cell's text; <br> and block children are line breaks (which `cell_text` removes)."""
    parts: list[str] = []

    def visit(el) -> None:
        if el is not td and isinstance(el.tag, str) and (el.tag == "br" or el.tag in _BLOCK):
            parts.append("\n")
        if el.text:
            parts.append(_WS.sub(" ", el.text))
        for child in el:
            visit(child)
            if child.tail:
                parts.append(_WS.sub(" ", child.tail))

    visit(td)
    return "".join(parts)


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(str(value).strip()), 1000))
    except (TypeError, ValueError):
        return 1


def read_html(data: bytes, name: str) -> Document:
    import lxml.etree
    import lxml.html

    text = _XML_DECL.sub("", decode_html(data, name), count=1)
    if not text.strip():
        raise IngestError("empty", f"{name}: the file is empty")
    try:
        root = lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise IngestError("html_no_disclosure", f"{name}: the page cannot be parsed as HTML ({exc})") from exc
    body = root.find("body")
    body = root if body is None else body
    attachments = [a.get("href") for a in body.iter("a") if _ATTACHMENT.search(a.get("href") or "")]
    remove_chrome(body)
    main = main_content(body)
    tree = root.getroottree()
    out, images = LineWriter(), []
    _Walker(tree, out, images).walk(main)
    rules = page_rules()
    lines = [ln for ln in out.lines if not any(p.search("".join(ln.text.split())) for p in rules["lines"])]
    lines = [ln._replace(number=i) for i, ln in enumerate(lines, 1)]
    chars = sum(len("".join(ln.text.split())) for ln in lines)
    has_table = any("\t" in ln.text for ln in lines)
    if chars < MIN_BODY_CHARS and not has_table:
        if images:
            raise IngestError("html_no_text", f"{name}: the page shows its content as {len(images)} image(s) and has "
                                              f"no text to read; OCR is needed ({images[0]})")
        found = f"; it links to {len(attachments)} attachment(s), e.g. {attachments[0]} — extract those" if attachments else ""
        raise IngestError("html_no_disclosure", f"{name}: the page holds no disclosure text or table "
                                                f"({chars} characters outside navigation and links){found}")
    return Document(source_file=name, sha256=hashlib.sha256(data).hexdigest(), lines=lines, format="html",
                    images=images)
