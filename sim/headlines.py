"""The headline outcomes, named once: loyalty, traffic and money.

The experiment config names them (``experiment.headlines`` in
``configs/experiment/*.yaml``); the comparison report, its printed summary and
the robustness tool read them from there, with :data:`DEFAULT` when a config
does not say. Each must be an outcome of :mod:`sim.outcomes`.

Traffic is a total (``active_customers``: active customers at the bank's real
size), not a per-customer rate: a strategy that brings new customers dilutes
per-customer rates (new customers are less active at first), and the report says
so where it happens. Money is the net present value of the focal bank's profit
over the run, its levers' costs and investment included (``npv``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.errors import ConfigError
from sim.outcomes import BY_NAME

DEFAULT: dict[str, str] = {
    "loyalty": "retention_26w",
    "traffic": "active_customers",
    "money": "npv",
}


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
