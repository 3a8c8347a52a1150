"""The NumPy exits before the compiled exit pass (issue 14), kept for benchmarks.equivalence.

Exits: each customer leaves with probability ``exit_rate`` (twice that for seniors) by a
uniform per row from the week's stream ``("demography", 0)``; all its accounts close and
its row is freed. The entrants are the model's own (:func:`sim.processes.demography.enter`,
from the same stream after the exits' uniforms), so only the exits differ.
"""

from __future__ import annotations

import numpy as np

from sim.processes.demography import enter


def run(model) -> None:
    """Remove leavers and place entrants."""
    pop, env = model.pop, model.p.env
    rng = model.stream("demography")
    cap = pop.capacity
    u = rng.random(cap)
    rate = env.exit_rate * np.where(pop.cohort == 3, 2.0, 1.0)
    leave = pop.alive & (u < rate)
    model.tally.exit_accounts = int(pop.has[leave].sum())
    pop.alive[leave] = False
    pop.has[leave] = False
    pop.products[leave] = 0
    model.tally.exits = int(leave.sum())

    enter(model, rng)  # entrants as in the model: only the exits differ
