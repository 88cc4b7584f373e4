"""Report building: papermill + nbconvert over the notebooks in `notebooks/`, and the CJK chart font."""
from __future__ import annotations


def build_reports(*args, **kwargs) -> int:
    """See `fiscal_nlp.reports.build.build_reports`."""
    from .build import build_reports as _build

    return _build(*args, **kwargs)


__all__ = ["build_reports"]
