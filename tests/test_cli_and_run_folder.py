"""The command line and the run folder."""

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from sim.compose import compose_config
from sim.config import Config
from sim.run import COMPLETE, run, write_run

#: Skip the spin-up where the model has one: these tests are about the run folder.
NO_SPINUP = ["spinup.weeks=0"] if "spinup" in {f.name for f in dataclasses.fields(Config)} else []


def _cli(tmp_path, *args):
    env = {**os.environ, "BANKLAB_RESULTS": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_cli_writes_a_complete_run_folder(tmp_path):
    """`python -m sim` writes config, series, summary, plots and the marker."""
    r = _cli(tmp_path, "population.size=1500", "weeks=50", "scenario=pandemic", "seed=3")
    assert r.returncode == 0, r.stderr
    (folder,) = list((tmp_path / "runs").iterdir())
    for name in (
        "config.yaml",
        "series_market.csv",
        "series_banks.csv",
        "summary.json",
        COMPLETE,
        "plots/channel_mix.png",
        "plots/active_customers.png",
        "plots/switching_flows.png",
        "plots/payment_share.png",
    ):
        assert (folder / name).exists(), name
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["scenario"] == "pandemic" and summary["seed"] == 3
    assert "retention_26w" in summary["outcomes"]


def test_cli_refuses_a_wrong_key(tmp_path):
    """A typo in a lever name fails with a message naming it and a non-zero exit."""
    r = _cli(tmp_path, "strategy.app_qualty=0.5")
    assert r.returncode != 0
    assert "app_qualty" in r.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob(COMPLETE))


def test_cli_refuses_an_out_of_range_value(tmp_path):
    """A probability above 1 fails naming key, value, the allowed range and the file."""
    r = _cli(tmp_path, "strategy.app_quality=1.5")
    assert r.returncode != 0
    assert "strategy.app_quality = 1.5" in r.stderr
    assert "[0, 1]" in r.stderr
    assert "command line" in r.stderr
    assert not any(tmp_path.rglob(COMPLETE))


def test_write_run_refuses_to_overwrite(tmp_path):
    """A complete run folder is never overwritten."""
    res = run(compose_config(["population.size=500", "weeks=3", *NO_SPINUP]))
    write_run(res, tmp_path / "r", plots=False)
    with pytest.raises(FileExistsError):
        write_run(res, tmp_path / "r", plots=False)


def test_a_damaged_summary_makes_the_folder_incomplete_and_it_can_be_written_again(tmp_path):
    """COMPLETE records summary.json's SHA-256: a damaged summary is incomplete and rewritable."""
    import hashlib

    from sim.run import is_complete

    res = run(compose_config(["population.size=500", "weeks=3", *NO_SPINUP]))
    folder = write_run(res, tmp_path / "r", plots=False)
    digest = hashlib.sha256((folder / "summary.json").read_bytes()).hexdigest()
    assert f"summary.json sha256 {digest}" in (folder / COMPLETE).read_text()
    good = (folder / "summary.json").read_bytes()
    (folder / "summary.json").write_bytes(good[:100])
    assert not is_complete(folder)
    write_run(res, folder, plots=False)  # not refused: the folder held no complete run
    assert is_complete(folder) and (folder / "summary.json").read_bytes() == good


def test_killed_run_leaves_an_incomplete_folder(tmp_path):
    """A run killed midway leaves a folder that readers see as incomplete."""
    import signal
    import time

    from sim.run import is_complete

    env = {**os.environ, "BANKLAB_RESULTS": str(tmp_path)}
    p = subprocess.Popen(
        [sys.executable, "-m", "sim", "population.size=20000", "weeks=400"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not list((tmp_path / "runs").glob("*/.hydra")):
        time.sleep(0.2)
    time.sleep(2.0)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    (folder,) = list((tmp_path / "runs").iterdir())
    assert not is_complete(folder)
    assert not (folder / "summary.json").exists()
    assert not list(folder.glob("*.tmp"))
