"""The Hydra entry point: ``python -m sim`` (or ``banklab``) runs one simulation.

It only composes the config, calls :func:`sim.run.run`, shows progress and
writes the run folder under ``results/runs/``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from sim.config import register_configs
from sim.errors import ConfigError
from sim.paths import CONFIG_DIR

register_configs()


def run_job(cfg: DictConfig) -> dict:
    """Run one job inside Hydra: validate, simulate, write the run folder."""
    from tqdm import tqdm

    from sim.run import run, write_run
    from sim.validate import validate

    logging.getLogger("MESA").setLevel(logging.WARNING)
    hc = HydraConfig.get()
    choices = dict(hc.runtime.choices)
    c = validate(cfg, choices)
    out = Path(cfg.output.dir) if cfg.output.dir else Path(hc.runtime.output_dir)
    show = bool(cfg.output.progress) and hc.mode.name == "RUN"
    bar = tqdm(total=c.weeks, desc=f"{c.strategy.name}/{c.scenario.name}/s{c.seed}",
               unit="week", disable=not show, file=sys.stderr, mininterval=1.0)
    result = run(c, progress=lambda t: bar.update(1))
    bar.close()
    write_run(result, out, plots=bool(cfg.output.plots))
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
        for name in ("retention_26w", "customer_share", "primary_share", "active_rate",
                     "app_mau_rate", "contacts_per_customer", "payment_share",
                     "multi_bank_share", "full_switch_6m", "partial_switch_6m"):
            print(f"  {name:28s} {o[name]:.4g}")


def main() -> None:
    """Console-script entry point."""
    _hydra_main()


if __name__ == "__main__":
    main()
