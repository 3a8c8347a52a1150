"""Performance benchmarks: ``python -m benchmarks.run [--quick] [--sections 1,2,3,4,5,6]``.

Prints every figure as measured beside its target (nothing here is a test and
nothing is asserted):

1. the real model against a per-agent Mesa twin of its core rules
   (:mod:`benchmarks.per_agent_mesa`) on the same market: throughput ratio, and
   aggregates that agree within sampling noise;
2. throughput, peak memory and state size at 10k, 100k, 1M and 10M customers
   (a fresh interpreter per size, :mod:`benchmarks.scaling`), with the step
   time broken down by process;
3. the bytes the step must move per customer-week against this machine's memory
   bandwidth (a NumPy streaming copy), and the random draws' own limit
   (:mod:`benchmarks.draws`, :mod:`benchmarks.draw_share`);
4. the default experiment's wall time with 1 and 2 local workers;
5. CPU time per compiled process and the draws' share of it
   (:mod:`benchmarks.draw_share`);
6. the allocator setting (:mod:`sim.memory`: glibc malloc keeps freed memory
   instead of returning it to the kernel) against malloc's defaults.

The full run takes about an hour (1M x 104 weeks and 10M x 8 weeks dominate);
``--quick`` uses small sizes and takes about a minute. Other jobs on the
machine are listed at the start and the cores they used are printed beside
each timing ("others x.x cores").
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

from benchmarks.machine import MALLOC_DEFAULTS, ONE_THREAD, Load, describe, other_jobs

PY = sys.executable
RESULTS: dict = {}
#: Philox blocks a customer-week draws, counted from the processes' slot layouts (docstrings):
#: needs 3 + 1-2 per held bank, choice 1 per need occasion (4.3 a week at rest),
#: experience 3, response 1 + 2-4 per held bank, switching 2 + 1 per bank not held,
#: adoption 1, exits 1; customers hold 3.7 of 5 banks at rest (default market, 2026-12-04).
BLOCKS_PER_CUSTOMER_WEEK = 33


def _env(extra: dict | None = None) -> dict:
    return {**os.environ, **ONE_THREAD, **(extra or {})}


def _child(args: list[str], env: dict | None = None, timeout: int = 7200) -> dict:
    """Run ``python -m benchmarks.<args>`` in a fresh interpreter; parse its last JSON line."""
    out = subprocess.run(
        [PY, "-m", *args], capture_output=True, text=True, timeout=timeout, env=_env(env)
    )
    if out.returncode != 0:
        tail = out.stderr.strip().splitlines()[-3:] if out.stderr else ["failed"]
        return {"error": " | ".join(tail)}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _others(load: float) -> str:
    return f"others {load:.1f} cores"


# --------------------------------------------------------------------------- 1
def section_per_agent(
    sizes, weeks_vec: int, weeks_pa: dict, agree_n: int, agree_weeks: int, seeds: int
) -> None:
    """1. Real model vs per-agent Mesa on the same market and the same rules.

    Both run in this interpreter on one thread (numba's compiled passes would
    otherwise use every core against the twin's one), after a warm-up run that
    loads or compiles the passes.
    """
    import numba

    from benchmarks.per_agent_mesa import (
        PerAgentMarket,
        agreement,
        build_vector,
        print_agreement,
    )

    print("\n== 1. Real model vs per-agent Mesa (needs, choice, experience, switching)")
    print(
        "   same composed config and starting population; the real model runs every "
        "process (the others' rates set to zero: 'core'), and also the full default "
        "rules ('full'); one thread each; target: real >= 100x per-agent at 100,000"
    )
    out = RESULTS.setdefault("per_agent", {"throughput": [], "agreement": {}})
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    for core in (True, False):  # warm-up: compiled passes loaded before any timing
        build_vector(1_000, 1, seed=1, core=core).run_model()
    for n in sizes:
        row = {"n": n}
        for label, core in (("core", True), ("full", False)):
            m = build_vector(n, weeks_vec, seed=1, core=core)
            with Load() as ld:
                m.run_model()
            row[label] = n * weeks_vec / ld.wall
            row[f"{label}_others"] = ld.others
        w = weeks_pa[n]
        t0 = time.perf_counter()
        pa = PerAgentMarket(build_vector(n, w, seed=1), seed=1)
        row["pa_build_s"] = time.perf_counter() - t0
        with Load() as ld:
            for _ in range(w):
                pa.step()
        row["pa"] = n * w / ld.wall
        row["pa_others"] = ld.others
        del pa
        ratio = row["core"] / row["pa"]
        row["ratio"], row["ratio_full"] = ratio, row["full"] / row["pa"]
        target = f"{_met(ratio >= 100)} (gap {100 / ratio:.1f}x)" if n >= 100_000 else "(info)"
        print(
            f"   {n:>9,} customers: real core {row['core'] / 1e6:6.3f} M customer-weeks/s "
            f"({weeks_vec} wk, {_others(row['core_others'])}), real full "
            f"{row['full'] / 1e6:6.3f} M/s, per-agent {row['pa'] / 1e6:7.4f} M/s ({w} wk, "
            f"{_others(row['pa_others'])}; building its {n:,} agents {row['pa_build_s']:.1f} "
            f"s)"
        )
        print(
            f"   {'':>9}  ratio real/per-agent: {ratio:5.1f}x same rules, "
            f"{row['ratio_full']:5.1f}x full rules; target >= 100x: {target}"
        )
        out["throughput"].append(row)

    numba.set_num_threads(threads)
    res = agreement(agree_n, agree_weeks, seeds)
    out["agreement"] = res
    print_agreement(res, agree_n, agree_weeks, seeds)


# --------------------------------------------------------------------------- 2
def section_scaling(sizes_weeks) -> dict:
    """2. Throughput, memory and state size at growing populations."""
    print(
        "\n== 2. Throughput and memory scaling (default model, fresh interpreter per size, "
        "one thread)"
    )
    print(
        "   run time = the weeks + data collection + outcomes + the collector's tables; "
        "state = population arrays + network CSR + degree, per row (rows = customers "
        "x 1.1 headroom)"
    )
    results = {}
    for n, w in sizes_weeks:
        r = _child(["benchmarks.scaling", str(n), str(w)])
        if "error" in r:
            print(f"   {n:>11,} x {w}: failed: {r['error']}")
            results[n] = r
            continue
        rate = n * w / r["run_s"]
        r["rate"] = rate
        state = r["state_bytes"] + r["network_bytes"] + r["degree_bytes"]
        r["state_per_row"] = state / r["rows"]
        r["state_per_customer"] = state / n
        results[n] = r
        proj = n * 104 / rate
        measured = "measured" if w == 104 else f"projected from {w} weeks"
        print(
            f"   {n:>11,} customers x {w:3d} weeks: {rate / 1e6:6.3f} M customer-weeks/s, "
            f"{r['run_s']:7.1f} s ({proj:7.1f} s for 104 weeks, {measured}); "
            f"{_others(r['other_cores'])}"
        )
        print(
            f"   {'':>11}  build {r['build_s']:6.2f} s; peak RSS {r['peak_rss'] / 2**30:6.2f} "
            f"GiB = {r['rss_base'] / 2**20:.0f} MiB interpreter and libraries + "
            f"{(r['peak_rss'] - r['rss_base']) / n:.0f} B/customer "
            f"({r['rss_after_build'] / 2**30:.2f} GiB after build); "
            f"state {r['state_per_row']:.0f} B/row = "
            f"{r['state_bytes'] / r['rows']:.0f} arrays + {r['network_bytes'] / r['rows']:.0f}"
            f" network + {r['degree_bytes'] / r['rows']:.0f} degree "
            f"({r['state_per_customer']:.0f} B/customer)"
        )
        print(
            f"   {'':>11}  CPU {r['cpu_s'] / r['run_s']:.2f} cores during the run "
            f"(system {r['sys_s'] / r['run_s']:.0%} of wall, {r['minflt'] / w:,.0f} page "
            f"faults/week){'; memory guard bypassed' if r['guard_bypassed'] else ''}"
        )
        tot = sum(r["process_s"].values())
        parts = ", ".join(
            f"{k} {v / w * 1e3:.0f} ms ({v / tot:.0%})"
            for k, v in sorted(r["process_s"].items(), key=lambda kv: -kv[1])
            if v / tot > 0.005
        )
        print(f"   {'':>11}  per week: {parts}")
    RESULTS["scaling"] = results
    print("   targets:" + ("" if 1_000_000 in results else " (1M and 10M not run here)"))
    one, ten = results.get(1_000_000, {}), results.get(10_000_000, {})
    if "rate" in one:
        t104 = one["run_s"] if one["weeks"] == 104 else 1e6 * 104 / one["rate"]
        print(
            f"     1M x 104 weeks < 20 s: {t104:.1f} s "
            f"({'measured' if one['weeks'] == 104 else 'projected'}) -> "
            f"{_met(t104 < 20)}{'' if t104 < 20 else f' (gap {t104 / 20:.1f}x)'}"
        )
        print(
            f"     build 1M (population + network) < 5 s: {one['build_s']:.2f} s -> "
            f"{_met(one['build_s'] < 5)}"
        )
    if "rate" in ten:
        print(
            f"     10M runs on this machine: yes, peak RSS {ten['peak_rss'] / 2**30:.1f} GiB "
            f"of {describe()['mem_total_gib']:.1f} GiB"
            f"{' (memory guard bypassed)' if ten['guard_bypassed'] else ''}"
        )
        print(
            f"     10M state <= 300 B/customer: {ten['state_per_row']:.0f} B/row, "
            f"{ten['state_per_customer']:.0f} B/customer -> "
            f"{_met(ten['state_per_customer'] <= 300)}"
        )
        if "rate" in one:
            k = ten["weeks"]
            r1 = 1e6 * k / sum(one["week_s"][:k])
            r10 = 1e7 * k / sum(ten["week_s"][:k])
            print(
                f"     10M throughput within 30% of 1M: 10M {ten['rate'] / 1e6:.3f} M/s vs 1M "
                f"{one['rate'] / 1e6:.3f} M/s = {ten['rate'] / one['rate']:.2f}; same first "
                f"{k} weeks (steps only): {r10 / 1e6:.3f} vs {r1 / 1e6:.3f} = {r10 / r1:.2f} "
                f"-> {_met(r10 / r1 >= 0.7)}"
            )
    elif 10_000_000 in results:
        print(f"     10M: {results[10_000_000].get('error')}")
    return results


# --------------------------------------------------------------------------- 3
def section_bandwidth(scaling: dict, size: int) -> None:
    """3. The step against the machine: memory bandwidth and the random draws' own limit."""
    from benchmarks.machine import stream_copy

    print("\n== 3. Against the machine: the bytes the step must move, and the draws")
    bw = stream_copy(1.0)
    print(
        f"   NumPy streaming copy (np.copyto, 1 GiB float64, read + write counted): best "
        f"{bw['best'] / 1e9:.1f} GB/s, median {bw['median'] / 1e9:.1f} GB/s"
    )
    from benchmarks.draw_share import main as draw_share

    print(f"   the random draws' share of the step (benchmarks.draw_share at {size:,}):")
    share = draw_share(["--size", str(size), "--weeks", "5"])
    block_rate = share["real"]["blocks_per_s"]
    blocks = BLOCKS_PER_CUSTOMER_WEEK
    print(
        f"   the draws' own limit: {block_rate / 1e6:.0f} M Philox blocks/s / about {blocks} "
        f"blocks per customer-week (from the processes' slot layouts) = "
        f"{block_rate / blocks / 1e6:.1f} M customer-weeks/s; a block four times cheaper saves "
        f"{share['rows']['the week']['saved']:.0%} of the week, so the draws do not bind"
    )
    for n, r in sorted(scaling.items()):
        if "rate" not in r:
            continue
        # the least the step must move: each state row read and written once, the
        # network's CSR read once, and one 64-byte line per tie in each of the two tie passes
        ties = r.get("ties_per_row", r["network_bytes"] / r["rows"] / 4.0)
        must = 2 * r["state_bytes"] / r["rows"] + r["network_bytes"] / r["rows"] + 2 * 64 * ties
        moved = must * r["rate"]
        print(
            f"   at {n:>11,}: {r['rate'] / 1e6:.3f} M customer-weeks/s x {must:.0f} B the step "
            f"must move (state read and written once, network and one line per tie) = "
            f"{moved / 1e9:5.2f} GB/s = {moved / bw['best']:5.1%} of the copy bandwidth "
            f"(target >= 30%: {_met(moved / bw['best'] >= 0.3)}); bandwidth limit "
            f"{bw['best'] / must / 1e6:.1f} M/s, draws' limit {block_rate / blocks / 1e6:.2f} M/s"
        )
    RESULTS["bandwidth"] = {"copy": bw, "draw_share": share, "blocks": blocks}


# --------------------------------------------------------------------------- 4
def section_experiment(quick: bool) -> None:
    """4. The default experiment's wall time with 1 and 2 local workers."""
    print("\n== 4. Experiment throughput: python -m sim.experiment hydra.launcher.n_jobs=1 vs 2")
    extra = ["population.size=1000", "weeks=20", "seed=range(0,1)"] if quick else []
    if extra:
        print(f"   (quick: {' '.join(extra)})")
    times, compute = {}, {}
    for jobs in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "BANKLAB_RESULTS": tmp}
            with Load() as ld:
                r = subprocess.run(
                    [PY, "-m", "sim.experiment", f"hydra.launcher.n_jobs={jobs}", *extra],
                    env=env,
                    capture_output=True,
                    text=True,
                )
            times[jobs] = ld.wall
            runs = glob.glob(os.path.join(tmp, "experiments", "*", "runs", "*", "timings.json"))
            compute[jobs] = 0.0
            for p in runs:
                with open(p) as f:
                    compute[jobs] += json.load(f).get("total", 0.0)
            ok = r.returncode == 0
            status = "ok" if ok else f"FAILED: {r.stderr.strip().splitlines()[-1:]}"
        print(
            f"   {jobs} worker(s): {times[jobs]:7.1f} s wall, {len(runs)} runs, their "
            f"simulation time {compute[jobs]:.1f} s in all ({status}; cores used by "
            f"everything else: {ld.others:.1f})"
        )
    sp = times[1] / times[2]
    over1 = times[1] - compute[1]
    print(
        f"   speed-up with 2 workers: {sp:.2f}x; target >= 1.7x: {_met(sp >= 1.7)}"
        f"{'' if sp >= 1.7 else f' (gap {1.7 / sp:.2f}x)'}; with 1 worker "
        f"{over1:.1f} s of the wall time is outside the runs (start-up, launching, "
        f"aggregation); per-run simulation time with 2 workers is "
        f"{compute[2] / max(compute[1], 1e-9):.2f}x that with 1 (two runs share the memory "
        "bus and the caches)"
    )
    RESULTS["experiment"] = {"wall": times, "compute": compute, "speedup": sp}


# --------------------------------------------------------------------------- 5, 6
def section_profile(size: int, weeks: int) -> None:
    """5. CPU time per compiled process, and the draws' share of each."""
    print("\n== 5. Where the step's time goes (benchmarks/draw_share.py)")
    r = subprocess.run(
        [PY, "-m", "benchmarks.draw_share", "--size", str(size), "--weeks", str(weeks)],
        capture_output=True,
        text=True,
        env=_env(),
    )
    print(r.stdout.rstrip() if r.returncode == 0 else f"   failed: {r.stderr[-500:]}")


def section_allocator(quick: bool) -> None:
    """6. The model's allocator setting against malloc's defaults, measured."""
    print("\n== 6. Allocator: sim/memory.py (malloc keeps freed memory) vs malloc's defaults")
    n, w = (100_000, 4) if quick else (1_000_000, 5)
    rows = {}
    for label, env in (("malloc defaults", MALLOC_DEFAULTS), ("malloc keeps freed memory", None)):
        r = _child(["benchmarks.scaling", str(n), str(w)], env=env)
        if "error" in r:
            print(f"   {label}: failed: {r['error']}")
            continue
        steady = sum(r["week_s"][1:]) / (w - 1)
        rows[label] = steady
        print(
            f"   {label:27s} {n:,} customers: {steady:.3f} s a week (weeks 2-{w}), CPU "
            f"{r['cpu_s'] / r['run_s']:.2f} cores, system {r['sys_s'] / r['run_s']:.0%} of "
            f"wall, {r['minflt'] / w:,.0f} page faults a week, peak RSS "
            f"{r['peak_rss'] / 2**30:.2f} GiB; {_others(r['other_cores'])}"
        )
    if len(rows) == 2:
        a, b = rows.values()
        print(f"   malloc keeping freed memory (the model's setting): {a / b:.2f}x faster steps")
    RESULTS["malloc"] = rows


def main(argv: list[str] | None = None) -> None:
    """Run the chosen sections."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    ap.add_argument("--sections", default="1,2,3,4,5,6")
    ap.add_argument(
        "--scale", default=None, help="sizes x weeks for section 2, e.g. 10000x104,1000000x8"
    )
    ap.add_argument("--json", default=None, help="also write every figure to this file")
    a = ap.parse_args(argv)
    sections = {int(s) for s in a.sections.split(",")}
    info = describe()
    RESULTS["machine"] = info
    print(
        f"machine: {info['nproc']} cores, {info['cpu']}, {info['mem_total_gib']:.1f} GiB "
        f"({info['mem_available_gib']:.1f} available); Python {info['python']}, NumPy "
        f"{info['numpy']}, SciPy {info['scipy']}, Mesa {info['mesa']}; {info['date']}"
    )
    busy = other_jobs()
    RESULTS["other_jobs_at_start"] = busy
    if busy:
        print("other jobs now (pid, cores, command):")
        for pid, use, cmd in busy:
            print(f"   {pid:>7} {use:4.1f}  {cmd}")
    else:
        print("no other jobs using the CPU now")
    q = a.quick
    if 1 in sections:
        sizes = [2_000, 10_000] if q else [10_000, 100_000]
        section_per_agent(
            sizes,
            weeks_vec=4 if q else 10,
            weeks_pa={2_000: 2, 10_000: 2} if q else {10_000: 10, 100_000: 4},
            agree_n=2_000 if q else 10_000,
            agree_weeks=4 if q else 10,
            seeds=3 if q else 8,
        )
    scaling = {}
    if a.scale:
        sizes_weeks = [tuple(int(x) for x in s.split("x")) for s in a.scale.split(",")]
    else:
        sizes_weeks = (
            [(10_000, 20), (100_000, 4)]
            if q
            else [(10_000, 104), (100_000, 104), (1_000_000, 104), (10_000_000, 8)]
        )
    if 2 in sections or 3 in sections:
        scaling = section_scaling(sizes_weeks)
    if 3 in sections:
        section_bandwidth(scaling, 20_000 if q else 200_000)
    if 4 in sections:
        section_experiment(q)
    if 5 in sections:
        section_profile(20_000 if q else 1_000_000, 3 if q else 5)
    if 6 in sections:
        section_allocator(q)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(RESULTS, f, indent=1, default=str)
        print(f"\nfigures written to {a.json}")


if __name__ == "__main__":
    main()
