"""fiscal_nlp.reports: build_reports on the seeds, caching, failure isolation, escaping, slugs, CJK font, browser."""
from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit
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
            # a second department of 汉阳区 2021: seed 000 with the department renamed (统计局)
            seed = next(RAW.glob("000_*.txt")).read_text(encoding="utf-8")
            (raw / "005_hanyang_tongjiju.txt").write_text(seed.replace("大数据中心", "统计局"), encoding="utf-8")
            build_seed_processed(out, raw)
    return out


@pytest.fixture(scope="module")
def built(processed, tmp_path_factory):
    """One build of the 汉阳区 2021 selection per session, through the CLI (its terminal output is kept);
    its first manifest is kept aside."""
    shared = _shared_dir(tmp_path_factory)
    reports, first = shared / "reports", shared / "first.json"
    with _locked(shared):
        if not first.exists():
            cmd = [sys.executable, "-m", "fiscal_nlp.cli", "build", "--raw", str(processed.parent / "raw"),
                   "--processed", str(processed), "--reports", str(reports), "--jobs", "2",
                   "--district", "汉阳区", "--year", "2021"]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            manifest = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))
            first.write_text(json.dumps({"rc": proc.returncode, "manifest": manifest, "stderr": proc.stderr,
                                         "stdout": proc.stdout}, ensure_ascii=False), encoding="utf-8")
    saved = json.loads(first.read_text(encoding="utf-8"))
    return saved["rc"], reports, saved["manifest"]


@pytest.fixture(scope="module")
def terminal(built, tmp_path_factory):
    saved = json.loads((_shared_dir(tmp_path_factory) / "first.json").read_text(encoding="utf-8"))
    return saved["stderr"] + saved["stdout"]


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
    assert "han-yang-qu/tong-ji-ju/2021/profile-final.ipynb" in {r["output"] for r in runs}
    assert manifest["packages"]["papermill"] and "git_commit" in manifest


def test_two_departments_of_one_district_year_get_a_set_of_reports_each(built):
    """汉阳区 2021 holds two final accounts (大数据中心, whose name the catalog overrides, and 统计局):
    each gets its own profile, budget-vs-actual and data-quality pages, keyed by its doc_id."""
    _, reports, manifest = built
    per_doc: dict[str, set[str]] = {}
    for r in manifest["runs"]:
        if r.get("doc_id"):
            per_doc.setdefault(r["doc_id"], set()).add(r["notebook"])
    assert set(per_doc) == {"hanyang-dsjzx-2021-final", "hanyang-tjj-2021-final"}
    for notebooks in per_doc.values():
        assert notebooks == {"district_profile", "budget_vs_actual", "data_quality"}
    htmls = [r["html"] for r in manifest["runs"]]
    assert len(htmls) == len(set(htmls))  # nothing written twice into the same file
    tjj = (reports / "han-yang-qu/tong-ji-ju/2021/profile-final.html").read_text(encoding="utf-8")
    assert "武汉市汉阳区统计局" in tjj.split("</header>")[0]
    dsj = next(r for r in manifest["runs"] if r.get("doc_id") == "hanyang-dsjzx-2021-final"
               and r["notebook"] == "district_profile")
    assert "统计局" not in (reports / dsj["html"]).read_text(encoding="utf-8").split("</header>")[0]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids, self.srcs, self.cites = [], set(), [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
            if "cite" in (a.get("class") or ""):
                self.cites.append(a["href"])
        if a.get("src"):
            self.srcs.append(a["src"])


def _parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_every_page_names_its_department_year_and_kind_and_links_back(built):
    _, reports, manifest = built
    for r in manifest["runs"]:
        page = reports / r["html"]
        html = page.read_text(encoding="utf-8")
        header = html[html.index('<header class="fiscal-page"'):html.index("</header>")]
        if r.get("doc_id"):
            assert "2021" in header and "部门决算 final account" in header, r["html"]
            dept = "武汉市汉阳区统计局" if "tjj" in r["doc_id"] else "&lt;script&gt;"
            assert dept in header, r["html"]
        links = _parse(page).links
        index = [h for h in links if (page.parent / h).resolve() == (reports / "index.html").resolve()]
        assert index, f"{r['html']} has no link back to the index"
        for h in links:
            if not urlsplit(h).scheme:
                target = (page.parent / unquote(urlsplit(h).path)).resolve()
                assert target.exists(), (r["html"], h)


def test_department_pages_link_its_other_years(processed, tmp_path):
    """Planned over every seed: 汉阳区 大数据中心 (2021 final, printed 武汉市汉阳区大数据中心; 2024 budget,
    printed 汉阳区大数据中心) is one department, whose 2021 profile links to its 2024 profile."""
    docs = read_tables(RAW_PROCESSED(processed, tmp_path), ["documents"])["documents"]
    runs = plan_runs(docs, processed)
    hy21 = next(r for r in runs if r.get("doc_id") == "hanyang-dsjzx-2021-final" and r["notebook"] == "district_profile")
    assert hy21["html"] == "han-yang-qu/da-shu-ju-zhong-xin/2021/profile-final.html"
    assert ("2024 部门预算 budget", "../2024/profile-budget.html") in hy21["page"]["other_years"]
    qs = [r for r in runs if r["notebook"] == "reform_project_mix" and r["place"] == "青山区"]
    assert len(qs) == 1 and set(qs[0]["parameters"]["doc_ids"]) == {"qingshan-dsjzx-2021-budget", "qingshan-dsjzx-2024-final"}


def RAW_PROCESSED(processed, tmp_path):
    """The seeds extracted without the catalog override (the real department names)."""
    out = tmp_path / "plain"
    build_seed_processed(out)
    return out


def test_document_without_place_or_year_gets_a_placeholder_group(processed):
    from fiscal_nlp.analysis import UNKNOWN_PLACE
    from fiscal_nlp.reports.build import describe_documents
    from fiscal_nlp.reports.html import render_index

    docs = read_tables(processed, ["documents"])["documents"]
    docs.loc[0, [c for c in ("district", "department", "province", "city", "county") if c in docs]] = None
    docs.loc[0, "fiscal_year"] = None
    runs = plan_runs(docs, processed)
    mine = [r for r in runs if r.get("doc_id") == docs.loc[0, "doc_id"]]
    assert mine and all(r["html"].startswith(slug(UNKNOWN_PLACE) + "/") and "/unknown-year/" in r["html"] for r in mine)
    for r in runs:
        r["status"] = "ok"
    index = render_index(runs, describe_documents(docs).to_dict("records"))
    assert "未识别地区" in index and "未识别年度" in index


def test_site_is_offline_and_readable(built):
    """No resource from the network (no CDN require.js/MathJax), lang zh-CN, files 0644."""
    _, reports, manifest = built
    pages = [reports / "index.html"] + [reports / r["html"] for r in manifest["runs"]] + sorted((reports / "sources").glob("*.html"))
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert '<html lang="zh-CN">' in html, page
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html), page
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html) and "@import" not in html, page
        assert "require.js" not in html and "MathJax" not in html.replace("mathjax", ""), page
        assert [s for s in _parse(page).srcs if not s.startswith("data:")] == [], page
    for f in reports.rglob("*"):
        if f.is_file():
            assert f.stat().st_mode & 0o777 == 0o644, f


def test_citations_link_to_the_source_line(built):
    """Every cited number's link resolves to an anchor of a source view, on the line that prints it."""
    _, reports, manifest = built
    n = 0
    for r in manifest["runs"]:
        page = reports / r["html"]
        for href in _parse(page).cites:
            path, _, anchor = href.partition("#")
            target = (page.parent / path).resolve()
            assert target.parent == (reports / "sources").resolve() and target.exists(), href
            assert anchor in _parse(target).ids, href
            n += 1
    assert n > 50
    bva = next(r for r in manifest["runs"] if r.get("doc_id") == "hanyang-dsjzx-2021-final" and r["notebook"] == "budget_vs_actual")
    html = (reports / bva["html"]).read_text(encoding="utf-8")
    # the 通信链路租赁费 row cites 000 line 635 (the 自评表 that prints 436.91), and that line says so
    href = re.search(r'href="([^"]+#L635)"', html).group(1)
    source = (reports / bva["html"]).parent / href.split("#")[0]
    line = re.search(r'<li id="L635"[^>]*>(.*?)</li>', source.read_text(encoding="utf-8"), re.S).group(1)
    assert "通信链路租赁费" in line
    assert "436.91" in re.search(r'<li id="L641"[^>]*>(.*?)</li>', source.read_text(encoding="utf-8"), re.S).group(1)


def test_audit_conflict_is_never_a_plain_headline(built):
    """Seed 000 prints 通信链路租赁费 36.91 (self-evaluation) and 436.91 (its 自评表): no report shows 36.91
    as a figure; the budget-vs-actual page shows 436.91, marked, naming the conflict; the cross-district
    execution rate for the document is 99.99%, not 164.88%."""
    _, reports, manifest = built
    for r in manifest["runs"]:
        if r["notebook"] == "data_quality":  # the audit's own list: both printed numbers of each failed check
            continue
        html = (reports / r["html"]).read_text(encoding="utf-8")
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
        assert "36.91" not in cells and "1,183.39" not in cells and "164.88" not in cells, r["html"]
    bva = next(r for r in manifest["runs"] if r.get("doc_id") == "hanyang-dsjzx-2021-final" and r["notebook"] == "budget_vs_actual")
    html = (reports / bva["html"]).read_text(encoding="utf-8")
    row = next(tr for tr in re.findall(r"<tr>(.*?)</tr>", html, re.S) if "通信链路租赁费" in tr)
    assert ">436.91<" in row and "审核冲突" in row and "36.91 / 436.79" in row and "background-color" in html
    cross = next(r for r in manifest["runs"] if r["notebook"] == "cross_district")
    assert ">99.99<" in (reports / cross["html"]).read_text(encoding="utf-8")


def test_terminal_is_quiet_and_shows_the_audit(terminal):
    assert "Kernel is running over TCP" not in terminal and "KeyboardInterrupt" not in terminal
    assert "Traceback" not in terminal
    assert re.search(r"audit: 6 documents, \d+ checks, \d+ error", terminal), terminal


def test_index_is_grouped_and_searchable(built):
    _, reports, manifest = built
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert index.count('<section class="place"') == 2  # 汉阳区 and the cross-place reports
    assert "武汉市汉阳区统计局" in index and 'id="search"' in index
    assert re.search(r"<script>[^<]*addEventListener\(\"input\"", index)
    assert "<script src" not in index


def test_empty_selection_and_wrong_path_are_reported(processed, tmp_path):
    from fiscal_nlp.reports.build import execute_one, kernel_name

    def job(params, name):
        return {"notebook_path": str(DEFAULT_NOTEBOOKS / "data_quality.ipynb"), "kernel": kernel_name(),
                "parameters": params, "out_ipynb": str(tmp_path / f"{name}.ipynb"), "out_html": str(tmp_path / f"{name}.html"),
                "timeout": 300, "cwd": str(DEFAULT_NOTEBOOKS), "with_code": False, "title": name,
                "page": {"heading": name, "about": [], "siblings": [], "other_years": [], "index_href": "index.html"}}

    res = execute_one(job({"district": "不存在区", "year": 2021, "processed_dir": str(processed)}, "empty"))
    assert res["status"] == "no_data" and "不存在区" in res["error"]
    assert "无数据 No data" in (tmp_path / "empty.html").read_text(encoding="utf-8")
    res = execute_one(job({"district": "汉阳区", "year": 2021, "processed_dir": str(tmp_path / "nowhere")}, "wrong"))
    assert res["status"] == "failed" and "FileNotFoundError" in res["error"] and "nowhere" in res["error"]


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
    assert "<script>alert" not in index and index.count("<script>") == 1  # only the search box's own
    assert re.search(r"&lt;script&gt;alert\((&quot;|&#34;)x(&quot;|&#34;)\)&lt;/script&gt;", index)


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


# the browser's own background requests (updates, accounts), which no page makes
_BROWSER_HOSTS = re.compile(r"^https?://([a-z0-9-]+\.)*(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)(/|:|$)")


@pytest.mark.slow
def test_reports_render_in_headless_chromium(built, tmp_path):
    """Every page loads in headless Chromium with the network off (a dead proxy): no console message, no
    request for anything but the page itself and data: URIs (Chromium's net log), and the page body names
    its department, year and kind."""
    browser = _chromium()
    if not browser:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing on CI: `make browser` should have installed it")
        pytest.skip("chromium is not installed (`make browser` installs Debian's package)")
    _, reports, manifest = built

    def load(path: Path) -> str:
        net = tmp_path / f"net-{abs(hash(path))}.json"
        proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               "--disable-background-networking", "--disable-component-update", "--disable-sync",
                               "--proxy-server=127.0.0.1:9", "--enable-logging=stderr", "--v=0",
                               f"--log-net-log={net}", f"--user-data-dir={tmp_path / 'profile'}",
                               "--dump-dom", path.resolve().as_uri()], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        console = [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
        assert console == [], (path, console)
        urls = set(re.findall(r'"url":"([^"]+)"', net.read_text(encoding="utf-8", errors="replace")))
        assert {u for u in urls if not u.startswith(("file:", "data:")) and not _BROWSER_HOSTS.match(u)} == set(), path
        return proc.stdout

    index = load(reports / "index.html")
    assert index.count("<a href=") >= len(manifest["runs"])
    for r in manifest["runs"]:
        page = load(reports / r["html"])
        assert "<body" in page and "Traceback" not in page
        if r.get("doc_id"):
            header = page[page.index('<header class="fiscal-page"'):page.index("</header>")]
            assert "2021" in header and "部门决算" in header and ("统计局" in header or "&lt;script&gt;" in header)
        if r["notebook"] in ("district_profile", "cross_district"):
            assert re.search(r'<img[^>]+src="data:image/png;base64,', page), r["html"]
    for src in sorted((reports / "sources").glob("*.html")):
        assert 'id="L1"' in load(src)


def test_browser_check_catches_a_cdn_script(tmp_path):
    """The net-log check above sees a page's request for a CDN script (so it would catch require.js)."""
    browser = _chromium()
    if not browser:
        pytest.skip("chromium is not installed")
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><script src="https://cdn.example.org/require.js"></script></head>'
                    "<body>x</body></html>", encoding="utf-8")
    net = tmp_path / "net.json"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--proxy-server=127.0.0.1:9", f"--log-net-log={net}", f"--user-data-dir={tmp_path / 'p'}",
                    "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert "https://cdn.example.org/require.js" in net.read_text(encoding="utf-8", errors="replace")


def test_index_lists_unreadable_files_escaped():
    from fiscal_nlp.reports.html import render_index

    index = render_index([], [], errors=[{"source_file": "<b>x</b>.pdf", "kind": "pdf_encrypted",
                                          "message": "x.pdf: a password is needed"}])
    assert "Files that could not be read" in index and "pdf_encrypted" in index
    assert "&lt;b&gt;x&lt;/b&gt;.pdf" in index and "<b>x</b>" not in index
