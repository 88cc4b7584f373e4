"""Unit tests of fiscal_nlp.analysis on the seed extraction; expected numbers read from the documents."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import fiscal_nlp.analysis as A

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
HY21, QS21, QS24, HY24, WC19 = ("hanyang-dsjzx-2021-final", "qingshan-dsjzx-2021-budget",
                                "qingshan-dsjzx-2024-final", "hanyang-dsjzx-2024-budget", "wuchang-dsjzx-2019-final")


def build_seed_processed(out: Path, raw: Path = RAW) -> Path:
    """Extract the seeds into `out` with the real pipeline (Parquet datasets + DuckDB)."""
    from fiscal_nlp.pipeline import extract_to

    extract_to(raw, out, jobs=1, progress=False)
    return out


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return A.load(build_seed_processed(tmp_path_factory.mktemp("processed")))


def test_documents_found(tables):
    assert A.find_doc_id(tables, "汉阳区", 2021, "final") == HY21
    assert A.find_doc_id(tables, "青山区", 2024) == QS24
    assert A.find_doc_id(tables, "武昌区", 2024) is None


def test_basic_vs_project_hanyang_2021(tables):
    bvp = A.basic_vs_project(tables, HY21).set_index("kind")
    # 000 line 154: 合计 2,785.73 | 386.43 | 2,399.30
    assert bvp.loc["基本支出", "amount"] == pytest.approx(386.43)
    assert bvp.loc["项目支出", "amount"] == pytest.approx(2399.30)
    assert bvp.loc["项目支出", "share"] == pytest.approx(86.13)  # 2399.30 / 2785.73
    assert bvp.loc["基本支出", "citation"] == "000_b48aa8d80c836ecf.txt:154"


def test_expenditure_by_class_qingshan_2024(tables):
    by = A.expenditure_by_function(tables, QS24, level=1).set_index("code")
    expected = {"201": 1076.50, "208": 39.85, "210": 40.93, "221": 44.15, "229": 261.62}  # 003 lines 197-215
    assert by["total"].astype(float).round(2).to_dict() == expected
    assert by.loc["201", "basic"] == pytest.approx(325.75)
    assert by.loc["201", "project"] == pytest.approx(750.75)
    assert by.loc["229", "citation"] == "003_4a269030347ad5ed.txt:215"
    lvl3 = A.expenditure_by_function(tables, QS24, level=3).set_index("code")
    assert lvl3.loc["2010350", "total"] == pytest.approx(290.75)


def test_revenue_and_personnel_hanyang_2021(tables):
    rev = A.revenue_by_source(tables, HY21)
    assert rev["amount"].astype(float).tolist() == pytest.approx([2784.51, 0.22])  # lines 83, 90
    assert rev["citation"].tolist() == ["000_b48aa8d80c836ecf.txt:83", "000_b48aa8d80c836ecf.txt:90"]
    pvp = A.personnel_vs_public(tables, HY21).set_index("category")
    assert pvp.loc["人员经费", "amount"] == pytest.approx(372.95)  # line 283
    assert pvp.loc["公用经费", "amount"] == pytest.approx(13.48)
    eco = A.economic_breakdown(tables, HY21).set_index("code")
    assert eco.loc["301", "amount"] == pytest.approx(372.53)


def test_audit_summary_and_failed_checks(tables):
    summary = A.audit_summary(tables, HY21)
    assert summary["total"].sum() == len(tables["checks"].query("doc_id == @HY21"))
    failed = A.failed_checks(tables, [HY21, QS24])
    assert len(failed) == (~tables["checks"].query("doc_id in [@HY21, @QS24]")["passed"].astype(bool)).sum()
    assert failed["citation"].notna().all()
    assert failed["citation"].str.match(r"^00[03]_[0-9a-f]+\.txt:\d+$").all()
    assert set(A.failed_checks(tables, [QS24], include_rounding=False)["severity"]) <= {"error", "warning", "info"}


def test_project_share_over_time(tables):
    share = A.project_share_over_time(tables).set_index("doc_id")["share"].astype(float).to_dict()
    assert share[HY21] == pytest.approx(86.13)   # 2399.30 / 2785.73
    assert share[QS24] == pytest.approx(69.28)   # 1013.67 / 1463.06 (003 line 419 prints 69.3%)
    assert share[WC19] == pytest.approx(87.00)   # 2204.00 / 2533.25


def test_reform_pairs(tables):
    qs = A.reform_pair(tables, "青山区", 2024)
    assert (qs["before"].doc_id, qs["after"].doc_id, qs["message"]) == (QS21, QS24, None)
    hy = A.reform_pair(tables, "汉阳区", 2024)
    assert (hy["before"].doc_id, hy["after"].doc_id) == (HY21, HY24)


def test_wuchang_has_no_comparison(tables):
    wc = A.reform_pair(tables, "武昌区", 2024)
    assert wc["before"] is not None and wc["after"] is None
    assert "2019" in wc["message"] and "not possible" in wc["message"]


def test_district_summary_and_completeness(tables):
    s = A.district_summary(tables).set_index("doc_id")
    assert s.loc[HY21, "total_expenditure"] == pytest.approx(2785.73)
    assert s.loc[HY21, "personnel_cost"] == pytest.approx(372.95)
    assert 0 <= s.loc[HY21, "audit_pass_rate"] <= 100
    comp = A.disclosure_completeness(tables)
    hy = comp[(comp.doc_id == HY21) & (comp.kind == "table")].set_index("item")["present"]
    assert hy["expenditure"] and hy["gpb_basic"] and not hy["soe_capital"]
    score = A.completeness_score(comp).set_index("doc_id")
    assert score.loc[HY21, "n_required"] == len(A.REQUIRED_TABLES["final"]) + len(A.REQUIRED_EXPLANATIONS)


# ---------------------------------------------------------------- narrative tables (rows as the documents print them)
def _with(tables, **frames):
    from fiscal_nlp.schema import conform

    return {**tables, **{k: conform(k, pd.DataFrame(v)) for k, v in frames.items()}}


def test_variance_table_and_unexplained(tables):
    rows = [  # 000 lines 381, 383, 385
        {"doc_id": HY21, "subject": "一般公共服务支出(类)", "code": "201", "budget": 2272.01, "actual": 2727.90,
         "stated_rate": 120.07, "computed_rate": 2727.90 / 2272.01 * 100, "reason": None, "source_line": 381},
        {"doc_id": HY21, "subject": "社会保障和就业支出(类)", "code": "208", "budget": 24.53, "actual": 24.53,
         "stated_rate": 100.0, "computed_rate": 100.0, "reason": None, "source_line": 383},
        {"doc_id": HY21, "subject": "卫生健康支出(类)", "code": "210", "budget": 30.74, "actual": 29.08,
         "stated_rate": 94.6, "computed_rate": 29.08 / 30.74 * 100, "reason": "人员变动", "source_line": 385},
    ]
    t = _with(tables, variances=rows)
    vt = A.variance_table(t, HY21).set_index("subject")
    assert vt.loc["一般公共服务支出(类)", "variance"] == pytest.approx(455.89)
    assert vt.loc["一般公共服务支出(类)", "variance_pct"] == pytest.approx(20.07)
    assert vt.loc["卫生健康支出(类)", "variance_pct"] == pytest.approx(-5.4)
    assert vt.loc["卫生健康支出(类)", "rate_gap"] == pytest.approx(0.0)  # 94.60 computed vs 94.6 printed
    assert vt.loc["一般公共服务支出(类)", "citation"] == "000_b48aa8d80c836ecf.txt:381"
    un = A.unexplained_deviations(vt.reset_index(), 10)
    assert un["subject"].tolist() == ["一般公共服务支出(类)"]
    assert A.unexplained_deviations(vt.reset_index(), 25).empty


def test_project_mix_qingshan(tables):
    projects = [  # 001 lines 540, 550 (2021 budget); 003 line 453 (2024 final)
        {"doc_id": QS21, "name": "政务网平台运行费", "budget": 305.80, "theme": "network", "source_line": 540},
        {"doc_id": QS21, "name": "网上群众工作部年度经费", "budget": 320.18, "theme": "hotline", "source_line": 550},
        {"doc_id": QS24, "name": "网上群众工作年度经费", "executed": 337.96, "theme": "hotline", "source_line": 453},
        {"doc_id": QS24, "name": "政务网平台运行费", "executed": 307.3, "theme": "network", "source_line": 453},
        {"doc_id": QS24, "name": "青山区网格员终端服务项目", "executed": 83.88, "theme": "devices", "source_line": 453},
    ]
    t = _with(tables, projects=projects)
    shares = A.theme_shares(t, [QS21, QS24]).set_index(["fiscal_year", "theme"])
    assert shares["n_projects"].groupby(level=0).sum().to_dict() == {2021: 2, 2024: 3}
    assert shares.loc[(2021, "network"), "share"] == pytest.approx(48.85)   # 305.80 / 625.98 (= 项目支出, line 538)
    assert shares.loc[(2024, "hotline"), "share"] == pytest.approx(46.35)   # 337.96 / 729.14
    assert shares.loc[(2024, "devices"), "share"] == pytest.approx(11.50)
    ch = A.project_changes(t, QS21, QS24).set_index("name")
    assert ch.loc["政务网平台运行费", "status"] == "continued"
    assert ch.loc["政务网平台运行费", "change"] == pytest.approx(1.5)
    assert ch.loc["青山区网格员终端服务项目", "status"] == "new"
    assert ch.loc["网上群众工作部年度经费", "status"] == "discontinued"  # renamed in 2024: names differ
    assert ch.loc["青山区网格员终端服务项目", "citation_after"] == "003_4a269030347ad5ed.txt:453"
    pe = A.project_execution(_with(tables, projects=[{**projects[3], "budget": 300.0, "stated_rate": 102.43}]), QS24)
    assert pe.loc[0, "computed_rate"] == pytest.approx(102.43)


def test_function_transfers(tables):
    ev = [{"doc_id": QS24, "effective": "2024-06", "unit": "原青山区大数据中心", "function": "政务网络管理",
           "to_org": "区经济信息化和科技创新局", "basis": None, "source_line": 97}]  # 003 line 97
    ft = A.function_transfers(_with(tables, reform_events=ev), "青山区")
    assert ft[["function", "to_org", "citation"]].values.tolist() == [
        ["政务网络管理", "区经济信息化和科技创新局", "003_4a269030347ad5ed.txt:97"]]
    assert A.function_transfers(_with(tables, reform_events=ev), "武昌区").empty


def test_project_mix_on_seed_extraction(tables):
    if tables["projects"].empty:
        pytest.skip("the narrative stage extracted no projects")
    shares = A.theme_shares(tables, [QS21, QS24])
    by_year = shares.groupby("fiscal_year")["n_projects"].sum().to_dict()
    assert by_year == {2021: 2, 2024: 3}
    # 001 lines 540/550: 政务网平台运行费 305.80 + 网上群众工作部年度经费 320.18 = 项目支出 625.98
    assert sorted(shares.query("fiscal_year == 2021")["share"].tolist()) == pytest.approx([48.85, 51.15])
    assert shares.query("fiscal_year == 2021")["amount"].sum() == pytest.approx(625.98)
    ch = A.project_changes(tables, QS21, QS24)
    assert (ch["status"] == "continued").sum() >= 1  # 政务网平台运行费 (2021) = 政务网平台运行 (2024)
    assert not A.function_transfers(tables, "青山区").empty


def test_each_project_counts_once_however_often_and_however_spelled_it_is_described(tables):
    """002 has one project (line 1201: “及项目 1 个，为“智慧武昌”建设专项经费，资金 2190万”), described by
    two self-evaluation statements under two spellings, a form and three sub-items that add up to it;
    004 (a budget) declares 14 projects (申报表, lines 606-3270) and narrates 6 of them."""
    from fiscal_nlp.analysis.project_mix import one_source_per_document

    wc = one_source_per_document(tables["projects"][tables["projects"]["doc_id"] == WC19])
    assert len(wc) == 1 and wc["budget"].astype(float).tolist() == [2190.0]
    hy = A.project_portfolio(tables, [HY24])
    assert len(hy) == 14 and hy["name"].map(lambda n: n.replace(" ", "")).is_unique
    assert hy["source_kind"].value_counts().to_dict() == {"declaration": 8, "budget_narrative": 6}
    by_name = hy.set_index("name")
    assert by_name.loc["往来经费", "amount"] == pytest.approx(5)              # line 3288: 项目当年预算 5
    assert by_name.loc["通信链路租赁费", "amount"] == pytest.approx(397.37)   # line 630: 项目当年预算 397.37
    assert A.project_portfolio(tables, [QS24])["source_kind"].tolist() == ["self_evaluation"] * 3


# ---------------------------------------------------------------- numbers that respect the audit
def test_self_evaluation_conflict_shows_the_figure_the_arithmetic_supports(tables):
    """000 line 449 prints 通信链路租赁费 预算数 36.91, 执行数 436.79, 99.97%; its 自评表 (line 635-641)
    prints 436.91 / 436.79 / 99.97%. 436.79 / 436.91 = 99.97%, so 436.91 is the budget; the
    headline execution rate must not use 36.91 (it gave 164.88% before)."""
    pe = A.project_execution(tables, HY21).set_index("name")
    row = pe.loc["通信链路租赁费"]
    assert row["budget"] == pytest.approx(436.91) and row["executed"] == pytest.approx(436.79)
    assert row["computed_rate"] == pytest.approx(99.97)
    assert row["audit_status"] == "resolved"
    assert "36.91" in row["audit"] and "436.91" in row["audit"]
    assert row["citation"] == "000_b48aa8d80c836ecf.txt:635"   # the line that prints the figures shown
    summary = A.district_summary(tables).set_index("doc_id")
    # Σ executed / Σ budget of the seven self-evaluated projects (lines 445-463): 1436.21 / 1436.34
    assert summary.loc[HY21, "execution_rate"] == pytest.approx(99.99)
    assert summary.loc[HY21, "n_projects_resolved"] == 1
    ok = pe[pe["audit_status"] == "ok"]
    assert ok["audit"].isna().all()


def test_unit_slip_fact_is_shown_as_its_parts_support(tables):
    """000 line 423: 政府采购支出总额 645.72 元 whose parts (0.38 + 645.34 万元) make 645.72 万元."""
    f = A.key_facts(tables, HY21).set_index("key")
    assert f.loc["procurement_total", "value"] == pytest.approx(645.72)
    assert f.loc["procurement_total", "audit_status"] == "resolved"
    assert "unit_slip" in f.loc["procurement_total", "audit"]


def test_headline_tables_never_show_a_flagged_value_plainly(tables):
    """Every row of a report table whose line the audit flagged (error/warning) carries the flag."""
    c = tables["checks"]
    bad = c[~c["passed"].astype(bool) & c["severity"].isin(["error", "warning"]) & (c["check"] != "unparsed_statement")]
    bad_lines = set(zip(bad["doc_id"], bad["source_line"].dropna().astype(int)))
    for doc in (HY21, QS24, WC19):
        for df in (A.key_facts(tables, doc), A.variance_table(tables, doc), A.project_execution(tables, doc)):
            for r in df.itertuples():
                if (r.doc_id, int(r.source_line)) in bad_lines:
                    assert isinstance(r.audit, str) and r.audit, (doc, r)


# ---------------------------------------------------------------- loading
def test_load_names_a_wrong_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        A.load(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="documents.parquet"):
        A.load(tmp_path)


def test_load_by_partition(tables, tmp_path_factory):
    processed = build_seed_processed(tmp_path_factory.mktemp("by_year"))
    t = A.load(processed, years=[2021])
    assert set(t["documents"]["doc_id"]) == {HY21, QS21}
    assert set(t["line_items"]["doc_id"]) <= {HY21, QS21}
    full = A.district_summary(tables, [2021]).set_index("doc_id")
    part = A.district_summary(t, [2021]).set_index("doc_id")
    pd.testing.assert_frame_equal(full, part)


def test_labels_cover_every_code_in_the_seed_extraction(tables):
    from fiscal_nlp.labels import label_map

    from fiscal_nlp.schema import CHECK_IDS
    from fiscal_nlp.tables.spec import load_specs

    assert set(tables["checks"]["check"]) <= set(CHECK_IDS) <= set(label_map("check"))
    assert set(load_specs()[0]) == set(label_map("table_key"))
    assert set(tables["facts"]["key"]) <= set(label_map("fact"))
    assert set(tables["projects"]["theme"].dropna()) <= set(label_map("theme"))
    cats = {c for v in tables["variances"]["reason_category"].dropna() for c in v.split(";")}
    assert cats <= set(label_map("reason_category"))


def test_show_formats_for_readers(tables):
    html = A.show(A.key_facts(tables, HY21), ["key", "value", "unit", "audit", "citation"], caption="关键事实",
                  sources="../sources").to_html()
    assert "政府采购支出总额 (procurement_total)" in html and ">645.72<" in html and ">0.06<" not in html
    assert ">nan<" not in html.lower() and "&lt;NA&gt;" not in html
    assert 'href="../sources/hanyang-dsjzx-2021-final.html#L423"' in html
    assert 'class="row_heading' not in html  # no index column
    bvp = A.show(A.expenditure_by_function(tables, HY21, level=1), ["code", "item", "total", "citation"]).to_html()
    assert "2,729.12" in bvp   # 000: 201 一般公共服务支出 2729.12 with a thousands separator


# ---------------------------------------------------------------- export
@pytest.mark.parametrize("fmt", ["csv", "stata", "parquet"])
def test_export_analysis_ready_tables(fmt, tmp_path_factory, tmp_path):
    """004 lines 636-637: 通信链路租赁费 前两年预算安排 2022 年 510 万元, 2023 年 339.54 万元."""
    from fiscal_nlp.cli import main

    processed = build_seed_processed(tmp_path_factory.mktemp(f"export_{fmt}"))
    out = tmp_path / "out"
    assert main(["export", str(processed), "-o", str(out), "--format", fmt]) == 0
    ext = {"csv": ".csv", "stata": ".dta", "parquet": ".parquet"}[fmt]
    read = {"csv": lambda p: pd.read_csv(p, encoding="utf-8-sig"), "stata": pd.read_stata, "parquet": pd.read_parquet}[fmt]
    projects = read(out / f"projects{ext}")
    row = projects[(projects["doc_id"] == HY24) & (projects["name"] == "通信链路租赁费")].iloc[0]
    assert float(row["prior_budget_2022"]) == pytest.approx(510.0)
    assert float(row["prior_budget_2023"]) == pytest.approx(339.54)
    assert "prior_budgets" not in projects.columns
    assert row["theme_label"] == "网络与基础设施" and row["district"] == "汉阳区"
    facts = read(out / f"facts{ext}")
    proc = facts[(facts["doc_id"] == HY21) & (facts["key"] == "procurement_total")].iloc[0]
    assert proc["key_label"] == "政府采购支出总额" and "unit_slip" in proc["audit"]
    codebook = read(out / f"codebook{ext}")
    assert set(codebook["table"]) >= {"documents", "line_items", "projects", "facts", "checks", "labels"}
    assert (out / f"labels{ext}").exists()
    if fmt == "stata":
        with pd.io.stata.StataReader(out / "projects.dta") as r:
            assert r.variable_labels()["budget"] == "budget (10k yuan)"


def test_export_names_a_wrong_path(tmp_path, capsys):
    from fiscal_nlp.cli import main

    assert main(["export", str(tmp_path / "nowhere"), "-o", str(tmp_path / "out")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_show_prints_years_without_separators(tables):
    html = A.show(A.district_summary(tables), ["place", "fiscal_year", "total_expenditure"]).to_html()
    assert ">2021<" in html and "2,021" not in html and "2,785.73" in html  # 000 line 154: 合计 2,785.73


def test_place_summary(tables):
    by = A.place_summary(A.district_summary(tables)).set_index(["place", "fiscal_year", "doc_kind"])
    assert by["n_documents"].sum() == 5
    assert by.loc[("汉阳区", 2021, "final"), "total_expenditure"] == pytest.approx(2785.73)  # 000 line 154


def test_pdf_citations_name_the_page(tmp_path):
    """A PDF rendered from seed 000: every citation carries the page its line is on, the page the
    source view marks (the same lines, so the same pages)."""
    import pdf_factory
    from fiscal_nlp.ingest import read_document

    raw = tmp_path / "raw"
    raw.mkdir()
    pdf = pdf_factory.render_pdf((RAW / "000_b48aa8d80c836ecf.txt").read_text("utf-8"), raw / "000.pdf", ruled=True)
    t = A.load(build_seed_processed(tmp_path / "out", raw))
    doc_id = t["documents"]["doc_id"].iloc[0]
    bvp = A.basic_vs_project(t, doc_id)
    pages = {ln.number: ln.page for ln in read_document(pdf).lines}
    for cite, line in zip(bvp["citation"], bvp["source_line"]):
        assert cite.endswith(f"(p. {pages[int(line)]})"), cite
    failed = A.failed_checks(t, [doc_id])
    assert failed["citation"].dropna().str.contains(r"\(p\. \d+\)$").all()


def test_a_central_unit_is_grouped_as_central_not_as_unidentified():
    from fiscal_nlp.analysis._common import CENTRAL_PLACE, UNKNOWN_PLACE, place_of

    # 西南大学 (教育部直属): no province/city/county of its own in the documents table
    assert place_of({"department": "西南大学", "level": "central", "district": None}) == CENTRAL_PLACE
    assert place_of({"department": "某局", "level": None, "district": None}) == UNKNOWN_PLACE
    assert place_of({"district": "汉阳区", "level": "county"}) == "汉阳区"
