"""3. Entries and exits.

Exits: each customer leaves with probability ``exit_rate`` (twice that for
seniors); all its accounts close and its row is freed (not a switch).

Entries: ``Poisson(entry_rate * initial_size)`` customers take free rows and
their ties. Their cohort is Gen Z with probability ``entry_genz_share``, senior
with ``entry_senior_share``, else millennial or Gen X in the ratio of the
market's cohort mix. The defaults replace the expected leavers cohort by cohort
(``entry_rate = exit_rate * (1 + senior share)``; entrants' cohort shares
proportional to ``cohorts[c] * exit multiplier[c]``), so the market's size and
cohort mix stay level; scenarios (Gen Z inflow, ageing) move them. Entrants
have not adopted a banking app yet (:mod:`sim.processes.adoption`). An entrant
takes a free row last held by a customer of its own cohort where there is one
(it inherits the row's ties, so the network stays as homophilous as it was
built). Each opens a first account at bank ``b`` with probability proportional to
``(primary[b] + 1) * bonus[b] * exp(brand[b] + digital * app_quality[b] + 2 *
scene_partnerships[b] * scene_user)`` (``primary[b]``: the bank's primary customers,
so entrants follow the market's mix at rest; ``bonus = 1 + bonus_elasticity *
signup_bonus[b] * deal``, the factor by which a bonus multiplies a switcher's
conversion in process 8, so a bonus pulls an entrant as much as a switcher); the
account counts as incentive-driven with the share of that pull due to bonus and
scenes, ``1 - 1 / (bonus[b] * exp(2 * scene_partnerships[b] * scene_user))``.
Entrants take the next stable ids (``uid``, :mod:`sim.population`) in the order drawn.

Implementation: the exits are one compiled pass over customers (``_exits``, numba,
parallel over fixed chunks of rows) with a counter-based draw (:mod:`sim.counter_rng`,
stream ``demography``, slot 0 of the customer's stable id and the week). Entrants are
few (about ``entry_rate`` of the market a week) and are drawn from the week's named
NumPy stream ``("demography", 0)`` (their number, traits and first bank) and
``("demography", 1)`` (incentive): draws keyed by the run's seed, phase and week, not
by any other customer's row.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.counter_rng import stream_word, uniform2
from sim.nbtypes import _b1, _b2, _i1_1, _i1_2, _i8_2, _u4_1
from sim.population import CH, NEVER, TRAITS, draw_traits, initial_habits, next_uid
from sim.rng import STREAMS

PROCESS = STREAMS.index("demography")
#: Rows per chunk of the exit pass (fixed: the chunks do not depend on the threads).
CHUNK = 4096


@nb.njit(
    nb.void(_u4_1, nb.uint32, nb.uint32, nb.float64, _b1, _u4_1, _i1_1, _b2, _i1_2, _i8_2),
    cache=True,
    nogil=True,
    parallel=True,
)
def _exits(key, stream, week, rate, alive, uid, cohort, has, products, counts):
    """Each customer leaves with ``rate`` (twice for seniors): row freed, accounts closed."""
    N, B = has.shape
    for c in nb.prange(counts.shape[0]):
        for n in range(c * CHUNK, min(N, (c + 1) * CHUNK)):
            if not alive[n]:
                continue
            r = 2.0 * rate if cohort[n] == 3 else rate
            if uniform2(key, stream, uid[n], week, 0)[0] >= r:
                continue
            alive[n] = False
            counts[c, 0] += 1
            for b in range(B):
                if has[n, b]:
                    counts[c, 1] += 1
                has[n, b] = False
                products[n, b] = 0


def _rows_by_cohort(free: np.ndarray, free_cohort: np.ndarray, cohort: np.ndarray) -> np.ndarray:
    """Rows for the entrants: a row last held by the same cohort first, else any free row.

    Entrants take over their row's social ties, so filling a row with the cohort that
    left it keeps the network as homophilous as it was built.
    """
    rows = np.full(cohort.size, -1, dtype=np.int64)
    used = np.zeros(free.size, dtype=bool)
    for c in range(4):
        want = np.flatnonzero(cohort == c)
        cand = np.flatnonzero(free_cohort == c)[: want.size]
        rows[want[: cand.size]] = free[cand]
        used[cand] = True
    rest = np.flatnonzero(rows < 0)
    rows[rest] = free[np.flatnonzero(~used)[: rest.size]]
    return rows


def run(model) -> None:
    """Remove leavers and place entrants."""
    pop, p, t = model.pop, model.p, model.t
    rng = model.stream("demography")
    env = p.env
    counts = np.zeros((max((pop.capacity + CHUNK - 1) // CHUNK, 1), 2), np.int64)
    _exits(
        model.streams.counter_key, stream_word(PROCESS, 0), np.uint32(t + 1),
        float(env.exit_rate), pop.alive, pop.uid, pop.cohort, pop.has, pop.products, counts,
    )  # fmt: skip
    exits, exit_accounts = counts.sum(axis=0)
    model.tally.exits = int(exits)
    model.tally.exit_accounts = int(exit_accounts)
    enter(model, rng)


def enter(model, rng: np.random.Generator) -> None:
    """Place the week's entrants in free rows (number, traits and first bank from ``rng``)."""
    pop, p, t = model.pop, model.p, model.t
    env = p.env
    n_new = int(rng.poisson(env.entry_rate * model.initial_size))
    free_all = np.flatnonzero(~pop.alive)
    n = min(n_new, free_all.size)
    if n == 0:
        return
    g, s = env.entry_genz_share, env.entry_senior_share
    rest = max(1.0 - g - s, 0.0)
    mix = model.market.customers
    mil, genx = mix.cohorts[1], mix.cohorts[2]
    split = mil / max(mil + genx, 1e-12)
    tr = draw_traits(rng, n, mix, cohort_shares=[g, rest * split, rest * (1.0 - split), s])
    free = _rows_by_cohort(free_all, pop.cohort[free_all], tr["cohort"])
    B = pop.n_banks
    lev = p.lev
    primaries = np.bincount(pop.primary[pop.alive], minlength=B).astype(float) + 1.0
    scene = (tr["scene_user_u"] < env.platform_scene_reach).astype(float)
    bonus = np.log1p(p.beh.bonus_elasticity * lev.signup_bonus[None, :] * tr["deal"][:, None])
    scenes = 2.0 * lev.scene_partnerships[None, :] * scene[:, None]
    base = (
        np.log(primaries)[None, :]
        + p.brand[None, :]
        + tr["digital"][:, None] * lev.app_quality[None, :]
    )
    keys = base + bonus + scenes + rng.gumbel(size=(n, B))
    first = np.argmax(keys, axis=1)
    pull_inc = np.take_along_axis(bonus + scenes, first[:, None], 1)[:, 0]
    incentive = model.stream("demography", 1).random(n) < (1.0 - np.exp(-pull_inc))

    pop.uid[free] = next_uid(pop) + np.arange(n, dtype=np.uint32)  # in the order drawn
    pop.alive[free] = True
    for name in TRAITS:
        getattr(pop, name)[free] = tr[name]
    pop.scene_user[free] = tr["scene_user_u"]
    pop.has[free] = False
    pop.has[free, first] = True
    pop.products[free] = 0
    pop.products[free, first] = 1
    pop.sat[free] = 0.5
    pop.bond[free] = 0.0
    pop.points[free] = 0.0
    pop.incentive[free] = False
    pop.hunter[free] = False
    pop.incentive[free, first] = incentive
    pop.dormant[free] = False
    pop.ti_open[free] = NEVER
    pop.ti_open[free, first] = t
    pop.ti_last[free] = NEVER
    pop.ti_last[free, first] = t
    pop.ti_app[free] = NEVER
    pop.primary[free] = first
    pop.adopted[free] = False
    pop.habit[free] = initial_habits(tr, pop.adopted[free])
    pop.fatigue[free] = 0.0
    pop.platform_habit[free] = tr["digital"] * (0.5 + 0.5 * tr["platform_u"])
    pop.ti_online[free] = np.where(pop.habit[free, CH["online"]] > 0, t, NEVER)
    pop.ti_entry[free] = t
    pop.branch_months[free] = 0
    pop.echannel[free] = 0
    model.tally.entries = n
    np.add.at(model.tally.opens, first, 1)
    np.add.at(model.tally.opens_incentive, first[incentive], 1)
    model.record_openings(free, first, incentive)
