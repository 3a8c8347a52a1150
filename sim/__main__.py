"""The Hydra entry point: ``python -m sim`` (or ``banklab``) runs one simulation.

It only composes the config, calls :func:`sim.run.run`, shows progress and
writes the run folder (under ``results/runs/``, or under the experiment's
``runs/`` in a multirun). In a multirun a run that fails writes ``FAILED``
(with its error) instead of ``COMPLETE``, so the other runs still make the
report; a run whose folder is already complete is kept, not repeated.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from sim.config import check_overrides, register_configs
from sim.errors import ConfigError
from sim.paths import CONFIG_DIR


def _identity(cfg: DictConfig, choices: dict) -> dict:
    return {
        "strategy": choices.get("strategy", str(cfg.strategy.name)),
        "scenario": choices.get("scenario", str(cfg.scenario.name)),
        "seed": int(cfg.seed),
    }


def run_job(cfg: DictConfig) -> dict:
    """Run one job inside Hydra: validate, simulate, write the run folder."""
    from tqdm import tqdm

    from sim.run import FAILED, is_complete, run, write_run
    from sim.validate import inside_results, validate

    logging.getLogger("MESA").setLevel(logging.WARNING)
    hc = HydraConfig.get()
    choices = {k: v for k, v in hc.runtime.choices.items() if v is not None}
    out = Path(cfg.output.dir) if cfg.output.dir else Path(hc.runtime.output_dir)
    inside_results(out, "output.dir" if cfg.output.dir else "hydra.run.dir")
    multirun = hc.mode.name == "MULTIRUN"
    ident = _identity(cfg, choices)
    if multirun and is_complete(out):
        summary = json.loads((out / "summary.json").read_text())
        return {"folder": str(out), "skipped": True, **summary}
    try:
        c = validate(cfg, choices)
        # the strategy's name is its file's name, so a copied file never passes for another
        c.strategy.name = ident["strategy"]
        show = bool(cfg.output.progress) and not multirun
        bar = tqdm(
            total=c.weeks,
            desc=f"{c.strategy.name}/{c.scenario.name}/s{c.seed}",
            unit="week",
            disable=not show,
            file=sys.stderr,
            mininterval=1.0,
        )
        result = run(c, progress=lambda t: bar.update(1))
        bar.close()
        result.summary["scenario"] = ident["scenario"]
        write_run(result, out, plots=bool(cfg.output.plots))
    except Exception as err:
        if not multirun:
            raise
        out.mkdir(parents=True, exist_ok=True)
        (out / "run.json").write_text(json.dumps(ident) + "\n")
        (out / FAILED).write_text(f"{type(err).__name__}: {err}\n\n{traceback.format_exc()}")
        print(f"run failed: {out}: {type(err).__name__}: {err}", file=sys.stderr)
        return {"folder": str(out), "failed": str(err), **ident}
    (out / FAILED).unlink(missing_ok=True)
    return {"folder": str(out), **result.summary}


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def _hydra_main(cfg: DictConfig) -> None:
    try:
        res = run_job(cfg)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    if HydraConfig.get().mode.name == "RUN":
        o = res["outcomes"]
        print(f"run folder: {res['folder']}")
        for name in (
            "retention_26w",
            "customer_share",
            "primary_share",
            "active_rate",
            "app_mau_rate",
            "contacts_per_customer",
            "payment_share",
            "multi_bank_share",
            "full_switch_6m",
            "partial_switch_6m",
        ):
            print(f"  {name:28s} {o[name]:.4g}")


def main() -> None:
    """Console-script entry point: check the config files and overrides, then run Hydra."""
    try:
        check_overrides([a for a in sys.argv[1:] if not a.startswith("-")])
        register_configs()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    _hydra_main()


if __name__ == "__main__":
    main()
