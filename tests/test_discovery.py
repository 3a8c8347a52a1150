"""Scenario discovery: PRIM finds a planted box, designs are checked, a tiny real run, resume."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.analysis import discovery, sensitivity
from sim.errors import ConfigError

#: The planted failure region of the toy: two of the four uncertainties.
PLANTED = {
    "market.behaviour.close_base": (0.008, None),
    "market.environment.platform_strength": (None, 1.0),
}
TOY = {
    "market.behaviour.close_base": [0.004, 0.011],
    "market.behaviour.beta_rewards": [0.5, 2.0],
    "market.environment.platform_strength": [0.6, 1.6],
    "market.environment.remote_demand": [0.5, 2.0],
}


@pytest.fixture(autouse=True)
def _results(tmp_path, monkeypatch):
    """Every output goes under a temporary results folder."""
    monkeypatch.setenv("BANKLAB_RESULTS", str(tmp_path / "results"))
    (tmp_path / "results").mkdir()


def _toy_design(**kw) -> discovery.DiscoveryDesign:
    data = {
        "name": "toy",
        "strategy": "rewards",
        "cases": 300,
        "population": 1000,
        "weeks": 26,
        "threshold": 0.0,
        "uncertainties": TOY,
        **kw,
    }
    return discovery.make_design(data, where="toy.yaml")


def _fake(cfg: dict) -> dict[str, float]:
    """A fake run: the strategy loses 2 points of retention inside the planted box, gains
    2 outside, plus a little noise drawn from the case's conditions (same for both arms)."""
    beh, env = cfg["market"]["behaviour"], cfg["market"]["environment"]
    inside = beh["close_base"] > 0.008 and env["platform_strength"] < 1.0
    key = int(1e6 * (beh["close_base"] + env["remote_demand"] + beh["beta_rewards"]))
    noise = np.random.default_rng(key).normal(0, 0.004)
    gain = (-0.02 if inside else 0.02) + noise
    strategy = cfg["strategy"]["name"] != "baseline"
    return {"retention_26w": 0.8 + (gain if strategy else 0.0), "npv": 1.0}


def test_prim_finds_the_planted_box():
    """On a toy whose failures fill a known box in 2 of 4 dimensions, PRIM's box matches it."""
    design = _toy_design()
    folder = discovery.prepare(design)
    summary = discovery.execute(folder, jobs=1, progress=False, simulate_fn=_fake)
    cases = pd.read_csv(folder / "cases.csv")
    assert len(cases) == 300 and cases["gain"].notna().all()
    truth = (cases["market.behaviour.close_base"] > 0.008) & (
        cases["market.environment.platform_strength"] < 1.0
    )
    assert (cases["fails"] == truth).all()  # the paired gain and the threshold classify exactly
    box = pd.read_csv(folder / "box.csv").set_index("uncertainty")
    cb = box.loc["market.behaviour.close_base"]
    ps = box.loc["market.environment.platform_strength"]
    assert cb["restricted"] == "lower" and abs(cb["box_low"] - 0.008) < 0.05 * 0.007
    assert cb["box_high"] == 0.011 and cb["significant"]
    assert ps["restricted"] == "upper" and abs(ps["box_high"] - 1.0) < 0.05 * 1.0
    assert ps["box_low"] == 0.6 and ps["significant"]
    for free in ("market.behaviour.beta_rewards", "market.environment.remote_demand"):
        assert box.loc[free, "restricted"] == "no" or not box.loc[free, "significant"]
    peel = pd.read_csv(folder / "peeling.csv")
    chosen = peel[peel["chosen"]]
    assert len(chosen) == 1 and chosen["coverage"].iloc[0] >= design.prim.min_coverage
    assert chosen["density"].iloc[0] > 0.9
    ok = peel[peel["coverage"] >= design.prim.min_coverage]
    assert chosen["density"].iloc[0] == ok["density"].max()  # the documented rule
    cart = summary["cart"]
    assert cart["accuracy"] > 0.95 and cart["cv_accuracy"] > 0.9
    assert "close_base" in (folder / "cart.txt").read_text()
    for name in ("peeling.png", "box_scatter.png", "cart.png", "discovery.md", "samples.csv"):
        assert (folder / name).stat().st_size > 0, name


def test_choose_box_takes_the_densest_box_with_enough_coverage():
    """The rule: highest density at coverage >= the minimum; ties to the higher coverage."""
    t = pd.DataFrame(
        {
            "coverage": [1.0, 0.9, 0.7, 0.6, 0.4],
            "density": [0.2, 0.5, 0.8, 0.8, 1.0],
            "res dim": [0, 1, 2, 2, 3],
        }
    )
    assert discovery.choose_box(t, 0.5) == 2
    assert discovery.choose_box(t, 0.3) == 4
    assert discovery.choose_box(t, 0.95) == 0


def test_scenario_strength_and_start_rewrite_the_shocks():
    """Strength scales each shock's effect (0 none, 1 as written); start moves every shock."""
    base = discovery.composed(_toy_design(scenario="pandemic", weeks=52), "baseline")
    shocks = base["scenario"]["shocks"]
    same = discovery.case_changes(base, {"scenario.strength": 1.0, "scenario.start": 20})
    assert same["scenario.shocks"] == shocks
    none = discovery.case_changes(base, {"scenario.strength": 0.0})["scenario.shocks"]
    assert all(s["value"] == 1.0 for s in none)  # all pandemic shocks multiply
    moved = discovery.case_changes(base, {"scenario.start": 5, "market.behaviour.close_base": 0.01})
    assert moved["market.behaviour.close_base"] == 0.01
    assert [s["start"] for s in moved["scenario.shocks"]] == [s["start"] - 15 for s in shocks]
    assert [s["end"] - s["start"] for s in moved["scenario.shocks"]] == [
        s["end"] - s["start"] for s in shocks
    ]
    double = discovery.case_changes(base, {"scenario.strength": 2.0})["scenario.shocks"]
    assert double[0]["value"] == pytest.approx(1 + 2 * (0.3 - 1))


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (
            {"uncertainties": {**TOY, "market.behaviour.close_base": [0.0, 0.6]}},
            "uncertainties.market.behaviour.close_base = [0.0, 0.6] is not allowed; "
            "allowed: a range inside [0, 0.5]",
        ),
        ({"uncertainties": {**TOY, "market.behaviour.nope": [0, 1]}}, "'nope' is not a key"),
        ({"uncertainties": {**TOY, "seed": [0, 1]}}, "uncertainties = 'seed' is not allowed"),
        ({"uncertainties": {**TOY, "market.environment.need_rate": [2, 1]}}, "low < high"),
        (
            {
                "scenario": "pandemic",
                "weeks": 52,
                "uncertainties": {**TOY, "scenario.start": [4, 30]},
            },
            "uncertainties.scenario.start = [4.0, 30.0] is not allowed; allowed: whole weeks "
            "inside [0, 25]",
        ),
        (
            {
                "scenario": "pandemic",
                "weeks": 52,
                "uncertainties": {**TOY, "scenario.strength": [0, 9]},
            },
            "allowed: a range inside [0, 5]",
        ),
        ({"uncertainties": {**TOY, "scenario.strength": [0, 1]}}, "has none"),
        (
            {
                "scenario": "pandemic",
                "weeks": 52,
                "uncertainties": {**TOY, "scenario.shocks.7.value": [0, 1]},
            },
            "a shock index 0..3",
        ),
        ({"strategy": "baseline"}, "strategy = 'baseline' is not allowed"),
        ({"outcome": "happiness"}, "outcome = 'happiness' is not allowed"),
        ({"cases": 4}, "cases = 4 is not allowed"),
        ({"prim": {"min_coverage": 1.5}}, "prim.min_coverage = 1.5 is not allowed"),
        ({"prim": {"peel": 0.1}}, "prim.peel not known"),
        ({"colour": "red"}, "colour not known"),
        ({"scenario": "pandemic", "weeks": 30}, "scenario.shocks[1].start = 46 is not allowed"),
    ],
)
def test_bad_designs_are_refused_with_file_key_value_and_allowed(change, needle):
    """Every bad design names the file, the key, the value and what is allowed."""
    with pytest.raises(ConfigError) as err:
        _toy_design(**change)
    assert "toy.yaml" in str(err.value) and needle in str(err.value), str(err.value)


def test_a_bad_design_file_exits_non_zero_and_writes_nothing(tmp_path, capsys):
    """The command stops with the message and creates no output folder."""
    bad = tmp_path / "bad.yaml"
    data = yaml.safe_load(discovery.DEFAULT_DESIGN.read_text())
    data["uncertainties"]["market.environment.platform_strength"] = [0.6, 4.0]
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(SystemExit) as stop:
        discovery.main(["--design", str(bad), "--no-progress"])
    assert stop.value.code == 2
    msg = capsys.readouterr().err
    assert str(bad) in msg and "platform_strength = [0.6, 4.0]" in msg and "[0, 3]" in msg
    assert not (tmp_path / "results" / "discovery").exists()


def test_the_shipped_design_is_valid():
    """configs/design/discovery.yaml loads and checks."""
    d = discovery.load_design(discovery.DEFAULT_DESIGN)
    assert d.outcome_name() == "retention_26w" and len(d.uncertainties) >= 4


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (folder / "runs").glob("*.json")}


def test_a_tiny_real_run_writes_its_tables_and_plots_and_resumes_without_repeats(tmp_path, capsys):
    """12 cases x 1 seed of 1,000 customers x 26 weeks, end to end; then resume."""
    design = {
        "name": "tiny",
        "strategy": "rewards",
        "scenario": "platform_squeeze",
        "cases": 12,
        "seeds": [0],
        "population": 1000,
        "weeks": 26,
        "overrides": ["spinup.weeks=0"],
        "threshold": 0.0,
        "uncertainties": {
            "market.behaviour.beta_close_rewards": [0.3, 2.0],
            "market.behaviour.close_base": [0.004, 0.011],
            "scenario.strength": [0.0, 2.0],
            "scenario.start": [0, 20],
        },
        "prim": {"peel_alpha": 0.1, "mass_min": 0.1},
        "cart": {"min_samples_leaf": 2, "folds": 3},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(design))
    discovery.main(["--design", str(path), "--no-progress", "--jobs", "2"])
    out = capsys.readouterr().out
    folder = Path(out.split("folder: ")[1].splitlines()[0])
    assert "24 to run" in out and "rewards vs baseline on retention_26w" in out
    cases = pd.read_csv(folder / "cases.csv")
    assert len(cases) == 12 and cases["gain"].notna().all()
    assert np.allclose(
        cases["gain"], cases["strategy_retention_26w"] - cases["baseline_retention_26w"]
    )
    assert len(list((folder / "runs").glob("*.json"))) == 24
    assert len(pd.read_csv(folder / "failed.csv")) == 0
    run = json.loads((folder / "runs" / "000003_s0_strategy.json").read_text())
    start = int(cases.loc[3, "scenario.start"])
    assert run["status"] == "ok" and f"'start': {start}, " in run["overrides"]
    assert run["labels"] == {"case": 3, "seed": 0, "arm": "strategy"}
    assert len(pd.read_csv(folder / "outcomes.csv")) == 24
    for name in ("box_scatter.png", "cart.txt", "discovery.md", "design.yaml", "samples.csv"):
        assert (folder / name).exists(), name

    # re-analyse at the median gain (both classes present): nothing runs again
    before = _mtimes(folder)
    median = float(cases["gain"].median())
    discovery.main(["--resume", str(folder), "--threshold", f"{median:.12g}", "--no-progress"])
    out = capsys.readouterr().out
    assert "0 to run" in out and "PRIM box" in out and "CART" in out
    assert _mtimes(folder) == before
    for name in ("peeling.csv", "peeling.png", "box.csv", "box_scatter.png", "cart.png"):
        assert (folder / name).stat().st_size > 0, name
    box = pd.read_csv(folder / "box.csv")
    assert set(box["uncertainty"]) == set(design["uncertainties"])
    assert yaml.safe_load((folder / "design.yaml").read_text())["threshold"] == pytest.approx(
        median
    )

    # runs lost (only those) are run again, with the same outcomes
    calls: list[dict] = []

    def counting(cfg):
        calls.append(cfg)
        return sensitivity.simulate(cfg)

    gone = ["000002_s0_baseline.json", "000007_s0_strategy.json"]
    old = {g: json.loads((folder / "runs" / g).read_text())["outcomes"] for g in gone}
    for g in gone:
        (folder / "runs" / g).unlink()
    discovery.execute(folder, jobs=1, progress=False, simulate_fn=counting)
    assert len(calls) == 2
    for g in gone:
        new = json.loads((folder / "runs" / g).read_text())["outcomes"]
        same = [v == old[g][k] or (math.isnan(v) and math.isnan(old[g][k])) for k, v in new.items()]
        assert all(same) and set(new) == set(old[g]), g
    assert pd.read_csv(folder / "cases.csv")["gain"].equals(cases["gain"])
