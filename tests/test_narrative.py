"""Tests for fiscal_nlp.narrative against the five seeds (what the statements say is audited in test_validate.py).

Expected values live in tests/golden/narrative/*.csv, written by reading the documents (one row
per statement of each kind, including the 002 statements broken over lines). Rows are compared
as whole sets per document, so a missing, extra or wrong row fails.
"""
from __future__ import annotations

import csv
import math
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest

from fiscal_nlp.ingest import read_document, identify
from fiscal_nlp.ingest.document import Document, Line, normalise
from fiscal_nlp.narrative import NARRATIVE_TABLES, extract_narrative, extract_rows
from fiscal_nlp.narrative.reasons import TAXONOMY_PATH, USERDICT_PATH, Taxonomy, _tokenizer
from fiscal_nlp.narrative.themes import THEMES_PATH, ThemeDictionary
from fiscal_nlp.schema import columns
from fiscal_nlp.validate.narrative import narrative_findings

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
GOLDEN = ROOT / "tests" / "golden" / "narrative"
SEEDS = {p.name[:3]: p for p in sorted(RAW.glob("*.txt"))}
DOCS = sorted(SEEDS)


@lru_cache(maxsize=None)
def load(doc: str) -> Document:
    d = read_document(SEEDS[doc])
    identify(d)
    return d


@lru_cache(maxsize=None)
def line_items(doc: str) -> pd.DataFrame:
    """The table rows of a seed from the table goldens, or an empty frame (budget documents)."""
    path = ROOT / "tests" / "golden" / f"line_items_{doc}.csv"
    if not path.exists():
        return pd.DataFrame()
    df = pd.read_csv(path, dtype={"code": str})
    df["doc_id"] = load(doc).doc_id
    return df


@lru_cache(maxsize=None)
def extracted(doc: str, with_tables: bool = True) -> dict[str, pd.DataFrame]:
    return extract_narrative(load(doc), line_items(doc) if with_tables else pd.DataFrame())


def _cell(value) -> str:
    """Canonical text for comparing a cell: numbers to 6 decimals, nulls to ''."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, dict):
        return ";".join(f"{y}:{_cell(v)}" for y, v in sorted(value.items()))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{float(value):.6f}"
    try:
        return f"{float(value):.6f}"
    except ValueError:
        return str(value)


def _golden(name: str, doc: str, fields: list[str]) -> list[tuple]:
    with open(GOLDEN / f"{name}.csv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["doc"] == doc]
    out = []
    for r in rows:
        if "prior_budgets" in r and r["prior_budgets"]:
            r["prior_budgets"] = ";".join(f"{y}:{_cell(v)}" for y, v in (p.split(":") for p in r["prior_budgets"].split(";")))
        out.append(tuple(_cell(r[f]) if f != "prior_budgets" else r[f] for f in fields))
    return sorted(out)


def _actual(df: pd.DataFrame, fields: list[str]) -> list[tuple]:
    return sorted(tuple(_cell(row[f]) for f in fields) for _, row in df.iterrows())


FIELDS = {
    "variances": ["subject", "code", "budget", "actual", "stated_rate", "reason", "reason_category", "source_line"],
    "changes": ["metric", "project", "current", "delta", "pct", "reason", "reason_category", "source_line"],
    "projects": ["name", "code", "budget", "executed", "stated_rate", "total_budget", "prior_budgets", "theme",
                 "source_kind", "source_line"],
    "facts": ["key", "value", "unit", "source_line"],
    "reform_events": ["effective", "unit", "function", "to_org", "basis", "source_line"],
}


# ------------------------------------------------------------------ golden comparisons
@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("table", list(FIELDS))
def test_rows_match_golden(table, doc):
    fields = FIELDS[table]
    assert _actual(extracted(doc)[table], fields) == _golden(table, doc, fields)


# ------------------------------------------------------------------ contract and checks behaviour
@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("with_tables", [True, False])
def test_every_table_is_conformed(doc, with_tables):
    out = extracted(doc, with_tables)
    assert set(out) == set(NARRATIVE_TABLES)
    for name, df in out.items():
        assert list(df.columns) == columns(name)
        assert (df["doc_id"] == load(doc).doc_id).all()


@pytest.mark.parametrize("doc", DOCS)
def test_empty_line_items_only_drop_codes(doc):
    full, bare = extracted(doc), extracted(doc, with_tables=False)
    assert bare["variances"]["code"].isna().all()
    fields = [f for f in FIELDS["variances"] if f != "code"]
    assert _actual(full["variances"], fields) == _actual(bare["variances"], fields)
    for table in ("changes", "projects", "facts", "reform_events"):
        assert _actual(full[table], FIELDS[table]) == _actual(bare[table], FIELDS[table])


def test_computed_rate_is_actual_over_budget():
    for doc in DOCS:
        for _, v in extracted(doc)["variances"].iterrows():
            if pd.isna(v["budget"]) or v["budget"] == 0:  # rate only (budget not printed), or a 0 budget
                assert pd.isna(v["computed_rate"])
            else:
                assert v["computed_rate"] == pytest.approx(v["actual"] / v["budget"] * 100)


# ------------------------------------------------------------------ reasons are data
def test_userdict_makes_fiscal_terms_single_tokens():
    tokens = _tokenizer(str(USERDICT_PATH)).lcut("年初预算为2330.28万元,支出决算为2784.51万元,因机构改革,部分人员转隶")
    for term in ("年初预算", "支出决算", "机构改革", "转隶"):
        assert term in tokens


def test_taxonomy_file_drives_classification(tmp_path):
    reason = "全年无因公出国(境)支出发生"
    assert Taxonomy.load().classify(reason) == "other"
    edited = tmp_path / "taxonomy.yaml"
    text = TAXONOMY_PATH.read_text(encoding="utf-8").replace(
        "  - id: other\n",
        "  - id: no_activity\n    label_zh: 未发生相关支出\n    label_en: no such spending occurred\n"
        "    keywords: [无…支出发生]\n  - id: other\n",
    )
    edited.write_text(text, encoding="utf-8")
    assert Taxonomy.load(edited).classify(reason) == "no_activity"
    # removing a keyword changes the category back
    edited.write_text(TAXONOMY_PATH.read_text(encoding="utf-8").replace("八项规定, ", ""), encoding="utf-8")
    assert Taxonomy.load(edited).classify("严格执行中央八项规定精神") == "other"


def test_reasons_are_multi_label_in_taxonomy_order():
    taxonomy = Taxonomy.load()
    assert taxonomy.classify("因机构改革人员转隶,同时年中追加预算") == "institutional_reform;midyear_addition"
    assert taxonomy.classify("新增了终端采购项目") == "new_project"
    assert taxonomy.classify("项目减少") == "project_completed_or_reduced"
    assert taxonomy.classify(None) is None


def test_reason_categories_on_seeds_are_mostly_specific():
    cats = [c for doc in DOCS for t in ("variances", "changes")
            for c in extracted(doc)[t]["reason_category"].dropna()]
    assert len(cats) >= 40
    other = sum(1 for c in cats if c == "other")
    assert other / len(cats) < 0.1


def test_theme_dictionary_file_drives_themes(tmp_path):
    themes = ThemeDictionary.load()
    assert themes.assign("政务网络安全保障经费") == "cybersecurity"
    assert themes.assign("往来经费") == "party_poverty_other"
    edited = tmp_path / "themes.csv"
    edited.write_text(THEMES_PATH.read_text(encoding="utf-8").replace("党建;扶贫", "党建;往来;扶贫")
                      .replace("outsourced staff,劳务外包", "outsourced staff,往来;劳务外包"), encoding="utf-8")
    assert ThemeDictionary.load(edited).assign("往来经费") == "outsourced_staff"
    assert ThemeDictionary.load(edited).assign("谁也不匹配的名称") == "party_poverty_other"


# ------------------------------------------------------------------ generalisation
def _document(texts: list[str], kind: str = "final") -> Document:
    doc = Document("synthetic.txt", "0" * 64, [Line(normalise(t), i + 1) for i, t in enumerate(texts)])
    doc.meta.doc_id, doc.meta.doc_kind, doc.meta.department = "synthetic", kind, "某区大数据中心"
    return doc


def _rewrap(lines: list[str], width: int, blank_every: int) -> list[str]:
    """Join the lines' text, then cut it every `width` characters with a blank line every few cuts."""
    text = "".join(t.strip() for t in lines)
    out = []
    for i in range(0, len(text), width):
        out.append(text[i:i + width])
        if (i // width) % blank_every == 0:
            out.append("")
    return out


@pytest.mark.parametrize("doc,first,last,width,blank_every", [
    ("000", 379, 389, 11, 1),    # one statement per line in the source, re-wrapped narrow
    ("002", 1015, 1111, 23, 2),  # already broken by pdftotext, re-wrapped differently
    ("003", 457, 483, 17, 3),
])
def test_variances_survive_rewrapping(doc, first, last, width, blank_every):
    source = load(doc)
    body = [ln.text for ln in source.lines if first <= ln.number <= last and ln.text.strip()]
    original = extract_rows(_document([ln.text for ln in source.lines if first <= ln.number <= last]))
    rewrapped = extract_rows(_document(_rewrap(body, width, blank_every)))
    keys = ["subject", "budget", "actual", "stated_rate", "reason", "reason_category"]
    want = [tuple(r[k] for k in keys) for r in original["variances"]]
    assert want and [tuple(r[k] for k in keys) for r in rewrapped["variances"]] == want


def test_changes_survive_rewrapping():
    body = [ln.text for ln in load("001").lines if 526 <= ln.number <= 606 and ln.text.strip()]
    rows = extract_rows(_document(_rewrap(body, 7, 1), kind="budget"))["changes"]
    assert [(r["metric"], float(r["delta"]), float(r["pct"]), r["reason"]) for r in rows] == [
        ("本年预算", -133.23, -11.38, "财政经费压减"), ("部门收支总预算", -133.23, -11.38, "财政经费压减")]


def test_source_line_is_where_the_statement_starts():
    rows = extract_rows(_document(["前文。", "", "1.卫生健康支出(类)。年初预算为 30.74", "", "万元，支出决算为",
                                   "29.08 万元，完成年初预算的 94.6%。"]))["variances"]
    assert [(r["subject"], r["source_line"]) for r in rows] == [("卫生健康支出(类)", 3)]


# ------------------------------------------------------------------ edge cases
def test_missing_project_name_is_kept_and_flagged():
    lines = [ln.text for ln in load("000").lines if 612 <= ln.number <= 631]
    lines[2] = "项目名称\t\t\t\t\t\t\t"  # the source lost the name cell
    out = extract_rows(_document(lines))
    forms = [p for p in out["projects"] if p["source_kind"] == "evaluation_form"]
    assert [(p["name"], float(p["budget"]), float(p["executed"])) for p in forms] == [(None, 125.0, 125.0)]
    flagged = [c for c in narrative_findings(out, None) if c["check"] == "project_name_missing"]
    assert len(flagged) == 1 and flagged[0]["severity"] == "warning" and flagged[0]["source_line"] == 3


def test_truncated_and_unparsable_statements_are_reported():
    out = extract_rows(_document([
        "1.一般公共服务支出(类)。年初预算为2272.01万元，支出决算为2727.9\ufffd",
        "卫生健康支出(类)。年初预算为30.74万元，支出决算为29.08万元。",  # not a continuation of the cut line
        "2.卫生健康支出(类)年初预算数较上年有所变化，执行数约为95%左右。",
        "3.农林水支出(类)。年初预算为3.00万元，支出决算为3.00万元，完成年初预算的100%。",
    ]))
    assert [(r["subject"], r["source_line"]) for r in out["variances"]] == [("卫生健康支出(类)", 2), ("农林水支出(类)", 4)]
    unparsed = [c["source_line"] for c in narrative_findings(out, None) if c["check"] == "unparsed_statement"]
    assert unparsed == [1, 3]


def test_declaration_change_without_printed_delta_uses_prior_budget():
    out = extract_rows(_document([
        "项目名称 测试平台运维 项目编码 42010523031T000000999",
        "项目总预算 100 项目当年预算 40",
        "1.前两年预算安排情况：2022 年的预算安排为 60 万元；2023 年的预算安排为 50 万元。",
        "2.当年预算变动情况及理由：按要求压减经费，费用预计为 40 万。",
        "项目资金来源",
    ], kind="budget"))
    change = out["changes"][0]
    assert (change["project"], float(change["current"]), float(change["delta"]), change["reason_category"]) == (
        "测试平台运维", 40.0, -10.0, "austerity")
    project = out["projects"][0]
    assert project["prior_budgets"] == {2022: 60.0, 2023: 50.0} and project["code"] == "42010523031T000000999"


def test_package_data_is_shipped():
    for path in (TAXONOMY_PATH, USERDICT_PATH, THEMES_PATH):
        assert path.exists() and path.stat().st_size > 0


# ------------------------------------------------------------------ anchored searches (a speed-up only)
def _anchored_patterns():
    """Every anchored or clause pattern the narrative stage declares (module-level, and the fact rules)."""
    import importlib
    import pkgutil

    import fiscal_nlp.narrative as narrative
    from fiscal_nlp.narrative import facts
    from fiscal_nlp.narrative.text import AnchoredPattern, ClausePattern

    found = [rule.regex for rule in facts.RULES]
    for info in pkgutil.iter_modules(narrative.__path__):
        module = importlib.import_module(f"fiscal_nlp.narrative.{info.name}")
        found += [v for v in vars(module).values() if isinstance(v, (AnchoredPattern, ClausePattern))]
    return found


def test_the_anchor_hints_are_all_checked():
    from fiscal_nlp.narrative import changes, projects, variances

    patterns = _anchored_patterns()
    # the ones with a regex anchor (a speed hint that must not change what is found)
    assert {id(p) for p in (projects._NARRATIVE, changes._THAN, variances._FULL)} <= {id(p) for p in patterns}
    assert len(patterns) > 40


def _assert_same_matches(text: str) -> int:
    found = 0
    for pattern in _anchored_patterns():
        spans = [m.span() for m in pattern.finditer(text)]
        assert spans == [m.span() for m in pattern.regex.finditer(text)], pattern.regex.pattern[:60]
        found += len(spans)
    return found


@pytest.mark.parametrize("doc", DOCS)
def test_anchored_patterns_find_exactly_what_the_plain_regex_finds(doc):
    from fiscal_nlp.narrative.text import join_lines

    assert _assert_same_matches(join_lines(load(doc)).text) > 0


def test_an_amount_anchor_looks_back_over_the_amount_and_the_name():
    """`_NARRATIVE` is anchored on “万元” with lead characters (the amount) and up to 60 more (the
    name): names holding digits, “万元” or a comma-grouped amount must not hide a match."""
    from fiscal_nlp.narrative import projects

    text = ("一、单价10万元以下设备购置2,417.70万元,主要用于运维。\n5G网络建设123.4万元:其他"
            "。主要用于数据中心租赁费12万元,主要成效显著;" + "长" * 58 + "名称1,000万元,主要用于")
    names = [m["name"] for m in projects._NARRATIVE.finditer(text)]
    # the raw name group (projects strip enumerators and “主要用于” from it later); the last is 60 characters
    assert names == ["一、单价10万元以下设备购置", "5G网络建设", "主要用于数据中心租赁费", "长" * 58 + "名称"]
    _assert_same_matches(text)


def test_regex_anchors_find_their_statements():
    """The regex anchor hints (“预算…为<amount>”, “万元比上年”, “类支出<amount>万元,占”) find the
    statements they are meant to, with decoys (“预算” and “万元” without them) around."""
    from fiscal_nlp.narrative import changes, facts, variances

    text = ("部门预算编制规范。一般公共服务支出年初预算为100.00万元,支出决算为98.50万元,完成预算的98.5%。"
            "“三公”经费支出5.00万元,共计12万元。比上年减少1.00万元;办公费3,000.00万元。比2023年增加20万元,增长0.7%;"
            "资金30万元用于运维\n"
            "1.一般公共服务(类)支出1,200.00万元,占60.00%;2.教育类支出800万元,占40%;")
    assert [m["budget"] for m in variances._FULL.finditer(text)] == ["100.00"]
    assert [(m["current"], m["delta"]) for m in changes._THAN.finditer(text)] == [("12", "1.00"), ("3,000.00", "20")]
    rule = next(r for r in facts.RULES if "类" in str(r.anchor))
    assert [m["v"] for m in rule.regex.finditer(text)] == ["1,200.00", "800"]
    _assert_same_matches(text)


@pytest.mark.parametrize("doc", DOCS)
def test_lines_squeezed_together_equal_lines_squeezed_one_by_one(doc):
    """`join_lines` squeezes all lines in one pass: the same as `squeeze` on each line."""
    from fiscal_nlp.narrative.text import _squeeze_all, squeeze

    texts = [t for line in load(doc).lines if (t := line.text.strip())]
    texts += ["1170.83 \t 1012.84", "5 G网络", "年初预算为 2,417.70 \x0c万元", "a\x0bb", "12.5% 增长", "x\ny"]
    assert _squeeze_all(texts) == [squeeze(t) for t in texts]
    assert _squeeze_all(texts[:-1]) == [squeeze(t) for t in texts[:-1]]  # the one-pass path, not the fallback
