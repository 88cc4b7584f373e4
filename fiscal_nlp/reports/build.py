"""Build every report: extract if needed, execute the notebooks with papermill, render HTML, write the index.

`build_reports(...)` is what `fiscal-nlp build` calls. Notebooks run in separate processes
(`fiscal_nlp.executors`: a process pool, or a dask cluster), each into `reports/<district-slug>/<year>/<notebook>.ipynb`
plus `.html`. A run whose inputs (notebook file, the extraction's state, parameters) are unchanged
since the last manifest is not executed again (status `cached`). A failing notebook is reported in
the index and the manifest; the others still build; the exit code is then 1.
"""
from __future__ import annotations

import contextlib
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
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a published site is read by others
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
        common = (git / (git / "commondir").read_text().strip()).resolve() if (git / "commondir").exists() else git
        for base in (git, common):  # a worktree keeps its branches in the main repository's git dir
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
    from ..pipeline import extractor_fingerprint, list_documents, load_catalog, source_name
    from ..store import load_state

    state = load_state(processed_dir)
    if state is None:
        return True
    if raw_dir is None or not Path(raw_dir).is_dir():
        return False
    if state.get("fingerprint") != extractor_fingerprint(load_catalog(Path(raw_dir) / "catalog.csv")):
        return True
    current = {source_name(raw_dir, p): sha256_file(p) for p in list_documents(raw_dir)}
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


KIND_SLUGS = {"budget": "budget", "final": "final"}
REPORT_LABELS = {"district_profile": "部门收支概况 Profile", "budget_vs_actual": "预算与决算 Budget vs actual",
                 "data_quality": "数据质量 Data quality", "reform_project_mix": "机构改革前后项目结构 Reform project mix",
                 "cross_district": "区际比较 Across places"}


def describe_documents(documents):
    """`documents` plus what the site groups by: place (district, else city/province, else a placeholder),
    the department (printed name and a key without the place), year and kind labels."""
    from ..analysis._common import KIND_LABELS, UNKNOWN_YEAR, department_key, place_of

    docs = documents.copy()
    recs = docs.to_dict("records")
    docs["place"] = [place_of(r) for r in recs]
    docs["department_group"] = [department_key(r) for r in recs]
    year = docs["fiscal_year"]
    docs["year_label"] = [str(int(y)) if y is not None and not _isna(y) else UNKNOWN_YEAR for y in year]
    docs["kind_label"] = [KIND_LABELS.get(k, str(k) if isinstance(k, str) else "未识别类型 (kind not identified)")
                          for k in docs["doc_kind"]]
    # the department as the latest disclosure prints it
    order = docs.assign(_y=year.fillna(-1)).sort_values("_y")
    latest = order.groupby(["place", "department_group"])["department"].agg(
        lambda s: next((x for x in reversed(s.tolist()) if isinstance(x, str) and x), None))
    docs["department_label"] = [latest.get((p, g)) or g for p, g in zip(docs["place"], docs["department_group"])]
    return docs


def _isna(x) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def plan_runs(documents, processed_dir, district=None, year=None, notebooks_dir=DEFAULT_NOTEBOOKS) -> list[dict]:
    """(notebook, parameters, output) for every report the documents call for, in a stable order.

    Keyed by disclosure: `<place>/<department>/<year>/<report>-<kind>` for each document (profile, data
    quality, and budget vs actual for a final account), `<place>/<department>/reform_project_mix` per
    department, one cross-place report. A document with no place or year is planned under a placeholder
    name (see `describe_documents`), never dropped."""
    districts, years = _as_list(district), _as_list(year)
    docs = describe_documents(documents)
    if districts:
        docs = docs[docs["district"].isin(districts) | docs["place"].isin(districts)]
    if years:
        docs = docs[docs["fiscal_year"].isin([int(y) for y in years])]
    docs = docs.assign(_y=docs["fiscal_year"].fillna(-1)).sort_values(
        ["place", "department_group", "_y", "doc_kind", "doc_id"], na_position="last")
    pdir = str(Path(processed_dir).resolve())
    available = {p.stem for p in Path(notebooks_dir).glob("*.ipynb")}
    runs: list[dict] = []
    used: set[str] = set()

    def add(nb, group, stem, params, **meta):
        if nb not in available:
            return
        output = f"{group}/{stem}"
        if output in used:  # two disclosures of one department, year and kind (e.g. a re-published one)
            output = f"{output}-{slug(meta.get('doc_id') or len(used))}"
        used.add(output)
        depth = output.count("/")
        runs.append({"notebook": nb, "group": group, "stem": output.rsplit("/", 1)[1], "output": output + ".ipynb",
                     "html": output + ".html", "label": REPORT_LABELS.get(nb, nb),
                     "parameters": {**params, "sources_href": "../" * depth + "sources", "processed_dir": pdir},
                     **meta})

    for d in docs.itertuples():
        y = None if _isna(d.fiscal_year) else int(d.fiscal_year)
        group = f"{slug(d.place)}/{slug(d.department_group)}/{y if y is not None else 'unknown-year'}"
        kind = KIND_SLUGS.get(d.doc_kind, "unknown-kind")
        meta = {"doc_id": d.doc_id, "place": d.place, "department_group": d.department_group}
        base = {"doc_id": d.doc_id, "district": d.district if isinstance(d.district, str) else "", "year": y,
                "doc_kind": d.doc_kind if isinstance(d.doc_kind, str) else ""}
        add("district_profile", group, f"profile-{kind}", base, **meta)
        if d.doc_kind == "final":
            add("budget_vs_actual", group, "budget_vs_actual", {**base, "threshold_pct": 10.0}, **meta)
        add("data_quality", group, f"data_quality-{kind}", base, **meta)
    for (place, dept), g in docs.groupby(["place", "department_group"], sort=False):
        add("reform_project_mix", f"{slug(place)}/{slug(dept)}", "reform_project_mix",
            {"district": place, "department": dept, "doc_ids": list(g["doc_id"]), "reform_year": REFORM_YEAR},
            place=place, department_group=dept)
    if len(docs):
        ys = sorted(int(y) for y in years) if years else []
        add("cross_district", f"all-places/{'-'.join(map(str, ys)) or 'all-years'}", "cross_district", {"years": ys})
    _link_pages(runs, docs)
    return runs


def _rel(target: str, page: str) -> str:
    return os.path.relpath(target, os.path.dirname(page) or ".").replace(os.sep, "/")


def _link_pages(runs: list[dict], docs) -> None:
    """Each run's `page`: what it is about (place, department, year, kind), the way back to the index,
    the other reports on the same document and the same report for the department's other years."""
    info = {d["doc_id"]: d for d in docs.to_dict("records")}
    for r in runs:
        d = info.get(r.get("doc_id"))
        about = []
        if d is not None:
            about = [("地区 Place", d["place"]), ("部门 Department", d["department"] or d["department_label"]),
                     ("年度 Year", d["year_label"]), ("文件 Kind", d["kind_label"]), ("来源 Source", d["source_file"])]
            heading = f"{REPORT_LABELS.get(r['notebook'], r['notebook'])} — {d['place']} {d['department_label']} {d['year_label']} {d['kind_label']}"
            siblings = [(o["label"], _rel(o["html"], r["html"])) for o in runs
                        if o is not r and (o.get("doc_id") == r["doc_id"] or (not o.get("doc_id") and o.get("place") == d["place"]
                                                                               and o.get("department_group") == d["department_group"]))]
            same = [o for o in runs if o["notebook"] == r["notebook"] and o.get("doc_id") and o is not r
                    and info[o["doc_id"]]["place"] == d["place"] and info[o["doc_id"]]["department_group"] == d["department_group"]]
            other_years = [(f"{info[o['doc_id']]['year_label']} {info[o['doc_id']]['kind_label']}", _rel(o["html"], r["html"]))
                           for o in same]
            files = [d["source_file"]]
        elif r.get("place") is not None:
            ds = [x for x in info.values() if x["place"] == r["place"] and x["department_group"] == r["department_group"]]
            label = ds[-1]["department_label"] if ds else r["department_group"]
            years = ", ".join(sorted({f"{x['year_label']} {x['kind_label']}" for x in ds}))
            about = [("地区 Place", r["place"]), ("部门 Department", label), ("年度 Years", years),
                     ("文件 Kind", "部门预算与决算 budgets and final accounts")]
            heading = f"{REPORT_LABELS.get(r['notebook'], r['notebook'])} — {r['place']} {label}"
            siblings = []
            other_years = [(f"{x['year_label']} {x['kind_label']}", _rel(o["html"], r["html"])) for x in ds for o in runs
                           if o.get("doc_id") == x["doc_id"] and o["notebook"] == "district_profile"]
            files = [x["source_file"] for x in ds]
        else:
            ys = r["parameters"].get("years") or []
            about = [("地区 Places", "all places in the selection"), ("部门 Departments", "all"),
                     ("年度 Years", ", ".join(map(str, ys)) or "all years"), ("文件 Kind", "部门预算与决算 budgets and final accounts")]
            heading = f"{REPORT_LABELS.get(r['notebook'], r['notebook'])} — {', '.join(map(str, ys)) or 'all years'}"
            siblings, other_years, files = [], [], []
        r["page"] = {"heading": heading, "about": about, "siblings": siblings, "other_years": other_years,
                     "index_href": _rel("index.html", r["html"]), "place": (d or {}).get("place") or r.get("place"),
                     "department": (d or {}).get("department_label") or r.get("department_group"),
                     "source_files": files}


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


def _scraps(nb) -> dict:
    """The values the notebook glued (`fiscal_nlp.analysis.glue`), by name."""
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            for mime, payload in o.get("data", {}).items():
                if mime.startswith("application/scrapbook.scrap.") and isinstance(payload, dict) and "name" in payload:
                    out[payload["name"]] = payload.get("data")
    return out


def _exporter(with_code: bool):
    from nbconvert import HTMLExporter

    class SiteExporter(HTMLExporter):
        """JupyterLab's HTML without network resources, `lang="zh-CN"`, the site's chrome (templates/fiscal_report)."""

        def _init_resources(self, resources):
            resources = super()._init_resources(resources)
            resources["language_code"] = "zh-CN"
            return resources

    return SiteExporter(extra_template_basedirs=[str(Path(__file__).resolve().parent / "templates")],
                        template_name="fiscal_report", exclude_input=not with_code, exclude_input_prompt=True,
                        exclude_output_prompt=True, embed_images=True)


def _render_html(nb, title: str, with_code: bool, page: dict | None = None, commit: str | None = None) -> str:
    import warnings

    from .html import page_chrome, site_css

    header, footer = page_chrome(page, commit) if page else ("", "")
    with warnings.catch_warnings():  # scrapbook's glue outputs have no HTML form; that is expected
        warnings.simplefilter("ignore", UserWarning)
        body, _ = _exporter(with_code).from_notebook_node(nb, resources={
            "metadata": {"name": title}, "fiscal_header": header, "fiscal_footer": footer, "fiscal_css": site_css()})
    return body


@contextlib.contextmanager
def _quiet_stderr():
    """The kernel's own stderr (“Kernel is running over TCP without encryption”, “KeyboardInterrupt caught
    in kernel” at shutdown) goes to a temp file instead of the terminal; its tail is returned on failure."""
    import logging
    import warnings

    sys.stderr.flush()
    saved = os.dup(2)
    log = tempfile.TemporaryFile(mode="w+b")
    os.dup2(log.fileno(), 2)
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield log
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        logging.getLogger().setLevel(level)


def execute_one(job: dict) -> dict:
    """Execute one notebook with papermill and render its HTML. Never raises: failures are returned.

    Status `no_data` when the notebook glued `no_data` (the selection holds nothing to report)."""
    import nbformat
    import papermill as pm

    start = time.perf_counter()
    out_nb, out_html = Path(job["out_ipynb"]), Path(job["out_html"])
    out_nb.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_nb.name}.", suffix=".ipynb", dir=out_nb.parent)
    os.close(fd)
    error, no_data = None, None
    try:
        with _quiet_stderr():
            try:
                pm.execute_notebook(job["notebook_path"], tmp, parameters=job["parameters"], kernel_name=job["kernel"],
                                    execution_timeout=job["timeout"], cwd=job["cwd"], progress_bar=False,
                                    log_output=False, report_mode=False)
            except Exception as exc:  # PapermillExecutionError carries the failing cell
                error = _error_text(exc)
        try:
            nb = nbformat.read(tmp, as_version=4)
            _normalise(nb)
            no_data = _scraps(nb).get("no_data") or None
            nbformat.write(nb, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, out_nb)
            page = dict(job.get("page") or {})
            if no_data and not error:
                page["status_note"] = f"无数据 No data: {no_data}"
            _atomic_write(out_html, _render_html(nb, job["title"], job["with_code"], page or None, job.get("commit")))
        except Exception as exc:
            error = error or f"rendering failed: {_error_text(exc)}"
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    status = "failed" if error else ("no_data" if no_data else "ok")
    return {"status": status, "error": error or (str(no_data) if no_data else None),
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


def audit_counts(checks) -> dict[str, dict[str, int]]:
    """Per document: total checks and failed ones by severity (what the index shows)."""
    out: dict[str, dict[str, int]] = {}
    if checks is None or checks.empty:
        return out
    failed = ~checks["passed"].fillna(False).astype(bool)
    total = checks.groupby("doc_id").size()
    sev = checks[failed].groupby(["doc_id", "severity"]).size()
    for doc_id, n in total.items():
        out[doc_id] = {"total": int(n), **{s: int(sev.get((doc_id, s), 0)) for s in ("error", "warning", "rounding")}}
    return out


def audit_summary_text(documents, checks, errors=None) -> str:
    """One line for the terminal: documents, failed checks by severity, unreadable files."""
    failed = checks[~checks["passed"].fillna(False).astype(bool)] if len(checks) else checks
    by = failed["severity"].value_counts().to_dict() if len(failed) else {}
    n_err = 0 if errors is None else len(errors)
    worst = ""
    if len(failed):
        e = failed[failed["severity"] == "error"]
        if len(e):
            top = e.groupby("doc_id").size().sort_values(ascending=False).head(3)
            worst = "; most errors: " + ", ".join(f"{d} ({n})" for d, n in top.items())
    return (f"audit: {len(documents)} documents, {len(checks)} checks, {by.get('error', 0)} error, "
            f"{by.get('warning', 0)} warning, {by.get('rounding', 0)} rounding; {n_err} unreadable file(s){worst}")


def write_sources(documents, raw_dir, reports: Path, on_done=None) -> dict[str, str]:
    """The rendered source view of every document whose file is in `raw_dir` (`sources/<doc>.html`:
    the normalised lines the parser read, `id="L<n>"` anchors, page markers for PDFs); a view whose
    file has not changed (same sha256) is kept. Returns {doc_id: path relative to `reports`}."""
    from ..analysis import describe, source_page_name
    from ..ingest import read_document
    from .html import render_source

    out: dict[str, str] = {}
    raw = Path(raw_dir) if raw_dir else None
    for d in documents.to_dict("records"):
        name = source_page_name(d["doc_id"])
        target = reports / "sources" / name
        src = raw / d["source_file"] if raw is not None else None
        if target.exists() and f'content="{d["sha256"]}"' in target.read_text(encoding="utf-8")[:2000]:
            out[d["doc_id"]] = f"sources/{name}"
        elif src is not None and src.is_file():
            try:
                doc = read_document(src)
            except Exception:  # an unreadable file has an `errors` row already; no view
                doc = None
            if doc is not None:
                _atomic_write(target, render_source(d, doc.lines, describe(d), "../index.html"))
                out[d["doc_id"]] = f"sources/{name}"
        if on_done:
            on_done()
    return out


def build_reports(raw_dir="data/raw", processed_dir="data/processed", reports_dir="reports", district=None,
                  year=None, jobs: int | None = None, with_code: bool = False, executor: str = "local", scheduler=None,
                  notebooks_dir=None, timeout: int = DEFAULT_TIMEOUT_S, progress: bool | None = None) -> int:
    """Extract if needed, execute every report notebook, render HTML, write index.html + manifest.json.

    Returns the exit code: 0 when every report built, was cached or had no data, 1 when any failed, 2 on bad input.
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

    t = read_tables(processed, ["documents", "checks", "errors"])
    documents = t["documents"]
    console.print(audit_summary_text(documents, t["checks"], t["errors"]))
    runs = plan_runs(documents, processed, district, year, notebooks_dir)
    if not runs:
        console.print("[yellow]nothing to build:[/] no documents match the selection")
    reports.mkdir(parents=True, exist_ok=True)
    os.chmod(reports, 0o755)
    manifest_path = reports / "manifest.json"
    previous = {(r["notebook"], json.dumps(r["parameters"], sort_keys=True, ensure_ascii=False)): r
                for r in _load_manifest(manifest_path).get("runs", [])}
    data_inputs = {"processed/_extraction.json": data_fingerprint(processed)}
    nb_hash = {p.stem: sha256_file(p) for p in notebooks_dir.glob("*.ipynb")}
    site_hash = hashlib.sha256(b"".join(p.read_bytes() for p in sorted((Path(__file__).parent / "templates").rglob("*"))
                                        if p.is_file())).hexdigest()
    # what the notebooks call: a change to the analysis code or the labels re-executes them
    pkg = Path(__file__).resolve().parents[1]
    code_hash = hashlib.sha256(b"".join(p.read_bytes() for p in sorted([*(pkg / "analysis").glob("*.py"), pkg / "labels.py",
                                                                          pkg / "package_data" / "labels.csv"]))).hexdigest()
    kernel = kernel_name()
    commit = git_commit()
    selected_ids = {r["doc_id"] for r in runs if r.get("doc_id")}
    selected = documents[documents["doc_id"].isin(selected_ids)]

    todo, records = [], []
    for r in runs:
        page_hash = hashlib.sha256(json.dumps(r["page"], sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        inputs = {f"notebooks/{r['notebook']}.ipynb": nb_hash[r["notebook"]], **data_inputs,
                  "site/templates": site_hash, "site/page": page_hash, "code/analysis": code_hash}
        rec = {k: r.get(k) for k in ("notebook", "parameters", "output", "html", "group", "doc_id", "place",
                                     "department_group", "label")}
        rec.update(status=None, duration_s=None, inputs=inputs, error=None)
        old = previous.get((r["notebook"], json.dumps(r["parameters"], sort_keys=True, ensure_ascii=False)))
        if (old and old.get("status") in ("ok", "cached", "no_data") and old.get("inputs") == inputs
                and old.get("with_code", False) == with_code
                and (reports / r["output"]).exists() and (reports / r["html"]).exists()):
            rec.update(status="cached" if old.get("status") != "no_data" else "no_data", duration_s=0.0,
                       error=old.get("error") if old.get("status") == "no_data" else None)
        else:
            todo.append((rec, {
                "notebook_path": str(notebooks_dir / f"{r['notebook']}.ipynb"), "parameters": r["parameters"],
                "out_ipynb": str(reports / r["output"]), "out_html": str(reports / r["html"]), "kernel": kernel,
                "timeout": timeout, "cwd": str(notebooks_dir), "with_code": with_code, "page": r["page"],
                "commit": commit, "title": r["page"]["heading"]}))
        rec["with_code"] = with_code
        records.append(rec)

    show = sys.stderr.isatty() if progress is None else progress
    bar = task = None
    if show and (todo or len(selected)):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       console=console, transient=True)
        bar.start()
        task = bar.add_task(f"building reports ({len(todo)} notebook(s) on kernel {kernel}, {len(selected)} source view(s))",
                            total=len(todo) + len(selected))

    def on_done():
        if bar is not None:
            bar.advance(task)

    try:
        source_pages = write_sources(selected, raw_dir, reports, on_done)
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

    keys = ("notebook", "parameters", "status", "duration_s", "inputs", "output", "html", "error", "with_code",
            "doc_id", "place", "department_group", "label")
    manifest = {"runs": [{k: rec.get(k) for k in keys} for rec in records],
                "packages": package_versions(), "git_commit": commit}
    _atomic_write(manifest_path, json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=False) + "\n")
    docs = describe_documents(selected).assign(_y=lambda x: x["fiscal_year"].fillna(-1)).sort_values(
        ["place", "department_group", "_y", "doc_kind"]).to_dict("records")
    _atomic_write(reports / "index.html", render_index(records, docs, audit=audit_counts(t["checks"]),
                                                       source_pages=source_pages, errors=t["errors"].to_dict("records")))

    failed = [r for r in records if r["status"] == "failed"]
    counts = {s: sum(r["status"] == s for r in records) for s in ("ok", "cached", "no_data", "failed")}
    console.print(f"reports: {counts['ok']} built, {counts['cached']} cached, {counts['no_data']} without data, "
                  f"{counts['failed']} failed -> {reports / 'index.html'}")
    for r in records:
        if r["status"] == "no_data":
            console.print(f"  [yellow]no data[/] {r['output']}: {r['error']}")
    for r in failed:
        console.print(f"  [red]failed[/] {r['output']}: {r['error']}")
    return 1 if failed else 0
