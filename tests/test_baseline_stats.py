"""Baseline statistics: a change that moves the default run's outcomes must be deliberate.

If this fails after an intended change, refresh the file on purpose:
``python -m sim.analysis.baseline --refresh`` (and say why in the commit).
"""

from sim.analysis.baseline import OVERRIDES, current, differences, load


def test_default_run_matches_the_stored_baseline_statistics():
    """A fresh default run reproduces every stored outcome."""
    stored = load()
    assert stored["overrides"] == list(OVERRIDES)
    moved = differences(current(), stored["outcomes"])
    assert not moved, "outcomes moved (refresh deliberately if intended):\n" + "\n".join(moved)


def test_the_check_can_fail():
    """The comparison flags a moved outcome (the test above is not vacuous)."""
    stored = load()["outcomes"]
    name = next(iter(stored))
    moved = {**stored, name: stored[name] * 1.01 + 1e-3}
    assert differences(moved, stored)
