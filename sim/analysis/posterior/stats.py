"""Weighted summaries of a posterior sample: credible intervals and correlations."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.analysis.posterior.design import Prior


def weighted_correlation(post: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """The weighted Pearson correlations between the parameters of a weighted sample."""
    X = post[list(keys)].to_numpy(dtype=float)
    cov = np.cov(X, rowvar=False, aweights=post["weight"].to_numpy(dtype=float))
    sd = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(sd, sd)
    names = [k.split(".")[-1] for k in keys]
    return pd.DataFrame(corr, index=names, columns=names)


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """The weighted ``q``-quantile of ``x`` (pyabc's definition)."""
    from pyabc.weighted_statistics import weighted_quantile as wq

    return float(wq(np.asarray(x, float), np.asarray(w, float) / np.sum(w), alpha=q))


def credible_intervals(
    post: pd.DataFrame, priors: Sequence[Prior], level: float = 0.9
) -> pd.DataFrame:
    """Per parameter: prior range, weighted posterior mean, sd and central credible interval."""
    rows = []
    w = post["weight"].to_numpy(dtype=float)
    a = (1 - level) / 2
    for p in priors:
        x = post[p.key].to_numpy(dtype=float)
        mean = float(np.average(x, weights=w))
        sd = float(np.sqrt(np.average((x - mean) ** 2, weights=w)))
        if p.dist == "loguniform":
            prior_sd = float(np.std(np.exp(np.linspace(np.log(p.low), np.log(p.high), 2001))))
        else:
            prior_sd = (p.high - p.low) / math.sqrt(12)
        rows.append(
            {
                "parameter": p.key,
                "prior": f"{p.dist} [{p.low:g}, {p.high:g}]",
                "mean": mean,
                "sd": sd,
                f"q{a * 100:g}": weighted_quantile(x, w, a),
                f"q{(1 - a) * 100:g}": weighted_quantile(x, w, 1 - a),
                "sd_over_prior_sd": sd / prior_sd,
            }
        )
    return pd.DataFrame(rows)
