"""One labels table for every code the data contract uses: kind, code, label_zh, label_en.

Read from package_data: `labels.csv` (doc kinds, severities, table keys, check ids, fact keys,
project source kinds, project statuses) plus the project themes (`project_themes.csv`), the
reason categories (`reason_taxonomy.yaml`) and the table keys (`tables.yaml`), whose labels live with their own definitions.
The store writes it into `fiscal.duckdb` (table `labels`); reports and exports label codes with it.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from importlib.resources import files

import yaml

from .tables.spec import package_yaml

COLUMNS = ("kind", "code", "label_zh", "label_en")


@lru_cache(maxsize=1)
def label_rows() -> tuple[tuple[str, str, str, str], ...]:
    data = files("fiscal_nlp") / "package_data"
    rows: list[tuple[str, str, str, str]] = []
    with (data / "labels.csv").open(encoding="utf-8", newline="") as fh:
        rows += [(r["kind"], r["code"], r["label_zh"], r["label_en"]) for r in csv.DictReader(fh)]
    with (data / "project_themes.csv").open(encoding="utf-8", newline="") as fh:
        rows += [("theme", r["theme_id"], r["label_zh"], r["label_en"]) for r in csv.DictReader(fh)]
    taxonomy = yaml.safe_load((data / "reason_taxonomy.yaml").read_text(encoding="utf-8"))
    rows += [("reason_category", c["id"], c["label_zh"], c["label_en"]) for c in taxonomy["categories"]]
    rows += [("table_key", t["key"], t["name"], t["name_en"]) for t in package_yaml("tables.yaml")["tables"]]
    return tuple(rows)


def labels_table():
    """The labels as a pandas DataFrame (kind, code, label_zh, label_en)."""
    import pandas as pd

    return pd.DataFrame(list(label_rows()), columns=list(COLUMNS))


def label_map(kind: str, lang: str = "zh") -> dict[str, str]:
    """{code: label} for one kind (`check`, `fact`, `theme`, `reason_category`, `table_key` …)."""
    i = 2 if lang == "zh" else 3
    return {r[1]: r[i] for r in label_rows() if r[0] == kind}
