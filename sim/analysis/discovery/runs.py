"""The runs of a scenario discovery and the paired outcome of each case.

**Runs** (:func:`run_configs`): every case runs the strategy and the baseline
on each of the design's ``seeds`` with the same sampled conditions (common
random numbers: both arms of a seed share the spun-up market and every random
draw their levers do not change). Baselines come first: they spin each case's
market up, and the strategy's runs find it in the cache. The runs go through
the shared evaluator (:mod:`sim.analysis.evaluator`: local cores or Ray;
failed runs recorded, finished ones kept in ``runs/<key>.json`` and never
repeated; the outcome table written as ``outcomes.parquet`` and
``outcomes.csv``).

**The paired gain** (:func:`gains`): per case, the mean over seeds of
``d_k = y_strategy,k - y_baseline,k`` for an outcome whose direction is
``higher`` (``y_baseline,k - y_strategy,k`` for ``lower``). On ``npv`` (the
money headline) the gain is the strategy's incremental NPV, million RMB at
real scale, the ``incremental_npv`` of :mod:`sim.analysis.business`. A case
**fails** when its gain is below the design's ``threshold``. A case with a
failed run or a NaN outcome on any seed has no gain: it is listed among the
problems and left out of the box search.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.discovery.design import DiscoveryDesign, composed
from sim.analysis.discovery.sampling import case_changes
from sim.analysis.evaluator import Backend, RunConfig, evaluate
from sim.analysis.sensitivity import base_overrides

#: The two arms of every case and seed, in the order they run.
ARMS = ("baseline", "strategy")
#: A simulate function: a plain run config in, its outcomes out (tests pass fakes).
Simulate = Callable[[dict], dict]


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
