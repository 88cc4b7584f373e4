"""The CJK matplotlib font, set once for every report chart.

`find_cjk_font()` looks through matplotlib's font list for a font that really has glyphs for
Chinese text; `use_cjk_font()` makes it the default sans-serif font. `python -m
fiscal_nlp.reports.fonts --ensure` installs `fonts-wqy-microhei` (Debian) when none exists.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

PROBE = "汉阳区预算决算"
# fonts known to cover CJK, tried first (cheap) before scanning every font file
_PREFERRED = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
              "Droid Sans Fallback", "SimHei", "Microsoft YaHei", "PingFang SC", "AR PL UMing CN")
_cached: str | None = None


def _has_glyphs(path: str, text: str = PROBE) -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        font = FT2Font(path)
        return all(font.get_char_index(ord(ch)) for ch in text)
    except Exception:  # unreadable / unsupported font file
        return False


def find_cjk_font(text: str = PROBE) -> str | None:
    """Path of an installed font with glyphs for every character of `text`, or None."""
    global _cached
    if _cached and text == PROBE and os.path.exists(_cached):
        return _cached
    from matplotlib import font_manager

    entries = sorted(font_manager.fontManager.ttflist, key=lambda f: (f.name not in _PREFERRED,
                     _PREFERRED.index(f.name) if f.name in _PREFERRED else 0, f.fname))
    for entry in entries:
        if "lastresort" in os.path.basename(entry.fname).lower():  # maps every code point to a placeholder box
            continue
        if entry.fname.lower().endswith((".ttf", ".otf", ".ttc")) and _has_glyphs(entry.fname, text):
            if text == PROBE:
                _cached = entry.fname
            return entry.fname
    return None


def use_cjk_font() -> str | None:
    """Register the CJK font and make it matplotlib's default; returns its family name (None if none found)."""
    import matplotlib
    from matplotlib import font_manager

    path = find_cjk_font()
    matplotlib.rcParams["axes.unicode_minus"] = False
    if path is None:
        return None
    font_manager.fontManager.addfont(path)
    name = font_manager.FontProperties(fname=path).get_name()
    matplotlib.rcParams["font.family"] = "sans-serif"
    sans = [f for f in matplotlib.rcParams["font.sans-serif"] if f != name]
    matplotlib.rcParams["font.sans-serif"] = [name, *sans]
    return name


def _rebuild_font_cache() -> None:
    global _cached
    _cached = None
    import matplotlib
    from matplotlib import font_manager

    cache_dir = matplotlib.get_cachedir()
    for fname in os.listdir(cache_dir):
        if fname.startswith("fontlist") and fname.endswith(".json"):
            os.remove(os.path.join(cache_dir, fname))
    font_manager.fontManager = font_manager._load_fontmanager(try_read_cache=False)


def ensure() -> int:
    path = find_cjk_font()
    if path:
        print(f"CJK font: {path}")
        return 0
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        print("no CJK font found; installing fonts-wqy-microhei with apt-get …", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        rc = subprocess.call("apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei", shell=True, env=env)
        if rc != 0:
            print(f"apt-get failed (exit {rc})", file=sys.stderr)
        _rebuild_font_cache()
        path = find_cjk_font()
        if path:
            print(f"CJK font: {path}")
            return 0
    print("error: matplotlib has no font with Chinese glyphs, so report charts would show empty boxes. "
          "Install one (Debian/Ubuntu: `sudo apt-get install fonts-wqy-microhei`; conda: `conda install -c "
          "conda-forge font-ttf-noto-cjk`), then run `python -m fiscal_nlp.reports.fonts --ensure` again.",
          file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fiscal_nlp.reports.fonts", description=__doc__)
    p.add_argument("--ensure", action="store_true", help="install a CJK font if none is available")
    args = p.parse_args(argv)
    if args.ensure:
        return ensure()
    path = find_cjk_font()
    print(path or "no CJK font found")
    return 0 if path else 1


if __name__ == "__main__":
    sys.exit(main())
