"""The outputs of a finished ABC run: tables, plots, the posterior predictive, the summary.

Written into the run's folder: ``generations.csv``, ``posterior.csv`` (+
``.json``), ``intervals.csv``, ``correlation.csv``, ``posterior_marginals.png``,
``posterior_pairs.png``, ``posterior_correlation.png``, ``generations.png``,
the predictive (``predictive/``, ``predictive.csv``, ``predictive_fit.csv`` /
``.md``, ``posterior_predictive.png``) and ``summary.md`` last: a folder
without it is unfinished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from sim.analysis.evaluator import compose_plain, get_key, markdown_table
from sim.analysis.posterior.design import Design, Prior
from sim.analysis.posterior.files import provenance_lines, write_posterior
from sim.analysis.posterior.observation import Band, band_distance
from sim.analysis.posterior.plots import (
    plot_correlation,
    plot_generations,
    plot_marginals,
    plot_pairs,
    plot_predictive,
)
from sim.analysis.posterior.predictive import predictive_fit, predictive_sample, run_predictive
from sim.analysis.posterior.simulator import Simulate
from sim.analysis.posterior.smc import (
    accepted_facts,
    generations_table,
    posterior_frame,
    sample_generations,
)
from sim.analysis.posterior.stats import credible_intervals, weighted_correlation

#: Below this many effective particles the run warns whatever the share (see ess_warning).
ESS_MIN = 30


def effective_sample_size(w) -> float:
    """Kish's effective sample size of weights: ``(sum w)^2 / sum w^2``."""
    w = np.asarray(w, dtype=float)
    return float(w.sum() ** 2 / (w**2).sum())


def ess_warning(ess: float, n: int, share: float) -> str:
    """Why an ESS is too low (below ``share`` x ``n`` or below :data:`ESS_MIN`), or ``""``."""
    why = []
    if ess < share * n:
        why.append(f"{share:.0%} of the {n} particles")
    if ess < ESS_MIN:
        why.append(f"{ESS_MIN}")
    return " and ".join(why)


def reference_values(priors: Sequence[Prior], market: str) -> dict[str, float]:
    """The priors' keys' values in the market file as shipped (the point calibration)."""
    cfg = compose_plain([f"market={market}"])
    return {p.key: float(get_key(cfg, p.key)) for p in priors}


def finish(
    folder: Path,
    design: Design,
    history,
    observed: Sequence[Band],
    overrides: Sequence[str],
    meta: dict,
    jobs: int,
    progress: bool,
    simulate: Simulate | None = None,
    reference: Mapping[str, float] | None = None,
) -> dict:
    """Write the tables, plots and the posterior predictive of a finished ABC run."""
    from sim.atomic import atomic_write

    gens = generations_table(history)
    atomic_write(folder / "generations.csv", gens.to_csv(index=False, float_format="%.6g"))
    post = posterior_frame(history, design.priors, design.min_epsilon)
    last = gens[gens["generation"] >= 0].iloc[-1]
    pooled = sample_generations(history, design.min_epsilon)
    ess = effective_sample_size(post["weight"])
    meta = {
        **meta,
        "generations_run": int(last["generation"]) + 1,
        "final_epsilon": float(last["epsilon"]),
        "acceptance_rate": float(last["acceptance_rate"]),
        "simulations": int(gens["simulations"].sum()),
        "generations_pooled": pooled,
        "particles_final": len(post),
        "ess": ess,
        "ess_share": ess / len(post),
        "ess_low": ess_warning(ess, len(post), design.ess_warn),
        "priors": {p.key: p.to_dict() for p in design.priors},
    }
    write_posterior(post, folder / "posterior.csv", meta)
    ci = credible_intervals(post, design.priors)
    atomic_write(folder / "intervals.csv", ci.to_csv(index=False, float_format="%.6g"))
    corr = weighted_correlation(post, [p.key for p in design.priors])
    atomic_write(folder / "correlation.csv", corr.to_csv(float_format="%.4f"))
    own = accepted_facts(history, design.min_epsilon)
    own_inside = float(
        np.average(
            [band_distance(r, observed) <= 1.0 for r in own.to_dict("records")],
            weights=own["weight"],
        )
    )
    plot_generations(gens, folder / "generations.png", design.min_epsilon)
    plot_marginals(post, design.priors, folder / "posterior_marginals.png", reference)
    if len(design.priors) > 1:
        plot_pairs(post, design.priors, folder / "posterior_pairs.png")
        plot_correlation(corr, folder / "posterior_correlation.png")
    fit = None
    if design.predictive_draws:
        sample = predictive_sample(post, design.predictive_draws, design.seed)
        pred = run_predictive(
            folder, sample, overrides, [b.fact for b in observed], jobs, progress, simulate
        )
        atomic_write(folder / "predictive.csv", pred.to_csv(index=False, float_format="%.8g"))
        fit = predictive_fit(pred, observed)
        atomic_write(folder / "predictive_fit.csv", fit.to_csv(index=False, float_format="%.6g"))
        atomic_write(folder / "predictive_fit.md", markdown_table(fit))
        plot_predictive(pred, fit, observed, folder / "posterior_predictive.png")
        meta["predictive"] = {
            "draws": int(design.predictive_draws),
            "facts_inside": int(fit["inside"].sum()),
            "facts": len(fit),
            "draws_all_inside": float(
                np.mean([band_distance(r, observed) <= 1 for r in pred.to_dict("records")])
            ),
        }
        write_posterior(post, folder / "posterior.csv", meta)
    md = [
        f"# Posterior: {design.name} (market `{design.market}`)\n\n",
        "\n".join(f"* {line}" for line in provenance_lines(meta)) + "\n\n",
        f"Accepted particles whose own run has every fact inside its band (weighted): "
        f"{own_inside:.0%}.\n\n",
        f"Effective sample size: {meta['ess']:.1f} of {len(post)} particles "
        f"({meta['ess_share']:.0%}); "
        + (
            f"generations pooled at epsilon {design.min_epsilon:g}: {pooled}.\n\n"
            if meta["final_epsilon"] <= design.min_epsilon
            else f"generation {pooled[0]} alone.\n\n**Warning: the threshold stopped at "
            f"{meta['final_epsilon']:.3g}, above {design.min_epsilon:g}: this is an "
            "intermediate generation, not the posterior of the facts' bands.**\n\n"
        ),
        (
            f"**Warning: the effective sample size is below {meta['ess_low']}; the credible "
            "intervals below are unreliable.**\n\n"
            if meta["ess_low"]
            else ""
        ),
        "## Generations\n\n",
        markdown_table(gens.drop(columns=["end_time"])),
        "\n## Parameters (90% central credible intervals)\n\n",
        markdown_table(ci),
    ]
    if fit is not None:
        p = meta["predictive"]
        md += [
            f"\n## Posterior predictive ({p['draws']} draws, fresh seeds)\n\n",
            f"Facts whose predictive mean lies inside the band: {p['facts_inside']} of "
            f"{p['facts']}; draws with every fact inside: {p['draws_all_inside']:.0%}.\n\n",
            markdown_table(fit),
        ]
    atomic_write(folder / "summary.md", "".join(md))
    return {"meta": meta, "generations": gens, "posterior": post, "intervals": ci, "fit": fit}
