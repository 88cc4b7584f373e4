"""Shared fixtures: the seeds in data/raw are the fixtures (never invented documents)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
GOLDEN = Path(__file__).parent / "golden"
SEEDS = {p.name[:3]: p for p in sorted(RAW.glob("0*.txt"))}


def seed_path(seed: str) -> Path:
    return SEEDS[seed]


def load_doc(seed: str):
    from fiscal_nlp.ingest import identify, read_document

    doc = read_document(seed_path(seed))
    identify(doc)
    return doc


def golden_line_items(seed: str) -> pd.DataFrame:
    return pd.read_csv(GOLDEN / f"line_items_{seed}.csv", dtype={"code": str, "item": str, "side": str})


@pytest.fixture(scope="session")
def extracted():
    """The whole seed folder extracted once per test session."""
    import fiscal_nlp

    return fiscal_nlp.extract(RAW, progress=False)
