"""Spin-up: runs start from the market at rest, cached safely, shared by every strategy."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from sim import spinup
from sim.compose import compose_config
from sim.population import NEVER, Population
from sim.run import build, run
from sim.validate import validate

BASE = ("population.size=1500", "spinup.weeks=40", "weeks=24", "output.plots=false")


def _cfg(*extra: str):
    return validate(compose_config([*BASE, *extra]))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private, empty cache folder for one test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("BANKLAB_CACHE", str(folder))
    return folder


def test_second_run_reads_the_cache_and_gives_the_same_result(cache):
    """The first run builds the spun-up state, the second loads it; outputs are identical."""
    a = run(_cfg("seed=3"))
    b = run(_cfg("seed=3"))
    assert a.timings["spinup"]["source"] == "built"
    assert b.timings["spinup"]["source"] == "cache"
    assert a.summary["spinup"] == b.summary["spinup"]
    assert a.summary["outcomes"] == b.summary["outcomes"]
    assert a.market.equals(b.market)
    assert len(list(cache.glob("*.npz"))) == 1


def test_run_without_the_cache_equals_the_cached_run(cache):
    """``spinup.cache=false`` neither reads nor writes, and changes nothing in the result."""
    a = run(_cfg("seed=4", "spinup.cache=false"))
    assert not list(cache.glob("*.npz"))
    b = run(_cfg("seed=4"))
    assert a.summary["outcomes"] == b.summary["outcomes"]


def test_every_strategy_and_scenario_branches_from_the_same_state(cache):
    """Strategies and scenarios of one seed share the spun-up state (one cache entry)."""
    cfgs = [
        _cfg("seed=5"),
        _cfg("seed=5", "strategy=rewards"),
        _cfg("seed=5", "scenario=platform_squeeze"),
    ]
    keys = {spinup.cache_key(c) for c in cfgs}
    assert len(keys) == 1
    models = [build(c) for c in cfgs]
    for f in dataclasses.fields(Population):
        ref = getattr(models[0].pop, f.name)
        for m in models[1:]:
            assert np.array_equal(getattr(m.pop, f.name), ref), f.name
    assert len(list(cache.glob("*.npz"))) == 1


def test_placebo_differs_from_the_baseline_by_exactly_zero(cache):
    """Common random numbers survive the spin-up: an identical strategy gives identical runs."""
    a = run(_cfg("seed=6"))
    b = run(_cfg("seed=6", "strategy=placebo"))
    assert a.summary["outcomes"] == b.summary["outcomes"]


def test_the_key_depends_on_market_population_seed_weeks_and_code(monkeypatch):
    """Each input of the state changes the cache key; the run's strategy does not."""
    base = spinup.cache_key(_cfg())
    for extra in (
        "seed=1",
        "population.size=1600",
        "spinup.weeks=44",
        "market.behaviour.open_base=0.008",
        "market.environment.need_rate=1.1",
        "spinup.strategy.rewards=0.5",
    ):
        assert spinup.cache_key(_cfg(extra)) != base, extra
    assert spinup.cache_key(_cfg("strategy=rewards", "scenario=platform_squeeze")) == base
    monkeypatch.setattr(spinup, "code_version", lambda: "another version")
    assert spinup.cache_key(_cfg()) != base


def test_week_stamps_end_before_week_zero(cache):
    """After the spin-up every event happened before week 0 (stamps <= -1) or never."""
    m = build(_cfg("seed=7"))
    assert m.spinup["source"] in ("built", "cache")
    for f in dataclasses.fields(Population):
        if f.name.startswith("ti_"):
            a = getattr(m.pop, f.name)
            assert ((a <= -1) | (a == NEVER)).all(), f.name
    # the spin-up ran: the market has moved away from the drawn population
    cold = build(_cfg("seed=7", "spinup.weeks=0"))
    assert not np.array_equal(m.pop.sat, cold.pop.sat)


def test_the_spinup_runs_the_baseline_not_the_strategy(cache):
    """The focal bank spins up under ``spinup.strategy`` (the baseline), whatever is tested."""
    c = _cfg("strategy=rewards")
    s = spinup.spinup_config(c)
    assert s.strategy.name == "baseline"
    assert s.strategy.rewards == pytest.approx(0.2)
    assert s.scenario.shocks == []


def _entry(cache):
    (path,) = cache.glob("*.npz")
    return path


def test_a_truncated_cache_entry_is_rebuilt_not_used(cache, capsys):
    """A corrupt file is detected, rebuilt with a warning, and the result is unchanged."""
    ref = run(_cfg("seed=8"))
    path = _entry(cache)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    again = run(_cfg("seed=8"))
    assert again.timings["spinup"]["source"] == "built"
    assert "corrupt or stale" in capsys.readouterr().err
    assert again.summary["outcomes"] == ref.summary["outcomes"]
    assert spinup.read(path, spinup.cache_key(_cfg("seed=8"))) is not None


def test_a_tampered_array_fails_the_digest(cache):
    """Changed numbers inside a well-formed file do not pass for the state."""
    c = _cfg("seed=9")
    run(c)
    path = _entry(cache)
    key = spinup.cache_key(c)
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    data["pop.sat"] = data["pop.sat"] + np.float32(0.01)
    np.savez(path, **data)
    assert spinup.read(path, key) is None
    assert run(c).timings["spinup"]["source"] == "built"


def test_an_entry_of_another_code_version_is_stale(cache):
    """A file written for another key (another code version) is never read as this state."""
    c = _cfg("seed=10")
    run(c)
    path = _entry(cache)
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    meta = json.loads(str(data.pop("meta")))
    meta["key"] = "0" * 64
    np.savez(path, meta=np.array(json.dumps(meta)), **data)
    assert spinup.read(path, spinup.cache_key(c)) is None


def test_cache_files_hold_plain_arrays_only(cache):
    """The cache is NumPy arrays loaded with allow_pickle=False: no object arrays."""
    run(_cfg("seed=11"))
    with np.load(_entry(cache), allow_pickle=False) as z:
        for name in z.files:
            assert z[name].dtype != object, name


def test_the_run_says_which_spinup_it_used(cache):
    """The summary names the spin-up (weeks, key, strategy); timings say how it was got."""
    r = run(_cfg("seed=12"))
    s = r.summary["spinup"]
    assert s["weeks"] == 40 and len(s["key"]) == 64 and s["strategy"] == "baseline"
    assert r.timings["spinup"]["file"].endswith(".npz")
    assert run(_cfg("seed=12", "spinup.weeks=0")).summary["spinup"] == {"weeks": 0}
