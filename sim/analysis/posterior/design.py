"""The posterior design: priors and run settings, read from a YAML file and checked.

``configs/design/posterior.yaml`` holds one prior per behavioural parameter
(uniform or log-uniform on a range inside sim/config.py's allowed range) and
the ABC-SMC settings. Every error names the file, the key, the value and what
is allowed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import ConfigError
from sim.paths import CONFIG_DIR

DEFAULT_DESIGN = CONFIG_DIR / "design" / "posterior.yaml"
DISTRIBUTIONS = ("uniform", "loguniform")
#: The proposal kernels (sim/analysis/posterior/smc.py): a uniform box around a parent
#: particle (the default), or pyabc's multivariate normal KDE.
KERNELS = ("uniform", "kde")
#: The shortest horizon after spin-up: the 26-week windows of the switching and
#: online-banking facts need 26 weeks.
MIN_WEEKS = 26


@dataclass(frozen=True)
class Prior:
    """A parameter's prior: a config key, uniform or log-uniform on [low, high]."""

    key: str
    dist: str
    low: float
    high: float
    note: str = ""

    @property
    def name(self) -> str:
        """The name pyabc and the plots use: the key's last part."""
        return self.key.split(".")[-1]

    def rv(self):
        """The prior as a pyabc random variable (SciPy ``uniform`` or ``loguniform``)."""
        import pyabc

        if self.dist == "loguniform":
            return pyabc.RV("loguniform", self.low, self.high)
        return pyabc.RV("uniform", self.low, self.high - self.low)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """The prior density at ``x``."""
        x = np.asarray(x, dtype=float)
        inside = (x >= self.low) & (x <= self.high)
        if self.dist == "loguniform":
            with np.errstate(divide="ignore", invalid="ignore"):
                d = 1.0 / (x * math.log(self.high / self.low))
        else:
            d = np.full_like(x, 1.0 / (self.high - self.low))
        return np.where(inside, d, 0.0)

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies in the prior's support (the closed range)."""
        return self.low <= float(x) <= self.high

    def to_dict(self) -> dict:
        """The prior as written to files."""
        return {"dist": self.dist, "low": self.low, "high": self.high, "note": self.note}


@dataclass
class Design:
    """A posterior design: priors, the runs every particle makes, and the ABC-SMC settings."""

    priors: list[Prior]
    name: str = "default"
    market: str = "default"
    population: int = 1500
    weeks: int = 26
    spinup_weeks: int = 260
    particles: int = 20
    generations: int = 4
    quantile: float = 0.5
    min_epsilon: float = 1.0
    kernel: str = "uniform"
    kernel_scaling: float = 1.0
    kernel_uniform: float = 0.5
    ess_target: float = 0.0
    ess_warn: float = 0.2
    seed: int = 1
    predictive_draws: int = 20
    overrides: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The design as written to ``design.yaml``."""
        d = dataclasses.asdict(self)
        d["priors"] = {p.key: p.to_dict() for p in self.priors}
        return d


#: Each design key's type and allowed range: (kind, low, high, what is allowed).
_SETTINGS: dict[str, tuple[str, float, float, str]] = {
    "population": ("int", 100, 50_000_000, "customers, an integer from 100"),
    "weeks": ("int", MIN_WEEKS, 5200, f"weeks after spin-up, an integer from {MIN_WEEKS}"),
    "spinup_weeks": ("int", 0, 5200, "an integer from 0 to 5200"),
    "particles": ("int", 5, 100_000, "an integer from 5 (particles per generation)"),
    "generations": ("int", 1, 1000, "an integer from 1"),
    "quantile": ("float", 0.0, 1.0, "a number with 0 < quantile <= 1"),
    "min_epsilon": ("float", 0.0, math.inf, "a number above 0 (1: every fact inside its band)"),
    "kernel_scaling": ("float", 0.0, 100.0, "a number above 0 and at most 100"),
    "kernel_uniform": ("float", 0.0, 1.0, "a number from 0 to 1"),
    "ess_target": ("float", 0.0, 1e9, "a number from 0 (effective particles; 0: no target)"),
    "ess_warn": ("float", 0.0, 1.0, "a number from 0 to 1 (share of the particles)"),
    "seed": ("int", 0, 2**32 - 1, "an integer from 0 to 2**32 - 1"),
    "predictive_draws": ("int", 0, 100_000, "an integer from 0"),
}


def _check_number(where: str, key: str, value: Any) -> int | float:
    kind, lo, hi, allowed = _SETTINGS[key]
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and kind == "int":
        ok = float(value).is_integer()
    if ok:
        v = float(value)
        ok = math.isfinite(v) and lo <= v <= hi
        if key in ("quantile", "min_epsilon", "kernel_scaling"):
            ok = ok and v > 0
    if not ok:
        raise ConfigError(f"{where}: {key} = {value!r} is not allowed; allowed: {allowed}")
    return int(value) if kind == "int" else float(value)


def _check_prior(where: str, key: str, spec: Any) -> Prior:
    from sim.analysis.sensitivity import schema_field

    fields = ("dist", "low", "high", "note")
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"{where}: priors.{key} = {spec!r} is not allowed; allowed: a mapping "
            "{dist: uniform | loguniform, low: number, high: number, note: text}"
        )
    unknown = sorted(set(spec) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: priors.{key}.{unknown[0]} is not a prior field; allowed: {', '.join(fields)}"
        )
    dist = spec.get("dist", "uniform")
    if dist not in DISTRIBUTIONS:
        raise ConfigError(
            f"{where}: priors.{key}.dist = {dist!r} is not allowed; allowed: "
            f"{' | '.join(DISTRIBUTIONS)}"
        )
    for end in ("low", "high"):
        v = spec.get(end)
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
            raise ConfigError(
                f"{where}: priors.{key}.{end} = {v!r} is not allowed; allowed: a finite number"
            )
    low, high = float(spec["low"]), float(spec["high"])
    if not low < high:
        raise ConfigError(
            f"{where}: priors.{key} = [{low:g}, {high:g}] is not allowed; allowed: low < high"
        )
    if dist == "loguniform" and low <= 0:
        raise ConfigError(
            f"{where}: priors.{key}.low = {low:g} is not allowed for loguniform; "
            "allowed: a number above 0"
        )
    try:
        _, meta = schema_field(key)
    except KeyError as err:
        raise ConfigError(
            f"{where}: priors.{key} is not allowed: {err.args[0]}; allowed: a numeric "
            "parameter of the run config (sim/config.py), e.g. market.behaviour.close_base"
        ) from None
    mlo, mhi = meta.get("lo"), meta.get("hi")
    if (mlo is not None and low < mlo) or (mhi is not None and high > mhi):
        unit = meta.get("unit", "")
        raise ConfigError(
            f"{where}: priors.{key} = [{low:g}, {high:g}] is not allowed; allowed: a range "
            f"inside [{mlo if mlo is not None else '-inf'}, {mhi if mhi is not None else 'inf'}]"
            f" {unit} (sim/config.py)".rstrip()
        )
    return Prior(key, dist, low, high, str(spec.get("note", "")))


def make_design(data: Mapping[str, Any], where: str = "design") -> Design:
    """A checked :class:`Design` from a parsed design file (plus command-line changes).

    Every error names the file, the key, the value and what is allowed.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: a design is a mapping of keys to values, not {data!r}")
    allowed = [f.name for f in dataclasses.fields(Design)]
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{where}: {unknown[0]} is not a design key; allowed: {', '.join(allowed)}"
        )
    raw = data.get("priors")
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(
            f"{where}: priors = {raw!r} is not allowed; allowed: a mapping of config keys to "
            "priors, at least one"
        )
    priors = [_check_prior(where, str(k), v) for k, v in raw.items()]
    names = [p.name for p in priors]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(
            f"{where}: priors: two keys end in {twice[0]!r}; allowed: keys whose last parts differ"
        )
    kw: dict[str, Any] = {}
    for key in _SETTINGS:
        if key in data:
            kw[key] = _check_number(where, key, data[key])
    if "kernel" in data:
        if data["kernel"] not in KERNELS:
            raise ConfigError(
                f"{where}: kernel = {data['kernel']!r} is not allowed; allowed: "
                f"{' | '.join(KERNELS)}"
            )
        kw["kernel"] = data["kernel"]
    for key in ("name", "market"):
        if key in data:
            v = data[key]
            if not isinstance(v, str) or not v or "/" in v or v.startswith("."):
                raise ConfigError(
                    f"{where}: {key} = {v!r} is not allowed; allowed: a plain name (no '/')"
                )
            kw[key] = v
    market = kw.get("market", "default")
    markets = sorted(p.stem for p in (CONFIG_DIR / "market").glob("*.yaml"))
    if market not in markets:
        raise ConfigError(
            f"{where}: market = {market!r} is not allowed; allowed: one of {', '.join(markets)} "
            "(configs/market/)"
        )
    overrides = data.get("overrides") or []
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise ConfigError(
            f"{where}: overrides = {overrides!r} is not allowed; allowed: a list of Hydra "
            "overrides (key=value)"
        )
    return Design(priors=priors, overrides=list(overrides), **kw)


def read_design(path: Path, changes: Mapping[str, Any] | None = None) -> dict:
    """A design file's mapping with command-line changes applied (``None`` values ignored)."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read the design: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a design is a mapping of keys to values, not {data!r}")
    data.update({k: v for k, v in (changes or {}).items() if v is not None})
    return data


def load_design(path: Path = DEFAULT_DESIGN, changes: Mapping[str, Any] | None = None) -> Design:
    """Read and check a design file, with command-line changes (``None`` values ignored)."""
    return make_design(read_design(path, changes), where=str(path))
