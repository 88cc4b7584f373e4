"""`reports/index.html`: every report, grouped by district and year; all document text escaped."""
from __future__ import annotations

from html import escape

_CSS = """body{font-family:'WenQuanYi Micro Hei','Noto Sans CJK SC',sans-serif;margin:2em;max-width:70em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
.ok{color:#276749}.cached{color:#2b6cb0}.failed{color:#c53030;font-weight:bold}pre{white-space:pre-wrap;margin:0}"""


def render_index(runs: list[dict], documents: list[dict] | None = None, title: str = "fiscal_nlp reports") -> str:
    """HTML for the index: one row per run (notebook, parameters, status, link or error)."""
    out = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
           f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{escape(title)}</h1>"]
    if documents:
        out.append("<h2>Documents 文件</h2><table><tr><th>district</th><th>department</th><th>year</th>"
                   "<th>kind</th><th>source file</th></tr>")
        for d in documents:
            out.append("<tr>" + "".join(f"<td>{escape(str(d.get(k, '')))}</td>" for k in
                                        ("district", "department", "fiscal_year", "doc_kind", "source_file")) + "</tr>")
        out.append("</table>")
    out.append("<h2>Reports 报告</h2><table><tr><th>group</th><th>notebook</th><th>parameters</th>"
               "<th>status</th><th>report</th></tr>")
    for r in runs:
        params = ", ".join(f"{k}={v}" for k, v in r["parameters"].items() if k != "processed_dir")
        status = r["status"]
        if status == "failed":
            cell = f"<pre>{escape(r.get('error') or 'failed')}</pre>"
            if r.get("html"):
                cell = f'<a href="{escape(r["html"], quote=True)}">partial output</a>' + cell
        else:
            cell = f'<a href="{escape(r["html"], quote=True)}">{escape(r["html"])}</a>'
        out.append(f"<tr><td>{escape(r.get('group', ''))}</td><td>{escape(r['notebook'])}</td>"
                   f"<td>{escape(params)}</td><td class=\"{escape(status)}\">{escape(status)}</td><td>{cell}</td></tr>")
    out.append("</table></body></html>")
    return "\n".join(out) + "\n"
