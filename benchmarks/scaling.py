"""One size of the scaling benchmark, meant to run in a fresh interpreter.

``python -m benchmarks.scaling SIZE WEEKS`` builds the default model with SIZE
customers, runs WEEKS weeks with data collection, computes the outcomes and
the data collector's tables (what ``sim.run.run`` does, without writing
files), and prints one JSON line: build and run times, each week's time, the
time per process, the state's bytes, the peak resident memory of this process
and the other load on the machine while it ran.

If the model's memory guard (``sim/validate.py``, an estimate of 1,700 bytes a
row for five banks) refuses the size while the machine has the memory, the
run goes ahead with the guard told the machine's total memory, and the JSON
says so (``guard_bypassed``).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def peak_rss() -> int:
    """This process's peak resident memory in bytes (VmHWM).

    Not ``ru_maxrss``: a process started by ``subprocess`` (vfork + exec) inherits
    its parent's peak in ``ru_maxrss``; ``VmHWM`` belongs to the new address space.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(n: int, weeks: int, seed: int = 1) -> dict:
    """Build and run the model; return the figures."""
    from benchmarks.machine import Load, _meminfo
    from sim.compose import compose_config
    from sim.errors import ConfigError
    from sim.measure import compute_outcomes
    from sim.model import Bank
    from sim.run import build

    rss_base = peak_rss()
    # the weekly step from the drawn population: the spin-up is a separate cost (cached)
    cfg = compose_config(
        [f"population.size={n}", f"weeks={weeks}", f"seed={seed}", "spinup.weeks=0"]
    )
    bypassed = False
    t0 = time.perf_counter()
    try:
        m = build(cfg)
    except ConfigError as err:
        if "memory" not in str(err):
            raise
        import sim.validate

        sim.validate.available_memory = lambda: _meminfo()["MemTotal"]
        bypassed = str(err)[:200]
        t0 = time.perf_counter()
        m = build(cfg)
    t_build = time.perf_counter() - t0
    rss_build = peak_rss()
    stamps = []
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    with Load() as load:
        t1 = time.perf_counter()
        m.run_model(lambda week: stamps.append(time.perf_counter()))
        t_weeks = time.perf_counter() - t1
        compute_outcomes(m)
        m.datacollector.get_model_vars_dataframe()
        m.datacollector.get_agenttype_vars_dataframe(Bank)
        t_run = time.perf_counter() - t1
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    week_s = [b - a for a, b in zip([t1, *stamps[:-1]], stamps, strict=True)]
    adj = m.adjacency
    return {
        "n": n,
        "weeks": weeks,
        "rows": m.pop.capacity,
        "build_s": t_build,
        "run_s": t_run,
        "weeks_s": t_weeks,
        "week_s": week_s,
        "process_s": m.process_seconds,
        "state_bytes": m.pop.nbytes(),
        "network_bytes": adj.data.nbytes + adj.indices.nbytes + adj.indptr.nbytes,
        "degree_bytes": m.degree.nbytes,
        "ties_per_row": adj.nnz / m.pop.capacity,
        "rss_base": rss_base,
        "rss_after_build": rss_build,
        "peak_rss": peak_rss(),
        "cpu_s": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
        "sys_s": ru1.ru_stime - ru0.ru_stime,
        "minflt": ru1.ru_minflt - ru0.ru_minflt,
        "other_cores": load.others,
        "guard_bypassed": bypassed,
    }


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]), int(sys.argv[2]))))
