"""fiscal-nlp extract: the batch survives bad input, writes atomically, and is idempotent."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import RAW, seed_path
from fiscal_nlp.cli import main
from fiscal_nlp.store import read_table, read_tables


@pytest.fixture()
def messy_raw(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for seed in ("000", "003"):
        shutil.copy(seed_path(seed), raw)
    shutil.copy(seed_path("000"), raw / "copy_of_000.txt")                       # duplicate
    (raw / "empty.txt").write_bytes(b"")                                          # empty
    (raw / "scan.txt").write_bytes(bytes(range(256)) * 40)                        # binary named .txt
    (raw / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")     # truncated PDF
    (raw / "minutes.txt").write_text("会议纪要\n今天讨论了食堂菜单。\n", "utf-8")    # not a disclosure
    (raw / "table.xlsx").write_bytes(b"PK\x03\x04")                               # a broken workbook
    return raw


def test_bad_input_costs_nothing_else(messy_raw, tmp_path):
    out = tmp_path / "out"
    assert main(["extract", str(messy_raw), "-o", str(out), "-q"]) == 0
    t = read_tables(out)
    assert sorted(t["documents"]["source_file"]) == ["000_b48aa8d80c836ecf.txt", "003_4a269030347ad5ed.txt"]
    errors = dict(zip(t["errors"]["source_file"], t["errors"]["kind"]))
    assert errors == {"copy_of_000.txt": "duplicate", "empty.txt": "empty", "scan.txt": "binary",
                      "broken.pdf": "pdf_corrupt", "minutes.txt": "not_a_disclosure", "table.xlsx": "xlsx_corrupt"}
    assert all(f in m for f, m in zip(t["errors"]["source_file"], t["errors"]["message"]))
    # the good documents are complete: 165 + 202 cells read by hand from 000 and 003
    assert t["line_items"].groupby("doc_id").size().to_dict() == {"hanyang-dsjzx-2021-final": 165, "qingshan-dsjzx-2024-final": 202}
    assert main(["extract", str(messy_raw), "-o", str(out), "-q", "--strict"]) == 1


def test_rerun_is_idempotent_and_duckdb_matches(tmp_path, capsys):
    out = tmp_path / "out"
    main(["extract", str(RAW), "-o", str(out), "-q"])
    first = read_table(out, "line_items")
    assert main(["extract", str(RAW), "-o", str(out)]) == 0
    assert "up to date (5 documents unchanged)" in " ".join(capsys.readouterr().err.split())
    assert read_table(out, "line_items").equals(first)
    import duckdb

    con = duckdb.connect(str(out / "fiscal.duckdb"), read_only=True)
    assert con.execute("select count(*) from line_items").fetchone()[0] == first.num_rows == 546
    assert con.execute("select count(*) from documents").fetchone()[0] == 5


def test_a_crash_mid_write_leaves_the_old_output_intact(tmp_path, monkeypatch):
    out = tmp_path / "out"
    main(["extract", str(RAW), "-o", str(out), "-q"])
    before = read_table(out, "line_items")
    import fiscal_nlp.store as store

    def boom(table, where, **kw):
        open(where, "wb").write(b"PAR1 half")
        raise KeyboardInterrupt

    monkeypatch.setattr(store.pq, "write_table", boom)
    with pytest.raises(KeyboardInterrupt):
        store.write_tables(read_tables(out), out)
    monkeypatch.undo()
    assert read_table(out, "line_items").equals(before)
    assert not [p for p in out.iterdir() if p.name.startswith((".staging", ".trash"))]


def test_extract_fans_out_over_a_process_pool(messy_raw, tmp_path):
    """--jobs 2: the same tables as one process, bad files included."""
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["extract", str(messy_raw), "-o", str(one), "-q", "--jobs", "1"]) == 0
    assert main(["extract", str(messy_raw), "-o", str(two), "-q", "--jobs", "2"]) == 0
    a, b = read_tables(one), read_tables(two)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def test_unknown_dask_scheduler_is_a_clear_error(tmp_path, capsys):
    code = main(["extract", str(RAW), "-o", str(tmp_path / "o"), "-q", "--executor", "dask",
                 "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 2 and "error:" in capsys.readouterr().err
    assert not (tmp_path / "o" / "documents.parquet").exists()


def test_help_is_clear(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "extract" in capsys.readouterr().out


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/stat"), reason="reads /proc")
def test_sigterm_stops_the_run_cleanly(tmp_path):
    """SIGTERM (timeout, systemd, a batch scheduler) mid-extraction: the run stops as for Ctrl-C,
    no worker, staging folder or temporary file is left, and the output folder is not half-written."""
    import signal
    import subprocess
    import sys
    import tempfile
    import time

    import faults
    from test_executors import _alive, _children, _wait_for

    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    (raw / "bomb.pdf").write_bytes(faults.decompression_bomb_pdf(1024))  # keeps a worker busy for minutes
    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, "-m", "fiscal_nlp.cli", "extract", str(raw), "-o", str(out), "-q",
                               "--jobs", "2", "--timeout", "0", "--memory-limit", "0"], stderr=subprocess.PIPE)
    try:
        assert _wait_for(lambda: len(_children(driver.pid)) >= 2), "the workers did not start"
        workers = _children(driver.pid)
        time.sleep(3)
        driver.send_signal(signal.SIGTERM)
        assert driver.wait(60) == 130
        assert _wait_for(lambda: not any(map(_alive, workers)), 10), "workers outlived their driver"
    finally:
        driver.kill()
        driver.wait()
    assert [p.name for p in out.iterdir() if p.name != ".lock"] == []  # nothing was committed, nothing left
    assert not list(Path(tempfile.gettempdir()).glob(f"fiscal-nlp-pool-{driver.pid}-*"))


def test_build_while_an_extraction_writes_is_a_clear_error(tmp_path, capsys):
    from fiscal_nlp.store import DatasetWriter

    writer = DatasetWriter(tmp_path / "processed")  # holds the lock, as a running extract does
    try:
        code = main(["build", "--raw", str(RAW), "--processed", str(tmp_path / "processed"),
                     "--reports", str(tmp_path / "reports"), "--jobs", "1"])
    finally:
        writer.abort()
    assert code == 2
    assert "another fiscal-nlp run is writing there" in " ".join(capsys.readouterr().err.split())  # rich wraps lines
