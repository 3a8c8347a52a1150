"""Experiments: a multirun of strategies x scenarios x seeds, aggregated into a report.

``python -m sim.experiment [overrides]`` runs ``configs/experiment/default.yaml``
(or the file named by ``experiment=NAME``) as a Hydra multirun. Any Hydra
launcher works (joblib on local cores by default). :class:`AggregateCallback`
is registered in ``configs/config.yaml``; when a multirun ends it aggregates the
experiment folder (:func:`sim.analysis.compare.aggregate`) and prints the
rankings and the report's path.

Resuming: ``python -m sim.experiment hydra.sweep.dir=results/experiments/<folder>
experiment.resume=true`` keeps complete runs and runs only missing or failed ones.
Without ``experiment.resume=true`` an existing experiment folder is never reused.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from sim.errors import ConfigError
from sim.validate import inside_results


class AggregateCallback(Callback):
    """Guards the experiment folder at the start and aggregates it at the end."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Refuse to reuse an earlier experiment's folder unless resuming."""
        sweep = Path(config.hydra.sweep.dir)
        inside_results(sweep, "hydra.sweep.dir")
        resume = bool(config.get("experiment", {}).get("resume", False))
        if (sweep / "runs").exists() and any((sweep / "runs").iterdir()) and not resume:
            raise ConfigError(
                f"{sweep} already holds an experiment; pass experiment.resume=true to resume it "
                "(complete runs are kept) or choose another hydra.sweep.dir"
            )

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Aggregate the runs into tables, plots and the report."""
        from sim.analysis.compare import aggregate, print_summary

        sweep = Path(config.hydra.sweep.dir)
        if not (sweep / "runs").exists():
            return
        baseline = str(config.get("experiment", {}).get("baseline", "baseline"))
        report = aggregate(sweep, baseline=baseline)
        print_summary(sweep, report)


def main(argv: list[str] | None = None) -> None:
    """Run an experiment: ``python -m sim.experiment [experiment=NAME] [overrides]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(a.startswith(("experiment=", "+experiment=")) for a in args):
        args.insert(0, "+experiment=default")
    else:
        args = [("+" + a) if a.startswith("experiment=") else a for a in args]
    from sim.__main__ import main as sim_main

    sys.argv = [sys.argv[0], *args]
    sim_main()


if __name__ == "__main__":
    main()
