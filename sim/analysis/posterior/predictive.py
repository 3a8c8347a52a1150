"""The posterior predictive: parameter sets resampled by weight, each run on a fresh seed.

Draw i runs on seed ``PREDICTIVE_SEED + i`` through
:func:`sim.analysis.evaluator.evaluate` (records in ``<folder>/predictive/``,
so an interrupted predictive continues where it stopped); per fact the table
gives the band, the predictive mean, sd, 5% and 95% quantiles, the share of
draws inside the band and whether the mean is inside.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.evaluator import RunConfig, evaluate
from sim.analysis.posterior.observation import Band
from sim.analysis.posterior.simulator import Simulate

#: The first seed of the posterior predictive's runs (draw i runs seed PREDICTIVE_SEED + i).
PREDICTIVE_SEED = 100_000


def predictive_sample(post: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` rows resampled by weight from a posterior (``numpy.random.default_rng(seed)``)."""
    rng = np.random.default_rng([int(seed), 7])
    idx = rng.choice(len(post), size=int(n), replace=True, p=post["weight"].to_numpy())
    out = post.iloc[idx].drop(columns=["weight"]).reset_index(drop=True)
    out.insert(0, "particle", idx)
    out.insert(0, "draw", range(int(n)))
    return out


def predictive_configs(sample: pd.DataFrame, overrides: Sequence[str]) -> list[RunConfig]:
    """One evaluator config per predictive draw: the market's overrides, its values and seed."""
    keys = [c for c in sample.columns if c not in ("draw", "particle")]
    configs = []
    for r in sample.to_dict("records"):
        draw = int(r["draw"])
        values = {**{k: float(r[k]) for k in keys}, "seed": PREDICTIVE_SEED + draw}
        configs.append(
            RunConfig(
                key=f"draw-{draw:05d}",
                overrides=tuple(overrides),
                values=values,
                labels={"draw": draw, "particle": int(r["particle"])},
            )
        )
    return configs


def run_predictive(
    folder: Path,
    sample: pd.DataFrame,
    overrides: Sequence[str],
    facts: Sequence[str],
    jobs: int = 2,
    progress: bool = True,
    simulate: Simulate | None = None,
) -> pd.DataFrame:
    """Run the draws not yet stored in ``folder/predictive/``; one row per draw.

    Each row: the draw, its particle, its parameters, ``seed``, ``status`` and
    the facts (NaN for a failed run).
    """
    ev = evaluate(
        predictive_configs(sample, overrides),
        Path(folder) / "predictive",
        jobs=jobs,
        simulate=simulate,
        progress=progress,
        desc="posterior predictive",
        table=None,
    )
    table = ev.table.reset_index(drop=True)
    out = sample.reset_index(drop=True).copy()
    out["seed"] = PREDICTIVE_SEED + out["draw"].astype(int)
    out["status"] = table["status"].to_numpy()
    for f in facts:
        col = table[f] if f in table.columns else pd.Series(math.nan, index=table.index)
        out[f] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    return out


def predictive_fit(pred: pd.DataFrame, observed: Sequence[Band]) -> pd.DataFrame:
    """Per fact: band, predictive mean, sd, 5% and 95% quantiles, share of draws inside."""
    rows = []
    for b in observed:
        x = pred[b.fact].to_numpy(dtype=float)
        ok = x[np.isfinite(x)]
        mean = float(ok.mean()) if ok.size else math.nan
        rows.append(
            {
                "fact": b.fact,
                "target": b.value,
                "band_low": b.lo,
                "band_high": b.hi,
                "mean": mean,
                "sd": float(ok.std(ddof=1)) if ok.size > 1 else math.nan,
                "q5": float(np.quantile(ok, 0.05)) if ok.size else math.nan,
                "q95": float(np.quantile(ok, 0.95)) if ok.size else math.nan,
                "share_inside": float(((x >= b.lo) & (x <= b.hi)).mean()) if x.size else math.nan,
                "inside": bool(b.lo <= mean <= b.hi),
            }
        )
    return pd.DataFrame(rows)
