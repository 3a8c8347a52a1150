"""Shared helpers: small, fast simulations built through the real config path."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
from hypothesis import settings

# Under pytest-xdist every core already runs a test worker: a worker's compiled passes use
# one thread (as in a multi-worker experiment), so the workers' numba threads do not
# outnumber the cores and wait on each other. Tests that compare thread counts set them.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

# Spun-up states of the test session live in one temporary cache shared by every test
# (and by the worker processes tests start), never in the checkout's results/.
os.environ.setdefault("BANKLAB_CACHE", tempfile.mkdtemp(prefix="banklab-spinup-"))

from sim.compose import compose_config
from sim.measure import compute_outcomes
from sim.run import build

# Property tests draw the same examples on every run ("repeatable", the default), so CI
# is a fixed test; HYPOTHESIS_PROFILE=explore draws fresh random examples, five times
# as many, to search for new failures (add any it finds as an @example).
settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
EXPLORE = os.environ.get("HYPOTHESIS_PROFILE") == "explore"


def simulate(*overrides: str, size: int = 3000, weeks: int = 30, seed: int = 1):
    """Build and run a small market; return the model (outcomes in ``model.outcomes``)."""
    cfg = compose_config([f"population.size={size}", f"weeks={weeks}", f"seed={seed}", *overrides])
    model = build(cfg)
    model.run_model()
    model.outcomes = compute_outcomes(model)
    return model


def focal_total(model, key: str) -> float:
    """Sum over weeks of one of the focal bank's weekly KPIs."""
    df = model.datacollector.get_model_vars_dataframe()  # noqa: F841 - keeps API warm
    from sim.model import Bank

    banks = model.datacollector.get_agenttype_vars_dataframe(Bank)
    return float(banks[banks["focal"]][key].sum())


def check_invariants(model) -> None:
    """Invariants every state must satisfy."""
    pop = model.pop
    alive = pop.alive
    rows = np.flatnonzero(alive)
    assert pop.has[rows, pop.primary[rows]].all(), "a customer without its primary account"
    assert pop.has[alive].any(axis=1).all(), "a customer with no bank"
    assert not pop.has[~alive].any(), "a departed row holds accounts"
    for name in ("sat", "bond", "habit", "digital", "fatigue", "platform_habit"):
        a = getattr(pop, name)
        assert np.isfinite(a).all() and (a >= 0).all() and (a <= 1).all(), name
    assert (pop.products[pop.has] >= 1).all()
    assert (pop.products[~pop.has] == 0).all()


def check_tie_passes(model) -> None:
    """The packed network passes give the sparse matrix-vector products they replace."""
    from sim.processes import adoption, response

    pop, adj = model.pop, model.adjacency.astype(np.float64)
    alive = pop.alive.astype(float)
    ties = adj @ alive
    x = pop.adopted & pop.alive
    want = np.where(ties > 0, (adj @ x.astype(float)) / np.maximum(ties, 1.0), 0.0)
    assert 0 < x.sum() < pop.alive.sum()
    assert np.allclose(adoption.tie_share(model, pop.adopted), want, atol=1e-6)
    N, B = pop.has.shape
    signal = np.empty((N, 2), np.float32)
    response._tie_signals(pop.alive, pop.has, pop.sat, pop.primary, signal)
    wom, ref = np.empty((N, B), np.float32), np.empty((N, B), np.float32)
    response._tie_sums(
        adj.indptr.astype(np.int64), adj.indices.astype(np.int32), signal, model.degree,
        np.ones(B), wom, ref,
    )  # fmt: skip
    deg = np.maximum(model.degree, 1.0)[:, None]
    holders = (pop.has & (pop.sat > 0.5) & pop.alive[:, None]).astype(float)
    at_primary = np.zeros((N, B))
    at_primary[np.arange(N), pop.primary] = pop.sat[np.arange(N), pop.primary] * pop.alive
    assert np.allclose(ref, (adj @ holders) / deg, atol=1e-5)
    assert np.allclose(wom, (adj @ at_primary) / deg, atol=1e-5)


@pytest.fixture(scope="session")
def base_model():
    """The baseline market, small, run once for the session."""
    return simulate()
