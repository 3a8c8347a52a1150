"""Compiled passes with counter-based draws: order-free, thread-count-free, stable ids."""

import dataclasses
from types import SimpleNamespace

import numba
import numpy as np
import pytest

from sim.population import Population
from sim.processes import adoption, choice, experience, needs, response, switching
from sim.week import Tally
from tests.conftest import check_tie_passes, simulate

#: Processes converted to compiled passes over customers keyed by stable ids.
COMPILED = {
    "adoption": adoption.run,
    "choice": choice.run,
    "needs": needs.run,
    "experience": experience.run,
    "response": response.run,
    "switching": switching.run,
}
#: Of those, the ones that read no other customer (response and adoption sum over ties).
OWN_ROW_ONLY = ("choice", "needs", "experience", "switching")


@pytest.fixture(scope="module")
def market():
    """A small market after a few weeks (the week's scratch of the last week kept)."""
    return simulate("spinup.weeks=26", weeks=6, size=3000, seed=11)


def _copy_pop(pop, order=None):
    take = (lambda a: a.copy()) if order is None else (lambda a: a[order].copy())
    return Population(**{f.name: take(getattr(pop, f.name)) for f in dataclasses.fields(pop)})


def _rows(wk, order, n):
    """The week's per-customer arrays (first axis: rows), copied, in ``order``."""
    out = {}
    for f in dataclasses.fields(wk):
        v = getattr(wk, f.name)
        if isinstance(v, np.ndarray) and v.shape[:1] == (n,):
            out[f.name] = np.ascontiguousarray(v[order])
    return out


def _apply(model, name, pop, order=None):
    """Run one process on ``pop`` (rows in ``order``), with the model's week otherwise."""
    n = model.pop.capacity
    order = np.arange(n) if order is None else order
    week = dataclasses.replace(model.week, **_rows(model.week, order, n))
    opened = []
    fake = SimpleNamespace(
        pop=pop,
        p=model.p,
        week=week,
        tally=Tally(pop.n_banks),
        t=model.t,
        streams=model.streams,
        adjacency=model.adjacency[order][:, order],
        degree=np.ascontiguousarray(model.degree[order]),
        record_openings=lambda r, b, inc: opened.append((pop.uid[r], b, inc)),
        in_window=model.in_window,
    )
    COMPILED[name](fake)
    return fake.tally, opened, week


@pytest.mark.parametrize("name", sorted(COMPILED))
def test_draws_follow_the_customer_not_its_row(market, name):
    """Shuffling the rows gives every customer the same outcome (draws keyed by stable id)."""
    order = np.random.default_rng(0).permutation(market.pop.capacity)
    a = _copy_pop(market.pop)
    b = _copy_pop(market.pop, order)
    before = _copy_pop(market.pop)
    ta, oa, wa = _apply(market, name, a)
    tb, ob, wb = _apply(market, name, b, order)
    changed = [
        f.name
        for f in dataclasses.fields(a)
        if not np.array_equal(getattr(a, f.name), getattr(before, f.name))
    ]
    assert changed or name == "needs", "the process changed nothing"
    for f in dataclasses.fields(Population):
        assert np.array_equal(getattr(a, f.name)[order], getattr(b, f.name)), f.name
    for f, v in _rows(wa, order, a.capacity).items():
        assert np.array_equal(v, getattr(wb, f)), f
    for f in dataclasses.fields(ta):
        assert np.array_equal(getattr(ta, f.name), getattr(tb, f.name)), f.name
    assert _openings(oa) == _openings(ob)


def _openings(calls):
    return sorted(
        (int(u), int(b), bool(i))
        for uid, banks, inc in calls
        for u, b, i in zip(uid, banks, inc, strict=True)
    )


@pytest.mark.parametrize("name", OWN_ROW_ONLY)
def test_a_smaller_population_leaves_a_customers_draws_alone(market, name):
    """Customers kept in a population of half the rows get the same outcome as before."""
    a = _copy_pop(market.pop)
    half = np.arange(market.pop.capacity // 2)
    b = _copy_pop(market.pop, half)
    _, _, wa = _apply(market, name, a)
    _, _, wb = _apply(market, name, b, half)
    for f in dataclasses.fields(Population):
        assert np.array_equal(getattr(a, f.name)[half], getattr(b, f.name)), f.name
    for f, v in _rows(wa, half, a.capacity).items():
        assert np.array_equal(v, getattr(wb, f)), f


def test_entrants_get_new_stable_ids(market):
    """Ids are unique among customers; entrants take ids beyond every earlier one."""
    pop = market.pop
    ids = pop.uid[pop.alive]
    assert np.unique(ids).size == ids.size
    entrants = pop.alive & (pop.ti_entry >= 0)
    assert entrants.any()
    assert pop.uid[entrants].min() >= market.initial_size


def test_results_identical_at_one_and_two_threads():
    """A short run gives byte-identical state and series at 1 and 2 numba threads."""
    kept = numba.get_num_threads()
    runs = []
    try:
        for n in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(n)
            runs.append(simulate("spinup.weeks=26", weeks=4, size=3000, seed=12))
    finally:
        numba.set_num_threads(kept)
    a, b = runs
    for f in dataclasses.fields(Population):
        assert np.array_equal(getattr(a.pop, f.name), getattr(b.pop, f.name)), f.name
    ma = a.datacollector.get_model_vars_dataframe()
    mb = b.datacollector.get_model_vars_dataframe()
    assert ma.equals(mb)
    assert np.array_equal(
        np.array(list(a.outcomes.values())), np.array(list(b.outcomes.values())), equal_nan=True
    )


def test_census_matches_the_array_formulas(market):
    """The weekly census pass gives the stocks the NumPy reductions give."""
    from sim.census import census

    pop, t = market.pop, market.t
    c = census(pop, t)
    has, alive = pop.has, pop.alive
    assert np.array_equal(c["customers"], has.sum(axis=0))
    assert np.array_equal(c["primary"], np.bincount(pop.primary[alive], minlength=pop.n_banks))
    assert np.array_equal(c["active_4w"], (has & (pop.ti_last >= t - 3)).sum(axis=0))
    assert np.array_equal(c["app_mau"], (has & (pop.ti_app >= t - 3)).sum(axis=0))
    assert np.array_equal(c["dormant"], (has & pop.dormant).sum(axis=0))
    assert np.array_equal(c["products"], np.where(has, pop.products, 0).sum(axis=0))
    assert np.allclose(c["sat_sum"], np.where(has, pop.sat, 0).astype(float).sum(axis=0))
    assert np.allclose(c["bond_sum"], np.where(has, pop.bond, 0).astype(float).sum(axis=0))
    multi = (((pop.ti_last >= t - 12) & alive[:, None]).sum(axis=1) >= 2).sum()
    assert c["alive"] == alive.sum() and c["multi_13w"] == multi
    assert c["adopted"] == pop.adopted[alive].sum() > 0
    assert np.isclose(c["digital_sum"], pop.digital[alive].astype(float).sum())
    assert 0 < c["multi_13w"] < c["alive"]


def test_tie_passes_match_the_network_products(market):
    """The packed network passes give the sparse matrix-vector products they replace."""
    check_tie_passes(market)
