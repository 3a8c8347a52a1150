"""The choice process before its counter-based pass (issue 14), kept for benchmarks.equivalence.

Channel and provider choice: a multinomial logit over (bank, channel) options.

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

Implementation: two numba kernels (compiled once, cached on disk). ``_pull``
computes ``A`` and the access term; ``_kernel`` walks need type by need type,
customer by customer, builds that customer's options, their cumulative
probabilities and draws each occasion from the stream ``("choice", k)``, so no
``rows x B x C`` tensor is ever built. Uniforms for the attribution pull and
for reaching a human come from the streams ``("choice", 10)`` and
``("choice", 20)``, one (pair) per bank occasion in the same order.

Outputs (week scratch): contacts, transactions, quality sums, human contacts,
unresolved problems, sales served and lost, channel use, payments; traffic
counts into the tally; ``ti_last``, ``ti_app``, ``ti_online``, the branch-month
bits and e-channel window counts on the population.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.population import CH
from sim.processes.choice import (  # the tables and constants are unchanged
    ATM,
    BRANCH,
    CAPABLE,
    CONTACT_FREE,
    CREDIT,
    DIGITAL,
    ECHANNELS,
    HUMAN,
    MOBILE,
    ONLINE,
    OPEN,
    PAYMENT,
    SERVICE,
    WEALTH,
    C,
    K,
    quality,
)


@nb.njit(cache=True, nogil=True)
def _pull(
    has, primary, sat, products, deal, dormant, incentive, hunter, access, beta, rewards, A, la
):
    """Bank pull ``A[n, b]`` (-inf where no account) and ``beta_access * log(access + 0.01)``."""
    N, B = has.shape
    log_p = np.log(np.maximum(np.arange(128), 1).astype(np.float64))  # log(products) table
    for n in range(N):
        for b in range(B):
            if has[n, b]:
                pb = products[n, b]
                a = (
                    beta[0] * (primary[n] == b)
                    + beta[1] * sat[n, b]
                    + beta[2] * log_p[max(pb, 1)]
                    + beta[3] * rewards[b] * deal[n]
                    - beta[4] * dormant[n, b]
                    - (beta[5] * incentive[n, b] + beta[14] * hunter[n, b]) * (pb <= 1)
                )
                A[n, b] = np.float32(a)
            else:
                A[n, b] = -np.inf
            la[n, b] = np.float32(beta[10] * np.log(np.float64(access[n, b]) + 0.01))


@nb.njit(cache=True, nogil=True)
def _kernel(
    needs,
    has,
    primary,
    A,
    la,
    habit,
    digital,
    web_first,
    in_scene,
    adopted,
    wants_human,
    platform_habit,
    access,
    beta,
    Q,
    q,
    asc,
    open_term,
    friction,
    human_service,
    pull,
    capable,
    digital_c,
    contact_free,
    human_c,
    u_choice,
    u_start,
    u_pull,
    u_reach,
    use_pull,
    transactions,
    qsum,
    human,
    unresolved,
    served,
    gave_up,
    mobile_tx,
    channel_use,
    platform_pay,
    bank_pay,
    tally_tx,
    tally_bank_pay,
    needs_served,
):
    """Draw every occasion's option; add the counts into the output arrays.

    Returns the number of payments made on the platform.
    """
    N, B = has.shape
    Cn = habit.shape[1]
    b_habit, b_digital, log_remote, b_web = beta[6], beta[7], beta[8], beta[9]
    b_human, plat_const, b_plat_habit = beta[11], beta[12], beta[13]
    n_opt = B * Cn + 1
    V = np.empty(n_opt, np.float32)
    cdf = np.empty(n_opt, np.float32)
    ob = np.empty(n_opt, np.int64)
    oc = np.empty(n_opt, np.int64)
    G = np.empty(Cn, np.float32)
    j_occ = 0  # bank occasions so far (index into u_reach, u_pull)
    n_plat = 0
    for k in range(needs.shape[1]):
        i_u = u_start[k]
        for n in range(N):
            cnt = needs[n, k]
            if cnt == 0:
                continue
            for c in range(Cn):
                if capable[k, c]:
                    g = asc[c] + b_habit * habit[n, c]
                    if digital_c[c]:
                        g += b_digital * (digital[n] - 0.5)
                    if contact_free[c]:
                        g += log_remote
                    if c == ONLINE:
                        g += b_web * web_first[n]
                    G[c] = np.float32(g)
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
                    v = A[n, b] + G[c] + Q[b, c]
                    if c in (BRANCH, ATM):
                        v += la[n, b]
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
            s = np.float32(0.0)
            for o in range(m):
                s = np.float32(s + np.float32(np.exp(np.float32(V[o] - top))))
                cdf[o] = s
            for o in range(m):
                cdf[o] = np.float32(cdf[o] / s)
            for _ in range(cnt):
                u = u_choice[i_u] * (1.0 - 1e-9)
                i_u += 1
                o = 0
                while o < m - 1 and cdf[o] <= u:
                    o += 1
                needs_served[k] += 1
                b = ob[o]
                if b < 0:
                    platform_pay[n] += 1
                    n_plat += 1
                    continue
                c = oc[o]
                quits = False
                sale = k in (WEALTH, CREDIT)
                if use_pull and sale and digital_c[c] and u_pull[j_occ, 0] < pull[b]:
                    quits = u_pull[j_occ, 1] >= access[n, b]
                    c = BRANCH
                if k == SERVICE:
                    reach = human_service[b] if human_c[c] else 0.5 * human_service[b]
                    got = c == BRANCH or u_reach[j_occ] < reach
                    unresolved[n, b] += (not got) and wants_human[n]
                else:
                    got = human_c[c]
                j_occ += 1
                transactions[n, b] += 1
                qsum[n, b] += q[b, c]
                human[n, b] += got
                if sale:
                    if quits:
                        gave_up[n, b] += 1
                    else:
                        served[n, b] += 1
                mobile_tx[n, b] += c == MOBILE
                channel_use[n, c] += 1
                tally_tx[b, c] += 1
                if k == PAYMENT:
                    bank_pay[n] += 1
                    tally_bank_pay[b] += 1
    return n_plat


@nb.njit(cache=True, nogil=True)
def _stamp(
    t,
    has,
    transactions,
    visits,
    mobile_tx,
    channel_use,
    ti_last,
    ti_app,
    ti_online,
    branch_months,
    echannel,
    echannels,
    window,
    contacts,
):
    """Contacts per (customer, bank) and the interaction stamps on the population."""
    N, B = has.shape
    for n in range(N):
        for b in range(B):
            cn = transactions[n, b] + visits[n, b]
            contacts[n, b] = cn
            if cn > 0:
                ti_last[n, b] = t
            if (visits[n, b] > 0 or mobile_tx[n, b] > 0) and has[n, b]:
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
    needs = wk.needs
    density = (lev.branch_network * env.branch_reach).astype(np.float32)
    access = (1.0 - np.exp(-density[None, :] / pop.distance)).astype(np.float32)
    totals = needs.sum(axis=0)
    u_choice = np.concatenate([model.stream("choice", k).random(int(totals[k])) for k in range(K)])
    u_start = np.concatenate([[0], np.cumsum(totals)[:-1]]).astype(np.int64)
    n_occ = int(totals.sum())
    pull = 0.5 * (1.0 - lev.omnichannel_attribution)
    use_pull = bool(pull.any())
    u_pull = model.stream("choice", 10).random((n_occ, 2)) if use_pull else np.zeros((1, 2))
    u_reach = model.stream("choice", 20).random(n_occ)
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
        ]
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
        ]
    )
    out_nb = {
        name: np.zeros((N, B), np.int32)
        for name in ("transactions", "human", "unresolved", "served", "gave_up", "mobile_tx")
    }
    qsum = np.zeros((N, B), np.float32)
    channel_use = np.zeros((N, C), np.int32)
    platform_pay = np.zeros(N, np.int32)
    bank_pay = np.zeros(N, np.int32)
    tally_tx = np.zeros((B, C), np.int64)
    tally_bank = np.zeros(B, np.int64)
    needs_served = np.zeros(K, np.int64)
    A = np.empty((N, B), np.float32)
    la = np.empty((N, B), np.float32)
    _pull(
        pop.has,
        pop.primary,
        pop.sat,
        pop.products,
        pop.deal,
        pop.dormant,
        pop.incentive,
        pop.hunter,
        access,
        beta,
        lev.rewards.astype(np.float64),
        A,
        la,
    )
    n_plat = _kernel(
        needs,
        pop.has,
        pop.primary,
        A,
        la,
        pop.habit,
        pop.digital,
        pop.web_first,
        pop.scene_user < env.platform_scene_reach,
        pop.adopted,
        pop.wants_human,
        pop.platform_habit,
        access,
        beta,
        (beh.beta_quality * q).astype(np.float32),
        q,
        asc,
        np.log(np.maximum(lev.open_banking, 1e-6)).astype(np.float32),
        lev.onboarding_friction.astype(np.float64),
        lev.human_service.astype(np.float64),
        pull.astype(np.float64),
        CAPABLE,
        DIGITAL,
        CONTACT_FREE,
        HUMAN,
        u_choice,
        u_start,
        u_pull,
        u_reach,
        use_pull,
        out_nb["transactions"],
        qsum,
        out_nb["human"],
        out_nb["unresolved"],
        out_nb["served"],
        out_nb["gave_up"],
        out_nb["mobile_tx"],
        channel_use,
        platform_pay,
        bank_pay,
        tally_tx,
        tally_bank,
        needs_served,
    )
    tally.platform_payments += int(n_plat)
    tally.needs_served += needs_served
    tally.transactions += tally_tx
    tally.bank_payments += tally_bank
    visits = wk.app_visits + wk.pushes_opened
    contacts = np.empty((N, B), np.int32)
    _stamp(
        np.int16(t),
        pop.has,
        out_nb["transactions"],
        visits,
        out_nb["mobile_tx"],
        channel_use,
        pop.ti_last,
        pop.ti_app,
        pop.ti_online,
        pop.branch_months,
        pop.echannel,
        np.array(ECHANNELS, np.int64),
        model.in_window(13),
        contacts,
    )
    tally.contacts += tally.transactions
    tally.contacts[:, CH["mobile"]] += visits.sum(axis=0)
    tally.needs_drawn = int(totals.sum())
    tally.gave_up += out_nb["gave_up"].sum(axis=0)
    wk.contacts, wk.transactions, wk.quality_sum = contacts, out_nb["transactions"], qsum
    wk.human, wk.unresolved = out_nb["human"], out_nb["unresolved"]
    wk.served, wk.gave_up = out_nb["served"], out_nb["gave_up"]
    wk.channel_use, wk.platform_payments, wk.bank_payments = channel_use, platform_pay, bank_pay
