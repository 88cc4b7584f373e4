"""fiscal_nlp.schema: the declared tables match docs/data-contract.md, and writers follow the declaration."""
from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fiscal_nlp.schema import TABLES, arrow_schema, conform

CONTRACT = Path(__file__).resolve().parents[1] / "docs" / "data-contract.md"


def contract_columns() -> dict[str, list[str]]:
    tables, current = {}, None
    lines = CONTRACT.read_text("utf-8").splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^## (\w+)", line)
        is_header = i + 1 < len(lines) and lines[i + 1].startswith("|---")
        if m:
            current = m.group(1)
            tables[current] = []
        elif current and line.startswith("| ") and not is_header:
            tables[current].append(line.split("|")[1].strip())
    return tables


def test_contract_doc_and_schema_agree():
    doc = contract_columns()
    assert set(doc) == set(TABLES)
    for name, cols in doc.items():
        assert [c.name for c in TABLES[name]] == cols, name


def test_conform_rejects_renamed_columns():
    with pytest.raises(ValueError):
        conform("line_items", [{"doc_id": "x", "table": "income"}])


def test_written_tables_follow_the_declaration(tmp_path):
    from fiscal_nlp.store import write_tables

    from fiscal_nlp.store import read_table

    write_tables({}, tmp_path)
    for name in TABLES:
        assert read_table(tmp_path, name).schema.equals(arrow_schema(name), check_metadata=False), name
    assert (tmp_path / "fiscal.duckdb").exists()


def test_fragments_hold_the_declared_columns_minus_the_partition_keys(tmp_path):
    """On disk each fragment has the declared schema without fiscal_year/district (they are the path)."""
    from conftest import RAW
    from fiscal_nlp.pipeline import extract
    from fiscal_nlp.store import PARTITION_COLUMNS, write_tables

    write_tables(extract(RAW, progress=False), tmp_path)
    for name in TABLES:
        frags = list((tmp_path / f"{name}.parquet").rglob("*.parquet"))
        expected = arrow_schema(name)
        if name != "errors":
            expected = pa.schema([f for f in expected if f.name not in PARTITION_COLUMNS])
        for frag in frags:
            assert pq.read_schema(frag).equals(expected, check_metadata=False), frag
