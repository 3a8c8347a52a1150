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
"""

from __future__ import annotations

import numpy as np

from sim.levers import LEVERS


def run(model) -> None:
    """Book the week's revenue, costs and marketing spend per bank."""
    pop, p, wk, tally = model.pop, model.p, model.week, model.tally
    beh, lev = p.beh, p.lev
    products = np.where(pop.has, pop.products, 0).sum(axis=0)
    tally.revenue += beh.revenue_per_product * products + beh.revenue_per_payment * (
        tally.bank_payments
    )
    tally.cost_to_serve += tally.contacts @ beh.cost_per_contact[: tally.contacts.shape[1]]
    tally.cost_to_serve += tally.rm_contacts * beh.cost_rm_contact
    customers = pop.has.sum(axis=0)
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
    reward_per_contact = beh.cost_reward_point * lev.rewards
    pop.points += (wk.contacts * reward_per_contact[None, :]).astype(np.float32)
    tally.rewards_paid += wk.contacts.sum(axis=0) * reward_per_contact
    tally.acquisition_spend += (
        wk.plan.prospect_touches * beh.cost_prospect_touch + tally.bonus_paid + tally.referral_paid
    )
    tally.retention_spend += (
        tally.offers_shown * beh.cost_existing_touch
        + tally.pushes * beh.cost_push
        + tally.rewards_paid
        + wk.reactivation_contacts * beh.cost_existing_touch
    )
