"""Run a lab command with faults injected, for the reliability tests (not collected by pytest).

``python tests/patched_main.py MODULE [ARGS...]`` runs ``python -m MODULE ARGS``
after applying what these environment variables ask for:

* ``BANKLAB_TEST_CONFIG_DIR``, ``BANKLAB_TEST_SCENARIO_DIR``: use these folders
  as the lab's ``configs/`` and ``scenarios/`` (a copy the test may break);
* ``BANKLAB_TEST_KILL_AT``: ``kill -9`` this process in the middle of the N-th
  atomic write of an aggregation (half the data written to the temporary file);
* ``BANKLAB_TEST_ENOSPC``: a file name; writing it fails as on a full disk
  (half the data written, then ``OSError(ENOSPC)``);
* ``BANKLAB_TEST_HOLD_AGGREGATION``: a file; the experiment's aggregation waits
  until it exists (so a test can act while the experiment holds its lock).
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
import sys
import time
from pathlib import Path


def _patch() -> None:
    import sim.atomic as atomic
    import sim.paths as paths

    if os.environ.get("BANKLAB_TEST_CONFIG_DIR"):
        paths.CONFIG_DIR = Path(os.environ["BANKLAB_TEST_CONFIG_DIR"])
    if os.environ.get("BANKLAB_TEST_SCENARIO_DIR"):
        paths.SCENARIO_DIR = Path(os.environ["BANKLAB_TEST_SCENARIO_DIR"])
    import sim.analysis.compare as compare

    kill_at = int(os.environ.get("BANKLAB_TEST_KILL_AT", "0"))
    enospc = os.environ.get("BANKLAB_TEST_ENOSPC", "")
    hold = os.environ.get("BANKLAB_TEST_HOLD_AGGREGATION")
    original_write, original_aggregate = atomic._write_data, compare.aggregate
    aggregation_writes: list[int] = []  # one entry per write made while aggregating

    def faulty_write(f, data):
        if aggregation_writes:
            aggregation_writes.append(1)
        if len(aggregation_writes) - 1 == kill_at or (
            enospc and Path(f.name).name.startswith(f".{enospc}.")
        ):
            f.write(data[: len(data) // 2])
            f.flush()
            if len(aggregation_writes) - 1 == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), f.name)
        original_write(f, data)

    def faulty_aggregate(*args, **kwargs):
        deadline = time.time() + 300
        while hold and not Path(hold).exists() and time.time() < deadline:
            time.sleep(0.1)
        aggregation_writes.append(0)
        return original_aggregate(*args, **kwargs)

    atomic._write_data = faulty_write
    compare.aggregate = faulty_aggregate


if __name__ == "__main__":
    _patch()
    name = sys.argv.pop(1)
    module = importlib.import_module("sim.__main__" if name == "sim" else name)
    sys.exit(module.main())
