"""The counter-based generator (sim.counter_rng): bit-exact Philox, uniform and independent."""

import numba as nb
import numpy as np
import pytest
from scipy import stats

from sim.counter_rng import (
    binomial,
    fill_uniform,
    normal2,
    philox4x32,
    philox_key,
    poisson,
    stream_word,
    uniform2,
)

# Random123's known-answer vectors for philox4x32_10: (counter, key, output).
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    (
        (0xFFFFFFFF,) * 4,
        (0xFFFFFFFF,) * 2,
        (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
    ),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


def philox_reference(ctr, key, width):
    """Philox4xW-10 in plain Python integers (W = 32 or 64), Salmon et al. (2011)."""
    mask = (1 << width) - 1
    if width == 32:
        m, w = (0xD2511F53, 0xCD9E8D57), (0x9E3779B9, 0xBB67AE85)
    else:
        m, w = (0xD2E7470EE14C6C93, 0xCA5A826395121157), (0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B)
    c, k = list(ctr), list(key)
    for _ in range(10):
        p0, p1 = m[0] * c[0], m[1] * c[2]
        c = [(p1 >> width) ^ c[1] ^ k[0], p1 & mask, (p0 >> width) ^ c[3] ^ k[1], p0 & mask]
        k = [(k[0] + w[0]) & mask, (k[1] + w[1]) & mask]
    return tuple(c)


def _kernel(ctr, key):
    u = nb.uint32
    return tuple(int(x) for x in philox4x32(*(u(c) for c in ctr), *(u(k) for k in key)))


@pytest.mark.parametrize(("ctr", "key", "out"), KAT)
def test_kernel_matches_random123_known_answers(ctr, key, out):
    """The compiled Philox4x32-10 gives Random123's published outputs."""
    assert _kernel(ctr, key) == out
    assert philox_reference(ctr, key, 32) == out


def test_kernel_matches_the_reference_on_random_counters():
    """Bit-exact with the plain-Python reference on 300 random keys and counters."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        ctr = tuple(int(x) for x in rng.integers(0, 2**32, 4))
        key = tuple(int(x) for x in rng.integers(0, 2**32, 2))
        assert _kernel(ctr, key) == philox_reference(ctr, key, 32)


def test_reference_matches_numpy_philox_4x64():
    """The reference's round structure is NumPy's (``np.random.Philox`` is Philox4x64-10).

    NumPy packs the key as ``k0 + 2**64 k1`` and the counter as ``sum c_i 2**(64 i)``,
    and increments the counter before each block: its first block is counter + 1.
    """
    rng = np.random.default_rng(1)
    for _ in range(20):
        key = [int(x) for x in rng.integers(0, 2**63, 2)]
        ctr = [int(x) for x in rng.integers(0, 2**63, 4)]
        bg = np.random.Philox(
            key=key[0] | key[1] << 64, counter=sum(c << (64 * i) for i, c in enumerate(ctr))
        )
        got = tuple(int(x) for x in bg.random_raw(4))
        assert got == philox_reference([ctr[0] + 1, *ctr[1:]], key, 64)


def test_uniforms_are_the_documented_words():
    """``uniform2`` turns the block's words (j, uid, week, stream) into 53-bit doubles."""
    key = philox_key(12345, 0)
    w = philox_reference((3, 77, 9, int(stream_word(8, 1))), tuple(int(k) for k in key), 32)
    a, b = uniform2(key, stream_word(8, 1), nb.uint32(77), nb.uint32(9), nb.uint32(3))
    assert a == ((w[1] << 32 | w[0]) >> 11) * 2.0**-53
    assert b == ((w[3] << 32 | w[2]) >> 11) * 2.0**-53


def _draws(uid0=0, n=100_000, week=5, j=0, stream=(8, 0), seed=42):
    out = np.empty((n, 2))
    uids = np.arange(uid0, uid0 + n, dtype=np.uint32)
    fill_uniform(philox_key(seed, 0), stream_word(*stream), uids, week, j, out)
    return out


def test_uniform_and_independent():
    """KS-uniform; no correlation between neighbouring customers, draws, weeks, streams."""
    base = _draws()
    n = base.shape[0]
    assert stats.kstest(base.ravel(), "uniform").pvalue > 1e-3
    assert base.min() >= 0.0 and base.max() < 1.0
    bound = 5.0 / np.sqrt(n)  # five standard errors of a correlation
    pairs = {
        "the pair's two numbers": (base[:, 0], base[:, 1]),
        "adjacent customers": (base[:-1, 0], base[1:, 0]),
        "adjacent draws": (base[:, 0], _draws(j=1)[:, 0]),
        "adjacent weeks": (base[:, 0], _draws(week=6)[:, 0]),
        "another purpose": (base[:, 0], _draws(stream=(8, 1))[:, 0]),
        "another seed": (base[:, 0], _draws(seed=43)[:, 0]),
    }
    for name, (x, y) in pairs.items():
        assert abs(np.corrcoef(x, y)[0, 1]) < bound, name
        assert not np.array_equal(x, y), name


def test_keys_separate_seeds_and_phases():
    """The key depends on the seed and the phase (spin-up draws never reuse a run's)."""
    keys = {tuple(philox_key(s, ph)) for s in (1, 2) for ph in (0, 1)}
    assert len(keys) == 4
    assert philox_key(1, 0).dtype == np.uint32
    with pytest.raises(ValueError, match="purpose"):
        stream_word(1, 1 << 16)


def test_normals_exponentials_by_transform():
    """Box-Muller pairs are standard normal and uncorrelated."""
    key, s = philox_key(7, 0), stream_word(6, 0)
    z = np.array([normal2(key, s, nb.uint32(i), nb.uint32(1), nb.uint32(0)) for i in range(20000)])
    assert stats.kstest(z.ravel(), "norm").pvalue > 1e-3
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 5 / np.sqrt(z.shape[0])


@pytest.mark.parametrize("lam", [0.05, 1.3, 8.0, 60.0])
def test_poisson_by_inversion(lam):
    """Poisson counts from uniforms follow the Poisson pmf (chi-square)."""
    u = _draws(n=40_000).ravel()
    k = np.array([poisson(lam, x) for x in u])
    _chi2_against(k, stats.poisson(lam).pmf)


@pytest.mark.parametrize(("n", "p"), [(1, 0.3), (6, 0.05), (12, 0.8), (40, 0.5)])
def test_binomial_by_inversion(n, p):
    """Binomial counts from uniforms follow the binomial pmf (chi-square)."""
    u = _draws(n=40_000, j=3).ravel()
    k = np.array([binomial(n, p, x) for x in u])
    assert k.min() >= 0 and k.max() <= n
    _chi2_against(k, stats.binom(n, p).pmf)


def _chi2_against(k, pmf):
    top = int(k.max()) + 1
    obs = np.bincount(k, minlength=top).astype(float)
    exp = pmf(np.arange(top)) * k.size
    exp[-1] += k.size - exp.sum()  # the tail beyond the largest draw
    keep = exp > 5
    o = np.append(obs[keep], obs[~keep].sum())
    e = np.append(exp[keep], exp[~keep].sum())
    if e[-1] < 5:  # merge a thin tail into the last kept cell
        o, e = np.append(o[:-2], o[-2:].sum()), np.append(e[:-2], e[-2:].sum())
    chi2 = ((o - e) ** 2 / e).sum()
    assert stats.chi2(len(o) - 1).sf(chi2) > 1e-4
