"""The extraction driver: one pure function per document, mapped over a corpus.

`extract_bytes(data, name)` reads, identifies and parses one document and returns its contract
tables (or an `errors` row); it never raises for bad input. The driver hands chunks of documents
to an executor (`fiscal_nlp.executors`: a process pool or dask), drops exact duplicates and keeps
colliding doc_ids apart as results come back (in file order), and streams them to a sink:

- `extract_to(raw, out)` spills results batch by batch (memory stays flat), writes hive-partitioned Parquet
  and re-extracts only files whose content changed since the last run into `out`;
- `extract(raw)` collects everything into DataFrames, for interactive use on small corpora.
"""
from __future__ import annotations

import atexit
import csv
import gc
import hashlib
import multiprocessing
import re
import stat
import sys
import time
import os
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd
import pyarrow as pa

from .executors import DEFAULT_LIMITS, Limits, WorkerLost, default_jobs, map_unordered
from .executors import progress as report_progress
from .ingest import SUPPORTED_SUFFIXES, IngestError, identify, read_bytes
from .ingest.checks import reader_checks
from .ingest.identify import department_hash, department_key
from .schema import TABLES, arrow_schema, arrow_to_frame, records_to_arrow

Tables = dict[str, pa.Table]  # one document's (or a batch's) contract tables, as Arrow
# One document's contract tables as records, except those a later stage read as Arrow (line_items):
# a worker converts a chunk's records once per table, not once per document and table.
Records = dict[str, "list[dict] | pa.Table"]

FACT_TABLES = ("line_items", "variances", "projects", "changes", "reform_events", "facts", "checks")
_IGNORED = {"README.md", "catalog.csv", ".gitkeep"}
_STATE_FILE = "_extraction.json"  # marks a folder this toolkit wrote (an output folder inside the raw tree)
PACKAGE_DIR = Path(__file__).resolve().parent


def load_catalog(path: str | Path | None) -> dict[str, dict]:
    """`catalog.csv` (source_file + any of doc_id, district, department, fiscal_year, doc_kind, province, city,
    county, level, scope, disclosure_id): researcher overrides. `source_file` is the path relative to the raw
    folder (`shanghai-putuo/x.pdf`); a bare file name also matches a file in a subfolder when no other file
    has that name."""
    if not path or not Path(path).exists():
        return {}
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {row["source_file"]: row for row in csv.DictReader(fh) if row.get("source_file")}


def _entries(raw_dir: str | Path) -> list[tuple[str, Path, int | OSError]]:
    """(name relative to `raw_dir`, path, stat mode or why it cannot be stat'ed) of every entry under
    `raw_dir` that is not a folder, in name order; never opened (a FIFO would block). README/catalog
    files, hidden folders and an extraction output folder inside the tree (it holds `_extraction.json`)
    are left out."""
    root = Path(raw_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{raw_dir}: not a directory")
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and not (Path(folder) / d / _STATE_FILE).exists()]
        for f in files:
            if f in _IGNORED:
                continue
            path = Path(folder) / f
            try:
                mode: int | OSError = path.stat().st_mode
            except OSError as exc:  # ELOOP, a dangling link
                mode = exc
            out.append((source_name(root, path), path, mode))
    return sorted(out, key=lambda e: e[0])


def list_documents(raw_dir: str | Path) -> list[Path]:
    """Every regular, visible file under `raw_dir`, subfolders included (a downloaded tree with a folder
    per family), in the order of their paths relative to `raw_dir` (see `_entries`)."""
    return [path for name, path, mode in _entries(raw_dir)
            if isinstance(mode, int) and stat.S_ISREG(mode) and not path.name.startswith(".")]


def skipped_entries(raw_dir: str | Path) -> dict[str, tuple[str, str]]:
    """Entries under `raw_dir` that are not read, and why: name -> (errors kind, message): hidden files
    (`hidden_file`), FIFOs, sockets and devices (`not_a_file`), broken symlinks and symlink loops
    (`unreadable`)."""
    out = {}
    for name, path, mode in _entries(raw_dir):
        if isinstance(mode, OSError):
            out[name] = ("unreadable", f"{name}: cannot read the file ({mode.strerror or mode})")
        elif not stat.S_ISREG(mode):
            what = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
            out[name] = ("not_a_file", f"{name}: {what}, not a regular file; not read")
        elif path.name.startswith("."):
            out[name] = ("hidden_file", f"{name}: a hidden file (its name starts with “.”); not read")
    return out


def source_name(raw_dir: str | Path, path: Path) -> str:
    """A file's `source_file`: its path relative to `raw_dir`, `/`-separated (`shanghai-putuo/x.pdf`)."""
    return path.relative_to(raw_dir).as_posix()


def _named(raw_dir: str | Path, paths: list[Path]) -> list[tuple[str, Path]]:
    return [(source_name(raw_dir, p), p) for p in paths]


def _catalog_rows(catalog: dict, names: list[str]) -> dict[str, dict]:
    """Catalog rows by source_file: a row keyed by a relative path, or by a bare file name that only
    one file of the tree has. (A file added later under the same bare name makes that row apply to
    neither; the file that had it keeps its rows until the catalog or the file changes.)"""
    bare: dict[str, list[str]] = {}
    for name in names:
        bare.setdefault(PurePosixPath(name).name, []).append(name)
    rows = {}
    for name in names:
        only = bare[PurePosixPath(name).name] == [name]
        row = catalog.get(name) or (catalog.get(PurePosixPath(name).name) if only else None)
        if row:
            rows[name] = row
    return rows


def error_row(source_file: str, kind: str, message: str) -> dict:
    return {"source_file": source_file, "kind": kind, "message": message}


def _errors(source_file: str, kind: str, message: str) -> Tables:
    return to_tables({"errors": [error_row(source_file, kind, message)]})


def to_tables(records: Records) -> Tables:
    """Records -> Arrow tables with the contract schema."""
    return {name: rows if isinstance(rows, pa.Table) else records_to_arrow(name, rows) for name, rows in records.items()}


def as_frames(tables: Tables) -> dict[str, pd.DataFrame]:
    return {name: arrow_to_frame(name, tbl) for name, tbl in tables.items()}


# ---------------------------------------------------------------- one document


def extract_tables(data: bytes, name: str, override: dict | None = None) -> Tables:
    """All contract tables for one document, as Arrow. Never raises for bad input: returns an `errors` row."""
    return _checked_tables(extract_records(data, name, override), name)


def extract_records(data: bytes, name: str, override: dict | None = None) -> Records:
    """`extract_tables` before the conversion to Arrow (see `Records`)."""
    try:
        doc = read_bytes(data, name)
        identify(doc, {k: v for k, v in (override or {}).items() if k != "source_file"})
        return document_records(doc)
    except IngestError as exc:
        return {"errors": [error_row(name, exc.kind, exc.message)]}
    except MemoryError:  # an allocation refused (a ulimit, or one absurd size): this document only
        return {"errors": [error_row(name, "resource_limit", f"{name}: extraction ran out of memory; skipped")]}
    except Exception as exc:  # a parser bug must not cost the rest of the batch
        return {"errors": [_internal_error(name, exc)]}


def _internal_error(name: str, exc: BaseException, what: str = "extraction") -> dict:
    detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return error_row(name, "internal_error", f"{name}: {what} failed ({detail}); please report it")


def _checked_tables(records: Records, name: str) -> Tables:
    """`to_tables`, or an `errors` row when a value does not fit the contract (a parser bug)."""
    try:
        return to_tables(records)
    except Exception as exc:
        return to_tables({"errors": [_internal_error(name, exc)]})


def extract_bytes(data: bytes, name: str, override: dict | None = None) -> dict[str, pd.DataFrame]:
    """`extract_tables` as DataFrames (the contract's dtypes)."""
    return as_frames(extract_tables(data, name, override))


def extract_document(path: str | Path, override: dict | None = None) -> dict[str, pd.DataFrame]:
    """`extract_bytes` on a file (an unreadable file becomes an `errors` row too)."""
    path = Path(path)
    return as_frames(extract_chunk([(path.name, _read(path), override)]).unpack()[0])


def document_tables(doc) -> Tables:
    """Tables, narrative and audit for an identified `Document`, conformed once per table."""
    return to_tables(document_records(doc))


def document_records(doc) -> Records:
    """`document_tables` as records (`line_items` already Arrow: the narrative and the audit read it)."""
    from .narrative import extract_rows, public_records
    from .tables import line_item_records
    from .validate import audit_and_verify

    rows, table_checks = line_item_records(doc)
    line_items = records_to_arrow("line_items", rows)  # the stages below read it as Arrow: no pandas round trip
    statements = extract_rows(doc, line_items)
    narrative = public_records(doc, statements)
    # every check is the audit stage's, plus what a reader saw (pictures of tables in a web page …)
    checks, verified = audit_and_verify(doc, line_items, statements, table_checks)
    checks += reader_checks(doc, table_checks)
    if line_items.num_rows:
        line_items = line_items.set_column(line_items.schema.get_field_index("verified"), "verified",
                                           pa.array(verified, pa.bool_()))
    meta = doc.meta
    documents = [{
        "doc_id": meta.doc_id, "source_file": doc.source_file, "sha256": doc.sha256, "district": meta.district,
        "department": meta.department, "fiscal_year": meta.fiscal_year, "doc_kind": meta.doc_kind, "unit": meta.unit,
        "format": doc.format, "n_lines": len(doc.lines), "n_pages": doc.n_pages,
        "province": meta.province, "city": meta.city, "county": meta.county, "level": meta.level,
        "scope": meta.scope, "disclosure_id": meta.disclosure_id,
    }]
    return {"documents": documents, "line_items": line_items, "checks": checks, **narrative}


def parse_document(doc) -> dict[str, pd.DataFrame]:
    """`document_tables` as DataFrames."""
    return as_frames(document_tables(doc))


# ---------------------------------------------------------------- the corpus


Source = tuple[str, "bytes | OSError", "dict | None"]  # (file name, its bytes or why they could not be read, catalog row)


@dataclass
class Chunk:
    """A worker's results for a chunk of documents, packed for the trip back to the driver.

    Each contract table travels once, its documents' rows one after another, instead of a
    small table per document and name: unpickling those cost the driver ~2 ms per document.
    Records are converted to Arrow here, once per table for the whole chunk. `rows` says how
    many rows each document has in each table, `nbytes` about how much memory its results take
    (its share of the rows: what the driver's flush threshold counts).
    """
    tables: dict[str, pa.Table]
    rows: list[dict[str, int]]
    nbytes: list[int]

    @classmethod
    def pack(cls, results: list[Records | Tables]) -> "Chunk":
        rows = [{name: len(part) for name, part in r.items()} for r in results]
        tables = {}
        for name in TABLES:
            parts = [r[name] for r in results if len(r.get(name, ()))]
            if not parts:
                continue
            if all(isinstance(part, list) for part in parts):
                tables[name] = records_to_arrow(name, [row for part in parts for row in part])
            else:  # Arrow already (line_items, or results converted one by one)
                tables[name] = pa.concat_tables([part if isinstance(part, pa.Table) else records_to_arrow(name, part)
                                                 for part in parts]).combine_chunks()
        size = {name: tbl.get_total_buffer_size() / tbl.num_rows for name, tbl in tables.items()}
        nbytes = [int(sum(size[name] * n for name, n in counts.items() if n)) for counts in rows]
        return cls(tables, rows, nbytes)

    def unpack(self) -> list[Tables]:
        """Per-document results again (zero-copy slices)."""
        at = dict.fromkeys(self.tables, 0)
        out = []
        for counts in self.rows:
            result = {}
            for name, n in counts.items():
                if n == 0:
                    result[name] = arrow_schema(name).empty_table()
                    continue
                result[name] = self.tables[name].slice(at[name], n)
                at[name] += n
            out.append(result)
        return out


def extract_chunk(sources: list[Source], lost: dict[int, WorkerLost] | None = None) -> Chunk:
    """The unit of work the executors map: a few documents, read by the driver (no shared disk needed).

    Each document is announced (`executors.progress`), so a worker that dies or overruns its limits
    on one is attributed to that document; the chunk is then run again with it in `lost`, and only
    it becomes an `errors` row (`worker_crashed`, `timeout`, `resource_limit`).
    """
    lost = lost or {}
    if any(at >= len(sources) for at in lost):  # lost after its documents, while packing: all of them
        exc = next(exc for at, exc in lost.items() if at >= len(sources))
        return Chunk.pack([{"errors": [lost_row(name, exc)]} for name, _, _ in sources])
    results = []
    for at, (name, data, override) in enumerate(sources):
        report_progress(at)
        if at in lost:
            results.append({"errors": [lost_row(name, lost[at])]})
        elif isinstance(data, OSError):
            results.append({"errors": [error_row(name, "unreadable",
                                                 f"{name}: cannot read the file ({data.strerror or data})")]})
        else:
            results.append(extract_records(data, name, override))
    report_progress(len(sources))
    try:
        chunk = Chunk.pack(results)
    except Exception:  # a value the contract rejects: convert document by document, so only its own fails
        chunk = Chunk.pack([_checked_tables(r, name) for r, (name, _, _) in zip(results, sources)])
    _freeze_worker_heap()
    return chunk


def lost_row(name: str, exc: WorkerLost) -> dict:
    """The `errors` row of a document whose worker died or was stopped on it."""
    hint = {"timeout": " (the per-document time limit: --timeout)",
            "resource_limit": " (the per-document memory limit: --memory-limit)"}.get(exc.kind, "")
    return error_row(name, exc.kind, f"{name}: extraction {exc.message}{hint}; the file was skipped")


def _freeze_worker_heap() -> None:
    """In a worker process, once its first chunk is done: what is alive then (modules, the jieba
    dictionary, table specs; ~270,000 objects) lives as long as the process, so `gc.freeze` takes
    it out of the collector's full scans. Never in the caller's own process (jobs=1, notebooks)."""
    if multiprocessing.parent_process() is not None and not gc.get_freeze_count():
        gc.freeze()
        atexit.register(gc.unfreeze)  # a clean exit collects as usual (extension modules check for leaks)


def _first(tables: Tables, name: str) -> dict | None:
    tbl = tables.get(name)
    return tbl.slice(0, 1).to_pylist()[0] if tbl is not None and tbl.num_rows else None


class Deduplicator:
    """Corpus-wide bookkeeping as per-document results arrive, in any order.

    A document whose bytes were already extracted becomes a `duplicate` error; two documents
    that identify alike both stay, the later one's doc_id suffixed so every row remains attributable:
    with a short hash of its department's full name when the departments differ (统计局 and 体教局
    share the initials tjj), else with its content hash and an `identity_collision` warning in `checks`
    naming the other (two versions of one disclosure: same district, department, year, kind).
    `doc_ids` (doc_id -> source_file) are those already taken (by unchanged files of an incremental
    run); `collided` lists the (later, earlier) source files of each suffixed pair, `with_taken`
    whether a document in `doc_ids` holds a bare doc_id that a fresh run would give to a newcomer (one
    that sorts before it).
    """

    def __init__(self, seen: dict[str, str] | None = None, doc_ids: dict[str, str] | None = None,
                 departments: dict[str, str | None] | None = None):
        self.seen = dict(seen or {})  # sha256 -> source_file
        self.doc_ids = dict(doc_ids or {})  # doc_id -> source_file
        self.taken = set(self.doc_ids)
        self.departments = dict(departments or {})  # doc_id -> department (of earlier runs: from their state)
        self.collided: list[tuple[str, str]] = []
        self.with_taken = False

    def admit(self, result: Tables) -> Tables:
        row = _first(result, "documents")
        if row is None:
            return result
        if row["sha256"] in self.seen:
            return _errors(row["source_file"], "duplicate",
                           f"{row['source_file']}: same content as {self.seen[row['sha256']]} "
                           f"(sha256 {row['sha256'][:12]}…); extracted once")
        self.seen[row["sha256"]] = row["source_file"]
        doc_id = row["doc_id"]
        if doc_id in self.doc_ids:
            other = self.doc_ids[doc_id]
            self.collided.append((row["source_file"], other))
            # a fresh run gives the bare doc_id to the first file in name order: here the taken one had it
            self.with_taken = self.with_taken or (doc_id in self.taken and row["source_file"] < other)
            by_department = f"{doc_id}-{department_hash(row['department'])}"
            if (department_key(self.departments.get(doc_id, "")) != department_key(row["department"])
                    and by_department not in self.doc_ids):
                doc_id = by_department  # two departments whose names romanise alike: no collision of one identity
                result = {name: _with_doc_id(tbl, doc_id) for name, tbl in result.items()}
            else:
                doc_id = f"{doc_id}-{row['sha256'][:6]}"
                result = {name: _with_doc_id(tbl, doc_id) for name, tbl in result.items()}
                warning = records_to_arrow("checks", [{
                    "doc_id": doc_id, "check": "identity_collision", "passed": False, "severity": "warning",
                    "detail": f"{row['source_file']}: identified as {row['doc_id']}, like {other} (same district, "
                              f"department, year and kind); its doc_id gets its content hash: {doc_id}"}])
                checks = result.get("checks")
                result["checks"] = warning if checks is None or not checks.num_rows else pa.concat_tables([checks, warning])
        self.doc_ids[doc_id] = row["source_file"]
        self.departments[doc_id] = row["department"]
        return result


def _with_doc_id(tbl: pa.Table, doc_id: str) -> pa.Table:
    if "doc_id" not in tbl.column_names:
        return tbl
    i = tbl.schema.get_field_index("doc_id")
    return tbl.set_column(i, tbl.schema.field(i), pa.array([doc_id] * tbl.num_rows, pa.string()))


def concat_tables(results: list[Tables]) -> Tables:
    """Per-document results -> one Arrow table per contract table (empty ones included)."""
    out = {}
    for name in TABLES:
        parts = [r[name] for r in results if r.get(name) is not None and r[name].num_rows]
        out[name] = pa.concat_tables(parts) if parts else arrow_schema(name).empty_table()
    return out


def merge(results: list[Tables]) -> dict[str, pd.DataFrame]:
    """Concatenate per-document results into contract DataFrames, dropping exact duplicate documents."""
    dedup = Deduplicator()
    return as_frames(concat_tables([dedup.admit(r) for r in results]))


# What decides the extracted rows: the stages' code and the domain data (not analysis, reports, store…).
_EXTRACTION_CODE = ("ingest", "tables", "narrative", "validate", "schema", "package_data", "pipeline.py")


def extractor_fingerprint(catalog: dict) -> str:
    """Changes whenever the extracted rows could: the extraction stages' code and data, and the catalog."""
    h = hashlib.sha256()
    for part in _EXTRACTION_CODE:
        root = PACKAGE_DIR / part
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".yaml", ".yml", ".csv", ".txt", ".toml"):
                h.update(str(path.relative_to(PACKAGE_DIR)).encode())
                h.update(path.read_bytes())
    h.update(repr(sorted((k, sorted(v.items())) for k, v in catalog.items())).encode())
    return h.hexdigest()


@dataclass
class RunSummary:
    """What a run did (the CLI prints it)."""
    files: int = 0
    extracted: int = 0
    unchanged: int = 0
    removed: int = 0
    errors: int = 0
    seconds: float = 0.0
    up_to_date: bool = False
    rows: dict[str, int] = field(default_factory=dict)


def _chunks(paths: list[tuple[str, Path]], overrides: dict, size: int, hashes: dict | None = None) -> Iterator[list[Source]]:
    """Read files lazily, `size` at a time (only the chunks in flight are in memory), noting each
    file's sha256 in `hashes`. `paths` are (source_file, path) pairs."""
    for i in range(0, len(paths), size):
        chunk = [(name, _read(p), overrides.get(name)) for name, p in paths[i:i + size]]
        if hashes is not None:
            hashes.update((name, hashlib.sha256(data).hexdigest()) for name, data, _ in chunk if isinstance(data, bytes))
        yield chunk


def _read(path: Path) -> bytes | OSError:
    try:
        return path.read_bytes()
    except OSError as exc:
        return exc


def _run(paths: list[tuple[str, Path]], overrides: dict, executor: str, jobs: int | None, scheduler: str | None,
         show_progress: bool | None, chunk_size: int | None, hashes: dict | None = None,
         limits: Limits | None = None) -> Iterator[tuple[Tables, int]]:
    """Per-document results for `paths` and the bytes each holds, in file order, with a
    progress bar on a terminal."""
    if chunk_size is None:  # large enough to amortise each task's overhead, small enough to keep workers busy
        chunk_size = max(1, min(16, len(paths) // (4 * (jobs or default_jobs()))))
    chunks = list(range(0, len(paths), chunk_size))
    show = (sys.stderr.isatty() if show_progress is None else show_progress) and len(paths) > 1
    bar = task = None
    if show:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                       TimeRemainingColumn(), transient=True)
        bar.start()
        task = bar.add_task(f"extracting ({executor}, {jobs or default_jobs()} workers)", total=len(paths))
    try:
        # in file order, whatever order workers finish in: which of two identical files is the
        # duplicate, and which of two colliding doc_ids gets the suffix, must not vary by run
        for i, result in map_unordered(extract_chunk, _chunks(paths, overrides, chunk_size, hashes),
                                       executor=executor, jobs=jobs, scheduler=scheduler, ordered=True,
                                       limits=limits, resume=True):
            names = [name for name, _ in paths[chunks[i]:chunks[i] + chunk_size]]
            if isinstance(result, BaseException):  # the task failed as a whole: every file of the chunk is reported
                result = Chunk.pack([{"errors": [_task_error(n, result)]} for n in names])
            yield from zip(result.unpack(), result.nbytes)
            if bar is not None:
                bar.advance(task, len(names))
    finally:
        if bar is not None:
            bar.stop()


def _task_error(name: str, exc: BaseException) -> dict:
    if isinstance(exc, WorkerLost):
        return lost_row(name, exc)
    if type(exc).__name__ == "KilledWorker":  # dask gave up on a task whose workers kept dying
        return error_row(name, "worker_crashed", f"{name}: extraction failed: its dask worker died ({exc})")
    return _internal_error(name, exc, "worker")


def extract(raw_dir: str | Path, catalog: str | Path | None = None, progress: bool | None = None,
            executor: str = "local", jobs: int | None = 1, scheduler: str | None = None,
            timeout: float | None = DEFAULT_LIMITS.seconds,
            memory_mb: float | None = DEFAULT_LIMITS.memory_mb) -> dict[str, pd.DataFrame]:
    """Extract every document in `raw_dir` -> {table name: DataFrame} (the data contract), in memory.

    For interactive use on a district or two; a corpus goes through `extract_to`, which writes
    as it goes. `catalog` defaults to `<raw_dir>/catalog.csv`. A progress bar shows on a terminal.
    """
    paths = _named(raw_dir, list_documents(raw_dir))
    overrides = _catalog_rows(load_catalog(catalog or Path(raw_dir) / "catalog.csv"), [name for name, _ in paths])
    dedup = Deduplicator()
    results = [dedup.admit(r) for r, _ in _run(paths, overrides, executor, jobs, scheduler, progress, chunk_size=4,
                                               limits=Limits(timeout, memory_mb))]
    # the order `read_tables` gives back, whatever order the executor finished in
    results.sort(key=lambda r: (_first(r, "documents") or {}).get("doc_id") or _source_file(r))
    return as_frames(concat_tables(results))


def _source_file(result: Tables) -> str:
    return (_first(result, "documents") or _first(result, "errors"))["source_file"]


def extract_to(raw_dir: str | Path, out_dir: str | Path, catalog: str | Path | None = None, *,
               executor: str = "local", jobs: int | None = None, scheduler: str | None = None,
               full: bool = False, progress: bool | None = None, flush_mb: float = 32,
               chunk_size: int | None = None, timeout: float | None = DEFAULT_LIMITS.seconds,
               memory_mb: float | None = DEFAULT_LIMITS.memory_mb) -> RunSummary:
    """Extract `raw_dir` into `out_dir` (hive-partitioned Parquet + fiscal.duckdb), incrementally.

    Only files that are new or whose content (sha256) changed since the last run into `out_dir`
    are extracted; rows of changed or deleted files are dropped. Any change to the package's code
    or domain data, or to the catalog, re-extracts everything (as does `full=True`). Results are
    spilled whenever `flush_mb` of them are held (memory does not grow with the corpus) and
    written as one fragment per partition at the end; nothing is visible in `out_dir` until then.
    Documents travel to the workers `chunk_size` at a time (by default up to 16, fewer when the
    corpus is small, so that every worker stays busy).

    With worker processes (`jobs` > 1), each document may take `timeout` seconds and its worker
    `memory_mb` MB of resident memory (None: no bound); a document that overruns, or whose worker
    dies, becomes an `errors` row (`timeout`, `resource_limit`, `worker_crashed`) and the batch goes on.
    `jobs=1` runs in this process: no limits there.
    """
    from .store import DatasetWriter, load_state, partition_dir, table_path

    start = time.perf_counter()
    paths = _named(raw_dir, list_documents(raw_dir))
    skipped = skipped_entries(raw_dir)
    catalog_rows = load_catalog(catalog or Path(raw_dir) / "catalog.csv")
    overrides = _catalog_rows(catalog_rows, [name for name, _ in paths])
    fingerprint = extractor_fingerprint(catalog_rows)
    writer = DatasetWriter(out_dir)
    state = None if full or writer.interrupted_before else load_state(out_dir)
    if state and (state.get("fingerprint") != fingerprint or not isinstance(state.get("files"), dict)
                  or not all(table_path(out_dir, n).is_dir() for n in TABLES)):
        state = None  # a different extractor, or a state file we cannot trust: everything again
    previous = state["files"] if state else {}

    # what changed needs every hash first; a full run takes them from the bytes it reads anyway
    current = {name: _sha256(p) for name, p in paths} if previous else {}
    unchanged = {n for n, sha in current.items() if sha is not None and previous.get(n, {}).get("sha256") == sha}
    unchanged |= {n for n, (kind, _) in skipped.items() if previous.get(n, {}).get("skipped") == kind}
    stale = set(previous) - unchanged
    # a duplicate whose original changed or went away must be read again
    unchanged -= {n for n in unchanged if previous[n].get("duplicate_of") in stale}
    stale = set(previous) - unchanged
    todo = [(name, p) for name, p in paths if name not in unchanged]
    summary = RunSummary(files=len(paths) + len(skipped), unchanged=len(unchanged),
                         removed=len(stale - set(current) - set(skipped)))
    if state and not todo and not stale:
        writer.abort()
        summary.up_to_date, summary.seconds = True, time.perf_counter() - start
        return summary

    if any(previous[n].get("collides") for n in stale):  # a colliding twin may have to take the bare doc_id
        writer.abort()
        return extract_to(raw_dir, out_dir, catalog, executor=executor, jobs=jobs, scheduler=scheduler, full=True,
                          progress=progress, flush_mb=flush_mb, chunk_size=chunk_size, timeout=timeout,
                          memory_mb=memory_mb)
    files = {n: dict(previous[n]) for n in unchanged}
    dedup = Deduplicator(seen={f["sha256"]: n for n, f in files.items() if f.get("doc_id")},
                         doc_ids={f["doc_id"]: n for n, f in files.items() if f.get("doc_id")},
                         departments={f["doc_id"]: f.get("department", "") for f in files.values() if f.get("doc_id")})
    buffer: list[Tables] = []
    held = 0  # bytes of Arrow data in `buffer`

    def flush():
        nonlocal held
        if buffer:
            writer.write_documents(buffer)
            buffer.clear()
            held = 0

    try:
        for name, (kind, message) in skipped.items():
            if name not in unchanged:
                files[name] = {"sha256": None, "doc_id": None, "skipped": kind}
                buffer.append(_errors(name, kind, message))
                summary.errors += 1
        for raw, nbytes in _run(todo, overrides, executor, jobs, scheduler, progress, chunk_size, hashes=current,
                                limits=Limits(timeout, memory_mb)):
            result = dedup.admit(_partition_fits(raw))
            name = _source_file(result)
            doc, error = _first(result, "documents"), _first(result, "errors")
            entry = {"sha256": current.get(name), "doc_id": None}
            if doc is not None:
                entry["doc_id"], entry["department"] = doc["doc_id"], doc["department"]
                entry["partition"] = partition_dir(doc["fiscal_year"], doc["district"])
                summary.extracted += 1
            if error is not None:
                summary.errors += 1
                if error["kind"] == "duplicate":
                    entry["duplicate_of"] = dedup.seen.get(entry["sha256"])
            files[name] = entry
            buffer.append(result)
            held += nbytes
            if held >= flush_mb * 2**20:
                flush()
        flush()
        if dedup.with_taken:  # a newcomer sorts before the unchanged twin holding the bare doc_id: name them afresh
            writer.abort()
            return extract_to(raw_dir, out_dir, catalog, executor=executor, jobs=jobs, scheduler=scheduler, full=True,
                              progress=progress, flush_mb=flush_mb, chunk_size=chunk_size, timeout=timeout,
                              memory_mb=memory_mb)
        for later, earlier in dedup.collided:  # so that removing or changing either re-extracts both
            for name in (later, earlier):
                if name in files:
                    files[name]["collides"] = True
        if state:
            writer.carry_over(partitions={previous[n]["partition"] for n in stale if previous[n].get("partition")},
                              doc_ids={previous[n]["doc_id"] for n in stale if previous[n].get("doc_id")},
                              source_files=stale)
        writer.commit({"fingerprint": fingerprint, "files": files})
    except BaseException:
        writer.abort()
        raise
    summary.rows = writer.rows_written
    summary.seconds = time.perf_counter() - start
    return summary


_MAX_SEGMENT_BYTES = 250  # a folder name (NAME_MAX is 255 bytes on Linux and macOS)


def _partition_fits(result: Tables) -> Tables:
    """A document whose district (say, from a catalog row) is too long for its partition's folder
    name becomes an `errors` row, instead of failing the run when the partition is written."""
    from .store import partition_dir

    doc = _first(result, "documents")
    if doc is None:
        return result
    segments = partition_dir(doc["fiscal_year"], doc["district"]).split("/")
    longest = max(len(seg.encode("utf-8")) for seg in segments)
    if longest <= _MAX_SEGMENT_BYTES:
        return result
    name, district = doc["source_file"], str(doc["district"])
    return _errors(name, "district_too_long",
                   f"{name}: the district “{district[:30]}…” ({len(district.encode('utf-8'))} bytes) is too long "
                   f"for a folder name (at most {_MAX_SEGMENT_BYTES} bytes); check catalog.csv")


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


__all__ = ["extract", "extract_to", "extract_bytes", "extract_tables", "extract_records", "extract_document",
           "extract_chunk", "Chunk", "document_tables", "document_records", "parse_document",
           "merge", "list_documents", "source_name", "Deduplicator", "RunSummary", "SUPPORTED_SUFFIXES"]
