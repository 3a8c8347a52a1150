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
from sim.analysis.posterior.smc import accepted_facts, generations_table, posterior_frame
from sim.analysis.posterior.stats import credible_intervals, weighted_correlation


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
    post = posterior_frame(history, design.priors)
    last = gens[gens["generation"] >= 0].iloc[-1]
    meta = {
        **meta,
        "generations_run": int(last["generation"]) + 1,
        "final_epsilon": float(last["epsilon"]),
        "acceptance_rate": float(last["acceptance_rate"]),
        "simulations": int(gens["simulations"].sum()),
        "particles_final": len(post),
        "ess": float(last["ess"]),
        "priors": {p.key: p.to_dict() for p in design.priors},
    }
    write_posterior(post, folder / "posterior.csv", meta)
    ci = credible_intervals(post, design.priors)
    atomic_write(folder / "intervals.csv", ci.to_csv(index=False, float_format="%.6g"))
    corr = weighted_correlation(post, [p.key for p in design.priors])
    atomic_write(folder / "correlation.csv", corr.to_csv(float_format="%.4f"))
    own = accepted_facts(history)
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
        f"{own_inside:.0%}.\n\n## Generations\n\n",
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
