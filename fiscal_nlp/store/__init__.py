"""Store stage: contract tables -> hive-partitioned Parquet datasets and `fiscal.duckdb`.

Each table is a directory `<out>/<name>.parquet/fiscal_year=<y>/district=<d>/part-<batch>.parquet`
(`errors` has no partitions: its rows belong to no identified document). pandas/pyarrow
(`read_parquet` on the directory), DuckDB (`read_parquet('<out>/<name>.parquet/**/*.parquet',
hive_partitioning=true)`), Spark and Trino read each directory as one table; the partition keys
come back as the columns `fiscal_year` and `district` (for `documents` they are its own columns).

Writes never touch the live output: a `DatasetWriter` writes fragments into a staging
directory next to it (kept fragments of an incremental run are hard-linked, rewritten ones
filtered), and `commit()` swaps the staged tables in with renames, then rebuilds the DuckDB
file atomically. An interrupted run leaves the previous output intact; the next run clears
the leftovers (and, if a swap itself was interrupted, restores the old tables and extracts
everything again). One writer at a time: `<out>/.lock` is held for the whole run, and a second
run into the same folder stops with a clear error instead of disturbing the first.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..schema import TABLES, arrow_schema, conform, to_arrow, to_pandas

DUCKDB_NAME = "fiscal.duckdb"
DUCKDB_MEMORY_LIMIT = "512MB"
STATE_NAME = "_extraction.json"  # leading underscore: ignored by pyarrow, Spark and the **/*.parquet glob
PARTITION_COLUMNS = ("fiscal_year", "district")
PARTITIONING_SCHEMA = pa.schema([("fiscal_year", pa.int64()), ("district", pa.string())])
UNPARTITIONED = frozenset({"errors"})
NULL_SEGMENT = "__HIVE_DEFAULT_PARTITION__"  # Hive's spelling of NULL, read as null by every engine above
_STAGING, _TRASH = ".staging-", ".trash-"


def table_path(out_dir: str | Path, name: str) -> Path:
    return Path(out_dir) / f"{name}.parquet"


def partitioning(name: str) -> ds.Partitioning | None:
    """The explicit hive partitioning of table `name` (what `read_tables` passes to pyarrow)."""
    return None if name in UNPARTITIONED else ds.partitioning(PARTITIONING_SCHEMA, flavor="hive")


def _segment(key: str, value) -> str:
    """`district=汉阳区`: readable; only characters that would change the path are %-escaped
    (pyarrow reads the hive segments URI-decoded, so the value round-trips)."""
    if value is None or value == "" or (isinstance(value, float) and pd.isna(value)):
        return f"{key}={NULL_SEGMENT}"
    text = str(value)
    escaped = "".join(f"%{ord(c):02X}" if c in "%/\\" or ord(c) < 32 else c for c in text)
    return f"{key}={escaped}"


def partition_dir(fiscal_year, district) -> str:
    return f"{_segment('fiscal_year', fiscal_year)}/{_segment('district', district)}"


def _fragment_dirs(table: pa.Table) -> Iterable[tuple[str, pa.Table]]:
    """Split `table` (carrying the partition columns) into (relative dir, rows without them).

    One stable sort by the keys, then zero-copy slices: rows keep their order within a partition.
    """
    keys = [(c, "ascending") for c in PARTITION_COLUMNS]
    table = table.take(pc.sort_indices(table.select(list(PARTITION_COLUMNS)), sort_keys=keys))
    years, districts = table["fiscal_year"].to_pylist(), table["district"].to_pylist()
    body = table.drop_columns(list(PARTITION_COLUMNS))
    start = 0
    for i in range(1, len(years) + 1):
        if i == len(years) or (years[i], districts[i]) != (years[start], districts[start]):
            yield partition_dir(years[start], districts[start]), body.slice(start, i - start)
            start = i


def _recover(out: Path) -> bool:
    """Clear what an interrupted run left; True when a swap was interrupted (state not to be trusted)."""
    interrupted = False
    for trash in out.glob(f"{_TRASH}*"):
        for item in trash.iterdir():
            if not (out / item.name).exists():
                os.replace(item, out / item.name)
        interrupted = True
        shutil.rmtree(trash, ignore_errors=True)
    for staging in out.glob(f"{_STAGING}*"):
        shutil.rmtree(staging, ignore_errors=True)
    return interrupted


def _lock(out: Path):
    """An exclusive lock on `<out>/.lock`, released when the returned file is closed."""
    fh = open(out / ".lock", "a+")
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one writer at a time is then the user's care
        return fh
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise RuntimeError(f"{out}: another fiscal-nlp run is writing there; wait for it to finish") from None
    return fh


class DatasetWriter:
    """Write contract tables fragment by fragment; nothing is visible until `commit()`.

    `carry_over(previous_batches_to_drop, doc_ids, source_files)` first copies the live output
    into the staging area (hard links, except for fragments of `batches` that held a stale
    document: those are rewritten without its rows). `write(tables, batch)` then adds one
    fragment per table and partition. Tables must carry `fiscal_year` and `district` (see
    `with_partition_columns`) unless they are unpartitioned.
    """

    def __init__(self, out_dir: str | Path):
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock = _lock(self.out)  # one writer at a time: recovery must not touch a live run's staging
        self.interrupted_before = _recover(self.out)
        self.run_id = uuid.uuid4().hex[:10]
        self.staging = self.out / f"{_STAGING}{self.run_id}"
        self.staging.mkdir()
        self.rows_written = {name: 0 for name in TABLES}
        self._made: set[Path] = set()  # partition folders already created in staging

    def carry_over(self, batches: set[str], doc_ids: set[str], source_files: set[str]) -> None:
        """Bring the live tables into staging, minus the rows of stale documents."""
        for name in TABLES:
            live = table_path(self.out, name)
            if not live.is_dir():
                continue
            for frag in live.rglob("*.parquet"):
                rel = frag.relative_to(live)
                target = table_path(self.staging, name) / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                if frag.stem.removeprefix("part-") not in batches:
                    os.link(frag, target)
                    continue
                tbl = pq.read_table(frag)
                key, drop = ("source_file", source_files) if name in ("errors", "documents") else ("doc_id", doc_ids)
                keep = tbl.filter(pc.invert(pc.is_in(tbl[key], value_set=pa.array(sorted(drop), pa.string()))))
                if keep.num_rows:
                    pq.write_table(keep, target)

    def write(self, tables: dict[str, pa.Table], batch: str) -> None:
        """One fragment per table and partition, named after `batch` (tables carry the partition columns)."""
        for name, tbl in tables.items():
            if tbl is None or tbl.num_rows == 0:
                continue
            for rel, rows in [("", tbl)] if name in UNPARTITIONED else _fragment_dirs(tbl):
                self._fragment(name, rel, rows, batch)

    def write_partition(self, fiscal_year, district, tables: dict[str, pa.Table], batch: str) -> None:
        """Contract tables whose rows all belong to one partition: no sort, no copy (the driver's path)."""
        rel = partition_dir(fiscal_year, district)
        for name, tbl in tables.items():
            if tbl is None or tbl.num_rows == 0:
                continue
            keys = [c for c in PARTITION_COLUMNS if c in tbl.column_names]
            self._fragment(name, "" if name in UNPARTITIONED else rel, tbl.drop_columns(keys), batch)

    def write_documents(self, results: list[dict[str, pa.Table]], batch: str) -> None:
        """Per-document results, grouped by their document's partition (all of a document's rows
        share it), each group written as one zero-copy concatenation."""
        groups: dict[tuple, list[dict[str, pa.Table]]] = {}
        for r in results:
            docs = r.get("documents")
            doc = docs.slice(0, 1).to_pylist()[0] if docs is not None and docs.num_rows else {}
            groups.setdefault((doc.get("fiscal_year"), doc.get("district")), []).append(r)
        for (year, district), group in groups.items():
            tables = {name: pa.concat_tables(parts) for name in TABLES
                      if (parts := [r[name] for r in group if r.get(name) is not None and r[name].num_rows])}
            self.write_partition(year, district, tables, batch)

    def _fragment(self, name: str, rel: str, rows: pa.Table, batch: str) -> None:
        folder = table_path(self.staging, name) / rel
        if folder not in self._made:
            folder.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)
        pq.write_table(rows, folder / f"part-{batch}.parquet")
        self.rows_written[name] += rows.num_rows

    def commit(self, state: dict | None = None) -> Path:
        """Swap the staged tables in, write the incremental state, rebuild fiscal.duckdb."""
        for name in TABLES:  # every table exists, even when empty, so readers find all of them
            table_path(self.staging, name).mkdir(exist_ok=True)
        if state is not None:
            (self.staging / STATE_NAME).write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        trash = self.out / f"{_TRASH}{self.run_id}"
        trash.mkdir()
        names = [table_path(self.out, n).name for n in TABLES] + [STATE_NAME]
        for item in names:
            live, staged = self.out / item, self.staging / item
            if live.exists():
                os.replace(live, trash / item)
            if staged.exists():
                os.replace(staged, live)
        shutil.rmtree(trash, ignore_errors=True)
        shutil.rmtree(self.staging, ignore_errors=True)
        try:
            return build_duckdb(self.out)
        finally:
            self._lock.close()

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        self._lock.close()


def with_partition_columns(tables: dict[str, pa.Table], documents: pa.Table) -> dict[str, pa.Table]:
    """Append `fiscal_year`/`district` to every partitioned table (looked up by doc_id in `documents`)."""
    ids = documents["doc_id"].to_pylist()
    year = dict(zip(ids, documents["fiscal_year"].to_pylist()))
    district = dict(zip(ids, documents["district"].to_pylist()))
    out = {}
    for name, tbl in tables.items():
        if name in UNPARTITIONED or name == "documents" or tbl is None:  # documents has the columns itself
            out[name] = tbl
        else:
            doc = tbl["doc_id"].to_pylist()
            out[name] = tbl.append_column("fiscal_year", pa.array([year.get(d) for d in doc], pa.int64())) \
                .append_column("district", pa.array([district.get(d) for d in doc], pa.string()))
    return out


def as_arrow(tables: dict[str, pd.DataFrame | pa.Table | None]) -> dict[str, pa.Table]:
    """Contract tables (DataFrames or Arrow) -> Arrow tables with the declared schema."""
    return {name: t if isinstance(t, pa.Table) else to_arrow(name, conform(name, t)) for name, t in tables.items()}


def write_tables(tables: dict[str, pd.DataFrame], out_dir: str | Path) -> dict[str, Path]:
    """Replace the output in `out_dir` with `tables` (missing ones empty): one batch, then DuckDB."""
    arrow = as_arrow({name: tables.get(name) for name in TABLES})
    writer = DatasetWriter(out_dir)
    try:
        writer.write(with_partition_columns(arrow, arrow["documents"]), batch=writer.run_id)
        duck = writer.commit()
    except BaseException:
        writer.abort()
        raise
    return {**{name: table_path(out_dir, name) for name in TABLES}, "duckdb": duck}


def build_duckdb(out_dir: str | Path) -> Path:
    """(Re)build `fiscal.duckdb` from the Parquet datasets in `out_dir`, one table each (atomically)."""
    out = Path(out_dir)
    final = out / DUCKDB_NAME
    tmp = out / f".{DUCKDB_NAME}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        # bounded memory whatever the corpus size: DuckDB spills to disk beyond this
        con = duckdb.connect(str(tmp), config={"memory_limit": DUCKDB_MEMORY_LIMIT, "preserve_insertion_order": False,
                                               "temp_directory": str(out / ".duckdb-spill")})
        try:
            for name in TABLES:
                path = table_path(out, name)
                if any(path.rglob("*.parquet")) if path.is_dir() else False:
                    hive = ("hive_partitioning=false" if name in UNPARTITIONED else
                            "hive_partitioning=true, hive_types={'fiscal_year': BIGINT, 'district': VARCHAR}")
                    con.execute(f"CREATE TABLE \"{name}\" AS SELECT * FROM "
                                f"read_parquet('{_sql_path(path)}/**/*.parquet', {hive}, union_by_name=true)")
                else:  # an empty table still exists, with its declared columns
                    con.register("_empty", arrow_schema(name).empty_table())
                    con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _empty')
                    con.unregister("_empty")
        finally:
            con.close()
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(out / ".duckdb-spill", ignore_errors=True)
    return final


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")


def read_table(out_dir: str | Path, name: str) -> pa.Table:
    """One contract table as Arrow, exactly the declared columns (partition keys folded back in)."""
    path = table_path(out_dir, name)
    schema = arrow_schema(name)
    if not path.exists():
        return schema.empty_table()
    if path.is_file():  # a single-file table written by fiscal_nlp < 0.2
        return pq.read_table(path).select(schema.names).cast(schema)
    tbl = ds.dataset(path, format="parquet", partitioning=partitioning(name)).to_table()
    if tbl.num_rows == 0:
        return schema.empty_table()
    # fragments hold whole documents in extraction order: a stable sort by document restores a fixed order
    key = "source_file" if name == "errors" else "doc_id"
    tbl = tbl.take(pc.sort_indices(tbl, sort_keys=[(key, "ascending")]))
    return tbl.select(schema.names).cast(schema)


def read_tables(out_dir: str | Path, names=None) -> dict[str, pd.DataFrame]:
    """Read contract tables back from `out_dir` (what notebooks and tests use)."""
    return {name: to_pandas(read_table(out_dir, name)) for name in names or TABLES}


def load_state(out_dir: str | Path) -> dict | None:
    """What the last extraction into `out_dir` read (file -> sha256, doc_id, batch), or None."""
    try:
        return json.loads((Path(out_dir) / STATE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


__all__ = ["write_tables", "read_tables", "read_table", "build_duckdb", "DatasetWriter",
           "load_state", "table_path", "partitioning", "PARTITION_COLUMNS", "DUCKDB_NAME", "STATE_NAME"]
