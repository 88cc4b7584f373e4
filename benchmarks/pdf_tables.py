"""Benchmark: table extraction routes on disclosure PDFs, scored against the text path.

For every PDF it runs

- ``read_pdf``            fiscal_nlp's reader (the default route: lattice where the page draws a
                          grid, stream in the borderless regions it finds, rows joined across pages);
- ``camelot lattice``     camelot alone on every page (pdfium backend), engines "vector" and "combined";
- ``camelot stream``      camelot alone on every page, its own table detection;
- ``pdfplumber lines`` /  pdfplumber's own table finder, ruling-line and text-alignment strategies;
  ``pdfplumber text``

and prints, per route: cell accuracy and row accuracy against the rows the text path reads
from the same document (the seed the PDF was rendered from; the nine standard tables), tables
found, seconds per page, and — for ``read_pdf`` — how many of the text path's line_items the
table parser gets back from the PDF.

    python benchmarks/pdf_tables.py                 # the shared fixtures
    python benchmarks/pdf_tables.py --generated     # plus PDFs generated from seeds 000 and 003
    python benchmarks/pdf_tables.py some.pdf --seed 000
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fiscal_nlp.ingest import compact, identify, normalise, read_document  # noqa: E402

FIXTURES = {
    ROOT / "tests/fixtures/pdf/hanyang-2021-final.pdf": "000",
    ROOT / "tests/fixtures/pdf/hanyang-2021-final-stream.pdf": "000",
}
_AMOUNT = re.compile(r"^-?\d[\d,]*\.\d+$")

Row = tuple[str, ...]


# ---------------------------------------------------------------- reference and scoring


def seed_file(seed: str) -> Path:
    return next((ROOT / "data" / "raw").glob(f"{seed}_*.txt"))


_MARKUP = re.compile(r"</?p>|<input[^>]*>|[☑□√]")


def clean_row(cells) -> Row:
    """Cells as compared: NFKC, no whitespace, no conversion left-overs (<p>, checkboxes),
    trailing blank cells dropped."""
    row = tuple(_MARKUP.sub("", compact(normalise(str(c or "")))) for c in cells)
    end = max((i + 1 for i, c in enumerate(row) if c), default=0)
    return row[:end]


def reference_rows(seed: str) -> list[Row]:
    """The standard tables' rows as the text path reads them (before the 项目自评表 forms)."""
    rows = [clean_row(line.text.split("\t")) for line in read_document(seed_file(seed)).lines if "\t" in line.text]
    rows = [r for r in rows if r]
    end = next((i for i, r in enumerate(rows) if r[0] == "项目名称"), len(rows))
    return rows[:end]


def row_key(row: Row) -> tuple[str, ...]:
    """What identifies a row: its text cells (codes and labels), not its amounts."""
    return tuple(c for c in row if c and not _AMOUNT.match(c))


def score(reference: list[Row], extracted: list[Row]) -> tuple[float, float]:
    """(cell accuracy, row accuracy).

    Row accuracy: share of reference rows found exactly. Cell accuracy: for each reference
    row, the best position-wise match among extracted rows with the same key, as a share
    of all reference cells (a row not found scores 0).
    """
    by_key: dict[tuple[str, ...], list[Row]] = {}
    for row in extracted:
        by_key.setdefault(row_key(row), []).append(row)
    extracted_set = set(extracted)
    total = correct = exact = 0
    for ref in reference:
        total += len(ref)
        exact += ref in extracted_set
        best = 0
        for cand in by_key.get(row_key(ref), []):
            best = max(best, sum(1 for a, b in zip(ref, cand) if a == b))
        correct += best
    return correct / max(total, 1), exact / max(len(reference), 1)


# ---------------------------------------------------------------- routes


@dataclass
class Result:
    route: str
    rows: list[Row]
    tables: int
    seconds: float
    note: str = ""


def route_read_pdf(path: Path, seed: str) -> Result:
    start = time.perf_counter()
    doc = read_document(path)
    seconds = time.perf_counter() - start
    rows = [clean_row(line.text.split("\t")) for line in doc.lines if "\t" in line.text]
    tables = sum(1 for a, b in zip([None] + doc.lines, doc.lines) if "\t" in b.text and (a is None or "\t" not in a.text))
    return Result("read_pdf (default)", rows, tables, seconds, line_items_note(doc, seed))


def line_items_note(doc, seed: str) -> str:
    try:
        from fiscal_nlp.tables import extract_line_items
    except ImportError:
        return "line_items: parser not available"
    identify(doc)
    text_doc = read_document(seed_file(seed))
    identify(text_doc)
    keys = ["table_key", "side", "code", "item", "column", "amount"]

    def as_set(result):
        df = result[0] if isinstance(result, tuple) else result
        d = df[keys].copy()
        for c in ("side", "code", "item", "column"):
            d[c] = d[c].fillna("").astype(str)
        d["amount"] = d["amount"].astype(float).round(4)
        return set(map(tuple, d.astype(str).values.tolist()))

    want, got = as_set(extract_line_items(text_doc)), as_set(extract_line_items(doc))
    return f"line_items {len(want & got)}/{len(want)} found, {len(got - want)} extra"


def route_camelot(path: Path, flavor: str, **options) -> Result:
    import camelot

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tables = camelot.read_pdf(str(path), pages="all", flavor=flavor, suppress_stdout=True, **options)
    seconds = time.perf_counter() - start
    rows = [clean_row(r) for t in tables for r in t.df.values.tolist()]
    label = f"camelot {flavor}" + (f" ({options['engine']})" if "engine" in options else "")
    return Result(label, [r for r in rows if r], len(tables), seconds)


def route_pdfplumber(path: Path, strategy: str) -> Result:
    import pdfplumber

    settings = {} if strategy == "lines" else {"vertical_strategy": "text", "horizontal_strategy": "text"}
    start = time.perf_counter()
    rows, count = [], 0
    with pdfplumber.open(str(path)) as pdf:
        for page in pdf.pages:
            for table in page.extract_tables(settings):
                count += 1
                rows.extend(clean_row(r) for r in table)
    seconds = time.perf_counter() - start
    return Result(f"pdfplumber {strategy}", [r for r in rows if r], count, seconds)


def routes(path: Path, seed: str) -> list[Result]:
    return [
        route_read_pdf(path, seed),
        route_camelot(path, "lattice", backend="pdfium", use_fallback=False, split_text=True, engine="vector"),
        route_camelot(path, "lattice", backend="pdfium", use_fallback=False, split_text=True, engine="combined"),
        route_camelot(path, "stream", split_text=True),
        route_pdfplumber(path, "lines"),
        route_pdfplumber(path, "text"),
    ]


# ---------------------------------------------------------------- main


def n_pages(path: Path) -> int:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    try:
        return len(document)
    finally:
        document.close()


def generated_pdfs(folder: Path) -> dict[Path, str]:
    """Seeds 000 and 003 laid out ruled and borderless by the tests' PDF factory."""
    sys.path.insert(0, str(ROOT / "tests"))
    import pdf_factory

    made = {}
    for seed in ("000", "003"):
        text = seed_file(seed).read_text("utf-8")
        for style, ruled in (("ruled", True), ("borderless", False)):
            made[pdf_factory.render_pdf(text, folder / f"generated-{seed}-{style}.pdf", ruled=ruled)] = seed
    return made


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pdfs", nargs="*", type=Path, help="PDFs to score (default: the shared fixtures)")
    parser.add_argument("--seed", default="000", help="seed the given PDFs were made from")
    parser.add_argument("--generated", action="store_true", help="also score PDFs generated from seeds 000/003")
    args = parser.parse_args(argv)
    pdfs = {p: args.seed for p in args.pdfs} or {p: s for p, s in FIXTURES.items() if p.exists()}
    with tempfile.TemporaryDirectory() as tmp:
        if args.generated:
            pdfs.update(generated_pdfs(Path(tmp)))
        for path, seed in pdfs.items():
            reference = reference_rows(seed)
            pages = n_pages(path)
            print(f"\n{path.name}  ({pages} pages; reference: seed {seed}, {len(reference)} standard-table rows)")
            print(f"  {'route':<28}{'cell acc':>9}{'row acc':>9}{'tables':>8}{'s/page':>8}")
            for result in routes(path, seed):
                cells, rows = score(reference, result.rows)
                print(f"  {result.route:<28}{cells:>9.1%}{rows:>9.1%}{result.tables:>8}{result.seconds / pages:>8.3f}"
                      + (f"  {result.note}" if result.note else ""))


if __name__ == "__main__":
    main()
