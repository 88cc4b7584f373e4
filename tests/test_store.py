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


# ---------------------------------------------------------------- the commit is one switch


class _Killed(BaseException):
    """The process dies here: nothing after it runs, not even `abort` (the lock goes with the process)."""


def _same(a: dict, b: dict) -> bool:
    try:
        for name in a:
            pd.testing.assert_frame_equal(a[name], b[name])
    except AssertionError:
        return False
    return True


def _dies_at(monkeypatch, k: int) -> dict:
    """From now on the k-th rename or symlink raises `_Killed`; returns the counter."""
    import os

    from fiscal_nlp import store

    calls = {"n": 0}

    def counted(real):
        def call(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == k:
                raise _Killed
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(os, "replace", counted(os.replace))
    monkeypatch.setattr(os, "symlink", counted(os.symlink))
    monkeypatch.setattr(store.DatasetWriter, "abort", lambda self: self._lock.close())
    return calls


def _extract(raw, out):
    from fiscal_nlp.pipeline import extract_to

    return extract_to(raw, out, jobs=1, progress=False)


def test_a_commit_cut_anywhere_leaves_a_consistent_version_and_two_cut_recoveries_still_end_exact(tmp_path, monkeypatch):
    """Run 1 extracts seeds 000-002. Then 000 goes and 003-004 come. Run 2 dies at its k-th rename,
    run 3 (recovering) dies at its k-th too, for the renames that matter: after each, readers see exactly
    run 1's tables or exactly the new ones (pandas and fiscal.duckdb alike), and run 4 ends with
    exactly the rows of an uninterrupted extraction."""
    import shutil

    seeds = sorted(RAW.glob("*.txt"))
    raw, out, fresh = tmp_path / "raw", tmp_path / "out", tmp_path / "fresh"
    raw.mkdir()
    for p in seeds[:3]:
        shutil.copy(p, raw)
    _extract(raw, out)
    old = read_tables(out)
    (raw / seeds[0].name).unlink()
    for p in seeds[3:]:
        shutil.copy(p, raw)
    _extract(raw, fresh)
    new = read_tables(fresh)
    assert sorted(new["documents"]["source_file"]) == [p.name for p in seeds[1:]]

    with monkeypatch.context() as m:  # how many renames one run makes
        calls = _dies_at(m, 0)
        work = tmp_path / "count"
        shutil.copytree(out, work, symlinks=True)
        _extract(raw, work)
        renames = calls["n"]
    assert renames >= 3
    # the renames before the last few move partitions inside the unfinished version (a few of them
    # stand for all); the last ones are the version's own rename, the switch and the links
    for k in sorted({1, renames // 2, *range(max(1, renames - 5), renames + 1)}):
        work = tmp_path / f"cut-{k}"
        shutil.copytree(out, work, symlinks=True)
        for _ in range(2):  # the run, then its recovery, die at the same point
            with monkeypatch.context() as m:
                _dies_at(m, k)
                try:
                    _extract(raw, work)
                except _Killed:
                    pass
            seen = read_tables(work)
            assert _same(seen, old) or _same(seen, new), f"torn output after a cut at rename {k}"
            with duckdb.connect(str(work / "fiscal.duckdb"), read_only=True) as con:
                n_docs = con.execute("select count(*) from documents").fetchone()[0]
            assert n_docs == len(seen["documents"])
        _extract(raw, work)
        assert _same(read_tables(work), new), f"wrong rows after two cuts at rename {k}"
        assert not [p for p in (work / ".versions").iterdir() if p.name.startswith(".staging")]


def test_reading_a_missing_table_is_an_error_not_an_empty_table(tmp_path):
    from fiscal_nlp.store import read_table

    with pytest.raises(FileNotFoundError, match="line_items.parquet: no such table"):
        read_table(tmp_path, "line_items")


def test_a_versioned_output_keeps_one_previous_version(out, tmp_path, seeds):
    """Readers of the version before the last commit can still finish; older ones are removed."""
    folder = tmp_path / "v"
    for _ in range(3):
        write_tables(seeds, folder)
    versions = sorted(p.name for p in (folder / ".versions").iterdir())
    assert len(versions) == 2
    assert (folder / ".current").resolve().name == versions[-1]
    assert (folder / "line_items.parquet").resolve() == (folder / ".versions" / versions[-1] / "line_items.parquet")
