"""8. Switching: primary bank re-chosen, accounts closed (full) and opened (partial); dormancy.

Primary: ``score = sat + bond + 0.3 * log(products) - dormant``; the customer
moves its primary to the best-scoring held bank when that beats the current
primary by more than ``primary_margin``.

Full switching (closing): a held account other than the primary, of a
customer holding two or more, closes with probability
``1 - exp(-close_base * exp(L))`` where
``L = switching_ease + beta_close_satisfaction * (best other sat - sat)
- beta_close_products * (products - 1) - beta_close_bond * bond
+ beta_close_dormant * dormant - beta_close_rewards * rewards[b] * deal``.

Partial switching (opening at a bank not held), as competing hazards:

* organic: ``open_base * (1 - 0.5 * friction[b]) * exp(beta_wom * wom[n,b])``;
* prospect touches: ``1 - exp(-prospect_rate[b] * touch_conversion * bonus * (1 - friction[b]))``
  with ``bonus = 1 + bonus_elasticity * signup_bonus[b] * deal``;
* partner scenes: ``scene_conversion * scene_partnerships[b] * bonus *
  (1 - 0.5 * friction[b])`` for customers in partner scenes;
* referral: ``referral[n,b]`` (process 7).

One uniform ``u`` per (customer, bank) decides: open if ``u < P`` (the
combined probability); the cause is incentive-driven (touches, scenes,
referral) when ``u`` falls in the incentive part of ``P``, which splits in
proportion to the three hazards: referral first, then scene, then touch.
Incentive openings pay the sign-up bonus, referrals the referral bonus too,
scene openings the partner's fee (``scene_fee * scene_partnerships[b]``).

Dormancy: ``dormant = has & (t - ti_last >= dormancy_weeks)``.
"""

from __future__ import annotations

import numpy as np

from sim.population import NEVER


def run(model) -> None:
    """Re-choose primaries, close and open accounts, update dormancy."""
    pop, p, wk, tally, t = model.pop, model.p, model.week, model.tally, model.t
    beh, lev, env = p.beh, p.lev, p.env
    N, B = pop.has.shape
    rng = model.stream("switching")
    u_close = rng.random((N, B), dtype=np.float32)
    u_open = rng.random((N, B), dtype=np.float32)
    rows = np.arange(N)

    # primary bank
    score = pop.sat + pop.bond + 0.3 * np.log(np.maximum(pop.products, 1)) - pop.dormant
    score = np.where(pop.has, score, -np.inf)
    best = np.argmax(score, axis=1)
    cur = score[rows, pop.primary]
    move = pop.alive & (score[rows, best] > cur + beh.primary_margin)
    pop.primary[move] = best[move]

    # full switching
    sat_m = np.where(pop.has, pop.sat, -np.inf)
    top2 = -np.partition(-sat_m, 1, axis=1)[:, :2] if B > 1 else np.stack([sat_m[:, 0]] * 2, 1)
    best_other = np.where(sat_m >= top2[:, :1], top2[:, 1:2], top2[:, :1])
    best_other = np.where(np.isfinite(best_other), best_other, pop.sat)  # no alternative
    L = (
        beh.switching_ease
        + beh.beta_close_satisfaction * (best_other - pop.sat)
        - beh.beta_close_products * (pop.products - 1)
        - beh.beta_close_bond * pop.bond
        + beh.beta_close_dormant * pop.dormant
        - beh.beta_close_rewards * lev.rewards[None, :] * pop.deal[:, None]
    )
    p_close = 1.0 - np.exp(-beh.close_base * np.exp(np.minimum(L, 20.0)))
    is_primary = pop.primary[:, None] == np.arange(B)[None, :]
    eligible = pop.has & ~is_primary & (pop.has.sum(axis=1) >= 2)[:, None]
    close = eligible & (u_close < p_close)
    pop.has[close] = False
    pop.products[close] = 0
    pop.points[close] = 0.0
    pop.dormant[close] = False
    pop.incentive[close] = False
    tally.closes += close.sum(axis=0)

    # partial switching
    friction = lev.onboarding_friction[None, :]
    bonus = 1.0 + beh.bonus_elasticity * lev.signup_bonus[None, :] * pop.deal[:, None]
    h_org = beh.open_base * (1.0 - 0.5 * friction) * np.exp(beh.beta_wom * wk.wom)
    h_touch = 1.0 - np.exp(
        -wk.plan.prospect_rate[None, :] * beh.touch_conversion * bonus * (1.0 - friction)
    )
    in_scene = (pop.scene_user < env.platform_scene_reach)[:, None]
    h_scene = (
        beh.scene_conversion
        * lev.scene_partnerships[None, :]
        * bonus
        * (1.0 - 0.5 * friction)
        * in_scene
    )
    h_ref = wk.referral
    p_inc = 1.0 - (1.0 - np.clip(h_touch, 0, 1)) * (1.0 - np.clip(h_scene, 0, 1)) * (
        1.0 - np.clip(h_ref, 0, 1)
    )
    h_org = np.clip(h_org, 0.0, 1.0)
    P = 1.0 - (1.0 - h_org) * (1.0 - p_inc)
    can = pop.alive[:, None] & ~pop.has & ~close
    opened = can & (u_open < P)
    inc_share = p_inc / np.maximum(h_org + p_inc, 1e-12)
    incentive = opened & (u_open < P * inc_share)
    h_all = np.maximum(h_touch + h_scene + h_ref, 1e-12)
    ref_part = np.clip(h_ref, 0, 1) / h_all
    scene_part = np.clip(h_scene, 0, 1) / h_all
    # the incentive interval of u_open splits into referral, then scene, then touch
    referral = incentive & (u_open < P * inc_share * ref_part)
    via_scene = incentive & ~referral & (u_open < P * inc_share * (ref_part + scene_part))
    pop.has[opened] = True
    pop.products[opened] = 1
    pop.sat[opened] = 0.5
    pop.bond[opened] = 0.0
    pop.points[opened] = 0.0
    pop.dormant[opened] = False
    pop.incentive[opened] = incentive[opened]
    pop.ti_open[opened] = t
    pop.ti_last[opened] = t
    tally.opens += opened.sum(axis=0)
    tally.opens_incentive += incentive.sum(axis=0)
    n_inc = incentive.sum(axis=0)
    n_ref = referral.sum(axis=0)
    tally.bonus_paid += n_inc * lev.signup_bonus
    tally.referral_paid += n_ref * lev.referral_bonus
    tally.acquisition_spend += via_scene.sum(axis=0) * lev.scene_partnerships * beh.scene_fee
    nz_n, nz_b = np.nonzero(opened)
    model.record_openings(nz_n, nz_b, incentive[nz_n, nz_b])

    # dormancy
    was = pop.dormant.copy()
    since = t - pop.ti_last.astype(np.int32)
    pop.dormant[:] = pop.has & (pop.ti_last != NEVER) & (since >= beh.dormancy_weeks)
    tally.reactivations += (was & pop.has & ~pop.dormant).sum(axis=0)
