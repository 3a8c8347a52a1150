"""The week's census: every per-bank stock the data collector records, in one pass.

After the week's processes, for each bank ``b`` (sums over rows ``n``):

* ``customers[b] = sum [has[n,b]]``; ``primary[b] = sum [alive[n] and primary[n] = b]``;
* ``active_4w[b] = sum [has[n,b] and ti_last[n,b] >= t - 3]`` (a contact in the last
  four weeks), ``app_mau[b]`` the same with ``ti_app``;
* ``dormant[b] = sum [has[n,b] and dormant[n,b]]``; ``products[b] = sum_has products``;
* ``sat_sum[b]``, ``bond_sum[b]``: sums of ``sat`` and ``bond`` over holders (means are
  these over ``customers``);

and for the market: customers alive, the multi-banking count (alive customers with at
least two banks whose last contact lies in the last 13 weeks, ``ti_last >= t - 12``),
the sum of digital affinity and the number of app adopters among the alive.

Implementation: one compiled pass (numba) over fixed chunks of rows, each chunk's sums
kept apart and added in chunk order afterwards, so the figures do not depend on the
number of threads; no ``N x B`` temporary. Float sums are in float64.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.nbtypes import _b1, _b2, _f4_1, _f4_2, _f8_2, _i1_1, _i1_2, _i2_2, _i8_2

#: Rows per chunk (fixed: the chunks do not depend on the threads).
CHUNK = 4096
#: Per-bank integer counts, rows of ``Census.counts``.
BANK_COUNTS = ("customers", "primary", "active_4w", "app_mau", "dormant", "products")
#: Per-bank float sums.
BANK_SUMS = ("sat_sum", "bond_sum")
#: Market integer counts, then float sums (one column each).
MARKET_COUNTS = ("alive", "multi_13w", "adopted")
MARKET_SUMS = ("digital_sum",)
_NC, _NS = len(BANK_COUNTS), len(BANK_SUMS)


@nb.njit(
    nb.void(
        nb.int64,
        _b1,
        _b2,
        _i1_1,
        _i2_2,
        _i2_2,
        _b2,
        _i1_2,
        _f4_2,
        _f4_2,
        _f4_1,
        _b1,
        _i8_2,
        _f8_2,
    ),
    cache=True,
    nogil=True,
    parallel=True,
)
def _census(
    t, alive, has, primary, ti_last, ti_app, dormant, products, sat, bond, digital, adopted,
    counts, sums,
):  # fmt: skip
    """Per chunk: bank counts and sums, then the market's (see the module docstring)."""
    N, B = has.shape
    nc, ns = _NC * B, _NS * B
    for c in nb.prange(counts.shape[0]):
        for n in range(c * CHUNK, min(N, (c + 1) * CHUNK)):
            recent = 0
            for b in range(B):
                if ti_last[n, b] >= t - 12:
                    recent += 1
                if not has[n, b]:
                    continue
                counts[c, b] += 1
                if ti_last[n, b] >= t - 3:
                    counts[c, 2 * B + b] += 1
                if ti_app[n, b] >= t - 3:
                    counts[c, 3 * B + b] += 1
                if dormant[n, b]:
                    counts[c, 4 * B + b] += 1
                counts[c, 5 * B + b] += products[n, b]
                sums[c, b] += sat[n, b]
                sums[c, B + b] += bond[n, b]
            if not alive[n]:
                continue
            counts[c, B + primary[n]] += 1
            counts[c, nc] += 1
            if recent >= 2:
                counts[c, nc + 1] += 1
            if adopted[n]:
                counts[c, nc + 2] += 1
            sums[c, ns] += digital[n]


def census(pop, t: int) -> dict[str, np.ndarray | int | float]:
    """The census of week ``t``: per-bank arrays and market figures by name."""
    N, B = pop.has.shape
    chunks = max((N + CHUNK - 1) // CHUNK, 1)
    counts = np.zeros((chunks, _NC * B + len(MARKET_COUNTS)), np.int64)
    sums = np.zeros((chunks, _NS * B + len(MARKET_SUMS)), np.float64)
    _census(
        t, pop.alive, pop.has, pop.primary, pop.ti_last, pop.ti_app, pop.dormant,
        pop.products, pop.sat, pop.bond, pop.digital, pop.adopted, counts, sums,
    )  # fmt: skip
    c, s = counts.sum(axis=0), sums.sum(axis=0)
    out: dict[str, np.ndarray | int | float] = {}
    for i, name in enumerate(BANK_COUNTS):
        out[name] = c[i * B : (i + 1) * B]
    for i, name in enumerate(BANK_SUMS):
        out[name] = s[i * B : (i + 1) * B]
    for i, name in enumerate(MARKET_COUNTS):
        out[name] = int(c[_NC * B + i])
    for i, name in enumerate(MARKET_SUMS):
        out[name] = float(s[_NS * B + i])
    return out
