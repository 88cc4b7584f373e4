"""Benchmark `fiscal-nlp build`: total build time, cached re-run, and per-notebook time next to
papermill executing an empty notebook on the same kernel (the fixed cost of a kernel).

    python benchmarks/report_build.py --processed data/processed [--raw data/raw] [--jobs 2]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def empty_notebook_seconds(kernel: str, repeats: int = 3) -> float:
    import nbformat
    import papermill as pm

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "empty.ipynb", Path(tmp) / "out.ipynb"
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]})]
        nbformat.write(nb, src)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            pm.execute_notebook(str(src), str(out), kernel_name=kernel, progress_bar=False, log_output=False)
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None) -> int:
    from fiscal_nlp.reports.build import build_reports, kernel_name

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--raw", default=str(ROOT / "data" / "raw"))
    p.add_argument("--processed", default=str(ROOT / "data" / "processed"))
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args(argv)
    kernel = kernel_name()
    with tempfile.TemporaryDirectory() as tmp:
        reports = Path(tmp) / "reports"
        t = time.perf_counter()
        rc = build_reports(args.raw, args.processed, reports, jobs=args.jobs, progress=False)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        rc2 = build_reports(args.raw, args.processed, reports, jobs=args.jobs, progress=False)
        warm = time.perf_counter() - t
    empty = empty_notebook_seconds(kernel)
    # per-notebook durations: one sequential cold build (jobs=1) so numbers are not inflated by contention
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        build_reports(args.raw, args.processed, Path(tmp) / "r", jobs=1, progress=False)
        sequential = time.perf_counter() - t
        runs = json.loads((Path(tmp) / "r" / "manifest.json").read_text(encoding="utf-8"))["runs"]
    by_nb: dict[str, list[float]] = {}
    for r in runs:
        by_nb.setdefault(r["notebook"], []).append(r["duration_s"] or 0.0)
    print(f"kernel: {kernel}; reports: {len(runs)}; exit codes {rc}, {rc2}")
    print(f"total build, cold (jobs={args.jobs}): {cold:7.2f} s")
    print(f"total build, cold (jobs=1):       {sequential:7.2f} s")
    print(f"total build, all cached:          {warm:7.2f} s")
    print(f"papermill empty notebook:         {empty:7.2f} s  (kernel start + shutdown)")
    print(f"{'notebook':<22}{'runs':>5}{'median s':>10}{'overhead vs empty':>19}")
    for nb, ds in sorted(by_nb.items()):
        med = statistics.median(ds)
        print(f"{nb:<22}{len(ds):>5}{med:>10.2f}{med - empty:>+12.2f} s ({med / empty:4.1f}x)")
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
