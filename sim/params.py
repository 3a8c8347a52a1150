"""Parameters in force each week: the config's values with scenario shocks applied.

Levers are held as arrays over banks (index 0 is the focal bank, then the
competitors in the market file's order), so every process reads, for
example, ``p.lev.app_quality[b]``.

Shock targets (see :class:`sim.config.Shock`):
    ``market.environment.<name>``  a market condition
    ``market.behaviour.<name>``    a behavioural coefficient
    ``strategy.<lever>``           a lever of the focal bank
    ``banks.<lever>``              a lever of every bank
    ``banks.<bank>.<lever>``       a lever of one bank
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from sim.config import Behaviour, Environment, Levers, ScenarioConfig, Shock
from sim.errors import ConfigError
from sim.levers import NAMES as LEVER_NAMES


def lever_costs(market, strategy, status_quo, scale: float) -> SimpleNamespace:
    """Each lever's cost in simulated units (RMB for the simulated population), per lever.

    ``weekly`` (RMB per week per unit of level) and ``invest`` (RMB for the focal bank's
    improvement over ``status_quo``) are the market file's real-scale figures divided by
    ``scale``, so that scaled back up they are what the bank pays; ``per_customer`` stays
    per customer. ``invest_total`` is the focal bank's one-off investment, in simulated
    units.
    """
    from sim.levers import LEVERS

    costs = getattr(market, "costs", None)
    weekly, per_customer, invest = {}, {}, {}
    total = 0.0
    for lv in LEVERS:
        c = getattr(costs, lv.name) if costs is not None else lv.cost
        weekly[lv.name] = 1e6 * float(c.weekly) / scale
        per_customer[lv.name] = float(c.per_customer)
        invest[lv.name] = 1e6 * float(c.invest) / scale
        if status_quo is not None:
            gain = lv.level(float(getattr(strategy, lv.name))) - lv.level(
                float(getattr(status_quo, lv.name))
            )
            total += invest[lv.name] * max(gain, 0.0)
    return SimpleNamespace(
        weekly=weekly, per_customer=per_customer, invest=invest, invest_total=total
    )


def _ranges(cls) -> dict[str, tuple[float | None, float | None]]:
    return {f.name: (f.metadata.get("lo"), f.metadata.get("hi")) for f in dataclasses.fields(cls)}


_LEVER_RANGE = _ranges(Levers)
_ENV_RANGE = _ranges(Environment)
_BEH_RANGE = _ranges(Behaviour)


@dataclass
class Target:
    """Where a shock acts: a section, a name, and for levers the bank indices."""

    section: str  # "env", "beh" or "lev"
    name: str
    banks: tuple[int, ...] = ()


def resolve_target(target: str, bank_names: list[str]) -> Target:
    """Parse a shock target; an unknown one is a ConfigError listing what is allowed."""
    parts = target.split(".")
    env = [f.name for f in dataclasses.fields(Environment)]
    beh = [f.name for f in dataclasses.fields(Behaviour) if f.type in ("float", "int", float)]
    if parts[:2] == ["market", "environment"] and len(parts) == 3 and parts[2] in env:
        return Target("env", parts[2])
    if parts[:2] == ["market", "behaviour"] and len(parts) == 3 and parts[2] in beh:
        return Target("beh", parts[2])
    if parts[0] == "strategy" and len(parts) == 2 and parts[1] in LEVER_NAMES:
        return Target("lev", parts[1], (0,))
    if parts[0] == "banks" and len(parts) == 2 and parts[1] in LEVER_NAMES:
        return Target("lev", parts[1], tuple(range(len(bank_names))))
    if (
        parts[0] == "banks"
        and len(parts) == 3
        and parts[1] in bank_names
        and parts[2] in LEVER_NAMES
    ):
        return Target("lev", parts[2], (bank_names.index(parts[1]),))
    raise ConfigError(
        f"shock target {target!r} does not exist; allowed: market.environment.<"
        f"{'|'.join(env)}>, market.behaviour.<a numeric behaviour name>, strategy.<lever>, "
        f"banks.<lever> or banks.<bank>.<lever> with lever one of {', '.join(LEVER_NAMES)} "
        f"and bank one of {', '.join(bank_names)}"
    )


def _shocked(base: float, shock: Shock) -> float:
    if shock.mode == "set":
        return float(shock.value)
    if shock.mode == "multiply":
        return base * float(shock.value)
    return base + float(shock.value)


def shock_weight(shock: Shock, week: int) -> float:
    """How far the shock has moved its target at ``week`` (0 none, 1 fully)."""
    if week < shock.start:
        return 0.0
    if shock.shape == "step":
        return 1.0 if week <= shock.end else 0.0
    span = max(shock.end - shock.start, 1)
    return min((week - shock.start) / span, 1.0)


class Params:
    """Base parameters of a run and their shocked values week by week."""

    def __init__(
        self,
        market,
        strategy: Levers,
        scenario: ScenarioConfig,
        bank_names,
        status_quo: Levers | None = None,
        scale: float = 1.0,
    ):
        """Gather the market's and banks' settings; ``bank_names[0]`` is the focal bank.

        ``status_quo``: the focal bank's levers at rest (the spin-up strategy), from which
        the investment of ``strategy`` is counted; ``scale``: real customers per simulated
        customer (``market.customers_represented / population.size``).
        """
        self.bank_names = list(bank_names)
        self.env0 = {
            f.name: getattr(market.environment, f.name) for f in dataclasses.fields(Environment)
        }
        self.beh0 = {
            f.name: getattr(market.behaviour, f.name) for f in dataclasses.fields(Behaviour)
        }
        self.beh0["cost_per_contact"] = np.asarray(self.beh0["cost_per_contact"], float)
        levers = [strategy] + [market.banks[n].levers for n in self.bank_names[1:]]
        self.lev0 = {
            name: np.array([float(getattr(lv, name)) for lv in levers]) for name in LEVER_NAMES
        }
        #: each bank's brand constant (market file), in bank order
        self.brand = np.array([float(market.banks[n].brand) for n in self.bank_names])
        self.shocks = [(s, resolve_target(s.target, self.bank_names)) for s in scenario.shocks]
        self.scale = float(scale)
        self.costs = lever_costs(market, strategy, status_quo, self.scale)
        #: one-off investments due by week, per bank (simulated units), charged by accounting
        #: on top of the focal bank's week-0 ``costs.invest_total`` (the team game puts the
        #: investment of its lever changes between rounds here, :mod:`sim.app.game`)
        self.invest_due: dict[int, np.ndarray] = {}

    def at(self, week: int) -> SimpleNamespace:
        """The parameters in force at ``week``: ``.env``, ``.beh``, ``.lev`` namespaces."""
        env = dict(self.env0)
        beh = dict(self.beh0)
        lev = {k: v.copy() for k, v in self.lev0.items()}
        for shock, tgt in self.shocks:
            w = shock_weight(shock, week)
            if w == 0.0:
                continue
            if tgt.section == "lev":
                for b in tgt.banks:
                    base = self.lev0[tgt.name][b]
                    lo, hi = _LEVER_RANGE[tgt.name]
                    val = base + w * (_shocked(base, shock) - base)
                    lev[tgt.name][b] = float(np.clip(val, lo, hi))
            else:
                store, rng_ = (env, _ENV_RANGE) if tgt.section == "env" else (beh, _BEH_RANGE)
                base0 = (self.env0 if tgt.section == "env" else self.beh0)[tgt.name]
                lo, hi = rng_[tgt.name]
                val = base0 + w * (_shocked(base0, shock) - base0)
                lo = -np.inf if lo is None else lo
                hi = np.inf if hi is None else hi
                store[tgt.name] = type(base0)(np.clip(val, lo, hi))
        return SimpleNamespace(
            env=SimpleNamespace(**env),
            beh=SimpleNamespace(**beh),
            lev=SimpleNamespace(**lev),
            brand=self.brand,
        )
