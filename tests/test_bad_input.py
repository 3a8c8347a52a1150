"""Bad input: every case gets one clear error naming file, key, value and what is allowed.

The cases and their messages are listed in docs/errors.md.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.compose import compose_config
from sim.configfiles import check_config_file, check_overrides
from sim.errors import ConfigError
from sim.validate import validate

STRATEGY_HEAD = "# @package strategy\ndefaults:\n  - baseline\n  - _self_\nname: mine\n"


def _not_warnings(stderr: str) -> list[str]:
    """The lines of stderr but the warnings (about broken files a user may have added)."""
    return [ln for ln in stderr.strip().splitlines() if not ln.startswith("warning: ")]


def _file(tmp_path: Path, text: str, name="mine.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


FILE_CASES = [
    (
        "strategy",
        STRATEGY_HEAD + "app_qualty: 0.5\n",
        ["strategy.app_qualty is not a known key", "did you mean app_quality", "allowed:"],
    ),
    (
        "strategy",
        STRATEGY_HEAD + "app_quality: high\n",
        ["strategy.app_quality = 'high' is not allowed", "a number in [0, 1] score"],
    ),
    (
        "strategy",
        STRATEGY_HEAD + "app_quality: 1.5\n",
        ["strategy.app_quality = 1.5 is not allowed", "allowed: [0, 1] score"],
    ),
    (
        "strategy",
        STRATEGY_HEAD + "marketing_budget: -2\n",
        ["strategy.marketing_budget = -2 is not allowed", "[0, 50] RMB per own customer"],
    ),
    (
        "strategy",
        STRATEGY_HEAD + "app_quality: [0.5\n",
        [
            "malformed YAML at line 7, column 1: expected ',' or ']'",
            "(while parsing a flow sequence at line 6, column 14)",
            "the parser says: while parsing a flow sequence",
        ],
    ),
    ("strategy", "", ["the file is empty"]),
    ("strategy", "# only a comment\n", ["the file is empty"]),
    ("strategy", "- a\n- b\n", ["must be a mapping"]),
    ("strategy", "# @package _global_\nname: x\n", ["may only set strategy keys"]),
    (
        "market",
        "name: m\nbanks:\n  a:\n    shar: 0.3\n",
        ["market.banks.a.shar is not a known key", "did you mean share"],
    ),
    (
        "market",
        "name: m\ncustomers:\n  human_preference: 1.2\n",
        ["market.customers.human_preference = 1.2 is not allowed", "[0, 1] share"],
    ),
    (
        "scenario",
        "name: s\nshocks:\n  - {target: market.environment.branch_reach, value: 1,"
        " start: 0, end: 3, moed: set}\n",
        ["scenario.shocks[0].moed is not a known key", "did you mean mode"],
    ),
    ("scenario", "name: s\nshocks: 3\n", ["scenario.shocks = 3 is not allowed", "a list"]),
    (
        "scenario",
        "name: s\nshocks:\n  - {target: x, value: 1, start: -4, end: 3}\n",
        ["scenario.shocks[0].start = -4 is not allowed"],
    ),
    (None, "a:\n  _target_: os.system\n", ["a._target_ = 'os.system' is not allowed"]),
]


@pytest.mark.parametrize(("group", "text", "parts"), FILE_CASES)
def test_bad_file_is_refused_with_file_key_value_and_allowed(tmp_path, group, text, parts):
    """A wrong file is refused naming the file and the problem."""
    p = _file(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        check_config_file(p, group)
    msg = str(err.value)
    assert msg.startswith(str(p)), msg
    for part in parts:
        assert part in msg, msg


OVERRIDE_CASES = [
    (["strategy.app_qualty=0.5"], ["command line: strategy.app_qualty is not a known key"]),
    (["strategy.app_quality=abc"], ["strategy.app_quality = 'abc' is not allowed", "a number"]),
    (["strategy.app_quality=2"], ["strategy.app_quality = 2 is not allowed", "[0, 1] score"]),
    (["population.size=-5"], ["population.size = -5 is not allowed", "[100, 5e+07] customers"]),
    (["weeks=0"], ["weeks = 0 is not allowed", "[1, 5200] weeks"]),
    (["strategy=nosuch"], ["strategy = 'nosuch' is not allowed", "baseline", "rewards"]),
    (["scenario=nosuch"], ["scenario = 'nosuch' is not allowed", "pandemic", "none"]),
    (
        ["strategy=rewrds"],
        ["strategy = 'rewrds' is not allowed (did you mean rewards?); allowed: acquisition_blitz"],
    ),
    (
        ["strategy=baseline,human_tuch"],
        ["strategy = 'human_tuch' is not allowed (did you mean human_touch?)"],
    ),
    (["scenario=pandemc"], ["scenario = 'pandemc' is not allowed (did you mean pandemic?)"]),
    (["experiment=defalt"], ["experiment = 'defalt' is not allowed (did you mean default?)"]),
    (
        ["market.banks.city.levers.signup_bonus=-3"],
        ["market.banks.city.levers.signup_bonus = -3 is not allowed", "RMB per new account"],
    ),
    (["market.banks.city.levers.bonus=3"], ["market.banks.city.levers.bonus is not a known"]),
    (["+hydra.callbacks.x._target_=os.system"], ["'os.system' is not allowed"]),
]


@pytest.mark.parametrize(("args", "parts"), OVERRIDE_CASES)
def test_bad_override_is_refused(args, parts):
    """A wrong command-line override is refused before any work, naming key and value."""
    with pytest.raises(ConfigError) as err:
        check_overrides(args)
    for part in parts:
        assert part in str(err.value), str(err.value)


COMPOSED_CASES = [
    (
        ["market.customers.segments=[0.5,0.2,0.2]"],
        ["market.customers.segments", "summing to 1 (sum is 0.9)"],
    ),
    (["market.focal=nobank"], ["market.focal = 'nobank' is not allowed", "state_a"]),
    (
        ["population.size=40000000"],
        ["population.size = 40000000 is not allowed", "estimated memory"],
    ),
    (
        ["scenario=pandemic", "weeks=30"],
        ["scenario.shocks[1].start = 46 is not allowed", "simulated weeks 0..29"],
    ),
]


@pytest.mark.parametrize(("args", "parts"), COMPOSED_CASES)
def test_bad_composed_config_is_refused(args, parts):
    """Cross-field problems are refused by validation, before the model is built."""
    with pytest.raises(ConfigError) as err:
        validate(compose_config(args), {"scenario": "pandemic", "market": "default"})
    for part in parts:
        assert part in str(err.value), str(err.value)


def test_shock_naming_a_missing_lever_is_refused():
    """A shock whose target does not exist lists what targets are allowed."""
    cfg = compose_config(["scenario=pandemic"])
    cfg.scenario.shocks[0].target = "strategy.app_qualty"
    with pytest.raises(ConfigError) as err:
        validate(cfg, {"scenario": "pandemic"})
    msg = str(err.value)
    assert "pandemic.yaml" in msg and "strategy.app_qualty" in msg and "app_quality" in msg


def test_cli_exits_non_zero_and_writes_nothing(tmp_path):
    """The command line prints one error line, exits 2 and leaves no run folder."""
    env = {**os.environ, "BANKLAB_RESULTS": str(tmp_path)}
    r = subprocess.run(
        [sys.executable, "-m", "sim", "strategy.push_per_week=20"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 2
    (error,) = _not_warnings(r.stderr)
    assert error.startswith("error: command line: strategy.push_per_week = 20")
    assert not any(tmp_path.iterdir())


def test_cli_refuses_a_composed_config_and_writes_nothing(tmp_path):
    """A config refused only once composed (a shock after the last week) writes nothing either."""
    env = {**os.environ, "BANKLAB_RESULTS": str(tmp_path)}
    r = subprocess.run(
        [sys.executable, "-m", "sim", "scenario=pandemic", "weeks=30"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 2
    (error,) = _not_warnings(r.stderr)
    assert error.startswith("error: ") and "scenario.shocks[1].start = 46" in error
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("arg", ["output.dir=../outside", "hydra.run.dir={tmp}/elsewhere"])
def test_outputs_cannot_escape_results(tmp_path, arg):
    """A run folder outside the results folder is refused before anything is written."""
    env = {**os.environ, "BANKLAB_RESULTS": str(tmp_path / "results")}
    r = subprocess.run(
        [sys.executable, "-m", "sim", "weeks=2", "population.size=300", arg.format(tmp=tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert r.returncode == 2, r.stderr
    assert "is not allowed; allowed: a folder inside the results folder" in r.stderr
    assert not any(tmp_path.iterdir()), list(tmp_path.rglob("*"))  # no log file, no folder
