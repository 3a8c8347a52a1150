"""Experiments on real runs: the comparison, failures, resuming, every config file."""

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from sim.compose import compose_config
from sim.config import Config
from sim.errors import ConfigError
from sim.paths import CONFIG_DIR, SCENARIO_DIR
from sim.run import run

#: Skip the spin-up where the model has one: these tests are about experiments, not the market.
NO_SPINUP = ["spinup.weeks=0"] if "spinup" in {f.name for f in dataclasses.fields(Config)} else []
SMALL = ["population.size=1500", "weeks=30", *NO_SPINUP]


def _experiment(results: Path, *args: str, timeout=600) -> subprocess.CompletedProcess:
    env = {**os.environ, "BANKLAB_RESULTS": str(results)}
    return subprocess.run(
        [sys.executable, "-m", "sim.experiment", *SMALL, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def _only_experiment(results: Path) -> Path:
    (exp,) = list((results / "experiments").iterdir())
    return exp


@pytest.fixture(scope="module")
def small_experiment(tmp_path_factory):
    """Baseline, placebo and two strategies x 2 scenarios x 4 seeds; pandemic runs fail."""
    results = tmp_path_factory.mktemp("results")
    r = _experiment(
        results,
        "strategy=baseline,placebo,rewards,acquisition_blitz",
        "scenario=none,pandemic",
        "seed=range(0,4)",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return _only_experiment(results), r


def test_experiment_writes_tables_plots_and_report(small_experiment):
    """The experiment folder holds the tables, the plots and both reports."""
    exp, r = small_experiment
    for name in ("experiment.csv", "comparison.csv", "failed.csv", "report.md", "report.html"):
        assert (exp / name).exists(), name
    assert list((exp / "plots").glob("*.png"))
    assert "report" in r.stdout


def test_failed_runs_are_listed_and_do_not_stop_the_report(small_experiment):
    """Runs that fail (pandemic shocks beyond 30 weeks) are listed; the rest make the report."""
    exp, _ = small_experiment
    failed = pd.read_csv(exp / "failed.csv")
    assert len(failed) == 16 and set(failed["scenario"]) == {"pandemic"}
    table = pd.read_csv(exp / "experiment.csv")
    assert len(table) == 16 and set(table["scenario"]) == {"none"}
    report = (exp / "report.md").read_text()
    assert "pandemic" in report and "not allowed" in report


def test_placebo_differences_are_exactly_zero(small_experiment):
    """A strategy identical to the baseline differs from it by exactly zero."""
    exp, _ = small_experiment
    comp = pd.read_csv(exp / "comparison.csv")
    pl = comp[comp["strategy"] == "placebo"]
    assert len(pl) > 10
    assert (pl["diff"].fillna(0) == 0).all()
    assert not pl["distinguishable"].any()


def test_paired_intervals_are_narrower_than_unpaired(small_experiment):
    """Common random numbers: paired intervals beat unpaired ones on the same runs."""
    exp, _ = small_experiment
    comp = pd.read_csv(exp / "comparison.csv")
    c = comp[comp["strategy"].isin(["rewards", "acquisition_blitz"])].dropna(
        subset=["ci_low", "unpaired_ci_low"]
    )
    paired = c["ci_high"] - c["ci_low"]
    unpaired = c["unpaired_ci_high"] - c["unpaired_ci_low"]
    assert (paired < unpaired).mean() > 0.7
    assert paired.median() < 0.7 * unpaired.median()


def test_comparison_matches_the_experiment_table(small_experiment):
    """Means and differences in comparison.csv are recomputed from experiment.csv."""
    exp, _ = small_experiment
    table = pd.read_csv(exp / "experiment.csv")
    comp = pd.read_csv(exp / "comparison.csv").set_index(["scenario", "strategy", "outcome"])
    b = table[table["strategy"] == "baseline"].set_index("seed")
    s = table[table["strategy"] == "rewards"].set_index("seed")
    for outcome in ("retention_26w", "contacts_per_customer", "app_mau_rate"):
        row = comp.loc[("none", "rewards", outcome)]
        assert row["mean"] == pytest.approx(s[outcome].mean())
        assert row["diff"] == pytest.approx((s[outcome] - b[outcome]).mean())


def _shipped(folder: Path) -> list[str]:
    """The option names of the files shipped in ``folder`` (tracked by git).

    Files a user added (say a half-written ``configs/strategy/my_plan.yaml``) are
    not the lab's: the tests leave them alone. Outside a git checkout, every file
    that passes the lab's file checks counts.
    """
    from sim.configfiles import check_config_file

    r = subprocess.run(
        ["git", "ls-files", "--", "*.yaml"], cwd=folder, capture_output=True, text=True
    )
    tracked = [folder / Path(line).name for line in r.stdout.split()] if r.returncode == 0 else []
    if tracked:
        return sorted(p.stem for p in tracked if p.is_file())
    group = "scenario" if folder == SCENARIO_DIR else folder.name
    names = []
    for p in sorted(folder.glob("*.yaml")):
        try:
            check_config_file(p, group)
        except ConfigError:
            continue
        names.append(p.stem)
    return names


def test_every_strategy_and_scenario_file_composes_and_runs():
    """Each shipped strategy and scenario file composes and runs a short simulation."""
    strategies = _shipped(CONFIG_DIR / "strategy")
    scenarios = _shipped(SCENARIO_DIR)
    assert len(strategies) >= 10 and len(scenarios) >= 7
    for name in strategies:
        r = run(compose_config([f"strategy={name}", "population.size=400", "weeks=8", *NO_SPINUP]))
        assert r.summary["outcomes"]["customer_share"] > 0, name
    for name in scenarios:
        r = run(compose_config([f"scenario={name}", "population.size=400", "weeks=60", *NO_SPINUP]))
        assert r.summary["scenario"] == name


def test_the_sweep_check_composes_every_override_once():
    """Before launching, one job per new override is composed (15 of the default's 55)."""
    from itertools import product

    from sim.experiment import covering_jobs, validate_covering

    strategies = [f"s{i}" for i in range(11)]
    batch = [
        [f"strategy={st}", "scenario=none", f"seed={seed}"]
        for st, seed in product(strategies, range(5))
    ]
    jobs = covering_jobs(batch)
    assert jobs[0] == batch[0] and len(jobs) == 15
    assert set().union(*map(set, jobs)) == set().union(*map(set, batch))

    composed = []
    loader = SimpleNamespace(
        load_sweep_config=lambda master_config, sweep_overrides: composed.append(sweep_overrides)
    )
    sweeper = SimpleNamespace(hydra_context=SimpleNamespace(config_loader=loader), config=None)
    validate_covering(sweeper, batch)
    assert composed == jobs


def test_the_sweep_check_patch_reaches_the_sweeper_hydra_runs():
    """Hydra's own (freshly imported) BasicSweeper takes the check from the patched base class.

    Hydra instantiates plugins from its own import of their modules, so the patch in
    ``sim.experiment.main`` is made on ``Sweeper``; this fails if Hydra's sweeper ever
    defines the check itself (the patch would then be silently ignored).
    """
    from hydra.core.plugins import Plugins
    from hydra.plugins.sweeper import Sweeper

    basic = [c for c in Plugins.instance().discover(Sweeper) if c.__name__ == "BasicSweeper"]
    assert basic and issubclass(basic[0], Sweeper)
    below = basic[0].__mro__[: basic[0].__mro__.index(Sweeper)]
    assert below and all("validate_batch_is_legal" not in vars(k) for k in below)
    assert basic[0].validate_batch_is_legal is Sweeper.validate_batch_is_legal


def test_killed_experiment_resumes_without_repeating_runs(tmp_path):
    """Kill an experiment midway; resuming keeps complete runs and finishes the rest."""
    env = {**os.environ, "BANKLAB_RESULTS": str(tmp_path)}
    args = [
        sys.executable,
        "-m",
        "sim.experiment",
        *SMALL,
        "hydra.launcher.n_jobs=1",
        "strategy=baseline,rewards",
        "seed=range(0,6)",
    ]
    p = subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 300
    while time.time() < deadline:
        done = list(tmp_path.glob("experiments/*/runs/*/COMPLETE"))
        if len(done) >= 3:
            break
        time.sleep(0.3)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait(timeout=30)
    exp = _only_experiment(tmp_path)
    before = {c.parent.name: c.stat().st_mtime_ns for c in exp.glob("runs/*/COMPLETE")}
    assert 3 <= len(before) < 12
    assert not (exp / "report.md").exists()

    again = _experiment(
        tmp_path,
        "hydra.launcher.n_jobs=1",
        "strategy=baseline,rewards",
        "seed=range(0,6)",
        f"hydra.sweep.dir={exp}",
        "experiment.resume=true",
    )
    assert again.returncode == 0, again.stderr[-3000:]
    after = {c.parent.name: c.stat().st_mtime_ns for c in exp.glob("runs/*/COMPLETE")}
    assert len(after) == 12
    assert all(after[k] == v for k, v in before.items())
    assert len(pd.read_csv(exp / "experiment.csv")) == 12


def test_an_experiment_folder_is_never_reused_without_resume(tmp_path):
    """Pointing a new experiment at an existing folder is refused."""
    exp = tmp_path / "experiments" / "old"
    (exp / "runs" / "x").mkdir(parents=True)
    r = _experiment(
        tmp_path,
        f"hydra.sweep.dir={exp}",
        "seed=0",
        "strategy=baseline",
    )
    assert r.returncode != 0
    assert "already holds an experiment" in r.stderr


def test_experiment_folder_cannot_escape_results(tmp_path):
    """An experiment folder outside results/ is refused."""
    r = _experiment(
        tmp_path / "results",
        f"hydra.sweep.dir={tmp_path}/../escape",
        "seed=0",
        "strategy=baseline",
    )
    assert r.returncode != 0
    assert "inside the results folder" in r.stderr
