"""Calibration with uncertainty: ABC-SMC on a toy with a known answer, designs, posterior files."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.analysis import posterior as P  # noqa: N812
from sim.analysis.calibrate import FITTED
from sim.analysis.posterior.cli import main
from sim.analysis.posterior.outputs import ess_warning, finish
from sim.analysis.posterior.smc import (
    accepted_facts,
    generations_table,
    pooled_ess,
    posterior_frame,
    run_abc,
)
from sim.analysis.posterior.stats import credible_intervals
from sim.errors import ConfigError

#: The toy's two parameters sit at real config keys (so the posterior predictive runs
#: through the evaluator's composed configs); its facts are a noisy known function of them:
#: f1 = a + noise, f2 = a + b + noise, with the true a = 0.5, b = 0.3.
A, B = "market.behaviour.offer_relevance_base", "market.behaviour.offer_relevance_gain"
TRUE = {A: 0.5, B: 0.3}
TOY_TARGETS = {
    "f1": {"value": 0.5, "band": [0.45, 0.55]},
    "f2": {"value": 0.8, "band": [0.72, 0.88]},
}
TOY_PRIORS = [P.Prior(A, "uniform", 0.0, 1.0), P.Prior(B, "loguniform", 0.05, 1.0)]
TOY_BASE = {"seed": 0, "market": {"behaviour": {A.split(".")[-1]: 0.0, B.split(".")[-1]: 0.0}}}


def toy_simulate(cfg: dict) -> dict[str, float]:
    """A cheap fake market: its facts are a noisy known function of two parameters."""
    rng = np.random.default_rng(cfg["seed"])
    beh = cfg["market"]["behaviour"]
    a, b = beh["offer_relevance_base"], beh["offer_relevance_gain"]
    return {"f1": a + rng.normal(0, 0.01), "f2": a + b + rng.normal(0, 0.02), "other": 1.0}


@pytest.fixture(autouse=True)
def _results(tmp_path, monkeypatch):
    """Every output goes under a temporary results folder."""
    monkeypatch.setenv("BANKLAB_RESULTS", str(tmp_path / "results"))
    (tmp_path / "results").mkdir()


def _toy_run(folder, jobs: int = 1, seed: int = 3, particles: int = 100):
    folder.mkdir(parents=True, exist_ok=True)
    return run_abc(
        folder,
        TOY_PRIORS,
        P.bands(TOY_TARGETS),
        TOY_BASE,
        particles=particles,
        generations=10,
        seed=seed,
        jobs=jobs,
        progress=False,
        simulate=toy_simulate,
    )


@pytest.fixture(scope="module")
def toy_history(tmp_path_factory):
    """One single-core toy ABC-SMC run (100 particles, until every fact is inside its band)."""
    folder = tmp_path_factory.mktemp("toy")
    return folder, _toy_run(folder)


def test_band_scores_are_zero_at_target_and_one_at_the_band_ends():
    """Observation model: z = 0 at the target, -1/+1 at the band's ends, per side's width."""
    (b,) = P.bands({"x": {"value": 0.18, "band": [0.10, 0.20]}})
    assert P.band_score(0.18, b) == 0
    assert P.band_score(0.10, b) == pytest.approx(-1)
    assert P.band_score(0.20, b) == pytest.approx(1)
    assert P.band_score(0.22, b) == pytest.approx(2)  # above: the short side's width
    assert P.band_score(0.06, b) == pytest.approx(-1.5)  # below: the long side's width
    obs = P.bands(TOY_TARGETS)
    assert P.band_distance({"f1": 0.54, "f2": 0.73}, obs) <= 1  # both inside
    assert P.band_distance({"f1": 0.56, "f2": 0.8}, obs) > 1  # one outside
    assert P.band_distance({"f1": math.nan, "f2": 0.8}, obs) == math.inf
    with pytest.raises(ConfigError, match="low < value < high"):
        P.bands({"x": {"value": 0.3, "band": [0.1, 0.2]}}, "t.yaml")


def test_toy_abc_recovers_the_known_parameters(toy_history):
    """ABC-SMC ends at epsilon 1 and each true parameter lies inside its 90% credible interval."""
    _, history = toy_history
    gens = generations_table(history)
    assert gens["epsilon"].iloc[-1] == pytest.approx(1.0)
    assert (gens["epsilon"].diff().dropna() <= 0).all()  # thresholds never rise
    post = posterior_frame(history, TOY_PRIORS)
    assert post["weight"].sum() == pytest.approx(1.0)
    ci = credible_intervals(post, TOY_PRIORS).set_index("parameter")
    for p in TOY_PRIORS:
        lo, hi = ci.loc[p.key, "q5"], ci.loc[p.key, "q95"]
        assert lo <= TRUE[p.key] <= hi, (p.key, lo, hi)
        assert ci.loc[p.key, "sd_over_prior_sd"] < 0.5  # the facts, not the prior, bound it
    # a narrow interval around a: f1's band is +-0.05 around a
    assert ci.loc[A, "q95"] - ci.loc[A, "q5"] < 0.15
    # every accepted particle's own run has every fact inside its band
    own = accepted_facts(history)
    obs = P.bands(TOY_TARGETS)
    assert all(P.band_distance(r, obs) <= 1 for r in own.to_dict("records"))


def test_toy_abc_is_reproducible_on_one_core_and_runs_on_two(tmp_path):
    """--jobs 1 repeats exactly with the same seed; --jobs 2 (forked workers) also reaches eps 1."""
    a = posterior_frame(_toy_run(tmp_path / "a", particles=40), TOY_PRIORS)
    b = posterior_frame(_toy_run(tmp_path / "b", particles=40), TOY_PRIORS)
    pd.testing.assert_frame_equal(a, b)
    c = posterior_frame(_toy_run(tmp_path / "c", particles=40, seed=4), TOY_PRIORS)
    assert not np.allclose(a[A].to_numpy(), c[A].to_numpy())
    h = _toy_run(tmp_path / "d", jobs=2, particles=40)
    assert generations_table(h)["epsilon"].iloc[-1] == pytest.approx(1.0)


def test_resume_continues_the_stored_history(tmp_path):
    """A run cut at 2 generations continues from its history instead of starting again."""
    folder = tmp_path / "r"
    folder.mkdir()
    kw = {"particles": 30, "seed": 5, "jobs": 1, "progress": False, "simulate": toy_simulate}
    obs = P.bands(TOY_TARGETS)
    h = run_abc(folder, TOY_PRIORS, obs, TOY_BASE, generations=2, **kw)
    assert h.max_t == 1
    h = run_abc(folder, TOY_PRIORS, obs, TOY_BASE, generations=10, resume=True, **kw)
    gens = generations_table(h)
    assert list(gens["generation"]) == list(range(-1, h.max_t + 1))
    assert h.max_t > 1 and gens["epsilon"].iloc[-1] == pytest.approx(1.0)


def test_finish_writes_tables_plots_and_the_predictive(toy_history, tmp_path):
    """The outputs of a run: posterior file, intervals, plots, predictive table, summary last."""
    _, history = toy_history
    design = P.Design(priors=TOY_PRIORS, predictive_draws=12, seed=2)
    meta = {"market": "toy", "command": "test", "population": 0, "wall_minutes": 0.1}
    folder = tmp_path / "out"
    folder.mkdir()
    res = finish(folder, design, history, P.bands(TOY_TARGETS), [], meta, 1, False, toy_simulate)
    for name in (
        "posterior.csv",
        "posterior.json",
        "generations.csv",
        "intervals.csv",
        "correlation.csv",
        "predictive.csv",
        "predictive_fit.csv",
        "posterior_marginals.png",
        "posterior_pairs.png",
        "posterior_predictive.png",
        "summary.md",
    ):
        assert (folder / name).stat().st_size > 0, name
    fit = res["fit"].set_index("fact")
    assert fit["inside"].all()  # the toy's posterior predicts both facts inside their bands
    pred = pd.read_csv(folder / "predictive.csv")
    assert list(pred["seed"]) == [P.PREDICTIVE_SEED + i for i in range(12)]
    assert len(list((folder / "predictive" / "runs").glob("*.json"))) == 12
    summary = (folder / "summary.md").read_text()
    assert "90% central credible intervals" in summary
    m = res["meta"]
    assert m["ess"] == pytest.approx(1 / (res["posterior"]["weight"] ** 2).sum())
    assert f"Effective sample size: {m['ess']:.1f} of {len(res['posterior'])}" in summary
    assert ("Warning: the effective sample size" in summary) == bool(m["ess_low"])
    assert json.loads((folder / "posterior.json").read_text())["ess"] == m["ess"]


#: A 13-parameter toy shaped like the market's calibration: twelve facts, each moved mostly
#: by one parameter and a little by another, with noise; every parameter standardised to
#: [-2, 2] over its prior (the design's priors: two band-widths either side of the fit).
FACTS13 = [f"g{k}" for k in range(12)]
_A13 = np.eye(12, 13)
_A13[np.arange(12), (np.arange(12) * 5 + 3) % 13] += 0.4
_NOISE13 = np.full(12, 0.25)


def toy13_simulate(cfg: dict) -> dict[str, float]:
    """Facts ``A @ theta + noise`` in band units (the band is [-1, 1] around 0)."""
    th = []
    for p in P.load_design().priors:
        sec, name = p.key.split(".")[1:]
        v = cfg["market"][sec][name]
        if p.dist == "loguniform":
            th.append(4 * math.log(v / p.low) / math.log(p.high / p.low) - 2)
        else:
            th.append(4 * (v - p.low) / (p.high - p.low) - 2)
    z = _A13 @ np.array(th) + _NOISE13 * np.random.default_rng(cfg["seed"]).standard_normal(12)
    return dict(zip(FACTS13, map(float, z), strict=True))


def _toy13_run(folder, kernel: str, uniform: float):
    priors = P.load_design().priors
    base = {"seed": 0, "market": {"behaviour": {}, "customers": {}}}
    for p in priors:
        base["market"][p.key.split(".")[1]][p.name] = p.low
    folder.mkdir()
    obs = P.bands({f: {"value": 0.0, "band": [-1.0, 1.0]} for f in FACTS13})
    h = run_abc(
        folder,
        priors,
        obs,
        base,
        particles=20,
        generations=3,
        seed=2,
        jobs=1,
        progress=False,
        simulate=toy13_simulate,
        kernel=kernel,
        kernel_uniform=uniform,
    )
    return generations_table(h).set_index("generation")["ess"]


def test_uniform_kernel_keeps_the_weights_even_where_pyabcs_kde_collapses(tmp_path):
    """13 parameters: pyabc's normal KDE loses most of its ESS, the uniform box kernel does not.

    The KDE's density at a new particle is its parent's normal kernel, which in 13
    dimensions varies over orders of magnitude with the draw's distance from the parent,
    and so do the importance weights ``prior / proposal``. The box kernel is flat.
    """
    kde = _toy13_run(tmp_path / "kde", "kde", 0.0)
    box = _toy13_run(tmp_path / "box", "uniform", 0.5)
    assert kde.loc[0] == box.loc[0] == pytest.approx(20)  # from the prior: equal weights
    assert (box.loc[1:] >= 0.6 * 20).all(), box.to_dict()  # measured: 16.9, 18.6
    assert (kde.loc[1:] < 0.45 * 20).all(), kde.to_dict()  # measured: 1.4, 3.4


def test_generations_at_the_final_threshold_are_pooled_until_the_ess_target(tmp_path):
    """After epsilon 1, generations at 1 run until their pooled ESS reaches the target."""
    folder = tmp_path / "pool"
    folder.mkdir()
    obs = P.bands(TOY_TARGETS)
    h = run_abc(
        folder,
        TOY_PRIORS,
        obs,
        TOY_BASE,
        particles=30,
        generations=12,
        seed=3,
        jobs=1,
        progress=False,
        simulate=toy_simulate,
        ess_target=70,
    )
    gens = generations_table(h).set_index("generation")
    floor = gens[gens["epsilon"] <= 1.0]
    assert len(floor) >= 3 and h.max_t < 11  # stopped by the target, not the cap
    assert pooled_ess(h, 1.0) >= 70
    # the target was not reached one generation earlier
    assert floor["ess"].iloc[:-1].sum() < 70
    # pooling with shares proportional to each generation's ESS: the ESSs add up
    assert pooled_ess(h, 1.0) == pytest.approx(floor["ess"].sum(), rel=1e-6)
    post = posterior_frame(h, TOY_PRIORS, 1.0)
    assert len(post) == 30 * len(floor) and post["weight"].sum() == pytest.approx(1.0)
    own = accepted_facts(h, 1.0)
    assert len(own) == len(post)
    assert all(P.band_distance(r, obs) <= 1 for r in own.to_dict("records"))
    # the last generation alone, as before pooling
    assert len(posterior_frame(h, TOY_PRIORS)) == 30


def test_a_warm_start_shapes_the_proposal_not_the_posterior(tmp_path):
    """Started from given parameter sets: stored as generation 0 (no runs, never in the sample)."""
    folder = tmp_path / "warm"
    folder.mkdir()
    rng = np.random.default_rng(0)
    start = pd.DataFrame(
        {"weight": 1.0, A: rng.uniform(0.4, 0.6, 20), B: rng.uniform(0.15, 0.45, 20)}
    )
    obs = P.bands(TOY_TARGETS)
    h = run_abc(
        folder,
        TOY_PRIORS,
        obs,
        TOY_BASE,
        particles=40,
        generations=3,
        seed=3,
        jobs=1,
        progress=False,
        simulate=toy_simulate,
        start=start,
    )
    gens = generations_table(h).set_index("generation")
    assert -1 not in gens.index  # no prior sample: the start sets the first threshold
    assert gens.loc[0, "epsilon"] == math.inf and gens.loc[0, "simulations"] == 0
    assert gens.loc[1, "epsilon"] == pytest.approx(1.0)  # the start is at the floor already
    post = posterior_frame(h, TOY_PRIORS, 1.0)
    assert len(post) == 40 * int((gens["epsilon"] <= 1).sum())
    assert not post[A].isin(start[A]).any()  # the start's own values are not in the sample
    ci = credible_intervals(post, TOY_PRIORS).set_index("parameter")
    for p in TOY_PRIORS:
        assert ci.loc[p.key, "q5"] <= TRUE[p.key] <= ci.loc[p.key, "q95"], p.key


def test_low_ess_is_named():
    """The warning names the threshold the ESS fell below: a share of the particles, or 30."""
    assert ess_warning(35.0, 40, 0.2) == ""
    assert ess_warning(1.6, 50, 0.2) == "20% of the 50 particles and 30"
    assert ess_warning(35.0, 200, 0.2) == "20% of the 200 particles"
    assert ess_warning(25.0, 40, 0.2) == "30"


def test_posterior_file_round_trips(tmp_path):
    """Written, read back: weights sum to 1, values in their priors' support, draws seeded."""
    rng = np.random.default_rng(0)
    post = pd.DataFrame(
        {
            "weight": rng.uniform(1, 2, 30),
            A: rng.uniform(0.4, 0.6, 30),
            B: rng.uniform(0.2, 0.4, 30),
        }
    )
    meta = {
        "market": "toy",
        "command": "python -m sim.analysis.posterior --test",
        "final_epsilon": 1.0,
        "acceptance_rate": 0.1,
        "wall_minutes": 1.0,
        "priors": {p.key: p.to_dict() for p in TOY_PRIORS},
    }
    P.write_posterior(post, tmp_path / "toy.csv", meta)
    text = (tmp_path / "toy.csv").read_text()
    assert text.startswith("# Posterior") and "Command: python -m sim.analysis.posterior" in text
    back = P.load("toy", tmp_path)
    assert back["weight"].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(back["weight"], post["weight"] / post["weight"].sum(), rtol=1e-9)
    np.testing.assert_allclose(back[A], post[A], rtol=1e-9)
    for p in TOY_PRIORS:
        assert back[p.key].map(p.contains).all()
    d1, d2 = P.draws("toy", 8, seed=3, directory=tmp_path), P.draws("toy", 8, 3, tmp_path)
    assert d1 == d2 and len(d1) == 8 and set(d1[0]) == {A, B}
    assert P.draws("toy", 8, 4, tmp_path) != d1
    rows = {tuple(r) for r in back[[A, B]].to_numpy().round(9)}
    assert all((round(d[A], 9), round(d[B], 9)) in rows for d in d1)
    # a value outside its prior's support, or a negative weight, is refused
    bad = post.copy()
    bad.loc[3, B] = 2.0
    P.write_posterior(bad, tmp_path / "bad.csv", meta)
    with pytest.raises(ConfigError, match=re.escape(B) + r" = 2.0 .*support \[0.05, 1\]"):
        P.load("bad", tmp_path)
    neg = post.copy()
    neg.loc[0, "weight"] = -1
    P.write_posterior(neg, tmp_path / "neg.csv", meta)
    with pytest.raises(ConfigError, match=r"neg\.csv: weight = .* allowed: finite, non-negative"):
        P.load("neg", tmp_path)
    with pytest.raises(ConfigError, match="no shipped posterior; allowed: bad, neg, toy"):
        P.load("missing", tmp_path)
    # a table edited after it was written, or a CSV without its sidecar, is refused
    other = tmp_path / "other"
    other.mkdir()
    lines = text.splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if line.startswith("5,"))
    cells = lines[row].split(",")
    cells[2] = "0.5"
    lines[row] = ",".join(cells)
    (other / "edited.csv").write_text("".join(lines))
    (other / "edited.json").write_text((tmp_path / "toy.json").read_text())
    with pytest.raises(ConfigError, match=r"edited\.csv: the table does not match the sha256"):
        P.read_posterior(other / "edited.csv")
    (other / "alone.csv").write_text(text)
    with pytest.raises(ConfigError, match=r"alone\.csv: its sidecar alone\.json is missing"):
        P.read_posterior(other / "alone.csv")


def test_shipped_design_has_one_prior_per_calibrated_parameter():
    """configs/design/posterior.yaml: a prior for each FITTED key, inside the config's ranges."""
    design = P.load_design()
    assert {p.key for p in design.priors} == {f.key for f in FITTED}
    assert all(p.note for p in design.priors)
    assert design.min_epsilon == 1.0


def test_shipped_posterior_loads():
    """The default market's shipped posterior: weights sum to 1, every value in its prior."""
    if not (P.SHIPPED_DIR / "default.csv").is_file():
        pytest.skip("no shipped posterior yet")
    post = P.load("default")
    assert post["weight"].sum() == pytest.approx(1.0)
    meta = json.loads((P.SHIPPED_DIR / "default.json").read_text())
    assert set(meta["priors"]) == {f.key for f in FITTED} == set(post.columns) - {"weight"}
    for key, spec in meta["priors"].items():
        assert post[key].between(spec["low"], spec["high"]).all(), key
    assert len(P.draws("default", 5, seed=0)) == 5


BAD_DESIGNS = [
    ({"particle": 10}, "particle is not a design key; allowed: priors, name"),
    ({"particles": 2}, "particles = 2 is not allowed; allowed: an integer from 5"),
    ({"weeks": 13}, "weeks = 13 is not allowed; allowed: weeks after spin-up, an integer from 26"),
    ({"population": 50.5}, "population = 50.5 is not allowed"),
    ({"quantile": 0}, "quantile = 0 is not allowed; allowed: a number with 0 < quantile <= 1"),
    ({"market": "mars"}, "market = 'mars' is not allowed; allowed: one of default"),
    ({"kernel": "gauss"}, "kernel = 'gauss' is not allowed; allowed: uniform | kde"),
    ({"kernel_uniform": 1.5}, "kernel_uniform = 1.5 is not allowed; allowed: a number from 0 to 1"),
    ({"kernel_scaling": 0}, "kernel_scaling = 0 is not allowed; allowed: a number above 0"),
    ({"priors": {}}, "priors = {} is not allowed"),
    (
        {"priors": {"market.behaviour.close_base": {"dist": "normal", "low": 0, "high": 1}}},
        "priors.market.behaviour.close_base.dist = 'normal' is not allowed; allowed: uniform",
    ),
    (
        {"priors": {"market.behaviour.close_base": {"low": 0.01, "high": 0.005}}},
        r"priors.market.behaviour.close_base = \[0.01, 0.005\] is not allowed; allowed: low < high",
    ),
    (
        {"priors": {"market.behaviour.close_base": {"low": 0.01, "high": 0.9}}},
        r"close_base = \[0.01, 0.9\] is not allowed; allowed: a range inside \[0.0, 0.5\]",
    ),
    (
        {"priors": {"market.behaviour.close_base": {"dist": "loguniform", "low": 0, "high": 0.1}}},
        "close_base.low = 0 is not allowed for loguniform",
    ),
    (
        {"priors": {"market.behaviour.no_such": {"low": 0, "high": 1}}},
        "priors.market.behaviour.no_such is not allowed: .*'no_such' is not a key of Behaviour",
    ),
    (
        {"priors": {"market.behaviour.close_base": {"low": "a", "high": 1}}},
        "close_base.low = 'a' is not allowed; allowed: a finite number",
    ),
]


@pytest.mark.parametrize(("change", "message"), BAD_DESIGNS)
def test_bad_design_is_refused_naming_file_key_value_and_allowed(tmp_path, change, message):
    """A wrong design value: a ConfigError naming the file, key, value and what is allowed."""
    data = yaml.safe_load(P.DEFAULT_DESIGN.read_text())
    data.update(change)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=message) as err:
        P.load_design(path)
    assert str(path) in str(err.value)


def test_bad_design_on_the_command_line_exits_2_and_writes_nothing(tmp_path, capsys):
    """The command refuses a bad design before making any folder."""
    data = yaml.safe_load(P.DEFAULT_DESIGN.read_text())
    data["generations"] = 0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SystemExit) as ex:
        main(["--design", str(path), "--no-progress"])
    assert ex.value.code == 2
    err = capsys.readouterr().err
    assert f"{path}: generations = 0 is not allowed; allowed: an integer from 1" in err
    assert not (tmp_path / "results" / "posterior").exists()


def test_the_real_market_runs_on_two_worker_processes(tmp_path):
    """--jobs 2 with the real model: the workers run the compiled passes (numba's OpenMP
    pool, which a forked worker cannot use: pyabc's forked workers were terminated)."""
    import dataclasses

    from sim.analysis.calibrate import load_targets
    from sim.analysis.posterior.simulator import market_base

    design = P.load_design()
    small = dataclasses.replace(design, population=200, spinup_weeks=26, weeks=26)
    observed = P.bands(load_targets())
    h = run_abc(
        tmp_path, design.priors, observed, market_base(small),
        particles=5, generations=1, seed=4, jobs=2, progress=False,
    )  # fmt: skip
    facts = accepted_facts(h)
    assert len(facts) == 5 and np.isfinite(facts[[b.fact for b in observed]].to_numpy()).all()
