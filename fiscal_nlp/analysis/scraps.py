"""`glue(name, value)`: record a value in the executed notebook in scrapbook's format, without importing
scrapbook in the kernel (it pulls in papermill and costs seconds per report). Read back with
`scrapbook.read_notebook(path).scraps`."""
from __future__ import annotations

import json


def glue(name: str, value) -> None:
    from IPython.display import display

    try:
        json.dumps(value)
        mime, encoder = "application/scrapbook.scrap.json+json", "json"
    except TypeError:
        value, mime, encoder = str(value), "application/scrapbook.scrap.text+json", "text"
    display({mime: {"name": name, "data": value, "encoder": encoder, "version": 1}},
            metadata={"scrapbook": {"name": name, "data": True, "display": False}}, raw=True)


def figures(df, key: str, value: str) -> dict:
    """{key: float(value)} for the rows whose value is present (what a notebook glues for tests and readers);
    a missing value (pd.NA, NaN) is left out rather than failing the report."""
    import pandas as pd

    return {str(k): float(v) for k, v in zip(df[key], df[value]) if not pd.isna(v) and not pd.isna(k)}
