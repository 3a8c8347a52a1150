"""Process 1: scenario shocks."""

import pytest

from sim.config import Shock
from sim.params import shock_weight
from tests.conftest import simulate


def test_pandemic_lowers_branch_traffic():
    """The pandemic scenario makes branches hard to reach: branch contacts fall."""
    base = simulate(weeks=50)
    pan = simulate("scenario=pandemic", weeks=50)
    assert pan.outcomes["contacts_branch"] < 0.8 * base.outcomes["contacts_branch"]


@pytest.mark.parametrize(
    ("shape", "week", "weight"),
    [
        ("step", 4, 0.0),
        ("step", 5, 1.0),
        ("step", 10, 1.0),
        ("step", 11, 0.0),
        ("ramp", 5, 0.0),
        ("ramp", 8, 0.6),
        ("ramp", 30, 1.0),
    ],
)
def test_shock_weights(shape, week, weight):
    """Steps act from start to end; ramps move linearly and then stay."""
    s = Shock(target="strategy.app_quality", value=1.0, start=5, end=10, shape=shape)
    assert shock_weight(s, week) == pytest.approx(weight)


def test_shock_moves_a_lever_within_its_range():
    """A shock on a lever is clipped to the lever's range."""
    m = simulate(weeks=2)
    from sim.params import Params

    sc = m.cfg.scenario
    sc.shocks = [Shock(target="strategy.app_quality", value=5.0, start=0, end=5)]
    p = Params(m.cfg.market, m.cfg.strategy, sc, m.bank_names)
    assert p.at(1).lev.app_quality[0] == 1.0
    assert p.at(1).lev.app_quality[1] == p.lev0["app_quality"][1]
