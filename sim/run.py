"""One run: ``run(cfg) -> RunResult`` (pure) and ``write_run`` (the run folder).

A run folder holds:

* ``config.yaml``: the full resolved config (re-run it with ``python -m sim
  --config-dir <folder> --config-name config``... or ``sim.run(load_config(folder))``);
* ``series_market.csv``, ``series_banks.csv``: weekly time series (market; per bank
  with contacts per channel);
* ``summary.json``: identity (strategy, scenario, seed, market, weeks, population,
  version) and every outcome of :data:`sim.outcomes.OUTCOMES`;
* ``timings.json``: wall time per process (not part of the reproducible outputs);
* ``plots/*.png``: channel mix, active customers, switching flows, payment share;
* ``COMPLETE``: written last; a folder without it is incomplete.

Every file is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from sim import runfolder
from sim.atomic import atomic_write, remove_stale_temporaries, write_error
from sim.config import Config
from sim.measure import compute_outcomes, focal_weekly_profit
from sim.model import Bank, BankingMarket
from sim.runfolder import complete_marker
from sim.validate import validate

COMPLETE = runfolder.COMPLETE
FAILED = runfolder.FAILED


def package_version() -> str:
    """The installed version of the lab."""
    try:
        return version("bank-engagement-lab")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass
class RunResult:
    """What a run produced."""

    config: dict[str, Any]
    summary: dict[str, Any]
    market: pd.DataFrame
    banks: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


#: What the summary says of the spin-up (the rest, how it was obtained, goes to timings).
SPINUP_IDENTITY = ("weeks", "key", "strategy")


def build(cfg: DictConfig | Config, spinup_progress=None) -> BankingMarket:
    """Validate a config and build the model at week 0, spun up (no weeks simulated yet).

    The spin-up's provenance is in ``model.spinup`` (see :func:`sim.spinup.spun_up`).
    """
    from sim.spinup import spun_up

    c = validate(cfg)
    state, info = spun_up(c, spinup_progress)
    model = BankingMarket(c, state=state)
    model.spinup = info
    return model


def run(
    cfg: DictConfig | Config,
    progress: Callable[[int], None] | None = None,
    spinup_progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Simulate a run from its config; a pure function of the config (seed included).

    The run starts from the market's spun-up state (cached on disk, :mod:`sim.spinup`);
    ``summary["spinup"]`` says which one.
    """
    c = validate(cfg)
    t0 = time.perf_counter()
    model = build(c, spinup_progress)
    t_build = time.perf_counter() - t0
    model.run_model(progress)
    outcomes = compute_outcomes(model)
    market = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    market.insert(0, "week", range(1, len(market) + 1))
    banks = model.datacollector.get_agenttype_vars_dataframe(Bank).reset_index()
    banks = banks.rename(columns={"Step": "week"}).drop(columns=["AgentID"])
    summary = {
        "strategy": c.strategy.name,
        "scenario": c.scenario.name,
        "seed": int(c.seed),
        "market": c.market.name,
        "weeks": int(c.weeks),
        "population": int(c.population.size),
        "version": package_version(),
        "spinup": {k: v for k, v in model.spinup.items() if k in SPINUP_IDENTITY},
        "outcomes": outcomes,
        "money": {
            "unit": "million RMB at the bank's real size",
            "customers_represented": float(c.market.customers_represented),
            "scale": model.scale,
            "discount_rate": float(c.market.discount_rate),
            "weekly_profit": [float(x) for x in focal_weekly_profit(model)],
        },
    }
    timings = {"build": t_build, **model.process_seconds, "total": time.perf_counter() - t0}
    timings["spinup"] = {k: v for k, v in model.spinup.items() if k not in SPINUP_IDENTITY}
    resolved = OmegaConf.to_container(OmegaConf.structured(c), resolve=True)
    return RunResult(resolved, summary, market, banks, timings)


def _atomic_write(path: Path, text: str) -> None:
    atomic_write(path, text)


def write_run(result: RunResult, folder: Path, plots: bool = True) -> Path:
    """Write the run folder; refuses to overwrite a complete run.

    A folder that is not complete (interrupted, failed, or with a truncated or
    corrupt ``summary.json``) is written again: its markers are removed first,
    so that nothing in it looks complete until ``COMPLETE`` is written, last,
    with the SHA-256 of ``summary.json``. A write that fails (a full disk)
    raises :class:`sim.atomic.WriteError` naming the file, and leaves no marker.
    """
    folder = Path(folder)
    if is_complete(folder):
        raise FileExistsError(f"{folder} already holds a complete run; choose another folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / COMPLETE).unlink(missing_ok=True)
        (folder / FAILED).unlink(missing_ok=True)
    except OSError as err:
        raise write_error(folder, err) from err
    remove_stale_temporaries(folder)
    _atomic_write(folder / "config.yaml", OmegaConf.to_yaml(OmegaConf.create(result.config)))
    _atomic_write(
        folder / "series_market.csv", result.market.to_csv(index=False, float_format="%.10g")
    )
    _atomic_write(
        folder / "series_banks.csv", result.banks.to_csv(index=False, float_format="%.10g")
    )
    summary = json.dumps(result.summary, indent=2, allow_nan=True) + "\n"
    _atomic_write(folder / "summary.json", summary)
    _atomic_write(folder / "timings.json", json.dumps(result.timings, indent=2) + "\n")
    if plots:
        from sim.plots import run_plots

        try:
            run_plots(result, folder / "plots")
        except OSError as err:
            raise write_error(folder / "plots", err) from err
    atomic_write(folder / COMPLETE, complete_marker(summary), fsync=True)
    return folder


def is_complete(folder: Path) -> bool:
    """Whether a run folder was written to the end and its ``summary.json`` is whole."""
    return runfolder.is_complete(folder)


def load_config(folder: Path) -> DictConfig:
    """The resolved config of a run folder (to re-run it exactly)."""
    return OmegaConf.load(Path(folder) / "config.yaml")  # type: ignore[return-value]
