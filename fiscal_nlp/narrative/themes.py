"""Narrative stage: project themes (project mix) from `package_data/project_themes.csv`.

Each CSV row is a theme (theme_id, label_zh, label_en, keywords separated by ';'). A project
gets the FIRST theme, in file order, with a keyword contained in its name; the file order is
therefore the priority (specific themes such as cybersecurity before broad ones such as
network). A name matching nothing gets the LAST theme (the catch-all). Extending the
dictionary is a CSV edit.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

THEMES_PATH = Path(str(resources.files("fiscal_nlp") / "package_data" / "project_themes.csv"))


@dataclass(frozen=True)
class Theme:
    id: str
    label_zh: str
    label_en: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class ThemeDictionary:
    themes: tuple[Theme, ...]

    @classmethod
    def load(cls, path: str | Path = THEMES_PATH) -> "ThemeDictionary":
        with open(path, encoding="utf-8", newline="") as fh:
            themes = tuple(
                Theme(r["theme_id"], r["label_zh"], r["label_en"],
                      tuple(k.strip() for k in r["keywords"].split(";") if k.strip()))
                for r in csv.DictReader(fh)
            )
        return cls(themes)

    def assign(self, name: str | None) -> str:
        """Theme id for a project name: “政务网络安全保障经费” -> "cybersecurity"."""
        for theme in self.themes:
            if name and any(k in name for k in theme.keywords):
                return theme.id
        return self.themes[-1].id


@lru_cache(maxsize=1)
def default_themes() -> ThemeDictionary:
    return ThemeDictionary.load()
