"""Robustness across scenarios: each strategy's regret, and the minimax-regret choice.

For one outcome, a strategy's regret in a scenario is its shortfall from the
best strategy in that scenario, in the outcome's direction (``higher`` is
better: best minus its value; ``lower``: its value minus the best), computed
on the mean over seeds. The worst-case regret is its largest regret over the
scenarios; the recommended strategy minimises it (minimax regret; ties go to
the lower mean regret). ``--relative`` divides each regret by the size of the
scenario's best value, for outcomes whose scale differs between scenarios.

Within a scenario, means use the seeds every strategy has a value for
(common random numbers: strategies are compared on the same draws); seeds
dropped for that are reported. A strategy without any value in a scenario
(its runs failed) has no regret there and is not recommended; it is listed.

An experiment run over posterior draws (``experiment.posterior=...``,
:mod:`sim.analysis.uncertainty`) repeats every seed on each draw: its runs
are matched by (draw, seed) instead, and a strategy's mean is the weighted
mean over draws (weights from the folder's ``posterior_draws.csv``) of its
mean over each draw's seeds; the regret is computed on those means. A folder
with draws but no ``draw`` column (or the reverse) is refused
(:func:`draw_weights`). Grid mode runs the point calibration only.

    # from an experiment folder (experiment.csv, else the run summaries)
    python -m sim.analysis.robustness --experiment results/experiments/<folder> \\
        --outcome retention_26w
    # or run the grid first (extra Hydra overrides for every run last)
    python -m sim.analysis.robustness --strategies baseline,rewards,zero_contact \\
        --scenarios none,pandemic,platform_squeeze --seeds 0-2 --population 1500 --weeks 52

Grid mode runs on the evaluator (:mod:`sim.analysis.evaluator`): local cores
(``--jobs``), a Ray cluster (``--ray ADDRESS``) or any Hydra launcher (the
overrides ``hydra/launcher=submitit_slurm hydra.launcher.partition=...``), each
run recorded in ``experiment/runs/<strategy>__<scenario>__s<seed>.json`` with
its run folder beside it, then the experiment's aggregation
(:func:`sim.analysis.compare.aggregate`) writes its tables and report into
``experiment/`` as ``python -m sim.experiment`` would.

Output folder (``results/robustness/<time>-<outcome>/``, never reused):
``means.csv`` (strategy x scenario means), ``regret.csv`` (regret per
scenario, worst and mean regret, rank), ``robustness.md`` and
``regret_heatmap.png``; in grid mode the experiment is in ``experiment/``
(with the evaluator's ``outcomes.csv`` / ``outcomes.parquet``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.evaluator import (
    Backend,
    RunConfig,
    add_backend_arguments,
    backend_from_args,
    evaluate,
    markdown_table,
    new_output_folder,
    parse_seeds,
)
from sim.atomic import atomic_write
from sim.headlines import DEFAULT as HEADLINE_DEFAULTS


# --------------------------------------------------------------------------- reading
def read_experiment(exp_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    """The experiment table (one row per complete run) and notes on runs left out.

    Reads ``experiment.csv`` when the comparison module wrote one, else the
    ``summary.json`` of every complete run under ``runs/``.
    """
    exp_dir = Path(exp_dir)
    notes: list[str] = []
    runs = exp_dir / "runs"
    if not (exp_dir / "experiment.csv").exists() and not runs.is_dir():
        from sim.errors import ConfigError

        raise ConfigError(
            f"command line: --experiment = {str(exp_dir)!r} is not allowed; "
            "allowed: an experiment folder (experiment.csv or runs/)"
        )
    for folder in sorted(p for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else []:
        if (folder / "FAILED").exists():
            first = (folder / "FAILED").read_text().strip().splitlines()[:1]
            notes.append(f"run {folder.name} failed: {first[0] if first else ''}")
        elif not (folder / "COMPLETE").exists():
            notes.append(f"run {folder.name} is incomplete (interrupted?)")
    if (exp_dir / "experiment.csv").exists():
        return pd.read_csv(exp_dir / "experiment.csv"), notes
    rows = []
    for folder in sorted(p for p in runs.iterdir() if p.is_dir()):
        if (folder / "COMPLETE").exists():
            s = json.loads((folder / "summary.json").read_text())
            rows.append(
                {
                    "run": folder.name,
                    "strategy": s["strategy"],
                    "scenario": s["scenario"],
                    "seed": int(s["seed"]),
                    **s["outcomes"],
                }
            )
    return pd.DataFrame(rows), notes


def draw_weights(exp_dir: Path, table: pd.DataFrame) -> dict[int, float] | None:
    """draw -> posterior weight for a table of runs over posterior draws; None without draws.

    An experiment run with ``experiment.posterior=...`` repeats every seed on each
    draw (:mod:`sim.analysis.uncertainty`): its ``experiment.csv`` has a ``draw``
    column and the folder holds ``posterior_draws.csv`` with the draws' weights
    (:func:`sim.analysis.uncertainty.read_draws`). A folder with one and not the
    other cannot be paired correctly and is refused, saying what to do.
    """
    from sim.analysis.uncertainty import DRAWS_FILE, read_draws, weights_of
    from sim.errors import ConfigError

    exp_dir = Path(exp_dir)
    try:
        draws = read_draws(exp_dir)
    except ValueError as err:
        raise ConfigError(
            f"{err}; allowed: the file as python -m sim.experiment wrote it"
        ) from None
    if "draw" not in table.columns:
        if draws is None:
            return None
        raise ConfigError(
            f"{exp_dir}: the runs are over posterior draws ({DRAWS_FILE}) but the table read "
            "has no draw column (no experiment.csv), so runs cannot be paired within a "
            "(draw, seed); write experiment.csv first: python -m sim.analysis.compare "
            f"{exp_dir}"
        )
    if draws is None:
        raise ConfigError(
            f"{exp_dir}: experiment.csv has a draw column (runs over posterior draws) but "
            f"{DRAWS_FILE}, which gives the draws' weights, is missing; allowed: the "
            "experiment folder as python -m sim.experiment wrote it"
        )
    try:
        return weights_of(draws, table)
    except ValueError as err:
        raise ConfigError(f"{exp_dir}: {err}") from None


def cell_means(
    table: pd.DataFrame,
    outcome: str,
    strategies: list[str] | None = None,
    scenarios: list[str] | None = None,
    weights: Mapping[int, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """Means (strategies x scenarios) over the runs shared by every strategy of a scenario.

    Runs are matched by seed or, for a table with a ``draw`` column (runs over
    posterior draws, ``weights``: draw -> posterior weight, required then), by
    (draw, seed). A strategy's mean is then the weighted mean over draws of its
    mean over each draw's shared seeds (weights renormalised over the draws
    with a shared run), and its standard error the seed-only one
    (:mod:`sim.analysis.uncertainty`: within-draw variance pooled over draws,
    ``SE^2 = s2 sum_d w_d^2 / n_d``; without draws, the usual ``sd / sqrt(n)``).

    Returns the means, their standard errors (NaN with one seed per draw), the
    number of runs behind each, and notes on what was left out.
    """
    if outcome not in table.columns:
        raise KeyError(f"outcome {outcome!r} is not in the experiment table")
    by_draw = "draw" in table.columns
    if by_draw and weights is None:
        raise ValueError(
            "the table has a draw column (runs over posterior draws): the draws' weights are "
            "required to pair runs within a (draw, seed)"
        )
    t = table[np.isfinite(table[outcome].astype(float))]
    strategies = strategies or sorted(table["strategy"].unique())
    scenarios = scenarios or sorted(table["scenario"].unique())
    means = pd.DataFrame(
        np.nan,
        index=pd.Index(strategies, name="strategy"),
        columns=pd.Index(scenarios, name="scenario"),
    )
    counts = pd.DataFrame(0, index=means.index, columns=means.columns)
    ses = means.copy()
    notes: list[str] = []
    for c in scenarios:
        tc = t[t["scenario"] == c]
        units = list(zip(tc["draw"], tc["seed"], strict=True)) if by_draw else list(tc["seed"])
        unit_sets = {
            s: {u for u, own in zip(units, tc["strategy"] == s, strict=True) if own}
            for s in strategies
        }
        missing = [s for s, units in unit_sets.items() if not units]
        for s in missing:
            notes.append(f"{s} has no {outcome} value in scenario {c}")
        present = [units for s, units in unit_sets.items() if units]
        if not present:
            continue
        shared = set.intersection(*present)
        dropped = set.union(*present) - shared
        if dropped:
            what = "(draw, seed) pairs" if by_draw else "seeds"
            notes.append(
                f"scenario {c}: {what} {sorted(dropped)} left out (not run for every strategy)"
            )
        in_shared = np.array([u in shared for u in units], dtype=bool)
        for s in strategies:
            rows = tc[(tc["strategy"] == s).to_numpy() & in_shared]
            v = rows[outcome].astype(float)
            if not len(v):
                continue
            counts.loc[s, c] = len(v)
            if not by_draw:
                means.loc[s, c] = float(v.mean())
                if len(v) > 1:
                    ses.loc[s, c] = float(v.std(ddof=1) / math.sqrt(len(v)))
                continue
            mean, se = _weighted_mean(v.to_numpy(float), rows["draw"].to_numpy(), weights)
            means.loc[s, c], ses.loc[s, c] = mean, se
    return means, ses, counts, notes


def _weighted_mean(
    x: np.ndarray, draws: np.ndarray, weights: Mapping[int, float]
) -> tuple[float, float]:
    """The weighted mean over draws of each draw's mean of ``x``, and its seed-only SE."""
    ds = sorted({int(d) for d in draws})
    unknown = [d for d in ds if d not in weights]
    if unknown:
        raise ValueError(f"draw(s) {unknown} of the table have no weight")
    w = np.array([weights[d] for d in ds], dtype=float)
    w = w / w.sum()
    groups = [x[draws == d] for d in ds]
    n = np.array([g.size for g in groups], dtype=float)
    m = np.array([g.mean() for g in groups])
    dof = float((n - 1).sum())
    if dof <= 0:
        return float(w @ m), math.nan
    s2 = sum(float(((g - g.mean()) ** 2).sum()) for g in groups) / dof
    return float(w @ m), math.sqrt(s2 * float((w**2 / n).sum()))


# --------------------------------------------------------------------------- regret
def regret_table(means: pd.DataFrame, direction: str, relative: bool = False) -> pd.DataFrame:
    """Regret per strategy and scenario, with worst-case and mean regret and the rank.

    ``means``: strategies (rows) x scenarios (columns); ``direction``: ``higher``
    or ``lower`` is better. A missing mean gives a missing regret, and a
    strategy with any missing regret gets no worst case and no rank.
    """
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower', not {direction!r}")
    m = means.astype(float)
    if direction == "higher":
        best = m.max(axis=0, skipna=True)
        regret = best - m
    else:
        best = m.min(axis=0, skipna=True)
        regret = m - best
    if relative:
        regret = regret / best.abs().where(best.abs() > 0)
    complete = regret.notna().all(axis=1)
    out = regret.copy()
    out["worst_regret"] = regret.max(axis=1, skipna=False).where(complete)
    out["mean_regret"] = regret.mean(axis=1, skipna=False).where(complete)
    out["worst_scenario"] = pd.Series(
        {
            s: (str(regret.loc[s].astype(float).idxmax()) if complete[s] else None)
            for s in regret.index
        },
        dtype=object,
    )
    ranked = sorted(
        out.index[complete],
        key=lambda s: (out.loc[s, "worst_regret"], out.loc[s, "mean_regret"], str(s)),
    )
    out["rank"] = pd.Series(range(1, len(ranked) + 1), index=ranked, dtype=float)
    out = out.loc[[*ranked, *out.index[~complete]]]
    return out


def minimax(regret: pd.DataFrame) -> str | None:
    """The strategy with the smallest worst-case regret (ties: smaller mean regret, name)."""
    r = regret[regret["rank"].notna()]
    return None if r.empty else str(r.sort_values("rank").index[0])


def plot_heatmap(
    regret: pd.DataFrame,
    scenarios: list[str],
    outcome: str,
    choice: str | None,
    path: Path,
    relative: bool = False,
) -> Path:
    """Regret heatmap: strategies (rows, best first) x scenarios, plus the worst case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = [*scenarios, "worst_regret"]
    data = regret[cols].astype(float).to_numpy()
    n, k = data.shape
    fig, ax = plt.subplots(figsize=(1.3 * k + 3.2, 0.45 * n + 1.8))
    im = ax.imshow(
        np.ma.masked_invalid(data),
        cmap="Reds",
        aspect="auto",
        vmin=0,
        vmax=np.nanmax(data) if np.isfinite(data).any() else 1,
    )
    fmt = "{:.1%}" if relative else "{:.3g}"
    vmax = np.nanmax(data) if np.isfinite(data).any() else 1
    for i in range(n):
        for j in range(k):
            v = data[i, j]
            txt = "n/a" if not math.isfinite(v) else fmt.format(v)
            ax.text(
                j,
                i,
                txt,
                ha="center",
                va="center",
                fontsize=8,
                color="white" if math.isfinite(v) and v > 0.6 * vmax else "black",
            )
    ax.axvline(k - 1.5, color="black", lw=1.5)
    labels = [f"{s}  <- minimax" if s == choice else s for s in regret.index]
    ax.set_yticks(range(n), labels)
    ax.set_xticks(range(k), [*scenarios, "worst case"], rotation=30, ha="right")
    ax.set_title(
        f"regret on {outcome}{' (relative)' if relative else ''}: shortfall from "
        "the best strategy per scenario",
        fontsize=10,
    )
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def analyse(
    table: pd.DataFrame,
    outcome: str,
    folder: Path,
    direction: str | None = None,
    strategies: list[str] | None = None,
    scenarios: list[str] | None = None,
    relative: bool = False,
    notes: list[str] | None = None,
    weights: Mapping[int, float] | None = None,
) -> dict:
    """Means, regret, the minimax choice; tables and the heatmap written into ``folder``.

    ``weights``: draw -> posterior weight, for a table of runs over posterior draws
    (a ``draw`` column; :func:`draw_weights`): runs pair within a (draw, seed) and the
    regret is computed on the posterior-weighted means (:func:`cell_means`).
    """
    from sim.errors import ConfigError
    from sim.outcomes import BY_NAME

    if direction is None:
        if outcome not in BY_NAME:
            raise ConfigError(
                f"command line: --outcome = {outcome!r} is not allowed; "
                f"allowed: {', '.join(BY_NAME)}"
            )
        direction = BY_NAME[outcome].direction
        if direction == "info":
            raise ConfigError(
                f"command line: --outcome = {outcome!r} has no better direction "
                "(info); give --direction higher|lower"
            )
    means, ses, counts, more = cell_means(table, outcome, strategies, scenarios, weights)
    notes = [*(notes or []), *more]
    regret = regret_table(means, direction, relative)
    choice = minimax(regret)
    caution = _within_noise(regret, means, ses, relative)
    scen = list(means.columns)
    atomic_write(folder / "means.csv", means.to_csv(float_format="%.10g"))
    atomic_write(folder / "seeds.csv", counts.to_csv())
    atomic_write(folder / "standard_errors.csv", ses.to_csv(float_format="%.10g"))
    atomic_write(folder / "regret.csv", regret.to_csv(float_format="%.10g"))
    png = plot_heatmap(regret, scen, outcome, choice, folder / "regret_heatmap.png", relative)
    md = [
        f"# Robustness on {outcome} ({direction} is better)\n\n",
        f"Regret{' (relative to the best value)' if relative else ''}: shortfall from the "
        "best strategy in each scenario, on the mean over seeds"
        + (
            f", weighted over {table['draw'].nunique()} posterior draws (runs paired within a "
            "(draw, seed); the caution below is about seed noise only). "
            if weights is not None and "draw" in table.columns
            else ". "
        ),
        f"Minimax-regret strategy: **{choice}**.\n"
        if choice
        else "No strategy has a value in every scenario: no recommendation.\n",
        f"\n{caution}\n" if caution else "",
        "\n## Regret\n\n",
        markdown_table(regret.reset_index()),
        "\n## Means\n\n",
        markdown_table(means.reset_index()),
    ]
    if notes:
        md.append("\n## Left out\n\n" + "".join(f"- {n}\n" for n in notes))
    atomic_write(folder / "robustness.md", "".join(md))
    return {
        "means": means,
        "se": ses,
        "regret": regret,
        "choice": choice,
        "notes": notes,
        "direction": direction,
        "plot": png,
        "caution": caution,
    }


def _within_noise(
    regret: pd.DataFrame, means: pd.DataFrame, ses: pd.DataFrame, relative: bool
) -> str | None:
    """A caution when the runner-up's worst-case regret is within seed noise of the choice's."""
    ranked = regret[regret["rank"].notna()].sort_values("rank")
    if len(ranked) < 2:
        return None
    se_all = ses.to_numpy(dtype=float)
    if not np.isfinite(se_all).any():
        return (
            "Caution: one seed per cell, so the noise of the regrets is unknown; run more "
            "seeds before trusting the ranking."
        )
    se = float(np.nanmedian(se_all))
    if relative:
        scale = means.abs().max(axis=0).replace(0, np.nan).to_numpy(dtype=float)
        se = se / float(np.nanmedian(scale))
    first, second = ranked.index[0], ranked.index[1]
    gap = float(ranked.loc[second, "worst_regret"] - ranked.loc[first, "worst_regret"])
    noise = 2 * math.sqrt(2) * se  # about a 95% band for a difference of two cell means
    if gap < noise:
        return (
            f"Caution: the runner-up {second}'s worst-case regret is only {gap:.3g} above "
            f"{first}'s, within seed noise (about {noise:.3g}: twice the standard error of a "
            "difference of two cell means); run more seeds before relying on the choice."
        )
    return None


def print_summary(folder: Path, outcome: str, res: dict, relative: bool = False) -> None:
    """The regret table and the recommendation."""
    r = res["regret"]
    fmt = (lambda v: f"{v:.1%}") if relative else (lambda v: f"{v:.4g}")
    print(
        f"\nregret on {outcome} ({res['direction']} is better; shortfall from the best "
        "strategy per scenario, mean over seeds):"
    )
    shown = r.copy()
    for col in shown.columns:
        if col == "rank":
            shown[col] = [("-" if pd.isna(v) else str(int(v))) for v in shown[col]]
        elif col != "worst_scenario":
            shown[col] = [("n/a" if pd.isna(v) else fmt(float(v))) for v in shown[col]]
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(shown.to_string())
    for n in res["notes"]:
        print(f"  note: {n}")
    if res["caution"]:
        print(res["caution"])
    if res["choice"]:
        w = r.loc[res["choice"]]
        how = (
            "the best in every scenario"
            if w["worst_regret"] == 0
            else f"worst-case regret {fmt(w['worst_regret'])} in {w['worst_scenario']}, "
            f"mean {fmt(w['mean_regret'])}"
        )
        print(f"\nminimax-regret strategy: {res['choice']} ({how})")
    else:
        print("\nno strategy has a value in every scenario: no recommendation")
    print(f"\nfolder: {folder}\n  regret.csv  means.csv  robustness.md  regret_heatmap.png")


def grid_configs(
    strategies: list[str],
    scenarios: list[str],
    seeds: list[int],
    population: int,
    weeks: int,
    overrides: list[str],
) -> list[RunConfig]:
    """The strategies x scenarios x seeds runs, keyed like an experiment's run folders.

    Each run's config carries an experiment (``experiment=default`` unless the
    overrides choose one), whose name and headlines the aggregation reads.
    """
    experiment = (
        [] if any(o.startswith("experiment=") for o in overrides) else ["experiment=default"]
    )
    out = []
    for st in strategies:
        for sc in scenarios:
            args = (
                *experiment,
                f"strategy={st}",
                f"scenario={sc}",
                f"population.size={population}",
                f"weeks={weeks}",
                "experiment.name=robustness",
                "output.plots=false",
                "output.progress=false",
                *overrides,
            )
            for seed in seeds:
                out.append(
                    RunConfig(
                        key=f"{st}__{sc}__s{seed}",
                        overrides=args,
                        values={"seed": int(seed)},
                        labels={"strategy": st, "scenario": sc, "seed": int(seed)},
                    )
                )
    return out


def evaluate_grid(
    folder: Path,
    strategies: list[str],
    scenarios: list[str],
    seeds: list[int],
    population: int,
    weeks: int,
    backend: Backend,
    overrides: list[str],
    progress: bool = True,
) -> tuple[pd.DataFrame, list[str], Path]:
    """Run the grid through the evaluator into ``folder/experiment``; the table and notes.

    Each run also gets an experiment run folder (``experiment/runs/<strategy>__<scenario>
    __s<seed>/``), and the experiment's aggregation writes its tables and report there,
    as ``python -m sim.experiment`` would.
    """
    from sim.analysis.compare import aggregate

    exp = folder / "experiment"
    configs = grid_configs(strategies, scenarios, seeds, population, weeks, overrides)
    print(
        f"robustness: {len(strategies)} strategies x {len(scenarios)} scenarios x "
        f"{len(seeds)} seeds = {len(configs)} runs ({backend.describe()})",
        flush=True,
    )
    ev = evaluate(configs, exp, backend=backend, run_folders=True, progress=progress,
                  desc="robustness")  # fmt: skip
    notes = [f"run {r.key} failed: {r.error}" for r in ev.failed.itertuples()]
    ok = ev.table[ev.table["status"] == "ok"].reset_index(drop=True)
    if ok.empty:
        from sim.errors import ConfigError

        first = ev.failed["error"].iloc[0] if len(ev.failed) else "no run"
        raise ConfigError(f"{exp}: no complete run to analyse; the first error: {first}")
    try:
        aggregate(exp)
    except Exception as err:  # the regret does not need the report
        notes.append(f"the experiment report was not written: {type(err).__name__}: {err}")
    return ok, notes, exp


def main(argv: list[str] | None = None) -> None:
    """Command line: read (or run) the grid, compute regret, recommend."""
    from sim.errors import ConfigError

    ap = argparse.ArgumentParser(
        prog="python -m sim.analysis.robustness", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--experiment", help="experiment folder to read (else the grid is run)")
    ap.add_argument(
        "--outcome",
        help="outcome (sim/outcomes.py) or a headline's key (loyalty, traffic, money); "
        "default: the loyalty headline, of the experiment's runs (experiment.headlines) "
        "with --experiment, else of configs/experiment/default.yaml",
    )
    ap.add_argument(
        "--direction",
        choices=("higher", "lower"),
        help="which is better (default: the outcome's registered direction)",
    )
    ap.add_argument("--relative", action="store_true", help="regret relative to the best value")
    ap.add_argument("--strategies", help="comma-separated (default: all in the table)")
    ap.add_argument("--scenarios", help="comma-separated (default: all in the table)")
    ap.add_argument("--seeds", default="0-2", help="grid mode: seeds, e.g. 0-2")
    ap.add_argument("--population", type=int, default=2000, help="grid mode: customers")
    ap.add_argument("--weeks", type=int, default=52, help="grid mode: weeks")
    ap.add_argument("--out", help="output folder (new; default results/robustness/<time>-...)")
    add_backend_arguments(ap)  # grid mode only
    a = ap.parse_args(argv)
    strategies = a.strategies.split(",") if a.strategies else None
    scenarios = a.scenarios.split(",") if a.scenarios else None
    try:
        if a.experiment and a.overrides:
            raise ConfigError(
                "command line: Hydra overrides only apply when running the grid "
                "(without --experiment)"
            )
        posterior = [o for o in a.overrides if o.startswith("experiment.posterior")]
        if posterior:
            raise ConfigError(
                f"command line: {' '.join(posterior)} is not allowed in grid mode (its runs "
                "would all use the point calibration); allowed: run the experiment over "
                "posterior draws first (python -m sim.experiment experiment.posterior=...), "
                "then --experiment FOLDER"
            )
        if not a.experiment and not (strategies and scenarios):
            raise ConfigError(
                "command line: give --experiment FOLDER, or --strategies and "
                "--scenarios to run the grid"
            )
        weights = None
        heads = dict(HEADLINE_DEFAULTS)
        if a.experiment:  # the experiment's own headlines
            from sim.analysis.decision import headlines_of, run_configs

            table, notes = read_experiment(Path(a.experiment))
            if table.empty:
                raise ConfigError(f"{a.experiment}: no complete run to analyse")
            weights = draw_weights(Path(a.experiment), table)
            heads = headlines_of(run_configs(Path(a.experiment), table), "baseline")
        outcome = heads.get(a.outcome or "loyalty", a.outcome)
        which = next((k for k, v in heads.items() if v == outcome), None)
        print(
            f"outcome: {outcome}"
            + (f" (the {which} headline, experiment.headlines)" if which else ""),
            file=sys.stderr,
        )
        a.outcome = outcome
        backend = backend_from_args(a)
        folder = new_output_folder("robustness", a.outcome, a.out)
        if not a.experiment:
            table, notes, _ = evaluate_grid(
                folder,
                strategies,
                scenarios,
                parse_seeds(a.seeds),
                a.population,
                a.weeks,
                backend,
                a.overrides,
                not a.no_progress,
            )
        res = analyse(
            table,
            a.outcome,
            folder,
            a.direction,
            strategies,
            scenarios,
            a.relative,
            notes,
            weights,
        )
    except (ConfigError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    print_summary(folder, a.outcome, res, a.relative)


if __name__ == "__main__":
    main()
