"""Experiments: a multirun of strategies x scenarios x seeds, aggregated into a report.

``python -m sim.experiment [overrides]`` runs ``configs/experiment/default.yaml``
(or the file named by ``experiment=NAME``) as a Hydra multirun; sweep other
sets with ``strategy=a,b scenario=none,pandemic seed=range(0,8)``. Any Hydra
launcher works (joblib on local cores by default). :class:`AggregateCallback`
is registered in ``configs/config.yaml``; when a multirun ends it aggregates the
experiment folder (:func:`sim.analysis.compare.aggregate`) and prints the
rankings and the report's path.

Progress: while the multirun runs, the parent process shows on stderr the runs
done of the sweep's total, the failures so far, the time elapsed and the time
left, and when it ends a final line such as ``runs: 55/55 done, 0 failed, 2m31s``
(:mod:`sim.progress`); ``experiment.progress=false`` turns it off.

Resuming: ``python -m sim.experiment hydra.sweep.dir=results/experiments/<folder>
experiment.resume=true`` keeps complete runs and runs only missing or failed ones.
Without ``experiment.resume=true`` an existing experiment folder is never reused.

Folders: a new experiment's folder (``<time>-<name>``) is created exclusively; when
two experiments start in the same second the second gets ``<time>-<name>-2``.
While an experiment works on its folder it holds ``experiment.lock`` there
(``fcntl.flock``, released when the process ends, however it ends): a second
experiment, resume or re-aggregation of the same folder is refused, naming the lock.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, open_dict, read_write

from sim.atomic import FolderLock, new_folder
from sim.errors import ConfigError
from sim.validate import experiment_flag, inside_results

#: Errors raised while aggregating (Hydra only warns about callback errors).
AGGREGATION_ERRORS: list[str] = []


def _quote(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


def _set_sweep_dir(config: DictConfig, sweep: Path) -> None:
    """Point the multirun at ``sweep``: the launcher's folder and every job's config."""
    with read_write(config.hydra), open_dict(config.hydra):
        config.hydra.sweep.dir = str(sweep)
        # each job's config is composed again from these overrides (Hydra's load_sweep_config)
        config.hydra.overrides.hydra.append(f"hydra.sweep.dir={_quote(str(sweep))}")


def _given(config: DictConfig, key: str) -> bool:
    return any(str(o).split("=", 1)[0].lstrip("+") == key for o in config.hydra.overrides.hydra)


def _experiment_source(config: DictConfig) -> str:
    """The experiment config file a run's ``experiment`` block came from, for messages."""
    try:
        name = config.hydra.runtime.choices.get("experiment")
    except Exception:  # no Hydra runtime (a config composed by hand)
        name = None
    return f"configs/experiment/{name}.yaml" if name else "the experiment config"


class AggregateCallback(Callback):
    """Guards the experiment folder at the start and aggregates it at the end."""

    def __init__(self) -> None:
        self._lock: FolderLock | None = None
        self._progress: Any = None  # a sim.progress.Progress while the multirun runs

    def __getstate__(self) -> dict[str, Any]:
        # Hydra's launchers send the callbacks to their workers with every job: the
        # progress display (a thread) stays in this process.
        return {**self.__dict__, "_progress": None}

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Create (or, resuming, lock) the experiment folder; refuse to reuse one otherwise."""
        from sim import headlines
        from sim.analysis.compare import LOCK_NAME, REPORT_MARKER

        sweep = Path(config.hydra.sweep.dir)
        block, source = config.get("experiment"), _experiment_source(config)
        try:
            resume = experiment_flag(block, "resume", source)
            show_progress = experiment_flag(block, "progress", source)
            headlines.from_config(block, source)
            inside_results(sweep, "hydra.sweep.dir")
            if not _given(config, "hydra.sweep.dir"):
                new = new_folder(sweep)  # exclusive: never another experiment's folder
                if new != sweep:
                    _set_sweep_dir(config, new)
                    sweep = new
            lock = FolderLock(sweep, LOCK_NAME, what="experiment folder").acquire()
            if (sweep / "runs").exists() and any((sweep / "runs").iterdir()) and not resume:
                lock.release()
                raise ConfigError(
                    f"{sweep} already holds an experiment; pass experiment.resume=true to "
                    "resume it (complete runs are kept) or choose another hydra.sweep.dir"
                )
            self._lock = lock
            if resume:  # the runs will change: the old report no longer covers them all
                (sweep / REPORT_MARKER).unlink(missing_ok=True)
        except (ConfigError, OSError) as err:
            # Hydra turns a callback's exception into a warning and goes on: stop here,
            # before any run starts.
            print(f"error: {err}", file=sys.stderr, flush=True)
            os._exit(2 if isinstance(err, ConfigError) else 1)
        if show_progress:
            from sim import progress

            self._progress = progress.start(sweep, config)  # None if it cannot start

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Aggregate the runs into tables, plots and the report, then release the lock."""
        from sim.analysis.compare import aggregate, print_summary

        sweep = Path(config.hydra.sweep.dir)
        try:
            self._stop_progress()
            if not (sweep / "runs").exists():
                return
            from sim import headlines

            baseline = str(config.get("experiment", {}).get("baseline", "baseline"))
            heads = headlines.from_config(config.get("experiment"), _experiment_source(config))
            try:
                report = aggregate(sweep, baseline=baseline, headlines=heads)
                print_summary(sweep, report, baseline, heads)
            except Exception as err:  # Hydra would turn this into a warning: record it
                AGGREGATION_ERRORS.append(
                    f"{sweep}: aggregation failed: {type(err).__name__}: {err}; the runs are "
                    f"kept: rerun it with python -m sim.analysis.compare {sweep}"
                )
                raise
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def _stop_progress(self) -> None:
        """Stop the progress display (its final line); it never raises into Hydra."""
        shown, self._progress = self._progress, None
        if shown is not None:
            with contextlib.suppress(Exception):
                shown.stop()


def main(argv: list[str] | None = None) -> None:
    """Run an experiment: ``python -m sim.experiment [experiment=NAME] [overrides]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    args = [a[1:] if a.startswith("+experiment=") else a for a in args]
    if not any(a.startswith("experiment=") for a in args):
        args.insert(0, "experiment=default")
    if "--multirun" not in args and "-m" not in args:
        args.insert(0, "--multirun")
    from sim.__main__ import main as sim_main

    sys.argv = [sys.argv[0], *args]
    sim_main()
    from sim import experiment  # the callback's module (this file may run as __main__)

    if experiment.AGGREGATION_ERRORS:
        print("error: " + "; ".join(experiment.AGGREGATION_ERRORS), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
