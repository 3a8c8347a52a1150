"""What the lab view and the team game share: levers, choices, model builds, session names.

Nothing here imports Solara: the game and the lab session are plain Python and
are tested without a browser.
"""

from __future__ import annotations

import functools
import re
import threading
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


def markets() -> dict[str, str]:
    """The market files (``configs/market/*.yaml``): name -> description."""
    return _described(CONFIG_DIR / "market")


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


def game_config(
    strategy: str, scenario: str, size: int, seed: int, weeks: int, market: str = "default"
):
    """The validated config of a workshop model: one strategy file, one scenario file.

    The model's horizon is ``weeks``, or longer when a scenario shock starts later
    (the config check refuses shocks beyond the horizon); the app stops at ``weeks``.
    """
    from sim.compose import compose_config
    from sim.validate import validate

    if strategy not in strategies():
        raise ValueError(f"unknown strategy {strategy!r}; choose from {sorted(strategies())}")
    if scenario not in scenarios():
        raise ValueError(f"unknown scenario {scenario!r}; choose from {sorted(scenarios())}")
    if market not in markets():
        raise ValueError(f"unknown market {market!r}; choose from {sorted(markets())}")
    overrides = [
        f"market={market}",
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
    return validate(cfg)


def build_model(
    strategy: str, scenario: str, size: int, seed: int, weeks: int, market: str = "default"
):
    """A validated ``BankingMarket`` at week 0, spun up (:func:`sim.run.build`).

    See :func:`game_config` for the horizon.
    """
    from sim.run import build

    return build(game_config(strategy, scenario, size, seed, weeks, market))


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def session_path(name: str, folder: Path, suffix: str = ".npz") -> Path:
    """``folder/<name>.npz`` for a plain session name; anything else is a ValueError.

    A name is 1-64 letters, digits, ``-`` or ``_`` (no dots, slashes or spaces),
    so it cannot leave ``folder``; the resolved path is checked as well.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"session name {name!r} is not allowed: use 1-64 letters, digits, '-' or '_' "
            "(starting with a letter or digit)"
        )
    root = Path(folder).resolve()
    path = (root / f"{name}{suffix}").resolve()
    if path.parent != root:
        raise ValueError(f"session name {name!r} leaves {root}")
    return path
