"""The shipped default market reproduces every stylized fact at every horizon after spin-up.

See docs/calibration.md. The facts are averaged over fresh seeds; every horizon of a
seed branches from the same spun-up state. The initial population's guesses
(starting accounts, starting app adoption) no longer matter after spin-up.
"""

import numpy as np
import pytest

from sim.analysis.calibrate import (
    HORIZONS,
    facts_at_horizons,
    fit_table_by_horizon,
    load_targets,
    simulate_facts,
)

SEEDS = (100, 101, 102)
SIZE = 10000


@pytest.fixture(scope="module")
def fit():
    """The default market's facts over fresh seeds at 26, 52, 104 and 156 weeks."""
    return fit_table_by_horizon(facts_at_horizons({}, SEEDS, SIZE, HORIZONS))


def test_every_target_fact_is_computed_at_every_horizon(fit):
    """Every `kind: target` fact of the targets file has a value at each horizon."""
    for h in HORIZONS:
        assert set(fit[fit.horizon == h]["fact"]) == set(load_targets())


@pytest.mark.parametrize("fact", sorted(load_targets()))
def test_fact_inside_its_band_at_every_horizon(fit, fact):
    """The seed-averaged value of each fact lies inside its band at 26, 52, 104, 156 weeks."""
    rows = fit[fit.fact == fact].set_index("horizon")
    outside = rows[(rows.simulated_mean < rows.band_low) | (rows.simulated_mean > rows.band_high)]
    assert outside.empty, outside[["simulated_mean", "band_low", "band_high"]].to_dict("index")


def test_initial_guesses_do_not_matter_after_spinup():
    """Changing the initial population's guesses leaves every fact unchanged within noise."""
    seeds = (110, 111, 112)
    kw = {"size": 4000, "weeks": 52}
    a = simulate_facts(
        {"market.customers.accounts_mean": 1.3, "market.customers.initial_adoption": 0.2},
        seeds,
        **kw,
    )
    b = simulate_facts(
        {"market.customers.accounts_mean": 3.5, "market.customers.initial_adoption": 0.95},
        seeds,
        **kw,
    )
    targets = load_targets()
    moved = []
    for fact, t in targets.items():
        half = (t["band"][1] - t["band"][0]) / 2
        se = np.sqrt((a[fact].var(ddof=1) + b[fact].var(ddof=1)) / len(seeds))
        diff = b[fact].mean() - a[fact].mean()
        if abs(diff) > max(3 * se, 0.15 * half):
            moved.append(f"{fact}: {a[fact].mean():.4g} vs {b[fact].mean():.4g} (se {se:.2g})")
    assert not moved, "facts that still depend on the initial guesses:\n" + "\n".join(moved)


def test_without_spinup_the_initial_guesses_show():
    """The check above can fail: without spin-up the same guesses move multi-banking."""
    kw = {"size": 3000, "weeks": 13, "extra": ("spinup.weeks=0",)}
    a = simulate_facts({"market.customers.accounts_mean": 1.3}, (113,), **kw)
    b = simulate_facts({"market.customers.accounts_mean": 3.5}, (113,), **kw)
    assert b["multi_bank_share"].iloc[0] - a["multi_bank_share"].iloc[0] > 0.1


def test_shipped_targets_match_the_shared_contract():
    """sim/data/targets.yaml is the contract in shared/calibration (when it is beside us)."""
    from sim.analysis.calibrate import TARGETS_FILE
    from sim.paths import ROOT

    shared = ROOT.parent / "shared" / "calibration" / "targets.yaml"
    if not shared.exists():
        pytest.skip("shared/ is not beside this checkout")
    assert TARGETS_FILE.read_text() == shared.read_text()
