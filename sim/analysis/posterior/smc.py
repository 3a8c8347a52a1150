"""ABC-SMC with pyabc: the run (new or continued), and what its history holds.

Generation t accepts particles with ``d <= epsilon_t`` (the band distance of
:mod:`.observation`); new particles are drawn from the previous population
moved by pyabc's multivariate normal kernel, weighted ``prior(theta) / sum_j
w_j K(theta | theta_j)``. ``jobs=1`` uses pyabc's ``SingleCoreSampler`` with
NumPy's global generator seeded by the design seed (the run reproduces
exactly); ``jobs > 1`` uses ``MulticoreEvalParallelSampler`` (forked workers
reseeded by the operating system: a valid sample, not reproducible draw for
draw; each particle's own run still is, its seed being a hash of theta).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.posterior.design import Prior
from sim.analysis.posterior.observation import Band, BandDistance, band_epsilon
from sim.analysis.posterior.simulator import FactSimulator, Simulate

log = logging.getLogger("sim.posterior")


def _sampler(jobs: int, progress: bool):
    import pyabc

    if jobs <= 1:
        sampler = pyabc.SingleCoreSampler()
    else:
        sampler = pyabc.MulticoreEvalParallelSampler(n_procs=int(jobs))
    sampler.show_progress = bool(progress)
    return sampler


def db_url(folder: Path) -> str:
    """The SQLAlchemy address of a folder's pyabc history."""
    return f"sqlite:///{(Path(folder) / 'abc.db').resolve()}"


def run_abc(
    folder: Path,
    priors: Sequence[Prior],
    observed: Sequence[Band],
    base: dict,
    *,
    particles: int,
    generations: int,
    quantile: float = 0.5,
    min_epsilon: float = 1.0,
    seed: int = 1,
    jobs: int = 2,
    progress: bool = True,
    simulate: Simulate | None = None,
    resume: bool = False,
    max_minutes: float | None = None,
):
    """Run (or continue) ABC-SMC; pyabc's History of ``folder/abc.db``.

    The same code path serves the market and the toy simulator of the tests:
    :class:`FactSimulator` as the model, :class:`BandDistance` as the distance,
    :func:`band_epsilon` as the threshold schedule, ``particles`` accepted per
    generation, stopping after the first generation at ``min_epsilon`` or after
    ``generations`` generations in all (a resumed run counts the stored ones).
    """
    import pyabc

    model = FactSimulator(base, priors, [b.fact for b in observed], seed, simulate)
    abc = pyabc.ABCSMC(
        models=model,
        parameter_priors=pyabc.Distribution(**{p.name: p.rv() for p in priors}),
        distance_function=BandDistance(observed),
        population_size=int(particles),
        eps=band_epsilon(quantile, min_epsilon),
        sampler=_sampler(jobs, progress),
    )
    url = db_url(folder)
    if resume:
        history = abc.load(url, 1)
        done = history.max_t + 1
        last_eps = _last_epsilon(history)
        if done >= generations or (last_eps is not None and last_eps <= min_epsilon):
            log.info("the stored history is complete: %d generations, epsilon %s", done, last_eps)
            return history
        todo = generations - done
        np.random.seed([int(seed), done])
    else:
        observed_stats = {b.fact: b.value for b in observed}
        abc.new(url, observed_stats, meta_info={"seed": int(seed)})
        todo = generations
        np.random.seed(int(seed))
    walltime = dt.timedelta(minutes=max_minutes) if max_minutes else None
    return abc.run(minimum_epsilon=min_epsilon, max_nr_populations=todo, max_walltime=walltime)


def _last_epsilon(history) -> float | None:
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    return None if pops.empty else float(pops["epsilon"].iloc[-1])


def generations_table(history) -> pd.DataFrame:
    """Per generation: epsilon, simulations, accepted particles, acceptance rate, ESS, time.

    Generation ``-1`` is the prior's calibration sample that sets the first threshold.
    """
    from pyabc.weighted_statistics import effective_sample_size

    pops = history.get_all_populations().sort_values("t")
    rows = []
    for r in pops.itertuples():
        t = int(r.t)
        if t < 0:
            rows.append(
                {
                    "generation": t,
                    "epsilon": math.inf,
                    "simulations": int(r.samples),
                    "particles": int(r.samples),
                    "acceptance_rate": 1.0,
                    "ess": math.nan,
                    "end_time": str(r.population_end_time),
                }
            )
            continue
        w = history.get_weighted_distances(t)["w"].to_numpy()
        rows.append(
            {
                "generation": t,
                "epsilon": float(r.epsilon),
                "simulations": int(r.samples),
                "particles": int(r.particles),
                "acceptance_rate": float(r.particles) / max(int(r.samples), 1),
                "ess": float(effective_sample_size(w)),
                "end_time": str(r.population_end_time),
            }
        )
    return pd.DataFrame(rows)


def posterior_frame(history, priors: Sequence[Prior], t: int | None = None) -> pd.DataFrame:
    """The population of generation ``t`` (the last by default): ``weight`` and config keys."""
    df, w = history.get_distribution(m=0, t=t)
    out = pd.DataFrame({"weight": np.asarray(w, dtype=float) / float(np.sum(w))})
    for p in priors:
        out[p.key] = df[p.name].to_numpy(dtype=float)
    return out.reset_index(drop=True)


def accepted_facts(history, t: int | None = None) -> pd.DataFrame:
    """The facts of the accepted particles' own runs in generation ``t``, with their weights."""
    w, stats = history.get_weighted_sum_stats(t=t)
    df = pd.DataFrame([dict(s) for s in stats])
    df.insert(0, "weight", np.asarray(w, dtype=float))
    return df
