"""Hostile text: every statement pattern and the fact audit stay linear (or bounded) in the input.

Each input is a few hundred KB shaped against one pattern that was super-linear (the pieces of
its statement repeated in one clause, never completed), appended to seed 000. The documents run
on worker processes under a loose time limit, so a regression shows as a `timeout` row instead
of a hung test; `benchmarks/hostile_regex.py` measures the times.
"""
from __future__ import annotations

import pytest

from conftest import seed_path
from fiscal_nlp.pipeline import extract_to
from fiscal_nlp.store import read_tables

KB = 300


def _fill(piece: str, kb: int = KB) -> str:
    n = kb * 1024 // 3
    return (piece * (n // len(piece) + 1))[:n]


HOSTILE = {
    "placed": _fill("单位由区委办调整为"),            # reform._PLACED: 由…调整为… never followed by 所属单位
    "than": _fill("1") + "万元比2020年",              # changes._THAN: a glued digit run before 万元比<year>
    "compared": _fill("与2020年相比支出各"),            # changes._COMPARED: 与<year>相比 never followed by an amount
    "sub-item": _fill("一"),                          # projects._SUB_ITEM: a run of numerals never followed by 是
    "facts": _fill("政府采购支出总额1万元,其中货物1万元。"),  # check_facts: thousands of facts in one document
}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    seed = seed_path("000").read_text(encoding="utf-8")
    (raw / "000_plain.txt").write_text(seed, encoding="utf-8")
    for name, text in HOSTILE.items():
        # the hostile text as a paragraph of its own, so each file is still seed 000 plus noise
        (raw / f"000_{name}.txt").write_text(f"{seed}\n{text}\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("out")
    # old code: _PLACED alone took 23 s on 20 KB (quadratic and worse); now each document takes ~1 s here
    run = extract_to(raw, out, jobs=2, chunk_size=1, progress=False, timeout=30)
    return run, read_tables(out)


def test_every_hostile_document_finishes_within_the_limit(extracted):
    run, tables = extracted
    assert tables["errors"].empty, tables["errors"]["message"].tolist()
    assert run.extracted == 1 + len(HOSTILE)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_seed_statements_are_read_as_without_the_noise(extracted, name):
    _, tables = extracted
    docs = tables["documents"].set_index("source_file")["doc_id"]
    for table, columns in [("variances", ["subject", "budget", "actual", "source_line"]),
                           ("changes", ["metric", "current", "delta", "source_line"]),
                           ("projects", ["name", "source_line"])]:
        rows = tables[table]
        plain = rows[rows["doc_id"] == docs["000_plain.txt"]][columns].reset_index(drop=True)
        noisy = rows[rows["doc_id"] == docs[f"000_{name}.txt"]][columns]
        noisy = noisy[noisy["source_line"] <= plain["source_line"].max()].reset_index(drop=True)
        assert len(plain) and plain.equals(noisy), table


# ---------------------------------------------------------------- encodings and PDF trailers


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_text_is_read_like_utf8(encoding):
    """Windows' “Unicode” export (with or without a byte-order mark) is text, not binary."""
    from fiscal_nlp.pipeline import extract_bytes

    text = seed_path("000").read_text(encoding="utf-8")
    tables = extract_bytes(text.encode(encoding), "000_utf16.txt")
    assert "errors" not in tables or tables["errors"].empty
    assert len(tables["line_items"]) == 165  # as from the UTF-8 seed (cells read by hand)


def test_big5_is_decoded_as_big5_not_as_gb18030_mojibake():
    from fiscal_nlp.ingest.text import decode_text

    text = "部門決算\n一、收入支出決算總表\n單位：萬元\n本年收入合計為1,200.00萬元，本年支出合計為1,150.00萬元。\n" * 5
    assert decode_text(text.encode("big5"), "big5.txt") == text


def test_bytes_after_the_end_marker_do_not_make_a_pdf_truncated(tmp_path):
    """A server's trailer after %%EOF: readers ignore it, and so do we (seed 000 rendered as a PDF)."""
    import pdf_factory
    from fiscal_nlp.pipeline import extract_bytes

    pdf = pdf_factory.render_pdf(seed_path("000").read_text("utf-8"), tmp_path / "000.pdf").read_bytes()
    plain = extract_bytes(pdf, "000.pdf")
    padded = extract_bytes(pdf + b"\r\n<!-- served by a proxy -->\r\n" + b" " * 4096, "000.pdf")
    assert "errors" not in padded or padded["errors"].empty
    plain["documents"], padded["documents"] = (t["documents"].drop(columns="sha256") for t in (plain, padded))
    assert [name for name in plain if not plain[name].equals(padded[name])] == []  # all but the bytes' hash
    cut = extract_bytes(pdf[: len(pdf) // 2], "cut.pdf")  # and a PDF cut short is still `pdf_corrupt`
    assert list(cut["errors"]["kind"]) == ["pdf_corrupt"]
