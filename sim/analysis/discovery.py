"""Scenario discovery: under which conditions does a strategy fail against the baseline?

The question of exploratory modelling (Bryant and Lempert 2010; the EMA
Workbench), asked of one strategy. A design file
(``configs/design/discovery.yaml``) names the strategy, the baseline, a
scenario and the **uncertainties**, each with a ``[low, high]`` range inside
its allowed range:

* market conditions, behaviour and customers: any numeric key
  ``market.environment.*``, ``market.behaviour.*`` or ``market.customers.*``
  of the run config (:mod:`sim.config`); they shape the market at rest too
  (the spin-up runs under them);
* the scenario's shocks (:class:`sim.config.ScenarioConfig`):
  ``scenario.strength`` ``s`` scales every shock's effect: a ``multiply``
  shock of value ``v`` becomes ``1 + s (v - 1)``, an ``add`` shock ``s v``, a
  ``set`` shock on a market key ``x0 + s (v - x0)`` (``x0`` the case's base
  value); ``s = 1`` is the scenario as written, ``s = 0`` no shock (the model
  clips shocked values to their ranges). ``scenario.start`` is the week the
  scenario's first shock starts; every shock moves by the same number of
  weeks, its end too (durations are kept). Per shock:
  ``scenario.shocks.<i>.value`` (its value; a ``set`` value inside the
  target's range) and ``scenario.shocks.<i>.start`` (its start week; its end
  moves with it).

**Cases.** ``cases`` points of a Latin hypercube (:class:`scipy.stats.qmc.LatinHypercube`,
seeded by ``sample_seed``) scaled to the ranges (integer keys rounded). Every
case runs the strategy and the baseline on each of ``seeds`` with the same
sampled conditions (common random numbers: both arms of a seed share the
spun-up market and every random draw their levers do not change). The case's
**paired gain** is the mean over seeds of ``d_k = y_strategy,k - y_baseline,k``
for an outcome whose direction is ``higher`` (``y_baseline,k - y_strategy,k``
for ``lower``), on the ``outcome``: the experiment's loyalty headline
(``retention_26w``, :mod:`sim.headlines`) by default, or ``npv`` (the
incremental NPV of :mod:`sim.analysis.business`, million RMB), or any outcome.
A case **fails** when its gain is below ``threshold``. A case with a failed
run or a NaN outcome on any seed has no gain; it is listed and left out.
The runs go through the shared evaluator (:mod:`sim.analysis.evaluator`: local
cores with ``--jobs N``, or Ray with ``--ray ADDRESS``; failed runs recorded,
finished ones never repeated).

**PRIM** (the ``prim`` package, Friedman and Fisher 1999; the EMA Workbench's
implementation): starting from the box holding every case, peel off a slice
``peel_alpha`` of the cases along one dimension at a time (the slice that most
raises the objective, ``lenient1`` by default), until the box would hold less
than ``mass_min`` of the cases, then paste back where that helps. Each box on
this peeling trajectory has a **coverage** (failing cases inside / all failing
cases) and a **density** (failing cases inside / all cases inside). The chosen
box: the one of highest density among the boxes of coverage >= ``min_coverage``
(ties: higher coverage, then fewer restricted dimensions). Each restricted
dimension has a quasi-p-value (Bryant and Lempert 2010: the one-sided binomial
probability of the box's density if that restriction were dropped); a
restriction with a quasi-p-value above ``significance`` is not supported by
the cases.

**CART** (:class:`sklearn.tree.DecisionTreeClassifier`, depth ``max_depth``):
a second view of the same classification; its rules as text, its accuracy on
the cases and by stratified ``folds``-fold cross-validation beside the
accuracy of always predicting the larger class.

    python -m sim.analysis.discovery                                   # the design file
    python -m sim.analysis.discovery --cases 48 --population 1000 --weeks 52
    python -m sim.analysis.discovery --resume results/discovery/<folder>

The output folder (``results/discovery/<time>-<name>/``; an existing folder
is never reused except by ``--resume``) holds ``design.yaml``, ``samples.csv``
(the cases' conditions), ``runs/<case>_s<seed>_<arm>.json`` (one file per
finished run: resuming skips them), ``outcomes.parquet`` / ``outcomes.csv``
(every run's outcomes), ``cases.csv`` (per case: conditions, both
arms' outcome, the gain, whether it fails), ``failed.csv``, ``peeling.csv``
and ``peeling.png`` (the trajectory, the chosen box marked), ``box.csv`` (the
chosen box's limits per uncertainty, restricted side, quasi-p-value),
``box_scatter.png`` (the cases on the two most significant restricted
dimensions, the box drawn), ``cart.txt`` and ``cart.png``, and
``discovery.md``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.evaluator import Backend, RunConfig, evaluate
from sim.analysis.sensitivity import (
    base_config,
    base_overrides,
    markdown_table,
    parse_seeds,
    schema_field,
)
from sim.atomic import atomic_write
from sim.paths import CONFIG_DIR

DEFAULT_DESIGN = CONFIG_DIR / "design" / "discovery.yaml"
ARMS = ("baseline", "strategy")
OBJECTIVES = ("original", "lenient1", "lenient2")
#: The scenario-wide uncertainties: (low, high or None for "weeks - 1", unit).
SCENARIO_KEYS = {
    "scenario.strength": (0.0, 5.0, "x the scenario's shocks (1: as written, 0: none)"),
    "scenario.start": (0.0, None, "week of the first shock"),
}
Simulate = Callable[[dict], dict]


# --------------------------------------------------------------------------- the design
@dataclass
class Uncertainty:
    """An uncertain condition: a key and its sampled range."""

    key: str
    lo: float
    hi: float
    kind: str = "float"  # "float" | "int"
    unit: str = ""


@dataclass
class PrimSettings:
    """PRIM's settings and the rule that chooses a box on the peeling trajectory."""

    peel_alpha: float = 0.05
    paste_alpha: float = 0.05
    mass_min: float = 0.05
    objective: str = "lenient1"
    min_coverage: float = 0.5
    significance: float = 0.05


@dataclass
class CartSettings:
    """The classification tree's settings."""

    max_depth: int = 3
    min_samples_leaf: int = 5
    folds: int = 5


@dataclass
class DiscoveryDesign:
    """What is sampled, what is run, what counts as failing, and how boxes are found."""

    uncertainties: list[Uncertainty]
    name: str = "discovery"
    strategy: str = "human_touch"
    baseline: str = "baseline"
    scenario: str = "none"
    cases: int = 64
    sample_seed: int = 12345
    seeds: list[int] = field(default_factory=lambda: [0])
    population: int = 1000
    weeks: int = 52
    overrides: list[str] = field(default_factory=list)
    outcome: str = "loyalty"
    direction: str | None = None
    threshold: float = 0.0
    prim: PrimSettings = field(default_factory=PrimSettings)
    cart: CartSettings = field(default_factory=CartSettings)

    @property
    def keys(self) -> list[str]:
        """The uncertainties' keys, in design order."""
        return [u.key for u in self.uncertainties]

    def outcome_name(self) -> str:
        """The outcome of :mod:`sim.outcomes` the gain is measured on."""
        from sim.headlines import DEFAULT

        return DEFAULT.get(self.outcome, self.outcome)

    def outcome_direction(self) -> str:
        """``higher`` or ``lower``: which way the outcome is better."""
        from sim.outcomes import BY_NAME

        return self.direction or BY_NAME[self.outcome_name()].direction

    def to_dict(self) -> dict:
        """The design as written to ``design.yaml``."""
        d = dataclasses.asdict(self)
        d["uncertainties"] = {
            u.key: [int(u.lo), int(u.hi)] if u.kind == "int" else [u.lo, u.hi]
            for u in self.uncertainties
        }
        return d


def _err(where: str, key: str, value: Any, allowed: str):
    from sim.errors import ConfigError

    return ConfigError(f"{where}: {key} = {value!r} is not allowed; allowed: {allowed}")


def _g(v: float | None, default: str) -> str:
    return default if v is None else f"{v:g}"


@functools.lru_cache(maxsize=16)
def _composed(strategy: str, scenario: str, population: int, weeks: int, overrides: tuple) -> str:
    """The composed, validated run config as JSON (cached: Hydra's compose is slow)."""
    from omegaconf import OmegaConf

    from sim.validate import validate

    cfg = base_config(strategy, scenario, population, weeks, list(overrides))
    validate(OmegaConf.create(cfg))
    return json.dumps(cfg)


def composed(design: DiscoveryDesign, arm: str) -> dict:
    """One arm's run config (``strategy`` or ``baseline``), before a case's conditions."""
    name = design.strategy if arm == "strategy" else design.baseline
    return json.loads(
        _composed(name, design.scenario, design.population, design.weeks, tuple(design.overrides))
    )


def _target_range(target: str) -> tuple[float | None, float | None, str]:
    """The allowed range and unit of a shock target's parameter."""
    import sim.config as c

    parts = target.split(".")
    if parts[0] == "market":
        _, meta = schema_field(target)
    else:  # strategy.<lever>, banks.<lever>, banks.<bank>.<lever>
        meta = c.field_meta(c.Levers, parts[-1])
    return meta.get("lo"), meta.get("hi"), meta.get("unit", "")


def _check_scenario_key(key: str, lo: float, hi: float, base: dict, where: str) -> Uncertainty:
    """A scenario uncertainty checked against the scenario's shocks and the run's weeks."""
    shocks = base["scenario"]["shocks"]
    weeks = int(base["weeks"])
    bounds = [lo, hi]
    if not shocks:
        raise _err(
            where,
            f"uncertainties.{key}",
            bounds,
            f"scenario uncertainties need a scenario with shocks; scenario "
            f"{base['scenario']['name']!r} has none",
        )
    if key == "scenario.strength":
        for i, s in enumerate(shocks):
            if s["mode"] == "set" and not s["target"].startswith("market."):
                raise _err(
                    where,
                    f"uncertainties.{key}",
                    bounds,
                    f"a scenario whose set shocks act on market keys (shock {i} sets "
                    f"{s['target']}, whose base value differs between arms or banks); use "
                    f"scenario.shocks.{i}.value instead",
                )
        mlo, mhi, unit = SCENARIO_KEYS[key]
        if lo < mlo or hi > mhi:
            raise _err(
                where, f"uncertainties.{key}", bounds, f"a range inside [{mlo:g}, {mhi:g}] {unit}"
            )
        return Uncertainty(key, lo, hi, "float", unit)
    if key == "scenario.start":
        starts = [int(s["start"]) for s in shocks]
        spread = max(starts) - min(starts)
        top = weeks - 1 - spread
        if lo < 0 or hi > top or lo != int(lo) or hi != int(hi):
            raise _err(
                where,
                f"uncertainties.{key}",
                bounds,
                f"whole weeks inside [0, {top}] (the scenario's last shock starts {spread} "
                f"weeks after its first, and every shock must start within the {weeks} "
                "simulated weeks)",
            )
        return Uncertainty(key, lo, hi, "int", "week of the first shock")
    parts = key.split(".")
    if len(parts) != 4 or parts[1] != "shocks" or parts[3] not in ("value", "start"):
        raise _err(
            where,
            "uncertainties",
            key,
            "market.environment.<name>, market.behaviour.<name>, scenario.strength, "
            "scenario.start, scenario.shocks.<i>.value or scenario.shocks.<i>.start",
        )
    try:
        i = int(parts[2])
        shock = shocks[i]
    except (ValueError, IndexError):
        raise _err(
            where,
            "uncertainties",
            key,
            f"a shock index 0..{len(shocks) - 1} of scenario {base['scenario']['name']!r}",
        ) from None
    if parts[3] == "start":
        if lo < 0 or hi > weeks - 1 or lo != int(lo) or hi != int(hi):
            raise _err(
                where,
                f"uncertainties.{key}",
                bounds,
                f"whole weeks inside [0, {weeks - 1}] (a shock starts within the simulated weeks)",
            )
        return Uncertainty(key, lo, hi, "int", "week")
    mode = shock["mode"]
    if mode == "set":
        tlo, thi, unit = _target_range(shock["target"])
        if (tlo is not None and lo < tlo) or (thi is not None and hi > thi):
            raise _err(
                where,
                f"uncertainties.{key}",
                bounds,
                f"a range inside [{_g(tlo, '-inf')}, {_g(thi, 'inf')}] {unit} (shock {i} sets "
                f"{shock['target']})".replace("  ", " "),
            )
        return Uncertainty(key, lo, hi, "float", unit)
    if mode == "multiply" and lo < 0:
        raise _err(
            where,
            f"uncertainties.{key}",
            bounds,
            f"a range of multipliers >= 0 (shock {i} multiplies {shock['target']})",
        )
    return Uncertainty(key, lo, hi, "float", f"{mode} ({shock['target']})")


def make_design(data: dict, where: str = "design") -> DiscoveryDesign:
    """A checked :class:`DiscoveryDesign` from a parsed design file (plus command-line changes).

    Every problem is a :class:`~sim.errors.ConfigError` naming ``where``, the key, the value
    and what is allowed. The strategy, baseline and scenario are composed and validated.
    """
    from sim.errors import ConfigError
    from sim.headlines import DEFAULT as HEADLINES
    from sim.outcomes import BY_NAME

    allowed = {f.name for f in dataclasses.fields(DiscoveryDesign)}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: {', '.join(unknown)} not known; allowed: {', '.join(sorted(allowed))}"
        )
    kw = {k: v for k, v in data.items() if k not in ("uncertainties", "prim", "cart")}
    for key, cls in (("prim", PrimSettings), ("cart", CartSettings)):
        sub = data.get(key) or {}
        if not isinstance(sub, dict):
            raise _err(
                where,
                key,
                sub,
                "a mapping of " + ", ".join(f.name for f in dataclasses.fields(cls)),
            )
        names = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(sub) - names)
        if bad:
            raise ConfigError(
                f"{where}: {key}.{', '.join(bad)} not known; allowed: {', '.join(sorted(names))}"
            )
        kw[key] = cls(**sub)
    if "seeds" in kw:
        kw["seeds"] = parse_seeds(kw["seeds"])
    kw["overrides"] = list(kw.get("overrides") or [])
    for key in ("cases", "sample_seed", "population", "weeks"):
        if key in kw and (isinstance(kw[key], bool) or not isinstance(kw[key], int)):
            raise _err(where, key, kw[key], "a whole number")
    if "threshold" in kw:
        try:
            kw["threshold"] = float(kw["threshold"])
        except (TypeError, ValueError):
            raise _err(where, "threshold", kw["threshold"], "a number") from None
    d = DiscoveryDesign(uncertainties=[], **kw)
    if d.cases < 10:
        raise _err(where, "cases", d.cases, "10 or more (PRIM peels slices of the cases)")
    if not d.seeds:
        raise ConfigError(f"{where}: seeds: at least one seed is needed")
    if d.strategy == d.baseline:
        raise _err(
            where, "strategy", d.strategy, f"a strategy other than the baseline ({d.baseline})"
        )
    if d.outcome_name() not in BY_NAME:
        raise _err(
            where,
            "outcome",
            d.outcome,
            f"a headline key ({', '.join(HEADLINES)}) or an outcome of sim/outcomes.py",
        )
    if d.direction not in (None, "higher", "lower"):
        raise _err(where, "direction", d.direction, "higher | lower (or none: the outcome's own)")
    if d.outcome_direction() not in ("higher", "lower"):
        raise _err(
            where,
            "direction",
            d.direction,
            f"higher | lower ({d.outcome_name()} is an 'info' outcome: say which way is better)",
        )
    if not math.isfinite(d.threshold):
        raise _err(where, "threshold", d.threshold, "a finite number")
    p = d.prim
    for key in ("peel_alpha", "paste_alpha"):
        if not 0 < getattr(p, key) < 0.5:
            raise _err(where, f"prim.{key}", getattr(p, key), "a share in (0, 0.5)")
    if not 0 < p.mass_min < 1:
        raise _err(where, "prim.mass_min", p.mass_min, "a share in (0, 1)")
    if not 0 <= p.min_coverage <= 1:
        raise _err(where, "prim.min_coverage", p.min_coverage, "a share in [0, 1]")
    if not 0 < p.significance < 1:
        raise _err(where, "prim.significance", p.significance, "a probability in (0, 1)")
    if p.objective not in OBJECTIVES:
        raise _err(where, "prim.objective", p.objective, " | ".join(OBJECTIVES))
    c = d.cart
    if not (isinstance(c.max_depth, int) and 1 <= c.max_depth <= 10):
        raise _err(where, "cart.max_depth", c.max_depth, "a whole number 1..10")
    if not (isinstance(c.min_samples_leaf, int) and c.min_samples_leaf >= 1):
        raise _err(where, "cart.min_samples_leaf", c.min_samples_leaf, "a whole number >= 1")
    if not (isinstance(c.folds, int) and c.folds >= 2):
        raise _err(where, "cart.folds", c.folds, "a whole number >= 2")

    raw = data.get("uncertainties") or {}
    if not isinstance(raw, dict):
        raise _err(where, "uncertainties", raw, "a mapping of keys to [low, high]")
    base = None
    for key, bounds in raw.items():
        if not (isinstance(bounds, list | tuple) and len(bounds) == 2):
            raise _err(where, f"uncertainties.{key}", bounds, "[low, high]")
        try:
            lo, hi = float(bounds[0]), float(bounds[1])
        except (TypeError, ValueError):
            raise _err(where, f"uncertainties.{key}", bounds, "[low, high], two numbers") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise _err(where, f"uncertainties.{key}", list(bounds), "[low, high] with low < high")
        if key.startswith("scenario."):
            if base is None:
                base = _compose_checked(d, where)
            d.uncertainties.append(_check_scenario_key(key, lo, hi, base, where))
            continue
        if not key.startswith(("market.environment.", "market.behaviour.", "market.customers.")):
            raise _err(
                where,
                "uncertainties",
                key,
                "market.environment.<name>, market.behaviour.<name>, market.customers.<name> "
                "or a scenario key "
                "(scenario.strength, scenario.start, scenario.shocks.<i>.value|start)",
            )
        try:
            kind, meta = schema_field(key)
        except KeyError as err:
            raise ConfigError(f"{where}: uncertainties.{err.args[0]}") from None
        mlo, mhi = meta.get("lo"), meta.get("hi")
        if (mlo is not None and lo < mlo) or (mhi is not None and hi > mhi):
            raise _err(
                where,
                f"uncertainties.{key}",
                list(bounds),
                f"a range inside [{_g(mlo, '-inf')}, {_g(mhi, 'inf')}] "
                f"{meta.get('unit', '')}".rstrip(),
            )
        d.uncertainties.append(Uncertainty(key, lo, hi, kind, meta.get("unit", "")))
    if len(d.uncertainties) < 2:
        raise ConfigError(f"{where}: uncertainties: at least two uncertainties are needed")
    strength_and_values = "scenario.strength" in d.keys and any(
        k.endswith(".value") for k in d.keys if k.startswith("scenario.shocks.")
    )
    start_and_starts = "scenario.start" in d.keys and any(
        k.endswith(".start") for k in d.keys if k.startswith("scenario.shocks.")
    )
    if strength_and_values or start_and_starts:
        which = "scenario.strength" if strength_and_values else "scenario.start"
        raise _err(
            where,
            "uncertainties",
            which,
            f"either {which} or per-shock keys of the same kind, not both",
        )
    if base is None:
        _compose_checked(d, where)
    return d


def _compose_checked(d: DiscoveryDesign, where: str) -> dict:
    """Compose both arms (a bad strategy, scenario or override fails here, before sampling)."""
    from sim.errors import ConfigError

    try:
        composed(d, "strategy")
        return composed(d, "baseline")
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
    except Exception as err:  # Hydra's errors name the missing option
        raise ConfigError(
            f"{where}: strategy {d.strategy!r}, baseline {d.baseline!r} or scenario "
            f"{d.scenario!r} cannot be composed: {err}"
        ) from None


def read_design(path: Path, changes: dict | None = None) -> dict:
    """A design file's mapping with command-line changes applied (``None`` values ignored)."""
    import yaml

    from sim.errors import ConfigError

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read the design: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a design is a mapping of keys to values, not {data!r}")
    for k, v in (changes or {}).items():
        if v is None:
            continue
        if k.startswith("prim."):
            data.setdefault("prim", {})[k[5:]] = v
        else:
            data[k] = v
    return data


def load_design(path: Path, changes: dict | None = None) -> DiscoveryDesign:
    """Read a design file and apply command-line changes (``None`` values are ignored)."""
    return make_design(read_design(path, changes), where=str(path))


# --------------------------------------------------------------------------- cases
def sample(design: DiscoveryDesign) -> pd.DataFrame:
    """The cases: a Latin hypercube over the uncertainties' ranges (integer keys rounded)."""
    from scipy.stats import qmc

    u = qmc.LatinHypercube(d=len(design.uncertainties), seed=design.sample_seed)
    unit = u.random(design.cases)
    lo = np.array([x.lo for x in design.uncertainties])
    hi = np.array([x.hi for x in design.uncertainties])
    X = qmc.scale(unit, lo, hi)
    df = pd.DataFrame(X, columns=design.keys)
    for x in design.uncertainties:
        if x.kind == "int":
            df[x.key] = np.clip(np.rint(df[x.key]), x.lo, x.hi).astype(int)
    df.insert(0, "case", range(len(df)))
    return df


def case_changes(base: dict, values: dict[str, float]) -> dict[str, Any]:
    """The config changes that run one case: dotted keys -> values.

    Market keys are set as sampled. Scenario uncertainties are turned into the
    case's whole shock list (``scenario.shocks``): per-shock values and starts
    first, then ``scenario.strength`` and ``scenario.start`` (module docstring).
    """
    changes: dict[str, Any] = {}
    for key, v in values.items():
        if key.startswith("market."):
            changes[key] = v
    scen = {k: v for k, v in values.items() if k.startswith("scenario.")}
    if not scen:
        return changes
    shocks = copy.deepcopy(base["scenario"]["shocks"])
    for key, v in scen.items():
        parts = key.split(".")
        if parts[1] != "shocks":
            continue
        s = shocks[int(parts[2])]
        if parts[3] == "value":
            s["value"] = float(v)
        else:
            length = int(s["end"]) - int(s["start"])
            s["start"] = int(v)
            s["end"] = int(v) + length
    if "scenario.strength" in scen:
        k = float(scen["scenario.strength"])
        for s in shocks if k != 1.0 else []:  # 1: the scenario exactly as written
            v = float(s["value"])
            if s["mode"] == "multiply":
                s["value"] = 1.0 + k * (v - 1.0)
            elif s["mode"] == "add":
                s["value"] = k * v
            else:  # set, on a market key (checked by the design)
                node: Any = base
                for p in s["target"].split("."):
                    node = node[p]
                x0 = float(changes.get(s["target"], node))
                s["value"] = x0 + k * (v - x0)
    if "scenario.start" in scen:
        shift = int(scen["scenario.start"]) - min(int(s["start"]) for s in shocks)
        for s in shocks:
            s["start"] = int(s["start"]) + shift
            s["end"] = int(s["end"]) + shift
    changes["scenario.shocks"] = shocks
    return changes


def run_id(case: int, seed: int, arm: str) -> str:
    """The name of one run of a case: ``<case>_s<seed>_<arm>``."""
    return f"{case:06d}_s{seed}_{arm}"


def run_configs(design: DiscoveryDesign, samples: pd.DataFrame) -> list[RunConfig]:
    """Every run of the design, for the evaluator: baselines first (they build each case's
    spin-up), then the strategy (which finds the spun-up market in the cache).

    A run is its arm's Hydra overrides (:func:`sim.analysis.sensitivity.base_overrides`)
    plus the case's changes (:func:`case_changes`) and the seed, set on the composed config.
    """
    out = []
    for arm in ARMS:
        base = composed(design, arm)
        name = design.strategy if arm == "strategy" else design.baseline
        overrides = base_overrides(
            name, design.scenario, design.population, design.weeks, design.overrides
        )
        for row in samples.to_dict("records"):
            changes = case_changes(base, {k: row[k] for k in design.keys})
            case = int(row["case"])
            for seed in design.seeds:
                out.append(
                    RunConfig(
                        key=run_id(case, seed, arm),
                        overrides=overrides,
                        values={**changes, "seed": int(seed)},
                        labels={"case": case, "seed": int(seed), "arm": arm},
                    )
                )
    return out


def evaluate_runs(
    configs: Sequence[RunConfig],
    folder: Path,
    backend: Backend | None = None,
    progress: bool = True,
    simulate_fn: Simulate | None = None,
) -> pd.DataFrame:
    """Configs in, outcome table out, through the shared evaluator (:mod:`sim.analysis.evaluator`).

    One row per run (``key``, ``case``, ``seed``, ``arm``, ``status``, ``error``, every
    outcome); each finished run is kept in ``folder/runs/<key>.json`` and never run again
    (resume), the table is written as ``outcomes.parquet`` (and ``outcomes.csv``).
    """
    ev = evaluate(
        configs,
        folder,
        backend=backend or Backend("local", 2),
        simulate=simulate_fn,
        progress=progress,
        desc="discovery",
        table="outcomes",
    )
    return ev.table


def gains(
    design: DiscoveryDesign, samples: pd.DataFrame, table: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per case: both arms' mean outcome, the paired gain and whether it fails; the problems."""
    o = design.outcome_name()
    sign = 1.0 if design.outcome_direction() == "higher" else -1.0
    by_id = table.set_index("key")
    rows, problems = [], []
    for rec in samples.to_dict("records"):
        case = int(rec["case"])
        s_vals, b_vals, d_vals = [], [], []
        for seed in design.seeds:
            pair = {}
            for arm in ARMS:
                r = by_id.loc[run_id(case, seed, arm)]
                v = float(r[o]) if r["status"] == "ok" and o in r else math.nan
                if r["status"] != "ok":
                    problems.append(
                        {
                            "case": case,
                            "seed": seed,
                            "arm": arm,
                            "status": r["status"],
                            "message": r["error"],
                        }
                    )
                elif not math.isfinite(v):
                    problems.append(
                        {
                            "case": case,
                            "seed": seed,
                            "arm": arm,
                            "status": "nan_outcome",
                            "message": f"{o} is {v}",
                        }
                    )
                pair[arm] = v
            s_vals.append(pair["strategy"])
            b_vals.append(pair["baseline"])
            d_vals.append(sign * (pair["strategy"] - pair["baseline"]))
        d = np.asarray(d_vals, float)
        ok = bool(np.isfinite(d).all())
        gain = float(d.mean()) if ok else math.nan
        rows.append(
            {
                **rec,
                f"strategy_{o}": float(np.mean(s_vals)) if ok else math.nan,
                f"baseline_{o}": float(np.mean(b_vals)) if ok else math.nan,
                "gain": gain,
                "gain_se": float(d.std(ddof=1) / math.sqrt(d.size))
                if ok and d.size > 1
                else math.nan,
                "fails": bool(gain < design.threshold) if ok else None,
            }
        )
    cols = ["case", "seed", "arm", "status", "message"]
    return pd.DataFrame(rows), pd.DataFrame(problems, columns=cols)


# --------------------------------------------------------------------------- PRIM and CART
def choose_box(trajectory: pd.DataFrame, min_coverage: float) -> int:
    """The chosen step of a peeling trajectory: the highest density among the boxes of
    coverage >= ``min_coverage``; ties go to the higher coverage, then to fewer restricted
    dimensions, then to the earlier step. Step 0 (every case) always qualifies."""
    t = trajectory.reset_index(drop=True).copy()
    t["step"] = range(len(t))
    ok = t[t["coverage"] >= min_coverage - 1e-12]
    if ok.empty:
        ok = t.iloc[:1]
    best = ok.sort_values(
        ["density", "coverage", "res dim", "step"], ascending=[False, False, True, True]
    )
    return int(best["step"].iloc[0])


def run_prim(
    X: pd.DataFrame,
    fails: np.ndarray,
    design: DiscoveryDesign,
) -> dict:
    """PRIM's first box on ``X`` (cases x uncertainties) with ``fails`` as cases of interest.

    Returns ``{"trajectory", "chosen", "box", "note"}``: the peeling trajectory (one row
    per step: coverage, density, mean, mass, res_dim, restricted, chosen), the chosen
    step, and the chosen box per uncertainty (design range, box limits with the design's
    bounds on unrestricted sides, the restricted side, quasi-p-value, significant).
    ``box`` is None with a note when no case or every case fails.
    """
    import logging

    import prim

    y = np.asarray(fails, dtype=bool)
    n_fail = int(y.sum())
    if n_fail == 0 or n_fail == y.size:
        what = "no case fails" if n_fail == 0 else "every case fails"
        return {"trajectory": None, "chosen": None, "box": None, "note": f"{what}: no box to find"}
    logging.getLogger("prim").setLevel(logging.WARNING)
    p = design.prim
    obj = getattr(prim, p.objective)
    x = X.reset_index(drop=True).copy()
    ranges = {u.key: u for u in design.uncertainties}
    finder = prim.Prim(
        x,
        y,
        obj_func=obj,
        peel_alpha=p.peel_alpha,
        paste_alpha=p.paste_alpha,
        mass_min=p.mass_min,
    )
    box = finder.find_box()
    traj = box.peeling_trajectory.reset_index(drop=True).copy()
    init = box._box_lims[0]

    def restricted_side(lims, key: str) -> str:
        lo = lims[key][0] > init[key][0]
        hi = lims[key][1] < init[key][1]
        return {(True, True): "both", (True, False): "lower", (False, True): "upper"}.get(
            (lo, hi), ""
        )

    traj["restricted"] = [
        ";".join(k for k in x.columns if restricted_side(lims, k)) for lims in box._box_lims
    ]
    chosen = choose_box(traj, p.min_coverage)
    traj.insert(0, "step", range(len(traj)))
    traj = traj.rename(columns={"res dim": "res_dim"})
    traj["chosen"] = traj["step"] == chosen
    box.select(chosen)
    qp = {}
    if chosen > 0:
        lim = box.limits
        qp = {str(k): float(v) for k, v in lim["qp values"].items()}
    lims = box._box_lims[chosen]
    rows = []
    for key in x.columns:
        u = ranges.get(key)
        side = restricted_side(lims, key)
        d_lo = u.lo if u is not None else float(init[key][0])
        d_hi = u.hi if u is not None else float(init[key][1])
        q = qp.get(key, math.nan) if side else math.nan
        rows.append(
            {
                "uncertainty": key,
                "unit": u.unit if u is not None else "",
                "design_low": d_lo,
                "design_high": d_hi,
                "box_low": float(lims[key][0]) if side in ("lower", "both") else d_lo,
                "box_high": float(lims[key][1]) if side in ("upper", "both") else d_hi,
                "restricted": side or "no",
                "qp_value": q,
                "significant": bool(side) and q <= p.significance,
            }
        )
    table = pd.DataFrame(rows)
    order = table["qp_value"].fillna(2.0).argsort(kind="stable")
    table = table.iloc[order].reset_index(drop=True)
    return {"trajectory": traj, "chosen": chosen, "box": table, "note": ""}


def run_cart(X: pd.DataFrame, fails: np.ndarray, design: DiscoveryDesign) -> dict:
    """A classification tree of failing cases: rules, accuracy (cases, cross-validated)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.tree import DecisionTreeClassifier, export_text

    y = np.asarray(fails, dtype=bool)
    c = design.cart
    base_rate = float(max(y.mean(), 1 - y.mean())) if y.size else math.nan
    if y.size == 0 or y.all() or not y.any():
        return {
            "tree": None,
            "rules": "",
            "accuracy": math.nan,
            "cv_accuracy": math.nan,
            "folds": 0,
            "base_rate": base_rate,
            "note": "one class only: no tree",
        }
    tree = DecisionTreeClassifier(
        max_depth=c.max_depth, min_samples_leaf=c.min_samples_leaf, random_state=0
    )
    tree.fit(X.to_numpy(float), y)
    accuracy = float(tree.score(X.to_numpy(float), y))
    folds = min(c.folds, int(y.sum()), int((~y).sum()))
    cv = math.nan
    note = ""
    if folds >= 2:
        cv = float(
            cross_val_score(
                DecisionTreeClassifier(
                    max_depth=c.max_depth, min_samples_leaf=c.min_samples_leaf, random_state=0
                ),
                X.to_numpy(float),
                y,
                cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=0),
            ).mean()
        )
    else:
        note = "too few cases of one class for cross-validation"
    rules = export_text(
        tree,
        feature_names=list(X.columns),
        class_names=["holds", "fails"],
        decimals=4,
        show_weights=True,
    )
    return {
        "tree": tree,
        "rules": rules,
        "accuracy": accuracy,
        "cv_accuracy": cv,
        "folds": folds if folds >= 2 else 0,
        "base_rate": base_rate,
        "note": note,
    }


# --------------------------------------------------------------------------- plots
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_peeling(traj: pd.DataFrame, chosen: int, min_coverage: float, title: str, path: Path):
    """Coverage against density along the peeling trajectory; the chosen box marked."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    ax.plot(traj["coverage"], traj["density"], "-", color="#bbbbbb", lw=1, zorder=1)
    top = int(traj["res_dim"].max())
    sc = ax.scatter(
        traj["coverage"],
        traj["density"],
        c=traj["res_dim"],
        cmap="viridis",
        vmin=-0.5,
        vmax=top + 0.5,
        s=28,
        zorder=2,
    )
    cb = fig.colorbar(sc, ax=ax, ticks=range(top + 1))
    cb.set_label("restricted dimensions")
    r = traj.iloc[chosen]
    ax.scatter(
        [r["coverage"]],
        [r["density"]],
        marker="*",
        s=320,
        facecolor="none",
        edgecolor="#d62728",
        linewidths=2,
        zorder=3,
        label=f"chosen box (step {chosen})",
    )
    ax.annotate(
        f"coverage {r['coverage']:.2f}\ndensity {r['density']:.2f}",
        (r["coverage"], r["density"]),
        textcoords="offset points",
        xytext=(-90, -34),
        fontsize=8,
        color="#d62728",
    )
    ax.axvline(min_coverage, ls="--", color="grey", lw=1, label=f"min coverage {min_coverage:g}")
    ax.set_xlim(0, 1.05)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("coverage (share of failing cases inside the box)")
    ax.set_ylabel("density (share of cases inside the box that fail)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def scatter_dims(box: pd.DataFrame | None, keys: Sequence[str]) -> list[str]:
    """The two dimensions to plot: the restricted ones with the smallest quasi-p-values,
    filled up with unrestricted ones in design order."""
    dims = []
    if box is not None:
        dims = list(box[box["restricted"] != "no"]["uncertainty"])  # sorted by qp already
    for k in keys:
        if len(dims) >= 2:
            break
        if k not in dims:
            dims.append(k)
    return dims[:2]


def plot_box_scatter(
    cases: pd.DataFrame, box: pd.DataFrame | None, design: DiscoveryDesign, title: str, path: Path
):
    """The cases on two dimensions, failing ones in red, the chosen box drawn."""
    from matplotlib.patches import Rectangle

    plt = _plt()
    dims = scatter_dims(box, design.keys)
    units = {u.key: u for u in design.uncertainties}
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    f = cases["fails"].astype(bool).to_numpy()
    a, b = dims
    ax.scatter(
        cases.loc[~f, a],
        cases.loc[~f, b],
        s=22,
        marker="o",
        color="#1f77b4",
        alpha=0.8,
        label=f"holds ({int((~f).sum())})",
    )
    ax.scatter(
        cases.loc[f, a],
        cases.loc[f, b],
        s=30,
        marker="x",
        color="#d62728",
        label=f"fails ({int(f.sum())})",
    )
    if box is not None:
        lim = box.set_index("uncertainty")
        x0, x1 = lim.loc[a, "box_low"], lim.loc[a, "box_high"]
        y0, y1 = lim.loc[b, "box_low"], lim.loc[b, "box_high"]
        ax.add_patch(
            Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=2, color="black", label="PRIM box")
        )
    for setter, k in ((ax.set_xlim, a), (ax.set_ylim, b)):
        u = units[k]
        pad = 0.03 * (u.hi - u.lo)
        setter(u.lo - pad, u.hi + pad)
    ax.set_xlabel(f"{a} ({units[a].unit})" if units[a].unit else a, fontsize=8)
    ax.set_ylabel(f"{b} ({units[b].unit})" if units[b].unit else b, fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_cart(tree, keys: Sequence[str], path: Path):
    """The classification tree."""
    from sklearn.tree import plot_tree

    plt = _plt()
    depth = tree.get_depth()
    fig, ax = plt.subplots(figsize=(max(7, 3.2 * 2 ** min(depth, 4) / 2), 1.8 + 1.6 * depth))
    plot_tree(
        tree,
        feature_names=[k.split(".")[-1] for k in keys],
        class_names=["holds", "fails"],
        filled=True,
        rounded=True,
        fontsize=7,
        ax=ax,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- outputs
def _fmt(v: float) -> str:
    return "NaN" if not math.isfinite(v) else f"{v:.4g}"


def describe_box(prim_out: dict, design: DiscoveryDesign) -> list[str]:
    """The chosen box in words, one line per uncertainty."""
    if prim_out["box"] is None:
        return [f"  no box: {prim_out['note']}"]
    t = prim_out["trajectory"].iloc[prim_out["chosen"]]
    lines = [
        f"PRIM box: step {prim_out['chosen']} of {len(prim_out['trajectory']) - 1}, coverage "
        f"{t['coverage']:.3f}, density {t['density']:.3f}, mass {t['mass']:.3f} (rule: highest "
        f"density at coverage >= {design.prim.min_coverage:g})"
    ]
    free = []
    for r in prim_out["box"].itertuples(index=False):
        if r.restricted == "no":
            free.append(r.uncertainty)
            continue
        sig = "significant" if r.significant else "NOT significant"
        lines.append(
            f"  {r.uncertainty:44s} in [{_fmt(r.box_low)}, {_fmt(r.box_high)}]  of "
            f"[{_fmt(r.design_low)}, {_fmt(r.design_high)}]  qp={r.qp_value:.2g} ({sig})"
        )
    if prim_out["chosen"] == 0:
        lines.append("  the chosen box is the whole design: no restriction reaches the rule")
    if free:
        lines.append(f"  unrestricted: {', '.join(free)}")
    return lines


def describe_cart(cart: dict) -> str:
    """CART's accuracy in one line."""
    if cart["tree"] is None:
        return f"CART: {cart['note']}"
    cv = (
        f"{cart['folds']}-fold cross-validated {cart['cv_accuracy']:.3f}"
        if cart["folds"]
        else cart["note"]
    )
    return (
        f"CART (depth {cart['tree'].get_depth()}, {cart['tree'].get_n_leaves()} leaves): "
        f"accuracy {cart['accuracy']:.3f} on the cases, {cv}; always the larger class: "
        f"{cart['base_rate']:.3f}"
    )


def analyse(folder: Path, design: DiscoveryDesign, samples: pd.DataFrame, table: pd.DataFrame):
    """Gains, PRIM, CART; every table and plot written to ``folder``; the summary dict."""
    cases, problems = gains(design, samples, table)
    valid = cases[cases["gain"].notna()].reset_index(drop=True)
    X = valid[design.keys]
    y = valid["fails"].astype(bool).to_numpy()
    prim_out = run_prim(X, y, design)
    cart = run_cart(X, y, design)
    o = design.outcome_name()
    head = (
        f"{design.strategy} vs {design.baseline} on {o} (paired gain, "
        f"{design.outcome_direction()} is better); fails when gain < {design.threshold:g}"
    )
    atomic_write(folder / "cases.csv", cases.to_csv(index=False, float_format="%.10g"))
    atomic_write(folder / "failed.csv", problems.to_csv(index=False))
    files = ["cases.csv", "failed.csv"]
    if prim_out["trajectory"] is not None:
        atomic_write(
            folder / "peeling.csv",
            prim_out["trajectory"].to_csv(index=False, float_format="%.6g"),
        )
        atomic_write(folder / "box.csv", prim_out["box"].to_csv(index=False, float_format="%.6g"))
        plot_peeling(
            prim_out["trajectory"],
            prim_out["chosen"],
            design.prim.min_coverage,
            f"{design.name}: PRIM peeling trajectory\n{head}",
            folder / "peeling.png",
        )
        files += ["peeling.csv", "peeling.png", "box.csv"]
    if len(valid):
        plot_box_scatter(
            valid,
            prim_out["box"],
            design,
            f"{design.name}: cases and the PRIM box\n{head}",
            folder / "box_scatter.png",
        )
        files.append("box_scatter.png")
    cart_text = [describe_cart(cart), ""]
    if cart["tree"] is not None:
        cart_text += [cart["rules"]]
        plot_cart(cart["tree"], design.keys, folder / "cart.png")
        files.append("cart.png")
    atomic_write(folder / "cart.txt", "\n".join(cart_text) + "\n")
    files.append("cart.txt")
    n_fail = int(y.sum())
    summary = {
        "head": head,
        "cases": cases,
        "problems": problems,
        "n_valid": len(valid),
        "n_fail": n_fail,
        "prim": prim_out,
        "cart": cart,
        "files": files,
    }
    md = [
        f"# Scenario discovery: {design.name}\n\n",
        f"{head}.\n\n{len(cases)} cases (Latin hypercube, sample seed {design.sample_seed}) x "
        f"seeds {design.seeds}; scenario `{design.scenario}`, population {design.population}, "
        f"{design.weeks} weeks. {len(valid)} cases have a gain; {n_fail} fail "
        f"({100 * n_fail / max(len(valid), 1):.1f}%).\n\n## PRIM\n\n",
        "\n".join(describe_box(prim_out, design)).replace("\n  ", "\n- ") + "\n",
    ]
    if prim_out["box"] is not None:
        md += ["\n", markdown_table(prim_out["box"], ".4g")]
    md += [f"\n## CART\n\n{describe_cart(cart)}\n\n```text\n{cart['rules']}```\n"]
    if len(problems):
        md.append(
            f"\n## Problems\n\n{len(problems)} runs failed or have no value (`failed.csv`).\n"
        )
    atomic_write(folder / "discovery.md", "".join(md))
    files.append("discovery.md")
    return summary


def print_summary(folder: Path, design: DiscoveryDesign, summary: dict) -> None:
    """The failure share, the box, CART's accuracy and rules, the problems; on stdout."""
    n, k = summary["n_valid"], summary["n_fail"]
    print(f"\n{summary['head']}")
    print(f"failing cases: {k} of {n} ({100 * k / max(n, 1):.1f}%)")
    print("\n".join(describe_box(summary["prim"], design)))
    print(describe_cart(summary["cart"]))
    if summary["cart"]["rules"]:
        print("  " + summary["cart"]["rules"].rstrip().replace("\n", "\n  "))
    problems = summary["problems"]
    if len(problems):
        print(f"\nproblems ({len(problems)}, listed in {folder / 'failed.csv'}):")
        for r in problems.head(12).itertuples(index=False):
            print(f"  case {r.case} seed {r.seed} {r.arm}: {r.status}: {r.message}")
        if len(problems) > 12:
            print(f"  ... {len(problems) - 12} more")
    print(f"\nfolder: {folder}")
    for name in summary["files"]:
        print(f"  {name}")


# --------------------------------------------------------------------------- the command
def prepare(design: DiscoveryDesign, out: str | Path | None = None) -> Path:
    """A new output folder holding the design and its cases."""
    import yaml

    from sim.atomic import new_folder
    from sim.errors import ConfigError
    from sim.paths import results_dir
    from sim.validate import inside_results

    if out is not None:
        folder = inside_results(Path(out), "--out")
        if folder.exists() and any(folder.iterdir()):
            raise ConfigError(
                f"command line: --out = {str(out)!r} is not allowed; allowed: a new or empty "
                "folder (to continue an earlier analysis use --resume FOLDER)"
            )
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = new_folder(
            results_dir() / "discovery" / f"{time.strftime('%Y%m%d-%H%M%S')}-{design.name}"
        )
    atomic_write(folder / "design.yaml", yaml.safe_dump(design.to_dict(), sort_keys=False))
    atomic_write(folder / "samples.csv", sample(design).to_csv(index=False, float_format="%.17g"))
    (folder / "runs").mkdir(exist_ok=True)
    return folder


def load_folder(folder: Path, changes: dict | None = None) -> tuple[DiscoveryDesign, pd.DataFrame]:
    """The design (with analysis ``changes``) and the cases stored in an output folder."""
    from sim.errors import ConfigError

    folder = Path(folder)
    if not (folder / "design.yaml").exists() or not (folder / "samples.csv").exists():
        raise ConfigError(
            f"command line: --resume = {str(folder)!r} is not allowed; allowed: "
            "a discovery output folder (with design.yaml and samples.csv)"
        )
    design = make_design(read_design(folder / "design.yaml", changes), str(folder / "design.yaml"))
    samples = pd.read_csv(folder / "samples.csv")
    if list(samples.columns) != ["case", *design.keys] or len(samples) != design.cases:
        raise ConfigError(
            f"{folder / 'samples.csv'}: its columns {list(samples.columns)} or its "
            f"{len(samples)} rows do not match design.yaml (case, {', '.join(design.keys)}; "
            f"{design.cases} cases)"
        )
    return design, samples


def execute(
    folder: Path,
    jobs: int = 2,
    progress: bool = True,
    simulate_fn: Simulate | None = None,
    changes: dict | None = None,
    backend: Backend | None = None,
) -> dict:
    """Run what is missing in a prepared folder (resumable), then analyse it; the summary.

    ``changes``: analysis settings changed on resume (``outcome``, ``threshold``,
    ``prim.min_coverage``); they are written to the folder's ``design.yaml``.
    """
    from sim.analysis.evaluator import pending
    from sim.atomic import FolderLock

    backend = backend or Backend("local", jobs)
    with FolderLock(folder, name="discovery.lock", what="discovery folder"):
        design, samples = load_folder(folder, changes)
        if changes:
            import yaml

            atomic_write(folder / "design.yaml", yaml.safe_dump(design.to_dict(), sort_keys=False))
        configs = run_configs(design, samples)
        todo = len(pending(configs, folder))
        print(
            f"discovery: {design.cases} cases x {len(design.seeds)} seeds x 2 arms "
            f"({design.strategy}, {design.baseline}) = {len(configs)} runs; "
            f"{len(configs) - todo} done, {todo} to run ({backend.describe()})",
            flush=True,
        )
        table = evaluate_runs(configs, folder, backend, progress, simulate_fn)
        return analyse(folder, design, samples, table)


def main(argv: list[str] | None = None) -> None:
    """Command line: sample the cases, run both arms (resumable), find the boxes."""
    from sim.errors import ConfigError

    ap = argparse.ArgumentParser(
        prog="python -m sim.analysis.discovery", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--design", default=str(DEFAULT_DESIGN), help="design file (YAML)")
    ap.add_argument("--cases", type=int, help="Latin hypercube cases")
    ap.add_argument("--seeds", help="seeds every case runs, e.g. 0,1 or 0-3")
    ap.add_argument("--population", type=int, help="customers per run")
    ap.add_argument("--weeks", type=int, help="weeks per run")
    ap.add_argument("--strategy", help="the strategy whose failures are sought")
    ap.add_argument("--baseline", help="the strategy it is compared with")
    ap.add_argument("--scenario", help="the scenario (scenarios/)")
    ap.add_argument("--outcome", help="loyalty | traffic | money or an outcome name")
    ap.add_argument("--threshold", type=float, help="a case fails when its gain is below this")
    ap.add_argument("--min-coverage", type=float, help="the box rule's minimum coverage")
    ap.add_argument("--jobs", type=int, default=2, help="parallel runs (local processes)")
    ap.add_argument(
        "--ray", metavar="ADDRESS", help="run on the Ray cluster at ADDRESS (local: a private one)"
    )
    ap.add_argument("--out", help="output folder (new; default results/discovery/<time>-...)")
    ap.add_argument("--resume", metavar="FOLDER", help="finish or re-analyse an earlier analysis")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides applied to every run")
    a = ap.parse_args(argv)
    analysis = {
        "outcome": a.outcome,
        "threshold": a.threshold,
        "prim.min_coverage": a.min_coverage,
    }
    folder: Path | None = None
    backend = Backend.from_args(a.jobs, a.ray)
    try:
        if a.resume:
            run_keys = (
                "cases",
                "seeds",
                "population",
                "weeks",
                "strategy",
                "baseline",
                "scenario",
                "out",
            )
            given = [k for k in run_keys if getattr(a, k) is not None]
            if given or a.overrides:
                raise ConfigError(
                    "command line: --resume keeps the folder's runs; drop "
                    f"{', '.join('--' + g for g in given) or 'the overrides'} (only --outcome, "
                    "--threshold and --min-coverage may change: the analysis is redone)"
                )
            folder = Path(a.resume)
            changes = {k: v for k, v in analysis.items() if v is not None}
            summary = execute(
                folder, a.jobs, not a.no_progress, changes=changes or None, backend=backend
            )
        else:
            changes = {
                "cases": a.cases,
                "population": a.population,
                "weeks": a.weeks,
                "strategy": a.strategy,
                "baseline": a.baseline,
                "scenario": a.scenario,
                "seeds": parse_seeds(a.seeds) if a.seeds else None,
                **analysis,
            }
            data = read_design(Path(a.design), changes)
            if a.overrides:
                data["overrides"] = [*(data.get("overrides") or []), *a.overrides]
            design = make_design(data, where=str(a.design))
            folder = prepare(design, a.out)
            summary = execute(folder, a.jobs, not a.no_progress, backend=backend)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished runs are kept; continue with --resume {folder}",
            file=sys.stderr,
        )
        raise SystemExit(130) from None
    design, _ = load_folder(folder)
    print_summary(folder, design, summary)


if __name__ == "__main__":
    main()
