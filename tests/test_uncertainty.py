"""Comparisons under parameter uncertainty: posterior draws x seeds, paired within each draw."""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from sim.analysis import uncertainty as un
from sim.analysis.compare import _paired
from sim.errors import ConfigError
from sim.validate import check_override_keys, posterior_option

#: A small posterior experiment: the baseline and the placebo (identical levers).
SMALL = ["population.size=1000", "weeks=20", "spinup.weeks=0", "experiment.progress=false"]


def _experiment(results: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BANKLAB_RESULTS": str(results)}
    return subprocess.run(
        [sys.executable, "-m", "sim.experiment", *SMALL, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture(scope="module")
def posterior_experiment(tmp_path_factory):
    """2 strategies x 3 posterior draws (resampled; repeats run once) x 2 seeds."""
    results = tmp_path_factory.mktemp("results")
    r = _experiment(
        results,
        "strategy=baseline,placebo",
        "seed=range(0,2)",
        "experiment.posterior=default",
        "experiment.posterior_draws=3",
        "experiment.posterior_seed=0",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    (exp,) = list((results / "experiments").iterdir())
    return exp, r


# --------------------------------------------------------------------------- the real option


def test_the_option_runs_every_strategy_over_draws_and_seeds(posterior_experiment):
    """Each strategy ran on each recorded draw x seed, with that draw's parameter values."""
    exp, r = posterior_experiment
    draws = pd.read_csv(exp / un.DRAWS_FILE, comment="#")
    assert draws["count"].sum() == 3 and draws["weight"].sum() == pytest.approx(1.0)
    assert np.allclose(draws["weight"], draws["count"] / 3)
    table = pd.read_csv(exp / "experiment.csv")
    assert len(table) == 2 * len(draws) * 2
    assert set(table["draw"]) == set(draws["draw"])
    assert table.groupby(["strategy", "draw"]).size().eq(2).all()
    key = next(c for c in draws.columns if c.startswith("market."))
    for row in table.itertuples(index=False):
        assert f"__d{row.draw}__s{row.seed}" in row.run
        cfg = yaml.safe_load((exp / "runs" / row.run / "config.yaml").read_text())
        value = cfg
        for part in key.split("."):
            value = value[part]
        assert value == pytest.approx(float(draws.set_index("draw").loc[row.draw, key]))
    assert "under parameter uncertainty" in r.stdout


def test_placebo_differs_by_exactly_zero_in_every_draw(posterior_experiment):
    """Pairing within (draw, seed): a strategy identical to the baseline gives 0 in each draw."""
    exp, _ = posterior_experiment
    per = pd.read_csv(exp / "posterior_by_draw.csv")
    pl = per[per["strategy"] == "placebo"]
    draws = pd.read_csv(exp / un.DRAWS_FILE, comment="#")
    assert set(pl["draw"]) == set(draws["draw"])
    assert (pl["diff"].fillna(0) == 0).all()
    post = pd.read_csv(exp / "posterior.csv")
    p = post[(post["strategy"] == "placebo") & post["seed_ci_low"].notna()]
    assert len(p) > 10
    for col in ("diff", "seed_ci_low", "seed_ci_high", "param_ci_low", "param_ci_high"):
        assert (p[col] == 0).all(), col
    assert (p.loc[p["direction"] != "info", "p_better"] == 0).all()


def test_report_shows_the_posterior_columns_when_asked(posterior_experiment):
    """The report, the decision table and the plots carry the posterior figures."""
    exp, _ = posterior_experiment
    report = (exp / "report.md").read_text()
    assert "## Under parameter uncertainty" in report
    assert "95% interval with parameter uncertainty" in report  # the rankings' columns
    assert "P(better than baseline)" in report
    assert "Posterior draws: 3 resampled by weight" in report
    assert "with parameters [" in report  # the decision summary's cells
    decision = pd.read_csv(exp / "decision.csv")
    for k in ("loyalty", "traffic", "money"):
        assert {f"{k}_param_ci_low", f"{k}_param_ci_high", f"{k}_p_better"} <= set(decision)
    assert (exp / "plots" / "posterior_none.png").stat().st_size > 1000
    rankings = pd.read_csv(exp / "posterior_rankings.csv")
    assert set(rankings["headline"]) == {"loyalty", "traffic", "money"}


def test_report_has_no_posterior_columns_otherwise(posterior_experiment):
    """The same runs of one draw, aggregated without the option: no posterior figures."""
    from sim.analysis import decision as dc
    from sim.analysis.compare import compare
    from sim.analysis.render import render_markdown
    from sim.analysis.report import build_blocks

    exp, _ = posterior_experiment
    table = pd.read_csv(exp / "experiment.csv", dtype={"run": str})
    one = table[table["draw"] == 0].drop(columns="draw").reset_index(drop=True)
    comparison = compare(one)
    heads = {"loyalty": "retention_26w", "traffic": "active_customers", "money": "npv"}
    decision = dc.decisions(comparison, None, heads, "baseline")
    assert not any(c.endswith(("_p_better", "_param_ci_low")) for c in decision.columns)
    failed = pd.DataFrame(columns=["run", "strategy", "scenario", "seed", "status", "error"])
    blocks = build_blocks(exp, one, failed, comparison, "baseline", [], [], None, None, heads,
                          decision)  # fmt: skip
    text = render_markdown(blocks)
    assert "## Rankings" in text
    assert "parameter uncertainty" not in text and "P(better" not in text


def test_a_bad_option_value_is_refused_naming_key_value_and_allowed(tmp_path):
    """Wrong posterior names, draw counts and seeds: a clear error before anything runs."""
    with pytest.raises(
        ConfigError, match=r"experiment\.posterior = 'nope'.*allowed: null.*default"
    ):
        posterior_option({"posterior": "nope"}, "configs/experiment/x.yaml")
    with pytest.raises(ConfigError, match=r"experiment\.posterior_draws = 0.*from 1 to 10000"):
        posterior_option({"posterior": "default", "posterior_draws": 0})
    with pytest.raises(ConfigError, match=r"experiment\.posterior_seed = -1.*0 or more"):
        check_override_keys(["experiment.posterior_seed=-1"])
    with pytest.raises(ConfigError, match=r"posterior_draw = 'd7'.*python -m sim.experiment"):
        check_override_keys(["+posterior_draw=d7"])
    assert posterior_option({"posterior": None}) is None
    r = _experiment(tmp_path, "experiment.posterior=defualt")
    assert r.returncode == 2
    assert "experiment.posterior = 'defualt' is not allowed" in r.stderr
    assert "did you mean default" in r.stderr
    assert not (tmp_path / "experiments").exists()


def test_draws_are_resampled_by_weight_with_a_seeded_generator():
    """Same seed, same draws; a repeat is one row weighted by its count."""
    from sim.experiment import select_draws

    a, b = select_draws("default", 20, 5), select_draws("default", 20, 5)
    pd.testing.assert_frame_equal(a, b)
    assert a["count"].sum() == 20 and a["weight"].sum() == pytest.approx(1.0)
    assert a["row"].is_unique and list(a["draw"]) == list(range(len(a)))


# --------------------------------------------------------------------------- the statistics


def test_draw_stats_on_a_hand_made_table_with_weights():
    """Two draws weighted 3:1, two seeds each: every figure by hand."""
    s = un.draw_stats({0: np.array([1.0, 3.0]), 1: np.array([5.0, 7.0])}, {0: 0.75, 1: 0.25})
    # mu = .75*2 + .25*6; pooled s2 = (2 + 2) / 2; SE^2 = s2 (.75^2/2 + .25^2/2)
    # between = .75*1 + .25*9 = 3; tau2 = 3 - s2 (.5 - .3125) = 2.625
    q = stats.t.ppf(0.975, 2)
    assert s["diff"] == pytest.approx(3.0)
    h_seed = q * math.sqrt(0.625)
    h_param = q * math.sqrt(2.625 * (1 + 0.625) + 0.625)
    assert (s["seed_ci_low"], s["seed_ci_high"]) == pytest.approx((3 - h_seed, 3 + h_seed))
    assert (s["param_ci_low"], s["param_ci_high"]) == pytest.approx((3 - h_param, 3 + h_param))
    assert s["between_sd"] == pytest.approx(math.sqrt(2.625))
    assert (s["n_draws"], s["n_pairs"], s["df"]) == (2, 4, 2)


def test_one_draw_gives_the_usual_paired_interval():
    """With a single draw both intervals are the paired Student-t interval of today."""
    x = np.array([0.3, -0.1, 0.8, 0.4, 0.1])
    s = un.draw_stats({4: x}, {4: 1.0})
    ref = _paired(x, np.zeros_like(x), 0.95)
    assert (s["seed_ci_low"], s["seed_ci_high"]) == pytest.approx((ref["ci_low"], ref["ci_high"]))
    assert (s["param_ci_low"], s["param_ci_high"]) == pytest.approx((ref["ci_low"], ref["ci_high"]))
    assert s["p_value"] == pytest.approx(ref["p_value"])


def test_parameter_interval_is_wider_when_draws_differ():
    """Draws whose effects differ widen the interval; identical draws leave it as it is."""
    w = {0: 0.5, 1: 0.3, 2: 0.2}
    differ = un.draw_stats({0: np.array([1.0, 1.2]), 1: np.array([3.0, 3.1]),
                            2: np.array([-1.0, -0.8])}, w)  # fmt: skip
    assert differ["param_ci_high"] - differ["param_ci_low"] > 3 * (
        differ["seed_ci_high"] - differ["seed_ci_low"]
    )
    same = un.draw_stats({d: np.array([1.0, 1.2]) for d in w}, w)
    assert same["param_ci_low"] == pytest.approx(same["seed_ci_low"])
    assert same["param_ci_high"] == pytest.approx(same["seed_ci_high"])


def test_p_better_is_the_weight_of_the_draws_in_the_good_direction():
    """A tie counts for neither side; the direction comes from the outcome."""
    means, w = {0: 2.0, 1: -1.0, 2: 0.0}, {0: 0.5, 1: 0.3, 2: 0.2}
    assert un.p_better(means, w, "higher") == pytest.approx((0.5, 0.3))
    assert un.p_better(means, w, "lower") == pytest.approx((0.3, 0.5))
    assert all(math.isnan(v) for v in un.p_better(means, w, "info"))


def _table(effects: dict[str, dict[int, float]]) -> pd.DataFrame:
    """A hand-made experiment table: retention_26w per strategy, draw and seed."""
    rows = []
    for draw in (0, 1):
        for seed in (0, 1):
            noise = 0.01 * seed
            rows.append({"strategy": "baseline", "draw": draw, "seed": seed, "v": 0.5 + noise})
            for st, eff in effects.items():
                rows.append({"strategy": st, "draw": draw, "seed": seed,
                             "v": 0.5 + noise + eff[draw]})  # fmt: skip
    t = pd.DataFrame(rows).rename(columns={"v": "retention_26w"})
    t["scenario"], t["run"] = "none", [f"r{i}" for i in range(len(t))]
    return t


def test_rank_flips_name_the_pairs_that_swap_and_their_weight():
    """Draw 1 (weight 0.4) swaps a and b: the ranking flips in 40% of the posterior."""
    table = _table({"a": {0: 0.02, 1: 0.005}, "b": {0: 0.01, 1: 0.015}})
    w = {0: 0.6, 1: 0.4}
    heads = {"loyalty": "retention_26w"}
    _, post = un.compare_draws(table, w, "baseline", 0.95, heads)
    a = post[post["strategy"] == "a"].iloc[0]
    assert a["diff"] == pytest.approx(0.6 * 0.02 + 0.4 * 0.005)
    assert a["p_better"] == pytest.approx(1.0) and a["headline"] == "loyalty"
    pairs, ranks = un.rank_flips(post, un.by_draw(table, w, "baseline"), heads, "baseline")
    flips = pairs.set_index(["above", "below"])["flip_share"]
    assert flips[("a", "b")] == pytest.approx(0.4)
    assert flips[("a", "baseline")] == 0 and flips[("b", "baseline")] == 0
    r = ranks.iloc[0]
    assert r["pooled_order"] == "a > b > baseline"
    assert r["differs_share"] == pytest.approx(0.4) and r["leader_changes_share"] == pytest.approx(
        0.4
    )
    assert r["flips"] == "a/b in 40%"
    same = _table({"a": {0: 0.02, 1: 0.03}, "b": {0: 0.01, 1: 0.015}})
    _, post2 = un.compare_draws(same, w, "baseline", 0.95, heads)
    _, ranks2 = un.rank_flips(post2, un.by_draw(same, w, "baseline"), heads, "baseline")
    assert ranks2.iloc[0]["differs_share"] == 0
    text = un._ranking_sentence(r)
    assert "**The ranking on loyalty (`retention_26w`) flips across the posterior**" in text


def test_runs_of_an_unrecorded_draw_are_refused(tmp_path):
    """A run whose draw is not in posterior_draws.csv: the aggregation names it."""
    draws = pd.DataFrame({"draw": [0, 1], "weight": [3.0, 1.0], "count": [3, 1], "row": [4, 9]})
    (tmp_path / un.DRAWS_FILE).write_text("# a header\n" + draws.to_csv(index=False))
    read = un.read_draws(tmp_path)
    assert list(read["weight"]) == pytest.approx([0.75, 0.25])
    table = _table({"a": {0: 0.01, 1: 0.02}}).assign(draw=lambda t: t["draw"] * 5)
    with pytest.raises(ValueError, match=r"draw\(s\) 5 are not in posterior_draws.csv"):
        un.weights_of(read, table)
    (tmp_path / un.DRAWS_FILE).write_text("draw,weight\n0,-1\n")
    with pytest.raises(ValueError, match="non-negative"):
        un.read_draws(tmp_path)
