"""9. Accounting per bank.

* revenue: ``revenue_per_product * products + revenue_per_payment * bank payments``;
* cost to serve: ``sum_c contacts[b, c] * cost_per_contact[c]
  + rm_contacts * cost_rm_contact + branch_fixed_cost * branch_network * customers``
  (running the branch network);
* acquisition spend: ``prospect_touches * cost_prospect_touch`` + sign-up and
  referral bonuses + partner-scene fees (``scene_fee * scene_partnerships``
  per account opened through a partner scene, charged in switching);
* retention spend: ``offers shown to customers * cost_existing_touch + pushes *
  cost_push + rewards + reactivation contacts * cost_existing_touch``;
* rewards: ``cost_reward_point * rewards[b]`` per contact, accrued as points;
* lever costs (:mod:`sim.levers`, ``market.costs``): running
  ``sum_l level_l[b] * (weekly_l / scale + per_customer_l * customers[b])`` and, in
  week 0 of a recorded run, the focal bank's one-off investment
  ``sum_l invest_l / scale * max(level_l(strategy) - level_l(status quo), 0)``, where
  ``level`` is the lever's value (``hi - value`` for onboarding friction), ``scale``
  the real customers per simulated customer and the status quo the spin-up
  strategy (the bank at rest); plus any investment due that week per bank
  (``params.invest_due[t]``: the team game's lever changes between rounds). Money
  is thus in simulated units throughout: times ``scale`` it is the bank's at its
  real size.

Profit = revenue - cost to serve - acquisition spend - retention spend - lever
costs - investment.

Implementation: the only per-customer work (each bank's accounts, products held
and contacts; reward points accrued, ``points[n,b] += reward_per_contact[b] *
contacts[n,b]``) is one compiled pass (``_accounts``, numba, parallel over fixed
chunks of rows, per-chunk counts added in chunk order); the rest is per bank.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.levers import LEVERS
from sim.nbtypes import _b2, _f4_2, _f8_1, _i1_2, _i4_2, _i8_3

#: Rows per chunk (fixed: the chunks do not depend on the threads).
CHUNK = 4096
#: Per-bank counts of the pass, rows of ``counts``.
ACCOUNTS, PRODUCTS, CONTACTS = range(3)


@nb.njit(nb.void(_b2, _i1_2, _i4_2, _f8_1, _f4_2, _i8_3), cache=True, nogil=True, parallel=True)
def _accounts(has, products, contacts, reward_per_contact, points, counts):
    """Accounts, products and contacts per bank and chunk; reward points accrue."""
    N, B = has.shape
    for c in nb.prange(counts.shape[0]):
        for n in range(c * CHUNK, min(N, (c + 1) * CHUNK)):
            for b in range(B):
                k = contacts[n, b]
                if k:
                    counts[c, CONTACTS, b] += k
                    points[n, b] += np.float32(k * reward_per_contact[b])
                if has[n, b]:
                    counts[c, ACCOUNTS, b] += 1
                    counts[c, PRODUCTS, b] += products[n, b]


def run(model) -> None:
    """Book the week's revenue, costs and marketing spend per bank."""
    pop, p, wk, tally = model.pop, model.p, model.week, model.tally
    beh, lev = p.beh, p.lev
    reward_per_contact = beh.cost_reward_point * np.asarray(lev.rewards, np.float64)
    N, B = pop.has.shape
    counts = np.zeros((max((N + CHUNK - 1) // CHUNK, 1), 3, B), np.int64)
    _accounts(pop.has, pop.products, wk.contacts, reward_per_contact, pop.points, counts)
    customers, products, contacts = counts.sum(axis=0)
    tally.revenue += beh.revenue_per_product * products + beh.revenue_per_payment * (
        tally.bank_payments
    )
    tally.cost_to_serve += tally.contacts @ beh.cost_per_contact[: tally.contacts.shape[1]]
    tally.cost_to_serve += tally.rm_contacts * beh.cost_rm_contact
    costs = model.params.costs
    for lv in LEVERS:
        level = lv.level(getattr(lev, lv.name))
        tally.lever_cost += level * (
            costs.weekly[lv.name] + costs.per_customer[lv.name] * customers
        )
    if model.t == 0 and model.recording:
        tally.investment[0] += costs.invest_total
    due = model.params.invest_due.get(model.t)
    if due is not None:
        tally.investment += due
    tally.cost_to_serve += beh.branch_fixed_cost * lev.branch_network * customers
    tally.rewards_paid += contacts * reward_per_contact
    tally.acquisition_spend += (
        wk.plan.prospect_touches * beh.cost_prospect_touch + tally.bonus_paid + tally.referral_paid
    )
    tally.retention_spend += (
        tally.offers_shown * beh.cost_existing_touch
        + tally.pushes * beh.cost_push
        + tally.rewards_paid
        + wk.reactivation_contacts * beh.cost_existing_touch
    )
