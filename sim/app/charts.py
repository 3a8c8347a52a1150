"""Charts of the workshop app, drawn server-side with Matplotlib as PNG bytes.

Figures are made with :class:`matplotlib.figure.Figure` (no pyplot), so
several browser sessions can draw at the same time.
"""

from __future__ import annotations

import io

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.app.common import WEEKS_PER_ROUND, bank_label
from sim.app.lab import CHANNEL_GROUPS, LabSession

STRATEGY_STYLE = {"lw": 1.8}
BASELINE_STYLE = {"lw": 1.3, "ls": "--", "alpha": 0.8}
GROUP_COLOURS = ("#8c564b", "#1f77b4", "#2ca02c", "#9467bd")
BANK_COLOURS = ("#d62728", "#1f77b4", "#17becf", "#2ca02c", "#ff7f0e", "#7f7f7f")


def _png(fig: Figure, dpi: int = 72) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _smooth(s: pd.Series, weeks: int = 4) -> pd.Series:
    return s.rolling(weeks, min_periods=1).mean()


def _shade(ax, shocks, horizon: int) -> None:
    seen = set()
    for s in shocks:
        if (s.start, s.end) in seen or s.start > horizon:
            continue
        seen.add((s.start, s.end))
        ax.axvspan(s.start, min(s.end, horizon) + 1, color="#f2c94c", alpha=0.15, lw=0)


def lab_png(session: LabSession, dpi: int = 72) -> bytes:
    """Eight panels, the strategy run (solid) against the baseline run (dashed).

    Top row, loyalty and traffic side by side: retention of the bank's week-0 customers,
    those who switched away fully, active customers, switching flows. Bottom row: channel
    mix, share of payments, satisfaction, cumulative profit.
    """
    a, b = session.frames()
    fig = Figure(figsize=(15, 6.6))
    fig.subplots_adjust(left=0.04, right=0.995, top=0.91, bottom=0.075, wspace=0.22, hspace=0.32)
    axes = fig.subplots(2, 4)
    horizon = max(int(a["week"].max()) if len(a) else 0, 13)
    shocks = session.shocks()
    titles = (
        "Loyalty: week-0 customers still with the bank (%)",
        "Loyalty: week-0 customers who left it fully (%)",
        "Traffic: active customers (an interaction in 4 weeks)",
        "Switching flows: accounts opened / closed per week",
        "Channel mix of the bank's contacts (share, 4-week mean)",
        "Share of all payments (banks + platforms)",
        "Satisfaction of the bank's customers",
        "Cumulative profit (thousand RMB)",
    )
    for ax, title in zip(axes.flat, titles, strict=True):
        ax.set_title(title, fontsize=9.5, loc="left")
        ax.set_xlim(0, horizon + 1)
        ax.grid(alpha=0.25)
        ax.tick_params(labelsize=8)
        _shade(ax, shocks, horizon)
    for ax in axes[1]:
        ax.set_xlabel("week", fontsize=9)
    if len(a):
        w = a["week"]
        ax = axes[0, 0]
        ax.plot(w, 100 * a["retention"], color="#d62728", label="your strategy", **STRATEGY_STYLE)
        ax.plot(w, 100 * b["retention"], color="#444444", label="baseline", **BASELINE_STYLE)
        ax.legend(fontsize=8, frameon=False)
        ax = axes[0, 1]
        ax.plot(w, 100 * a["full_switch"], color="#d62728", **STRATEGY_STYLE)
        ax.plot(w, 100 * b["full_switch"], color="#444444", **BASELINE_STYLE)
        ax.text(
            0.02,
            0.96,
            "still in the market, no account at the bank",
            transform=ax.transAxes,
            fontsize=7,
            va="top",
            color="#666666",
        )
        ax = axes[0, 2]
        ax.plot(w, a["active"], color="#d62728", label="your strategy", **STRATEGY_STYLE)
        ax.plot(w, b["active"], color="#444444", label="baseline", **BASELINE_STYLE)
        ax = axes[0, 3]
        ax.plot(w, _smooth(a["opens"]), color="#2ca02c", label="opened", **STRATEGY_STYLE)
        ax.plot(w, _smooth(b["opens"]), color="#2ca02c", **BASELINE_STYLE)
        ax.plot(w, _smooth(a["closes"]), color="#d62728", label="closed", **STRATEGY_STYLE)
        ax.plot(w, _smooth(b["closes"]), color="#d62728", **BASELINE_STYLE)
        ax.legend(fontsize=8, frameon=False)
        ax = axes[1, 0]
        for colour, group in zip(GROUP_COLOURS, CHANNEL_GROUPS, strict=True):
            col = f"mix:{group}"
            ax.plot(w, _smooth(a[col]), color=colour, label=group, **STRATEGY_STYLE)
            ax.plot(w, _smooth(b[col]), color=colour, **BASELINE_STYLE)
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7, loc="upper left", ncol=2, frameon=False)
        ax = axes[1, 1]
        ax.plot(
            w,
            100 * _smooth(a["payment_share"]),
            color="#d62728",
            label="this bank",
            **STRATEGY_STYLE,
        )
        ax.plot(w, 100 * _smooth(b["payment_share"]), color="#d62728", **BASELINE_STYLE)
        ax.plot(
            w,
            100 * _smooth(a["market_bank_share"]),
            color="#1f77b4",
            label="all five banks (rest: platforms)",
            **STRATEGY_STYLE,
        )
        ax.plot(w, 100 * _smooth(b["market_bank_share"]), color="#1f77b4", **BASELINE_STYLE)
        ax.set_ylabel("%", fontsize=9)
        ax.legend(fontsize=8, frameon=False)
        ax = axes[1, 2]
        ax.plot(w, a["satisfaction"], color="#d62728", **STRATEGY_STYLE)
        ax.plot(w, b["satisfaction"], color="#444444", **BASELINE_STYLE)
        ax = axes[1, 3]
        ax.plot(w, a["profit"].cumsum() / 1000, color="#d62728", **STRATEGY_STYLE)
        ax.plot(w, b["profit"].cumsum() / 1000, color="#444444", **BASELINE_STYLE)
    else:
        for ax in axes.flat:
            ax.text(
                0.5,
                0.5,
                "press STEP or PLAY",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="#888888",
            )
    spun = session.spinup()
    start = (
        f"week 0 = the market at rest after {spun['weeks']} weeks of spin-up"
        if spun.get("weeks")
        else "week 0 = the drawn population (no spin-up)"
    )
    fig.suptitle(
        f"{start}   solid: your strategy   dashed: baseline (same seed, same scenario)"
        + ("   shaded: scenario shocks" if shocks else ""),
        fontsize=9,
        x=0.995,
        ha="right",
    )
    return _png(fig, dpi)


def game_png(game, dpi: int = 72, upto_week: int | None = None) -> bytes:
    """Customers and active customers per bank over the game, rounds marked.

    ``upto_week``: draw the weeks up to this one only (the debrief's round by round).
    """
    fig = Figure(figsize=(13, 3.6))
    fig.subplots_adjust(left=0.05, right=0.99, top=0.9, bottom=0.14, wspace=0.2)
    axes = fig.subplots(1, 3)
    series = (
        ("customers", "Customers (account holders)"),
        ("active_4w", "Active customers (4 weeks)"),
        ("satisfaction", "Satisfaction"),
    )
    horizon = game.weeks_total
    for ax, (kpi, title) in zip(axes, series, strict=True):
        ax.set_title(title, fontsize=10, loc="left")
        ax.set_xlim(0, horizon + 1)
        ax.grid(alpha=0.25)
        ax.tick_params(labelsize=8)
        ax.set_xlabel("week", fontsize=9)
        for r in range(1, game.rounds):
            ax.axvline(r * WEEKS_PER_ROUND + 0.5, color="#cccccc", lw=0.8)
        df = game.bank_series(kpi)
        if upto_week is not None:
            df = df.loc[df.index <= upto_week]
        if df.empty:
            ax.text(
                0.5,
                0.5,
                "play a round",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="#888888",
            )
            continue
        for colour, bank in zip(BANK_COLOURS, game.bank_names, strict=False):
            team = game.owner(bank)
            label = bank_label(bank) + ("" if team.startswith("(") else f" ({team})")
            label = label.replace("$", r"\$")  # team names are text, not mathtext
            ax.plot(
                df.index,
                df[bank],
                color=colour,
                lw=1.6 if team[0] != "(" else 1.0,
                ls="-" if team[0] != "(" else ":",
                label=label,
            )
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize=7, frameon=False, loc="best")
    return _png(fig, dpi)


def points_png(game, dpi: int = 72) -> bytes:
    """Total points per bank after each round (the leaderboard's race)."""
    fig = Figure(figsize=(6.5, 3.2))
    fig.subplots_adjust(left=0.1, right=0.98, top=0.88, bottom=0.16)
    ax = fig.subplots()
    ax.set_title("Points (total) after each round", fontsize=10, loc="left")
    ax.grid(alpha=0.25)
    ax.tick_params(labelsize=8)
    ax.set_xlabel("round", fontsize=9)
    rounds = list(range(0, game.round + 1))
    for colour, bank in zip(BANK_COLOURS, game.bank_names, strict=False):
        pts = [0] + [
            next(r for r in h.rows if r["bank"] == bank)["points_total"] for h in game.history
        ]
        team = game.owner(bank)
        label = (bank_label(bank) + ("" if team.startswith("(") else f" ({team})")).replace(
            "$", r"\$"
        )
        ax.plot(rounds, pts, marker="o", ms=3, color=colour, label=label)
    ax.set_xticks(rounds)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return _png(fig, dpi)


def blank_png() -> bytes:
    """A one-pixel white PNG."""
    fig = Figure(figsize=(0.1, 0.1))
    fig.patch.set_facecolor("white")
    return _png(fig, 10)


__all__ = ["blank_png", "game_png", "lab_png", "points_png"]
