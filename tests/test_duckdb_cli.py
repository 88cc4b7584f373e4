"""fiscal.duckdb opens in the DuckDB CLI users have (the `duckdb-cli` package of the dev extra, 1.5.x):
the library that writes it is pinned to the same storage generation (pyproject: duckdb>=1.5.6,<1.6)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_analysis import build_seed_processed


def _duckdb_cli() -> str | None:
    local = Path(sys.executable).parent / "duckdb"  # installed by `pip install duckdb-cli` into the venv
    return str(local) if local.exists() else shutil.which("duckdb")


def test_duckdb_cli_opens_fiscal_duckdb(tmp_path):
    cli = _duckdb_cli()
    if cli is None:
        pytest.skip("no duckdb CLI (the dev extra installs duckdb-cli)")
    out = build_seed_processed(tmp_path / "processed")
    proc = subprocess.run([cli, "-readonly", "-csv", str(out / "fiscal.duckdb"), "-c",
                           "select count(*) as n from documents; "
                           "select label_zh from labels where kind = 'check' and code = 'unit_slip'; "
                           "select amount from line_items where doc_id = 'hanyang-dsjzx-2021-final' "
                           "and table_key = 'expenditure' and item = '合计' and \"column\" = '项目支出'"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split()
    assert lines[:2] == ["n", "5"]
    assert "计量单位笔误" in [x.strip("\"") for x in lines]
    assert "2399.3" in lines  # 000 line 154: 合计 … 项目支出 2,399.30


def test_library_and_cli_share_a_storage_generation():
    import duckdb

    cli = _duckdb_cli()
    if cli is None:
        pytest.skip("no duckdb CLI")
    version = subprocess.run([cli, "--version"], capture_output=True, text=True).stdout.split()[0].lstrip("v")
    assert duckdb.__version__.split(".")[:2] == version.split(".")[:2], (duckdb.__version__, version)
