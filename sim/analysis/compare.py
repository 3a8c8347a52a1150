"""Comparison of an experiment's strategies against the baseline, paired by seed.

An experiment folder ``EXP/`` holds ``EXP/runs/<run>/`` run folders (complete
when ``COMPLETE`` exists; failed when ``FAILED`` exists). :func:`aggregate`
reads them and writes ``experiment.csv`` (one row per complete run),
``failed.csv`` (failed and interrupted runs), ``comparison.csv`` (per scenario,
strategy and outcome: the mean, the difference from the baseline paired by
seed with a 95% t-interval, the unpaired Welch interval on the same runs, and
whether the difference is distinguishable from noise), plots and the report
(``report.md``, ``report.html``).

``python -m sim.analysis.compare EXP [--baseline NAME]`` re-aggregates a folder.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.outcomes import BY_NAME, OUTCOMES

LOYALTY_HEADLINE = "retention_26w"
TRAFFIC_HEADLINE = "contacts_per_customer"
ID_COLUMNS = ["run", "strategy", "scenario", "seed"]
COMPARISON_COLUMNS = [
    "scenario", "strategy", "outcome", "group", "unit", "direction", "n_pairs", "n_missing",
    "mean", "baseline_mean", "diff", "ci_low", "ci_high", "unpaired_ci_low",
    "unpaired_ci_high", "p_value", "distinguishable", "better",
]


def collect(exp_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The experiment table (complete runs) and the failed or interrupted runs."""
    rows, bad = [], []
    runs = Path(exp_dir) / "runs"
    for folder in sorted(p for p in runs.iterdir() if p.is_dir()) if runs.exists() else []:
        if (folder / "COMPLETE").exists():
            s = json.loads((folder / "summary.json").read_text())
            rows.append({"run": folder.name, "strategy": s["strategy"],
                         "scenario": s["scenario"], "seed": int(s["seed"]),
                         **{o.name: s["outcomes"].get(o.name, np.nan) for o in OUTCOMES}})
            continue
        ident = _identity(folder)
        if (folder / "FAILED").exists():
            text = (folder / "FAILED").read_text().strip().splitlines()
            bad.append({**ident, "status": "failed", "error": text[0] if text else "failed"})
        else:
            bad.append({**ident, "status": "incomplete",
                        "error": "interrupted: no completion marker"})
    table = pd.DataFrame(rows, columns=[*ID_COLUMNS, *(o.name for o in OUTCOMES)])
    table = table.sort_values(["strategy", "scenario", "seed"], kind="stable")
    failed = pd.DataFrame(bad, columns=[*ID_COLUMNS, "status", "error"])
    return table.reset_index(drop=True), failed


def _identity(folder: Path) -> dict:
    meta = folder / "run.json"
    if meta.exists():
        d = json.loads(meta.read_text())
        return {"run": folder.name, "strategy": d.get("strategy"), "scenario": d.get("scenario"),
                "seed": d.get("seed")}
    parts = folder.name.split("__")  # <strategy>__<scenario>__s<seed>
    seed = int(parts[2][1:]) if len(parts) == 3 and parts[2][1:].isdigit() else None
    return {"run": folder.name, "strategy": parts[0] if parts else None,
            "scenario": parts[1] if len(parts) > 1 else None, "seed": seed}


def _t_interval(x: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Mean and t-interval of a sample; exact zeros give [0, 0]."""
    n = x.size
    if n == 0:
        return np.nan, np.nan, np.nan
    m = float(x.mean())
    if n < 2:
        return m, np.nan, np.nan
    sd = float(x.std(ddof=1))
    if sd == 0.0:
        return m, m, m
    h = stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n)
    return m, m - h, m + h


def _welch(a: np.ndarray, b: np.ndarray, confidence: float) -> tuple[float, float]:
    if a.size < 2 or b.size < 2:
        return np.nan, np.nan
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    d = a.mean() - b.mean()
    se = np.sqrt(va + vb)
    if se == 0:
        return float(d), float(d)
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    h = stats.t.ppf(0.5 + confidence / 2, dof) * se
    return float(d - h), float(d + h)


def compare(table: pd.DataFrame, baseline: str = "baseline",
            confidence: float = 0.95) -> pd.DataFrame:
    """Each strategy's outcomes against the baseline's, paired by seed within a scenario."""
    rows = []
    for scenario, sc in table.groupby("scenario", sort=True):
        base = sc[sc["strategy"] == baseline].set_index("seed")
        for strategy, st in sc.groupby("strategy", sort=True):
            if strategy == baseline:
                continue
            st = st.set_index("seed")
            seeds = st.index.intersection(base.index)
            for o in OUTCOMES:
                a = st.loc[seeds, o.name].to_numpy(float)
                b = base.loc[seeds, o.name].to_numpy(float)
                ok = np.isfinite(a) & np.isfinite(b)
                d = a[ok] - b[ok]
                diff, lo, hi = _t_interval(d, confidence)
                if d.size >= 2 and np.all(d == d[0]):
                    p = 1.0 if d[0] == 0 else 0.0
                elif d.size >= 2:
                    p = float(stats.ttest_1samp(d, 0.0).pvalue)
                else:
                    p = np.nan
                a_all = st[o.name].to_numpy(float)
                b_all = base[o.name].to_numpy(float)
                ulo, uhi = _welch(a_all[np.isfinite(a_all)], b_all[np.isfinite(b_all)],
                                  confidence)
                dist = bool(np.isfinite(lo) and (lo > 0 or hi < 0))
                better = (pd.NA if o.direction == "info" else
                          bool(dist and ((diff > 0) == (o.direction == "higher"))))
                rows.append({
                    "scenario": scenario, "strategy": strategy, "outcome": o.name,
                    "group": o.group, "unit": o.unit, "direction": o.direction,
                    "n_pairs": int(d.size), "n_missing": int((~ok).sum()),
                    "mean": float(np.nanmean(a_all)) if np.isfinite(a_all).any() else np.nan,
                    "baseline_mean": (float(np.nanmean(b_all)) if np.isfinite(b_all).any()
                                      else np.nan),
                    "diff": diff, "ci_low": lo, "ci_high": hi,
                    "unpaired_ci_low": ulo, "unpaired_ci_high": uhi,
                    "p_value": p, "distinguishable": dist, "better": better,
                })
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def rank(comparison: pd.DataFrame, scenario: str, headline: str,
         baseline: str = "baseline") -> pd.DataFrame:
    """Strategies ranked on one outcome's difference from the baseline, best first."""
    o = BY_NAME[headline]
    c = comparison[(comparison["scenario"] == scenario) & (comparison["outcome"] == headline)]
    c = c[["strategy", "mean", "diff", "ci_low", "ci_high", "distinguishable"]].copy()
    base_mean = comparison[(comparison["scenario"] == scenario)
                           & (comparison["outcome"] == headline)]["baseline_mean"]
    c.loc[len(c)] = {"strategy": baseline,
                     "mean": float(base_mean.iloc[0]) if len(base_mean) else np.nan,
                     "diff": 0.0, "ci_low": 0.0, "ci_high": 0.0, "distinguishable": False}
    sign = -1.0 if o.direction == "lower" else 1.0
    c["_key"] = sign * c["diff"].fillna(-np.inf * sign)
    c = c.sort_values("_key", ascending=False, kind="stable").drop(columns="_key")
    c.insert(0, "rank", range(1, len(c) + 1))
    return c.reset_index(drop=True)


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_csv(tmp, index=False, float_format="%.10g")
    os.replace(tmp, path)


def aggregate(exp_dir: Path, baseline: str = "baseline") -> Path:
    """Write the tables, plots and report of an experiment folder; return report.md's path."""
    from sim.analysis.report import write_report

    exp_dir = Path(exp_dir)
    table, failed = collect(exp_dir)
    comparison = compare(table, baseline)
    _write_csv(table, exp_dir / "experiment.csv")
    _write_csv(failed, exp_dir / "failed.csv")
    _write_csv(comparison, exp_dir / "comparison.csv")
    return write_report(exp_dir, table, failed, comparison, baseline)


def print_summary(exp_dir: Path, report: Path, baseline: str = "baseline") -> None:
    """Print the short ranked tables and the report's path."""
    comparison = pd.read_csv(Path(exp_dir) / "comparison.csv")
    failed = pd.read_csv(Path(exp_dir) / "failed.csv")
    if comparison.empty:
        print("no strategy to compare with the baseline (runs complete: see experiment.csv)")
    for scenario in sorted(comparison["scenario"].unique()) if len(comparison) else []:
        for label, headline in (("loyalty", LOYALTY_HEADLINE), ("traffic", TRAFFIC_HEADLINE)):
            r = rank(comparison, scenario, headline, baseline)
            print(f"\n{label} ranking, scenario {scenario} ({headline}, difference from "
                  f"{baseline}, 95% interval; * = distinguishable from noise):")
            for row in r.itertuples():
                mark = "*" if row.distinguishable else " "
                print(f"  {row.rank:2d}. {row.strategy:24s} {row.diff:+.4f} "
                      f"[{row.ci_low:+.4f}, {row.ci_high:+.4f}] {mark}")
    if len(failed):
        print(f"\n{len(failed)} run(s) failed or incomplete: see the report")
    print(f"\nreport: {report}\n        {report.with_suffix('.html')}")


def main(argv: list[str] | None = None) -> None:
    """Re-aggregate an experiment folder."""
    ap = argparse.ArgumentParser(description="Aggregate an experiment folder into a report.")
    ap.add_argument("exp_dir", type=Path)
    ap.add_argument("--baseline", default="baseline")
    a = ap.parse_args(argv)
    report = aggregate(a.exp_dir, a.baseline)
    print_summary(a.exp_dir, report, a.baseline)


if __name__ == "__main__":
    main()
