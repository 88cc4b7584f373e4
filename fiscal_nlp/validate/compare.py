"""How two numbers are compared, and what a `checks` row looks like (shared by every check).

Amounts are compared exactly, in cents (Decimal): equal passes; a gap up to
`ROUNDING_TOLERANCE_WAN` is severity `rounding` (the documents warn 金额单位转换时可能存在尾数误差),
more is `error`. A printed percentage is compared at its printed precision: it passes when some
value of the ratio its printed amounts allow (each amount ± half a unit of its last digit) rounds
*or truncates* to it (95.457 printed as 95.45 passes). A miss is `rounding` when the numerator the
printed rate implies is within `ROUNDING_TOLERANCE_WAN` of the printed one, else `error`.
"""
from __future__ import annotations

import math
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_UP, Context, Decimal, localcontext

from ..schema import ROUNDING_TOLERANCE_WAN

CENT = Decimal("0.01")
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)  # sums and differences of printed amounts are exact
TOLERANCE = Decimal(str(ROUNDING_TOLERANCE_WAN))


def dec(x) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(str(x))


def severity_of(gap: Decimal) -> str | None:
    """None for no gap, `rounding` up to the tolerance, else `error`."""
    if gap == 0:
        return None
    return "rounding" if abs(gap) <= TOLERANCE else "error"


def half_unit(printed: Decimal) -> Decimal:
    """Half a unit of the last printed digit: 2272.01 -> 0.005, 240 -> 0.5."""
    return Decimal(1).scaleb(printed.as_tuple().exponent) / 2


def compare_amounts(expected: Decimal, found: Decimal) -> tuple[bool, str | None]:
    """(passed, severity) for two amounts in 万元, compared in cents."""
    with localcontext(_EXACT):  # quantize raises beyond the context's digits (a 30-digit run glued by a PDF)
        gap = abs(expected.quantize(CENT, ROUND_HALF_UP) - found.quantize(CENT, ROUND_HALF_UP))
    return gap == 0, severity_of(gap)


def ratio_interval(num: Decimal, den: Decimal) -> tuple[float, float]:
    """Range of 100·num/den when each printed amount may be off by half its last digit."""
    hn, hd = half_unit(num), half_unit(den)
    low_num, high_num = max(abs(num) - hn, Decimal(0)), abs(num) + hn
    low = float(low_num / (abs(den) + hd) * 100)
    high = float(high_num / (abs(den) - hd) * 100) if abs(den) > hd else math.inf
    return low, high


def printed_as(stated: Decimal, num: Decimal, den: Decimal) -> frozenset[str]:
    """How a printed percentage s can come from num/den: `rounded` (the ratio may lie in
    [s − ½u, s + ½u]) and/or `truncated` (in [s, s + u)), u a unit of its last digit."""
    low, high = ratio_interval(num, den)
    unit = half_unit(stated) * 2
    s = abs(stated)
    ways = set()
    if float(s - unit / 2) <= high and float(s + unit / 2) >= low:
        ways.add("rounded")
    if float(s) <= high and float(s + unit) > low:
        ways.add("truncated")
    return frozenset(ways)


def judge_rate(stated: Decimal, num: Decimal, den: Decimal, truncation: bool = True) -> tuple[bool, str | None, float]:
    """(passed, severity, computed) for a printed percentage of num/den, at the printed precision.

    It passes when it is the ratio rounded or (`truncation`) truncated to the printed decimals,
    for some value of the ratio the printed amounts allow (see `printed_as`).
    """
    computed = float(num / den * 100) if den else math.inf
    ways = printed_as(stated, num, den)
    if "rounded" in ways or (truncation and "truncated" in ways):
        return True, None, computed
    unit = half_unit(stated) * 2
    s = abs(stated)
    implied_low, implied_high = (s - unit / 2) / 100 * abs(den), (s + (unit if truncation else unit / 2)) / 100 * abs(den)
    hn = half_unit(num)
    gap = max(implied_low - (abs(num) + hn), (abs(num) - hn) - implied_high, Decimal(0))
    return False, "rounding" if gap <= TOLERANCE else "error", computed


def as_float(value) -> float | None:
    return None if value is None or (isinstance(value, float) and (math.isinf(value) or math.isnan(value))) else float(value)


def finding(check: str, passed: bool, severity: str | None, expected, found, detail: str,
            source_line=None, related_line=None, table_key=None) -> dict:
    """A `checks` row (without doc_id: the audit adds it)."""
    return {"check": check, "passed": passed, "severity": None if passed else severity,
            "expected": as_float(expected), "found": as_float(found), "detail": detail, "table_key": table_key,
            "source_line": source_line, "related_line": related_line}


def amount_finding(check: str, expected: Decimal, found: Decimal, detail: str, table_key=None, line=None,
                   related=None) -> dict:
    """A `checks` row comparing two exact amounts; the detail gets the signed gap when they differ."""
    gap = found - expected
    return finding(check, gap == 0, severity_of(gap), expected, found,
                   detail + ("" if gap == 0 else f" (gap {gap:+})"), line, related, table_key)
