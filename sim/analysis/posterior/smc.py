"""ABC-SMC with pyabc: the run (new or continued), and what its history holds.

Generation t accepts particles with ``d <= epsilon_t`` (the band distance of
:mod:`.observation`); new particles are drawn from the previous population
moved by pyabc's multivariate normal kernel, weighted ``prior(theta) / sum_j
w_j K(theta | theta_j)``. ``jobs=1`` uses pyabc's ``SingleCoreSampler`` with
NumPy's global generator seeded by the design seed (the run reproduces
exactly); ``jobs > 1`` uses pyabc's ``ConcurrentFutureSampler`` over ``jobs``
spawned worker processes (each with its own random state: a valid sample, not
reproducible draw for draw; each particle's own run still is, its seed being a
hash of theta).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import multiprocessing as mp
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.posterior.design import Prior
from sim.analysis.posterior.observation import Band, BandDistance, band_epsilon
from sim.analysis.posterior.simulator import FactSimulator, Simulate

log = logging.getLogger("sim.posterior")


def _transition_classes():
    """The two proposal kernels as pyabc transitions (built lazily: pyabc imports slowly)."""
    import pyabc

    def mixed(w) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        return w / w.sum()

    class SpreadKDE(pyabc.MultivariateNormalTransition):
        """pyabc's KDE (a normal kernel around every particle), parents chosen by mixed weights.

        The parents are drawn by ``(1 - uniform) w + uniform / n`` and the kernel's
        covariance fitted on those weights; its density (:meth:`pdf`) uses the same
        weights, so the importance weights ``prior / proposal`` stay exact.
        """

        def __init__(self, scaling: float = 1.0, uniform: float = 0.0) -> None:
            super().__init__(scaling=scaling)
            self.uniform = float(uniform)

        def fit(self, X, w) -> None:
            w = mixed(w)
            super().fit(X, (1 - self.uniform) * w + self.uniform / len(w))

    class UniformKernel(pyabc.transition.Transition):
        """A uniform box around a parent particle, per parameter ``+- scaling x sd`` (Toni 2009).

        Parents are drawn by the mixed weights ``(1 - uniform) w + uniform / n``;
        the box's half-widths are ``scaling`` times the parameters' standard
        deviations under those weights. The proposal density is the mixture of
        the boxes, ``sum_j w_j 1[x in box_j] / volume``: flat inside each box, so
        a particle's importance weight depends on how many boxes cover it and on
        its parents' weights, not on how far inside its box it fell.
        """

        def __init__(self, scaling: float = 1.0, uniform: float = 0.0) -> None:
            self.scaling = float(scaling)
            self.uniform = float(uniform)

        def fit(self, X, w) -> None:
            w = mixed(w)
            self.wm = (1 - self.uniform) * w + self.uniform / len(w)
            self.arr = X.to_numpy(dtype=float)
            mean = self.wm @ self.arr
            sd = np.sqrt(self.wm @ (self.arr - mean) ** 2)
            sd = np.where(sd > 0, sd, np.abs(mean) * 1e-3 + 1e-12)
            self.half = self.scaling * sd
            self.volume = float(np.prod(2 * self.half))

        def rvs_single(self):
            # NumPy's global generator (seeded by run_abc), as pyabc's own kernels use
            j = np.random.choice(len(self.wm), p=self.wm)
            x = self.arr[j] + np.random.uniform(-self.half, self.half)
            return pyabc.Parameter(dict(zip(self.X.columns, map(float, x), strict=True)))

        def _pdf(self, x: np.ndarray) -> np.ndarray:
            x = np.atleast_2d(x)
            inside = (np.abs(x[:, None, :] - self.arr[None, :, :]) <= self.half).all(axis=2)
            return (inside * self.wm).sum(axis=1) / self.volume

        def pdf(self, x):
            if isinstance(x, pyabc.Parameter | pd.Series):
                return float(self._pdf(np.array([x[k] for k in self.X.columns]))[0])
            return self._pdf(x[self.X.columns].to_numpy(dtype=float))

    return {"kde": SpreadKDE, "uniform": UniformKernel}


def transition(kernel: str = "uniform", scaling: float = 1.0, uniform: float = 0.5):
    """The proposal kernel (:data:`sim.analysis.posterior.design.KERNELS`).

    ``uniform``: a box of half-width ``scaling`` x sd around a parent;
    ``kde``: pyabc's multivariate normal kernel, covariance x ``scaling``.
    """
    return _transition_classes()[kernel](scaling=scaling, uniform=uniform)


def _one_thread() -> None:
    """A sampler worker's set-up: the model's compiled passes on one thread (one per core)."""
    os.environ["OMP_NUM_THREADS"] = "1"


def _sampler(jobs: int, progress: bool):
    """pyabc's single-core sampler, or ``jobs`` spawned worker processes.

    Not forked workers (pyabc's multicore samplers fork): the model's compiled passes run
    on numba's OpenMP thread pool, which the lab starts on import and which does not
    survive ``fork`` (a forked worker that runs the model is terminated). Spawned workers
    import the lab afresh (kernels from numba's cache) and live for the whole run.
    """
    import pyabc

    if jobs <= 1:
        sampler = pyabc.SingleCoreSampler()
    else:
        executor = ProcessPoolExecutor(
            max_workers=int(jobs), mp_context=mp.get_context("spawn"), initializer=_one_thread
        )
        sampler = pyabc.ConcurrentFutureSampler(executor, client_max_jobs=2 * int(jobs))
    sampler.show_progress = bool(progress)
    return sampler


def _close(sampler) -> None:
    """Stop a sampler's worker processes (if it has any)."""
    client = getattr(sampler, "client", None)
    if client is not None:
        client.shutdown(wait=True, cancel_futures=True)


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
    kernel: str = "uniform",
    kernel_scaling: float = 1.0,
    kernel_uniform: float = 0.5,
    ess_target: float = 0.0,
    seed: int = 1,
    jobs: int = 2,
    progress: bool = True,
    simulate: Simulate | None = None,
    resume: bool = False,
    max_minutes: float | None = None,
    start: pd.DataFrame | None = None,
):
    """Run (or continue) ABC-SMC; pyabc's History of ``folder/abc.db``.

    The same code path serves the market and the toy simulator of the tests:
    :class:`FactSimulator` as the model, :class:`BandDistance` as the distance,
    :func:`band_epsilon` as the threshold schedule, :func:`transition`
    as the proposal, ``particles`` accepted per generation. The thresholds fall
    until the first generation at ``min_epsilon``; then further generations at
    ``min_epsilon`` run until the pooled effective sample size of the
    generations at ``min_epsilon`` (:func:`pooled_ess`) reaches ``ess_target``.
    It stops in any case after ``generations`` generations in all (a resumed
    run counts the stored ones) or after ``max_minutes``.

    ``start`` (a posterior sample: ``weight`` and the priors' keys) warm-starts a
    new run: its parameter sets, equally weighted, are stored as generation 0
    (threshold ``inf``, no simulations: see :func:`store_start`) and the first
    proposal is the kernel around them. The importance weights of every later
    generation are ``prior / proposal`` as always, so the start shapes only
    where the proposal looks, not the target.
    """
    import pyabc

    sampler = _sampler(jobs, progress)
    model = FactSimulator(base, priors, [b.fact for b in observed], seed, simulate)
    abc = pyabc.ABCSMC(
        models=model,
        parameter_priors=pyabc.Distribution(**{p.name: p.rv() for p in priors}),
        distance_function=BandDistance(observed),
        population_size=int(particles),
        eps=band_epsilon(quantile, min_epsilon),
        transitions=transition(kernel, kernel_scaling, kernel_uniform),
        sampler=sampler,
    )
    try:
        url = db_url(folder)
        if resume:
            history = abc.load(url, 1)
            done = history.max_t + 1
            if _complete(history, generations, min_epsilon, ess_target):
                log.info("the stored history is complete: %d generations", done)
                return history
            np.random.seed([int(seed), done])
        else:
            observed_stats = {b.fact: b.value for b in observed}
            history = abc.new(url, observed_stats, meta_info={"seed": int(seed)})
            if start is not None:
                store_start(history, start, priors, observed_stats, [m.name for m in abc.models])
            np.random.seed(int(seed))
        start = time.monotonic()
        while not _complete(history, generations, min_epsilon, ess_target):
            left = None
            if max_minutes:
                left = max_minutes - (time.monotonic() - start) / 60
                if left <= 0:
                    log.warning("stopped after --max-minutes %g", max_minutes)
                    break
            # one generation at a time: the stopping rule is checked between them. pyabc
            # caches the population its threshold starts from on the first run() call;
            # clearing it makes each call start from the last generation, as one run would.
            abc._initial_population = None
            history = abc.run(
                minimum_epsilon=min_epsilon,
                max_nr_populations=1,
                max_walltime=dt.timedelta(minutes=left) if left else None,
            )
            at_floor = _floor_populations(history, min_epsilon)
            if at_floor:
                log.info(
                    "generations at epsilon %g: %d, pooled ESS %.1f (target %g)",
                    min_epsilon,
                    len(at_floor),
                    pooled_ess(history, min_epsilon),
                    ess_target,
                )
        return history
    finally:
        _close(sampler)


def store_start(
    history, start: pd.DataFrame, priors: Sequence[Prior], observed: dict, models: list[str]
) -> None:
    """Store a warm start's parameter sets as generation 0 of a new history.

    Equal weights (the start is where to look, not a sample of anything), the
    target values as their facts (the first threshold is then the floor), the
    threshold ``inf`` so that the generation is never part of the posterior
    sample (:func:`_floor_populations`), and no simulations.
    """
    import pyabc

    n = len(start)
    particles = [
        pyabc.population.Particle(
            m=0,
            parameter=pyabc.Parameter({p.name: float(r[p.key]) for p in priors}),
            weight=1.0 / n,
            sum_stat=dict(observed),
            distance=0.0,
        )
        for _, r in start.iterrows()
    ]
    history.append_population(0, math.inf, pyabc.Population(particles), 0, models)


def _complete(history, generations: int, min_epsilon: float, ess_target: float) -> bool:
    """Whether a history needs no further generation (see :func:`run_abc`)."""
    done = history.max_t + 1
    if done >= generations:
        return True
    if not _floor_populations(history, min_epsilon):
        return False
    return pooled_ess(history, min_epsilon) >= ess_target


def _floor_populations(history, min_epsilon: float) -> list[int]:
    """The generations whose threshold is ``min_epsilon`` (every fact inside its band at 1)."""
    if history.max_t < 0:
        return []
    pops = history.get_all_populations()
    pops = pops[(pops["t"] >= 0) & (pops["epsilon"] <= min_epsilon * (1 + 1e-9))]
    return [int(t) for t in pops["t"]]


def _pool_factors(history, min_epsilon: float) -> dict[int, float]:
    """Each floor generation's share of the pooled sample: its ESS over the ESS summed.

    Every generation at the final threshold is a weighted sample of the same
    ABC posterior (its own importance weights ``prior / proposal``); a convex
    combination of them is one too. Shares proportional to the generations'
    ESS maximise the pooled ESS, which is then the sum of theirs.
    """
    from pyabc.weighted_statistics import effective_sample_size

    ess = {}
    for t in _floor_populations(history, min_epsilon):
        w = history.get_weighted_distances(t)["w"].to_numpy(dtype=float)
        ess[t] = float(effective_sample_size(w / w.sum()))
    total = sum(ess.values())
    return {t: e / total for t, e in ess.items()}


def pooled_ess(history, min_epsilon: float) -> float:
    """The effective sample size of the pooled generations at ``min_epsilon`` (0 if none)."""
    from pyabc.weighted_statistics import effective_sample_size

    parts = []
    for t, share in _pool_factors(history, min_epsilon).items():
        w = history.get_weighted_distances(t)["w"].to_numpy(dtype=float)
        parts.append(share * w / w.sum())
    return float(effective_sample_size(np.concatenate(parts))) if parts else 0.0


def _last_epsilon(history) -> float | None:
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    return None if pops.empty else float(pops["epsilon"].iloc[-1])


def generations_table(history) -> pd.DataFrame:
    """Per generation: epsilon, simulations, accepted particles, acceptance rate, ESS, time.

    Generation ``-1`` is the prior's calibration sample that sets the first threshold; a
    generation with threshold ``inf`` and no simulations is a warm start (:func:`store_start`).
    """
    from pyabc.weighted_statistics import effective_sample_size

    pops = history.get_all_populations().sort_values("t")
    rows = []
    for r in pops.itertuples():
        t = int(r.t)
        if t < 0 and int(r.samples) == 0:  # pyabc's placeholder when no prior sample ran
            continue
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
        if not math.isfinite(float(r.epsilon)):  # a warm start (store_start): no simulations
            rows.append(
                {
                    "generation": t,
                    "epsilon": math.inf,
                    "simulations": 0,
                    "particles": int(r.particles),
                    "acceptance_rate": math.nan,
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


def sample_generations(history, min_epsilon: float | None) -> list[int]:
    """The generations the posterior sample is made of (see :func:`posterior_frame`)."""
    return sorted(_generations_of_sample(history, min_epsilon))


def _generations_of_sample(history, min_epsilon: float | None) -> dict[int, float]:
    """The generations making the posterior sample and their shares (see :func:`pooled_ess`).

    The generations at ``min_epsilon`` pooled, or, with none there (or
    ``min_epsilon`` None), the last generation alone.
    """
    shares = _pool_factors(history, min_epsilon) if min_epsilon is not None else {}
    return shares or {int(history.max_t): 1.0}


def posterior_frame(
    history, priors: Sequence[Prior], min_epsilon: float | None = None
) -> pd.DataFrame:
    """The posterior sample: ``weight`` (sums to 1) and one column per config key.

    With ``min_epsilon``, the generations at that threshold pooled (each one's
    weights times its share, :func:`_pool_factors`); otherwise the last generation.
    """
    frames = []
    for t, share in _generations_of_sample(history, min_epsilon).items():
        df, w = history.get_distribution(m=0, t=t)
        out = pd.DataFrame({"weight": share * np.asarray(w, dtype=float) / float(np.sum(w))})
        for p in priors:
            out[p.key] = df[p.name].to_numpy(dtype=float)
        out.insert(0, "generation", t)
        frames.append(out)
    out = pd.concat(frames, ignore_index=True)
    out["weight"] = out["weight"] / out["weight"].sum()
    return out.drop(columns=["generation"])


def accepted_facts(history, min_epsilon: float | None = None) -> pd.DataFrame:
    """The facts of the posterior sample's own runs (as :func:`posterior_frame`), with weights."""
    frames = []
    for t, share in _generations_of_sample(history, min_epsilon).items():
        w, stats = history.get_weighted_sum_stats(t=t)
        df = pd.DataFrame([dict(s) for s in stats])
        w = np.asarray(w, dtype=float)
        df.insert(0, "weight", share * w / w.sum())
        frames.append(df)
    return pd.concat(frames, ignore_index=True)
