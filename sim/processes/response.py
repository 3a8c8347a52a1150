"""7. Marketing response: offers, cross-sell, reactivation and referrals.

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

Implementation: two compiled passes (numba, parallel over fixed chunks of rows).
``_respond`` is each customer's rule above, bank by bank: RM contact, offers,
products, reactivation; per-bank counts are summed per chunk, then over chunks.
``_tie_sums`` is the cross-customer pass: for each customer, the sums over its
ties (alive) of ``[holds b and sat > 0.5]`` and ``sat * [b primary]``, divided by
its degree, give ``referral`` and ``wom`` (``float32``, read by switching); it reads
each tie's row packed beforehand by ``_tie_signals`` (one memory access per tie). Draws
are counter-based (:mod:`sim.counter_rng`), stream ``response``, keyed by the
customer's stable id and the week: slot 0 gives the life events; at bank ``b``,
slot ``1 + 6 b + i`` gives the pairs ``i = 0``: (RM contact, RM offer accepted),
``1``: (offers shown, event offers among them), ``2``: (relevant of the
campaign offers, of the event offers), ``3``: (accepted of the relevant, of the
irrelevant), ``4``: (products from needs, lapses), ``5``: (reactivation contact,
comes back). Poisson and binomial counts by inversion of one uniform each.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.counter_rng import binomial, poisson, stream_word, uniform2
from sim.nbtypes import (
    _b1,
    _b2,
    _f4_1,
    _f4_2,
    _f8_1,
    _f8_2,
    _i1_1,
    _i1_2,
    _i2_2,
    _i4_1,
    _i4_2,
    _i8_1,
    _i8_3,
    _u4_1,
)
from sim.population import CH
from sim.rng import STREAMS

PROCESS = STREAMS.index("response")
#: Rows per chunk of the parallel passes (fixed: the chunks do not depend on the threads).
CHUNK = 2048
#: The tie signal's code keeps the satisfied-holder bits of up to 7 banks below this bit.
PRIMARY_SHIFT = 7
#: Per-bank counts of the pass, rows of ``counts``.
RM, SHOWN, ACCEPTED, REACT_CONTACTS = range(4)
#: Scalars of the pass, in the order of ``par``.
PAR = (
    "event_rate",
    "bond_gain",
    "accept_relevant",
    "accept_irrelevant",
    "wrong_offer_penalty",
    "product_from_need",
    "product_lapse",
    "max_products",
    "reactivation_success",
)
#: Per-bank vectors of the pass, rows of ``bank``.
BANK = (
    "rm_coverage",
    "cross_sell",
    "touch_mult",
    "event_offers",
    "relevance",
    "low_threshold_products",
    "reactivation",
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
        _i1_1,
        _f4_1,  # alive, uid, segment, rm_draw
        _i4_2,
        _i4_2,  # contacts (RM contacts added), served
        _b2,
        _i1_2,
        _f4_2,
        _f4_2,
        _b2,
        _i2_2,  # has, products, sat, bond, dormant, ti_last
        _i8_3,  # counts per chunk
    ),
    cache=True,
    nogil=True,
    parallel=True,
)
def _respond(
    key, stream, week, t, par, bank,
    alive, uid, segment, rm_draw, contacts, served,
    has, products, sat, bond, dormant, ti_last,
    counts,
):  # fmt: skip
    """Offers, cross-sell, products and reactivation of every customer (module docstring)."""
    N, B = has.shape
    event_rate, bond_gain, acc_rel, acc_irr = par[0], par[1], par[2], par[3]
    penalty, from_need_p, lapse_p, max_products, react_success = (
        par[4], par[5], par[6], par[7], par[8],
    )  # fmt: skip
    for c in nb.prange(counts.shape[0]):
        for n in range(c * CHUNK, min(N, (c + 1) * CHUNK)):
            if not alive[n]:
                continue
            events = poisson(event_rate, uniform2(key, stream, uid[n], week, 0)[0])
            tail = segment[n] == 2
            for b in range(B):
                if not has[n, b]:
                    continue
                j = 1 + 6 * b
                # relationship manager: a human remote contact with a relevant offer
                u_rm, u_rm_accept = uniform2(key, stream, uid[n], week, j)
                rm = segment[n] < 2 and rm_draw[n] < bank[0, b] and u_rm < 0.25
                if rm:
                    counts[c, RM, b] += 1
                    bond[n, b] += bond_gain * (1.0 - bond[n, b])
                    contacts[n, b] += 1
                    ti_last[n, b] = t
                # offers ~ Poisson(cross_sell * touch_mult * contacts + event_offers * events)
                lam_cross = bank[1, b] * bank[2, b] * contacts[n, b]
                lam_event = bank[3, b] * events
                lam = lam_cross + lam_event
                shown = relevant = accepted = 0
                if lam > 0.0:
                    u_shown, u_event = uniform2(key, stream, uid[n], week, j + 1)
                    shown = poisson(lam, u_shown)
                    n_event = binomial(shown, lam_event / lam, u_event)
                    rel = bank[4, b]
                    u_r1, u_r2 = uniform2(key, stream, uid[n], week, j + 2)
                    relevant = binomial(shown - n_event, rel, u_r1) + binomial(
                        n_event, min(2.0 * rel, 1.0), u_r2
                    )
                    p_acc = acc_rel * (1.0 + (bank[5, b] if tail else 0.0))
                    p_acc = min(max(p_acc, 0.0), 1.0)
                    u_a1, u_a2 = uniform2(key, stream, uid[n], week, j + 3)
                    accepted = binomial(relevant, p_acc, u_a1) + binomial(
                        shown - relevant, acc_irr, u_a2
                    )
                if rm:
                    shown += 1
                    relevant += 1
                    accepted += 1 if u_rm_accept < acc_rel else 0
                counts[c, SHOWN, b] += shown
                counts[c, ACCEPTED, b] += accepted
                s = sat[n, b] - penalty * (shown - relevant)
                sat[n, b] = min(max(s, 0.0), 1.0)
                # products: acceptances and served needs add, products lapse
                u_need, u_lapse = uniform2(key, stream, uid[n], week, j + 4)
                gained = binomial(served[n, b], from_need_p, u_need)
                lapsed = binomial(max(products[n, b] - 1, 0), lapse_p, u_lapse)
                prod = products[n, b] + accepted + gained - lapsed
                products[n, b] = min(max(prod, 1), max_products)
                # reactivation of a dormant account
                if dormant[n, b]:
                    u_contact, u_back = uniform2(key, stream, uid[n], week, j + 5)
                    if u_contact < bank[6, b] / 4.0:
                        counts[c, REACT_CONTACTS, b] += 1
                        if u_back < react_success:
                            ti_last[n, b] = t


@nb.njit(nb.void(_b1, _b2, _f4_2, _i1_1, _f4_2), cache=True, nogil=True, parallel=True)
def _tie_signals(alive, has, sat, primary, signal):
    """What a customer shows its ties, packed in one row: ``(sat at primary, code)``.

    ``code = satisfied-holder bits (bit b: holds b and sat > 0.5) + 128 * primary``
    (room for the 7 banks a market may have), or -1 for a free row; exact in float32.
    One 8-byte row per tie keeps the network pass at one memory access per tie instead
    of four.
    """
    N, B = has.shape
    for m in nb.prange(N):
        if not alive[m]:
            signal[m, 0] = 0.0
            signal[m, 1] = -1.0
            continue
        bits = 0
        for b in range(B):
            if has[m, b] and sat[m, b] > 0.5:
                bits |= 1 << b
        signal[m, 0] = sat[m, primary[m]]
        signal[m, 1] = np.float32(bits + (nb.int64(primary[m]) << PRIMARY_SHIFT))


@nb.njit(
    nb.void(_i8_1, _i4_1, _f4_2, _f4_1, _f8_1, _f4_2, _f4_2),
    cache=True,
    nogil=True,
    parallel=True,
)
def _tie_sums(indptr, indices, signal, degree, ref_scale, wom, referral):
    """Over each customer's ties (alive): satisfied holders of b and sat at their primary b.

    Branch-free per tie (a free row adds zeros): the holder bits of a random tie cannot be
    predicted, and a branch per bank cost more than the memory read. Sums are kept per row
    in a chunk's scratch, in tie order, so the figures are those of the plain loop.
    """
    N, B = wom.shape
    for c in nb.prange((N + CHUNK - 1) // CHUNK):
        acc_r = np.empty(B, np.float32)
        acc_w = np.empty(B, np.float32)
        for n in range(c * CHUNK, min(N, (c + 1) * CHUNK)):
            acc_r[:] = 0.0
            acc_w[:] = 0.0
            for i in range(indptr[n], indptr[n + 1]):
                m = indices[i]
                code = signal[m, 1]
                live = code >= 0.0
                k = nb.int64(code) if live else 0
                for b in range(B):
                    acc_r[b] += np.float32((k >> b) & 1)
                acc_w[k >> PRIMARY_SHIFT] += signal[m, 0] if live else np.float32(0.0)
            deg = max(degree[n], 1.0)
            for b in range(B):
                wom[n, b] = acc_w[b] / deg
                referral[n, b] = ref_scale[b] * (acc_r[b] / deg)


def run(model) -> None:
    """Show offers, apply acceptances, reactivate, compute referral and WOM pressure."""
    pop, p, wk, tally, t = model.pop, model.p, model.week, model.tally, model.t
    beh, lev = p.beh, p.lev
    N, B = pop.has.shape
    par = np.array([float(getattr(beh, k)) for k in PAR], dtype=np.float64)
    vec = {
        **{k: getattr(lev, k) for k in BANK if hasattr(lev, k)},
        "touch_mult": wk.plan.touch_mult,
        "relevance": wk.plan.relevance,
    }
    bank = np.ascontiguousarray(np.stack([np.asarray(vec[k], np.float64) for k in BANK]))
    counts = np.zeros(((N + CHUNK - 1) // CHUNK, 4, B), np.int64)
    _respond(
        model.streams.counter_key, stream_word(PROCESS, 0), np.uint32(t + 1), t, par, bank,
        pop.alive, pop.uid, pop.segment, pop.rm_draw,
        wk.contacts, np.ascontiguousarray(wk.served, np.int32),
        pop.has, pop.products, pop.sat, pop.bond, pop.dormant, pop.ti_last,
        counts,
    )  # fmt: skip
    total = counts.sum(axis=0)
    tally.rm_contacts += total[RM]
    tally.contacts[:, CH["remote"]] += total[RM]
    tally.offers_shown += total[SHOWN]
    tally.offers_accepted += total[ACCEPTED]
    wk.reactivation_contacts = total[REACT_CONTACTS]

    adj = model.adjacency
    wk.wom = np.empty((N, B), np.float32)
    wk.referral = np.empty((N, B), np.float32)
    signal = np.empty((N, 2), np.float32)
    _tie_signals(pop.alive, pop.has, pop.sat, pop.primary, signal)
    _tie_sums(
        adj.indptr.astype(np.int64, copy=False),
        adj.indices.astype(np.int32, copy=False),
        signal,
        model.degree,
        beh.referral_rate * np.asarray(lev.referral_bonus, np.float64) / 100.0,
        wk.wom,
        wk.referral,
    )
