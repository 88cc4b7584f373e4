"""Schema stage: the data contract (docs/data-contract.md) declared once.

Every output table is declared here with its columns, dtypes, units and nullability.
The writer (`fiscal_nlp.store`) builds Arrow schemas from these declarations and
`tests/test_schema.py` checks them against the contract document, so a column can be
added (extend) but never silently renamed.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

# Logical dtypes -> Arrow types. "map_year_float" is the contract's `map year→float`.
_ARROW = {
    "str": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "map_year_float": pa.map_(pa.int32(), pa.float64()),
}


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # one of _ARROW's keys
    nullable: bool = True
    unit: str | None = None  # "万元", "percent", ...
    doc: str = ""


def _c(name, dtype, nullable=True, unit=None, doc=""):
    return Column(name, dtype, nullable, unit, doc)


TABLES: dict[str, tuple[Column, ...]] = {
    "documents": (
        _c("doc_id", "str", False, doc="stable id, e.g. hanyang-dsjzx-2021-final"),
        _c("source_file", "str", False),
        _c("sha256", "str", False),
        _c("district", "str"),
        _c("department", "str"),
        _c("fiscal_year", "int"),
        _c("doc_kind", "str", doc="budget (部门预算) or final (部门决算)"),
        _c("unit", "str"),
        _c("format", "str", doc="extension: text or pdf"),
        _c("n_lines", "int", doc="extension: lines (text) the parsers read"),
        _c("n_pages", "int", doc="extension: PDF pages, null for text"),
    ),
    "line_items": (
        _c("doc_id", "str", False),
        _c("table_key", "str", False),
        _c("side", "str"),
        _c("code", "str"),
        _c("item", "str", False),
        _c("level", "int"),
        _c("column", "str", False),
        _c("amount", "float", False, unit="万元"),
        _c("source_line", "int", False),
        _c("page", "int", doc="extension: PDF page (1-based), null for text"),
    ),
    "variances": (
        _c("doc_id", "str", False),
        _c("subject", "str", False),
        _c("code", "str"),
        _c("budget", "float", False, unit="万元"),
        _c("actual", "float", False, unit="万元"),
        _c("stated_rate", "float", unit="percent"),
        _c("computed_rate", "float", unit="percent"),
        _c("reason", "str"),
        _c("reason_category", "str", doc="';'-joined taxonomy ids (multi-label)"),
        _c("source_line", "int", False),
        _c("page", "int", doc="extension"),
    ),
    "projects": (
        _c("doc_id", "str", False),
        _c("name", "str"),
        _c("code", "str"),
        _c("budget", "float", unit="万元"),
        _c("executed", "float", unit="万元"),
        _c("stated_rate", "float", unit="percent"),
        _c("total_budget", "float", unit="万元"),
        _c("prior_budgets", "map_year_float", unit="万元"),
        _c("theme", "str"),
        _c("source_line", "int", False),
        _c("source_kind", "str", doc="extension: self_evaluation, evaluation_form, budget_narrative, declaration, sub_item"),
        _c("page", "int", doc="extension"),
    ),
    "changes": (
        _c("doc_id", "str", False),
        _c("metric", "str", False),
        _c("project", "str"),
        _c("current", "float", unit="万元"),
        _c("delta", "float", False, unit="万元"),
        _c("pct", "float", unit="percent"),
        _c("reason", "str"),
        _c("source_line", "int", False),
        _c("reason_category", "str", doc="extension: ';'-joined taxonomy ids"),
        _c("page", "int", doc="extension"),
    ),
    "reform_events": (
        _c("doc_id", "str", False),
        _c("effective", "str"),
        _c("unit", "str", False),
        _c("function", "str", False),
        _c("to_org", "str", False),
        _c("basis", "str"),
        _c("source_line", "int", False),
        _c("page", "int", doc="extension"),
    ),
    "facts": (
        _c("doc_id", "str", False),
        _c("key", "str", False),
        _c("value", "float", False),
        _c("unit", "str", False),
        _c("text", "str", False),
        _c("source_line", "int", False),
        _c("page", "int", doc="extension"),
    ),
    "errors": (
        _c("source_file", "str", False),
        _c("kind", "str", False),
        _c("message", "str", False),
    ),
    "checks": (
        _c("doc_id", "str", False),
        _c("check", "str", False),
        _c("passed", "bool", False),
        _c("severity", "str"),
        _c("expected", "float"),
        _c("found", "float"),
        _c("detail", "str", False),
        _c("table_key", "str", doc="extension: the table checked, null for narrative-only checks"),
        _c("source_line", "int", doc="extension: the line to look at first"),
        _c("related_line", "int", doc="extension: the other line of a comparison"),
    ),
}

# Stable check ids (the `check` column).
CHECK_IDS = (
    "row_sum", "hierarchy_sum", "column_total", "cross_table_total", "narrative_vs_table",
    "stated_rate", "stated_share", "stated_change", "table_presence", "table_parse",
    "unparsed_statement", "project_consistency", "project_name_missing", "unit_slip",
    "ocr_needed",
)
SEVERITIES = ("error", "rounding", "warning", "info")
# Gap (万元) up to which a failed identity is classed as a unit-conversion artefact.
ROUNDING_TOLERANCE_WAN = 0.02


def columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table]]


def arrow_schema(table: str) -> pa.Schema:
    return pa.schema([pa.field(c.name, _ARROW[c.dtype], nullable=c.nullable) for c in TABLES[table]])


_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(), pa.float64(): pd.Float64Dtype()}


def to_pandas(tbl: pa.Table) -> pd.DataFrame:
    """Arrow -> pandas keeping nullable ints/bools, and maps as dicts."""
    df = tbl.to_pandas(types_mapper=_PANDAS_TYPES.get)
    for field in tbl.schema:
        if pa.types.is_map(field.type):
            df[field.name] = [dict(v) if v is not None else None for v in df[field.name]]
    return df


def to_arrow(table: str, df: pd.DataFrame) -> pa.Table:
    if df.empty:
        return arrow_schema(table).empty_table()
    return pa.Table.from_pandas(df[columns(table)], schema=arrow_schema(table), preserve_index=False)


def empty_frame(table: str) -> pd.DataFrame:
    return to_pandas(arrow_schema(table).empty_table())


def conform(table: str, df: pd.DataFrame | list[dict] | None) -> pd.DataFrame:
    """Return `df` with exactly the declared columns, in order, as Arrow-compatible dtypes.

    Missing nullable columns are added as null; an unknown column or a missing
    non-nullable column is a programming error and raises.
    """
    if df is None:
        return empty_frame(table)
    if not isinstance(df, pd.DataFrame):
        df = pd.DataFrame(list(df))
    if df.empty and not len(df.columns):
        return empty_frame(table)
    spec = TABLES[table]
    names = [c.name for c in spec]
    extra = set(df.columns) - set(names)
    if extra:
        raise ValueError(f"{table}: columns not in the contract: {sorted(extra)}")
    for c in spec:
        if c.name not in df.columns:
            if not c.nullable and len(df):
                raise ValueError(f"{table}: missing required column {c.name!r}")
            df[c.name] = None
    df = df[names].astype(object).where(df[names].notna(), None)
    return to_pandas(to_arrow(table, df))
