"""The NumPy response process as it was before the compiled pass (issue 14), kept for
``benchmarks/equivalence.py`` to compare against; not used by the model.

7. Marketing response: offers, cross-sell, reactivation and referrals.

Offers shown to customer ``n`` by bank ``b`` this week:
``offers ~ Poisson(cross_sell[b] * touch_mult[b] * contacts[n,b]
+ event_offers[b] * events[n])`` with ``events ~ Poisson(event_rate)``.
Relevant offers ``~ Binomial(offers, relevance[b])`` (event offers count
twice as relevant: relevance ``min(1, 2 * relevance)``); accepted
``~ Binomial(relevant, accept_relevant * (1 + low_threshold_products[b] *
[long tail]))`` plus ``Binomial(irrelevant, accept_irrelevant)``. Each
acceptance adds a product (at most ``max_products``); each irrelevant offer
costs ``wrong_offer_penalty`` satisfaction.

Wealth and credit needs served add a product with probability
``product_from_need``; products lapse at ``product_lapse`` each (the account
itself stays).

Relationship managers: a head or mid customer has one at bank ``b`` when
``rm_draw < rm_coverage[b]``; the RM reaches out with probability 0.25 a week:
a human remote contact (``bond += bond_gain * (1 - bond)``) with a relevant offer.

Reactivation: a dormant account is contacted with probability
``reactivation[b] / 4`` a week and comes back with ``reactivation_success``.

Referrals: the hazard that a tie brings customer ``n`` to bank ``b`` is
``referral_rate * referral_bonus[b] / 100 * share of n's ties who hold b and
are satisfied (sat > 0.5)``. Word of mouth ``wom[n,b]`` is the mean over
``n``'s ties of ``sat`` at their primary bank ``b`` (0 for other banks).
"""

from __future__ import annotations

import numpy as np

from sim.population import CH


def run(model) -> None:
    """Show offers, apply acceptances, reactivate, compute referral and WOM pressure."""
    pop, p, wk, tally, t = model.pop, model.p, model.week, model.tally, model.t
    beh, lev = p.beh, p.lev
    plan = wk.plan
    N, B = pop.has.shape
    rng = model.stream("response")
    events = rng.poisson(beh.event_rate, N)

    tail = (pop.segment == 2)[:, None]
    has_rm = (
        (pop.rm_draw[:, None] < lev.rm_coverage[None, :]) & (pop.segment < 2)[:, None] & pop.has
    )
    rm_contact = has_rm & (rng.random((N, B)) < 0.25)
    tally.rm_contacts += rm_contact.sum(axis=0)
    # a human contact: it grows the bond like one in the experience process
    pop.bond += (beh.bond_gain * rm_contact * (1.0 - pop.bond)).astype(np.float32)
    wk.contacts += rm_contact
    pop.ti_last[rm_contact] = t
    tally.contacts[:, CH["remote"]] += rm_contact.sum(axis=0)

    lam_cross = lev.cross_sell[None, :] * plan.touch_mult[None, :] * wk.contacts
    lam_event = lev.event_offers[None, :] * events[:, None]
    lam = np.where(pop.has, lam_cross + lam_event, 0.0)
    r1 = model.stream("response", 1)
    # draw only where offers can be shown (most accounts get none in a week)
    idx = np.flatnonzero(lam)
    shown_f = r1.poisson(lam.ravel()[idx])
    ev_share = (
        lam_event.ravel()
        if lam_event.size == lam.size
        else np.broadcast_to(lam_event, lam.shape).ravel()
    )[idx] / lam.ravel()[idx]
    n_event = r1.binomial(shown_f, ev_share)
    b_idx = idx % B
    rel = plan.relevance[b_idx]
    relevant_f = r1.binomial(shown_f - n_event, rel) + r1.binomial(
        n_event, np.minimum(2 * rel, 1.0)
    )
    tail_f = tail.ravel()[idx // B] if tail.shape[1] == 1 else tail.ravel()[idx]
    p_acc = np.clip(
        beh.accept_relevant * (1.0 + lev.low_threshold_products[b_idx] * tail_f), 0.0, 1.0
    )
    accepted_f = r1.binomial(relevant_f, p_acc) + r1.binomial(
        shown_f - relevant_f, beh.accept_irrelevant
    )
    shown = np.zeros(N * B, np.int64)
    relevant = np.zeros(N * B, np.int64)
    accepted = np.zeros(N * B, np.int64)
    shown[idx], relevant[idx], accepted[idx] = shown_f, relevant_f, accepted_f
    shown = shown.reshape(N, B) + rm_contact
    relevant = relevant.reshape(N, B) + rm_contact
    rm_accept = rm_contact & (r1.random((N, B)) < beh.accept_relevant)
    accepted = accepted.reshape(N, B) + rm_accept
    tally.offers_shown += shown.sum(axis=0)
    tally.offers_accepted += accepted.sum(axis=0)
    wk.offers_to_existing = shown
    pop.sat -= (beh.wrong_offer_penalty * (shown - relevant)).astype(np.float32)
    np.clip(pop.sat, 0.0, 1.0, out=pop.sat)

    r2 = model.stream("response", 2)
    from_need = r2.binomial(wk.served, beh.product_from_need)
    lapse = r2.binomial(np.maximum(pop.products.astype(np.int64) - 1, 0), beh.product_lapse)
    prod = pop.products.astype(np.int16) + accepted + from_need - lapse
    pop.products[:] = np.where(pop.has, np.clip(prod, 1, beh.max_products), 0)

    r3 = model.stream("response", 3)
    contacted = pop.dormant & (r3.random((N, B)) < lev.reactivation[None, :] / 4.0)
    back = contacted & (r3.random((N, B)) < beh.reactivation_success)
    wk.reactivation_contacts = contacted.sum(axis=0)
    pop.ti_last[back] = t

    deg = np.maximum(model.degree, 1)[:, None]
    is_primary = pop.primary[:, None] == np.arange(B)[None, :]
    X = np.concatenate(
        [(pop.has & (pop.sat > 0.5)).astype(np.float32), (is_primary * pop.sat).astype(np.float32)],
        axis=1,
    )
    X[~pop.alive] = 0.0
    ties = (model.adjacency @ X) / deg
    satisfied_ties, wk.wom = ties[:, :B], ties[:, B:]
    wk.referral = beh.referral_rate * lev.referral_bonus[None, :] / 100.0 * satisfied_ties
