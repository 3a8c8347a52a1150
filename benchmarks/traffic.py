"""Bytes read and written per customer-week, counted operation by operation.

``python -m benchmarks.traffic [--size 20000] [--weeks 3]``

An estimate of the memory traffic of the weekly step as written. The
population's arrays (and the model's network degree) are replaced by views of
:class:`Counted`, an ``ndarray`` subclass that counts, for every NumPy
operation on it, the bytes of its array operands (read) and of its result
(written): ufuncs and their reductions, array functions (``where``, ``clip``,
``concatenate``, ``cumsum``, ``searchsorted``, ``bincount``...), fancy and
boolean indexing (gather: index + elements read, result written), assignments
through an index (index + values read, selected elements written),
``astype`` and ``copy``. Results of counted operations are counted arrays too,
so the count follows the data through the week's scratch arrays. The random
generators of :meth:`BankingMarket.stream` are wrapped (their array
parameters read, their draws written) and so is the social network's sparse
product (CSR arrays and the gathered rows read, the product written).

What the count does not see: the tally (per-bank, tiny), scalar work, cache
effects (a boolean-mask write touches whole cache lines; a gather through the
network touches a 64-byte line per tie: see ``gather_lines`` below), and
NumPy's internal buffering for casts. It therefore estimates the traffic at
the level of "each operation streams its operands once", which is the traffic
NumPy cannot avoid without fusing operations.

The count is per customer-week and independent of size (run it small); the
``state`` figures give the floor of a fused implementation: every state
array read and written once a week.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import fields

import numpy as np


class Counter:
    """Bytes read and written, per process."""

    def __init__(self) -> None:
        """Start at zero, outside any process."""
        self.current = "other"
        self.read: dict[str, float] = defaultdict(float)
        self.written: dict[str, float] = defaultdict(float)
        self.ops: dict[str, int] = defaultdict(int)
        self.on = False

    def add(self, r: float, w: float) -> None:
        """Charge ``r`` bytes read and ``w`` written to the current process."""
        if self.on:
            self.read[self.current] += r
            self.written[self.current] += w
            self.ops[self.current] += 1


COUNTER = Counter()


def _plain(x):
    """``x`` with every Counted array (also inside lists and tuples) viewed as ndarray."""
    if isinstance(x, Counted):
        return x.view(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    return x


def _nbytes(x) -> int:
    if isinstance(x, np.ndarray):
        return x.nbytes
    if isinstance(x, (list, tuple)):
        return sum(_nbytes(v) for v in x)
    return 0


def _wrap(x):
    if isinstance(x, np.ndarray) and not isinstance(x, Counted) and x.ndim > 0:
        return x.view(Counted)
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


def _advanced(key) -> bool:
    if isinstance(key, (np.ndarray, list)):
        return True
    if isinstance(key, tuple):
        return any(isinstance(k, (np.ndarray, list)) for k in key)
    return False


class Counted(np.ndarray):
    """An ndarray that reports the bytes each operation on it reads and writes."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """Count operands and results of a ufunc call."""
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_plain(o) for o in out)
        result = getattr(ufunc, method)(*_plain(inputs), **kwargs)
        r = _nbytes(inputs)
        if method == "at":
            r += _nbytes(inputs[0])
        w = _nbytes(result) if out is None else _nbytes(out)
        COUNTER.add(r, w)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        """Count operands and results of a NumPy function."""
        result = func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
        COUNTER.add(_nbytes(args) + _nbytes(list(kwargs.values())), _nbytes(result))
        return _wrap(result)

    def __getitem__(self, key):
        """Basic indexing is a view (free); fancy and boolean indexing a gather."""
        result = super().__getitem__(_plain(key))
        if _advanced(key) and isinstance(result, np.ndarray):
            COUNTER.add(_nbytes(key) + result.nbytes, result.nbytes)
        return result

    def __setitem__(self, key, value):
        """Assignment: index and values read, the selected elements written."""
        plain = self.view(np.ndarray)
        k = _plain(key)
        plain[k] = _plain(value)
        if isinstance(value, np.ndarray):
            n = value.size
        elif isinstance(k, np.ndarray) and k.dtype == bool:
            n = int(np.count_nonzero(k))
        else:
            n = plain[k].size if isinstance(plain[k], np.ndarray) else 1
        COUNTER.add(_nbytes(key) + _nbytes(value), n * self.itemsize)

    def astype(self, *args, **kwargs):
        """A cast copy: read and write."""
        result = self.view(np.ndarray).astype(*args, **kwargs)
        if result is not self.view(np.ndarray):
            COUNTER.add(self.nbytes, result.nbytes)
        return _wrap(result)

    def copy(self, *args, **kwargs):
        """A copy: read and write."""
        result = self.view(np.ndarray).copy(*args, **kwargs)
        COUNTER.add(self.nbytes, result.nbytes)
        return _wrap(result)


class CountedGenerator:
    """A ``numpy.random.Generator`` whose draws are counted (parameters read, draws written)."""

    def __init__(self, rng: np.random.Generator) -> None:
        """Wrap ``rng``."""
        self._rng = rng

    def __getattr__(self, name):
        """Wrap the generator's methods."""
        f = getattr(self._rng, name)
        if not callable(f):
            return f

        def call(*args, **kwargs):
            result = f(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
            COUNTER.add(_nbytes(args) + _nbytes(list(kwargs.values())), _nbytes(result))
            return _wrap(result)

        return call


class CountedSparse:
    """The social network: its sparse product counted (CSR arrays, gathered rows, result)."""

    def __init__(self, adj) -> None:
        """Wrap a CSR array."""
        self._adj = adj
        self.csr_bytes = adj.data.nbytes + adj.indices.nbytes + adj.indptr.nbytes
        self.gather_lines = 0.0

    def __matmul__(self, x):
        """``adjacency @ x``."""
        xp = _plain(x)
        result = self._adj @ xp
        row_bytes = xp.itemsize * (xp.shape[1] if xp.ndim > 1 else 1)
        gathered = self._adj.nnz * row_bytes
        COUNTER.add(self.csr_bytes + gathered, result.nbytes)
        # a gathered row shorter than a cache line still moves a whole line
        self.gather_lines += self._adj.nnz * max(64 - row_bytes, 0)
        return _wrap(result)

    def __getattr__(self, name):
        """Everything else from the CSR array."""
        return getattr(self._adj, name)


def measure(size: int = 20_000, weeks: int = 3, overrides: tuple[str, ...] = ()) -> dict:
    """Count the traffic of ``weeks`` weeks (after one uncounted week) at ``size`` customers."""
    import sim.model
    from sim.compose import compose_config
    from sim.run import build

    m = build(
        compose_config(
            [
                f"population.size={size}",
                f"weeks={weeks + 1}",
                "seed=1",
                "spinup.weeks=0",
                *overrides,
            ]
        )
    )
    state_row = m.pop.nbytes() / m.pop.capacity
    net = CountedSparse(m.adjacency)
    for f in fields(m.pop):
        setattr(m.pop, f.name, getattr(m.pop, f.name).view(Counted))
    m.degree = m.degree.view(Counted)
    m.adjacency = net
    plain_stream = m.stream
    m.stream = lambda process, purpose=0: CountedGenerator(plain_stream(process, purpose))

    def counted(name, f):
        def run(model):
            COUNTER.current = name
            f(model)
            COUNTER.current = "record"

        return run

    saved = sim.model.SCHEDULE
    sim.model.SCHEDULE = tuple((n, counted(n, f)) for n, f in saved)
    try:
        m.step()
        COUNTER.read.clear()
        COUNTER.written.clear()
        COUNTER.ops.clear()
        net.gather_lines = 0.0
        COUNTER.on = True
        for _ in range(weeks):
            m.step()
        COUNTER.on = False
    finally:
        sim.model.SCHEDULE = saved
    cw = m.pop.capacity * weeks
    procs = sorted(
        set(COUNTER.read) | set(COUNTER.written),
        key=lambda k: -(COUNTER.read[k] + COUNTER.written[k]),
    )
    per = {
        p: {
            "read": COUNTER.read[p] / cw,
            "written": COUNTER.written[p] / cw,
            "ops": COUNTER.ops[p] / weeks,
        }
        for p in procs
    }
    total = sum(v["read"] + v["written"] for v in per.values())
    return {
        "size": size,
        "rows": m.pop.capacity,
        "per_process": per,
        "total": total,
        "gather_extra": net.gather_lines / cw,
        "state_per_row": state_row,
        "fused_floor": 2 * state_row + net.csr_bytes / m.pop.capacity,
    }


def report(t: dict, out=print) -> None:
    """Print the per-process traffic."""
    out(f"   counted at {t['size']:,} customers, bytes per customer-week (row-week):")
    for p, v in t["per_process"].items():
        out(
            f"     {p:11s} read {v['read']:7.0f}  written {v['written']:7.0f}  "
            f"({v['ops']:.0f} counted operations a week)"
        )
    out(
        f"     {'total':11s} {t['total']:7.0f} bytes (+{t['gather_extra']:.0f} for whole "
        f"cache lines on network gathers); a fused one-pass floor: ~{t['fused_floor']:.0f} "
        f"(state {t['state_per_row']:.0f} B read and written once, plus the network)"
    )


def main(argv: list[str] | None = None) -> None:
    """Print the traffic estimate."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=20_000)
    ap.add_argument("--weeks", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    a = ap.parse_args(argv)
    t = measure(a.size, a.weeks)
    if a.json:
        import json

        print(json.dumps(t))
    else:
        report(t)


if __name__ == "__main__":
    main()
