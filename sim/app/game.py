"""The team game: teams run the market's banks quarter by quarter.

Plain Python (no browser needed): the workshop UI (:mod:`sim.app.ui`) sits on top.

* Each team owns one bank of the market (banks no team owns keep the levers of
  the market file: "house" banks).
* A round is a quarter: every team sets its bank's levers
  (:meth:`Game.set_lever`), then :meth:`Game.play_round` advances the market
  13 weeks and scores the round.
* The leaderboard ranks the banks on three dimensions, each size-neutral so a
  small bank can beat a large one. They are named like the experiment's headline
  outcomes (:mod:`sim.headlines`: loyalty, traffic, money; ``Game(headlines=...)``
  names others), and each is the round's counterpart of its headline
  (:func:`scoring` says so in one line each, the leaderboard's :data:`COLUMNS` too):

  - **loyalty** (``retention_pct``; headline ``retention_26w``): round retention,
    the share of the bank's customers at the start of the round who still hold an
    account at its end (ties: customers at the end);
  - **traffic** (``traffic_pct``; headline ``active_customers``): active customers
    (an interaction in the last 4 weeks) at the end of the round as a percentage
    of those at its start (ties: contacts per customer);
  - **money** (``profit_per_customer``; headline ``npv``): the round's profit per
    customer at the start of the round, profit being revenue less the cost to
    serve, the marketing spend (acquisition and retention spend, bonuses and
    rewards included), the levers' running costs (``market.costs``,
    :mod:`sim.levers`) and the one-off investment below (ties: the round's profit).

  The best of B banks on a dimension earns B points, the worst 1; the points
  add up over the rounds.
* Investment: a lever change takes effect in the round it is played for, and
  the bank pays, in that round's first week, the one-off investment of every
  costed lever it raised: ``invest`` per unit of :meth:`sim.levers.Lever.level`
  gained over the levers in force in the previous round, nothing back for a
  lever lowered (the rule of a run's week 0, :func:`sim.params.lever_costs`).
  Every bank pays, team-owned or not; in round 1 the gain is counted from the
  levers at rest before the game (the spin-up's: ``spinup.strategy`` for the
  focal bank, the market file's for the others), and this charge replaces the
  model's own week-0 charge of the game's strategy (the same amount if round 1
  keeps the strategy's levers). The game books it through the model's
  accounting (``params.invest_due[week]``, per bank), so it is in the bank's
  weekly ``investment`` KPI and its profit; the leaderboard shows it
  (``investment_k``). Running costs follow the levers in force every week.
* :meth:`Game.back` undoes the last round: the model is restored from the
  snapshot of its state taken just before the round was played
  (:func:`sim.app.saved.model_state`; the levers chosen for that round stay set,
  so teams can change them and replay).
* :meth:`Game.save` and :meth:`Game.load` write and read the whole session
  (model, per-round snapshots, history) as data, ``results/workshop/<name>.npz``:
  JSON and NumPy arrays, no pickle, versioned and checked on loading
  (:mod:`sim.app.saved`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from sim.app.common import (
    DEFAULT_SIZE,
    WEEKS_PER_ROUND,
    bank_label,
    build_model,
    check_lever,
    game_config,
    market_banks,
    session_path,
)
from sim.app.saved import (
    SavedGameError,
    check_arrays,
    check_free,
    check_levers,
    model_state,
    read_file,
    restore,
    write_file,
)
from sim.headlines import DEFAULT as HEADLINES
from sim.headlines import from_config
from sim.measure import kpi_profit
from sim.params import LEVER_NAMES, lever_costs
from sim.paths import results_dir

HOUSE = "(house)"

#: The scoring dimensions, keyed like the headlines (:data:`sim.headlines.DEFAULT`): the
#: leaderboard column scored and what it measures over a round.
SCORING: dict[str, tuple[str, str]] = {
    "loyalty": (
        "retention_pct",
        "round retention, the share of round-start customers still holding an account at "
        "the round's end",
    ),
    "traffic": (
        "traffic_pct",
        "round traffic, active customers (an interaction in the last 4 weeks) at the round's "
        "end as a share of those at its start",
    ),
    "money": (
        "profit_per_customer",
        "round profit (revenue - cost to serve - marketing spend - lever running costs - "
        "investment) per round-start customer",
    ),
}


def scoring(headlines: Mapping[str, str] | None = None) -> dict[str, str]:
    """One line per scoring dimension: what it measures and the headline outcome it stands for.

    ``headlines``: the experiment's headline outcomes (:func:`sim.headlines.from_config`
    checks them; :data:`sim.headlines.DEFAULT` for the keys not given).
    """
    names = _headlines(headlines)
    return {
        key: f"{key}: {text}, the round's counterpart of {names[key]}"
        for key, (_, text) in SCORING.items()
    }


def columns(headlines: Mapping[str, str] | None = None) -> dict[str, str]:
    """The leaderboard's columns and what each means (a scored column names its headline)."""
    lines = scoring(headlines)
    scored = {col: lines[key] for key, (col, _) in SCORING.items()}
    return {
        "position": "place on total points",
        "bank": "bank",
        "team": "team owning the bank",
        "customers": "account holders at the end of the round",
        "customers_change": "change in account holders over the round",
        "retention_pct": scored["retention_pct"] + " (%)",
        "active": "customers with an interaction in the last 4 weeks",
        "traffic_pct": scored["traffic_pct"] + " (%)",
        "contacts_per_customer": "channel contacts in the round per round-start customer",
        "investment_k": "one-off investment charged this round for levers raised over the "
        "previous round's (thousand RMB, simulated market)",
        "profit_k": "revenue - cost to serve - marketing spend - lever running costs - "
        "investment in the round (thousand RMB, simulated market)",
        "profit_per_customer": scored["profit_per_customer"] + " (RMB)",
        "points_round": "points this round (" + " + ".join(SCORING) + ")",
        "points_total": "points over all rounds played",
    }


def _headlines(headlines: Mapping[str, str] | None) -> dict[str, str]:
    return from_config({"headlines": dict(headlines or {})}, source="game")


#: Leaderboard columns: what each means (with the default headlines).
COLUMNS = columns(HEADLINES)


def workshop_dir() -> Path:
    """Where sessions are saved: ``results/workshop/`` (``$BANKLAB_RESULTS/workshop``)."""
    return results_dir() / "workshop"


def saved_sessions() -> list[str]:
    """Names of the saved sessions, newest first."""
    folder = workshop_dir()
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    return [p.stem for p in files]


def _active(pop, last_week: int) -> np.ndarray:
    """Active customers per bank (an interaction in the 4 weeks up to ``last_week``)."""
    return (pop.has & (pop.ti_last >= last_week - 3)).sum(axis=0)


def _points(values: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """B points for the best value, 1 for the worst (ties broken by ``tiebreak``)."""
    order = np.lexsort((-tiebreak, -values))  # best first
    pts = np.empty(len(values), dtype=int)
    pts[order] = np.arange(len(values), 0, -1)
    return pts


@dataclass
class RoundRecord:
    """One played round: its weeks, the levers in force, and the scores per bank."""

    number: int
    first_week: int
    last_week: int
    levers: dict[str, dict[str, float]]
    rows: list[dict] = field(default_factory=list)


class Game:
    """A workshop game over one market (one model, advanced 13 weeks per round)."""

    def __init__(
        self,
        teams: dict[str, str],
        scenario: str = "none",
        size: int = DEFAULT_SIZE,
        seed: int = 1,
        rounds: int = 8,
        strategy: str = "baseline",
        headlines: Mapping[str, str] | None = None,
        market: str = "default",
    ) -> None:
        """Start a game: ``teams`` maps team names to the banks they own.

        ``headlines``: the experiment's headline outcomes the scoring dimensions stand
        for (``experiment.headlines``; :data:`sim.headlines.DEFAULT` when not given).
        ``market``: the market file (``configs/market/<market>.yaml``).
        """
        self._settings(teams, scenario, size, seed, rounds, strategy, headlines, market)
        self.model = build_model(
            strategy, scenario, self.size, self.seed, self.weeks_total, self.market
        )
        self.history: list[RoundRecord] = []
        self._snapshots: list[tuple[dict, dict[str, np.ndarray]]] = []

    def _settings(self, teams, scenario, size, seed, rounds, strategy, headlines, market):
        if not 1 <= int(rounds) <= 40:
            raise ValueError(f"rounds = {rounds} is not allowed; allowed: 1 to 40")
        if not 100 <= int(size) <= 2_000_000:
            raise ValueError(f"size = {size} is not allowed; allowed: 100 to 2,000,000 customers")
        self.headlines = _headlines(headlines)
        self.scenario = scenario
        self.strategy = strategy
        self.market = market
        self.size = int(size)
        self.seed = int(seed)
        self.rounds = int(rounds)
        self.bank_names: list[str] = list(market_banks(market))
        self.teams = self._check_teams(teams)
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ set-up
    @property
    def weeks_total(self) -> int:
        """Weeks in the whole game."""
        return self.rounds * WEEKS_PER_ROUND

    def _check_teams(self, teams: dict[str, str]) -> dict[str, str]:
        if not teams:
            raise ValueError("a game needs at least one team")
        out: dict[str, str] = {}
        owners: dict[str, str] = {}
        for team, bank in teams.items():
            name = str(team).strip()
            if not name or len(name) > 40:
                raise ValueError(f"team name {team!r}: use 1 to 40 characters")
            if bank not in self.bank_names:
                raise ValueError(f"team {name!r}: unknown bank {bank!r}; banks: {self.bank_names}")
            if bank in owners:
                raise ValueError(f"bank {bank!r} is owned by both {owners[bank]!r} and {name!r}")
            if name in out:
                raise ValueError(f"two teams are called {name!r}")
            owners[bank] = name
            out[name] = bank
        return out

    def owner(self, bank: str) -> str:
        """The team owning ``bank`` (or ``(house)``)."""
        for team, b in self.teams.items():
            if b == bank:
                return team
        return HOUSE

    def bank_index(self, bank: str) -> int:
        """Column of ``bank`` in the model's per-bank arrays."""
        try:
            return self.bank_names.index(bank)
        except ValueError:
            raise KeyError(f"unknown bank {bank!r}; banks: {self.bank_names}") from None

    # ------------------------------------------------------------------ levers
    @property
    def week(self) -> int:
        """Weeks simulated so far."""
        return int(self.model.t)

    @property
    def finished(self) -> bool:
        """Whether every round has been played."""
        return len(self.history) >= self.rounds

    @property
    def round(self) -> int:
        """Rounds played so far."""
        return len(self.history)

    def levers(self, bank: str) -> dict[str, float]:
        """The levers ``bank`` will play the next round with."""
        b = self.bank_index(bank)
        lev0 = self.model.params.lev0
        return {name: float(lev0[name][b]) for name in LEVER_NAMES}

    def start_levers(self, bank: str) -> dict[str, float]:
        """The levers ``bank`` started the game with (strategy or market file)."""
        b = self.bank_index(bank)
        cfg = self.model.cfg
        lv = cfg.strategy if b == 0 else cfg.market.banks[bank].levers
        return {name: float(getattr(lv, name)) for name in LEVER_NAMES}

    def rest_levers(self, bank: str) -> dict[str, float]:
        """The levers ``bank`` had at rest before the game (the spin-up's).

        Round 1's investment is counted from them: ``spinup.strategy`` for the focal bank,
        the market file's levers for the others.
        """
        b = self.bank_index(bank)
        cfg = self.model.cfg
        lv = cfg.spinup.strategy if b == 0 else cfg.market.banks[bank].levers
        return {name: float(getattr(lv, name)) for name in LEVER_NAMES}

    def investment_due(self, bank: str, levers: Mapping[str, float] | None = None) -> float:
        """The one-off investment ``bank`` pays if the next round is played now (simulated RMB).

        ``invest`` per unit of level gained by each lever over the levers in force in the
        previous round (before round 1: :meth:`rest_levers`), nothing for a lever lowered.
        ``levers``: the levers to price (default: those set for the next round).
        """
        prev = self.history[-1].levers[bank] if self.history else self.rest_levers(bank)
        m = self.model
        new = SimpleNamespace(**(self.levers(bank) if levers is None else dict(levers)))
        return float(lever_costs(m.market, new, SimpleNamespace(**prev), m.scale).invest_total)

    def round_costs(self, bank: str, levers: Mapping[str, float], customers: float) -> dict:
        """What ``levers`` cost ``bank`` over a round, in thousand RMB (simulated market).

        ``investment``: :meth:`investment_due`; ``running``: the levers' running costs
        over the round's 13 weeks, ``13 * sum_l level_l * (weekly_l + per_customer_l *
        customers)`` as accounting charges them (:mod:`sim.processes.accounting`), at
        ``customers`` account holders. Per-event spending (bonuses, touches, pushes) is
        not included: it depends on what customers do.
        """
        from sim.levers import LEVERS

        costs = self.model.params.costs
        running = sum(
            lv.level(float(levers[lv.name]))
            * (costs.weekly[lv.name] + costs.per_customer[lv.name] * float(customers))
            for lv in LEVERS
        )
        return {
            "investment_k": round(self.investment_due(bank, levers) / 1000, 1),
            "running_k": round(WEEKS_PER_ROUND * running / 1000, 1),
        }

    @property
    def lock(self) -> threading.RLock:
        """Held while a round is played (and by every change): read the model under it."""
        return self._lock

    def columns(self) -> dict[str, str]:
        """The leaderboard's columns and what each means, with this game's headlines."""
        return columns(self.headlines)

    def scoring(self) -> dict[str, str]:
        """One line per scoring dimension, naming this game's headline outcomes."""
        return scoring(self.headlines)

    def set_lever(self, bank: str, name: str, value: float) -> None:
        """Set one lever of ``bank`` for the next round (checked against its range)."""
        v = check_lever(name, value)
        with self._lock:
            self.model.params.lev0[name][self.bank_index(bank)] = v

    def set_levers(self, bank: str, values: dict[str, float]) -> None:
        """Set several levers of ``bank`` at once (all checked before any is set)."""
        checked = {k: check_lever(k, v) for k, v in values.items()}
        for k, v in checked.items():
            self.set_lever(bank, k, v)

    # ------------------------------------------------------------------ rounds
    def play_round(self, progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
        """Advance the market one quarter with the levers set; score it; the leaderboard.

        ``progress(week_in_round, WEEKS_PER_ROUND)`` is called after each week.
        """
        with self._lock:
            if self.finished:
                raise RuntimeError(f"the game is over: all {self.rounds} rounds played")
            m = self.model
            self._snapshots.append(model_state(m, logs=False))
            first = int(m.t)
            levers = {bank: self.levers(bank) for bank in self.bank_names}
            invest = np.array([self.investment_due(bank) for bank in self.bank_names])
            # booked by accounting in the round's first week (a model saved before
            # params.invest_due existed gets it here)
            vars(m.params).setdefault("invest_due", {})[first] = invest
            if first == 0:
                m.params.costs.invest_total = 0.0  # the focal bank's is in invest (from rest)
            pop = m.pop
            start_has = pop.has & pop.alive[:, None]
            start_customers = start_has.sum(axis=0)
            start_active = _active(pop, first - 1)
            sums = {k: np.zeros(len(self.bank_names)) for k in ("profit", "contacts", "investment")}
            for i in range(WEEKS_PER_ROUND):
                m.step()
                for bank in m.bank_list:
                    k = bank.kpi
                    sums["profit"][bank.index] += kpi_profit(k)
                    sums["investment"][bank.index] += k["investment"]
                    sums["contacts"][bank.index] += sum(
                        v for key, v in k.items() if key.startswith("contacts_")
                    )
                if progress is not None:
                    progress(i + 1, WEEKS_PER_ROUND)
            pop = m.pop
            kept = (start_has & pop.has & (pop.ti_entry < first)[:, None]).sum(axis=0)
            end_customers = pop.has.sum(axis=0)
            end_active = np.array([bank.kpi["active_4w"] for bank in m.bank_list])
            record = RoundRecord(len(self.history) + 1, first, int(m.t) - 1, levers)
            record.rows = self._score(
                start_customers, end_customers, kept, start_active, end_active, sums
            )
            self.history.append(record)
            return self.leaderboard()

    def _score(self, c0, c1, kept, a0, a1, sums) -> list[dict]:
        c0 = np.maximum(c0, 1)
        retention = kept / c0
        traffic = a1 / np.maximum(a0, 1)
        contacts_pc = sums["contacts"] / c0
        profit_pc = sums["profit"] / c0
        pts = (
            _points(retention, c1.astype(float))
            + _points(traffic, contacts_pc)
            + _points(profit_pc, sums["profit"])
        )
        prev = {r["bank"]: r["points_total"] for r in self.history[-1].rows} if self.history else {}
        rows = []
        for b, bank in enumerate(self.bank_names):
            rows.append(
                {
                    "bank": bank,
                    "team": self.owner(bank),
                    "customers": int(c1[b]),
                    "customers_change": int(c1[b]) - int(c0[b]),
                    "retention_pct": round(100 * float(retention[b]), 2),
                    "active": int(a1[b]),
                    "traffic_pct": round(100 * float(traffic[b]), 2),
                    "contacts_per_customer": round(float(contacts_pc[b]), 2),
                    "investment_k": round(float(sums["investment"][b]) / 1000, 1),
                    "profit_k": round(float(sums["profit"][b]) / 1000, 1),
                    "profit_per_customer": round(float(profit_pc[b]), 2),
                    "points_round": int(pts[b]),
                    "points_total": int(prev.get(bank, 0) + pts[b]),
                }
            )
        total = np.array([r["points_total"] for r in rows], dtype=float)
        cum_profit = np.array(
            [
                sum(h.rows[b]["profit_k"] for h in self.history) + rows[b]["profit_k"]
                for b in range(len(rows))
            ]
        )
        place = _points(total, cum_profit)
        for b, r in enumerate(rows):
            r["position"] = len(rows) + 1 - int(place[b])
        return rows

    def leaderboard(self, round_number: int | None = None) -> pd.DataFrame:
        """The leaderboard after ``round_number`` (default: the last round played).

        One row per bank, best first. Before the first round: the starting market
        with zero points.
        """
        cols = list(COLUMNS)
        if not self.history:
            if round_number not in (None, 0):
                raise ValueError(f"round {round_number} has not been played; none played yet")
            pop = self.model.pop
            customers = pop.has.sum(axis=0)
            active = _active(pop, int(self.model.t) - 1)
            rows = [
                {
                    "position": i + 1,
                    "bank": bank,
                    "team": self.owner(bank),
                    "customers": int(customers[i]),
                    "customers_change": 0,
                    "retention_pct": float("nan"),
                    "active": int(active[i]),
                    "traffic_pct": float("nan"),
                    "contacts_per_customer": float("nan"),
                    "investment_k": float("nan"),
                    "profit_k": float("nan"),
                    "profit_per_customer": float("nan"),
                    "points_round": 0,
                    "points_total": 0,
                }
                for i, bank in enumerate(self.bank_names)
            ]
            return pd.DataFrame(rows, columns=cols)
        k = len(self.history) if round_number is None else int(round_number)
        if not 1 <= k <= len(self.history):
            raise ValueError(f"round {k} has not been played; rounds played: {len(self.history)}")
        df = pd.DataFrame(self.history[k - 1].rows, columns=cols)
        return df.sort_values(["position", "bank"]).reset_index(drop=True)

    def kept_bytes(self) -> int:
        """Bytes of the states kept for going back (one per round played)."""
        return sum(a.nbytes for _, arrays in self._snapshots for a in arrays.values())

    def back(self) -> None:
        """Undo the last round: the market returns to the state before it was played."""
        with self._lock:
            if not self.history:
                raise RuntimeError("no round to go back from")
            restore(self.model, self._snapshots.pop())
            self.history.pop()

    # ------------------------------------------------------------------ series
    def bank_series(self, kpi: str) -> pd.DataFrame:
        """A weekly KPI per bank (columns: bank names; index: week 1, 2, ...)."""
        from sim.model import Bank

        if self.model.t == 0:
            return pd.DataFrame(columns=self.bank_names, dtype=float)
        df = self.model.datacollector.get_agenttype_vars_dataframe(Bank).reset_index()
        wide = df.pivot_table(index="Step", columns="bank", values=kpi, aggfunc="first")
        return wide[self.bank_names]

    def describe(self) -> str:
        """One line: scenario, size, seed, round and week."""
        return (
            f"scenario {self.scenario}, {self.size:,} customers, seed {self.seed}: "
            f"round {self.round} of {self.rounds} played, week {self.week}"
        )

    @staticmethod
    def label(bank: str) -> str:
        """A readable bank name."""
        return bank_label(bank)

    # ------------------------------------------------------------------ files
    def settings(self) -> dict:
        """What the game was started with (JSON data)."""
        return {
            "teams": dict(self.teams),
            "market": self.market,
            "scenario": self.scenario,
            "strategy": self.strategy,
            "size": self.size,
            "seed": self.seed,
            "rounds": self.rounds,
            "headlines": dict(self.headlines),
        }

    def to_data(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The whole session as (JSON-able meta, arrays): :func:`sim.app.saved.write_file`."""
        with self._lock:
            meta, arrays = model_state(self.model)
            out = {f"model.{k}": v for k, v in arrays.items()}
            snaps = []
            for i, (smeta, sarr) in enumerate(self._snapshots):
                snaps.append(smeta)
                out.update({f"snap{i}.{k}": v for k, v in sarr.items()})
            data = {
                "settings": self.settings(),
                "history": [asdict(r) for r in self.history],
                "model": meta,
                "snapshots": snaps,
            }
        return data, out

    def save(self, name: str, replace: bool = False) -> Path:
        """Write the session to ``results/workshop/<name>.npz`` (name: letters, digits, -_).

        A session of that name is replaced only with ``replace`` (otherwise
        :class:`FileExistsError`).
        """
        path = check_free(session_path(name, workshop_dir()), replace)
        meta, arrays = self.to_data()
        return write_file(path, meta, arrays, replace=replace)

    @classmethod
    def load(cls, name: str) -> Game:
        """Read a session saved with :meth:`save` (checked: :mod:`sim.app.saved`)."""
        path = session_path(name, workshop_dir())
        if not path.is_file():
            raise FileNotFoundError(f"no saved session {name!r} in {workshop_dir()}")
        return cls.from_data(path, *read_file(path))

    @classmethod
    def from_data(cls, path: Path, meta: dict, arrays: dict[str, np.ndarray]) -> Game:
        """The game of :meth:`to_data`'s data read from ``path`` (every entry checked first).

        The model is built from the saved state (no spin-up is run); a bad setting or
        entry is a :class:`sim.app.saved.SavedGameError` naming ``path``.
        """
        from sim.model import BankingMarket

        game = cls.__new__(cls)
        try:
            s = meta["settings"]
            if not isinstance(s, dict) or not isinstance(s.get("teams"), dict):
                raise SavedGameError(f"{path}: its settings are not a table with teams")
            game._settings(
                s["teams"],
                str(s["scenario"]),
                int(s["size"]),
                int(s["seed"]),
                int(s["rounds"]),
                str(s["strategy"]),
                s.get("headlines"),
                str(s.get("market", "default")),
            )
            cfg = game_config(
                game.strategy, game.scenario, game.size, game.seed, game.weeks_total, game.market
            )
            n_banks = len(game.bank_names)
            snaps = list(meta["snapshots"])
            history = [RoundRecord(**r) for r in meta["history"]]
            if len(snaps) != len(history):
                raise SavedGameError(
                    f"{path}: {len(history)} rounds played but {len(snaps)} snapshots"
                )
            for prefix in ["model.", *(f"snap{i}." for i in range(len(snaps)))]:
                check_arrays(path, arrays, prefix, cfg, n_banks)
                check_levers(path, arrays, prefix, n_banks)

            def part(prefix: str) -> dict[str, np.ndarray]:
                return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}

            state = (meta["model"], part("model."))
            net = {k: v for k, v in state[1].items() if k.startswith(("pop.", "net."))}
            model = BankingMarket(cfg, state=net)
            restore(model, state)
            game.model = model
            game.history = history
            game._snapshots = [(m, part(f"snap{i}.")) for i, m in enumerate(snaps)]
        except SavedGameError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
            raise SavedGameError(
                f"{path}: a setting or entry is missing or malformed ({type(e).__name__}: {e})"
            ) from None
        return game
