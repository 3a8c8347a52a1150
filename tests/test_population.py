"""Population and social network."""

import numpy as np

from sim.compose import compose_config
from sim.run import build
from tests.conftest import check_invariants


def test_initial_population_invariants():
    """The drawn population: every customer holds its primary bank, traits are in range."""
    model = build(compose_config(["population.size=5000", "spinup.weeks=0"]))
    check_invariants(model)
    pop = model.pop
    assert pop.alive.sum() == 5000
    assert pop.has[pop.alive].sum(axis=1).mean() > 1.5


def test_human_preference_matches_input_fact():
    """About 62% of customers want a real person, more among seniors."""
    model = build(compose_config(["population.size=20000", "spinup.weeks=0"]))
    pop = model.pop
    a = pop.alive
    share = pop.wants_human[a].mean()
    assert abs(share - 0.62) < 0.02
    assert pop.wants_human[a & (pop.cohort == 3)].mean() > share + 0.1


def test_network_is_symmetric_and_homophilous():
    """Ties are undirected, without self-loops, and mostly within a cohort."""
    model = build(compose_config(["population.size=4000"]))  # after spin-up
    adj = model.adjacency
    assert (adj != adj.T).nnz == 0
    assert adj.diagonal().sum() == 0
    rows, cols = adj.nonzero()
    same = (model.pop.cohort[rows] == model.pop.cohort[cols]).mean()
    assert same > 0.7
    assert 5 < model.degree.mean() < 12


def test_invariants_hold_through_a_run(base_model):
    """After a run no customer lacks a primary bank it holds; all scores stay in [0, 1]."""
    check_invariants(base_model)


def test_state_is_compact():
    """State stays a few hundred bytes per customer row."""
    model = build(compose_config(["population.size=10000", "spinup.weeks=0"]))
    per_row = model.pop.nbytes() / model.pop.capacity
    assert per_row < 300, per_row
    assert np.isfinite(per_row)
