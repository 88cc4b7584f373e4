"""The audit on real documents: every `error` finding per document, to be judged by reading the PDF.

Runs `fiscal-nlp extract` (this checkout's) on each folder of the real documents (default
`../shared/real`, next to the repository or its worktree folder) into a temp directory and prints,
per document, its `error` findings (check, table, lines/page, expected vs found, detail) and a count
of every severity. An `error` must be the document's own inconsistency; re-run after a change to
the table reader or the audit and read each new one against the page (`pdftotext -layout`,
`pdftoppm -png -f N -l N`).

    python benchmarks/audit_real.py                       # every folder of ../shared/real
    python benchmarks/audit_real.py ../shared/real/shanghai-putuo --warnings
    python benchmarks/audit_real.py --keep out/           # keep the extracted output
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]


def default_real() -> Path | None:
    for base in (ROOT.parent, ROOT.parent.parent):
        if (base / "shared" / "real").is_dir():
            return base / "shared" / "real"
    return None


def folders(paths: list[str]) -> list[Path]:
    if paths:
        return [Path(p) for p in paths]
    real = default_real()
    if real is None:
        sys.exit("no ../shared/real next to the repository: pass the folders to audit")
    return sorted(p for p in real.iterdir() if p.is_dir())


def extract(folder: Path, out: Path) -> None:
    cli = Path(sys.executable).with_name("fiscal-nlp")
    cmd = [str(cli) if cli.exists() else "fiscal-nlp", "extract", str(folder), "-o", str(out), "--jobs", "1", "--full"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def report(folder: Path, out: Path, show: tuple[str, ...]) -> dict[str, int]:
    con = duckdb.connect(str(out / "fiscal.duckdb"), read_only=True)
    docs = con.sql("select doc_id, source_file from documents order by source_file").fetchall()
    totals: dict[str, int] = {}
    for doc_id, source in docs:
        counts = dict(con.sql("select coalesce(severity, 'passed'), count(*) from checks where doc_id = ? group by 1",
                              params=[doc_id]).fetchall())
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
        print(f"\n== {folder.name}/{source}  ({doc_id})  "
              + "  ".join(f"{k}={counts.get(k, 0)}" for k in ("error", "rounding", "warning", "passed")))
        rows = con.sql(
            "select c.severity, c.check, c.table_key, c.source_line, c.related_line, c.expected, c.found, c.detail, "
            "(select min(l.page) from line_items l where l.doc_id = c.doc_id and l.source_line = c.source_line) "
            "from checks c where c.doc_id = ? and c.severity in (select unnest(?)) order by c.severity, c.check, c.source_line",
            params=[doc_id, list(show)]).fetchall()
        for severity, check, table, line, related, expected, found, detail, page in rows:
            where = f"L{line}" + (f"/L{related}" if related else "") + (f" p{page}" if page else "")
            print(f"  {severity:8} {check:20} {table or '-':16} {where:14} {expected!s:>12} vs {found!s:<12} {detail}")
    return totals


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="*", help="folders of PDFs (default: every folder of ../shared/real)")
    ap.add_argument("--warnings", action="store_true", help="print warnings too")
    ap.add_argument("--keep", help="extract into this directory (kept) instead of a temp one")
    args = ap.parse_args(argv)
    show = ("error", "warning") if args.warnings else ("error",)
    grand: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        for folder in folders(args.folders):
            out = base / folder.name
            extract(folder, out)
            for k, v in report(folder, out, show).items():
                grand[k] = grand.get(k, 0) + v
    print("\nall documents: " + "  ".join(f"{k}={grand.get(k, 0)}" for k in ("error", "rounding", "warning", "passed")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
