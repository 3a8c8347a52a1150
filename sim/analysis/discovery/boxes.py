"""PRIM's box search: where do the failing cases concentrate?

PRIM (Friedman and Fisher 1999) as the ``prim`` package implements it (the
EMA Workbench's algorithm, Bryant and Lempert 2010): starting from the box
holding every case, peel off a slice ``peel_alpha`` of the cases along one
dimension at a time (the slice that most raises the objective, ``lenient1`` by
default), until the box would hold less than ``mass_min`` of the cases, then
paste back where that helps. Each box on this **peeling trajectory** has a
**coverage** (failing cases inside / all failing cases) and a **density**
(failing cases inside / all cases inside); the first step is the whole design,
whose density is the share of failing cases.

**The chosen box** (:func:`choose_box`): the densest box among those of
coverage >= ``min_coverage`` (ties: higher coverage, then fewer restricted
dimensions, then the earlier step).

**Significance**: each restricted dimension has a quasi-p-value (Bryant and
Lempert 2010): the one-sided binomial probability of finding at least the
box's failing cases among its cases if the failure rate were that of the box
with this one restriction dropped. A restriction with a quasi-p-value above
``significance`` is not supported by the cases: with ``drop_unsupported``
(the default) such limits are dropped, the least supported first, with the
package's ``PrimBox.drop_restriction``, and the rest tested again, until every
remaining limit is significant (a box peeled to its highest density often
carries limits that only trim a few cases by chance). The box reported is that
one; ``box.csv`` keeps the chosen step's limits beside it. The ``prim`` package computes
the same test but derives the counts as ``int(mass * n)`` and
``int(coverage * n_fail)``, which floating point truncates one short for some
counts (15 of 22 cases gives 14); the counts here are taken from the cases
themselves (:func:`quasi_p_values`), with the package's own box limits and
its ``in_box``.

**Further boxes** (``prim.boxes`` > 1, the covering approach): the next box is
sought the same way on the cases outside the boxes found so far, its minimum
coverage taken of the failing cases left and its quasi-p-values counted on
them; the search stops at a box with no supported limit or one no denser in
failures than the whole design.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from scipy.stats import binom

from sim.analysis.discovery.design import DiscoveryDesign


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


def _counts(records, y: np.ndarray, lims) -> tuple[int, int]:
    """Cases and failing cases inside box limits ``lims`` (the package's ``in_box``)."""
    from prim.scenario_discovery_util import in_box

    inside = in_box(records, lims)
    return int(inside.size), int(y[inside].sum())


def quasi_p_values(records, y: np.ndarray, lims, init, restricted: list[str]) -> dict[str, float]:
    """Quasi-p-value of each restricted dimension of box ``lims`` (module docstring).

    ``records``: the cases as the package holds them (a NumPy record array); ``y``: failing
    or not; ``init``: the limits of the box holding every case.
    """
    n_box, k_box = _counts(records, y, lims)
    out = {}
    for key in restricted:
        dropped = lims.copy()
        dropped[key] = init[key]
        n_j, k_j = _counts(records, y, dropped)
        out[key] = float(binom.sf(k_box - 1, n_box, k_j / n_j))
    return out


def drop_unsupported(box, records, y: np.ndarray, init, lims, keys, significance: float):
    """Drop the limits of ``lims`` that the cases do not support, with the package's
    ``PrimBox.drop_restriction``: the restriction of highest quasi-p-value above
    ``significance`` goes first, the rest are tested again, until every remaining one is
    significant. Returns the final limits, their quasi-p-values and the dropped
    ``(key, quasi-p-value)`` pairs in order."""
    dropped: list[tuple[str, float]] = []
    while True:
        restricted = [k for k in keys if _side(lims, init, k)]
        qp = quasi_p_values(records, y, lims, init, restricted)
        worst = max(restricted, key=lambda k: qp[k], default=None)
        if worst is None or qp[worst] <= significance:
            return lims, qp, dropped
        box.drop_restriction(worst)  # appends the wider box to the package's trajectory
        lims = box._box_lims[-1]
        dropped.append((worst, qp[worst]))


def _side(lims, init, key: str) -> str:
    """Which side of ``key`` box limits ``lims`` restrict against the whole design ``init``."""
    lo = lims[key][0] > init[key][0]
    hi = lims[key][1] < init[key][1]
    return {(True, True): "both", (True, False): "lower", (False, True): "upper"}.get((lo, hi), "")


def run_prim(X: pd.DataFrame, fails: np.ndarray, design: DiscoveryDesign) -> dict:
    """PRIM's boxes on ``X`` (cases x uncertainties) with ``fails`` as cases of interest.

    Returns the first box as a dict: ``trajectory`` (the peeling trajectory, one row per
    step: coverage, density, mass, res_dim, cases, failing, restricted, chosen), ``chosen``
    (the chosen step), ``final`` (the box reported: the chosen step's with its unsupported
    limits dropped when ``prim.drop_unsupported``; its coverage, density, mass, cases,
    failing, res_dim), ``dropped`` (``(uncertainty, quasi-p-value)`` in the order dropped),
    ``box`` (per uncertainty: design range, the final box's limits with the design's bounds
    on unrestricted sides, the restricted side, quasi-p-value, significant, and the chosen
    step's limits; the most significant restriction first) and ``more``: the further boxes
    (``prim.boxes`` > 1), each found the same way on the cases outside the boxes before it
    (its minimum coverage taken of the failing cases left, its quasi-p-values counted on
    them), as dicts of the same keys; the search stops at the first box with no supported
    limit or no denser in failures than the whole design (``more_note`` says so). ``box``
    and ``trajectory`` are None with a ``note`` when no case or every case fails.
    """
    import prim

    y = np.asarray(fails, dtype=bool)
    n_fail = int(y.sum())
    if n_fail == 0 or n_fail == y.size:
        what = "no case fails" if n_fail == 0 else "every case fails"
        return {
            "trajectory": None,
            "chosen": None,
            "final": None,
            "dropped": [],
            "box": None,
            "note": f"{what}: no box to find",
            "more": [],
            "more_note": "",
        }
    logging.getLogger("prim").setLevel(logging.WARNING)
    p = design.prim
    x = X.reset_index(drop=True).copy()
    finder = prim.Prim(
        x,
        y,
        obj_func=getattr(prim, p.objective),
        peel_alpha=p.peel_alpha,
        paste_alpha=p.paste_alpha,
        mass_min=p.mass_min,
    )
    first = _one_box(finder, finder.find_box(), y, np.arange(y.size), n_fail, design)
    first["more"], first["more_note"] = [], ""
    while len(first["more"]) + 1 < p.boxes:
        finder._update_yi_remaining()
        left = finder.yi_remaining.copy()
        k_left = int(y[left].sum())
        if k_left < 2 or k_left == left.size:
            what = "fewer than 2 failing cases" if k_left < 2 else "only failing cases"
            first["more_note"] = f"no box {len(first['more']) + 2}: {what} left outside"
            break
        nxt = _one_box(finder, finder.find_box(), y, left, n_fail, design)
        f = nxt["final"]
        if f["res_dim"] == 0 or f["density"] <= n_fail / y.size:
            why = (
                "no limit is supported"
                if f["res_dim"] == 0
                else f"its best box fails less often ({f['density']:.2f}) than the whole "
                f"design ({n_fail / y.size:.2f})"
            )
            first["more_note"] = (
                f"no box {len(first['more']) + 2}: on the {left.size} cases left ({k_left} "
                f"failing) {why}"
            )
            break
        first["more"].append(nxt)
    return first


def _one_box(finder, box, y: np.ndarray, cases: np.ndarray, n_fail: int, design) -> dict:
    """One PRIM box (``box``, found on the ``cases`` indices) chosen, tested, pruned."""
    p = design.prim
    keys = list(finder.x.dtype.names)
    ranges = {u.key: u for u in design.uncertainties}
    records, yc = finder.x[cases], y[cases]
    traj = box.peeling_trajectory.reset_index(drop=True).copy()
    init = box._box_lims[0]
    counts = [_counts(records, yc, lims) for lims in box._box_lims]
    traj["cases"] = [c[0] for c in counts]
    traj["failing"] = [c[1] for c in counts]
    traj["restricted"] = [
        ";".join(k for k in keys if _side(lims, init, k)) for lims in box._box_lims
    ]
    chosen = choose_box(traj, p.min_coverage * int(yc.sum()) / n_fail)
    traj.insert(0, "step", range(len(traj)))
    traj = traj.rename(columns={"res dim": "res_dim"}).drop(columns=["mean"], errors="ignore")
    traj["chosen"] = traj["step"] == chosen
    peeled = box._box_lims[chosen]
    box.select(chosen)
    if p.drop_unsupported:
        lims, qp, dropped = drop_unsupported(box, records, yc, init, peeled, keys, p.significance)
    else:
        restricted = [k for k in keys if _side(peeled, init, k)]
        lims, qp, dropped = peeled, quasi_p_values(records, yc, peeled, init, restricted), []
    n_box, k_box = _counts(records, yc, lims)
    final = {
        "coverage": k_box / n_fail,
        "density": k_box / n_box,
        "mass": n_box / y.size,
        "cases": n_box,
        "failing": k_box,
        "res_dim": sum(bool(_side(lims, init, k)) for k in keys),
    }
    rows = []
    for key in keys:
        u = ranges.get(key)
        side = _side(lims, init, key)
        d_lo = u.lo if u is not None else float(init[key][0])
        d_hi = u.hi if u is not None else float(init[key][1])
        q = qp.get(key, math.nan)
        ps = _side(peeled, init, key)
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
                "peeled_low": float(peeled[key][0]) if ps in ("lower", "both") else d_lo,
                "peeled_high": float(peeled[key][1]) if ps in ("upper", "both") else d_hi,
                "dropped_qp": dict(dropped).get(key, math.nan),
            }
        )
    table = pd.DataFrame(rows)
    order = table["qp_value"].fillna(2.0).argsort(kind="stable")
    table = table.iloc[order].reset_index(drop=True)
    return {
        "trajectory": traj,
        "chosen": chosen,
        "final": final,
        "dropped": dropped,
        "box": table,
        "note": "",
    }
