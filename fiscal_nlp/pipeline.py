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
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from .executors import DEFAULT_LIMITS, Limits, WorkerLost, default_jobs, map_unordered
from .executors import progress as report_progress
from .ingest import SUPPORTED_SUFFIXES, IngestError, identify, read_bytes
from .schema import TABLES, arrow_schema, arrow_to_frame, records_to_arrow

Tables = dict[str, pa.Table]  # one document's (or a batch's) contract tables, as Arrow
# One document's contract tables as records, except those a later stage read as Arrow (line_items):
# a worker converts a chunk's records once per table, not once per document and table.
Records = dict[str, "list[dict] | pa.Table"]

FACT_TABLES = ("line_items", "variances", "projects", "changes", "reform_events", "facts", "checks")
_IGNORED = {"README.md", "catalog.csv", ".gitkeep"}
PACKAGE_DIR = Path(__file__).resolve().parent


def load_catalog(path: str | Path | None) -> dict[str, dict]:
    """`catalog.csv` (source_file + any of doc_id, district, department, fiscal_year, doc_kind): researcher overrides."""
    if not path or not Path(path).exists():
        return {}
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {row["source_file"]: row for row in csv.DictReader(fh) if row.get("source_file")}


def list_documents(raw_dir: str | Path) -> list[Path]:
    """Every file in `raw_dir` the toolkit should look at (sorted; README/catalog excluded)."""
    root = Path(raw_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{raw_dir}: not a directory")
    return sorted(p for p in root.iterdir() if p.is_file() and p.name not in _IGNORED and not p.name.startswith("."))


def skipped_entries(raw_dir: str | Path) -> dict[str, tuple[str, str]]:
    """Entries of `raw_dir` that are not read, and why: name -> (errors kind, message). Never opened
    (a FIFO would block the run): hidden files (`hidden_file`), FIFOs, sockets and devices
    (`not_a_file`), broken symlinks and symlink loops (`unreadable`). Folders are not listed (the
    corpus is one flat folder)."""
    out = {}
    for p in sorted(Path(raw_dir).iterdir()):
        if p.name in _IGNORED:
            continue
        try:
            mode = p.stat().st_mode
        except OSError as exc:  # ELOOP, a dangling link
            out[p.name] = ("unreadable", f"{p.name}: cannot read the file ({exc.strerror or exc})")
            continue
        if stat.S_ISDIR(mode):
            continue
        if not stat.S_ISREG(mode):
            what = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
            out[p.name] = ("not_a_file", f"{p.name}: {what}, not a regular file; not read")
        elif p.name.startswith("."):
            out[p.name] = ("hidden_file", f"{p.name}: a hidden file (its name starts with “.”); not read")
    return out


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
    from .narrative import narrative_records
    from .tables import line_item_records
    from .validate import audit_records

    rows, table_checks = line_item_records(doc)
    line_items = records_to_arrow("line_items", rows)  # the stages below read it as Arrow: no pandas round trip
    narrative = narrative_records(doc, line_items)
    checks = (table_checks + audit_records(doc, line_items) + narrative.pop("checks") + ocr_checks(doc)
              + implausible_amount_checks(doc))
    meta = doc.meta
    documents = [{
        "doc_id": meta.doc_id, "source_file": doc.source_file, "sha256": doc.sha256, "district": meta.district,
        "department": meta.department, "fiscal_year": meta.fiscal_year, "doc_kind": meta.doc_kind, "unit": meta.unit,
        "format": doc.format, "n_lines": len(doc.lines), "n_pages": doc.n_pages,
    }]
    return {"documents": documents, "line_items": line_items, "checks": checks, **narrative}


def parse_document(doc) -> dict[str, pd.DataFrame]:
    """`document_tables` as DataFrames."""
    return as_frames(document_tables(doc))


# More integer digits than an amount can have (tables.tokens reads at most 15): digit runs a PDF glued together.
_LONG_NUMBER = re.compile(r"\d(?:,?\d){15,}")
# The cheap test first (a regex over CJK text cost ~2 ms per document): digits and commas as "d", the rest blank.
_DIGIT_MAP = bytes(ord("d") if chr(i) in "0123456789," else ord(" ") for i in range(256))


def implausible_amount_checks(doc) -> list[dict]:
    """A warning per number too long to be an amount: the tables do not read it as one (its row is
    then flagged by the identities); a statement's figure is still read, and this says it is suspect."""
    text = "\n".join([line.text for line in doc.lines])
    # dropping the non-ASCII characters can only join digit runs, never split one: no hit there, none here
    if b"d" * 16 not in text.encode("ascii", "ignore").translate(_DIGIT_MAP):
        return []
    out = []
    for m in _LONG_NUMBER.finditer(text):
        line = doc.lines[text.count("\n", 0, m.start())]
        digits = sum(c.isdigit() for c in m.group())
        shown = m.group() if len(m.group()) <= 24 else m.group()[:20] + "…"
        out.append({"doc_id": doc.meta.doc_id, "check": "implausible_amount", "passed": False, "severity": "warning",
                    "source_line": line.number,
                    "detail": f"{doc.source_file} line {line.number}: a number of {digits} digits ({shown}) is no "
                              f"plausible amount (digit runs glued together?); the tables do not read it as one, "
                              f"and a statement's figures read from it are suspect"})
        if len(out) == 100:  # a file of nothing else must not become a million rows
            break
    return out


def ocr_checks(doc) -> list[dict]:
    """A warning when some PDF pages had no text layer: whatever they hold is missing from the output."""
    if not doc.pages_without_text:
        return []
    from .ingest.pdf import page_list

    pages = page_list(doc.pages_without_text)
    return [{"doc_id": doc.meta.doc_id, "check": "ocr_needed", "passed": False, "severity": "warning",
             "detail": f"{doc.source_file}: page(s) {pages} have no text layer (scanned images); "
                       f"OCR is needed, and anything printed only there is missing from the output"}]


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
    that identify alike (same district, department, year, kind) both stay, the later one's
    doc_id suffixed with its hash so every row remains attributable, and an `identity_collision`
    warning in `checks` names the other. `doc_ids` (doc_id -> source_file) are those already
    taken (by unchanged files of an incremental run); `collided` lists the (later, earlier)
    source files of each collision, `with_taken` whether a document in `doc_ids` holds a bare doc_id
    that a fresh run would give to a newcomer (one that sorts before it).
    """

    def __init__(self, seen: dict[str, str] | None = None, doc_ids: dict[str, str] | None = None):
        self.seen = dict(seen or {})  # sha256 -> source_file
        self.doc_ids = dict(doc_ids or {})  # doc_id -> source_file
        self.taken = set(self.doc_ids)
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
            doc_id = f"{doc_id}-{row['sha256'][:6]}"
            result = {name: _with_doc_id(tbl, doc_id) for name, tbl in result.items()}
            warning = records_to_arrow("checks", [{
                "doc_id": doc_id, "check": "identity_collision", "passed": False, "severity": "warning",
                "detail": f"{row['source_file']}: identified as {row['doc_id']}, like {other} (same district, "
                          f"department, year and kind); its doc_id gets its content hash: {doc_id}"}])
            checks = result.get("checks")
            result["checks"] = warning if checks is None or not checks.num_rows else pa.concat_tables([checks, warning])
        self.doc_ids[doc_id] = row["source_file"]
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


def _chunks(paths: list[Path], overrides: dict, size: int, hashes: dict | None = None) -> Iterator[list[Source]]:
    """Read files lazily, `size` at a time (only the chunks in flight are in memory), noting each
    file's sha256 in `hashes`."""
    for i in range(0, len(paths), size):
        chunk = [(p.name, _read(p), overrides.get(p.name)) for p in paths[i:i + size]]
        if hashes is not None:
            hashes.update((name, hashlib.sha256(data).hexdigest()) for name, data, _ in chunk if isinstance(data, bytes))
        yield chunk


def _read(path: Path) -> bytes | OSError:
    try:
        return path.read_bytes()
    except OSError as exc:
        return exc


def _run(paths: list[Path], overrides: dict, executor: str, jobs: int | None, scheduler: str | None,
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
            names = [p.name for p in paths[chunks[i]:chunks[i] + chunk_size]]
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
    paths = list_documents(raw_dir)
    overrides = load_catalog(catalog or Path(raw_dir) / "catalog.csv")
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
    paths = list_documents(raw_dir)
    skipped = skipped_entries(raw_dir)
    overrides = load_catalog(catalog or Path(raw_dir) / "catalog.csv")
    fingerprint = extractor_fingerprint(overrides)
    writer = DatasetWriter(out_dir)
    state = None if full or writer.interrupted_before else load_state(out_dir)
    if state and (state.get("fingerprint") != fingerprint or not isinstance(state.get("files"), dict)
                  or not all(table_path(out_dir, n).is_dir() for n in TABLES)):
        state = None  # a different extractor, or a state file we cannot trust: everything again
    previous = state["files"] if state else {}

    # what changed needs every hash first; a full run takes them from the bytes it reads anyway
    current = {p.name: _sha256(p) for p in paths} if previous else {}
    unchanged = {n for n, sha in current.items() if sha is not None and previous.get(n, {}).get("sha256") == sha}
    unchanged |= {n for n, (kind, _) in skipped.items() if previous.get(n, {}).get("skipped") == kind}
    stale = set(previous) - unchanged
    # a duplicate whose original changed or went away must be read again
    unchanged -= {n for n in unchanged if previous[n].get("duplicate_of") in stale}
    stale = set(previous) - unchanged
    todo = [p for p in paths if p.name not in unchanged]
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
                         doc_ids={f["doc_id"]: n for n, f in files.items() if f.get("doc_id")})
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
                entry["doc_id"] = doc["doc_id"]
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
           "merge", "list_documents", "Deduplicator", "RunSummary", "SUPPORTED_SUFFIXES"]
