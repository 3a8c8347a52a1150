"""Research tools: sensitivity (Sobol', Morris), lever optimisation, robustness (regret)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from omegaconf import OmegaConf

from sim.analysis import optimize, robustness, sensitivity
from sim.paths import CONFIG_DIR

SMALL = {"population": 800, "weeks": 26}


@pytest.fixture(autouse=True)
def _results(tmp_path, monkeypatch):
    """Every output goes under a temporary results folder."""
    monkeypatch.setenv("BANKLAB_RESULTS", str(tmp_path / "results"))
    (tmp_path / "results").mkdir()


def _design(method: str, samples: int, **kw) -> sensitivity.Design:
    data = {
        "name": "t",
        "method": method,
        "samples": samples,
        "seeds": [0],
        "outcomes": ["retention_26w", "active_rate"],
        "parameters": {
            "market.behaviour.close_base": [0.004, 0.011],
            "market.environment.platform_strength": [0.6, 1.6],
            "dummy": [0.0, 1.0],
        },
        **SMALL,
        # every sample is another market: without this each run would spin its own up
        "overrides": ["spinup.weeks=0"],
        **kw,
    }
    return sensitivity.make_design(data)


def _run_files(folder: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in (folder / "runs").glob("*.json")}


@pytest.fixture(scope="module")
def sobol_folder(tmp_path_factory):
    """A tiny Sobol' design (N=8, 2 parameters + a dummy) on the real model."""
    import os

    results = tmp_path_factory.mktemp("sobol_results")
    old = os.environ.get("BANKLAB_RESULTS")
    os.environ["BANKLAB_RESULTS"] = str(results)
    try:
        design = _design("sobol", 8)
        folder = sensitivity.prepare(design)
        summary = sensitivity.execute(folder, jobs=2, progress=False)
    finally:
        if old is None:
            os.environ.pop("BANKLAB_RESULTS")
        else:
            os.environ["BANKLAB_RESULTS"] = old
    return folder, design, summary


def test_sobol_indices_have_the_right_shape_and_the_dummy_gets_zero(sobol_folder):
    """Sobol' gives S1/ST (with intervals) per outcome and parameter; the dummy's are ~0."""
    folder, _, summary = sobol_folder
    idx = summary["indices"]
    assert not summary["refused"]
    assert len(pd.read_csv(folder / "results.csv")) == 8 * (3 + 2)
    assert len(idx) == 2 * 3
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(idx.columns)
    dummy = idx[idx["parameter"] == "dummy"]
    assert np.allclose(dummy[["S1", "ST", "S1_conf", "ST_conf"]], 0.0, atol=1e-9)
    real = idx[idx["parameter"] != "dummy"]
    assert (real["ST"] > 0.01).any()
    for name in ("indices.csv", "indices.md", "sensitivity.png", "failed.csv", "design.yaml"):
        assert (folder / name).exists(), name
    assert "## retention_26w" in (folder / "indices.md").read_text()
    # the verdicts follow the intervals: an index is distinguishable when its interval excludes 0
    assert (idx["distinguishable"] == (idx["ST"].abs() > idx["ST_conf"])).all()
    assert (idx["S1_distinguishable"] == (idx["S1"].abs() > idx["S1_conf"])).all()
    assert not dummy["distinguishable"].any()
    assert pd.read_csv(folder / "indices.csv")["distinguishable"].dtype == bool


def test_resume_does_not_repeat_completed_runs(sobol_folder, capsys):
    """Resuming a complete folder runs nothing; deleted runs (only those) run again, same values."""
    folder, _, _ = sobol_folder
    calls: list[dict] = []

    def counting(cfg):
        calls.append(cfg)
        return sensitivity.simulate(cfg)

    before = _run_files(folder)
    sensitivity.execute(folder, jobs=1, progress=False, simulate_fn=counting)
    assert calls == [] and _run_files(folder) == before
    gone = ["000003_s0.json", "000017_s0.json"]
    old = {g: json.loads((folder / "runs" / g).read_text()) for g in gone}
    for g in gone:
        (folder / "runs" / g).unlink()
    sensitivity.execute(folder, jobs=1, progress=False, simulate_fn=counting)
    assert len(calls) == 2
    for g in gone:
        assert json.loads((folder / "runs" / g).read_text())["outcomes"] == old[g]["outcomes"]
    sensitivity.main(["--resume", str(folder), "--no-progress"])
    assert "0 to run" in capsys.readouterr().out


def test_morris_indices_have_the_right_shape_and_the_dummy_gets_zero():
    """Morris gives mu*, its interval, mu and sigma per parameter; the dummy's mu* is 0."""
    design = _design("morris", 4)
    folder = sensitivity.prepare(design)
    summary = sensitivity.execute(folder, jobs=2, progress=False)
    idx = summary["indices"]
    assert len(pd.read_csv(folder / "results.csv")) == 4 * (3 + 1)
    assert len(idx) == 2 * 3
    assert {"mu_star", "mu_star_conf", "mu", "sigma"} <= set(idx.columns)
    dummy = idx[idx["parameter"] == "dummy"]
    assert np.allclose(dummy[["mu_star", "sigma"]], 0.0)
    assert (idx[idx["parameter"] != "dummy"]["mu_star"] > 0).any()


def _fake(nan_above: float | None = None, fail_above: float | None = None):
    """A stand-in model: outcomes linear in the parameters, NaN or an error past a threshold."""

    def simulate(cfg):
        x = cfg["market"]["behaviour"]["close_base"]
        y = cfg["market"]["environment"]["platform_strength"]
        if fail_above is not None and y > fail_above:
            raise RuntimeError("model blew up")
        b = math.nan if nan_above is not None and x > nan_above else 2.0 * x + 0.1 * y
        return {"retention_26w": 1.0 - 20 * x + 0.05 * y, "active_rate": b}

    return simulate


def test_a_nan_outcome_is_reported_not_folded_into_indices(capsys):
    """An outcome that is NaN in some samples gets no indices and is listed; others still do."""
    design = _design("sobol", 8)
    folder = sensitivity.prepare(design)
    summary = sensitivity.execute(
        folder, jobs=1, progress=False, simulate_fn=_fake(nan_above=0.0095)
    )
    assert "active_rate" in summary["refused"] and "retention_26w" not in summary["refused"]
    assert set(summary["indices"]["outcome"]) == {"retention_26w"}
    res = pd.read_csv(folder / "results.csv")
    nan_samples = set(res.loc[res["market.behaviour.close_base"] > 0.0095, "sample"])
    assert nan_samples and set(res.loc[res["active_rate"].isna(), "sample"]) == nan_samples
    failed = pd.read_csv(folder / "failed.csv")
    assert set(failed["sample"]) == nan_samples and set(failed["status"]) == {"nan_outcome"}
    assert "No indices" in (folder / "indices.md").read_text()
    sensitivity.print_summary(folder, design, summary)
    out = capsys.readouterr().out
    assert "NO INDICES" in out and "active_rate" in out


def test_failed_runs_are_listed_and_retried_on_resume():
    """A run that raises is listed as failed (no indices at all), and --resume runs it again."""
    design = _design("sobol", 8)
    folder = sensitivity.prepare(design)
    s = sensitivity.execute(folder, jobs=1, progress=False, simulate_fn=_fake(fail_above=1.5))
    failed = pd.read_csv(folder / "failed.csv")
    assert len(failed) and set(failed["status"]) == {"failed"}
    assert "model blew up" in failed["message"].iloc[0]
    assert set(s["refused"]) == {"retention_26w", "active_rate"}
    n_ok = len(_run_files(folder)) - len(failed)
    calls = []

    def fine(cfg):
        calls.append(1)
        return _fake()(cfg)

    s = sensitivity.execute(folder, jobs=1, progress=False, simulate_fn=fine)
    assert len(calls) == len(failed) and len(_run_files(folder)) == n_ok + len(failed)
    assert not s["refused"] and pd.read_csv(folder / "failed.csv").empty
    idx = s["indices"].set_index(["outcome", "parameter"])
    assert idx.loc[("retention_26w", "market.behaviour.close_base"), "ST"] > 0.5
    assert abs(idx.loc[("retention_26w", "dummy"), "ST"]) < 1e-9


def test_distinguishable_and_too_small_on_a_hand_made_table():
    """Intervals excluding 0 are distinguishable; intervals all wider than the estimates warn."""
    design = _design("sobol", 16)
    p = [p.key for p in design.parameters]
    rows = [  # outcome, parameter, S1, S1_conf, ST, ST_conf, dummy
        ("retention_26w", p[0], 0.50, 0.10, 0.60, 0.10, False),
        ("retention_26w", p[1], 0.02, 0.05, 0.10, 0.03, False),
        ("retention_26w", p[2], 0.00, 0.00, 0.00, 0.00, True),
        ("active_rate", p[0], 0.20, 0.30, 0.25, 0.50, False),
        ("active_rate", p[1], -0.10, 0.40, 0.05, 0.20, False),
        ("active_rate", p[2], 0.00, 0.00, 0.00, 0.00, True),
    ]
    cols = ["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf", "dummy"]
    out, warnings = sensitivity.assess(design, pd.DataFrame(rows, columns=cols))
    assert out["distinguishable"].tolist() == [True, True, False, False, False, False]
    assert out["S1_distinguishable"].tolist() == [True, False, False, False, False, False]
    assert out["sample_too_small"].tolist() == [False] * 3 + [True] * 3
    assert list(warnings) == ["active_rate"]
    w = warnings["active_rate"]
    assert "S1 and ST indices of active_rate" in w and "(0.25 +- 0.5, " in w
    # ST: half-width / estimate = 2, so about 16 x 2^2 x 1.2 = 77 -> 128 base samples (power of 2)
    assert "about 128 samples (now 16)" in w
    # two Morris trajectories that agree give an interval of 0: too few for a bootstrap
    morris = _design("morris", 2)
    rows = [("retention_26w", p[0], 0.02, 0.0, False), ("retention_26w", p[2], 0.0, 0.0, True)]
    cols = ["outcome", "parameter", "mu_star", "mu_star_conf", "dummy"]
    out, warnings = sensitivity.assess(morris, pd.DataFrame(rows, columns=cols))
    assert (
        out["sample_too_small"].all()
        and "bootstrap over only 2 trajectories" in warnings["retention_26w"]
    )


def _signal_and_interaction(cfg):
    """retention_26w is linear in close_base (mostly) and platform_strength; active_rate is
    a fast oscillation of both (all interaction, first-order indices near 0)."""
    x = cfg["market"]["behaviour"]["close_base"]
    y = cfg["market"]["environment"]["platform_strength"]
    return {
        "retention_26w": 1.0 - 20 * x + 0.05 * y,
        "active_rate": math.sin(54321.7 * x + 9876.5 * y),
    }


def test_a_small_sample_warns_on_stderr_and_in_indices_md_and_a_larger_one_does_not(capsys):
    """N = 8 is too small for either outcome's S1; at N = 64 the linear outcome's indices are
    distinguishable and only the all-interaction outcome still warns."""
    small = sensitivity.prepare(_design("sobol", 8))
    s = sensitivity.execute(small, jobs=1, progress=False, simulate_fn=_signal_and_interaction)
    assert set(s["warnings"]) == {"retention_26w", "active_rate"}
    err = capsys.readouterr().err
    assert "warning: the sample is too small for the S1 indices of retention_26w" in err
    assert str(small / "indices.md") in err
    md = (small / "indices.md").read_text()
    assert md.count("**Warning**: the sample is too small") == 2
    assert pd.read_csv(small / "indices.csv")["sample_too_small"].all()
    large = sensitivity.prepare(_design("sobol", 64))
    s = sensitivity.execute(large, jobs=1, progress=False, simulate_fn=_signal_and_interaction)
    assert set(s["warnings"]) == {"active_rate"}
    idx = s["indices"].set_index(["outcome", "parameter"])
    close = idx.loc[("retention_26w", "market.behaviour.close_base")]
    assert close["S1_distinguishable"] and close["distinguishable"] and close["S1"] > 0.5
    assert "retention_26w" not in capsys.readouterr().err


def test_design_errors_name_the_key_and_the_allowed_values():
    """Unknown keys and out-of-range bounds are refused with the allowed values."""
    from sim.errors import ConfigError

    with pytest.raises(ConfigError, match="close_bse"):
        _design("sobol", 8, parameters={"market.behaviour.close_bse": [0, 1], "dummy": [0, 1]})
    with pytest.raises(ConfigError, match=r"inside \[0, 3\]"):
        _design(
            "sobol",
            8,
            parameters={"market.environment.platform_strength": [0.5, 4], "dummy": [0, 1]},
        )
    with pytest.raises(ConfigError, match="power of 2"):
        _design("sobol", 10)


def _opt_design(tmp_path: Path) -> Path:
    data = {
        "name": "t",
        "strategy": "baseline",
        "scenario": "none",
        **SMALL,
        "seeds": [0, 1],
        "trials": 6,
        "sampler": "tpe",
        "startup_trials": 4,
        "levers": {"rewards": None, "push_per_week": [0.0, 5.0], "cross_sell": [0.0, 0.5]},
        "objectives": [{"outcome": "retention_26w"}, {"outcome": "profit"}],
        "overrides": ["spinup.weeks=0"],  # the search, not the market at rest, is tested
    }
    path = tmp_path / "opt.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_optimisation_writes_the_front_and_a_strategy_that_composes_and_runs(tmp_path):
    """A few trials give a Pareto table and plot, and a knee strategy that composes and runs."""
    from hydra import compose, initialize_config_dir

    from sim.config import check_config_file, register_configs
    from sim.run import run

    out = tmp_path / "results" / "opt"
    optimize.main(
        [
            "--design",
            str(_opt_design(tmp_path)),
            "--out",
            str(out),
            "--name",
            "opt_knee_test",
            "--no-progress",
        ]
    )
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 6 and (trials["state"] == "COMPLETE").all()
    assert trials.loc[0, "role"].startswith("base")  # the baseline's levers come first
    par = pd.read_csv(out / "pareto.csv")
    assert len(par) >= 1 and par["knee"].sum() == 1
    assert {"retention_26w", "profit", "se_profit", "rewards"} <= set(par.columns)
    assert (out / "pareto.png").stat().st_size > 0 and (out / "pareto.md").exists()
    assert len(list((out / "runs").glob("*.json"))) == 6 * 2
    # dominance: no front row is beaten on both objectives by another complete trial
    for _, r in par.iterrows():
        beaten = (
            (trials["retention_26w"] >= r["retention_26w"])
            & (trials["profit"] >= r["profit"])
            & ((trials["retention_26w"] > r["retention_26w"]) | (trials["profit"] > r["profit"]))
        )
        assert not beaten.any()

    path = out / "opt_knee_test.yaml"
    assert path.read_text().startswith("# @package strategy\n")
    check_config_file(path, "strategy")  # keys and ranges, as register_configs checks
    levers = OmegaConf.load(path)
    assert list(levers.defaults) == ["baseline", "_self_"] and levers.name == "opt_knee_test"
    knee = par[par["knee"]].iloc[0]
    for k in ("rewards", "push_per_week", "cross_sell"):
        assert levers[k] == pytest.approx(knee[k], abs=1e-4)
    # compose it from a copy of the config tree, exactly as configs/strategy/ would, and run it
    configs = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, configs)
    shutil.copy(path, configs / "strategy" / path.name)
    register_configs()
    with initialize_config_dir(config_dir=str(configs), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=[
                "strategy=opt_knee_test",
                "population.size=800",
                "weeks=26",
                "seed=0",
                "spinup.weeks=0",
            ],
        )
    assert cfg.strategy.push_per_week == levers.push_per_week
    assert cfg.strategy.app_quality == 0.5  # from the baseline
    result = run(cfg)
    assert math.isfinite(result.summary["outcomes"]["retention_26w"])


def test_optimisation_resumes_without_repeating_trials(tmp_path):
    """--resume adds trials up to the new total, and re-runs a trial cut short."""
    import optuna

    out = tmp_path / "results" / "opt"
    optimize.main(
        [
            "--design",
            str(_opt_design(tmp_path)),
            "--out",
            str(out),
            "--trials",
            "4",
            "--no-progress",
        ]
    )
    before = _run_files(out)
    assert len(before) == 4 * 2
    study = optuna.load_study(study_name=optimize.STUDY, storage=f"sqlite:///{out}/study.db")
    cut = study.ask(
        {
            "rewards": optuna.distributions.FloatDistribution(0, 1),
            "push_per_week": optuna.distributions.FloatDistribution(0, 5),
            "cross_sell": optuna.distributions.FloatDistribution(0, 0.5),
        }
    )
    optimize.main(["--resume", str(out), "--trials", "6", "--no-progress"])
    after = _run_files(out)
    assert {k: after[k] for k in before} == before  # finished runs untouched
    trials = pd.read_csv(out / "trials.csv")
    done = trials[trials["state"] == "COMPLETE"]
    assert len(done) == 6
    assert trials.loc[trials["trial"] == cut.number, "state"].item() == "FAIL"
    rerun = done[np.isclose(done["rewards"], cut.params["rewards"])]
    assert len(rerun) == 1 and rerun["trial"].item() > cut.number


# --------------------------------------------------------------------------- robustness
def _hand_table() -> pd.DataFrame:
    """Two seeds per cell; the cell means are those of the docstring of the test below."""
    means = {
        ("A", "calm"): 10,
        ("A", "crisis"): 2,
        ("A", "boom"): 12,
        ("B", "calm"): 8,
        ("B", "crisis"): 6,
        ("B", "boom"): 11,
        ("C", "calm"): 9,
        ("C", "crisis"): 5,
        ("C", "boom"): 7,
    }
    rows = []
    for (s, c), m in means.items():
        for seed, d in ((0, -1.0), (1, 1.0)):
            rows.append(
                {
                    "strategy": s,
                    "scenario": c,
                    "seed": seed,
                    "retention_26w": m + d,
                    "full_switch_26w": m + d,
                    "multi_banking": m + d,
                }
            )
    return pd.DataFrame(rows)


def test_regret_and_minimax_on_a_hand_made_table(tmp_path):
    """Means A=(10,2,12), B=(8,6,11), C=(9,5,7): worst regrets 4, 2, 5 -> B; lower -> C."""
    table = _hand_table()
    folder = tmp_path / "results" / "rob"
    folder.mkdir()
    res = robustness.analyse(table, "retention_26w", folder, scenarios=["calm", "crisis", "boom"])
    r = res["regret"]
    assert r.loc["A", ["calm", "crisis", "boom"]].tolist() == [0, 4, 0]
    assert r.loc["B", ["calm", "crisis", "boom"]].tolist() == [2, 0, 1]
    assert r.loc["C", ["calm", "crisis", "boom"]].tolist() == [1, 1, 5]
    assert r["worst_regret"].to_dict() == {"B": 2, "A": 4, "C": 5}
    assert res["choice"] == "B" and r.loc["B", "rank"] == 1
    assert r.loc["A", "worst_scenario"] == "crisis"
    # every cell's seeds differ by +-1 (standard error 1): a gap of 2 is within noise
    assert res["caution"] and "runner-up A" in res["caution"]
    for name in ("regret.csv", "means.csv", "robustness.md", "regret_heatmap.png"):
        assert (folder / name).exists(), name
    # lower is better (full_switch_26w): regrets A=(2,0,5), B=(0,4,4), C=(1,3,0) -> C (3)
    low = robustness.analyse(table, "full_switch_26w", folder, scenarios=["calm", "crisis", "boom"])
    assert low["regret"]["worst_regret"].to_dict() == {"C": 3, "B": 4, "A": 5}
    assert low["choice"] == "C"
    # ties on the worst case go to the lower mean regret
    tie = pd.DataFrame({"x": [0.0, 3.0], "y": [3.0, 0.0], "z": [0.0, 1.0]}, index=["P", "Q"])
    assert robustness.minimax(robustness.regret_table(-tie, "higher")) == "P"


def test_regret_handles_missing_cells_and_info_outcomes(tmp_path):
    """A strategy with no run in a scenario is not recommended; 'info' outcomes need a direction."""
    from sim.errors import ConfigError

    table = _hand_table()
    table = table[~((table["strategy"] == "B") & (table["scenario"] == "crisis"))]
    table = table[
        ~((table["strategy"] == "C") & (table["seed"] == 1) & (table["scenario"] == "boom"))
    ]
    folder = tmp_path / "results" / "rob"
    folder.mkdir()
    res = robustness.analyse(table, "retention_26w", folder)
    r = res["regret"]
    assert math.isnan(r.loc["B", "worst_regret"]) and math.isnan(r.loc["B", "rank"])
    assert res["choice"] == "A"  # A: (0, 3, 0), worst 3; C: (1, 0, 5), worst 5
    assert any("B has no retention_26w value in scenario crisis" in n for n in res["notes"])
    assert any("seeds [1] left out" in n for n in res["notes"])
    # boom uses seed 0 only: A 11, B 10, C 6 -> C's regret 5
    assert r.loc["C", "boom"] == 5
    with pytest.raises(ConfigError, match="direction"):
        robustness.analyse(table, "multi_banking", folder)
    assert robustness.analyse(table, "multi_banking", folder, direction="higher")["choice"]


def test_robustness_reads_run_summaries_when_there_is_no_experiment_csv(tmp_path):
    """Without experiment.csv the run summaries are read; failed runs are noted."""
    exp = tmp_path / "results" / "exp"
    for (s, c, seed), v in {
        ("A", "x", 0): 0.9,
        ("B", "x", 0): 0.8,
        ("A", "y", 0): 0.5,
        ("B", "y", 0): 0.7,
    }.items():
        d = exp / "runs" / f"{s}__{c}__s{seed}"
        d.mkdir(parents=True)
        (d / "summary.json").write_text(
            json.dumps(
                {"strategy": s, "scenario": c, "seed": seed, "outcomes": {"retention_26w": v}}
            )
        )
        (d / "COMPLETE").write_text("complete\n")
    bad = exp / "runs" / "C__x__s0"
    bad.mkdir()
    (bad / "FAILED").write_text("ValueError: boom\n")
    table, notes = robustness.read_experiment(exp)
    assert len(table) == 4 and any("C__x__s0 failed: ValueError: boom" in n for n in notes)
    out = tmp_path / "results" / "rob"
    robustness.main(["--experiment", str(exp), "--out", str(out)])
    regret = pd.read_csv(out / "regret.csv", index_col=0)
    assert regret.loc["A", "worst_regret"] == pytest.approx(0.2)
    assert regret.loc["B", "worst_regret"] == pytest.approx(0.1)
    assert "Minimax-regret strategy: **B**" in (out / "robustness.md").read_text()


def _draw_table() -> pd.DataFrame:
    """Two posterior draws (weights 3:1) x seeds 0, 1 (values mean -+1) per strategy and scenario.

    Draw means: x: A (10, 2), B (6, 6); y: A (5, 5), B (5, 9). Weighted over draws
    (0.75, 0.25): x A 8, B 6; y A 5, B 6 -> worst regrets A 1, B 2: A. Pooling the
    draws as if they were more seeds: x A 6, B 6; y A 5, B 7 -> A 2, B 0: B.
    """
    means = {
        ("A", "x"): (10, 2),
        ("B", "x"): (6, 6),
        ("A", "y"): (5, 5),
        ("B", "y"): (5, 9),
    }
    rows = []
    for (s, c), by_draw in means.items():
        for draw, m in enumerate(by_draw):
            for seed, d in ((0, -1.0), (1, 1.0)):
                rows.append(
                    {
                        "run": f"{s}__{c}__d{draw}__s{seed}",
                        "strategy": s,
                        "scenario": c,
                        "seed": seed,
                        "draw": draw,
                        "retention_26w": m + d,
                    }
                )
    return pd.DataFrame(rows)


def test_robustness_pairs_within_draw_and_seed_and_weights_the_draws(tmp_path):
    """A posterior experiment's runs pair by (draw, seed); regret is on the weighted means."""
    table = _draw_table()
    folder = tmp_path / "results" / "rob"
    folder.mkdir()
    res = robustness.analyse(table, "retention_26w", folder, weights={0: 0.75, 1: 0.25})
    assert res["means"].loc[["A", "B"], ["x", "y"]].to_numpy().tolist() == [[8, 5], [6, 6]]
    assert res["regret"]["worst_regret"].to_dict() == {"A": 1, "B": 2}
    assert res["choice"] == "A"
    # seed-only standard error: within-draw variance 2 pooled, 2 (0.75^2 + 0.25^2) / 2
    assert res["se"].loc["A", "x"] == pytest.approx(math.sqrt(0.625))
    assert "weighted over 2 posterior draws" in (folder / "robustness.md").read_text()
    # the draws taken for more seeds (the draw column ignored) would recommend B
    pooled = robustness.analyse(table.drop(columns="draw"), "retention_26w", folder)
    assert pooled["choice"] == "B"
    # without the weights a table with draws is refused, never pooled
    with pytest.raises(ValueError, match="draw"):
        robustness.analyse(table, "retention_26w", folder)
    # one run missing: its (draw, seed) pair leaves every strategy of the scenario, not its seed
    gap = table[table["run"] != "B__x__d1__s1"]
    res = robustness.analyse(gap, "retention_26w", folder, weights={0: 0.75, 1: 0.25})
    assert any("(draw, seed) pairs [(1, 1)] left out" in n for n in res["notes"])
    assert res["means"].loc["A", "x"] == pytest.approx(0.75 * 10 + 0.25 * 1)  # draw 1: seed 0


def test_robustness_reads_a_posterior_experiment_folder_or_refuses_it(tmp_path, capsys):
    """Weights come from posterior_draws.csv; draws without weights (or the reverse) are refused."""
    exp = tmp_path / "results" / "exp"
    exp.mkdir()
    _draw_table().to_csv(exp / "experiment.csv", index=False)
    out = tmp_path / "results" / "rob"
    with pytest.raises(SystemExit) as stop:  # experiment.csv has draws, the weights are missing
        robustness.main(["--experiment", str(exp), "--outcome", "retention_26w", "--out", str(out)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert str(exp) in err and "posterior_draws.csv" in err and "is missing" in err
    pd.DataFrame({"draw": [0, 1], "weight": [3, 1], "count": [3, 1]}).to_csv(
        exp / "posterior_draws.csv", index=False
    )
    robustness.main(["--experiment", str(exp), "--outcome", "retention_26w", "--out", str(out)])
    regret = pd.read_csv(out / "regret.csv", index_col=0)
    assert regret["worst_regret"].to_dict() == pytest.approx({"A": 1, "B": 2})
    assert "Minimax-regret strategy: **A**" in (out / "robustness.md").read_text()
    # the run summaries alone carry no draw: such a folder is refused, naming what to do
    (exp / "experiment.csv").unlink()
    run = exp / "runs" / "A__x__d0__s0"
    run.mkdir(parents=True)
    (run / "summary.json").write_text(
        json.dumps({"strategy": "A", "scenario": "x", "seed": 0, "outcomes": {"retention_26w": 9}})
    )
    (run / "COMPLETE").write_text("complete\n")
    with pytest.raises(SystemExit):
        robustness.main(["--experiment", str(exp), "--outcome", "retention_26w"])
    err = capsys.readouterr().err
    assert str(exp) in err and "python -m sim.analysis.compare" in err
    # grid mode's runs have no draws: the posterior option is refused before anything runs
    with pytest.raises(SystemExit):
        robustness.main(["--strategies=A,B", "--scenarios=x", "experiment.posterior=default"])
    assert "experiment.posterior=default is not allowed in grid mode" in capsys.readouterr().err


def test_robustness_runs_its_grid_on_the_evaluator_and_writes_the_experiment(tmp_path):
    """Grid mode: the runs go through the evaluator (records, run folders, outcome table), the
    experiment's aggregation writes its report beside them, and regret is computed on them."""
    out = tmp_path / "results" / "rob"
    robustness.main(
        [
            "--strategies=baseline,rewards",
            "--scenarios=none,platform_squeeze",
            "--seeds=0",
            "--population=800",
            "--weeks=8",
            "--jobs=1",
            "--no-progress",
            "--out",
            str(out),
            "spinup.weeks=0",
        ]
    )
    exp = out / "experiment"
    table = pd.read_csv(exp / "outcomes.csv")
    assert len(table) == 4 and (table["status"] == "ok").all()
    assert (exp / "report.md").exists() and len(pd.read_csv(exp / "experiment.csv")) == 4
    assert all((exp / "runs" / k / "COMPLETE").exists() for k in table["key"])
    means = pd.read_csv(out / "means.csv", index_col=0)
    cell = table[(table["strategy"] == "rewards") & (table["scenario"] == "none")]
    assert means.loc["rewards", "none"] == pytest.approx(cell["retention_26w"].item())
