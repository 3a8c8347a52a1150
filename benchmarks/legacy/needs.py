"""The NumPy needs process as it was before the compiled pass (issue 14), kept for
``benchmarks/equivalence.py`` to compare against; not used by the model.

4. Needs: this week's financial needs and non-financial app visits.

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
"""

from __future__ import annotations

import numpy as np

from sim.population import CH


def run(model) -> None:
    """Draw needs, app visits and push-driven visits."""
    pop, p, wk = model.pop, model.p, model.week
    rng = model.stream("needs")
    beh, env, lev = p.beh, p.env, p.lev
    seg_mult = np.array([beh.head_need_mult, 1.0, beh.tail_need_mult], dtype=np.float32)
    m = seg_mult[pop.segment] * pop.alive
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
        dtype=np.float32,
    )
    wk.needs = rng.poisson(m[:, None] * rates[None, :]).astype(np.int32)

    B = pop.n_banks
    is_primary = pop.primary[:, None] == np.arange(B)[None, :]
    w = np.where(is_primary, 1.0, 0.3) * np.where(pop.dormant, 0.1 / 0.3, 1.0) * pop.has
    engaged = (pop.digital * pop.habit[:, CH["mobile"]] * pop.adopted)[:, None]
    hunt = np.where(pop.hunter & (pop.products <= 1), np.exp(-beh.beta_bonus_hunting), 1.0)
    lam = beh.app_visit_rate * lev.app_scenes[None, :] * engaged * w * hunt
    wk.app_visits = model.stream("needs", 1).poisson(lam.astype(np.float32)).astype(np.int32)

    app_user = pop.has & pop.adopted[:, None]
    rng_push = model.stream("needs", 2)
    pushes = rng_push.poisson(np.where(app_user, wk.plan.push_rate[None, :], 0.0))
    p_open = wk.plan.push_open[None, :] * (1.0 - pop.fatigue)[:, None] * hunt
    opened = rng_push.binomial(pushes, np.clip(p_open, 0.0, 1.0))
    wk.pushes_opened = opened.astype(np.int32)
    wk.blind_pushes = pushes * wk.plan.push_blind[None, :]
    model.tally.pushes += pushes.sum(axis=0)
    model.tally.app_visits += (wk.app_visits + wk.pushes_opened).sum(axis=0)
