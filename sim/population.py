"""Customers as a population of typed NumPy arrays (one row per customer).

Per-customer state is 1-D (``N``), per-bank state is ``N x B``, channel habits
are ``N x C`` (the bank channels of :data:`sim.config.CHANNELS`). Rows are
reused: a customer who leaves the market frees its row, which an entrant takes
(together with its social ties). Week stamps (``ti_*``) are ``int16`` weeks,
:data:`NEVER` when the event never happened.

The social network is an undirected, homophilous graph stored as CSR arrays
(``scipy.sparse.csr_array`` with ``int8`` data): influence is a sparse
matrix-vector product.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import scipy.sparse as sp

from sim.config import CHANNELS, MarketConfig

NEVER = np.int16(-30000)
#: Fixed traits copied from :func:`draw_traits` into a row (start and entrants).
TRAITS = ("segment", "cohort", "digital", "wants_human", "deal", "rm_draw", "web_first")
CH = {name: i for i, name in enumerate(CHANNELS)}


@dataclass
class Population:
    """The state of every customer row.

    Attributes:
        alive: the row holds a customer in the market.
        segment: value segment, 0 head, 1 mid, 2 long tail.
        cohort: 0 Gen Z, 1 millennial, 2 Gen X, 3 senior.
        digital: digital affinity in [0, 1].
        distance: branch distance per bank (strategy-free draw; access is derived).
        wants_human: wants a real person when a service problem occurs.
        deal: deal-seeking in [0, 1] (response to bonuses and rewards).
        scene_user: uniform draw; the customer is active in a platform's partner scenes
            (reachable by open banking) when it is below ``platform_scene_reach``.
        web_first: prefers web online banking over the app (PC-first customers).
        rm_draw: uniform draw; the customer has a relationship manager at bank b when
            it is below bank b's coverage (head and mid segments only).
        has: holds an account, N x B.
        products: products held, N x B (the account itself is one).
        sat: satisfaction in [0, 1], N x B.
        bond: emotional bond in [0, 1], N x B.
        points: reward points accrued, N x B.
        incentive: the account was opened through an acquisition incentive, N x B.
        hunter: the account was opened only for the sign-up bonus (a bonus hunter), N x B.
        dormant: the account is dormant, N x B.
        ti_open: week the account was opened, N x B.
        ti_last: week of the last interaction with the bank, N x B.
        ti_app: week of the last mobile-app contact with the bank, N x B.
        primary: index of the primary bank (always one the customer holds).
        adopted: has adopted a mobile-banking app (the app channel, app visits and pushes
            exist only for adopters; :mod:`sim.processes.adoption`).
        habit: channel habits in [0, 1], N x C (the mobile habit is 0 for non-adopters).
        fatigue: push fatigue in [0, 1].
        platform_habit: habit of paying through third-party platforms, [0, 1].
        ti_online: week of the last online-banking (web) interaction.
        ti_entry: week the customer entered the market.
        branch_months: bit i set = a branch-counter visit i four-week months ago.
        echannel: bank e-channel transactions (online, mobile, messaging, open) in
            the current measurement window, N x 4.
        uid: the customer's stable id (``uint32``): 0 to size - 1 for the starting
            customers, then the next free ids for entrants in the order they are drawn
            (:func:`next_uid`). Counter-based draws (:mod:`sim.counter_rng`) are keyed by
            it, never by the row, so a customer's draws do not depend on where it is
            stored or on the population's size. A free row keeps its last holder's id.
    """

    alive: np.ndarray
    segment: np.ndarray
    cohort: np.ndarray
    digital: np.ndarray
    distance: np.ndarray
    wants_human: np.ndarray
    deal: np.ndarray
    scene_user: np.ndarray
    web_first: np.ndarray
    rm_draw: np.ndarray
    has: np.ndarray
    products: np.ndarray
    sat: np.ndarray
    bond: np.ndarray
    points: np.ndarray
    incentive: np.ndarray
    hunter: np.ndarray
    dormant: np.ndarray
    ti_open: np.ndarray
    ti_last: np.ndarray
    ti_app: np.ndarray
    primary: np.ndarray
    adopted: np.ndarray
    habit: np.ndarray
    fatigue: np.ndarray
    platform_habit: np.ndarray
    ti_online: np.ndarray
    ti_entry: np.ndarray
    branch_months: np.ndarray
    echannel: np.ndarray
    uid: np.ndarray

    @property
    def capacity(self) -> int:
        """Number of rows (customers plus spare rows)."""
        return self.alive.shape[0]

    @property
    def n_banks(self) -> int:
        """Number of banks B."""
        return self.has.shape[1]

    def nbytes(self) -> int:
        """Bytes held by the state arrays."""
        return sum(getattr(self, f.name).nbytes for f in fields(self))


def next_uid(pop: Population) -> int:
    """The first id never given: ids only grow, and a free row keeps its holder's id."""
    return int(pop.uid.max()) + 1 if pop.capacity else 0


def _categorical(rng: np.random.Generator, shares, n: int) -> np.ndarray:
    p = np.asarray(shares, dtype=float)
    return np.searchsorted(np.cumsum(p / p.sum()), rng.random(n), side="right").astype(np.int8)


def draw_traits(rng: np.random.Generator, n: int, mix, cohort_shares=None) -> dict:
    """Draw the fixed traits of ``n`` customers (used at start and for entrants)."""
    cohort = _categorical(rng, mix.cohorts if cohort_shares is None else cohort_shares, n)
    segment = _categorical(rng, mix.segments, n)
    mean_dig = np.asarray(mix.digital_by_cohort, dtype=np.float32)[cohort]
    digital = np.clip(mean_dig + rng.normal(0.0, 0.15, n).astype(np.float32), 0.0, 1.0)
    senior_share = mix.cohorts[3] / max(sum(mix.cohorts), 1e-12)
    p_human = mix.human_preference + mix.senior_human_extra * ((cohort == 3) - senior_share)
    return {
        "cohort": cohort,
        "segment": segment,
        "digital": digital.astype(np.float32),
        "wants_human": rng.random(n) < np.clip(p_human, 0.0, 1.0),
        "deal": rng.beta(2.0, 3.0, n).astype(np.float32),
        "scene_user_u": rng.random(n).astype(np.float32),
        "rm_draw": rng.random(n).astype(np.float32),
        "platform_u": rng.random(n).astype(np.float32),
        "web_first": rng.random(n) < mix.web_first_share,
    }


def initial_habits(traits: dict, adopted: np.ndarray) -> np.ndarray:
    """Channel habits implied by digital affinity (start and entrants); app only for adopters."""
    d = traits["digital"]
    n = d.shape[0]
    h = np.empty((n, len(CHANNELS)), dtype=np.float32)
    h[:, CH["branch"]] = 0.6 * (1.0 - d)
    h[:, CH["atm"]] = 0.3
    web = traits["web_first"]
    h[:, CH["online"]] = np.where(web, 0.8, 0.0)
    h[:, CH["mobile"]] = np.where(web, 0.3 * d, d) * adopted
    h[:, CH["messaging"]] = 0.2 * d
    h[:, CH["remote"]] = 0.05
    h[:, CH["open"]] = 0.05
    return h


def build_population(
    rng: np.random.Generator, size: int, headroom: float, market: MarketConfig, shares
) -> Population:
    """Draw the starting population (rows in cohort order, spare rows after them).

    Accounts: each customer holds ``1 + Poisson(accounts_mean - 1)`` banks (at most B),
    drawn without replacement with probability proportional to the banks' shares
    (Gumbel top-k); the first drawn is the primary bank.
    """
    mix = market.customers
    B = len(shares)
    cap = int(np.ceil(size * (1.0 + headroom)))
    t = draw_traits(rng, size, mix)
    # Rows in cohort order: most ties stay within a cohort (homophily), so the network
    # passes read nearby rows and mostly hit the cache. The order means nothing else.
    by_cohort = np.argsort(t["cohort"], kind="stable")
    t = {k: v[by_cohort] for k, v in t.items()}

    def full(shape, value, dtype):
        return np.full(shape, value, dtype=dtype)

    alive = np.zeros(cap, bool)
    alive[:size] = True
    keys = np.log(np.asarray(shares, float))[None, :] + rng.gumbel(size=(size, B))
    order = np.argsort(-keys, axis=1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(B)[None, :].repeat(size, 0), axis=1)
    k = np.minimum(1 + rng.poisson(max(mix.accounts_mean - 1.0, 0.0), size), B)
    has0 = rank < k[:, None]
    primary0 = order[:, 0].astype(np.int8)
    is_primary = np.zeros((size, B), bool)
    is_primary[np.arange(size), primary0] = True

    seg_products = np.array([3.0, 1.5, 0.5])[t["segment"]]
    extra = np.where(
        is_primary, rng.poisson(seg_products[:, None], (size, B)), rng.poisson(0.3, (size, B))
    )
    last_gap = np.where(
        is_primary, rng.integers(0, 3, (size, B)), np.floor(rng.exponential(12.0, (size, B)))
    )

    pop = Population(
        alive=alive,
        segment=full(cap, 2, np.int8),
        cohort=full(cap, 0, np.int8),
        digital=full(cap, 0.0, np.float32),
        distance=full((cap, B), 1.0, np.float32),
        wants_human=full(cap, False, bool),
        deal=full(cap, 0.0, np.float32),
        scene_user=full(cap, 1.0, np.float32),
        web_first=full(cap, False, bool),
        rm_draw=full(cap, 1.0, np.float32),
        has=full((cap, B), False, bool),
        products=full((cap, B), 0, np.int8),
        sat=full((cap, B), 0.5, np.float32),
        bond=full((cap, B), 0.0, np.float32),
        points=full((cap, B), 0.0, np.float32),
        incentive=full((cap, B), False, bool),
        hunter=full((cap, B), False, bool),
        dormant=full((cap, B), False, bool),
        ti_open=full((cap, B), NEVER, np.int16),
        ti_last=full((cap, B), NEVER, np.int16),
        ti_app=full((cap, B), NEVER, np.int16),
        primary=full(cap, 0, np.int8),
        adopted=full(cap, False, bool),
        habit=full((cap, len(CHANNELS)), 0.0, np.float32),
        fatigue=full(cap, 0.0, np.float32),
        platform_habit=full(cap, 0.0, np.float32),
        ti_online=full(cap, NEVER, np.int16),
        ti_entry=full(cap, NEVER, np.int16),
        branch_months=full(cap, 0, np.uint8),
        echannel=full((cap, 4), 0, np.uint16),
        uid=full(cap, 0, np.uint32),
    )
    s = slice(0, size)
    pop.uid[s] = np.arange(size, dtype=np.uint32)
    for name in TRAITS:
        getattr(pop, name)[s] = t[name]
    pop.scene_user[s] = t["scene_user_u"]
    pop.distance[s] = rng.lognormal(0.0, 0.8, (size, B)).astype(np.float32)
    pop.has[s] = has0
    pop.products[s] = np.where(has0, 1 + np.minimum(extra, 6), 0)
    pop.sat[s] = np.clip(rng.normal(0.6, 0.12, (size, B)), 0.0, 1.0)
    pop.bond[s] = np.clip(np.where(is_primary, 0.3, 0.1) + rng.normal(0, 0.05, (size, B)), 0, 1)
    pop.ti_open[s] = np.where(has0, -rng.integers(1, 520, (size, B)), NEVER)
    pop.ti_last[s] = np.where(has0, -last_gap, NEVER)
    pop.primary[s] = primary0
    d = t["digital"]
    p_adopt = mix.initial_adoption * d / max(float(d.mean()), 1e-6)
    pop.adopted[s] = rng.random(size) < np.clip(p_adopt, 0.0, 1.0)
    pop.habit[s] = initial_habits(t, pop.adopted[s])
    pop.platform_habit[s] = t["digital"] * (0.5 + 0.5 * t["platform_u"])
    pop.ti_online[s] = np.where(pop.habit[s, CH["online"]] > 0, -1, NEVER)
    pop.ti_entry[s] = -rng.integers(53, 2000, size)
    return pop


def build_network(
    rng: np.random.Generator, cap: int, n_alive: int, cohort, degree: int, homophily: float
) -> sp.csr_array:
    """A homophilous random graph over all rows (spare rows inherit ties when filled).

    Each row draws ``degree / 2`` ties: with probability ``homophily`` to a random
    row of the same cohort, else to any row; ties are made undirected and
    duplicates merged. Returns the adjacency as a CSR array with ``int8`` ones.
    """
    k = max(degree // 2, 1)
    src = np.repeat(np.arange(cap, dtype=np.int32), k)
    order = np.argsort(cohort, kind="stable").astype(np.int32)
    counts = np.bincount(cohort, minlength=4)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    c_src = cohort[src]
    same = rng.random(src.size) < homophily
    pick_same = order[starts[c_src] + (rng.random(src.size) * counts[c_src]).astype(np.int64)]
    pick_any = rng.integers(0, cap, src.size, dtype=np.int32)
    dst = np.where(same, pick_same, pick_any).astype(np.int32)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    rows = np.concatenate([src, dst])
    cols = np.concatenate([dst, src])
    adj = sp.csr_array((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(cap, cap))
    adj.sum_duplicates()
    adj.data[:] = 1
    return adj
