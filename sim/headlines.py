"""The headline outcomes, named once: loyalty, traffic and money.

The experiment config names them (``experiment.headlines`` in
``configs/experiment/*.yaml``); the comparison report, its printed summary, the
robustness tool, the lever search and the team game read them from there.
:data:`DEFAULT` is what ``configs/experiment/default.yaml`` names (the only place
the defaults are written), used where a config does not say. Each must be an
outcome of :mod:`sim.outcomes`.

Traffic is a total (``active_customers``: active customers at the bank's real
size), not a per-customer rate: a strategy that brings new customers dilutes
per-customer rates (new customers are less active at first), and the report says
so where it happens. Money is the net present value of the focal bank's profit
over the run, its levers' costs and investment included (``npv``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from sim.errors import ConfigError
from sim.outcomes import BY_NAME
from sim.paths import CONFIG_DIR

#: The three headlines' keys.
KEYS: tuple[str, ...] = ("loyalty", "traffic", "money")
#: The file that names the default headlines.
DEFAULT_FILE = CONFIG_DIR / "experiment" / "default.yaml"


def _declared(path: Path = DEFAULT_FILE) -> dict[str, str]:
    """The headlines ``path`` names under ``experiment.headlines`` (all three, checked)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read the default headlines: {err}") from err
    heads = (data.get("experiment") or {}).get("headlines") if isinstance(data, dict) else None
    if not isinstance(heads, dict) or set(heads) != set(KEYS):
        raise ConfigError(
            f"{path}: experiment.headlines = {heads!r}; it must name exactly "
            f"{', '.join(KEYS)}, each an outcome of sim/outcomes.py"
        )
    bad = {k: v for k, v in heads.items() if v not in BY_NAME}
    if bad:
        raise ConfigError(f"{path}: experiment.headlines {bad!r}: not outcomes of sim/outcomes.py")
    return {k: str(heads[k]) for k in KEYS}


DEFAULT: dict[str, str] = _declared()


def from_config(experiment: Mapping[str, Any] | None, source: str = "experiment") -> dict[str, str]:
    """The headlines an experiment config names (``headlines``), checked; defaults otherwise."""
    given = dict((experiment or {}).get("headlines") or {})
    unknown = sorted(set(given) - set(DEFAULT))
    if unknown:
        raise ConfigError(
            f"{source}: experiment.headlines has unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(DEFAULT)}"
        )
    out = {**DEFAULT, **{k: str(v) for k, v in given.items()}}
    for key, name in out.items():
        if name not in BY_NAME:
            raise ConfigError(
                f"{source}: experiment.headlines.{key} = {name!r} is not an outcome; allowed: "
                "an outcome name of sim/outcomes.py (docs/ODD.md, Observation, lists them)"
            )
    return out
