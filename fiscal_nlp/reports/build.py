"""Build every report: extract if needed, execute the notebooks with papermill, render HTML, write the index.

`build_reports(...)` is what `fiscal-nlp build` calls. Notebooks run in separate processes
(`fiscal_nlp.executors`: a process pool, or a dask cluster), each into `reports/<district-slug>/<year>/<notebook>.ipynb`
plus `.html`. A run whose inputs (notebook file, the extraction's state, parameters) are unchanged
since the last manifest is not executed again (status `cached`). A failing notebook is reported in
the index and the manifest; the others still build; the exit code is then 1.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from .html import render_index
from .slug import slug

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_NOTEBOOKS = PACKAGE_ROOT / "notebooks"
KERNEL_NAME = "fiscal-nlp"
DEFAULT_TIMEOUT_S = 600
REFORM_YEAR = 2024
NOTEBOOKS = ("district_profile", "budget_vs_actual", "reform_project_mix", "cross_district", "data_quality")
_PACKAGES = ("fiscal-nlp", "pandas", "pyarrow", "matplotlib", "seaborn", "papermill", "nbconvert", "nbformat",
             "ipykernel", "scrapbook", "pypinyin")


# ---------------------------------------------------------------- helpers
def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def kernel_name() -> str:
    """The project's kernel when installed (`make env` installs it), else python3."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        if KERNEL_NAME in KernelSpecManager().find_kernel_specs():
            return KERNEL_NAME
    except Exception:
        pass
    return "python3"


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def git_commit(root: Path = PACKAGE_ROOT) -> str | None:
    """HEAD commit read from `.git` (no git subprocess); None outside a checkout."""
    git = root / ".git"
    try:
        if git.is_file():  # worktree: "gitdir: <path>"
            git = (root / git.read_text().split(":", 1)[1].strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head
        ref = head.split(":", 1)[1].strip()
        for base in (git, git.parent / (git / "commondir").read_text().strip() if (git / "commondir").exists() else git):
            if (base / ref).exists():
                return (base / ref).read_text().strip()
            packed = base / "packed-refs"
            if packed.exists():
                for line in packed.read_text().splitlines():
                    if line.endswith(" " + ref):
                        return line.split()[0]
    except OSError:
        return None
    return None


# ---------------------------------------------------------------- extraction
def needs_extraction(raw_dir, processed_dir) -> bool:
    """True when `processed_dir` has no extraction, or `raw_dir`'s files or the extractor changed since."""
    from ..pipeline import extractor_fingerprint, list_documents, load_catalog
    from ..store import load_state

    state = load_state(processed_dir)
    if state is None:
        return True
    if raw_dir is None or not Path(raw_dir).is_dir():
        return False
    if state.get("fingerprint") != extractor_fingerprint(load_catalog(Path(raw_dir) / "catalog.csv")):
        return True
    current = {p.name: sha256_file(p) for p in list_documents(raw_dir)}
    return current != {name: f["sha256"] for name, f in state["files"].items()}


def ensure_extracted(raw_dir, processed_dir, **executor) -> bool:
    """Extract into `processed_dir` when needed (only what changed); returns True when it ran."""
    from ..pipeline import extract_to
    from ..store import load_state

    if raw_dir is None or not Path(raw_dir).is_dir():
        if load_state(processed_dir) is None:
            raise FileNotFoundError(f"{processed_dir} has no extracted tables and {raw_dir} is not a folder of raw documents")
        return False
    return not extract_to(raw_dir, processed_dir, progress=False, **executor).up_to_date


def data_fingerprint(processed_dir) -> str:
    """One hash for everything a notebook reads from `processed_dir` (the extraction state lists it all)."""
    from ..store import STATE_NAME

    return sha256_file(Path(processed_dir) / STATE_NAME)


# ---------------------------------------------------------------- planning
def _as_list(x):
    if x is None:
        return None
    return list(x) if isinstance(x, (list, tuple, set)) else [x]


def plan_runs(documents, processed_dir, district=None, year=None, notebooks_dir=DEFAULT_NOTEBOOKS) -> list[dict]:
    """(notebook, parameters, output) for every report the documents call for, in a stable order."""
    districts, years = _as_list(district), _as_list(year)
    docs = documents
    if districts:
        docs = docs[docs["district"].isin(districts)]
    if years:
        docs = docs[docs["fiscal_year"].isin([int(y) for y in years])]
    docs = docs.sort_values(["district", "fiscal_year", "doc_kind", "doc_id"])
    pdir = str(Path(processed_dir).resolve())
    available = {p.stem for p in Path(notebooks_dir).glob("*.ipynb")}
    runs: list[dict] = []

    def add(nb, group, stem, params):
        if nb in available:
            runs.append({"notebook": nb, "group": group, "stem": stem,
                         "parameters": {**params, "processed_dir": pdir}})

    per_year = docs.groupby(["district", "fiscal_year"]).size()
    for d in docs.itertuples():
        y = int(d.fiscal_year)
        group = f"{slug(d.district)}/{y}"
        suffix = f"-{d.doc_kind}" if per_year[(d.district, d.fiscal_year)] > 1 else ""
        add("district_profile", group, f"district_profile{suffix}",
            {"district": d.district, "year": y, "doc_kind": d.doc_kind})
        if d.doc_kind == "final":
            add("budget_vs_actual", group, "budget_vs_actual", {"district": d.district, "year": y, "threshold_pct": 10.0})
    for (dist, y) in per_year.index:
        add("data_quality", f"{slug(dist)}/{int(y)}", "data_quality", {"district": dist, "year": int(y)})
    for dist in sorted(docs["district"].unique()):
        add("reform_project_mix", f"{slug(dist)}/{REFORM_YEAR}", "reform_project_mix",
            {"district": dist, "reform_year": REFORM_YEAR})
    if len(docs):
        ys = sorted(int(y) for y in years) if years else []
        add("cross_district", f"all-districts/{'-'.join(map(str, ys)) or 'all-years'}", "cross_district", {"years": ys})
    for r in runs:
        r["output"] = f"{r['group']}/{r['stem']}.ipynb"
        r["html"] = f"{r['group']}/{r['stem']}.html"
    return runs


# ---------------------------------------------------------------- execution (runs in a worker process)
def _error_text(exc: BaseException) -> str:
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        cell = getattr(exc, "exec_count", None)
        return f"{ename}: {evalue}" + (f" (cell execution {cell})" if cell else "")
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def _normalise(nb) -> None:
    """Drop timestamps and temp paths papermill/nbclient write, so outputs are deterministic."""
    pm = nb.metadata.get("papermill", {})
    for key in ("start_time", "end_time", "duration", "input_path", "output_path", "environment_variables"):
        pm.pop(key, None)
    for i, cell in enumerate(nb.cells):
        if "id" in cell:  # papermill gives the injected-parameters cell a random id
            cell["id"] = f"cell-{i:02d}"
        cell.metadata.pop("execution", None)
        cpm = cell.metadata.get("papermill")
        if cpm is not None:
            for key in ("start_time", "end_time", "duration"):
                cpm.pop(key, None)


def _render_html(nb, title: str, with_code: bool) -> str:
    from nbconvert import HTMLExporter

    import warnings

    exporter = HTMLExporter(exclude_input=not with_code, exclude_input_prompt=True, exclude_output_prompt=True)
    with warnings.catch_warnings():  # scrapbook's glue outputs have no HTML form; that is expected
        warnings.simplefilter("ignore", UserWarning)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def execute_one(job: dict) -> dict:
    """Execute one notebook with papermill and render its HTML. Never raises: failures are returned."""
    import nbformat
    import papermill as pm

    start = time.perf_counter()
    out_nb, out_html = Path(job["out_ipynb"]), Path(job["out_html"])
    out_nb.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_nb.name}.", suffix=".ipynb", dir=out_nb.parent)
    os.close(fd)
    error = None
    try:
        try:
            pm.execute_notebook(job["notebook_path"], tmp, parameters=job["parameters"], kernel_name=job["kernel"],
                                execution_timeout=job["timeout"], cwd=job["cwd"], progress_bar=False,
                                log_output=False, report_mode=False)
        except Exception as exc:  # PapermillExecutionError carries the failing cell
            error = _error_text(exc)
        try:
            nb = nbformat.read(tmp, as_version=4)
            _normalise(nb)
            nbformat.write(nb, tmp)
            os.replace(tmp, out_nb)
            _atomic_write(out_html, _render_html(nb, job["title"], job["with_code"]))
        except Exception as exc:
            error = error or f"rendering failed: {_error_text(exc)}"
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return {"status": "failed" if error else "ok", "error": error,
            "duration_s": round(time.perf_counter() - start, 2)}


def run_jobs(jobs_list: list[dict], n_jobs: int | None, executor: str, scheduler: str | None, on_done) -> list[dict]:
    """Execute notebooks on the shared executors; a crashed worker fails only its own notebook."""
    from ..executors import map_unordered

    results: list[dict | None] = [None] * len(jobs_list)
    for i, res in map_unordered(execute_one, jobs_list, executor=executor, jobs=n_jobs, scheduler=scheduler,
                                window=len(jobs_list) or 1):
        if isinstance(res, BaseException):
            res = {"status": "failed", "error": f"worker failed: {_error_text(res)}", "duration_s": None}
        results[i] = res
        on_done()
    return results


# ---------------------------------------------------------------- the build
def _load_manifest(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def build_reports(raw_dir="data/raw", processed_dir="data/processed", reports_dir="reports", district=None,
                  year=None, jobs: int | None = None, with_code: bool = False, executor: str = "local", scheduler=None,
                  notebooks_dir=None, timeout: int = DEFAULT_TIMEOUT_S, progress: bool | None = None) -> int:
    """Extract if needed, execute every report notebook, render HTML, write index.html + manifest.json.

    Returns the exit code: 0 when every report built (or was cached), 1 when any failed, 2 on bad input.
    """
    from rich.console import Console

    console = Console(stderr=True)
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else DEFAULT_NOTEBOOKS
    reports = Path(reports_dir)
    processed = Path(processed_dir)
    try:
        if ensure_extracted(raw_dir, processed, executor=executor, jobs=jobs, scheduler=scheduler):
            console.print(f"extracted {raw_dir} -> {processed}")
    except FileNotFoundError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    from ..store import read_tables

    documents = read_tables(processed, ["documents"])["documents"]
    runs = plan_runs(documents, processed, district, year, notebooks_dir)
    if not runs:
        console.print("[yellow]nothing to build:[/] no documents match the selection")
    reports.mkdir(parents=True, exist_ok=True)
    manifest_path = reports / "manifest.json"
    previous = {(r["notebook"], json.dumps(r["parameters"], sort_keys=True, ensure_ascii=False)): r
                for r in _load_manifest(manifest_path).get("runs", [])}
    data_inputs = {"processed/_extraction.json": data_fingerprint(processed)}
    nb_hash = {p.stem: sha256_file(p) for p in notebooks_dir.glob("*.ipynb")}
    kernel = kernel_name()

    todo, records = [], []
    for r in runs:
        inputs = {f"notebooks/{r['notebook']}.ipynb": nb_hash[r["notebook"]], **data_inputs}
        rec = {"notebook": r["notebook"], "parameters": r["parameters"], "status": None, "duration_s": None,
               "inputs": inputs, "output": r["output"], "html": r["html"], "group": r["group"], "error": None}
        old = previous.get((r["notebook"], json.dumps(r["parameters"], sort_keys=True, ensure_ascii=False)))
        if (old and old.get("status") in ("ok", "cached") and old.get("inputs") == inputs
                and old.get("with_code", False) == with_code
                and (reports / r["output"]).exists() and (reports / r["html"]).exists()):
            rec.update(status="cached", duration_s=0.0)
        else:
            todo.append((rec, {
                "notebook_path": str(notebooks_dir / f"{r['notebook']}.ipynb"), "parameters": r["parameters"],
                "out_ipynb": str(reports / r["output"]), "out_html": str(reports / r["html"]), "kernel": kernel,
                "timeout": timeout, "cwd": str(notebooks_dir), "with_code": with_code,
                "title": f"{r['notebook']} — {r['group']}"}))
        rec["with_code"] = with_code
        records.append(rec)

    show = sys.stderr.isatty() if progress is None else progress
    bar = task = None
    if show and todo:
        from rich.progress import Progress

        bar = Progress(console=console, transient=True)
        bar.start()
        task = bar.add_task(f"executing {len(todo)} notebook(s) on kernel {kernel}", total=len(todo))

    def on_done():
        if bar is not None:
            bar.advance(task)

    try:
        job_dicts = [j for _, j in todo]
        try:
            results = run_jobs(job_dicts, jobs, executor, scheduler, on_done)
        except (OSError, RuntimeError) as exc:  # e.g. no dask scheduler at that address
            console.print(f"[red]error:[/] {exc}")
            return 2
    finally:
        if bar is not None:
            bar.stop()
    for (rec, _), res in zip(todo, results):
        rec.update(res)

    manifest = {"runs": [{k: rec[k] for k in ("notebook", "parameters", "status", "duration_s", "inputs", "output",
                                               "html", "error", "with_code")} for rec in records],
                "packages": package_versions(), "git_commit": git_commit()}
    _atomic_write(manifest_path, json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=False) + "\n")
    docs = documents.sort_values(["district", "fiscal_year", "doc_kind"]).to_dict("records")
    _atomic_write(reports / "index.html", render_index(records, docs))

    failed = [r for r in records if r["status"] == "failed"]
    counts = {s: sum(r["status"] == s for r in records) for s in ("ok", "cached", "failed")}
    console.print(f"reports: {counts['ok']} built, {counts['cached']} cached, {counts['failed']} failed -> "
                  f"{reports / 'index.html'}")
    for r in failed:
        console.print(f"  [red]failed[/] {r['output']}: {r['error']}")
    return 1 if failed else 0
