"""The simulator pyabc calls: a particle's parameters in, its run's target facts out.

A particle theta runs the market (``baseline`` strategy, no scenario) through
its own spin-up (never cached: every particle is a new market) and the design's
``weeks`` after it, through :func:`sim.analysis.evaluator.execute` (one
thread, a failing run recorded rather than raised). Its seed is a hash of
(design seed, theta), so the same particle always gives the same facts.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from sim.analysis.evaluator import compose_plain, execute, set_key
from sim.analysis.posterior.design import Design, Prior

Simulate = Callable[[dict], Mapping[str, float]]
log = logging.getLogger("sim.posterior")


def particle_seed(root: int, values: Sequence[float]) -> int:
    """The run seed of a particle: SeedSequence(root, SHA-256 of its parameter values)."""
    digest = hashlib.sha256(np.asarray(values, dtype=np.float64).tobytes()).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return int(np.random.SeedSequence([int(root), *words]).generate_state(1)[0])


def market_overrides(design: Design) -> tuple[str, ...]:
    """The Hydra overrides of every run of a design (baseline strategy, no scenario)."""
    return (
        "strategy=baseline",
        "scenario=none",
        f"market={design.market}",
        f"population.size={design.population}",
        f"weeks={design.weeks}",
        f"spinup.weeks={design.spinup_weeks}",
        "spinup.cache=false",
        "output.plots=false",
        "output.progress=false",
        *design.overrides,
    )


def market_base(design: Design) -> dict:
    """The plain run config every particle starts from (a bad override fails here)."""
    return compose_plain(market_overrides(design))


class FactSimulator:
    """The pyabc model: the facts of one run of a particle.

    The particle's values are written into a copy of ``base`` (a plain run
    config) at the priors' keys, its seed is :func:`particle_seed`, and the run
    goes through :func:`sim.analysis.evaluator.execute` with ``simulate`` (the
    model's outcomes by default). A run that fails gives NaN facts (rejected,
    marked ``failed``) rather than ending the ABC run.
    """

    def __init__(
        self,
        base: dict,
        priors: Sequence[Prior],
        facts: Sequence[str],
        root_seed: int,
        simulate: Simulate | None = None,
    ) -> None:
        """Hold the base config, the priors' keys and the facts to return."""
        self.base = base
        self.priors = list(priors)
        self.facts = list(facts)
        self.root_seed = int(root_seed)
        self.simulate = simulate

    def __call__(self, par: Mapping[str, float]) -> dict[str, float]:
        """The facts of one run of the particle ``par`` (names as in :attr:`Prior.name`)."""
        values = [float(par[p.name]) for p in self.priors]
        seed = particle_seed(self.root_seed, values)
        cfg = copy.deepcopy(self.base)
        cfg["seed"] = seed
        for p, v in zip(self.priors, values, strict=True):
            set_key(cfg, p.key, v)
        rec = execute(f"particle-{seed}", cfg, self.simulate)
        if rec["status"] == "ok":
            facts = {k: float(rec["outcomes"].get(k, math.nan)) for k in self.facts}
            failed = 0.0
        else:
            log.warning("a run failed (seed %s, %s): %s", seed, values, rec["error"])
            facts = dict.fromkeys(self.facts, math.nan)
            failed = 1.0
        return {**facts, "seed": float(seed), "failed": failed}
