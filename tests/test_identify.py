"""fiscal_nlp.ingest.identify: department, year, kind, scope and place of real disclosures and of titles
in the shapes of ../shared/docs/narrative-shapes.md ("Document titles that are disclosures").

The real PDFs (../shared/real) are read once per module; their expected values were read by hand from
each file's cover, table headers and overview (pdftotext -layout). The titles below are written for these
tests (invented departments in real places), not copied from any document.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conftest import ROOT
from fiscal_nlp.ingest import IngestError, identify, read_bytes, read_document

REAL = next((p / "shared" / "real" for p in ROOT.parents if (p / "shared" / "real").is_dir()), None)

# file: (department, fiscal_year, doc_kind, scope, level, province, city, county), as read by hand in
# tests/golden/real/documents.csv (independently of the identifier).
def _real_expected() -> dict[str, tuple]:
    with open(ROOT / "tests" / "golden" / "real" / "documents.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["department"]]  # the blank template has none
    def value(v):
        return v or None
    out = {r["file"]: (r["department"], int(r["fiscal_year"]), r["doc_kind"], r["scope"], r["level"],
                       value(r["province"]), value(r["city"]), value(r["county"])) for r in rows}
    # The narrative file names its department as it prints it (江苏省委办公厅); the golden row gives the
    # disclosure's full name from the companion tables file (部门：中共江苏省委办公厅).
    narrative = "jiangsu-provincial/江苏省委办公厅2019年度部门预算公开文件.pdf"
    out[narrative] = ("江苏省委办公厅", *out[narrative][1:])
    return out


REAL_EXPECTED = _real_expected()
TEMPLATE = "shanghai-putuo/附件2：部门决算模板.pdf"

needs_real = pytest.mark.skipif(REAL is None, reason="../shared/real is not present")


@pytest.fixture(scope="module")
def real_docs():
    """Each real PDF read once (0.5-6 s each); identified afresh by each test."""
    docs = {}
    for rel in [*REAL_EXPECTED, TEMPLATE]:
        doc = read_document(REAL / rel)
        doc.source_file = rel
        docs[rel] = doc
    return docs


def _meta(docs, rel):
    return identify(docs[rel])


@needs_real
@pytest.mark.parametrize("rel", sorted(REAL_EXPECTED))
def test_real_disclosures_are_identified(real_docs, rel):
    m = _meta(real_docs, rel)
    got = (m.department, m.fiscal_year, m.doc_kind, m.scope, m.level, m.province, m.city, m.county)
    assert got == REAL_EXPECTED[rel]
    assert m.district == m.county
    assert m.doc_id.isascii() and str(m.fiscal_year) in m.doc_id


@needs_real
def test_real_doc_ids_are_unique_per_department(real_docs):
    ids = [_meta(real_docs, rel).doc_id for rel in REAL_EXPECTED]
    assert len(set(ids)) == len(ids)
    putuo = [_meta(real_docs, rel).doc_id for rel in REAL_EXPECTED if rel.startswith("shanghai-putuo/")]
    assert len(set(putuo)) == 4 and all(i.startswith("putuo-") for i in putuo)


@needs_real
@pytest.mark.parametrize("narrative,tables", [
    ("jiangsu-provincial/江苏省委办公厅2019年度部门预算公开文件.pdf", "jiangsu-provincial/江苏省委办公厅2019年度部门预算公开表格.pdf"),
    ("jiangsu-provincial/江苏省政协办公厅2018年度部门预算.pdf", "jiangsu-provincial/江苏省政协办公厅2018度部门预算公开表.pdf"),
])
def test_tables_only_companion_is_a_disclosure_linked_to_its_narrative(real_docs, narrative, tables):
    text, tab = _meta(real_docs, narrative), _meta(real_docs, tables)
    assert tab.tables_only and not text.tables_only
    assert tab.disclosure_id == text.disclosure_id
    assert tab.doc_id != text.doc_id and tab.doc_id.endswith("-tables")
    others = {_meta(real_docs, rel).disclosure_id for rel in REAL_EXPECTED if rel not in (narrative, tables)}
    assert text.disclosure_id not in others


@needs_real
def test_blank_official_template_is_template_no_data(real_docs):
    with pytest.raises(IngestError) as exc:
        identify(real_docs[TEMPLATE])
    assert exc.value.kind == "template_no_data" and TEMPLATE in exc.value.message


# ---------------------------------------------------------------- titles in the shapes of the shapes page

BODY = "一、主要职能\n负责本行政区域内的有关工作。\n二、机构设置\n本部门内设科室五个。\n"


def _doc(cover: str, name: str = "disclosure.txt", body: str = BODY):
    doc = read_bytes((cover + "\n\n目 录\n" + body).encode(), name)
    identify(doc)
    return doc.meta


# cover: (department, year, kind, scope, level, province, city, county)
SHAPES = {
    # 单位决算 of a county unit
    "安吉县农业农村局2020年单位决算":
        ("安吉县农业农村局", 2020, "final", "单位", "county", "浙江省", "湖州市", "安吉县"),
    # …决算公开说明, the year first, a prefecture-city department
    "2022年度洛阳市文化广电和旅游局决算公开说明":
        ("洛阳市文化广电和旅游局", 2022, "final", None, "city", "河南省", "洛阳市", None),
    # …部门预算公开 of a 街道 under a county-level city
    "临湘市城西街道办事处2023年部门预算公开":
        ("临湘市城西街道办事处", 2023, "budget", "部门", "township", "湖南省", "岳阳市", "临湘市"),
    # …预算公开 of a provincial department
    "四川省林业和草原局2021年度预算公开":
        ("四川省林业和草原局", 2021, "budget", None, "province", "四川省", None, None),
    # a 三公-only explanation
    "嘉兴市南湖区卫生健康局2019年度财政拨款“三公”经费支出决算情况说明":
        ("嘉兴市南湖区卫生健康局", 2019, "final", None, "county", "浙江省", "嘉兴市", "南湖区"),
    # …决算公开报告 of an autonomous region's department
    "宁夏回族自治区统计局2018年部门决算公开报告":
        ("宁夏回族自治区统计局", 2018, "final", "部门", "province", "宁夏回族自治区", None, None),
    # …预算情况说明 of a municipality's district (county level, no prefecture city)
    "重庆市渝北区统计局2020年度预算情况说明":
        ("重庆市渝北区统计局", 2020, "budget", None, "county", "重庆市", "重庆市", "渝北区"),
    # a municipality's own department is province level (its districts' documents have city = the municipality)
    "北京市财政局2021年部门预算":
        ("北京市财政局", 2021, "budget", "部门", "province", "北京市", None, None),
    # 城乡 is not a township
    "岳阳县城乡建设局2020年部门预算":
        ("岳阳县城乡建设局", 2020, "budget", "部门", "county", "湖南省", "岳阳市", "岳阳县"),
    # the year as its own run on the cover
    "青浦区司法局\n年度部门决算\n2023":
        ("青浦区司法局", 2023, "final", "部门", "county", "上海市", "上海市", "青浦区"),
    # a short year, unambiguous
    "徐汇区民政局23年单位预算":
        ("徐汇区民政局", 2023, "budget", "单位", "county", "上海市", "上海市", "徐汇区"),
    # a town government
    "德清县新市镇人民政府2022年部门决算":
        ("德清县新市镇人民政府", 2022, "final", "部门", "township", "浙江省", "湖州市", "德清县"),
}


@pytest.mark.parametrize("cover", sorted(SHAPES))
def test_disclosure_titles_of_the_shapes_page(cover):
    m = _doc(cover)
    assert (m.department, m.fiscal_year, m.doc_kind, m.scope, m.level, m.province, m.city, m.county) == SHAPES[cover]


def test_region_only_title_takes_the_cover_marker():
    m = _doc("上海市静安区2024年区级单位预算\n预算单位：上海市静安区档案馆")
    assert (m.department, m.fiscal_year, m.scope, m.level, m.county) == ("上海市静安区档案馆", 2024, "单位", "county", "静安区")


def test_generic_overview_and_toc_lines_are_never_the_department():
    body = ("第一部分 部门概况\n一、主要职能\n负责全省审计工作。\n"
            "第二部分 2020年度部门预算表 ........................ 5\n")
    m = _doc("江西省审计厅\n2020年度部门预算公开", body=body)
    assert m.department == "江西省审计厅"
    m = _doc("", body="第一部分 部门概况\n部门名称：江西省审计厅 单位：万元\n2020年度部门预算表\n")
    assert m.department == "江西省审计厅" and m.fiscal_year == 2020


def test_table_header_marker_names_a_tables_only_file():
    text = ("公开01表\n收支预算总表\n部门：中共福建省委宣传部 单位：万元\n项目名称\t金额\n一、财政拨款\t1,234.56\n"
            "公开02表\n收入预算总表\n部门：中共福建省委宣传部 单位：万元\n")
    doc = read_bytes(text.encode(), "福建省委宣传部2020年部门预算公开表.txt")
    m = identify(doc)
    assert (m.department, m.fiscal_year, m.doc_kind, m.level, m.province, m.tables_only) == (
        "中共福建省委宣传部", 2020, "budget", "province", "福建省", True)
    narrative = _doc("福建省委宣传部2020年度部门预算公开")
    assert narrative.disclosure_id == m.disclosure_id and narrative.doc_id != m.doc_id


def test_ambiguous_county_takes_its_city_from_the_document_only():
    # 鼓楼区 is in 南京, 福州, 徐州 and 开封
    assert _doc("鼓楼区档案馆2021年部门决算").city is None
    m = _doc("鼓楼区档案馆2021年部门决算", body=BODY + "福州市鼓楼区档案馆是区政府直属事业单位。\n")
    assert (m.city, m.province) == ("福州市", "福建省")


def test_blank_template_with_placeholders():
    with pytest.raises(IngestError) as exc:
        _doc("XX区XX局2024年度部门决算", name="模板.txt", body="本年收入合计XXX万元，增长XX%。\n")
    assert exc.value.kind == "template_no_data" and "模板.txt" in exc.value.message


@pytest.mark.parametrize("text", ["会议纪要\n今天讨论了食堂菜单。\n", "工作总结\n全年完成预算安排的各项任务。\n"])
def test_texts_that_are_no_disclosure(text):
    with pytest.raises(IngestError) as exc:
        identify(read_bytes(text.encode(), "x.txt"))
    assert exc.value.kind == "not_a_disclosure"


def test_different_departments_with_the_same_initials_get_different_ids():
    from fiscal_nlp.pipeline import merge, extract_tables

    a = extract_tables(("普陀区统计局2024年度部门决算\n目 录\n" + BODY).encode(), "a.txt")
    b = extract_tables(("普陀区体教局2024年度部门决算\n目 录\n" + BODY).encode(), "b.txt")
    docs = merge([a, b])["documents"]
    assert docs["doc_id"].nunique() == 2 and docs["disclosure_id"].nunique() == 2
    assert set(docs["doc_id"].str[:16]) == {"putuo-tjj-2024-f"}


# The seeds are Wuhan district units: 000/002 print 武汉市 in the title or overview, 001 prints
# "武汉市青山区大数据中心" in a table header, 003 "原武汉市青山区大数据中心本级", and 汉阳区 (004) exists only in 武汉市.
SEED_PLACES = {
    "000": ("湖北省", "武汉市", "汉阳区", "county", "部门"),
    "001": ("湖北省", "武汉市", "青山区", "county", "部门"),
    "002": ("湖北省", "武汉市", "武昌区", "county", "部门"),
    "003": ("湖北省", "武汉市", "青山区", "county", "部门"),
    "004": ("湖北省", "武汉市", "汉阳区", "county", "部门"),
}


@pytest.mark.parametrize("seed", sorted(SEED_PLACES))
def test_seed_places(seed):
    from conftest import load_doc

    m = load_doc(seed).meta
    assert (m.province, m.city, m.county, m.level, m.scope) == SEED_PLACES[seed]
    assert m.county == m.district and not m.tables_only
    assert m.disclosure_id.startswith(m.doc_id + "-")


def test_long_and_short_forms_of_one_department_share_the_disclosure():
    """A tables-only file printing the full name (部门：中国人民政治协商会议浙江省委员会办公厅) and a narrative
    titled with the short form belong to one disclosure; the department stays as each file prints it."""
    tables = identify(read_bytes(("收支预算总表\n部门：中国人民政治协商会议浙江省委员会办公厅 单位：万元\n"
                                  "项目名称\t金额\n一、财政拨款\t2,345.67\n").encode(), "2022年部门预算公开表.txt"))
    narrative = _doc("浙江省政协办公厅2022年度部门预算")
    assert tables.department == "中国人民政治协商会议浙江省委员会办公厅" and tables.level == "province"
    assert tables.disclosure_id == narrative.disclosure_id
    assert _doc("浙江省委办公厅2022年度部门预算").disclosure_id != narrative.disclosure_id


def test_catalog_district_and_county_stay_one_value():
    doc = read_bytes(("青山区档案馆2021年部门决算\n\n目 录\n" + BODY).encode(), "x.txt")
    m = identify(doc, {"district": "青山区", "county": ""})
    assert m.district == m.county == "青山区"
    m = identify(doc, {"county": "包头市青山区"})
    assert m.district == m.county == "包头市青山区"


@pytest.mark.parametrize("body,level", [
    ("一、基本情况\n本校是工业和信息化部直属的全国重点大学。\n", "central"),
    ("一、基本情况\n学校隶属于中华人民共和国教育部。\n", "central"),
    ("一、基本情况\n本校是省教育厅直属的高等学校，参照中央部门预算公开要求编制。\n", None),
    ("一、基本情况\n学校是区委组织部直属单位。\n", None),
])
def test_central_units_are_named_by_their_ministry(body, level):
    assert _doc("东方理工学院2022年度部门预算", body=body).level == level


def test_three_public_only_explanation_with_quotes():
    m = _doc("嘉兴市秀洲区审计局\n2020年度“三公”经费支出决算")
    assert (m.department, m.fiscal_year, m.doc_kind, m.level) == ("嘉兴市秀洲区审计局", 2020, "final", "county")


def test_unit_markers_in_a_department_budgets_tables_do_not_name_it():
    body = BODY + "\n".join(["财务收支预算总表", "预算单位：上海市静安区档案馆 单位：元"] * 3) + "\n"
    m = _doc("上海市静安区2024年区级部门预算\n预算主管部门：上海市静安区档案局", body=body)
    assert (m.department, m.scope) == ("上海市静安区档案局", "部门")


def test_a_tables_only_file_without_a_department_line_takes_it_from_its_file_name():
    text = "公开01表\n收支预算总表\n单位：万元\n项目名称\t金额\n一、财政拨款\t987.65\n"
    m = identify(read_bytes(text.encode(), "jiangsu/江苏省档案馆2020年度部门预算公开表格.txt"))
    assert (m.department, m.fiscal_year, m.doc_kind, m.level, m.tables_only) == ("江苏省档案馆", 2020, "budget", "province", True)
    assert m.disclosure_id == _doc("江苏省档案馆\n2020年度部门预算公开").disclosure_id


@pytest.mark.parametrize("first,kind", [("一般公共预算支出预算表(功能科目)", "budget"), ("收入支出决算总表", "final"),
                                        ("公开05表", "budget")])
def test_tables_only_files_opening_with_any_standard_table(first, kind):
    word = "预算" if kind == "budget" else "决算"
    text = (f"{first}\n部门：安徽省统计局 单位：万元\n科目编码\t科目名称\t金额\n201\t一般公共服务支出\t456.78\n"
            f"一般公共预算基本支出{word}表\n部门：安徽省统计局 单位：万元\n")
    m = identify(read_bytes(text.encode(), f"2021年{word}公开表.txt"))
    assert (m.department, m.fiscal_year, m.doc_kind, m.tables_only, m.level) == ("安徽省统计局", 2021, kind, True, "province")


@pytest.mark.parametrize("cover", ["2023\n黄浦区司法局\n年度部门决算", "附件2\n黄浦区司法局\n2023年度部门决算",
                                   "附件：黄浦区司法局2023年度部门决算"])
def test_cover_noise_around_the_title(cover):
    m = _doc(cover)
    assert (m.department, m.fiscal_year, m.doc_kind) == ("黄浦区司法局", 2023, "final")


def test_every_division_of_the_national_list_reads_back():
    """Each province, prefecture city and nationally unique county of package_data/regions.csv, as the
    place of a department (财政局), gives back its own province/city/county and level."""
    import csv
    from collections import Counter
    from importlib import resources

    from fiscal_nlp.ingest.identify import parse_region, unit_level

    rows = list(csv.DictReader(resources.files("fiscal_nlp").joinpath("package_data/regions.csv").open(encoding="utf-8")))
    counties = Counter(r["name"] for r in rows if r["level"] == "county")
    municipalities = {"北京市", "上海市", "天津市", "重庆市"}
    checked = 0
    for r in rows:
        if r["level"] == "county" and counties[r["name"]] > 1:
            continue
        name = r["name"] + "财政局"
        region = parse_region(name)
        city = r["province"] if r["province"] in municipalities else (r["city"] or None)
        want = {"province": (r["province"], None, None), "city": (r["province"], city, None),
                "county": (r["province"], city, r["name"])}[r["level"]]
        assert (region.province, region.city, region.county) == want, name
        assert unit_level(name, region) == r["level"], name
        checked += 1
    assert checked > 3000
