"""Plots and the report of an experiment: ``report.md`` and a self-contained ``report.html``.

:func:`write_report` is called by :func:`sim.analysis.compare.aggregate`. Both
reports are rendered from one list of blocks (headings, paragraphs, lists,
tables, images), so they hold the same content; the HTML page embeds its plots
as base64 data URIs and uses inline CSS only (no external resource at all).

Plots, per scenario, under ``plots/`` (PNG, 110 dpi):

* ``forest_loyalty_<scenario>.png``, ``forest_traffic_<scenario>.png``: each
  strategy's difference from the baseline with its paired interval, one panel
  per outcome, coloured by whether it is distinguishable from noise (green
  better, red worse, blue an "info" outcome, grey not distinguishable);
* ``channel_mix_<scenario>.png``: the focal bank's share of contacts by channel
  over time, one panel per strategy (contacts averaged over seeds);
* ``active_customers_<scenario>.png``: the focal bank's active customers
  (``active_4w``) over time, mean over seeds, one line per strategy.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.analysis.compare import HEADLINES, atomic_write, rank
from sim.outcomes import BY_NAME, OUTCOMES, Outcome

#: The focal bank's contact channels of ``series_banks.csv`` (``contacts_<channel>``).
CHANNELS: tuple[str, ...] = ("branch", "atm", "online", "mobile", "messaging", "remote", "open")
CHANNEL_COLORS: dict[str, str] = {
    "branch": "#8c564b",
    "atm": "#bcbd22",
    "online": "#1f77b4",
    "mobile": "#2ca02c",
    "messaging": "#17becf",
    "remote": "#9467bd",
    "open": "#ff7f0e",
}
DPI = 110
#: Outcomes of the forest plots: loyalty and traffic (per-channel contacts are in the mix plot).
FOREST_OUTCOMES: dict[str, tuple[str, ...]] = {
    g: tuple(
        o.name
        for o in OUTCOMES
        if o.group == g and o.name not in {f"contacts_{c}" for c in CHANNELS}
    )
    for g in ("loyalty", "traffic")
}
PLOT_PREFIXES = ("forest_loyalty_", "forest_traffic_", "channel_mix_", "active_customers_")
_SERIES_COLUMNS = {"week", "focal", "customers", "active_4w", *(f"contacts_{c}" for c in CHANNELS)}
_COLORS = {
    "better": "#2ca02c",
    "worse": "#d62728",
    "info": "#1f77b4",
    "noise": "#8c8c8c",
}


# --------------------------------------------------------------------------- formatting


def fmt(x: Any, signed: bool = False) -> str:
    """A number to 3 significant digits ("n/a" when missing; no exponent from 1000 up)."""
    if x is None or x is pd.NA:
        return "n/a"
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return f"{int(x):+,d}" if signed and x != 0 else f"{int(x):,d}"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(v):
        return "n/a"
    if v == 0:
        return "0"
    s = f"{v:+.3g}" if signed else f"{v:.3g}"
    if "e" in s and abs(v) >= 1000:
        r = float(f"{v:.3g}")
        s = f"{r:+,.0f}" if signed else f"{r:,.0f}"
    return s


def fmt_interval(lo: Any, hi: Any) -> str:
    """``[lo, hi]`` with signs, or "n/a"."""
    if pd.isna(lo) or pd.isna(hi):
        return "n/a"
    return f"[{fmt(lo, True)}, {fmt(hi, True)}]"


def fmt_p(p: Any) -> str:
    """A p-value: two significant digits, "<0.001" below that."""
    if pd.isna(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.2g}"


def _flag(v: Any) -> bool:
    """A boolean cell (Python, NumPy or pandas nullable; NA and NaN count as False)."""
    return False if pd.isna(v) else bool(v)


def _direction_text(o: Outcome) -> str:
    return {"higher": "higher is better", "lower": "lower is better"}.get(
        o.direction, "information, no good direction"
    )


def _ranges(values) -> str:
    """Sorted integers as compact ranges: ``0-4, 7, 9-10``."""
    v = sorted({int(x) for x in values})
    out: list[str] = []
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[j + 1] == v[j] + 1:
            j += 1
        out.append(str(v[i]) if i == j else f"{v[i]}-{v[j]}")
        i = j + 1
    return ", ".join(out) or "none"


def _names(items) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _codes(items) -> str:
    return _names([f"`{x}`" for x in items])


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _level(comparison: pd.DataFrame, default: float = 0.95) -> int:
    if len(comparison) and "confidence" in comparison:
        return round(100 * float(comparison["confidence"].iloc[0]))
    return round(100 * default)


# --------------------------------------------------------------------------- series


def load_focal_series(exp_dir: Path, table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The focal bank's weekly rows of every complete run, with notes on runs left out."""
    frames = []
    problems: dict[str, list[str]] = {}
    for r in table.itertuples(index=False):
        f = Path(exp_dir) / "runs" / r.run / "series_banks.csv"
        if not f.exists():
            problems.setdefault("have no series_banks.csv", []).append(r.run)
            continue
        try:
            s = pd.read_csv(f, usecols=lambda c: c in _SERIES_COLUMNS)
        except (OSError, ValueError) as err:
            problems.setdefault(f"have an unreadable series_banks.csv ({err})", []).append(r.run)
            continue
        if "week" not in s.columns or "focal" not in s.columns:
            problems.setdefault("have no week or focal column in series_banks.csv", []).append(
                r.run
            )
            continue
        s = s.loc[_truthy(s["focal"])].drop(columns="focal")
        if s.empty or s["week"].duplicated().any():
            problems.setdefault(
                "do not have exactly one focal-bank row per week in series_banks.csv", []
            ).append(r.run)
            continue
        frames.append(s.assign(strategy=r.strategy, scenario=r.scenario, seed=r.seed))
    notes = [
        f"{len(runs)} complete run(s) {what} and are left out of the time-series plots "
        f"(e.g. {runs[0]})."
        for what, runs in problems.items()
    ]
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), notes


def _truthy(col: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(col):
        return col.fillna(False).astype(bool)
    if pd.api.types.is_numeric_dtype(col):
        return col.fillna(0) != 0
    return col.astype(str).str.strip().str.lower().isin({"true", "1", "1.0", "yes", "t"})


def _strategy_order(strategies, baseline: str) -> list[str]:
    s = sorted(set(strategies))
    return ([baseline] if baseline in s else []) + [x for x in s if x != baseline]


# --------------------------------------------------------------------------- figures


def _grid(nrow, ncol, panel, margins, gaps, sharex=False, sharey=False):
    """A figure of ``nrow`` x ``ncol`` panels with sizes in inches (no layout engine).

    ``panel`` is (width, height), ``margins`` (left, right, top, bottom) and
    ``gaps`` (between columns, between rows).
    """
    (pw, ph), (ml, mr, mt, mb), (gw, gh) = panel, margins, gaps
    width = ml + mr + ncol * pw + (ncol - 1) * gw
    height = mt + mb + nrow * ph + (nrow - 1) * gh
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(width, height), squeeze=False, sharex=sharex, sharey=sharey
    )
    fig.subplots_adjust(
        left=ml / width,
        right=1 - mr / width,
        top=1 - mt / height,
        bottom=mb / height,
        wspace=gw / pw,
        hspace=gh / ph,
    )
    return fig, axes


def _text_width(labels, size: float = 8) -> float:
    """Rough width in inches of the longest label at ``size`` points."""
    return max((len(str(x)) for x in labels), default=0) * size * 0.6 / 72


def forest_figure(comparison: pd.DataFrame, scenario: str, group: str, baseline: str):
    """Differences from the baseline with paired intervals: one panel per outcome of a group."""
    c = comparison[comparison["scenario"] == scenario]
    names = [n for n in FOREST_OUTCOMES[group] if n in set(c["outcome"])]
    if c.empty or not names or not np.isfinite(c["diff"].to_numpy(float)).any():
        return None
    level = _level(c)
    strategies = sorted(c["strategy"].unique())
    ncol = min(len(names), 4 if len(names) > 6 else 3)
    nrow = math.ceil(len(names) / ncol)
    fig, axes = _grid(
        nrow,
        ncol,
        panel=(3.0, max(0.6, 0.26 * len(strategies) + 0.2)),
        margins=(0.3 + _text_width(strategies), 0.25, 1.0, 0.85),
        gaps=(0.3, 1.05),
        sharey=True,
    )
    y = np.arange(len(strategies))
    for ax, name in zip(axes.flat, names, strict=False):
        o = BY_NAME[name]
        d = c[c["outcome"] == name].set_index("strategy").reindex(strategies)
        for yi, r in enumerate(d.itertuples()):
            if not _flag(r.distinguishable):
                color = _COLORS["noise"]
            elif o.direction == "info":
                color = _COLORS["info"]
            else:
                color = _COLORS["better"] if _flag(r.better) else _COLORS["worse"]
            has_interval = np.isfinite(r.ci_low) and np.isfinite(r.ci_high)
            if has_interval:
                ax.hlines(yi, r.ci_low, r.ci_high, color=color, lw=2.2)
            if np.isfinite(r.diff):
                ax.plot(
                    [r.diff], [yi], "o", ms=5, color=color, mfc=color if has_interval else "white"
                )
        if not np.isfinite(d["diff"].to_numpy(float)).any():
            ax.text(0.5, 0.5, "no paired data", transform=ax.transAxes, ha="center", va="center")
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(f"{name}\n({_direction_text(o)})", fontsize=9)
        ax.set_xlabel(f"difference ({o.unit})", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.tick_params(axis="x", labelsize=7)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].set_yticks(y, strategies)
    axes[0, 0].set_ylim(len(strategies) - 0.5, -0.5)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    handles = [
        Line2D([], [], color=_COLORS["better"], marker="o", lw=2, label="better (distinguishable)"),
        Line2D([], [], color=_COLORS["worse"], marker="o", lw=2, label="worse (distinguishable)"),
        Line2D([], [], color=_COLORS["info"], marker="o", lw=2, label="differs (info outcome)"),
        Line2D([], [], color=_COLORS["noise"], marker="o", lw=2, label="not distinguishable"),
        Line2D(
            [],
            [],
            color=_COLORS["noise"],
            marker="o",
            mfc="white",
            lw=0,
            label="< 2 pairs: no interval",
        ),
    ]
    fig.legend(
        handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False, borderaxespad=0.2
    )
    fig.suptitle(
        f"Scenario {scenario}: {group} outcomes, difference from {baseline}\n"
        f"(paired by seed, {level}% t-interval)",
        fontsize=11,
        y=1 - 0.1 / fig.get_figheight(),
        va="top",
    )
    return fig


def channel_mix_figure(series: pd.DataFrame, scenario: str, baseline: str):
    """The focal bank's share of contacts by channel over time, one panel per strategy."""
    if series.empty:
        return None
    s = series[series["scenario"] == scenario]
    channels = [c for c in CHANNELS if f"contacts_{c}" in s.columns]
    if s.empty or not channels:
        return None
    cols = [f"contacts_{c}" for c in channels]
    strategies = _strategy_order(s["strategy"], baseline)
    ncol = min(4, len(strategies))
    nrow = math.ceil(len(strategies) / ncol)
    fig, axes = _grid(
        nrow,
        ncol,
        panel=(2.9, 1.9),
        margins=(0.75, 1.35, 0.95, 0.55),
        gaps=(0.2, 0.45),
        sharex=True,
        sharey=True,
    )
    for ax, strat in zip(axes.flat, strategies, strict=False):
        g = s[s["strategy"] == strat]
        m = g.groupby("week")[cols].mean()
        total = m.sum(axis=1)
        share = m.div(total.where(total > 0), axis=0).fillna(0.0)
        ax.stackplot(
            share.index.to_numpy(float),
            share.T.to_numpy(float),
            colors=[CHANNEL_COLORS[c] for c in channels],
            labels=channels,
        )
        ax.set_title(f"{strat} ({g['seed'].nunique()} seeds)", fontsize=9)
        ax.set_ylim(0, 1)
        ax.margins(x=0)
    for ax in axes[-1, :]:
        ax.set_xlabel("week", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("share of contacts", fontsize=8)
    for ax in axes.flat[len(strategies) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles[::-1], labels[::-1], loc="center right", fontsize=8, title="channel", frameon=False
    )
    fig.suptitle(
        f"Scenario {scenario}: focal bank channel mix over time\n"
        "(share of the week's contacts by channel; contacts averaged over seeds)",
        fontsize=11,
        y=1 - 0.1 / fig.get_figheight(),
        va="top",
    )
    return fig


def active_figure(series: pd.DataFrame, scenario: str, baseline: str):
    """The focal bank's active customers over time, mean over seeds, one line per strategy."""
    if series.empty or "active_4w" not in series.columns:
        return None
    s = series[series["scenario"] == scenario]
    if s.empty:
        return None
    fig, axes = _grid(1, 1, panel=(7.6, 4.2), margins=(0.95, 0.2, 0.45, 0.6), gaps=(0, 0))
    ax = axes[0, 0]
    dark, light = plt.get_cmap("tab10").colors, plt.get_cmap("tab20").colors[1::2]
    others = 0
    for strat in _strategy_order(s["strategy"], baseline):
        g = s[s["strategy"] == strat]
        m = g.groupby("week")["active_4w"].mean()
        label = f"{strat} ({g['seed'].nunique()} seeds)"
        if strat == baseline:  # underneath, so a strategy equal to it stays visible
            ax.plot(m.index, m.to_numpy(float), color="black", lw=3.2, label=label, zorder=1)
        else:
            k = others % 20
            color, style = (dark[k], "-") if k < 10 else (light[k - 10], "--")
            ax.plot(m.index, m.to_numpy(float), color=color, ls=style, lw=1.4, label=label)
            others += 1
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel("week")
    ax.set_ylabel("active customers (interaction in the last 4 weeks)")
    ax.set_title(f"Scenario {scenario}: focal bank active customers over time (mean over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best", ncol=2)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


@dataclass
class Plot:
    """A written plot: its title, its path relative to the experiment folder, its PNG."""

    title: str
    scenario: str
    relpath: str
    data: bytes


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("._") or "x"


def write_plots(
    exp_dir: Path, table: pd.DataFrame, comparison: pd.DataFrame, baseline: str
) -> tuple[list[Plot], list[str]]:
    """Draw and write every plot (atomically); returns them and notes on what was left out."""
    exp_dir = Path(exp_dir)
    series, notes = load_focal_series(exp_dir, table)
    plots: list[Plot] = []
    slugs: dict[str, str] = {}
    for scenario in sorted(table["scenario"].unique()) if len(table) else []:
        slug = _slug(scenario)
        while slug in slugs.values():
            slug += "_"
        slugs[scenario] = slug
        figures = [
            (f"Loyalty: differences from {baseline}", "forest_loyalty_",
             lambda sc=scenario: forest_figure(comparison, sc, "loyalty", baseline)),
            (f"Traffic: differences from {baseline}", "forest_traffic_",
             lambda sc=scenario: forest_figure(comparison, sc, "traffic", baseline)),
            ("Focal bank channel mix over time", "channel_mix_",
             lambda sc=scenario: channel_mix_figure(series, sc, baseline)),
            ("Focal bank active customers over time", "active_customers_",
             lambda sc=scenario: active_figure(series, sc, baseline)),
        ]  # fmt: skip
        for title, prefix, draw in figures:
            fig = draw()
            if fig is None:
                continue
            rel = f"plots/{prefix}{slug}.png"
            data = _png(fig)
            atomic_write(exp_dir / rel, data)
            plots.append(Plot(f"{title} (scenario {scenario})", scenario, rel, data))
    written = {Path(p.relpath).name for p in plots}
    plot_dir = exp_dir / "plots"
    if plot_dir.is_dir():  # plots of an earlier aggregation that no longer apply
        for old in plot_dir.glob("*.png"):
            if old.name.startswith(PLOT_PREFIXES) and old.name not in written:
                old.unlink(missing_ok=True)
    if len(table) and series.empty:
        notes.append("No focal-bank time series could be read: no channel-mix or active plot.")
    elif len(table) and "active_4w" not in series.columns:
        notes.append("series_banks.csv has no active_4w column: no active-customers plot.")
    elif len(table) and not any(f"contacts_{c}" in series.columns for c in CHANNELS):
        notes.append("series_banks.csv has no contacts_<channel> column: no channel-mix plot.")
    return plots, notes


# --------------------------------------------------------------------------- blocks


@dataclass
class Block:
    """One piece of the report: kind in h, p, ul, table, img, details."""

    kind: str
    text: str = ""
    level: int = 0
    items: tuple = ()
    table: pd.DataFrame | None = None
    plot: Plot | None = None
    children: tuple = ()


def _h(level: int, text: str) -> Block:
    return Block("h", text, level=level)


def _p(text: str) -> Block:
    return Block("p", text)


def _ul(items) -> Block:
    return Block("ul", items=tuple(items))


def _t(df: pd.DataFrame) -> Block:
    return Block("table", table=df.astype(str))


def _ranking_table(comparison: pd.DataFrame, scenario: str, headline: str, baseline: str):
    o = BY_NAME[HEADLINES.get(headline, headline)]
    r = rank(comparison, scenario, headline, baseline)
    level = _level(comparison)
    verdict = []
    for row in r.itertuples(index=False):
        if row.is_baseline:
            verdict.append("baseline")
        elif row.n_pairs < 2:
            verdict.append("no (fewer than 2 paired seeds)")
        else:
            verdict.append("yes" if row.distinguishable else "no")
    return pd.DataFrame(
        {
            "rank": ["-" if pd.isna(x) else str(x) for x in r["rank"]],
            "strategy": r["strategy"],
            f"mean ({o.unit})": r["mean"].map(fmt),
            "difference": [
                "0" if b else fmt(d, True) for d, b in zip(r["diff"], r["is_baseline"], strict=True)
            ],
            f"{level}% interval": [
                "-" if b else fmt_interval(lo, hi)
                for lo, hi, b in zip(r["ci_low"], r["ci_high"], r["is_baseline"], strict=True)
            ],
            "seeds paired": r["n_pairs"].astype(str),
            "distinguishable from noise?": verdict,
        }
    )


def _noise_paragraph(c: pd.DataFrame, scenario: str, headlines: dict[str, str]) -> Block:
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
                f"the difference of {_codes(noise)} from the baseline is not distinguishable "
                "from noise: its interval includes zero, so this experiment cannot tell it "
                "from chance"
            )
        elif noise:
            s += (
                f"the differences of {_codes(noise)} from the baseline are not distinguishable "
                "from noise: their intervals include zero, so this experiment cannot tell them "
                "from chance"
            )
        else:
            s += "every strategy's difference from the baseline is distinguishable from noise"
        if few:
            s += f"; {_codes(few)} could not be assessed (fewer than 2 seeds paired)"
        clear = []
        if better:
            clear.append(f"distinguishably better: {_codes(better)}")
        if worse:
            clear.append(f"distinguishably worse: {_codes(worse)}")
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
            f"{_codes(identical)} {verb} exactly as the baseline: every paired difference is "
            "exactly 0 on every outcome."
        )
    ok = c[np.isfinite(c["ci_low"]) & np.isfinite(c["unpaired_ci_low"])]
    paired_w = ok["ci_high"] - ok["ci_low"]
    unpaired_w = ok["unpaired_ci_high"] - ok["unpaired_ci_low"]
    keep = (paired_w > 0) & (unpaired_w > 0)
    if keep.any():
        ratio = float(np.median(unpaired_w[keep] / paired_w[keep]))
        parts.append(
            f"Pairing by seed made the median interval {fmt(ratio)} times "
            f"{'narrower' if ratio >= 1 else 'wider (!)'} than an unpaired comparison of the "
            "same runs."
        )
    return _p(f"**Scenario {scenario}.** " + " ".join(parts))


def _headline_cell(c: pd.DataFrame, strategy: str, name: str) -> tuple[str, str]:
    """``difference [interval]`` of one headline and its verdict word."""
    r = c[(c["strategy"] == strategy) & (c["outcome"] == name)]
    if r.empty or int(r["n_pairs"].iloc[0]) < 2:
        return "-", "not assessed"
    r = r.iloc[0]
    cell = f"{fmt(r['diff'], True)} {fmt_interval(r['ci_low'], r['ci_high'])}"
    if not r["distinguishable"]:
        return cell, "noise"
    return cell, ("better" if bool(r["better"]) else "worse")


def _verdict(words: dict[str, str], headlines: dict[str, str]) -> str:
    better = [k for k in headlines if words[k] == "better"]
    worse = [k for k in headlines if words[k] == "worse"]
    if not better and not worse:
        return "no headline distinguishable from the baseline"
    if not worse:
        return "better on " + " and ".join(better) + ", worse on none"
    if not better:
        return "worse on " + " and ".join(worse)
    return f"trade-off: better on {' and '.join(better)}, worse on {' and '.join(worse)}"


def decision_blocks(
    comparison: pd.DataFrame,
    business: pd.DataFrame | None,
    baseline: str,
    headlines: dict[str, str],
    level: int,
) -> list[Block]:
    """The decision summary (headlines weighed together) and the business case per scenario."""
    out = [_h(2, "Decision summary")]
    names = ", ".join(
        f"{k} `{v}` ({BY_NAME[v].unit}; {_direction_text(BY_NAME[v])})"
        for k, v in headlines.items()
    )
    out.append(
        _p(
            f"Each strategy against `{baseline}` on the three headlines ({names}): the paired "
            f"difference with its {level}% interval and the verdict. Money is at the bank's "
            "real size (the market file's `customers_represented`), every lever's cost "
            "included (`market.costs`; most figures are assumptions, see `sim/levers.py`)."
        )
    )
    for sc in sorted(comparison["scenario"].unique()):
        c = comparison[comparison["scenario"] == sc]
        rows, dilution = [], []
        for st in sorted(c["strategy"].unique()):
            cells, words = {}, {}
            for label, name in headlines.items():
                cells[label], words[label] = _headline_cell(c, st, name)
            rows.append({"strategy": st, **cells, "verdict": _verdict(words, headlines)})
            grew = c[(c["strategy"] == st) & (c["outcome"] == "customers")]
            rate = c[(c["strategy"] == st) & (c["outcome"] == "active_rate")]
            if (
                len(grew)
                and len(rate)
                and bool(grew["better"].fillna(False).iloc[0])
                and bool(rate["distinguishable"].iloc[0])
                and not bool(rate["better"].fillna(True).iloc[0])
            ):
                dilution.append(st)
        out.append(_h(3, f"Scenario {sc}"))
        out.append(_t(pd.DataFrame(rows)))
        if dilution:
            out.append(
                _p(
                    f"Dilution: {_codes(dilution)} gain customers in total (`customers`) while "
                    "their per-customer activity (`active_rate`) falls: new customers are less "
                    "active at first, so per-customer rates understate them. The totals "
                    "(`active_customers`, `contacts_total`) count them."
                )
            )
        if business is None or business.empty:
            continue
        bz = business[business["scenario"] == sc]
        if bz.empty:
            continue
        out.append(_h(4, f"Business case, scenario {sc}"))
        out.append(
            _p(
                "Paired by seed against the baseline, at the bank's real size: incremental "
                "profit and NPV over the run (the week-0 investment included), the extra "
                "spend, the payback week (from which the cumulative extra profit stays at or "
                "above zero), the extra spend per extra customer retained or active, and the "
                f"profit returned per RMB of extra spend; {level}% intervals (Student-t over "
                "seeds; a paired bootstrap for the ratios). Definitions: "
                "`sim/analysis/business.py`."
            )
        )
        table = []
        for st, g in bz.groupby("strategy", sort=True):
            row: dict[str, str] = {"strategy": st}
            for r in g.itertuples(index=False):
                v = fmt(r.value, r.measure.startswith("incremental") or r.measure == "extra_spend")
                if math.isfinite(r.ci_low) and math.isfinite(r.ci_high):
                    v += " " + fmt_interval(r.ci_low, r.ci_high)
                if r.note:
                    v += f" ({r.note})"
                row[f"{r.measure} ({r.unit})"] = v
            table.append(row)
        out.append(_t(pd.DataFrame(table)))
    return out


def _full_table(g: pd.DataFrame) -> pd.DataFrame:
    level = _level(g)

    def verdict(r) -> str:
        if r.n_pairs < 2:
            return "too few pairs"
        if not r.distinguishable:
            return "not distinguishable"
        if r.direction == "info":
            return "differs"
        return "better" if _flag(r.better) else "worse"

    return pd.DataFrame(
        {
            "outcome": g["outcome"],
            "unit": g["unit"],
            "good direction": g["direction"].map(
                {"higher": "higher", "lower": "lower", "info": "info"}
            ),
            "baseline mean": g["baseline_mean"].map(fmt),
            "mean": g["mean"].map(fmt),
            "difference": g["diff"].map(lambda v: fmt(v, True)),
            f"{level}% interval": [
                fmt_interval(lo, hi) for lo, hi in zip(g["ci_low"], g["ci_high"], strict=True)
            ],
            f"unpaired {level}% interval": [
                fmt_interval(lo, hi)
                for lo, hi in zip(g["unpaired_ci_low"], g["unpaired_ci_high"], strict=True)
            ],
            "p": g["p_value"].map(fmt_p),
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
                "mean": fmt(v.mean()) if v.size else "n/a",
                "sd over seeds": fmt(v.std(ddof=1)) if v.size > 1 else "n/a",
                "seeds": str(v.size),
            }
        )
    return pd.DataFrame(rows)


def _runs_grid(table: pd.DataFrame, failed: pd.DataFrame, baseline: str) -> pd.DataFrame:
    strategies = _strategy_order(
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
) -> list[Block]:
    """The report's content, rendered by :func:`render_markdown` and :func:`render_html`."""
    headlines = headlines or HEADLINES
    level = _level(comparison)
    scenarios = sorted(table["scenario"].unique()) if len(table) else []
    strategies = _strategy_order(table["strategy"], baseline) if len(table) else []
    n_failed = int((failed["status"] == "failed").sum())
    n_incomplete = int((failed["status"] == "incomplete").sum())
    b: list[Block] = [_h(1, f"Experiment report: {Path(exp_dir).name}")]

    # ---- what was run
    b.append(_h(2, "What was run"))
    items = [
        f"Strategies ({len(strategies)}): {', '.join(strategies) or 'none'}; each is compared "
        f"with the baseline `{baseline}`.",
        f"Scenarios ({len(scenarios)}): {', '.join(scenarios) or 'none'}.",
        f"Seeds: {_ranges(table['seed']) if len(table) else 'none'}.",
        f"Runs: {len(table) + len(failed)} run folders: {len(table)} complete, "
        f"{n_failed} failed, {n_incomplete} incomplete (interrupted).",
    ]
    if meta is not None and len(meta):
        for col, label in (("market", "Market"), ("weeks", "Weeks simulated"),
                           ("population", "Customers"), ("version", "Model version")):  # fmt: skip
            vals = sorted({str(v) for v in meta[col] if v is not None and not pd.isna(v)})
            if vals:
                items.append(f"{label}: {', '.join(vals)}.")
    b.append(_ul(items))
    warnings = _consistency(meta)
    if len(table) and baseline not in set(table["strategy"]):
        warnings.append(
            f"No complete run of the baseline `{baseline}`: no strategy can be compared. "
            "Run it (or name the right baseline with --baseline)."
        )
    for w in warnings:
        b.append(_p(f"**Warning.** {w}"))
    if len(table) or len(failed):
        b.append(_p("Complete runs per strategy and scenario:"))
        b.append(_t(_runs_grid(table, failed, baseline)))

    # ---- the decision summary and the business case
    if len(comparison):
        b.extend(decision_blocks(comparison, business, baseline, headlines, level))

    # ---- how to read
    b.append(_h(2, "How to read this"))
    b.append(
        _p(
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

    # ---- rankings
    b.append(_h(2, "Rankings"))
    if not len(table):
        b.append(_p("No run completed: there is nothing to rank."))
    elif comparison.empty:
        b.append(_p(f"Only the baseline `{baseline}` ran: there is no strategy to rank."))
    for sc in scenarios:
        c = comparison[comparison["scenario"] == sc]
        has_base = bool(((table["scenario"] == sc) & (table["strategy"] == baseline)).any())
        b.append(_h(3, f"Scenario {sc}"))
        if c.empty:
            b.append(
                _p(
                    f"Only the baseline ran in scenario {sc}: no strategy to rank. Its "
                    "outcomes over seeds:"
                )
            )
            t = table[(table["scenario"] == sc) & (table["strategy"] == baseline)]
            b.append(_t(_baseline_table(t)))
            continue
        if not has_base:
            b.append(
                _p(
                    f"**No complete baseline run in scenario {sc}**: its strategies "
                    f"({_codes(sorted(c['strategy'].unique()))}) cannot be compared (see the "
                    "failed runs)."
                )
            )
            continue
        for label, headline in headlines.items():
            o = BY_NAME[headline]
            b.append(_h(4, f"{label.capitalize()} ranking: {headline}"))
            b.append(
                _p(
                    f"`{headline}` ({o.unit}; {_direction_text(o)}): {o.definition} Best "
                    f"difference from the baseline first; {level}% interval paired by seed."
                )
            )
            b.append(_t(_ranking_table(comparison, sc, headline, baseline)))
        b.append(_noise_paragraph(c, sc, headlines))

    # ---- full table
    if len(comparison):
        b.append(_h(2, "Every outcome"))
        b.append(
            _p(
                "Per scenario and strategy: the baseline's and the strategy's means over the "
                f"paired seeds, the paired difference with its {level}% interval, the unpaired "
                "interval on the same runs, the paired t-test's p-value and the verdict "
                "(better or worse in the outcome's good direction when distinguishable from "
                "noise; 'differs' for information outcomes). Definitions are in "
                "`sim/outcomes.py`."
            )
        )
        for sc in sorted(comparison["scenario"].unique()):
            b.append(_h(3, f"Scenario {sc}"))
            for st, g in comparison[comparison["scenario"] == sc].groupby("strategy", sort=True):
                b.append(
                    Block(
                        "details",
                        f"{st} vs {baseline} (scenario {sc})",
                        children=(_t(_full_table(g)),),
                    )
                )

    # ---- failed runs
    b.append(_h(2, "Failed and incomplete runs"))
    if len(failed):
        b.append(
            _p(
                f"Failed: {_runs(n_failed)}; incomplete (interrupted: no completion marker): "
                f"{_runs(n_incomplete)}. They are left out of every table and plot; the "
                "complete runs made the rest of this report."
            )
        )
        f = failed[["run", "strategy", "scenario", "seed", "status", "error"]].copy()
        f["seed"] = [("" if pd.isna(s) else str(int(s))) for s in f["seed"]]
        b.append(_t(f.fillna("")))
    else:
        b.append(_p("None: every run completed."))

    # ---- plots
    b.append(_h(2, "Plots"))
    if plots:
        b.append(
            _p(
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
        b.append(_p("No plot: there is no complete run to draw."))
    for sc in sorted({p.scenario for p in plots}):
        b.append(_h(3, f"Scenario {sc}"))
        b.extend(Block("img", p.title, plot=p) for p in plots if p.scenario == sc)

    # ---- notes and files
    if notes:
        b.append(_h(2, "Notes on the data"))
        b.append(_ul(notes))
    b.append(_h(2, "Files"))
    b.append(
        _ul(
            [
                "`experiment.csv`: one row per complete run (run, strategy, scenario, seed, "
                "every outcome).",
                "`comparison.csv`: per scenario, strategy and outcome: pairs, means, paired "
                "difference and interval, unpaired interval, p-value, distinguishable, better.",
                "`business.csv`: per scenario and strategy, the business case against the "
                "baseline (incremental profit and NPV, extra spend, payback week, cost per "
                "extra retained and active customer, return on spend) with intervals.",
                "`failed.csv`: failed and incomplete runs with their errors.",
                "`plots/`: the plots above (PNG).",
                "`REPORT_COMPLETE`: written after every file above, with their SHA-256; "
                "without it (an aggregation that was killed or ran out of disk) the files "
                "may be a mix of two aggregations: run `python -m sim.analysis.compare` on "
                "the folder again.",
            ]
        )
    )
    return b


# --------------------------------------------------------------------------- rendering


def _md_cell(v: Any) -> str:
    return str(v).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def _md_table(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(_md_cell(c) for c in df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = [
        "| " + " | ".join(_md_cell(v) for v in row) + " |" for row in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def render_markdown(blocks: list[Block]) -> str:
    """The report as Markdown (plots referenced by relative path)."""
    out: list[str] = []
    for b in blocks:
        if b.kind == "h":
            out += ["#" * b.level + " " + b.text, ""]
        elif b.kind == "p":
            out += [b.text, ""]
        elif b.kind == "ul":
            out += [f"- {item}" for item in b.items] + [""]
        elif b.kind == "table":
            out += [_md_table(b.table), ""]
        elif b.kind == "img":
            out += [f"![{b.text}]({b.plot.relpath})", ""]
        elif b.kind == "details":
            out += [f"**{b.text}**", ""]
            out += [render_markdown(list(b.children)).rstrip("\n"), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _inline(text: str) -> str:
    s = html.escape(text, quote=False)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", s)


_CSS = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
    "max-width:1300px;margin:2em auto;padding:0 1.2em;color:#222;line-height:1.45}"
    "h1{border-bottom:2px solid #ddd;padding-bottom:.3em}h2{margin-top:2em;"
    "border-bottom:1px solid #eee}table{border-collapse:collapse;margin:.8em 0 1.4em;"
    "font-size:13px;font-variant-numeric:tabular-nums}th,td{border:1px solid #ccc;"
    "padding:3px 8px;text-align:left;vertical-align:top}th{background:#f2f2f2}"
    "tr:nth-child(even) td{background:#fafafa}code{background:#f3f3f3;padding:0 3px;"
    "border-radius:3px}details{margin:.4em 0}summary{cursor:pointer;font-weight:600}"
    "figure{margin:1em 0 2em}figure img{max-width:100%;border:1px solid #eee}"
    "figcaption{font-size:13px;color:#555}"
)


def _render_html_blocks(blocks) -> list[str]:
    out: list[str] = []
    for b in blocks:
        if b.kind == "h":
            out.append(f"<h{b.level}>{_inline(b.text)}</h{b.level}>")
        elif b.kind == "p":
            out.append(f"<p>{_inline(b.text)}</p>")
        elif b.kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "table":
            out.append(b.table.to_html(index=False, escape=True, border=0, na_rep=""))
        elif b.kind == "img":
            data = base64.b64encode(b.plot.data).decode("ascii")
            alt = html.escape(b.text)
            out.append(
                f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">'
                f"<figcaption>{alt} ({html.escape(b.plot.relpath)})</figcaption></figure>"
            )
        elif b.kind == "details":
            out.append(f"<details><summary>{_inline(b.text)}</summary>")
            out.extend(_render_html_blocks(b.children))
            out.append("</details>")
    return out


def render_html(blocks: list[Block], title: str) -> str:
    """The report as one self-contained HTML page (inline CSS, plots as data URIs)."""
    body = "\n".join(_render_html_blocks(blocks))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        f"{body}\n</body></html>\n"
    )


def write_report(
    exp_dir: Path,
    table: pd.DataFrame,
    failed: pd.DataFrame,
    comparison: pd.DataFrame,
    baseline: str,
    meta: pd.DataFrame | None = None,
    business: pd.DataFrame | None = None,
    headlines: dict[str, str] | None = None,
) -> Path:
    """Write the plots, ``report.md`` and ``report.html`` (atomically); returns report.md."""
    exp_dir = Path(exp_dir)
    plots, notes = write_plots(exp_dir, table, comparison, baseline)
    blocks = build_blocks(
        exp_dir, table, failed, comparison, baseline, plots, notes, meta, business, headlines
    )
    atomic_write(exp_dir / "report.html", render_html(blocks, f"Experiment {exp_dir.name}"))
    return atomic_write(exp_dir / "report.md", render_markdown(blocks))


__all__ = [
    "CHANNELS",
    "FOREST_OUTCOMES",
    "Plot",
    "active_figure",
    "build_blocks",
    "channel_mix_figure",
    "fmt",
    "fmt_interval",
    "fmt_p",
    "forest_figure",
    "load_focal_series",
    "render_html",
    "render_markdown",
    "write_plots",
    "write_report",
]
