"""What the lab view and the team game share: levers, choices, model builds and pickles.

Nothing here imports Solara: the game and the lab session are plain Python and
are tested without a browser.
"""

from __future__ import annotations

import functools
import io
import pickle
import re
import threading
import types
import zlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from sim import levers
from sim.params import LEVER_NAMES
from sim.paths import CONFIG_DIR, SCENARIO_DIR

#: Default workshop population (customers at the start).
DEFAULT_SIZE = 20_000
#: Weeks in a game round (a quarter).
WEEKS_PER_ROUND = 13

#: The focal bank's levers by theme (the declarations' groups, :mod:`sim.levers`).
LEVER_GROUPS: dict[str, tuple[str, ...]] = dict(levers.GROUPS)

#: Readable bank names for the default market's banks.
BANK_LABELS = {
    "focal": "Focal bank",
    "state_a": "State bank A",
    "state_b": "State bank B",
    "joint_stock": "Joint-stock bank",
    "city": "City bank",
}


@dataclass(frozen=True)
class LeverSpec:
    """A lever's name, label, range, unit, slider step and description."""

    name: str
    label: str
    lo: float
    hi: float
    unit: str
    doc: str
    step: float


@functools.cache
def lever_spec(name: str) -> LeverSpec:
    """The spec of one lever, from its declaration in :mod:`sim.levers`."""
    lv = levers.BY_NAME[name]
    return LeverSpec(name, lv.label, lv.lo, lv.hi, lv.unit, lv.doc, lv.slider_step)


def check_lever(name: str, value: float) -> float:
    """``value`` as a float if ``name`` is a lever and the value lies in its range."""
    if name not in LEVER_NAMES:
        raise KeyError(f"unknown lever {name!r}; levers: {', '.join(LEVER_NAMES)}")
    spec = lever_spec(name)
    v = float(value)
    if not spec.lo <= v <= spec.hi:
        raise ValueError(f"{name} = {v:g} is outside [{spec.lo:g}, {spec.hi:g}] {spec.unit}")
    return v


def bank_label(name: str) -> str:
    """A readable name of a bank."""
    return BANK_LABELS.get(name, name.replace("_", " ").capitalize())


def _described(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            data = {}
        desc = data.get("description", "") if isinstance(data, dict) else ""
        out[path.stem] = " ".join(str(desc).split())
    return out


def scenarios() -> dict[str, str]:
    """The scenario files (``scenarios/*.yaml``): name -> description."""
    return _described(SCENARIO_DIR)


def strategies() -> dict[str, str]:
    """The strategy files (``configs/strategy/*.yaml``): name -> description."""
    return _described(CONFIG_DIR / "strategy")


@functools.cache
def market_banks(market: str = "default") -> tuple[str, ...]:
    """The banks of a market file, focal bank first (the model's order)."""
    data = yaml.safe_load((CONFIG_DIR / "market" / f"{market}.yaml").read_text(encoding="utf-8"))
    focal = data.get("focal", "focal")
    return (focal, *(n for n in data["banks"] if n != focal))


#: Hydra's compose API uses a process-wide singleton: one session composes at a time.
_COMPOSE_LOCK = threading.Lock()


def build_model(strategy: str, scenario: str, size: int, seed: int, weeks: int):
    """A validated ``BankingMarket`` for one strategy file and one scenario file.

    The model's horizon is ``weeks``, or longer when a scenario shock starts later
    (the config check refuses shocks beyond the horizon); the app stops at ``weeks``.
    """
    from sim.compose import compose_config
    from sim.run import build

    if strategy not in strategies():
        raise ValueError(f"unknown strategy {strategy!r}; choose from {sorted(strategies())}")
    if scenario not in scenarios():
        raise ValueError(f"unknown scenario {scenario!r}; choose from {sorted(scenarios())}")
    overrides = [
        f"strategy={strategy}",
        f"scenario={scenario}",
        f"population.size={int(size)}",
        f"seed={int(seed)}",
        f"weeks={int(weeks)}",
    ]
    with _COMPOSE_LOCK:
        cfg = compose_config(overrides)
    last_start = max((int(sh.start) for sh in cfg.scenario.shocks), default=0)
    cfg.weeks = max(int(weeks), last_start + 1)
    return build(cfg)


# --------------------------------------------------------------------------- pickles
# The model's data collector holds lambdas (its reporters), which the standard
# pickle refuses. They are written as equivalent ``functools.partial`` objects of
# module-level functions, which pickle by reference and behave the same.


def kpi_of(attr: str, key: str, obj):
    """``obj.<attr>[key]``: a data-collector reporter that pickles."""
    return getattr(obj, attr)[key]


def attr_of(name: str, obj):
    """``obj.<name>``: a data-collector reporter that pickles."""
    return getattr(obj, name, None)


class _ModelPickler(pickle.Pickler):
    def reducer_override(self, obj):
        if not isinstance(obj, types.FunctionType) or "<locals>" not in obj.__qualname__:
            return NotImplemented
        qual = obj.__qualname__
        if qual.endswith("attr_reporter") and obj.__closure__:
            return functools.partial, (attr_of, obj.__closure__[0].cell_contents)
        if qual.startswith("BankingMarket.__init__") and obj.__defaults__:
            attr = "market_kpi" if "market_kpi" in obj.__code__.co_names else "kpi"
            return functools.partial, (kpi_of, attr, obj.__defaults__[0])
        raise pickle.PicklingError(f"cannot pickle the local function {qual}")


def dumps(obj, compress: bool = True) -> bytes:
    """Pickle a model (or anything holding models), zlib-compressed by default."""
    buf = io.BytesIO()
    _ModelPickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    data = buf.getvalue()
    return zlib.compress(data, 1) if compress else data


def loads(data: bytes, compressed: bool = True):
    """The object of :func:`dumps` (only load bytes this lab wrote: pickles run code)."""
    return pickle.loads(zlib.decompress(data) if compressed else data)


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def session_path(name: str, folder: Path) -> Path:
    """``folder/<name>.pkl`` for a plain session name; anything else is a ValueError.

    A name is 1-64 letters, digits, ``-`` or ``_`` (no dots, slashes or spaces),
    so it cannot leave ``folder``; the resolved path is checked as well.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"session name {name!r} is not allowed: use 1-64 letters, digits, '-' or '_' "
            "(starting with a letter or digit)"
        )
    root = Path(folder).resolve()
    path = (root / f"{name}.pkl").resolve()
    if path.parent != root:
        raise ValueError(f"session name {name!r} leaves {root}")
    return path
