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

Comparisons under parameter uncertainty: ``experiment.posterior=default`` (the
name of a shipped posterior, ``configs/market/posterior/<name>.csv``) resamples
``experiment.posterior_draws`` parameter sets by weight from it, with
``numpy.random.default_rng(experiment.posterior_seed)`` (with replacement: a set
drawn k times runs once, with weight k / posterior_draws). Each becomes an
option ``d0, d1, ...`` of the config group ``posterior_draw`` (Hydra's config
store: every launcher sends it to its workers) that sets the set's parameter
values and ``experiment.draw``, and the multirun sweeps it beside strategies,
scenarios and seeds; run folders are ``<strategy>__<scenario>__d<draw>__s<seed>``.
The draws are written to ``posterior_draws.csv`` in the experiment folder (a
resumed experiment reads them back from there, so a posterior rerun meanwhile
does not change them). Every (draw, seed) has its own spun-up market (cached by
:mod:`sim.spinup`, keyed by the market's parameters). The aggregation pairs runs
within a (draw, seed): :mod:`sim.analysis.uncertainty`.

Launching (issue 14's experiment overhead; ``python -m benchmarks.experiment_overhead``
measures it): Hydra composes every job's config twice, once in this process to check
the sweep before launching and once in the job; this command checks only the jobs that
carry each override once (:func:`validate_covering`: 15 of the default's 55). With the
joblib launcher and more than one worker, the worker pool is started when the multirun
starts (:func:`start_workers`), so the workers import the lab while the sweep is being
checked, and the report's plots are drawn in those workers when the runs are done.

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
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from sim.atomic import FolderLock, atomic_write, new_folder
from sim.errors import ConfigError
from sim.validate import DRAW_GROUP, experiment_flag, inside_results, posterior_option

#: The columns of ``posterior_draws.csv`` that are not parameter values.
DRAW_META = ("draw", "weight", "count", "row")

#: Errors raised while aggregating (Hydra only warns about callback errors).
AGGREGATION_ERRORS: list[str] = []
#: The posterior draws :func:`main` registered for this command (None: the option is off).
_DRAWS: pd.DataFrame | None = None


# --------------------------------------------------------------------------- posterior draws


def select_draws(name: str, n: int, seed: int) -> pd.DataFrame:
    """``n`` parameter sets resampled by weight from the shipped posterior ``name``.

    Resampling with replacement with ``numpy.random.default_rng(seed)``; a set drawn
    several times is one row whose ``weight`` is its count / ``n``. Columns: ``draw``
    (0, 1, ... in order of first appearance), ``weight``, ``count``, ``row`` (the
    set's row in the posterior file) and one column per parameter (config keys).
    """
    from sim.analysis.posterior import load

    post = load(name)
    rng = np.random.default_rng(int(seed))
    idx = rng.choice(len(post), size=int(n), replace=True, p=post["weight"].to_numpy(float))
    rows, counts = [], {}
    for i in idx:
        if int(i) not in counts:
            rows.append(int(i))
        counts[int(i)] = counts.get(int(i), 0) + 1
    keys = [c for c in post.columns if c != "weight"]
    out = post.iloc[rows][keys].reset_index(drop=True)
    out.insert(0, "row", rows)
    out.insert(0, "count", [counts[i] for i in rows])
    out.insert(0, "weight", [counts[i] / int(n) for i in rows])
    out.insert(0, "draw", range(len(rows)))
    return out


def draw_node(values: dict[str, float], draw: int) -> dict:
    """The config node of one draw: its parameter values at their keys, ``experiment.draw``."""
    node: dict = {"experiment": {"draw": int(draw)}}
    for key, v in values.items():
        cur = node
        *parents, leaf = key.split(".")
        for part in parents:
            cur = cur.setdefault(part, {})
        cur[leaf] = float(v)
    return node


def register_draws(draws: pd.DataFrame) -> list[str]:
    """Store each draw as ``posterior_draw/d<i>`` in Hydra's config store; their names."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    keys = [c for c in draws.columns if c not in DRAW_META]
    names = []
    for _, r in draws.iterrows():
        name = f"d{int(r['draw'])}"
        node = draw_node({k: float(r[k]) for k in keys}, int(r["draw"]))
        cs.store(group=DRAW_GROUP, name=name, node=node, package="_global_")
        names.append(name)
    return names


def _draws_header(option: dict[str, Any], draws: pd.DataFrame) -> str:
    from sim.analysis.posterior import read_sidecar
    from sim.analysis.posterior.files import shipped_path

    path = shipped_path(option["posterior"])
    meta = read_sidecar(path)
    return (
        f"# {option['posterior_draws']} draws resampled by weight (numpy default_rng("
        f"{option['posterior_seed']})) from {path.relative_to(path.parents[3])} "
        f"(sha256 {meta['sha256'][:16]}, {meta.get('date')}): {len(draws)} distinct sets; "
        "weight = count / draws\n"
    )


def _experiment_args(args: list[str]) -> list[str]:
    """The command line's overrides that shape the experiment block (no sweeps)."""
    keep = []
    for a in args:
        key = a.split("=", 1)[0].lstrip("+")
        if key == "experiment" or key.startswith("experiment."):
            keep.append(a)
    return keep


def _resumed_folder(args: list[str]) -> Path | None:
    for a in args:
        key, _, value = a.partition("=")
        if key.lstrip("+") == "hydra.sweep.dir":
            return Path(value.strip().strip("'\""))
    return None


def posterior_setup(args: list[str]) -> list[str]:
    """With ``experiment.posterior`` on: choose and register the draws; the overrides to add.

    The draws come from the posterior file, or, resuming a folder that holds
    ``posterior_draws.csv``, from that file. Returns the sweep over the draws and
    the run folders' names with the draw (``[]`` when the option is off).

    Raises:
        ConfigError: a bad option value, or a posterior that cannot be read.
    """
    global _DRAWS
    from sim.analysis.uncertainty import DRAWS_FILE, read_draws
    from sim.compose import compose_config

    if not _may_be_on(args):  # skip composing the config for the common case
        from sim import experiment

        _DRAWS = experiment._DRAWS = None
        return []
    cfg = compose_config(_experiment_args(args))
    block = cfg.get("experiment") or {}
    source = _experiment_source_name(args)
    option = posterior_option(block, source)
    if option is None:
        from sim import experiment

        _DRAWS = experiment._DRAWS = None
        return []
    resume = bool(block.get("resume"))
    folder = _resumed_folder(args)
    draws = None
    if resume and folder is not None and (folder / DRAWS_FILE).is_file():
        try:
            draws = read_draws(folder)
        except ValueError as err:
            raise ConfigError(str(err)) from err
    if draws is None:
        draws = select_draws(
            option["posterior"], option["posterior_draws"], option["posterior_seed"]
        )
        draws.attrs["header"] = _draws_header(option, draws)
    names = register_draws(draws)
    from sim import experiment  # the callback's module (this file may run as __main__)

    _DRAWS = experiment._DRAWS = draws
    subdir = (
        "runs/${hydra:runtime.choices.strategy}__${hydra:runtime.choices.scenario}"
        "__d${experiment.draw}__s${seed}"
    )
    return [f"+{DRAW_GROUP}={','.join(names)}", f"hydra.sweep.subdir={_quote(subdir)}"]


def _may_be_on(args: list[str]) -> bool:
    """Whether the command line or the chosen experiment file (or a parent) sets a posterior."""
    import yaml

    from sim.paths import CONFIG_DIR

    if any("posterior" in a.split("=", 1)[0] for a in args):
        return True
    names = [a.split("=", 1)[1] for a in args if a.split("=", 1)[0].lstrip("+") == "experiment"]
    seen: set[str] = set()
    while names:
        name = names.pop()
        path = CONFIG_DIR / "experiment" / f"{name}.yaml"
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return True  # let the composition report it
        if not isinstance(data, dict):
            return True  # let the composition report it
        block = data.get("experiment")
        if not isinstance(block, dict | None):
            return True
        if (block or {}).get("posterior") is not None:
            return True
        names += [d for d in data.get("defaults") or [] if isinstance(d, str) and d != "_self_"]
    return False


def _experiment_source_name(args: list[str]) -> str:
    for a in args:
        if a.split("=", 1)[0].lstrip("+") == "experiment":
            return f"configs/experiment/{a.split('=', 1)[1]}.yaml or the command line"
    return "the experiment config or the command line"


def _check_draws(config: DictConfig, source: str) -> bool:
    """Whether the posterior option is on; a ConfigError if no draws were chosen for it."""
    option = posterior_option(config.get("experiment"), source)
    if option is None:
        return False
    if _DRAWS is None:
        raise ConfigError(
            f"{source}: experiment.posterior = {option['posterior']!r} needs the experiment "
            "command: run it with python -m sim.experiment (it chooses the draws)"
        )
    return True


def _write_draws(sweep: Path, config: DictConfig, source: str) -> None:
    """Record the draws in the experiment folder (a resumed folder keeps its record)."""
    from sim.analysis.uncertainty import DRAWS_FILE

    if not _check_draws(config, source):
        return
    path = sweep / DRAWS_FILE
    if path.is_file():
        return  # a resumed folder: main read its draws from this file
    body = _DRAWS.to_csv(index=False, float_format="%.10g", lineterminator="\n")
    atomic_write(path, _DRAWS.attrs.get("header", "") + body)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


def _set_sweep_dir(config: DictConfig, sweep: Path) -> None:
    """Point the multirun at ``sweep``: the launcher's folder and every job's config."""
    with read_write(config.hydra), open_dict(config.hydra):
        config.hydra.sweep.dir = str(sweep)
        # each job's config is composed again from these overrides (Hydra's load_sweep_config)
        config.hydra.overrides.hydra.append(f"hydra.sweep.dir={_quote(str(sweep))}")


def _given(config: DictConfig, key: str) -> bool:
    # unresolved: an override may hold an interpolation (the posterior runs' subdir)
    given = OmegaConf.to_container(config.hydra.overrides.hydra, resolve=False)
    return any(str(o).split("=", 1)[0].lstrip("+") == key for o in given)


def _experiment_source(config: DictConfig) -> str:
    """The experiment config file a run's ``experiment`` block came from, for messages."""
    try:
        name = config.hydra.runtime.choices.get("experiment")
    except Exception:  # no Hydra runtime (a config composed by hand)
        name = None
    return f"configs/experiment/{name}.yaml" if name else "the experiment config"


# --------------------------------------------------------------------------- launching


def covering_jobs(batch: Sequence[Sequence[str]]) -> list[Sequence[str]]:
    """The jobs of a sweep batch that together carry each of its overrides at least once.

    The first job, then every job that brings an override (``strategy=rewards``,
    ``seed=3``...) no job before it had: 15 of the default experiment's 55 jobs.
    """
    seen: set[str] = set()
    out: list[Sequence[str]] = []
    for overrides in batch:
        if not out or not seen.issuperset(overrides):
            out.append(overrides)
            seen.update(overrides)
    return out


def validate_covering(sweeper: Any, batch: Sequence[Sequence[str]]) -> None:
    """Hydra's check that a batch's jobs compose, on :func:`covering_jobs` of it.

    Replaces ``Sweeper.validate_batch_is_legal`` in the experiment command (see
    :func:`main`): Hydra composes every job's config in the parent before launching
    and again in the job, serially before the first job starts (55 compositions of
    about 0.1-0.2 s each for the default experiment). Composing each override once
    still stops a bad value or a missing config file before any run starts; every
    job composes its own config anyway. Then waits for the workers started by
    :func:`start_workers` (their start-up overlaps these compositions).
    """
    ctx = getattr(sweeper, "hydra_context", None)
    loader = ctx.config_loader if ctx is not None else sweeper.config_loader
    for overrides in covering_jobs(batch):
        loader.load_sweep_config(master_config=sweeper.config, sweep_overrides=list(overrides))
    warming, _WARMING[:] = list(_WARMING), []
    for thread in warming:
        thread.join(timeout=120)


#: The threads starting the worker pool and importing the aggregation (joined before the launch).
_WARMING: list[threading.Thread] = []


def _warm_worker() -> int:
    """Run in each new worker: import what every job needs (Hydra, the model, numba)."""
    import sim.__main__  # the task function's module
    import sim.analysis.figures
    import sim.run  # noqa: F401  (the model, numba)

    return os.getpid()


def _import_analysis() -> None:
    """Import what the aggregation needs (in the parent, while the workers start)."""
    import sim.analysis.compare
    import sim.analysis.report  # noqa: F401


def launcher_settings(config: DictConfig) -> dict[str, Any] | None:
    """The ``joblib.Parallel`` arguments Hydra's joblib launcher will use; None for others."""
    launcher = config.hydra.get("launcher") or {}
    if not str(launcher.get("_target_", "")).endswith("JoblibLauncher"):
        return None
    from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg

    settings = OmegaConf.to_container(launcher, resolve=True)
    settings.pop("_target_", None)
    settings["backend"] = "loky"  # as the launcher does
    process_joblib_cfg(settings)
    return settings


def start_workers(config: DictConfig) -> threading.Thread | None:
    """Start the joblib launcher's worker pool now, in a thread; None if there is none.

    Hydra's joblib launcher starts its loky workers only once every job's config has
    been composed, and each worker then imports the lab (some seconds) before its
    first job. Started here with the launcher's own arguments, the pool is loky's
    reusable executor that the launcher's ``joblib.Parallel`` then finds ready: the
    workers import while the parent checks the sweep. A pool that cannot be started
    here is left to the launcher.
    """
    try:
        settings = launcher_settings(config)
        if settings is None:
            return None
        from joblib import Parallel, delayed, effective_n_jobs

        n = effective_n_jobs(settings.get("n_jobs", -1))
        if n <= 1:
            return None
    except Exception:  # the launcher reports its own configuration errors
        return None

    def warm() -> None:
        with contextlib.suppress(Exception):
            Parallel(**settings)(delayed(_warm_worker)() for _ in range(n))

    def imports() -> None:
        with contextlib.suppress(Exception):
            _import_analysis()

    thread = threading.Thread(target=warm, name="experiment-workers", daemon=True)
    for t in (thread, threading.Thread(target=imports, name="experiment-imports", daemon=True)):
        t.start()
        _WARMING.append(t)
    return thread


def plot_workers(config: DictConfig) -> dict[str, Any] | None:
    """The ``joblib.Parallel`` arguments to draw the report's plots in the launcher's workers.

    Only with the joblib launcher running more than one worker (they are still up when
    the multirun ends: loky keeps them for reuse); None otherwise (drawn in this process).
    """
    try:
        settings = launcher_settings(config)
        if settings is None:
            return None
        from joblib import effective_n_jobs

        return settings if effective_n_jobs(settings.get("n_jobs", -1)) > 1 else None
    except Exception:
        return None


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
            _check_draws(config, source)
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
            _write_draws(sweep, config, source)
            if resume:  # the runs will change: the old report no longer covers them all
                (sweep / REPORT_MARKER).unlink(missing_ok=True)
        except (ConfigError, OSError) as err:
            # Hydra turns a callback's exception into a warning and goes on: stop here,
            # before any run starts.
            print(f"error: {err}", file=sys.stderr, flush=True)
            os._exit(2 if isinstance(err, ConfigError) else 1)
        start_workers(config)
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
                parallel = plot_workers(config)
                report = aggregate(sweep, baseline=baseline, headlines=heads, parallel=parallel)
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
    try:
        from sim.configfiles import check_overrides

        check_overrides([a for a in args if not a.startswith("-")])  # command-line values first
        args += posterior_setup([a for a in args if not a.startswith("-")])
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    from hydra.plugins.sweeper import Sweeper

    from sim import experiment as this  # the callback's module (this file may run as __main__)
    from sim.__main__ import main as sim_main

    # this command's sweeps only. On the base class: Hydra instantiates the sweeper from
    # its own fresh import of the plugin module (hydra.core.plugins), so a patch of the
    # importable BasicSweeper class would never be seen by the sweeper that runs.
    Sweeper.validate_batch_is_legal = this.validate_covering
    sys.argv = [sys.argv[0], *args]
    sim_main()
    from sim import experiment  # the callback's module (this file may run as __main__)

    if experiment.AGGREGATION_ERRORS:
        print("error: " + "; ".join(experiment.AGGREGATION_ERRORS), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
