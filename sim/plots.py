"""The run plots a planner looks at (PNG, written atomically)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from sim.config import CHANNELS

COLORS = {
    "branch": "#8c564b",
    "atm": "#bcbd22",
    "online": "#1f77b4",
    "mobile": "#2ca02c",
    "messaging": "#17becf",
    "remote": "#9467bd",
    "open": "#ff7f0e",
    "platform": "#7f7f7f",
}


def save(fig, path: Path) -> None:
    """Save a figure through a temporary file and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)


def run_plots(result, folder: Path) -> list[Path]:
    """Channel mix, active customers, switching flows and payment share over time."""
    banks, market = result.banks, result.market
    sm = result.summary
    title = f"{sm['strategy']} / {sm['scenario']} / seed {sm['seed']}"
    out = []

    focal = banks[banks["focal"]].set_index("week")
    cols = [f"contacts_{c}" for c in CHANNELS]
    mix = focal[cols].div(focal[cols].sum(axis=1), axis=0)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.stackplot(mix.index, mix.T.values, labels=CHANNELS, colors=[COLORS[c] for c in CHANNELS])
    ax.set(
        xlabel="week",
        ylabel="share of the focal bank's contacts",
        ylim=(0, 1),
        title=f"Focal bank channel mix ({title})",
    )
    ax.legend(loc="center left", bbox_to_anchor=(1, 0.5), fontsize=8)
    save(fig, folder / "channel_mix.png")
    out.append(folder / "channel_mix.png")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, g in banks.groupby("bank", sort=False):
        g = g.set_index("week")
        ax.plot(
            g.index,
            g["active_4w"] / 1000,
            label=f"{name} active (4 weeks)",
            lw=2.5 if g["focal"].iloc[0] else 1.2,
        )
    ax.set(xlabel="week", ylabel="thousand customers", title=f"Active customers per bank ({title})")
    ax.legend(fontsize=8)
    save(fig, folder / "active_customers.png")
    out.append(folder / "active_customers.png")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(focal.index, focal["opens"].rolling(4, min_periods=1).mean(), label="accounts opened")
    ax.plot(focal.index, focal["closes"].rolling(4, min_periods=1).mean(), label="accounts closed")
    ax.plot(
        focal.index,
        focal["reactivations"].rolling(4, min_periods=1).mean(),
        label="dormant accounts reactivated",
    )
    ax.set(
        xlabel="week",
        ylabel="accounts per week (4-week mean)",
        title=f"Focal bank switching flows ({title})",
    )
    ax.legend(fontsize=8)
    save(fig, folder / "switching_flows.png")
    out.append(folder / "switching_flows.png")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    total = market["bank_payments"] + market["platform_payments"]
    ax.plot(market["week"], market["bank_payments"] / total, label="all banks")
    ax.plot(focal.index, focal["payments"] / total.values, label="focal bank")
    ax.set(
        xlabel="week",
        ylabel="share of payment counts",
        ylim=(0, None),
        title=f"Banks' share of payments against platforms ({title})",
    )
    ax.legend(fontsize=8)
    save(fig, folder / "payment_share.png")
    out.append(folder / "payment_share.png")
    return out
