"""Process 8: switching, primary bank, dormancy."""

import numpy as np

from tests.conftest import check_invariants, simulate

NO_SWITCHING = (
    "market.behaviour.close_base=0",
    "market.behaviour.open_base=0",
    "market.behaviour.touch_conversion=0",
    "market.behaviour.scene_conversion=0",
    "market.behaviour.referral_rate=0",
    "market.behaviour.beta_wom=0",
)


def test_no_switching_when_propensities_are_zero():
    """With every switching propensity at zero no account opens or closes (entrants aside)."""
    m = simulate(*NO_SWITCHING, "market.environment.entry_rate=0")
    hist = m.trackers.history
    assert sum(int(h["closes"].sum()) for h in hist) == 0
    assert sum(int(h["opens"].sum()) for h in hist) == 0
    check_invariants(m)


def test_more_products_lower_full_switching():
    """Accounts holding more products close less often (the exit cost per product)."""
    m = simulate(weeks=8)
    pop = m.pop
    closed, held = np.zeros(3), np.zeros(3)
    for _ in range(12):
        before = pop.has.copy()
        prods = pop.products.copy()
        alive = pop.alive.copy()
        m.step()
        stay = alive & pop.alive
        group = np.minimum(prods, 3) - 1  # 1, 2, 3 or more products
        for g in range(3):
            at_risk = before & stay[:, None] & (group == g)
            held[g] += at_risk.sum()
            closed[g] += (at_risk & ~pop.has).sum()
    rate = closed / held
    assert rate[0] > rate[1] > rate[2], rate


def test_dissatisfaction_raises_closing():
    """Customers more sensitive to dissatisfaction close more accounts."""
    lo = simulate("market.behaviour.beta_close_satisfaction=0.0")
    hi = simulate("market.behaviour.beta_close_satisfaction=8.0")
    assert hi.outcomes["full_switch_6m"] > lo.outcomes["full_switch_6m"]


def test_signup_bonus_brings_accounts():
    """A big sign-up bonus raises the focal bank's account openings."""
    lo = simulate("strategy.signup_bonus=0")
    hi = simulate("strategy.signup_bonus=800")
    assert hi.outcomes["acquisitions_per_1000"] > lo.outcomes["acquisitions_per_1000"]


def test_dormancy_follows_inactivity():
    """Accounts fall dormant faster when the dormancy threshold is shorter."""
    a = simulate("market.behaviour.dormancy_weeks=4")
    b = simulate("market.behaviour.dormancy_weeks=52")
    assert a.outcomes["dormancy_rate"] > b.outcomes["dormancy_rate"]
