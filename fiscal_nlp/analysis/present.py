"""Tables as a reader sees them: labelled headers, thousands separators, two decimals, blanks for missing
values, no index column, a caption with the unit, codes with their labels, citations as links to the
rendered source, and rows the audit flagged marked. Returns a pandas Styler (rendered by nbconvert)."""
from __future__ import annotations

from html import escape

import pandas as pd

from ..labels import label_map
from ._common import source_page_name

# columns holding codes, and the kind of label each takes from the labels table
CODE_COLUMNS = {"key": "fact", "check": "check", "theme": "theme", "reason_category": "reason_category",
                "severity": "severity", "status": "status", "doc_kind": "doc_kind", "table_key": "table_key",
                "audit_status": "status"}
FLAG_STYLE = "background-color:#fff4e5"


def header(col: str) -> str:
    return label_map("column").get(col, col)


def _code_label(kind: str):
    labels = label_map(kind)

    def fmt(v):
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return ""
        parts = [p for p in str(v).split(";") if p]
        return escape("；".join(f"{labels[p]} ({p})" if p in labels else p for p in parts))
    return fmt


def link(sources: str, doc_id, line, label) -> str:
    """`<a href="{sources}/{doc}.html#L{line}">label</a>` (escaped); plain text without `sources`."""
    if label is None or (not isinstance(label, str) and pd.isna(label)):
        return ""
    text = escape(str(label))
    if not sources or doc_id is None or line is None or pd.isna(line):
        return text
    href = f"{sources.rstrip('/')}/{source_page_name(str(doc_id))}#L{int(line)}"
    return f'<a class="cite" href="{escape(href, quote=True)}">{text}</a>'


def show(df: pd.DataFrame, columns: list[str] | None = None, caption: str = "", unit: str | None = None,
         sources: str = ""):
    """A formatted table of `columns` of `df` (see the module docstring). `sources` is the relative URL
    of the reports site's `sources/` folder (the build passes it; empty: citations stay text)."""
    columns = [c for c in (columns or list(df.columns)) if c in df.columns]
    flagged = df["audit"].notna() & (df["audit"].astype(str) != "") if "audit" in df else pd.Series(False, index=df.index)
    view = df[columns].copy()
    for c in ("citation", "related_citation", "citation_before", "citation_after"):
        if c in view:
            line_col = {"related_citation": "related_line"}.get(c, "source_line")
            if c in ("citation_before", "citation_after"):
                view[c] = [escape(x) if isinstance(x, str) else "" for x in df[c]]
            else:
                lines = df[line_col] if line_col in df else [None] * len(df)
                view[c] = [link(sources, d, ln, lab) for d, ln, lab in zip(df["doc_id"], lines, df[c])]
    view = view.reset_index(drop=True)
    flagged = flagged.reset_index(drop=True)
    cap = caption + (f"（单位：{unit}）" if unit else "")
    st = (view.style.hide(axis="index")
          .format(precision=2, thousands=",", na_rep="", escape="html")
          .relabel_index([header(c) for c in view.columns], axis="columns"))
    for c in view.columns:
        if c in CODE_COLUMNS:
            st = st.format(_code_label(CODE_COLUMNS[c]), subset=[c])
        elif c.startswith("citation") or c == "related_citation":
            st = st.format(lambda v: v, subset=[c], na_rep="")
        elif c == "audit":
            st = st.format(lambda v: escape(v) if isinstance(v, str) else "", subset=[c])
        elif c in ("fiscal_year", "year", "source_line", "related_line", "page") or c.endswith("_year"):
            st = st.format(lambda v: "" if v is None or pd.isna(v) else str(int(v)), subset=[c])  # 2021, not 2,021
        elif pd.api.types.is_bool_dtype(view[c]):
            st = st.format(lambda v: "" if v is None or pd.isna(v) else ("是" if v else "否"), subset=[c])
    text_cols = [c for c in view.columns if not (pd.api.types.is_numeric_dtype(view[c]) and not pd.api.types.is_bool_dtype(view[c]))]
    if text_cols:
        st = st.set_properties(subset=text_cols, **{"text-align": "left"})
    if cap:
        st = st.set_caption(escape(cap))
    if flagged.any():
        st = st.apply(lambda r: [FLAG_STYLE if flagged.iloc[r.name] else "" for _ in r], axis=1)
    return st.set_table_attributes('class="fiscal-table"')


def note(text: str):
    """A short paragraph (escaped) rendered as HTML in the report."""
    from IPython.display import HTML

    return HTML(f"<p class=\"note\">{escape(text)}</p>")
