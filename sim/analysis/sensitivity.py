"""Global sensitivity analysis: which uncertain market parameters move the outcomes.

A design file (``configs/design/sensitivity.yaml``) declares the uncertain
parameters (any numeric key of the run config, e.g.
``market.behaviour.close_base``) with their ranges, the method, the sample
size, the seeds and the outcomes. Methods (SALib):

* ``sobol``: Saltelli's extension of Sobol' sequences; first-order (S1) and
  total (ST) indices with bootstrap confidence intervals. ``samples`` is the
  base sample N (a power of 2); the design has N x (D + 2) points (D
  parameters), N x (2D + 2) with ``second_order: true``.
* ``morris``: elementary effects; mu* (mean absolute effect, with its
  interval), mu and sigma. ``samples`` is the number of trajectories r; the
  design has r x (D + 1) points.
* ``latin``: a Latin hypercube of ``samples`` points; first-order indices by
  RBD-FAST (100 points or more; its intervals need them).

Every sample runs the same ``seeds`` (common random numbers); its outcome is
the mean over them. A parameter named ``dummy`` (or ``dummy_*``) is sampled
but changes nothing: its index is the estimator's noise floor, and a real
parameter whose index does not clear it has no detectable effect.

    python -m sim.analysis.sensitivity                                  # the design file
    python -m sim.analysis.sensitivity --method morris --samples 8 --population 1500 --weeks 40
    python -m sim.analysis.sensitivity --resume results/sensitivity/<folder>

The output folder (``results/sensitivity/<time>-<name>-<method>/``; an
existing folder is never reused except by ``--resume``) holds ``design.yaml``
(the resolved design), ``samples.csv`` (the parameter values, by sample
index), ``runs/<sample>_s<seed>.json`` (one file per finished run: resuming
skips them), ``results.csv`` (per sample: parameters and outcome means),
``failed.csv`` (runs that raised, outcomes that came out NaN),
``indices.csv`` / ``indices.md`` and ``sensitivity.png``.

Missing values: the estimators need an outcome value for every sample, and
dropping samples breaks the Sobol'/Morris design (the indices would be
silently wrong). An outcome with any missing or NaN sample therefore gets no
indices; it is listed, with the samples concerned, in the printout, in
``indices.md`` and in ``failed.csv``. Runs that raised are retried by
``--resume``; NaN outcomes are deterministic and are not.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections.abc import Callable, Sequence
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
    compose_plain,
    evaluate,
    markdown_table,
    new_output_folder,
    parse_seeds,
    pending,
    read_record,
    simulate_outcomes,
)
from sim.atomic import atomic_write
from sim.paths import CONFIG_DIR

DEFAULT_DESIGN = CONFIG_DIR / "design" / "sensitivity.yaml"
METHODS = ("sobol", "morris", "latin")
Simulate = Callable[[dict], dict]


# --------------------------------------------------------------------------- shared helpers
def schema_field(key: str) -> tuple[str, dict]:
    """The type name and the metadata (unit, range) of a numeric config key.

    Walks the schemas of :mod:`sim.config` (``market.banks.<bank>.`` maps onto
    ``BankConfig``); raises ``KeyError`` with the allowed keys when ``key`` is
    not a numeric field.
    """
    import sim.config as c

    cls: Any = c.Config
    parts = key.split(".")
    i = 0
    while i < len(parts):
        fields = {f.name: f for f in dataclasses.fields(cls)}
        part = parts[i]
        if part not in fields:
            raise KeyError(
                f"{key}: {part!r} is not a key of {cls.__name__}; allowed: {', '.join(fields)}"
            )
        f = fields[part]
        t = str(f.type)
        if t.startswith("dict[str, BankConfig]"):
            cls, i = c.BankConfig, i + 2  # skip the bank's name
            continue
        sub = getattr(c, t, None)
        if sub is not None and dataclasses.is_dataclass(sub):
            cls, i = sub, i + 1
            continue
        if i != len(parts) - 1 or t not in ("float", "int"):
            raise KeyError(f"{key}: not a numeric parameter (type {t})")
        return t, dict(f.metadata)
    raise KeyError(f"{key}: a section, not a parameter")


def base_config(
    strategy: str, scenario: str, population: int, weeks: int, overrides: Sequence[str] = ()
) -> dict:
    """The composed run config (plain, resolved) every sample starts from."""
    return compose_plain(base_overrides(strategy, scenario, population, weeks, overrides))


def base_overrides(
    strategy: str, scenario: str, population: int, weeks: int, overrides: Sequence[str] = ()
) -> tuple[str, ...]:
    """The Hydra overrides every sample's run is composed with."""
    return (
        f"strategy={strategy}",
        f"scenario={scenario}",
        f"population.size={int(population)}",
        f"weeks={int(weeks)}",
        "output.plots=false",
        "output.progress=false",
        *overrides,
    )


def simulate(config: dict) -> dict[str, float]:
    """Run one simulation from a plain config dict; its outcomes."""
    return simulate_outcomes(config)


# --------------------------------------------------------------------------- the design
@dataclass
class Parameter:
    """An uncertain parameter: a config key and its range (a dummy changes nothing)."""

    key: str
    lo: float
    hi: float
    kind: str = "float"
    dummy: bool = False


@dataclass
class Design:
    """A sensitivity design: what varies, how it is sampled, what is run and measured."""

    parameters: list[Parameter]
    outcomes: list[str]
    name: str = "sensitivity"
    method: str = "sobol"
    samples: int = 64
    seeds: list[int] = field(default_factory=lambda: [0])
    strategy: str = "baseline"
    scenario: str = "none"
    population: int = 2000
    weeks: int = 52
    overrides: list[str] = field(default_factory=list)
    second_order: bool = False
    levels: int = 4
    sample_seed: int = 12345
    conf_level: float = 0.95
    resamples: int = 200

    def problem(self) -> dict:
        """The SALib problem."""
        return {
            "num_vars": len(self.parameters),
            "names": [p.key for p in self.parameters],
            "bounds": [[p.lo, p.hi] for p in self.parameters],
        }

    def to_dict(self) -> dict:
        """The design as written to ``design.yaml``."""
        d = dataclasses.asdict(self)
        d["parameters"] = {p.key: [p.lo, p.hi] for p in self.parameters}
        return d


def _g(v: float | None) -> str:
    return "-inf" if v is None else f"{v:g}"


def _is_dummy(key: str) -> bool:
    return key == "dummy" or key.startswith("dummy_")


def make_design(data: dict, where: str = "design") -> Design:
    """A checked :class:`Design` from a parsed design file (plus command-line changes)."""
    from sim.errors import ConfigError
    from sim.outcomes import BY_NAME

    kw = design_settings(data, Design, ("parameters", "outcomes"), where)
    raw = data.get("parameters") or {}
    if isinstance(raw, list):  # [{key:, bounds: [lo, hi]}, ...]
        raw = {d["key"]: d["bounds"] for d in raw}
    params: list[Parameter] = []
    for key, bounds in raw.items():
        if not (isinstance(bounds, list | tuple) and len(bounds) == 2):
            raise ConfigError(
                f"{where}: parameters.{key} = {bounds!r} is not allowed; allowed: [low, high]"
            )
        lo, hi = float(bounds[0]), float(bounds[1])
        if not lo < hi:
            raise ConfigError(
                f"{where}: parameters.{key} = {bounds!r} is not allowed; "
                "allowed: [low, high] with low < high"
            )
        if _is_dummy(key):
            params.append(Parameter(key, lo, hi, "float", dummy=True))
            continue
        try:
            kind, meta = schema_field(key)
        except KeyError as err:
            raise ConfigError(f"{where}: parameters.{err.args[0]}") from None
        mlo, mhi = meta.get("lo"), meta.get("hi")
        if (mlo is not None and lo < mlo) or (mhi is not None and hi > mhi):
            raise ConfigError(
                f"{where}: parameters.{key} = {list(bounds)!r} is not allowed; allowed: a "
                f"range inside [{_g(mlo)}, {_g(mhi)}] {meta.get('unit', '')}".rstrip()
            )
        params.append(Parameter(key, lo, hi, kind))
    if len(params) < 2:
        raise ConfigError(f"{where}: parameters: at least two parameters are needed")
    outcomes = list(data.get("outcomes") or [])
    bad = [o for o in outcomes if o not in BY_NAME]
    if bad or not outcomes:
        raise ConfigError(
            f"{where}: outcomes = {bad or outcomes!r} is not allowed; allowed: "
            f"one or more of {', '.join(BY_NAME)}"
        )
    d = Design(parameters=params, outcomes=outcomes, **kw)
    if d.method not in METHODS:
        raise ConfigError(
            f"{where}: method = {d.method!r} is not allowed; allowed: {' | '.join(METHODS)}"
        )
    if d.method == "sobol" and (d.samples < 2 or d.samples & (d.samples - 1)):
        raise ConfigError(
            f"{where}: samples = {d.samples} is not allowed for sobol; allowed: "
            "a power of 2 (Sobol' sequences converge only at powers of 2)"
        )
    if d.method == "morris" and d.samples < 2:
        raise ConfigError(
            f"{where}: samples = {d.samples} is not allowed for morris; "
            "allowed: 2 or more trajectories"
        )
    if d.method == "latin" and d.samples < 100:
        raise ConfigError(
            f"{where}: samples = {d.samples} is not allowed for latin; allowed: 100 or more "
            "points (RBD-FAST's estimate and its bootstrap interval need them)"
        )
    return d


def read_design(path: Path, changes: dict | None = None) -> dict:
    """A design file's mapping with command-line changes applied (``None`` values ignored)."""
    import yaml

    from sim.errors import ConfigError

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read the design: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a design is a mapping of keys to values, not {data!r}")
    data.update({k: v for k, v in (changes or {}).items() if v is not None})
    return data


def design_settings(data: dict, cls: type, structured: Sequence[str], where: str) -> dict:
    """A design file's plain settings for the dataclass ``cls``, checked and normalised.

    Keys that are not fields of ``cls`` are refused (naming the allowed ones);
    the ``structured`` keys (parameters, levers, objectives...) are left out
    for the caller to check; ``seeds`` is parsed (``0-3``, ``0,1``) and
    ``overrides`` made a list. Shared by every design file's reader.
    """
    from sim.errors import ConfigError

    allowed = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: {', '.join(unknown)} not known; allowed: {', '.join(sorted(allowed))}"
        )
    kw = {k: v for k, v in data.items() if k not in structured}
    if "seeds" in kw:
        kw["seeds"] = parse_seeds(kw["seeds"])
        if not kw["seeds"]:
            raise ConfigError(f"{where}: seeds: at least one seed is needed")
    kw["overrides"] = list(kw.get("overrides") or [])
    return kw


def load_design(path: Path, changes: dict | None = None) -> Design:
    """Read a design file and apply command-line changes (``None`` values are ignored)."""
    return make_design(read_design(path, changes), where=str(path))


def sample(design: Design) -> np.ndarray:
    """The design's sample matrix (rows: samples, columns: parameters)."""
    from SALib.sample import latin, morris
    from SALib.sample import sobol as sobol_sample

    problem = design.problem()
    if design.method == "sobol":
        return sobol_sample.sample(
            problem,
            design.samples,
            calc_second_order=design.second_order,
            seed=design.sample_seed,
        )
    if design.method == "morris":
        return morris.sample(
            problem, design.samples, num_levels=design.levels, seed=design.sample_seed
        )
    return latin.sample(problem, design.samples, seed=design.sample_seed)


# --------------------------------------------------------------------------- running
def run_file(folder: Path, sample_index: int, seed: int) -> Path:
    """Where one run's result is kept."""
    return folder / "runs" / f"{sample_index:06d}_s{seed}.json"


def _assignment(design: Design, row: np.ndarray) -> dict[str, float]:
    out = {}
    for p, v in zip(design.parameters, row, strict=True):
        if not p.dummy:
            out[p.key] = round(float(v)) if p.kind == "int" else float(v)
    return out


def run_configs(design: Design, X: np.ndarray) -> list[RunConfig]:
    """The design's runs for the evaluator: one per (sample, seed), keyed like ``run_file``."""
    overrides = base_overrides(
        design.strategy, design.scenario, design.population, design.weeks, design.overrides
    )
    return [
        RunConfig(
            key=run_file(Path("."), i, s).stem,
            overrides=overrides,
            values={**_assignment(design, X[i]), "seed": int(s)},
            labels={"sample": i, "seed": int(s)},
        )
        for i in range(X.shape[0])
        for s in design.seeds
    ]


def collect(folder: Path, design: Design, X: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-sample outcome means over seeds, and the problems (failed runs, NaN outcomes)."""
    names = [p.key for p in design.parameters]
    rows, problems = [], []
    for i in range(X.shape[0]):
        row: dict[str, Any] = {"sample": i, **dict(zip(names, map(float, X[i]), strict=True))}
        vals: dict[str, list[float]] = {o: [] for o in design.outcomes}
        for s in design.seeds:
            rec = read_record(run_file(folder, i, s))
            if rec is None or rec.get("status") != "ok":
                status = "missing" if rec is None else "failed"
                msg = "not run yet (interrupted?)" if rec is None else rec.get("error", "")
                problems.append(
                    {"sample": i, "seed": s, "status": status, "outcome": "*", "message": msg}
                )
                for o in design.outcomes:
                    vals[o].append(math.nan)
                continue
            for o in design.outcomes:
                v = float(rec["outcomes"].get(o, math.nan))
                if not math.isfinite(v):
                    problems.append(
                        {
                            "sample": i,
                            "seed": s,
                            "status": "nan_outcome",
                            "outcome": o,
                            "message": f"{o} is {v}",
                        }
                    )
                vals[o].append(v)
        for o in design.outcomes:
            a = np.asarray(vals[o], dtype=float)
            row[o] = float(a.mean()) if np.isfinite(a).all() else math.nan
        rows.append(row)
    cols = ["sample", "seed", "status", "outcome", "message"]
    return pd.DataFrame(rows), pd.DataFrame(problems, columns=cols)


# --------------------------------------------------------------------------- analysis
def analyse(design: Design, X: np.ndarray, results: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Indices per outcome and parameter, and the outcomes refused (with the reason)."""
    import warnings

    from SALib.analyze import morris, rbd_fast
    from SALib.analyze import sobol as sobol_analyze

    problem = design.problem()
    tables, refused = [], {}
    for o in design.outcomes:
        Y = results[o].to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(Y))
        if bad.size:
            shown = ", ".join(map(str, bad[:12])) + (" ..." if bad.size > 12 else "")
            refused[o] = (
                f"{bad.size} of {Y.size} samples have no value (samples {shown}); "
                f"{design.method} needs every sample, so no indices"
            )
            continue
        if np.ptp(Y) == 0:
            refused[o] = "the outcome is the same in every sample; indices are undefined"
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if design.method == "sobol":
                r = sobol_analyze.analyze(
                    problem,
                    Y,
                    calc_second_order=design.second_order,
                    num_resamples=design.resamples,
                    conf_level=design.conf_level,
                    seed=design.sample_seed,
                )
                df = pd.DataFrame(
                    {"S1": r["S1"], "S1_conf": r["S1_conf"], "ST": r["ST"], "ST_conf": r["ST_conf"]}
                )
            elif design.method == "morris":
                r = morris.analyze(
                    problem,
                    X,
                    Y,
                    num_resamples=design.resamples,
                    conf_level=design.conf_level,
                    num_levels=design.levels,
                    seed=design.sample_seed,
                )
                df = pd.DataFrame(
                    {
                        "mu_star": r["mu_star"],
                        "mu_star_conf": r["mu_star_conf"],
                        "mu": r["mu"],
                        "sigma": r["sigma"],
                    }
                )
            else:
                r = rbd_fast.analyze(
                    problem,
                    X,
                    Y,
                    num_resamples=design.resamples,
                    conf_level=design.conf_level,
                    seed=design.sample_seed,
                )
                df = pd.DataFrame({"S1": r["S1"], "S1_conf": r["S1_conf"]})
        df.insert(0, "parameter", problem["names"])
        df.insert(0, "outcome", o)
        df["dummy"] = [p.dummy for p in design.parameters]
        tables.append(df)
    cols = ["outcome", "parameter"]
    indices = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=cols)
    return indices, refused


def main_index(method: str) -> str:
    """The index that ranks parameters: ST (Sobol'), mu* (Morris) or S1 (RBD-FAST)."""
    return {"sobol": "ST", "morris": "mu_star", "latin": "S1"}[method]


#: The indices with a confidence interval, per method (the interval is ``<index>_conf``).
WITH_INTERVALS = {"sobol": ("S1", "ST"), "morris": ("mu_star",), "latin": ("S1",)}


#: What a Morris verdict means: mu* averages absolute effects, so noise alone makes it positive.
MORRIS_CAVEAT = (
    "mu* is a mean of absolute elementary effects, so the noise between runs alone makes "
    "it positive and its interval clear of 0: for Morris, `distinguishable` says the "
    "parameter moves the outcome at all, noise included. Compare mu* with that of the "
    "parameters that should not matter, and with |mu| (a mu* far above |mu| with a large "
    "sigma is noise or interaction)."
)

#: Fewer base samples (Sobol'), trajectories (Morris) or points than this make the
#: bootstrap intervals unreliable: every outcome gets the too-small warning.
MIN_BOOTSTRAP = 10


def distinguishable_column(method: str, index: str) -> str:
    """The column saying whether ``index`` is distinguishable from zero.

    ``distinguishable`` for the index that ranks the parameters, else
    ``<index>_distinguishable`` (Sobol's S1).
    """
    return "distinguishable" if index == main_index(method) else f"{index}_distinguishable"


def assess(design: Design, indices: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Which indices are distinguishable from zero, and whether the sample is too small.

    An index is *distinguishable from zero* when its confidence interval
    (estimate +- ``<index>_conf``, the bootstrap half-width at ``conf_level``,
    95% by default) excludes 0: ``|estimate| > half-width``. The column
    ``distinguishable`` (true or false) says it for the index that ranks the
    parameters (ST for Sobol', mu* for Morris, S1 for RBD-FAST); Sobol' also
    gets ``S1_distinguishable``. A dummy's indices are never distinguishable.

    The sample is *too small* for an outcome when, for some index asked, even the
    largest estimate among the real (non-dummy) parameters has an interval wider
    than itself: then the ranking by that index cannot be trusted (a smaller
    index with a narrower interval may still be distinguishable; its column says so).
    It is also too small for every outcome below :data:`MIN_BOOTSTRAP` samples
    (Morris: trajectories), where the bootstrap itself is unreliable (two
    trajectories that agree give an interval of 0).
    Intervals shrink like ``1/sqrt(N)``, so the sample that would bring that
    interval inside its estimate is about ``N * (half-width / estimate)^2``
    (rounded up to a power of 2 for Sobol'), which the warning suggests. The
    column ``sample_too_small`` carries the verdict on every row of the outcome.
    Returns the indices with these columns and the warnings by outcome.
    """
    names = WITH_INTERVALS[design.method]
    flags = {n: distinguishable_column(design.method, n) for n in names}
    out = indices.copy()
    if out.empty:
        for col in flags.values():
            out[col] = pd.Series(dtype=bool)
        out["sample_too_small"] = pd.Series(dtype=bool)
        return out, {}
    est = {n: out[n].to_numpy(dtype=float) for n in names}
    conf = {n: out[f"{n}_conf"].to_numpy(dtype=float) for n in names}
    for n, col in flags.items():
        out[col] = np.abs(est[n]) > conf[n]  # NaN compares false: not distinguishable
    out["sample_too_small"] = False
    warnings: dict[str, str] = {}
    unit = "trajectories" if design.method == "morris" else "samples"
    for o in dict.fromkeys(out["outcome"]):
        rows = (out["outcome"] == o) & ~out["dummy"].astype(bool)
        if not rows.any():
            continue
        wide, need = [], design.samples
        for n in names:
            e, c = np.abs(est[n][rows]), conf[n][rows]
            top = int(np.nanargmax(e)) if np.isfinite(e).any() else 0
            if not np.isfinite(e[top]) or c[top] >= e[top]:
                n_wide = int((c >= e).sum())
                wide.append(
                    f"{n}: {n_wide} of {int(rows.sum())} intervals include 0, the largest "
                    f"estimate's too ({e[top]:.3g} +- {c[top]:.3g}, "
                    f"{out.loc[rows, 'parameter'].iloc[top]})"
                )
                ratio = c[top] / e[top] if e[top] > 0 else math.inf
                need = max(need, design.samples * ratio**2 * 1.2)
        few = design.samples < MIN_BOOTSTRAP
        if few:
            need = max(need, MIN_BOOTSTRAP)
        if wide or few:
            if math.isfinite(need):
                need = math.ceil(need)
                if design.method == "sobol":
                    need = 1 << (need - 1).bit_length()
                more = f"about {need} {unit} (now {design.samples}) or more seeds"
            else:
                more = f"many more {unit} (now {design.samples}) or more seeds"
            said = []
            if wide:
                which = " and ".join(w.split(":")[0] for w in wide)
                said.append(
                    f"the sample is too small for the {which} indices of {o}: their confidence "
                    f"intervals are wider than the estimates ({'; '.join(wide)}), so the "
                    f"ranking by {which} cannot be trusted"
                )
            if few:
                said.append(
                    f"{'the' if wide else f'the sample is too small for {o}: the'} intervals "
                    f"come from a bootstrap over only {design.samples} {unit}, unreliable below "
                    f"{MIN_BOOTSTRAP} (often too narrow: an interval of 0 when they agree)"
                )
            warnings[o] = "; ".join(said) + f": use {more}"
            out.loc[out["outcome"] == o, "sample_too_small"] = True
    return out, warnings


def plot(design: Design, indices: pd.DataFrame, path: Path) -> Path | None:
    """Bar charts of the indices, one panel per analysed outcome."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outcomes = list(dict.fromkeys(indices["outcome"])) if len(indices) else []
    if not outcomes:
        return None
    n = len(outcomes)
    ncol = min(n, 2)
    nrow = math.ceil(n / ncol)
    D = len(design.parameters)
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(6.5 * ncol, 0.45 * D * nrow + 1.6 * nrow), squeeze=False
    )
    for ax, o in zip(axes.flat, outcomes, strict=False):
        key = main_index(design.method)
        d = indices[indices["outcome"] == o].sort_values(key)  # the largest at the top
        y = np.arange(len(d))
        labels = [p.split(".")[-1] for p in d["parameter"]]
        if design.method == "sobol":
            ax.barh(
                y + 0.2,
                d["ST"],
                0.4,
                xerr=d["ST_conf"],
                label="ST (total)",
                color="#1f77b4",
                capsize=2,
            )
            ax.barh(
                y - 0.2,
                d["S1"],
                0.4,
                xerr=d["S1_conf"],
                label="S1 (first order)",
                color="#ff7f0e",
                capsize=2,
            )
            ax.set_xlabel("Sobol' index (95% interval)")
        elif design.method == "morris":
            ax.barh(
                y,
                d["mu_star"],
                0.6,
                xerr=d["mu_star_conf"],
                label="mu*",
                color="#1f77b4",
                capsize=2,
            )
            ax.plot(d["sigma"], y, "o", color="#d62728", label="sigma")
            ax.set_xlabel("elementary effect (outcome units)")
        else:
            ax.barh(
                y,
                d["S1"],
                0.6,
                xerr=d["S1_conf"],
                label="S1 (RBD-FAST)",
                color="#1f77b4",
                capsize=2,
            )
            ax.set_xlabel("first-order index")
        ax.set_yticks(y, labels)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_title(o)
        ax.legend(fontsize=8, loc="lower right")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(
        f"{design.name}: {design.method}, {design.samples} "
        f"{'trajectories' if design.method == 'morris' else 'base samples'}, "
        f"seeds {design.seeds}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_outputs(folder: Path, design: Design, X: np.ndarray) -> dict:
    """Collect the runs, compute the indices, write tables and plot; a summary dict."""
    results, problems = collect(folder, design, X)
    indices, refused = analyse(design, X, results)
    indices, warnings = assess(design, indices)
    atomic_write(folder / "results.csv", results.to_csv(index=False, float_format="%.10g"))
    atomic_write(folder / "failed.csv", problems.to_csv(index=False))
    atomic_write(folder / "indices.csv", indices.to_csv(index=False, float_format="%.6g"))
    key = main_index(design.method)
    md = [
        f"# Sensitivity: {design.name} ({design.method})\n",
        f"{X.shape[0]} samples x {len(design.seeds)} seeds {design.seeds}; strategy "
        f"`{design.strategy}`, scenario `{design.scenario}`, population "
        f"{design.population}, {design.weeks} weeks. Parameters ranked by {key}.\n",
    ]
    clear = ", ".join(
        f"`{distinguishable_column(design.method, n)}` ({n})" for n in WITH_INTERVALS[design.method]
    )
    md.append(
        f"\n{clear}: true when the index's {design.conf_level:.0%} interval (estimate +- "
        "`_conf`, bootstrap) excludes zero. `sample_too_small`: for this outcome even the "
        "largest index has an interval wider than itself.\n"
    )
    if design.method == "morris":
        md.append(f"\n{MORRIS_CAVEAT}\n")
    for o in design.outcomes:
        md.append(f"\n## {o}\n")
        if o in refused:
            md.append(f"\n**No indices**: {refused[o]}.\n")
            continue
        if o in warnings:
            md.append(f"\n**Warning**: {warnings[o]}.\n")
        d = indices[indices["outcome"] == o].drop(columns=["outcome"])
        md.append("\n" + markdown_table(d.sort_values(key, ascending=False)))
    n_failed = int((problems["status"] != "nan_outcome").sum())
    if len(problems):
        md.append(
            f"\n## Problems\n\n{n_failed} runs failed or missing, "
            f"{int((problems['status'] == 'nan_outcome').sum())} NaN outcome values "
            "(`failed.csv`).\n"
        )
    png = plot(design, indices, folder / "sensitivity.png")
    atomic_write(folder / "indices.md", "".join(md))
    for text in warnings.values():
        print(f"warning: {text} ({folder / 'indices.md'})", file=sys.stderr)
    return {
        "results": results,
        "problems": problems,
        "indices": indices,
        "refused": refused,
        "warnings": warnings,
        "plot": png,
    }


def _verdict(method: str, row: pd.Series) -> str:
    """``ST, S1 distinguishable from 0`` / ``not distinguishable from 0`` for a printed row."""
    clear = [
        n for n in WITH_INTERVALS[method][::-1] if bool(row.get(distinguishable_column(method, n)))
    ]
    return f"{', '.join(clear)} distinguishable from 0" if clear else "not distinguishable from 0"


def print_summary(folder: Path, design: Design, summary: dict) -> None:
    """The indices and every problem, on stdout."""
    key = main_index(design.method)
    indices, refused, problems = summary["indices"], summary["refused"], summary["problems"]
    cols = {
        "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
        "morris": ["mu_star", "mu_star_conf", "mu", "sigma"],
        "latin": ["S1", "S1_conf"],
    }[design.method]
    for o in design.outcomes:
        print(f"\n{o} ({design.method}, ranked by {key}):")
        if o in refused:
            print(f"  NO INDICES: {refused[o]}")
            continue
        if o in summary.get("warnings", {}):
            print(f"  WARNING: {summary['warnings'][o]}")
        d = indices[indices["outcome"] == o].sort_values(key, ascending=False)
        for _, r in d.iterrows():
            vals = "  ".join(f"{c}={r[c]:8.4f}" for c in cols)
            tail = "   (dummy)" if r["dummy"] else f"   {_verdict(design.method, r)}"
            print(f"  {r['parameter']:44s} {vals}{tail}")
    if len(problems):
        print(f"\nproblems ({len(problems)}, listed in {folder / 'failed.csv'}):")
        for _, r in problems.head(20).iterrows():
            print(f"  sample {r['sample']} seed {r['seed']}: {r['status']}: {r['message']}")
        if len(problems) > 20:
            print(f"  ... {len(problems) - 20} more")
    print(f"\nfolder: {folder}")
    for name in (
        "indices.md",
        "indices.csv",
        "results.csv",
        "sensitivity.png",
        "outcomes.parquet",
        "outcomes.csv",
    ):
        if (folder / name).exists():
            print(f"  {name}")


def prepare(design: Design, out: str | Path | None = None) -> Path:
    """A new output folder holding the design and its samples."""
    folder = new_output_folder("sensitivity", f"{design.name}-{design.method}", out)
    X = sample(design)
    import yaml

    atomic_write(folder / "design.yaml", yaml.safe_dump(design.to_dict(), sort_keys=False))
    df = pd.DataFrame(X, columns=[p.key for p in design.parameters])
    df.insert(0, "sample", range(len(df)))
    atomic_write(folder / "samples.csv", df.to_csv(index=False, float_format="%.17g"))
    (folder / "runs").mkdir(exist_ok=True)
    return folder


def load_folder(folder: Path) -> tuple[Design, np.ndarray]:
    """The design and sample matrix stored in an output folder."""
    import yaml

    from sim.errors import ConfigError

    folder = Path(folder)
    if not (folder / "design.yaml").exists() or not (folder / "samples.csv").exists():
        raise ConfigError(
            f"command line: --resume = {str(folder)!r} is not allowed; allowed: "
            "a sensitivity output folder (with design.yaml and samples.csv)"
        )
    data = yaml.safe_load((folder / "design.yaml").read_text(encoding="utf-8"))
    design = make_design(data, where=str(folder / "design.yaml"))
    X = pd.read_csv(folder / "samples.csv").drop(columns=["sample"]).to_numpy(dtype=float)
    return design, X


def execute(
    folder: Path,
    jobs: int = 2,
    progress: bool = True,
    simulate_fn: Simulate | None = None,
    outcomes: Sequence[str] | None = None,
    backend: Backend | None = None,
) -> dict:
    """Run what is missing in a prepared folder (the evaluator), then analyse it; the summary."""
    design, X = load_folder(folder)
    if outcomes:
        design = make_design({**design.to_dict(), "outcomes": list(outcomes)})
    backend = backend or Backend("local", jobs)
    configs = run_configs(design, X)
    todo = pending(configs, folder)
    total = len(configs)
    print(
        f"{design.method}: {X.shape[0]} samples x {len(design.seeds)} seeds = {total} runs; "
        f"{total - len(todo)} done, {len(todo)} to run ({backend.describe()})",
        flush=True,
    )
    evaluate(
        configs, folder, backend=backend, simulate=simulate_fn, progress=progress,
        desc="sensitivity",
    )  # fmt: skip
    return write_outputs(folder, design, X)


def main(argv: list[str] | None = None) -> None:
    """Command line: sample, run (resumable), analyse."""
    from sim.errors import ConfigError

    ap = argparse.ArgumentParser(
        prog="python -m sim.analysis.sensitivity", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--design", default=str(DEFAULT_DESIGN), help="design file (YAML)")
    ap.add_argument("--method", choices=METHODS, help="sobol | morris | latin")
    ap.add_argument("--samples", type=int, help="Sobol' N / Morris trajectories / LHS points")
    ap.add_argument("--seeds", help="seeds every sample runs, e.g. 0,1 or 0-3")
    ap.add_argument("--population", type=int, help="customers per run")
    ap.add_argument("--weeks", type=int, help="weeks per run")
    ap.add_argument("--strategy", help="the focal bank's strategy (configs/strategy)")
    ap.add_argument("--scenario", help="the scenario (scenarios/)")
    ap.add_argument("--outcomes", help="outcomes to analyse, comma-separated")
    ap.add_argument("--out", help="output folder (new; default results/sensitivity/<time>-...)")
    ap.add_argument("--resume", metavar="FOLDER", help="finish an interrupted analysis")
    add_backend_arguments(ap)
    a = ap.parse_args(argv)
    folder: Path | None = None
    outcomes = a.outcomes.split(",") if a.outcomes else None
    try:
        backend = backend_from_args(a)
        if a.resume:
            given = [
                k
                for k in (
                    "method",
                    "samples",
                    "seeds",
                    "population",
                    "weeks",
                    "strategy",
                    "scenario",
                    "out",
                )
                if getattr(a, k) is not None
            ]
            if given or a.overrides:
                raise ConfigError(
                    f"command line: --resume keeps the folder's design; drop "
                    f"{', '.join('--' + g for g in given) or 'the overrides'}"
                )
            folder = Path(a.resume)
        else:
            changes = {
                "method": a.method,
                "samples": a.samples,
                "population": a.population,
                "weeks": a.weeks,
                "strategy": a.strategy,
                "scenario": a.scenario,
                "seeds": parse_seeds(a.seeds) if a.seeds else None,
                "outcomes": outcomes,
            }
            design = load_design(Path(a.design), changes)
            if a.overrides:
                design.overrides = [*design.overrides, *a.overrides]
            base_config(
                design.strategy, design.scenario, design.population, design.weeks, design.overrides
            )  # fail on a bad override before sampling
            folder = prepare(design, a.out)
        summary = execute(folder, a.jobs, not a.no_progress, outcomes=outcomes, backend=backend)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished runs are kept; continue with --resume {folder}",
            file=sys.stderr,
        )
        raise SystemExit(130) from None
    design, _ = load_folder(folder)
    if outcomes:
        design.outcomes = list(outcomes)
    print_summary(folder, design, summary)
    if summary["refused"]:
        print(
            f"\nwarning: no indices for {', '.join(summary['refused'])} (see above)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
