"""8. Switching: primary bank re-chosen, accounts closed (full) and opened (partial); dormancy.

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

Implementation: one compiled pass over customers (``_switch``, numba, parallel over
fixed chunks of rows), the per-customer rule above in the order written: review
the primary, close, open, update dormancy. Per-bank counts are summed per chunk
and then over chunks (integers: identical for any number of threads). Draws are
counter-based (:mod:`sim.counter_rng`), stream ``switching``, keyed by the
customer's stable id and the week: slot 0 holds ``(u_review, u_pick)``, slot 1
``u_close``, slot ``2 + b`` ``(u_open, u_hunt)`` at bank ``b``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.counter_rng import stream_word, uniform2
from sim.nbtypes import _b1, _b2, _f4_1, _f4_2, _f8_1, _f8_2, _i1_1, _i1_2, _i2_2, _i8_3, _u4_1
from sim.population import NEVER
from sim.rng import STREAMS

PROCESS = STREAMS.index("switching")
#: Rows per chunk of the parallel pass (fixed: the chunks do not depend on the threads).
CHUNK = 2048
#: Per-bank counts of the pass, rows of ``counts``.
CLOSES, OPENS, INCENTIVE, REFERRAL, SCENE, REACTIVATED = range(6)
#: Scalars of the pass, in the order of ``par``.
PAR = (
    "primary_review",
    "primary_scale",
    "primary_margin",
    "switching_ease",
    "beta_close_satisfaction",
    "beta_close_products",
    "beta_close_bond",
    "beta_close_dormant",
    "beta_close_rewards",
    "close_base",
    "bonus_elasticity",
    "open_base",
    "beta_wom",
    "touch_conversion",
    "scene_conversion",
    "platform_scene_reach",
    "dormancy_weeks",
)
#: Per-bank vectors of the pass, rows of ``bank``.
BANK = (
    "brand",
    "rewards",
    "onboarding_friction",
    "signup_bonus",
    "prospect_rate",
    "scene_partnerships",
)


@nb.njit(nb.float64(_f4_2, _f4_2, _i1_2, _b2, _f8_1, nb.int64, nb.int64), cache=True, nogil=True)
def _score(sat, bond, products, dormant, brand, n, b):
    """``score = sat + bond + 0.3 * log(products) - dormant + brand`` of account (n, b)."""
    return (
        sat[n, b]
        + bond[n, b]
        + 0.3 * np.log(max(products[n, b], 1))
        - (1.0 if dormant[n, b] else 0.0)
        + brand[b]
    )


@nb.njit(
    nb.void(
        _u4_1,
        nb.uint32,
        nb.uint32,
        nb.int64,
        _f8_1,
        _f8_2,  # key, stream, week, t, par, bank
        _b1,
        _u4_1,
        _f4_1,
        _f4_1,  # alive, uid, deal, scene_user
        _f4_2,
        _f4_2,  # wom, referral
        _b2,
        _i1_2,
        _f4_2,
        _f4_2,
        _f4_2,
        _b2,
        _b2,
        _b2,
        _i2_2,
        _i2_2,
        _i1_1,  # state
        _i1_2,
        _i8_3,  # opened (0 no, 1 organic, 2 incentive), counts per chunk
    ),
    cache=True,
    nogil=True,
    parallel=True,
)
def _switch(
    key, stream, week, t, par, bank,
    alive, uid, deal, scene_user, wom, referral,
    has, products, sat, bond, points, incentive, hunter, dormant, ti_open, ti_last, primary,
    opened, counts,
):  # fmt: skip
    """The switching rule of every customer (see the module docstring)."""
    N, B = has.shape
    review, scale, margin, sw_ease = par[0], par[1], par[2], par[3]
    b_sat, b_prod, b_bond, b_dorm, b_rew, close_base = (
        par[4],
        par[5],
        par[6],
        par[7],
        par[8],
        par[9],
    )
    bonus_el, open_base, beta_wom, touch_conv, scene_conv, reach = (
        par[10], par[11], par[12], par[13], par[14], par[15],
    )  # fmt: skip
    dormancy_weeks = par[16]
    brand, rewards, friction, signup, prospect, scenes = (
        bank[0], bank[1], bank[2], bank[3], bank[4], bank[5],
    )  # fmt: skip
    ease = np.exp(sw_ease)
    for c in nb.prange(counts.shape[0]):
        for n in range(c * CHUNK, min(N, (c + 1) * CHUNK)):
            for b in range(B):
                opened[n, b] = 0
            if alive[n]:
                u_review, u_pick = uniform2(key, stream, uid[n], week, 0)
                u_close = uniform2(key, stream, uid[n], week, 1)[0]
                # primary: a logit over the held banks, the incumbent favoured by the margin
                if u_review < review:
                    cur = primary[n]
                    vmax = -np.inf
                    for b in range(B):
                        if has[n, b]:
                            v = scale * (
                                _score(sat, bond, products, dormant, brand, n, b)
                                + (margin if b == cur else 0.0)
                            )
                            vmax = max(vmax, v)
                    total = 0.0
                    for b in range(B):
                        if has[n, b]:
                            v = scale * (
                                _score(sat, bond, products, dormant, brand, n, b)
                                + (margin if b == cur else 0.0)
                            )
                            total += np.exp(v - vmax)
                    target = u_pick * total
                    cdf = 0.0
                    pick = 0
                    for b in range(B):
                        if has[n, b]:
                            v = scale * (
                                _score(sat, bond, products, dormant, brand, n, b)
                                + (margin if b == cur else 0.0)
                            )
                            cdf += np.exp(v - vmax)
                        if cdf < target:
                            pick += 1
                    primary[n] = min(pick, B - 1)
                # full switching: any held account of a customer holding two or more
                held = 0
                top1 = -np.inf
                top2 = -np.inf
                for b in range(B):
                    if has[n, b]:
                        held += 1
                        s = nb.float64(sat[n, b])
                        if s > top1:
                            top1, top2 = s, top1
                        elif s > top2:
                            top2 = s
                if held >= 2:
                    left = 0
                    for b in range(B):
                        if has[n, b]:
                            s = nb.float64(sat[n, b])
                            best_other = top2 if s >= top1 else top1
                            L = (
                                sw_ease
                                + b_sat * (best_other - s)
                                - b_prod * (products[n, b] - 1)
                                - b_bond * bond[n, b]
                                + (b_dorm if dormant[n, b] else 0.0)
                                - b_rew * rewards[b] * deal[n]
                                - brand[b]
                            )
                            p_close = 1.0 - np.exp(-close_base * np.exp(min(L, 20.0)))
                            if u_close < p_close:
                                opened[n, b] = -1  # marks closing (reset below)
                            else:
                                left += 1
                    if left == 0:  # closing them all keeps the primary
                        opened[n, primary[n]] = 0
                    lost = opened[n, primary[n]] == -1
                    for b in range(B):
                        if opened[n, b] == -1:
                            has[n, b] = False
                    if lost:  # the best-scoring remaining bank becomes primary
                        best, arg = -np.inf, 0
                        for b in range(B):
                            if has[n, b]:
                                sc = _score(sat, bond, products, dormant, brand, n, b)
                                if sc > best:
                                    best, arg = sc, b
                        primary[n] = arg
                    for b in range(B):
                        if opened[n, b] == -1:
                            products[n, b] = 0
                            points[n, b] = 0.0
                            dormant[n, b] = False
                            incentive[n, b] = False
                            hunter[n, b] = False
                            counts[c, CLOSES, b] += 1
                # partial switching: competing hazards at each bank not held
                in_scene = scene_user[n] < reach
                for b in range(B):
                    if has[n, b] or opened[n, b] == -1:
                        continue
                    fr = friction[b]
                    bonus = 1.0 + bonus_el * signup[b] * deal[n]
                    h_org = ease * (1.0 - 0.5 * fr) * (open_base + beta_wom * wom[n, b])
                    h_org = min(max(h_org, 0.0), 1.0)
                    h_touch = 1.0 - np.exp(-prospect[b] * touch_conv * ease * bonus * (1.0 - fr))
                    h_scene = (
                        scene_conv
                        * ease
                        * scenes[b]
                        * bonus
                        * (1.0 - 0.5 * fr)
                        * (1.0 if in_scene else 0.0)
                    )
                    h_ref = ease * referral[n, b]
                    ct = min(max(h_touch, 0.0), 1.0)
                    cs = min(max(h_scene, 0.0), 1.0)
                    cr = min(max(h_ref, 0.0), 1.0)
                    p_inc = 1.0 - (1.0 - ct) * (1.0 - cs) * (1.0 - cr)
                    P = 1.0 - (1.0 - h_org) * (1.0 - p_inc)
                    u_open, u_hunt = uniform2(key, stream, uid[n], week, 2 + b)
                    if u_open >= P:
                        continue
                    # the incentive part of P splits into referral, then scene, then touch
                    inc_cut = P * p_inc / max(h_org + p_inc, 1e-12)
                    is_inc = u_open < inc_cut
                    h_all = max(h_touch + h_scene + h_ref, 1e-12)
                    is_ref = is_inc and u_open < inc_cut * (cr / h_all)
                    is_scene = is_inc and not is_ref and u_open < inc_cut * ((cr + cs) / h_all)
                    has[n, b] = True
                    products[n, b] = 1
                    sat[n, b] = 0.5
                    bond[n, b] = 0.0
                    points[n, b] = 0.0
                    dormant[n, b] = False
                    incentive[n, b] = is_inc
                    # bonus hunters: the part of an incentive opening due to the bonus alone
                    hunter[n, b] = is_inc and u_hunt < 1.0 - 1.0 / bonus
                    ti_open[n, b] = t
                    ti_last[n, b] = t
                    opened[n, b] = 2 if is_inc else 1
                    counts[c, OPENS, b] += 1
                    counts[c, INCENTIVE, b] += 1 if is_inc else 0
                    counts[c, REFERRAL, b] += 1 if is_ref else 0
                    counts[c, SCENE, b] += 1 if is_scene else 0
                for b in range(B):
                    if opened[n, b] == -1:
                        opened[n, b] = 0
            # dormancy (every row: a free row holds no account)
            for b in range(B):
                was = dormant[n, b]
                now = (
                    has[n, b]
                    and ti_last[n, b] != NEVER
                    and t - nb.int64(ti_last[n, b]) >= dormancy_weeks
                )
                dormant[n, b] = now
                if was and has[n, b] and not now:
                    counts[c, REACTIVATED, b] += 1


def run(model) -> None:
    """Re-choose primaries, close and open accounts, update dormancy (one compiled pass)."""
    pop, p, wk, tally, t = model.pop, model.p, model.week, model.tally, model.t
    beh, lev, env = p.beh, p.lev, p.env
    N, B = pop.has.shape
    scalar = {k: getattr(env if k == "platform_scene_reach" else beh, k) for k in PAR}
    par = np.array([float(scalar[k]) for k in PAR], dtype=np.float64)
    vec = {
        "brand": p.brand,
        "rewards": lev.rewards,
        "onboarding_friction": lev.onboarding_friction,
        "signup_bonus": lev.signup_bonus,
        "prospect_rate": wk.plan.prospect_rate,
        "scene_partnerships": lev.scene_partnerships,
    }
    bank = np.ascontiguousarray(np.stack([np.asarray(vec[k], np.float64) for k in BANK]))
    opened = np.empty((N, B), np.int8)
    counts = np.zeros(((N + CHUNK - 1) // CHUNK, 6, B), np.int64)
    _switch(
        model.streams.counter_key, stream_word(PROCESS, 0), np.uint32(t + 1), t, par, bank,
        pop.alive, pop.uid, pop.deal, pop.scene_user,
        np.ascontiguousarray(wk.wom, np.float32), np.ascontiguousarray(wk.referral, np.float32),
        pop.has, pop.products, pop.sat, pop.bond, pop.points, pop.incentive, pop.hunter,
        pop.dormant, pop.ti_open, pop.ti_last, pop.primary,
        opened, counts,
    )  # fmt: skip
    total = counts.sum(axis=0)
    tally.closes += total[CLOSES]
    tally.opens += total[OPENS]
    tally.opens_incentive += total[INCENTIVE]
    tally.bonus_paid += total[INCENTIVE] * lev.signup_bonus
    tally.referral_paid += total[REFERRAL] * lev.referral_bonus
    tally.acquisition_spend += total[SCENE] * lev.scene_partnerships * beh.scene_fee
    tally.reactivations += total[REACTIVATED]
    nz_n, nz_b = np.nonzero(opened)
    model.record_openings(nz_n, nz_b, opened[nz_n, nz_b] == 2)
