"""Chart helpers for the report notebooks (matplotlib/seaborn, CJK labels, units in titles)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ..reports.fonts import use_cjk_font


def _setup():
    use_cjk_font()


def _title(ax, title: str, subtitle: str | None = None):
    ax.set_title(title + (f"\n{subtitle}" if subtitle else ""), fontsize=12, loc="left")


def barh(df: pd.DataFrame, label: str, value: str, title: str, subtitle: str | None = None,
         unit: str = "万元", color: str = "#4C72B0"):
    """Horizontal bar chart of `value` by `label`, values annotated."""
    _setup()
    d = df.sort_values(value)
    fig, ax = plt.subplots(figsize=(8, max(2.0, 0.45 * len(d) + 1.2)))
    ax.barh(d[label].astype(str), d[value].astype(float), color=color)
    for y, v in enumerate(d[value].astype(float)):
        ax.annotate(f"{v:,.2f}", (v, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_xlabel(unit)
    _title(ax, title, subtitle)
    fig.tight_layout()
    return fig


def stacked_share(df: pd.DataFrame, index: str, column: str, value: str, title: str, subtitle: str | None = None):
    """100% stacked bars: shares of `value` by `column` for each `index` (e.g. theme shares by year)."""
    _setup()
    wide = df.pivot_table(index=index, columns=column, values=value, aggfunc="sum").fillna(0)
    wide = wide.div(wide.sum(axis=1), axis=0) * 100
    fig, ax = plt.subplots(figsize=(8, 4))
    wide.plot(kind="bar", stacked=True, ax=ax, colormap="tab20", width=0.6)
    ax.set_ylabel("占比 share (%)")
    ax.set_xlabel("")
    ax.legend(loc="center left", bbox_to_anchor=(1, 0.5), fontsize=8)
    plt.setp(ax.get_xticklabels(), rotation=0)
    _title(ax, title, subtitle)
    fig.tight_layout()
    return fig


def diverging(df: pd.DataFrame, label: str, value: str, title: str, subtitle: str | None = None, unit: str = "%"):
    """Diverging bars around zero (e.g. variance % by subject): over budget red, under budget blue."""
    _setup()
    d = df.dropna(subset=[value]).sort_values(value)
    fig, ax = plt.subplots(figsize=(8, max(2.0, 0.45 * len(d) + 1.2)))
    vals = d[value].astype(float)
    ax.barh(d[label].astype(str), vals, color=["#C44E52" if v > 0 else "#4C72B0" for v in vals])
    for y, v in enumerate(vals):
        ax.annotate(f"{v:+,.2f}", (v, y), xytext=(3 if v >= 0 else -3, 0), textcoords="offset points", va="center",
                    ha="left" if v >= 0 else "right", fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(unit)
    _title(ax, title, subtitle)
    fig.tight_layout()
    return fig


def grouped_bars(df: pd.DataFrame, index: str, columns: list[str], title: str, subtitle: str | None = None,
                 ylabel: str = ""):
    """Side-by-side bars of several metrics per `index` (e.g. districts)."""
    _setup()
    d = df.set_index(index)[columns].astype(float)
    fig, ax = plt.subplots(figsize=(8, 4))
    d.plot(kind="bar", ax=ax, width=0.7)
    return _finish_bars(fig, ax, ylabel, title, subtitle)


def _finish_bars(fig, ax, ylabel: str, title: str, subtitle: str | None):
    """The axis labels, upright category names, title and layout every bar chart here shares."""
    ax.set_ylabel(ylabel)
    ax.set_xlabel("")
    plt.setp(ax.get_xticklabels(), rotation=0)
    _title(ax, title, subtitle)
    fig.tight_layout()
    return fig


def stacked_parts(df: pd.DataFrame, index: str, parts: dict[str, str], title: str, subtitle: str | None = None,
                  ylabel: str = "万元"):
    """Stacked bars of the parts of a total (e.g. 基本支出 + 项目支出 = 本年支出合计) per `index`: the bar's height
    is the total, so a total is never drawn beside its own parts. `parts` maps legend label -> column."""
    _setup()
    d = df.set_index(index)[list(parts.values())].astype(float).rename(columns={v: k for k, v in parts.items()})
    fig, ax = plt.subplots(figsize=(8, 4))
    d.plot(kind="bar", stacked=True, ax=ax, width=0.7, color=["#4C72B0", "#DD8452", "#55A868", "#C44E52"][: len(parts)])
    for i, total in enumerate(d.sum(axis=1)):
        ax.annotate(f"{total:,.2f}", (i, total), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
    return _finish_bars(fig, ax, ylabel, title, subtitle)


def histogram(df: pd.DataFrame, value: str, title: str, subtitle: str | None = None, unit: str = "%", bins: int = 20):
    """Distribution of `value` (for selections with too many rows to draw one bar each)."""
    _setup()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.hist(df[value].dropna().astype(float), bins=bins, color="#4C72B0")
    ax.set_xlabel(unit)
    ax.set_ylabel("文件数 documents")
    _title(ax, title, subtitle)
    fig.tight_layout()
    return fig
