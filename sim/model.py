"""The market model: ``BankingMarket(mesa.Model)`` with banks and platforms as agents.

Customers are a population of arrays (:mod:`sim.population`) updated all at
once by the weekly processes (:mod:`sim.processes`); banks and the
third-party platform are few, rich :class:`mesa.Agent` objects that carry their
settings and the week's KPIs, which a :class:`mesa.DataCollector` records.
"""

from __future__ import annotations

import os

import mesa
import numba
import numpy as np

from sim.census import census
from sim.config import CHANNELS, Config, Levers
from sim.measure import Trackers
from sim.memory import keep_freed_memory
from sim.params import Params
from sim.population import CH, build_network, build_population
from sim.processes import (
    accounting,
    adoption,
    choice,
    demography,
    experience,
    marketing,
    needs,
    response,
    shocks,
    switching,
)
from sim.rng import RUN, Streams

#: The weekly schedule, in order (the ODD "process overview and scheduling").
SCHEDULE = (
    ("shocks", shocks.run),
    ("marketing", marketing.run),
    ("demography", demography.run),
    ("needs", needs.run),
    ("choice", choice.run),
    ("experience", experience.run),
    ("adoption", adoption.run),
    ("response", response.run),
    ("switching", switching.run),
    ("accounting", accounting.run),
)


def limit_threads_to_environment() -> int:
    """Numba threads for the compiled passes: one per worker of a multi-worker experiment.

    A worker's environment says how many threads it may use: joblib's loky workers get
    ``NUMBA_NUM_THREADS`` (read by numba at import), Ray's tasks ``OMP_NUM_THREADS=1``.
    Where ``OMP_NUM_THREADS`` is set the passes use at most that many threads; run alone,
    they use every core numba sees. Results do not depend on the count (draws by counter).
    """
    omp = os.environ.get("OMP_NUM_THREADS", "")
    if omp.isdigit() and int(omp) >= 1:
        numba.set_num_threads(min(int(omp), numba.config.NUMBA_NUM_THREADS))
    return numba.get_num_threads()


class Bank(mesa.Agent):
    """A bank: its levers and, after each week, its KPIs (read by the data collector)."""

    def __init__(self, model: BankingMarket, index: int, name: str, levers: Levers) -> None:
        """A bank at column ``index`` of the per-bank arrays."""
        super().__init__(model)
        self.index = index
        self.name = name
        self.levers = levers
        self.focal = index == 0
        self.kpi: dict[str, float] = {}


class Platform(mesa.Agent):
    """A third-party payment platform: competes for payments, hosts partner scenes."""

    def __init__(self, model: BankingMarket, name: str) -> None:
        """The platform's weekly payments are kept in ``kpi``."""
        super().__init__(model)
        self.name = name
        self.kpi: dict[str, float] = {}


#: Per-bank weekly counts copied from the tally.
COUNT_KPIS = (
    "opens",
    "opens_incentive",
    "closes",
    "reactivations",
    "offers_shown",
    "offers_accepted",
)

BANK_KPIS = (
    "customers",
    "primary",
    "active_4w",
    "app_mau",
    "dormant",
    "products",
    "satisfaction",
    "bond",
    *(f"contacts_{c}" for c in CHANNELS),
    "transactions",
    "app_visits",
    "payments",
    *COUNT_KPIS,
    "revenue",
    "cost_to_serve",
    "acquisition_spend",
    "retention_spend",
    "incentive_spend",
)


class BankingMarket(mesa.Model):
    """A retail banking market simulated week by week.

    ``step()`` runs one week, in this order:

    1. shocks: scenario shocks set the week's parameters;
    2. marketing: banks plan offers, pushes and prospect touches;
    3. demography: customers leave, new customers enter with a first account;
    4. needs: financial needs, non-financial app visits, opened pushes;
    5. choice: each need goes to a (bank, channel) option or the platform;
    6. experience: satisfaction, bond, habits, push fatigue;
    6b. adoption: the app spreads through the social network (Bass), adopters lapse;
    7. response: offers accepted (cross-sell), reactivation, referral pressure;
    8. switching: primary re-chosen, accounts closed and opened, dormancy;
    9. accounting: revenue, cost to serve, marketing spend per bank.

    Then the trackers and the data collector record the week.

    A run starts from a spun-up state (:mod:`sim.spinup`): ``state`` holds the
    population's arrays and the social network at week 0. Without it the initial
    population is drawn (as the spin-up itself does).
    """

    def __init__(
        self,
        cfg: Config,
        state: dict[str, np.ndarray] | None = None,
        phase: int = RUN,
        record: bool = True,
    ) -> None:
        """Build the market from a validated config, from ``state`` when given.

        Args:
            cfg: the validated config.
            state: a spun-up state (:func:`sim.spinup.export_state`), or None to draw
                the initial population.
            phase: the random streams' phase (:data:`sim.rng.RUN` or ``SPINUP``).
            record: keep the weekly KPIs and the data collector (off in the spin-up).
        """
        keep_freed_memory()  # large weekly temporaries: reuse memory (sim/memory.py)
        limit_threads_to_environment()
        self.streams = Streams(int(cfg.seed), phase)
        self.recording = record
        self.spun_up = state is not None
        super().__init__(rng=self.streams.get("population", -1, 99))
        self.cfg = cfg
        self.market = cfg.market
        self.weeks = int(cfg.weeks)
        self.t = 0
        focal = cfg.market.focal
        names = [focal] + [n for n in cfg.market.banks if n != focal]
        self.bank_names = names
        #: real customers each simulated customer stands for
        self.scale = float(cfg.market.customers_represented) / int(cfg.population.size)
        status_quo = cfg.spinup.strategy
        self.params = Params(cfg.market, cfg.strategy, cfg.scenario, names, status_quo, self.scale)
        shares = np.array([cfg.market.banks[n].share for n in names], dtype=float)
        self.initial_size = int(cfg.population.size)
        if state is None:
            self.pop = build_population(
                self.streams.get("population"),
                self.initial_size,
                cfg.population.headroom,
                cfg.market,
                shares / shares.sum(),
            )
            mix = cfg.market.customers
            self.adjacency = build_network(
                self.streams.get("network"),
                self.pop.capacity,
                self.initial_size,
                self.pop.cohort,
                mix.social_degree,
                mix.homophily,
            )
        else:
            from sim.spinup import import_state

            self.pop, self.adjacency = import_state(state)
        self.degree = np.asarray(self.adjacency.sum(axis=1)).ravel().astype(np.float32)
        levers = [cfg.strategy] + [cfg.market.banks[n].levers for n in names[1:]]
        self.bank_list = [
            Bank(self, i, n, lv) for i, (n, lv) in enumerate(zip(names, levers, strict=True))
        ]
        self.platform = Platform(self, "platform")
        self.trackers = Trackers(self)
        self.p = self.params.at(0)
        self.process_seconds: dict[str, float] = {name: 0.0 for name, _ in SCHEDULE}
        self.datacollector = mesa.DataCollector(
            model_reporters={k: (lambda m, k=k: m.market_kpi[k]) for k in MARKET_KPIS},
            agenttype_reporters={
                Bank: {
                    "bank": "name",
                    "focal": "focal",
                    **{k: (lambda a, k=k: a.kpi[k]) for k in BANK_KPIS},
                },
            },
        )
        self.market_kpi: dict[str, float] = {}

    # ------------------------------------------------------------------ helpers
    def stream(self, process: str, purpose: int = 0) -> np.random.Generator:
        """The generator of ``process`` for this week and ``purpose``."""
        return self.streams.get(process, self.t, purpose)

    def in_window(self, weeks: int) -> bool:
        """Whether this week lies in the last ``weeks`` weeks of the run."""
        return self.t >= self.weeks - weeks

    def record_openings(self, rows, banks, incentive) -> None:
        """Let the trackers follow accounts opened this week."""
        self.trackers.openings(rows, banks, incentive)

    # ------------------------------------------------------------------ the week
    def step(self) -> None:
        """Simulate one week (see the class docstring for the schedule)."""
        import time

        self.trackers.begin_week()
        for name, process in SCHEDULE:
            t0 = time.perf_counter()
            process(self)
            self.process_seconds[name] += time.perf_counter() - t0
        if not self.recording:
            self.trackers.pending.clear()  # nothing is measured in the spin-up
            self.t += 1
            return
        t0 = time.perf_counter()
        self._record()
        self.datacollector.collect(self)
        self.process_seconds["record"] = (
            self.process_seconds.get("record", 0.0) + time.perf_counter() - t0
        )
        self.t += 1

    def _record(self) -> None:
        pop, tally, t = self.pop, self.tally, self.t
        self.census = cen = census(pop, t)  # the week's stocks in one pass (sim/census.py)
        self.trackers.end_week()
        customers = cen["customers"]
        active, mau, primary = cen["active_4w"], cen["app_mau"], cen["primary"]
        dormant, products = cen["dormant"], cen["products"]
        with np.errstate(invalid="ignore", divide="ignore"):
            sat = cen["sat_sum"] / customers
            bond = cen["bond_sum"] / customers
        for bank in self.bank_list:
            b = bank.index
            k = {
                "customers": int(customers[b]),
                "primary": int(primary[b]),
                "active_4w": int(active[b]),
                "app_mau": int(mau[b]),
                "dormant": int(dormant[b]),
                "products": int(products[b]),
                "satisfaction": float(sat[b]),
                "bond": float(bond[b]),
                "transactions": int(tally.transactions[b].sum()),
                "app_visits": int(tally.app_visits[b]),
                "payments": int(tally.bank_payments[b]),
                "revenue": float(tally.revenue[b]),
                "cost_to_serve": float(tally.cost_to_serve[b]),
                "acquisition_spend": float(tally.acquisition_spend[b]),
                "retention_spend": float(tally.retention_spend[b]),
                "lever_cost": float(tally.lever_cost[b]),
                "investment": float(tally.investment[b]),
                "incentive_spend": float(
                    tally.bonus_paid[b] + tally.referral_paid[b] + tally.rewards_paid[b]
                ),
            }
            for name in COUNT_KPIS:
                k[name] = int(getattr(tally, name)[b])
            for c, cname in enumerate(CHANNELS):
                k[f"contacts_{cname}"] = int(tally.contacts[b, c])
            bank.kpi = k
        bank_pay = int(tally.bank_payments.sum())
        n_alive = cen["alive"]
        self.platform.kpi = {"payments": tally.platform_payments}
        self.market_kpi = {
            "customers": n_alive,
            "entries": tally.entries,
            "exits": tally.exits,
            "opens": int(tally.opens.sum()),
            "closes": int(tally.closes.sum()),
            "accounts_exited": tally.exit_accounts,
            "bank_payments": bank_pay,
            "platform_payments": int(tally.platform_payments),
            "bank_payment_share": bank_pay / max(bank_pay + tally.platform_payments, 1),
            "multi_bank_13w": float(cen["multi_13w"] / max(n_alive, 1)),
            "needs": tally.needs_drawn,
            "mean_digital": cen["digital_sum"] / n_alive if n_alive else float("nan"),
            "app_adoption": cen["adopted"] / n_alive if n_alive else float("nan"),
            "adoptions": tally.adoptions,
            "adoption_lapses": tally.lapses,
            **{f"contacts_{c}": int(tally.contacts[:, i].sum()) for i, c in enumerate(CHANNELS)},
            "contacts_platform": int(tally.platform_payments),
        }

    def run_model(self, progress=None) -> None:
        """Run every week; ``progress`` is called with the week number after each."""
        for _ in range(self.weeks):
            self.step()
            if progress is not None:
                progress(self.t)


MARKET_KPIS = (
    "customers",
    "entries",
    "exits",
    "opens",
    "closes",
    "accounts_exited",
    "bank_payments",
    "platform_payments",
    "bank_payment_share",
    "multi_bank_13w",
    "needs",
    "mean_digital",
    "app_adoption",
    "adoptions",
    "adoption_lapses",
    *(f"contacts_{c}" for c in CHANNELS),
    "contacts_platform",
)

__all__ = ["CH", "SCHEDULE", "Bank", "BankingMarket", "Platform"]
