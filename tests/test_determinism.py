"""Seeds: same seed, same result; common random numbers across strategies."""

import numpy as np

from sim.compose import compose_config
from sim.run import build, run
from tests.conftest import simulate


def test_same_seed_gives_identical_results():
    """Two runs of one config and seed agree exactly, series and outcomes."""
    cfg = compose_config(["population.size=2000", "weeks=20", "seed=5"])
    a, b = run(cfg), run(cfg)
    assert a.summary == b.summary
    assert a.market.to_csv() == b.market.to_csv()
    assert a.banks.to_csv() == b.banks.to_csv()


def test_different_seeds_differ():
    """A different seed gives a different market."""
    a = simulate("seed=1", weeks=10, size=2000)
    b = simulate("seed=2", weeks=10, size=2000)
    assert a.outcomes != b.outcomes


def test_strategies_share_the_initial_population():
    """Two strategies with the same seed start from the same customers and network."""
    a = build(compose_config(["population.size=3000", "seed=3"]))
    b = build(
        compose_config(
            [
                "population.size=3000",
                "seed=3",
                "strategy.app_quality=0.9",
                "strategy.signup_bonus=500",
            ]
        )
    )
    for name in ("has", "primary", "digital", "sat", "distance", "cohort", "habit"):
        assert np.array_equal(getattr(a.pop, name), getattr(b.pop, name)), name
    assert (a.adjacency != b.adjacency).nnz == 0


def test_common_random_numbers_keep_needs_identical():
    """A lever that changes offers does not change the customers' financial needs."""
    a = simulate("seed=4", weeks=12, size=2000)
    b = simulate("seed=4", "strategy.cross_sell=0.5", weeks=12, size=2000)
    ma = a.datacollector.get_model_vars_dataframe()
    mb = b.datacollector.get_model_vars_dataframe()
    assert (ma["needs"].to_numpy() == mb["needs"].to_numpy()).all()
    assert (ma["entries"].to_numpy() == mb["entries"].to_numpy()).all()


def _summary_in_worker(overrides):
    from sim.compose import compose_config
    from sim.run import run

    r = run(compose_config(overrides))
    return r.summary, r.market.to_csv(), r.banks.to_csv()


def test_worker_process_gives_the_same_run():
    """A joblib worker process reproduces the main process's run exactly."""
    from joblib import Parallel, delayed

    ov = ["population.size=1500", "weeks=12", "seed=9", "strategy=rewards"]
    here = _summary_in_worker(ov)
    (there,) = Parallel(n_jobs=2, backend="loky")(delayed(_summary_in_worker)(ov) for _ in [0])
    assert here == there


def test_rerun_from_a_run_folder_reproduces_it(tmp_path):
    """The run folder's config.yaml re-runs to identical outputs."""
    from sim.run import load_config, write_run

    first = run(
        compose_config(
            [
                "population.size=1200",
                "weeks=10",
                "seed=2",
                "scenario=none",
                "strategy.app_quality=0.7",
            ]
        )
    )
    write_run(first, tmp_path / "a", plots=False)
    again = run(load_config(tmp_path / "a"))
    write_run(again, tmp_path / "b", plots=False)
    for name in ("summary.json", "series_market.csv", "series_banks.csv", "config.yaml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
