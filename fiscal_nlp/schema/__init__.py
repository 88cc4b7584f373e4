"""Schema stage: the data contract (docs/data-contract.md) declared once.

Every output table is declared here with its columns, dtypes, units and nullability.
The writer (`fiscal_nlp.store`) builds Arrow schemas from these declarations and
`tests/test_schema.py` checks them against the contract document, so a column can be
added (extend) but never silently renamed.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.extensions import ExtensionDtype

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
        _c("format", "str", doc="extension: text, pdf, html, xlsx, xls or docx"),
        _c("n_lines", "int", doc="extension: lines (text) the parsers read"),
        _c("n_pages", "int", doc="extension: PDF pages, null for text"),
        _c("province", "str", doc="extension: province as printed or implied by the city/county (上海市, 江苏省, 湖北省)"),
        _c("city", "str", doc="extension: prefecture-level city (武汉市); for a municipality's districts the municipality (上海市)"),
        _c("county", "str", doc="extension: 区/县 (普陀区); the same as district"),
        _c("level", "str", doc="extension: province, city, county, township or central"),
        _c("scope", "str", doc="extension: 部门 (department) or 单位 (unit) as the document says of itself"),
        _c("disclosure_id", "str", doc="extension: shared by a narrative file and its tables-only companion"),
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
        _c("unit_printed", "str", doc="extension: the unit the table prints (万元, 元 …); `amount` is converted to 万元 exactly"),
        _c("verified", "bool", doc="extension: the cell takes part in an identity of the document that holds (to the cent or within rounding)"),
    ),
    "variances": (
        _c("doc_id", "str", False),
        _c("subject", "str", False),
        _c("code", "str"),
        _c("budget", "float", unit="万元", doc="null when only a rate is printed (完成预算的R%)"),
        _c("actual", "float", False, unit="万元"),
        _c("stated_rate", "float", unit="percent"),
        _c("computed_rate", "float", unit="percent"),
        _c("reason", "str"),
        _c("reason_category", "str", doc="';'-joined taxonomy ids (multi-label)"),
        _c("source_line", "int", False),
        _c("page", "int", doc="extension"),
        _c("basis", "str", doc="extension: the budget compared with: 年初预算, 全年预算 or 调整预算; null when unnamed"),
        _c("reason_scope", "str", doc="extension: statement, named or total (see narrative.reasons.attach_reasons)"),
        _c("reason_evidence", "str", doc="extension: ';'-joined category:keyword that classified the reason"),
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
        _c("delta", "float", unit="万元", doc="null when only a percent is printed"),
        _c("pct", "float", unit="percent"),
        _c("reason", "str"),
        _c("source_line", "int", False),
        _c("reason_category", "str", doc="extension: ';'-joined taxonomy ids"),
        _c("page", "int", doc="extension"),
        _c("previous", "float", unit="万元", doc="extension: the previous figure, when printed"),
        _c("basis", "str", doc="extension: 上年决算, 上年预算 or 上年执行数; null when unnamed"),
        _c("reason_scope", "str", doc="extension: statement, named or total"),
        _c("reason_evidence", "str", doc="extension: ';'-joined category:keyword that classified the reason"),
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
    "ocr_needed", "total_missing", "parse_doubt", "year_mismatch", "stated_comparison",
    "implausible_amount", "identity_collision",
)
SEVERITIES = ("error", "rounding", "warning", "info")
# Gap (万元) up to which a failed identity is classed as a unit-conversion artefact.
ROUNDING_TOLERANCE_WAN = 0.02


def columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table]]


@lru_cache(maxsize=None)
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


def records_to_arrow(table: str, rows: list[dict]) -> pa.Table:
    """Contract records -> an Arrow table with the declared schema, without a pandas round trip
    (the driver's path); the same values `to_arrow(table, conform(table, rows))` gives."""
    present = set().union(*rows) if rows else set()
    if not present:
        return arrow_schema(table).empty_table()
    _check_columns(table, present, len(rows))
    try:
        tbl = pa.Table.from_pylist(rows, schema=arrow_schema(table))
        if not _arrow_and_pandas_differ(tbl):
            return tbl
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        pass  # e.g. NaN for a missing string: pandas' null, not Arrow's
    return to_arrow(table, _conform_frame(table, pd.DataFrame(rows)))


def column_lists(table: pd.DataFrame | pa.Table | None, names: tuple[str, ...]) -> list[list] | None:
    """The columns `names` of a contract table (a DataFrame, or an Arrow table as the driver
    holds it) as Python lists, nulls as None or pandas' NA; None when the table is missing,
    empty or lacks one of them. The stages that index `line_items` read it through this."""
    if table is None or len(table) == 0:
        return None
    present = table.column_names if isinstance(table, pa.Table) else table.columns
    if any(n not in present for n in names):
        return None
    if isinstance(table, pa.Table):
        return [table.column(n).to_pylist() for n in names]
    return [table[n].tolist() for n in names]


def arrow_to_frame(table: str, tbl: pa.Table) -> pd.DataFrame:
    """A declared-schema Arrow table -> the DataFrame `conform` would give."""
    return _frame(table, tbl) if tbl.num_rows else empty_frame(table)


def empty_frame(table: str) -> pd.DataFrame:
    return _empty(table).copy()


def conform(table: str, df: pd.DataFrame | list[dict] | None) -> pd.DataFrame:
    """Return `df` with exactly the declared columns, in order, as Arrow-compatible dtypes.

    Missing nullable columns are added as null; an unknown column or a missing
    non-nullable column is a programming error and raises. Nulls are pandas' (None,
    NaN, NA); values are converted by Arrow into the declared types, and come back as
    `to_pandas` gives them (nullable Int64/boolean/Float64, maps as dicts).
    """
    if df is None:
        return empty_frame(table)
    if not isinstance(df, pd.DataFrame):
        rows = list(df)
        if all(type(r) is dict for r in rows):
            return _conform_records(table, rows)
        df = pd.DataFrame(rows)
    return _conform_frame(table, df)


# ---------------------------------------------------------------- conform's paths
# Records (what the stages emit) go straight to Arrow; frames go column by column the
# way `pa.Table.from_pandas` reads them; both come back through `_frame`, and a frame that
# is already conformed is only re-indexed. Records Arrow would read differently from pandas
# take the frame path, so every path gives `to_pandas(to_arrow(table, <df, pandas nulls as None>))`.

def _conform_records(table: str, rows: list[dict]) -> pd.DataFrame:
    return arrow_to_frame(table, records_to_arrow(table, rows))


def _conform_frame(table: str, df: pd.DataFrame) -> pd.DataFrame:
    if df.empty and not len(df.columns):
        return empty_frame(table)
    _check_columns(table, df.columns, len(df))
    if df.empty:
        return empty_frame(table)
    if _is_conformed(table, df):  # e.g. conformed frames concatenated: the round trip would change nothing
        out = df.copy()
        out.index = pd.RangeIndex(len(out))
        out.columns = _empty(table).columns
        return out
    arrays = []
    for field in arrow_schema(table):
        if field.name in df.columns:
            col = df[field.name]
            values = np.where(col.notna().to_numpy(), col.astype(object).to_numpy(), None)
        else:
            values = np.full(len(df), None, dtype=object)
        arrays.append(_column_from_pandas(values, field))
    return _frame(table, pa.Table.from_arrays(arrays, schema=arrow_schema(table)))


def _check_columns(table: str, present, n_rows: int) -> None:
    """An unknown column, or a non-nullable one missing from rows that exist, is a programming error."""
    extra = set(present) - set(columns(table))
    if extra:
        raise ValueError(f"{table}: columns not in the contract: {sorted(extra)}")
    for c in TABLES[table]:
        if c.name not in present and not c.nullable and n_rows:
            raise ValueError(f"{table}: missing required column {c.name!r}")


def _arrow_and_pandas_differ(tbl: pa.Table) -> bool:
    """NaN is a float to Arrow but null to pandas; a null in a non-nullable column must raise as from_pandas does."""
    return any((not field.nullable and col.null_count) or _has_nan(col) for field, col in zip(tbl.schema, tbl.columns))


def _has_nan(col: pa.ChunkedArray) -> bool:
    if pa.types.is_floating(col.type):
        return bool(pc.any(pc.is_nan(col)).as_py())
    if pa.types.is_map(col.type) and pa.types.is_floating(col.type.item_type):
        return any(pc.any(pc.is_nan(chunk.items)).as_py() for chunk in col.chunks)
    return False


def _is_conformed(table: str, df: pd.DataFrame) -> bool:
    """Whether `df` holds exactly what the Arrow round trip would give back (same arrays, no NaN, no bad nulls)."""
    template = _empty(table)
    if not df.columns.equals(template.columns):
        return False
    for field in arrow_schema(table):
        col, want = df[field.name], template[field.name]
        if not isinstance(want.dtype, ExtensionDtype):
            return False  # object columns (maps; strings before pandas 3) may hold anything
        if col.dtype != want.dtype or type(col.array) is not type(want.array):
            return False
        if not field.nullable and col.isna().any():
            return False  # the round trip raises
        if pa.types.is_floating(field.type) and np.isnan(col.to_numpy(dtype="float64", na_value=0.0)).any():
            return False  # NaN becomes null
    return True


def _column_from_pandas(values: np.ndarray, field: pa.Field) -> pa.Array:
    """One object column as `pa.Table.from_pandas(..., schema=...)` converts it, with its errors."""
    try:
        arr = pa.array(values, type=field.type, from_pandas=True, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        exc.args += (f"Conversion failed for column {field.name} with type object",)
        raise
    if not field.nullable and arr.null_count > 0:
        raise ValueError(f"Field {field} was non-nullable but pandas column had {arr.null_count} null values")
    return arr


@lru_cache(maxsize=None)
def _empty(table: str) -> pd.DataFrame:
    """The declared table with no rows (also the pandas dtype of every column); callers get copies."""
    return to_pandas(arrow_schema(table).empty_table())


def _frame(table: str, tbl: pa.Table) -> pd.DataFrame:
    """`to_pandas(tbl)` for a table with the declared schema, column by column (skips pyarrow's metadata pass)."""
    return pd.DataFrame({name: convert(col) for (name, convert), col in zip(_converters(table), tbl.columns)}, copy=False)


@lru_cache(maxsize=None)
def _converters(table: str) -> tuple:
    """(name, Arrow column -> pandas array) per declared column, giving `to_pandas`'s dtypes."""
    out = []
    for field, dtype in zip(arrow_schema(table), _empty(table).dtypes):
        if pa.types.is_map(field.type):
            out.append((field.name, _maps))
        elif isinstance(dtype, ExtensionDtype):
            out.append((field.name, dtype.__from_arrow__))
        else:  # e.g. strings as object with pandas < 3
            out.append((field.name, lambda col: col.to_pandas(types_mapper=_PANDAS_TYPES.get).to_numpy()))
    return tuple(out)


def _maps(col: pa.ChunkedArray) -> np.ndarray:
    values = np.empty(len(col), dtype=object)
    values[:] = [dict(v) if v is not None else None for v in col.to_pylist()]
    return values
