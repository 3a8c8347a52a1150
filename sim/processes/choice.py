"""5. Channel and provider choice: a multinomial logit over (bank, channel) options.

For a need of type ``k`` of customer ``n`` the options are every channel ``c``
that can serve ``k`` (:data:`CAPABLE`) at every bank ``b`` the customer holds,
plus the third-party platform for payments. Utilities:

``V[n,b,c] = A[n,b] + G[n,c] + beta_quality * quality[b,c] + S[n,b,c]``

* bank pull ``A = beta_primary * [b primary] + beta_satisfaction * sat
  + beta_products * log(products) + beta_rewards * rewards[b] * deal
  - beta_dormant * dormant - beta_new_account * [opened by incentive, one product]``;
* customer-channel term ``G = asc_c + beta_habit * habit[n,c]
  + beta_digital * (digital - 0.5) * [c digital] + log(remote_demand) * [c contact-free]
  + beta_web_first * web_first * [c online]``;
* ``S``: ``beta_access * log(access[n,b] + 0.01)`` for branch and ATM;
  ``beta_human * wants_human`` for branch and remote banking on service problems;
  open banking only for customers in partner scenes
  (``scene_user < platform_scene_reach``), with ``log(open_banking[b])``;
* platform: ``asc_platform + log(platform_strength) + beta_platform_habit *
  platform_habit + beta_digital * (digital - 0.5) - onboarding_friction[primary]``
  (friction at the bank pushes customers to the platform).

Each need is one occasion, drawn by inverse CDF from the customer's option
probabilities (one uniform per occasion). Wealth and credit sales the bank's
staff are not credited for (``1 - omnichannel_attribution``) are pulled to the
branch with probability 0.5; there the customer gives up with probability
``1 - access``.

Outputs (week scratch): contacts, transactions, quality sums, human contacts,
unresolved problems, sales served and lost, channel use, payments; traffic
counts into the tally; ``ti_last``, ``ti_app``, ``ti_online``, the branch-month
bits and e-channel window counts on the population.
"""

from __future__ import annotations

import numpy as np

from sim.config import CHANNELS, NEEDS
from sim.population import CH

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


def bank_pull(pop, beh, lev) -> np.ndarray:
    """``A[n, b]``: the pull of each held bank (``-inf`` where no account)."""
    B = pop.n_banks
    is_primary = pop.primary[:, None] == np.arange(B)[None, :]
    new_inc = pop.incentive & (pop.products <= 1)
    a = (
        beh.beta_primary * is_primary
        + beh.beta_satisfaction * pop.sat
        + beh.beta_products * np.log(np.maximum(pop.products, 1))
        + beh.beta_rewards * lev.rewards[None, :] * pop.deal[:, None]
        - beh.beta_dormant * pop.dormant
        - beh.beta_new_account * new_inc
    )
    return np.where(pop.has, a, -np.inf).astype(np.float32)


def _draw(rng, logits: np.ndarray, counts: np.ndarray):
    """Draw ``counts[r]`` options for each row of ``logits`` (R x O); returns rows, options."""
    R, n_opt = logits.shape
    m = logits.max(axis=1, keepdims=True)
    w = np.exp(logits - m)
    cdf = np.cumsum(w, axis=1)
    cdf /= cdf[:, -1:]
    rows = np.repeat(np.arange(R), counts)
    u = rng.random(rows.size) * (1.0 - 1e-9)
    flat = (cdf + np.arange(R)[:, None]).ravel()
    idx = np.searchsorted(flat, rows + u * cdf[rows, -1], side="right")
    idx = np.minimum(idx, rows * n_opt + n_opt - 1)
    return rows, idx - rows * n_opt


def run(model) -> None:
    """Choose a (bank, channel) option for every need; count the traffic."""
    pop, p, wk, tally, t = model.pop, model.p, model.week, model.tally, model.t
    beh, env, lev = p.beh, p.env, p.lev
    N, B = pop.capacity, pop.n_banks
    A = bank_pull(pop, beh, lev)
    G = (
        np.array(
            [
                beh.asc_branch,
                beh.asc_atm,
                beh.asc_online,
                beh.asc_mobile,
                beh.asc_messaging,
                beh.asc_remote,
                beh.asc_open,
            ],
            dtype=np.float32,
        )[None, :]
        + beh.beta_habit * pop.habit
        + (beh.beta_digital * (pop.digital - 0.5))[:, None] * DIGITAL[None, :]
        + np.float32(np.log(max(env.remote_demand, 1e-6))) * CONTACT_FREE[None, :]
    ).astype(np.float32)
    G[:, CH["online"]] += beh.beta_web_first * pop.web_first
    q = quality(lev)
    Q = (beh.beta_quality * q).astype(np.float32)
    log_access = (beh.beta_access * np.log(wk.access + 0.01)).astype(np.float32)
    in_scene = pop.scene_user < env.platform_scene_reach
    open_term = np.log(np.maximum(lev.open_banking, 1e-6)).astype(np.float32)
    platform_u = (
        beh.asc_platform
        + np.log(max(env.platform_strength, 1e-6))
        + beh.beta_platform_habit * pop.platform_habit
        + beh.beta_digital * (pop.digital - 0.5)
        - lev.onboarding_friction[pop.primary]
    ).astype(np.float32)

    attribution_pull = 0.5 * (1.0 - lev.omnichannel_attribution)
    occ_n, occ_opt, occ_k = [], [], []
    for k in range(K):
        rows = np.flatnonzero(wk.needs[:, k])
        if rows.size == 0:
            continue
        cap = CAPABLE[k]
        V = A[rows][:, :, None] + G[rows][:, None, :] + Q[None, :, :]
        V[:, :, ~cap] = -np.inf
        V[:, :, CH["branch"]] += log_access[rows]
        V[:, :, CH["atm"]] += log_access[rows]
        V[:, :, CH["open"]] = np.where(
            in_scene[rows, None], V[:, :, CH["open"]] + open_term[None, :], -np.inf
        )
        if k == SERVICE:
            bonus = (beh.beta_human * pop.wants_human[rows]).astype(np.float32)
            V[:, :, HUMAN] += bonus[:, None, None]
        V = V.reshape(rows.size, B * C)
        if k == PAYMENT:
            V = np.concatenate([V, platform_u[rows, None]], axis=1)
        r, opt = _draw(model.stream("choice", k), V, wk.needs[rows, k])
        tally.needs_served[k] += r.size
        occ_n.append(rows[r])
        occ_opt.append(opt)
        occ_k.append(np.full(r.size, k, np.int8))
    n = np.concatenate(occ_n) if occ_n else np.zeros(0, np.int64)
    opt = np.concatenate(occ_opt) if occ_opt else np.zeros(0, np.int64)
    kk = np.concatenate(occ_k) if occ_k else np.zeros(0, np.int8)

    plat = opt == B * C
    platform_pay = np.bincount(n[plat], minlength=N).astype(np.int32)
    tally.platform_payments += int(plat.sum())
    n, opt, kk = n[~plat], opt[~plat], kk[~plat]
    b, c = opt // C, opt % C

    sale = (kk == WEALTH) | (kk == CREDIT)
    quits = np.zeros(n.size, bool)
    if attribution_pull.any() and sale.any():
        u = model.stream("choice", 10).random((n.size, 2))
        pulled = sale & DIGITAL[c] & (u[:, 0] < attribution_pull[b])
        quits = pulled & (u[:, 1] >= wk.access[n, b])
        c = np.where(pulled, CH["branch"], c)
    service = kk == SERVICE
    u = model.stream("choice", 20).random(n.size)
    reach = np.where(HUMAN[c], lev.human_service[b], 0.5 * lev.human_service[b])
    with_human = np.where(service, (c == CH["branch"]) | (u < reach), HUMAN[c])

    nb = n * B + b
    nc = n * C + c

    def per_nb(weights=None, mask=None, dtype=np.int32):
        idx, w = (
            (nb, weights)
            if mask is None
            else (nb[mask], None if weights is None else weights[mask])
        )
        return np.bincount(idx, weights=w, minlength=N * B).reshape(N, B).astype(dtype)

    transactions = per_nb()
    qsum = per_nb(weights=q[b, c], dtype=np.float32)
    human = per_nb(mask=with_human)
    unresolved = per_nb(mask=service & ~with_human & pop.wants_human[n])
    served = per_nb(mask=sale & ~quits)
    gave_up = per_nb(mask=quits)
    mobile_tx = per_nb(mask=c == CH["mobile"])
    bank_pay = np.bincount(n[kk == PAYMENT], minlength=N).astype(np.int32)
    channel_use = np.bincount(nc, minlength=N * C).reshape(N, C).astype(np.int32)
    tally.transactions += np.bincount(b * C + c, minlength=B * C).reshape(B, C)
    tally.bank_payments += np.bincount(b[kk == PAYMENT], minlength=B)

    visits = wk.app_visits + wk.pushes_opened
    contacts = transactions + visits
    tally.contacts += tally.transactions
    tally.contacts[:, CH["mobile"]] += visits.sum(axis=0)
    tally.needs_drawn = int(wk.needs.sum())
    tally.gave_up += gave_up.sum(axis=0)

    touched = contacts > 0
    pop.ti_last[touched] = t
    pop.ti_app[((visits > 0) | (mobile_tx > 0)) & pop.has] = t
    pop.ti_online[channel_use[:, CH["online"]] > 0] = t
    pop.branch_months |= (channel_use[:, CH["branch"]] > 0).astype(np.uint8)
    if model.in_window(13):
        pop.echannel += channel_use[:, list(ECHANNELS)].astype(np.uint16)

    wk.contacts, wk.transactions, wk.quality_sum = contacts, transactions, qsum
    wk.human, wk.unresolved, wk.served, wk.gave_up = human, unresolved, served, gave_up
    wk.channel_use, wk.platform_payments, wk.bank_payments = channel_use, platform_pay, bank_pay
