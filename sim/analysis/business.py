"""The business case of each strategy against the baseline, paired by seed.

Every figure is at the bank's real size (``market.customers_represented``) and
paired within a seed (strategy minus baseline on the same seed, same scenario):

* ``incremental_profit``: the difference of ``profit_horizon`` (profit summed over
  the run, the week-0 investment included), million RMB;
* ``incremental_npv``: the difference of ``npv`` (weekly profit discounted at
  ``market.discount_rate``), million RMB;
* ``extra_spend``: the difference of ``strategy_spend`` (acquisition, retention,
  lever running costs and investment), million RMB;
* ``payback_week``: the first week from which the cumulative paired difference of
  weekly profit stays at or above zero to the end of the run; a seed whose
  cumulative difference ends below zero has not paid back within the horizon
  (counted in ``paid_back``);
* ``cost_per_extra_retained``, ``cost_per_extra_active``: extra spend per extra
  customer retained (``retained_customers``) or active at the end
  (``active_customers``), RMB per customer; a ratio of mean paired differences,
  reported only where the extra customers are distinguishable from zero;
* ``return_on_spend``: incremental profit over extra spend (RMB of profit per RMB
  spent over the horizon); undefined where the extra spend is not positive.

Intervals: Student-t over the seeds' paired differences for the differences and
the payback week (when every seed paid back); a paired bootstrap over seeds
(SciPy's BCa where it applies, else percentile) for the ratios. With few seeds
the ratio intervals are wide: read them with the seeds-paired count.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.runfolder import IncompleteRunError, read_summary

COLUMNS = (
    "scenario",
    "strategy",
    "baseline",
    "n_pairs",
    "measure",
    "unit",
    "value",
    "ci_low",
    "ci_high",
    "note",
)
MEASURES = {
    "incremental_profit": "million RMB over the horizon",
    "incremental_npv": "million RMB (net present value)",
    "extra_spend": "million RMB over the horizon",
    "payback_week": "week of the run",
    "cost_per_extra_retained": "RMB per extra customer retained",
    "cost_per_extra_active": "RMB per extra active customer",
    "return_on_spend": "RMB of profit per RMB of extra spend",
}


def _t_interval(d: np.ndarray, confidence: float) -> tuple[float, float, float]:
    d = d[np.isfinite(d)]
    if d.size == 0:
        return math.nan, math.nan, math.nan
    m = float(d.mean())
    if d.size < 2 or np.all(d == d[0]):
        return m, (m if d.size >= 2 else math.nan), (m if d.size >= 2 else math.nan)
    h = float(stats.t.ppf(0.5 + confidence / 2, d.size - 1)) * float(d.std(ddof=1))
    h /= math.sqrt(d.size)
    return m, m - h, m + h


def _ratio_interval(num: np.ndarray, den: np.ndarray, confidence: float, seed: int = 0):
    """Ratio of means of paired differences, with a paired bootstrap interval over seeds."""
    value = float(num.mean() / den.mean()) if den.mean() != 0 else math.nan
    if num.size < 3 or not math.isfinite(value):
        return value, math.nan, math.nan
    rng = np.random.default_rng(seed)

    def ratio(n, d, axis=-1):
        return np.mean(n, axis=axis) / np.mean(d, axis=axis)

    try:
        res = stats.bootstrap(
            (num, den),
            ratio,
            paired=True,
            vectorized=True,
            confidence_level=confidence,
            n_resamples=2000,
            method="percentile",
            random_state=rng,
        )
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    except (ValueError, ZeroDivisionError):
        lo, hi = math.nan, math.nan
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return value, math.nan, math.nan
    return value, lo, hi


def payback_week(weekly_diff: np.ndarray) -> float:
    """The first week from which the cumulative difference stays >= 0; NaN if it ends < 0."""
    cum = np.cumsum(weekly_diff)
    if cum.size == 0 or cum[-1] < 0:
        return math.nan
    below = np.flatnonzero(cum < 0)
    return float(below[-1] + 1) if below.size else 0.0


def weekly_profit(exp_dir: Path, run: str) -> np.ndarray | None:
    """A run's weekly focal profit (million RMB at real scale) from its summary.json."""
    try:
        summary = read_summary(Path(exp_dir) / "runs" / run)
    except IncompleteRunError:  # an unreadable run is reported by the comparison already
        return None
    w = summary.get("money", {}).get("weekly_profit")
    return None if w is None else np.asarray(w, dtype=float)


def business_case(
    exp_dir: Path | str,
    table: pd.DataFrame,
    baseline: str = "baseline",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per (scenario, strategy, measure): the paired business case."""
    rows: list[dict[str, Any]] = []
    need = {"profit_horizon", "npv", "strategy_spend", "retained_customers", "active_customers"}
    if not len(table) or not need <= set(table.columns):
        return pd.DataFrame(columns=list(COLUMNS))
    for scenario, sc in table.groupby("scenario", sort=True):
        base = sc[sc["strategy"] == baseline].set_index("seed")
        for strategy, st in sc[sc["strategy"] != baseline].groupby("strategy", sort=True):
            st = st.set_index("seed")
            seeds = st.index.intersection(base.index).sort_values()

            def diff(col, st=st, base=base, seeds=seeds):
                return st.loc[seeds, col].to_numpy(float) - base.loc[seeds, col].to_numpy(float)

            n_pairs = len(seeds)

            def add(measure, value, lo, hi, note="", sc=scenario, st_name=strategy, n=n_pairs):
                rows.append(
                    {
                        "scenario": sc,
                        "strategy": st_name,
                        "baseline": baseline,
                        "n_pairs": n,
                        "measure": measure,
                        "unit": MEASURES[measure],
                        "value": value,
                        "ci_low": lo,
                        "ci_high": hi,
                        "note": note,
                    }
                )

            d_profit, d_npv, d_spend = diff("profit_horizon"), diff("npv"), diff("strategy_spend")
            add("incremental_profit", *_t_interval(d_profit, confidence))
            add("incremental_npv", *_t_interval(d_npv, confidence))
            add("extra_spend", *_t_interval(d_spend, confidence))

            paybacks = []
            for seed in seeds:
                a = weekly_profit(exp_dir, str(st.loc[seed, "run"])) if "run" in st else None
                b = weekly_profit(exp_dir, str(base.loc[seed, "run"])) if "run" in base else None
                if a is not None and b is not None and a.size == b.size:
                    paybacks.append(payback_week(a - b))
            pb = np.array(paybacks, dtype=float)
            paid = int(np.isfinite(pb).sum())
            note = f"{paid} of {pb.size} seeds paid back within the run"
            if pb.size and paid == pb.size:
                add("payback_week", *_t_interval(pb, confidence), note)
            else:
                med = float(np.nanmedian(pb)) if paid else math.nan
                add("payback_week", med, math.nan, math.nan, note)

            for measure, col in (
                ("cost_per_extra_retained", "retained_customers"),
                ("cost_per_extra_active", "active_customers"),
            ):
                d_cust = diff(col)  # thousand customers
                _, lo, hi = _t_interval(d_cust, confidence)
                if not (math.isfinite(lo) and (lo > 0 or hi < 0)) or d_cust.mean() <= 0:
                    add(measure, math.nan, math.nan, math.nan,
                        f"no distinguishable gain in {col}")  # fmt: skip
                    continue
                # million RMB / thousand customers = 1000 RMB per customer
                v, lo, hi = _ratio_interval(1e3 * d_spend, d_cust, confidence)
                add(measure, v, lo, hi)

            if d_spend.size and d_spend.mean() > 0:
                add("return_on_spend", *_ratio_interval(d_profit, d_spend, confidence))
            else:
                add("return_on_spend", math.nan, math.nan, math.nan,
                    "the strategy spends no more than the baseline")  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS))
