"""The counter-based generator's own speed beside NumPy's, in the same run, one thread.

``python -m benchmarks.draws [--n 4000000] [--reps 3]``

Times ``sim.counter_rng.fill_uniform`` (one Philox4x32-10 block, two uniform
doubles, per customer id) and NumPy's ``Generator.random`` (PCG64) on the same
number of doubles, by process CPU time (less moved by other jobs than wall
time), best of ``--reps``. With the compiled passes the draws can bind before
memory traffic does: this is their limit.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def main(argv: list[str] | None = None) -> None:
    """Print blocks and doubles per second of both generators."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON line only")
    a = ap.parse_args(argv)
    import numba

    numba.set_num_threads(1)
    from sim.counter_rng import fill_uniform, philox_key, stream_word

    n = a.n
    out = np.empty((n, 2))
    uids = np.arange(n, dtype=np.uint32)
    key, stream = philox_key(1, 0), stream_word(1, 0)
    fill_uniform(key, stream, uids[:8], 1, 0, out[:8])  # load the compiled kernel
    rng = np.random.default_rng(1)
    philox, pcg = [], []
    for _ in range(a.reps):
        t = time.process_time()
        fill_uniform(key, stream, uids, 1, 0, out)
        philox.append(time.process_time() - t)
        t = time.process_time()
        rng.random(2 * n)
        pcg.append(time.process_time() - t)
    p, q = min(philox), min(pcg)
    if a.json:
        print(json.dumps({"philox_blocks_per_s": n / p, "pcg64_doubles_per_s": 2 * n / q}))
        return
    print(f"load average {os.getloadavg()[0]:.1f}; {n:,} blocks, best of {a.reps}, CPU time")
    print(
        f"Philox4x32-10 (numba): {n / p / 1e6:7.1f} M blocks/s = {2 * n / p / 1e6:7.1f} M doubles/s"
    )
    print(f"NumPy PCG64 random:    {'':16s}{2 * n / q / 1e6:7.1f} M doubles/s")
    print(f"ratio (NumPy / Philox, per double): {p / q:.2f}")


if __name__ == "__main__":
    main()
