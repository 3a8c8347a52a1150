"""The weekly step of an earlier commit against this checkout's, back to back, as ratios.

``python -m benchmarks.old_vs_new [--old COMMIT] [--size 100000] [--weeks 6] [--reps 2]``

On a machine shared with other jobs absolute timings move with the load; a
ratio of two runs taken alternately in the same minutes does not move as much.
The old code is ``git archive``d from ``COMMIT`` (default: the commit before the
compiled passes of issue 14) into a temporary folder, and each run is a fresh
interpreter of ``benchmarks.scaling`` (one thread per library, numba included)
with either tree first on ``sys.path``, old and new alternating ``--reps`` times.
Printed: the median wall time of a week (the first, which loads the compiled
kernels, left out), the CPU time of a week (this process's user + system time
over the weeks, first included: less moved by other jobs than wall time) and
the wall time of each process, old and new, and their ratio, with the machine's
load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from benchmarks.machine import ONE_THREAD

ROOT = Path(__file__).resolve().parents[1]
#: The last commit before the compiled passes (issue 14).
BEFORE = "592b3a0"


def export_tree(commit: str, dest: Path) -> Path:
    """The model, benchmarks, configs and scenarios of ``commit`` extracted under ``dest``."""
    data = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "sim", "benchmarks", "configs", "scenarios"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def one_run(tree: Path, size: int, weeks: int) -> dict:
    """``benchmarks.scaling`` in a fresh single-threaded interpreter with ``tree`` first."""
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.scaling", str(size), str(weeks)],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _week_and_processes(r: dict) -> dict[str, float]:
    weeks = r["week_s"][1:] or r["week_s"]
    per = {k: v / r["weeks"] for k, v in r["process_s"].items()}
    return {"week": statistics.median(weeks), "week_cpu": r["cpu_s"] / r["weeks"], **per}


def main(argv: list[str] | None = None) -> None:
    """Alternate old and new runs; print medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", default=BEFORE)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--weeks", type=int, default=6)
    ap.add_argument("--reps", type=int, default=2)
    a = ap.parse_args(argv)
    load0 = os.getloadavg()
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory(prefix="old-tree-") as tmp:
        old_tree = export_tree(a.old, Path(tmp))
        for rep in range(a.reps):
            for name, tree in (("old", old_tree), ("new", ROOT)):
                r = one_run(tree, a.size, a.weeks)
                runs[name].append(_week_and_processes(r))
                print(f"  rep {rep + 1} {name}: {runs[name][-1]['week']:.3f} s a week", flush=True)
    load1 = os.getloadavg()
    print(
        f"== old ({a.old}) vs new (this checkout): {a.size:,} customers, {a.weeks} weeks, "
        f"one thread; load average {load0[0]:.1f} before, {load1[0]:.1f} after"
    )
    print(f"{'':14s} {'old s':>9s} {'new s':>9s} {'old/new':>8s}")
    keys = list(runs["old"][0])
    for k in keys:
        o = statistics.median(r[k] for r in runs["old"])
        n = statistics.median(r.get(k, 0.0) for r in runs["new"])
        ratio = o / n if n > 0 else float("inf")
        print(f"{k:14s} {o:9.4f} {n:9.4f} {ratio:8.2f}x")
    for k in ("week", "week_cpu"):
        cw_old = a.size / statistics.median(r[k] for r in runs["old"])
        cw_new = a.size / statistics.median(r[k] for r in runs["new"])
        print(f"customer-weeks/s ({k}): old {cw_old / 1e6:.3f} M, new {cw_new / 1e6:.3f} M")


if __name__ == "__main__":
    main()
