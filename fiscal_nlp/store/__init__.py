"""Store stage: contract tables -> `<out>/<name>.parquet` and `<out>/fiscal.duckdb`, written atomically.

Each file is written to a temporary name in the same directory and moved into place with
`os.replace`, so an interrupted run never leaves a half-written Parquet or database behind.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from ..schema import TABLES, conform, to_arrow, to_pandas

DUCKDB_NAME = "fiscal.duckdb"


def _atomic_path(final: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    os.unlink(tmp)
    return Path(tmp)


def write_tables(tables: dict[str, pd.DataFrame], out_dir: str | Path) -> dict[str, Path]:
    """Write every contract table (missing ones as empty tables) as Parquet, then the DuckDB file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in TABLES:
        arrow = to_arrow(name, conform(name, tables.get(name)))
        final = out / f"{name}.parquet"
        tmp = _atomic_path(final)
        try:
            pq.write_table(arrow, tmp)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        written[name] = final
    written["duckdb"] = build_duckdb(out)
    return written


def build_duckdb(out_dir: str | Path) -> Path:
    """(Re)build `fiscal.duckdb` from the Parquet files in `out_dir`, one table each."""
    out = Path(out_dir)
    final = out / DUCKDB_NAME
    tmp = _atomic_path(final)
    try:
        con = duckdb.connect(str(tmp))
        try:
            for name in TABLES:
                path = out / f"{name}.parquet"
                if path.exists():
                    con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM read_parquet(?)', [str(path)])
        finally:
            con.close()
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def read_tables(out_dir: str | Path, names=None) -> dict[str, pd.DataFrame]:
    """Read contract tables back from `out_dir` (what notebooks and tests use)."""
    out = Path(out_dir)
    result = {}
    for name in names or TABLES:
        path = out / f"{name}.parquet"
        result[name] = to_pandas(pq.read_table(path)) if path.exists() else conform(name, None)
    return result
