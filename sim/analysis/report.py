"""The report of an experiment: ``report.md`` and a self-contained ``report.html``.

:func:`write_report` is called by :func:`sim.analysis.compare.aggregate`. It draws
the plots (:mod:`sim.analysis.figures`), builds the document (this module: what
was run, the decision summary of :mod:`sim.analysis.decision` first, then how to
read it, the rankings, every outcome, failed runs, plots and files) and renders it
twice from the same blocks (:mod:`sim.analysis.render`). It also writes
``decision.csv``, the decision summary as a table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis import decision as dc
from sim.analysis import formatting as fm
from sim.analysis import render as doc
from sim.analysis import uncertainty as un
from sim.analysis.figures import Plot, strategy_order, write_plots
from sim.analysis.ranking import HEADLINES, rank
from sim.atomic import atomic_write
from sim.outcomes import BY_NAME, OUTCOMES


def _ranking_table(
    comparison: pd.DataFrame, scenario: str, headline: str, baseline: str, posterior=None
):
    o = BY_NAME[HEADLINES.get(headline, headline)]
    r = rank(comparison, scenario, headline, baseline)
    level = fm.level(comparison)
    verdict = []
    for row in r.itertuples(index=False):
        if row.is_baseline:
            verdict.append("baseline")
        elif row.n_pairs < 2:
            verdict.append("no (fewer than 2 paired seeds)")
        else:
            verdict.append("yes" if row.distinguishable else "no")
    extra: dict[str, list[str]] = {}
    if posterior is not None:  # the posterior columns beside the seed-only interval
        p = posterior.summary
        p = p[(p["scenario"] == scenario) & (p["outcome"] == o.name)].set_index("strategy")
        rows = [p.loc[st] if st in p.index else None for st in r["strategy"]]
        extra = {
            f"{level}% interval with parameter uncertainty": [
                "-" if x is None else fm.fmt_interval(x["param_ci_low"], x["param_ci_high"])
                for x in rows
            ],
            "P(better than baseline)": [
                "-" if x is None or pd.isna(x["p_better"]) else f"{x['p_better']:.0%}" for x in rows
            ],
        }
    return pd.DataFrame(
        {
            "rank": ["-" if pd.isna(x) else str(x) for x in r["rank"]],
            "strategy": r["strategy"],
            f"mean ({o.unit})": r["mean"].map(fm.fmt),
            "difference": [
                "0" if b else fm.fmt(d, True)
                for d, b in zip(r["diff"], r["is_baseline"], strict=True)
            ],
            f"{level}% interval": [
                "-" if b else fm.fmt_interval(lo, hi)
                for lo, hi, b in zip(r["ci_low"], r["ci_high"], r["is_baseline"], strict=True)
            ],
            **extra,
            "seeds paired": r["n_pairs"].astype(str),
            "distinguishable from noise?": verdict,
        }
    )


def _noise_paragraph(c: pd.DataFrame, scenario: str, headlines: dict[str, str]) -> doc.Block:
    """Plain English: which headline differences are not distinguishable from noise."""
    parts = []
    for label, headline in headlines.items():
        h = c[c["outcome"] == headline]
        noise = sorted(h.loc[(h["n_pairs"] >= 2) & ~h["distinguishable"], "strategy"])
        few = sorted(h.loc[h["n_pairs"] < 2, "strategy"])
        better = sorted(h.loc[h["better"].fillna(False).astype(bool), "strategy"])
        worse = sorted(
            h.loc[h["distinguishable"] & ~h["better"].fillna(True).astype(bool), "strategy"]
        )
        s = f"On {label} (`{headline}`), "
        if len(noise) == 1:
            s += (
                f"the difference of {fm.codes(noise)} from the baseline is not distinguishable "
                "from noise: its interval includes zero, so this experiment cannot tell it "
                "from chance"
            )
        elif noise:
            s += (
                f"the differences of {fm.codes(noise)} from the baseline are not distinguishable "
                "from noise: their intervals include zero, so this experiment cannot tell them "
                "from chance"
            )
        else:
            s += "every strategy's difference from the baseline is distinguishable from noise"
        if few:
            s += f"; {fm.codes(few)} could not be assessed (fewer than 2 seeds paired)"
        clear = []
        if better:
            clear.append(f"distinguishably better: {fm.codes(better)}")
        if worse:
            clear.append(f"distinguishably worse: {fm.codes(worse)}")
        if clear:
            s += " (" + "; ".join(clear) + ")"
        parts.append(s + ".")
    identical = [
        s
        for s, g in c.groupby("strategy", sort=True)
        if (g["n_pairs"] >= 1).any()
        and (g.loc[g["n_pairs"] >= 1, "diff"] == 0).all()
        and (g.loc[g["n_pairs"] >= 2, "ci_low"] == 0).all()
        and (g.loc[g["n_pairs"] >= 2, "ci_high"] == 0).all()
    ]
    if identical:
        verb = "behaves" if len(identical) == 1 else "behave"
        parts.append(
            f"{fm.codes(identical)} {verb} exactly as the baseline: every paired difference is "
            "exactly 0 on every outcome."
        )
    ok = c[np.isfinite(c["ci_low"]) & np.isfinite(c["unpaired_ci_low"])]
    paired_w = ok["ci_high"] - ok["ci_low"]
    unpaired_w = ok["unpaired_ci_high"] - ok["unpaired_ci_low"]
    keep = (paired_w > 0) & (unpaired_w > 0)
    if keep.any():
        ratio = float(np.median(unpaired_w[keep] / paired_w[keep]))
        parts.append(
            f"Pairing by seed made the median interval {fm.fmt(ratio)} times "
            f"{'narrower' if ratio >= 1 else 'wider (!)'} than an unpaired comparison of the "
            "same runs."
        )
    return doc.p(f"**Scenario {scenario}.** " + " ".join(parts))


def _full_table(g: pd.DataFrame) -> pd.DataFrame:
    level = fm.level(g)

    def verdict(r) -> str:
        if r.n_pairs < 2:
            return "too few pairs"
        if not r.distinguishable:
            return "not distinguishable"
        if r.direction == "info":
            return "differs"
        return "better" if fm.flag(r.better) else "worse"

    return pd.DataFrame(
        {
            "outcome": g["outcome"],
            "unit": g["unit"],
            "good direction": g["direction"].map(
                {"higher": "higher", "lower": "lower", "info": "info"}
            ),
            "baseline mean": g["baseline_mean"].map(fm.fmt),
            "mean": g["mean"].map(fm.fmt),
            "difference": g["diff"].map(lambda v: fm.fmt(v, True)),
            f"{level}% interval": [
                fm.fmt_interval(lo, hi) for lo, hi in zip(g["ci_low"], g["ci_high"], strict=True)
            ],
            f"unpaired {level}% interval": [
                fm.fmt_interval(lo, hi)
                for lo, hi in zip(g["unpaired_ci_low"], g["unpaired_ci_high"], strict=True)
            ],
            "p": g["p_value"].map(fm.fmt_p),
            "pairs": [
                f"{n} ({m} dropped: NaN)" if m else str(n)
                for n, m in zip(g["n_pairs"], g["n_missing"], strict=True)
            ],
            "verdict": [verdict(r) for r in g.itertuples(index=False)],
        }
    )


def _baseline_table(t: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for o in OUTCOMES:
        v = t[o.name].to_numpy(float) if o.name in t.columns else np.array([])
        v = v[np.isfinite(v)]
        rows.append(
            {
                "outcome": o.name,
                "unit": o.unit,
                "mean": fm.fmt(v.mean()) if v.size else "n/a",
                "sd over seeds": fm.fmt(v.std(ddof=1)) if v.size > 1 else "n/a",
                "seeds": str(v.size),
            }
        )
    return pd.DataFrame(rows)


def _runs_grid(table: pd.DataFrame, failed: pd.DataFrame, baseline: str) -> pd.DataFrame:
    strategies = strategy_order(
        list(table["strategy"]) + [s for s in failed["strategy"] if isinstance(s, str)], baseline
    )
    scenarios = sorted(
        set(table["scenario"]) | {s for s in failed["scenario"] if isinstance(s, str)}
    )
    rows = []
    for st in strategies:
        row = {"strategy": st}
        for sc in scenarios:
            n = int(((table["strategy"] == st) & (table["scenario"] == sc)).sum())
            f = failed[(failed["strategy"] == st) & (failed["scenario"] == sc)]
            extra = [
                f"{k} {status}"
                for status in ("failed", "incomplete")
                if (k := int((f["status"] == status).sum()))
            ]
            row[sc] = str(n) + (f" (+{', '.join(extra)})" if extra else "")
        rows.append(row)
    return pd.DataFrame(rows, columns=["strategy", *scenarios])


def _consistency(meta: pd.DataFrame | None) -> list[str]:
    if meta is None or meta.empty:
        return []
    out = []
    for col in ("market", "weeks", "population", "version"):
        values = sorted({str(v) for v in meta[col] if v is not None and not pd.isna(v)})
        if len(values) > 1:
            out.append(
                f"The complete runs differ in {col} ({', '.join(values)}): runs compared with "
                "each other should differ only in strategy (and seed). Check the run folders."
            )
    return out


def build_blocks(
    exp_dir: Path,
    table: pd.DataFrame,
    failed: pd.DataFrame,
    comparison: pd.DataFrame,
    baseline: str,
    plots: list[Plot],
    notes: list[str],
    meta: pd.DataFrame | None = None,
    business: pd.DataFrame | None = None,
    headlines: dict[str, str] | None = None,
    decision: pd.DataFrame | None = None,
    configs: dict[str, dict[str, Any]] | None = None,
    posterior=None,
) -> list[doc.Block]:
    """The report's content, rendered by :mod:`sim.analysis.render`.

    ``posterior`` (:class:`sim.analysis.uncertainty.PosteriorTables`, a posterior
    experiment): the rankings get the posterior columns and the report a section
    *Under parameter uncertainty* (:func:`sim.analysis.uncertainty.posterior_blocks`).

    ``decision`` is the decision table (:func:`sim.analysis.decision.decisions`),
    ``configs`` one run's ``config.yaml`` per strategy (:func:`~sim.analysis.decision.
    run_configs`): the experiment's name and question, the levers and the assumptions.
    """
    headlines = headlines or HEADLINES
    configs = configs or {}
    level = fm.level(comparison)
    scenarios = sorted(table["scenario"].unique()) if len(table) else []
    strategies = strategy_order(table["strategy"], baseline) if len(table) else []
    n_failed = int((failed["status"] == "failed").sum())
    n_incomplete = int((failed["status"] == "incomplete").sum())
    name, question = dc.experiment_title(configs, baseline, Path(exp_dir).name)
    b: list[doc.Block] = [doc.h(1, f"{name}: {question}" if question else f"Experiment {name}")]
    b.append(doc.p(f"Experiment folder `{Path(exp_dir).name}`."))

    # ---- the decision summary and the business case, first
    if decision is not None and len(decision):
        b.extend(
            dc.decision_blocks(
                decision, business, baseline, headlines, level, plots,
                dc.assumptions(configs, baseline), dc.dilution(comparison),
            )
        )  # fmt: skip

    # ---- what was run
    b.append(doc.h(2, "What was run"))
    items = [
        f"Strategies ({len(strategies)}): {', '.join(strategies) or 'none'}; each is compared "
        f"with the baseline `{baseline}`.",
        f"Scenarios ({len(scenarios)}): {', '.join(scenarios) or 'none'}.",
        f"Seeds: {fm.ranges(table['seed']) if len(table) else 'none'}.",
        *([un.draws_item(posterior.draws)] if posterior is not None else []),
        f"Runs: {len(table) + len(failed)} run folders: {len(table)} complete, "
        f"{n_failed} failed, {n_incomplete} incomplete (interrupted).",
    ]
    if meta is not None and len(meta):
        for col, label in (("market", "Market"), ("weeks", "Weeks simulated"),
                           ("population", "Customers"), ("version", "Model version")):  # fmt: skip
            vals = sorted({str(v) for v in meta[col] if v is not None and not pd.isna(v)})
            if vals:
                items.append(f"{label}: {', '.join(vals)}.")
    b.append(doc.ul(items))
    warnings = _consistency(meta)
    if len(table) and baseline not in set(table["strategy"]):
        warnings.append(
            f"No complete run of the baseline `{baseline}`: no strategy can be compared. "
            "Run it (or name the right baseline with --baseline)."
        )
    for w in warnings:
        b.append(doc.p(f"**Warning.** {w}"))
    if len(table) or len(failed):
        b.append(doc.p("Complete runs per strategy and scenario:"))
        b.append(doc.t(_runs_grid(table, failed, baseline)))

    # ---- how to read
    b.append(doc.h(2, "How to read this"))
    b.append(
        doc.p(
            "Each strategy is compared with the baseline run on the same seed in the same "
            "scenario. Runs with the same seed share every random draw the strategy's levers "
            "do not change (common random numbers), so the paired difference removes most of "
            "the seed-to-seed noise that two independent runs would carry. The difference is "
            "the mean over seeds of (strategy - baseline); its interval is the "
            f"{level}% Student-t interval of those paired differences (seeds - 1 degrees of "
            "freedom). A difference is **distinguishable from noise** when its interval "
            "excludes zero; otherwise this experiment cannot tell it from chance (more seeds "
            "narrow the interval). The unpaired interval (Welch, on the same runs) shows what "
            "pairing buys. A run with a missing (NaN) outcome drops out of that outcome's "
            "pairs only, and the dropped pairs are counted. Intervals are not adjusted for "
            "the many outcomes and strategies compared: across dozens of comparisons, a few "
            f"intervals exclude zero by chance at the {level}% level."
        )
    )

    if posterior is not None:
        b.append(
            doc.p(
                "**Over posterior draws.** In this experiment every strategy ran on several "
                "parameter sets drawn from the market's calibrated posterior: runs are paired "
                "within a (draw, seed), a difference is the posterior-weighted mean over the "
                "draws of their mean paired differences, and the rankings' intervals are seed-only "
                "(the parameters taken as known; seed noise pooled within draws). The columns "
                "*with parameter uncertainty* and *P(better than baseline)* beside them count "
                "the parameters' uncertainty too (section *Under parameter uncertainty*)."
            )
        )

    # ---- rankings
    b.append(doc.h(2, "Rankings"))
    if not len(table):
        b.append(doc.p("No run completed: there is nothing to rank."))
    elif comparison.empty:
        b.append(doc.p(f"Only the baseline `{baseline}` ran: there is no strategy to rank."))
    for sc in scenarios:
        c = comparison[comparison["scenario"] == sc]
        has_base = bool(((table["scenario"] == sc) & (table["strategy"] == baseline)).any())
        b.append(doc.h(3, f"Scenario {sc}"))
        if c.empty:
            b.append(
                doc.p(
                    f"Only the baseline ran in scenario {sc}: no strategy to rank. Its "
                    "outcomes over seeds:"
                )
            )
            t = table[(table["scenario"] == sc) & (table["strategy"] == baseline)]
            b.append(doc.t(_baseline_table(t)))
            continue
        if not has_base:
            b.append(
                doc.p(
                    f"**No complete baseline run in scenario {sc}**: its strategies "
                    f"({fm.codes(sorted(c['strategy'].unique()))}) cannot be compared (see the "
                    "failed runs)."
                )
            )
            continue
        for label, headline in headlines.items():
            o = BY_NAME[headline]
            b.append(doc.h(4, f"{label.capitalize()} ranking: {headline}"))
            b.append(
                doc.p(
                    f"`{headline}` ({o.unit}; {fm.direction_text(o)}): {o.definition} Best "
                    f"difference from the baseline first; {level}% interval paired by seed."
                )
            )
            b.append(doc.t(_ranking_table(comparison, sc, headline, baseline, posterior)))
        b.append(_noise_paragraph(c, sc, headlines))

    # ---- under parameter uncertainty
    if posterior is not None:
        b.extend(un.posterior_blocks(posterior, baseline, headlines, level, plots))

    # ---- full table
    if len(comparison):
        b.append(doc.h(2, "Every outcome"))
        b.append(
            doc.p(
                "Per scenario and strategy: the baseline's and the strategy's means over the "
                f"paired seeds, the paired difference with its {level}% interval, the unpaired "
                "interval on the same runs, the paired t-test's p-value and the verdict "
                "(better or worse in the outcome's good direction when distinguishable from "
                "noise; 'differs' for information outcomes). Definitions are in "
                "`sim/outcomes.py`."
            )
        )
        for sc in sorted(comparison["scenario"].unique()):
            b.append(doc.h(3, f"Scenario {sc}"))
            for st, g in comparison[comparison["scenario"] == sc].groupby("strategy", sort=True):
                b.append(
                    doc.Block(
                        "details",
                        f"{st} vs {baseline} (scenario {sc})",
                        children=(doc.t(_full_table(g)),),
                    )
                )

    # ---- failed runs
    b.append(doc.h(2, "Failed and incomplete runs"))
    if len(failed):
        b.append(
            doc.p(
                f"Failed: {fm.runs(n_failed)}; incomplete (interrupted: no completion marker): "
                f"{fm.runs(n_incomplete)}. They are left out of every table and plot; the "
                "complete runs made the rest of this report."
            )
        )
        f = failed[["run", "strategy", "scenario", "seed", "status", "error"]].copy()
        f["seed"] = [("" if pd.isna(s) else str(int(s))) for s in f["seed"]]
        b.append(doc.t(f.fillna("")))
    else:
        b.append(doc.p("None: every run completed."))

    # ---- plots
    b.append(doc.h(2, "Plots"))
    if plots:
        b.append(
            doc.p(
                "Forest plots: each strategy's difference from the baseline with its paired "
                f"{level}% interval (green: distinguishably better; red: distinguishably worse; "
                "blue: an information outcome that differs; grey: not distinguishable from "
                "noise; hollow dot: fewer than 2 pairs). Channel mix: the focal bank's share of "
                "the week's contacts by channel (contacts averaged over seeds). Active "
                "customers: the focal bank's holders with an interaction in the last 4 weeks, "
                "mean over seeds."
            )
        )
    else:
        b.append(doc.p("No plot: there is no complete run to draw."))
    for sc in sorted({p.scenario for p in plots}):
        b.append(doc.h(3, f"Scenario {sc}"))
        b.extend(
            doc.Block("img", p.title, plot=p)
            for p in plots
            if p.scenario == sc and not Path(p.relpath).name.startswith(("decision_", "posterior_"))
        )

    # ---- notes and files
    if notes:
        b.append(doc.h(2, "Notes on the data"))
        b.append(doc.ul(notes))
    b.append(doc.h(2, "Files"))
    b.append(
        doc.ul(
            [
                "`experiment.csv`: one row per complete run (run, strategy, scenario, seed, "
                "in a posterior experiment its draw, every outcome).",
                "`comparison.csv`: per scenario, strategy and outcome: pairs, means, paired "
                "difference and interval, unpaired interval, p-value, distinguishable, better.",
                "`business.csv`: per scenario and strategy, the business case against the "
                "baseline (incremental profit and NPV, extra spend, payback week, cost per "
                "extra retained and active customer, return on spend) with intervals.",
                "`decision.csv`: per scenario and strategy, the decision summary: levers "
                "changed, each headline's paired difference and interval and its word, extra "
                "spend, incremental NPV and the verdict.",
                "`failed.csv`: failed and incomplete runs with their errors.",
                *(un.FILE_ITEMS if posterior is not None else []),
                "`plots/`: the plots above (PNG).",
                "`REPORT_COMPLETE`: written after every file above, with their SHA-256; "
                "without it (an aggregation that was killed or ran out of disk) the files "
                "may be a mix of two aggregations: run `python -m sim.analysis.compare` on "
                "the folder again.",
            ]
        )
    )
    return b


def write_report(
    exp_dir: Path,
    table: pd.DataFrame,
    failed: pd.DataFrame,
    comparison: pd.DataFrame,
    baseline: str,
    meta: pd.DataFrame | None = None,
    business: pd.DataFrame | None = None,
    headlines: dict[str, str] | None = None,
    decision: pd.DataFrame | None = None,
    configs: dict[str, dict[str, Any]] | None = None,
    posterior=None,
    parallel: dict | None = None,
) -> Path:
    """Write the plots, ``report.md`` and ``report.html`` (atomically); returns report.md.

    Without ``configs`` they are read from the runs; without ``decision`` it is computed.
    ``parallel``: ``joblib.Parallel`` arguments to draw the plots in worker processes
    (:func:`sim.analysis.figures.write_plots`).
    """
    exp_dir = Path(exp_dir)
    headlines = headlines or HEADLINES
    if configs is None:
        configs = dc.run_configs(exp_dir, table)
    if decision is None:
        decision = dc.decisions(comparison, business, headlines, baseline, configs, posterior)
    plots, notes = write_plots(
        exp_dir, table, comparison, baseline, decision, headlines, posterior, parallel
    )
    blocks = build_blocks(
        exp_dir, table, failed, comparison, baseline, plots, notes, meta, business, headlines,
        decision, configs, posterior,
    )  # fmt: skip
    title = blocks[0].text if blocks else f"Experiment {exp_dir.name}"
    atomic_write(exp_dir / "report.html", doc.render_html(blocks, title))
    return atomic_write(exp_dir / "report.md", doc.render_markdown(blocks))
