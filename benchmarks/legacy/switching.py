"""The NumPy switching process as it was before the compiled pass (issue 14), kept for
``benchmarks/equivalence.py`` to compare against; not used by the model.

8. Switching: primary bank re-chosen, accounts closed (full) and opened (partial); dormancy.

Primary: each week a customer reviews its primary bank with probability
``primary_review``; a reviewing customer picks among the banks it holds with
the logit probabilities ``P[b] ~ exp(primary_scale * (score[b] + primary_margin *
[b current primary]))``, ``score = sat + bond + 0.3 * log(products) - dormant + brand[b]``
(random utility: the better bank wins more often, never always, so market shares
settle at a steady mix rather than drifting to the best bank).

Full switching (closing): any held account of a customer holding two or more,
the primary included (leaving one's main bank is a complete switch too), closes
with probability
``1 - exp(-close_base * exp(L))`` where
``L = switching_ease + beta_close_satisfaction * (best other sat - sat)
- beta_close_products * (products - 1) - beta_close_bond * bond
+ beta_close_dormant * dormant - beta_close_rewards * rewards[b] * deal - brand[b]``.
The closing draws are shared by a customer's accounts (one uniform ``u[n]`` per
customer and week; the account closes when ``u[n] < P[n, b]``): a customer who acts
closes, in one clean-up, every account bad enough at once, so closings concentrate
on fewer customers than independent draws would give (the expected number of
closings is unchanged). A customer keeps at least one account (when every draw says
close, the primary stays); a customer whose primary closed takes the best-scoring remaining bank
as its primary (``score`` as below, without the incumbent's margin).

Partial switching (opening at a bank not held), as competing hazards, each
multiplied by ``ease = exp(switching_ease)`` (the procedure is as easy to
join as to leave: ``switching_ease`` raises closing through ``L`` and opening
through ``ease``):

* organic, Bass-like: ``ease * (1 - 0.5 * friction[b]) * (open_base + beta_wom *
  wom[n,b])``, an innovation part (``open_base``) and an imitation part: word of
  mouth ``wom[n,b]``, the mean over ``n``'s ties of their satisfaction with bank
  ``b`` where ``b`` is their primary bank (process 7);
* prospect touches: ``1 - exp(-prospect_rate[b] * touch_conversion * ease * bonus
  * (1 - friction[b]))`` with ``bonus = 1 + bonus_elasticity * signup_bonus[b] * deal``;
* partner scenes: ``scene_conversion * ease * scene_partnerships[b] * bonus *
  (1 - 0.5 * friction[b])`` for customers in partner scenes;
* referral: ``ease * referral[n,b]`` (process 7).

One uniform ``u`` per (customer, bank) decides: open if ``u < P`` (the
combined probability); the cause is incentive-driven (touches, scenes,
referral) when ``u`` falls in the incentive part of ``P``, which splits in
proportion to the three hazards: referral first, then scene, then touch.
An incentive opening is a bonus hunt (``hunter``: opened only to claim the
bonus, used little after; process 5) with probability ``1 - 1 / bonus``, the
share of its pull due to the bonus: a bigger bonus draws more hunters, so the
new accounts' one-month retention falls (seed 000: sign-up bonuses are costly
and leaky). Incentive openings pay the sign-up bonus, referrals the referral bonus too,
scene openings the partner's fee (``scene_fee * scene_partnerships[b]``).

Dormancy: ``dormant = has & (t - ti_last >= dormancy_weeks)``.
"""

from __future__ import annotations

import numpy as np

from sim.population import NEVER


def primary_score(pop, rows: np.ndarray, brand: np.ndarray) -> np.ndarray:
    """``score = sat + bond + 0.3 * log(products) - dormant + brand`` of ``rows``, per bank."""
    return (
        pop.sat[rows]
        + pop.bond[rows]
        + 0.3 * np.log(np.maximum(pop.products[rows], 1))
        - pop.dormant[rows]
        + brand[None, :]
    )


def run(model) -> None:
    """Re-choose primaries, close and open accounts, update dormancy."""
    pop, p, wk, tally, t = model.pop, model.p, model.week, model.tally, model.t
    beh, lev, env = p.beh, p.lev, p.env
    N, B = pop.has.shape
    rng = model.stream("switching")
    # one draw per customer for all its accounts: closings come in clean-ups
    u_close = rng.random(N, dtype=np.float32)[:, None]
    u_open = rng.random((N, B), dtype=np.float32)
    rows = np.arange(N)
    u_review = model.stream("switching", 1).random(N, dtype=np.float32)
    u_pick = model.stream("switching", 2).random(N, dtype=np.float32)

    # primary bank: reviewed now and then, chosen by a logit over held banks
    rev = np.flatnonzero(pop.alive & (u_review < beh.primary_review))
    if rev.size:
        has_r = pop.has[rev]
        score = primary_score(pop, rev, p.brand)
        score[np.arange(rev.size), pop.primary[rev]] += beh.primary_margin
        v = np.where(has_r, beh.primary_scale * score, -np.inf)
        w = np.exp(v - v.max(axis=1, keepdims=True))
        cdf = np.cumsum(w, axis=1)
        pick = (cdf < (u_pick[rev] * cdf[:, -1])[:, None]).sum(axis=1)
        pop.primary[rev] = np.minimum(pick, B - 1).astype(pop.primary.dtype)

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
        - p.brand[None, :]
    )
    p_close = 1.0 - np.exp(-beh.close_base * np.exp(np.minimum(L, 20.0)))
    is_primary = pop.primary[:, None] == np.arange(B)[None, :]
    eligible = pop.has & (pop.has.sum(axis=1) >= 2)[:, None]
    close = eligible & (u_close < p_close)
    # a customer keeps at least one account: closing them all keeps the primary
    none_left = ~(pop.has & ~close).any(axis=1)
    close[none_left] &= ~is_primary[none_left]
    pop.has[close] = False
    lost = np.flatnonzero(close[rows, pop.primary])
    if lost.size:  # the primary closed: the best-scoring remaining bank becomes primary
        sc = primary_score(pop, lost, p.brand)
        pop.primary[lost] = np.argmax(np.where(pop.has[lost], sc, -np.inf), axis=1)
    pop.products[close] = 0
    pop.points[close] = 0.0
    pop.dormant[close] = False
    pop.incentive[close] = False
    pop.hunter[close] = False
    tally.closes += close.sum(axis=0)

    # partial switching
    friction = lev.onboarding_friction[None, :]
    ease = float(np.exp(beh.switching_ease))
    bonus = 1.0 + beh.bonus_elasticity * lev.signup_bonus[None, :] * pop.deal[:, None]
    h_org = ease * (1.0 - 0.5 * friction) * (beh.open_base + beh.beta_wom * wk.wom)
    h_touch = 1.0 - np.exp(
        -wk.plan.prospect_rate[None, :] * beh.touch_conversion * ease * bonus * (1.0 - friction)
    )
    in_scene = (pop.scene_user < env.platform_scene_reach)[:, None]
    h_scene = (
        beh.scene_conversion
        * ease
        * lev.scene_partnerships[None, :]
        * bonus
        * (1.0 - 0.5 * friction)
        * in_scene
    )
    h_ref = ease * wk.referral
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
    # bonus hunters: the part of an incentive opening that is due to the bonus alone
    inc_n, inc_b = np.nonzero(incentive)
    hunt_share = 1.0 - 1.0 / bonus[inc_n, inc_b]
    hunt = model.stream("switching", 3).random(inc_n.size) < hunt_share
    pop.hunter[opened] = False
    pop.hunter[inc_n[hunt], inc_b[hunt]] = True
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
