"""One evaluator under every analysis tool: run configs in, a table of outcomes out.

Sensitivity (:mod:`sim.analysis.sensitivity`), the lever search
(:mod:`sim.analysis.optimize`), robustness (:mod:`sim.analysis.robustness`)
and calibration (:mod:`sim.analysis.calibrate`) run their simulations here.

**In**: a list of :class:`RunConfig`, each a stable ``key`` (a file name), the
Hydra ``overrides`` composed onto the config tree (``strategy=rewards``,
``population.size=1000``...), the ``values`` set afterwards on dotted keys
of the composed config, exactly (``market.behaviour.close_base``,
``seed``...), and ``labels`` (columns the tool wants in the table: sample,
trial, strategy...). Configs are composed in the calling process, once per
distinct override set, so workers only receive plain dicts.

**Out**: :class:`Evaluation`, whose ``table`` has one row per config in the
order given: ``key``, the labels, ``overrides`` (the override set and the
values, as ``key=value`` text), ``status`` (``ok`` or ``failed``), ``error``
(the exception's type and message for a failed run), every outcome of
:mod:`sim.outcomes` the run reported (registry order; other named values a
custom simulate function returns follow, sorted), ``seconds`` and ``node``
(where it ran: ``local:<host>`` or the Ray node id). A run that raises is
recorded as failed, never fatal.

**Resume**: with a ``folder``, each finished run is stored as it completes in
``<folder>/runs/<key>.json`` (written atomically by the calling process, so a
Ray worker needs no shared filesystem). Keys already stored as ``ok`` are
never run again; failed ones run again (``retry_failed``). A stored key whose
overrides differ from the config given is refused (a result is never
silently replaced), and one process at a time works on a folder (a lock,
``evaluator.lock``: a second is refused at once rather than repeating runs).
With ``run_folders=True`` every run also gets a full run folder
``<folder>/runs/<key>/`` (:func:`sim.run.write_run`, no plots), which is what
the experiment's aggregation (:mod:`sim.analysis.compare`) reads.

**Tables**: :func:`write_table` writes ``<name>.parquet`` (pyarrow) and, when
the table has at most :data:`SMALL_TABLE_ROWS` rows, ``<name>.csv`` beside
it; without pyarrow it writes the CSV only and says so. Both are atomic.

**Backends** (:class:`Backend`; the tools' flags ``--jobs N``, ``--ray ADDRESS``
and trailing ``hydra/launcher=...`` overrides, :func:`add_backend_arguments`):

* ``local``: ``jobs=1`` runs in this process; ``jobs=N`` on N local processes
  (joblib's loky), results collected as they complete.
* ``ray``: one Ray task per run (``num_cpus=1``, scheduling strategy
  ``SPREAD`` so a cluster's nodes all take work) on the cluster at
  ``address`` (``ray.init(address=...)``; ``None`` starts a private
  one-machine instance). A task that dies (worker lost) is a failed run.
* ``hydra``: the runs as the jobs of one Hydra multirun on any Hydra launcher
  (``hydra/launcher=submitit_slurm hydra.launcher.partition=...``, the
  project's ``local``, ``ray_local``, ``ray_cluster``...). The configs are
  queued as JSON in ``<folder>/hydra/<time>/``, each job writes its record
  there, and this process stores the records as they appear
  (:func:`run_on_hydra`); jobs on other machines need the folder on a shared
  filesystem. A custom simulate function must be importable by name.

Every worker runs one thread (BLAS and OpenMP pools limited to 1 by
threadpoolctl; Ray gives each task ``OMP_NUM_THREADS=1`` too): parallelism
comes from runs, never from threads inside a run. A progress bar (tqdm, on
stderr) shows runs done of the total and the failures so far.

Runs are a pure function of their config (seed included), so the outcome
columns are identical whichever backend or number of jobs ran them
(:func:`comparable` drops ``seconds`` and ``node`` for that comparison).

A second Ray node on this machine, on loopback (``ray start --address=127.0.0.1:...``
resolves the loopback address to the machine's network address, and the
environment variable that prevents it also forbids a worker node)::

    python -m sim.analysis.evaluator ray-node --address=127.0.0.1:6379 --num-cpus=1
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.atomic import FolderLock, atomic_write, new_folder

#: Tables with at most this many rows get a CSV beside their Parquet file.
SMALL_TABLE_ROWS = 10_000
#: The folder (inside an evaluation's folder) holding one record per finished run.
RUNS = "runs"
BACKENDS = ("local", "ray", "hydra")
#: Hydra overrides that choose or configure a launcher: they go to the launcher, not the runs.
LAUNCHER_PREFIXES = ("hydra/launcher=", "hydra.launcher.")
#: Table columns that depend on where and how fast a run ran, not on what it computed.
PLACE_COLUMNS = ("seconds", "node")
_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.=+-")

Simulate = Callable[[dict], Any]


# --------------------------------------------------------------------------- shared helpers
def set_key(config: dict, key: str, value: Any) -> None:
    """Set a dotted key in a nested dict (the key must exist)."""
    node = config
    parts = key.split(".")
    for p in parts[:-1]:
        node = node[p]
    if parts[-1] not in node:
        raise KeyError(key)
    node[parts[-1]] = value


def get_key(config: dict, key: str) -> Any:
    """A dotted key's value in a nested dict."""
    node = config
    for p in key.split("."):
        node = node[p]
    return node


def compose_plain(overrides: Sequence[str] = ()) -> dict:
    """The run config composed with Hydra ``overrides`` (checked), as a plain resolved dict."""
    from omegaconf import OmegaConf

    from sim.compose import compose_config
    from sim.config import check_overrides

    check_overrides(list(overrides))
    cfg = compose_config(list(overrides))
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def new_output_folder(kind: str, label: str, out: str | Path | None = None) -> Path:
    """A fresh output folder ``results/<kind>/<time>-<label>`` (never an existing one).

    ``out``: a folder inside the results folder, new or empty. Otherwise the
    folder is created exclusively (:func:`sim.atomic.new_folder`: two tools
    started in the same second get ``...-2``).
    """
    from sim.errors import ConfigError
    from sim.paths import results_dir
    from sim.validate import inside_results

    if out is not None:
        path = inside_results(Path(out), "--out")
        if path.exists() and any(path.iterdir()):
            raise ConfigError(
                f"command line: --out = {str(out)!r} is not allowed; allowed: a new or empty "
                "folder (to continue an earlier run use --resume FOLDER)"
            )
        path.mkdir(parents=True, exist_ok=True)
        return path
    return new_folder(results_dir() / kind / f"{time.strftime('%Y%m%d-%H%M%S')}-{label}")


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A GitHub-flavoured Markdown table (no extra dependency)."""

    def cell(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return "NaN" if math.isnan(v) else format(float(v), floatfmt)
        return str(v)

    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def parse_seeds(text: str | Iterable[int]) -> list[int]:
    """Seeds from ``"0,1,2"``, ``"0-4"`` or a list."""
    if not isinstance(text, str):
        return [int(s) for s in text]
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part[1:]:
            a, b = part.split("-", 1)
            seeds.extend(range(int(a), int(b) + 1))
        elif part:
            seeds.append(int(part))
    return seeds


def split_launcher(overrides: Iterable[str]) -> tuple[list[str], list[str]]:
    """Hydra overrides split into the runs' and the launcher's (:data:`LAUNCHER_PREFIXES`)."""
    runs, launcher = [], []
    for o in overrides:
        (launcher if o.startswith(LAUNCHER_PREFIXES) else runs).append(o)
    return runs, launcher


def add_backend_arguments(ap: argparse.ArgumentParser, run_overrides: bool = True) -> None:
    """The tools' flags for where runs execute: ``--jobs``, ``--ray``, ``--no-progress``
    and the trailing overrides (Hydra overrides for every run when ``run_overrides``;
    ``hydra/launcher=...`` ones choose a Hydra launcher). :func:`backend_from_args` reads them.
    """
    ap.add_argument("--jobs", type=int, default=2, help="parallel runs (local processes)")
    ap.add_argument(
        "--ray", metavar="ADDRESS", help="run on the Ray cluster at ADDRESS (local: a private one)"
    )
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    launcher = "hydra/launcher=NAME and hydra.launcher.KEY=VALUE run the runs on that launcher"
    ap.add_argument(
        "overrides",
        nargs="*",
        help=f"Hydra overrides applied to every run; {launcher}" if run_overrides else launcher,
    )


def backend_from_args(a: argparse.Namespace, run_overrides: bool = True) -> Backend:
    """The :class:`Backend` of :func:`add_backend_arguments`' flags; ``a.overrides`` keeps the
    runs' overrides only (none allowed unless ``run_overrides``)."""
    from sim.errors import ConfigError

    a.overrides, launcher = split_launcher(a.overrides)
    if a.overrides and not run_overrides:
        raise ConfigError(
            f"command line: {' '.join(a.overrides)} is not allowed; allowed: "
            "hydra/launcher=NAME and hydra.launcher.KEY=VALUE"
        )
    return Backend.from_args(a.jobs, a.ray, launcher)


def progress_bar(total: int, desc: str, enabled: bool = True, initial: int = 0):
    """A tqdm bar on stderr."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit="run",
        disable=not enabled,
        file=sys.stderr,
        mininterval=1.0,
        dynamic_ncols=True,
    )


def parquet_available() -> bool:
    """Whether pyarrow (Parquet) can be imported."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def write_table(df: pd.DataFrame, folder: Path, name: str) -> list[Path]:
    """``<name>.parquet`` and, for at most :data:`SMALL_TABLE_ROWS` rows, ``<name>.csv``.

    Both written atomically. Without pyarrow only the CSV is written, whatever
    the size, with a note on stderr. Returns the files written.
    """
    import io

    folder = Path(folder)
    written = []
    if parquet_available():
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        written.append(atomic_write(folder / f"{name}.parquet", buf.getvalue()))
    elif len(df) > SMALL_TABLE_ROWS:
        print(
            f"note: pyarrow is not installed: {folder / name}.csv ({len(df)} rows) is written "
            "as CSV only (pip install pyarrow for Parquet)",
            file=sys.stderr,
        )
    if len(df) <= SMALL_TABLE_ROWS or not written:
        text = df.to_csv(index=False, float_format="%.17g", lineterminator="\n")
        written.append(atomic_write(folder / f"{name}.csv", text))
    return written


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """A table written by :func:`write_table` (Parquet if there, else CSV)."""
    folder = Path(folder)
    if (folder / f"{name}.parquet").exists() and parquet_available():
        return pd.read_parquet(folder / f"{name}.parquet")
    return pd.read_csv(folder / f"{name}.csv", keep_default_na=False, na_values=["NaN", "nan"])


# --------------------------------------------------------------------------- run configs
@dataclass(frozen=True)
class RunConfig:
    """One run: a stable key, Hydra overrides, exact values on dotted keys, table labels."""

    key: str
    overrides: tuple[str, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)
    labels: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """The overrides and the values, as ``key=value`` text (floats exact)."""
        vals = [
            f"{k}={v!r}" if isinstance(v, float) else f"{k}={v}" for k, v in self.values.items()
        ]
        return " ".join([*self.overrides, *vals])


def check_keys(configs: Sequence[RunConfig]) -> None:
    """Keys must be unique file names of letters, digits and ``_ . = + -``."""
    seen: set[str] = set()
    for c in configs:
        if not c.key or set(c.key) - _KEY_CHARS or c.key.startswith("."):
            raise ValueError(
                f"run key {c.key!r} is not allowed; allowed: letters, digits and _ . = + - "
                "(it names a file), not starting with a dot"
            )
        if c.key in seen:
            raise ValueError(f"run key {c.key!r} is given twice; keys must be unique")
        seen.add(c.key)


def build_configs(configs: Sequence[RunConfig]) -> dict[str, dict | str]:
    """Each run's plain config (composed once per override set), or the error text."""
    composed: dict[tuple[str, ...], dict | str] = {}
    out: dict[str, dict | str] = {}
    for c in configs:
        if c.overrides not in composed:
            try:
                composed[c.overrides] = compose_plain(c.overrides)
            except Exception as err:
                composed[c.overrides] = f"{type(err).__name__}: {err}"
        base = composed[c.overrides]
        if isinstance(base, str):
            out[c.key] = base
            continue
        cfg = json.loads(json.dumps(base))  # a plain dict: much faster than deepcopy
        try:
            for k, v in c.values.items():
                set_key(cfg, k, v)
        except KeyError as err:
            out[c.key] = f"KeyError: {err.args[0]} is not a key of the run config"
            continue
        out[c.key] = cfg
    return out


# --------------------------------------------------------------------------- simulating
def simulate_outcomes(config: dict) -> dict[str, float]:
    """Run one simulation from a plain config dict; its outcomes."""
    return simulate_run(config).summary["outcomes"]


def simulate_run(config: dict):
    """Run one simulation from a plain config dict; the :class:`sim.run.RunResult`."""
    import logging

    from omegaconf import OmegaConf

    from sim.run import run

    logging.getLogger("MESA").setLevel(logging.WARNING)
    return run(OmegaConf.create(config))


def _here() -> str:
    return f"local:{socket.gethostname()}"


def execute(key: str, config: dict | str, simulate: Simulate | None = None) -> dict:
    """Run one config in this process; its record (never raises for a run's error).

    ``simulate`` returns a mapping of named values (outcomes) or a
    :class:`sim.run.RunResult` (its outcomes are taken; the result itself is
    kept under ``"result"`` for run folders).
    """
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    rec: dict[str, Any] = {"key": key}
    try:
        if isinstance(config, str):
            raise RuntimeError(f"the config could not be built: {config}")
        with threadpool_limits(1):
            got = (simulate or simulate_outcomes)(config)
        outcomes = got.summary["outcomes"] if hasattr(got, "summary") else got
        rec.update(status="ok", outcomes={k: float(v) for k, v in dict(outcomes).items()})
        if hasattr(got, "summary"):
            rec["result"] = got
    except Exception as err:
        rec.update(
            status="failed",
            error=f"{type(err).__name__}: {err}",
            traceback=traceback.format_exc(),
        )
    rec["seconds"] = time.perf_counter() - t0
    rec["node"] = _here()
    return rec


def _execute_on_ray(key: str, config: dict | str, simulate: Simulate | None = None) -> dict:
    import ray

    rec = execute(key, config, simulate)
    rec["node"] = ray.get_runtime_context().get_node_id()
    return rec


# --------------------------------------------------------------------------- backends
def _loopback(address: str | None) -> bool:
    host = (address or "127.0.0.1").rsplit(":", 1)[0]
    return host in ("127.0.0.1", "localhost")


def ray_init(address: str | None = None, **kw: Any) -> None:
    """``ray.init`` that keeps a 127.0.0.1 address on loopback.

    Ray turns ``127.0.0.1`` in an address into the machine's network address
    before connecting; a head started with ``--node-ip-address=127.0.0.1``
    listens on loopback only, so the driver would never reach it. For a
    loopback address (or a private instance, ``address=None``) the address is
    kept as given and the driver's node address is 127.0.0.1.
    """
    import ray
    import ray._private.services as services

    kw.setdefault("log_to_driver", False)
    if not _loopback(address):
        ray.init(address=address, **kw)
        return
    import ray._private.ray_constants as constants

    kw.setdefault("_node_ip_address", "127.0.0.1")
    original = services.resolve_ip_for_localhost, constants.ENABLE_RAY_CLUSTER
    services.resolve_ip_for_localhost = lambda host: host
    constants.ENABLE_RAY_CLUSTER = False  # the node's own address: 127.0.0.1
    try:
        ray.init(address=address, **kw)
    finally:
        services.resolve_ip_for_localhost, constants.ENABLE_RAY_CLUSTER = original


class Backend:
    """Where runs execute: local cores (joblib), a Ray cluster, or a Hydra launcher.

    Use as a context manager to keep a Ray connection (or a pool) across
    several :func:`evaluate` calls (the lever search asks batch after batch).
    ``launcher``: the Hydra launcher overrides of the ``hydra`` backend
    (``hydra/launcher=submitit_slurm``, ``hydra.launcher.partition=...``).
    """

    def __init__(
        self,
        kind: str = "local",
        jobs: int = 1,
        address: str | None = None,
        launcher: Sequence[str] = (),
    ):
        if kind not in BACKENDS:
            raise ValueError(f"backend {kind!r} is not allowed; allowed: {' | '.join(BACKENDS)}")
        if jobs < 1:
            raise ValueError(f"jobs = {jobs} is not allowed; allowed: 1 or more")
        bad = [o for o in launcher if not o.startswith(LAUNCHER_PREFIXES)]
        if bad or (launcher and kind != "hydra"):
            raise ValueError(
                f"launcher overrides {list(launcher)!r} are not allowed here; allowed: "
                "hydra/launcher=NAME and hydra.launcher.KEY=VALUE, with the hydra backend"
            )
        self.kind, self.jobs, self.address = kind, int(jobs), address
        self.launcher = tuple(launcher)
        self._ray_started = False
        self._depth = 0

    @classmethod
    def from_args(
        cls, jobs: int = 1, ray: str | None = None, launcher: Sequence[str] = ()
    ) -> Backend:
        """``--jobs N`` (local), ``--ray ADDRESS`` (``local``: a private Ray) or launcher
        overrides (``hydra/launcher=...``: the Hydra backend)."""
        if ray and launcher:
            from sim.errors import ConfigError

            raise ConfigError(
                f"command line: --ray = {ray!r} and {' '.join(launcher)} are both given; "
                "allowed: one of them (Ray directly, or a Hydra launcher)"
            )
        if ray:
            return cls("ray", jobs, None if ray == "local" else ray)
        if launcher:
            return cls("hydra", jobs, launcher=launcher)
        return cls("local", jobs)

    def describe(self) -> str:
        """``2 jobs``, ``Ray at 127.0.0.1:6379`` or ``Hydra launcher hydra/launcher=...``."""
        if self.kind == "ray":
            return f"Ray at {self.address or 'a private local instance'}"
        if self.kind == "hydra":
            return "Hydra launcher " + " ".join(self.launcher_overrides())
        return f"{self.jobs} job{'s' if self.jobs != 1 else ''}"

    def launcher_overrides(self) -> list[str]:
        """The launcher's overrides; without ``hydra/launcher=`` the project's ``local``
        launcher (joblib) on ``jobs`` processes."""
        out = list(self.launcher)
        if not any(o.startswith("hydra/launcher=") for o in out):
            out.insert(0, "hydra/launcher=local")
            if not any(o.startswith("hydra.launcher.n_jobs=") for o in out):
                out.insert(1, f"hydra.launcher.n_jobs={self.jobs}")
        return out

    def __enter__(self) -> Backend:
        self._depth += 1
        if self.kind == "ray" and self._depth == 1:
            import ray

            if not ray.is_initialized():
                kw: dict[str, Any] = {}
                if self.address is None:
                    kw.update(num_cpus=self.jobs, include_dashboard=False)
                ray_init(self.address, **kw)
                self._ray_started = True
        return self

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        if self._depth == 0 and self._ray_started:
            import ray

            ray.shutdown()
            self._ray_started = False

    def run(
        self,
        tasks: list[tuple[str, dict | str]],
        simulate: Simulate | None,
        folder: Path | None = None,
        run_folders: bool = False,
    ) -> Iterator[dict]:
        """Records of the tasks ``(key, config)``, in the order they complete.

        ``folder`` and ``run_folders`` matter to the Hydra backend only: its jobs
        read their configs from, and write their records (and run folders) into,
        ``folder`` (a temporary folder without one).
        """
        if not tasks:
            return
        if self.kind == "ray":
            yield from self._run_ray(tasks, simulate)
        elif self.kind == "hydra":
            yield from run_on_hydra(tasks, simulate, self.launcher_overrides(), folder, run_folders)
        elif self.jobs == 1:
            for key, cfg in tasks:
                yield execute(key, cfg, simulate)
        else:
            from joblib import Parallel, delayed, parallel_config

            with parallel_config(backend="loky", inner_max_num_threads=1):
                gen = Parallel(n_jobs=self.jobs, return_as="generator_unordered")(
                    delayed(execute)(key, cfg, simulate) for key, cfg in tasks
                )
                yield from gen

    def _run_ray(self, tasks, simulate) -> Iterator[dict]:
        import ray

        remote = ray.remote(num_cpus=1, max_retries=0, scheduling_strategy="SPREAD")(
            _execute_on_ray
        )
        sim_ref = ray.put(simulate)
        pending = {remote.remote(key, cfg, sim_ref): key for key, cfg in tasks}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    key = pending.pop(ref)
                    try:
                        yield ray.get(ref)
                    except Exception as err:  # the task died (worker lost, out of memory)
                        yield _lost(key, f"{type(err).__name__}: {err}", str(err))
        finally:
            for ref in pending:
                with contextlib.suppress(Exception):
                    ray.cancel(ref)


def _lost(key: str, error: str, detail: str = "") -> dict:
    """The record of a run whose worker never reported back."""
    return {
        "key": key,
        "status": "failed",
        "error": error.splitlines()[0] if error else "lost",
        "traceback": detail,
        "seconds": math.nan,
        "node": "",
    }


# --------------------------------------------------------------------------- the Hydra backend
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


# --------------------------------------------------------------------------- resume bookkeeping
def record_path(folder: Path, key: str) -> Path:
    """Where a run's record is kept."""
    return Path(folder) / RUNS / f"{key}.json"


def read_record(path: Path) -> dict | None:
    """A stored record, or None (absent, or cut short: run it again)."""
    try:
        rec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) else None


def _finished(rec: dict | None, retry_failed: bool) -> bool:
    if rec is None:
        return False
    return rec.get("status") == "ok" or (not retry_failed and rec.get("status") == "failed")


def pending(
    configs: Sequence[RunConfig],
    folder: Path | None,
    retry_failed: bool = True,
    run_folders: bool = False,
) -> list[RunConfig]:
    """The configs still to run in ``folder`` (all of them without a folder)."""
    from sim.errors import ConfigError
    from sim.runfolder import is_complete

    if folder is None:
        return list(configs)
    todo = []
    for c in configs:
        path = record_path(folder, c.key)
        rec = read_record(path)
        if rec is not None and "overrides" in rec and rec["overrides"] != c.describe():
            raise ConfigError(
                f"{path}: holds run {c.key} of other settings ({rec['overrides']!r}, not "
                f"{c.describe()!r}); not allowed: replacing a result; allowed: the same "
                "design, or a new folder"
            )
        done = _finished(rec, retry_failed)
        if done and run_folders and rec.get("status") == "ok":
            done = is_complete(Path(folder) / RUNS / c.key)
        if not done:
            todo.append(c)
    return todo


def _store(folder: Path, c: RunConfig, rec: dict, run_folders: bool) -> dict:
    """Write a run's record (and run folder) atomically; the record as stored."""
    from sim.run import write_run
    from sim.runfolder import is_complete

    result = rec.pop("result", None)
    rec = {
        "key": c.key,
        "overrides": c.describe(),
        "labels": dict(c.labels),
        **{k: v for k, v in rec.items() if k != "key"},
    }
    if folder is None:
        return rec
    if run_folders and result is not None:
        run_dir = Path(folder) / RUNS / c.key
        if not is_complete(run_dir):
            write_run(result, run_dir, plots=False)
    atomic_write(record_path(folder, c.key), json.dumps(rec, allow_nan=True, default=str) + "\n")
    return rec


# --------------------------------------------------------------------------- the table
def table_of(configs: Sequence[RunConfig], records: Mapping[str, dict | None]) -> pd.DataFrame:
    """One row per config (in order): key, labels, overrides, status, error, outcomes, place."""
    from sim.outcomes import OUTCOMES

    label_cols = list(dict.fromkeys(k for c in configs for k in c.labels))
    reported: set[str] = set()
    for rec in records.values():
        if rec and rec.get("status") == "ok":
            reported.update(rec.get("outcomes") or {})
    registry = [o.name for o in OUTCOMES if o.name in reported]
    extra = sorted(reported - set(registry))
    rows = []
    for c in configs:
        rec = records.get(c.key)
        row: dict[str, Any] = {"key": c.key, **{k: c.labels.get(k) for k in label_cols}}
        row["overrides"] = c.describe()
        if rec is None:
            row.update(status="missing", error="not run yet (interrupted?)")
        else:
            row.update(status=rec.get("status"), error=rec.get("error", "") or "")
        outs = (rec or {}).get("outcomes") or {}
        for name in [*registry, *extra]:
            row[name] = float(outs.get(name, math.nan))
        row["seconds"] = float((rec or {}).get("seconds", math.nan))
        row["node"] = str((rec or {}).get("node", ""))
        rows.append(row)
    cols = ["key", *label_cols, "overrides", "status", "error", *registry, *extra, *PLACE_COLUMNS]
    return pd.DataFrame(rows, columns=cols)


def comparable(table: pd.DataFrame) -> pd.DataFrame:
    """The table without the columns that say where and how fast runs ran."""
    return table.drop(columns=[c for c in PLACE_COLUMNS if c in table.columns])


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


def folder_records(folder: Path) -> list[dict]:
    """Every record stored in an evaluation folder, sorted by key."""
    paths = sorted((Path(folder) / RUNS).glob("*.json"))
    return [r for r in (read_record(p) for p in paths) if r is not None]


def folder_table(folder: Path) -> pd.DataFrame:
    """The table of every record stored in a folder (rebuilt from the records alone)."""
    recs = folder_records(folder)
    configs = [RunConfig(r["key"], labels=r.get("labels") or {}) for r in recs]
    table = table_of(configs, {r["key"]: r for r in recs})
    table["overrides"] = [r.get("overrides", "") for r in recs]
    return table


# --------------------------------------------------------------------------- a loopback Ray node
_LOOPBACK_NODE = (
    "import sys\n"
    "import ray._private.ray_constants as c, ray._private.services as s\n"
    "c.ENABLE_RAY_CLUSTER = True\n"  # allow a worker node although the variable says 0
    "s.resolve_ip_for_localhost = lambda host: host\n"  # keep 127.0.0.1 as the head's address
    "from ray.scripts.scripts import main\n"
    "sys.argv = ['ray', 'start', *sys.argv[1:]]\n"
    "main()\n"
)
_NODE_PORTS = (
    "--dashboard-agent-listen-port",
    "--dashboard-agent-grpc-port",
    "--metrics-export-port",
    "--runtime-env-agent-port",
    "--node-manager-port",
    "--object-manager-port",
)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_node_command(args: Sequence[str]) -> list[str]:
    """``ray start ARGS`` for a worker node of a head on 127.0.0.1, kept on loopback.

    ``ray start --address=127.0.0.1:PORT`` turns the loopback address into the
    machine's network address unless ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, and
    with that variable Ray refuses to start a worker node. This command runs
    ``ray start`` with the address kept as given and the refusal lifted, the
    variable set (so the node's own processes stay on loopback), the node's IP
    127.0.0.1, and free ports for the per-node agents (two nodes on one machine
    would otherwise both take the default ports).
    """
    args = list(args)
    if not any(a.startswith("--node-ip-address") for a in args):
        args.append("--node-ip-address=127.0.0.1")
    for flag in _NODE_PORTS:
        if not any(a.startswith(flag) for a in args):
            args.append(f"{flag}={free_port()}")
    return [sys.executable, "-c", _LOOPBACK_NODE, *args]


def loopback_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for Ray processes on loopback: no token prompt, no usage stats."""
    out = dict(os.environ if env is None else env)
    out.update(
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
        RAY_AUTH_MODE="disabled",
        RAY_USAGE_STATS_ENABLED="0",
    )
    return out


def _hydra_jobs(args: list[str]) -> None:
    """The Hydra multirun of the Hydra backend (:func:`hydra_command` builds its arguments).

    The project's config folder is on Hydra's search path, so its launchers
    (``hydra/launcher=local``, ``ray_local``, ``ray_cluster``) are there too.
    """
    import hydra

    from sim.analysis import evaluator  # the module by its name, not __main__: jobs import it
    from sim.paths import CONFIG_DIR

    sys.argv = [sys.argv[0], *args]
    hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name=None)(
        evaluator._hydra_job
    )()


def main(argv: list[str] | None = None) -> None:
    """Command line: ``ray-node ARGS`` starts a second Ray node on loopback (see the docstring);
    ``hydra-jobs ARGS`` is the Hydra backend's multirun (started by :func:`run_on_hydra`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["hydra-jobs"]:
        _hydra_jobs(argv[1:])
        return
    ap = argparse.ArgumentParser(
        prog="python -m sim.analysis.evaluator", description=__doc__.split("\n\n")[0]
    )
    sub = ap.add_subparsers(dest="command", required=True)
    node = sub.add_parser(
        "ray-node",
        help="start a worker node of a 127.0.0.1 head (arguments go to ray start)",
    )
    node.add_argument("--address", required=True, help="the head's address, 127.0.0.1:PORT")
    a, rest = ap.parse_known_args(argv)
    if not a.address.startswith(("127.0.0.1:", "localhost:")):
        print(
            f"error: command line: --address = {a.address!r} is not allowed; allowed: "
            "127.0.0.1:PORT (for another machine's head use ray start --address=...)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    cmd = loopback_node_command([f"--address={a.address}", *rest])
    # this process becomes the node's ``ray start``: Ctrl-C or a kill of its id reaches it
    os.execve(cmd[0], cmd, loopback_env())


if __name__ == "__main__":
    main()
