"""Calibration: fit the market's behavioural parameters to the stylized facts.

``python -m sim.analysis.calibrate [--evaluations N] [--seeds K] [--size N] [--jobs J] [--out DIR]``

Fits the parameters of :data:`FITTED` (each chosen because it moves one fact
most directly, see docs/calibration.md) with SciPy's bounded nonlinear least
squares (``least_squares``, trust-region reflective), starting from the priors
in sim/config.py (so a run reproduces the fit from scratch) or, with
``--from-shipped``, from the shipped market. Every evaluation runs the spin-up
and measures the facts ``--weeks`` weeks after it. Each evaluation averages
the facts over ``--seeds`` seeds (common random numbers: the same seeds in
every evaluation, so evaluations differ only by their parameters; the seeds
run in parallel, one per core). The search minimises the sum over the
``kind: target`` facts of ``((x - value) / half_band)^2``; the best evaluation
is chosen by that sum plus a penalty of 10 for each fact outside its band. A
progress bar shows evaluations and the best loss. The output folder gets:

* ``market_calibrated.yaml``: the default market with the fitted values, ready
  to copy over ``configs/market/default.yaml``;
* ``fit.csv`` and ``fit.md``: each fact's target, band, simulated mean and
  standard deviation over seeds, and whether it is inside its band;
* ``fit.png``: the same as a plot; ``trials.csv``: every evaluation;
  ``runs/``: every run's record (the evaluator's).

Every simulation runs on the evaluator (:mod:`sim.analysis.evaluator`), on
``--jobs`` local processes, a Ray cluster (``--ray ADDRESS``) or a Hydra
launcher (``hydra/launcher=NAME`` ``hydra.launcher.KEY=VALUE`` as the last
arguments): the search's seeds of one evaluation as one batch, the brand fit's
iterations and the check's horizons x seeds as batches. The search itself
stays sequential: the least-squares solver asks for one point at a time. The
output folder (``results/calibration/<time>-fit/`` or ``--out``, new or
empty) is never reused.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.analysis.evaluator import (
    Backend,
    RunConfig,
    add_backend_arguments,
    backend_from_args,
    evaluate,
    markdown_table,
    new_output_folder,
)
from sim.atomic import atomic_write
from sim.paths import CONFIG_DIR

TARGETS_FILE = Path(__file__).resolve().parents[1] / "data" / "targets.yaml"


@dataclass(frozen=True)
class Fitted:
    """A fitted parameter: config key, bounds, log scale, and the fact it mostly moves."""

    key: str
    lo: float
    hi: float
    log: bool
    moves: str


FITTED: tuple[Fitted, ...] = (
    Fitted("market.behaviour.asc_platform", 4.0, 10.0, False, "bank_share_payment_count"),
    Fitted("market.behaviour.asc_branch", -3.0, 3.0, False, "branch_regular_share"),
    Fitted("market.behaviour.asc_online", -5.0, 0.0, False, "online_banking_user_share"),
    Fitted("market.behaviour.beta_web_first", 1.0, 8.0, False, "mobile_vs_online_first_choice"),
    Fitted("market.customers.web_first_share", 0.05, 0.30, False, "mobile_vs_online_first_choice"),
    Fitted("market.behaviour.asc_messaging", -4.0, 1.0, False, "mobile_share_of_echannel_tx"),
    Fitted("market.behaviour.close_base", 0.002, 0.02, True, "full_switch_6m"),
    Fitted("market.behaviour.open_base", 0.002, 0.02, True, "partial_switch_6m"),
    Fitted("market.behaviour.beta_new_account", 0.0, 6.0, False, "new_customer_1m_retention"),
    Fitted(
        "market.behaviour.cost_existing_touch", 0.3, 6.0, False, "acquisition_vs_retention_cost"
    ),
    Fitted("market.behaviour.offer_relevance_base", 0.0, 0.5, False, "offer_success_rate_baseline"),
    Fitted(
        "market.behaviour.offer_relevance_gain", 0.2, 0.9, False, "offer_success_rate_rich_profiles"
    ),
    Fitted("market.behaviour.beta_primary", 0.5, 4.0, False, "multi_bank_share"),
)

#: Horizons (weeks after spin-up) at which every fact must hold.
HORIZONS: tuple[int, ...] = (26, 52, 104, 156)


def load_targets(path: Path = TARGETS_FILE) -> dict[str, dict]:
    """The ``kind: target`` facts of the targets file."""
    facts = yaml.safe_load(path.read_text(encoding="utf-8"))["facts"]
    return {k: v for k, v in facts.items() if v.get("kind") == "target"}


def loss(values: dict[str, float], targets: dict[str, dict]) -> float:
    """Squared distances to the targets in half-bands, plus 10 per fact outside its band."""
    total = 0.0
    for name, t in targets.items():
        x = values.get(name, float("nan"))
        lo, hi = t["band"]
        if not math.isfinite(x):
            total += 100.0
            continue
        total += ((x - t["value"]) / ((hi - lo) / 2)) ** 2
        total += 0.0 if lo <= x <= hi else 10.0
    return total


def _overrides(size: int, weeks: int, seed: int, params: dict, extra=()) -> list[str]:
    """The command-line overrides of one evaluation run."""
    return [
        f"population.size={size}",
        f"weeks={weeks}",
        f"seed={seed}",
        *(f"{k}={v!r}" for k, v in params.items()),
        *extra,
    ]


def _key(params: dict, size: int, weeks: int, extra, seed: int) -> str:
    """A run's key: a hash of everything it depends on (the same run never runs twice)."""
    import hashlib
    import json

    text = json.dumps([sorted(params.items()), size, weeks, list(extra)], default=repr)
    return f"e{hashlib.sha256(text.encode()).hexdigest()[:12]}_s{seed}"


def run_configs(
    params: dict[str, float], seeds, size: int, weeks: int, extra: tuple[str, ...] = ()
) -> list[RunConfig]:
    """The evaluator's runs of one parameter set: one per seed, the parameters set exactly."""
    overrides = (f"population.size={size}", f"weeks={weeks}", *extra)
    return [
        RunConfig(
            key=_key(params, size, weeks, extra, int(s)),
            overrides=overrides,
            values={**params, "seed": int(s)},
            labels={"seed": int(s), "weeks": int(weeks)},
        )
        for s in seeds
    ]


def _raise_failed(ev) -> None:
    if len(ev.failed):
        r = ev.failed.iloc[0]
        raise RuntimeError(
            f"{len(ev.failed)} of {len(ev.table)} calibration runs failed; run {r['key']} "
            f"({r['overrides']}): {r['error']}"
        )


def simulate_facts(
    params: dict[str, float],
    seeds,
    size: int,
    weeks: int,
    extra: tuple[str, ...] = (),
    jobs: int = 1,
    backend: Backend | None = None,
) -> pd.DataFrame:
    """The target facts of one parameter set, one row per seed, ``weeks`` after spin-up.

    The runs go through the evaluator (``backend``, default ``jobs`` local processes).
    """
    targets = load_targets()
    configs = run_configs(params, seeds, size, weeks, extra)
    ev = evaluate(configs, backend=backend, jobs=jobs, progress=False)
    _raise_failed(ev)
    return ev.table[list(targets)].reset_index(drop=True)


def facts_at_horizons(
    params: dict[str, float],
    seeds,
    size: int,
    horizons=HORIZONS,
    extra: tuple[str, ...] = (),
    jobs: int = 1,
    backend: Backend | None = None,
) -> pd.DataFrame:
    """The target facts at each horizon after spin-up: one row per (horizon, seed).

    Every horizon of a seed branches from the same spun-up state (cached once).
    All horizons x seeds go to the evaluator as one batch (``backend``, default
    ``jobs`` local processes).
    """
    seeds = list(seeds)
    configs = [c for h in horizons for c in run_configs(params, seeds, size, h, extra)]
    ev = evaluate(configs, backend=backend, jobs=jobs, progress=False)
    _raise_failed(ev)
    df = ev.table[["weeks", "seed", *load_targets()]].rename(columns={"weeks": "horizon"})
    return df.astype({"horizon": int, "seed": int}).reset_index(drop=True)


def fit_table_by_horizon(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`fit_table` per horizon, stacked, with a ``horizon`` column."""
    parts = []
    for h, g in df.groupby("horizon"):
        t = fit_table(g.drop(columns=["horizon", "seed"]))
        t.insert(0, "horizon", int(h))
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


def _primary_share_values(config: dict) -> dict[str, float]:
    """One run's primary-customer share per bank (mean over its weeks), as named values."""
    from sim.analysis.evaluator import simulate_run

    res = simulate_run(config)
    total = res.market.set_index("week")["customers"]
    return {
        f"share_{name}": float((g.set_index("week")["primary"] / total).mean())
        for name, g in res.banks.groupby("bank")
    }


def primary_shares(
    brands: dict[str, float],
    seeds,
    size: int,
    weeks: int = 26,
    extra: dict[str, float] | None = None,
    jobs: int = 1,
    backend: Backend | None = None,
) -> pd.Series:
    """Each bank's primary-customer share in the ``weeks`` after spin-up, averaged over seeds."""
    params = {**{f"market.banks.{b}.brand": v for b, v in brands.items()}, **(extra or {})}
    configs = run_configs(params, seeds, size, weeks, ("spinup.cache=false",))
    ev = evaluate(
        configs, backend=backend, jobs=jobs, progress=False, simulate=_primary_share_values
    )
    _raise_failed(ev)
    cols = [c for c in ev.table.columns if c.startswith("share_")]
    means = ev.table[cols].mean()
    means.index = [c.removeprefix("share_") for c in cols]
    means.index.name = "bank"
    return means.rename("share")


def fit_brands(
    seeds,
    size: int,
    iterations: int,
    gain: float = 1 / 3,
    start: dict[str, float] | None = None,
    extra: dict[str, float] | None = None,
    jobs: int = 1,
    backend: Backend | None = None,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Fit the competitors' brand constants so that the market at rest has the file's shares.

    Each iteration runs the spin-up and measures each bank's primary-customer share in
    the 26 weeks after it, then moves ``brand += gain * (log(share_target / share) -
    log(focal's share_target / focal's share))``: brands are relative, so the focal
    bank's brand stays 0 and its own miss counts against every competitor (a
    contraction in the manner of fitting logit constants to market shares). Primary
    shares also have a slow mode (a bank with a better proposition keeps gaining
    customers for years, see docs/calibration.md): the fit sets their level at rest,
    not their long-run limit. Returns the brands and the iterations' table.
    """
    from sim.compose import compose_config

    market = compose_config([]).market
    names = [n for n in market.banks if n != market.focal]
    target = {n: float(b.share) for n, b in market.banks.items()}
    total = sum(target.values())
    target = {n: v / total for n, v in target.items()}
    brands = {n: float(market.banks[n].brand) for n in names}
    brands.update(start or {})
    log = []
    for it in range(iterations):
        share = primary_shares(brands, seeds, size, extra=extra, jobs=jobs, backend=backend)
        log.append({"iteration": it, **brands, **{f"share_{b}": share[b] for b in share.index}})
        print(
            f"brands {it}: "
            + ", ".join(f"{b} {share[b]:.3f} (target {target[b]:.3f})" for b in share.index)
            + "; brands "
            + ", ".join(f"{b} {brands[b]:+.3f}" for b in names),
            flush=True,
        )
        miss_focal = np.log(target[market.focal] / share[market.focal])
        for b in names:
            step = gain * (np.log(target[b] / share[b]) - miss_focal)
            brands[b] = float(np.clip(brands[b] + step, -5.0, 5.0))
    return brands, pd.DataFrame(log)


def prior_values() -> dict[str, float]:
    """The fitted parameters' prior values: the defaults of sim/config.py, not the shipped fit.

    Starting there makes a calibration run reproduce the shipped fit from scratch.
    """
    import dataclasses

    from sim.config import Behaviour, CustomerMix

    sections = {"behaviour": Behaviour, "customers": CustomerMix}
    out = {}
    for f in FITTED:
        _, section, name = f.key.split(".")
        field = next(x for x in dataclasses.fields(sections[section]) if x.name == name)
        out[f.key] = float(field.default)
    return out


def fit_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per fact: target, band, simulated mean and spread over seeds, inside the band."""
    targets = load_targets()
    rows = []
    for name, t in targets.items():
        lo, hi = t["band"]
        m, sd = float(df[name].mean()), float(df[name].std(ddof=1)) if len(df) > 1 else 0.0
        rows.append(
            {
                "fact": name,
                "target": t["value"],
                "band_low": lo,
                "band_high": hi,
                "simulated_mean": m,
                "simulated_sd": sd,
                "seeds": len(df),
                "inside": bool(lo <= m <= hi),
            }
        )
    return pd.DataFrame(rows)


def plot_fit(table: pd.DataFrame, path: Path) -> None:
    """Each fact's band, target and simulated mean +/- 2 sd, scaled to its band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.45 * len(table) + 1.2))
    for i, r in enumerate(table.itertuples()):
        half = (r.band_high - r.band_low) / 2
        mid = (r.band_high + r.band_low) / 2

        def z(x, mid=mid, half=half):
            return (x - mid) / half

        ax.plot([-1, 1], [i, i], color="#cfe3cf", lw=10, solid_capstyle="butt")
        ax.plot(z(r.target), i, "k|", ms=14)
        ax.errorbar(
            z(r.simulated_mean),
            i,
            xerr=2 * r.simulated_sd / half,
            fmt="o",
            color="#1f77b4" if r.inside else "#d62728",
        )
    ax.set_yticks(range(len(table)), table["fact"])
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_xlabel("position in the band (-1 = low end, +1 = high end); | = target")
    ax.set_title("Calibration: simulated facts (mean +/- 2 sd over seeds) against their bands")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_market(
    params: dict[str, float], path: Path, brands: dict[str, float] | None = None
) -> None:
    """The default market file with the fitted values (and brand constants) written in."""
    data = yaml.safe_load((CONFIG_DIR / "market" / "default.yaml").read_text())
    for bank, value in (brands or {}).items():
        data["banks"][bank]["brand"] = round(float(value), 4)
    for key, value in params.items():
        if key.startswith("market.banks."):
            continue
        section, name = key.split(".")[1:]
        data.setdefault(section, {})
        if data[section] is None:
            data[section] = {}
        data[section][name] = round(float(value), 5)
    header = (
        "# @package market\n# Calibrated by `python -m sim.analysis.calibrate` "
        f"on {time.strftime('%Y-%m-%d')}; see docs/calibration.md.\n"
    )
    atomic_write(path, header + yaml.safe_dump(data, sort_keys=False))


def _to_params(x: np.ndarray) -> dict[str, float]:
    out = {}
    for f, xi in zip(FITTED, np.clip(x, 0.0, 1.0), strict=True):
        if f.log:
            out[f.key] = float(np.exp(np.log(f.lo) + xi * (np.log(f.hi) - np.log(f.lo))))
        else:
            out[f.key] = float(f.lo + xi * (f.hi - f.lo))
    return out


def _to_unit(params: dict[str, float]) -> np.ndarray:
    x = []
    for f in FITTED:
        v = min(max(params[f.key], f.lo), f.hi)
        x.append(
            (np.log(v) - np.log(f.lo)) / (np.log(f.hi) - np.log(f.lo))
            if f.log
            else (v - f.lo) / (f.hi - f.lo)
        )
    return np.array(x)


def calibrate(
    evaluations: int,
    seeds: int,
    size: int,
    weeks: int,
    out: Path,
    n_jobs: int = 2,
    start: dict[str, float] | None = None,
    backend: Backend | None = None,
    progress: bool = True,
) -> dict[str, float]:
    """Fit by SciPy's bounded nonlinear least squares from ``start`` (default: the priors).

    The residuals are the facts' distances from their targets in half-bands,
    ``(x - value) / half_band``, of the facts averaged over ``seeds`` seeds (the
    seeds run in parallel; the same seeds in every evaluation: common random
    numbers). ``scipy.optimize.least_squares`` (trust-region reflective, with a
    finite-difference Jacobian) suits this problem: 13 parameters, 12 residuals,
    each parameter moving mostly one fact, so a few Gauss-Newton steps reach the
    fit where a derivative-free search needs hundreds of evaluations. Every
    evaluation is appended to ``trials.csv`` as it ends; the best (by :func:`loss`)
    is written to ``market_calibrated.yaml``.

    The runs go through the evaluator (:mod:`sim.analysis.evaluator`; ``backend``,
    default ``n_jobs`` local processes), one batch of seeds per evaluation, each
    run recorded in ``runs/`` under a hash of its parameters (a point the search
    visits twice is not run again). A failed run counts as missing facts (the
    loss's penalty), not as the end of the search.
    """
    from scipy.optimize import least_squares
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    targets = load_targets()
    records: list[dict] = []
    bar = tqdm(total=evaluations, desc="calibration", unit="run-set", disable=not progress)
    backend = backend or Backend("local", n_jobs)

    def residuals(x: np.ndarray) -> np.ndarray:
        params = _to_params(x)
        configs = run_configs(params, range(seeds), size, weeks, ("spinup.cache=false",))
        ev = evaluate(configs, out, backend=backend, progress=False, table=None)
        means = ev.table[list(targets)].mean().to_dict()
        r = np.array(
            [
                (means[k] - t["value"]) / ((t["band"][1] - t["band"][0]) / 2)
                for k, t in targets.items()
            ]
        )
        r = np.where(np.isfinite(r), r, 10.0)
        value = loss(means, targets)
        records.append(
            {
                "evaluation": len(records),
                "loss": value,
                "smooth_loss": float((r**2).sum()),
                **params,
                **means,
            }
        )
        atomic_write(out / "trials.csv", pd.DataFrame(records).to_csv(index=False))
        bar.update(1)
        best = min(rec["loss"] for rec in records)
        bar.set_postfix(loss=f"{value:.3g}", best=f"{best:.3g}")
        return r

    x0 = np.clip(_to_unit(start or prior_values()), 0.02, 0.98)
    try:
        with backend:
            least_squares(
                residuals,
                x0,
                bounds=(0.0, 1.0),
                method="trf",
                diff_step=0.08,
                max_nfev=evaluations,
                xtol=1e-3,
                ftol=1e-3,
            )
    finally:
        bar.close()
    trials = pd.DataFrame(records)
    best_row = trials.sort_values(["loss", "smooth_loss"]).iloc[0]
    best = {f.key: float(best_row[f.key]) for f in FITTED}
    write_market(best, out / "market_calibrated.yaml")
    return best


def check(
    params: dict[str, float] | None,
    seeds: int,
    size: int,
    out: Path,
    horizons=HORIZONS,
    jobs: int = 1,
    backend: Backend | None = None,
) -> pd.DataFrame:
    """The facts at every horizon after spin-up over fresh seeds; writes the fit tables and plot.

    ``fit.csv`` / ``fit.md`` hold one table per horizon; ``fit.png`` plots the
    longest horizon. The runs go to the evaluator (``backend``, default ``jobs``
    local processes).
    """
    seeds_ = range(100, 100 + seeds)
    df = facts_at_horizons(params or {}, seeds_, size, horizons, jobs=jobs, backend=backend)
    table = fit_table_by_horizon(df)
    atomic_write(out / "facts.csv", df.to_csv(index=False))
    atomic_write(out / "fit.csv", table.to_csv(index=False))
    atomic_write(out / "fit.md", markdown_table(table, ".4g"))
    plot_fit(table[table.horizon == max(horizons)].drop(columns="horizon"), out / "fit.png")
    return table


def shipped_values() -> dict[str, float]:
    """The fitted parameters' values in the shipped default market."""
    from sim.compose import compose_config

    cfg = compose_config([])
    out = {}
    for f in FITTED:
        node = cfg
        for part in f.key.split("."):
            node = node[part]
        out[f.key] = float(node)
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line: search the facts, fit the brands, then check every horizon on fresh seeds."""
    from sim.errors import ConfigError

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--evaluations", type=int, default=250, help="evaluations at most")
    ap.add_argument("--seeds", type=int, default=2, help="seeds per trial")
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--weeks", type=int, default=104, help="horizon the search measures at")
    ap.add_argument("--check-seeds", type=int, default=4)
    ap.add_argument("--check-size", type=int, default=None, help="population of the check")
    ap.add_argument(
        "--from-shipped", action="store_true", help="start the search at the shipped market"
    )
    ap.add_argument(
        "--brands", type=int, default=6, help="iterations of the brand fit (0: skip it)"
    )
    ap.add_argument("--brand-size", type=int, default=8000)
    ap.add_argument(
        "--check-only", action="store_true", help="only check the shipped default market"
    )
    ap.add_argument("--brands-only", action="store_true", help="only fit the brands")
    ap.add_argument("--out", type=Path, default=None, help="output folder (new or empty)")
    add_backend_arguments(ap, run_overrides=False)
    a = ap.parse_args(argv)
    try:
        backend = backend_from_args(a, run_overrides=False)
        out = new_output_folder("calibration", "fit", a.out)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    params = None
    if not (a.check_only or a.brands_only):
        start = shipped_values() if a.from_shipped else None
        params = calibrate(
            a.evaluations,
            a.seeds,
            a.size,
            a.weeks,
            out,
            a.jobs,
            start=start,
            backend=backend,
            progress=not a.no_progress,
        )
        print(f"fitted market: {out / 'market_calibrated.yaml'}")
    if a.brands and not a.check_only:
        extra = {**(params or {})}
        brands, log = fit_brands(
            range(2), a.brand_size, a.brands, extra=extra, jobs=a.jobs, backend=backend
        )
        atomic_write(out / "brands.csv", log.to_csv(index=False))
        write_market(extra, out / "market_calibrated.yaml", brands)
        print(f"fitted brands: {brands}; market: {out / 'market_calibrated.yaml'}")
        params = {**extra, **{f"market.banks.{b}.brand": v for b, v in brands.items()}}
    table = check(params, a.check_seeds, a.check_size or a.size, out, jobs=a.jobs, backend=backend)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"fit table: {out / 'fit.md'}  plot: {out / 'fit.png'}")
    inside = int(table["inside"].sum())
    print(f"{inside} of {len(table)} (fact, horizon) pairs inside their bands")


if __name__ == "__main__":
    main()
