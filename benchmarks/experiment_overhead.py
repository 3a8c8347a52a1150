"""Where an experiment's wall time goes outside its runs (issue 14, "experiment overhead").

``python -m benchmarks.experiment_overhead`` runs the default experiment
(``python -m sim.experiment``) with ``hydra.launcher.n_jobs=1`` and ``=2``, each
in a fresh results folder and with the spin-up cache warm, and prints for each:

* the wall time, the runs' own time (the sum of ``timings.json``'s ``total`` of
  every run: spin-up loading or building, the weeks, the outcomes) and
  ``wall / (runs' time / workers)`` (target <= 1.15);
* the parent's phases, read from the files the experiment writes: start-up
  (interpreter, imports, checking the command line, composing the root config,
  creating and locking the experiment folder: launch -> ``experiment.lock``),
  sweep set-up and launching (-> the first run's ``.hydra/config.yaml``), the
  runs (-> the last ``COMPLETE``), aggregation and report (-> ``REPORT_COMPLETE``)
  and the end (printing the rankings, exiting);
* inside the run phase: the worker time spent in jobs outside ``sim.run.run``
  (validation, writing the run folder, Hydra's job set-up), the gaps between a
  worker's jobs (sending the job, composing its config in the worker) and the
  time workers sat idle at the end;

then the 2-vs-1 ratio (target >= 1.8). It also measures, each in a fresh
interpreter: the imports and the first run of a worker (numba kernels loaded
from the on-disk cache: ``NUMBA_DEBUG_CACHE`` lines counted, a recompilation is
named), the time to compose one job's config, and the aggregation's parts
(cProfile of :func:`sim.analysis.compare.aggregate` on the finished folder).

Options: ``--jobs 2`` (one setting only), ``--cold`` (an empty spin-up cache
for each experiment: the cold-cache figure), ``--code DIR`` (run the code of
another checkout, e.g. an exported older commit, for before/after figures),
``--repeat N``, and any further ``key=value`` overrides are passed to the
experiment (``population.size=1000 weeks=10`` for a quick look). The machine
load (``uptime``) is printed beside every figure: on a shared machine, ratios
are what count. Raw figures go to ``results/bench/experiment_overhead-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def uptime() -> str:
    """The 1-minute load average (the machine is shared)."""
    return Path("/proc/loadavg").read_text().split()[0]


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


# --------------------------------------------------------------------------- one experiment


def run_experiment(
    jobs: int, code: Path, cache: Path, extra: list[str], debug_cache: bool = True
) -> dict:
    """Run the experiment once in a fresh results folder; its phases, from its files."""
    from benchmarks.machine import Load

    tmp = Path(tempfile.mkdtemp(prefix="eo-"))
    env = {
        **os.environ,
        "BANKLAB_RESULTS": str(tmp),
        "BANKLAB_CACHE": str(cache),
        "PYTHONPATH": str(code),
    }
    if debug_cache:
        env["NUMBA_DEBUG_CACHE"] = "1"
    load0 = uptime()
    cmd = [PY, "-m", "sim.experiment", f"hydra.launcher.n_jobs={jobs}", *extra]
    t_launch = time.time()
    with Load() as ld:
        r = subprocess.run(cmd, cwd=code, env=env, capture_output=True, text=True)
    t_exit = time.time()
    try:
        if r.returncode != 0:
            raise RuntimeError(f"the experiment failed ({r.returncode}): {r.stderr[-2000:]}")
        (exp,) = (tmp / "experiments").iterdir()
        out = phases(exp, t_launch, t_exit, jobs)
        out.update(
            jobs=jobs,
            load_before=load0,
            load_after=uptime(),
            others_cores=round(ld.others, 2),
            numba=numba_cache_lines(r.stdout + r.stderr),
        )
        out["aggregation_parts"] = aggregation_parts(exp, code)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def phases(exp: Path, t_launch: float, t_exit: float, jobs: int) -> dict:
    """The phases of a finished experiment folder (see the module's docstring)."""
    runs = []
    for folder in sorted((exp / "runs").iterdir()):
        t = json.loads((folder / "timings.json").read_text())
        start = _mtime(folder / ".hydra" / "config.yaml")
        end = _mtime(folder / "COMPLETE")
        spin = t.get("spinup") or {}
        runs.append(
            {
                "run": folder.name,
                "start": start,
                "end": end,
                "total": float(t["total"]),
                "spinup": spin.get("source"),
                "spinup_s": float(spin.get("seconds") or 0.0),
            }
        )
    runs.sort(key=lambda r: r["start"])
    t_lock = _mtime(exp / "experiment.lock")
    first = runs[0]["start"]
    last = max(r["end"] for r in runs)
    t_report = _mtime(exp / "REPORT_COMPLETE")
    # each job to the worker whose last job ended latest before it started (greedy)
    free = [first] * jobs
    gaps, firsts = 0.0, []
    for r in runs:
        cands = [i for i in range(jobs) if free[i] <= r["start"] + 1e-3]
        i = max(cands, key=lambda k: free[k]) if cands else min(range(jobs), key=free.__getitem__)
        if free[i] == first:
            firsts.append(r["start"] - first)
        else:
            gaps += max(r["start"] - free[i], 0.0)
        free[i] = r["end"]
    runs_time = sum(r["total"] for r in runs)
    job_time = sum(r["end"] - r["start"] for r in runs)
    run_phase = last - first
    wall = t_exit - t_launch
    return {
        "wall": wall,
        "runs": len(runs),
        "runs_time": runs_time,
        "spinups_built": sum(r["spinup"] == "built" for r in runs),
        "spinups_cached": sum(r["spinup"] == "cache" for r in runs),
        "spinup_seconds": sum(r["spinup_s"] for r in runs),
        "startup": t_lock - t_launch,
        "launch": first - t_lock,
        "run_phase": run_phase,
        "aggregation": t_report - last,
        "end": t_exit - t_report,
        "in_job_outside_run": job_time - runs_time,
        "between_jobs": gaps,
        "idle_at_end": jobs * last - sum(free),
        "first_job_starts": firsts,
        "efficiency": wall / (runs_time / jobs),
    }


_CACHE_LINE = re.compile(r"\[cache\] (data|index) (loaded|saved) (from|to) (\S+)")


def numba_cache_lines(text: str) -> dict:
    """NUMBA_DEBUG_CACHE's lines: kernels loaded from the cache, and saved (compiled)."""
    out = {"data loaded": 0, "data saved": 0, "compiled": set()}
    for m in _CACHE_LINE.finditer(text):
        key = f"{m[1]} {m[2]}"
        if key in out:
            out[key] += 1
        if key == "data saved":
            out["compiled"].add(Path(m[4]).name.split(".")[0])
    out["compiled"] = sorted(out["compiled"])
    return out


# ------------------------------------------------- parts, each in a fresh interpreter

_AGG_SCRIPT = r"""
import cProfile, json, pstats, sys, time
from pathlib import Path
t0 = time.perf_counter()
from sim.analysis.compare import aggregate
t_import = time.perf_counter() - t0
exp = Path(sys.argv[1])
prof = cProfile.Profile()
t0 = time.perf_counter()
prof.enable()
aggregate(exp)
prof.disable()
total = time.perf_counter() - t0
st = pstats.Stats(prof).stats
parts = {}
for (file, line, name), (cc, nc, tt, ct, callers) in st.items():
    if "/sim/analysis/" in file or "/sim/headlines" in file:
        key = file.split("/sim/", 1)[1] + ":" + name
        parts[key] = max(parts.get(key, 0.0), ct)
top = sorted(parts.items(), key=lambda kv: -kv[1])[:14]
print(json.dumps({"import": t_import, "aggregate": total, "top": top}))
"""


def aggregation_parts(exp: Path, code: Path) -> dict:
    """The aggregation of the finished folder again, in a fresh interpreter, profiled."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    r = subprocess.run(
        [PY, "-c", _AGG_SCRIPT, str(exp)], cwd=code, env=env, capture_output=True, text=True
    )
    if r.returncode != 0:
        return {"error": r.stderr[-800:]}
    return json.loads(r.stdout.strip().splitlines()[-1])


_WORKER_SCRIPT = r"""
import json, time
t0 = time.perf_counter()
import sim.__main__
t_main = time.perf_counter() - t0
t0 = time.perf_counter()
from sim.run import run
t_run = time.perf_counter() - t0
from sim.compose import compose_config
t0 = time.perf_counter()
cfg = compose_config(["population.size=1000", "weeks=2", "spinup.weeks=0"])
t_compose_first = time.perf_counter() - t0
t0 = time.perf_counter()
for s in ("rewards", "referral", "long_tail"):
    compose_config([f"strategy={s}", "population.size=1000", "weeks=2", "spinup.weeks=0"])
t_compose = (time.perf_counter() - t0) / 3
t0 = time.perf_counter()
run(cfg)
t_first = time.perf_counter() - t0
t0 = time.perf_counter()
run(cfg)
t_second = time.perf_counter() - t0
print(json.dumps({"import sim.__main__": t_main, "import sim.run": t_run,
  "compose_config (first)": t_compose_first,
  "compose_config (each next)": t_compose,
  "first tiny run": t_first, "second tiny run": t_second}))
"""


def worker_start(code: Path) -> dict:
    """A worker's cold start: imports, composing, and the first run's kernel loading."""
    env = {**os.environ, "PYTHONPATH": str(code), "NUMBA_DEBUG_CACHE": "1"}
    t0 = time.perf_counter()
    r = subprocess.run(
        [PY, "-c", _WORKER_SCRIPT], cwd=code, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        return {"error": r.stderr[-800:]}
    lines = r.stdout.strip().splitlines()
    out = json.loads(lines[-1])
    out["process wall"] = wall
    out["numba"] = numba_cache_lines(r.stdout + r.stderr)
    return out


# --------------------------------------------------------------------------- printing


def show(res: dict) -> None:
    """Print one experiment's breakdown."""
    j = res["jobs"]
    print(
        f"\n== {j} worker(s): wall {res['wall']:.1f} s, {res['runs']} runs, runs' own time "
        f"{res['runs_time']:.1f} s, wall / (runs' time / {j}) = {res['efficiency']:.3f} "
        f"(load {res['load_before']} -> {res['load_after']}; cores used by others "
        f"{res['others_cores']})"
    )
    print(
        f"   spin-ups: {res['spinups_built']} built, {res['spinups_cached']} from the cache "
        f"({res['spinup_seconds']:.1f} s in all)"
    )
    rows = [
        ("start-up (interpreter, imports, checks, root config, folder)", res["startup"]),
        ("sweep set-up and launch (-> first job starts)", res["launch"]),
        ("run phase (first job starts -> last COMPLETE)", res["run_phase"]),
        ("aggregation, tables, plots, report", res["aggregation"]),
        ("end (rankings printed, exit)", res["end"]),
    ]
    for name, v in rows:
        print(f"   {name:62s} {v:7.2f} s")
    print(
        f"   inside the run phase, worker-seconds: jobs outside sim.run.run "
        f"{res['in_job_outside_run']:.2f}, between a worker's jobs {res['between_jobs']:.2f}, "
        f"idle at the end {res['idle_at_end']:.2f}; first jobs started at "
        + ", ".join(f"+{x:.2f} s" for x in res["first_job_starts"])
    )
    outside = res["wall"] - res["runs_time"] / j
    print(f"   outside the runs (wall - runs' time / workers): {outside:.1f} s")
    n = res["numba"]
    print(
        f"   numba cache: {n['data loaded']} kernels loaded, {n['data saved']} compiled and "
        f"saved {n['compiled'] or ''}"
    )
    a = res.get("aggregation_parts", {})
    if "aggregate" in a:
        print(
            f"   aggregation again in a fresh interpreter: imports {a['import']:.2f} s, "
            f"aggregate() {a['aggregate']:.2f} s; largest parts (cumulative):"
        )
        for name, v in a["top"][:10]:
            print(f"      {v:6.2f} s  {name}")


def main(argv: list[str] | None = None) -> int:
    """Run and print; see the module's docstring."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.experiment_overhead")
    ap.add_argument("--jobs", default="1,2", help="n_jobs settings, comma-separated")
    ap.add_argument("--cold", action="store_true", help="an empty spin-up cache each time")
    ap.add_argument("--code", type=Path, default=ROOT, help="the checkout whose code runs")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-worker", action="store_true", help="skip the worker cold start")
    ap.add_argument("overrides", nargs="*", help="more overrides for the experiment")
    a = ap.parse_args(argv)
    code = a.code.resolve()
    jobs = [int(x) for x in a.jobs.split(",")]
    print(f"code: {code}; overrides: {' '.join(a.overrides) or '(the default experiment)'}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; load (1 min) {uptime()}")
    results: dict = {"code": str(code), "overrides": a.overrides, "experiments": []}
    if not a.no_worker:
        w = worker_start(code)
        results["worker"] = w
        print(f"\n== a worker's cold start, in a fresh interpreter (load {uptime()})")
        for k, v in w.items():
            if isinstance(v, float):
                print(f"   {k:28s} {v:7.2f} s")
        if "numba" in w:
            n = w["numba"]
            print(
                f"   numba cache: {n['data loaded']} kernels loaded, {n['data saved']} "
                f"compiled and saved {n['compiled'] or ''}"
            )
        if "error" in w:
            print("   error:", w["error"])
    persistent = ROOT / "results" / "bench" / "spinup-cache"
    walls: dict[int, list[float]] = {}
    effs: dict[int, list[float]] = {}
    for _ in range(a.repeat):
        for j in jobs:
            if a.cold:
                cache = Path(tempfile.mkdtemp(prefix="eo-cache-"))
            else:
                cache = persistent
                cache.mkdir(parents=True, exist_ok=True)
            try:
                res = run_experiment(j, code, cache, a.overrides)
                if not a.cold and res["spinups_built"]:  # the cache was not warm: again
                    print(f"\n({res['spinups_built']} spin-ups built: run again, cache warm)")
                    res = run_experiment(j, code, cache, a.overrides)
            finally:
                if a.cold:
                    shutil.rmtree(cache, ignore_errors=True)
            show(res)
            results["experiments"].append(res)
            walls.setdefault(j, []).append(res["wall"])
            effs.setdefault(j, []).append(res["efficiency"])
    if 1 in walls and 2 in walls:
        w1, w2 = min(walls[1]), min(walls[2])
        sp = w1 / w2
        print(
            f"\n== 2 workers vs 1: {w1:.1f} s / {w2:.1f} s = {sp:.2f}x (target >= 1.8: "
            f"{'met' if sp >= 1.8 else 'not met'}); wall / (runs' time / workers): "
            + ", ".join(f"{j} worker(s) {min(v):.3f}" for j, v in effs.items())
            + " (target <= 1.15)"
        )
        results["speedup"] = sp
    out = ROOT / "results" / "bench" / f"experiment_overhead-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nraw figures: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
