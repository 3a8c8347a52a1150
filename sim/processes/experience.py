"""6. Service experience: satisfaction, bond, habits, push fatigue (and the digital trend).

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

Implementation: one compiled pass over customers (``_experience``, numba,
parallel over rows: each row's update reads and writes only that row), the rule
above customer by customer. The noise is counter-based (:mod:`sim.counter_rng`),
stream ``experience``, keyed by the customer's stable id and the week: slot
``b // 2`` gives the Box-Muller pair of banks ``b`` and ``b + 1`` (even ``b``).
The digital trend stays a NumPy line.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.counter_rng import normal2, stream_word
from sim.nbtypes import _b2, _f4_1, _f4_2, _f8_1, _i4_1, _i4_2, _u4_1
from sim.rng import STREAMS

PROCESS = STREAMS.index("experience")
#: Scalars of the pass, in the order of ``par``.
PAR = (
    "problem_unresolved_penalty",
    "experience_noise",
    "satisfaction_rate",
    "push_annoyance",
    "fatigue_decay",
    "fatigue_gain",
    "bond_gain",
    "bond_decay",
    "habit_rate",
)


@nb.njit(
    nb.void(
        _u4_1,
        nb.uint32,
        nb.uint32,
        _f8_1,
        _f8_1,
        _f8_1,  # key, stream, week, par, q_app, rewards
        _u4_1,
        _b2,  # uid, has
        _i4_2,
        _i4_2,
        _i4_2,
        _f4_2,
        _i4_2,
        _i4_2,
        _i4_2,
        _i4_2,
        _f4_2,  # the week's contacts
        _i4_2,
        _i4_1,
        _i4_1,  # channel use, platform and bank payments
        _f4_2,
        _f4_2,
        _f4_1,
        _f4_2,
        _f4_1,  # sat, bond, fatigue, habit, platform habit
    ),
    cache=True,
    nogil=True,
    parallel=True,
)
def _experience(
    key, stream, week, par, q_app, rewards,
    uid, has,
    app_visits, pushes_opened, transactions, quality_sum, unresolved, gave_up, human, contacts,
    blind_pushes,
    channel_use, platform_payments, bank_payments,
    sat, bond, fatigue, habit, platform_habit,
):  # fmt: skip
    """Satisfaction, bond, fatigue and habits of every row (see the module docstring)."""
    N, B = has.shape
    C = habit.shape[1]
    penalty, noise, sat_rate, annoyance = par[0], par[1], par[2], par[3]
    fat_decay, fat_gain, bond_gain, bond_decay, habit_rate = par[4], par[5], par[6], par[7], par[8]
    for n in nb.prange(N):
        blind = 0.0
        eps = 0.0
        eps_next = 0.0
        for b in range(B):
            if b % 2 == 0:
                eps, eps_next = normal2(key, stream, uid[n], week, b // 2)
            else:
                eps = eps_next
            # satisfaction moves toward this week's experience
            s = nb.float64(sat[n, b])
            visits = app_visits[n, b] + pushes_opened[n, b]
            n_exp = transactions[n, b] + visits
            if n_exp > 0 and has[n, b]:
                E = (
                    (quality_sum[n, b] + visits * q_app[b]) / n_exp
                    - penalty * unresolved[n, b] / max(transactions[n, b], 1)
                    + noise * eps
                )
                s += sat_rate * (E - s)
            s -= 0.1 * gave_up[n, b]
            s -= annoyance * blind_pushes[n, b] * fatigue[n]
            sat[n, b] = min(max(s, 0.0), 1.0)
            blind += blind_pushes[n, b]
            # bond: human contact and rewards grow it, it decays
            d = nb.float64(bond[n, b])
            d += bond_gain * human[n, b] * (1.0 - d)
            if contacts[n, b] > 0:
                d += 0.2 * bond_gain * rewards[b]
            d *= 1.0 - bond_decay
            bond[n, b] = min(max(d, 0.0), 1.0) if has[n, b] else 0.0
        fatigue[n] = min(max(fatigue[n] * (1.0 - fat_decay) + fat_gain * blind, 0.0), 1.0)
        # habits move toward this week's channel shares
        tot = 0
        for c in range(C):
            tot += channel_use[n, c]
        if tot > 0:
            for c in range(C):
                habit[n, c] += habit_rate * (channel_use[n, c] / tot - habit[n, c])
        pays = platform_payments[n] + bank_payments[n]
        if pays > 0:
            share = platform_payments[n] / pays
            platform_habit[n] += habit_rate * (share - platform_habit[n])


def run(model) -> None:
    """Update satisfaction, bond, habits, fatigue and digital affinity."""
    pop, p, wk, t = model.pop, model.p, model.week, model.t
    beh, lev = p.beh, p.lev
    par = np.array([float(getattr(beh, k)) for k in PAR], dtype=np.float64)
    i4 = lambda x: np.ascontiguousarray(x, np.int32)  # noqa: E731
    _experience(
        model.streams.counter_key, stream_word(PROCESS, 0), np.uint32(t + 1), par,
        np.ascontiguousarray(lev.app_quality, np.float64),
        np.ascontiguousarray(lev.rewards, np.float64),
        pop.uid, pop.has,
        i4(wk.app_visits), i4(wk.pushes_opened), i4(wk.transactions),
        np.ascontiguousarray(wk.quality_sum, np.float32), i4(wk.unresolved), i4(wk.gave_up),
        i4(wk.human), i4(wk.contacts), np.ascontiguousarray(wk.blind_pushes, np.float32),
        i4(wk.channel_use), i4(wk.platform_payments), i4(wk.bank_payments),
        pop.sat, pop.bond, pop.fatigue, pop.habit, pop.platform_habit,
    )  # fmt: skip
    if p.env.digital_drift:
        pop.digital[:] = np.clip(pop.digital + p.env.digital_drift, 0.0, 1.0)
