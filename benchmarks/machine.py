"""The machine: its description, other work running on it, and its memory bandwidth."""

from __future__ import annotations

import os
import platform
import re
import resource
import time
from pathlib import Path

import numpy as np

#: Environment of benchmark subprocesses: one thread per library (one core per run).
ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}
#: The model's allocator setting switched off (sim/memory.py), for the comparison in section 6.
MALLOC_DEFAULTS = {"BANKLAB_KEEP_FREED_MEMORY": "0"}
#: Jobs whose presence is reported (they compete for the two cores).
WATCH = re.compile(r"calibrat|sensitivity|sim\.experiment|pytest|optimi[sz]e|loky|sim\.app")


def _meminfo() -> dict[str, int]:
    out = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        k, v = line.split(":", 1)
        out[k] = int(v.split()[0]) * 1024
    return out


def describe() -> dict:
    """nproc, memory, CPU model, versions, date."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    flags = Path("/proc/cpuinfo").read_text()
    mem = _meminfo()
    import mesa
    import scipy

    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "avx512": "avx512f" in flags,
        "mem_total_gib": mem["MemTotal"] / 2**30,
        "mem_available_gib": mem["MemAvailable"] / 2**30,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "mesa": mesa.__version__,
    }


def _cpu_ticks() -> tuple[int, int]:
    f = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    v = [int(x) for x in f]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, sum(v[:8])


def _descendants(root: int) -> set[int]:
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    out, todo = {root}, [root]
    while todo:
        for k in kids.get(todo.pop(), []):
            if k not in out:
                out.add(k)
                todo.append(k)
    return out


def _proc_cpu() -> dict[int, tuple[float, str]]:
    tck = os.sysconf("SC_CLK_TCK")
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            st = (d / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        out[int(d.name)] = ((int(st[11]) + int(st[12])) / tck, cmd.strip())
    return out


def other_jobs(seconds: float = 1.0) -> list[tuple[int, float, str]]:
    """Processes outside this benchmark using CPU now: (pid, cores, command)."""
    mine = _descendants(os.getpid())
    a = _proc_cpu()
    time.sleep(seconds)
    b = _proc_cpu()
    busy = []
    for pid, (t1, cmd) in b.items():
        if pid in mine or pid not in a:
            continue
        use = (t1 - a[pid][0]) / seconds
        if use >= 0.05 or WATCH.search(cmd):
            busy.append((pid, use, cmd[:100]))
    return sorted(busy, key=lambda x: -x[1])


class Load:
    """Cores used on the machine by others while a block runs (from /proc/stat).

    ``others = busy cores - this process's (and its waited-for children's) cores``.
    """

    def __enter__(self) -> Load:
        """Start counting."""
        self.t0 = time.perf_counter()
        self.ticks0 = _cpu_ticks()
        self.ru0 = self._own()
        return self

    @staticmethod
    def _own() -> float:
        s = resource.getrusage(resource.RUSAGE_SELF)
        c = resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

    def __exit__(self, *exc) -> None:
        """Stop counting."""
        wall = time.perf_counter() - self.t0
        busy0, tot0 = self.ticks0
        busy1, tot1 = _cpu_ticks()
        ncpu = os.cpu_count() or 1
        busy_cores = (busy1 - busy0) / max(tot1 - tot0, 1) * ncpu
        self.own_cores = (self._own() - self.ru0) / max(wall, 1e-9)
        self.others = max(busy_cores - self.own_cores, 0.0)
        self.wall = wall


def stream_copy(gib: float = 1.0, repeats: int = 6) -> dict:
    """NumPy streaming copy ``np.copyto(b, a)`` of ``gib`` GiB float64 arrays.

    Bandwidth counts the bytes read plus the bytes written (2 x array size) per copy,
    the convention of STREAM's copy and of :mod:`benchmarks.traffic`. Best and median
    of ``repeats`` copies after one warm-up copy (which faults the pages in).
    """
    n = int(gib * 2**30) // 8
    a = np.ones(n)
    b = np.empty_like(a)
    np.copyto(b, a)
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(b, a)
        rates.append(2 * a.nbytes / (time.perf_counter() - t0))
    return {"best": max(rates), "median": float(np.median(rates)), "gib": gib}


def first_touch(gib: float = 0.25) -> float:
    """Bytes per second of writing freshly allocated memory (page faults included)."""
    n = int(gib * 2**30) // 8
    t0 = time.perf_counter()
    a = np.empty(n)
    a.fill(1.0)
    dt = time.perf_counter() - t0
    del a
    return n * 8 / dt
