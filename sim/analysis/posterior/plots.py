"""The posterior's plots: marginals, pairs, correlations, generations, the predictive."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.posterior.design import Prior
from sim.analysis.posterior.observation import Band


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_marginals(
    post: pd.DataFrame,
    priors: Sequence[Prior],
    path: Path,
    reference: Mapping[str, float] | None = None,
    dpi: int = 80,
) -> Path:
    """Each parameter's weighted histogram and weighted KDE (pyabc) over its prior range."""
    from pyabc.visualization import plot_kde_1d

    plt = _plt()
    n = len(priors)
    ncol = min(4, n)
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.3 * nrow), squeeze=False)
    w = post["weight"].to_numpy(dtype=float)
    for ax, p in zip(axes.flat, priors, strict=False):
        x = post[p.key].to_numpy(dtype=float)
        df = pd.DataFrame({p.name: x})
        ax.hist(x, bins=12, range=(p.low, p.high), weights=w, density=True, color="#c6dbef")
        plot_kde_1d(df, w, p.name, xmin=p.low, xmax=p.high, numx=120, ax=ax, color="#08519c")
        grid = np.linspace(p.low, p.high, 200)
        ax.plot(grid, p.pdf(grid), color="grey", ls="--", lw=1, label="prior")
        if reference and p.key in reference:
            ax.axvline(reference[p.key], color="#d62728", lw=1.2, label="point fit")
        ax.set_xlim(p.low, p.high)
        ax.set_title(p.name, fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", fontsize=8)
    fig.suptitle(
        "Posterior marginals (weighted KDE and histogram) over the prior ranges", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def plot_pairs(post: pd.DataFrame, priors: Sequence[Prior], path: Path, dpi: int = 60) -> Path:
    """pyabc's KDE matrix: 1-D marginals, 2-D KDEs and scatter of every parameter pair."""
    from pyabc.visualization import plot_kde_matrix

    plt = _plt()
    df = pd.DataFrame({p.name: post[p.key].to_numpy(dtype=float) for p in priors})
    limits = {p.name: (p.low, p.high) for p in priors}
    arr = plot_kde_matrix(
        df,
        post["weight"].to_numpy(dtype=float),
        limits=limits,
        colorbar=False,
        height=1.3,
        numx=30,
        numy=30,
    )
    fig = np.asarray(arr).flat[0].figure
    for ax in np.asarray(arr).flat:
        ax.tick_params(labelsize=5)
        ax.xaxis.label.set_size(7)
        ax.yaxis.label.set_size(7)
    fig.subplots_adjust(top=0.95)
    fig.suptitle("Posterior: marginals and pairs (pyabc plot_kde_matrix)", fontsize=10, y=0.99)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def plot_correlation(corr: pd.DataFrame, path: Path, dpi: int = 80) -> Path:
    """The weighted correlation matrix as a heat map with the values written in."""
    plt = _plt()
    n = len(corr)
    fig, ax = plt.subplots(figsize=(0.55 * n + 2.5, 0.5 * n + 1.5))
    im = ax.imshow(corr.to_numpy(), vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(n), corr.columns, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n), corr.index, fontsize=7)
    for i in range(n):
        for j in range(n):
            v = corr.iloc[i, j]
            if i != j and math.isfinite(v):
                ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=6)
    fig.colorbar(im, ax=ax, shrink=0.7)
    ax.set_title("Posterior correlations between parameters (weighted)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def plot_generations(gens: pd.DataFrame, path: Path, min_epsilon: float, dpi: int = 80) -> Path:
    """Per generation: the threshold, the acceptance rate and the effective sample size."""
    plt = _plt()
    g = gens[(gens["generation"] >= 0) & np.isfinite(gens["epsilon"])]
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(11, 2.8))
    a1.plot(g["generation"], g["epsilon"], "o-")
    a1.axhline(min_epsilon, color="#2ca02c", ls="--", lw=1, label="every fact inside its band")
    a1.set_ylabel("epsilon (max |z|, band units)")
    a1.legend(fontsize=7)
    a2.plot(g["generation"], g["acceptance_rate"], "o-", color="#ff7f0e")
    a2.set_yscale("log")
    a2.set_ylabel("acceptance rate")
    a3.bar(g["generation"], g["particles"], color="#dddddd", label="particles")
    a3.bar(g["generation"], g["ess"], color="#1f77b4", width=0.5, label="effective sample size")
    a3.set_ylabel("particles")
    a3.legend(fontsize=7)
    for a in (a1, a2, a3):
        a.set_xticks(list(g["generation"]))
        a.set_xlabel("generation")
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def plot_predictive(
    pred: pd.DataFrame, fit: pd.DataFrame, observed: Sequence[Band], path: Path, dpi: int = 80
) -> Path:
    """Every fact of every predictive draw against its band, on the band's scale.

    Position ``(x - mid) / half``: -1 is the band's low end, +1 its high end; the
    target is the black tick; dots are draws, the bar the 5-95% range, the
    diamond the mean (blue inside the band, red outside).
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(observed) + 1.4))
    rng = np.random.default_rng(0)  # vertical jitter of the dots only
    for i, (b, r) in enumerate(zip(observed, fit.itertuples(), strict=True)):
        mid, half = (b.lo + b.hi) / 2, (b.hi - b.lo) / 2

        def z(x, mid=mid, half=half):
            return (np.asarray(x, dtype=float) - mid) / half

        ax.plot([-1, 1], [i, i], color="#cfe3cf", lw=11, solid_capstyle="butt", zorder=0)
        x = pred[b.fact].to_numpy(dtype=float)
        ax.scatter(z(x), i + rng.uniform(-0.18, 0.18, x.size), s=7, color="grey", alpha=0.6)
        ax.plot([z(r.q5), z(r.q95)], [i, i], color="black", lw=1.2)
        ax.plot(z(b.value), i, "k|", ms=14)
        ax.plot(z(r.mean), i, "D", color="#1f77b4" if r.inside else "#d62728", ms=6)
        ax.text(
            1.02,
            i,
            f"{r.share_inside:.0%}",
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=7,
        )
    ax.set_yticks(range(len(observed)), [b.fact for b in observed], fontsize=8)
    ax.invert_yaxis()  # the targets file's order, top down
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_xlabel("position in the band (-1 low end, +1 high end); | target; right: draws inside")
    ax.set_title(
        f"Posterior predictive: {len(pred)} draws, each on a fresh seed, against the bands",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
