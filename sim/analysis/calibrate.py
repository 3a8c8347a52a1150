"""Calibration: fit the market's behavioural parameters to the stylized facts.

``python -m sim.analysis.calibrate [--evaluations N] [--seeds K] [--size N] [--out DIR]``

Searches the parameters of :data:`FITTED` (each chosen because it moves one
fact most directly, see docs/calibration.md) with SciPy's bounded Powell method
(derivative-free line searches, suited to a problem where each parameter moves
mostly one fact), starting from the priors in sim/config.py (not the shipped
fit, so a run reproduces the fit from scratch). Each evaluation averages
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
* ``fit.png``: the same as a plot; ``trials.csv``: every evaluation.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.paths import CONFIG_DIR, results_dir

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
        "market.behaviour.cost_prospect_touch", 1.0, 10.0, False, "acquisition_vs_retention_cost"
    ),
    Fitted("market.behaviour.offer_relevance_base", 0.0, 0.5, False, "offer_success_rate_baseline"),
    Fitted(
        "market.behaviour.offer_relevance_gain", 0.2, 0.9, False, "offer_success_rate_rich_profiles"
    ),
    Fitted("market.customers.accounts_mean", 1.5, 3.5, False, "multi_bank_share"),
)


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


def simulate_facts(
    params: dict[str, float], seeds, size: int, weeks: int, extra: tuple[str, ...] = ()
) -> pd.DataFrame:
    """The target facts of one parameter set, one row per seed."""
    from sim.compose import compose_config
    from sim.run import run

    targets = load_targets()
    rows = []
    for seed in seeds:
        ov = [
            f"population.size={size}",
            f"weeks={weeks}",
            f"seed={seed}",
            *(f"{k}={v!r}" for k, v in params.items()),
            *extra,
        ]
        out = run(compose_config(ov)).summary["outcomes"]
        rows.append({k: out[k] for k in targets})
    return pd.DataFrame(rows)


def _evaluate(params, seeds, size, weeks) -> tuple[float, dict]:
    df = simulate_facts(params, seeds, size, weeks)
    means = df.mean().to_dict()
    return loss(means, load_targets()), means


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


def markdown_table(df: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (numbers to 4 significant digits)."""
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


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


def write_market(params: dict[str, float], path: Path) -> None:
    """The default market file with the fitted values written in."""
    data = yaml.safe_load((CONFIG_DIR / "market" / "default.yaml").read_text())
    for key, value in params.items():
        section, name = key.split(".")[1:]
        data.setdefault(section, {})
        if data[section] is None:
            data[section] = {}
        data[section][name] = round(float(value), 5)
    header = (
        "# @package market\n# Calibrated by `python -m sim.analysis.calibrate` "
        f"on {time.strftime('%Y-%m-%d')}; see docs/calibration.md.\n"
    )
    path.write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


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


def _facts_one(params, seed, size, weeks) -> dict[str, float]:
    return simulate_facts(params, [seed], size, weeks).iloc[0].to_dict()


def calibrate(
    evaluations: int,
    seeds: int,
    size: int,
    weeks: int,
    out: Path,
    n_jobs: int = 2,
    start: dict[str, float] | None = None,
) -> dict[str, float]:
    """Search with SciPy's bounded Powell method from ``start`` (default: the priors).

    The objective is the smooth part of :func:`loss` (squared distances in
    half-bands) of the facts averaged over ``seeds`` seeds, the seeds run in
    parallel. Writes ``trials.csv`` and ``market_calibrated.yaml`` into ``out``.
    """
    from joblib import Parallel, delayed
    from scipy.optimize import minimize
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=False)
    targets = load_targets()
    records: list[dict] = []
    bar = tqdm(total=evaluations, desc="calibration", unit="run-set")
    pool = Parallel(n_jobs=n_jobs)

    def objective(x: np.ndarray) -> float:
        params = _to_params(x)
        rows = pool(delayed(_facts_one)(params, s, size, weeks) for s in range(seeds))
        means = pd.DataFrame(rows).mean().to_dict()
        value = loss(means, targets)
        smooth = sum(
            ((means[k] - t["value"]) / ((t["band"][1] - t["band"][0]) / 2)) ** 2
            for k, t in targets.items()
        )
        records.append(
            {"evaluation": len(records), "loss": value, "smooth_loss": smooth, **params, **means}
        )
        bar.update(1)
        best = min(r["loss"] for r in records)
        bar.set_postfix(loss=f"{value:.3g}", best=f"{best:.3g}")
        return smooth if np.isfinite(smooth) else 1e6

    x0 = _to_unit(start or prior_values())
    minimize(
        objective,
        x0,
        method="Powell",
        bounds=[(0.0, 1.0)] * len(FITTED),
        options={"maxfev": evaluations, "xtol": 0.01, "ftol": 0.01},
    )
    bar.close()
    trials = pd.DataFrame(records)
    trials.to_csv(out / "trials.csv", index=False)
    best_row = trials.sort_values(["loss", "smooth_loss"]).iloc[0]
    best = {f.key: float(best_row[f.key]) for f in FITTED}
    write_market(best, out / "market_calibrated.yaml")
    return best


def check(
    params: dict[str, float] | None, seeds: int, size: int, weeks: int, out: Path
) -> pd.DataFrame:
    """Simulate the facts over ``seeds`` seeds and write the fit table and plot."""
    df = simulate_facts(params or {}, range(100, 100 + seeds), size, weeks)
    table = fit_table(df)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "fit.csv", index=False)
    (out / "fit.md").write_text(markdown_table(table) + "\n")
    plot_fit(table, out / "fit.png")
    return table


def main(argv: list[str] | None = None) -> None:
    """Command line: search, then check the fit on fresh seeds."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--evaluations", type=int, default=250, help="evaluations at most")
    ap.add_argument("--seeds", type=int, default=2, help="seeds per trial")
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--check-seeds", type=int, default=4)
    ap.add_argument(
        "--check-only", action="store_true", help="only check the shipped default market"
    )
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    out = a.out or results_dir() / "calibration" / time.strftime("%Y%m%d-%H%M%S")
    params = None
    if not a.check_only:
        params = calibrate(a.evaluations, a.seeds, a.size, a.weeks, out)
        print(f"fitted market: {out / 'market_calibrated.yaml'}")
    table = check(params, a.check_seeds, a.size, a.weeks, out)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"fit table: {out / 'fit.md'}  plot: {out / 'fit.png'}")
    inside = int(table["inside"].sum())
    print(f"{inside} of {len(table)} facts inside their bands")


if __name__ == "__main__":
    main()
