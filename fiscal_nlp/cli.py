"""`fiscal-nlp` command line: extract disclosures into the data contract, and build reports."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def _summary(out: Path, run) -> None:
    """Rows per table, the audit and the errors, read back from what was written."""
    import duckdb

    from .store import DUCKDB_NAME

    con = duckdb.connect(str(out / DUCKDB_NAME), read_only=True)
    try:
        t = Table(title=f"fiscal-nlp extract -> {out}", show_header=True)
        t.add_column("table")
        t.add_column("rows", justify="right")
        for (name,) in con.execute("select table_name from information_schema.tables order by table_name").fetchall():
            t.add_row(name, str(con.execute(f'select count(*) from "{name}"').fetchone()[0]))
        console.print(t)
        by_sev = dict(con.execute("select severity, count(*) from checks where not passed group by 1").fetchall())
        n_docs = con.execute("select count(*) from documents").fetchone()[0]
        errors = con.execute("select kind, message from errors order by source_file").fetchall()
    finally:
        con.close()
    console.print(f"{run.extracted} extracted, {run.unchanged} unchanged, {run.removed} removed in {run.seconds:.1f} s; "
                  f"{n_docs} documents, {len(errors)} errors; audit: {by_sev.get('error', 0)} error, "
                  f"{by_sev.get('rounding', 0)} rounding, {by_sev.get('warning', 0)} warning")
    for kind, message in errors:
        console.print(f"  [yellow]{kind}[/]: {message}")


def cmd_extract(args) -> int:
    from .pipeline import extract_to
    from .store import read_table

    raw, out = Path(args.raw_dir), Path(args.out)
    if not raw.is_dir():
        console.print(f"[red]error:[/] {raw} is not a directory")
        return 2
    try:
        run = extract_to(raw, out, catalog=args.catalog, executor=args.executor, jobs=args.jobs,
                         scheduler=args.scheduler, full=args.full, progress=None if not args.quiet else False,
                         timeout=args.timeout or None, memory_mb=args.memory_limit or None)
    except (OSError, RuntimeError) as exc:  # e.g. no dask scheduler at that address
        console.print(f"[red]error:[/] {exc}")
        return 2
    if not args.quiet:
        if run.up_to_date:
            console.print(f"{out} is up to date ({run.unchanged} documents unchanged)")
        else:
            _summary(out, run)
    if args.strict and read_table(out, "errors").num_rows:
        return 1
    return 0


def _add_executor_options(p: argparse.ArgumentParser, what: str) -> None:
    from .executors import EXECUTORS

    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help=f"where {what} run: local processes (default) or a dask cluster")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: the CPU count)")
    p.add_argument("--scheduler", default=None,
                   help="dask scheduler address (tcp://host:port); default: a LocalCluster of --jobs workers")


def cmd_build(args) -> int:
    from .reports import build_reports

    try:
        return build_reports(raw_dir=args.raw, processed_dir=args.processed, reports_dir=args.reports,
                             district=args.district, year=args.year, jobs=args.jobs, with_code=args.with_code,
                             executor=args.executor, scheduler=args.scheduler)
    except RuntimeError as exc:  # e.g. an extraction is writing into --processed right now (its lock)
        console.print(f"[red]error:[/] {exc}")
        return 2


def cmd_export(args) -> int:
    from .analysis.export import export

    try:
        written = export(args.processed, args.out, args.format, names=args.table)
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    console.print(f"wrote {len(written)} {args.format} file(s) to {args.out}: " + ", ".join(p.name for p in written))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fiscal-nlp", description=(
        "Turn Chinese department budget (部门预算) and final-account (部门决算) disclosures into research "
        "tables (Parquet + DuckDB) and reproducible reports."))
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("extract", help="extract every document in a folder into the data contract tables",
                       description="Read every disclosure in RAW_DIR (text, PDF, HTML, .xlsx/.xls, .docx) and write the contract tables as "
                                   "hive-partitioned Parquet datasets OUT/<table>.parquet/ and OUT/fiscal.duckdb. "
                                   "Bad files become rows of the `errors` table; the rest of the batch is still "
                                   "extracted. A re-run extracts only files whose content changed.")
    e.add_argument("raw_dir", help="folder of raw disclosures (e.g. data/raw)")
    e.add_argument("-o", "--out", default="data/processed", help="output folder (default: data/processed)")
    e.add_argument("--catalog", default=None, help="CSV of researcher overrides (default: RAW_DIR/catalog.csv)")
    e.add_argument("--strict", action="store_true", help="exit 1 when any document could not be read")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    e.add_argument("--full", action="store_true",
                   help="re-extract every file (default: only files whose content changed since the last run)")
    _add_executor_options(e, "documents are extracted")
    from .executors import DEFAULT_LIMITS

    e.add_argument("--timeout", type=float, default=DEFAULT_LIMITS.seconds, metavar="SECONDS",
                   help=f"per-document time limit on worker processes; a document over it becomes an `errors` row "
                        f"(kind timeout) (default: {DEFAULT_LIMITS.seconds:g}; 0: none)")
    e.add_argument("--memory-limit", type=float, default=DEFAULT_LIMITS.memory_mb, metavar="MB",
                   help=f"per-document memory limit (a worker's resident MB); over it: an `errors` row "
                        f"(kind resource_limit) (default: {DEFAULT_LIMITS.memory_mb:g}; 0: none)")
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
    b.add_argument("--with-code", action="store_true", help="show code cells in the HTML")
    _add_executor_options(b, "extraction and notebooks")
    b.set_defaults(func=cmd_build)

    x = sub.add_parser("export", help="write analysis-ready tables (CSV, Stata or Parquet)",
                       description="Write each table of PROCESSED as OUT/<table>.<ext>: codes with their labels "
                                   "(<code>_label), projects.prior_budgets flattened (prior_budget_<year>), each row "
                                   "with its document's district, department, year and kind; plus labels and codebook "
                                   "(every column's label and unit).")
    x.add_argument("processed", nargs="?", default="data/processed", help="extracted tables (default: data/processed)")
    x.add_argument("-o", "--out", default="exports", help="output folder (default: exports)")
    x.add_argument("--format", choices=("csv", "stata", "parquet"), default="csv")
    x.add_argument("--table", action="append", help="only this table (repeatable; documents is always included)")
    x.set_defaults(func=cmd_export)
    return p


def _terminate(signum, frame):
    raise KeyboardInterrupt  # SIGTERM (timeout, systemd, a batch scheduler): clean up as for Ctrl-C


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/] — outputs already written are complete; nothing is half-written")
        return 130


if __name__ == "__main__":
    sys.exit(main())
