"""The Ray launcher for real: a loopback-only Ray head node runs an experiment like joblib does."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="ray is not installed (optional extra: pip install -e '.[ray]')")
pytest.importorskip(
    "hydra_plugins.hydra_ray_launcher",
    reason="hydra-ray-launcher is not installed (optional extra: pip install -e '.[ray]')",
)

GRID = ["strategy=baseline,rewards", "seed=0,1", "population.size=800", "weeks=20"]
#: Environment for every Ray process: loopback only, no token prompt, no usage stats.
RAY_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
}
IPV4 = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_pids(pgid: int) -> list[int]:
    """Processes of one process group (the Ray node started by this test)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == pgid:
                pids.append(int(d.name))
    return pids


def _decode(hexaddr: str) -> ipaddress._BaseAddress:
    raw = bytes.fromhex(hexaddr)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def _listening_addresses(pids: list[int]) -> set[str]:
    """Local addresses of the TCP sockets the given processes listen on (from /proc)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            continue
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state == "0A" and inode in inodes:  # LISTEN
                ip = _decode(local.split(":")[0])
                mapped = getattr(ip, "ipv4_mapped", None)
                found.add(str(mapped or ip))
    return found


def _experiment(python: str, env: dict, sweep: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [python, "-m", "sim.experiment", *GRID, f"hydra.sweep.dir={sweep}", *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def _table(sweep: Path) -> dict[tuple, dict]:
    """The experiment table: (strategy, scenario, seed) -> outcomes, from the run summaries."""
    out = {}
    for run in sorted((sweep / "runs").iterdir()):
        assert (run / "COMPLETE").exists(), f"{run} did not complete"
        s = json.loads((run / "summary.json").read_text())
        out[(s["strategy"], s["scenario"], s["seed"])] = s["outcomes"]
    return out


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def test_ray_launcher_matches_joblib_and_stays_on_loopback(tmp_path):
    """2 strategies x 2 seeds through a 127.0.0.1 Ray node give joblib's table, exactly."""
    results = tmp_path / "results"
    results.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_ENV, BANKLAB_RESULTS=str(results))
    # a short temp dir: Ray's Unix sockets live under it (path length limit)
    ray_tmp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    port, client_port, agent_port = _free_port(), _free_port(), _free_port()
    head_log = tmp_path / "ray_head.log"
    head = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ray.scripts.scripts",
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            "--include-dashboard=false",
            f"--ray-client-server-port={client_port}",
            f"--dashboard-agent-listen-port={agent_port}",
            "--num-cpus=2",
            f"--temp-dir={ray_tmp}",
            "--disable-usage-stats",
        ],
        stdout=head_log.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group: stopped by id, nothing else
    )
    try:
        deadline = time.time() + 60
        while not list(ray_tmp.glob("session_*/logs/raylet.out")) and time.time() < deadline:
            assert head.poll() is None, head_log.read_text()
            time.sleep(0.5)
        time.sleep(2)
        ray = _experiment(
            sys.executable,
            env,
            results / "experiments" / "ray",
            "hydra/launcher=ray_local",
            f"hydra.launcher.ray.init.address=127.0.0.1:{port}",
        )
        if "Key 'n_jobs' not in 'RayLauncherConf'" in ray.stderr + ray.stdout:
            pytest.fail(
                "configs/experiment/default.yaml sets hydra.launcher.n_jobs, which the Ray "
                "launcher's schema refuses: its defaults must use 'override /hydra/launcher: "
                "local' (configs/hydra/launcher/local.yaml) instead of joblib + n_jobs"
            )
        assert ray.returncode == 0, ray.stdout[-2000:] + ray.stderr[-4000:]
        assert "Ray Launcher is launching 4 jobs" in ray.stdout + ray.stderr
        listening = _listening_addresses(_group_pids(head.pid))
        assert listening and listening <= {"127.0.0.1"}, listening

        jl = _experiment(sys.executable, env, results / "experiments" / "joblib")
        assert jl.returncode == 0, jl.stderr[-4000:]
        t_ray, t_joblib = (
            _table(results / "experiments" / "ray"),
            _table(results / "experiments" / "joblib"),
        )
        assert len(t_ray) == 4 and t_ray.keys() == t_joblib.keys()
        for key, outcomes in t_joblib.items():
            assert outcomes.keys() == t_ray[key].keys()
            diff = [o for o in outcomes if not _same(outcomes[o], t_ray[key][o])]
            assert not diff, f"{key}: {diff}"
        assert (results / "experiments" / "ray" / "experiment.csv").exists()  # aggregated

        addresses: dict[str, set[str]] = {}
        for log in ray_tmp.glob("session_*/logs/**/*"):
            if log.is_file():
                for ip in IPV4.findall(log.read_text(errors="replace")):
                    addresses.setdefault(ip, set()).add(log.name)
        addresses.update({ip: {"driver output"} for ip in IPV4.findall(ray.stdout + ray.stderr)})
        assert "127.0.0.1" in addresses
        assert set(addresses) == {"127.0.0.1"}, {
            k: v for k, v in addresses.items() if k != "127.0.0.1"
        }
    finally:
        # stop exactly the node this test started (`ray stop` would stop every Ray
        # process of this user on the machine)
        if head.poll() is None:
            head.send_signal(signal.SIGTERM)
            try:
                head.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(head.pid, signal.SIGKILL)
                head.wait()
        for pid in _group_pids(head.pid):  # anything left of the group
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert not _group_pids(head.pid), "Ray processes left running"
