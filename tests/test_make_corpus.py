"""benchmarks/make_corpus.py: the synthetic throughput corpus keeps each seed's arithmetic and reads as a new department."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mc():
    spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "benchmarks" / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_corpus"] = module
    spec.loader.exec_module(module)
    return module


def _render(mc, seed: str, k: int, dy: int) -> str:
    text = mc.build_template(mc.load_seeds()[seed], mc.PROFILES[seed]).render(k, dy)
    for placeholder, name in ((mc.P_CITY, "长沙市"), (mc.P_CITY_SHORT, "长沙"), (mc.P_DIST, "岳麓区"),
                              (mc.P_DIST_SHORT, "岳麓"), (mc.P_DEPT, "统计局"), (mc.P_SELF, "局")):
        text = text.replace(placeholder, name)
    return text


@pytest.mark.parametrize("target", ["data", "data/raw", "data/processed/corpus", "data/../data/x"])
def test_refuses_the_data_directory(mc, target):
    with pytest.raises(SystemExit, match="inside the repository's data/"):
        mc.main(["3", str(ROOT / target)])
    assert not (ROOT / "data" / "x").exists()


def test_amounts_scale_years_shift_the_rest_stays(mc):
    text = _render(mc, "000", 2, -3)
    assert "长沙市岳麓区统计局 2018 年度部门决算" in text
    assert "一、一般公共预算财政拨款收入\t1\t5,569.02\t一、一般公共服务支出\t31\t5,458.24" in text  # 行次 kept
    assert "2010350\t事业运行\t671.48\t671.48" in text  # codes kept
    assert "与 2017 年度相比，收、支总计各增加 2179.26 万元，增长 64.24%" in text  # prior year, rate kept
    assert "\t\t年度财政资金总额\t873.82\t873.58\t99.97%\t19.99\t" in text  # form: amounts, not rate/score
    assert "政府采购支出总额 1291.44 元" in text  # the seed's 元 slip, scaled as printed
    assert "单位价值 50 万元以上通用设备 8 套" in text  # a threshold, not an amount
    assert "截至 2018 年 12 月 31 日" in text and "12345 市民热线" in text
    assert "汉阳" not in text and "武汉" not in text and "大数据中心" not in text


def test_declarations_and_pdftotext_tables_scale(mc):
    budget = _render(mc, "004", 3, 1)
    assert "项目总预算 2210.73 项目当年预算 1192.11" in budget
    assert "2023 年的预算安排为 1530 万元" in budget
    assert "故经费减少 30 万" in budget and "≥ 200 万" in budget and "联系电话 13797027435" in budget
    final = _render(mc, "002", 2, 0)
    assert "合计 5,066.50 658.50 4,408.00" in final and "2101102   事业单位医疗 16.50 16.50" in final


def test_every_name_reads_back(mc):
    from fiscal_nlp.ingest.identify import _district, make_doc_id

    ids = set()
    for city, district in mc.DISTRICTS:
        for department, _ in mc.DEPARTMENTS:
            for seed in mc.PROFILES:
                printed = mc.printed_department({"seed": seed, "city": city, "district": district, "department": department})
                assert _district(printed) == district, printed
            ids.add(make_doc_id(district, district + department, 2020, "final"))
    assert len(ids) == len(mc.DISTRICTS) * len(mc.DEPARTMENTS)


def test_small_corpus_extracts_like_its_seeds(mc, tmp_path, capsys):
    out = tmp_path / "corpus"
    # every seed x text layout (no PDFs: their extraction is slow), each compared with its seed
    assert mc.main(["14", str(out), "--seed", "5", "--pdf-share", "0", "--gb18030-share", "0.3", "--verify", "7"]) == 0
    manifest = json.loads((out / ".corpus.json").read_text(encoding="utf-8"))
    assert manifest["N"] == 14 and len(manifest["files"]) == 14
    assert {(f["origin_seed"], f["layout"]) for f in manifest["files"]} >= {
        ("000", "orig"), ("000", "reflow"), ("001", "orig"), ("002", "orig"), ("003", "orig"), ("003", "reflow"), ("004", "orig")}
    for f in manifest["files"]:
        assert (out / f["file"]).read_bytes().decode(f["encoding"])
        assert f["file"].startswith("syn-") and f"-from-{f['origin_seed']}-{f['layout']}." in f["file"]
    assert "FAIL" not in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--force"):
        mc.main(["2", str(out)])
