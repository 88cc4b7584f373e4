"""Benchmark: reading seeds 000 and 003 in every format the ingest registry knows, against the text path.

Renders the seeds at run time with `tests/format_factory.py` (HTML page with site chrome, .xlsx and
.xls workbooks of the tables, Word document; PDFs with `tests/pdf_factory.py`) in a temporary folder,
then prints per format: milliseconds to read the file (best of `--repeat`), lines, and how many of the
text path's line_items the table parser gets back (and any it gets that the text path does not).

    python benchmarks/formats.py
    python benchmarks/formats.py --repeat 10
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import format_factory  # noqa: E402
import pdf_factory  # noqa: E402

from fiscal_nlp.ingest import read_bytes  # noqa: E402
from fiscal_nlp.tables import extract_line_items  # noqa: E402

SEEDS = {"000": "000_b48aa8d80c836ecf.txt", "003": "003_4a269030347ad5ed.txt"}
RENDER = {
    "html": lambda text, path: format_factory.render_html(text, path.with_suffix(".html")),
    "xlsx": lambda text, path: format_factory.render_xlsx(text, path.with_suffix(".xlsx")),
    "xls": lambda text, path: format_factory.render_xls(text, path.with_suffix(".xls")),
    "docx": lambda text, path: format_factory.render_docx(text, path.with_suffix(".docx")),
    "pdf": lambda text, path: pdf_factory.render_pdf(text, path.with_suffix(".pdf")),
}


def best_read(data: bytes, name: str, repeat: int):
    best, doc = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        doc = read_bytes(data, name)
        best = min(best, time.perf_counter() - start)
    return best, doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'seed':5} {'format':6} {'ms/read':>9} {'lines':>6} {'line_items':>12} {'extra':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for seed, file in SEEDS.items():
            source = ROOT / "data" / "raw" / file
            text = source.read_text("utf-8")
            seconds, doc = best_read(source.read_bytes(), file, args.repeat)
            want = format_factory.item_set(extract_line_items(doc)[0])
            print(f"{seed:5} {'text':6} {seconds * 1000:9.1f} {len(doc.lines):6} {len(want):>5}/{len(want):<6} {0:6}")
            for fmt, render in RENDER.items():
                path = render(text, Path(tmp) / seed)
                seconds, doc = best_read(path.read_bytes(), path.name, args.repeat if fmt != "pdf" else 1)
                got = format_factory.item_set(extract_line_items(doc)[0])
                print(f"{seed:5} {fmt:6} {seconds * 1000:9.1f} {len(doc.lines):6} "
                      f"{len(want & got):>5}/{len(want):<6} {len(got - want):6}")


if __name__ == "__main__":
    main()
