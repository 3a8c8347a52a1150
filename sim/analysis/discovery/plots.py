"""The plots of a scenario discovery: the peeling trajectory, the cases with the box, the tree.

* :func:`plot_peeling`: coverage against density along PRIM's peeling
  trajectory, each step coloured by its number of restricted dimensions, the
  chosen box starred, the minimum coverage of the rule dashed;
* :func:`plot_box_scatter`: the cases on the two most significant restricted
  dimensions (failing ones as red crosses, holding ones as blue dots; cases
  inside the box in every dimension filled, others faint), the box drawn;
* :func:`plot_cart`: the classification tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.discovery.design import DiscoveryDesign


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_peeling(
    traj: pd.DataFrame,
    chosen: int,
    min_coverage: float,
    title: str,
    path: Path,
    final: dict | None = None,
):
    """Coverage against density along the peeling trajectory (from the whole design at
    coverage 1 towards smaller, denser boxes), each step coloured by its number of limits;
    the chosen step starred, the box after dropping unsupported limits as a diamond."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.6, 6.0))
    ax.plot(traj["coverage"], traj["density"], "-", color="#bbbbbb", lw=1, zorder=1)
    top = int(max(traj["res_dim"].max(), 1))
    sc = ax.scatter(
        traj["coverage"],
        traj["density"],
        c=traj["res_dim"],
        cmap="viridis",
        vmin=-0.5,
        vmax=top + 0.5,
        s=40,
        zorder=2,
    )
    cb = fig.colorbar(sc, ax=ax, ticks=range(top + 1))
    cb.set_label("limits (restricted dimensions)", fontsize=10)
    r = traj.iloc[chosen]
    ax.scatter(
        [r["coverage"]],
        [r["density"]],
        marker="*",
        s=360,
        facecolor="none",
        edgecolor="#d62728",
        linewidths=2,
        zorder=3,
        label=f"chosen step {chosen}: coverage {r['coverage']:.2f}, density {r['density']:.2f}",
    )
    if final is not None and (
        abs(final["coverage"] - r["coverage"]) > 1e-12
        or abs(final["density"] - r["density"]) > 1e-12
    ):
        ax.scatter(
            [final["coverage"]],
            [final["density"]],
            marker="D",
            s=110,
            facecolor=sc.cmap(sc.norm(final["res_dim"])),
            edgecolor="black",
            linewidths=2,
            zorder=4,
            label=f"the box, unsupported limits dropped ({final['res_dim']} left): coverage "
            f"{final['coverage']:.2f}, density {final['density']:.2f}",
        )
    ax.axhline(traj["density"].iloc[0], ls=":", color="grey", lw=1)
    ax.annotate(
        f"share failing over the whole design: {traj['density'].iloc[0]:.2f}",
        (0.02, traj["density"].iloc[0]),
        textcoords="offset points",
        xytext=(0, 4),
        fontsize=9,
        color="grey",
    )
    ax.axvline(min_coverage, ls="--", color="grey", lw=1, label=f"min coverage {min_coverage:g}")
    ax.set_xlim(0, 1.05)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("coverage (share of all failing cases that are inside the box)", fontsize=10)
    ax.set_ylabel("density (share of the cases inside the box that fail)", fontsize=10)
    ax.tick_params(labelsize=9)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=9, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def scatter_dims(box: pd.DataFrame | None, keys: Sequence[str]) -> list[str]:
    """The two dimensions to plot: the restricted ones with the smallest quasi-p-values,
    filled up with unrestricted ones in design order."""
    dims = []
    if box is not None:
        dims = list(box[box["restricted"] != "no"]["uncertainty"])  # sorted by qp already
    for k in keys:
        if len(dims) >= 2:
            break
        if k not in dims:
            dims.append(k)
    return dims[:2]


def _label(u) -> str:
    """An axis label: the key's last part, its unit, and the key's section."""
    parts = u.key.split(".")
    unit = f" ({u.unit})" if u.unit else ""
    return f"{parts[-1]}{unit}\n[{'.'.join(parts[:-1])}]"


def in_box(cases: pd.DataFrame, box: pd.DataFrame) -> pd.Series:
    """Whether each case lies inside the box in every dimension (limits included)."""
    inside = pd.Series(True, index=cases.index)
    for r in box.itertuples(index=False):
        inside &= (cases[r.uncertainty] >= r.box_low) & (cases[r.uncertainty] <= r.box_high)
    return inside


def plot_box_scatter(
    cases: pd.DataFrame,
    box: pd.DataFrame | None,
    design: DiscoveryDesign,
    title: str,
    path: Path,
    more: Sequence[pd.DataFrame] = (),
):
    """The cases on two dimensions, failing ones as red crosses, the chosen box drawn; cases
    inside the box in every dimension solid, the others faint; the box's other restricted
    dimensions listed under the plot; further boxes (``more``) dashed, on the same two axes
    (a box restricting neither shows as the whole plot)."""
    from matplotlib.patches import Rectangle

    plt = _plt()
    dims = scatter_dims(box, design.keys)
    units = {u.key: u for u in design.uncertainties}
    fig, ax = plt.subplots(figsize=(8.6, 6.4))
    f = cases["fails"].astype(bool).to_numpy()
    inside = in_box(cases, box).to_numpy() if box is not None else np.ones(len(cases), bool)
    a, b = dims
    groups = (
        (~f & inside, "o", "#1f77b4", 1.0, "holds, inside the box"),
        (~f & ~inside, "o", "#1f77b4", 0.3, "holds, outside"),
        (f & inside, "X", "#d62728", 1.0, "fails, inside the box"),
        (f & ~inside, "X", "#d62728", 0.3, "fails, outside"),
    )
    for mask, marker, color, alpha, label in groups:
        if box is None and "outside" in label:
            continue
        ax.scatter(
            cases.loc[mask, a],
            cases.loc[mask, b],
            s=46,
            marker=marker,
            color=color,
            alpha=alpha,
            edgecolors="none",
            label=f"{label.split(',')[0] if box is None else label} ({int(mask.sum())})",
        )
    notes = []
    if box is not None:
        lim = box.set_index("uncertainty")
        x0, x1 = lim.loc[a, "box_low"], lim.loc[a, "box_high"]
        y0, y1 = lim.loc[b, "box_low"], lim.loc[b, "box_high"]
        ax.add_patch(
            Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=2.2, color="black", zorder=3)
        )
        ax.plot([], [], color="black", lw=2.2, label="PRIM box")
        for i, other in enumerate(more, start=2):
            o = other.set_index("uncertainty")
            ax.add_patch(
                Rectangle(
                    (o.loc[a, "box_low"], o.loc[b, "box_low"]),
                    o.loc[a, "box_high"] - o.loc[a, "box_low"],
                    o.loc[b, "box_high"] - o.loc[b, "box_low"],
                    fill=False,
                    lw=1.8,
                    ls="--",
                    color="#555555",
                    zorder=3,
                )
            )
            ax.plot([], [], color="#555555", lw=1.8, ls="--", label=f"PRIM box {i}")
        for r in box.itertuples(index=False):
            if r.restricted != "no" and r.uncertainty not in dims:
                notes.append(
                    f"{r.uncertainty.split('.')[-1]} in [{r.box_low:.4g}, {r.box_high:.4g}] "
                    f"(qp {r.qp_value:.2g})"
                )
    for setter, k in ((ax.set_xlim, a), (ax.set_ylim, b)):
        u = units[k]
        pad = 0.03 * (u.hi - u.lo)
        setter(u.lo - pad, u.hi + pad)
    for key, set_label in ((a, ax.set_xlabel), (b, ax.set_ylabel)):
        text = _label(units[key])
        if box is not None and box.set_index("uncertainty").loc[key, "restricted"] != "no":
            text += f"  box limit qp {box.set_index('uncertainty').loc[key, 'qp_value']:.2g}"
        set_label(text, fontsize=10)
    ax.tick_params(labelsize=9)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if notes:
        fig.text(
            0.01,
            0.01,
            "the box also restricts: " + "; ".join(notes),
            fontsize=9,
            ha="left",
            va="bottom",
            wrap=True,
        )
    fig.tight_layout(rect=(0, 0.05 if notes else 0, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_cart(tree, keys: Sequence[str], path: Path):
    """The classification tree: each node's rule, its cases and [holds, fails] counts."""
    from sklearn.tree import plot_tree

    plt = _plt()
    depth = tree.get_depth()
    leaves = tree.get_n_leaves()
    fig, ax = plt.subplots(figsize=(max(8.0, 2.3 * leaves), 1.2 + 1.9 * (depth + 1)))
    plot_tree(
        tree,
        feature_names=[k.split(".")[-1] for k in keys],
        class_names=["holds", "fails"],
        filled=True,
        rounded=True,
        impurity=False,
        fontsize=10,
        ax=ax,
    )
    ax.set_title(
        "CART: value = [cases that hold, cases that fail]; left branch: the rule is true",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
