"""Every report notebook executes on the seed data and produces the numbers the documents print."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill as pm
import pytest
import scrapbook as sb

from fiscal_nlp.reports.build import DEFAULT_NOTEBOOKS, NOTEBOOKS
from test_analysis import build_seed_processed

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    return build_seed_processed(tmp_path_factory.mktemp("processed"))


def run(nb: str, out_dir: Path, processed: Path, **params) -> dict:
    out = out_dir / f"{nb}.ipynb"
    pm.execute_notebook(str(DEFAULT_NOTEBOOKS / f"{nb}.ipynb"), str(out), kernel_name="python3",
                        parameters={**params, "processed_dir": str(processed)}, cwd=str(DEFAULT_NOTEBOOKS),
                        progress_bar=False, execution_timeout=300)
    return sb.read_notebook(str(out)).scraps.data_dict


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_one_literal_parameters_cell_and_no_outputs(nb):
    path = DEFAULT_NOTEBOOKS / f"{nb}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    params = pm.inspect_notebook(str(path))
    assert "processed_dir" in params
    for name, p in params.items():  # literals only: papermill can infer a type for each default
        assert p["default"] is not None and not p["default"].startswith(("A.", "pd.", "open(")), (name, p)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{nb}: committed with outputs"
    src = "\n".join(c.source for c in notebook.cells)
    assert "import re" not in src and "read_csv" not in src and ".txt" not in src  # thin: no parsing in notebooks


def test_district_profile(processed, tmp_path):
    s = run("district_profile", tmp_path, processed, district="汉阳区", year=2021, doc_kind="final")
    assert s["basic_vs_project"] == {"基本支出": 386.43, "项目支出": 2399.3}
    assert s["personnel_vs_public"] == {"人员经费": 372.95, "公用经费": 13.48}
    assert s["expenditure_by_class"]["201"] == pytest.approx(2729.12)
    assert s["revenue_total"] == pytest.approx(2784.73)


def test_district_profile_budget_without_tables(processed, tmp_path):
    s = run("district_profile", tmp_path, processed, district="青山区", year=2021, doc_kind="budget")
    assert s["doc_id"] == "qingshan-dsjzx-2021-budget"


def test_budget_vs_actual(processed, tmp_path):
    s = run("budget_vs_actual", tmp_path, processed, district="汉阳区", year=2021, threshold_pct=10.0)
    assert s["n_variances"] == 6  # 000 lines 379-403: six 预决算 statements
    # 000 prints 通信链路租赁费 36.91 (line 449) and 436.91 (自评表, line 641); 436.79 / 436.91 = 99.97% as printed
    assert s["project_budgets"]["通信链路租赁费"] == pytest.approx(436.91)


def test_reform_project_mix_qingshan(processed, tmp_path):
    s = run("reform_project_mix", tmp_path, processed, district="青山区", reform_year=2024)
    assert s["comparable"] is True


def test_reform_project_mix_wuchang_says_no_comparison(processed, tmp_path):
    s = run("reform_project_mix", tmp_path, processed, district="武昌区", reform_year=2024)
    assert s["comparable"] is False
    text = json.dumps(nbformat.read(tmp_path / "reform_project_mix.ipynb", as_version=4).cells[4].outputs,
                      ensure_ascii=False)
    assert "not possible" in text
    nb = nbformat.read(tmp_path / "reform_project_mix.ipynb", as_version=4)
    assert not any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_cross_district(processed, tmp_path):
    s = run("cross_district", tmp_path, processed, years=[])
    assert s["n_documents"] == 5
    assert s["project_share"]["hanyang-dsjzx-2021-final"] == pytest.approx(86.13)
    assert s["project_share"]["qingshan-dsjzx-2024-final"] == pytest.approx(69.28)
    assert 0 < s["completeness"]["wuchang-dsjzx-2019-final"] <= 100
    # Σ executed / Σ budget of 000's seven self-evaluated projects with 436.91, not the 36.91 typo (164.88%)
    assert s["execution_rate"]["hanyang-dsjzx-2021-final"] == pytest.approx(99.99)


def test_data_quality(processed, tmp_path):
    import fiscal_nlp.analysis as A

    s = run("data_quality", tmp_path, processed, district="青山区", year=2024)
    t = A.load(processed)
    expected = A.severity_counts(A.failed_checks(t, ["qingshan-dsjzx-2024-final"]))
    assert s["failed_counts"] == expected and sum(expected.values()) > 0
