"""A plain per-agent Mesa twin of the model's core weekly rules, for benchmarking only.

One ``mesa.Agent`` per customer with a Python ``step`` applies, per customer,
the same equations as the vectorized processes: needs (``sim/processes/needs.py``),
channel and provider choice (``choice.py``: the same utilities, the platform for
payments, counter-only business), experience (``experience.py``: satisfaction,
bond decay, habits, platform habit) and switching (``switching.py``: primary
re-choice, closing, organic opening without word of mouth). Both versions run
with the other mechanisms switched off (:data:`CORE_ONLY`), so their aggregates
agree within sampling noise; they use different random streams.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from sim.config import CHANNELS
from sim.processes.choice import CAPABLE, DIGITAL, HUMAN, quality

#: Overrides that switch off every mechanism outside the core rules, in both versions.
CORE_ONLY = (
    "market.environment.entry_rate=0",
    "market.environment.exit_rate=0",
    "market.environment.digital_drift=0",
    "market.behaviour.adoption_innovation=0",
    "market.behaviour.adoption_imitation=0",
    "market.behaviour.adoption_lapse=0",
    "market.behaviour.beta_wom=0",
    "market.behaviour.touch_conversion=0",
    "market.behaviour.scene_conversion=0",
    "market.behaviour.referral_rate=0",
    "market.behaviour.product_lapse=0",
    "market.behaviour.product_from_need=0",
    "market.behaviour.event_rate=0",
)
LEVERS_OFF = (
    "app_scenes",
    "push_per_week",
    "cross_sell",
    "event_offers",
    "rm_coverage",
    "reactivation",
    "marketing_budget",
)
C = len(CHANNELS)
K = CAPABLE.shape[0]


def core_overrides(bank_names: list[str]) -> list[str]:
    """CORE_ONLY plus the switched-off levers at every bank."""
    out = list(CORE_ONLY)
    for lever in LEVERS_OFF:
        out.append(f"strategy.{lever}=0")
        out += [f"market.banks.{b}.levers.{lever}=0" for b in bank_names[1:]]
    out += ["strategy.omnichannel_attribution=1"] + [
        f"market.banks.{b}.levers.omnichannel_attribution=1" for b in bank_names[1:]
    ]
    return out


class Customer(mesa.Agent):
    """One customer with its own state and a Python step."""

    def __init__(self, model: PerAgentMarket, row: int) -> None:
        """Copy row ``row`` of the vectorized population."""
        super().__init__(model)
        pop = model.source
        self.segment = int(pop.segment[row])
        self.digital = float(pop.digital[row])
        self.wants_human = bool(pop.wants_human[row])
        self.deal = float(pop.deal[row])
        self.in_scene = bool(pop.scene_user[row] < model.env.platform_scene_reach)
        self.web_first = bool(pop.web_first[row])
        self.adopted = bool(pop.adopted[row])
        self.has = [bool(x) for x in pop.has[row]]
        self.products = [int(x) for x in pop.products[row]]
        self.sat = [float(x) for x in pop.sat[row]]
        self.bond = [float(x) for x in pop.bond[row]]
        self.incentive = [bool(x) for x in pop.incentive[row]]
        self.dormant = [bool(x) for x in pop.dormant[row]]
        self.ti_last = [int(x) for x in pop.ti_last[row]]
        self.primary = int(pop.primary[row])
        self.habit = [float(x) for x in pop.habit[row]]
        self.platform_habit = float(pop.platform_habit[row])
        self.access = [float(x) for x in model.access[row]]

    def step(self) -> None:
        """Needs, choice, experience and switching for this customer."""
        m = self.model
        beh, lev, rng = m.beh, m.lev, m.random
        B = m.n_banks
        t = m.week
        seg_mult = (beh.head_need_mult, 1.0, beh.tail_need_mult)[self.segment]
        counts = [_poisson(rng, lam * seg_mult) for lam in m.need_rates]
        contacts = [0] * B
        qsum = [0.0] * B
        human = [0] * B
        unresolved = [0] * B
        use = [0] * C
        plat_pay = bank_pay = 0
        for k in range(K):
            n_k = counts[k]
            if n_k == 0:
                continue
            options, weights = [], []
            for b in range(B):
                if not self.has[b]:
                    continue
                a = (
                    beh.beta_primary * (b == self.primary)
                    + beh.beta_satisfaction * self.sat[b]
                    + beh.beta_products * math.log(max(self.products[b], 1))
                    + beh.beta_rewards * lev.rewards[b] * self.deal
                    - beh.beta_dormant * self.dormant[b]
                    - beh.beta_new_account * (self.incentive[b] and self.products[b] <= 1)
                )
                for c in range(C):
                    if not CAPABLE[k, c] or (c == 3 and not self.adopted):
                        continue  # the mobile app only for adopters (adoption is off)
                    v = a + m.asc[c] + beh.beta_habit * self.habit[c] + m.Q[b][c]
                    if DIGITAL[c]:
                        v += beh.beta_digital * (self.digital - 0.5)
                    if c in (2, 3, 4, 5, 6):
                        v += m.log_remote
                    if c == 2:
                        v += beh.beta_web_first * self.web_first
                    if c in (0, 1):
                        v += beh.beta_access * math.log(self.access[b] + 0.01)
                    if c == 6:
                        if not self.in_scene:
                            continue
                        v += math.log(max(lev.open_banking[b], 1e-6))
                    if k == 4 and HUMAN[c]:
                        v += beh.beta_human * self.wants_human
                    options.append((b, c))
                    weights.append(v)
            if k == 0:
                options.append((-1, -1))
                weights.append(
                    beh.asc_platform
                    + m.log_platform
                    + beh.beta_platform_habit * self.platform_habit
                    + beh.beta_digital * (self.digital - 0.5)
                    - lev.onboarding_friction[self.primary]
                )
            top = max(weights)
            w = [math.exp(x - top) for x in weights]
            for b, c in rng.choices(options, weights=w, k=n_k):
                if b < 0:
                    plat_pay += 1
                    continue
                if k == 0:
                    bank_pay += 1
                contacts[b] += 1
                qsum[b] += m.q[b][c]
                use[c] += 1
                if k == 4:
                    reach = lev.human_service[b] * (1.0 if HUMAN[c] else 0.5)
                    got = c == 0 or rng.random() < reach
                    human[b] += got
                    unresolved[b] += self.wants_human and not got
                else:
                    human[b] += bool(HUMAN[c])
                m.contacts[b][c] += 1
        m.bank_payments += bank_pay
        m.platform_payments += plat_pay
        # experience
        for b in range(B):
            if contacts[b]:
                self.ti_last[b] = t
                if self.has[b]:
                    e = (
                        qsum[b] / contacts[b]
                        - beh.problem_unresolved_penalty * unresolved[b] / contacts[b]
                        + beh.experience_noise * rng.gauss(0.0, 1.0)
                    )
                    self.sat[b] = min(
                        max(self.sat[b] + beh.satisfaction_rate * (e - self.sat[b]), 0.0), 1.0
                    )
            if self.has[b]:
                bond = self.bond[b] + beh.bond_gain * human[b] * (1.0 - self.bond[b])
                bond += 0.2 * beh.bond_gain * lev.rewards[b] * (contacts[b] > 0)
                self.bond[b] = min(max(bond * (1.0 - beh.bond_decay), 0.0), 1.0)
        total = sum(use)
        if total:
            for c in range(C):
                self.habit[c] += beh.habit_rate * (use[c] / total - self.habit[c])
        if plat_pay + bank_pay:
            share = plat_pay / (plat_pay + bank_pay)
            self.platform_habit += beh.habit_rate * (share - self.platform_habit)
        # switching: primary, closing, organic opening
        score = [
            self.sat[b] + self.bond[b] + 0.3 * math.log(max(self.products[b], 1)) - self.dormant[b]
            if self.has[b]
            else -math.inf
            for b in range(B)
        ]
        best = max(range(B), key=lambda b: score[b])
        if score[best] > score[self.primary] + beh.primary_margin:
            self.primary = best
        held = [b for b in range(B) if self.has[b]]
        closed = []
        if len(held) >= 2:
            for b in held:
                if b == self.primary:
                    continue
                others = [self.sat[o] for o in held if o != b]
                L = (
                    beh.switching_ease
                    + beh.beta_close_satisfaction * (max(others) - self.sat[b])
                    - beh.beta_close_products * (self.products[b] - 1)
                    - beh.beta_close_bond * self.bond[b]
                    + beh.beta_close_dormant * self.dormant[b]
                    - beh.beta_close_rewards * lev.rewards[b] * self.deal
                )
                if rng.random() < 1.0 - math.exp(-beh.close_base * math.exp(min(L, 20.0))):
                    closed.append(b)
        for b in closed:
            self.has[b], self.products[b], self.dormant[b], self.incentive[b] = (
                False,
                0,
                False,
                False,
            )
            m.closes += 1
        for b in range(B):
            if self.has[b] or b in closed:
                continue
            p = beh.open_base * (1.0 - 0.5 * lev.onboarding_friction[b])
            if rng.random() < p:
                self.has[b], self.products[b], self.sat[b], self.bond[b] = True, 1, 0.5, 0.0
                self.incentive[b], self.dormant[b], self.ti_last[b] = False, False, t
                m.opens += 1
        for b in range(B):
            self.dormant[b] = self.has[b] and t - self.ti_last[b] >= beh.dormancy_weeks


def _poisson(rng, lam: float) -> int:
    """Knuth's Poisson draw from the model's Python random generator."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class PerAgentMarket(mesa.Model):
    """The core rules with one Python agent per customer."""

    def __init__(self, vector_model, seed: int = 0) -> None:
        """Copy the customers of a (built, not yet run) vectorized model."""
        super().__init__(seed=seed)
        self.source = vector_model.pop
        p = vector_model.params.at(0)
        self.beh, self.lev, self.env = p.beh, p.lev, p.env
        self.n_banks = vector_model.pop.n_banks
        vector_model.t = 0
        from sim.processes import shocks

        shocks.run(vector_model)
        self.access = vector_model.week.access
        q = quality(self.lev)
        self.q = q.tolist()
        self.Q = (self.beh.beta_quality * q).tolist()
        b = self.beh
        self.asc = [
            b.asc_branch,
            b.asc_atm,
            b.asc_online,
            b.asc_mobile,
            b.asc_messaging,
            b.asc_remote,
            b.asc_open,
        ]
        self.log_remote = math.log(max(self.env.remote_demand, 1e-6))
        self.log_platform = math.log(max(self.env.platform_strength, 1e-6))
        app, nr = b.app_counter_share, self.env.need_rate
        counter = [b.wealth_rate * nr, b.credit_rate * nr, b.problem_rate * self.env.problem_rate]
        self.need_rates = [
            b.payment_rate * nr,
            b.transfer_rate * nr,
            *(app * x for x in counter),
            (1 - app) * sum(counter),
        ]
        rows = np.flatnonzero(self.source.alive)
        self.customers = [Customer(self, int(r)) for r in rows]
        self.week = 0
        self.reset_counts()

    def reset_counts(self) -> None:
        """Zero the weekly counters."""
        self.contacts = [[0] * C for _ in range(self.n_banks)]
        self.bank_payments = self.platform_payments = self.opens = self.closes = 0

    def step(self) -> None:
        """One week: every customer steps once, in random order."""
        self.agents.shuffle_do("step")
        self.week += 1

    def summary(self) -> dict[str, float]:
        """Aggregates comparable with :func:`vector_summary`."""
        held = [c.sat[b] for c in self.customers for b in range(self.n_banks) if c.has[b]]
        contacts = np.array(self.contacts, dtype=float)
        n = len(self.customers)
        return {
            "mean_satisfaction": float(np.mean(held)),
            "full_switch_per_1000_week": 1000 * self.closes / n / max(self.week, 1),
            "opens_per_1000_week": 1000 * self.opens / n / max(self.week, 1),
            "bank_payment_share": self.bank_payments
            / max(self.bank_payments + self.platform_payments, 1),
            "mobile_share_of_contacts": float(contacts[:, 3].sum() / contacts.sum()),
            "branch_share_of_contacts": float(contacts[:, 0].sum() / contacts.sum()),
            "accounts_per_customer": float(np.mean([sum(c.has) for c in self.customers])),
        }


#: The default market's banks (the focal bank first), for :func:`core_overrides`.
BANKS = ("focal", "state_a", "state_b", "joint_stock", "city")


def build_vector(n: int, weeks: int, seed: int, core: bool = True):
    """The real (vectorized) model on the default market; ``core``: only the core rules on."""
    from sim.compose import compose_config
    from sim.run import build

    extra = core_overrides(list(BANKS)) if core else []
    # the weekly step is measured from the drawn population (no spin-up)
    ov = [f"population.size={n}", f"weeks={weeks}", f"seed={seed}", "spinup.weeks=0", *extra]
    return build(compose_config(ov))


def vector_summary(m) -> dict[str, float]:
    """The aggregates of :meth:`PerAgentMarket.summary` from a run of the real model."""
    pop = m.pop
    hist = m.trackers.history
    weeks = max(len(hist), 1)
    n = int(pop.alive.sum())
    contacts = sum(h["contacts"] for h in hist)
    bank = sum(int(h["bank_payments"].sum()) for h in hist)
    plat = sum(h["platform_payments"] for h in hist)
    return {
        "mean_satisfaction": float(pop.sat[pop.has].mean()),
        "full_switch_per_1000_week": 1000 * sum(int(h["closes"].sum()) for h in hist) / n / weeks,
        "opens_per_1000_week": 1000 * sum(int(h["opens"].sum()) for h in hist) / n / weeks,
        "bank_payment_share": bank / max(bank + plat, 1),
        "mobile_share_of_contacts": float(contacts[:, 3].sum() / contacts.sum()),
        "branch_share_of_contacts": float(contacts[:, 0].sum() / contacts.sum()),
        "accounts_per_customer": float(pop.has[pop.alive].sum(axis=1).mean()),
    }
