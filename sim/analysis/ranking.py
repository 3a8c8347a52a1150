"""Strategies ranked on a headline outcome's paired difference from the baseline.

Read by the printed summary (:mod:`sim.analysis.compare`), the report
(:mod:`sim.analysis.report`) and the decision summary (:mod:`sim.analysis.decision`).
"""

from __future__ import annotations

import math

import pandas as pd

from sim.headlines import DEFAULT as DEFAULT_HEADLINES
from sim.outcomes import outcome

#: The default headline outcome of each ranking (:mod:`sim.headlines`; an experiment
#: config may name others); :func:`rank` also accepts these keys.
HEADLINES: dict[str, str] = dict(DEFAULT_HEADLINES)
LOYALTY_HEADLINE = HEADLINES["loyalty"]
TRAFFIC_HEADLINE = HEADLINES["traffic"]

RANK_COLUMNS: tuple[str, ...] = (
    "rank",
    "strategy",
    "outcome",
    "direction",
    "mean",
    "diff",
    "ci_low",
    "ci_high",
    "n_pairs",
    "distinguishable",
    "better",
    "is_baseline",
)


def rank(
    comparison: pd.DataFrame, scenario: str, headline: str, baseline: str | None = None
) -> pd.DataFrame:
    """Strategies of one scenario ranked on a headline outcome's difference from the baseline.

    ``headline`` is an outcome name or ``"loyalty"``/``"traffic"``. The best
    difference in the outcome's good direction comes first (highest for
    "higher" and "info", lowest for "lower"); the baseline is a row with
    difference 0 (mean: its mean over the pairs); a strategy without a
    difference (no paired seed) comes last with rank NA. ``distinguishable``
    says whether the paired interval excludes zero.
    """
    name = HEADLINES.get(headline, headline)
    o = outcome(name)
    c = comparison[(comparison["scenario"] == scenario) & (comparison["outcome"] == name)]
    if baseline is None:
        names = c["baseline"].dropna().unique() if "baseline" in c.columns else []
        baseline = str(names[0]) if len(names) else "baseline"
    rows = [
        {
            "strategy": r.strategy,
            "mean": r.mean,
            "diff": r.diff,
            "ci_low": r.ci_low,
            "ci_high": r.ci_high,
            "n_pairs": int(r.n_pairs),
            "distinguishable": bool(r.distinguishable),
            "better": pd.NA if pd.isna(r.better) else bool(r.better),
            "is_baseline": False,
        }
        for r in c.itertuples(index=False)
    ]
    best = c.sort_values("n_pairs", ascending=False, kind="stable").head(1)
    rows.append(
        {
            "strategy": baseline,
            "mean": float(best["baseline_mean"].iloc[0]) if len(best) else math.nan,
            "diff": 0.0,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "n_pairs": int(best["n_pairs"].iloc[0]) if len(best) else 0,
            "distinguishable": False,
            "better": pd.NA,
            "is_baseline": True,
        }
    )
    r = pd.DataFrame(rows)
    sign = -1.0 if o.direction == "lower" else 1.0
    r["_key"] = sign * r["diff"].astype(float)
    r = r.sort_values(
        ["_key", "is_baseline", "strategy"],
        ascending=[False, True, True],
        kind="stable",
        na_position="last",
    ).drop(columns="_key")
    r["rank"] = pd.array(
        [i + 1 if math.isfinite(d) else pd.NA for i, d in enumerate(r["diff"].astype(float))],
        dtype="Int64",
    )
    r["outcome"] = name
    r["direction"] = o.direction
    r["better"] = r["better"].astype("boolean")
    return r[list(RANK_COLUMNS)].reset_index(drop=True)
