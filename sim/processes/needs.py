"""4. Needs: this week's financial needs and non-financial app visits.

Financial needs of customer ``n`` of type ``k``:
``needs[n, k] ~ Poisson(rate_k * m_seg(n) * need_rate)`` with ``rate_k`` one of
``payment_rate, transfer_rate, wealth_rate, credit_rate`` and, for service
problems, ``problem_rate * problem_rate(env)``; ``m_seg`` is ``head_need_mult``
for head customers, ``tail_need_mult`` for the long tail, 1 otherwise. Of the
counter-type business (wealth, credit, service problems) a share
``app_counter_share`` (0.95: the app can serve 95% of counter business types)
keeps its type; the rest becomes "counter" business that only a branch counter
serves. Everyday transfers and inquiries are all app-capable.

Non-financial app visits at bank ``b`` ("high frequency drives low
frequency"): ``Poisson(app_visit_rate * app_scenes[b] * digital * habit_mobile
* w)`` with ``w = 1`` at the primary bank, 0.3 at another held bank, and a
third of that when the account is dormant (0.33 at the primary, 0.1
elsewhere); plus opened pushes: ``Binomial(pushes, push_open * (1 - fatigue))``
with ``pushes ~ Poisson(push_per_week)`` for app users (customers who adopted the
app, :mod:`sim.processes.adoption`). Non-adopters have no app visits. A bonus
hunter's account with one product (opened only for the sign-up bonus, process 8)
draws both, visits and opened pushes, at ``exp(-beta_bonus_hunting)`` times the
rate: the same disinterest that lowers its pull in the channel choice (process 5).

Implementation: one compiled pass over customers (``_draw``, numba, parallel over
fixed chunks of rows), the rule above customer by customer. Draws are
counter-based (:mod:`sim.counter_rng`), stream ``needs``, keyed by the customer's
stable id and the week: slots 0-2 give the six need counts (two a slot, in need
order); at bank ``b``, slot ``3 + 2 b`` gives (app visits, pushes) and slot
``4 + 2 b`` (opened pushes). Poisson and binomial counts by inversion of one
uniform each. Blind pushes (``pushes * push_blind[b]``) are kept as ``float32``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.counter_rng import binomial, poisson, stream_word, uniform2
from sim.nbtypes import _b1, _b2, _f4_1, _f4_2, _f8_1, _i1_1, _i1_2, _i4_2, _i8_2, _u4_1
from sim.population import CH
from sim.rng import STREAMS

PROCESS = STREAMS.index("needs")
#: Rows per chunk of the parallel pass (fixed: the chunks do not depend on the threads).
CHUNK = 2048


@nb.njit(
    nb.void(
        _u4_1,
        nb.uint32,
        nb.uint32,  # key, stream, week
        _f8_1,
        _f8_1,
        _f8_1,
        nb.float64,  # need rates, segment multipliers, app scenes, hunt
        _f8_1,
        _f8_1,
        _f8_1,  # push rate, push open, push blind
        nb.float64,  # app visit rate
        _b1,
        _u4_1,
        _i1_1,
        _f4_1,
        _f4_1,
        _b1,
        _f4_1,  # alive .. adopted, fatigue
        _b2,
        _b2,
        _b2,
        _i1_2,
        _i1_1,  # has, dormant, hunter, products, primary
        _i4_2,
        _i4_2,
        _i4_2,
        _f4_2,
        _i8_2,  # needs, app visits, opened, blind, counts
    ),
    cache=True,
    nogil=True,
    parallel=True,
)
def _draw(
    key, stream, week,
    rates, seg_mult, app_scenes, hunt_mult,
    push_rate, push_open, push_blind, visit_rate,
    alive, uid, segment, digital, mobile_habit, adopted, fatigue,
    has, dormant, hunter, products, primary,
    needs, app_visits, opened, blind, counts,
):  # fmt: skip
    """Needs, app visits and pushes of every customer (see the module docstring)."""
    N, B = has.shape
    K = rates.shape[0]
    for c in nb.prange(counts.shape[0]):
        for n in range(c * CHUNK, min(N, (c + 1) * CHUNK)):
            for k in range(K):
                needs[n, k] = 0
            for b in range(B):
                app_visits[n, b] = 0
                opened[n, b] = 0
                blind[n, b] = 0.0
            if not alive[n]:
                continue
            m = seg_mult[segment[n]]
            for k in range(0, K, 2):
                u0, u1 = uniform2(key, stream, uid[n], week, k // 2)
                needs[n, k] = poisson(m * rates[k], u0)
                if k + 1 < K:
                    needs[n, k + 1] = poisson(m * rates[k + 1], u1)
            engaged = digital[n] * mobile_habit[n] if adopted[n] else 0.0
            for b in range(B):
                if not has[n, b]:
                    continue
                w = 1.0 if primary[n] == b else 0.3
                if dormant[n, b]:
                    w *= 0.1 / 0.3
                hunt = hunt_mult if hunter[n, b] and products[n, b] <= 1 else 1.0
                u_visit, u_push = uniform2(key, stream, uid[n], week, 3 + 2 * b)
                app_visits[n, b] = poisson(visit_rate * app_scenes[b] * engaged * w * hunt, u_visit)
                if adopted[n]:  # pushes reach app users
                    pushes = poisson(push_rate[b], u_push)
                    p_open = min(max(push_open[b] * (1.0 - fatigue[n]) * hunt, 0.0), 1.0)
                    u_open = uniform2(key, stream, uid[n], week, 4 + 2 * b)[0]
                    opened[n, b] = binomial(pushes, p_open, u_open)
                    blind[n, b] = pushes * push_blind[b]
                    counts[c, b] += pushes


def run(model) -> None:
    """Draw needs, app visits and push-driven visits."""
    pop, p, wk, t = model.pop, model.p, model.week, model.t
    beh, env, lev = p.beh, p.env, p.lev
    seg_mult = np.array([beh.head_need_mult, 1.0, beh.tail_need_mult], dtype=np.float64)
    counter_types = np.array(
        [
            beh.wealth_rate * env.need_rate,
            beh.credit_rate * env.need_rate,
            beh.problem_rate * env.problem_rate,
        ]
    )
    app = beh.app_counter_share
    rates = np.array(
        [
            beh.payment_rate * env.need_rate,
            beh.transfer_rate * env.need_rate,
            *(app * counter_types),
            (1.0 - app) * counter_types.sum(),
        ],
        dtype=np.float64,
    )
    N, B = pop.has.shape
    wk.needs = np.empty((N, rates.size), np.int32)
    wk.app_visits = np.empty((N, B), np.int32)
    wk.pushes_opened = np.empty((N, B), np.int32)
    wk.blind_pushes = np.empty((N, B), np.float32)
    pushes = np.zeros(((N + CHUNK - 1) // CHUNK, B), np.int64)
    f8 = lambda x: np.ascontiguousarray(x, np.float64)  # noqa: E731
    _draw(
        model.streams.counter_key, stream_word(PROCESS, 0), np.uint32(t + 1),
        rates, seg_mult, f8(lev.app_scenes), float(np.exp(-beh.beta_bonus_hunting)),
        f8(wk.plan.push_rate), f8(wk.plan.push_open), f8(wk.plan.push_blind),
        float(beh.app_visit_rate),
        pop.alive, pop.uid, pop.segment, pop.digital,
        np.ascontiguousarray(pop.habit[:, CH["mobile"]]), pop.adopted, pop.fatigue,
        pop.has, pop.dormant, pop.hunter, pop.products, pop.primary,
        wk.needs, wk.app_visits, wk.pushes_opened, wk.blind_pushes, pushes,
    )  # fmt: skip
    model.tally.pushes += pushes.sum(axis=0)
    model.tally.app_visits += (wk.app_visits + wk.pushes_opened).sum(axis=0)
