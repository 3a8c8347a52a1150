"""Where the compiled step spends its time: CPU time per process, and the random draws' share.

``python -m benchmarks.draw_share [--size 200000] [--weeks 6]``

Runs the default model (no spin-up: the step's cost does not depend on it) for
``--weeks`` weeks on one numba thread in two fresh interpreters and prints each
weekly process's CPU time per week and per customer-week:

* ``philox``: the model as it is (Philox4x32-10, ten rounds per block);
* ``cheap``: the same kernels compiled with a one-round block (a stand-in: its
  numbers are poor random numbers, only its cost matters), in a separate numba
  cache directory so the model's own cache is left alone.

The difference between the two is what the draws cost (nine tenths of it: one
round is left), process by process; what remains is the rules themselves and
their memory traffic. The first week (compiling or loading the kernels) is not
counted. Figures are CPU time (``time.process_time``), so other jobs on the
machine move them less than wall time; the load is printed beside them.
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

    @nb.njit(_U4(_U32, _U32, _U32, _U32, _U32, _U32), nogil=True, inline="always")
    def one_round(c0, c1, c2, c3, k0, k1):
        p0 = nb.uint64(0xD2511F53) * nb.uint64(c0)
        p1 = nb.uint64(0xCD9E8D57) * nb.uint64(c2)
        hi0, lo0 = nb.uint32(p0 >> nb.uint64(32)), nb.uint32(p0 & nb.uint64(0xFFFFFFFF))
        hi1, lo1 = nb.uint32(p1 >> nb.uint64(32)), nb.uint32(p1 & nb.uint64(0xFFFFFFFF))
        return hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0

    cr.philox4x32 = one_round
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
print(json.dumps({"total": total / (weeks - 1), "process": per_week}))
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


def main(argv: list[str] | None = None) -> None:
    """Print both runs' CPU time per process and the draws' share."""
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
    print(f"{'process':28s} {'ms/week':>9s} {'ns/cust-wk':>11s} {'1-round':>9s} {'draws':>7s}")
    rows = sorted(real["process"], key=lambda k: -real["process"][k])
    for k in rows:
        r, c = real["process"][k], cheap["process"].get(k, float("nan"))
        share = (r - c) / 0.9 / r if r > 0 else 0.0
        print(f"{k:28s} {1e3 * r:9.1f} {1e9 * r / n:11.0f} {1e3 * c:9.1f} {100 * share:6.0f}%")
    r, c = real["total"], cheap["total"]
    print(
        f"{'the week':28s} {1e3 * r:9.1f} {1e9 * r / n:11.0f} {1e3 * c:9.1f} "
        f"{100 * (r - c) / 0.9 / r:6.0f}%"
    )
    print(
        f"throughput {n / r / 1e6:.3f} M customer-weeks/s on one core; "
        f"without the draws' cost about {n / (r - (r - c) / 0.9) / 1e6:.3f} M"
    )


if __name__ == "__main__":
    main()
