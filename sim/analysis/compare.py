"""Comparison of an experiment's strategies against the baseline, paired by seed.

An experiment folder ``EXP/`` holds one folder per run under ``EXP/runs/``. A
run folder is complete when it holds ``COMPLETE`` (its ``summary.json`` has the
identity and every outcome), failed when it holds ``FAILED`` (the error and
traceback; ``run.json`` has the identity) and incomplete (interrupted) when it
holds neither; only complete runs are results.

:func:`aggregate` reads the runs and writes, into ``EXP/``:

* ``experiment.csv``: one row per complete run (run, strategy, scenario, seed,
  then every outcome of :data:`sim.outcomes.OUTCOMES` in registry order);
* ``failed.csv``: failed and incomplete runs with their errors (headers only if none);
* ``comparison.csv``: per scenario, non-baseline strategy and outcome, the means
  and the difference from the baseline paired by seed, with its Student-t
  interval, the unpaired (Welch) interval on the same runs, the paired t-test's
  p-value and whether the difference is distinguishable from noise;
* ``business.csv``: the business case per strategy (:mod:`sim.analysis.business`);
* ``decision.csv``: the decision summary per strategy, its verdict on the headlines
  (:mod:`sim.analysis.decision`; the headlines are the runs' ``experiment.headlines``
  unless given);
* ``plots/*.png`` (:mod:`sim.analysis.figures`), ``report.md`` and ``report.html``
  (:mod:`sim.analysis.report`, rendered by :mod:`sim.analysis.render`);
* in a posterior experiment (the folder holds ``posterior_draws.csv``; runs are
  paired within a (draw, seed)): ``posterior.csv``, ``posterior_by_draw.csv``,
  ``posterior_pairs.csv`` and ``posterior_rankings.csv``
  (:mod:`sim.analysis.uncertainty`); ``comparison.csv`` and ``business.csv`` then
  hold posterior-weighted differences with seed-only intervals;
* ``REPORT_COMPLETE``, last: the run counts and the SHA-256 of every file above.

Every file is written atomically, and ``REPORT_COMPLETE`` is removed before the
first one and written after the last: an aggregation that was killed, or that
ran out of disk, leaves no marker, and :func:`report_is_complete` is false until
an aggregation (``python -m sim.analysis.compare EXP``, or resuming the
experiment) runs to the end.

``python -m sim.analysis.compare EXP [--baseline NAME]`` re-aggregates a folder
and prints the rankings; it holds the folder's lock (``EXP/experiment.lock``)
meanwhile, so it never runs beside an experiment working on the same folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim import atomic
from sim.analysis.formatting import fmt, fmt_interval
from sim.analysis.ranking import HEADLINES, rank
from sim.analysis.uncertainty import DRAWS_FILE, compare_draws
from sim.atomic import WriteError, remove_stale_temporaries
from sim.outcomes import OUTCOMES, outcome
from sim.runfolder import IncompleteRunError, read_summary

COMPLETE = "COMPLETE"
FAILED = "FAILED"
INTERRUPTED = "interrupted: no completion marker"
#: Written last by :func:`aggregate`: the experiment's tables, plots and report are whole.
REPORT_MARKER = "REPORT_COMPLETE"
#: The experiment folder's lock file (held by the experiment, or by a re-aggregation).
LOCK_NAME = "experiment.lock"

ID_COLUMNS: tuple[str, ...] = ("run", "strategy", "scenario", "seed")
OUTCOME_COLUMNS: tuple[str, ...] = tuple(o.name for o in OUTCOMES)
FAILED_COLUMNS: tuple[str, ...] = (*ID_COLUMNS, "status", "error")
COMPARISON_COLUMNS: tuple[str, ...] = (
    "scenario",
    "strategy",
    "baseline",
    "outcome",
    "group",
    "unit",
    "direction",
    "n_pairs",
    "n_missing",
    "n_unpaired",
    "mean",
    "baseline_mean",
    "diff",
    "ci_low",
    "ci_high",
    "unpaired_ci_low",
    "unpaired_ci_high",
    "p_value",
    "distinguishable",
    "better",
    "confidence",
)

_FOLDER_NAME = re.compile(
    r"(?P<strategy>.+?)__(?P<scenario>.+?)(?:__d(?P<draw>\d+))?__s(?P<seed>\d+)"
)


# --------------------------------------------------------------------------- reading runs


def collect(exp_dir: Path | str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The experiment table (complete runs) and the table of failed or incomplete runs.

    The first has one row per complete run: ``run, strategy, scenario, seed`` and
    one column per outcome in registry order (NaN where the run reported null),
    sorted by strategy, scenario and seed. The second has ``run, strategy,
    scenario, seed, status, error`` with status ``"failed"`` (the first lines of
    ``FAILED``; also a complete run whose ``summary.json`` cannot be read) or
    ``"incomplete"`` (a folder with neither marker: interrupted).
    """
    table, failed, _ = collect_with_meta(exp_dir)
    return table, failed


def collect_with_meta(exp_dir: Path | str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`collect`, plus each complete run's market, weeks, population and version."""
    runs_dir = Path(exp_dir) / "runs"
    if not runs_dir.is_dir():
        raise FileNotFoundError(f"{exp_dir} has no runs/ folder: not an experiment folder")
    rows: list[dict[str, Any]] = []
    meta: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    folders = sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    for folder in folders:
        if (folder / COMPLETE).exists():
            try:
                row, info = _read_complete(folder)
            except IncompleteRunError as err:
                bad.append(
                    {
                        **_identity(folder),
                        "status": "failed",
                        "error": f"COMPLETE marker but unreadable summary.json: {err}; "
                        "resuming the experiment runs it again",
                    }
                )
                continue
            except (OSError, ValueError, KeyError, TypeError) as err:
                bad.append(
                    {
                        **_identity(folder),
                        "status": "failed",
                        "error": "COMPLETE marker but unreadable summary.json: "
                        f"{type(err).__name__}: {err}",
                    }
                )
                continue
            rows.append(row)
            meta.append(info)
        elif (folder / FAILED).exists():
            bad.append(
                {**_identity(folder), "status": "failed", "error": _error_text(folder / FAILED)}
            )
        else:
            bad.append({**_identity(folder), "status": "incomplete", "error": INTERRUPTED})

    table = pd.DataFrame(rows, columns=[*ID_COLUMNS, *OUTCOME_COLUMNS])
    table = table.astype({"run": str, "strategy": str, "scenario": str, "seed": "int64"})
    table = table.astype(dict.fromkeys(OUTCOME_COLUMNS, "float64"))
    table = table.sort_values(["strategy", "scenario", "seed", "run"], kind="stable")
    table = table.reset_index(drop=True)

    failed = pd.DataFrame(bad, columns=list(FAILED_COLUMNS))
    failed = failed.astype({"seed": "Int64"})
    failed = failed.sort_values(
        ["strategy", "scenario", "seed", "run"], kind="stable", na_position="last"
    ).reset_index(drop=True)

    info = pd.DataFrame(meta, columns=["run", "market", "weeks", "population", "version"])
    if (Path(exp_dir) / DRAWS_FILE).is_file():  # a posterior experiment: runs carry a draw
        table.insert(table.columns.get_loc("seed") + 1, "draw", _draws_of(runs_dir, table["run"]))
        table = table.sort_values(["strategy", "scenario", "draw", "seed", "run"], kind="stable")
        table = table.reset_index(drop=True)
    return table, failed, info


def _draws_of(runs_dir: Path, runs: pd.Series) -> pd.Series:
    """Each run's posterior draw (``experiment.draw`` of its ``config.yaml``)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out = []
    for run in runs:
        path = runs_dir / run / "config.yaml"
        try:
            cfg = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
            draw = cfg["experiment"]["draw"]
        except (OSError, yaml.YAMLError, KeyError, TypeError) as err:
            raise ValueError(
                f"{path}: experiment.draw cannot be read ({type(err).__name__}: {err}); the "
                f"folder holds {DRAWS_FILE}, so every run must name its posterior draw"
            ) from err
        out.append(_as_int(draw))
    return pd.Series(out, index=runs.index, dtype="int64")


def _read_complete(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    s = read_summary(folder)  # IncompleteRunError if truncated, corrupt or not the recorded one
    values = s["outcomes"]
    row: dict[str, Any] = {
        "run": folder.name,
        "strategy": str(s["strategy"]),
        "scenario": str(s["scenario"]),
        "seed": _as_int(s["seed"]),
    }
    for name in OUTCOME_COLUMNS:
        row[name] = _as_float(values.get(name), name)
    info = {"run": folder.name, **{k: s.get(k) for k in ("market", "weeks", "population")}}
    info["version"] = s.get("version")
    return row, info


def _as_int(v: Any) -> int:
    if isinstance(v, bool):
        raise TypeError(f"seed {v!r} is not an integer")
    f = float(v)
    if not f.is_integer():
        raise ValueError(f"seed {v!r} is not an integer")
    return int(f)


def _as_float(v: Any, name: str) -> float:
    """An outcome value: a number, or NaN for null or a missing key."""
    if v is None:
        return math.nan
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise TypeError(f"outcome {name} is {v!r}, not a number")
    return float(v)  # "NaN" / "Infinity" strings parse; anything else raises ValueError


def _identity(folder: Path) -> dict[str, Any]:
    """Strategy, scenario and seed of a run that is not complete, as far as known."""
    ident: dict[str, Any] = {"run": folder.name, "strategy": None, "scenario": None, "seed": None}
    for name in ("run.json", "summary.json"):
        try:
            d = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(d, dict):
            for key in ("strategy", "scenario", "seed"):
                if ident[key] is None and d.get(key) is not None:
                    ident[key] = d[key]
    m = _FOLDER_NAME.fullmatch(folder.name)  # <strategy>__<scenario>__s<seed>
    if m:
        for key in ("strategy", "scenario", "seed"):
            if ident[key] is None:
                ident[key] = m[key]
    try:
        ident["seed"] = None if ident["seed"] is None else _as_int(ident["seed"])
    except (TypeError, ValueError):
        ident["seed"] = None
    for key in ("strategy", "scenario"):
        ident[key] = None if ident[key] is None else str(ident[key])
    return ident


def _error_text(path: Path, max_lines: int = 3, max_chars: int = 500) -> str:
    """The error of a ``FAILED`` file: its first paragraph (or a traceback's last line)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        return f"failed (FAILED unreadable: {err})"
    lines = [ln.rstrip() for ln in text.splitlines()]
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return "failed (FAILED file is empty)"
    if lines[0].startswith("Traceback"):
        last = [ln for ln in lines if ln.strip() and not ln.startswith(" ")]
        first = [last[-1].strip()] if last else [lines[0]]
    else:
        first = []
        for ln in lines:
            if not ln.strip() or len(first) == max_lines:
                break
            first.append(ln.strip())
    out = " / ".join(first)
    return out if len(out) <= max_chars else out[: max_chars - 3] + "..."


# --------------------------------------------------------------------------- statistics


def _paired(a: np.ndarray, b: np.ndarray, confidence: float) -> dict[str, Any]:
    """Paired and unpaired comparison of matched samples ``a`` (strategy), ``b`` (baseline)."""
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    n = int(a.size)
    nan = math.nan
    out: dict[str, Any] = {
        "n_pairs": n,
        "n_missing": int((~ok).sum()),
        "mean": nan,
        "baseline_mean": nan,
        "diff": nan,
        "ci_low": nan,
        "ci_high": nan,
        "unpaired_ci_low": nan,
        "unpaired_ci_high": nan,
        "p_value": nan,
    }
    if n == 0:
        return out
    d = a - b
    out.update(mean=float(a.mean()), baseline_mean=float(b.mean()), diff=float(d.mean()))
    if n < 2:
        return out
    if np.all(d == d[0]):
        # every difference is the same number: the interval collapses on it (and a
        # strategy identical to the baseline gives exactly 0, [0, 0], p = 1)
        out.update(diff=float(d[0]), ci_low=float(d[0]), ci_high=float(d[0]))
        out["p_value"] = 1.0 if d[0] == 0 else 0.0
    else:
        se = float(d.std(ddof=1)) / math.sqrt(n)
        q = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
        out.update(ci_low=out["diff"] - q * se, ci_high=out["diff"] + q * se)
        out["p_value"] = float(2 * stats.t.sf(abs(out["diff"]) / se, n - 1))
    # Welch's interval on the same runs, ignoring the pairing
    va, vb = float(a.var(ddof=1)) / n, float(b.var(ddof=1)) / n
    centre = float(a.mean() - b.mean())
    if va + vb == 0:
        out.update(unpaired_ci_low=centre, unpaired_ci_high=centre)
    else:
        dof = (va + vb) ** 2 / (va**2 / (n - 1) + vb**2 / (n - 1))
        h = float(stats.t.ppf(0.5 + confidence / 2, dof)) * math.sqrt(va + vb)
        out.update(unpaired_ci_low=centre - h, unpaired_ci_high=centre + h)
    return out


def compare(
    table: pd.DataFrame,
    baseline: str = "baseline",
    confidence: float = 0.95,
    weights: dict[int, float] | None = None,
) -> pd.DataFrame:
    """Each non-baseline strategy against the baseline, per scenario and outcome.

    Runs are paired by seed within a scenario (common random numbers); a pair
    with a NaN on either side is dropped for that outcome and counted in
    ``n_missing``; seeds run by only one side are counted in ``n_unpaired``.
    ``mean`` and ``baseline_mean`` are over the paired runs, so ``diff`` (the
    mean paired difference, strategy minus baseline) is their difference.
    ``ci_low``/``ci_high`` is the Student-t interval of the paired differences,
    ``unpaired_ci_*`` Welch's interval on the same runs, ``p_value`` the paired
    t-test's. With fewer than 2 pairs the interval and p-value are NaN and the
    difference is not distinguishable. ``better`` is NA for "info" outcomes.

    A table with a ``draw`` column (a posterior experiment) is paired within
    (draw, seed) and summarised over draws with ``weights`` (draw -> weight):
    ``diff`` is the weighted mean and the interval the seed-only one
    (:func:`sim.analysis.uncertainty.compare_draws`).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    missing = [c for c in ("strategy", "scenario", "seed") if c not in table.columns]
    if missing:
        raise ValueError(f"the experiment table has no column {', '.join(missing)}")
    ident = ["strategy", "scenario", *(["draw"] if "draw" in table.columns else []), "seed"]
    dup = table.duplicated(ident, keep=False)
    if dup.any():
        keys = table.loc[dup, ident].drop_duplicates()
        listed = "; ".join(
            "/".join(
                f"{k} {v}" if k in ("draw", "seed") else str(v)
                for k, v in zip(ident, r, strict=True)
            )
            for r in keys.itertuples(index=False)
        )
        what = (
            "strategy, scenario, draw and seed"
            if "draw" in ident
            else "strategy, scenario and seed"
        )
        raise ValueError(
            f"several complete runs share a {what} ({listed}): "
            "pairing by seed would be ambiguous; remove the duplicate run folders"
        )
    if "draw" in table.columns:
        return _typed(compare_draws(table, weights or {}, baseline, confidence)[0])
    outcomes = [o for o in OUTCOMES if o.name in table.columns]
    rows = []
    for scenario, sc in table.groupby("scenario", sort=True):
        base = sc[sc["strategy"] == baseline].set_index("seed")
        for strategy, st in sc[sc["strategy"] != baseline].groupby("strategy", sort=True):
            st = st.set_index("seed")
            seeds = st.index.intersection(base.index).sort_values()
            n_unpaired = len(st.index.symmetric_difference(base.index))
            for o in outcomes:
                res = _paired(
                    st.loc[seeds, o.name].to_numpy(dtype=float),
                    base.loc[seeds, o.name].to_numpy(dtype=float),
                    confidence,
                )
                lo, hi = res["ci_low"], res["ci_high"]
                dist = bool(math.isfinite(lo) and math.isfinite(hi) and (lo > 0 or hi < 0))
                if o.direction == "info":
                    better: Any = pd.NA
                else:
                    better = dist and ((res["diff"] > 0) == (o.direction == "higher"))
                rows.append(
                    {
                        "scenario": scenario,
                        "strategy": strategy,
                        "baseline": baseline,
                        "outcome": o.name,
                        "group": o.group,
                        "unit": o.unit,
                        "direction": o.direction,
                        "n_unpaired": n_unpaired,
                        **res,
                        "distinguishable": dist,
                        "better": better,
                        "confidence": confidence,
                    }
                )
    return _typed(rows)


def _typed(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The comparison table with its columns' types."""
    out = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    return out.astype(
        {
            "n_pairs": "int64",
            "n_missing": "int64",
            "n_unpaired": "int64",
            "distinguishable": "bool",
            "better": "boolean",
            **dict.fromkeys(
                [
                    *("mean", "baseline_mean", "diff", "ci_low", "ci_high"),
                    *("unpaired_ci_low", "unpaired_ci_high", "p_value", "confidence"),
                ],
                "float64",
            ),
        }
    )


# --------------------------------------------------------------------------- writing


def atomic_write(path: Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    See :func:`sim.atomic.atomic_write`; a failed write raises :class:`sim.atomic.WriteError`.
    """
    return atomic.atomic_write(path, data)


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """A table as CSV (full float precision), written atomically."""
    return atomic_write(path, df.to_csv(index=False, lineterminator="\n"))


def aggregate(
    exp_dir: Path | str,
    baseline: str = "baseline",
    confidence: float = 0.95,
    headlines: dict[str, str] | None = None,
    parallel: dict | None = None,
) -> Path:
    """Post-process an experiment folder; returns the path of ``report.md``.

    Writes ``experiment.csv``, ``failed.csv``, ``comparison.csv``, ``business.csv``
    (:mod:`sim.analysis.business`), ``plots/*.png``, ``report.md`` and ``report.html``
    into ``exp_dir``, each atomically. Failed and incomplete runs are listed; the
    complete ones still make the report. ``headlines``: the loyalty, traffic and money
    outcomes (:mod:`sim.headlines`). A folder with ``posterior_draws.csv`` (a posterior
    experiment) also gets ``posterior.csv``, ``posterior_by_draw.csv``,
    ``posterior_pairs.csv`` and ``posterior_rankings.csv``
    (:mod:`sim.analysis.uncertainty`) and the report's section on them. ``parallel``:
    ``joblib.Parallel`` arguments to draw the plots in worker processes (the experiment
    passes its launcher's); the files are the same either way.
    """
    from sim.analysis import decision as dc
    from sim.analysis import uncertainty as un
    from sim.analysis.business import business_case
    from sim.analysis.report import write_report

    exp_dir = Path(exp_dir)
    table, failed, meta = collect_with_meta(exp_dir)
    configs = dc.run_configs(exp_dir, table)
    headlines = headlines or dc.headlines_of(configs, baseline)
    draws = un.read_draws(exp_dir)
    posterior = None
    if draws is not None:  # a posterior experiment: paired within (draw, seed)
        weights = un.weights_of(draws, table)
        comparison = compare(table, baseline, confidence, weights)
        business = un.business_draws(exp_dir, table, weights, baseline, confidence)
        posterior = un.analyse(table, draws, baseline, confidence, headlines)
    else:
        comparison = compare(table, baseline, confidence)
        business = business_case(exp_dir, table, baseline, confidence)
    decision = dc.decisions(comparison, business, headlines, baseline, configs, posterior)
    try:
        (exp_dir / REPORT_MARKER).unlink(missing_ok=True)
    except OSError as err:
        raise atomic.write_error(exp_dir / REPORT_MARKER, err) from err
    for folder in (exp_dir, exp_dir / "plots"):  # left by a killed aggregation
        remove_stale_temporaries(folder)
    written = [
        write_csv(table, exp_dir / "experiment.csv"),
        write_csv(failed, exp_dir / "failed.csv"),
        write_csv(comparison, exp_dir / "comparison.csv"),
        write_csv(business, exp_dir / "business.csv"),
        write_csv(decision, exp_dir / "decision.csv"),
    ]
    if posterior is not None:
        written += [write_csv(df, exp_dir / name) for name, df in posterior.files().items()]
    report = write_report(
        exp_dir, table, failed, comparison, baseline, meta=meta, business=business,
        headlines=headlines, decision=decision, configs=configs, posterior=posterior,
        parallel=parallel,
    )  # fmt: skip
    written += sorted((exp_dir / "plots").glob("*.png")) if (exp_dir / "plots").is_dir() else []
    written += [report.with_suffix(".html"), report]
    counts = {
        "complete": len(table),
        "failed": int((failed["status"] == "failed").sum()),
        "incomplete": int((failed["status"] == "incomplete").sum()),
    }
    files = {str(p.relative_to(exp_dir)): _sha256(p) for p in written}
    marker = json.dumps({"runs": counts, "baseline": baseline, "files": files}, indent=2)
    atomic.atomic_write(exp_dir / REPORT_MARKER, marker + "\n", fsync=True)
    return report


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def report_is_complete(exp_dir: Path | str) -> bool:
    """Whether the last aggregation of ``exp_dir`` ran to the end and its files are unchanged."""
    exp_dir = Path(exp_dir)
    try:
        marker = json.loads((exp_dir / REPORT_MARKER).read_text(encoding="utf-8"))
        files = marker["files"]
        return bool(files) and all(_sha256(exp_dir / n) == h for n, h in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


# --------------------------------------------------------------------------- command line


def _print_decision(d: pd.DataFrame, headlines: dict[str, str], baseline: str, level: int) -> None:
    """The decision table of one scenario: verdict first, then the money headline."""
    if d.empty:
        return

    def cell(row, key: str) -> str:
        v = row[key] if key in row.index else row[f"{key}_diff"]
        return f"{fmt(v, True)} {fmt_interval(row[f'{key}_ci_low'], row[f'{key}_ci_high'])}"

    sc = d["scenario"].iloc[0]
    print(
        f"\ndecision summary, scenario {sc}: difference from {baseline}, paired {level}% "
        "intervals; money at the bank's real size"
    )
    heads = [f"{k}: {v} ({outcome(v).unit})" for k, v in headlines.items()]
    print("  " + "; ".join(heads) + "; extra spend: million RMB over the horizon")
    cols = [*headlines, "extra_spend"]
    print(
        f"  {'strategy':24s} "
        + " ".join(f"{c:>26s}" for c in (*headlines, "extra spend"))
        + "  verdict"
    )
    for _, row in d.iterrows():
        print(
            f"  {row['strategy']:24s} "
            + " ".join(f"{cell(row, k):>26s}" for k in cols)
            + f"  {row['verdict_text']}"
        )


def _print_posterior(exp_dir: Path, headlines: dict[str, str], baseline: str) -> None:
    """The posterior columns per headline and whether each ranking flips across the posterior."""
    names = {"strategy": str, "scenario": str, "baseline": str}
    post = pd.read_csv(exp_dir / "posterior.csv", dtype=names)
    ranks = pd.read_csv(exp_dir / "posterior_rankings.csv", dtype={"scenario": str})
    for scenario in sorted(post["scenario"].unique()):
        p = post[post["scenario"] == scenario]
        level = round(100 * float(p["confidence"].iloc[0])) if len(p) else 95
        print(
            f"\nunder parameter uncertainty, scenario {scenario}: difference from {baseline} "
            f"over posterior draws (weighted), seed-only and with-parameters {level}% intervals, "
            "P(better) across the posterior"
        )
        for label, headline in headlines.items():
            h = p[p["outcome"] == headline]
            print(f"  {label} ({headline}):")
            for r in h.itertuples(index=False):
                pb = "n/a" if pd.isna(r.p_better) else f"{r.p_better:.0%}"
                print(
                    f"    {r.strategy:24s} {fmt(r.diff, True):>10}  seeds "
                    f"{fmt_interval(r.seed_ci_low, r.seed_ci_high):26s} with parameters "
                    f"{fmt_interval(r.param_ci_low, r.param_ci_high):26s} P(better) {pb}"
                )
            rk = ranks[(ranks["scenario"] == scenario) & (ranks["outcome"] == headline)]
            for r in rk.itertuples(index=False):
                if r.n_draws < 2:
                    print("    one distinct parameter set drawn: no parameter uncertainty measured")
                elif r.differs_share > 0:
                    print(
                        f"    the ranking flips across the posterior: {r.differs_share:.0%} of "
                        f"the posterior weight orders it differently from {r.pooled_order} "
                        f"(leader changes in {r.leader_changes_share:.0%}; {r.flips})"
                    )
                else:
                    print(f"    the ranking is the same in every draw: {r.pooled_order}")


def print_summary(
    exp_dir: Path | str,
    report: Path | str,
    baseline: str = "baseline",
    headlines: dict[str, str] | None = None,
) -> None:
    """Print the decision table and the headline rankings of every scenario, and the paths.

    The decision table (``decision.csv``) ranks the strategies by verdict, then by the
    money headline, with the extra spend and NPV beside loyalty and traffic. Without
    ``headlines``, those the decision table was made with.
    """
    exp_dir, report = Path(exp_dir), Path(report)
    names = {"strategy": str, "scenario": str, "baseline": str, "run": str}
    decision = pd.read_csv(exp_dir / "decision.csv", dtype=names)
    if headlines is None:
        found = {
            k: str(decision[f"{k}_outcome"].iloc[0])
            for k in HEADLINES
            if f"{k}_outcome" in decision.columns and len(decision)
        }
        headlines = found if len(found) == len(HEADLINES) else HEADLINES
    comparison = pd.read_csv(exp_dir / "comparison.csv", dtype=names)
    failed = pd.read_csv(exp_dir / "failed.csv", dtype=names)
    table = pd.read_csv(exp_dir / "experiment.csv", dtype=names)
    if table.empty:
        print("no complete run: nothing to compare (see failed.csv)")
    elif comparison.empty:
        print(f"only the baseline ({baseline!r}) ran: no strategy to rank")
    known = set(table["strategy"]) | set(failed["strategy"].dropna())
    if known and baseline not in set(table["strategy"]):
        print(f"warning: no complete run of the baseline {baseline!r}: nothing can be compared")
    for scenario in sorted(comparison["scenario"].unique()):
        c = comparison[comparison["scenario"] == scenario]
        if (c["n_pairs"] == 0).all():
            print(
                f"\nscenario {scenario}: no seed paired with the baseline {baseline!r}: no ranking"
            )
            continue
        level = round(100 * float(c["confidence"].iloc[0]))
        _print_decision(decision[decision["scenario"] == scenario], headlines, baseline, level)
        for label, headline in headlines.items():
            o = outcome(headline)
            r = rank(comparison, scenario, headline, baseline)
            print(
                f"\n{label} ranking, scenario {scenario}: {headline} ({o.unit}; "
                f"{o.direction} is better), difference from {baseline}, paired {level}% interval"
            )
            print(
                f"  {'rank':>4}  {'strategy':24s} {'mean':>10} {'diff':>10}  "
                f"{'interval':26s} distinguishable from noise?"
            )
            for row in r.itertuples(index=False):
                interval = "" if row.is_baseline else fmt_interval(row.ci_low, row.ci_high)
                if row.is_baseline:
                    verdict = "(baseline)"
                elif row.n_pairs < 2:
                    verdict = "no (fewer than 2 paired seeds)"
                else:
                    verdict = "yes" if row.distinguishable else "no"
                rk = "-" if pd.isna(row.rank) else str(row.rank)
                print(
                    f"  {rk:>4}  {row.strategy:24s} {fmt(row.mean):>10} "
                    f"{fmt(row.diff, True):>10}  {interval:26s} {verdict}"
                )
    if (exp_dir / "posterior.csv").is_file():
        _print_posterior(exp_dir, headlines, baseline)
    n_inc = int((failed["status"] == "incomplete").sum())
    if len(failed):
        print(
            f"\nfailed runs: {len(failed) - n_inc}, incomplete runs: {n_inc} (listed in "
            "failed.csv and the report)"
        )
    print(
        f"\nruns: {len(table)} complete, {len(failed) - n_inc} failed, {n_inc} incomplete"
        f"\nreport: {report}\n        {report.with_suffix('.html')}"
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.analysis.compare EXP_DIR [--baseline NAME]``: re-aggregate a folder."""
    ap = argparse.ArgumentParser(
        prog="python -m sim.analysis.compare",
        description="Aggregate an experiment folder into tables, plots and a report.",
    )
    ap.add_argument("exp_dir", type=Path, help="the experiment folder (holds runs/)")
    ap.add_argument("--baseline", default="baseline", help="the strategy compared against")
    a = ap.parse_args(argv)
    from sim.atomic import FolderLock

    lock = FolderLock(a.exp_dir, LOCK_NAME, what="experiment folder")
    try:
        if (a.exp_dir / "runs").is_dir():
            lock.acquire()
        report = aggregate(a.exp_dir, a.baseline)
        print_summary(a.exp_dir, report, a.baseline)
    except WriteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError) as err:  # ConfigError (the lock) is a ValueError
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
