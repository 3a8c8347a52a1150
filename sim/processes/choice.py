"""5. Channel and provider choice: a multinomial logit over (bank, channel) options.

For a need of type ``k`` of customer ``n`` the options are every channel ``c``
that can serve ``k`` (:data:`CAPABLE`) at every bank ``b`` the customer holds,
plus the third-party platform for payments. Utilities:

``V[n,b,c] = A[n,b] + G[n,c] + beta_quality * quality[b,c] + S[n,b,c]``

* bank pull ``A = beta_primary * [b primary] + beta_satisfaction * sat
  + beta_products * log(products) + beta_rewards * rewards[b] * deal
  - beta_dormant * dormant - (beta_new_account * [opened by incentive]
  + beta_bonus_hunting * [opened only for the bonus]) * [one product]`` (bonus
  hunters use the new account least);
* customer-channel term ``G = asc_c + beta_habit * habit[n,c]
  + beta_digital * (digital - 0.5) * [c digital] + log(remote_demand) * [c contact-free]
  + beta_web_first * web_first * [c online]``;
* ``S``: ``beta_access * log(access[n,b] + 0.01)`` for branch and ATM;
  ``beta_human * wants_human`` for branch and remote banking on service problems;
  open banking only for customers in partner scenes
  (``scene_user < platform_scene_reach``), with ``log(open_banking[b])``; the
  mobile app only for customers who adopted it (:mod:`sim.processes.adoption`);
* platform: ``asc_platform + log(platform_strength) + beta_platform_habit *
  platform_habit + beta_digital * (digital - 0.5) + onboarding_friction[primary]``
  (friction at the bank pushes customers to the platform: seed 003, in-person
  first registration sent customers to third-party payment).

Each need is one occasion, drawn by inverse CDF from the customer's option
probabilities (one uniform per occasion). Wealth and credit sales the bank's
staff are not credited for (``1 - omnichannel_attribution``) are pulled to the
branch with probability 0.5; there the customer gives up with probability
``1 - access``.

Branch access (set by the branch network, :mod:`sim.processes.shocks`):
``access[n, b] = 1 - exp(-branch_network[b] * branch_reach / distance[n, b])``.

Implementation: one compiled pass over customers (``_choose``, numba, parallel over
fixed chunks of rows; per-bank counts kept per chunk and added in chunk order). For
each customer it computes the bank pull and access, then need type by need type
builds that customer's options and their cumulative probabilities and draws each
occasion, then stamps the interactions: no ``rows x B x C`` tensor and no ``N x B``
temporary is built. Draws are counter-based (:mod:`sim.counter_rng`), keyed by the
customer's stable id and the week: occasion ``i`` of need type ``k`` uses slot
``k << 16 | i`` of stream ``(choice, 0)`` for the pair (option, reaching a human)
and, only when the attribution pull applies, the same slot of ``(choice, 1)`` for
(pulled to the branch, gives up).

Outputs (week scratch): contacts, transactions, quality sums, human contacts,
unresolved problems, sales served and lost, channel use, payments; traffic
counts into the tally; ``ti_last``, ``ti_app``, ``ti_online``, the branch-month
bits and e-channel window counts on the population.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from sim.config import CHANNELS, NEEDS
from sim.counter_rng import stream_word, uniform2
from sim.nbtypes import (
    _b1,
    _b2,
    _f4_1,
    _f4_2,
    _f8_1,
    _f8_2,
    _i1_1,
    _i1_2,
    _i2_1,
    _i2_2,
    _i4_1,
    _i4_2,
    _i8_1,
    _i8_2,
    _i8_3,
    _u1_1,
    _u2_2,
    _u4_1,
)
from sim.population import CH
from sim.rng import STREAMS

C = len(CHANNELS)
K = len(NEEDS)
#: CAPABLE[k, c]: channel c can serve need k.
CAPABLE = np.array(
    [
        # branch atm online mobile messaging remote open
        [0, 0, 1, 1, 1, 0, 1],  # payment
        [1, 1, 1, 1, 1, 1, 0],  # transfer / inquiry
        [1, 0, 1, 1, 0, 1, 1],  # wealth
        [1, 0, 1, 1, 0, 0, 1],  # credit
        [1, 0, 1, 1, 1, 1, 0],  # service problem
        [1, 0, 0, 0, 0, 0, 0],  # counter-only business
    ],
    dtype=bool,
)
DIGITAL = np.array([0, 0, 1, 1, 1, 0, 1], dtype=bool)
CONTACT_FREE = np.array([0, 0, 1, 1, 1, 1, 1], dtype=bool)
HUMAN = np.array([1, 0, 0, 0, 0, 1, 0], dtype=bool)
ECHANNELS = (CH["online"], CH["mobile"], CH["messaging"], CH["open"])
PAYMENT, TRANSFER, WEALTH, CREDIT, SERVICE, COUNTER = range(K)
BRANCH, ATM, ONLINE, MOBILE, OPEN = CH["branch"], CH["atm"], CH["online"], CH["mobile"], CH["open"]


def quality(lev) -> np.ndarray:
    """Channel quality per bank, B x C, in [0, 1]."""
    B = lev.app_quality.shape[0]
    q = np.empty((B, C))
    q[:, CH["branch"]] = lev.branch_quality
    q[:, CH["atm"]] = 0.5
    q[:, CH["online"]] = lev.online_quality
    q[:, CH["mobile"]] = lev.app_quality
    q[:, CH["messaging"]] = lev.messaging_quality
    q[:, CH["remote"]] = lev.remote_quality
    q[:, CH["open"]] = lev.app_quality
    return q


PROCESS = STREAMS.index("choice")
#: Rows per chunk of the pass (fixed: the chunks do not depend on the threads).
CHUNK = 2048
#: Per-bank counts of the pass, rows of ``bank_counts``.
BANK_PAY, VISITS, GAVE_UP = range(3)


@nb.njit(
    nb.void(
        _u4_1,
        nb.uint32,
        nb.uint32,
        nb.uint32,
        nb.int64,  # key, streams, week, t
        _i4_2,
        _u4_1,
        _b2,
        _i1_1,
        _f4_2,
        _i1_2,
        _f4_1,
        _b2,
        _b2,
        _b2,  # needs .. hunter
        _f4_2,
        _f8_1,  # distance, branch density
        _f4_2,
        _f4_1,
        _b1,
        _b1,
        _b1,
        _b1,
        _f4_1,  # habit .. platform habit
        _i4_2,
        _i4_2,  # app visits, pushes opened
        _f8_1,
        _f8_1,
        _f4_2,
        _f8_2,
        _f8_1,
        _f4_1,
        _f8_1,
        _f8_1,
        _f8_1,
        nb.boolean,  # terms
        _b2,
        _b1,
        _b1,
        _b1,  # capable, digital, contact-free, human channels
        nb.boolean,
        _i8_1,  # window, e-channels
        _i2_2,
        _i2_2,
        _i2_1,
        _u1_1,
        _u2_2,  # stamps
        _i4_2,
        _f4_2,
        _i4_2,
        _i4_2,
        _i4_2,
        _i4_2,
        _i4_2,
        _i4_1,
        _i4_1,
        _i4_2,  # the week's
        _i8_3,
        _i8_3,
        _i8_2,  # counts per chunk
    ),
    cache=True,
    nogil=True,
    parallel=True,
)
def _choose(
    key, stream, stream_pull, week, t,
    needs, uid, has, primary, sat, products, deal, dormant, incentive, hunter,
    distance, density,
    habit, digital, web_first, in_scene, adopted, wants_human, platform_habit,
    app_visits, pushes_opened,
    beta, rewards, Q, q, asc, open_term, friction, human_service, pull, use_pull,
    capable, digital_c, contact_free, human_c,
    window, echannels,
    ti_last, ti_app, ti_online, branch_months, echannel,
    transactions, qsum, human, unresolved, served, gave_up, channel_use, platform_pay,
    bank_pay, contacts,
    tally_tx, bank_counts, need_counts,
):  # fmt: skip
    """Every customer's occasions, options and draws, then its stamps (module docstring)."""
    N, B = has.shape
    Cn = habit.shape[1]
    K_ = needs.shape[1]
    b_habit, b_digital, log_remote, b_web = beta[6], beta[7], beta[8], beta[9]
    b_human, plat_const, b_plat_habit = beta[11], beta[12], beta[13]
    n_opt = B * Cn + 1
    for ch in nb.prange(tally_tx.shape[0]):
        V = np.empty(n_opt, np.float32)
        cdf = np.empty(n_opt, np.float32)
        ob = np.empty(n_opt, np.int64)
        oc = np.empty(n_opt, np.int64)
        G = np.empty(Cn, np.float32)
        A = np.empty(B, np.float32)
        la = np.empty(B, np.float32)
        acc = np.empty(B, np.float32)
        mobile_tx = np.zeros(B, np.int64)
        for n in range(ch * CHUNK, min(N, (ch + 1) * CHUNK)):
            for b in range(B):
                transactions[n, b] = 0
                qsum[n, b] = 0.0
                human[n, b] = 0
                unresolved[n, b] = 0
                served[n, b] = 0
                gave_up[n, b] = 0
                mobile_tx[b] = 0
            for c in range(Cn):
                channel_use[n, c] = 0
            platform_pay[n] = 0
            bank_pay[n] = 0
            # bank pull A (-inf where no account) and the access term, bank by bank
            for b in range(B):
                if has[n, b]:
                    acc[b] = np.float32(1.0 - math.exp(-density[b] / distance[n, b]))
                    la[b] = np.float32(beta[10] * math.log(nb.float64(acc[b]) + 0.01))
                    pb = max(nb.int64(products[n, b]), 1)
                    a = (
                        beta[0] * (primary[n] == b)
                        + beta[1] * sat[n, b]
                        + beta[2] * math.log(pb)
                        + beta[3] * rewards[b] * deal[n]
                        - beta[4] * dormant[n, b]
                        - (beta[5] * incentive[n, b] + beta[14] * hunter[n, b]) * (pb <= 1)
                    )
                    A[b] = np.float32(a)
                else:
                    A[b] = -np.inf
            # the customer-channel term G
            for c in range(Cn):
                g = asc[c] + b_habit * habit[n, c]
                if digital_c[c]:
                    g += b_digital * (digital[n] - 0.5)
                if contact_free[c]:
                    g += log_remote
                if c == ONLINE:
                    g += b_web * web_first[n]
                G[c] = np.float32(g)
            for k in range(K_):
                cnt = needs[n, k]
                if cnt == 0:
                    continue
                need_counts[ch, K_ + 1 + k] += cnt
                # the options: (held bank, capable channel), then the platform for payments
                m = 0
                top = np.float32(-np.inf)
                for b in range(B):
                    if not has[n, b]:
                        continue
                    for c in range(Cn):
                        if not capable[k, c]:
                            continue
                        if c == OPEN and not in_scene[n]:
                            continue
                        if c == MOBILE and not adopted[n]:
                            continue
                        v = A[b] + G[c] + Q[b, c]
                        if c in (BRANCH, ATM):
                            v += la[b]
                        if c == OPEN:
                            v += open_term[b]
                        if k == SERVICE and human_c[c]:
                            v += np.float32(b_human * wants_human[n])
                        V[m] = v
                        ob[m] = b
                        oc[m] = c
                        if V[m] > top:
                            top = V[m]
                        m += 1
                if k == PAYMENT:
                    V[m] = np.float32(
                        plat_const
                        + b_plat_habit * platform_habit[n]
                        + b_digital * (digital[n] - 0.5)
                        + friction[primary[n]]
                    )
                    ob[m] = -1
                    oc[m] = -1
                    if V[m] > top:
                        top = V[m]
                    m += 1
                if m == 0:
                    continue
                s = np.float32(0.0)
                for o in range(m):
                    s = np.float32(s + np.float32(np.exp(np.float32(V[o] - top))))
                    cdf[o] = s
                for o in range(m):
                    cdf[o] = np.float32(cdf[o] / s)
                for i in range(cnt):
                    slot = nb.uint32((k << 16) | i)
                    u_opt, u_reach = uniform2(key, stream, uid[n], week, slot)
                    u = u_opt * (1.0 - 1e-9)
                    o = 0
                    while o < m - 1 and cdf[o] <= u:
                        o += 1
                    need_counts[ch, k] += 1
                    b = ob[o]
                    if b < 0:
                        platform_pay[n] += 1
                        need_counts[ch, K_] += 1
                        continue
                    c = oc[o]
                    quits = False
                    sale = k in (WEALTH, CREDIT)
                    if use_pull and sale and digital_c[c]:
                        u_pulled, u_quit = uniform2(key, stream_pull, uid[n], week, slot)
                        if u_pulled < pull[b]:
                            quits = u_quit >= acc[b]
                            c = BRANCH
                    if k == SERVICE:
                        reach = human_service[b] if human_c[c] else 0.5 * human_service[b]
                        got = c == BRANCH or u_reach < reach
                        if not got and wants_human[n]:
                            unresolved[n, b] += 1
                    else:
                        got = human_c[c]
                    transactions[n, b] += 1
                    qsum[n, b] += q[b, c]
                    if got:
                        human[n, b] += 1
                    if sale:
                        if quits:
                            gave_up[n, b] += 1
                            bank_counts[ch, GAVE_UP, b] += 1
                        else:
                            served[n, b] += 1
                    if c == MOBILE:
                        mobile_tx[b] += 1
                    channel_use[n, c] += 1
                    tally_tx[ch, b, c] += 1
                    if k == PAYMENT:
                        bank_pay[n] += 1
                        bank_counts[ch, BANK_PAY, b] += 1
            # contacts and the interaction stamps
            for b in range(B):
                visits = app_visits[n, b] + pushes_opened[n, b]
                bank_counts[ch, VISITS, b] += visits
                cn = transactions[n, b] + visits
                contacts[n, b] = cn
                if cn > 0:
                    ti_last[n, b] = t
                if (visits > 0 or mobile_tx[b] > 0) and has[n, b]:
                    ti_app[n, b] = t
            if channel_use[n, ONLINE] > 0:
                ti_online[n] = t
            if channel_use[n, BRANCH] > 0:
                branch_months[n] |= 1
            if window:
                for i in range(echannels.shape[0]):
                    echannel[n, i] += channel_use[n, echannels[i]]


def run(model) -> None:
    """Choose a (bank, channel) option for every need; count the traffic."""
    pop, p, wk, tally, t = model.pop, model.p, model.week, model.tally, model.t
    beh, env, lev = p.beh, p.env, p.lev
    N, B = pop.capacity, pop.n_banks
    pull = 0.5 * (1.0 - np.asarray(lev.omnichannel_attribution, np.float64))
    q = quality(lev)
    beta = np.array(
        [
            beh.beta_primary,
            beh.beta_satisfaction,
            beh.beta_products,
            beh.beta_rewards,
            beh.beta_dormant,
            beh.beta_new_account,
            beh.beta_habit,
            beh.beta_digital,
            np.float32(np.log(max(env.remote_demand, 1e-6))),
            beh.beta_web_first,
            beh.beta_access,
            beh.beta_human,
            beh.asc_platform + np.log(max(env.platform_strength, 1e-6)),
            beh.beta_platform_habit,
            beh.beta_bonus_hunting,
        ],
        np.float64,
    )
    asc = np.array(
        [
            beh.asc_branch,
            beh.asc_atm,
            beh.asc_online,
            beh.asc_mobile,
            beh.asc_messaging,
            beh.asc_remote,
            beh.asc_open,
        ],
        np.float64,
    )
    week_nb = {
        name: np.empty((N, B), np.int32)
        for name in ("transactions", "human", "unresolved", "served", "gave_up", "contacts")
    }
    qsum = np.empty((N, B), np.float32)
    channel_use = np.empty((N, C), np.int32)
    platform_pay = np.empty(N, np.int32)
    bank_pay = np.empty(N, np.int32)
    chunks = max((N + CHUNK - 1) // CHUNK, 1)
    tally_tx = np.zeros((chunks, B, C), np.int64)
    bank_counts = np.zeros((chunks, 3, B), np.int64)
    need_counts = np.zeros((chunks, 2 * K + 1), np.int64)
    density = np.asarray(lev.branch_network * env.branch_reach, np.float64)
    _choose(
        model.streams.counter_key, stream_word(PROCESS, 0), stream_word(PROCESS, 1),
        np.uint32(t + 1), t,
        wk.needs, pop.uid, pop.has, pop.primary, pop.sat, pop.products, pop.deal,
        pop.dormant, pop.incentive, pop.hunter,
        pop.distance, density,
        pop.habit, pop.digital, pop.web_first, pop.scene_user < env.platform_scene_reach,
        pop.adopted, pop.wants_human, pop.platform_habit,
        wk.app_visits, wk.pushes_opened,
        beta, np.asarray(lev.rewards, np.float64), (beh.beta_quality * q).astype(np.float32),
        q, asc, np.log(np.maximum(lev.open_banking, 1e-6)).astype(np.float32),
        np.asarray(lev.onboarding_friction, np.float64),
        np.asarray(lev.human_service, np.float64), pull, bool(pull.any()),
        CAPABLE, DIGITAL, CONTACT_FREE, HUMAN,
        model.in_window(13), np.array(ECHANNELS, np.int64),
        pop.ti_last, pop.ti_app, pop.ti_online, pop.branch_months, pop.echannel,
        week_nb["transactions"], qsum, week_nb["human"], week_nb["unresolved"],
        week_nb["served"], week_nb["gave_up"], channel_use, platform_pay, bank_pay,
        week_nb["contacts"],
        tally_tx, bank_counts, need_counts,
    )  # fmt: skip
    served_k = need_counts.sum(axis=0)
    by_bank = bank_counts.sum(axis=0)
    tally.platform_payments += int(served_k[K])
    tally.needs_served += served_k[:K]
    tally.transactions += tally_tx.sum(axis=0)
    tally.bank_payments += by_bank[BANK_PAY]
    tally.contacts += tally.transactions
    tally.contacts[:, CH["mobile"]] += by_bank[VISITS]
    tally.needs_drawn = int(served_k[K + 1 :].sum())
    tally.gave_up += by_bank[GAVE_UP]
    wk.contacts, wk.transactions, wk.quality_sum = (
        week_nb["contacts"], week_nb["transactions"], qsum,
    )  # fmt: skip
    wk.human, wk.unresolved = week_nb["human"], week_nb["unresolved"]
    wk.served, wk.gave_up = week_nb["served"], week_nb["gave_up"]
    wk.channel_use, wk.platform_payments, wk.bank_payments = channel_use, platform_pay, bank_pay
