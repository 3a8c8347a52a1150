"""The experiment's plots, drawn from its tables and its runs' weekly series.

Per scenario, under ``plots/`` (PNG, 110 dpi):

* ``decision_<scenario>.png``: each strategy's incremental NPV against its loyalty
  gain, both with their paired intervals, so the efficient strategies stand out;
* ``forest_loyalty_<scenario>.png``, ``forest_traffic_<scenario>.png``: each
  strategy's difference from the baseline with its paired interval, one panel
  per outcome, coloured by whether it is distinguishable from noise (green
  better, red worse, blue an "info" outcome, grey not distinguishable);
* ``channel_mix_<scenario>.png``: the focal bank's share of contacts by channel
  over time, one panel per strategy (contacts averaged over seeds);
* ``active_customers_<scenario>.png``: the focal bank's active customers
  (``active_4w``) over time, mean over seeds, one line per strategy;
* ``posterior_<scenario>.png`` (a posterior experiment only): per headline and
  strategy, the paired difference in each posterior draw beside the pooled one
  with both intervals, the baseline at zero.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.analysis import formatting as fm
from sim.atomic import atomic_write
from sim.outcomes import BY_NAME, OUTCOMES

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
PLOT_PREFIXES = (
    "decision_",
    "forest_loyalty_",
    "forest_traffic_",
    "channel_mix_",
    "active_customers_",
    "posterior_",
)
_SERIES_COLUMNS = {"week", "focal", "customers", "active_4w", *(f"contacts_{c}" for c in CHANNELS)}
_COLORS = {
    "better": "#2ca02c",
    "worse": "#d62728",
    "info": "#1f77b4",
    "noise": "#8c8c8c",
}


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


def strategy_order(strategies, baseline: str) -> list[str]:
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
    level = fm.level(c)
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
            if not fm.flag(r.distinguishable):
                color = _COLORS["noise"]
            elif o.direction == "info":
                color = _COLORS["info"]
            else:
                color = _COLORS["better"] if fm.flag(r.better) else _COLORS["worse"]
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
        ax.set_title(f"{name}\n({fm.direction_text(o)})", fontsize=9)
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
    strategies = strategy_order(s["strategy"], baseline)
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
    for strat in strategy_order(s["strategy"], baseline):
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


#: Colours of the decision plot's verdicts (:data:`sim.analysis.decision.VERDICTS`).
VERDICT_COLORS = {
    "better": "#2ca02c",
    "trade-off": "#ff7f0e",
    "noise": "#8c8c8c",
    "worse": "#d62728",
    "not assessed": "#bbbbbb",
}


def decision_figure(
    decision: pd.DataFrame | None,
    scenario: str,
    headlines: dict[str, str],
    baseline: str,
    level: int = 95,
):
    """Each strategy's money headline against its loyalty headline, both with intervals."""
    if decision is None or decision.empty or not {"loyalty", "money"} <= set(headlines):
        return None
    d = decision[decision["scenario"] == scenario]
    d = d[np.isfinite(d["loyalty_diff"].astype(float)) & np.isfinite(d["money_diff"].astype(float))]
    if d.empty:
        return None
    lo, mo = BY_NAME[headlines["loyalty"]], BY_NAME[headlines["money"]]
    fig, axes = _grid(1, 1, panel=(6.8, 4.6), margins=(1.0, 1.9, 0.75, 0.65), gaps=(0, 0))
    ax = axes[0, 0]
    for row in d.itertuples(index=False):
        color = VERDICT_COLORS.get(row.verdict, "#8c8c8c")
        x, y = float(row.loyalty_diff), float(row.money_diff)
        xerr = [[x - row.loyalty_ci_low], [row.loyalty_ci_high - x]]
        yerr = [[y - row.money_ci_low], [row.money_ci_high - y]]
        finite = np.isfinite([row.loyalty_ci_low, row.loyalty_ci_high, row.money_ci_low,
                              row.money_ci_high]).all()  # fmt: skip
        ax.errorbar(
            [x], [y], xerr=xerr if finite else None, yerr=yerr if finite else None,
            fmt="o", color=color, ms=6, lw=1.4, capsize=2.5,
        )  # fmt: skip
        ax.annotate(row.strategy, (x, y), xytext=(5, 4), textcoords="offset points", fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(0, color="black", lw=0.8)
    ax.plot([0], [0], "s", color="black", ms=6)
    ax.annotate(baseline, (0, 0), xytext=(5, -10), textcoords="offset points", fontsize=8)
    ax.set_xlabel(f"loyalty: {lo.name} difference ({lo.unit}; {fm.direction_text(lo)})")
    ax.set_ylabel(f"money: {mo.name} difference\n({mo.unit})")
    ax.grid(alpha=0.3)
    handles = [
        Line2D([], [], color=c, marker="o", lw=0, label=v)
        for v, c in VERDICT_COLORS.items()
        if v in set(d["verdict"])
    ]
    ax.legend(handles=handles, title="verdict", fontsize=8, loc="upper left",
              bbox_to_anchor=(1.02, 1.0), frameon=False)  # fmt: skip
    fig.suptitle(
        f"Scenario {scenario}: {mo.name} against {lo.name}, difference from {baseline}\n"
        f"(paired by seed, {level}% intervals on both axes; "
        f"{'right' if lo.direction != 'lower' else 'left'} and "
        f"{'up' if mo.direction != 'lower' else 'down'} is better)",
        fontsize=11,
        y=1 - 0.1 / fig.get_figheight(),
        va="top",
    )
    return fig


def posterior_figure(posterior, scenario: str, headlines: dict[str, str], baseline: str):
    """Per headline and strategy: the paired difference in each posterior draw, the baseline at 0.

    ``posterior``: :class:`sim.analysis.uncertainty.PosteriorTables`. Dots: one per draw
    (area by its weight); bars: the weighted mean with its interval with parameter
    uncertainty (thin) and its seed-only interval (thick).
    """
    s = posterior.summary[posterior.summary["scenario"] == scenario]
    g = posterior.by_draw[posterior.by_draw["scenario"] == scenario]
    names = [n for n in headlines.values() if n in set(s["outcome"])]
    if s.empty or not names:
        return None
    strategies = sorted(s["strategy"].unique())
    fig, axes = _grid(
        1,
        len(names),
        panel=(3.2, max(0.8, 0.34 * len(strategies) + 0.2)),
        margins=(0.3 + _text_width(strategies), 0.25, 1.0, 0.95),
        gaps=(0.35, 1.0),
        sharey=True,
    )
    level = round(100 * float(s["confidence"].iloc[0]))
    for ax, (key, name) in zip(axes.flat, [(k, v) for k, v in headlines.items() if v in names],
                               strict=False):  # fmt: skip
        o = BY_NAME[name]
        for yi, st in enumerate(strategies):
            r = s[(s["strategy"] == st) & (s["outcome"] == name)]
            d = g[(g["strategy"] == st) & (g["outcome"] == name)]
            jitter = np.linspace(-0.18, 0.18, len(d)) if len(d) > 1 else np.zeros(len(d))
            ax.scatter(d["diff"], yi + jitter, s=20 + 180 * d["weight"], color="#1f77b4",
                       alpha=0.55, edgecolor="none", zorder=3)  # fmt: skip
            if len(r):
                r = r.iloc[0]
                if np.isfinite(r.param_ci_low):
                    ax.plot([r.param_ci_low, r.param_ci_high], [yi + 0.32] * 2, color="#ff7f0e",
                            lw=1.2, marker="|", ms=9, mew=1.5, zorder=5)  # fmt: skip
                if np.isfinite(r.seed_ci_low):
                    ax.hlines(yi + 0.32, r.seed_ci_low, r.seed_ci_high, color="black", lw=3)
                ax.plot([r["diff"]], [yi + 0.32], "o", color="black", ms=4, zorder=4)
        ax.axvline(0, color="#d62728", lw=1.0)
        ax.set_title(f"{key}: {name}\n({fm.direction_text(o)})", fontsize=9)
        ax.set_xlabel(f"difference from {baseline} ({o.unit})", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].set_yticks(np.arange(len(strategies)), strategies)
    axes[0, 0].set_ylim(len(strategies) - 0.4, -0.5)
    handles = [
        Line2D([], [], color="#1f77b4", marker="o", lw=0, alpha=0.6,
               label="a posterior draw (area: weight)"),
        Line2D([], [], color="black", marker="o", lw=3, label=f"mean, seed-only {level}%"),
        Line2D([], [], color="#ff7f0e", lw=1.2, marker="|", ms=9,
               label=f"{level}% with parameter uncertainty"),
        Line2D([], [], color="#d62728", lw=1.0, label=f"the baseline ({baseline}): 0"),
    ]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle(
        f"Scenario {scenario}: paired difference from {baseline} in each posterior draw",
        fontsize=11,
        y=1 - 0.1 / fig.get_figheight(),
        va="top",
    )
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def render(draw, args: tuple) -> bytes | None:
    """The PNG of ``draw(*args)`` (a figure function of this module); None if it draws nothing."""
    fig = draw(*args)
    return None if fig is None else _png(fig)


@dataclass
class Plot:
    """A written plot: its title, its path relative to the experiment folder, its PNG."""

    title: str
    scenario: str
    relpath: str
    data: bytes


def _render_all(jobs: list[tuple], parallel: dict | None) -> list[bytes | None]:
    """:func:`render` of each ``(draw, args)``: in ``joblib.Parallel(**parallel)`` workers if given.

    The largest figures go first, so the workers finish together.
    """
    if not parallel or len(jobs) < 2:
        return [render(draw, args) for draw, args in jobs]
    from joblib import Parallel, delayed

    order = sorted(range(len(jobs)), key=lambda i: _COST.get(jobs[i][0].__name__, 1), reverse=True)
    out = Parallel(**parallel)(delayed(render)(*jobs[i]) for i in order)
    pngs: list[bytes | None] = [None] * len(jobs)
    for i, data in zip(order, out, strict=True):
        pngs[i] = data
    return pngs


#: Rough relative drawing times, to start the slow figures first.
_COST = {"forest_figure": 3, "channel_mix_figure": 3, "posterior_figure": 2}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("._") or "x"


def write_plots(
    exp_dir: Path,
    table: pd.DataFrame,
    comparison: pd.DataFrame,
    baseline: str,
    decision: pd.DataFrame | None = None,
    headlines: dict[str, str] | None = None,
    posterior=None,
    parallel: dict | None = None,
) -> tuple[list[Plot], list[str]]:
    """Draw and write every plot (atomically); returns them and notes on what was left out.

    ``decision`` (:func:`sim.analysis.decision.decisions`) and ``headlines`` give the
    decision plot; without them it is not drawn. ``posterior``
    (:class:`sim.analysis.uncertainty.PosteriorTables`) gives ``posterior_<scenario>.png``.
    ``parallel``: ``joblib.Parallel`` arguments to draw the figures in worker processes
    (an experiment passes its launcher's, whose workers are running); None draws them here.
    The plots are the same either way.
    """
    exp_dir = Path(exp_dir)
    series, notes = load_focal_series(exp_dir, table)
    plots: list[Plot] = []
    slugs: dict[str, str] = {}
    level = fm.level(comparison)
    specs = []  # (scenario, title, relative path, figure function, its arguments)
    for scenario in sorted(table["scenario"].unique()) if len(table) else []:
        slug = _slug(scenario)
        while slug in slugs.values():
            slug += "_"
        slugs[scenario] = slug
        sc, heads = scenario, headlines or {}
        figures = [
            ("Money against loyalty", "decision_",
             decision_figure, (decision, sc, heads, baseline, level)),
            (f"Loyalty: differences from {baseline}", "forest_loyalty_",
             forest_figure, (comparison, sc, "loyalty", baseline)),
            (f"Traffic: differences from {baseline}", "forest_traffic_",
             forest_figure, (comparison, sc, "traffic", baseline)),
            ("Focal bank channel mix over time", "channel_mix_",
             channel_mix_figure, (series, sc, baseline)),
            ("Focal bank active customers over time", "active_customers_",
             active_figure, (series, sc, baseline)),
            ("Differences in each posterior draw", "posterior_",
             posterior_figure, (posterior, sc, heads, baseline)),
        ]  # fmt: skip
        for title, prefix, draw, args in figures:
            if draw is posterior_figure and posterior is None:
                continue
            specs.append((scenario, title, f"plots/{prefix}{slug}.png", draw, args))
    pngs = _render_all([(draw, args) for *_, draw, args in specs], parallel)
    for (scenario, title, rel, _, _), data in zip(specs, pngs, strict=True):
        if data is None:
            continue
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
