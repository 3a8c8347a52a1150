"""Random numbers by counter: Philox4x32-10 (Random123) inside the compiled kernels.

A counter-based generator is a keyed bijection of a counter: the numbers a draw
gets depend only on its key and counter, never on how many draws came before.
Every draw of a compiled process is addressed by

* key (2 x 32 bits): the run's root seed and phase (spin-up or run), from
  ``SeedSequence(seed entropy, spawn_key=(phase, KEY_SPAWN)).generate_state(2)``;
* counter (4 x 32 bits) ``(j, uid, week + 1, process << 16 | purpose)``:

  - ``j``: the draw index, a fixed slot in the process's per-customer rule
    (for example slot ``2 + b`` is the opening draw at bank ``b``);
  - ``uid``: the customer's stable id (:attr:`sim.population.Population.uid`),
    never its row: rows are reused by entrants and their order is an accident
    of storage;
  - ``week + 1``: the week of the phase (0 for set-up draws);
  - ``process`` (index in :data:`sim.rng.STREAMS`) and ``purpose`` (a kind of draw
    within the process, like the streams of :mod:`sim.rng`).

So a customer's draws do not depend on array order, population size, other
customers or the number of threads: common random numbers hold customer by
customer across strategies, and results are byte-identical for any thread count.

One Philox call gives four 32-bit words, turned into two uniform doubles in
[0, 1) with 53 random bits each: ``((w1 << 32 | w0) >> 11) * 2**-53`` and the
same of ``(w3, w2)``. Distributions derived from uniforms (all exact in
distribution, documented transforms):

* normal: Box-Muller, ``sqrt(-2 log(1 - u1)) * cos(2 pi u2)`` (and ``sin`` for the
  second of the pair);
* exponential: ``-log(1 - u)``;
* Poisson(lam): inversion by sequential search from 0 with one uniform, exact for
  ``lam <= 700`` (``exp(-lam)`` does not underflow); cost ``O(lam)``, fine for the
  model's weekly rates (a few per customer);
* binomial(n, p): inversion with one uniform (``p > 1/2`` by symmetry), exact for
  the small ``n`` of the model (offers, products, pushes).

The Philox rounds follow Salmon et al. (2011), "Parallel random numbers: as easy
as 1, 2, 3" (Random123): multipliers ``0xD2511F53, 0xCD9E8D57``, Weyl key bumps
``0x9E3779B9, 0xBB67AE85``, ten rounds. ``tests/test_counter_rng.py`` checks it
bit-exactly against Random123's known-answer vectors and against a plain-Python
reference whose 64-bit form reproduces NumPy's ``np.random.Philox`` (NumPy ships
Philox4x64-10, not 4x32, so the 32-bit kernel cannot be compared with it word for
word; the reference is checked against NumPy, the kernel against the reference),
and tests uniformity (KS) and independence between neighbouring customers,
draws and weeks.

The block and the uniforms are inlined into each kernel at numba's IR level
(``inline="always"``): called as separate functions they ran about a third slower.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numba import types as nt

#: The spawn key that separates the counter generator's key from the NumPy streams.
KEY_SPAWN = 7919
M0, M1 = np.uint32(0xD2511F53), np.uint32(0xCD9E8D57)
W0, W1 = np.uint32(0x9E3779B9), np.uint32(0xBB67AE85)
_TWO53 = 1.0 / 9007199254740992.0
_U32 = nb.uint32
_U4 = nt.UniTuple(nb.uint32, 4)
_F2 = nt.UniTuple(nb.float64, 2)


def philox_key(entropy: int, phase: int) -> np.ndarray:
    """The 2 x 32-bit Philox key of a run: from the root seed's entropy and the phase."""
    ss = np.random.SeedSequence(entropy, spawn_key=(phase, KEY_SPAWN))
    return ss.generate_state(2, np.uint32)


def stream_word(process: int, purpose: int) -> np.uint32:
    """Counter word 3: a process index and a purpose within it (each below 2**16)."""
    if not (0 <= process < 1 << 16 and 0 <= purpose < 1 << 16):
        raise ValueError(f"process {process} and purpose {purpose} must lie in [0, 65536)")
    return np.uint32((process << 16) | purpose)


@nb.njit(_U4(_U32, _U32, _U32, _U32, _U32, _U32), cache=True, nogil=True, inline="always")
def philox4x32(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of counter ``(c0, c1, c2, c3)`` under key ``(k0, k1)``."""
    for _ in range(10):
        p0 = nb.uint64(0xD2511F53) * nb.uint64(c0)
        p1 = nb.uint64(0xCD9E8D57) * nb.uint64(c2)
        hi0, lo0 = nb.uint32(p0 >> nb.uint64(32)), nb.uint32(p0 & nb.uint64(0xFFFFFFFF))
        hi1, lo1 = nb.uint32(p1 >> nb.uint64(32)), nb.uint32(p1 & nb.uint64(0xFFFFFFFF))
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = nb.uint32(k0 + nb.uint32(0x9E3779B9))
        k1 = nb.uint32(k1 + nb.uint32(0xBB67AE85))
    return c0, c1, c2, c3


@nb.njit(nb.float64(_U32, _U32), cache=True, nogil=True, inline="always")
def _to_double(lo, hi):
    x = (nb.uint64(hi) << nb.uint64(32)) | nb.uint64(lo)
    return nb.float64(x >> nb.uint64(11)) * _TWO53


@nb.njit(
    _F2(nt.Array(nb.uint32, 1, "C"), _U32, _U32, _U32, _U32),
    cache=True,
    nogil=True,
    inline="always",
)
def uniform2(key, stream, uid, week, j):
    """Two independent uniform doubles in [0, 1) of draw ``j`` of customer ``uid``."""
    w0, w1, w2, w3 = philox4x32(j, uid, week, stream, key[0], key[1])
    return _to_double(w0, w1), _to_double(w2, w3)


@nb.njit(_F2(nt.Array(nb.uint32, 1, "C"), _U32, _U32, _U32, _U32), cache=True, nogil=True)
def normal2(key, stream, uid, week, j):
    """Two independent standard normals (Box-Muller) of draw ``j`` of customer ``uid``."""
    u1, u2 = uniform2(key, stream, uid, week, j)
    r = math.sqrt(-2.0 * math.log(1.0 - u1))
    return r * math.cos(2.0 * math.pi * u2), r * math.sin(2.0 * math.pi * u2)


@nb.njit(nb.float64(nb.float64), cache=True, nogil=True)
def exponential(u):
    """A unit exponential from a uniform ``u`` in [0, 1)."""
    return -math.log(1.0 - u)


@nb.njit(nb.int64(nb.float64, nb.float64), cache=True, nogil=True)
def poisson(lam, u):
    """Poisson(``lam``) by inversion of one uniform ``u`` (exact for ``lam <= 700``)."""
    if lam <= 0.0:
        return 0
    p = math.exp(-lam)
    f = p
    k = 0
    cap = lam + 40.0 * math.sqrt(lam) + 40.0
    while u >= f and k < cap:
        k += 1
        p *= lam / k
        f += p
    return k


@nb.njit(nb.int64(nb.int64, nb.float64, nb.float64), cache=True, nogil=True)
def binomial(n, p, u):
    """Binomial(``n``, ``p``) by inversion of one uniform ``u`` (``p > 1/2`` by symmetry)."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    flip = p > 0.5
    q = 1.0 - p if flip else p
    r = q / (1.0 - q)
    pk = (1.0 - q) ** n
    f = pk
    k = 0
    while u >= f and k < n:
        pk *= r * (n - k) / (k + 1)
        k += 1
        f += pk
    return n - k if flip else k


@nb.njit(
    nb.void(
        nt.Array(nb.uint32, 1, "C"),
        _U32,
        nt.Array(nb.uint32, 1, "C"),
        _U32,
        _U32,
        nt.Array(nb.float64, 2, "C"),
    ),
    cache=True,
    nogil=True,
)
def fill_uniform(key, stream, uids, week, j, out):
    """``out[i] = uniform2(key, stream, uids[i], week, j)`` (a vector of pairs, for tests)."""
    for i in range(uids.shape[0]):
        a, b = uniform2(key, stream, uids[i], week, j)
        out[i, 0] = a
        out[i, 1] = b
