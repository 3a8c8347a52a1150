"""A second Ray node on this machine, on loopback.

``ray start --address=127.0.0.1:...`` resolves the loopback address to the
machine's network address, and the environment variable that prevents it also
forbids a worker node. This module starts one anyway (the evaluator's Ray
backend then spreads runs over both nodes)::

    python -m sim.analysis.evaluator ray-node --address=127.0.0.1:6379 --num-cpus=1
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping, Sequence

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


def start_node(address: str, args: Sequence[str]) -> None:
    """Become a worker node of the head at ``address`` (``127.0.0.1:PORT``).

    ``args`` go to ``ray start``. This process becomes the node's ``ray start``:
    Ctrl-C or a kill of its id reaches it. Another machine's head is refused
    (exit code 2): use ``ray start --address=...`` for that.
    """
    if not address.startswith(("127.0.0.1:", "localhost:")):
        print(
            f"error: command line: --address = {address!r} is not allowed; allowed: "
            "127.0.0.1:PORT (for another machine's head use ray start --address=...)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    cmd = loopback_node_command([f"--address={address}", *args])
    os.execve(cmd[0], cmd, loopback_env())
