"""fiscal_nlp — research toolkit for Chinese department budget (部门预算) and final-account (部门决算) disclosures.

Pipeline stages (one subpackage each): ingest -> tables / narrative -> validate -> store -> analysis -> reports.

    >>> import fiscal_nlp
    >>> tables = fiscal_nlp.extract("data/raw")      # dict of contract DataFrames
    >>> tables["line_items"].head()
"""
from .pipeline import extract, extract_document

__version__ = "0.1.0"
__all__ = ["extract", "extract_document", "__version__"]
