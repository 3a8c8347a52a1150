"""The workshop's team game and strategy lab without a browser (sim.app.game, sim.app.lab)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim.app.common import LEVER_GROUPS, WEEKS_PER_ROUND, lever_spec, session_path
from sim.app.game import COLUMNS, Game, columns, saved_sessions, scoring, workshop_dir
from sim.errors import ConfigError
from sim.headlines import DEFAULT as HEADLINES
from sim.levers import BY_NAME
from sim.model import Bank
from sim.params import LEVER_NAMES, lever_costs

SIZE = 3000
TEAMS = {"Red": "focal", "Blue": "state_a", "Green": "city"}


@pytest.fixture(autouse=True)
def _results(tmp_path, monkeypatch):
    """Sessions go to a temporary results folder."""
    monkeypatch.setenv("BANKLAB_RESULTS", str(tmp_path / "results"))


def _state(model) -> dict:
    """Everything that must come back when a round is undone."""
    pop = model.pop
    arrays = {k: v.copy() for k, v in vars(pop).items() if isinstance(v, np.ndarray)}
    return {
        "t": model.t,
        "steps": model.steps,
        "pop": arrays,
        "lev0": {k: v.copy() for k, v in model.params.lev0.items()},
        "market": model.datacollector.get_model_vars_dataframe().copy(),
        "banks": model.datacollector.get_agenttype_vars_dataframe(Bank).copy(),
        "kpi": [dict(b.kpi) for b in model.bank_list],
    }


def _assert_same(a: dict, b: dict) -> None:
    assert a["t"] == b["t"] and a["steps"] == b["steps"]
    assert a["pop"].keys() == b["pop"].keys()
    for k in a["pop"]:
        assert np.array_equal(a["pop"][k], b["pop"][k]), k
    for k in a["lev0"]:
        assert np.array_equal(a["lev0"][k], b["lev0"][k]), k
    pd.testing.assert_frame_equal(a["market"], b["market"])
    pd.testing.assert_frame_equal(a["banks"], b["banks"])
    assert a["kpi"] == b["kpi"]


@pytest.fixture(scope="module")
def played():
    """A game with two rounds played; states kept after each round."""
    g = Game(TEAMS, scenario="pandemic", size=SIZE, seed=3, rounds=4)
    g.set_levers("focal", {"app_quality": 0.95, "push_timing": 0.9})
    g.set_lever("city", "signup_bonus", 400.0)
    lb1 = g.play_round()
    after1 = _state(g.model)
    g.set_lever("state_a", "rewards", 0.8)
    lb2 = g.play_round()
    after2 = _state(g.model)
    return g, lb1, lb2, after1, after2


def test_lever_groups_cover_every_lever_once():
    grouped = [n for names in LEVER_GROUPS.values() for n in names]
    assert sorted(grouped) == sorted(LEVER_NAMES)
    assert set(LEVER_GROUPS) >= {"Channels", "Incentives", "Marketing", "Service"}
    spec = lever_spec("signup_bonus")
    assert (spec.lo, spec.hi) == (0.0, 2000.0) and spec.unit and spec.step > 0


def test_two_rounds_advance_26_weeks(played):
    g, *_ = played
    assert g.round == 2 and g.week == 2 * WEEKS_PER_ROUND == 26
    assert [(r.first_week, r.last_week) for r in g.history] == [(0, 12), (13, 25)]
    assert len(g.model.datacollector.get_model_vars_dataframe()) == 26
    series = g.bank_series("customers")
    assert list(series.columns) == g.bank_names and len(series) == 26


def test_leaderboard_has_one_row_per_bank_and_changes(played):
    g, lb1, lb2, *_ = played
    for lb in (lb1, lb2):
        assert len(lb) == 5
        assert sorted(lb["bank"]) == sorted(g.bank_names)
        assert sorted(lb["position"]) == [1, 2, 3, 4, 5]
        assert lb["points_round"].between(3, 15).all()
        assert lb["retention_pct"].between(0, 100).all()
    teams = dict(zip(lb1["bank"], lb1["team"], strict=True))
    assert teams["focal"] == "Red" and teams["state_b"] == "(house)"
    # every round the banks share 3 x (1 + ... + 5) = 45 points
    assert lb1["points_round"].sum() == 45 and lb2["points_round"].sum() == 45
    by1 = lb1.set_index("bank").sort_index()
    by2 = lb2.set_index("bank").sort_index()
    assert (by2["points_total"] == by1["points_total"] + by2["points_round"]).all()
    assert not by1["customers"].equals(by2["customers"])
    assert not by1["profit_k"].equals(by2["profit_k"])
    # a past round's leaderboard stays available
    pd.testing.assert_frame_equal(g.leaderboard(1), lb1)
    # the levers in force are recorded per round
    assert g.history[0].levers["focal"]["app_quality"] == pytest.approx(0.95)
    assert g.history[1].levers["state_a"]["rewards"] == pytest.approx(0.8)


def test_levers_are_checked():
    g = Game({"Solo": "focal"}, size=SIZE, seed=1, rounds=1)
    with pytest.raises(ValueError, match="outside"):
        g.set_lever("focal", "app_quality", 1.5)
    with pytest.raises(KeyError):
        g.set_lever("focal", "no_such_lever", 0.5)
    with pytest.raises(KeyError):
        g.set_lever("nobank", "app_quality", 0.5)
    with pytest.raises(ValueError, match="owned by both"):
        Game({"A": "focal", "B": "focal"}, size=SIZE, rounds=1)
    before = g.leaderboard()
    assert len(before) == 5 and (before["points_total"] == 0).all()
    g.play_round()
    assert g.finished
    with pytest.raises(RuntimeError, match="over"):
        g.play_round()


def test_back_restores_the_earlier_state_exactly(played):
    g, lb1, lb2, after1, after2 = played
    g.back()
    assert g.round == 1 and g.week == 13
    # the levers chosen for the undone round stay set ...
    assert g.levers("state_a")["rewards"] == pytest.approx(0.8)
    # ... and the market is exactly where it was after round 1 (those levers aside)
    state = _state(g.model)
    state["lev0"] = after1["lev0"]
    _assert_same(state, after1)
    pd.testing.assert_frame_equal(g.leaderboard(), lb1)
    # replaying the round with the same levers gives the same result
    lb2_again = g.play_round()
    pd.testing.assert_frame_equal(lb2_again, lb2)
    _assert_same(_state(g.model), after2)


def test_back_at_round_zero_is_refused():
    g = Game({"Solo": "focal"}, size=SIZE, seed=1, rounds=2)
    with pytest.raises(RuntimeError, match="no round"):
        g.back()


def test_save_and_load_round_trip(played):
    g, *_ = played
    path = g.save("team-day_1")
    assert path == workshop_dir().resolve() / "team-day_1.npz"
    assert path.is_file() and saved_sessions() == ["team-day_1"]
    h = Game.load("team-day_1")
    assert h.teams == g.teams and h.round == g.round and h.week == g.week
    assert h.headlines == g.headlines == HEADLINES
    assert (h.scenario, h.size, h.seed, h.rounds) == (g.scenario, g.size, g.seed, g.rounds)
    _assert_same(_state(h.model), _state(g.model))
    pd.testing.assert_frame_equal(h.leaderboard(), g.leaderboard())
    # the loaded game goes on exactly like the original, and can still go back
    h.play_round()
    g.play_round()
    _assert_same(_state(h.model), _state(g.model))
    pd.testing.assert_frame_equal(h.leaderboard(), g.leaderboard())
    h.back()
    h.back()
    assert h.round == 1
    # a session of that name is replaced only on purpose
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="'team-day_1' already exists"):
        h.save("team-day_1")
    assert path.read_bytes() == before
    assert h.save("team-day_1", replace=True) == path and Game.load("team-day_1").round == 1


@pytest.mark.parametrize(
    "name",
    [
        "../escape",
        "..",
        "a/b",
        "/etc/passwd",
        "x.pkl",
        "",
        " ",
        "a" * 65,
        "-lead",
        "na\x00me",
        "..\\win",
    ],
)
def test_unsafe_session_names_are_refused(played, name):
    g, *_ = played
    with pytest.raises(ValueError, match="not allowed"):
        g.save(name)
    with pytest.raises(ValueError, match="not allowed"):
        Game.load(name)
    with pytest.raises(ValueError):
        session_path(name, workshop_dir())
    assert not any(p.parent != workshop_dir() for p in workshop_dir().parent.rglob("*.npz"))


def test_load_refuses_a_foreign_file():
    folder = workshop_dir()
    folder.mkdir(parents=True)
    np.savez(folder / "other.npz", meta=np.array('{"format": "something else"}'))
    with pytest.raises(ValueError, match="not a saved workshop game"):
        Game.load("other")
    (folder / "old.npz").write_bytes(b"\x80\x04\x95 a pickle, not an archive")
    with pytest.raises(ValueError, match="not a readable saved game"):
        Game.load("old")
    with pytest.raises(FileNotFoundError):
        Game.load("missing")


def test_lab_session_strategy_against_baseline():
    from sim.app.charts import lab_png
    from sim.app.lab import LabSession

    lab = LabSession(scenario="pandemic", size=SIZE, seed=2, weeks=30, sample=6)
    assert lab.changed_levers() == {}
    # both runs start from the market at rest: the spun-up state of sim.spinup
    assert lab.spinup()["weeks"] == lab.model.cfg.spinup.weeks > 0
    assert lab.model.spun_up and lab.baseline.spun_up
    assert lab.model.spinup["key"] == lab.baseline.spinup["key"]
    start_holders = int(lab.model.pop.has[:, 0].sum())
    lab.step(3)
    a, b = lab.frames()
    pd.testing.assert_frame_equal(a, b)  # same levers, same seed: identical runs
    # loyalty: the week-0 customers still at the bank, or gone fully while in the market
    assert ((a["retention"] > 0) & (a["retention"] <= 1)).all()
    assert ((a["full_switch"] >= 0) & (a["full_switch"] + a["retention"] <= 1)).all()
    pop = lab.model.pop
    mask, entry = lab._start["strategy"]
    kept = int((mask & pop.alive & (pop.ti_entry == entry) & pop.has[:, 0]).sum())
    assert a["retention"].iloc[-1] == kept / start_holders
    lab.set_lever("app_quality", 1.0)
    lab.set_lever("push_per_week", 6.0)
    assert set(lab.changed_levers()) == {"app_quality", "push_per_week"}
    lab.step(10)
    a, b = lab.frames()
    assert len(a) == len(b) == 13 and lab.week == 13
    assert not a["active"].equals(b["active"])
    assert len(lab.summary()) == 7
    assert "Retention of week-0 customers" in [r["kpi"] for r in lab.summary()]
    sample = lab.customers()
    assert len(sample) == 6 and {"banks", "primary", "main channel", "satisfaction"} <= set(
        sample.columns
    )
    assert lab_png(lab)[:4] == b"\x89PNG"
    lab.step(100)
    assert lab.finished and lab.week == 30
    lab.reset(levers=lab.levers())
    assert lab.week == 0 and lab.levers()["app_quality"] == 1.0
    lab.reset(strategy="rewards")
    assert lab.levers()["rewards"] == pytest.approx(0.7)
    with pytest.raises(ValueError):
        lab.reset(scenario="../none")


# --------------------------------------------------------------------------- investment
def _invest(g: Game, new: dict[str, float], old: dict[str, float]) -> float:
    """The one-off investment of moving from ``old`` to ``new`` levers (sim.params.lever_costs)."""
    m = g.model
    costs = lever_costs(m.market, SimpleNamespace(**new), SimpleNamespace(**old), m.scale)
    return costs.invest_total


def _booked(g: Game, week: int) -> np.ndarray:
    """The investment the model's accounting booked per bank in ``week``."""
    return g.model.trackers.history[week]["investment"]


def test_costed_levers_are_the_ones_tested():
    assert BY_NAME["app_quality"].cost.invest > 0 and BY_NAME["data_capability"].cost.invest > 0
    assert BY_NAME["push_timing"].cost.invest > 0
    assert BY_NAME["rewards"].cost.invest == 0 and BY_NAME["signup_bonus"].cost.invest == 0


def test_round_one_charges_the_levers_raised_over_the_market_at_rest(played):
    g, lb1, lb2, *_ = played
    focal = g.history[0].levers["focal"]
    expected = _invest(g, focal, g.rest_levers("focal"))
    # app_quality 0.5 -> 0.95 and push_timing 0.3 -> 0.9 (the baseline is the spin-up's)
    m = g.model
    by_hand = 1e6 / m.scale * (200.0 * 0.45 + 20.0 * 0.6)
    assert expected == pytest.approx(by_hand, rel=1e-12) and expected > 0
    booked = _booked(g, 0)
    assert booked[0] == expected and (booked[1:] == 0).all()  # the sign-up bonus: no invest
    assert all((_booked(g, w) == 0).all() for w in range(1, 26))  # only the round's first week
    by1 = lb1.set_index("bank")["investment_k"]
    assert by1["focal"] == round(expected / 1000, 1) and (by1.drop("focal") == 0).all()
    assert (lb2["investment_k"] == 0).all()  # round 2 raised only rewards (no invest)


def test_raising_a_lever_between_rounds_charges_that_bank():
    """Two games alike but for one house bank's data capability raised in round 2."""
    games = [Game({"Solo": "focal"}, size=SIZE, seed=1, rounds=3) for _ in range(2)]
    for g in games:
        g.play_round()
    raised, same = games
    old = raised.levers("city")
    assert old["data_capability"] < 1.0
    raised.set_levers("city", {"data_capability": 1.0, "app_quality": old["app_quality"] + 0.2})
    assert raised.investment_due("city") > 0 and same.investment_due("city") == 0
    lb_r, lb_s = (g.play_round().set_index("bank") for g in games)
    expected = _invest(raised, raised.levers("city"), old)
    by_hand = 1e6 / raised.model.scale * (250.0 * (1.0 - old["data_capability"]) + 200.0 * 0.2)
    assert expected == pytest.approx(by_hand, rel=1e-12)
    city = raised.bank_index("city")
    booked = _booked(raised, 13)
    assert booked[city] == expected
    assert (np.delete(booked, city) == 0).all() and (_booked(same, 13) == 0).all()
    assert lb_r.loc["city", "investment_k"] == round(expected / 1000, 1)
    assert (lb_s["investment_k"] == 0).all()
    # the investment is in the bank's profit: lower than without the change
    assert lb_r.loc["city", "profit_k"] < lb_s.loc["city", "profit_k"]
    assert lb_r.loc["city", "profit_per_customer"] < lb_s.loc["city", "profit_per_customer"]
    # lowering a lever charges nothing (and refunds nothing)
    raised.set_lever("city", "data_capability", 0.0)
    assert raised.investment_due("city") == 0
    lb3 = raised.play_round()
    assert (_booked(raised, 26) == 0).all() and (lb3["investment_k"] == 0).all()


def test_back_and_replay_recount_the_investment():
    g = Game({"Solo": "state_a"}, size=SIZE, seed=1, rounds=2)
    g.play_round()
    before = _state(g.model)
    old = g.levers("state_a")
    g.set_lever("state_a", "app_quality", 1.0)
    expected = _invest(g, g.levers("state_a"), old)
    b = g.bank_index("state_a")
    lb = g.play_round()
    assert _booked(g, 13)[b] == expected > 0
    g.back()
    state = _state(g.model)
    state["lev0"] = before["lev0"]
    _assert_same(state, before)
    assert 13 not in g.model.params.invest_due
    # the same change replayed: the same charge; undone and lowered instead: none
    pd.testing.assert_frame_equal(g.play_round(), lb)
    assert _booked(g, 13)[b] == expected
    g.back()
    g.set_lever("state_a", "app_quality", old["app_quality"] - 0.1)
    g.play_round()
    assert (_booked(g, 13) == 0).all()


def test_round_one_replaces_the_week_zero_charge_of_the_strategy():
    """The focal bank's investment counts from the spin-up's levers, never twice."""
    g = Game({"Solo": "focal"}, size=SIZE, seed=1, rounds=1, strategy="app_ecosystem")
    strategy_invest = g.model.params.costs.invest_total
    assert strategy_invest == _invest(g, g.start_levers("focal"), g.rest_levers("focal")) > 0
    assert g.investment_due("focal") == strategy_invest  # the strategy kept as it is
    g.set_lever("focal", "app_quality", 0.6)  # 0.5 at rest, 0.75 in the strategy
    expected = _invest(g, g.levers("focal"), g.rest_levers("focal"))
    assert 0 < expected < strategy_invest
    g.play_round()
    assert _booked(g, 0)[0] == expected and (_booked(g, 0)[1:] == 0).all()


# --------------------------------------------------------------------------- headlines
def test_scoring_names_the_experiments_headlines():
    lines = scoring()
    assert list(lines) == list(HEADLINES) == ["loyalty", "traffic", "money"]
    for key, col in (
        ("loyalty", "retention_pct"),
        ("traffic", "traffic_pct"),
        ("money", "profit_per_customer"),
    ):
        assert COLUMNS[col].startswith(f"{key}: ")
        assert f"counterpart of {HEADLINES[key]}" in COLUMNS[col] and lines[key] in COLUMNS[col]
    assert "retention_26w" in COLUMNS["retention_pct"]
    assert "active_customers" in COLUMNS["traffic_pct"]
    money = COLUMNS["profit_per_customer"]
    assert "npv" in money and "investment" in money and "per round-start customer" in money
    assert "investment" in COLUMNS["profit_k"] and "thousand RMB" in COLUMNS["investment_k"]
    assert "loyalty + traffic + money" in COLUMNS["points_round"]
    # another headline named: the column says so; a wrong one is refused
    other = columns({"loyalty": "customer_share"})
    assert "counterpart of customer_share" in other["retention_pct"]
    assert other["traffic_pct"] == COLUMNS["traffic_pct"]
    with pytest.raises(ConfigError, match="not an outcome"):
        Game({"Solo": "focal"}, size=SIZE, rounds=1, headlines={"money": "no_such_outcome"})
    with pytest.raises(ConfigError, match="unknown key"):
        scoring({"profit": "npv"})


def test_leaderboard_columns_are_described(played):
    g, lb1, *_ = played
    assert list(lb1.columns) == list(COLUMNS) == list(g.columns())
    assert g.scoring() == scoring()
    assert list(g.leaderboard(1).columns) == list(COLUMNS)
