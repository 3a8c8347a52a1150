"""The experiment comparison and report, on synthetic experiment folders (no simulation)."""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.analysis.compare import (
    COMPARISON_COLUMNS,
    FAILED_COLUMNS,
    INTERRUPTED,
    aggregate,
    collect,
    compare,
    main,
)
from sim.analysis.ranking import LOYALTY_HEADLINE, TRAFFIC_HEADLINE, rank
from sim.headlines import DEFAULT as DEFAULT_HEADLINES
from sim.outcomes import BY_NAME, OUTCOMES

NAMES = [o.name for o in OUTCOMES]
#: Strategy effects, added to every outcome: "placebo" is the baseline exactly.
EFFECTS = {"baseline": 0.0, "placebo": 0.0, "boost": 0.1, "drag": -0.1}
SCENARIOS = ("none", "shock")
SEEDS = range(5)
CHANNELS = ("branch", "atm", "online", "mobile", "messaging", "remote", "open")
CHANNEL_COLS = [f"contacts_{c}" for c in CHANNELS]


def _outcomes(strategy: str, scenario: str, seed: int) -> dict[str, float]:
    """Seed effect (large, shared by every strategy) + strategy effect + small noise."""
    k = SCENARIOS.index(scenario) if scenario in SCENARIOS else 9
    level = 1.0 + 0.1 * np.arange(len(NAMES))
    seed_effect = np.random.default_rng([seed, k]).normal(0.0, 1.0, len(NAMES))
    values = level + seed_effect
    if strategy not in ("baseline", "placebo"):
        s = sorted(EFFECTS).index(strategy) if strategy in EFFECTS else 7
        noise = np.random.default_rng([seed, k, 100 + s]).normal(0.0, 0.02, len(NAMES))
        values = values + EFFECTS.get(strategy, 0.0) + noise
    return dict(zip(NAMES, map(float, values), strict=True))


def _series(strategy: str, seed: int, weeks: int = 8) -> pd.DataFrame:
    rows = []
    shift = EFFECTS.get(strategy, 0.0)
    for w in range(1, weeks + 1):
        for bank, focal in (("focal_bank", True), ("rival", False)):
            row = {"week": w, "bank": bank, "focal": focal, "customers": 1000 + seed}
            row["active_4w"] = 600 + 10 * w + 100 * shift + seed
            for i, c in enumerate(CHANNEL_COLS):
                row[c] = 50 + 5 * i + w * (i - 3) * (1 + shift)
            rows.append(row)
    return pd.DataFrame(rows)


def write_run(
    exp: Path,
    strategy: str,
    scenario: str,
    seed: int,
    status: str = "complete",
    outcomes: dict | None = None,
) -> Path:
    """A run folder following the contract: complete, failed, incomplete or corrupt."""
    folder = exp / "runs" / f"{strategy}__{scenario}__s{seed}"
    folder.mkdir(parents=True)
    if status == "failed":
        (folder / "run.json").write_text(
            json.dumps({"strategy": strategy, "scenario": scenario, "seed": seed})
        )
        (folder / "FAILED").write_text(
            "ConfigError: shock week 40 is not allowed in a 30-week run\n\n"
            "Traceback (most recent call last):\n  File 'x.py'\nConfigError: ...\n"
        )
        return folder
    _series(strategy, seed).to_csv(folder / "series_banks.csv", index=False)
    pd.DataFrame({"week": range(1, 9), "bank_payments": 10.0, "platform_payments": 30.0}).to_csv(
        folder / "series_market.csv", index=False
    )
    if status == "incomplete":
        return folder
    summary = {
        "strategy": strategy,
        "scenario": scenario,
        "seed": seed,
        "market": "test",
        "weeks": 8,
        "population": 1000,
        "version": "0.1.0",
        "outcomes": outcomes if outcomes is not None else _outcomes(strategy, scenario, seed),
    }
    text = json.dumps(summary) if status == "complete" else '{"strategy": "trunc'
    (folder / "config.yaml").write_text(  # what the decision summary reads of a run's config
        f"seed: {seed}\nweeks: 8\npopulation:\n  size: 1000\n"
        "market:\n  name: test\n  customers_represented: 1000000\n  discount_rate: 0.08\n"
        f"strategy:\n  name: {strategy}\n  app_quality: {0.5 + EFFECTS.get(strategy, 0.0)}\n"
        "  rewards: 0.2\n"
        "experiment:\n  name: synthetic\n  question: Does boost beat the baseline?\n"
    )
    (folder / "summary.json").write_text(text)
    (folder / "COMPLETE").write_text("complete\n")
    return folder


def make_experiment(root: Path, strategies=tuple(EFFECTS), scenarios=SCENARIOS, seeds=SEEDS):
    """An experiment folder with one complete run per strategy, scenario and seed."""
    exp = root / "exp"
    for st in strategies:
        for sc in scenarios:
            for seed in seeds:
                write_run(exp, st, sc, seed)
    return exp


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """A full experiment plus failed, interrupted and corrupt runs, aggregated once by the CLI."""
    exp = make_experiment(tmp_path_factory.mktemp("e"))
    write_run(exp, "boost", "shock", 5, status="failed")
    write_run(exp, "drag", "shock", 6, status="incomplete")
    write_run(exp, "drag", "none", 7, status="corrupt")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(exp)])
    return SimpleNamespace(exp=exp, report=exp / "report.md", code=code, stdout=out.getvalue())


def test_collect_reads_complete_runs_and_lists_the_others(experiment):
    """Complete runs make the table (sorted, registry columns); the others are listed."""
    exp = experiment.exp
    table, failed = collect(exp)
    assert list(table.columns) == ["run", "strategy", "scenario", "seed", *NAMES]
    assert len(table) == len(EFFECTS) * len(SCENARIOS) * len(SEEDS)
    keys = list(zip(table["strategy"], table["scenario"], table["seed"], strict=True))
    assert keys == sorted(keys)
    assert list(failed.columns) == list(FAILED_COLUMNS)
    by_run = failed.set_index("run")
    f = by_run.loc["boost__shock__s5"]
    assert f["status"] == "failed" and f["seed"] == 5
    assert f["error"] == "ConfigError: shock week 40 is not allowed in a 30-week run"
    i = by_run.loc["drag__shock__s6"]
    assert i["status"] == "incomplete" and i["error"] == INTERRUPTED
    assert (i["strategy"], i["scenario"], i["seed"]) == ("drag", "shock", 6)
    c = by_run.loc["drag__none__s7"]
    assert c["status"] == "failed" and "summary.json" in c["error"]


def test_paired_intervals_are_narrower_than_unpaired(experiment):
    """With a large seed effect shared by all strategies, pairing narrows every interval."""
    exp = experiment.exp
    comp = pd.read_csv(exp / "comparison.csv")
    c = comp[comp["strategy"].isin(["boost", "drag"])]
    paired = c["ci_high"] - c["ci_low"]
    unpaired = c["unpaired_ci_high"] - c["unpaired_ci_low"]
    assert len(c) == 2 * len(SCENARIOS) * len(NAMES)
    assert (paired < unpaired).all()
    assert paired.median() < 0.2 * unpaired.median()
    # the +/-0.1 effects are seen through the pairing, not without it
    assert c["distinguishable"].all()
    assert (c["unpaired_ci_low"] < 0).mean() > 0.8 and (c["unpaired_ci_high"] > 0).mean() > 0.8


def test_identical_strategy_gives_exact_zero(experiment):
    """A strategy equal to the baseline: diff 0, interval [0, 0], p 1, not distinguishable."""
    exp = experiment.exp
    comp = pd.read_csv(exp / "comparison.csv")
    p = comp[comp["strategy"] == "placebo"]
    assert len(p) == len(SCENARIOS) * len(NAMES)
    assert (p["diff"] == 0).all() and (p["ci_low"] == 0).all() and (p["ci_high"] == 0).all()
    assert (p["p_value"] == 1).all() and not p["distinguishable"].any()
    directed = p["direction"] != "info"
    assert (p.loc[directed, "better"] == False).all()  # noqa: E712 - values read from CSV
    assert p.loc[~directed, "better"].isna().all()
    report = (exp / "report.md").read_text()
    assert "`placebo` behaves exactly as the baseline" in report
    assert "the difference of `placebo` from the baseline is not distinguishable" in report


def test_comparison_matches_a_recomputation_from_experiment_csv(experiment):
    """Means, differences, both intervals and p-values are recomputed from experiment.csv."""
    exp = experiment.exp
    table = pd.read_csv(exp / "experiment.csv")
    comp = pd.read_csv(exp / "comparison.csv")
    assert list(comp.columns) == list(COMPARISON_COLUMNS)
    assert set(comp["strategy"]) == {"placebo", "boost", "drag"}  # never the baseline
    comp = comp.set_index(["scenario", "strategy", "outcome"])
    checked = 0
    for sc in SCENARIOS:
        b = table[(table["scenario"] == sc) & (table["strategy"] == "baseline")].set_index("seed")
        for st in ("boost", "drag"):
            s = table[(table["scenario"] == sc) & (table["strategy"] == st)].set_index("seed")
            for name in NAMES:
                a, bb = s[name].sort_index().to_numpy(), b[name].sort_index().to_numpy()
                d = a - bb
                row = comp.loc[(sc, st, name)]
                lo, hi = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
                welch = stats.ttest_ind(a, bb, equal_var=False).confidence_interval(0.95)
                assert row["n_pairs"] == len(SEEDS) and row["n_missing"] == 0
                assert row["mean"] == pytest.approx(a.mean(), rel=1e-12)
                assert row["baseline_mean"] == pytest.approx(bb.mean(), rel=1e-12)
                assert row["diff"] == pytest.approx(d.mean(), rel=1e-9)
                assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-9)
                assert (row["unpaired_ci_low"], row["unpaired_ci_high"]) == pytest.approx(
                    (welch.low, welch.high), rel=1e-9
                )
                assert row["p_value"] == pytest.approx(stats.ttest_rel(a, bb).pvalue, rel=1e-6)
                assert row["distinguishable"] == (lo > 0 or hi < 0)
                checked += 1
    assert checked == 2 * len(SCENARIOS) * len(NAMES)


def test_failed_and_incomplete_runs_are_reported_and_the_report_is_made(experiment):
    """Failed and interrupted runs are in failed.csv and both reports; the rest is reported."""
    exp, report = experiment.exp, experiment.report
    assert report == exp / "report.md"
    failed = pd.read_csv(exp / "failed.csv")
    assert set(failed["run"]) == {"boost__shock__s5", "drag__shock__s6", "drag__none__s7"}
    md = report.read_text()
    page = (exp / "report.html").read_text()
    for text in ("boost__shock__s5", "drag__shock__s6", "not allowed in a 30-week run"):
        assert text in md and text in page
    assert INTERRUPTED in md
    assert "2 failed, 1 incomplete" in md
    assert "Loyalty ranking: retention_26w" in md and "Traffic ranking: active_customers" in md
    assert "Money ranking: npv" in md and "## Decision summary" in md
    assert (exp / "business.csv").exists()
    assert "distinguishable from noise?" in md
    assert not list(exp.rglob("*.tmp"))  # every file went through a temporary file and a rename


def test_report_verdicts_follow_the_outcome_direction(experiment):
    """In the full table a rise is 'better' for a higher-is-better outcome, 'worse' otherwise."""
    report = experiment.report
    md = report.read_text()
    boost = md[md.index("**boost vs baseline (scenario none)**") :]
    boost = boost[: boost.index("**drag vs baseline")]
    verdict = {
        line.split("|")[1].strip(): line.rstrip(" |").rsplit("|", 1)[-1].strip()
        for line in boost.splitlines()
        if line.startswith("| ") and not line.startswith("| outcome")
    }
    assert verdict["retention_26w"] == "better" and verdict["full_switch_26w"] == "worse"
    assert verdict["multi_banking"] == "differs"
    assert set(verdict) == set(NAMES)


def _word(c: pd.Series) -> str:
    if c["n_pairs"] < 2:
        return "not assessed"
    if not c["distinguishable"] or pd.isna(c["better"]):
        return "noise"
    return "better" if c["better"] else "worse"


def test_decision_summary_verdicts_match_comparison_csv(experiment):
    """Each strategy's verdict follows from its headlines' rows of comparison.csv; the report
    shows the same verdicts, the levers changed, the assumptions and the experiment's question."""
    exp = experiment.exp
    names = {"strategy": str, "scenario": str, "baseline": str}
    comparison = pd.read_csv(exp / "comparison.csv", dtype=names)
    decision = pd.read_csv(exp / "decision.csv", dtype=names)
    assert len(decision) == len(comparison.groupby(["scenario", "strategy"]))
    for row in decision.itertuples(index=False):
        words = {}
        for key, name in DEFAULT_HEADLINES.items():
            c = comparison[
                (comparison["scenario"] == row.scenario)
                & (comparison["strategy"] == row.strategy)
                & (comparison["outcome"] == name)
            ].iloc[0]
            words[key] = _word(c)
            assert getattr(row, f"{key}_word") == words[key]
            assert getattr(row, f"{key}_diff") == pytest.approx(c["diff"])
            assert getattr(row, f"{key}_ci_low") == pytest.approx(c["ci_low"], nan_ok=True)
        w = set(words.values())
        expected = (
            "not assessed" if "not assessed" in w
            else "trade-off" if {"better", "worse"} <= w
            else "better" if "better" in w
            else "worse" if "worse" in w
            else "noise"
        )  # fmt: skip
        assert row.verdict == expected, row
    by = decision.set_index(["scenario", "strategy"])["verdict"]
    assert by[("none", "boost")] == "better"
    assert by[("none", "drag")] == "worse"
    assert by[("none", "placebo")] == "noise"
    text = experiment.report.read_text()
    assert text.startswith("# synthetic: Does boost beat the baseline?\n")
    summary = text.split("## Decision summary", 1)[1].split("\n## ", 1)[0]
    assert summary.index("### Scenario none") < summary.index("### Scenario shock")
    for sc, part in zip(SCENARIOS, summary.split("### Scenario ")[1:], strict=True):
        lines = part.splitlines()
        start = next(i for i, x in enumerate(lines) if x.startswith("| strategy | levers"))
        rows = lines[start + 2 :]
        rows = rows[: next(i for i, x in enumerate([*rows, ""]) if not x.startswith("|"))]
        d = decision[decision["scenario"] == sc]
        shown = [line.split(" | ")[0].strip("| ") for line in rows]
        assert shown == list(d["strategy"])  # best verdict first
        for line, verdict in zip(rows, d["verdict_text"], strict=False):
            assert line.rstrip(" |").endswith(verdict)
    assert "app_quality 0.5 -> 0.6" in summary  # boost's lever, from the runs' config.yaml
    assert "1,000,000 real customers" in summary and "8 weeks" in summary
    assert "Candidates to roll out" in summary and "`boost`" in summary


def test_report_html_is_self_contained(experiment):
    """report.html has no external resource and embeds every plot of report.md as base64."""
    exp, report = experiment.exp, experiment.report
    page = (exp / "report.html").read_text()
    for bad in ('src="http', "src='http", 'href="http', "href='http", "<link", "<script", "url("):
        assert bad not in page
    images = re.findall(r"!\[[^\]]*\]\((plots/[^)]+\.png)\)", report.read_text())
    # the decision plot, two forest plots, channel mix, active customers
    assert len(images) == 5 * len(SCENARIOS)
    assert all((exp / p).is_file() for p in images)
    assert page.count('src="data:image/png;base64,') == len(images)
    assert not re.search(r"<img[^>]+src=\"(?!data:image/png;base64,)", page)


def test_ranking_follows_the_outcome_direction(experiment):
    """Higher-is-better ranks the highest difference first, lower-is-better the lowest."""
    exp = experiment.exp
    comp = compare(collect(exp)[0])
    assert BY_NAME["full_switch_26w"].direction == "lower"
    low = rank(comp, "none", "full_switch_26w")
    assert low["strategy"].iloc[0] == "drag" and low["strategy"].iloc[-1] == "boost"
    assert list(low["diff"]) == sorted(low["diff"])
    high = rank(comp, "none", "loyalty")
    assert list(high["outcome"].unique()) == [LOYALTY_HEADLINE]
    assert high["strategy"].iloc[0] == "boost" and high["strategy"].iloc[-1] == "drag"
    assert list(high["diff"]) == sorted(high["diff"], reverse=True)
    base = high[high["is_baseline"]]
    assert len(base) == 1 and base["diff"].iloc[0] == 0 and base["strategy"].iloc[0] == "baseline"
    assert list(high["rank"]) == [1, 2, 3, 4]
    assert dict(zip(high["strategy"], high["distinguishable"], strict=True)) == {
        "boost": True,
        "placebo": False,
        "baseline": False,
        "drag": True,
    }
    assert rank(comp, "shock", "traffic")["outcome"].iloc[0] == TRAFFIC_HEADLINE


def test_nan_outcomes_are_dropped_pairwise_and_counted():
    """A NaN on either side drops that seed's pair for that outcome only, and is counted."""
    rows = []
    for st in ("baseline", "boost"):
        for seed in SEEDS:
            rows.append({"run": f"{st}{seed}", "strategy": st, "scenario": "none", "seed": seed,
                         **_outcomes(st, "none", seed)})  # fmt: skip
    table = pd.DataFrame(rows)
    table.loc[(table["strategy"] == "boost") & (table["seed"] == 2), "retention_26w"] = np.nan
    table.loc[(table["strategy"] == "baseline") & (table["seed"] == 4), "retention_26w"] = np.nan
    comp = compare(table).set_index("outcome")
    r = comp.loc["retention_26w"]
    assert r["n_pairs"] == 3 and r["n_missing"] == 2
    a = table[table["strategy"] == "boost"].set_index("seed")["retention_26w"]
    b = table[table["strategy"] == "baseline"].set_index("seed")["retention_26w"]
    d = (a - b).dropna()
    assert r["diff"] == pytest.approx(d.mean()) and r["mean"] == pytest.approx(a[d.index].mean())
    assert r["ci_high"] - r["diff"] == pytest.approx(stats.t.ppf(0.975, 2) * stats.sem(d))
    assert (
        comp.loc["customer_share", "n_pairs"] == 5 and comp.loc["customer_share", "n_missing"] == 0
    )


def test_fewer_than_two_pairs_give_no_interval():
    """One paired seed: a difference but no interval, never distinguishable."""
    table = pd.DataFrame(
        [
            {"run": "b0", "strategy": "baseline", "scenario": "none", "seed": 0, "bond": 0.5},
            {"run": "b1", "strategy": "baseline", "scenario": "none", "seed": 1, "bond": 0.6},
            {"run": "x0", "strategy": "x", "scenario": "none", "seed": 0, "bond": 0.9},
            {"run": "x5", "strategy": "x", "scenario": "none", "seed": 5, "bond": 0.1},
        ]
    )
    r = compare(table).iloc[0]
    assert r["outcome"] == "bond" and r["n_pairs"] == 1 and r["n_unpaired"] == 2
    assert r["diff"] == pytest.approx(0.4)
    assert math.isnan(r["ci_low"]) and math.isnan(r["ci_high"]) and math.isnan(r["p_value"])
    assert not r["distinguishable"] and r["better"] is not pd.NA and not r["better"]


def test_duplicate_runs_of_a_seed_are_refused():
    """Two complete runs with the same strategy, scenario and seed make pairing ambiguous."""
    row = {"strategy": "baseline", "scenario": "none", "seed": 0, "bond": 0.5}
    table = pd.DataFrame([{"run": "r0", **row}, {"run": "r1", **row}])
    with pytest.raises(ValueError, match="pairing by seed would be ambiguous"):
        compare(table)


def test_only_baseline_runs_still_make_a_report(tmp_path):
    """An experiment of baseline runs only: empty comparison (with headers) and a report."""
    exp = make_experiment(tmp_path, strategies=("baseline",), scenarios=("none",), seeds=range(3))
    report = aggregate(exp)
    assert report == exp / "report.md"
    comp = pd.read_csv(exp / "comparison.csv")
    assert comp.empty and list(comp.columns) == list(COMPARISON_COLUMNS)
    failed = pd.read_csv(exp / "failed.csv")
    assert failed.empty and list(failed.columns) == list(FAILED_COLUMNS)
    md = report.read_text()
    assert "Only the baseline `baseline` ran" in md and "None: every run completed." in md
    assert (exp / "report.html").exists() and list((exp / "plots").glob("channel_mix_*.png"))


def test_cli_aggregates_and_prints_rankings(experiment, capsys):
    """python -m sim.analysis.compare EXP prints both rankings per scenario and the report."""
    assert experiment.code == 0
    out = experiment.stdout
    for sc in SCENARIOS:
        assert f"loyalty ranking, scenario {sc}" in out
        assert f"traffic ranking, scenario {sc}" in out
        # the decision table first: verdict, then money, with the extra spend beside them
        assert out.index(f"decision summary, scenario {sc}") < out.index(
            f"loyalty ranking, scenario {sc}"
        )
    assert re.search(r"^\s+boost\s.*better on all three$", out, re.M)
    assert re.search(r"^\s+1\s+boost\s", out, re.M)  # boost ranks first on both headlines
    assert f"report: {experiment.report}" in out
    assert main([str(experiment.exp / "nowhere")]) == 2
    assert "no runs/ folder" in capsys.readouterr().err


def test_the_report_does_not_import_the_aggregation():
    """The report's modules never import sim.analysis.compare (no import circle)."""
    code = (
        "import sys, sim.analysis.report, sim.analysis.decision, sim.analysis.figures; "
        "assert 'sim.analysis.compare' not in sys.modules, sorted(sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_plots_drawn_in_worker_processes_are_the_same(tmp_path):
    """write_plots in joblib workers (as an experiment does) writes the PNGs drawn in-process."""
    from sim.analysis.figures import write_plots

    exp = make_experiment(tmp_path, strategies=("baseline", "boost"), scenarios=("none",))
    table, _ = collect(exp)
    comparison = compare(table)
    here, _ = write_plots(exp, table, comparison, "baseline")
    drawn_here = {p.relpath: p.data for p in here}
    there, _ = write_plots(exp, table, comparison, "baseline", parallel={"n_jobs": 2})
    assert [p.relpath for p in there] == [p.relpath for p in here]  # same plots, same order
    assert {p.relpath: p.data for p in there} == drawn_here
    assert len(drawn_here) >= 4 and all(
        (exp / rel).read_bytes() == d for rel, d in drawn_here.items()
    )
