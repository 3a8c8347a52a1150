"""Equivalence of a compiled process with the NumPy one it replaced: outcomes over seeds.

``python -m benchmarks.equivalence [--process switching] [--seeds 8] [--first-seed 1]
[--size 3000] [--weeks 104] [--spinup-weeks 260] [--json FILE]``, or
``python -m benchmarks.equivalence --merge A.json B.json ...`` to pool the seeds of
earlier runs (same process and sizes) into one table.

For each seed the same config runs twice in this interpreter, spin-up included
(``spinup.cache=false``): once with the model as it is, once with the named
process (or comma-separated processes) replaced by its NumPy form kept in
``benchmarks/legacy/`` (the other processes unchanged). The two draw different
random numbers (the compiled one by counter, :mod:`sim.counter_rng`), so the
claim is the same distribution of outcomes, not the same outcomes. Per outcome it
prints the old and new means with 95% intervals over seeds, the paired
difference (the seeds share the starting population and every other process's
draws until the markets diverge) with its interval, and ``t`` = difference / its
standard error (Student's t with seeds - 1 degrees of freedom under equivalence).
Outcomes with two-sided ``p < 0.001`` are flagged; the summary line gives how
many ``|t| > 2`` to expect by chance (the outcomes are correlated: profit, NPV
and profit over the horizon move together).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import time

import numpy as np
from scipy import stats

import sim.model as model_module
from sim.compose import compose_config
from sim.run import run


def _schedule_with(replace: dict):
    return tuple((name, replace.get(name, f)) for name, f in model_module.SCHEDULE)


def outcomes(overrides: list[str], schedule) -> dict[str, float]:
    """Every outcome of one run (spin-up included) under ``schedule``."""
    kept = model_module.SCHEDULE
    model_module.SCHEDULE = schedule
    try:
        return run(compose_config(overrides)).summary["outcomes"]
    finally:
        model_module.SCHEDULE = kept


def _ci(x: np.ndarray) -> tuple[float, float]:
    m = float(np.mean(x))
    se = float(np.std(x, ddof=1) / math.sqrt(x.size)) if x.size > 1 else float("nan")
    return m, se


def simulate_pairs(
    process: str, seeds: int, size: int, weeks: int, spinup_weeks: int, first: int = 1
) -> tuple[list[dict], list[dict]]:
    """Run old and new for each seed; the outcomes of each, seed by seed."""
    names = process.split(",")
    legacy = {n: importlib.import_module(f"benchmarks.legacy.{n}").run for n in names}
    new_schedule = model_module.SCHEDULE
    old_schedule = _schedule_with(legacy)
    old, new = [], []
    t0 = time.perf_counter()
    for s in range(first, first + seeds):
        ov = [
            f"population.size={size}",
            f"weeks={weeks}",
            f"seed={s}",
            f"spinup.weeks={spinup_weeks}",
            "spinup.cache=false",
        ]
        old.append(outcomes(ov, old_schedule))
        new.append(outcomes(ov, new_schedule))
        print(f"  seed {s} done ({time.perf_counter() - t0:.0f} s)", flush=True)
    return old, new


def compare(old: list[dict], new: list[dict]) -> dict:
    """Per outcome: the means, the paired difference and its t."""
    rows = {}
    for k in old[0]:
        a = np.array([o[k] for o in old], float)
        b = np.array([o[k] for o in new], float)
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            continue
        ma, sa = _ci(a)
        mb, sb = _ci(b)
        md, sd = _ci(b - a)
        z = md / sd if sd > 0 else (0.0 if md == 0 else float("inf"))
        rows[k] = {"old": ma, "old_se": sa, "new": mb, "new_se": sb, "diff": md, "diff_se": sd}
        rows[k]["z"] = z
        rows[k]["p"] = float(2 * stats.t.sf(abs(z), len(old) - 1)) if np.isfinite(z) else 0.0
    return rows


def main(argv: list[str] | None = None) -> None:
    """Print the comparison table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--process", default="switching")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--size", type=int, default=3000)
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--spinup-weeks", type=int, default=260)
    ap.add_argument("--json", default=None)
    ap.add_argument("--merge", nargs="+", default=None, help="pool the seeds of these JSON files")
    a = ap.parse_args(argv)
    if a.merge:
        runs = []
        for name in a.merge:
            with open(name) as f:
                runs.append(json.load(f))
        old = [o for r in runs for o in r["old"]]
        new = [o for r in runs for o in r["new"]]
        for key in ("process", "size", "weeks", "spinup_weeks"):
            setattr(a, key, runs[0]["args"][key])
    else:
        old, new = simulate_pairs(a.process, a.seeds, a.size, a.weeks, a.spinup_weeks, a.first_seed)
    print(
        f"== {a.process}: NumPy (old) vs compiled (new), {len(old)} seeds, "
        f"{a.size:,} customers, {a.weeks} weeks after a {a.spinup_weeks}-week spin-up"
    )
    rows = compare(old, new)
    print(f"{'outcome':34s} {'old (95%)':>24s} {'new (95%)':>24s} {'new - old':>22s} {'t':>6s}")
    q = stats.t.ppf(0.975, len(old) - 1)
    for k, r in rows.items():
        flag = "  <-- p < 0.001" if r["p"] < 0.001 else ""
        print(
            f"{k:34s} {r['old']:12.5g} ± {q * r['old_se']:<9.3g} "
            f"{r['new']:12.5g} ± {q * r['new_se']:<9.3g} "
            f"{r['diff']:11.4g} ± {q * r['diff_se']:<8.3g} {r['z']:6.2f}{flag}"
        )
    zs = np.array([abs(r["z"]) for r in rows.values() if np.isfinite(r["z"])])
    ps = np.array([r["p"] for r in rows.values()])
    chance = 2 * stats.t.sf(2.0, len(old) - 1) * zs.size
    print(
        f"{len(rows)} outcomes: largest |t| {zs.max():.2f} (smallest p {ps.min():.3g}); "
        f"|t| > 2: {(zs > 2).sum()} (about {chance:.1f} expected by chance); "
        f"p < 0.001: {(ps < 0.001).sum()}"
    )
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"args": vars(a), "old": old, "new": new, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
