"""Time the narrative's statement patterns and the fact audit on hostile text (not a test).

Each input is a few hundred KB shaped to make a backtracking pattern try every offset against
everything after it: the pieces of a statement repeated without the piece that completes it,
in one clause (no stop character). `python benchmarks/hostile_regex.py [--kb 200]` prints the
seconds per pattern (on the pattern alone) and for the whole document (seed 000 with the text
appended as a paragraph, through `extract_bytes`), so a quadratic pattern shows as a figure
that grows 4x when `--kb` doubles.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

SEED = Path(__file__).resolve().parents[1] / "data" / "raw" / "000_b48aa8d80c836ecf.txt"


def hostile_inputs(kb: int) -> dict[str, str]:
    """name -> text of about `kb` KB (UTF-8) that a super-linear pattern chokes on."""
    n = kb * 1024 // 3  # CJK characters are 3 bytes in UTF-8

    def fill(piece: str) -> str:
        return (piece * (n // len(piece) + 1))[:n]

    return {
        "reform._PLACED": fill("单位由区委办调整为"),           # 由…调整为… never followed by 所属单位
        "changes._THAN": fill("1") + "万元比2020年",              # a glued digit run before 万元比<year>
        "changes._COMPARED": fill("与2020年相比支出各"),          # 与<year>相比 never followed by an amount
        "projects._SUB_ITEM": fill("一"),                         # a run of numerals, never followed by 是
        "facts (many)": fill("政府采购支出总额1万元,其中中小企业1万元,占比1%。"),  # many facts: check_facts pairs them
    }


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", type=int, default=200, help="size of each hostile text (default 200 KB)")
    args = ap.parse_args()
    from fiscal_nlp.narrative import changes, projects, reform
    from fiscal_nlp.pipeline import extract_bytes

    patterns = {"reform._PLACED": reform._PLACED, "changes._THAN": changes._THAN,
                "changes._COMPARED": changes._COMPARED, "projects._SUB_ITEM": projects._SUB_ITEM}
    seed = SEED.read_text(encoding="utf-8")
    plain = _time(lambda: extract_bytes(seed.encode("utf-8"), "seed.txt"))  # imports, jieba's dictionary
    print(f"seed 000 alone: {plain:.2f} s cold, {_time(lambda: extract_bytes(seed.encode('utf-8'), 'seed.txt')):.2f} s warm")
    print(f"{'input':<22}{'KB':>6}{'pattern s':>11}{'document s':>12}")
    for name, text in hostile_inputs(args.kb).items():
        pattern = patterns.get(name)
        alone = _time(lambda: list(pattern.finditer(text))) if pattern is not None else float("nan")
        doc = (seed + "\n" + text + "\n").encode("utf-8")
        whole = _time(lambda: extract_bytes(doc, "hostile.txt"))
        print(f"{name:<22}{len(text.encode()) // 1024:>6}{alone:>11.2f}{whole:>12.2f}", flush=True)


if __name__ == "__main__":
    main()
