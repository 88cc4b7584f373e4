"""Benchmark the cross-district analysis (the cross_district report's work, without the kernel):
`analysis.load` + `district_summary` + `disclosure_completeness` over an extracted corpus.

    python benchmarks/make_corpus.py 10000 /tmp/corpus10k --pdf-share 0
    fiscal-nlp extract /tmp/corpus10k -o /tmp/proc10k
    python benchmarks/cross_district.py /tmp/proc10k [--years 2021] [--repeat 3]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time


def main(argv=None) -> int:
    import fiscal_nlp.analysis as A

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("processed", help="a folder `fiscal-nlp extract` wrote")
    p.add_argument("--years", type=int, action="append", help="only these fiscal years (read by partition)")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    times = {"load": [], "district_summary": [], "completeness": []}
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        tables = A.load(args.processed, years=args.years)
        t1 = time.perf_counter()
        summary = A.district_summary(tables, args.years)
        t2 = time.perf_counter()
        A.completeness_score(A.disclosure_completeness(tables, args.years))
        t3 = time.perf_counter()
        times["load"].append(t1 - t0)
        times["district_summary"].append(t2 - t1)
        times["completeness"].append(t3 - t2)
    n_docs = len(tables["documents"])
    print(f"{platform.machine()}, CPython {platform.python_version()}; {n_docs} documents, "
          f"{len(tables['line_items'])} line items, {len(tables['projects'])} project rows; years {args.years or 'all'}")
    for k, v in times.items():
        print(f"  {k:<18} median {statistics.median(v):6.2f} s  (runs: {', '.join(f'{x:.2f}' for x in v)})")
    total = sum(statistics.median(v) for v in times.values())
    print(f"  total              {total:6.2f} s; {len(summary)} summary rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
