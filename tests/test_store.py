"""fiscal_nlp.store: hive-partitioned Parquet datasets that pandas, pyarrow and DuckDB read as one table."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from conftest import RAW
from fiscal_nlp.pipeline import extract
from fiscal_nlp.schema import columns, conform
from fiscal_nlp.store import read_tables, write_tables

HY21 = "hanyang-dsjzx-2021-final"


@pytest.fixture(scope="module")
def seeds():
    return extract(RAW, progress=False)


@pytest.fixture(scope="module")
def out(seeds, tmp_path_factory):
    folder = tmp_path_factory.mktemp("processed")
    write_tables(seeds, folder)
    return folder


def test_layout_is_hive_partitioned_by_year_and_district(out):
    dirs = {p.parent.relative_to(out / "line_items.parquet").as_posix()
            for p in (out / "line_items.parquet").rglob("*.parquet")}
    # 汉阳区 2021 (000), 武昌区 2019 (002), 青山区 2024 (003) have tables; the budgets print none
    assert dirs == {"fiscal_year=2021/district=汉阳区", "fiscal_year=2019/district=武昌区", "fiscal_year=2024/district=青山区"}
    assert not list((out / "errors.parquet").glob("fiscal_year=*"))


def test_pandas_reads_a_directory_as_one_table(out, seeds):
    df = pd.read_parquet(out / "line_items.parquet")
    assert len(df) == len(seeds["line_items"]) == 546
    assert set(df.columns) == set(columns("line_items")) | {"fiscal_year", "district"}
    hy = df[(df["district"] == "汉阳区") & (df["fiscal_year"] == 2021)]
    assert set(hy["doc_id"]) == {HY21} and len(hy) == 165


def test_duckdb_reads_the_glob_with_hive_partitioning(out):
    rows = duckdb.sql(f"""
        select fiscal_year, district, count(*) from
        read_parquet('{out}/line_items.parquet/**/*.parquet', hive_partitioning=true)
        group by all order by fiscal_year""").fetchall()
    assert rows == [(2019, "武昌区", 179), (2021, "汉阳区", 165), (2024, "青山区", 202)]
    con = duckdb.connect(str(out / "fiscal.duckdb"), read_only=True)
    # 000's 支出决算表, 合计 row, 本年支出合计 column: 2785.73 万元 (line 154 of the document)
    total = con.execute("select amount from line_items where doc_id = ? and table_key = 'expenditure' "
                        "and item = '合计' and \"column\" = '本年支出合计'", [HY21]).fetchone()[0]
    assert total == pytest.approx(2785.73)
    assert con.execute("select count(*) from errors").fetchone()[0] == 0  # empty tables exist too


def test_read_tables_gives_exactly_the_contract_columns(out, seeds):
    back = read_tables(out)
    for name, df in back.items():
        assert list(df.columns) == columns(name), name
        pd.testing.assert_frame_equal(df, seeds[name], obj=name)


def test_hostile_and_missing_names_round_trip(seeds, tmp_path):
    """District names come from untrusted text: no path escapes the table directory, values survive."""
    docs = seeds["documents"].copy()
    docs.loc[docs["doc_id"] == HY21, "district"] = "../../evil/区%"
    docs.loc[docs["doc_id"] == "qingshan-dsjzx-2024-final", "district"] = None
    tables = {**seeds, "documents": conform("documents", docs)}
    write_tables(tables, tmp_path)
    for frag in tmp_path.rglob("part-*.parquet"):
        assert tmp_path in frag.resolve().parents and ".." not in frag.relative_to(tmp_path).parts
    assert not (tmp_path.parent / "evil").exists()
    back = read_tables(tmp_path)
    assert back["documents"].set_index("doc_id").loc[HY21, "district"] == "../../evil/区%"
    assert pd.isna(back["documents"].set_index("doc_id").loc["qingshan-dsjzx-2024-final", "district"])
    assert (back["line_items"]["doc_id"] == HY21).sum() == 165
    con = duckdb.connect(str(tmp_path / "fiscal.duckdb"), read_only=True)
    assert con.execute("select count(*) from line_items where district is null").fetchone()[0] == 202


def test_empty_projects_with_a_map_column_are_written(tmp_path):
    """An empty `projects` (its prior_budgets map column included) writes and reads back empty."""
    write_tables({"projects": conform("projects", None)}, tmp_path)
    assert read_tables(tmp_path, ["projects"])["projects"].empty
