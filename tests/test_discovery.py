"""Scenario discovery: PRIM finds a planted box, designs are checked, a tiny real run, resume."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from sim.analysis import sensitivity
from sim.analysis.discovery.__main__ import main
from sim.analysis.discovery.boxes import choose_box, quasi_p_values
from sim.analysis.discovery.design import (
    DEFAULT_DESIGN,
    DiscoveryDesign,
    composed,
    load_design,
    make_design,
)
from sim.analysis.discovery.folder import execute, prepare
from sim.analysis.discovery.sampling import case_changes, sample
from sim.errors import ConfigError

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


def _toy_design(**kw) -> DiscoveryDesign:
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
    return make_design(data, where="toy.yaml")


#: Two planted failure regions, each in 2 of the 4 uncertainties: (key, low, high) with None
#: for an unrestricted side; the outcome the toy's gain is measured on and its threshold.
PLANTED = {
    "loyalty": (
        [
            ("market.behaviour.close_base", 0.008, None),
            ("market.environment.platform_strength", None, 1.0),
        ],
        "loyalty",
        0.0,
    ),
    "npv": (
        [
            ("market.behaviour.beta_rewards", None, 1.0),
            ("market.environment.remote_demand", 1.4, None),
        ],
        "money",
        10.0,
    ),
}


def _value(cfg: dict, key: str) -> float:
    node = cfg
    for part in key.split("."):
        node = node[part]
    return float(node)


def _inside(values, box) -> bool:
    return all(
        (lo is None or values(k) > lo) and (hi is None or values(k) < hi) for k, lo, hi in box
    )


def _fake(cfg: dict, box: list) -> dict[str, float]:
    """A fake run: inside the planted box the strategy loses 2 points of retention and 20
    million RMB of NPV against the baseline, outside it gains 2 points and 40 million; its
    outcomes carry noise (a fifth of that effect, drawn from the case's conditions) that
    never crosses the thresholds, so the failing cases are exactly those in the box."""
    inside = _inside(lambda k: _value(cfg, k), box)
    key = int(1e6 * sum(_value(cfg, k) for k in TOY))
    noise = np.random.default_rng(key).normal(0, 0.2)
    strategy = cfg["strategy"]["name"] != "baseline"
    gain = (-1.0 if inside else 1.0) + noise if strategy else 0.0
    return {"retention_26w": 0.8 + 0.02 * gain, "npv": 500.0 + (30.0 * gain + 10.0 * strategy)}


@pytest.mark.parametrize("planted", sorted(PLANTED))
def test_prim_finds_the_planted_box(planted):
    """On a toy whose failures fill a known box in 2 of 4 dimensions, PRIM's box is that box:
    the right dimensions restricted on the right sides at the planted limits, both
    significant, the other two free; its quasi-p-values are the binomial tail counted here
    from the cases themselves; on loyalty and on NPV (the money headline) as the target."""
    box_true, outcome, threshold = PLANTED[planted]
    design = _toy_design(outcome=outcome, threshold=threshold)
    folder = prepare(design)
    summary = execute(
        folder, jobs=1, progress=False, simulate_fn=functools.partial(_fake, box=box_true)
    )
    cases = pd.read_csv(folder / "cases.csv")
    assert len(cases) == 300 and cases["gain"].notna().all()
    truth = cases.apply(lambda r: _inside(lambda k: r[k], box_true), axis=1)
    assert 0.1 < truth.mean() < 0.25
    assert (cases["fails"] == truth).all()  # the paired gain and the threshold classify exactly
    box = pd.read_csv(folder / "box.csv").set_index("uncertainty")
    for key, lo, hi in box_true:
        r, (d_lo, d_hi) = box.loc[key], TOY[key]
        side = "lower" if hi is None else "upper"
        limit = r["box_low"] if hi is None else r["box_high"]
        assert r["restricted"] == side, (key, r.to_dict())
        assert abs(limit - (lo if hi is None else hi)) < 0.03 * (d_hi - d_lo), (key, limit)
        assert (r["box_high"] if hi is None else r["box_low"]) == (d_hi if hi is None else d_lo)
        assert r["significant"] and r["qp_value"] < 1e-6, (key, r["qp_value"])
    for free in set(TOY) - {k for k, _, _ in box_true}:
        assert box.loc[free, "restricted"] == "no" or not box.loc[free, "significant"]

    # the quasi-p-values: P(at least the box's failing cases | the rate with one limit dropped)
    def within(frame, drop=None):
        keep = np.ones(len(frame), bool)
        for k, r in box.iterrows():
            if k != drop:
                keep &= (frame[k] >= r["box_low"]) & (frame[k] <= r["box_high"])
        return frame[keep]

    inside = within(cases)
    for key in box.index[box["restricted"] != "no"]:
        wider = within(cases, drop=key)
        p = stats.binom.sf(inside["fails"].sum() - 1, len(inside), wider["fails"].mean())
        assert box.loc[key, "qp_value"] == pytest.approx(p, rel=1e-8)

    peel = pd.read_csv(folder / "peeling.csv")
    chosen = peel[peel["chosen"]]
    assert len(chosen) == 1 and chosen["coverage"].iloc[0] > 0.9
    assert chosen["density"].iloc[0] > 0.9
    final = summary["prim"]["final"]  # the chosen box, its unsupported limits dropped
    assert final["cases"] == len(inside) and final["failing"] == inside["fails"].sum()
    assert final["coverage"] > 0.9 and final["density"] > 0.9 and final["res_dim"] == 2
    ok = peel[peel["coverage"] >= design.prim.min_coverage]
    assert chosen["density"].iloc[0] == ok["density"].max()  # the documented rule
    assert peel["density"].iloc[0] == pytest.approx(truth.mean())  # step 0: every case
    cart = summary["cart"]
    assert cart["accuracy"] > 0.95 and cart["cv_accuracy"] > 0.9
    rules = (folder / "cart.txt").read_text()
    assert all(k in rules for k, _, _ in box_true)
    for name in ("peeling.png", "box_scatter.png", "cart.png", "discovery.md", "samples.csv"):
        assert (folder / name).stat().st_size > 0, name


def test_quasi_p_values_count_the_cases_exactly():
    """A box of 22 cases, 15 failing (where the prim package's int(coverage * n) style of
    counting can come out one short): each quasi-p-value is the binomial tail of the exact
    counts, P(at least 15 of 22 | the failure rate of the box with that limit dropped)."""
    import prim

    a = np.arange(30.0)
    b = np.zeros(30)
    b[[0, 1, 26, 27, 28, 29]] = 1.0
    y = np.zeros(30, bool)
    y[2:17] = True  # 15 failing inside the box (rows 2..23)
    y[[0, 1, 24]] = True  # outside: rows 0, 1 (b = 1) and 24 (a > 23)
    finder = prim.Prim(pd.DataFrame({"a": a, "b": b}), y)
    init = finder._box_init
    lims = init.copy()
    lims["a"] = (0.0, 23.0)  # dropping it: rows 2..25, 24 cases, 16 failing
    lims["b"] = (0.0, 0.0)  # dropping it: rows 0..23, 24 cases, 17 failing
    qp = quasi_p_values(finder.x, y, lims, init, ["a", "b"])
    assert qp["a"] == pytest.approx(stats.binom.sf(14, 22, 16 / 24), rel=1e-12)
    assert qp["b"] == pytest.approx(stats.binom.sf(14, 22, 17 / 24), rel=1e-12)
    assert qp["a"] < qp["b"]  # a wider box that fails more often supports its limit less


def test_unsupported_limits_are_dropped_and_supported_ones_kept():
    """A box cut on the dimension that decides (a < 0.3) and, by chance, on one that does not
    (b < 0.9): dropping unsupported limits removes b's and keeps a's."""
    import prim

    from sim.analysis.discovery.boxes import drop_unsupported

    rng = np.random.default_rng(7)
    x = pd.DataFrame({"a": rng.uniform(size=200), "b": rng.uniform(size=200)})
    y = (x["a"] < 0.3).to_numpy()
    finder = prim.Prim(x, y)
    box = finder.find_box()
    init = box._box_lims[0]
    lims = init.copy()
    lims["a"] = (init["a"][0], 0.3)
    lims["b"] = (init["b"][0], 0.9)
    box.update(lims, np.flatnonzero((x["a"] <= 0.3) & (x["b"] <= 0.9)))
    final, qp, dropped = drop_unsupported(box, finder.x, y, init, lims, ["a", "b"], 0.05)
    assert [k for k, _ in dropped] == ["b"] and dropped[0][1] > 0.05
    assert list(qp) == ["a"] and qp["a"] < 1e-10
    assert final["a"][1] == 0.3 and final["b"][1] == init["b"][1]


def test_failures_unrelated_to_the_conditions_leave_few_supported_limits():
    """A negative control: 30 designs of 200 cases whose failures (30%) are drawn regardless
    of the conditions. PRIM peels every one of them into a box with limits; after the
    unsupported limits are dropped, few keep any (the quasi-p-values are optimistic: the box
    was chosen on the same cases, so about 1 design in 10 keeps one here, not 1 in 20)."""
    from sim.analysis.discovery.boxes import run_prim
    from sim.analysis.discovery.design import Uncertainty

    keys = ["a", "b", "c", "d"]
    d = DiscoveryDesign(uncertainties=[Uncertainty(k, 0.0, 1.0) for k in keys])
    peeled, kept = [], []
    for seed in range(30):
        rng = np.random.default_rng(seed)
        x = pd.DataFrame(rng.uniform(size=(200, 4)), columns=keys)
        out = run_prim(x, rng.uniform(size=200) < 0.3, d)
        peeled.append(int(out["trajectory"].loc[out["chosen"], "res_dim"]))
        kept.append(out["final"]["res_dim"])
    assert min(peeled) >= 1 and np.mean(peeled) >= 2  # peeling alone always finds "a box"
    assert sum(k > 0 for k in kept) <= 6 and max(kept) <= 1


def test_a_second_box_is_found_outside_the_first():
    """Failures planted in two disjoint boxes (a > 0.7 and b < 0.4; c < 0.3 and d > 0.6):
    the first box is one of them, the second, sought on the cases outside the first, is the
    other; the search stops there (a third would fail less often than the whole design)."""
    from sim.analysis.discovery.boxes import run_prim
    from sim.analysis.discovery.design import PrimSettings, Uncertainty

    keys = ["a", "b", "c", "d"]
    d = DiscoveryDesign(
        uncertainties=[Uncertainty(k, 0.0, 1.0) for k in keys], prim=PrimSettings(boxes=3)
    )
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.uniform(size=(400, 4)), columns=keys)
    y = (((x["a"] > 0.7) & (x["b"] < 0.4)) | ((x["c"] < 0.3) & (x["d"] > 0.6))).to_numpy()
    out = run_prim(x, y, d)
    planted = [
        {"a": ("lower", 0.7), "b": ("upper", 0.4)},
        {"c": ("upper", 0.3), "d": ("lower", 0.6)},
    ]
    found = []
    for b in [out, *out["more"]]:
        table = b["box"].set_index("uncertainty")
        limits = table[table["restricted"] != "no"]
        found.append(
            {
                k: (r["restricted"], r["box_low"] if r["restricted"] == "lower" else r["box_high"])
                for k, r in limits.iterrows()
            }
        )
        assert b["final"]["density"] > 0.95 and limits["significant"].all()
    assert len(found) == 2 and sorted(set(f) for f in found) == [{"a", "b"}, {"c", "d"}]
    for f in found:
        truth = next(p for p in planted if set(p) == set(f))
        for k, (side, limit) in f.items():
            assert side == truth[k][0] and abs(limit - truth[k][1]) < 0.05, (k, side, limit)
    cover = out["final"]["coverage"] + out["more"][0]["final"]["coverage"]
    assert cover > 0.9 and out["more_note"].startswith("no box 3")


def test_integer_uncertainties_are_sampled_uniformly_ends_included():
    """A week range [4, 25] drawn by the hypercube: every week as likely, the ends too."""
    d = _toy_design(
        scenario="pandemic",
        weeks=52,
        cases=2200,
        uncertainties={**TOY, "scenario.start": [4, 25]},
    )
    weeks = sample(d)["scenario.start"]
    counts = weeks.value_counts().reindex(range(4, 26), fill_value=0)
    assert weeks.dtype.kind == "i" and counts.min() >= 90 and counts.max() <= 110
    assert counts[4] >= 90 and counts[25] >= 90  # rounding alone would give about 50


def test_choose_box_takes_the_densest_box_with_enough_coverage():
    """The rule: highest density at coverage >= the minimum; ties to the higher coverage."""
    t = pd.DataFrame(
        {
            "coverage": [1.0, 0.9, 0.7, 0.6, 0.4],
            "density": [0.2, 0.5, 0.8, 0.8, 1.0],
            "res dim": [0, 1, 2, 2, 3],
        }
    )
    assert choose_box(t, 0.5) == 2
    assert choose_box(t, 0.3) == 4
    assert choose_box(t, 0.95) == 0


def test_scenario_strength_and_start_rewrite_the_shocks():
    """Strength scales each shock's effect (0 none, 1 as written); start moves every shock."""
    base = composed(_toy_design(scenario="pandemic", weeks=52), "baseline")
    shocks = base["scenario"]["shocks"]
    same = case_changes(base, {"scenario.strength": 1.0, "scenario.start": 20})
    assert same["scenario.shocks"] == shocks
    none = case_changes(base, {"scenario.strength": 0.0})["scenario.shocks"]
    assert all(s["value"] == 1.0 for s in none)  # all pandemic shocks multiply
    moved = case_changes(base, {"scenario.start": 5, "market.behaviour.close_base": 0.01})
    assert moved["market.behaviour.close_base"] == 0.01
    assert [s["start"] for s in moved["scenario.shocks"]] == [s["start"] - 15 for s in shocks]
    assert [s["end"] - s["start"] for s in moved["scenario.shocks"]] == [
        s["end"] - s["start"] for s in shocks
    ]
    double = case_changes(base, {"scenario.strength": 2.0})["scenario.shocks"]
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
        ({"seeds": "0,x"}, "seeds = '0,x' is not allowed; allowed: seeds such as 0,1 or 0-3"),
        ({"prim": {"boxes": 0}}, "prim.boxes = 0 is not allowed; allowed: a whole number 1..10"),
        (
            {"prim": {"drop_unsupported": "yes"}},
            "prim.drop_unsupported = 'yes' is not allowed; allowed: true | false",
        ),
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
    data = yaml.safe_load(DEFAULT_DESIGN.read_text())
    data["uncertainties"]["market.environment.platform_strength"] = [0.6, 4.0]
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(SystemExit) as stop:
        main(["--design", str(bad), "--no-progress"])
    assert stop.value.code == 2
    msg = capsys.readouterr().err
    assert str(bad) in msg and "platform_strength = [0.6, 4.0]" in msg and "[0, 3]" in msg
    assert not (tmp_path / "results" / "discovery").exists()


def test_the_shipped_design_is_valid():
    """configs/design/discovery.yaml loads and checks."""
    d = load_design(DEFAULT_DESIGN)
    assert d.outcome_name() == "npv" and d.outcome_direction() == "higher"
    assert d.threshold == 0.0 and len(d.uncertainties) >= 4
    assert {"scenario.strength", "scenario.start"} <= set(d.keys)


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
    main(["--design", str(path), "--no-progress", "--jobs", "2"])
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
    main(["--resume", str(folder), "--threshold", f"{median:.12g}", "--no-progress"])
    out = capsys.readouterr().out
    assert "0 to run" in out and "PRIM box" in out and "CART" in out
    assert "re-analysing" in out and f"threshold 0.0 -> {float(f'{median:.12g}')!r}" in out
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
    execute(folder, jobs=1, progress=False, simulate_fn=counting)
    assert len(calls) == 2
    for g in gone:
        new = json.loads((folder / "runs" / g).read_text())["outcomes"]
        same = [v == old[g][k] or (math.isnan(v) and math.isnan(old[g][k])) for k, v in new.items()]
        assert all(same) and set(new) == set(old[g]), g
    assert pd.read_csv(folder / "cases.csv")["gain"].equals(cases["gain"])
