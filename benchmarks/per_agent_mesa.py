"""A plain per-agent Mesa twin of the model's core weekly rules, for benchmarking only.

One ``mesa.Agent`` per customer with a Python ``step`` applies, per customer,
the same equations as the model's processes (each module's docstring): needs
(``sim/processes/needs.py``), channel and provider choice (``choice.py``: the same
utilities, bonus hunters' lower pull, the platform for payments with the primary
bank's onboarding friction pushing towards it, the app channel only for adopters,
counter-only business), experience (``experience.py``: satisfaction, bond,
habits, platform habit), what is left of response (``response.py``: products
kept within ``[1, max_products]``) and switching (``switching.py``: the logit
review of the primary with the brand constants, closings with one draw per
customer and the primary closable, organic opening scaled by the switching
ease, dormancy). Both versions run with the other mechanisms switched off
(:data:`CORE_ONLY`, checked when the twin is built), so their aggregates agree
within sampling noise; the twin draws from its own random stream (Mesa's
``random``), not the model's counter-based draws.

``python -m benchmarks.per_agent_mesa --size 10000 --weeks 10 --seeds 8`` prints
that agreement (the comparison of ``python -m benchmarks.run --sections 1``).
"""

from __future__ import annotations

import argparse
import math

import mesa
import numpy as np

from sim.config import CHANNELS
from sim.population import NEVER
from sim.processes.choice import CAPABLE, CONTACT_FREE, DIGITAL, HUMAN, quality

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
PAYMENT, SERVICE = 0, 4
BRANCH, ATM, ONLINE, MOBILE, OPEN = 0, 1, 2, 3, 6


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


def check_core_only(p) -> None:
    """Refuse week parameters with a mechanism on that the twin does not implement."""
    off = [f"market.environment.{k}" for k in ("entry_rate", "exit_rate", "digital_drift")]
    off += [o.split("=")[0] for o in CORE_ONLY if o.startswith("market.behaviour.")]
    on = [k for k in off if getattr(p.env if ".environment." in k else p.beh, k.split(".")[-1])]
    on += [f"levers.{k}" for k in LEVERS_OFF if np.any(getattr(p.lev, k))]
    if np.any(p.lev.omnichannel_attribution != 1):
        on.append("levers.omnichannel_attribution (must be 1)")
    if on:
        raise ValueError(
            "the per-agent twin implements only the core rules; these are on: "
            + ", ".join(on)
            + " (build the model with core_overrides())"
        )


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
        self.hunter = [bool(x) for x in pop.hunter[row]]
        self.dormant = [bool(x) for x in pop.dormant[row]]
        self.ti_last = [int(x) for x in pop.ti_last[row]]
        self.primary = int(pop.primary[row])
        self.habit = [float(x) for x in pop.habit[row]]
        self.platform_habit = float(pop.platform_habit[row])
        self.access = [float(x) for x in model.access[row]]

    def step(self) -> None:
        """Needs, choice, experience, response (products) and switching for this customer."""
        self._experience(*self._choose())
        self.products = [
            min(max(p, 1), self.model.beh.max_products) if h else p
            for p, h in zip(self.products, self.has, strict=True)
        ]
        self._switch()

    # ------------------------------------------------------------ needs and choice
    def _choose(self) -> tuple:
        """Draw the week's needs and choose a (bank, channel) or the platform for each.

        Returns the week's contacts, quality sums, human contacts and unresolved
        problems per bank, channel use, and platform and bank payments.
        """
        m = self.model
        beh, lev, rng = m.beh, m.lev, m.random
        B = m.n_banks
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
                one_product = self.products[b] <= 1
                a = (
                    beh.beta_primary * (b == self.primary)
                    + beh.beta_satisfaction * self.sat[b]
                    + beh.beta_products * math.log(max(self.products[b], 1))
                    + beh.beta_rewards * lev.rewards[b] * self.deal
                    - beh.beta_dormant * self.dormant[b]
                    - (
                        beh.beta_new_account * self.incentive[b]
                        + beh.beta_bonus_hunting * self.hunter[b]
                    )
                    * one_product
                )
                for c in range(C):
                    if not CAPABLE[k, c]:
                        continue
                    if c == OPEN and not self.in_scene:
                        continue
                    if c == MOBILE and not self.adopted:
                        continue  # the app channel only for adopters
                    v = a + m.asc[c] + beh.beta_habit * self.habit[c] + m.Q[b][c]
                    if DIGITAL[c]:
                        v += beh.beta_digital * (self.digital - 0.5)
                    if CONTACT_FREE[c]:
                        v += m.log_remote
                    if c == ONLINE:
                        v += beh.beta_web_first * self.web_first
                    if c in (BRANCH, ATM):
                        v += beh.beta_access * math.log(self.access[b] + 0.01)
                    if c == OPEN:
                        v += m.log_open[b]
                    if k == SERVICE and HUMAN[c]:
                        v += beh.beta_human * self.wants_human
                    options.append((b, c))
                    weights.append(v)
            if k == PAYMENT:
                # friction at the primary bank pushes payments to the platform
                options.append((-1, -1))
                weights.append(
                    m.platform_const
                    + beh.beta_platform_habit * self.platform_habit
                    + beh.beta_digital * (self.digital - 0.5)
                    + lev.onboarding_friction[self.primary]
                )
            top = max(weights)
            w = [math.exp(x - top) for x in weights]
            for b, c in rng.choices(options, weights=w, k=n_k):
                if b < 0:
                    plat_pay += 1
                    continue
                if k == PAYMENT:
                    bank_pay += 1
                contacts[b] += 1
                qsum[b] += m.q[b][c]
                use[c] += 1
                if k == SERVICE:
                    reach = lev.human_service[b] * (1.0 if HUMAN[c] else 0.5)
                    got = c == BRANCH or rng.random() < reach
                    human[b] += got
                    unresolved[b] += self.wants_human and not got
                else:
                    human[b] += bool(HUMAN[c])
                m.contacts[b][c] += 1
        m.bank_payments += bank_pay
        m.platform_payments += plat_pay
        for b in range(B):
            if contacts[b]:
                self.ti_last[b] = m.week
        return contacts, qsum, human, unresolved, use, plat_pay, bank_pay

    # ------------------------------------------------------------------ experience
    def _experience(self, contacts, qsum, human, unresolved, use, plat_pay, bank_pay) -> None:
        """Satisfaction, bond and habits from this week's contacts (:meth:`_choose`)."""
        m = self.model
        beh, lev, rng = m.beh, m.lev, m.random
        for b in range(m.n_banks):
            if not self.has[b]:
                self.bond[b] = 0.0
                continue
            n_tx = contacts[b]
            if n_tx:
                e = (
                    qsum[b] / n_tx
                    - beh.problem_unresolved_penalty * unresolved[b] / n_tx
                    + beh.experience_noise * rng.gauss(0.0, 1.0)
                )
                self.sat[b] += beh.satisfaction_rate * (e - self.sat[b])
            self.sat[b] = min(max(self.sat[b], 0.0), 1.0)
            bond = self.bond[b] + beh.bond_gain * human[b] * (1.0 - self.bond[b])
            if n_tx:
                bond += 0.2 * beh.bond_gain * lev.rewards[b]
            self.bond[b] = min(max(bond * (1.0 - beh.bond_decay), 0.0), 1.0)
        total = sum(use)
        if total:
            for c in range(C):
                self.habit[c] += beh.habit_rate * (use[c] / total - self.habit[c])
        pays = plat_pay + bank_pay
        if pays:
            share = plat_pay / pays
            self.platform_habit += beh.habit_rate * (share - self.platform_habit)

    # ------------------------------------------------------------------- switching
    def _score(self, b: int) -> float:
        """``sat + bond + 0.3 * log(products) - dormant + brand`` of the account at ``b``."""
        return (
            self.sat[b]
            + self.bond[b]
            + 0.3 * math.log(max(self.products[b], 1))
            - self.dormant[b]
            + self.model.brand[b]
        )

    def _switch(self) -> None:
        """Review the primary, close, open organically, update dormancy."""
        m = self.model
        beh, lev, rng = m.beh, m.lev, m.random
        B, t = m.n_banks, m.week
        held = [b for b in range(B) if self.has[b]]
        if rng.random() < beh.primary_review:
            v = [
                beh.primary_scale
                * (self._score(b) + (beh.primary_margin if b == self.primary else 0.0))
                for b in held
            ]
            top = max(v)
            self.primary = rng.choices(held, weights=[math.exp(x - top) for x in v])[0]
        closed = []
        if len(held) >= 2:
            u = rng.random()  # one draw for all of a customer's accounts
            for b in held:
                L = (
                    beh.switching_ease
                    + beh.beta_close_satisfaction
                    * (max(self.sat[o] for o in held if o != b) - self.sat[b])
                    - beh.beta_close_products * (self.products[b] - 1)
                    - beh.beta_close_bond * self.bond[b]
                    + beh.beta_close_dormant * self.dormant[b]
                    - beh.beta_close_rewards * lev.rewards[b] * self.deal
                    - m.brand[b]
                )
                if u < 1.0 - math.exp(-beh.close_base * math.exp(min(L, 20.0))):
                    closed.append(b)
            if len(closed) == len(held):
                closed.remove(self.primary)  # closing them all keeps the primary
            for b in closed:
                self.has[b] = False
            if self.primary in closed:
                rest = [b for b in range(B) if self.has[b]]
                self.primary = max(rest, key=self._score)  # first of equal scores
            for b in closed:
                self.products[b], self.dormant[b] = 0, False
                self.incentive[b] = self.hunter[b] = False
                m.closes += 1
        for b in range(B):
            if self.has[b] or b in closed:
                continue
            p = m.ease * (1.0 - 0.5 * lev.onboarding_friction[b]) * beh.open_base
            if rng.random() < min(max(p, 0.0), 1.0):
                self.has[b], self.products[b], self.sat[b], self.bond[b] = True, 1, 0.5, 0.0
                self.incentive[b] = self.hunter[b] = self.dormant[b] = False
                self.ti_last[b] = t
                m.opens += 1
        for b in range(B):
            self.dormant[b] = (
                self.has[b]
                and self.ti_last[b] != NEVER
                and t - self.ti_last[b] >= beh.dormancy_weeks
            )


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
        check_core_only(p)
        self.beh, self.lev, self.env = p.beh, p.lev, p.env
        self.brand = [float(x) for x in p.brand]
        self.n_banks = vector_model.pop.n_banks
        # branch access (choice.py): 1 - exp(-branch_network[b] * branch_reach / distance[n, b])
        density = np.asarray(self.lev.branch_network * self.env.branch_reach, np.float64)
        self.access = 1.0 - np.exp(-density[None, :] / self.source.distance)
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
        self.log_open = [math.log(max(x, 1e-6)) for x in self.lev.open_banking]
        self.platform_const = b.asc_platform + math.log(max(self.env.platform_strength, 1e-6))
        self.ease = math.exp(b.switching_ease)
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


def agreement(n: int, weeks: int, seeds: int, progress=None) -> dict[str, dict]:
    """Both versions on the same starting populations (seeds 1..``seeds``), own draws.

    Per aggregate of :func:`vector_summary`: the real model's and the twin's values
    per seed and the Welch z of their difference in means. ``progress`` is called
    with the number of seeds done.
    """
    vs, ps = [], []
    for s in range(1, 1 + seeds):
        m = build_vector(n, weeks, seed=s)
        m.run_model()
        vs.append(vector_summary(m))
        pa = PerAgentMarket(build_vector(n, weeks, seed=s), seed=1000 + s)
        for _ in range(weeks):
            pa.step()
        ps.append(pa.summary())
        if progress is not None:
            progress(s)
    out = {}
    for k in vs[0]:
        a, b = np.array([v[k] for v in vs]), np.array([p[k] for p in ps])
        se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        z = float((a.mean() - b.mean()) / se) if se > 0 else 0.0
        out[k] = {"real": a.tolist(), "per_agent": b.tolist(), "z": z}
    return out


def print_agreement(res: dict[str, dict], n: int, weeks: int, seeds: int) -> float:
    """Print the table of :func:`agreement`; return the largest abs(z)."""
    print(
        f"   aggregates after {weeks} weeks at {n:,} customers over {seeds} seeds "
        "(the same starting populations; independent draws): mean (sd over seeds)"
    )
    worst = 0.0
    for k, r in res.items():
        a, b = np.array(r["real"]), np.array(r["per_agent"])
        worst = max(worst, abs(r["z"]))
        print(
            f"     {k:27s} real {a.mean():9.4f} ({a.std(ddof=1):.4f})   per-agent "
            f"{b.mean():9.4f} ({b.std(ddof=1):.4f})   diff {a.mean() - b.mean():+.4f} = "
            f"{r['z']:+.2f} standard errors"
        )
    print(
        f"   largest difference {worst:.2f} standard errors (Welch; over {len(res)} "
        "aggregates, up to about 2.5 is what sampling noise alone gives)"
    )
    return worst


def main(argv: list[str] | None = None) -> None:
    """Print the agreement of the real model and the twin (no timings)."""
    import sys

    ap = argparse.ArgumentParser(description="Real model vs per-agent twin: aggregates")
    ap.add_argument("--size", type=int, default=10_000, help="customers (default 10,000)")
    ap.add_argument("--weeks", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=8)
    a = ap.parse_args(argv)
    for name, v in (("--size", a.size), ("--weeks", a.weeks)):
        if v < 1:
            ap.error(f"{name} {v}: must be at least 1")
    if a.seeds < 2:
        ap.error(f"--seeds {a.seeds}: must be at least 2 (the standard errors need two)")

    def tick(s: int) -> None:
        print(f"   seed {s} of {a.seeds} done", file=sys.stderr, flush=True)

    res = agreement(a.size, a.weeks, a.seeds, progress=tick)
    print_agreement(res, a.size, a.weeks, a.seeds)


if __name__ == "__main__":
    main()
