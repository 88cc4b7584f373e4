"""`fiscal-nlp` command line: extract disclosures into the data contract, and build reports."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def _summary(tables) -> Table:
    t = Table(title="fiscal-nlp extract", show_header=True)
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, df in tables.items():
        t.add_row(name, str(len(df)))
    return t


def cmd_extract(args) -> int:
    from .pipeline import extract
    from .store import write_tables

    raw = Path(args.raw_dir)
    if not raw.is_dir():
        console.print(f"[red]error:[/] {raw} is not a directory")
        return 2
    tables = extract(raw, catalog=args.catalog, progress=None if not args.quiet else False)
    write_tables(tables, args.out)
    if not args.quiet:
        console.print(_summary(tables))
        failed = tables["checks"][~tables["checks"]["passed"].astype(bool)]
        by_sev = failed["severity"].value_counts().to_dict()
        console.print(f"{len(tables['documents'])} documents extracted, {len(tables['errors'])} errors; "
                      f"audit: {by_sev.get('error', 0)} error, {by_sev.get('rounding', 0)} rounding, "
                      f"{by_sev.get('warning', 0)} warning -> {args.out}")
        for row in tables["errors"].itertuples():
            console.print(f"  [yellow]{row.kind}[/]: {row.message}")
    if args.strict and len(tables["errors"]):
        return 1
    return 0


def cmd_build(args) -> int:
    from .reports import build_reports

    return build_reports(raw_dir=args.raw, processed_dir=args.processed, reports_dir=args.reports,
                         district=args.district, year=args.year, jobs=args.jobs, with_code=args.with_code,
                         executor=args.executor, scheduler=args.scheduler)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fiscal-nlp", description=(
        "Turn Chinese department budget (部门预算) and final-account (部门决算) disclosures into research "
        "tables (Parquet + DuckDB) and reproducible reports."))
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("extract", help="extract every document in a folder into the data contract tables",
                       description="Read every .txt/.md/.pdf in RAW_DIR and write the contract tables as "
                                   "OUT/<table>.parquet and OUT/fiscal.duckdb. Bad files become rows of the "
                                   "`errors` table; the rest of the batch is still extracted.")
    e.add_argument("raw_dir", help="folder of raw disclosures (e.g. data/raw)")
    e.add_argument("-o", "--out", default="data/processed", help="output folder (default: data/processed)")
    e.add_argument("--catalog", default=None, help="CSV of researcher overrides (default: RAW_DIR/catalog.csv)")
    e.add_argument("--strict", action="store_true", help="exit 1 when any document could not be read")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    e.set_defaults(func=cmd_extract)

    b = sub.add_parser("build", help="extract if needed, then run every report notebook and render HTML",
                       description="Execute the parameterised notebooks with papermill per district and year, "
                                   "render HTML into REPORTS/<district>/<year>/, and write REPORTS/index.html "
                                   "and REPORTS/manifest.json. Unchanged inputs are not re-executed.")
    b.add_argument("--raw", default="data/raw", help="raw documents (default: data/raw)")
    b.add_argument("--processed", default="data/processed", help="extracted tables (default: data/processed)")
    b.add_argument("--reports", default="reports", help="output folder (default: reports)")
    b.add_argument("--district", action="append", help="only this district (repeatable), e.g. 汉阳区")
    b.add_argument("--year", action="append", type=int, help="only this fiscal year (repeatable)")
    b.add_argument("--jobs", type=int, default=2, help="notebooks run in parallel (processes, default 2)")
    b.add_argument("--with-code", action="store_true", help="show code cells in the HTML")
    b.add_argument("--executor", choices=["local", "dask"], default="local", help="where notebooks run")
    b.add_argument("--scheduler", default=None, help="dask scheduler address (tcp://host:port)")
    b.set_defaults(func=cmd_build)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/] — outputs already written are complete; nothing is half-written")
        return 130


if __name__ == "__main__":
    sys.exit(main())
