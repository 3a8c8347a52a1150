"""Where the weekly step spends its time: line timing of every process, and cProfile.

``python -m benchmarks.profile_step [--sizes 100000,1000000] [--weeks 3] [--top 25]``

Line timing: a ``sys.settrace`` tracer that follows only the code of ``sim/``
(the processes, the model's recording, the trackers) and charges the wall time
between two line events to the earlier line. Calls into NumPy, SciPy and Mesa
are not traced, so their time lands on the ``sim/`` line that called them: each
line's figure is the cost of the NumPy operations written on it. The tracer
costs about a microsecond per line event; a step at 100,000 customers has a
few thousand line events, so timings are within a few per cent of untraced
ones (the untraced total is printed beside the traced one).

cProfile adds the view by function: which NumPy and SciPy functions (the
random draws, ``bincount``, ``searchsorted``, sparse products) cost the most
in all. Arithmetic operators on arrays are not function calls and do not
appear there, which is why the line timing is the main view.

Both skip the first (warm-up) week.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import linecache
import os
import pstats
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import sim

SIM_DIR = str(Path(sim.__file__).resolve().parent)


class LineTimer:
    """Wall time per source line of ``sim/`` (self time: callees in ``sim/`` are separate)."""

    def __init__(self, prefix: str = SIM_DIR) -> None:
        """Time lines of files under ``prefix``."""
        self.prefix = prefix
        self.times: dict[tuple[str, int], float] = defaultdict(float)
        self.hits: dict[tuple[str, int], int] = defaultdict(int)
        self.func: dict[tuple[str, int], str] = {}
        self._last: tuple[str, int] | None = None
        self._t = 0.0
        self._ours: dict[object, bool] = {}

    def _is_ours(self, code) -> bool:
        r = self._ours.get(code)
        if r is None:
            r = self._ours[code] = code.co_filename.startswith(self.prefix)
        return r

    def _charge(self, now: float) -> None:
        if self._last is not None:
            self.times[self._last] += now - self._t

    def _local(self, frame, event, arg):
        now = time.perf_counter()
        if event == "line":
            self._charge(now)
            key = (frame.f_code.co_filename, frame.f_lineno)
            self._last = key
            self.hits[key] += 1
            self.func.setdefault(key, frame.f_code.co_name)
        elif event == "return":
            self._charge(now)
            back = frame.f_back
            if back is not None and self._is_ours(back.f_code):
                self._last = (back.f_code.co_filename, back.f_lineno)
            else:
                self._last = None
        self._t = time.perf_counter()
        return self._local

    def _global(self, frame, event, arg):
        if event == "call" and self._is_ours(frame.f_code):
            now = time.perf_counter()
            self._charge(now)  # the caller's line up to this call
            self._last = None
            self._t = time.perf_counter()
            return self._local
        return None

    def __enter__(self) -> LineTimer:
        """Start tracing."""
        self._t = time.perf_counter()
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc) -> None:
        """Stop tracing."""
        sys.settrace(None)
        self._charge(time.perf_counter())
        self._last = None


def _module(path: str) -> str:
    rel = os.path.relpath(path, SIM_DIR)
    return rel[:-3].replace(os.sep, ".").removeprefix("processes.")


def build_model(n: int, weeks: int, overrides: tuple[str, ...] = ()):
    """The default model with ``n`` customers (not yet run)."""
    from sim.compose import compose_config
    from sim.run import build

    ov = [f"population.size={n}", f"weeks={weeks}", "seed=1", "spinup.weeks=0", *overrides]
    return build(compose_config(ov))


def profile_size(n: int, weeks: int, top: int, out=print) -> dict:
    """Line-time and cProfile ``weeks`` weeks (after one warm-up week) at ``n`` customers."""
    m = build_model(n, weeks + 2)
    m.step()  # warm-up
    base = dict(m.process_seconds)
    t0 = time.perf_counter()
    m.step()
    untraced = time.perf_counter() - t0
    base = dict(m.process_seconds)
    timer = LineTimer()
    t0 = time.perf_counter()
    with timer:
        for _ in range(weeks):
            m.step()
    traced = (time.perf_counter() - t0) / weeks
    per_process = {k: (m.process_seconds[k] - base.get(k, 0.0)) / weeks for k in m.process_seconds}
    step = sum(per_process.values())
    out(
        f"\n-- {n:,} customers: step {untraced:.3f} s untraced, {traced:.3f} s traced "
        f"(mean of {weeks} weeks); by process:"
    )
    out(
        "   "
        + ", ".join(
            f"{k} {v:.3f} s ({v / step:.0%})"
            for k, v in sorted(per_process.items(), key=lambda kv: -kv[1])
            if v > 0.001
        )
    )
    rows = sorted(timer.times.items(), key=lambda kv: -kv[1])
    total = sum(timer.times.values())
    out(f"   top {top} lines (seconds per week, share of the traced step, module:line, code):")
    lines = []
    for (path, line), sec in rows[:top]:
        code = linecache.getline(path, line).strip()
        per_week = sec / weeks
        lines.append(
            {
                "module": _module(path),
                "line": line,
                "seconds": per_week,
                "share": sec / total,
                "code": code,
            }
        )
        out(f"   {per_week:8.4f} s {sec / total:6.1%}  {_module(path)}:{line:<4d} {code[:88]}")
    by_func: dict[str, float] = defaultdict(float)
    for (path, line), sec in timer.times.items():
        by_func[f"{_module(path)}.{timer.func.get((path, line), '?')}"] += sec / weeks

    prof = cProfile.Profile()
    prof.enable()
    m.step()
    prof.disable()
    s = io.StringIO()
    st = pstats.Stats(prof, stream=s).sort_stats("tottime")
    st.print_stats(14)
    out("   cProfile, one week, functions by own time (NumPy/SciPy calls that are functions):")
    keep = False
    for ln in s.getvalue().splitlines():
        if ln.strip().startswith("ncalls"):
            keep = True
        if keep and ln.strip():
            out("   " + ln.rstrip()[:120])
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "n": n,
        "step_untraced": untraced,
        "step_traced": traced,
        "process": per_process,
        "lines": lines,
        "functions": dict(by_func),
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
    }


def main(argv: list[str] | None = None) -> None:
    """Profile the step at the given sizes."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--weeks", type=int, default=3)
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args(argv)
    for n in (int(x) for x in a.sizes.split(",")):
        profile_size(n, a.weeks, a.top)


if __name__ == "__main__":
    main()
