"""The evaluator's command line: ``python -m sim.analysis.evaluator COMMAND``.

* ``ray-node --address=127.0.0.1:PORT [ray start arguments]``: start a second
  Ray node on loopback (:mod:`sim.analysis.evaluator.raynode`).
* ``hydra-jobs ARGS``: the Hydra backend's multirun, started by
  :func:`sim.analysis.evaluator.hydra_jobs.run_on_hydra` (not by hand).
"""

from __future__ import annotations

import argparse
import sys

from sim.analysis.evaluator.hydra_jobs import multirun
from sim.analysis.evaluator.raynode import start_node


def main(argv: list[str] | None = None) -> None:
    """Run the command in ``argv`` (default: the process's arguments)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["hydra-jobs"]:
        multirun(argv[1:])
        return
    ap = argparse.ArgumentParser(
        prog="python -m sim.analysis.evaluator",
        description="One evaluator under every analysis tool: run configs in, a table of "
        "outcomes out. Its command line starts a second Ray node on loopback.",
    )
    sub = ap.add_subparsers(dest="command", required=True)
    node = sub.add_parser(
        "ray-node",
        help="start a worker node of a 127.0.0.1 head (arguments go to ray start)",
    )
    node.add_argument("--address", required=True, help="the head's address, 127.0.0.1:PORT")
    a, rest = ap.parse_known_args(argv)
    start_node(a.address, rest)


if __name__ == "__main__":
    main()
