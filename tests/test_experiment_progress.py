"""The experiment's progress display (sim/progress.py): counts, total, time left, final line."""

import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from sim import progress
from sim.errors import ConfigError
from sim.progress import Counts, Progress, RunCounter
from sim.runfolder import COMPLETE, FAILED, SUMMARY, complete_marker

BASIC = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def _complete(runs: Path, name: str) -> None:
    folder = runs / name
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"outcomes": {"retention_26w": 0.9}})
    (folder / SUMMARY).write_text(text)
    (folder / COMPLETE).write_text(complete_marker(text))
    (folder / FAILED).unlink(missing_ok=True)


def _failed(runs: Path, name: str, stamp_ns: int | None = None) -> None:
    folder = runs / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FAILED).write_text("ConfigError: no\n")
    if stamp_ns is not None:
        os.utime(folder / FAILED, ns=(stamp_ns, stamp_ns))


def _running(runs: Path, name: str) -> None:
    (runs / name / ".hydra").mkdir(parents=True, exist_ok=True)


def test_counter_counts_complete_and_failed_runs(tmp_path):
    """Complete and failed folders count as done; running or damaged folders do not."""
    runs = tmp_path / "runs"
    counter = RunCounter(runs)  # the folder does not exist yet
    assert counter.poll() == Counts(done=0, failed=0, earlier=0)
    _complete(runs, "baseline__none__s0")
    _complete(runs, "baseline__none__s1")
    _failed(runs, "baseline__pandemic__s0")
    _running(runs, "baseline__pandemic__s1")
    damaged = runs / "rewards__none__s0"
    damaged.mkdir()
    (damaged / COMPLETE).write_text("complete\n")  # no summary.json: incomplete
    assert counter.poll() == Counts(done=3, failed=1, earlier=0)
    _complete(runs, "baseline__pandemic__s1")
    assert counter.poll() == Counts(done=4, failed=1, earlier=0)


def test_counter_on_resume_counts_earlier_runs_and_reruns_of_failed_ones(tmp_path):
    """Resuming: complete runs are earlier work; a failed run counts once it ran again."""
    runs = tmp_path / "runs"
    _complete(runs, "a__none__s0")
    _complete(runs, "a__none__s1")
    _failed(runs, "a__none__s2", stamp_ns=1_000_000_000)
    _failed(runs, "a__none__s3", stamp_ns=1_000_000_000)
    counter = RunCounter(runs)
    assert counter.poll() == Counts(done=2, failed=0, earlier=2)
    _failed(runs, "a__none__s2", stamp_ns=2_000_000_000)  # failed again
    _complete(runs, "a__none__s3")  # succeeded this time
    assert counter.poll() == Counts(done=4, failed=1, earlier=2)


def _multirun(params: dict, task: list[str], target: str = BASIC):
    return OmegaConf.create(
        {"hydra": {"sweeper": {"_target_": target, "params": params}, "overrides": {"task": task}}}
    )


def test_total_is_the_number_of_jobs_hydra_makes():
    """Sweep params multiplied out by Hydra's parser; the command line wins over the file."""
    params = {"strategy": "a,b", "seed": "range(0,5)"}
    assert progress.sweep_total(_multirun(params, [])) == 10
    assert progress.sweep_total(_multirun(params, ["scenario=none,pandemic"])) == 20
    assert progress.sweep_total(_multirun(params, ["seed=range(0,3)", "weeks=30"])) == 6
    assert progress.sweep_total(_multirun(params, ["experiment=default", "+x=1"])) == 10
    assert progress.sweep_total(_multirun({"seed": 3}, ["strategy=a,b,c"])) == 3
    assert progress.count_jobs(["strategy=a,b", "seed=range(0,5)"]) == 10


def test_total_unknown_is_none():
    """Another sweeper or a sweep Hydra refuses: no total, no error."""
    assert progress.sweep_total(_multirun({"seed": "range(0,5)"}, [], "my.Sweeper")) is None
    assert progress.sweep_total(_multirun({"seed": "interval(0,1)"}, [])) is None
    assert progress.sweep_total(OmegaConf.create({})) is None


def test_time_left_from_this_invocations_rate():
    """Runs complete before a resume count as done but not toward the rate."""
    # 4 runs finished in 40 s by this invocation (2 were there before): 6 left at 10 s each
    assert progress.time_left(Counts(6, 1, 2), 12, 40.0) == pytest.approx(60.0)
    assert progress.time_left(Counts(2, 0, 2), 12, 40.0) is None  # no rate yet
    assert progress.time_left(Counts(3, 0, 0), None, 40.0) is None  # no total
    assert progress.time_left(Counts(12, 0, 0), 12, 40.0) == 0


def test_lines_and_durations():
    """The running line, the final line and the duration format."""
    assert [progress.format_duration(s) for s in (0, 45.4, 151, 3725)] == [
        "0s",
        "45s",
        "2m31s",
        "1h02m",
    ]
    assert (
        progress.status_line(Counts(22, 1, 0), 55, 62)
        == "runs: 22/55 done, 1 failed, 1m02s elapsed, about 1m33s left"
    )
    assert progress.status_line(Counts(0, 0, 0), 55, 1).endswith("time left unknown yet")
    assert progress.status_line(Counts(3, 0, 0), None, 5) == "runs: 3 done, 0 failed, 5s elapsed"
    assert progress.status_line(Counts(55, 0, 0), 55, 151, final=True) == (
        "runs: 55/55 done, 0 failed, 2m31s"
    )
    assert progress.status_line(Counts(55, 0, 12), 55, 151, final=True) == (
        "runs: 55/55 done, 0 failed, 2m31s (12 were already complete)"
    )


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_not_a_terminal_prints_a_line_only_when_the_counts_change(tmp_path):
    """In a log file: one line per change, none while nothing changes, then the final line."""
    runs, clock, out = tmp_path / "runs", _Clock(), io.StringIO()
    p = Progress(runs, 3, stream=out, clock=clock)
    for _ in range(5):
        clock.now += 1
        p.tick()
    _complete(runs, "a__none__s0")
    clock.now = 10
    p.tick()
    p.tick()
    _failed(runs, "a__none__s1")
    _complete(runs, "a__none__s2")
    clock.now = 20
    p.stop()
    assert out.getvalue().splitlines() == [
        "runs: 0/3 done, 0 failed, 1s elapsed, time left unknown yet",
        "runs: 1/3 done, 0 failed, 10s elapsed, about 20s left",
        "runs: 3/3 done, 1 failed, 20s",
    ]
    assert p.stop() is None  # only once


def test_terminal_rewrites_one_line(tmp_path):
    """On a terminal the line is rewritten in place and ends with the final line."""
    out = _Tty()
    p = Progress(tmp_path / "runs", None, stream=out, clock=_Clock())
    p.tick()
    p.tick()
    p.stop()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.count("\r") == 3
    assert text.endswith("\n")
    assert text.split("\r")[-1].rstrip() == "runs: 0 done, 0 failed, 0s"  # padded over the last


def test_thread_is_a_daemon_and_stops(tmp_path):
    """The polling thread never keeps the process alive and is joined by stop()."""
    out = io.StringIO()
    p = Progress(tmp_path / "runs", 2, stream=out, interval=0.05).start()
    assert p._thread is not None and p._thread.daemon
    _complete(tmp_path / "runs", "a__none__s0")
    time.sleep(0.3)
    assert p.stop() == Counts(1, 0, 0)
    assert not p._thread.is_alive()
    assert out.getvalue().splitlines()[-1].startswith("runs: 1/2 done, 0 failed, ")


def test_progress_flag_is_checked():
    """experiment.progress takes true or false, in a file and on the command line."""
    from sim.configfiles import check_overrides
    from sim.validate import experiment_flag

    assert experiment_flag({}, "progress") is True
    assert experiment_flag({"progress": False}, "progress") is False
    with pytest.raises(ConfigError, match=r"experiment\.progress = 'yes' is not allowed"):
        experiment_flag({"progress": "yes"}, "progress", "configs/experiment/x.yaml")
    check_overrides(["experiment.progress=false", "experiment.resume=True"])
    with pytest.raises(ConfigError, match="allowed: true or false"):
        check_overrides(["experiment.progress=maybe"])


def test_experiment_prints_the_final_progress_line(tmp_path):
    """A tiny real experiment: 1 strategy x 2 scenarios x 2 seeds, the pandemic runs fail."""
    env = {**os.environ, "BANKLAB_RESULTS": str(tmp_path)}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.experiment",
            "population.size=1000",
            "weeks=30",
            "spinup.weeks=0",
            "strategy=baseline",
            "scenario=none,pandemic",
            "seed=0,1",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    lines = [line for line in r.stderr.splitlines() if line.startswith("runs: ")]
    assert lines[0].startswith("runs: 0/4 done, 0 failed, ")
    assert re.fullmatch(r"runs: 4/4 done, 2 failed, \d+s", lines[-1]), lines
    counts = [int(re.match(r"runs: (\d+)/4", line).group(1)) for line in lines]
    assert counts == sorted(counts)
