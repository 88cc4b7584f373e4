"""The narrative grammar on the shapes of real disclosures (shared/docs/narrative-shapes.md).

Sentences here are written for these tests in the shapes the page lists (subjects and numbers
made up); the real-PDF tests read values checked by hand against the PDFs in ../shared/real and
skip when that folder is absent.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from fiscal_nlp.ingest.document import Document, Line, normalise
from fiscal_nlp.narrative import extract_rows
from fiscal_nlp.narrative.grammar import basis_of, to_wan_amount

ROOT = Path(__file__).resolve().parents[1]
REAL = next((p for p in (ROOT.parent / "shared" / "real", ROOT.parent.parent / "shared" / "real") if p.exists()), None)


def _rows(*texts: str) -> dict[str, list[dict]]:
    doc = Document("shapes.txt", "0" * 64, [Line(normalise(t), i + 1) for i, t in enumerate(texts)])
    return extract_rows(doc)


def _checks(*texts: str) -> list[dict]:
    """The audit's findings on the statements (unparsed_statement is the validate stage's check)."""
    from fiscal_nlp.validate.narrative import narrative_findings

    return narrative_findings(_rows(*texts), None)


def _changes(*texts):
    return [(c["metric"], c["current"], c["previous"], c["delta"], c["pct"], c["basis"]) for c in _rows(*texts)["changes"]]


def _variances(*texts):
    return [(v["subject"], v["budget"], v["actual"], v["stated_rate"], v["basis"]) for v in _rows(*texts)["variances"]]


D = Decimal


# ---------------------------------------------------------------- units
def test_amounts_convert_to_wan_at_full_precision():
    assert to_wan_amount("1,234.5", "元") == D("0.12345")
    assert to_wan_amount("2.5", "亿元") == D("25000.0")
    assert to_wan_amount("17", "万") == D("17")


def test_comparators_name_their_basis():
    assert basis_of("比2023年预算执行数") == ("上年执行数", False)
    assert basis_of("较上年决算数") == ("上年决算", False)
    assert basis_of("较年初预算数") == ("年初预算", True)
    assert basis_of("与上年相比") == (None, False)


# ---------------------------------------------------------------- changes
def test_subject_before_yu_xiangbi():
    assert _changes("培训费支出48.20万元，与2022年相比，减少6.30万元，下降11.56%。") == [
        ("培训费支出", D("48.20"), None, D("-6.30"), D("-11.56"), None)]


def test_jiao_with_a_named_base():
    assert _changes("机关运行经费支出310.50万元，较2022年度决算数增加12.40万元。") == [
        ("机关运行经费支出", D("310.50"), None, D("12.40"), None, "上年决算")]


def test_tongbi_in_yuan():
    assert _changes("差旅费预算56,300元，同比减少4,700元，下降7.7%。") == [
        ("差旅费预算", D("5.63"), None, D("-0.47"), D("-7.7"), None)]


def test_duibi():
    assert _changes("印刷费支出3.40万元，与上年对比减少0.60万元。") == [("印刷费支出", D("3.40"), None, D("-0.60"), None, None)]


def test_previous_amount_inside_the_comparison():
    assert _changes("物业管理费支出88.00万元，比上年80.00万元增加8.00万元，增长10.00%。") == [
        ("物业管理费支出", D("88.00"), D("80.00"), D("8.00"), D("10.00"), None)]


def test_percent_only_change_has_no_delta():
    rows = _rows("会议费决算12.00万元，比上年下降25%。")
    assert [(c["metric"], c["current"], c["delta"], c["pct"]) for c in rows["changes"]] == [
        ("会议费决算", D("12.00"), None, D("-25"))]


def test_budget_to_budget_change():
    assert _changes("维修费预算数45.00万元，与上年预算数相比减少5.00万元。") == [
        ("维修费预算数", D("45.00"), None, D("-5.00"), None, "上年预算")]


def test_two_subjects_in_one_clause():
    assert _changes("与上年相比，收、支总计各减少30.00、20.00万元，各下降3.00%、2.00%。") == [
        ("收入总计", None, None, D("-30.00"), D("-3.00"), None),
        ("支出总计", None, None, D("-20.00"), D("-2.00"), None)]


def test_list_under_a_heading_inherits_the_comparator():
    rows = _changes("“三公”经费支出决算与上年持平。其中：公务接待费支出持平；公务用车运行费减少1.20万元，下降8.00%。")
    assert ("公务接待费支出", None, None, D(0), None, None) in rows
    assert ("公务用车运行费", None, None, D("-1.20"), D("-8.00"), None) in rows


def test_per_item_budget_against_last_years_execution():
    rows = _changes("3.“教育支出(类)其他教育支出(款)其他教育支出(项)”40.00万元，主要用于课后服务。"
                    "2023年当年预算执行数为32.00万元，2024年预算安排40.00万元，比2023年预算执行数增加25.00%。主要原因是：服务人数增加。")
    assert rows == [("教育支出(类)其他教育支出(款)其他教育支出(项)", D("40.00"), D("32.00"), D("8.00"), D("25.00"), "上年执行数")]


def test_per_item_final_with_code_in_brackets():
    rows = _changes("2.初中教育(2050203)，2023年度决算数为1,250.00万元，比2022年度决算数增长4.00%。")
    assert [(c[0], c[1], c[3], c[4], c[5]) for c in rows] == [("初中教育(2050203)", D("1250.00"), None, D("4.00"), "上年决算")]


def test_qualitative_change_is_neither_row_nor_warning():
    assert _rows("办公费支出较上年有所减少。")["changes"] == []
    assert not [c for c in _checks("办公费支出较上年有所减少。") if c["check"] == "unparsed_statement"]


# ---------------------------------------------------------------- variances
def test_full_year_budget_variance():
    assert _variances("水利支出(类)全年预算为60.00万元，支出决算为57.00万元，完成全年预算数的95.00%。") == [
        ("水利支出(类)", D("60.00"), D("57.00"), D("95.00"), "全年预算")]


def test_rate_only_variance_keeps_budget_null():
    assert _variances("公务接待费支出决算为1.50万元，完成预算的50%。") == [("公务接待费", None, D("1.50"), D("50"), None)]


def test_budget_inside_the_rate_phrase():
    assert _variances("城乡社区支出(类)支出决算为90.00万元，完成全年预算100.00万元的90.00%。") == [
        ("城乡社区支出(类)", D("100.00"), D("90.00"), D("90.00"), "全年预算")]


def test_difference_against_the_initial_budget():
    assert _variances("公务用车运行费支出8.00万元，较年初预算数减少2.00万元，下降20.00%。") == [
        ("公务用车运行费支出", D("10.00"), D("8.00"), None, "年初预算")]


def test_actual_first_then_budget_and_gap():
    assert _variances("培训费决算为6.00万元，年初预算为8.00万元，差值为2.00万元，原因为培训计划调整。") == [
        ("培训费", D("8.00"), D("6.00"), None, "年初预算")]


def test_variance_in_yuan():
    assert _variances("差旅费支出预算为120,000元，支出决算为96,000元，完成年初预算的80%。") == [
        ("差旅费支出", D("12.0000"), D("9.6000"), D("80"), "年初预算")]


# ---------------------------------------------------------------- reasons
def test_reason_openings_and_ends():
    rows = _rows("办公费支出20.00万元，比上年减少2.00万元，主要原因为压缩一般性支出；邮电费支出3.00万元，比上年增加1.00万元。")
    assert [(c["metric"], c["reason"], c["reason_category"]) for c in rows["changes"]] == [
        ("办公费支出", "压缩一般性支出", "austerity"), ("邮电费支出", None, None)]


def test_reason_after_several_statements_goes_to_the_one_it_names():
    rows = _rows("“三公”经费支出年初预算为5.00万元，支出决算为3.00万元，完成年初预算的60%，其中：公务接待费支出决算为1.00万元，"
                 "完成预算的50%；公务用车运行费支出决算为2.00万元，完成预算的66.67%。“三公”经费支出决算数小于预算数的主要原因是厉行节约。")
    got = {v["subject"]: (v["reason"], v["reason_scope"]) for v in rows["variances"]}
    assert got["“三公”经费支出"] == ("厉行节约", "named")
    assert got["公务用车运行费"] == (None, None)


def test_reason_taxonomy_has_evidence():
    rows = _rows("培训费支出决算为2.00万元，完成年初预算的40%，主要原因是受疫情影响培训取消。")
    v = rows["variances"][0]
    assert "pandemic" in v["reason_category"].split(";")
    assert "pandemic:疫情" in v["reason_evidence"]


def test_unparsed_statement_warns_on_a_comparison_it_cannot_read():
    text = "经费支出同比减少，减少额为5.00万元左右，主要原因是调整。"
    assert _rows(text)["changes"] == []
    assert [c["source_line"] for c in _checks(text) if c["check"] == "unparsed_statement"] == [1]


# ---------------------------------------------------------------- real PDFs (values read by hand)
needs_real = pytest.mark.skipif(REAL is None, reason="../shared/real is not available")


@pytest.fixture(scope="module")
def putuo_finance():
    from fiscal_nlp.ingest import read_document

    doc = read_document(REAL / "shanghai-putuo" / "上海市普陀区财政局2024年度部门决算.pdf")
    return doc, extract_rows(doc)


@needs_real
def test_putuo_narrative_numbers_stay_in_their_sentence(putuo_finance):
    doc, _ = putuo_finance
    page22 = [ln.text for ln in doc.lines if ln.page == 22]
    assert any("年初预算为1560.05万元,支出决算为1511.89万" in t for t in page22)
    assert not any("\t" in ln.text for ln in doc.lines if ln.page in (21, 22, 23))


@needs_real
def test_putuo_item_variances(putuo_finance):
    _, rows = putuo_finance
    pairs = [(v["budget"], v["actual"]) for v in rows["variances"] if v["subject"].endswith("(项)")]
    assert pairs == [(D("1560.05"), D("1511.89")), (D("10.00"), D("10.00")), (D("135.90"), D("135.25")),
                     (D("450.52"), D("449.52")), (D("85.55"), D("84.65")), (D("161.62"), D("160.75")),
                     (D("80.81"), D("80.38")), (D("0.94"), D("0.94")), (D("62.29"), D("60.99")),
                     (D("187.75"), D("187.19")), (D("258.50"), D("258.50"))]
    first = next(v for v in rows["variances"] if v["subject"].endswith("(项)"))
    assert first["subject"] == "一般公共服务支出(类)财政事务(款)行政运行(项)"
    assert first["reason"] == "人员进出及退休变化,减少人员经费开支"


@needs_real
def test_putuo_changes(putuo_finance):
    _, rows = putuo_finance
    got = {(c["metric"], c["current"], c["delta"], c["pct"]) for c in rows["changes"]}
    assert ("收入支出总计", D("2995.39"), D("-56.95"), D("-1.87")) in got
    assert ("一般公共预算财政拨款支出", D("2940.05"), D("-63.14"), D("-2.10")) in got
    assert ("财政拨款收入支出总计", D("0.3"), D(0), None) in got


@pytest.fixture(scope="module")
def real_rows():
    """Narrative rows of a real PDF, read once per test module."""
    from fiscal_nlp.ingest import read_document

    cache: dict[str, dict] = {}

    def rows(relative: str) -> dict:
        if relative not in cache:
            cache[relative] = extract_rows(read_document(REAL / relative))
        return cache[relative]

    return rows


@needs_real
def test_township_budget_per_item_changes(real_rows):
    """万里街道 2024 预算: “2023年当年预算执行数为A万元，2024年预算安排B万元，比2023年预算执行数增加P%”."""
    rows = real_rows("shanghai-putuo/上海市普陀区人民政府万里街道办事处24年预算.pdf")["changes"]
    items = [(c["previous"], c["current"], c["pct"], c["basis"]) for c in rows if c["metric"].endswith("(项)")]
    assert len(items) == 33
    assert items[0] == (D("60.13"), D("25.77"), D("-57.14"), "上年执行数")
    assert items[6] == (D("15.00"), D("30.00"), D("100.00"), "上年执行数")
    assert items[9][:2] == (D("10.00"), D("10.00")) and next(
        c for c in rows if c["current"] == D("10.00") and c["previous"] == D("10.00"))["delta"] == 0
    assert all(c["reason"] for c in rows if c["metric"].endswith("(项)"))
    total = next(c for c in rows if c["metric"] == "财政拨款收入")
    assert (total["current"], total["delta"], total["basis"]) == (D("15621.11"), D("-876.75"), "上年预算")
    assert (total["reason"], total["reason_scope"]) == ("项目调整", "named")


@needs_real
def test_university_final_per_item_percent_changes(real_rows):
    """西南大学 2023 决算: “1.小学教育（2050202），2023年度决算数为7,970.38万元，比2022年度决算数增长0.39%”."""
    rows = real_rows("university-moe/21_swu_2023_final_accounts__download.jsp.pdf")["changes"]
    coded = [(c["metric"], c["current"], c["delta"], c["pct"]) for c in rows if c["metric"].endswith(")")]
    assert coded[0] == ("小学教育(2050202)", D("7970.38"), None, D("0.39"))
    assert coded[4] == ("其他留学教育支出(2050699)", D("738.86"), None, D("-4.50"))
    assert len(coded) == 12
    listed = {c["metric"]: c["delta"] for c in rows if c["current"] is None}
    assert listed["其他收入"] == D("-39049.48") and listed["农林水支出"] == D("-16.84")
    assert next(c for c in rows if c["metric"] == "其他收入")["reason"] == "债务收入减少"


@needs_real
def test_final_accounts_rate_only_three_public_items(real_rows):
    """规划和自然资源局 2024 决算: 13 项 variances, and “因公出国（境）费决算为0.00万元，完成预算的0.00%”."""
    rows = real_rows("shanghai-putuo/上海市普陀区规划和自然资源局 2024 年度部门决算.pdf")["variances"]
    items = [(v["budget"], v["actual"], v["stated_rate"]) for v in rows if v["subject"].endswith("(项)")]
    assert len(items) == 13
    assert items[4] == (D("0.88"), D("0.88"), D("100.00"))  # the rate printed in the next sentence
    assert items[8] == (D("3110.14"), D("2739.56"), D("88.08"))
    sub = {v["subject"]: (v["budget"], v["actual"], v["stated_rate"]) for v in rows if v["budget"] is None}
    assert sub["公务接待费"] == (None, D("0.39"), D("13.68"))
    three = next(v for v in rows if v["subject"] == "“三公”经费财政拨款支出")
    assert (three["budget"], three["actual"], three["reason_scope"]) == (D("2.85"), D("0.39"), "named")


def test_rate_after_the_subjects_own_figure_and_a_stated_excess():
    """“S A万元，主要用于…，完成年初预算R%，决算数大于预算数D万元”: actual A, budget A − D."""
    rows = _rows("2.文化旅游体育与传媒支出(类)48.00万元，主要用于文化活动，完成年初预算120%，决算数大于预算数8.00万元，主要原因是追加活动经费。")
    assert [(v["subject"], v["budget"], v["actual"], v["stated_rate"], v["basis"], v["reason"]) for v in rows["variances"]] == [
        ("文化旅游体育与传媒支出(类)", D("40.00"), D("48.00"), D("120"), "年初预算", "追加活动经费")]


def test_budget_not_adjacent_and_three_figures():
    assert _variances("会议费预算为4.00万元，2023年实际支出会议费决算为3.20万元。") == [("会议费", D("4.00"), D("3.20"), None, None)]
    assert _variances("物业费预算数12.00万元，调整数13.00万元，决算数12.60万元。") == [("物业费", D("12.00"), D("12.60"), None, None)]


def test_variance_and_change_in_one_sentence():
    rows = _rows("科学技术支出(类)决算30.00万元，完成全年预算的75.00%，比上年决算数减少5.00万元。")
    assert [(v["budget"], v["actual"], v["stated_rate"], v["basis"]) for v in rows["variances"]] == [(None, D("30.00"), D("75.00"), "全年预算")]
    assert [(c["current"], c["delta"], c["basis"]) for c in rows["changes"]] == [(D("30.00"), D("-5.00"), "上年决算")]


def test_comparison_with_this_years_budget_is_a_variance():
    """In a 2023 决算, “与2023年度预算相比，减少D万元” compares with the year's budget: budget = A + D."""
    doc = Document("final.txt", "0" * 64, [Line(normalise("差旅费支出18.00万元，与2023年度预算相比，减少2.00万元，下降10.00%。"), 1)])
    doc.meta.fiscal_year, doc.meta.doc_kind = 2023, "final"
    rows = extract_rows(doc)
    assert [(v["subject"], v["budget"], v["actual"]) for v in rows["variances"]] == [("差旅费支出", D("20.00"), D("18.00"))]
    assert rows["changes"] == []


def test_yu_without_xiangbi_percent_only():
    assert _changes("水电费决算8.00万元，与上年下降20.00%。") == [("水电费决算", D("8.00"), None, None, D("-20.00"), None)]


def test_same_period_and_growth_rate_words():
    assert _changes("邮电费支出6.00万元，较上年同期增加1.50万元，增幅33.33%。") == [
        ("邮电费支出", D("6.00"), None, D("1.50"), D("33.33"), None)]


@pytest.mark.parametrize("opening", ["主要原因是", "主要变动原因是", "增减变化的主要原因是：", "下降的原因主要是", "原因为",
                                     "主要是", "因为", "减少主要原因是"])
def test_reason_openings(opening):
    rows = _rows(f"办公费支出10.00万元，比上年减少2.00万元。{opening}压减办公经费。")
    assert [(c["reason"], c["reason_category"]) for c in rows["changes"]] == [("压减办公经费", "austerity")]


def test_purpose_is_not_a_reason():
    rows = _rows("设备购置费支出12.00万元，比上年增加2.00万元，主要用于更新办公电脑。")
    assert [c["reason"] for c in rows["changes"]] == [None]


def test_reason_ends_where_the_next_item_starts():
    rows = _rows("1.租赁费支出5.00万元，比上年增加1.00万元，主要原因是新增场地",
                 "2.印刷费支出2.00万元，比上年减少0.50万元。")
    assert [(c["metric"], c["reason"]) for c in rows["changes"]] == [("租赁费支出", "新增场地"), ("印刷费支出", None)]
