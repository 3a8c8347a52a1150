"""A game room: every team plays the team game from its own device, the facilitator runs it.

Plain Python, no web code (the pages and the HTTP API are :mod:`sim.app.room_web`): a
:class:`Room` wraps one :class:`sim.app.game.Game` (one model per game, on the server)
and adds who may do what, and when.

* **Seats.** The facilitator names the teams and the bank each owns. A team joins with
  the room's short *join code* and its team name (:meth:`Room.join`) and gets a *team
  token*, a secret its browser keeps: every team action carries the join code and the
  token, and the token decides the bank; a request for another bank is refused. A seat
  is taken by the first device that joins it; a reloaded page or a lost connection
  comes back with its token (:meth:`Room.team_view`), a new device needs the
  facilitator to free the seat (:meth:`Room.release`).
* **Rounds.** While a round is open, each team submits its levers
  (:meth:`Room.submit`, as often as it likes; the last submission counts); a team that
  submits nothing keeps its levers. The facilitator plays the round when every team has
  submitted, or earlier with ``force`` (:meth:`Room.advance`; with ``auto_advance`` the
  last submission plays it), goes back a round (:meth:`Room.back`) or pauses the room
  (:meth:`Room.pause`: no submissions, no rounds). The scoring, the rounds and the
  investment charges are the game's (:mod:`sim.app.game`).
* **Facilitator's key.** Every facilitator action needs the key the room was made with
  (compared in constant time); a team token or a join code is not a key.
* **Concurrency.** One lock guards the room's state, so submissions arriving at the
  same instant from different threads all count. A round is played outside that lock
  (the room is in phase ``playing``: submissions are refused, views are served from
  what the room knew before). Every change increases :attr:`Room.version`;
  :meth:`Room.wait` blocks until it passes a given version (long polling).
* **Saved as data.** :meth:`Room.save` writes the game (:meth:`Game.to_data`, JSON and
  NumPy arrays, :mod:`sim.app.saved`) plus the room's seats, drafts and log; tokens and
  keys are never saved. :meth:`Room.load` makes a new room (a new join code) from it:
  teams join again with their names.

The registry (:func:`register`, :func:`get_room`) keeps the rooms of one server process.
Join codes and tokens come from :mod:`secrets` (they are credentials, not model draws).
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sim.app.common import LEVER_GROUPS, WEEKS_PER_ROUND, bank_label, check_lever, session_path
from sim.app.game import HOUSE, Game, workshop_dir
from sim.app.saved import SavedGameError, check_free, read_file, write_file
from sim.params import LEVER_NAMES

#: Letters and digits that cannot be mistaken for each other (no 0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
#: Most rooms one server keeps (each holds a model: tens of MB at 20,000 customers).
MAX_ROOMS = 8
#: A team seen within this many seconds counts as connected (a long poll lasts 20 s).
CONNECTED_SECONDS = 30.0

OPEN, PLAYING, FINISHED = "open", "playing", "finished"


class RoomError(Exception):
    """A room action that is not allowed now (the message says why)."""


class RoomAccessError(RoomError):
    """Wrong join code, team token or facilitator key, or another team's bank."""


class RoomStateError(RoomError):
    """An action the room's state does not allow now (paused, playing, not all submitted)."""


def new_code() -> str:
    """A fresh join code: six characters of :data:`CODE_ALPHABET`."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normal_code(code: str) -> str:
    """A join code as typed (any case, spaces or dashes) in its canonical form."""
    return "".join(ch for ch in str(code).upper() if ch.isalnum())


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(str(a), str(b))


@dataclass
class Seat:
    """A team's place in the room: its bank, its device's token, its draft levers."""

    team: str
    bank: str
    levers: dict[str, float]
    token: str | None = None
    submitted: bool = False
    joined_at: float | None = None
    last_seen: float = 0.0
    submissions: int = 0

    def public(self, now: float) -> dict:
        """What every view may show of the seat (never the token or the levers)."""
        return {
            "team": self.team,
            "bank": self.bank,
            "bank_label": bank_label(self.bank),
            "joined": self.token is not None,
            "connected": self.token is not None and now - self.last_seen < CONNECTED_SECONDS,
            "submitted": self.submitted,
        }


@dataclass
class LogEntry:
    """One event of the room (for the facilitator's view and the debrief)."""

    at: float
    text: str


@dataclass
class _Cache:
    board: list[dict] = field(default_factory=list)
    board_round: int = 0
    chart_key: tuple | None = None
    chart: bytes = b""


class Room:
    """A room around one game: seats, submissions, the facilitator's controls."""

    def __init__(
        self,
        game: Game,
        facilitator_key: str,
        name: str = "room",
        auto_advance: bool = False,
        code: str | None = None,
    ) -> None:
        """A room for ``game``; ``facilitator_key`` guards the facilitator's controls."""
        if not facilitator_key or len(str(facilitator_key)) < 8:
            raise ValueError("the facilitator key must have at least 8 characters")
        self.game = game
        self.name = str(name)
        self.code = normal_code(code) if code else new_code()
        self.auto_advance = bool(auto_advance)
        self._key = str(facilitator_key)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.version = 0
        self.phase = FINISHED if game.finished else OPEN
        self.paused = False
        self.message = ""
        self.error = ""
        self.last_round_seconds: float | None = None
        self.log: list[LogEntry] = []
        self.seats = {
            team: Seat(team, bank, game.levers(bank)) for team, bank in game.teams.items()
        }
        self._cache = _Cache()
        self._refresh()

    @classmethod
    def create(
        cls,
        teams: dict[str, str],
        facilitator_key: str,
        scenario: str = "none",
        size: int = 20_000,
        seed: int = 1,
        rounds: int = 8,
        market: str = "default",
        strategy: str = "baseline",
        name: str = "room",
        auto_advance: bool = False,
    ) -> Room:
        """A new game and its room (``teams``: team name -> bank)."""
        game = Game(
            teams,
            scenario=scenario,
            size=size,
            seed=seed,
            rounds=rounds,
            strategy=strategy,
            market=market,
        )
        return cls(game, facilitator_key, name=name, auto_advance=auto_advance)

    # ------------------------------------------------------------------ access
    def _host(self, key: str | None) -> None:
        if not _same(key, self._key):
            raise RoomAccessError("the facilitator's key is missing or wrong")

    def _check_code(self, code: str | None) -> None:
        if code is None or not _same(normal_code(code), self.code):
            raise RoomAccessError("the join code is missing or wrong")

    def _seat(self, code: str | None, token: str | None) -> Seat:
        self._check_code(code)
        for seat in self.seats.values():
            if _same(token, seat.token):
                seat.last_seen = time.monotonic()
                return seat
        raise RoomAccessError(
            "this device has not joined a team of the room (or its seat was freed)"
        )

    def _bump(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
            self.log.append(LogEntry(time.time(), message))
        self.version += 1
        self._changed.notify_all()

    def wait(self, since: int, timeout: float = 20.0) -> int:
        """Block until :attr:`version` exceeds ``since`` (or ``timeout`` s); the version."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.version <= since:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return self.version

    # ------------------------------------------------------------------ teams
    def join(self, code: str, team: str) -> dict:
        """Take the seat of ``team`` (matched ignoring case); its token and bank.

        Raises:
            RoomAccessError: wrong join code.
            KeyError: no team of that name.
            RoomStateError: the seat is taken by another device (the facilitator can free it).
        """
        with self._lock:
            self._check_code(code)
            wanted = " ".join(str(team).split()).casefold()
            seat = next((s for s in self.seats.values() if s.team.casefold() == wanted), None)
            if seat is None:
                raise KeyError(
                    f"no team called {team!r} in this room; teams: {', '.join(self.seats)}"
                )
            if seat.token is not None:
                raise RoomStateError(
                    f"team {seat.team} has already joined from another device; the "
                    "facilitator can free the seat if you changed device"
                )
            seat.token = secrets.token_urlsafe(18)
            seat.joined_at = seat.last_seen = time.monotonic()
            self._bump(f"{seat.team} joined ({bank_label(seat.bank)})")
            return {"token": seat.token, "team": seat.team, "bank": seat.bank}

    def submit(
        self, code: str, token: str, levers: dict[str, float], bank: str | None = None
    ) -> dict:
        """Submit the team's levers for the open round (merged into its draft).

        ``bank``, when given, must be the team's own. Every value is checked against its
        lever's range before any is taken. Returns ``{"all_submitted": bool}``; with
        ``auto_advance`` the last submission starts the round in a thread.

        Raises:
            RoomAccessError: wrong code or token, or another team's bank.
            RoomStateError: paused, a round being played, or the game over.
            KeyError / ValueError: an unknown lever or a value out of its range.
        """
        with self._lock:
            seat = self._seat(code, token)
            if bank is not None and bank != seat.bank:
                raise RoomAccessError(
                    f"team {seat.team} runs the {bank_label(seat.bank)}; it cannot change "
                    f"the levers of {bank_label(str(bank))}"
                )
            self._check_open("submit levers")
            if not isinstance(levers, dict):
                raise ValueError("levers must be a table of lever name -> value")
            checked = {str(k): check_lever(str(k), v) for k, v in levers.items()}
            seat.levers.update(checked)
            seat.submitted = True
            seat.submissions += 1
            missing = self.missing()
            self._bump(
                f"{seat.team} submitted its levers for round {self.game.round + 1}"
                + ("" if missing else "; every team has submitted")
            )
            go = self.auto_advance and not missing
            if go:
                self._start_round()
        if go:
            threading.Thread(target=self._play_logged, daemon=True, name="room-round").start()
        return {"all_submitted": not missing}

    def price(self, code: str, token: str, levers: dict[str, float] | None = None) -> dict:
        """The budget of the team's draft with ``levers`` merged in (nothing is submitted).

        What :meth:`team_view` shows as ``budget``: the one-off investment and the running
        costs over a round (:meth:`Game.round_costs`), in thousand RMB.
        """
        with self._lock:
            seat = self._seat(code, token)
            if levers is not None and not isinstance(levers, dict):
                raise ValueError("levers must be a table of lever name -> value")
            draft = dict(seat.levers)
            draft.update({str(k): check_lever(str(k), v) for k, v in (levers or {}).items()})
            own = next((r for r in self._cache.board if r["bank"] == seat.bank), {})
            return self.game.round_costs(seat.bank, draft, own.get("customers") or 0)

    def missing(self) -> list[str]:
        """Teams that have not submitted for the open round."""
        return [s.team for s in self.seats.values() if not s.submitted]

    def _check_open(self, what: str) -> None:
        if self.phase == FINISHED:
            raise RoomStateError(f"cannot {what}: the game is over")
        if self.phase == PLAYING:
            raise RoomStateError(f"cannot {what}: round {self.game.round + 1} is being played")
        if self.paused:
            raise RoomStateError(f"cannot {what}: the facilitator has paused the room")

    # ------------------------------------------------------------------ facilitator
    def advance(self, key: str, force: bool = False) -> list[dict]:
        """Play the open round (every team submitted, or ``force``); the new leaderboard.

        Blocks while the round is played (about a second at 20,000 customers).
        """
        with self._lock:
            self._host(key)
            self._check_open("play a round")
            missing = self.missing()
            if missing and not force:
                raise RoomStateError(
                    f"waiting for {', '.join(missing)} to submit; force the round to play it "
                    "now (they keep their levers)"
                )
            self._start_round()
        return self._play()

    def _start_round(self) -> None:
        for seat in self.seats.values():
            self.game.set_levers(seat.bank, seat.levers)
        self.phase = PLAYING
        self.error = ""
        self._bump(f"Round {self.game.round + 1} is being played")

    def _play_logged(self) -> None:
        with contextlib.suppress(Exception):  # already in the room's error, in every view
            self._play()

    def _play(self) -> list[dict]:
        t0 = time.perf_counter()
        try:
            self.game.play_round()
        except Exception as e:
            with self._lock:
                self.phase = OPEN
                self.error = f"round {self.game.round + 1} failed: {type(e).__name__}: {e}"
                self._bump(self.error)
            raise
        with self._lock:
            self.last_round_seconds = round(time.perf_counter() - t0, 3)
            self.phase = FINISHED if self.game.finished else OPEN
            self._reset_seats()
            self._refresh()
            g = self.game
            self._bump(
                f"Round {g.round} played (weeks {g.week - WEEKS_PER_ROUND + 1}-{g.week})"
                + ("; the game is over" if g.finished else "")
            )
            return list(self._cache.board)

    def _reset_seats(self) -> None:
        for seat in self.seats.values():
            seat.levers = self.game.levers(seat.bank)
            seat.submitted = False

    def back(self, key: str) -> None:
        """Undo the last round (the game's :meth:`Game.back`); the round opens again."""
        with self._lock:
            self._host(key)
            if self.phase == PLAYING:
                raise RoomStateError("cannot go back while a round is being played")
            self.game.back()
            self.phase = OPEN
            self._reset_seats()
            self._refresh()
            self._bump(f"Went back: round {self.game.round + 1} is open again")

    def pause(self, key: str, paused: bool = True) -> None:
        """Pause (no submissions, no rounds) or resume the room."""
        with self._lock:
            self._host(key)
            self.paused = bool(paused)
            self._bump("Paused by the facilitator" if paused else "Resumed")

    def release(self, key: str, team: str) -> None:
        """Free ``team``'s seat: its device's token stops working; the team can join again."""
        with self._lock:
            self._host(key)
            if team not in self.seats:
                raise KeyError(f"no team called {team!r}; teams: {', '.join(self.seats)}")
            self.seats[team].token = None
            self._bump(f"{team}'s seat was freed")

    def set_auto_advance(self, key: str, on: bool) -> None:
        """Whether the last submission plays the round."""
        with self._lock:
            self._host(key)
            self.auto_advance = bool(on)
            self._bump()

    # ------------------------------------------------------------------ views
    def _refresh(self) -> None:
        """Recompute the leaderboard (never while a round is played)."""
        g = self.game
        df = g.leaderboard()
        rows = df.to_dict("records")
        for r in rows:
            r["bank_label"] = bank_label(r["bank"])
            r["team"] = "house" if r["team"] == HOUSE else r["team"]
            for k, v in r.items():
                if isinstance(v, float) and v != v:
                    r[k] = None  # NaN: not played yet
        self._cache.board = rows
        self._cache.board_round = g.round

    def public_view(self, code: str) -> dict:
        """What the projector (and every team) sees: status, seats, leaderboard."""
        with self._lock:
            self._check_code(code)
            return self._public()

    def _public(self) -> dict:
        g = self.game
        now = time.monotonic()
        return {
            "code": self.code,
            "name": self.name,
            "version": self.version,
            "phase": self.phase,
            "paused": self.paused,
            "round": g.round,
            "rounds": g.rounds,
            "next_round": min(g.round + 1, g.rounds),
            "week": g.week,
            "scenario": g.scenario,
            "size": g.size,
            "message": self.message,
            "error": self.error,
            "teams": [s.public(now) for s in self.seats.values()],
            "leaderboard": list(self._cache.board),
            "leaderboard_round": self._cache.board_round,
            "scoring": g.scoring(),
            "chart_key": f"{g.round}-{g.week}",
        }

    def team_view(self, code: str, token: str) -> dict:
        """What one team sees: the public view plus its bank, levers, costs and results."""
        with self._lock:
            seat = self._seat(code, token)
            g = self.game
            view = self._public()
            own = next((r for r in self._cache.board if r["bank"] == seat.bank), {})
            last = None
            if g.history:
                last = next(r for r in g.history[-1].rows if r["bank"] == seat.bank)
            customers = own.get("customers") or 0
            view.update(
                {
                    "team": seat.team,
                    "bank": seat.bank,
                    "bank_label": bank_label(seat.bank),
                    "levers": dict(seat.levers),
                    "submitted": seat.submitted,
                    "reference_levers": (
                        g.history[-1].levers[seat.bank] if g.history else g.rest_levers(seat.bank)
                    ),
                    "budget": g.round_costs(seat.bank, seat.levers, customers),
                    "last_round": last,
                }
            )
            return view

    def host_view(self, key: str) -> dict:
        """What the facilitator sees: the public view plus the controls' state and the log."""
        with self._lock:
            self._host(key)
            view = self._public()
            view.update(
                {
                    "missing": self.missing(),
                    "auto_advance": self.auto_advance,
                    "last_round_seconds": self.last_round_seconds,
                    "log": [e.text for e in self.log[-12:]],
                    "describe": self.game.describe(),
                    "kept_mb": round(self.game.kept_bytes() / 1e6, 2),
                }
            )
            return view

    def chart_png(self, code: str) -> bytes:
        """The market's charts (customers, active, satisfaction per bank), cached per round."""
        from sim.app.charts import game_png

        with self._lock:
            self._check_code(code)
        g = self.game
        with g.lock:  # never while the round is stepping
            key = (g.round, g.week, id(g.model))
            if self._cache.chart_key != key:
                self._cache.chart = game_png(g)
                self._cache.chart_key = key
            return self._cache.chart

    # ------------------------------------------------------------------ files
    def save(self, key: str, name: str, replace: bool = False) -> Path:
        """Write the room to ``results/workshop/<name>.npz`` (data only, no tokens or keys).

        A saved session of that name is replaced only with ``replace`` (otherwise
        :class:`FileExistsError`). The state is copied under the room's lock; the file is
        compressed and written outside it, so the views go on meanwhile.
        """
        with self._lock:
            self._host(key)
            if self.phase == PLAYING:
                raise RoomStateError("cannot save while a round is being played")
            path = check_free(session_path(name, workshop_dir()), replace)
            played = self.game.round
            meta, arrays = self.game.to_data()
            meta["room"] = {
                "name": self.name,
                "auto_advance": self.auto_advance,
                "paused": self.paused,
                "seats": [
                    {
                        "team": s.team,
                        "bank": s.bank,
                        "submitted": s.submitted,
                        "levers": dict(s.levers),
                    }
                    for s in self.seats.values()
                ],
                "log": [[e.at, e.text] for e in self.log],
            }
        write_file(path, meta, arrays, replace=replace)
        with self._lock:
            self._bump(f"Saved as {name} after round {played}")
        return path

    @classmethod
    def load(cls, name: str, facilitator_key: str) -> Room:
        """A new room (new join code, every seat free) from a saved room or team game."""
        path = session_path(name, workshop_dir())
        if not path.is_file():
            raise FileNotFoundError(f"no saved session {name!r} in {workshop_dir()}")
        meta, arrays = read_file(path)
        game = Game.from_data(path, meta, arrays)
        saved = meta.get("room") or {}
        try:
            room = cls(
                game,
                facilitator_key,
                name=str(saved.get("name", name)),
                auto_advance=bool(saved.get("auto_advance", False)),
            )
            room.paused = bool(saved.get("paused", False))
            for s in saved.get("seats", []):
                seat = room.seats.get(s["team"])
                if seat is None or seat.bank != s["bank"]:
                    raise SavedGameError(f"{path}: room seat {s['team']!r} is not a team")
                seat.levers.update({k: check_lever(k, v) for k, v in s["levers"].items()})
                seat.submitted = bool(s["submitted"]) and room.phase == OPEN
            room.log = [LogEntry(float(at), str(text)) for at, text in saved.get("log", [])]
        except SavedGameError:
            raise
        except (KeyError, TypeError, ValueError) as e:
            raise SavedGameError(
                f"{path}: the room's entry is malformed ({type(e).__name__}: {e})"
            ) from None
        with room._lock:
            room._bump(f"Loaded {name}: {game.describe()}")
        return room

    def debrief_html(self, key: str) -> str:
        """The debrief page (self-contained HTML): per round the levers and the leaderboard."""
        from sim.app.debrief import debrief_html

        with self._lock:
            self._host(key)
            if self.phase == PLAYING:
                raise RoomStateError("the debrief is ready once the round has been played")
            log = [e.text for e in self.log]
        g = self.game
        with g.lock:  # drawn outside the room's lock: the views go on meanwhile
            return debrief_html(g, title=self.name, log=log)


def lever_catalogue() -> list[dict]:
    """The levers by theme with label, range, unit, step and help (for the team page)."""
    from sim.app.common import lever_spec

    out = []
    for group, names in LEVER_GROUPS.items():
        items = []
        for n in names:
            s = lever_spec(n)
            items.append(
                {"name": n, "label": s.label, "lo": s.lo, "hi": s.hi, "unit": s.unit}
                | {"step": s.step, "doc": s.doc}
            )
        out.append({"group": group, "levers": items})
    assert sorted(i["name"] for g in out for i in g["levers"]) == sorted(LEVER_NAMES)
    return out


# --------------------------------------------------------------------------- registry
_ROOMS: dict[str, Room] = {}
_REGISTRY = threading.Lock()


def register(room: Room) -> Room:
    """Keep ``room`` in this process under its join code (at most :data:`MAX_ROOMS`)."""
    with _REGISTRY:
        if len(_ROOMS) >= MAX_ROOMS:
            raise RoomStateError(
                f"this server already runs {MAX_ROOMS} rooms; close one (restart the server)"
            )
        while room.code in _ROOMS:
            room.code = new_code()
        _ROOMS[room.code] = room
        return room


def get_room(code: str) -> Room:
    """The room with join code ``code``; an unknown code is :class:`RoomAccessError`."""
    with _REGISTRY:
        room = _ROOMS.get(normal_code(code))
    if room is None:
        raise RoomAccessError("no room has this join code")
    return room


def rooms() -> list[Room]:
    """The rooms of this process, oldest first."""
    with _REGISTRY:
        return list(_ROOMS.values())


def close_room(code: str) -> None:
    """Forget a room (its model is freed)."""
    with _REGISTRY:
        _ROOMS.pop(normal_code(code), None)
