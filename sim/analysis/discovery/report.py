"""The findings of a scenario discovery: tables and plots written to the folder, text printed.

:func:`analyse` turns the outcome table into the case table (:mod:`.runs`),
runs PRIM (:mod:`.boxes`) and CART (:mod:`.cart`) on the cases that have a
gain, and writes, atomically: ``cases.csv`` (per case: conditions, both arms'
outcome, the gain, whether it fails), ``failed.csv`` (runs that failed or have
no value), ``peeling.csv`` and ``peeling.png`` (the trajectory, the chosen box
marked), ``box.csv`` (the chosen box's limits per uncertainty, restricted side,
quasi-p-value), ``box_scatter.png`` (the cases and the box), ``cart.txt`` and
``cart.png``, and ``discovery.md`` (the summary, written last).
:func:`print_summary` prints the same findings.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from sim.analysis.discovery.boxes import run_prim
from sim.analysis.discovery.cart import run_cart
from sim.analysis.discovery.design import DiscoveryDesign
from sim.analysis.discovery.plots import plot_box_scatter, plot_cart, plot_peeling
from sim.analysis.discovery.runs import gains
from sim.analysis.sensitivity import markdown_table
from sim.atomic import atomic_write
from sim.outcomes import BY_NAME


def _fmt(v: float) -> str:
    return "NaN" if not math.isfinite(v) else f"{v:.4g}"


def _limits(table: pd.DataFrame) -> tuple[list[str], list[str]]:
    """One line per restricted uncertainty of a box table, and the unrestricted ones."""
    lines, free = [], []
    for r in table.itertuples(index=False):
        if r.restricted == "no":
            free.append(r.uncertainty)
            continue
        sig = "significant" if r.significant else "NOT significant"
        lines.append(
            f"  {r.uncertainty:44s} in [{_fmt(r.box_low)}, {_fmt(r.box_high)}]  of "
            f"[{_fmt(r.design_low)}, {_fmt(r.design_high)}]  qp={r.qp_value:.2g} ({sig})"
        )
    return lines, free


def describe_box(prim_out: dict, design: DiscoveryDesign) -> list[str]:
    """The boxes in words: where the first was peeled to, what was dropped, its limits;
    then any further boxes."""
    if prim_out["box"] is None:
        return [f"  no box: {prim_out['note']}"]
    t = prim_out["trajectory"].iloc[prim_out["chosen"]]
    f = prim_out["final"]
    lines = [
        f"PRIM: peeled to step {prim_out['chosen']} of {len(prim_out['trajectory']) - 1} "
        f"(the densest box of coverage >= {design.prim.min_coverage:g}): coverage "
        f"{t['coverage']:.3f}, density {t['density']:.3f}, {int(t['res_dim'])} limits"
    ]
    for key, q in prim_out["dropped"]:
        lines.append(f"  dropped {key} (qp={q:.2g} > {design.prim.significance:g}: not supported)")
    lines.append(
        f"PRIM box: {f['failing']} of the {f['cases']} cases inside fail: coverage "
        f"{f['coverage']:.3f}, density {f['density']:.3f}, mass {f['mass']:.3f}"
    )
    limits, free = _limits(prim_out["box"])
    lines += limits
    if f["res_dim"] == 0:
        lines.append("  the box is the whole design: no limit is supported by the cases")
    if free:
        lines.append(f"  unrestricted: {', '.join(free)}")
    for i, more in enumerate(prim_out.get("more", []), start=2):
        m = more["final"]
        dropped = ", ".join(k for k, _ in more["dropped"])
        lines.append(
            f"PRIM box {i} (on the cases outside the boxes before it): {m['failing']} of the "
            f"{m['cases']} cases inside fail: coverage {m['coverage']:.3f}, density "
            f"{m['density']:.3f}, mass {m['mass']:.3f}"
            + (f"; dropped {dropped}" if dropped else "")
        )
        lines += _limits(more["box"])[0]
    if prim_out.get("more_note"):
        lines.append(prim_out["more_note"])
    return lines


def describe_cart(cart: dict) -> str:
    """CART's accuracy in one line."""
    if cart["tree"] is None:
        return f"CART: {cart['note']}"
    cv = (
        f"{cart['folds']}-fold cross-validated {cart['cv_accuracy']:.3f}"
        if cart["folds"]
        else cart["note"]
    )
    return (
        f"CART (depth {cart['tree'].get_depth()}, {cart['tree'].get_n_leaves()} leaves): "
        f"accuracy {cart['accuracy']:.3f} on the cases, {cv}; always the larger class: "
        f"{cart['base_rate']:.3f}"
    )


def box_table(prim_out: dict) -> pd.DataFrame:
    """Every box's table, one after the other, numbered in a first column ``box``."""
    tables = [prim_out["box"], *(m["box"] for m in prim_out.get("more", []))]
    return pd.concat(
        [t.assign(box=i).set_index("box").reset_index() for i, t in enumerate(tables, 1)],
        ignore_index=True,
    )


def analyse(folder: Path, design: DiscoveryDesign, samples: pd.DataFrame, table: pd.DataFrame):
    """Gains, PRIM, CART; every table and plot written to ``folder``; the summary dict."""
    cases, problems = gains(design, samples, table)
    valid = cases[cases["gain"].notna()].reset_index(drop=True)
    X = valid[design.keys]
    y = valid["fails"].astype(bool).to_numpy()
    prim_out = run_prim(X, y, design)
    cart = run_cart(X, y, design)
    o = design.outcome_name()
    head = (
        f"{design.strategy} vs {design.baseline} on {o} (paired gain, "
        f"{design.outcome_direction()} is better); fails when gain < {design.threshold:g}"
    )
    short = (
        f"{design.strategy} vs {design.baseline}: a case fails when its paired gain on {o} "
        f"< {design.threshold:g}"
    )
    atomic_write(folder / "cases.csv", cases.to_csv(index=False, float_format="%.10g"))
    atomic_write(folder / "failed.csv", problems.to_csv(index=False))
    files = ["cases.csv", "failed.csv"]
    if prim_out["trajectory"] is not None:
        atomic_write(
            folder / "peeling.csv",
            prim_out["trajectory"].to_csv(index=False, float_format="%.10g"),
        )
        atomic_write(
            folder / "box.csv", box_table(prim_out).to_csv(index=False, float_format="%.10g")
        )
        plot_peeling(
            prim_out["trajectory"],
            prim_out["chosen"],
            design.prim.min_coverage,
            f"{design.name}: PRIM peeling trajectory\n{short}",
            folder / "peeling.png",
            final=prim_out["final"],
        )
        files += ["peeling.csv", "peeling.png", "box.csv"]
    if len(valid):
        plot_box_scatter(
            valid,
            prim_out["box"],
            design,
            f"{design.name}: the cases and the PRIM box\n{short}",
            folder / "box_scatter.png",
            more=[m["box"] for m in prim_out.get("more", [])],
        )
        files.append("box_scatter.png")
    cart_text = [describe_cart(cart), ""]
    if cart["tree"] is not None:
        cart_text += [cart["rules"]]
        plot_cart(cart["tree"], design.keys, folder / "cart.png")
        files.append("cart.png")
    atomic_write(folder / "cart.txt", "\n".join(cart_text) + "\n")
    files.append("cart.txt")
    n_fail = int(y.sum())
    g = valid["gain"]
    unit = BY_NAME[o].unit if o in BY_NAME else ""
    gain_line = (
        f"gain ({unit}): median {g.median():.4g}, 10% to 90% of cases [{g.quantile(0.1):.4g}, "
        f"{g.quantile(0.9):.4g}], range [{g.min():.4g}, {g.max():.4g}]"
        if len(g)
        else "gain: no case has one"
    )
    summary = {
        "head": head,
        "gain_line": gain_line,
        "cases": cases,
        "problems": problems,
        "n_valid": len(valid),
        "n_fail": n_fail,
        "prim": prim_out,
        "cart": cart,
        "files": files,
    }
    md = [
        f"# Scenario discovery: {design.name}\n\n",
        f"{head}.\n\n{len(cases)} cases (Latin hypercube, sample seed {design.sample_seed}) x "
        f"seeds {design.seeds}; scenario `{design.scenario}`, population {design.population}, "
        f"{design.weeks} weeks. {len(valid)} cases have a gain; {n_fail} fail "
        f"({100 * n_fail / max(len(valid), 1):.1f}%); {gain_line}.\n\n## PRIM\n\n",
        "\n".join(
            f"- {line.strip()}" if line.startswith("  ") else f"\n{line}\n"
            for line in describe_box(prim_out, design)
        ).strip()
        + "\n",
    ]
    if prim_out["box"] is not None:
        md += ["\n", markdown_table(box_table(prim_out), ".4g")]
    md += [f"\n## CART\n\n{describe_cart(cart)}\n\n```text\n{cart['rules']}```\n"]
    if len(problems):
        md.append(
            f"\n## Problems\n\n{len(problems)} runs failed or have no value (`failed.csv`).\n"
        )
    atomic_write(folder / "discovery.md", "".join(md))
    files.append("discovery.md")
    return summary


def print_summary(folder: Path, design: DiscoveryDesign, summary: dict) -> None:
    """The failure share, the box, CART's accuracy and rules, the problems; on stdout."""
    n, k = summary["n_valid"], summary["n_fail"]
    print(f"\n{summary['head']}")
    print(f"failing cases: {k} of {n} ({100 * k / max(n, 1):.1f}%); {summary['gain_line']}")
    print("\n".join(describe_box(summary["prim"], design)))
    print(describe_cart(summary["cart"]))
    if summary["cart"]["rules"]:
        print("  " + summary["cart"]["rules"].rstrip().replace("\n", "\n  "))
    problems = summary["problems"]
    if len(problems):
        print(f"\nproblems ({len(problems)}, listed in {folder / 'failed.csv'}):")
        for r in problems.head(12).itertuples(index=False):
            print(f"  case {r.case} seed {r.seed} {r.arm}: {r.status}: {r.message}")
        if len(problems) > 12:
            print(f"  ... {len(problems) - 12} more")
    print(f"\nfolder: {folder}")
    for name in summary["files"]:
        print(f"  {name}")
