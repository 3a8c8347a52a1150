"""Processes 3 and 9: entries and exits, accounting."""

import numpy as np

from sim.config import CHANNELS
from tests.conftest import simulate


def test_customer_counts_are_conserved():
    """Customers in the market = initial + entries - exits, week by week."""
    m = simulate("market.environment.entry_rate=0.01", "market.environment.exit_rate=0.005")
    df = m.datacollector.get_model_vars_dataframe()
    start = int(df["customers"].iloc[0] - df["entries"].iloc[0] + df["exits"].iloc[0])  # week 0
    expected = start + (df["entries"] - df["exits"]).cumsum()
    assert (df["customers"].to_numpy() == expected.to_numpy()).all()
    assert df["entries"].sum() > 0 and df["exits"].sum() > 0


def test_gen_z_inflow_raises_the_gen_z_share():
    """A big inflow of mostly Gen Z entrants raises the Gen Z share."""
    a = simulate("market.environment.entry_rate=0.0")
    b = simulate(
        "market.environment.entry_rate=0.02",
        "market.environment.exit_rate=0.02",
        "market.environment.entry_genz_share=0.9",
        "market.environment.entry_senior_share=0.02",
    )

    def genz(m):
        return (m.pop.cohort[m.pop.alive] == 0).mean()

    assert genz(b) > genz(a)


def test_cost_to_serve_is_contacts_times_cost(base_model):
    """Cost to serve: contacts priced per channel, RM contacts and the branch network."""
    m = base_model
    cost = np.asarray(m.cfg.market.behaviour.cost_per_contact)
    t = m.tally
    assert len(cost) == len(CHANNELS)
    beh = m.cfg.market.behaviour
    network = m.params.lev0["branch_network"]
    expected = (
        t.contacts @ cost
        + t.rm_contacts * beh.cost_rm_contact
        + beh.branch_fixed_cost * network * m.pop.has.sum(axis=0)
    )
    assert np.allclose(t.cost_to_serve, expected)


def test_outcomes_are_finite_and_probabilities_bounded(base_model):
    """Every outcome is a finite number; shares lie in [0, 1]."""
    from sim.outcomes import OUTCOMES

    for o in OUTCOMES:
        v = base_model.outcomes[o.name]
        assert np.isfinite(v), o.name
        if o.unit == "share":
            assert 0.0 <= v <= 1.0, (o.name, v)
