"""environment.yml and pyproject.toml list the same runtime dependencies."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"python-duckdb": "duckdb"}  # conda-forge spellings of PyPI names


def _name(spec: str) -> str:
    return re.split(r"[<>=!\[ ]", spec.strip(), maxsplit=1)[0].lower()


def test_runtime_dependencies_match():
    pyproject = {_name(d) for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {CONDA_NAMES.get(_name(d), _name(d)) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    conda -= {"distributed"} if "dask" in pyproject else set()
    assert conda == pyproject


def test_raw_data_is_the_seeds_byte_for_byte():
    shared = ROOT.parent / "shared" / "seeds"
    raw = ROOT / "data" / "raw"
    for seed in sorted(shared.glob("*.txt")) if shared.exists() else []:
        assert (raw / seed.name).read_bytes() == seed.read_bytes()
