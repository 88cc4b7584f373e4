"""Store stage: contract tables -> hive-partitioned Parquet datasets and `fiscal.duckdb`.

Each table is a directory `<out>/<name>.parquet/fiscal_year=<y>/district=<d>/part-<run>-<n>.parquet`
(`errors` has no partitions: its rows belong to no identified document). pandas/pyarrow
(`read_parquet` on the directory), DuckDB (`read_parquet('<out>/<name>.parquet/**/*.parquet',
hive_partitioning=true)`), Spark and Trino read each directory as one table; the partition keys
come back as the columns `fiscal_year` and `district` (for `documents` they are its own columns).

Writes never touch the live output. Each run builds a complete new version in
`<out>/.versions/<run id>/` (tables, fiscal.duckdb, the state file): a `DatasetWriter` spills each
batch it is given there (one file per table, so the driver's memory stays flat), and `commit()`
builds `fiscal.duckdb`, splits the spilled rows into one fragment per partition, and switches
`<out>/.current` to the new version with one rename. `<out>/<table>.parquet`, `fiscal.duckdb` and
the state file are symlinks through `.current`, so a reader sees the old version or the new one,
never a mix; the version before the last stays (a reader may still be on it), older ones go.
An incremental run first carries the live fragments over (hard links; those of partitions that
held a stale document are rewritten without its rows). An interrupted run, however often, leaves
the previous version live; the next run removes what it left. One writer at a time: `<out>/.lock`
is held for the whole run, and a second run into the same folder stops with a clear error.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from urllib.parse import unquote
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..schema import TABLES, arrow_schema, conform, to_arrow, to_pandas

DUCKDB_NAME = "fiscal.duckdb"
DUCKDB_MEMORY_LIMIT = "256MB"
STATE_NAME = "_extraction.json"  # leading underscore: ignored by pyarrow, Spark and the **/*.parquet glob
PARTITION_COLUMNS = ("fiscal_year", "district")
PARTITIONING_SCHEMA = pa.schema([("fiscal_year", pa.int64()), ("district", pa.string())])
UNPARTITIONED = frozenset({"errors"})
NULL_SEGMENT = "__HIVE_DEFAULT_PARTITION__"  # Hive's spelling of NULL, read as null by every engine above
_STAGING, _TRASH = ".staging-", ".trash-"
_VERSIONS = ".versions"  # <out>/.versions/<run id>/: one complete output each (tables, fiscal.duckdb, state)
_CURRENT = ".current"  # symlink to the live version; what readers see switches with its one rename
_ITEMS = (*(f"{name}.parquet" for name in TABLES), DUCKDB_NAME, STATE_NAME)
_SPILL = ".spill"  # inside staging: the batches, before they are split into partitions


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


def _recover(out: Path) -> bool:
    """Clear what an interrupted run left; True when a swap of the layout before versions
    (fiscal_nlp < 0.3: tables moved aside one by one) was interrupted: its state is not to be trusted.

    Versions need no repair: `.current` names a complete one whatever was interrupted. This only
    removes unfinished versions, and finishes the links of `_link_items` if they were cut short."""
    interrupted = False
    for trash in out.glob(f"{_TRASH}*"):
        for item in trash.iterdir():
            if not (out / item.name).exists() and not (out / item.name).is_symlink():
                os.replace(item, out / item.name)
        interrupted = True
        shutil.rmtree(trash, ignore_errors=True)
    for leftover in [*out.glob(f"{_STAGING}*"), *out.glob(f".{DUCKDB_NAME}.*.tmp"),
                     *(out / _VERSIONS).glob(f"{_STAGING}*"), *out.glob(f"{_CURRENT}.*.tmp")]:
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    if _current_version(out) is not None:
        _link_items(out)
    return interrupted


def _current_version(out: Path) -> str | None:
    """The version `.current` points to (its folder name), None before the first versioned commit."""
    try:
        return Path(os.readlink(out / _CURRENT)).name
    except OSError:
        return None


def _point(link: Path, target: Path) -> None:
    """Make `link` a symlink to `target` in one rename (a reader sees the old or the new target, never none)."""
    tmp = link.with_name(f"{link.name}.{uuid.uuid4().hex[:8]}.tmp")
    os.symlink(target, tmp)
    os.replace(tmp, link)
    _fsync_dir(link.parent)


def _link_items(out: Path) -> None:
    """`<out>/<table>.parquet`, `fiscal.duckdb` and the state file as links through `.current`, made
    once: after that a commit only switches `.current`. An output written before versions holds
    real folders there: they are moved aside and removed once every link is in place, and an
    interrupted migration is finished by the next run (`_recover`)."""
    legacy = out / f"{_TRASH}migrated"
    for item in _ITEMS:
        path, target = out / item, Path(_CURRENT) / item
        if path.is_symlink() and Path(os.readlink(path)) == target:
            continue
        if path.exists() and not path.is_symlink():
            legacy.mkdir(exist_ok=True)
            os.replace(path, legacy / item)
        _point(path, target)
    shutil.rmtree(legacy, ignore_errors=True)


def _drop_versions(out: Path, keep: set) -> None:
    """Remove complete versions other than `keep` (the new one, and the one readers may still be reading)."""
    for version in (out / _VERSIONS).iterdir():
        if version.name not in keep and not version.name.startswith(_STAGING):
            shutil.rmtree(version, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    """A rename in `path` survives a power cut (POSIX: sync the folder); a no-op where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
    """Write contract tables batch by batch; nothing is visible until `commit()`.

    `write(tables)` spills one batch as one Parquet file per table into the staging area (a
    handful of large files per flush, however many partitions the batch touches). `commit()`
    then builds fiscal.duckdb, splits the spilled rows into one fragment per partition (not one
    per partition and flush: see `_partition`), and swaps the tables in. `carry_over(partitions,
    doc_ids, source_files)` first brings the live
    output into staging: hard links, except for fragments in `partitions` (those that held a
    stale document), which are rewritten without its rows.
    """

    def __init__(self, out_dir: str | Path):
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock = _lock(self.out)  # one writer at a time: recovery must not touch a live run's staging
        self.interrupted_before = _recover(self.out)
        # sorts by start time, to the microsecond (two runs in one second must still sort in order)
        now = time.time_ns()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now // 10**9))
        self.run_id = f"{stamp}.{now // 1000 % 1_000_000:06d}-{uuid.uuid4().hex[:6]}"
        self.staging = self.out / _VERSIONS / f"{_STAGING}{self.run_id}"
        self.staging.mkdir(parents=True)
        self.rows_written = {name: 0 for name in TABLES}
        self._spills = 0

    def carry_over(self, partitions: set[str], doc_ids: set[str], source_files: set[str]) -> None:
        """Bring the live tables into staging, minus the rows of stale documents."""
        for name in TABLES:
            live = table_path(self.out, name)
            if not live.is_dir():
                continue
            for frag in live.rglob("*.parquet"):
                rel = frag.relative_to(live)
                target = table_path(self.staging, name) / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                stale = bool(source_files) if name in UNPARTITIONED else rel.parent.as_posix() in partitions
                if not stale:
                    os.link(frag, target)
                    continue
                tbl = pq.read_table(frag)
                key, drop = ("source_file", source_files) if name in ("errors", "documents") else ("doc_id", doc_ids)
                keep = tbl.filter(pc.invert(pc.is_in(tbl[key], value_set=pa.array(sorted(drop), pa.string()))))
                if keep.num_rows:
                    pq.write_table(keep, target)

    def write(self, tables: dict[str, pa.Table]) -> None:
        """Spill one batch (partitioned tables carry `fiscal_year` and `district`, see `with_partition_columns`)."""
        batch = f"{self._spills:06d}.parquet"
        self._spills += 1
        for name, tbl in tables.items():
            if tbl is None or tbl.num_rows == 0:
                continue
            folder = self.staging / _SPILL / name
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(tbl if name in UNPARTITIONED else _null_empty_keys(tbl), folder / batch)
            self.rows_written[name] += tbl.num_rows

    def write_documents(self, results: list[dict[str, pa.Table]]) -> None:
        """Per-document results (Arrow, the contract schema) as one batch."""
        tables = {name: pa.concat_tables(parts) for name in TABLES
                  if (parts := [r[name] for r in results if r.get(name) is not None and r[name].num_rows])}
        self.write(with_partition_columns(tables, tables.get("documents")))

    def _partition(self, name: str) -> None:
        """The spilled batches of `name` -> one fragment per partition, in staging.

        Each batch holds a few rows of many partitions; written as they come, every partition
        would get a row group per batch (slow to write and to read). DuckDB first sorts the
        rows by partition (an external sort within its memory limit; batch and row order
        kept inside a partition), so pyarrow's dataset writer sees each partition once.
        """
        spill = self.staging / _SPILL / name
        if not spill.is_dir():
            return
        files = sorted(spill.iterdir())
        schema = pq.read_schema(files[0])
        written = (self.staging / _SPILL / f"{name}.partitioned").absolute()
        folders: set[str] = set()  # where pyarrow wrote (listing the tree afterwards cost seconds at 10k documents)
        with _duckdb(self.staging) as con:
            order = "" if name in UNPARTITIONED else "fiscal_year, district, "
            rows = con.sql(f"SELECT * EXCLUDE (filename, file_row_number) FROM read_parquet({_sql_list(files)}, "
                           f"filename=true, file_row_number=true) ORDER BY {order}filename, file_row_number")
            ds.write_dataset(_batches(rows).cast(schema), written, format="parquet",
                             partitioning=partitioning(name), preserve_order=True, max_partitions=1 << 20,
                             basename_template=f"part-{self.run_id}-{{i}}.parquet",
                             file_visitor=lambda file: folders.add(os.path.dirname(file.path)))
        # pyarrow URI-escapes every non-ASCII byte of a partition value (district=%E6%B1%89…) and cannot
        # be told not to (apache/arrow#41618); Spark and Trino would not decode that back to 汉阳区, so
        # the folders get the readable spelling.
        table = table_path(self.staging, name)
        table.mkdir(exist_ok=True)
        parents = {table}
        for folder in map(Path, sorted(folders)):
            target = table.joinpath(*map(_readable, folder.relative_to(written).parts))
            if target.parent not in parents:  # a year's folder, made once
                target.parent.mkdir(parents=True, exist_ok=True)
                parents.add(target.parent)
            try:  # a new partition: one rename
                os.replace(folder, target)
            except OSError:  # beside fragments carried over from the last run
                for frag in folder.iterdir():
                    os.replace(frag, target / frag.name)

    def commit(self, state: dict | None = None) -> Path:
        """Build fiscal.duckdb and the partitioned tables in the staged version, then switch to it."""
        try:
            duck = _build_duckdb(self.staging, {name: self._sources(name) for name in TABLES}, DUCKDB_NAME)
            for name in TABLES:
                self._partition(name)
            shutil.rmtree(self.staging / _SPILL, ignore_errors=True)
            for name in TABLES:  # every table exists, even when empty, so readers find all of them
                table_path(self.staging, name).mkdir(exist_ok=True)
            if state is not None:
                (self.staging / STATE_NAME).write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
            version = self.out / _VERSIONS / self.run_id
            os.replace(self.staging, version)  # complete now; still invisible
            self.staging = version
            previous = _current_version(self.out)
            _point(self.out / _CURRENT, Path(_VERSIONS) / self.run_id)  # THE switch: one rename
            _link_items(self.out)
            _drop_versions(self.out, keep={self.run_id, previous})
        finally:
            self._lock.close()
        return self.out / DUCKDB_NAME

    def _sources(self, name: str) -> list[str]:
        """DuckDB `read_parquet` calls for table `name`: the staged fragments (carried over) and the spill."""
        sources = []
        if any(table_path(self.staging, name).rglob("*.parquet")):
            sources.append(_read_dataset_sql(table_path(self.staging, name), name))
        spill = self.staging / _SPILL / name
        if spill.is_dir():
            sources.append(f"read_parquet({_sql_list(sorted(spill.iterdir()))})")
        return sources

    def abort(self) -> None:
        if self.staging.name.startswith(_STAGING):  # not yet switched to
            shutil.rmtree(self.staging, ignore_errors=True)
            try:
                self.staging.parent.rmdir()  # `.versions`, when this run was the first into `out`
            except OSError:
                pass
        self._lock.close()


def _batches(relation, rows: int = 1 << 16) -> pa.RecordBatchReader:
    """A DuckDB result as a stream of modest record batches (DuckDB's default is a million rows,
    which the dataset writer would then hold several copies of)."""
    if hasattr(relation, "to_arrow_reader"):  # duckdb >= 1.4
        return relation.to_arrow_reader(rows)
    return relation.fetch_record_batch(rows)


def _null_empty_keys(tbl: pa.Table) -> pa.Table:
    """An empty district is no district: both are written as the null partition."""
    i = tbl.schema.get_field_index("district")
    if i < 0:
        return tbl
    empty = pc.equal(tbl["district"], "")
    return tbl.set_column(i, "district", pc.if_else(empty, None, tbl["district"])) if pc.any(empty).as_py() else tbl


def _readable(segment: str) -> str:
    """`district=%E6%B1%89%E9%98%B3%E5%8C%BA` (pyarrow's spelling) -> `district=汉阳区` (see `_segment`)."""
    key, _, value = segment.partition("=")
    return segment if value == NULL_SEGMENT else _segment(key, unquote(value))


def with_partition_columns(tables: dict[str, pa.Table], documents: pa.Table | None) -> dict[str, pa.Table]:
    """Append `fiscal_year`/`district` to every partitioned table (its document's, looked up by doc_id)."""
    out = {}
    for name, tbl in tables.items():
        if name in UNPARTITIONED or name == "documents" or tbl is None:  # documents has the columns itself
            out[name] = tbl
        elif documents is None or documents.num_rows == 0:
            out[name] = tbl.append_column("fiscal_year", pa.nulls(tbl.num_rows, pa.int64())) \
                .append_column("district", pa.nulls(tbl.num_rows, pa.string()))
        else:
            at = pc.index_in(tbl["doc_id"], value_set=documents["doc_id"])
            out[name] = tbl.append_column("fiscal_year", documents["fiscal_year"].take(at).cast(pa.int64())) \
                .append_column("district", documents["district"].take(at).cast(pa.string()))
    return out


def as_arrow(tables: dict[str, pd.DataFrame | pa.Table | None]) -> dict[str, pa.Table]:
    """Contract tables (DataFrames or Arrow) -> Arrow tables with the declared schema."""
    return {name: t if isinstance(t, pa.Table) else to_arrow(name, conform(name, t)) for name, t in tables.items()}


def write_tables(tables: dict[str, pd.DataFrame], out_dir: str | Path) -> dict[str, Path]:
    """Replace the output in `out_dir` with `tables` (missing ones empty): one batch, then DuckDB."""
    arrow = as_arrow({name: tables.get(name) for name in TABLES})
    writer = DatasetWriter(out_dir)
    try:
        writer.write(with_partition_columns(arrow, arrow["documents"]))
        duck = writer.commit()
    except BaseException:
        writer.abort()
        raise
    return {**{name: table_path(out_dir, name) for name in TABLES}, "duckdb": duck}


def build_duckdb(out_dir: str | Path) -> Path:
    """(Re)build `fiscal.duckdb` from the Parquet datasets in `out_dir`, one table each (atomically)."""
    out = Path(out_dir)
    sources = {name: [_read_dataset_sql(table_path(out, name), name)] if any(table_path(out, name).rglob("*.parquet"))
               else [] for name in TABLES}
    live = (out / DUCKDB_NAME).resolve()  # inside the current version, behind the links
    tmp = _build_duckdb(live.parent, sources)
    os.replace(tmp, live)
    return out / DUCKDB_NAME


def _read_dataset_sql(path: Path, name: str) -> str:
    hive = ("hive_partitioning=false" if name in UNPARTITIONED else
            "hive_partitioning=true, hive_types={'fiscal_year': BIGINT, 'district': VARCHAR}")
    return f"read_parquet('{_sql_path(path)}/**/*.parquet', {hive}, union_by_name=true)"


def _build_duckdb(out: Path, sources: dict[str, list[str]], name: str | None = None) -> Path:
    """A new DuckDB file `out/<name>` (default: a temporary name next to `out/fiscal.duckdb`, which
    the caller moves in): one table per contract table, the union of its `sources` (read_parquet
    calls), declared columns first."""
    tmp = out / (name or f".{DUCKDB_NAME}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with _duckdb(out, str(tmp)) as con:
            for name in TABLES:
                schema = arrow_schema(name)
                cols = list(schema.names)
                if name not in UNPARTITIONED:
                    cols += [c for c in PARTITION_COLUMNS if c not in cols]
                select = ", ".join(f'"{c}"' for c in cols)
                if sources[name]:
                    union = " UNION ALL BY NAME ".join(f"SELECT {select} FROM {src}" for src in sources[name])
                    con.execute(f'CREATE TABLE "{name}" AS {union}')
                else:  # an empty table still exists, with its columns
                    con.register("_empty", pa.schema([schema.field(c) if c in schema.names else
                                                      PARTITIONING_SCHEMA.field(c) for c in cols]).empty_table())
                    con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _empty')
                    con.unregister("_empty")
            _write_labels(con)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _write_labels(con) -> None:
    """The code labels (`fiscal_nlp.labels`: themes, reason categories, check ids, fact keys …) as table `labels`."""
    from ..labels import COLUMNS, label_rows

    con.register("_labels", pa.table({c: [r[i] for r in label_rows()] for i, c in enumerate(COLUMNS)}))
    con.execute("CREATE TABLE labels AS SELECT * FROM _labels")
    con.unregister("_labels")


@contextmanager
def _duckdb(folder: Path, database: str = ":memory:"):
    """A DuckDB connection with bounded memory whatever the corpus size (it spills to `folder` beyond the limit)."""
    spill = folder / ".duckdb-spill"
    con = duckdb.connect(database, config={"memory_limit": DUCKDB_MEMORY_LIMIT, "preserve_insertion_order": False,
                                           "temp_directory": str(spill)})
    try:
        yield con
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join(f"'{_sql_path(p)}'" for p in paths) + "]"


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")


def read_table(out_dir: str | Path, name: str) -> pa.Table:
    """One contract table as Arrow, exactly the declared columns (partition keys folded back in)."""
    path = table_path(out_dir, name)
    schema = arrow_schema(name)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such table; run `fiscal-nlp extract` into {Path(out_dir)} first")
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
           "load_state", "table_path", "partition_dir", "partitioning", "PARTITION_COLUMNS", "DUCKDB_NAME", "STATE_NAME"]
