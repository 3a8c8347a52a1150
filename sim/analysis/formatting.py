"""How the analysis tools write numbers and names: 3 significant digits, signed differences,
intervals, p-values, compact seed ranges and lists of names.

Shared by the report (:mod:`sim.analysis.report`), the decision summary
(:mod:`sim.analysis.decision`) and the printed rankings (:mod:`sim.analysis.compare`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sim.outcomes import Outcome


def fmt(x: Any, signed: bool = False) -> str:
    """A number to 3 significant digits ("n/a" when missing; no exponent from 1000 up)."""
    if x is None or x is pd.NA:
        return "n/a"
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return f"{int(x):+,d}" if signed and x != 0 else f"{int(x):,d}"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(v):
        return "n/a"
    if v == 0:
        return "0"
    s = f"{v:+.3g}" if signed else f"{v:.3g}"
    if "e" in s and abs(v) >= 1000:
        r = float(f"{v:.3g}")
        s = f"{r:+,.0f}" if signed else f"{r:,.0f}"
    return s


def fmt_interval(lo: Any, hi: Any) -> str:
    """``[lo, hi]`` with signs, or "n/a"."""
    if pd.isna(lo) or pd.isna(hi):
        return "n/a"
    return f"[{fmt(lo, True)}, {fmt(hi, True)}]"


def fmt_p(p: Any) -> str:
    """A p-value: two significant digits, "<0.001" below that."""
    if pd.isna(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.2g}"


def flag(v: Any) -> bool:
    """A boolean cell (Python, NumPy or pandas nullable; NA and NaN count as False)."""
    return False if pd.isna(v) else bool(v)


def direction_text(o: Outcome) -> str:
    return {"higher": "higher is better", "lower": "lower is better"}.get(
        o.direction, "information, no good direction"
    )


def ranges(values) -> str:
    """Sorted integers as compact ranges: ``0-4, 7, 9-10``."""
    v = sorted({int(x) for x in values})
    out: list[str] = []
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[j + 1] == v[j] + 1:
            j += 1
        out.append(str(v[i]) if i == j else f"{v[i]}-{v[j]}")
        i = j + 1
    return ", ".join(out) or "none"


def names(items) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def codes(items) -> str:
    return names([f"`{x}`" for x in items])


def runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def level(comparison: pd.DataFrame, default: float = 0.95) -> int:
    if len(comparison) and "confidence" in comparison:
        return round(100 * float(comparison["confidence"].iloc[0]))
    return round(100 * default)
