"""fiscal_nlp.reports: build_reports on the seeds, caching, failure isolation, escaping, slugs, CJK font, browser."""
from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import nbformat
import pytest

from fiscal_nlp.reports import build_reports
from fiscal_nlp.reports.build import DEFAULT_NOTEBOOKS, NOTEBOOKS, needs_extraction, plan_runs
from fiscal_nlp.reports.slug import slug
from fiscal_nlp.store import read_tables
from test_analysis import RAW, build_seed_processed

HOSTILE = '<script>alert("x")</script>汉阳区大数据中心'
SELECTION = {"district": ["汉阳区"], "year": [2021]}


def _shared_dir(tmp_path_factory) -> Path:
    """A directory shared by the pytest-xdist workers of this session (built once, under a lock).

    Under xdist each worker's base temp is `<session>/popen-gwN`; without it the base temp is the
    session's own (its parent is shared with earlier sessions, whose output must not be reused)."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "fiscal_reports_build"


@contextlib.contextmanager
def _locked(directory: Path):
    import fcntl

    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    shared = _shared_dir(tmp_path_factory)
    out = shared / "processed"
    with _locked(shared):
        if not (out / "documents.parquet").exists():
            # a researcher's catalog override with a hostile department name (document text is untrusted)
            raw = shared / "raw"
            shutil.copytree(RAW, raw)
            with open(raw / "catalog.csv", "w", encoding="utf-8", newline="") as fh:
                csv.writer(fh).writerows([["source_file", "department"], [next(RAW.glob("000_*.txt")).name, HOSTILE]])
            build_seed_processed(out, raw)
    return out


@pytest.fixture(scope="module")
def built(processed, tmp_path_factory):
    """One build of the 汉阳区 2021 selection per session; its first manifest is kept aside."""
    shared = _shared_dir(tmp_path_factory)
    reports, first = shared / "reports", shared / "first.json"
    with _locked(shared):
        if not first.exists():
            rc = build_reports(processed.parent / "raw", processed, reports, jobs=2, progress=False, **SELECTION)
            manifest = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))
            first.write_text(json.dumps({"rc": rc, "manifest": manifest}, ensure_ascii=False), encoding="utf-8")
    saved = json.loads(first.read_text(encoding="utf-8"))
    return saved["rc"], reports, saved["manifest"]


def test_build_ok(built):
    rc, reports, manifest = built
    assert rc == 0
    runs = manifest["runs"]
    assert {r["notebook"] for r in runs} == set(NOTEBOOKS)
    assert all(r["status"] == "ok" for r in runs), [(r["output"], r["error"]) for r in runs]
    for r in runs:
        assert (reports / r["output"]).exists() and (reports / r["html"]).exists()
        assert r["duration_s"] > 0 and r["inputs"]
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in r["inputs"].values())
    assert "han-yang-qu/2021/district_profile.ipynb" in {r["output"] for r in runs}
    assert manifest["packages"]["papermill"] and "git_commit" in manifest


def test_outputs_hide_code_and_have_no_timestamps(built):
    _, reports, manifest = built
    out = next(r for r in manifest["runs"] if r["notebook"] == "district_profile")
    nb = nbformat.read(reports / out["output"], as_version=4)
    assert "start_time" not in json.dumps(nb.metadata) and "start_time" not in json.dumps([c.metadata for c in nb.cells])
    html = (reports / out["html"]).read_text(encoding="utf-8")
    assert "A.basic_vs_project" not in html          # code hidden (exclude_input)
    assert "386.43" in html and "data:image/png" in html


def test_index_links_every_report_and_escapes(built):
    _, reports, manifest = built
    index = (reports / "index.html").read_text(encoding="utf-8")
    for r in manifest["runs"]:
        assert f'href="{r["html"]}"' in index
    assert "<script>" not in index
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in index


def test_second_run_is_cached(built, processed, tmp_path_factory):
    _, reports, first = built
    with _locked(_shared_dir(tmp_path_factory)):
        rc = build_reports(processed.parent / "raw", processed, reports, jobs=2, progress=False, **SELECTION)
        manifest = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))
    assert rc == 0
    assert [r["status"] for r in manifest["runs"]] == ["cached"] * len(first["runs"])
    assert [r["inputs"] for r in manifest["runs"]] == [r["inputs"] for r in first["runs"]]


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_failing_notebook_is_reported_and_others_build(processed, tmp_path, executor):
    """On the process pool and on a dask LocalCluster alike."""
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    shutil.copy(DEFAULT_NOTEBOOKS / "data_quality.ipynb", nbdir)
    nb = nbformat.read(DEFAULT_NOTEBOOKS / "district_profile.ipynb", as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell('raise RuntimeError("deliberate <failure>")'))
    nbformat.write(nb, nbdir / "district_profile.ipynb")
    reports = tmp_path / "reports"
    rc = build_reports(processed.parent / "raw", processed, reports, jobs=2, progress=False, notebooks_dir=nbdir,
                       executor=executor, **SELECTION)
    assert rc == 1
    runs = {r["notebook"]: r for r in json.loads((reports / "manifest.json").read_text(encoding="utf-8"))["runs"]}
    assert runs["district_profile"]["status"] == "failed"
    assert "RuntimeError" in runs["district_profile"]["error"]
    assert runs["data_quality"]["status"] == "ok"
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert "deliberate &lt;failure&gt;" in index and 'class="failed"' in index


@pytest.mark.parametrize("name", ["../../etc/passwd", "汉阳区/../青山区", "..", "/", "", "a\\b", "大数据中心 (2024)"])
def test_slug_is_safe(name):
    s = slug(name)
    assert s and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", s)
    assert ".." not in s and "/" not in s and "\\" not in s


def test_slug_romanises():
    assert slug("汉阳区") == "han-yang-qu"
    assert slug("青山区") != slug("汉阳区")


def test_plan_paths_stay_inside_reports(processed):
    docs = read_tables(processed, ["documents"])["documents"]
    docs.loc[0, "district"] = "../../evil/区"
    for r in plan_runs(docs, processed):
        assert not Path(r["output"]).is_absolute() and ".." not in Path(r["output"]).parts


def test_needs_extraction(processed, tmp_path):
    assert not needs_extraction(processed.parent / "raw", processed)
    assert needs_extraction(RAW, tmp_path)  # nothing extracted there
    assert needs_extraction(RAW, processed)  # same files, but processed was extracted with a catalog
    raw = tmp_path / "raw"
    shutil.copytree(processed.parent / "raw", raw)
    assert not needs_extraction(raw, processed)
    next(raw.glob("000_*.txt")).write_text("changed", encoding="utf-8")
    assert needs_extraction(raw, processed)


def test_cjk_font_has_no_missing_glyphs():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fiscal_nlp.reports.fonts import find_cjk_font, use_cjk_font

    assert find_cjk_font(), "no CJK font: run `python -m fiscal_nlp.reports.fonts --ensure`"
    use_cjk_font()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.set_title("汉阳区预算决算 一般公共服务支出（万元）")
        ax.bar(["基本支出", "项目支出"], [386.43, -2399.30])
        fig.canvas.draw()
        plt.close(fig)
    missing = [str(w.message) for w in caught if "Glyph" in str(w.message) and "missing" in str(w.message)]
    assert not missing, missing


def _chromium() -> str | None:
    """The browser `make browser` installs (part of `make test`'s setup)."""
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


@pytest.mark.slow
def test_reports_render_in_headless_chromium(built, tmp_path):
    browser = _chromium()
    if not browser:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing on CI: `make browser` should have installed it")
        pytest.skip("chromium is not installed (`make browser` installs Debian's package)")
    _, reports, manifest = built

    def dom(path: Path) -> str:
        proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               "--disable-background-networking", "--disable-component-update", "--disable-sync",
                               f"--user-data-dir={tmp_path / 'profile'}",
                               "--dump-dom", path.resolve().as_uri()], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout

    index = dom(reports / "index.html")
    assert index.count("<a href=") >= len(manifest["runs"])
    for r in manifest["runs"]:
        page = dom(reports / r["html"])
        assert "<body" in page and "Traceback" not in page
        if r["notebook"] in ("district_profile", "cross_district"):
            assert re.search(r'<img[^>]+src="data:image/png;base64,', page), r["html"]
