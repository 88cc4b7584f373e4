"""The audit's identities, read from `package_data/identities.yaml` (see that file for the format)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from ..ingest.document import normalise
from ..tables.spec import Identity, package_yaml, parse_identity

IDENTITIES_FILE = "identities.yaml"


@dataclass(frozen=True)
class TableRules:
    """What one table's numbers must satisfy."""

    key: str
    row: tuple[Identity, ...] = ()
    row_expenditure: tuple[Identity, ...] = ()  # two-sided tables: the 支出 side's rows
    hierarchy: bool = False
    two_sided: bool = False
    blocks: tuple[tuple[str, tuple[str, ...] | None], ...] = ()  # (total row, its 类; None = the rest)
    totals: tuple[tuple[str, ...], ...] = ()  # each: the spellings of one required total row
    side_totals: dict = field(default_factory=dict)  # side -> totals, for two-sided tables
    classification: str = "functional"  # the codes' classification: functional (支出功能分类) | economic (经济分类)

    def row_identities(self, side: str | None) -> tuple[Identity, ...]:
        if self.two_sided:
            return self.row_expenditure if side == "expenditure" else ()
        return self.row


@dataclass(frozen=True)
class Cell:
    """A cell named by table, row and column (see `cross_table` in identities.yaml)."""

    table: str
    column: str = "first"
    side: str | None = None
    item: str | None = None
    item_re: str | None = None
    sum: tuple[str, ...] = ()


@dataclass(frozen=True)
class CrossRule:
    what: str
    a: Cell
    b: Cell
    fiscal_only: bool = False
    per_class: bool = False


@dataclass(frozen=True)
class NarrativeCell:
    table: str
    item: str
    columns: tuple[str, ...] = ()
    scope_may_differ: bool = False  # the figure may cover other money than the cell: a gap is a warning


@dataclass(frozen=True)
class Declarations:
    tables: dict[str, TableRules]
    families: dict[tuple[str, str], TableRules]
    cross_table: tuple[CrossRule, ...]
    fiscal_tables: frozenset[str]
    narrative_cells: dict[str, NarrativeCell]
    functional_classes: re.Pattern
    economic_classes: re.Pattern

    def rules(self, key: str, family: str | None = None) -> TableRules | None:
        """The rules of a table, a template family's own where it declares them."""
        return self.families.get((key, family or "")) or self.tables.get(key)


def _totals(entries) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(normalise(a) for a in ([e] if isinstance(e, str) else e)) for e in entries or ())


def _table_rules(key: str, raw: dict) -> TableRules:
    totals = raw.get("totals") or ()
    blocks = tuple((normalise(name), None if members == "rest" else tuple(str(c) for c in members))
                   for name, members in (raw.get("blocks") or {}).items())
    return TableRules(
        key=key,
        row=tuple(parse_identity(i) for i in raw.get("row", ())),
        row_expenditure=tuple(parse_identity(i) for i in raw.get("row_expenditure", ())),
        hierarchy=bool(raw.get("hierarchy")),
        two_sided=bool(raw.get("two_sided")),
        blocks=blocks,
        totals=() if isinstance(totals, dict) else _totals(totals),
        side_totals={side: _totals(v) for side, v in totals.items()} if isinstance(totals, dict) else {},
        classification=raw.get("classification", "economic" if blocks else "functional"),
    )


def _cell(raw: dict) -> Cell:
    return Cell(table=raw["table"], column=normalise(str(raw.get("column", "first"))), side=raw.get("side"),
                item=normalise(raw["item"]) if raw.get("item") else None, item_re=raw.get("item_re"),
                sum=tuple(normalise(s) for s in raw.get("sum", ())))


@lru_cache(maxsize=1)
def load_declarations() -> Declarations:
    raw = package_yaml(IDENTITIES_FILE)
    tables, families = {}, {}
    for key, spec in raw["tables"].items():
        tables[key] = _table_rules(key, spec)
        for family, override in (spec.get("families") or {}).items():
            families[key, family] = _table_rules(key, {**{k: v for k, v in spec.items() if k != "families"}, **override})
    cross = tuple(CrossRule(r["what"], _cell(r["a"]), _cell(r["b"]), bool(r.get("fiscal_only")), bool(r.get("per_class")))
                  for r in raw.get("cross_table", ()))
    cells = {normalise(k): NarrativeCell(v["table"], normalise(v["item"]), tuple(normalise(c) for c in v.get("columns", ())),
                                         bool(v.get("scope_may_differ")))
             for k, v in raw.get("narrative_cells", {}).items()}
    return Declarations(tables, families, cross, frozenset(raw.get("fiscal_tables", ())), cells,
                        re.compile(raw["functional_classes"]), re.compile(raw["economic_classes"]))
