"""The cases of a scenario discovery: a Latin hypercube, and what each case changes in a run.

**Sampling** (:func:`sample`): ``cases`` points of a Latin hypercube
(:class:`scipy.stats.qmc.LatinHypercube`, seeded by the design's
``sample_seed``) scaled to the uncertainties' ranges. An integer key (a week)
is drawn uniformly over its whole numbers: the hypercube is scaled to
``[low - 0.5, high + 0.5]`` and rounded, so the end weeks are as likely as the
others.

**A case's changes** (:func:`case_changes`): market keys are set as sampled.
The scenario's shocks are rewritten as a whole list (``scenario.shocks``):

* ``scenario.shocks.<i>.value`` and ``.start`` first (a moved shock keeps its
  duration);
* ``scenario.strength`` ``s`` scales every shock's effect: a ``multiply``
  shock of value ``v`` becomes ``1 + s (v - 1)``, an ``add`` shock ``s v``, a
  ``set`` shock on a market key ``x0 + s (v - x0)`` (``x0`` the case's base
  value); ``s = 1`` is the scenario as written, ``s = 0`` no shock (the model
  clips shocked values to their ranges);
* ``scenario.start`` moves every shock by the same number of weeks so that the
  first starts at the sampled week (durations and gaps kept).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.discovery.design import DiscoveryDesign


def sample(design: DiscoveryDesign) -> pd.DataFrame:
    """The cases: a Latin hypercube over the uncertainties' ranges (integer keys uniform)."""
    from scipy.stats import qmc

    u = qmc.LatinHypercube(d=len(design.uncertainties), seed=design.sample_seed)
    unit = u.random(design.cases)
    ints = np.array([x.kind == "int" for x in design.uncertainties])
    lo = np.array([x.lo for x in design.uncertainties]) - 0.5 * ints
    hi = np.array([x.hi for x in design.uncertainties]) + 0.5 * ints
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
    first, then ``scenario.strength`` and ``scenario.start`` (the module docstring).
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
