"""The game room without a browser (sim.app.room): seats, rounds, access, files, debrief."""

from __future__ import annotations

import json
import threading
import zipfile

import numpy as np
import pandas as pd
import pytest

from sim.app.game import workshop_dir
from sim.app.room import Room, RoomAccessError, RoomStateError, get_room, normal_code, register
from sim.app.saved import SavedGameError
from sim.model import Bank

SIZE = 2000
KEY = "facilitator-key-for-tests"
TEAMS = {"Red": "focal", "Blue": "state_a", "Green": "city"}


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    """One spin-up cache for the module; sessions go to a temporary results folder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("BANKLAB_CACHE", str(tmp_path_factory.mktemp("spinup")))
    mp.setenv("BANKLAB_RESULTS", str(tmp_path_factory.mktemp("results")))
    yield
    mp.undo()


def _room(rounds: int = 4, **kw) -> Room:
    return Room.create(TEAMS, KEY, size=SIZE, seed=5, rounds=rounds, scenario="pandemic", **kw)


def _joined(room: Room) -> dict[str, str]:
    return {team: room.join(room.code, team)["token"] for team in TEAMS}


def _state(model) -> dict:
    """Everything a continued game must agree on."""
    return {
        "t": model.t,
        "steps": model.steps,
        "pop": {k: v.copy() for k, v in vars(model.pop).items()},
        "lev0": {k: v.copy() for k, v in model.params.lev0.items()},
        "market": model.datacollector.get_model_vars_dataframe().copy(),
        "banks": model.datacollector.get_agenttype_vars_dataframe(Bank).copy(),
        "kpi": [dict(b.kpi) for b in model.bank_list],
        "history": len(model.trackers.history),
    }


def _assert_same(a: dict, b: dict) -> None:
    assert (a["t"], a["steps"], a["history"]) == (b["t"], b["steps"], b["history"])
    for k in a["pop"]:
        assert np.array_equal(a["pop"][k], b["pop"][k]), k
    for k in a["lev0"]:
        assert np.array_equal(a["lev0"][k], b["lev0"][k]), k
    pd.testing.assert_frame_equal(a["market"], b["market"])
    pd.testing.assert_frame_equal(a["banks"], b["banks"])
    assert a["kpi"] == b["kpi"]


def test_join_seats_and_views():
    room = _room(rounds=2)
    with pytest.raises(RoomAccessError, match="join code"):
        room.join("WRONG1", "Red")
    with pytest.raises(KeyError, match="no team called"):
        room.join(room.code, "Purple")
    # the code as typed: any case, with spaces or a dash; the name ignoring case
    typed = room.code[:3].lower() + "-" + room.code[3:]
    red = room.join(typed, "  red ")
    assert red["team"] == "Red" and red["bank"] == "focal" and len(red["token"]) >= 20
    with pytest.raises(RoomStateError, match="already joined"):
        room.join(room.code, "Red")
    view = room.team_view(room.code, red["token"])
    assert view["bank"] == "focal" and set(view["levers"]) == set(room.game.levers("focal"))
    assert view["budget"]["running_k"] > 0 and view["last_round"] is None
    # nothing of another bank's levers is in a team's view or the public one
    text = json.dumps(view) + json.dumps(room.public_view(room.code))
    assert "token" not in json.dumps(room.public_view(room.code))
    assert text.count('"app_quality"') == 2  # the team's own levers and its reference
    seats = {t["team"]: t for t in view["teams"]}
    assert seats["Red"]["joined"] and not seats["Blue"]["joined"]
    assert len(view["leaderboard"]) == 5 and view["round"] == 0
    # the facilitator frees a seat: the old device is out, a new one can join
    room.release(KEY, "Red")
    with pytest.raises(RoomAccessError, match="has not joined"):
        room.team_view(room.code, red["token"])
    again = room.join(room.code, "Red")
    assert again["token"] != red["token"]
    assert room.team_view(room.code, again["token"])["bank"] == "focal"
    # the registry finds a room by its code as typed
    register(room)
    assert get_room(normal_code(typed)) is room
    with pytest.raises(RoomAccessError):
        get_room("NOSUCH")


def test_concurrent_submissions_all_count():
    room = _room(rounds=1)
    tokens = _joined(room)
    barrier = threading.Barrier(len(tokens))
    errors: list[BaseException] = []
    v0 = room.version
    values = {"Red": 0.9, "Blue": 0.8, "Green": 0.7}

    def submit(team: str) -> None:
        try:
            barrier.wait()
            for i in range(20):  # many at once, the last one counts
                v = values[team] if i == 19 else 0.5
                room.submit(room.code, tokens[team], {"app_quality": v})
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=submit, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert room.missing() == []
    assert room.version == v0 + 60
    assert sum(s.submissions for s in room.seats.values()) == 60
    for team, v in values.items():
        assert room.seats[team].levers["app_quality"] == v
    room.advance(KEY)
    for team, bank in TEAMS.items():
        assert room.game.history[0].levers[bank]["app_quality"] == values[team]


def test_advance_when_all_submitted_or_forced():
    room = _room(rounds=2)
    tokens = _joined(room)
    house = room.game.levers("state_b")
    room.submit(room.code, tokens["Red"], {"signup_bonus": 300.0})
    with pytest.raises(RoomStateError, match="waiting for Blue, Green"):
        room.advance(KEY)
    before = room.version
    board = room.advance(KEY, force=True)
    assert room.version > before and room.game.round == 1 and room.phase == "open"
    assert len(board) == 5 and all(r["points_round"] > 0 for r in board)
    assert room.game.history[0].levers["focal"]["signup_bonus"] == 300.0
    assert room.game.history[0].levers["state_b"] == house
    # the round is open again: nobody has submitted, levers carried over
    assert room.missing() == list(TEAMS)
    view = room.team_view(room.code, tokens["Red"])
    assert view["levers"]["signup_bonus"] == 300.0 and not view["submitted"]
    assert view["last_round"]["bank"] == "focal" and view["leaderboard_round"] == 1
    for t in tokens.values():
        room.submit(room.code, t, {})
    room.advance(KEY)
    assert room.phase == "finished" and room.game.finished
    with pytest.raises(RoomStateError, match="game is over"):
        room.submit(room.code, tokens["Red"], {})
    with pytest.raises(RoomStateError, match="game is over"):
        room.advance(KEY, force=True)


def test_auto_advance_plays_on_the_last_submission():
    room = _room(rounds=2, auto_advance=True)
    tokens = _joined(room)
    for team in ("Red", "Blue"):
        assert room.submit(room.code, tokens[team], {}) == {"all_submitted": False}
    assert room.game.round == 0
    assert room.submit(room.code, tokens["Green"], {}) == {"all_submitted": True}
    deadline = room.version
    while room.game.round == 0 or room.phase == "playing":
        deadline = room.wait(deadline, timeout=30)
    assert room.game.round == 1 and room.phase == "open" and room.error == ""


def test_teams_cannot_touch_other_banks_or_the_facilitators_controls():
    room = _room(rounds=2)
    tokens = _joined(room)
    before = {t: dict(s.levers) for t, s in room.seats.items()}
    with pytest.raises(RoomAccessError, match="cannot change the levers of State bank A"):
        room.submit(room.code, tokens["Red"], {"app_quality": 1.0}, bank="state_a")
    with pytest.raises(RoomAccessError, match="join code"):
        room.submit("AAAAAA", tokens["Red"], {"app_quality": 1.0})
    with pytest.raises(RoomAccessError, match="has not joined"):
        room.submit(room.code, "forged-token", {"app_quality": 1.0})
    # a bad value refuses the whole submission (nothing half-taken)
    with pytest.raises(ValueError, match="outside"):
        room.submit(room.code, tokens["Red"], {"rewards": 0.9, "app_quality": 7.0})
    with pytest.raises(KeyError, match="unknown lever"):
        room.submit(room.code, tokens["Red"], {"no_such_lever": 1.0})
    assert {t: dict(s.levers) for t, s in room.seats.items()} == before
    assert room.missing() == list(TEAMS)
    # a team token, the join code or nothing is not the facilitator's key
    for key in (tokens["Red"], room.code, None, "", KEY + "x"):
        for action in (
            lambda k: room.advance(k, force=True),
            room.back,
            room.pause,
            lambda k: room.release(k, "Blue"),
            lambda k: room.save(k, "x"),
            room.host_view,
            room.debrief_html,
        ):
            with pytest.raises(RoomAccessError, match="facilitator's key"):
                action(key)
    assert room.game.round == 0 and not room.paused
    assert not (workshop_dir() / "x.npz").exists()


def test_pause_and_back():
    room = _room(rounds=3)
    tokens = _joined(room)
    room.pause(KEY)
    with pytest.raises(RoomStateError, match="paused"):
        room.submit(room.code, tokens["Red"], {})
    with pytest.raises(RoomStateError, match="paused"):
        room.advance(KEY, force=True)
    room.pause(KEY, False)
    room.submit(room.code, tokens["Red"], {"app_quality": 0.9})
    room.advance(KEY, force=True)
    after1 = _state(room.game.model)
    board1 = room.public_view(room.code)["leaderboard"]
    room.submit(room.code, tokens["Blue"], {"rewards": 0.8})
    board2 = room.advance(KEY, force=True)
    room.back(KEY)
    assert room.game.round == 1 and room.phase == "open"
    assert room.public_view(room.code)["leaderboard"] == board1
    # the undone round's levers stay as the teams' drafts; the market is back exactly
    assert room.seats["Blue"].levers["rewards"] == 0.8 and room.missing() == list(TEAMS)
    state = _state(room.game.model)
    state["lev0"] = after1["lev0"]
    _assert_same(state, after1)
    assert room.advance(KEY, force=True) == board2


def _play_two_rounds(save_after_one: bool) -> Room:
    room = _room(rounds=3)
    tokens = _joined(room)
    room.submit(room.code, tokens["Red"], {"app_quality": 0.95, "push_timing": 0.8})
    room.submit(room.code, tokens["Green"], {"signup_bonus": 400.0})
    room.advance(KEY, force=True)
    room.submit(room.code, tokens["Blue"], {"rewards": 0.9})  # a draft of round 2
    if save_after_one:
        path = room.save(KEY, "room-day1")
        blob = path.read_bytes()
        assert all(t.encode() not in blob for t in tokens.values()) and KEY.encode() not in blob
        room = Room.load("room-day1", KEY)
        assert room.seats["Blue"].levers["rewards"] == 0.9 and room.seats["Blue"].submitted
        assert all(s.token is None for s in room.seats.values())
        tokens = _joined(room)  # the teams join the loaded room again
    room.submit(room.code, tokens["Red"], {"data_capability": 0.9})
    room.advance(KEY, force=True)
    return room


def test_save_load_continue_is_identical_to_playing_straight_through():
    straight = _play_two_rounds(save_after_one=False)
    resumed = _play_two_rounds(save_after_one=True)
    _assert_same(_state(resumed.game.model), _state(straight.game.model))
    for k in (1, 2):
        pd.testing.assert_frame_equal(resumed.game.leaderboard(k), straight.game.leaderboard(k))
    # the loaded room can still go back to round 1, exactly
    resumed.back(KEY)
    straight.back(KEY)
    _assert_same(_state(resumed.game.model), _state(straight.game.model))


def _rewrite(path, change) -> None:
    """Rewrite a saved file with ``change(meta, arrays)`` applied (the digest kept as it was)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    change(meta, arrays)
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)


def test_corrupt_other_version_and_tampered_files_are_refused(tmp_path):
    from sim.app.saved import file_digest

    room = _room(rounds=2)
    room.advance(KEY, force=True)
    good = room.save(KEY, "good").read_bytes()
    folder = workshop_dir()

    def variant(name: str, change=None, data: bytes | None = None) -> str:
        path = folder / f"{name}.npz"
        path.write_bytes(good if data is None else data)
        if change is not None:
            _rewrite(path, change)
        return name

    def redigest(meta, arrays):
        meta["digest"] = file_digest(meta, arrays)

    def sat(meta, arrays):
        arrays["model.pop.sat"] = arrays["model.pop.sat"].copy()
        arrays["model.pop.sat"][0, 0] += 0.25

    def lever_out_of_range(meta, arrays):
        arrays["model.lev0.app_quality"] = arrays["model.lev0.app_quality"] * 0 + 3.0
        redigest(meta, arrays)

    cases = {
        variant("truncated", data=good[: len(good) // 2]): "not a readable saved game",
        variant("noise", data=b"PK\x03\x04" + bytes(200)): "not a readable saved game",
        variant("v1", lambda m, a: m.update(version=1)): "format version 1",
        variant("code", lambda m, a: m.update(code="0" * 64)): "other model code",
        variant("meta-edit", lambda m, a: m["settings"]["teams"].update(Red="state_b")): "digest",
        variant("array-edit", sat): "digest",
        variant("range", lever_out_of_range): "outside",
        variant("size", lambda m, a: (m["settings"].update(size=3000), redigest(m, a))): ("needs"),
    }
    for name, message in cases.items():
        with pytest.raises(SavedGameError, match=message) as err:
            Room.load(name, KEY)
        assert f"{name}.npz" in str(err.value)
    # a pickled object inside the archive is never unpickled: nothing runs
    marker = tmp_path / "ran"
    evil = folder / "evil.npz"
    payload = np.array([_Trap(str(marker))], dtype=object)
    with zipfile.ZipFile(evil, "w") as z:
        for name, data in (("meta", np.array("{}")), ("model.pop.alive", payload)):
            with z.open(f"{name}.npy", "w") as f:
                np.lib.format.write_array(f, data, allow_pickle=True)
    with pytest.raises(SavedGameError, match="not a readable saved game"):
        Room.load("evil", KEY)
    assert not marker.exists()
    assert Room.load("good", KEY).game.round == 1


class _Trap:
    """An object that would write a file if it were ever unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_debrief_has_every_round():
    room = _room(rounds=2)
    tokens = _joined(room)
    room.submit(room.code, tokens["Red"], {"app_quality": 0.9})
    room.advance(KEY, force=True)
    room.submit(room.code, tokens["Blue"], {"rewards": 0.85})
    room.advance(KEY, force=True)
    page = room.debrief_html(KEY)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert 'id="round-1"' in page and 'id="round-2"' in page
    for team in TEAMS:
        assert team in page
    assert "0.9 <span class=old>(was 0.5)</span>" in page  # round 1: app quality raised
    assert "0.85 <span class=old>(was" in page  # round 2: rewards raised
    assert page.count("data:image/png;base64,") == 4  # points, game, one per round
    assert "http://" not in page and "https://" not in page  # self-contained
    assert page.count("Leaderboard after round") == 2


def test_a_saved_game_is_never_overwritten_by_accident():
    room = _room(rounds=2)
    first = room.save(KEY, "same-name")
    before = first.read_bytes()
    room.advance(KEY, force=True)
    with pytest.raises(FileExistsError, match="'same-name' already exists"):
        room.save(KEY, "same-name")
    assert first.read_bytes() == before
    assert room.save(KEY, "same-name", replace=True) == first
    assert Room.load("same-name", KEY).game.round == 1


def test_the_room_serves_this_computer_unless_the_network_is_asked_for(monkeypatch, capsys):
    import uvicorn

    from sim.app.room_web import main as serve
    from sim.app.room_web import parse_args

    local = parse_args([])
    assert local.host == "127.0.0.1" and not local.network and local.port == 8766
    with pytest.raises(SystemExit):
        parse_args(["--host", "0.0.0.0"])  # beyond this computer only with --network
    assert "add --network" in capsys.readouterr().err
    assert parse_args(["--host", "::1"]).host == "::1"
    served: list[tuple] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **kw: served.append((host, port)))
    serve(["--key", KEY])
    out = capsys.readouterr()
    assert served[-1] == ("127.0.0.1", 8766) and "warning" not in out.err
    assert f"/host#key={KEY}" in out.out and "teams open http://127.0.0.1:8766/" in out.out
    serve(["--network", "--key", KEY, "--port", "8800"])
    out = capsys.readouterr()
    assert served[-1] == ("0.0.0.0", 8800)
    assert "warning: the room is served on the network" in out.err
    assert "join code for every action" in out.err
    assert f"http://127.0.0.1:8800/host#key={KEY}" in out.out  # the key never leaves this host
