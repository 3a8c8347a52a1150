"""Comparisons under parameter uncertainty: strategies over posterior draws x seeds.

With ``experiment.posterior=<market>`` (:mod:`sim.experiment`) every strategy runs
on each of a few parameter sets drawn from the market's calibrated posterior
(``posterior_draws.csv`` in the experiment folder: draw, weight, the parameter
values) times every seed. Runs are paired within a (draw, seed): the strategy
and the baseline share the draw's market, its spun-up state and the seed's
random numbers, so their difference holds the strategy's effect in that market.

Per scenario, strategy and outcome, with draws ``d`` of weight ``w_d`` (sum 1)
and ``n_d`` paired differences ``x_dj`` (strategy minus baseline):

* ``m_d``: the draw's mean paired difference; ``diff = sum_d w_d m_d``;
* the **seed-only interval** treats the draws as known: the within-draw
  variance pooled over draws, ``s2 = sum_dj (x_dj - m_d)^2 / sum_d (n_d - 1)``,
  gives ``SE_seed^2 = s2 sum_d w_d^2 / n_d`` and ``diff +- t SE_seed`` with
  ``sum_d (n_d - 1)`` degrees of freedom (one draw: exactly today's paired
  Student-t interval);
* the **interval with parameter uncertainty** is where the strategy's effect
  lies for a market drawn from the posterior (a random-effects prediction
  interval, by the law of total variance): ``tau2``, the variance of the effect
  across the posterior, is the weighted between-draw variance of the ``m_d``
  less what seed noise alone puts there (``s2 (sum w_d/n_d - sum w_d^2/n_d)``,
  floored at 0), and the interval is ``diff +- t sqrt(tau2 (1 + sum w_d^2) +
  SE_seed^2)``, never narrower than the seed-only one;
* ``p_better``: the posterior weight of the draws whose mean paired difference
  is in the outcome's good direction (strictly; ``p_worse`` the other way; a
  tie counts for neither); NaN for information outcomes. A draw's mean carries
  its seeds' noise too, so with few seeds a small effect reads nearer 1/2.

Rankings (:func:`rank_flips`): per scenario and headline, the pooled ranking
(``diff``, the baseline at 0) against each draw's ranking (``m_d``): for every
pair of strategies the posterior weight of the draws that order them the other
way, and the weight of the draws whose ranking differs at all or whose leader
differs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.outcomes import BY_NAME, OUTCOMES

#: The experiment folder's record of the draws the runs used.
DRAWS_FILE = "posterior_draws.csv"
POSTERIOR_COLUMNS: tuple[str, ...] = (
    "scenario", "strategy", "baseline", "outcome", "headline", "unit", "direction",
    "n_draws", "n_pairs", "diff", "seed_ci_low", "seed_ci_high", "param_ci_low",
    "param_ci_high", "between_sd", "p_better", "p_worse", "draw_min", "draw_max", "confidence",
)  # fmt: skip
BY_DRAW_COLUMNS = ("scenario", "strategy", "outcome", "draw", "weight", "n_pairs", "diff")
PAIR_COLUMNS = (
    "scenario", "headline", "outcome", "above", "below", "pooled_gap", "flip_share",
)  # fmt: skip
RANKING_COLUMNS = (
    "scenario", "headline", "outcome", "pooled_order", "n_draws", "differs_share",
    "leader_changes_share", "flips",
)  # fmt: skip


# --------------------------------------------------------------------------- statistics


def draw_stats(
    diffs: Mapping[Any, np.ndarray], weights: Mapping[Any, float], confidence: float = 0.95
) -> dict[str, float]:
    """The weighted paired summary of one comparison over draws (module docstring).

    ``diffs``: draw -> its paired differences (NaN dropped here); ``weights``:
    draw -> posterior weight (renormalised over the draws that have a pair).
    Returns ``diff``, both intervals, ``between_sd`` (sqrt of ``tau2``),
    ``p_value`` (the seed-only t-test), ``n_draws``, ``n_pairs`` and ``df``.
    """
    xs, ws = [], []
    for d, x in diffs.items():
        x = np.asarray(x, dtype=float)
        x = x[np.isfinite(x)]
        if x.size:
            xs.append(x)
            ws.append(float(weights[d]))
    nan = math.nan
    out = {
        "diff": nan, "seed_ci_low": nan, "seed_ci_high": nan, "param_ci_low": nan,
        "param_ci_high": nan, "between_sd": nan, "p_value": nan,
        "n_draws": len(xs), "n_pairs": int(sum(x.size for x in xs)), "df": 0,
    }  # fmt: skip
    if not xs or sum(ws) <= 0:
        return out
    w = np.asarray(ws) / sum(ws)
    n = np.array([x.size for x in xs], dtype=float)
    m = np.array([x.mean() for x in xs])
    mu = float(w @ m)
    df = int((n - 1).sum())
    out.update(diff=mu, df=df)
    if df < 1:
        return out
    s2 = float(sum(((x - x.mean()) ** 2).sum() for x in xs)) / df
    se2 = s2 * float((w**2 / n).sum())
    between = float(w @ (m - mu) ** 2)
    tau2 = max(0.0, between - s2 * float((w / n).sum() - (w**2 / n).sum()))
    q = float(stats.t.ppf(0.5 + confidence / 2, df))
    h_seed = q * math.sqrt(se2)
    h_param = q * math.sqrt(tau2 * (1.0 + float((w**2).sum())) + se2)
    out.update(
        seed_ci_low=mu - h_seed, seed_ci_high=mu + h_seed,
        param_ci_low=mu - h_param, param_ci_high=mu + h_param, between_sd=math.sqrt(tau2),
    )  # fmt: skip
    if se2 == 0:
        out["p_value"] = 1.0 if mu == 0 else 0.0
    else:
        out["p_value"] = float(2 * stats.t.sf(abs(mu) / math.sqrt(se2), df))
    return out


def p_better(
    draw_means: Mapping[Any, float], weights: Mapping[Any, float], direction: str
) -> tuple[float, float]:
    """Posterior weight of the draws whose mean difference is better (and worse) than 0."""
    if direction not in ("higher", "lower"):
        return math.nan, math.nan
    keep = {d: v for d, v in draw_means.items() if math.isfinite(v)}
    total = sum(weights[d] for d in keep)
    if total <= 0:
        return math.nan, math.nan
    sign = 1.0 if direction == "higher" else -1.0
    better = sum(weights[d] for d, v in keep.items() if sign * v > 0) / total
    worse = sum(weights[d] for d, v in keep.items() if sign * v < 0) / total
    return better, worse


def _welch_pooled(
    a: Mapping[Any, np.ndarray], b: Mapping[Any, np.ndarray], w: Mapping[Any, float], q: float
) -> float:
    """Half-width of the unpaired interval pooled within draws (pairing ignored)."""
    keys = [d for d in a if a[d].size]
    df = sum(a[d].size - 1 for d in keys)
    if df < 1:
        return math.nan
    va = sum(((a[d] - a[d].mean()) ** 2).sum() for d in keys) / df
    vb = sum(((b[d] - b[d].mean()) ** 2).sum() for d in keys) / df
    tot = sum(w[d] for d in keys)
    se2 = sum((w[d] / tot) ** 2 * (va + vb) / a[d].size for d in keys)
    return q * math.sqrt(se2)


# --------------------------------------------------------------------------- tables


def _pairs(sc: pd.DataFrame, baseline: str):
    """Per strategy: the baseline and the strategy indexed by (draw, seed), and the pairs."""
    base = sc[sc["strategy"] == baseline].set_index(["draw", "seed"])
    for strategy, st in sc[sc["strategy"] != baseline].groupby("strategy", sort=True):
        st = st.set_index(["draw", "seed"])
        keys = st.index.intersection(base.index).sort_values()
        yield strategy, st, base, keys


def by_draw(table: pd.DataFrame, weights: Mapping[int, float], baseline: str) -> pd.DataFrame:
    """Per scenario, strategy, outcome and draw: the draw's mean paired difference."""
    rows = []
    outcomes = [o for o in OUTCOMES if o.name in table.columns]
    for scenario, sc in table.groupby("scenario", sort=True):
        for strategy, st, base, keys in _pairs(sc, baseline):
            draws = keys.get_level_values("draw")
            for o in outcomes:
                d = st.loc[keys, o.name].to_numpy(float) - base.loc[keys, o.name].to_numpy(float)
                for draw in sorted(set(draws)):
                    x = d[(draws == draw) & np.isfinite(d)]
                    rows.append(
                        {
                            "scenario": scenario, "strategy": strategy, "outcome": o.name,
                            "draw": int(draw), "weight": float(weights[draw]),
                            "n_pairs": int(x.size), "diff": float(x.mean()) if x.size else math.nan,
                        }
                    )  # fmt: skip
    return pd.DataFrame(rows, columns=list(BY_DRAW_COLUMNS))


def compare_draws(
    table: pd.DataFrame,
    weights: Mapping[int, float],
    baseline: str = "baseline",
    confidence: float = 0.95,
    headlines: Mapping[str, str] | None = None,
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """The comparison rows (``comparison.csv``'s, seed-only) and the posterior table.

    ``table`` has a ``draw`` column; pairs are (draw, seed). The comparison rows
    are :func:`sim.analysis.compare.compare`'s with ``diff`` the weighted mean over
    draws and ``ci_*`` the seed-only interval; the posterior table adds the
    interval with parameter uncertainty and ``p_better`` (``POSTERIOR_COLUMNS``).
    """
    heads = {v: k for k, v in (headlines or {}).items()}
    q_level = 0.5 + confidence / 2
    rows: list[dict[str, Any]] = []
    post: list[dict[str, Any]] = []
    outcomes = [o for o in OUTCOMES if o.name in table.columns]
    for scenario, sc in table.groupby("scenario", sort=True):
        for strategy, st, base, keys in _pairs(sc, baseline):
            n_unpaired = len(st.index.symmetric_difference(base.index))
            draws = keys.get_level_values("draw").to_numpy()
            for o in outcomes:
                a = st.loc[keys, o.name].to_numpy(float)
                b = base.loc[keys, o.name].to_numpy(float)
                ok = np.isfinite(a) & np.isfinite(b)
                ds = sorted(set(draws[ok]))
                diffs = {d: (a - b)[ok & (draws == d)] for d in ds}
                s = draw_stats(diffs, weights, confidence)
                lo, hi = s["seed_ci_low"], s["seed_ci_high"]
                dist = bool(math.isfinite(lo) and math.isfinite(hi) and (lo > 0 or hi < 0))
                better: Any = (
                    pd.NA
                    if o.direction == "info"
                    else dist and ((s["diff"] > 0) == (o.direction == "higher"))
                )
                tot = sum(weights[d] for d in ds) or math.nan
                mean = sum(weights[d] * a[ok & (draws == d)].mean() for d in ds) / tot
                base_mean = sum(weights[d] * b[ok & (draws == d)].mean() for d in ds) / tot
                h = math.nan
                if s["df"] >= 1:
                    q = float(stats.t.ppf(q_level, s["df"]))
                    aa = {d: a[ok & (draws == d)] for d in ds}
                    bb = {d: b[ok & (draws == d)] for d in ds}
                    h = _welch_pooled(aa, bb, weights, q)
                rows.append(
                    {
                        "scenario": scenario, "strategy": strategy, "baseline": baseline,
                        "outcome": o.name, "group": o.group, "unit": o.unit,
                        "direction": o.direction, "n_pairs": s["n_pairs"],
                        "n_missing": int((~ok).sum()), "n_unpaired": n_unpaired,
                        "mean": mean if ds else math.nan,
                        "baseline_mean": base_mean if ds else math.nan,
                        "diff": s["diff"], "ci_low": lo, "ci_high": hi,
                        "unpaired_ci_low": s["diff"] - h, "unpaired_ci_high": s["diff"] + h,
                        "p_value": s["p_value"], "distinguishable": dist, "better": better,
                        "confidence": confidence,
                    }
                )  # fmt: skip
                means = {d: float(x.mean()) for d, x in diffs.items()}
                pb, pw = p_better(means, weights, o.direction)
                post.append(
                    {
                        "scenario": scenario, "strategy": strategy, "baseline": baseline,
                        "outcome": o.name, "headline": heads.get(o.name, ""), "unit": o.unit,
                        "direction": o.direction, "n_draws": s["n_draws"],
                        "n_pairs": s["n_pairs"], "diff": s["diff"],
                        "seed_ci_low": lo, "seed_ci_high": hi,
                        "param_ci_low": s["param_ci_low"], "param_ci_high": s["param_ci_high"],
                        "between_sd": s["between_sd"], "p_better": pb, "p_worse": pw,
                        "draw_min": min(means.values(), default=math.nan),
                        "draw_max": max(means.values(), default=math.nan),
                        "confidence": confidence,
                    }
                )  # fmt: skip
    return rows, pd.DataFrame(post, columns=list(POSTERIOR_COLUMNS))


def _order_text(order: list[str], value: Mapping[str, float]) -> str:
    """``a > b = c``: a ranking, ties shown as such."""
    out = order[0] if order else ""
    for a, b in pairwise(order):
        out += (" = " if value[a] == value[b] else " > ") + b
    return out


def rank_flips(
    posterior: pd.DataFrame,
    draws: pd.DataFrame,
    headlines: Mapping[str, str],
    baseline: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairs of strategies whose order flips across the posterior, and a summary per headline.

    ``posterior``: :func:`compare_draws`'s table; ``draws``: :func:`by_draw`'s. The
    baseline ranks at difference 0 in the pooled ranking and in every draw.
    """
    pairs, summary = [], []
    for scenario in sorted(posterior["scenario"].unique()):
        for key, name in headlines.items():
            sign = -1.0 if BY_NAME[name].direction == "lower" else 1.0
            p = posterior[(posterior["scenario"] == scenario) & (posterior["outcome"] == name)]
            pooled = {baseline: 0.0, **dict(zip(p["strategy"], sign * p["diff"], strict=True))}
            pooled = {s: v for s, v in pooled.items() if math.isfinite(v)}
            order = sorted(pooled, key=lambda s: (-pooled[s], s))
            g = draws[(draws["scenario"] == scenario) & (draws["outcome"] == name)]
            per = {d: dict(zip(x["strategy"], sign * x["diff"], strict=True))
                   for d, x in g.groupby("draw")}  # fmt: skip
            wts = dict(zip(g["draw"], g["weight"], strict=False))
            flipped: dict[Any, set] = {d: set() for d in per}
            leader_changed: dict[Any, bool] = {}
            for d, vals in per.items():
                vals = {**vals, baseline: 0.0}
                ok = [s for s in order if math.isfinite(vals.get(s, math.nan))]
                if ok:
                    best = max(ok, key=lambda s: (vals[s], -order.index(s)))
                    leader_changed[d] = best != ok[0]
            for hi, lo in combinations(order, 2):
                num = den = 0.0
                for d, vals in per.items():
                    vals = {**vals, baseline: 0.0}
                    a, b = vals.get(hi, math.nan), vals.get(lo, math.nan)
                    if not (math.isfinite(a) and math.isfinite(b)):
                        continue
                    den += wts[d]
                    if a < b:
                        num += wts[d]
                        flipped[d].add((hi, lo))
                pairs.append(
                    {
                        "scenario": scenario, "headline": key, "outcome": name, "above": hi,
                        "below": lo, "pooled_gap": pooled[hi] - pooled[lo],
                        "flip_share": num / den if den else math.nan,
                    }
                )  # fmt: skip
            tot = sum(wts[d] for d in per) or math.nan
            summary.append(
                {
                    "scenario": scenario, "headline": key, "outcome": name,
                    "pooled_order": _order_text(order, pooled), "n_draws": len(per),
                    "differs_share": sum(wts[d] for d in per if flipped[d]) / tot,
                    "leader_changes_share": sum(wts[d] for d, c in leader_changed.items() if c)
                    / tot,
                    "flips": "; ".join(
                        f"{r['above']}/{r['below']} in {r['flip_share']:.0%}"
                        for r in pairs
                        if r["scenario"] == scenario and r["headline"] == key
                        and r["flip_share"] > 0
                    ),
                }
            )  # fmt: skip
    return (
        pd.DataFrame(pairs, columns=list(PAIR_COLUMNS)),
        pd.DataFrame(summary, columns=list(RANKING_COLUMNS)),
    )


# --------------------------------------------------------------------------- the folder


def read_draws(exp_dir: Path | str) -> pd.DataFrame | None:
    """The experiment folder's ``posterior_draws.csv`` (draw, weight, ...), or None."""
    path = Path(exp_dir) / DRAWS_FILE
    if not path.is_file():
        return None
    df = pd.read_csv(path, comment="#")
    if not {"draw", "weight"} <= set(df.columns) or df.empty:
        raise ValueError(f"{path}: columns draw and weight are required; got {list(df.columns)}")
    w = df["weight"].to_numpy(float)
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"{path}: weights must be finite, non-negative, with a positive sum")
    df["weight"] = w / w.sum()
    return df


def business_draws(
    exp_dir: Path,
    table: pd.DataFrame,
    weights: Mapping[int, float],
    baseline: str,
    confidence: float,
) -> pd.DataFrame:
    """The business case over draws: :mod:`sim.analysis.business` per draw, combined by weight.

    The incremental profit and NPV and the extra spend (differences of run outcomes)
    get the weighted difference and the seed-only interval pooled within draws; the
    payback week and the ratios are the weighted means of the draws' own values
    (NaN when a draw has none), without an interval across draws.
    """
    from sim.analysis.business import COLUMNS, business_case

    per = []
    for d, sub in table.groupby("draw", sort=True):
        b = business_case(exp_dir, sub.drop(columns="draw"), baseline, confidence)
        per.append(b.assign(draw=int(d)))
    if not per:
        return pd.DataFrame(columns=list(COLUMNS))
    allb = pd.concat(per, ignore_index=True)
    additive = {"incremental_profit": "profit_horizon", "incremental_npv": "npv",
                "extra_spend": "strategy_spend"}  # fmt: skip
    pairs = {
        (sc, st): (stt, base, keys)
        for sc, g in table.groupby("scenario", sort=True)
        for st, stt, base, keys in _pairs(g, baseline)
    }
    rows = []
    for (sc, st, measure), g in allb.groupby(["scenario", "strategy", "measure"], sort=False):
        unit = str(g["unit"].iloc[0])
        n = int(g["n_pairs"].sum())
        if measure in additive and (sc, st) in pairs:
            stt, base, keys = pairs[(sc, st)]
            col = additive[measure]
            dr = keys.get_level_values("draw").to_numpy()
            x = stt.loc[keys, col].to_numpy(float) - base.loc[keys, col].to_numpy(float)
            s = draw_stats({d: x[dr == d] for d in sorted(set(dr))}, weights, confidence)
            value, lo, hi = s["diff"], s["seed_ci_low"], s["seed_ci_high"]
            note = f"over {s['n_draws']} posterior draws; interval: seeds only"
        else:
            v = g["value"].to_numpy(float)
            w = np.array([weights[d] for d in g["draw"]], dtype=float)
            value = float(w @ v / w.sum()) if np.isfinite(v).all() else math.nan
            lo = hi = math.nan
            note = f"weighted mean of {len(g)} posterior draws' values; no interval across draws"
        rows.append(
            {"scenario": sc, "strategy": st, "baseline": baseline, "n_pairs": n,
             "measure": measure, "unit": unit, "value": value, "ci_low": lo, "ci_high": hi,
             "note": note}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS))


# --------------------------------------------------------------------------- all of it


@dataclass
class PosteriorTables:
    """The posterior experiment's tables (each written to the experiment folder)."""

    draws: pd.DataFrame  #: posterior_draws.csv: draw, weight, count, row, parameters
    summary: pd.DataFrame  #: posterior.csv: POSTERIOR_COLUMNS
    by_draw: pd.DataFrame  #: posterior_by_draw.csv: BY_DRAW_COLUMNS
    pairs: pd.DataFrame  #: posterior_pairs.csv: PAIR_COLUMNS
    rankings: pd.DataFrame  #: posterior_rankings.csv: RANKING_COLUMNS

    def files(self) -> dict[str, pd.DataFrame]:
        """The tables the aggregation writes, by file name."""
        return {
            "posterior.csv": self.summary,
            "posterior_by_draw.csv": self.by_draw,
            "posterior_pairs.csv": self.pairs,
            "posterior_rankings.csv": self.rankings,
        }


def weights_of(draws: pd.DataFrame, table: pd.DataFrame) -> dict[int, float]:
    """draw -> weight, checking that every run's draw is one of the recorded draws."""
    weights = {int(d): float(w) for d, w in zip(draws["draw"], draws["weight"], strict=True)}
    unknown = sorted(set(table["draw"]) - set(weights)) if "draw" in table else []
    if unknown:
        raise ValueError(
            f"runs of draw(s) {', '.join(map(str, unknown))} are not in {DRAWS_FILE} "
            f"(draws {', '.join(map(str, sorted(weights)))}): the runs and the record disagree"
        )
    return weights


def analyse(
    table: pd.DataFrame,
    draws: pd.DataFrame,
    baseline: str,
    confidence: float,
    headlines: Mapping[str, str],
) -> PosteriorTables:
    """Every posterior table of an experiment table with a ``draw`` column."""
    weights = weights_of(draws, table)
    _, summary = compare_draws(table, weights, baseline, confidence, headlines)
    per = by_draw(table, weights, baseline)
    pairs, rankings = rank_flips(summary, per, headlines, baseline)
    return PosteriorTables(draws, summary, per, pairs, rankings)


# --------------------------------------------------------------------------- the report

#: The report's list of files, for a posterior experiment.
FILE_ITEMS = (
    f"`{DRAWS_FILE}`: the posterior draws the runs used (draw, weight, how often it was "
    "drawn, its row in the posterior file, its parameter values).",
    "`posterior.csv`: per scenario, strategy and outcome: draws, pairs, the weighted "
    "difference, the seed-only interval, the interval with parameter uncertainty, the "
    "between-draw standard deviation of the effect, P(better) and P(worse) across the "
    "posterior, the smallest and largest draw's difference.",
    "`posterior_by_draw.csv`: each draw's mean paired difference per strategy and outcome.",
    "`posterior_pairs.csv`: per headline, each pair of strategies (baseline included) and "
    "the posterior weight of the draws that order them against the pooled ranking.",
    "`posterior_rankings.csv`: per headline, the pooled ranking, the weight of the draws "
    "whose ranking differs and of those whose leader differs, and the pairs that flip.",
)


def draws_item(draws: pd.DataFrame) -> str:
    """The report's line on the draws (under *What was run*)."""
    counts = ", ".join(f"d{int(d)}: {int(c)}" for d, c in zip(draws["draw"], draws["count"],
                                                          strict=True))  # fmt: skip
    return (
        f"Posterior draws: {int(draws['count'].sum())} resampled by weight, "
        f"{len(draws)} distinct parameter sets (times drawn: {counts}); every strategy ran "
        "on each set x each seed."
    )


def _ranking_sentence(r: pd.Series) -> str:
    head = f"{r['headline']} (`{r['outcome']}`)"
    if r["n_draws"] < 2:
        return (
            f"On {head} only one distinct parameter set was drawn: the posterior's weight sits "
            "on it, so this experiment measures no parameter uncertainty (draw more sets, or "
            "rerun the calibration for a broader sample)."
        )
    if r["differs_share"] > 0:
        return (
            f"**The ranking on {head} flips across the posterior**: in "
            f"{r['differs_share']:.0%} of the posterior weight the draws order the strategies "
            f"differently from the pooled ranking ({r['pooled_order']}), and the leader changes "
            f"in {r['leader_changes_share']:.0%}. Pairs that swap (share of the posterior "
            f"weight): {r['flips']}."
        )
    return f"The ranking on {head} is the same in every posterior draw: {r['pooled_order']}."


def posterior_blocks(
    post: PosteriorTables,
    baseline: str,
    headlines: Mapping[str, str],
    level: int,
    plots: list,
) -> list:
    """The report's section *Under parameter uncertainty*."""
    from sim.analysis import formatting as fm
    from sim.analysis import render as doc

    out = [doc.h(2, "Under parameter uncertainty")]
    out.append(
        doc.p(
            "The market's behavioural parameters are not known exactly: the calibration gives "
            "a posterior sample of parameter sets that reproduce the stylized facts. Every "
            "strategy and the baseline ran on each posterior draw and each seed, paired "
            "within the (draw, seed): same market, same spun-up state, same random numbers. "
            "The **difference** is the posterior-weighted mean over draws of each draw's mean "
            f"paired difference. The **seed-only** {level}% interval treats the parameters as "
            "known (seed noise pooled within draws; with one draw it is the usual paired "
            f"interval). The {level}% interval **with parameter uncertainty** is where the "
            "strategy's effect lies for a market drawn from the posterior: it adds the "
            "spread of the effect between draws (less what seed noise alone explains) to the "
            "seed noise, so it is never narrower. **P(better)** is the posterior weight of the "
            "draws whose mean paired difference is in the outcome's good direction (a draw's "
            "mean still carries its seeds' noise). Definitions: "
            "`sim/analysis/uncertainty.py`."
        )
    )
    s = post.summary
    note = (
        " A draw's ranking carries its seeds' noise as well as the parameters' effect: a pair "
        "whose pooled difference is within noise can swap by chance."
    )
    for sc in sorted(s["scenario"].unique()):
        out.append(doc.h(3, f"Scenario {sc}"))
        for key, name in headlines.items():
            g = s[(s["scenario"] == sc) & (s["outcome"] == name)]
            if g.empty:
                continue
            sign = -1.0 if BY_NAME[name].direction == "lower" else 1.0
            g = g.assign(_k=-sign * g["diff"]).sort_values(["_k", "strategy"], na_position="last")
            out.append(doc.h(4, f"{key.capitalize()}: {name} ({BY_NAME[name].unit})"))
            out.append(
                doc.t(
                    pd.DataFrame(
                        {
                            "strategy": g["strategy"],
                            "difference": g["diff"].map(lambda v: fm.fmt(v, True)),
                            f"seed-only {level}%": [
                                fm.fmt_interval(a, b)
                                for a, b in zip(g["seed_ci_low"], g["seed_ci_high"], strict=True)
                            ],
                            f"{level}% with parameter uncertainty": [
                                fm.fmt_interval(a, b)
                                for a, b in zip(g["param_ci_low"], g["param_ci_high"], strict=True)
                            ],
                            "P(better than baseline)": g["p_better"].map(
                                lambda p: "n/a" if pd.isna(p) else f"{p:.0%}"
                            ),
                            "draws: lowest to highest": [
                                f"{fm.fmt(a, True)} to {fm.fmt(b, True)}"
                                for a, b in zip(g["draw_min"], g["draw_max"], strict=True)
                            ],
                            "draws, pairs": [
                                f"{a}, {b}" for a, b in zip(g["n_draws"], g["n_pairs"], strict=True)
                            ],
                        }
                    )
                )
            )
        rk = post.rankings[post.rankings["scenario"] == sc]
        out.append(doc.ul([_ranking_sentence(r) for _, r in rk.iterrows()]))
        if ((rk["differs_share"] > 0) & (rk["n_draws"] > 1)).any():
            out.append(doc.p(note.strip()))
        for p in plots:
            if p.scenario == sc and Path(p.relpath).name.startswith("posterior_"):
                out.append(doc.Block("img", p.title, plot=p))
    return out
