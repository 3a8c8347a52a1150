"""The Hydra backend: runs as the jobs of one Hydra multirun on any Hydra launcher.

Any launcher works (``hydra/launcher=submitit_slurm
hydra.launcher.partition=...``, the project's ``local``, ``ray_local``,
``ray_cluster``...). :func:`run_on_hydra` queues the configs as JSON in
``<folder>/hydra/<time>/``, starts the multirun (:func:`hydra_command`:
``python -m sim.analysis.evaluator hydra-jobs ...``), each job runs one task
(:func:`run_task`) and writes its record there, and the calling process takes
the records as they appear. Jobs on other machines need the folder on a
shared filesystem. A custom simulate function must be importable by name
(:func:`simulate_reference`).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.analysis.evaluator.records import RUNS, read_record
from sim.analysis.evaluator.worker import Simulate, _lost, execute, simulate_run
from sim.atomic import atomic_write, new_folder


def simulate_reference(simulate: Simulate | None) -> str | None:
    """``module:name`` of a simulate function a Hydra job can import (``None``: the default).

    Hydra's launchers start jobs in other processes or on other machines, which
    import the function by its name; a lambda, a nested function or one defined
    in ``__main__`` cannot be found there and is refused.
    """
    if simulate is None:
        return None
    module, name = getattr(simulate, "__module__", None), getattr(simulate, "__qualname__", "")
    if not module or module == "__main__" or "<" in name:
        raise ValueError(
            f"simulate function {simulate!r} is not allowed with the hydra backend; allowed: "
            "a module-level function importable by its name (module:function)"
        )
    return f"{module}:{name}"


def _resolve(reference: str) -> Simulate:
    import importlib

    module, name = reference.split(":", 1)
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def run_task(spec: Mapping[str, Any]) -> dict:
    """One queued task of the Hydra backend, in the job's process: its record.

    ``spec``: ``key``, ``config`` (a plain dict, or the error that kept it from
    being built), ``simulate`` (``module:name`` or ``None``) and ``run_dir``
    (a run folder to write, or ``None``).
    """
    from sim.run import write_run
    from sim.runfolder import is_complete

    run_dir = spec.get("run_dir")
    simulate = _resolve(spec["simulate"]) if spec.get("simulate") else None
    if simulate is None and run_dir:
        simulate = simulate_run
    rec = execute(spec["key"], spec["config"], simulate)
    result = rec.pop("result", None)
    if run_dir and result is not None and not is_complete(Path(run_dir)):
        try:
            write_run(result, Path(run_dir), plots=False)
        except Exception as err:
            rec.update(status="failed", error=f"{type(err).__name__}: {err}")
            rec.update(traceback=traceback.format_exc())
    rec["node"] = f"hydra:{socket.gethostname()}"
    return rec


def _hydra_job(cfg) -> None:
    """A Hydra job of the Hydra backend: run task ``cfg.task`` of the queue ``cfg.queue``."""
    queue, i = Path(cfg.queue), int(cfg.task)
    spec = json.loads((queue / f"{i}.json").read_text(encoding="utf-8"))
    rec = run_task(spec)
    atomic_write(queue / f"{i}.out.json", json.dumps(rec, allow_nan=True, default=str) + "\n")


def _quoted(path: Path) -> str:
    text = str(Path(path).resolve())
    if "'" in text or "\\" in text:
        raise ValueError(f"{text}: a folder with ' or \\ in its path cannot be given to Hydra")
    return f"'{text}'"


def hydra_command(queue: Path, n: int, launcher: Sequence[str]) -> list[str]:
    """The Hydra multirun that runs tasks ``0..n-1`` of ``queue`` on a launcher."""
    return [
        sys.executable,
        "-m",
        "sim.analysis.evaluator",
        "hydra-jobs",
        "--multirun",
        f"+queue={_quoted(queue)}",
        f"+task=range(0,{n})",
        f"hydra.sweep.dir={_quoted(queue / 'hydra')}",
        "hydra.output_subdir=null",
        "hydra/job_logging=disabled",
        "hydra/hydra_logging=disabled",
        *launcher,
    ]


def run_on_hydra(
    tasks: list[tuple[str, dict | str]],
    simulate: Simulate | None,
    launcher: Sequence[str],
    folder: Path | None = None,
    run_folders: bool = False,
) -> Iterator[dict]:
    """Run tasks as the jobs of one Hydra multirun on ``launcher``; their records as they come.

    Each task's config is queued as JSON in ``<folder>/hydra/<time>/`` (a
    temporary folder without ``folder``); the multirun's jobs read it and write
    their records there, which this process reads as they appear (so jobs on
    other machines need ``folder`` on a shared filesystem, as Hydra's SLURM
    launcher does anyway). A task whose job never reports (the launcher failed,
    a job was killed) is a failed run naming the launcher's log. The queue is
    removed once every task has reported, kept with the log otherwise. The
    launcher runs in its own process group, stopped if this process stops early.
    """
    import shutil
    import signal
    import subprocess
    import tempfile

    reference = simulate_reference(simulate)
    if folder is None:
        queue = Path(tempfile.mkdtemp(prefix="banklab-hydra-"))
    else:
        queue = new_folder(Path(folder) / "hydra" / time.strftime("%Y%m%d-%H%M%S"))
    for i, (key, cfg) in enumerate(tasks):
        run_dir = str((Path(folder) / RUNS / key).resolve()) if folder and run_folders else None
        spec = {"key": key, "config": cfg, "simulate": reference, "run_dir": run_dir}
        atomic_write(queue / f"{i}.json", json.dumps(spec, allow_nan=True))
    log = queue / "launcher.log"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            hydra_command(queue, len(tasks), launcher),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopped by its id
        )
    reported: set[int] = set()
    try:
        while len(reported) < len(tasks):
            ended = proc.poll() is not None
            for name in os.listdir(queue):
                if name.endswith(".out.json") and int(name.split(".")[0]) not in reported:
                    rec = read_record(queue / name)
                    if rec is not None:
                        reported.add(int(name.split(".")[0]))
                        yield rec
            if ended:
                break
            time.sleep(0.3)
        if len(reported) < len(tasks):
            tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
            why = f"the Hydra launcher (exit code {proc.returncode}) did not report this run"
            for i, (key, _) in enumerate(tasks):
                if i not in reported:
                    yield _lost(key, f"{why}; see {log}: {tail}", log.read_text(errors="replace"))
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if len(reported) == len(tasks):
            shutil.rmtree(queue, ignore_errors=True)
            if folder is not None:
                with contextlib.suppress(OSError):
                    queue.parent.rmdir()  # the hydra/ folder, once empty


def multirun(args: list[str]) -> None:
    """The Hydra multirun of the Hydra backend (:func:`hydra_command` builds its arguments).

    The project's config folder is on Hydra's search path, so its launchers
    (``hydra/launcher=local``, ``ray_local``, ``ray_cluster``) are there too.
    """
    import hydra

    from sim.paths import CONFIG_DIR

    sys.argv = [sys.argv[0], *args]
    # _hydra_job lives in this module, imported by its name (never __main__): jobs import it
    hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name=None)(_hydra_job)()
