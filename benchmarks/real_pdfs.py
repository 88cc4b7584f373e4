"""Benchmark: real published PDFs (../shared/real): throughput and hand-read cell recall.

For every PDF it times, in this one process (one core):

- ``pdftotext -layout``   poppler's text dump of the same file (the floor: text only, no tables);
- ``read``                fiscal_nlp's PDF reader (pdfplumber layout + camelot tables -> lines);
- ``extract``             the whole per-document path (read, identify, tables, narrative, audit);

and, where tests/golden/real holds cells read by hand for the file, how many of them the extraction
returns with the printed amount (the same matching as tests/test_real_tables.py).

    python benchmarks/real_pdfs.py                  # every PDF under ../shared/real
    python benchmarks/real_pdfs.py --repeat 3       # best of three runs per file
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fiscal_nlp.ingest import read_document  # noqa: E402
from fiscal_nlp.pipeline import extract_bytes  # noqa: E402

REAL = ROOT.parent / "shared" / "real"


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    if not REAL.is_dir():
        print(f"{REAL} not found", file=sys.stderr)
        return 2
    import test_real_tables as gold  # the hand-read cells and their matching rule

    pdftotext = shutil.which("pdftotext")
    rows, totals = [], {"pages": 0, "pdftotext": 0.0, "read": 0.0, "extract": 0.0, "gold": 0, "found": 0}
    for path in sorted(REAL.rglob("*.pdf")):
        rel = str(path.relative_to(REAL))
        t_txt = best_of(args.repeat, lambda: subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True))[0] if pdftotext else float("nan")
        t_read, doc = best_of(args.repeat, lambda: read_document(path))
        data = path.read_bytes()
        t_all, _ = best_of(args.repeat, lambda: extract_bytes(data, path.name))
        pages = doc.n_pages or 0
        cells = gold.GOLDEN_CELLS.get(rel, [])
        found = len(cells) - sum(map(len, gold.compare(rel))) if cells else 0
        rows.append((rel, pages, t_txt, t_read, t_all, found, len(cells)))
        for key, value in zip(("pages", "pdftotext", "read", "extract", "found", "gold"), (pages, t_txt, t_read, t_all, found, len(cells))):
            totals[key] += value
    print(f"{'file':60} {'pages':>5} {'pdftotext p/s':>13} {'read p/s':>9} {'extract p/s':>11} {'cells':>9}")
    for rel, pages, t_txt, t_read, t_all, found, n in rows:
        print(f"{rel[:60]:60} {pages:5d} {pages / t_txt:13.1f} {pages / t_read:9.1f} {pages / t_all:11.1f} {f'{found}/{n}' if n else '-':>9}")
    p = totals["pages"]
    print(f"{'all':60} {p:5d} {p / totals['pdftotext']:13.1f} {p / totals['read']:9.1f} {p / totals['extract']:11.1f} "
          f"{totals['found']}/{totals['gold']:<4}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
