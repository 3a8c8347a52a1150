"""The evaluator: resumable, failures recorded, deterministic, local and Ray give one table."""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.analysis import evaluator as ev

#: Small real runs: 800 customers, 8 weeks, no spin-up.
SMALL = ("population.size=800", "weeks=8", "spinup.weeks=0", "output.plots=false")
IPV4 = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")


@pytest.fixture(autouse=True)
def _results(tmp_path, monkeypatch):
    """Every output goes under a temporary results folder."""
    monkeypatch.setenv("BANKLAB_RESULTS", str(tmp_path / "results"))
    (tmp_path / "results").mkdir()


def _design(n: int = 4) -> list[ev.RunConfig]:
    """Two strategies x seeds, one lever set exactly."""
    out = []
    for i in range(n):
        strategy = ("baseline", "rewards")[i % 2]
        out.append(
            ev.RunConfig(
                key=f"r{i}",
                overrides=(f"strategy={strategy}", *SMALL),
                values={"seed": i // 2, "strategy.push_per_week": 0.5 + 0.25 * i},
                labels={"strategy": strategy, "seed": i // 2},
            )
        )
    return out


def _fake_design(n: int = 5) -> list[ev.RunConfig]:
    return [
        ev.RunConfig(f"f{i}", SMALL, {"seed": i, "market.behaviour.close_base": 0.004 + 0.001 * i})
        for i in range(n)
    ]


def _counting(calls: list, fail_seed: int | None = None):
    def simulate(cfg):
        calls.append(cfg["seed"])
        if cfg["seed"] == fail_seed:
            raise RuntimeError("model blew up")
        return {"retention_26w": 1.0 - 20 * cfg["market"]["behaviour"]["close_base"]}

    return simulate


def test_resume_never_repeats_a_complete_run(tmp_path):
    """A second evaluation runs nothing; a deleted record (only it) runs again, same value."""
    folder = tmp_path / "results" / "ev"
    calls: list[int] = []
    first = ev.evaluate(_fake_design(), folder, simulate=_counting(calls), progress=False)
    assert calls == [0, 1, 2, 3, 4] and (first.table["status"] == "ok").all()
    again = ev.evaluate(_fake_design(), folder, simulate=_counting(calls), progress=False)
    assert calls == [0, 1, 2, 3, 4] and again.ran == []
    (folder / "runs" / "f3.json").unlink()
    third = ev.evaluate(_fake_design(), folder, simulate=_counting(calls), progress=False)
    assert calls[5:] == [3] and third.ran == ["f3"]
    pd.testing.assert_frame_equal(ev.comparable(first.table), ev.comparable(third.table))
    assert (folder / "outcomes.csv").exists()
    # a stored key with other settings is refused, never silently replaced
    changed = [ev.RunConfig("f0", SMALL, {"seed": 0, "market.behaviour.close_base": 0.009})]
    from sim.errors import ConfigError

    with pytest.raises(ConfigError, match=r"f0\.json: holds run f0 of other settings"):
        ev.evaluate(changed, folder, simulate=_counting(calls), progress=False)


def test_a_failing_config_is_recorded_and_the_rest_completes(tmp_path):
    """A run that raises and a config that cannot be built are failed rows; the others are ok."""
    folder = tmp_path / "results" / "ev"
    calls: list[int] = []
    bad_key = ev.RunConfig("bad", SMALL, {"seed": 9, "market.behaviour.no_such_key": 1.0})
    out = ev.evaluate(
        [*_fake_design(), bad_key], folder, simulate=_counting(calls, 2), progress=False
    )
    t = out.table.set_index("key")
    assert t.loc["f2", "status"] == "failed" and "model blew up" in t.loc["f2", "error"]
    assert "no_such_key" in t.loc["bad", "error"] and t.loc["bad", "status"] == "failed"
    assert (t.drop(index=["f2", "bad"])["status"] == "ok").all()
    assert math.isnan(t.loc["f2", "retention_26w"]) and t.loc["f4", "retention_26w"] < 1
    # failed runs run again on resume (complete ones do not)
    calls.clear()
    again = ev.evaluate(_fake_design(), folder, simulate=_counting(calls), progress=False)
    assert calls == [2] and (again.table["status"] == "ok").all()


def test_two_jobs_give_the_one_process_table(tmp_path):
    """The real model: a 2-process evaluation gives the 1-process table exactly."""
    root = tmp_path / "results"
    one = ev.evaluate(_design(), root / "a", progress=False)
    assert (one.table["status"] == "ok").all(), one.table["error"].tolist()
    assert {"retention_26w", "active_rate", "profit"} <= set(one.table.columns)
    assert one.table["overrides"].iloc[1].startswith("strategy=rewards population.size=800")
    two = ev.evaluate(_design(), root / "c", jobs=2, progress=False)
    pd.testing.assert_frame_equal(ev.comparable(one.table), ev.comparable(two.table))
    # the levers reached the runs: two seeds of one strategy differ, as do strategies
    assert one.table["retention_26w"].nunique() > 1


def test_tables_are_parquet_with_a_csv_beside_them_when_small(tmp_path, monkeypatch):
    """Parquet (pyarrow) plus CSV up to the size limit; Parquet only above it."""
    assert ev.parquet_available(), "pyarrow is not installed: tables would be CSV only"
    df = pd.DataFrame({"key": ["a", "b", "c"], "x": [1.0, math.nan, 0.1 + 0.2]})
    files = ev.write_table(df, tmp_path, "t")
    assert sorted(p.name for p in files) == ["t.csv", "t.parquet"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), df)
    assert pd.read_csv(tmp_path / "t.csv")["x"].iloc[2] == 0.1 + 0.2  # exact
    monkeypatch.setattr(ev.tables, "SMALL_TABLE_ROWS", 2)  # the module write_table reads
    assert [p.name for p in ev.write_table(df, tmp_path / "big", "t")] == ["t.parquet"]
    pd.testing.assert_frame_equal(ev.read_table(tmp_path / "big", "t"), df)


def test_a_folder_is_evaluated_by_one_process_at_a_time(tmp_path):
    """A second evaluation of a folder in use is refused at once (it would repeat runs)."""
    from sim.atomic import FolderLock
    from sim.errors import ConfigError

    folder = tmp_path / "results" / "ev"
    calls: list[int] = []
    with FolderLock(folder, name="evaluator.lock"), pytest.raises(ConfigError, match="locked"):
        ev.evaluate(_fake_design(), folder, simulate=_counting(calls), progress=False)
    assert calls == []
    ev.evaluate(_fake_design(), folder, simulate=_counting(calls), progress=False)
    assert len(calls) == 5


# --------------------------------------------------------------------------- Hydra launchers
def test_a_hydra_launcher_gives_the_local_table_and_writes_run_folders(tmp_path):
    """Hydra's joblib launcher on 2 processes: the local table, run folders written by the jobs."""
    from sim.runfolder import is_complete

    root = tmp_path / "results"
    backend = ev.Backend.from_args(2, None, ["hydra/launcher=local", "hydra.launcher.n_jobs=2"])
    assert backend.kind == "hydra"
    on_hydra = ev.evaluate(_design(), root / "hydra", backend=backend, run_folders=True,
                           progress=False)  # fmt: skip
    assert (on_hydra.table["status"] == "ok").all(), on_hydra.table["error"].tolist()
    assert on_hydra.table["node"].str.startswith("hydra:").all()
    assert all(is_complete(root / "hydra" / "runs" / k) for k in on_hydra.table["key"])
    assert not (root / "hydra" / "hydra").exists()  # the job queue is gone once all reported
    local = ev.evaluate(_design(), root / "local", progress=False)
    pd.testing.assert_frame_equal(ev.comparable(on_hydra.table), ev.comparable(local.table))


def test_a_launcher_that_fails_gives_failed_runs_naming_its_log(tmp_path):
    """A launcher that cannot start: every run is failed with the launcher's log, kept."""
    folder = tmp_path / "results" / "ev"
    backend = ev.Backend("hydra", 1, launcher=["hydra/launcher=no_such_launcher"])
    out = ev.evaluate(_design(2), folder, backend=backend, progress=False)
    assert (out.table["status"] == "failed").all()
    err = out.table["error"].iloc[0]
    assert "did not report this run" in err and "launcher.log" in err
    assert "no_such_launcher" in next((folder / "hydra").glob("*/launcher.log")).read_text()
    # a simulate function the jobs cannot import is refused before anything runs
    with pytest.raises(ValueError, match="importable by its name"):
        ev.evaluate(_fake_design(), folder, backend=backend, simulate=_counting([]))
    with pytest.raises(ValueError, match="allowed: hydra/launcher=NAME"):
        ev.Backend("hydra", 1, launcher=["population.size=10"])


# --------------------------------------------------------------------------- Ray, two nodes
def _group_pids(pgid: int) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[2]) == pgid:
                pids.append(int(d.name))
    return pids


def _stop(node: subprocess.Popen) -> None:
    """Stop exactly one node this test started (its process group), never any other Ray."""
    if node.poll() is None:
        node.send_signal(signal.SIGTERM)
        try:
            node.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.pid, signal.SIGKILL)
            node.wait()
    for pid in _group_pids(node.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_ray_two_node_cluster_runs_on_both_nodes_and_matches_local(tmp_path, monkeypatch):
    """A head and a worker node on 127.0.0.1: runs land on both, the table is the local one."""
    import ray  # the test extra installs it: a missing Ray fails here, never skips

    env = ev.loopback_env({k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"})
    for k, v in env.items():
        if k.startswith("RAY_"):
            monkeypatch.setenv(k, v)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ray_tmp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: Unix socket paths
    port = ev.free_port()
    common = ["--block", "--num-cpus=1", "--disable-usage-stats"]
    head_args = [
        "--head",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        "--include-dashboard=false",
        f"--ray-client-server-port={ev.free_port()}",
        f"--temp-dir={ray_tmp}",
        *(f"{flag}={ev.free_port()}" for flag in ev.raynode._NODE_PORTS),
        *common,
    ]
    logs = tmp_path / "head.log", tmp_path / "worker.log"
    nodes: list[subprocess.Popen] = []
    try:
        nodes.append(
            subprocess.Popen(
                [sys.executable, "-m", "ray.scripts.scripts", "start", *head_args],
                stdout=logs[0].open("w"),
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: stopped by id
            )
        )
        deadline = time.time() + 40
        while not list(ray_tmp.glob("session_*/logs/raylet.out")):
            assert nodes[0].poll() is None and time.time() < deadline, logs[0].read_text()
            time.sleep(0.3)
        nodes.append(
            subprocess.Popen(
                ev.loopback_node_command([f"--address=127.0.0.1:{port}", *common]),
                stdout=logs[1].open("w"),
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        )
        ev.ray_init(f"127.0.0.1:{port}")
        try:
            deadline = time.time() + 40
            while sum(n["Alive"] for n in ray.nodes()) < 2:
                assert nodes[1].poll() is None and time.time() < deadline, logs[1].read_text()
                time.sleep(0.3)
            assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}
            on_ray = ev.evaluate(
                _design(),
                tmp_path / "results" / "ray",
                backend=ev.Backend("ray", 1, f"127.0.0.1:{port}"),  # the connection made above
                progress=False,
            )
            alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        finally:
            ray.shutdown()
        local = ev.evaluate(_design(), tmp_path / "results" / "local", progress=False)
        assert (on_ray.table["status"] == "ok").all(), on_ray.table["error"].tolist()
        assert set(on_ray.table["node"]) == alive and len(alive) == 2  # both nodes ran runs
        pd.testing.assert_frame_equal(ev.comparable(on_ray.table), ev.comparable(local.table))
        addresses: set[str] = set()
        for log in ray_tmp.glob("session_*/logs/**/*"):
            if log.is_file():
                addresses.update(IPV4.findall(log.read_text(errors="replace")))
        for log in logs:
            addresses.update(IPV4.findall(log.read_text(errors="replace")))
        assert addresses == {"127.0.0.1"}, addresses
    finally:
        for node in reversed(nodes):
            _stop(node)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert not any(_group_pids(n.pid) for n in nodes), "Ray processes left running"
