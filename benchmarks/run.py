"""Performance benchmarks: ``python -m benchmarks.run [--quick] [--sections 1,2,3,4]``.

Prints every figure beside its target (none of these is a test):

1. the model against a per-agent Mesa twin of its core rules (throughput ratio,
   and aggregates that agree within sampling noise);
2. throughput, memory and state size from 10k to 10M customers, with the step
   time broken down by process;
3. bytes moved per customer-week against this machine's measured memory
   bandwidth (a NumPy streaming copy);
4. the default experiment's wall time with 1 and 2 local workers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

PY = sys.executable


def _child(code: str, timeout: int = 3600) -> dict:
    """Run ``code`` in a fresh interpreter (its own peak memory); it prints one JSON line."""
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


SCALE_CODE = """
import json, resource, time
from sim.compose import compose_config
from sim.run import build
from sim.measure import compute_outcomes
t0 = time.perf_counter()
m = build(compose_config(["population.size={n}", "weeks={w}", "seed=1"]))
t_build = time.perf_counter() - t0
t1 = time.perf_counter()
m.run_model()
compute_outcomes(m)
m.datacollector.get_model_vars_dataframe()
t_run = time.perf_counter() - t1
net = m.adjacency.data.nbytes + m.adjacency.indices.nbytes + m.adjacency.indptr.nbytes
print(json.dumps({{"n": {n}, "weeks": {w}, "build_s": t_build, "run_s": t_run,
    "rows": m.pop.capacity, "state_bytes": m.pop.nbytes(), "network_bytes": net,
    "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "process_s": m.process_seconds}}))
"""


def _vector_core(n: int, weeks: int, seed: int):
    from benchmarks.per_agent_mesa import core_overrides
    from sim.compose import compose_config
    from sim.run import build

    names = ["focal", "state_a", "state_b", "joint_stock", "city"]
    cfg = compose_config([f"population.size={n}", f"weeks={weeks}", f"seed={seed}",
                          *core_overrides(names)])
    return build(cfg)


def _vector_summary(m) -> dict:
    pop = m.pop
    held = pop.sat[pop.has]
    hist = m.trackers.history
    contacts = sum(h["contacts"] for h in hist)
    bank = sum(int(h["bank_payments"].sum()) for h in hist)
    plat = sum(h["platform_payments"] for h in hist)
    return {
        "mean_satisfaction": float(held.mean()),
        "bank_payment_share": bank / max(bank + plat, 1),
        "mobile_share_of_contacts": float(contacts[:, 3].sum() / contacts.sum()),
        "accounts_per_customer": float(pop.has[pop.alive].sum(axis=1).mean()),
        "closes_per_1000": 1000 * sum(int(h["closes"].sum()) for h in hist) / pop.alive.sum(),
    }


def section_per_agent(sizes, weeks_pa: int, seeds: int) -> None:
    """1. Vectorized model vs per-agent Mesa on the same market and the same rules."""
    from benchmarks.per_agent_mesa import PerAgentMarket

    print("\n== 1. Against per-agent Mesa (core rules: needs, choice, experience, switching)")
    print(f"   both start from the same population; {weeks_pa} weeks each; "
          "target: >= 100x at 100,000")
    for n in sizes:
        vec = _vector_core(n, weeks_pa, seed=1)
        pa = PerAgentMarket(_vector_core(n, weeks_pa, seed=1), seed=1)
        t0 = time.perf_counter()
        for _ in range(weeks_pa):
            pa.step()
        t_pa = time.perf_counter() - t0
        t0 = time.perf_counter()
        vec.run_model()
        t_vec = time.perf_counter() - t0
        r_vec, r_pa = n * weeks_pa / t_vec, n * weeks_pa / t_pa
        print(f"   {n:>9,} customers: vectorized {r_vec / 1e6:7.3f} M customer-weeks/s, "
              f"per-agent {r_pa / 1e6:7.4f} M/s, ratio {r_vec / r_pa:6.1f}x "
              f"({'met' if r_vec / r_pa >= 100 or n < 100000 else 'not met'})")
        if n == sizes[0]:
            vs = [_vector_summary(_run(_vector_core(n, weeks_pa, seed=s)))
                  for s in range(1, 1 + seeds)]
            ps = []
            for s in range(1, 1 + seeds):
                m = PerAgentMarket(_vector_core(n, weeks_pa, seed=s), seed=100 + s)
                for _ in range(weeks_pa):
                    m.step()
                ps.append(m.summary())
            print(f"   aggregates after {weeks_pa} weeks at {n:,} customers, mean (sd) over "
                  f"{seeds} seeds:")
            for k in vs[0]:
                a, b = np.array([v[k] for v in vs]), np.array([p[k] for p in ps])
                se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
                z = (a.mean() - b.mean()) / se if se > 0 else 0.0
                print(f"     {k:26s} vectorized {a.mean():9.4f} ({a.std(ddof=1):.4f})  "
                      f"per-agent {b.mean():9.4f} ({b.std(ddof=1):.4f})  z = {z:+.2f}")


def _run(m):
    m.run_model()
    return m


def section_scaling(sizes_weeks) -> dict:
    """2. Throughput, memory and state size at growing populations."""
    print("\n== 2. Throughput and memory scaling (full model, fresh process per size)")
    print("   targets: 1M x 104 weeks < 20 s on one core; 10M runs with <= 300 bytes of state "
          "per customer and throughput within 30% of 1M; building 1M < 5 s")
    results = {}
    for n, w in sizes_weeks:
        r = _child(SCALE_CODE.format(n=n, w=w))
        if "error" in r:
            print(f"   {n:>11,}: {r['error']}")
            continue
        rate = n * w / r["run_s"]
        results[n] = {**r, "rate": rate}
        per_row = (r["state_bytes"] + r["network_bytes"]) / r["rows"]
        proj = n * 104 / rate
        print(f"   {n:>11,} customers x {w:3d} weeks: {rate / 1e6:6.3f} M customer-weeks/s "
              f"(104 weeks would take {proj:7.1f} s), build {r['build_s']:6.2f} s, peak RSS "
              f"{r['peak_rss'] / 2**30:6.2f} GiB, state {per_row:5.0f} bytes per row "
              f"({r['state_bytes'] / r['rows']:.0f} arrays + "
              f"{r['network_bytes'] / r['rows']:.0f} network)")
        tot = sum(r["process_s"].values())
        parts = ", ".join(f"{k} {v / tot:.0%}" for k, v in
                          sorted(r["process_s"].items(), key=lambda kv: -kv[1]))
        print(f"   {'':>11}  step time by process: {parts}")
    if 1_000_000 in results and 10_000_000 in results:
        ratio = results[10_000_000]["rate"] / results[1_000_000]["rate"]
        print(f"   10M throughput / 1M throughput = {ratio:.2f} (target >= 0.7)")
    return results


def section_bandwidth(scaling: dict) -> None:
    """3. Bytes per customer-week against a streaming copy."""
    print("\n== 3. Against the machine (memory bandwidth)")
    a = np.ones(2**27, dtype=np.float64)  # 1 GiB
    b = np.empty_like(a)
    best = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        np.copyto(b, a)
        dt = time.perf_counter() - t0
        best = max(best, 2 * a.nbytes / dt)
    print(f"   streaming copy: {best / 1e9:.1f} GB/s (read + write)")
    big = max(scaling) if scaling else None
    if big:
        r = scaling[big]
        # each weekly process reads and writes the per-customer state a few times; the
        # estimate counts each state byte read once and written once per process touching it
        per_row = r["state_bytes"] / r["rows"]
        moved = per_row * 2 * 9
        rate = r["rate"]
        print(f"   estimate at {big:,}: ~{moved:.0f} bytes moved per customer-week "
              f"(state {per_row:.0f} B x read+write x 9 processes); at "
              f"{rate / 1e6:.3f} M customer-weeks/s that is {moved * rate / 1e9:.2f} GB/s = "
              f"{moved * rate / best:.1%} of the streaming bound")


def section_experiment(quick: bool) -> None:
    """4. The default experiment's wall time with 1 and 2 local workers."""
    print("\n== 4. Experiment throughput (target: 2 workers >= 1.7x faster than 1)")
    extra = ["population.size=2000", "weeks=52", "seed=range(0,2)"] if quick else []
    times = {}
    for jobs in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "BANKLAB_RESULTS": tmp}
            t0 = time.perf_counter()
            r = subprocess.run([PY, "-m", "sim.experiment", f"hydra.launcher.n_jobs={jobs}",
                                *extra], env=env, capture_output=True, text=True)
            times[jobs] = time.perf_counter() - t0
            status = "ok" if r.returncode == 0 else f"failed: {r.stderr[-300:]}"
        print(f"   {jobs} worker(s): {times[jobs]:7.1f} s ({status})")
    print(f"   speed-up with 2 workers: {times[1] / times[2]:.2f}x")


def main(argv: list[str] | None = None) -> None:
    """Run the chosen sections."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    ap.add_argument("--sections", default="1,2,3,4")
    a = ap.parse_args(argv)
    sections = {int(s) for s in a.sections.split(",")}
    print(f"machine: {os.cpu_count()} cores; numpy {np.__version__}; "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    if 1 in sections:
        section_per_agent([2000] if a.quick else [10_000, 100_000], 2 if a.quick else 4,
                          seeds=2 if a.quick else 4)
    scaling = {}
    if 2 in sections or 3 in sections:
        sizes = ([(10_000, 20), (100_000, 8)] if a.quick else
                 [(10_000, 104), (100_000, 52), (1_000_000, 8), (10_000_000, 3)])
        scaling = section_scaling(sizes)
    if 3 in sections:
        section_bandwidth(scaling)
    if 4 in sections:
        section_experiment(a.quick)


if __name__ == "__main__":
    main()
