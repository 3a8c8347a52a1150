"""Where runs execute (:class:`Backend`), and the tools' flags that choose it.

The tools' flags are ``--jobs N``, ``--ray ADDRESS`` and trailing
``hydra/launcher=...`` overrides (:func:`add_backend_arguments`,
:func:`backend_from_args`):

* ``local``: ``jobs=1`` runs in this process; ``jobs=N`` on N local processes
  (joblib's loky), results collected as they complete.
* ``ray``: one Ray task per run (``num_cpus=1``, scheduling strategy
  ``SPREAD`` so a cluster's nodes all take work) on the cluster at
  ``address`` (:func:`ray_init`; ``None`` starts a private one-machine
  instance). A task that dies (worker lost) is a failed run. Ray gives each
  task ``OMP_NUM_THREADS=1``.
* ``hydra``: the runs as the jobs of one Hydra multirun on any Hydra launcher
  (:mod:`sim.analysis.evaluator.hydra_jobs`).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sim.analysis.evaluator.hydra_jobs import run_on_hydra
from sim.analysis.evaluator.worker import Simulate, _lost, execute

BACKENDS = ("local", "ray", "hydra")
#: Hydra overrides that choose or configure a launcher: they go to the launcher, not the runs.
LAUNCHER_PREFIXES = ("hydra/launcher=", "hydra.launcher.")


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


def _execute_on_ray(key: str, config: dict | str, simulate: Simulate | None = None) -> dict:
    import ray

    rec = execute(key, config, simulate)
    rec["node"] = ray.get_runtime_context().get_node_id()
    return rec
