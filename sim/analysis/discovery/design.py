"""The design of a scenario discovery: what is sampled, what runs, what counts as failing.

A design file (``configs/design/discovery.yaml``) names the strategy, the
baseline, a scenario, the run size (cases, seeds, population, weeks), the
outcome and its threshold, PRIM's and CART's settings, and the
**uncertainties**, each with a ``[low, high]`` range inside its allowed range:

* market conditions, behaviour and customers: any numeric key
  ``market.environment.*``, ``market.behaviour.*`` or ``market.customers.*``
  of the run config (:mod:`sim.config`); they shape the market at rest too
  (the spin-up runs under them);
* the scenario's shocks (:class:`sim.config.ScenarioConfig`):
  ``scenario.strength`` (a factor on every shock's effect, 0 to 5),
  ``scenario.start`` (the week of the scenario's first shock; every shock
  moves with it), or per shock ``scenario.shocks.<i>.value`` and
  ``scenario.shocks.<i>.start``; :mod:`.sampling` turns them into the case's
  shock list.

:func:`make_design` checks everything before anything runs: each problem is a
:class:`~sim.errors.ConfigError` naming the file, the key, the value and what
is allowed. The strategy, baseline and scenario are composed and validated
here (:func:`composed`, cached: Hydra's compose is slow).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.analysis.sensitivity import base_config, parse_seeds, schema_field
from sim.paths import CONFIG_DIR

DEFAULT_DESIGN = CONFIG_DIR / "design" / "discovery.yaml"
OBJECTIVES = ("original", "lenient1", "lenient2")
#: The scenario-wide uncertainties: (low, high or None for "weeks - 1", unit).
SCENARIO_KEYS = {
    "scenario.strength": (0.0, 5.0, "x the scenario's shocks (1: as written, 0: none)"),
    "scenario.start": (0.0, None, "week of the first shock"),
}


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
    #: drop the chosen box's limits whose quasi-p-value is above ``significance``, the least
    #: supported first, re-testing the rest after each (:mod:`.boxes`)
    drop_unsupported: bool = True
    #: how many boxes to look for: each further one on the cases outside the boxes before it
    boxes: int = 1


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


def parse_seeds_arg(value: Any, where: str, key: str) -> list[int]:
    """Seeds from ``"0,1"``, ``"0-3"``, a number or a list; a clear error otherwise."""
    try:
        if isinstance(value, bool):
            raise ValueError
        seeds = parse_seeds([value] if isinstance(value, int) else value)
    except (TypeError, ValueError):
        raise _err(
            where, key, value, "seeds such as 0,1 or 0-3, or a list of whole numbers"
        ) from None
    if any(s < 0 for s in seeds):
        raise _err(where, key, value, "seeds >= 0")
    return seeds


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
        kw["seeds"] = parse_seeds_arg(kw["seeds"], where, "seeds")
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
    if not isinstance(p.drop_unsupported, bool):
        raise _err(where, "prim.drop_unsupported", p.drop_unsupported, "true | false")
    if isinstance(p.boxes, bool) or not isinstance(p.boxes, int) or not 1 <= p.boxes <= 10:
        raise _err(where, "prim.boxes", p.boxes, "a whole number 1..10")
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
    except ConfigError as err:  # the composer says "command line": here the design names it
        raise ConfigError(f"{where}: {str(err).removeprefix('command line: ')}") from None
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
