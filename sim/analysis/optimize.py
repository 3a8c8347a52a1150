"""Search the focal bank's levers for the best loyalty / traffic / cost trade-off (Optuna).

A design file (``configs/design/optimize.yaml``) names the levers to search
with their ranges (``null``: the lever's full range from ``sim/config.py``,
class ``Levers``), the objectives (outcomes of ``sim/outcomes.py``, each
maximised or minimised by its registered direction, or a ``sum`` of outcomes
with an explicit direction), the market (strategy the other levers come from,
scenario, population, weeks) and the seeds.

Each trial runs every seed in ``seeds`` (the same seeds in every trial: common
random numbers, so two trials differ by their levers, not by luck) and scores
the mean over them; the seed is never a search parameter. The sampler is
Optuna's multi-objective TPE by default (``sampler: tpe``): with tens to a few
hundred noisy, expensive simulations it finds a useful front sooner than
NSGA-II, whose generations need a population of ~20-50 trials each;
``sampler: nsga2`` is there for long runs. The base strategy's own levers are
enqueued as the first trial, so the front is shown against today's bank.

The runs go through the evaluator (:mod:`sim.analysis.evaluator`): Optuna's
ask/tell loop asks ``--batch`` trials, submits their trials x seeds runs as one
batch to local cores (``--jobs``) or a Ray cluster (``--ray ADDRESS``), then
tells each trial its scores.

    python -m sim.analysis.optimize                              # the design file
    python -m sim.analysis.optimize --trials 30 --seeds 0,1 --population 1500 --weeks 40
    python -m sim.analysis.optimize --resume results/optimize/<folder> [--trials 80]

The output folder (``results/optimize/<time>-<name>/``, never reused except by
``--resume``) holds ``design.yaml``, ``study.db`` (Optuna's SQLite storage:
finished trials survive an interruption; trials cut short are re-run),
``runs/`` (one result per trial and seed) and ``outcomes.parquet`` /
``outcomes.csv`` (every run's outcomes, the evaluator's table), ``trials.csv`` (every trial),
``pareto.csv`` / ``pareto.md`` (the non-dominated trials), ``pareto.png`` and
``<name>.yaml``: the knee point of the front (the Pareto trial closest to the
ideal point, each objective scaled to [0, 1] over the front) as a ready-to-run
strategy file (``configs/strategy/`` format). A trial whose run fails or gives
NaN is marked failed, listed in ``failed.csv`` and the printout, and never
enters the front.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.evaluator import (
    Backend,
    RunConfig,
    add_backend_arguments,
    backend_from_args,
    evaluate,
    folder_table,
    get_key,
    markdown_table,
    new_output_folder,
    parse_seeds,
    progress_bar,
    write_table,
)
from sim.analysis.sensitivity import (
    base_config,
    base_overrides,
    design_settings,
    read_design,
)
from sim.atomic import atomic_write
from sim.headlines import DEFAULT as HEADLINE_DEFAULTS
from sim.paths import CONFIG_DIR

DEFAULT_DESIGN = CONFIG_DIR / "design" / "optimize.yaml"
SAMPLERS = ("tpe", "nsga2")
STUDY = "levers"


@dataclass
class Objective:
    """An objective: one outcome, or the sum of several, and its direction."""

    name: str
    outcomes: list[str]
    direction: str  # "higher" | "lower"

    @property
    def optuna_direction(self) -> str:
        """Optuna's word for the direction."""
        return "maximize" if self.direction == "higher" else "minimize"

    def value(self, outcomes: dict[str, float]) -> float:
        """The objective's value from a run's outcomes (NaN if any part is missing)."""
        return float(sum(float(outcomes.get(o, math.nan)) for o in self.outcomes))


@dataclass
class OptDesign:
    """What is searched, what is scored, and on which market."""

    levers: dict[str, list[float]]
    objectives: list[Objective]
    name: str = "tradeoff"
    strategy: str = "baseline"
    scenario: str = "none"
    population: int = 2000
    weeks: int = 52
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    trials: int = 60
    sampler: str = "tpe"
    sampler_seed: int = 0
    startup_trials: int = 12
    overrides: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The design as written to ``design.yaml``."""
        d = dataclasses.asdict(self)
        d["objectives"] = [
            {"name": o.name, "sum": o.outcomes, "direction": o.direction} for o in self.objectives
        ]
        return d


def make_design(data: dict, where: str = "design") -> OptDesign:
    """A checked :class:`OptDesign` from a parsed design file (plus command-line changes)."""
    from sim.config import Levers, field_meta
    from sim.errors import ConfigError
    from sim.outcomes import BY_NAME

    kw = design_settings(data, OptDesign, ("levers", "objectives"), where)
    lever_names = [f.name for f in dataclasses.fields(Levers) if f.metadata.get("unit")]
    levers: dict[str, list[float]] = {}
    for name, rng in (data.get("levers") or {}).items():
        if name not in lever_names:
            raise ConfigError(
                f"{where}: levers.{name} is not a lever; allowed: {', '.join(lever_names)}"
            )
        meta = field_meta(Levers, name)
        lo, hi = (meta["lo"], meta["hi"]) if rng is None else (float(rng[0]), float(rng[1]))
        if not (meta["lo"] <= lo < hi <= meta["hi"]):
            raise ConfigError(
                f"{where}: levers.{name} = {rng!r} is not allowed; allowed: [low, high] with "
                f"low < high inside [{meta['lo']:g}, {meta['hi']:g}] {meta['unit']}"
            )
        levers[name] = [float(lo), float(hi)]
    if not levers:
        raise ConfigError(f"{where}: levers: at least one lever to search is needed")
    objectives = []
    for i, spec in enumerate(data.get("objectives") or []):
        if isinstance(spec, str):
            # a headline's key (loyalty, traffic, money: sim/headlines.py) or an outcome
            spec = {"outcome": HEADLINE_DEFAULTS.get(spec, spec)}
        parts = spec.get("sum") or [spec.get("outcome")]
        bad = [p for p in parts if p not in BY_NAME]
        if bad:
            raise ConfigError(
                f"{where}: objectives[{i}] = {spec!r} is not allowed; allowed: "
                f"outcomes of sim/outcomes.py: {', '.join(BY_NAME)}"
            )
        direction = spec.get("direction")
        if direction is None and len(parts) == 1:
            direction = BY_NAME[parts[0]].direction
        if direction not in ("higher", "lower"):
            raise ConfigError(
                f"{where}: objectives[{i}].direction = {direction!r} is not "
                "allowed; allowed: higher | lower (needed for sums and for "
                "'info' outcomes)"
            )
        objectives.append(Objective(spec.get("name") or "+".join(parts), list(parts), direction))
    if not objectives:
        raise ConfigError(f"{where}: objectives: at least one objective is needed")
    if len({o.name for o in objectives}) != len(objectives):
        raise ConfigError(f"{where}: objectives: names must differ")
    d = OptDesign(levers=levers, objectives=objectives, **kw)
    if d.sampler not in SAMPLERS:
        raise ConfigError(
            f"{where}: sampler = {d.sampler!r} is not allowed; allowed: {' | '.join(SAMPLERS)}"
        )
    if d.trials < 1:
        raise ConfigError(f"{where}: trials = {d.trials} is not allowed; allowed: 1 or more")
    return d


def load_design(path: Path, changes: dict | None = None) -> OptDesign:
    """Read a design file and apply command-line changes (``None`` values are ignored)."""
    return make_design(read_design(path, changes), where=str(path))


# --------------------------------------------------------------------------- the study
def _sampler(design: OptDesign, offset: int):
    import optuna

    seed = design.sampler_seed + offset  # a resumed study does not replay the first draws
    if design.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(
            population_size=max(8, design.startup_trials), seed=seed
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            n_startup_trials=design.startup_trials,
            multivariate=True,
            constant_liar=True,
            seed=seed,
        )


def open_study(folder: Path, design: OptDesign):
    """The folder's study (created on first use), with trials cut short re-queued."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{(folder / 'study.db').resolve()}"
    study = optuna.create_study(
        study_name=STUDY,
        storage=storage,
        load_if_exists=True,
        directions=[o.optuna_direction for o in design.objectives],
    )
    study.sampler = _sampler(design, len(study.trials))
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        # interrupted mid-trial: close it and run the same levers again
        study.tell(t.number, state=TrialState.FAIL)
        study.enqueue_trial(t.params, user_attrs={**t.user_attrs, "requeued_from": t.number})
    return study


def finished(study) -> int:
    """Trials that count towards the budget: complete, or failed by their runs."""
    from optuna.trial import TrialState

    return sum(
        1
        for t in study.get_trials(deepcopy=False)
        if t.state == TrialState.COMPLETE
        or (t.state == TrialState.FAIL and "error" in t.user_attrs)
    )


def _distributions(design: OptDesign) -> dict:
    from optuna.distributions import FloatDistribution

    return {k: FloatDistribution(lo, hi) for k, (lo, hi) in design.levers.items()}


def _score(design: OptDesign, recs: list[dict]) -> tuple[list[float] | None, dict]:
    """The objectives' means over seeds and the trial's attributes, or None if a run failed."""
    attrs: dict[str, Any] = {}
    errors = [f"seed {r['seed']}: {r['error']}" for r in recs if r["status"] != "ok"]
    by_obj = {
        o.name: [o.value(r["outcomes"]) for r in recs if r["status"] == "ok"]
        for o in design.objectives
    }
    for name, vals in by_obj.items():
        nan = [
            r["seed"]
            for r, v in zip((r for r in recs if r["status"] == "ok"), vals, strict=True)
            if not math.isfinite(v)
        ]
        if nan:
            errors.append(f"{name} is NaN for seeds {nan}")
    if errors:
        attrs["error"] = "; ".join(errors)
        return None, attrs
    values = []
    for o in design.objectives:
        a = np.asarray(by_obj[o.name], dtype=float)
        values.append(float(a.mean()))
        attrs[f"se_{o.name}"] = float(a.std(ddof=1) / math.sqrt(a.size)) if a.size > 1 else 0.0
        attrs[f"by_seed_{o.name}"] = [float(v) for v in a]
    return values, attrs


def trial_runs(design: OptDesign, trial) -> list[RunConfig]:
    """A trial's runs for the evaluator: its levers on every seed of the design."""
    overrides = base_overrides(
        design.strategy, design.scenario, design.population, design.weeks, design.overrides
    )
    levers = {f"strategy.{k}": float(v) for k, v in trial.params.items()}
    return [
        RunConfig(
            key=f"{trial.number:05d}_s{s}",
            overrides=overrides,
            values={**levers, "seed": int(s)},
            labels={"trial": trial.number, "seed": int(s)},
        )
        for s in design.seeds
    ]


def optimise(
    folder: Path,
    design: OptDesign,
    jobs: int = 2,
    batch: int | None = None,
    progress: bool = True,
    simulate_fn=None,
    backend: Backend | None = None,
) -> Any:
    """Run trials until ``design.trials`` have finished; the study.

    Optuna's ask/tell loop: ``batch`` trials are asked at once (the TPE's
    constant liar keeps them apart), their runs (trials x seeds) go to the
    evaluator as one batch, and each trial is told its scores when the batch
    is back. Every run's record is kept in ``runs/`` (a resumed study never
    repeats a finished run) and ``outcomes.parquet`` / ``outcomes.csv`` hold them all.
    """
    from optuna.trial import TrialState

    backend = backend or Backend("local", jobs)
    study = open_study(folder, design)
    base = base_config(
        design.strategy, design.scenario, design.population, design.weeks, design.overrides
    )
    if not study.trials:
        start = {k: float(get_key(base, f"strategy.{k}")) for k in design.levers}
        if all(lo <= start[k] <= hi for k, (lo, hi) in design.levers.items()):
            study.enqueue_trial(start, user_attrs={"role": f"base: {design.strategy}"})
        else:
            print(
                f"note: {design.strategy}'s levers lie outside the searched ranges; it is "
                "not a trial, so the front is not shown against it",
                flush=True,
            )
    dists = _distributions(design)
    batch = max(1, batch or (jobs if backend.kind == "local" else 2 * jobs))
    done = finished(study)
    print(
        f"optimise: {design.trials} trials x {len(design.seeds)} seeds "
        f"{design.seeds}; {done} done ({design.sampler}, {backend.describe()})",
        flush=True,
    )
    bar = progress_bar(design.trials, "trials", progress, initial=min(done, design.trials))
    bar.unit = "trial"
    (folder / "runs").mkdir(exist_ok=True)
    try:
        with backend:
            while done < design.trials:
                trials = [study.ask(dists) for _ in range(min(batch, design.trials - done))]
                runs = {t.number: trial_runs(design, t) for t in trials}
                ev = evaluate(
                    [c for cs in runs.values() for c in cs],
                    folder,
                    backend=backend,
                    simulate=simulate_fn,
                    progress=False,
                    table=None,
                )
                for t in trials:
                    mine = [{**ev.records[c.key], "seed": c.labels["seed"]} for c in runs[t.number]]
                    values, attrs = _score(design, mine)
                    for k, v in attrs.items():
                        t.set_user_attr(k, v)
                    if values is None:
                        study.tell(t, state=TrialState.FAIL)
                    else:
                        study.tell(t, values)
                done = finished(study)
                bar.update(len(trials))
    finally:
        bar.close()
        if any((folder / "runs").glob("*.json")):
            write_table(folder_table(folder), folder, "outcomes")
    return study


# --------------------------------------------------------------------------- the front
def trials_table(study, design: OptDesign) -> pd.DataFrame:
    """Every trial: state, levers, objective means and standard errors, role."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {
            "trial": t.number,
            "state": t.state.name,
            "role": t.user_attrs.get("role", ""),
        }
        row.update({k: t.params.get(k, math.nan) for k in design.levers})
        for i, o in enumerate(design.objectives):
            row[o.name] = t.values[i] if t.values is not None else math.nan
            row[f"se_{o.name}"] = t.user_attrs.get(f"se_{o.name}", math.nan)
        row["error"] = t.user_attrs.get("error", "")
        rows.append(row)
    return pd.DataFrame(rows)


def pareto_mask(values: np.ndarray, higher: list[bool]) -> np.ndarray:
    """Which rows are non-dominated (``higher[j]``: objective j is maximised)."""
    v = np.where(np.asarray(higher), values, -values)  # all maximised
    n = len(v)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        dominated = (v >= v[i]).all(axis=1) & (v > v[i]).any(axis=1)
        keep[i] = not dominated.any()
    return keep


def knee_index(values: np.ndarray, higher: list[bool]) -> int:
    """The row closest to the ideal point, each objective scaled to [0, 1] (1 = best)."""
    v = np.where(np.asarray(higher), values, -values)
    lo, hi = v.min(axis=0), v.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    scaled = np.where(hi > lo, (v - lo) / span, 1.0)
    return int(np.argmin(np.sqrt(((1.0 - scaled) ** 2).sum(axis=1))))


def front(design: OptDesign, table: pd.DataFrame) -> tuple[pd.DataFrame, int | None]:
    """The Pareto front of the complete trials and the knee trial's number."""
    names = [o.name for o in design.objectives]
    ok = table[table["state"] == "COMPLETE"].reset_index(drop=True)
    if ok.empty:
        return ok, None
    higher = [o.direction == "higher" for o in design.objectives]
    vals = ok[names].to_numpy(dtype=float)
    par = ok[pareto_mask(vals, higher)].reset_index(drop=True)
    knee = int(par.loc[knee_index(par[names].to_numpy(dtype=float), higher), "trial"])
    return par.sort_values(names[0], ascending=not higher[0]).reset_index(drop=True), knee


def plot_front(
    design: OptDesign, table: pd.DataFrame, par: pd.DataFrame, knee: int | None, path: Path
) -> Path:
    """Pairwise scatter plots of the objectives: every trial, the front, the knee, the base."""
    import itertools

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [o.name for o in design.objectives]
    pairs = list(itertools.combinations(names, 2)) or [(names[0], names[0])]
    fig, axes = plt.subplots(1, len(pairs), figsize=(5.2 * len(pairs), 4.6), squeeze=False)
    ok = table[table["state"] == "COMPLETE"]
    base = ok[ok["role"].astype(str).str.startswith("base")]
    for ax, (x, y) in zip(axes.flat, pairs, strict=True):
        ax.scatter(ok[x], ok[y], s=14, color="0.7", label="trials")
        p = par.sort_values(x)
        ax.scatter(p[x], p[y], s=28, color="#1f77b4", label="Pareto front")
        if len(base):
            ax.scatter(
                base[x],
                base[y],
                s=70,
                marker="X",
                color="#d62728",
                label=f"base ({design.strategy})",
            )
        if knee is not None:
            k = par[par["trial"] == knee]
            ax.scatter(
                k[x],
                k[y],
                s=220,
                marker="*",
                color="#ff7f0e",
                edgecolor="k",
                label="knee (written as strategy)",
            )
        ax.set_xlabel(f"{x} ({_arrow(design, x)})")
        ax.set_ylabel(f"{y} ({_arrow(design, y)})")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(
        f"{design.name}: {len(ok)} trials, {len(par)} on the front "
        f"(mean over seeds {design.seeds})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _arrow(design: OptDesign, name: str) -> str:
    o = next(o for o in design.objectives if o.name == name)
    return "higher is better" if o.direction == "higher" else "lower is better"


def strategy_yaml(design: OptDesign, name: str, row: pd.Series, folder: Path) -> str:
    """A strategy file (``configs/strategy/`` format) with the trial's levers."""
    import textwrap

    from sim.config import Levers, field_meta

    scores = ", ".join(f"{o.name} {row[o.name]:.4g}" for o in design.objectives)
    desc = (
        f"Knee point of the lever search '{design.name}' (trial {int(row['trial'])}): "
        f"{scores}; means over seeds {design.seeds}, scenario {design.scenario}, "
        f"{design.population} customers, {design.weeks} weeks. Levers not listed keep "
        f"the {design.strategy} strategy's values."
    )
    lines = [
        "# @package strategy",
        "# Found by python -m sim.analysis.optimize (the Pareto trial closest to the ideal",
        f"# point) in {folder}",
        "# Lever values are rounded to 4 decimals. To run it:",
        f"#   cp {folder / (name + '.yaml')} configs/strategy/{name}.yaml",
        f"#   python -m sim.experiment strategy={design.strategy},{name}",
        "defaults:",
        f"  - {design.strategy}",
        "  - _self_",
        "",
        f"name: {name}",
        "description: >-",
        *textwrap.wrap(desc, 86, initial_indent="  ", subsequent_indent="  "),
    ]
    for k in design.levers:
        meta = field_meta(Levers, k)
        v = min(max(round(float(row[k]), 4), meta["lo"]), meta["hi"])
        lines.append(f"{k}: {v!r}")
    return "\n".join(lines) + "\n"


def write_outputs(folder: Path, design: OptDesign, study, strategy_name: str) -> dict:
    """Trials, front, plot and the knee's strategy file; a summary dict."""
    from sim.config import check_config_file

    table = trials_table(study, design)
    par, knee = front(design, table)
    if knee is not None:
        table["pareto"] = table["trial"].isin(par["trial"])
        at = table["trial"] == knee
        table.loc[at, "role"] = (table.loc[at, "role"].astype(str) + " knee").str.strip()
        par.insert(1, "knee", par["trial"] == knee)
    atomic_write(folder / "trials.csv", table.to_csv(index=False, float_format="%.8g"))
    failed = table[table["state"] == "FAIL"]
    atomic_write(folder / "failed.csv", failed.to_csv(index=False))
    atomic_write(folder / "pareto.csv", par.to_csv(index=False, float_format="%.8g"))
    out: dict[str, Any] = {
        "table": table,
        "pareto": par,
        "knee": knee,
        "failed": failed,
        "strategy_file": None,
        "plot": None,
    }
    names = [o.name for o in design.objectives]
    md = [
        f"# Lever search: {design.name}\n\n{len(table)} trials ({len(failed)} failed), "
        f"{len(par)} on the Pareto front. Objectives (mean over seeds {design.seeds}): "
        + ", ".join(f"{o.name} ({o.direction} is better)" for o in design.objectives)
        + ".\n"
    ]
    if knee is None:
        md.append("\nNo trial completed: no front.\n")
    else:
        cols = ["trial", "knee", *names, *(f"se_{n}" for n in names), *design.levers]
        md.append("\n" + markdown_table(par[cols]))
        out["plot"] = plot_front(design, table, par, knee, folder / "pareto.png")
        row = par[par["trial"] == knee].iloc[0]
        path = folder / f"{strategy_name}.yaml"
        atomic_write(path, strategy_yaml(design, strategy_name, row, folder))
        check_config_file(path, "strategy")  # the file is valid where it will be copied to
        out["strategy_file"] = path
        md.append(f"\nKnee point: trial {knee}, written as `{path.name}`.\n")
    atomic_write(folder / "pareto.md", "".join(md))
    return out


def print_summary(folder: Path, design: OptDesign, out: dict, strategy_name: str) -> None:
    """The front, the failures and the commands to run the knee strategy."""
    names = [o.name for o in design.objectives]
    par, table = out["pareto"], out["table"]
    print(
        f"\nPareto front ({len(par)} of {int((table['state'] == 'COMPLETE').sum())} complete "
        f"trials; objectives are means over seeds {design.seeds}):"
    )
    show = ["trial", *names, *design.levers]
    if len(par):
        with pd.option_context("display.width", 200, "display.max_columns", 30):
            print(par[show].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    base = table[table["role"].astype(str).str.startswith("base")]
    if len(base) and base.iloc[0]["state"] == "COMPLETE":
        b = base.iloc[0]
        print(
            f"base ({design.strategy}, trial {int(b['trial'])}): "
            + ", ".join(f"{n} {b[n]:.4g}" for n in names)
        )
    if len(out["failed"]):
        print(f"\nfailed trials ({len(out['failed'])}, listed in {folder / 'failed.csv'}):")
        for _, r in out["failed"].head(10).iterrows():
            print(f"  trial {r['trial']}: {r['error'] or 'interrupted (re-run)'}")
    print(f"\nfolder: {folder}\n  trials.csv  pareto.csv  pareto.md  pareto.png  outcomes.parquet")
    if out["strategy_file"] is not None:
        target = CONFIG_DIR / "strategy" / f"{strategy_name}.yaml"
        print(f"\nknee point (trial {out['knee']}): {out['strategy_file']}")
        if target.exists():
            print(f"  note: {target} exists already; choose another --name to keep it")
        print(
            "run it against the base strategy:\n"
            f"  cp {out['strategy_file']} configs/strategy/{strategy_name}.yaml\n"
            f"  python -m sim.experiment strategy={design.strategy},{strategy_name}"
        )


def main(argv: list[str] | None = None) -> None:
    """Command line: search (resumable), then write the front and the knee strategy."""
    import yaml

    from sim.errors import ConfigError

    ap = argparse.ArgumentParser(
        prog="python -m sim.analysis.optimize", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--design", default=str(DEFAULT_DESIGN), help="design file (YAML)")
    ap.add_argument("--trials", type=int, help="trials in all (with --resume: the new total)")
    ap.add_argument("--seeds", help="seeds every trial runs, e.g. 0,1,2 or 0-2")
    ap.add_argument("--population", type=int, help="customers per run")
    ap.add_argument("--weeks", type=int, help="weeks per run")
    ap.add_argument("--strategy", help="the strategy the other levers come from")
    ap.add_argument("--scenario", help="the scenario (scenarios/)")
    ap.add_argument("--sampler", choices=SAMPLERS, help="tpe (default) | nsga2")
    ap.add_argument("--batch", type=int, help="trials asked at once (default: --jobs)")
    ap.add_argument("--name", help="name of the strategy file written (default opt_<design>)")
    ap.add_argument("--out", help="output folder (new; default results/optimize/<time>-...)")
    ap.add_argument("--resume", metavar="FOLDER", help="continue an interrupted search")
    add_backend_arguments(ap)
    a = ap.parse_args(argv)
    folder: Path | None = None
    try:
        backend = backend_from_args(a)
        if a.resume:
            folder = Path(a.resume)
            given = [
                k
                for k in ("seeds", "population", "weeks", "strategy", "scenario", "sampler", "out")
                if getattr(a, k) is not None
            ]
            if given or a.overrides:
                raise ConfigError(
                    f"command line: --resume keeps the folder's design; drop "
                    f"{', '.join('--' + g for g in given) or 'the overrides'}"
                )
            if not (folder / "design.yaml").exists() or not (folder / "study.db").exists():
                raise ConfigError(
                    f"command line: --resume = {a.resume!r} is not allowed; "
                    "allowed: an optimisation folder (design.yaml, study.db)"
                )
            design = load_design(folder / "design.yaml", {"trials": a.trials})
        else:
            changes = {
                "trials": a.trials,
                "population": a.population,
                "weeks": a.weeks,
                "strategy": a.strategy,
                "scenario": a.scenario,
                "sampler": a.sampler,
                "seeds": parse_seeds(a.seeds) if a.seeds else None,
            }
            design = load_design(Path(a.design), changes)
            if a.overrides:
                design.overrides = [*design.overrides, *a.overrides]
            base_config(
                design.strategy, design.scenario, design.population, design.weeks, design.overrides
            )  # fail on a bad override before creating the folder
            folder = new_output_folder("optimize", design.name, a.out)
        atomic_write(folder / "design.yaml", yaml.safe_dump(design.to_dict(), sort_keys=False))
        name = a.name or f"opt_{design.name}"
        if not name.isidentifier():
            raise ConfigError(
                f"command line: --name = {name!r} is not allowed; allowed: a "
                "file name of letters, digits and underscores"
            )
        t0 = time.perf_counter()
        study = optimise(folder, design, a.jobs, a.batch, not a.no_progress, backend=backend)
        out = write_outputs(folder, design, study, name)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        where = f" --resume {folder}" if folder else ""
        print(
            f"\ninterrupted: finished trials are kept in study.db; continue with{where}",
            file=sys.stderr,
        )
        raise SystemExit(130) from None
    print_summary(folder, design, out, name)
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
