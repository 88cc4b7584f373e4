"""Pure functions over the data-contract DataFrames, used by the report notebooks (and unit-tested).

`load(processed_dir)` reads the contract tables; every other function takes that dict (`tables`) and
returns a DataFrame, each quoted figure with a `citation` column (`source_file:line`).
"""
from __future__ import annotations

from ._common import (UNKNOWN_PLACE, cite, describe, document, documents_of, find_doc_id, load, place_of,
                      restrict, source_file, source_page_name, year_label)
from .cross_district import (REQUIRED_EXPLANATIONS, REQUIRED_TABLES, completeness_score, disclosure_completeness,
                             district_summary, place_summary)
from .profile import (audit_summary, basic_vs_project, economic_breakdown, expenditure_by_function, key_facts,
                      personnel_vs_public, revenue_by_source)
from .present import note, show
from .project_mix import (audited_projects, compared, function_transfers, project_changes, project_portfolio, project_share_over_time,
                          reform_pair, theme_shares)
from .scraps import figures, glue
from .quality import failed_checks, quality_docs, severity_counts
from .variance import (DEFAULT_THRESHOLD_PCT, project_execution, rate_mismatches, unexplained_deviations,
                       variance_table)


__all__ = [
    "load", "glue", "figures", "cite", "documents_of", "find_doc_id", "source_file", "document", "describe", "place_of",
    "source_page_name", "UNKNOWN_PLACE", "restrict", "compared", "year_label", "show", "note", "audited_projects",
    "revenue_by_source", "expenditure_by_function", "basic_vs_project", "personnel_vs_public", "economic_breakdown",
    "key_facts", "audit_summary",
    "variance_table", "unexplained_deviations", "rate_mismatches", "project_execution", "DEFAULT_THRESHOLD_PCT",
    "reform_pair", "project_portfolio", "theme_shares", "project_changes", "function_transfers",
    "project_share_over_time",
    "disclosure_completeness", "completeness_score", "district_summary", "place_summary", "REQUIRED_TABLES", "REQUIRED_EXPLANATIONS",
    "failed_checks", "quality_docs", "severity_counts",
]
