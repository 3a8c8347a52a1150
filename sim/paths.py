"""Where the lab's files live: a checkout's configs, scenarios and results."""

from __future__ import annotations

import os
from pathlib import Path

#: The checkout root (the lab is installed editable from its checkout).
ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "configs"
SCENARIO_DIR = ROOT / "scenarios"


def results_dir() -> Path:
    """The results folder: ``$BANKLAB_RESULTS`` if set, else ``results/`` in the checkout."""
    return Path(os.environ.get("BANKLAB_RESULTS", ROOT / "results"))
