"""1. Scenario shocks: the week's parameters.

``p = Params.at(t)``: every shock with ``start <= t`` moves its target from the
base value ``x0`` towards the shocked value ``x1`` (``set``: ``v``;
``multiply``: ``x0 * v``; ``add``: ``x0 + v``) by weight ``w``: a step has
``w = 1`` for ``start <= t <= end`` and 0 after; a ramp has
``w = min((t - start) / (end - start), 1)`` and stays at 1. Shocked levers
are clipped to their ranges.

Branch access follows from the week's branch network (computed where it is used,
customer by customer, in :mod:`sim.processes.choice`): ``access[n, b] = 1 -
exp(-branch_network[b] * branch_reach / distance[n, b])``.
"""

from __future__ import annotations

from sim.week import Tally, Week


def run(model) -> None:
    """Set ``model.p`` for the week and start the week's scratch and tally."""
    model.p = model.params.at(model.t)
    model.week = Week(t=model.t)
    model.tally = Tally(model.pop.n_banks)
