"""Compose configs without the command line (tests, notebooks, the analysis tools)."""

from __future__ import annotations

from collections.abc import Sequence

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from sim.config import register_configs
from sim.paths import CONFIG_DIR


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The root config with Hydra overrides applied, e.g. ``["strategy=rewards", "seed=3"]``."""
    register_configs()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))
