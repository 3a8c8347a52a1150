"""One run in a worker's process: a plain config in, its record out.

:func:`execute` runs one config with a simulate function (default: the
model's outcomes, :func:`simulate_outcomes`; :func:`simulate_run` gives the
full run result, for run folders) and returns its record: ``status`` (``ok``
or ``failed``), ``outcomes``, ``error`` and ``traceback`` for a run that
raised (recorded as failed, never fatal), ``seconds`` and ``node`` (where it
ran). :func:`_lost` is the record of a run whose worker never reported back.

Every run holds one thread (BLAS and OpenMP pools limited to 1 by
threadpoolctl): parallelism comes from runs, never from threads inside a run.
Runs are a pure function of their config (seed included), so their outcomes
are identical whichever backend or number of jobs ran them.
"""

from __future__ import annotations

import math
import socket
import time
import traceback
from collections.abc import Callable
from typing import Any

Simulate = Callable[[dict], Any]


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
