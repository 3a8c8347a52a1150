"""The shipped default market reproduces every stylized fact inside its band.

See docs/calibration.md. The facts are averaged over several seeds at the
default population and run length.
"""

import pytest

from sim.analysis.calibrate import fit_table, load_targets, simulate_facts

SEEDS = (100, 101, 102)


@pytest.fixture(scope="module")
def fit():
    """The default market's facts over several seeds."""
    return fit_table(simulate_facts({}, SEEDS, size=20000, weeks=104))


def test_every_target_fact_is_computed(fit):
    """Every `kind: target` fact of the targets file has a simulated value."""
    assert set(fit["fact"]) == set(load_targets())


@pytest.mark.parametrize("fact", sorted(load_targets()))
def test_fact_inside_its_band(fit, fact):
    """The seed-averaged value of each fact lies inside its band."""
    row = fit.set_index("fact").loc[fact]
    assert row.band_low <= row.simulated_mean <= row.band_high, row.to_dict()


def test_shipped_targets_match_the_shared_contract():
    """sim/data/targets.yaml is the contract in shared/calibration (when it is beside us)."""
    from sim.analysis.calibrate import TARGETS_FILE
    from sim.paths import ROOT

    shared = ROOT.parent / "shared" / "calibration" / "targets.yaml"
    if not shared.exists():
        pytest.skip("shared/ is not beside this checkout")
    assert TARGETS_FILE.read_text() == shared.read_text()
