"""Process 8: switching, primary bank, dormancy."""

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
    """A stronger exit cost per product lowers full switching."""
    lo = simulate("market.behaviour.beta_close_products=0.0")
    hi = simulate("market.behaviour.beta_close_products=2.0")
    assert hi.outcomes["full_switch_6m"] < lo.outcomes["full_switch_6m"]


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
