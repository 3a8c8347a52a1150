"""The strategy lab: the focal bank's strategy against the baseline, week by week.

Two models run in lockstep with the same seed and scenario: one with the
strategy being tried (its levers can be changed between weeks), one with the
baseline strategy. Both draw the same random numbers wherever the levers do
not differ (common random numbers, see :mod:`sim.rng`), so the gap between the
two curves is the effect of the strategy, not noise.

Plain Python (no browser): the UI (:mod:`sim.app.ui`) holds one
:class:`LabSession` per browser session.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.app.common import DEFAULT_SIZE, bank_label, build_model, check_lever
from sim.config import CHANNELS, COHORTS, SEGMENTS
from sim.measure import kpi_profit
from sim.params import LEVER_NAMES

#: Channel groups drawn in the channel-mix chart.
CHANNEL_GROUPS: dict[str, tuple[str, ...]] = {
    "branch + ATM": ("branch", "atm"),
    "mobile app": ("mobile",),
    "online, messaging, open": ("online", "messaging", "open"),
    "remote (call, video)": ("remote",),
}
#: Weeks a lab session can run (five years).
LAB_WEEKS = 260
COHORT_LABELS = dict(zip(COHORTS, ("Gen Z", "millennial", "Gen X", "senior"), strict=True))


@dataclass(frozen=True)
class Shock:
    """A scenario shock window, for shading the charts."""

    start: int
    end: int
    label: str


def _holders(model) -> tuple[np.ndarray, np.ndarray]:
    """The focal bank's customers at week 0: (row mask, entry week of each row)."""
    pop = model.pop
    return pop.has[:, 0] & pop.alive, pop.ti_entry.copy()


def _loyalty(model, start: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    """(retention, full switching) of the focal bank's week-0 customers now.

    Retention: the share of them still holding an account at the bank. Full switching:
    the share still in the market with no account at the bank any more (they moved all
    their banking elsewhere). The rest left the market. A row reused by an entrant (another
    entry week) is not the same customer. Vectorised over the population.
    """
    mask, entry = start
    pop = model.pop
    same = mask & pop.alive & (pop.ti_entry == entry)
    n = max(int(mask.sum()), 1)
    held = pop.has[:, 0]
    return float((same & held).sum() / n), float((same & ~held).sum() / n)


def _week_row(model, start: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """The focal bank's week, and the market's, as one flat row.

    ``start``: the focal bank's week-0 customers (:func:`_holders`), for the loyalty
    columns ``retention`` and ``full_switch`` (:func:`_loyalty`).
    """
    k = model.bank_list[0].kpi
    mk = model.market_kpi
    contacts = {c: k[f"contacts_{c}"] for c in CHANNELS}
    total_contacts = sum(contacts.values())
    all_pay = mk["bank_payments"] + mk["platform_payments"]
    row = {
        "week": int(model.t),
        "customers": k["customers"],
        "primary": k["primary"],
        "active": k["active_4w"],
        "app_mau": k["app_mau"],
        "satisfaction": k["satisfaction"],
        "opens": k["opens"],
        "closes": k["closes"],
        "payments": k["payments"],
        "payment_share": k["payments"] / max(all_pay, 1),
        "market_bank_share": mk["bank_payment_share"],
        "profit": kpi_profit(k),
        "contacts": total_contacts,
    }
    if start is not None:
        row["retention"], row["full_switch"] = _loyalty(model, start)
    for group, chans in CHANNEL_GROUPS.items():
        row[f"mix:{group}"] = sum(contacts[c] for c in chans) / max(total_contacts, 1)
    return row


class LabSession:
    """A strategy model and a baseline model, stepped together."""

    def __init__(
        self,
        scenario: str = "none",
        strategy: str = "baseline",
        size: int = DEFAULT_SIZE,
        seed: int = 1,
        weeks: int = LAB_WEEKS,
        sample: int = 10,
    ) -> None:
        """Build both models (week 0)."""
        self.lock = threading.RLock()
        self.size = int(size)
        self.weeks = int(weeks)
        self.n_sample = int(sample)
        self.scenario = scenario
        self.strategy = strategy
        self.seed = int(seed)
        self.reset()

    # ------------------------------------------------------------------ set-up
    def reset(
        self,
        scenario: str | None = None,
        strategy: str | None = None,
        seed: int | None = None,
        levers: dict[str, float] | None = None,
    ) -> None:
        """Rebuild both models at week 0; ``levers`` override the strategy file's."""
        with self.lock:
            checked = {k: check_lever(k, v) for k, v in (levers or {}).items()}
            scenario = self.scenario if scenario is None else scenario
            strategy = self.strategy if strategy is None else strategy
            seed = self.seed if seed is None else int(seed)
            focal = build_model(strategy, scenario, self.size, seed, self.weeks)
            base = build_model("baseline", scenario, self.size, seed, self.weeks)
            self.scenario, self.strategy, self.seed = scenario, strategy, seed
            self.model, self.baseline = focal, base
            self._start = {"strategy": _holders(focal), "baseline": _holders(base)}
            for k, v in checked.items():
                self.model.params.lev0[k][0] = v
            self.rows: dict[str, list[dict]] = {"strategy": [], "baseline": []}
            rng = np.random.default_rng(seed)
            alive = np.flatnonzero(focal.pop.alive)
            self.sample_rows = np.sort(rng.choice(alive, min(self.n_sample, alive.size), False))
            self.sample_entry = focal.pop.ti_entry[self.sample_rows].copy()

    # ------------------------------------------------------------------ levers
    def levers(self) -> dict[str, float]:
        """The focal bank's levers now in force in the strategy run."""
        lev0 = self.model.params.lev0
        return {name: float(lev0[name][0]) for name in LEVER_NAMES}

    def baseline_levers(self) -> dict[str, float]:
        """The focal bank's levers in the baseline run."""
        lev0 = self.baseline.params.lev0
        return {name: float(lev0[name][0]) for name in LEVER_NAMES}

    def set_lever(self, name: str, value: float) -> None:
        """Change one of the focal bank's levers from the next week on."""
        v = check_lever(name, value)
        with self.lock:
            self.model.params.lev0[name][0] = v

    def changed_levers(self) -> dict[str, tuple[float, float]]:
        """Levers that differ from the baseline: name -> (baseline, now)."""
        now, base = self.levers(), self.baseline_levers()
        return {k: (base[k], now[k]) for k in LEVER_NAMES if abs(now[k] - base[k]) > 1e-12}

    # ------------------------------------------------------------------ weeks
    @property
    def week(self) -> int:
        """Weeks simulated so far."""
        return int(self.model.t)

    @property
    def finished(self) -> bool:
        """Whether the session's horizon is reached."""
        return self.model.t >= self.weeks

    def step(self, weeks: int = 1) -> int:
        """Advance both runs ``weeks`` weeks (stops at the horizon); the weeks done."""
        done = 0
        with self.lock:
            for _ in range(int(weeks)):
                if self.finished:
                    break
                self.model.step()
                self.baseline.step()
                self.rows["strategy"].append(_week_row(self.model, self._start["strategy"]))
                self.rows["baseline"].append(_week_row(self.baseline, self._start["baseline"]))
                done += 1
        return done

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Weekly series of the strategy run and of the baseline run."""
        with self.lock:
            a = pd.DataFrame(self.rows["strategy"])
            b = pd.DataFrame(self.rows["baseline"])
        return a, b

    def summary(self) -> list[dict]:
        """The latest week's headline KPIs, strategy against baseline."""
        with self.lock:
            if not self.rows["strategy"]:
                return []
            a, b = self.rows["strategy"][-1], self.rows["baseline"][-1]
            sa = sum(r["profit"] for r in self.rows["strategy"])
            sb = sum(r["profit"] for r in self.rows["baseline"])
        items = [
            ("Customers", "customers", "{:,.0f}"),
            ("Primary customers", "primary", "{:,.0f}"),
            ("Active (4 weeks)", "active", "{:,.0f}"),
            ("Satisfaction", "satisfaction", "{:.3f}"),
            ("Retention of week-0 customers", "retention", "{:.2%}"),
            ("Payment share of all payments", "payment_share", "{:.2%}"),
        ]
        out = [
            {
                "kpi": label,
                "strategy": fmt.format(a[key]),
                "baseline": fmt.format(b[key]),
                "diff": a[key] - b[key],
                "fmt": fmt,
            }
            for label, key, fmt in items
        ]
        out.append(
            {
                "kpi": "Profit to date (k RMB)",
                "strategy": f"{sa / 1000:,.1f}",
                "baseline": f"{sb / 1000:,.1f}",
                "diff": (sa - sb) / 1000,
                "fmt": "{:,.1f}",
            }
        )
        return out

    def spinup(self) -> dict:
        """Where the market started: the spin-up's weeks, cache key and levers at rest.

        Both runs start at week 0 from the market's steady state (:mod:`sim.spinup`),
        the same spun-up state for the strategy and the baseline.
        """
        return dict(getattr(self.model, "spinup", {}) or {})

    def shocks(self) -> list[Shock]:
        """The scenario's shock windows within the horizon."""
        out = []
        for s in self.model.cfg.scenario.shocks:
            end = min(int(s.end), self.weeks)
            target = str(s.target).rsplit(".", 1)[-1]
            out.append(Shock(int(s.start), end, target))
        return out

    # ------------------------------------------------------------------ agents
    def customers(self) -> pd.DataFrame:
        """A fixed sample of customers of the strategy run: banks, primary, habit, satisfaction."""
        names = self.model.bank_names
        with self.lock:
            pop = self.model.pop
            rows = []
            for r, entry in zip(self.sample_rows, self.sample_entry, strict=True):
                row = {"customer": f"#{r}"}
                if not pop.alive[r] or pop.ti_entry[r] != entry:
                    row.update(
                        {
                            "who": "left the market",
                            "banks": "",
                            "primary": "",
                            "main channel": "",
                            "satisfaction": "",
                            "platform habit": "",
                        }
                    )
                    rows.append(row)
                    continue
                held = [b for b in range(len(names)) if pop.has[r, b]]
                prim = int(pop.primary[r])
                habit = pop.habit[r]
                top = int(np.argmax(habit))
                row["who"] = (
                    f"{COHORT_LABELS[COHORTS[pop.cohort[r]]]}, {SEGMENTS[pop.segment[r]]} value, "
                    f"digital {pop.digital[r]:.2f}"
                )
                row["banks"] = ", ".join(
                    bank_label(names[b]) + ("*" if b == prim else "") for b in held
                )
                row["primary"] = bank_label(names[prim])
                row["main channel"] = f"{CHANNELS[top]} ({habit[top] / max(habit.sum(), 1e-9):.0%})"
                row["satisfaction"] = f"{pop.sat[r, prim]:.2f}"
                row["platform habit"] = f"{pop.platform_habit[r]:.2f}"
                rows.append(row)
        return pd.DataFrame(rows)
