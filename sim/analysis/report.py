"""Plots and the report (Markdown and a self-contained HTML page) of an experiment."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.analysis.compare import LOYALTY_HEADLINE, TRAFFIC_HEADLINE, rank
from sim.config import CHANNELS
from sim.outcomes import BY_NAME
from sim.plots import COLORS, save

#: Outcomes shown in the forest plot and the report's key table.
KEY_OUTCOMES = (
    "retention_26w", "customer_share", "primary_share", "satisfaction",
    "products_per_customer", "active_rate", "app_mau_rate", "contacts_per_customer",
    "payment_share", "cost_to_serve", "profit", "acquisition_cost_per_retained",
)


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return str(int(x))
    return f"{x:.3g}"


def forest_plot(comparison: pd.DataFrame, scenario: str, path: Path) -> Path:
    """Differences from the baseline with paired 95% intervals, one panel per key outcome."""
    c = comparison[comparison["scenario"] == scenario]
    names = [n for n in KEY_OUTCOMES if n in set(c["outcome"])]
    cols = 3
    rows_ = int(np.ceil(len(names) / cols))
    strategies = sorted(c["strategy"].unique())
    fig, axes = plt.subplots(rows_, cols, figsize=(13, 0.32 * len(strategies) * rows_ + 2.5),
                             squeeze=False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        d = c[c["outcome"] == name].set_index("strategy").reindex(strategies)
        y = np.arange(len(strategies))
        for yi, (diff, lo, hi, dist) in enumerate(
            zip(d["diff"], d["ci_low"], d["ci_high"], d["distinguishable"], strict=True)
        ):
            color = "#1f77b4" if dist is True else "#aaaaaa"
            if np.isfinite(lo) and np.isfinite(hi):
                ax.plot([lo, hi], [yi, yi], color=color, lw=1.5)
            ax.scatter([diff], [yi], color=color, zorder=3, s=18)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, strategies, fontsize=7)
        o = BY_NAME[name]
        arrow = {"higher": " (higher is better)", "lower": " (lower is better)"}.get(
            o.direction, "")
        ax.set_title(f"{name}{arrow}", fontsize=8)
        ax.set_xlabel(f"difference from baseline ({o.unit})", fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    fig.suptitle(f"Differences from the baseline, paired by seed, 95% intervals "
                 f"(scenario {scenario}; grey = not distinguishable from noise)", fontsize=10)
    fig.tight_layout()
    save(fig, path)
    return path


def _series(exp_dir: Path, table: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for r in table.itertuples():
        f = exp_dir / "runs" / r.run / "series_banks.csv"
        if f.exists():
            s = pd.read_csv(f)
            s = s[s["focal"].astype(bool)]
            s["strategy"], s["scenario"], s["seed"] = r.strategy, r.scenario, r.seed
            frames.append(s)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def channel_mix_plot(series: pd.DataFrame, scenario: str, path: Path) -> Path:
    """The focal bank's channel mix over time, one panel per strategy (mean over seeds)."""
    s = series[series["scenario"] == scenario]
    cols = [f"contacts_{c}" for c in CHANNELS]
    strategies = sorted(s["strategy"].unique())
    n = len(strategies)
    ncol = min(4, n)
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 2.6 * nrow + 0.8), squeeze=False,
                             sharex=True, sharey=True)
    for ax, strat in zip(axes.ravel(), strategies, strict=False):
        m = s[s["strategy"] == strat].groupby("week")[cols].mean()
        share = m.div(m.sum(axis=1), axis=0)
        ax.stackplot(share.index, share.T.values, colors=[COLORS[c] for c in CHANNELS],
                     labels=CHANNELS)
        ax.set_title(strat, fontsize=9)
        ax.set_ylim(0, 1)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=6, loc="lower left")
    fig.supxlabel("week")
    fig.supylabel("share of the focal bank's contacts")
    fig.suptitle(f"Focal bank channel mix over time (scenario {scenario}, mean over seeds)")
    fig.tight_layout()
    save(fig, path)
    return path


def active_plot(series: pd.DataFrame, scenario: str, path: Path, baseline: str) -> Path:
    """Focal active customers (interaction in 4 weeks) over time, one line per strategy."""
    s = series[series["scenario"] == scenario]
    fig, ax = plt.subplots(figsize=(9, 5))
    for strat, g in s.groupby("strategy"):
        m = g.groupby("week")["active_4w"].mean()
        ax.plot(m.index, m.values / 1000, label=strat,
                lw=2.6 if strat == baseline else 1.3, color="black" if strat == baseline else None)
    ax.set(xlabel="week", ylabel="thousand active customers (last 4 weeks)",
           title=f"Focal bank active customers (scenario {scenario}, mean over seeds)")
    ax.legend(fontsize=7, ncol=2)
    save(fig, path)
    return path


def _md_table(df: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) if not isinstance(v, str) else v
                                       for v in row) + " |")
    return "\n".join(lines)


def _ranking_table(comparison, scenario, headline, baseline) -> pd.DataFrame:
    r = rank(comparison, scenario, headline, baseline)
    return pd.DataFrame({
        "rank": r["rank"], "strategy": r["strategy"], headline: r["mean"].map(_fmt),
        "difference": r["diff"].map(lambda v: f"{v:+.3g}" if np.isfinite(v) else "n/a"),
        "95% interval": [f"[{lo:+.3g}, {hi:+.3g}]" if np.isfinite(lo) else "n/a"
                         for lo, hi in zip(r["ci_low"], r["ci_high"], strict=True)],
        "distinguishable from noise?": ["(baseline)" if s == baseline else ("yes" if d else "no")
                                        for s, d in zip(r["strategy"], r["distinguishable"],
                                                        strict=True)],
    })


def write_report(exp_dir: Path, table: pd.DataFrame, failed: pd.DataFrame,
                 comparison: pd.DataFrame, baseline: str) -> Path:
    """Plots, report.md and report.html; returns report.md's path."""
    plots = exp_dir / "plots"
    plots.mkdir(exist_ok=True)
    series = _series(exp_dir, table)
    scenarios = sorted(table["scenario"].unique()) if len(table) else []
    figures: list[tuple[str, Path]] = []
    for sc in scenarios:
        if len(comparison) and sc in set(comparison["scenario"]):
            figures.append((f"Differences from the baseline ({sc})",
                            forest_plot(comparison, sc, plots / f"differences_{sc}.png")))
        if len(series):
            figures.append((f"Channel mix over time ({sc})",
                            channel_mix_plot(series, sc, plots / f"channel_mix_{sc}.png")))
            figures.append((f"Active customers over time ({sc})",
                            active_plot(series, sc, plots / f"active_customers_{sc}.png",
                                        baseline)))

    seeds = sorted(table["seed"].unique()) if len(table) else []
    strategies = sorted(table["strategy"].unique()) if len(table) else []
    md = [f"# Experiment report: {exp_dir.name}", "",
          f"- strategies: {', '.join(strategies) or 'none'} (baseline: {baseline})",
          f"- scenarios: {', '.join(scenarios) or 'none'}",
          f"- seeds: {', '.join(map(str, seeds)) or 'none'}",
          f"- runs complete: {len(table)}; failed or incomplete: {len(failed)}", "",
          "## How to read this", "",
          "Each strategy is compared with the baseline run on the same seed: runs with the "
          "same seed share every random draw their levers do not change (common random "
          "numbers), so the paired differences carry far less noise than two independent "
          "runs would. Intervals are 95% Student-t intervals of the paired differences over "
          "seeds. A difference is *distinguishable from noise* when its interval excludes "
          "zero; otherwise this experiment cannot tell it from chance (add seeds to narrow "
          "it). Loyalty is ranked on `" + LOYALTY_HEADLINE + "` and traffic on `"
          + TRAFFIC_HEADLINE + "`; the full table below has every outcome.", ""]
    for sc in scenarios:
        if not len(comparison) or sc not in set(comparison["scenario"]):
            continue
        md += [f"## Scenario: {sc}", ""]
        for label, headline in (("Loyalty", LOYALTY_HEADLINE), ("Traffic", TRAFFIC_HEADLINE)):
            md += [f"### {label} ranking ({headline}: {BY_NAME[headline].definition})", "",
                   _md_table(_ranking_table(comparison, sc, headline, baseline)), ""]
        c = comparison[comparison["scenario"] == sc]
        noise = []
        for headline in (LOYALTY_HEADLINE, TRAFFIC_HEADLINE):
            h = c[(c["outcome"] == headline) & ~c["distinguishable"].astype(bool)]
            if len(h):
                noise.append(f"on `{headline}`: {', '.join(h['strategy'])}")
        md += ["**Not distinguishable from noise** (interval includes zero) "
               + ("; ".join(noise) if noise else "— none: every headline difference is "
                  "distinguishable") + ".", ""]
        k = c[c["outcome"].isin(KEY_OUTCOMES)].copy()
        k["cell"] = [f"{d:+.3g} [{lo:+.3g}, {hi:+.3g}]{'' if dist else ' ~'}"
                     if np.isfinite(d) and np.isfinite(lo) else "n/a"
                     for d, lo, hi, dist in zip(k["diff"], k["ci_low"], k["ci_high"],
                                                k["distinguishable"], strict=True)]
        wide = k.pivot(index="strategy", columns="outcome", values="cell")
        wide = wide[[n for n in KEY_OUTCOMES if n in wide.columns]].reset_index()
        md += ["### Key outcomes: difference from the baseline [95% interval] (~ = not "
               "distinguishable)", "", _md_table(wide), ""]
    if len(failed):
        md += ["## Failed or incomplete runs", "",
               "These runs are not in any table above; the others made the report.", "",
               _md_table(failed[["run", "strategy", "scenario", "seed", "status", "error"]]
                         .astype(str)), ""]
    md += ["## Plots", ""]
    md += [f"![{title}](plots/{p.name})" for title, p in figures]
    md += ["", "## Files", "",
           "- `experiment.csv`: one row per complete run (strategy, scenario, seed, every "
           "outcome)",
           "- `comparison.csv`: per scenario, strategy and outcome: mean, baseline mean, "
           "paired difference with its 95% interval, the unpaired (Welch) interval on the "
           "same runs, p-value, distinguishable",
           "- `failed.csv`: failed and interrupted runs with their errors", ""]
    text = "\n".join(md)
    _atomic(exp_dir / "report.md", text)
    _atomic(exp_dir / "report.html", _html(text, figures, exp_dir))
    return exp_dir / "report.md"


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _html(md: str, figures, exp_dir: Path) -> str:
    """A self-contained page: the report's text and tables, plots embedded as data URIs."""
    body = []
    in_table = False
    for line in md.splitlines():
        if line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
            if set(line.replace("|", "").strip()) <= {"-"}:
                continue
            if not in_table:
                body.append("<table>")
                in_table = True
                body.append("<tr>" + "".join(f"<th>{c}</th>" for c in cells) + "</tr>")
            else:
                body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("!["):
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("- "):
            body.append(f"<p>&bull; {_inline(line[2:])}</p>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    if in_table:
        body.append("</table>")
    for title, path in figures:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        body.append(f"<h3>{html.escape(title)}</h3><img alt='{html.escape(title)}' "
                    f"src='data:image/png;base64,{data}'>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;"
             "color:#222}table{border-collapse:collapse;margin:1em 0;font-size:13px}"
             "td,th{border:1px solid #ccc;padding:3px 7px;text-align:left}"
             "th{background:#f0f0f0}img{max-width:100%}code{background:#f4f4f4}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"{html.escape(exp_dir.name)}</title><style>{style}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")


def _inline(text: str) -> str:
    out = html.escape(text)
    parts = out.split("`")
    out = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    parts = out.split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
