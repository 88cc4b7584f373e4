"""fiscal_nlp.pipeline: the driver — executors, incremental re-extraction, fragment-by-fragment writes."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from conftest import RAW, seed_path
from fiscal_nlp.pipeline import extract, extract_to
from fiscal_nlp.store import read_tables

HY21 = "hanyang-dsjzx-2021-final"


def assert_same_tables(a: dict, b: dict) -> None:
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The seeds extracted in one process, in memory: what every other route must reproduce."""
    return extract(RAW, progress=False)


@pytest.fixture()
def raw(tmp_path):
    folder = tmp_path / "raw"
    shutil.copytree(RAW, folder)
    return folder


def test_written_output_reads_back_as_the_in_memory_tables(reference, tmp_path):
    extract_to(RAW, tmp_path / "out", jobs=2, progress=False)
    assert_same_tables(read_tables(tmp_path / "out"), reference)
    assert reference["line_items"].groupby("doc_id").size().to_dict() == {
        HY21: 165, "wuchang-dsjzx-2019-final": 179, "qingshan-dsjzx-2024-final": 202}


def test_small_flushes_give_the_same_tables(reference, tmp_path):
    """Flushing after every document spills five batches; they are still written as one fragment
    per partition, and read back, nothing differs."""
    out = tmp_path / "out"
    extract_to(RAW, out, jobs=1, flush_mb=1e-6, chunk_size=1, progress=False)
    fragments = [p.parent.name for p in (out / "documents.parquet").rglob("part-*.parquet")]
    # 汉阳区 2021 and 2024, 青山区 2021 and 2024, 武昌区 2019: five partitions, one fragment each
    assert sorted(fragments) == ["district=武昌区", "district=汉阳区", "district=汉阳区", "district=青山区", "district=青山区"]
    assert_same_tables(read_tables(out), reference)


def test_dask_local_cluster_matches_the_local_executor(reference, tmp_path):
    summary = extract_to(RAW, tmp_path / "out", executor="dask", jobs=2, progress=False)
    assert summary.extracted == 5 and summary.errors == 0
    assert_same_tables(read_tables(tmp_path / "out"), reference)


def test_dask_reports_bad_files_as_errors(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(seed_path("000"), raw)
    (raw / "empty.txt").write_bytes(b"")
    (raw / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")
    extract_to(raw, tmp_path / "out", executor="dask", jobs=2, progress=False)
    t = read_tables(tmp_path / "out")
    assert dict(zip(t["errors"]["source_file"], t["errors"]["kind"])) == {"broken.pdf": "pdf_corrupt", "empty.txt": "empty"}
    assert t["documents"]["doc_id"].tolist() == [HY21]


def test_rerun_extracts_only_what_changed(raw, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert extract_to(raw, out, jobs=1, progress=False).extracted == 5

    import fiscal_nlp.pipeline as pipeline

    seen = []
    real = pipeline.extract_records
    monkeypatch.setattr(pipeline, "extract_records", lambda data, name, override=None: seen.append(name) or real(data, name, override))

    # one document edited (a trailing line: its content hash changes, its tables do not)
    f002 = next(raw.glob("002_*.txt"))
    f002.write_bytes(f002.read_bytes() + "\n附：本文件为测试副本。\n".encode())
    hy21 = out / "line_items.parquet" / "fiscal_year=2021" / "district=汉阳区"
    inodes = {p.name: p.stat().st_ino for p in hy21.iterdir()}
    # one deleted, one duplicate added
    next(raw.glob("004_*.txt")).unlink()
    shutil.copy(seed_path("000"), raw / "copy_of_000.txt")
    run = extract_to(raw, out, jobs=1, progress=False)
    assert sorted(seen) == sorted([f002.name, "copy_of_000.txt"])
    assert (run.extracted, run.unchanged, run.removed, run.errors) == (1, 3, 1, 1)
    # a partition no stale document was in is carried over as it was (hard links, not rewritten)
    assert {p.name: p.stat().st_ino for p in hy21.iterdir()} == inodes

    # the result equals a full extraction of the folder as it is now
    t = read_tables(out)
    assert_same_tables(t, extract(raw, progress=False))
    assert "hanyang-dsjzx-2024-budget" not in set(t["documents"]["doc_id"])
    assert t["errors"][["source_file", "kind"]].values.tolist() == [["copy_of_000.txt", "duplicate"]]

    seen.clear()
    assert extract_to(raw, out, jobs=1, progress=False).up_to_date and not seen


def test_a_new_document_joins_a_partition_beside_its_carried_over_fragment(raw, tmp_path):
    """A second 汉阳区 2021 document on a re-run: its fragment lands beside the one carried over."""
    out = tmp_path / "out"
    extract_to(raw, out, jobs=1, progress=False)
    hy21 = out / "line_items.parquet" / "fiscal_year=2021" / "district=汉阳区"
    before = {p.name for p in hy21.iterdir()}
    (raw / "zz_revised_000.txt").write_bytes(seed_path("000").read_bytes() + "\n附：修订稿。\n".encode())
    assert extract_to(raw, out, jobs=1, progress=False).extracted == 1
    after = {p.name for p in hy21.iterdir()}
    assert before < after and len(after) == 2
    counts = read_tables(out)["line_items"]["doc_id"].value_counts()
    assert counts["hanyang-dsjzx-2021-final"] == 165 and counts.filter(like="hanyang-dsjzx-2021-final-").tolist() == [165]


def test_deleting_the_original_of_a_duplicate_promotes_the_copy(raw, tmp_path):
    out = tmp_path / "out"
    shutil.copy(seed_path("000"), raw / "zz_copy.txt")
    extract_to(raw, out, jobs=1, progress=False)
    next(raw.glob("000_*.txt")).unlink()
    extract_to(raw, out, jobs=1, progress=False)
    t = read_tables(out)
    assert t["errors"].empty
    assert t["documents"].set_index("doc_id").loc[HY21, "source_file"] == "zz_copy.txt"
    assert (t["line_items"]["doc_id"] == HY21).sum() == 165


def test_a_changed_catalog_re_extracts_everything(raw, tmp_path):
    out = tmp_path / "out"
    extract_to(raw, out, jobs=1, progress=False)
    (raw / "catalog.csv").write_text(f"source_file,department\n{seed_path('000').name},区大数据中心\n", encoding="utf-8")
    run = extract_to(raw, out, jobs=1, progress=False)
    assert run.extracted == 5
    docs = read_tables(out)["documents"].set_index("source_file")
    assert docs.loc[seed_path("000").name, "department"] == "区大数据中心"


def test_an_interrupted_run_changes_nothing(raw, tmp_path, monkeypatch):
    out = tmp_path / "out"
    extract_to(raw, out, jobs=1, progress=False)
    before = read_tables(out)
    f000 = next(raw.glob("000_*.txt"))
    f000.write_bytes(f000.read_bytes() + b"\n")

    import fiscal_nlp.store as store

    def interrupted(self, state=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(store.DatasetWriter, "commit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        extract_to(raw, out, jobs=1, progress=False)
    monkeypatch.undo()
    assert_same_tables(read_tables(out), before)
    assert not [p for p in out.iterdir() if p.name.startswith((".staging", ".trash"))]
    # the next run sees the edit and completes
    assert extract_to(raw, out, jobs=1, progress=False).extracted == 1


def test_a_swap_cut_short_is_repaired_by_the_next_run(raw, tmp_path):
    """Simulate a crash between moving a table aside and moving its new version in."""
    out = tmp_path / "out"
    extract_to(raw, out, jobs=1, progress=False)
    before = read_tables(out)
    trash = out / ".trash-crashed"
    trash.mkdir()
    (out / "line_items.parquet").rename(trash / "line_items.parquet")
    run = extract_to(raw, out, jobs=1, progress=False)
    assert run.extracted == 5  # state not trusted after an interrupted swap: everything again
    assert_same_tables(read_tables(out), before)


def test_a_second_writer_on_the_same_output_is_refused(tmp_path):
    """Two runs into one folder would undo each other's staging: the second stops with a clear error."""
    from fiscal_nlp.store import DatasetWriter

    first = DatasetWriter(tmp_path / "out")
    with pytest.raises(RuntimeError, match="another fiscal-nlp run is writing there"):
        extract_to(RAW, tmp_path / "out", jobs=1, progress=False)
    assert first.staging.is_dir()  # the first run's work is untouched
    first.abort()
    assert extract_to(RAW, tmp_path / "out", jobs=1, progress=False).extracted == 5


def test_a_packed_chunk_unpacks_to_the_same_per_document_tables():
    """Workers send a chunk's tables once (rows of its documents one after another): unpacked,
    every document gets back exactly its own rows, empty tables included."""
    from fiscal_nlp.pipeline import Chunk, extract_tables

    results = [extract_tables(p.read_bytes(), p.name) for p in sorted(RAW.glob("*.txt"))]
    results.append(extract_tables(b"", "empty.txt"))  # an errors-only result in the middle of nothing
    chunk = Chunk.pack(results)
    assert set(chunk.tables) >= {"documents", "line_items", "errors"}
    assert chunk.tables["documents"].num_rows == 5 and chunk.tables["line_items"].num_rows == 546
    back = chunk.unpack()
    assert len(back) == len(results)
    for original, unpacked in zip(results, back):
        assert set(unpacked) == set(original)
        for name, tbl in original.items():
            assert unpacked[name].equals(tbl), name


def test_a_chunk_converts_its_records_once_with_the_same_result_as_per_document():
    """`extract_chunk` builds each table once for all its documents (records -> Arrow): every
    document's rows and types are those `extract_tables` gives it alone, errors included."""
    from fiscal_nlp.pipeline import extract_chunk, extract_tables

    sources = [(p.name, p.read_bytes(), None) for p in sorted(RAW.glob("*.txt"))]
    sources.insert(2, ("empty.txt", b"", None))
    sources.append(("gone.txt", FileNotFoundError(2, "No such file or directory"), None))
    back = extract_chunk(sources).unpack()
    assert [sorted(n for n, t in r.items() if t.num_rows) for r in back][2] == ["errors"]
    assert back[-1]["errors"]["kind"].to_pylist() == ["unreadable"]
    for (name, data, _), got in zip(sources[:-1], back):
        alone = extract_tables(data, name)
        assert {n for n, t in got.items() if t.num_rows} == {n for n, t in alone.items() if t.num_rows}
        for table, tbl in alone.items():
            assert got[table].equals(tbl), (name, table)


def test_a_value_the_contract_rejects_costs_only_its_own_document(monkeypatch):
    """If a chunk's batch conversion fails, the chunk is converted document by document: the
    faulty document gets an `internal_error` row, the others their tables."""
    from fiscal_nlp import pipeline

    real = pipeline.document_records
    paths = sorted(RAW.glob("*.txt"))[:3]

    def faulty(doc):
        records = real(doc)
        if doc.source_file == paths[1].name:
            records["facts"] = [{"doc_id": doc.meta.doc_id, "key": "x", "value": "not a number", "unit": "万元",
                                 "text": "x", "source_line": 1}]
        return records

    monkeypatch.setattr(pipeline, "document_records", faulty)
    back = pipeline.extract_chunk([(p.name, p.read_bytes(), None) for p in paths]).unpack()
    assert back[1]["errors"]["kind"].to_pylist() == ["internal_error"]
    assert paths[1].name in back[1]["errors"]["message"][0].as_py()
    assert "not a number" in back[1]["errors"]["message"][0].as_py()
    assert back[0]["documents"].num_rows == back[2]["documents"].num_rows == 1
    assert back[0]["line_items"].num_rows > 0


def test_a_worker_freezes_its_long_lived_heap_after_its_first_chunk():
    """Worker processes `gc.freeze` what their first chunk leaves alive (modules, the jieba
    dictionary), so the collector stops rescanning it; the caller's own process is left alone."""
    import gc
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from fiscal_nlp.pipeline import extract_chunk

    source = [(seed_path("000").name, seed_path("000").read_bytes(), None)]
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        assert pool.submit(gc.get_freeze_count).result() == 0
        pool.submit(extract_chunk, source).result()
        assert pool.submit(gc.get_freeze_count).result() > 10_000
    extract_chunk(source)
    assert gc.get_freeze_count() == 0


def test_workers_exit_cleanly_after_freezing(tmp_path):
    """A script that imports duckdb (so its workers do too) and extracts with two workers: the
    frozen heap is released at exit, so nanobind reports no leaked DuckDB objects on stderr."""
    import subprocess
    import sys

    script = tmp_path / "run.py"
    script.write_text("import duckdb\nimport sys\n"
                      "if __name__ == '__main__':\n"
                      "    from fiscal_nlp.pipeline import extract_to\n"
                      "    print(extract_to(sys.argv[1], sys.argv[2], jobs=2, progress=False).extracted)\n")
    run = subprocess.run([sys.executable, str(script), str(RAW), str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "5"
    assert "leaked" not in run.stderr


def test_subfolders_are_walked_and_source_file_is_the_relative_path(tmp_path):
    """A downloaded tree (a folder per family): every file is found, source_file is its path relative to
    the raw folder, a catalog row names it by that path, and a re-run extracts only what changed."""
    from fiscal_nlp.pipeline import list_documents

    raw, out = tmp_path / "raw", tmp_path / "out"
    (raw / "wuhan" / "hanyang").mkdir(parents=True)
    (raw / ".hidden").mkdir()
    shutil.copy(seed_path("000"), raw / "wuhan" / "hanyang" / "a.txt")
    shutil.copy(seed_path("004"), raw / "wuhan" / "b.txt")
    shutil.copy(seed_path("002"), raw / "c.txt")
    shutil.copy(seed_path("001"), raw / ".hidden" / "d.txt")
    (raw / "wuhan" / "README.md").write_text("notes", encoding="utf-8")
    assert [p.relative_to(raw).as_posix() for p in list_documents(raw)] == ["c.txt", "wuhan/b.txt", "wuhan/hanyang/a.txt"]

    (raw / "catalog.csv").write_text("source_file,department\nwuhan/hanyang/a.txt,区大数据中心\n", encoding="utf-8")
    assert extract_to(raw, out, jobs=1, progress=False).extracted == 3
    docs = read_tables(out)["documents"].set_index("source_file")
    assert sorted(docs.index) == ["c.txt", "wuhan/b.txt", "wuhan/hanyang/a.txt"]
    assert docs.loc["wuhan/hanyang/a.txt", "department"] == "区大数据中心"
    assert docs.loc["wuhan/b.txt", "department"] == "汉阳区大数据中心"

    assert extract_to(raw, out, jobs=1, progress=False).up_to_date
    f = raw / "wuhan" / "b.txt"
    f.write_bytes(f.read_bytes() + "\n附：修订稿。\n".encode())
    run = extract_to(raw, out, jobs=1, progress=False)
    assert (run.extracted, run.unchanged) == (1, 2)
    assert_same_tables(read_tables(out), extract(raw, progress=False))
    # an output folder inside the tree is not read as documents
    extract_to(raw, raw / "processed", jobs=1, progress=False)
    assert len(list_documents(raw)) == 3


def test_catalog_bare_names_match_only_a_unique_file(tmp_path):
    from fiscal_nlp.pipeline import _catalog_rows

    catalog = {"a.txt": {"department": "甲"}, "x/b.txt": {"department": "乙"}, "c.txt": {"department": "丙"}}
    rows = _catalog_rows(catalog, ["x/a.txt", "x/b.txt", "y/b.txt", "x/c.txt", "y/c.txt"])
    assert rows == {"x/a.txt": {"department": "甲"}, "x/b.txt": {"department": "乙"}}


# ---------------------------------------------------------------- a worker that dies or overruns


def _without_errors(tables: dict) -> dict:
    return {name: df for name, df in tables.items() if name != "errors"}


def _pool_temp_dirs() -> list:
    import os
    import tempfile
    from pathlib import Path

    return list(Path(tempfile.gettempdir()).glob(f"fiscal-nlp-pool-{os.getpid()}-*"))


def test_a_dead_worker_costs_only_the_document_it_was_on(reference, raw, tmp_path, monkeypatch):
    """Two documents kill their worker (SIGKILL, as the OOM killer does, and os._exit, as a crash
    in native code does), each in a chunk with seeds: the pool replaces the worker, the two
    become `worker_crashed` rows and every seed is extracted exactly as in one process."""
    import faults
    from fiscal_nlp import pipeline

    monkeypatch.setattr(pipeline, "extract_chunk", faults.extract_chunk)
    (raw / "000_kill-worker.txt").write_text("部门预算", encoding="utf-8")  # sorted among the seeds:
    (raw / "003_exit-worker.txt").write_text("部门决算", encoding="utf-8")  # each shares a chunk with seeds
    out = tmp_path / "out"
    run = extract_to(raw, out, jobs=2, chunk_size=3, progress=False)
    assert (run.extracted, run.errors) == (5, 2)
    got = read_tables(out)
    errors = got["errors"].set_index("source_file")
    assert errors["kind"].to_dict() == {"000_kill-worker.txt": "worker_crashed", "003_exit-worker.txt": "worker_crashed"}
    assert "killed by SIGKILL" in errors.loc["000_kill-worker.txt", "message"]
    assert "exited with code 3" in errors.loc["003_exit-worker.txt", "message"]
    assert_same_tables(_without_errors(got), _without_errors(reference))
    assert not _pool_temp_dirs()


def test_documents_over_the_time_or_memory_limit_cost_only_themselves(reference, raw, tmp_path, monkeypatch):
    """A document that hangs and one that keeps 1 GB resident, each in a chunk with seeds: the
    driver stops their workers at the limits and the seeds are extracted as in one process."""
    import faults
    from fiscal_nlp import pipeline

    monkeypatch.setattr(pipeline, "extract_chunk", faults.extract_chunk)
    (raw / "001_hang.txt").write_text("部门预算", encoding="utf-8")
    (raw / "003_bloat.txt").write_text("部门决算", encoding="utf-8")
    out = tmp_path / "out"
    run = extract_to(raw, out, jobs=2, chunk_size=3, progress=False, timeout=8, memory_mb=900)
    got = read_tables(out)
    errors = got["errors"].set_index("source_file")
    assert (run.extracted, run.errors) == (5, 2), errors["message"].to_dict()
    assert errors["kind"].to_dict() == {"001_hang.txt": "timeout", "003_bloat.txt": "resource_limit"}
    assert "longer than the 8 s limit" in errors.loc["001_hang.txt", "message"]
    assert "900 MB memory limit" in errors.loc["003_bloat.txt", "message"]
    assert_same_tables(_without_errors(got), _without_errors(reference))
    assert not _pool_temp_dirs()


def test_a_decompression_bomb_pdf_becomes_an_error_row_within_the_limits(reference, raw, tmp_path):
    """Its page content inflates to 1 GB: without limits its worker runs for minutes and grows past
    gigabytes. Stopped at the limits, it costs only itself, and its temporary copy is removed."""
    import faults

    (raw / "002_bomb.pdf").write_bytes(faults.decompression_bomb_pdf(1024))
    out = tmp_path / "out"
    run = extract_to(raw, out, jobs=2, chunk_size=2, progress=False, timeout=15, memory_mb=1500)
    got = read_tables(out)
    assert (run.extracted, run.errors) == (5, 1), got["errors"]["message"].tolist()
    [(name, kind)] = got["errors"][["source_file", "kind"]].itertuples(index=False)
    assert name == "002_bomb.pdf" and kind in ("timeout", "resource_limit")
    assert_same_tables(_without_errors(got), _without_errors(reference))
    assert not _pool_temp_dirs()


# ---------------------------------------------------------------- amounts of absurd length


def test_an_absurd_digit_run_is_a_warning_not_the_loss_of_the_document():
    """Digit runs a PDF glued together (27 to 60 digits) in a table cell and in two statements of
    seed 000: the document is still extracted; the cell is not read as an amount, and each line
    gets an `implausible_amount` warning."""
    from fiscal_nlp.pipeline import extract_bytes

    text = seed_path("000").read_text(encoding="utf-8")
    glued = "123456789012345678901234567"  # 27 digits
    for printed, absurd in [("2010350\t事业运行\t335.75\t335.75", f"2010350\t事业运行\t{glued}\t335.75"),  # line 157
                            ("收、支总计均为 2785.73 万元", f"收、支总计均为 {glued * 2}.73 万元"),           # line 335
                            ("年初预算为2272.01万元", f"年初预算为{glued}.01万元")]:                       # line 381
        assert printed in text
        text = text.replace(printed, absurd)
    tables = extract_bytes(text.encode("utf-8"), "000_glued.txt")
    assert "errors" not in tables or tables["errors"].empty
    warnings = tables["checks"].query("check == 'implausible_amount'")
    assert sorted(warnings["source_line"]) == [157, 335, 381]
    assert set(warnings["severity"]) == {"warning"}
    items = tables["line_items"]
    # line 157 keeps its 基本支出 (335.75); the glued 本年支出合计 is no amount, so no row holds it
    assert items.query("source_line == 157")["amount"].tolist() == [335.75]
    assert items["amount"].max() < 1e15
    assert len(items) == 165 - 1


# ---------------------------------------------------------------- entries that are not documents


def test_fifos_symlink_loops_and_hidden_files_each_get_an_errors_row(raw, tmp_path):
    """None of them is opened (a FIFO would block the run); each is named in `errors` with why,
    the seeds are extracted, and an unchanged folder is then up to date."""
    import os

    os.mkfifo(raw / "pipe.txt")
    (raw / "loop.txt").symlink_to("loop.txt")
    (raw / "dangling.txt").symlink_to("nowhere.txt")
    (raw / ".hidden.txt").write_bytes(seed_path("000").read_bytes())
    (raw / "subfolder").mkdir()
    out = tmp_path / "out"
    run = extract_to(raw, out, jobs=1, progress=False)
    assert (run.extracted, run.errors) == (5, 4)
    errors = read_tables(out)["errors"].set_index("source_file")
    assert errors["kind"].to_dict() == {".hidden.txt": "hidden_file", "dangling.txt": "unreadable",
                                        "loop.txt": "unreadable", "pipe.txt": "not_a_file"}
    assert "FIFO" in errors.loc["pipe.txt", "message"]
    assert "symbolic links" in errors.loc["loop.txt", "message"]
    assert extract_to(raw, out, jobs=1, progress=False).up_to_date
    (raw / ".hidden.txt").unlink()
    run = extract_to(raw, out, jobs=1, progress=False)
    assert run.removed == 1 and ".hidden.txt" not in set(read_tables(out)["errors"]["source_file"])


def test_a_district_too_long_for_a_folder_name_costs_only_its_document(raw, tmp_path):
    f000 = seed_path("000").name
    (raw / "catalog.csv").write_text(f"source_file,district\n{f000},{'很长的区' * 30}\n", encoding="utf-8")
    out = tmp_path / "out"
    run = extract_to(raw, out, jobs=1, progress=False)
    assert (run.extracted, run.errors) == (4, 1)
    [(name, kind)] = read_tables(out)["errors"][["source_file", "kind"]].itertuples(index=False)
    assert (name, kind) == (f000, "district_too_long")


# ---------------------------------------------------------------- two documents of one identity


def test_documents_of_one_identity_get_doc_ids_by_content_not_by_run_history(raw, tmp_path):
    """A second copy of seed 000 with one line more (same district, department, year and kind): the
    later file in name order gets its hash in its doc_id and an `identity_collision` warning, and
    an incremental run names both exactly as a fresh run would, whichever came first or went."""
    def fresh(folder):
        out = tmp_path / f"fresh-{len(list(tmp_path.iterdir()))}"
        extract_to(folder, out, jobs=1, progress=False)
        return read_tables(out)

    first = seed_path("000").name
    variant = raw / "zz_000_variant.txt"
    variant.write_bytes(seed_path("000").read_bytes() + "\n附：本文件另存一份。\n".encode("utf-8"))
    aside = tmp_path / "aside"
    aside.mkdir()
    (raw / first).rename(aside / first)
    out = tmp_path / "out"
    extract_to(raw, out, jobs=1, progress=False)  # only the variant: it has the bare doc_id
    assert HY21 in set(read_tables(out)["documents"]["doc_id"])

    (aside / first).rename(raw / first)  # the original comes (back), sorting first
    extract_to(raw, out, jobs=1, progress=False)
    now = read_tables(out)
    assert_same_tables(now, fresh(raw))
    docs = now["documents"].set_index("source_file")["doc_id"]
    assert docs[first] == HY21 and docs[variant.name].startswith(HY21 + "-") and docs[variant.name] != HY21
    [detail] = now["checks"].query("check == 'identity_collision'")["detail"]
    assert variant.name in detail and first in detail

    (raw / first).unlink()  # and goes again: the variant takes the bare doc_id back
    extract_to(raw, out, jobs=1, progress=False)
    now = read_tables(out)
    assert_same_tables(now, fresh(raw))
    assert now["documents"].set_index("source_file")["doc_id"][variant.name] == HY21
