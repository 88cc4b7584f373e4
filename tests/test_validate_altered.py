"""A deliberately altered copy of seed 000: ten substantive changes (figures and words) that make
the document contradict itself; the audit must report at least eight of them, each at the line
that was changed. The changes are made here, at test time; data/raw stays as published.
"""
from __future__ import annotations

import pytest

from conftest import SEEDS

# (line, printed text, altered text, what the change breaks)
CHANGES = [
    (12, "2021 年度部门决算表", "2020 年度部门决算表", "a heading of another year"),
    (155, "2,729.12\t335.75\t2,393.37", "2,729.12\t335.75\t2,398.37", "201 本年支出合计 ≠ 基本 + 项目"),
    (375, "支出2727.90万元，占97.97%", "支出2727.90万元，占91.97%", "a share that is not part ÷ total"),
    (381, "完成年初预算的120.07%", "完成年初预算的112.07%", "a completion rate that is not 决算 ÷ 预算"),
    (383, "支出决算为24.53万元", "支出决算为26.53万元", "a 类 决算 that the tables do not print"),
    (385, "支出决算数小于", "支出决算数大于", "决算数大于预算数 while 29.08 < 30.74"),
    (393, "基本支出 386.42 万元", "基本支出 396.42 万元", "narrative 基本支出 vs the tables"),
    (395, "人员经费 372.95 万元", "人员经费 372.59 万元", "narrative 人员经费 vs 人员经费合计"),
    (439, "执行数为2785.72万元", "执行数为2705.72万元", "department 执行数 vs its own rate"),
    (445, "项目全年预算数为240万元", "项目全年预算数为260万元", "a project's budget vs its 自评表"),
]


def _records(text: str):
    from fiscal_nlp.ingest import identify, read_bytes
    from fiscal_nlp.pipeline import document_records

    doc = read_bytes(text.encode("utf-8"), SEEDS["000"].name)
    identify(doc)
    return document_records(doc)


def _findings(records) -> set[tuple]:
    return {(c["check"], c["source_line"], c.get("related_line"), c["expected"], c["found"])
            for c in records["checks"] if not c["passed"] and c["check"] != "unparsed_statement"}


def test_the_audit_reports_the_changes_made_to_a_copy():
    lines = SEEDS["000"].read_text(encoding="utf-8").split("\n")
    original = _findings(_records("\n".join(lines)))
    for number, printed, altered, _ in CHANGES:
        assert lines[number - 1].count(printed) == 1, (number, printed)
        lines[number - 1] = lines[number - 1].replace(printed, altered)
    records = _records("\n".join(lines))
    assert records["documents"][0]["fiscal_year"] == 2021  # the document is still read as 2021's
    new = _findings(records) - original
    reported = {number for number, *_ in CHANGES
                if any(number in (line, related) for _, line, related, _, _ in new)}
    missed = [(n, what) for n, _, _, what in CHANGES if n not in reported]
    assert len(reported) >= 8, f"missed: {missed}"
