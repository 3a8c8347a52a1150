"""Reliability: one bad file stays local, folders never collide, faults mid-write are survived.

Broken config files are made in a copy of ``configs/`` and ``scenarios/`` (the
lab is pointed at it through ``tests/patched_main.py`` or by patching
:mod:`sim.paths`), never in the checkout. Faults (``kill -9``, a full disk) are
injected by ``tests/patched_main.py`` at a chosen write, or made real with a
tiny tmpfs where this machine allows one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import sim.atomic as atomic
from sim import paths
from sim.analysis.compare import (
    LOCK_NAME,
    REPORT_MARKER,
    aggregate,
    collect,
    report_is_complete,
)
from sim.analysis.compare import main as compare_main
from sim.atomic import FolderLock, WriteError, atomic_write, new_folder
from sim.compose import compose_config
from sim.config import Config
from sim.configfiles import used_files
from sim.errors import ConfigError
from sim.run import COMPLETE, is_complete, run, write_run
from sim.runfolder import IncompleteRunError, read_summary

PATCHED = str(Path(__file__).with_name("patched_main.py"))
#: Keep every run tiny; skip the spin-up where the model has one.
FAST = [
    "population.size=300",
    "weeks=8",
    *(["spinup.weeks=0"] if "spinup" in {f.name for f in dataclasses.fields(Config)} else []),
]
#: A tiny experiment; one job at a time runs in the experiment's own process (no worker start-up).
EXPERIMENT = [*FAST, "strategy=baseline,rewards", "seed=0,1", "hydra.launcher.n_jobs=1"]
BROKEN_STRATEGY = "# @package strategy\ndefaults:\n  - baseline\n  - _self_\nname: mine\n"
BROKEN_STRATEGY += "app_quality: [0.5\n"


def _lab(results: Path, module: str, *args: str, env=None, timeout=300, cwd=None):
    """Run ``python -m module args`` (through the fault injector) with results in ``results``.

    Output goes to files, not pipes, and the command's whole process group is
    killed once it ends: a command killed with -9 leaves no worker holding the test up.
    """
    e = {**os.environ, "BANKLAB_RESULTS": str(results), **(env or {})}
    cmd = [sys.executable, PATCHED, module, *args]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(cmd, env=e, stdout=out, stderr=err, cwd=cwd, start_new_session=True)
        try:
            p.wait(timeout=timeout)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(cmd, p.returncode, out.read(), err.read())


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def config_copy(tmp_path, monkeypatch):
    """A copy of configs/ and scenarios/ with a broken strategy and a broken scenario."""
    configs, scenarios = tmp_path / "configs", tmp_path / "scenarios"
    shutil.copytree(paths.CONFIG_DIR, configs)
    shutil.copytree(paths.SCENARIO_DIR, scenarios)
    (configs / "strategy" / "mine.yaml").write_text(BROKEN_STRATEGY)
    (configs / "strategy" / "mine_too.yaml").write_text(
        "# @package strategy\ndefaults:\n  - mine\n  - _self_\nname: mine_too\n"
    )
    (scenarios / "bad.yaml").write_text("name: bad\nshocks: 3\n")
    env = {"BANKLAB_TEST_CONFIG_DIR": str(configs), "BANKLAB_TEST_SCENARIO_DIR": str(scenarios)}
    return configs, scenarios, env


@pytest.fixture(scope="module")
def small_experiment(tmp_path_factory):
    """A finished experiment (2 strategies x 2 seeds, tiny runs); tests work on copies."""
    results = tmp_path_factory.mktemp("results")
    r = _lab(results, "sim.experiment", *EXPERIMENT)
    assert r.returncode == 0, r.stderr[-3000:]
    (exp,) = (results / "experiments").iterdir()
    assert report_is_complete(exp)
    return exp


@pytest.fixture
def experiment_copy(small_experiment, tmp_path):
    """A copy of the small experiment, inside a fresh results folder."""
    results = tmp_path / "results"
    exp = results / "experiments" / small_experiment.name
    shutil.copytree(small_experiment, exp)
    return results, exp


def _resume(results: Path, exp: Path, *args: str, env=None, **kw):
    return _lab(
        results,
        "sim.experiment",
        *EXPERIMENT,
        f"hydra.sweep.dir={exp}",
        "experiment.resume=true",
        *args,
        env=env,
        **kw,
    )


# --------------------------------------------------------------------------- broken files


def test_a_broken_file_not_selected_is_a_warning_and_the_run_goes_on(config_copy, tmp_path):
    """A malformed strategy and a wrong scenario that the run does not use: warned, not fatal."""
    configs, scenarios, env = config_copy
    r = _lab(tmp_path / "results", "sim", "strategy=baseline", *FAST, env=env)
    assert r.returncode == 0, r.stderr
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("warning: ")]
    assert any(
        f"{configs / 'strategy' / 'mine.yaml'}: malformed YAML at line" in w for w in warnings
    )
    assert any(f"{scenarios / 'bad.yaml'}: scenario.shocks = 3" in w for w in warnings)
    assert all("not used by this command" in w for w in warnings)
    (folder,) = (tmp_path / "results" / "runs").iterdir()
    assert is_complete(folder)


@pytest.mark.parametrize(
    ("args", "culprit"),
    [
        (["strategy=mine"], "strategy/mine.yaml"),
        (["strategy=mine_too"], "strategy/mine.yaml"),  # inherits from the broken file
        (["scenario=bad"], "scenarios/bad.yaml"),
    ],
)
def test_a_broken_file_the_run_selects_is_refused_and_nothing_is_written(
    config_copy, tmp_path, args, culprit
):
    """Selecting a broken file (directly or through its defaults) stops the run up front."""
    *_, env = config_copy
    results = tmp_path / "results"
    r = _lab(results, "sim", *args, *FAST, env=env)
    assert r.returncode == 2, r.stderr
    (error,) = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert culprit in error.split(": ", 2)[1]
    assert not results.exists() or not any(results.rglob("*"))


def test_an_experiment_selecting_a_broken_strategy_is_refused_before_any_run(config_copy, tmp_path):
    """A sweep naming a broken file is refused before the experiment folder exists."""
    *_, env = config_copy
    results = tmp_path / "results"
    r = _lab(results, "sim.experiment", *FAST, "strategy=baseline,mine", "seed=0", env=env)
    assert r.returncode == 2, r.stderr
    assert "mine.yaml: malformed YAML at line 7, column 1" in r.stderr
    assert not results.exists() or not any(results.rglob("*"))


def test_compose_checks_only_the_files_it_uses(config_copy, monkeypatch):
    """In-process composition: the selected files are checked, the others only warned about."""
    configs, scenarios, _ = config_copy
    monkeypatch.setattr(paths, "CONFIG_DIR", configs)
    monkeypatch.setattr(paths, "SCENARIO_DIR", scenarios)
    cfg = compose_config(["strategy=rewards", *FAST])
    assert cfg.strategy.name == "rewards"
    with pytest.raises(
        ConfigError, match=re.escape("mine.yaml: malformed YAML at line 7, column 1")
    ):
        compose_config(["strategy=mine_too"])
    with pytest.raises(ConfigError, match=re.escape("mine.yaml")):
        used_files(["strategy=glob(mi*)", "--multirun"])
    used = used_files(["experiment=default", "--multirun"])
    assert configs / "strategy" / "rewards.yaml" in used
    assert configs / "experiment" / "default.yaml" in used
    assert not any(p.name in ("mine.yaml", "bad.yaml") for p in used)


def test_malformed_yaml_names_file_line_and_column_first(tmp_path):
    """The lab's own words (file, line, column, problem) come before the parser's text."""
    from sim.configfiles import check_config_file

    p = tmp_path / "mine.yaml"
    p.write_text("name: mine\nlevers:\n  a: 1\n   b: 2\n")
    with pytest.raises(ConfigError) as err:
        check_config_file(p, "strategy")
    msg = str(err.value)
    assert msg.startswith(f"{p}: malformed YAML at line 4, column 5: ")
    assert msg.index("line 4, column 5") < msg.index("the parser says:")


# --------------------------------------------------------------------------- unique folders


def test_new_folder_is_exclusive_and_suffixed(tmp_path):
    """new_folder never returns a folder that exists; a taken name gets -2, -3..."""
    base = tmp_path / "20260101-000000-x"
    got = [new_folder(base) for _ in range(4)]
    assert [p.name for p in got] == [base.name, *(f"{base.name}-{n}" for n in (2, 3, 4))]
    assert all(p.is_dir() and not any(p.iterdir()) for p in got)


def test_new_folder_under_concurrency_gives_distinct_folders(tmp_path):
    """Sixteen threads asking for the same name at the same moment get sixteen folders."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    barrier, base = Barrier(16), tmp_path / "same"

    def take(_):
        barrier.wait()
        return new_folder(base)

    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(take, range(16)))
    assert len(set(got)) == 16 and all(p.is_dir() for p in got)


def _taken(parent: Path, suffix: str, seconds: int = 90) -> list[Path]:
    """Occupy ``<time><suffix>`` for the coming seconds, each holding an earlier result."""
    now = datetime.now()
    taken = []
    for s in range(-1, seconds):
        folder = parent / ((now + timedelta(seconds=s)).strftime("%Y%m%d-%H%M%S") + suffix)
        (folder / "runs" / "earlier").mkdir(parents=True)
        (folder / "runs" / "earlier" / "keep.txt").write_text("earlier result\n")
        taken.append(folder)
    return taken


def test_a_run_started_in_a_taken_second_gets_its_own_folder(tmp_path):
    """python -m sim never writes into a folder of the same name: it takes <name>-2."""
    results = tmp_path / "results"
    taken = _taken(results / "runs", "-baseline-none-s0")
    r = _lab(results, "sim", *FAST)
    assert r.returncode == 0, r.stderr
    new = [p for p in (results / "runs").iterdir() if p not in taken]
    assert len(new) == 1 and new[0].name.endswith("-baseline-none-s0-2") and is_complete(new[0])
    assert all(_files(t) == {"runs/earlier/keep.txt": b"earlier result\n"} for t in taken)
    assert f"run folder: {new[0]}" in r.stdout


def test_two_experiments_started_together_never_share_a_folder(tmp_path):
    """Two experiments at once (in a second whose folder is taken): two folders, true counts."""
    results = tmp_path / "results"
    taken = _taken(results / "experiments", "-default")
    env = {**os.environ, "BANKLAB_RESULTS": str(results)}
    cmd = [sys.executable, "-m", "sim.experiment", *EXPERIMENT]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
        assert "run failed" not in err
        assert "runs: 4 complete, 0 failed, 0 incomplete" in out
    new = sorted(p for p in (results / "experiments").iterdir() if p not in taken)
    assert len(new) == 2
    reports = {
        line.split()[-1] for out, _ in outs for line in out.splitlines() if "report:" in line
    }
    assert reports == {str(p / "report.md") for p in new}
    for exp in new:
        assert report_is_complete(exp)
        assert len(pd.read_csv(exp / "experiment.csv")) == 4
        assert pd.read_csv(exp / "failed.csv").empty
    assert all(_files(t) == {"runs/earlier/keep.txt": b"earlier result\n"} for t in taken)


# --------------------------------------------------------------------------- refused commands


@pytest.mark.parametrize(
    "args",
    [
        ["hydra.run.dir={elsewhere}"],
        ["output.dir={elsewhere}"],
        ["hydra.run.dir={elsewhere}", "scenario=pandemic", "weeks=30"],
        ["scenario=pandemic", "weeks=30"],  # refused by validation, after composition
        ["population.size=40000000"],
    ],
)
def test_a_refused_command_writes_nothing_anywhere(tmp_path, args):
    """Refused run folders, and configs refused once composed: no folder, no log, no file."""
    results, elsewhere = tmp_path / "results", tmp_path / "elsewhere"
    args = [a.format(elsewhere=elsewhere) for a in args]
    r = _lab(results, "sim", *args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    errors = [ln for ln in r.stderr.splitlines() if not ln.startswith("warning: ")]
    assert len(errors) == 1 and errors[0].startswith("error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == [], list(tmp_path.rglob("*"))


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("kill_at", [4, 99])
def test_kill_during_aggregation_then_resume_gives_the_complete_report(experiment_copy, kill_at):
    """kill -9 in the middle of the report's N-th file: nothing looks complete; resuming mends."""
    results, exp = experiment_copy
    before = {c.parent.name: c.read_bytes() for c in exp.glob("runs/*/COMPLETE")}
    shutil.rmtree(exp / "runs" / "rewards__none__s1")  # one run to do, then the aggregation
    n_writes = len(json.loads((exp / REPORT_MARKER).read_text())["files"]) + 1
    kill_at = min(kill_at, n_writes - 1)  # 99: the last file before the marker
    r = _resume(results, exp, env={"BANKLAB_TEST_KILL_AT": str(kill_at)})
    assert r.returncode == -9, r.stderr[-3000:]
    assert not (exp / REPORT_MARKER).exists() and not report_is_complete(exp)
    for name in ("experiment.csv", "failed.csv", "comparison.csv"):  # whole, old or new
        if (exp / name).exists():
            pd.read_csv(exp / name)

    again = _resume(results, exp)
    assert again.returncode == 0, again.stderr[-3000:]
    assert report_is_complete(exp)
    assert "runs: 4 complete, 0 failed, 0 incomplete" in again.stdout
    assert len(pd.read_csv(exp / "experiment.csv")) == 4
    assert not list(exp.rglob("*.tmp"))
    after = {c.parent.name: c.read_bytes() for c in exp.glob("runs/*/COMPLETE")}
    assert all(after[k] == v for k, v in before.items() if k != "rewards__none__s1")


def test_kill_during_reaggregation_then_reaggregating_mends_it(experiment_copy):
    """The same for python -m sim.analysis.compare: killed mid-report, run again, complete."""
    results, exp = experiment_copy
    r = _lab(results, "sim.analysis.compare", str(exp), env={"BANKLAB_TEST_KILL_AT": "2"})
    assert r.returncode == -9
    assert not report_is_complete(exp)
    assert list(exp.glob(".*.tmp"))  # the killed write's temporary, hidden and not the file
    again = _lab(results, "sim.analysis.compare", str(exp))
    assert again.returncode == 0, again.stderr
    assert report_is_complete(exp) and not list(exp.rglob("*.tmp"))


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t[: len(t) // 2],  # truncated
        lambda t: t.replace(b'"seed": 1', b'"seed": 7'),  # parses, but not what was written
    ],
    ids=["truncated", "altered"],
)
def test_a_damaged_summary_is_incomplete_and_resume_reruns_it(experiment_copy, damage):
    """A run whose summary.json is damaged is no result, and resuming runs it again."""
    results, exp = experiment_copy
    bad = exp / "runs" / "rewards__none__s1"
    text = (bad / "summary.json").read_bytes()
    (bad / "summary.json").write_bytes(damage(text))
    assert not is_complete(bad)
    with pytest.raises(IncompleteRunError, match=re.escape("summary.json: truncated or corrupt")):
        read_summary(bad)
    table, failed = collect(exp)
    assert len(table) == 3 and bad.name not in set(table["run"])
    assert "resuming the experiment runs it again" in failed.set_index("run").loc[bad.name, "error"]
    others = {c.parent.name: c.read_bytes() for c in exp.glob("runs/*/COMPLETE") if c.parent != bad}

    r = _resume(results, exp)
    assert r.returncode == 0, r.stderr[-3000:]
    assert is_complete(bad) and (bad / "summary.json").read_bytes() == text  # the same run again
    now = {c.parent.name: c.read_bytes() for c in exp.glob("runs/*/COMPLETE") if c.parent != bad}
    assert now == others
    assert len(pd.read_csv(exp / "experiment.csv")) == 4 and report_is_complete(exp)


@pytest.fixture(scope="module")
def tiny_result():
    """One tiny run's result (in memory)."""
    from sim.compose import compose_config

    return run(compose_config(FAST))


def _full_disk(after: str):
    """A write function that fails like a full disk on files whose name starts with ``after``."""
    original = atomic._write_data

    def write(f, data):
        if Path(f.name).name.startswith(f".{after}"):
            f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), f.name)
        original(f, data)

    return write


def test_a_full_disk_while_writing_a_run_leaves_no_complete_looking_file(
    tmp_path, tiny_result, monkeypatch
):
    """ENOSPC mid-run-folder: a clear error naming the file, no marker, no temporary."""
    earlier = write_run(tiny_result, tmp_path / "earlier", plots=False)
    kept = _files(earlier)
    monkeypatch.setattr(atomic, "_write_data", _full_disk("summary.json"))
    with pytest.raises(WriteError) as err:
        write_run(tiny_result, tmp_path / "new", plots=False)
    msg = str(err.value)
    assert str(tmp_path / "new" / "summary.json") in msg and "No space left on device" in msg
    assert "free space" in msg and err.value.errno == errno.ENOSPC
    assert not is_complete(tmp_path / "new") and not (tmp_path / "new" / COMPLETE).exists()
    assert not (tmp_path / "new" / "summary.json").exists()
    assert not list((tmp_path / "new").glob(".*.tmp"))
    assert _files(earlier) == kept


def test_a_full_disk_while_aggregating_keeps_the_earlier_report(experiment_copy, monkeypatch):
    """ENOSPC mid-aggregation: a clear error, no marker, the earlier files byte for byte."""
    _, exp = experiment_copy
    kept = _files(exp)
    monkeypatch.setattr(atomic, "_write_data", _full_disk("experiment.csv"))
    with pytest.raises(
        WriteError, match=re.escape("experiment.csv: could not be written: No space left")
    ):
        aggregate(exp)
    assert not (exp / REPORT_MARKER).exists()
    kept.pop(REPORT_MARKER)
    assert _files(exp) == kept  # every earlier file as it was, and no temporary


def test_a_full_disk_on_the_command_line_is_one_clear_error(tmp_path):
    """python -m sim on a full disk: exit 1, one error line naming the file, no COMPLETE."""
    results = tmp_path / "results"
    earlier = _lab(results, "sim", *FAST, "seed=1")
    assert earlier.returncode == 0
    (first,) = (results / "runs").iterdir()
    kept = _files(first)
    r = _lab(results, "sim", *FAST, "seed=2", env={"BANKLAB_TEST_ENOSPC": "series_banks.csv"})
    assert r.returncode == 1, r.stderr
    (error,) = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert "series_banks.csv: could not be written: No space left on device" in error
    assert error.endswith("has no COMPLETE marker")
    assert "Traceback" not in r.stderr
    (new,) = [p for p in (results / "runs").iterdir() if p != first]
    assert not (new / COMPLETE).exists() and not list(new.glob(".*.tmp"))
    assert _files(first) == kept


def test_a_full_disk_during_an_experiments_aggregation_is_a_clear_error(experiment_copy):
    """The experiment exits 1 naming the file; no marker; the runs and earlier files are kept."""
    results, exp = experiment_copy
    kept = _files(exp)
    r = _resume(results, exp, env={"BANKLAB_TEST_ENOSPC": "report.md"})
    assert r.returncode == 1, r.stderr[-3000:]
    (error,) = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert f"error: {exp}: aggregation failed: WriteError: {exp / 'report.md'}: could not" in error
    assert "No space left on device" in error and "python -m sim.analysis.compare" in error
    assert not (exp / REPORT_MARKER).exists() and not list(exp.rglob("*.tmp"))
    assert (exp / "report.md").read_bytes() == kept["report.md"]

    def results_of(files):  # the runs' own files (Hydra rewrites .hydra/ on every resume)
        return {k: v for k, v in files.items() if k.startswith("runs/") and ".hydra" not in k}

    assert results_of(_files(exp)) == results_of(kept)


def _tmpfs_available() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d && umount $d"
    r = subprocess.run(["unshare", "-rm", "sh", "-c", probe], capture_output=True, timeout=30)
    return r.returncode == 0


@pytest.mark.skipif(not _tmpfs_available(), reason="no private tmpfs (unshare -rm) here")
def test_a_really_full_disk(tmp_path):
    """A real 160 KiB results disk: a short run fits, a long one does not, and it says so."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    run_cmd = f"{sys.executable} -m sim {' '.join(FAST)}"
    script = (
        f"mount -t tmpfs -o size=160k tmpfs {mnt} && "
        f"BANKLAB_RESULTS={mnt} {run_cmd} seed=1 output.plots=false > {tmp_path}/first.out && "
        f"BANKLAB_RESULTS={mnt} {run_cmd} seed=2 weeks=400 output.plots=false "
        "output.progress=false; echo rc=$?; "
        f"ls {mnt}/runs > {tmp_path}/runs.txt; "
        f"for d in {mnt}/runs/*; do ls -a $d | tr '\\n' ' '; echo; done > {tmp_path}/files.txt"
    )
    r = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True)
    assert "rc=1" in r.stdout, r.stdout + r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "No space left on device" in errors[0], r.stderr
    listing = (tmp_path / "files.txt").read_text().splitlines()
    assert sum(COMPLETE in ln.split() for ln in listing) == 1  # the first run only
    assert not any(".tmp" in ln for ln in listing)


def test_two_resumes_at_once_one_proceeds_the_other_refuses_naming_the_lock(experiment_copy):
    """While one experiment works on a folder, a second resume (or re-aggregation) is refused."""
    results, exp = experiment_copy
    shutil.rmtree(exp / "runs" / "baseline__none__s1")
    go = exp.parent / "go"
    env = {
        **os.environ,
        "BANKLAB_RESULTS": str(results),
        "BANKLAB_TEST_HOLD_AGGREGATION": str(go),
    }
    cmd = [
        sys.executable,
        PATCHED,
        "sim.experiment",
        *EXPERIMENT,
        f"hydra.sweep.dir={exp}",
        "experiment.resume=true",
    ]
    first = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        lock = exp / LOCK_NAME
        deadline = time.time() + 120
        while time.time() < deadline and lock.read_text().strip() != str(first.pid):
            assert first.poll() is None, first.communicate()
            time.sleep(0.1)
        second = _resume(results, exp)
        assert second.returncode == 2, second.stderr
        (error,) = [ln for ln in second.stderr.splitlines() if ln.startswith("error: ")]
        assert error.startswith(f"error: {lock}: ") and f"pid {first.pid}" in error
        again = _lab(results, "sim.analysis.compare", str(exp))
        assert again.returncode == 2 and str(lock) in again.stderr
    finally:
        go.write_text("go\n")
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-3000:]
    assert "runs: 4 complete, 0 failed, 0 incomplete" in out
    assert report_is_complete(exp)


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path):
    """kill -9 of the holder frees the lock (the OS drops it with the process)."""
    code = (
        "import sys, time; from sim.atomic import FolderLock; "
        "FolderLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(300)"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert p.stdout.readline().strip() == "held"
    with pytest.raises(
        ConfigError, match=re.escape(f"{tmp_path / LOCK_NAME}: ") + f".*pid {p.pid}"
    ):
        FolderLock(tmp_path).acquire()
    p.kill()
    p.wait(timeout=30)
    with FolderLock(tmp_path) as lock:
        assert lock.held


def test_reaggregation_refuses_while_the_folder_is_locked(experiment_copy, capsys):
    """python -m sim.analysis.compare refuses a folder another process holds, and says which."""
    _, exp = experiment_copy
    kept = _files(exp)
    with FolderLock(exp, LOCK_NAME):
        assert compare_main([str(exp)]) == 2
    err = capsys.readouterr().err
    assert f"{exp / LOCK_NAME}: " in err and f"pid {os.getpid()}" in err
    kept.pop(LOCK_NAME, None)
    now = _files(exp)
    now.pop(LOCK_NAME, None)
    assert now == kept


def test_atomic_write_leaves_the_old_file_when_it_fails(tmp_path, monkeypatch):
    """A failed write raises WriteError naming the file; the old content stays, no temporary."""
    p = atomic_write(tmp_path / "a.csv", "old\n")
    monkeypatch.setattr(atomic, "_write_data", _full_disk("a.csv"))
    with pytest.raises(WriteError, match=f"{p}: could not be written"):
        atomic_write(p, "new\n" * 1000)
    assert p.read_text() == "old\n" and sorted(x.name for x in tmp_path.iterdir()) == ["a.csv"]
