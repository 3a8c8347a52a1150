"""The NumPy experience process as it was before the compiled pass (issue 14), kept for
``benchmarks/equivalence.py`` to compare against; not used by the model.

6. Service experience: satisfaction, bond, habits, push fatigue (and the digital trend).

For each held account with contacts this week, experience is
``E = quality_sum / transactions - problem_unresolved_penalty * unresolved /
transactions + experience_noise * eps`` (``eps ~ N(0, 1)`` per account and
week; app visits count at the app's quality), and
``sat += satisfaction_rate * (E - sat)``. Sales lost to branch-only
attribution cost ``0.1`` each. Blind pushes annoy:
``sat -= push_annoyance * blind_pushes * fatigue``; fatigue grows by
``fatigue_gain * blind_pushes`` and decays by ``fatigue_decay``.

Bond grows with human contact: ``bond += bond_gain * human * (1 - bond)``,
decays by ``bond_decay`` each week; rewards programmes add
``0.2 * bond_gain * rewards`` a week for customers in contact (gamified
tasks and rights).

Habits move toward this week's channel shares of each customer with bank
contacts: ``habit += habit_rate * (share - habit)``; the platform habit moves
toward the platform's share of the customer's payments.

Digital affinity is a trait; it moves only under the named secular trend
``digital += digital_drift`` (0 in a market at rest; adoption of the app is
its own process, :mod:`sim.processes.adoption`).
"""

from __future__ import annotations

import numpy as np


def run(model) -> None:
    """Update satisfaction, bond, habits, fatigue and digital affinity."""
    pop, p, wk = model.pop, model.p, model.week
    beh, lev = p.beh, p.lev
    rng = model.stream("experience")
    eps = rng.standard_normal(pop.has.shape, dtype=np.float32)

    q_app = lev.app_quality.astype(np.float32)[None, :]
    visits = (wk.app_visits + wk.pushes_opened).astype(np.float32)
    n_exp = wk.transactions + visits
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_q = (wk.quality_sum + visits * q_app) / n_exp
        penalty = beh.problem_unresolved_penalty * wk.unresolved / np.maximum(wk.transactions, 1)
    E = mean_q - penalty + beh.experience_noise * eps
    upd = (n_exp > 0) & pop.has
    sat = pop.sat
    sat[upd] += beh.satisfaction_rate * (E[upd] - sat[upd])
    sat -= 0.1 * wk.gave_up
    fatigue = pop.fatigue[:, None]
    sat -= (beh.push_annoyance * wk.blind_pushes * fatigue).astype(np.float32)
    np.clip(sat, 0.0, 1.0, out=sat)

    blind = wk.blind_pushes.sum(axis=1)
    pop.fatigue[:] = np.clip(
        pop.fatigue * (1.0 - beh.fatigue_decay) + beh.fatigue_gain * blind, 0.0, 1.0
    )

    bond = pop.bond
    bond += (beh.bond_gain * wk.human * (1.0 - bond)).astype(np.float32)
    bond += (0.2 * beh.bond_gain * lev.rewards[None, :] * (wk.contacts > 0)).astype(np.float32)
    bond *= np.float32(1.0 - beh.bond_decay)
    np.clip(bond, 0.0, 1.0, out=bond)
    bond[~pop.has] = 0.0

    use = wk.channel_use
    tot = use.sum(axis=1)
    active = tot > 0
    share = use[active] / tot[active, None]
    h = pop.habit
    h[active] += beh.habit_rate * (share - h[active])
    pays = wk.platform_payments + wk.bank_payments
    payers = pays > 0
    pshare = wk.platform_payments[payers] / pays[payers]
    pop.platform_habit[payers] += beh.habit_rate * (pshare - pop.platform_habit[payers])

    if p.env.digital_drift:
        pop.digital[:] = np.clip(pop.digital + p.env.digital_drift, 0.0, 1.0)
