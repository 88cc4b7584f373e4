"""Tables of real published PDFs (../shared/real) against cells read by hand (tests/golden/real).

The golden cells were read from the PDFs by a person (pdftotext -layout and page images), independently
of the parser; see tests/golden/real/README.md. The PDFs are not in the repository: the tests skip
when ../shared is absent.
"""
from __future__ import annotations

import csv
import unicodedata
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pytest

from fiscal_nlp.ingest import read_document
from fiscal_nlp.tables import line_item_records

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "real"
GOLDEN = ROOT / "tests" / "golden" / "real"
UNITS = {"万元": Decimal(1), "元": Decimal("0.0001")}

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real is not available")


def golden_cells() -> dict[str, list[dict]]:
    """Hand-read cells by file; labels in NFKC form, as the contract stores them (（含） -> (含))."""
    cells: dict[str, list[dict]] = {}
    for path in sorted(GOLDEN.glob("*.csv")):
        if path.name == "documents.csv":
            continue
        with open(path, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                row = {k: unicodedata.normalize("NFKC", v) if k != "file" else v for k, v in row.items()}
                cells.setdefault(row["file"], []).append(row)
    return cells


GOLDEN_CELLS = golden_cells()


@lru_cache(maxsize=None)
def line_items(file: str) -> list[dict]:
    return line_item_records(read_document(REAL / file))[0]


GROUPS = ("预算数", "决算数")
GENERIC = ("金额", "小计")
# 三公 headers whose national column is not their printed leaf, as a reader names them: in Jiangsu's
# “三公”经费、会议费、培训费支出预算表 the printed 合计 adds 会议费 and 培训费 (总计), and 小计 under
# “三公”经费 is the 三公 total (合计).
THREE_PUBLIC = {"合计": "总计", "“三公”经费/小计": "合计"}


def _leaf(column: str) -> str:
    """The deepest header that names the column: 事业收入/金额 -> 事业收入; 合计/预算数 -> 合计."""
    parts = [p.replace("其中:", "") for p in column.split("/") if p not in GROUPS]
    while len(parts) > 1 and parts[-1] in GENERIC:
        parts.pop()
    return parts[-1] if parts else column


def _same_column(cell: dict, ours: str) -> bool:
    """The leaf header as printed: 本年支出/基本支出 ~ 基本支出; 预算数/公务用车购置及运行费/购置费 ~ 预算数/公务用车购置费."""
    golden = cell["column"]
    if cell["table_key"] == "three_public" and "会议费" in cell["table_title"] and golden in THREE_PUBLIC:
        return ours.endswith("/" + THREE_PUBLIC[golden])
    same = lambda a, b: a in b or b in a  # noqa: E731
    named = [p for p in golden.split("/") if p not in GROUPS] or [golden]
    printed = {_leaf(golden), named[-1].replace("其中:", "")}
    o = _leaf(ours)
    groups = [x for x in GROUPS if x in golden]
    return any(same(g.replace("运行维护费", "运行费"), o.replace("运行维护费", "运行费")) for g in printed) and all(x in ours for x in groups)


def _same_row(cell: dict, row: dict) -> bool:
    if row["table_key"] != cell["table_key"] or (cell["side"] and row["side"] != cell["side"]):
        return False
    if cell["code"]:
        return row["code"] == cell["code"]
    item = row["item"] or ""
    # Labelled tables (政府采购) key a row by its label path; the reader names its most specific label.
    return not cell["item"] or item == cell["item"] or cell["item"].split("/")[-1] in item.split("/")


def expected_amount(cell: dict) -> Decimal:
    return Decimal(cell["amount_printed"].replace(",", "")) * UNITS[cell["unit_printed"]]


def compare(file: str) -> tuple[list[dict], list[tuple[dict, list[float]]]]:
    """(missing golden cells, wrong ones with the amounts read instead)."""
    rows = line_items(file)
    missing, wrong = [], []
    for cell in GOLDEN_CELLS[file]:
        same_place = [r for r in rows if _same_row(cell, r) and _same_column(cell, r["column"])]
        amount = float(expected_amount(cell))
        if not any(abs(r["amount"] - amount) < 1e-9 for r in same_place):
            (wrong if same_place else missing).append((cell, [r["amount"] for r in same_place]) if same_place else cell)
    return missing, wrong


@pytest.mark.parametrize("file", sorted(f for f, cells in GOLDEN_CELLS.items() if cells))
def test_every_hand_read_cell_is_extracted(file):
    missing, wrong = compare(file)
    assert not wrong, f"cells read with another amount: {[(c['table_key'], c['code'] or c['item'], c['column'], c['amount_printed'], got) for c, got in wrong]}"
    assert not missing, f"{len(missing)} of {len(GOLDEN_CELLS[file])} cells missing: {[(c['table_key'], c['side'], c['code'] or c['item'], c['column'], c['amount_printed']) for c in missing]}"


@pytest.mark.parametrize("file", sorted(f for f, cells in GOLDEN_CELLS.items() if cells))
def test_every_table_with_numbers_yields_rows(file):
    expected = {c["table_key"] for c in GOLDEN_CELLS[file]}
    found = {r["table_key"] for r in line_items(file)}
    assert expected <= found, f"tables without rows: {sorted(expected - found)}"


def test_amounts_in_yuan_are_converted_at_full_precision():
    rows = line_items("shanghai-putuo/上海市普陀区人民政府万里街道办事处24年预算.pdf")
    total = [r for r in rows if r["table_key"] == "expenditure" and r["item"] == "合计" and r["column"] == "合计"]
    assert [r["amount"] for r in total] == [15621.1123]  # 156,211,123 元 as printed
    assert {r["unit_printed"] for r in total} == {"元"}
    three = [r for r in rows if r["table_key"] == "three_public"]
    assert three and {r["unit_printed"] for r in three} == {"万元"}  # the 三公 table states 万元 in a 元 document
