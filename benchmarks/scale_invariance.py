"""Real-scale figures at two simulated sizes: money and counts must not depend on the size.

``python -m benchmarks.scale_invariance [--sizes 8000,32000] [--seeds 1,2,3] [--weeks 52]``

Money and customer counts in summaries are scaled to the real market
(``market.customers_represented``): a run of 8,000 simulated customers and one of
32,000 stand for the same bank, so their real-scale figures must agree within
sampling noise. For each figure this prints the mean over seeds at each size, the
gap between the smallest and the largest size, the standard error of that gap and
the gap in standard errors (|z| below about 3 is noise), plus money per real
customer (the NPV over the focal bank's customers at the end). The suite checks
the same sizes after a short spin-up and 13 weeks (``tests/test_levers.py``); this
is the longer check after the full spin-up (each size and seed spins up, or reads
the spin-up cache). Figures measured are in ``docs/business_case.md``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

KEYS = ("profit", "npv", "profit_horizon", "customers", "active_customers", "contacts_total")


def run(size: int, seed: int, weeks: int) -> dict[str, float]:
    """One baseline run's outcomes at ``size`` simulated customers."""
    from sim.compose import compose_config
    from sim.measure import compute_outcomes
    from sim.run import build

    cfg = compose_config([f"population.size={size}", f"weeks={weeks}", f"seed={seed}"])
    model = build(cfg)
    model.run_model()
    out = compute_outcomes(model)
    # money per real customer: NPV (million RMB) per thousand real customers -> RMB each
    out["npv_per_customer"] = 1e6 * out["npv"] / (1e3 * out["customers"])
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.scale_invariance")
    ap.add_argument("--sizes", default="8000,32000", help="simulated sizes, comma-separated")
    ap.add_argument("--seeds", default="1,2,3", help="seeds, comma-separated")
    ap.add_argument("--weeks", type=int, default=52, help="weeks after the spin-up")
    a = ap.parse_args(argv)
    sizes = [int(x) for x in a.sizes.split(",")]
    seeds = [int(x) for x in a.seeds.split(",")]
    t0 = time.perf_counter()
    runs: dict[int, list[dict[str, float]]] = {}
    for n in sizes:
        runs[n] = []
        for s in seeds:
            t = time.perf_counter()
            runs[n].append(run(n, s, a.weeks))
            print(f"  size {n:,d} seed {s}: {time.perf_counter() - t:.1f} s", flush=True)
    lo, hi = sizes[0], sizes[-1]
    print(
        f"\nreal-scale figures, baseline, {a.weeks} weeks, seeds {a.seeds} "
        f"({time.perf_counter() - t0:.0f} s in all)"
    )
    head = " ".join(f"{f'mean @ {n:,d}':>16s}" for n in sizes)
    print(f"{'figure':18s} {head} {'gap':>12s} {'se of gap':>12s} {'gap / se':>9s}")
    for key in (*KEYS, "npv_per_customer"):
        means = [np.mean([r[key] for r in runs[n]]) for n in sizes]
        x = np.array([r[key] for r in runs[lo]])
        y = np.array([r[key] for r in runs[hi]])
        se = math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size) if len(seeds) > 1 else 0
        gap = y.mean() - x.mean()
        z = gap / se if se > 0 else math.nan
        cells = " ".join(f"{m:16.4g}" for m in means)
        print(f"{key:18s} {cells} {gap:12.4g} {se:12.4g} {z:9.2f}")


if __name__ == "__main__":
    main()
