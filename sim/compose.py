"""Compose configs without the command line (tests, notebooks, the analysis tools)."""

from __future__ import annotations

from collections.abc import Sequence

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from sim import paths
from sim.configfiles import register_configs


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The root config with Hydra overrides applied, e.g. ``["strategy=rewards", "seed=3"]``.

    The config files these overrides select are checked (a broken one is a
    ConfigError naming it); broken files they do not select are only warned about.
    """
    register_configs(list(overrides))
    with initialize_config_dir(config_dir=str(paths.CONFIG_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))
