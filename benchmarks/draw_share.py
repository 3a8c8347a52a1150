"""Where the compiled step spends its time: CPU time per process, and the random draws' share.

``python -m benchmarks.draw_share [--size 200000] [--weeks 6]``

Runs the default model (no spin-up: the step's cost does not depend on it) for
``--weeks`` weeks on one numba thread in two fresh interpreters and prints each
weekly process's CPU time per week and per customer-week:

* ``philox``: the model as it is (Philox4x32-10, ten rounds per block);
* ``cheap``: the same kernels compiled with a cheaper block in place of Philox (a
  SplitMix64-style hash of the counter and key: well mixed, so the model behaves
  the same in distribution and does the same work), in a separate numba cache
  directory so the model's own cache is left alone.

Each run also times its own block in a plain loop (blocks per second: the
stand-in is about four times cheaper than Philox). The share of a process's time
that the cheaper block saves is what the draws cost it *as they run in the
kernel*: compute that the processor overlaps with waiting on memory costs
nothing there. A share near zero says the draws do not bind: the rules and
their memory accesses do. The first
week (compiling or loading the kernels) is not counted. Figures are CPU time
(``time.process_time``), so other jobs on the machine move them less than wall
time; the load is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, sys, time
import numba
numba.set_num_threads(1)
if sys.argv[1] == "cheap":
    import numba as nb
    import sim.counter_rng as cr
    from sim.counter_rng import _U4, _U32

    @nb.njit(nb.uint64(nb.uint64), nogil=True, inline="always")
    def mix(z):
        z = (z ^ (z >> nb.uint64(30))) * nb.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> nb.uint64(27))) * nb.uint64(0x94D049BB133111EB)
        return z ^ (z >> nb.uint64(31))

    @nb.njit(_U4(_U32, _U32, _U32, _U32, _U32, _U32), nogil=True, inline="always")
    def splitmix(c0, c1, c2, c3, k0, k1):
        a = (nb.uint64(c1) << nb.uint64(32)) | nb.uint64(c0)
        b = (nb.uint64(c3) << nb.uint64(32)) | nb.uint64(c2)
        k = (nb.uint64(k1) << nb.uint64(32)) | nb.uint64(k0)
        x = mix(a ^ mix(b + k + nb.uint64(0x9E3779B97F4A7C15)))
        y = mix(x + nb.uint64(0x9E3779B97F4A7C15))
        m = nb.uint64(0xFFFFFFFF)
        return (nb.uint32(x & m), nb.uint32(x >> nb.uint64(32)), nb.uint32(y & m),
                nb.uint32(y >> nb.uint64(32)))

    cr.philox4x32 = splitmix
import sim.model as model_module
from sim.compose import compose_config
from sim.run import build

size, weeks = int(sys.argv[2]), int(sys.argv[3])
cpu = {}

def timed(name, f):
    def run(model):
        t0 = time.process_time()
        f(model)
        if model.t > 0:
            cpu[name] = cpu.get(name, 0.0) + time.process_time() - t0
    return run

model_module.SCHEDULE = tuple((n, timed(n, f)) for n, f in model_module.SCHEDULE)
m = build(compose_config([f"population.size={size}", f"weeks={weeks}", "seed=1",
                          "spinup.weeks=0"]))
m.step()
t0 = time.process_time()
for _ in range(weeks - 1):
    m.step()
total = time.process_time() - t0
cpu["record and data collection"] = total - sum(cpu.values())
per_week = {k: v / (weeks - 1) for k, v in cpu.items()}
import numba as nb
import numpy as np
import sim.counter_rng as cr

@nb.njit
def blocks(key, n):
    s = 0.0
    for i in range(n):
        a, b = cr.uniform2(key, nb.uint32(7), nb.uint32(i), nb.uint32(3), nb.uint32(1))
        s += a + b
    return s

key = np.array([1, 2], np.uint32)
blocks(key, 10)
best = 1e9
for _ in range(3):
    t0 = time.process_time()
    blocks(key, 4_000_000)
    best = min(best, time.process_time() - t0)
out = {"total": total / (weeks - 1), "process": per_week, "blocks_per_s": 4e6 / best}
print(json.dumps(out))
"""


def _child(kind: str, size: int, weeks: int, env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(size), str(weeks)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    """Print both runs' CPU time per process and the draws' share; return the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=200_000)
    ap.add_argument("--weeks", type=int, default=6)
    a = ap.parse_args(argv)
    from benchmarks.machine import ONE_THREAD

    env = {**os.environ, **ONE_THREAD}
    load0 = os.getloadavg()[0]
    real = _child("philox", a.size, a.weeks, env)
    with tempfile.TemporaryDirectory() as cache:
        cheap = _child("cheap", a.size, a.weeks, {**env, "NUMBA_CACHE_DIR": cache})
    load1 = os.getloadavg()[0]
    n = a.size
    print(
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}: {n:,} customers, {a.weeks - 1} weeks counted, "
        f"one thread, CPU time; load average {load0:.1f} before, {load1:.1f} after"
    )
    c_real, c_cheap = 1.0 / real["blocks_per_s"], 1.0 / cheap["blocks_per_s"]
    print(
        f"a block: Philox4x32-10 {real['blocks_per_s'] / 1e6:.0f} M/s, the stand-in "
        f"{cheap['blocks_per_s'] / 1e6:.0f} M/s (plain loop, this run)"
    )
    print(f"{'process':28s} {'ms/week':>9s} {'ns/cust-wk':>11s} {'stand-in':>9s} {'saved':>7s}")
    rows = [*sorted(real["process"], key=lambda k: -real["process"][k]), "the week"]
    fig = {}
    for k in rows:
        r = real["total"] if k == "the week" else real["process"][k]
        c = cheap["total"] if k == "the week" else cheap["process"].get(k, float("nan"))
        fig[k] = {"ms": 1e3 * r, "ms_stand_in": 1e3 * c, "saved": (r - c) / r}
        saved = 100 * (r - c) / r
        print(f"{k:28s} {1e3 * r:9.1f} {1e9 * r / n:11.0f} {1e3 * c:9.1f} {saved:6.0f}%")
    r = real["total"]
    print(
        f"throughput {n / r / 1e6:.3f} M customer-weeks/s on one core; a block "
        f"{c_real / c_cheap:.1f}x cheaper saves {100 * fig['the week']['saved']:.0f}% of the week"
    )
    return {"real": real, "cheap": cheap, "rows": fig}


if __name__ == "__main__":
    main()
