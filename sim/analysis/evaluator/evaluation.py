"""Evaluate a set of run configs: what is missing runs, a table of outcomes comes out.

Sensitivity (:mod:`sim.analysis.sensitivity`), the lever search
(:mod:`sim.analysis.optimize`), robustness (:mod:`sim.analysis.robustness`),
calibration (:mod:`sim.analysis.calibrate`), scenario discovery and the
posterior run their simulations through :func:`evaluate`: configs
(:mod:`.configs`) in, on a backend (:mod:`.backends`), records kept for
resuming and the table built (:mod:`.records`), written as Parquet and CSV
(:mod:`.tables`). One process at a time works on a folder (a lock,
``evaluator.lock``: a second is refused at once rather than repeating runs).
A progress bar (tqdm, on stderr) shows runs done of the total and the
failures so far.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.analysis.evaluator.backends import Backend
from sim.analysis.evaluator.configs import RunConfig, build_configs, check_keys
from sim.analysis.evaluator.hydra_jobs import simulate_reference
from sim.analysis.evaluator.records import (
    RUNS,
    _store,
    pending,
    read_record,
    record_path,
    table_of,
)
from sim.analysis.evaluator.tables import progress_bar, write_table
from sim.analysis.evaluator.worker import Simulate, simulate_run
from sim.atomic import FolderLock


@dataclass
class Evaluation:
    """What :func:`evaluate` returns."""

    table: pd.DataFrame
    records: dict[str, dict | None]
    ran: list[str]
    files: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> pd.DataFrame:
        """The rows of runs that failed (or are missing)."""
        return self.table[self.table["status"] != "ok"]


def evaluate(
    configs: Sequence[RunConfig],
    folder: Path | str | None = None,
    *,
    backend: Backend | None = None,
    jobs: int = 1,
    simulate: Simulate | None = None,
    progress: bool = True,
    desc: str = "runs",
    retry_failed: bool = True,
    run_folders: bool = False,
    table: str | None = "outcomes",
) -> Evaluation:
    """Run what is missing of ``configs`` (resumably with a ``folder``); the outcome table.

    Args:
        configs: The runs, each with a unique key.
        folder: Where records (``runs/<key>.json``) and the table go; ``None``:
            nothing stored, every config runs.
        backend: A :class:`Backend`; default local with ``jobs`` processes.
        jobs: Local processes when no backend is given (1: in this process).
        simulate: Config dict -> outcomes mapping (or a ``RunResult``); default the
            model's outcomes (``run_folders``: the full run result).
        progress: Show a progress bar.
        desc: The bar's label.
        retry_failed: Run failed runs again (complete ones never are).
        run_folders: Also write a run folder per run (``runs/<key>/``).
        table: Name of the table written into ``folder`` (``None``: not written).
    """
    configs = list(configs)
    check_keys(configs)
    backend = backend or Backend("local", jobs)
    folder = None if folder is None else Path(folder)
    if simulate is None and run_folders:
        simulate = simulate_run
    if backend.kind == "hydra":
        simulate_reference(simulate)  # refused before anything runs
    if folder is None:
        return _evaluate(
            configs, None, backend, simulate, progress, desc, retry_failed, run_folders, table
        )
    (folder / RUNS).mkdir(parents=True, exist_ok=True)
    with FolderLock(folder, name="evaluator.lock", what="evaluation folder"):
        return _evaluate(
            configs, folder, backend, simulate, progress, desc, retry_failed, run_folders, table
        )


def _evaluate(
    configs: list[RunConfig],
    folder: Path | None,
    backend: Backend,
    simulate: Simulate | None,
    progress: bool,
    desc: str,
    retry_failed: bool,
    run_folders: bool,
    table: str | None,
) -> Evaluation:
    """:func:`evaluate` once its arguments are checked (and the folder locked)."""
    todo = pending(configs, folder, retry_failed, run_folders)
    records: dict[str, dict | None] = {}
    if folder is not None:
        records = {c.key: read_record(record_path(folder, c.key)) for c in configs}
    by_key = {c.key: c for c in configs}
    ran: list[str] = []
    if todo:
        built = build_configs(todo)
        done = len(configs) - len(todo)
        bar = progress_bar(len(configs), desc, progress, initial=done)
        failures = 0
        try:
            with backend:
                tasks = [(c.key, built[c.key]) for c in todo]
                for rec in backend.run(tasks, simulate, folder, run_folders):
                    stored = _store(folder, by_key[rec["key"]], rec, run_folders)
                    records[stored["key"]] = stored
                    ran.append(stored["key"])
                    failures += stored["status"] != "ok"
                    bar.update(1)
                    if failures:
                        bar.set_postfix(failed=failures, refresh=False)
        finally:
            bar.close()
    out = Evaluation(table_of(configs, records), records, ran)
    if folder is not None and table:
        out.files = write_table(out.table, folder, table)
    return out
