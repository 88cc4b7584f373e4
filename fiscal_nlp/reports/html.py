"""The reports site's HTML: the index (grouped by place → department → year → kind, with a client-side
search), the page chrome every report carries, and the source views citations link to.

Jinja2 templates in `templates/` with autoescape on: document text (names, departments, errors) is untrusted.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATUS_LABELS = {"ok": "built", "cached": "built (cached)", "failed": "failed", "no_data": "no data for this selection"}


@lru_cache(maxsize=1)
def _env():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True,
                       default_for_string=True, enabled_extensions=("html", "j2")), keep_trailing_newline=True)


def site_css() -> str:
    return (TEMPLATES / "site.css").read_text(encoding="utf-8")


def render(template: str, **context) -> str:
    return _env().get_template(template).render(**context)


def page_chrome(page: dict, commit: str | None = None) -> tuple[str, str]:
    """(header, footer) HTML for a report page from the build's `page` description."""
    header = render("page_chrome.html.j2", **page)
    footer = render("page_footer.html.j2", index_href=page["index_href"], sources=page.get("source_files", []),
                    commit=commit)
    return header, footer


def render_index(runs: list[dict], documents: list[dict] | None = None, title: str = "fiscal_nlp reports",
                 audit: dict | None = None, source_pages: dict | None = None, errors: list[dict] | None = None) -> str:
    """The index: every document under its place and department, its reports and audit summary; the
    cross-place reports at the end; a search box (inline script, no network)."""
    audit, source_pages = audit or {}, source_pages or {}
    by_doc: dict[str, list[dict]] = {}
    by_dept: dict[tuple[str, str], list[dict]] = {}
    overall = []

    def entry(r):
        return {"html": r["html"], "label": r.get("label") or r["notebook"], "status": r["status"],
                "status_label": STATUS_LABELS.get(r["status"], r["status"]),
                "error": r.get("error") if r["status"] in ("failed", "no_data") else None}

    for r in runs:
        if r.get("doc_id"):
            by_doc.setdefault(r["doc_id"], []).append(entry(r))
        elif r.get("place") is not None:
            by_dept.setdefault((r["place"], r.get("department_group") or ""), []).append(entry(r))
        else:
            overall.append(entry(r))
    places: dict[str, dict] = {}
    for d in documents or []:
        p = places.setdefault(d["place"], {"name": d["place"], "departments": {}, "n_documents": 0})
        dept = p["departments"].setdefault(d["department_group"], {"name": d["department_label"], "documents": [],
                                                                   "runs": by_dept.get((d["place"], d["department_group"]), [])})
        dept["documents"].append({"year": d["year_label"], "kind_label": d["kind_label"], "source_file": d["source_file"],
                                  "runs": by_doc.get(d["doc_id"], []), "audit": audit.get(d["doc_id"]),
                                  "source_href": source_pages.get(d["doc_id"])})
        p["n_documents"] += 1
    place_list = [{**p, "departments": list(p["departments"].values())} for p in places.values()]
    status_counts = {}
    for r in runs:
        status_counts[r["status"]] = status_counts.get(r["status"], 0) + 1
    return render("index.html.j2", title=title, css=site_css(), places=place_list, overall=overall, errors=errors or [],
                  n_places=len(place_list), n_departments=sum(len(p["departments"]) for p in place_list),
                  n_documents=len(documents or []), n_reports=len(runs),
                  status_counts=[(STATUS_LABELS.get(s, s), n) for s, n in sorted(status_counts.items())])


def render_source(doc: dict, lines, heading: str, index_href: str) -> str:
    """The normalised text of one document, one `<li id="L{n}">` per line (page markers for PDFs)."""
    out, last_page = [], None
    for ln in lines:
        page = getattr(ln, "page", None)
        out.append({"number": ln.number, "text": ln.text, "page": page,
                    "page_start": page is not None and page != last_page})
        last_page = page if page is not None else last_page
    return render("source.html.j2", css=site_css(), lines=out, heading=heading, index_href=index_href,
                  source_file=doc["source_file"], sha256=doc.get("sha256") or "", is_pdf=doc.get("format") == "pdf")
