"""Extraction throughput at corpus scale, side by side in one run. A benchmark, not a test.

    python benchmarks/throughput.py                      # N = 100, 1,000, 10,000 (about 8 min on 2 cores)
    python benchmarks/throughput.py --sizes 100 1000     # quicker
    python benchmarks/throughput.py --profile prof.html  # also a pyinstrument profile of one process

It builds synthetic corpora with `benchmarks/make_corpus.py` (in a temp dir, never data/raw) and prints:

1. text documents/s and MB/s, and peak RSS (driver + workers), for `fiscal-nlp extract --jobs 2` at each N;
2. PDF pages/s (PDFs rendered from the seeds, `--jobs 2`);
3. the speed-up from 1 to 2 workers, local process pool and dask LocalCluster, on the N=1,000 corpus;
4. the time split per stage (read / tables / narrative / audit / other / to Arrow + pack / spill), single
   process, from timers around the stages the workers run, on a sample of the corpus (and a
   pyinstrument profile with --profile).

Every extraction runs as `fiscal-nlp extract ... --full` in a child process, as a researcher runs it,
so start-up (imports, worker spawn, jieba's dictionary) is counted.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil  # installed with dask.distributed

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "fiscal_nlp.cli"]


def make_corpus(n: int, out: Path, pdf_share: float, max_pdfs: int = 200) -> Path:
    if not out.exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_corpus.py"), str(n), str(out),
                        "--pdf-share", str(pdf_share), "--max-pdfs", str(max_pdfs)], check=True,
                       stdout=subprocess.DEVNULL)
    return out


def corpus_stats(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.iterdir() if p.suffix in (".txt", ".pdf")]
    return len(files), sum(p.stat().st_size for p in files)


def timed_extract(corpus: Path, out: Path, *extra: str) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes, the driver and all its workers together) of one extraction."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    proc = psutil.Popen([*CLI, "extract", str(corpus), "-o", str(out), "-q", "--full", *extra], cwd=ROOT)
    peak, done = 0, threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            try:
                tree = [proc, *proc.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rc = proc.wait()
    done.set()
    sampler.join()
    if rc != 0:
        raise SystemExit(f"fiscal-nlp extract failed on {corpus} (exit {rc})")
    return time.perf_counter() - start, peak


def stage_split(corpus: Path, sample: int, profile: str | None) -> dict[str, float]:
    """Milliseconds per document and stage over `sample` documents of `corpus`, in this process,
    along the workers' own path (`document_records`, timed around the stage functions it calls,
    then `Chunk.pack`, which converts each chunk's records to Arrow once per table), then the
    driver's spill of those results; `commit` is seconds for the whole sample."""
    import fiscal_nlp.narrative
    import fiscal_nlp.tables
    import fiscal_nlp.validate
    from fiscal_nlp.ingest import identify, read_bytes
    from fiscal_nlp.pipeline import Chunk, document_records
    from fiscal_nlp.store import DatasetWriter

    split = dict.fromkeys(("read", "tables", "narrative", "audit", "other", "to Arrow + pack", "spill"), 0.0)
    stages = ((fiscal_nlp.tables, "line_item_records", "tables"),
              (fiscal_nlp.narrative, "extract_rows", "narrative"),
              (fiscal_nlp.validate, "audit_document", "audit"))
    originals = [(module, name, getattr(module, name)) for module, name, _ in stages]

    def timed(fn, stage):
        def run(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                split[stage] += time.perf_counter() - t
        return run

    paths = sorted(p for p in corpus.iterdir() if p.suffix == ".txt")[:sample]
    warm = read_bytes(paths[0].read_bytes(), paths[0].name)  # jieba's dictionary and the YAML load once per worker:
    identify(warm)
    Chunk.pack([document_records(warm)])  # start-up, not per-document cost
    for (module, name, stage), (_, _, fn) in zip(stages, originals):
        setattr(module, name, timed(fn, stage))
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    results = []
    try:
        for p in paths:
            t0 = time.perf_counter()
            doc = read_bytes(p.read_bytes(), p.name)
            identify(doc)
            t1 = time.perf_counter()
            before = split["tables"] + split["narrative"] + split["audit"]
            results.append(document_records(doc))
            t2 = time.perf_counter()
            split["read"] += t1 - t0
            split["other"] += (t2 - t1) - (split["tables"] + split["narrative"] + split["audit"] - before)
        t0 = time.perf_counter()
        results = [r for i in range(0, len(results), 16) for r in Chunk.pack(results[i:i + 16]).unpack()]
        split["to Arrow + pack"] = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            writer = DatasetWriter(tmp)
            t0 = time.perf_counter()
            writer.write_documents(results)
            t1 = time.perf_counter()
            writer.commit()
            split["spill"], commit = t1 - t0, time.perf_counter() - t1
    finally:
        for module, name, fn in originals:
            setattr(module, name, fn)
    if profiler:
        profiler.stop()
        Path(profile).write_text(profiler.output_html(), encoding="utf-8")
    return {**{k: v / len(paths) * 1000 for k, v in split.items()}, "commit_s": commit}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--pdfs", type=int, default=20, help="PDF documents for the pages/s figure")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--workdir", default=None, help="keep corpora here between runs (default: a temp dir)")
    ap.add_argument("--profile", default=None, help="write a pyinstrument HTML profile of the stage split here")
    args = ap.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="fiscal-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
          f"{platform.python_implementation()} {platform.python_version()}, {platform.platform()}")
    report: dict = {"sizes": {}}

    print(f"\n1. text corpus, fiscal-nlp extract --jobs {args.jobs} (local process pool)")
    print(f"{'N':>7} {'MB':>7} {'seconds':>8} {'docs/s':>8} {'MB/s':>6} {'peak RSS':>9}")
    for n in args.sizes:
        corpus = make_corpus(n, work / f"text-{n}", pdf_share=0.0)
        count, size = corpus_stats(corpus)
        secs, rss = timed_extract(corpus, work / f"out-{n}", "--jobs", str(args.jobs))
        report["sizes"][n] = {"docs": count, "mb": size / 1e6, "seconds": secs, "docs_per_s": count / secs,
                              "mb_per_s": size / 1e6 / secs, "peak_rss_mb": rss / 2**20}
        print(f"{count:>7} {size / 1e6:>7.1f} {secs:>8.1f} {count / secs:>8.1f} {size / 1e6 / secs:>6.2f} "
              f"{rss / 2**20:>7.0f} MB")

    print(f"\n2. PDF corpus ({args.pdfs} documents rendered from the seeds), --jobs {args.jobs}")
    corpus = make_corpus(args.pdfs, work / f"pdf-{args.pdfs}", pdf_share=1.0, max_pdfs=args.pdfs)
    secs, rss = timed_extract(corpus, work / "out-pdf", "--jobs", str(args.jobs))
    import duckdb

    con = duckdb.connect(str(work / "out-pdf" / "fiscal.duckdb"), read_only=True)
    pages = con.execute("select coalesce(sum(n_pages), 0) from documents where format = 'pdf'").fetchone()[0]
    con.close()
    report["pdf"] = {"pages": pages, "seconds": secs, "pages_per_s": pages / secs, "peak_rss_mb": rss / 2**20}
    print(f"{pages} pages in {secs:.1f} s: {pages / secs:.1f} pages/s, peak RSS {rss / 2**20:.0f} MB")

    n = 1000 if 1000 in args.sizes else args.sizes[0]
    corpus = work / f"text-{n}"
    print(f"\n3. speed-up from 1 to 2 workers (N = {n})")
    report["speedup"] = {}
    for executor in ("local", "dask"):
        times = {}
        for jobs in (1, 2):
            times[jobs], _ = timed_extract(corpus, work / f"out-{executor}-{jobs}", "--executor", executor,
                                           "--jobs", str(jobs))
        report["speedup"][executor] = {"1": times[1], "2": times[2], "speedup": times[1] / times[2]}
        print(f"{executor:>6}: 1 worker {times[1]:.1f} s ({n / times[1]:.1f} docs/s), 2 workers {times[2]:.1f} s "
              f"({n / times[2]:.1f} docs/s): x{times[1] / times[2]:.2f}")

    print("\n4. time split per document, one process (ms/doc, 200 text documents, the workers' path)")
    split = stage_split(corpus, 200, None)
    if args.profile:  # a second pass under the profiler, so its overhead stays out of the figures above
        stage_split(corpus, 200, args.profile)
    report["split_ms"] = dict(split)
    commit = split.pop("commit_s")
    total = sum(split.values())
    for stage, ms in split.items():
        print(f"{stage:>15}: {ms:6.2f} ms  ({ms / total:5.1%})")
    print(f"{'total':>15}: {total:6.2f} ms   (then the commit: {commit:.2f} s for the 200 documents, "
          f"DuckDB and one fragment per partition)")
    (work / "throughput.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"\nfigures saved to {work / 'throughput.json'}")


if __name__ == "__main__":
    main()
