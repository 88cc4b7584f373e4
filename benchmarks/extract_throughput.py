"""Extraction throughput on the seeds (documents/s and MB/s). A benchmark, not a test.

    python benchmarks/extract_throughput.py [--repeat 20]
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from fiscal_nlp.pipeline import extract_document, list_documents

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", default=str(ROOT / "data" / "raw"))
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    paths = list_documents(args.raw)
    size = sum(p.stat().st_size for p in paths)
    extract_document(paths[0])  # warm imports and caches
    start = time.perf_counter()
    for _ in range(args.repeat):
        for p in paths:
            extract_document(p)
    elapsed = time.perf_counter() - start
    n = len(paths) * args.repeat
    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print(f"{n} documents ({size * args.repeat / 1e6:.2f} MB) in {elapsed:.2f} s, 1 process")
    print(f"throughput: {n / elapsed:.1f} documents/s, {size * args.repeat / 1e6 / elapsed:.2f} MB/s")


if __name__ == "__main__":
    main()
