"""Spin-up: every run starts from the market at rest, cached on disk.

A run of ``weeks`` weeks is preceded by ``spinup.weeks`` weeks that bring the
drawn initial population to the market's own steady state: the same
population size, market and seed, under the market's conditions, every
competitor's market-file levers and the focal bank's ``spinup.strategy`` (the
baseline), with no scenario. The random draws of the spin-up come from their
own phase of the streams (:mod:`sim.rng`), so the run's weeks 0, 1, ... draw
exactly as they would otherwise. Every strategy and scenario with the same seed
branches from the same spun-up state: common random numbers hold, and the
placebo strategy still differs from the baseline by exactly zero.

At the end of the spin-up the week stamps (``ti_*``) are shifted so that the
spin-up's last week is week -1: the state then reads as if the market had
always been running.

The cache: one ``.npz`` file per state (NumPy arrays only, loaded with
``allow_pickle=False``) under ``<results>/cache/spinup/``, named by the SHA-256
of everything the state depends on: the market, the population settings, the
seed, the spin-up's weeks and strategy, and the code version (a hash of the
model's source files). Each file carries that key and a digest of its arrays;
a file whose key, digest, fields or shapes do not match is corrupt or stale and
is rebuilt, never used. Files are written to a temporary name and renamed into
place; a lock file per key makes concurrent runs of one seed build it once.
Set ``spinup.cache=false`` to neither read nor write the cache.
"""

from __future__ import annotations

import copy
import dataclasses
import fcntl
import hashlib
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from sim.config import TRENDS, Config, ScenarioConfig
from sim.population import NEVER, Population

#: The model's source files: a change to any of them changes the code version.
_SOURCES = (
    "config.py",
    "counter_rng.py",
    "measure.py",
    "memory.py",
    "model.py",
    "params.py",
    "population.py",
    "rng.py",
    "spinup.py",
    "week.py",
    "processes/*.py",
)
_PKG = Path(__file__).resolve().parent
FORMAT = 1


def code_version() -> str:
    """SHA-256 of the model's source files (the package's modules and processes)."""
    h = hashlib.sha256()
    for pattern in _SOURCES:
        for path in sorted(_PKG.glob(pattern)):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def cache_dir() -> Path:
    """Where spun-up states are kept: ``$BANKLAB_CACHE`` or ``<results>/cache/spinup``."""
    from sim.paths import results_dir

    env = os.environ.get("BANKLAB_CACHE")
    return Path(env) if env else results_dir() / "cache" / "spinup"


def _plain(obj: Any) -> Any:
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj


#: Market keys that only price the outcome (accounting and reporting), never move a customer.
MONEY_KEYS = ("costs", "customers_represented", "discount_rate")


def cache_key(c: Config) -> str:
    """The hash of everything the spun-up state depends on (money keys excluded)."""
    market = {k: v for k, v in _plain(spinup_config(c).market).items() if k not in MONEY_KEYS}
    ident = {
        "format": FORMAT,
        "market": market,
        "population": _plain(c.population),
        "seed": int(c.seed),
        "weeks": int(c.spinup.weeks),
        "strategy": {k: v for k, v in _plain(c.spinup.strategy).items() if k != "description"},
        "code": code_version(),
    }
    text = json.dumps(ident, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def spinup_config(c: Config) -> Config:
    """The config the spin-up runs: the focal bank at ``spinup.strategy``, no scenario.

    Secular trends (:data:`sim.config.TRENDS`) are held at zero: a trend is a change
    from the state at rest, and acts from week 0.
    """
    s = copy.deepcopy(c)
    s.strategy = copy.deepcopy(c.spinup.strategy)
    s.scenario = ScenarioConfig()
    for name in TRENDS:
        setattr(s.market.environment, name, 0.0)
    s.weeks = int(c.spinup.weeks)
    return s


def export_state(model) -> dict[str, np.ndarray]:
    """The population's arrays and the network, with week stamps shifted to end at -1."""
    shift = model.t
    out: dict[str, np.ndarray] = {}
    for f in dataclasses.fields(Population):
        a = getattr(model.pop, f.name)
        if f.name.startswith("ti_"):
            moved = np.maximum(a.astype(np.int32) - shift, int(NEVER) + 1)
            a = np.where(a == NEVER, NEVER, moved).astype(a.dtype)
        out[f"pop.{f.name}"] = np.ascontiguousarray(a)
    adj = model.adjacency
    out["net.indptr"] = adj.indptr.astype(np.int64)
    out["net.indices"] = adj.indices.astype(np.int32)
    return out


def import_state(state: dict[str, np.ndarray]) -> tuple[Population, sp.csr_array]:
    """A population and its network from a state (the arrays are copied)."""
    pop = Population(
        **{f.name: state[f"pop.{f.name}"].copy() for f in dataclasses.fields(Population)}
    )
    n = pop.capacity
    indices = state["net.indices"]
    adj = sp.csr_array(
        (np.ones(indices.size, dtype=np.int8), indices.copy(), state["net.indptr"].copy()),
        shape=(n, n),
    )
    return pop, adj


def simulate(c: Config, progress=None) -> dict[str, np.ndarray]:
    """Run the spin-up of ``c`` and return the state at its end."""
    from sim.model import BankingMarket
    from sim.rng import SPINUP

    model = BankingMarket(spinup_config(c), phase=SPINUP, record=False)
    for _ in range(int(c.spinup.weeks)):
        model.step()
        if progress is not None:
            progress(model.t)
    alive, size = int(model.pop.alive.sum()), int(c.population.size)
    if not 0.5 * size <= alive <= 2.0 * size:
        env = c.market.environment
        print(
            f"warning: the market at rest holds {alive:,} customers after a {c.spinup.weeks}-week "
            f"spin-up, not the {size:,} of population.size: its entries "
            f"(market.environment.entry_rate = {env.entry_rate:g}) do not balance its exits "
            f"(exit_rate = {env.exit_rate:g}); per-customer outcomes of so small or large a "
            "market may be undefined (NaN)",
            file=sys.stderr,
        )
    return export_state(model)


def _digest(state: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(state):
        a = state[name]
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _expected_fields() -> set[str]:
    return {f"pop.{f.name}" for f in dataclasses.fields(Population)} | {"net.indptr", "net.indices"}


def read(path: Path, key: str) -> dict[str, np.ndarray] | None:
    """The state in ``path`` if it is whole and made for ``key``; None otherwise."""
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {name: z[name] for name in z.files}
        meta = json.loads(str(data.pop("meta")))
    except Exception:  # a truncated or foreign file: any reading error means "rebuild"
        return None
    if meta.get("key") != key or meta.get("format") != FORMAT:
        return None
    if set(data) != _expected_fields() or meta.get("digest") != _digest(data):
        return None
    return data


def write(path: Path, key: str, state: dict[str, np.ndarray]) -> None:
    """Write a state atomically (the project's writer: temporary file, then rename)."""
    from sim.atomic import atomic_write

    meta = {"key": key, "format": FORMAT, "digest": _digest(state), "code": code_version()}
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta)), **state)
    atomic_write(path, buf.getvalue())


def spun_up(c: Config, progress=None) -> tuple[dict[str, np.ndarray] | None, dict[str, Any]]:
    """The spun-up state of ``c`` (from the cache, or built and cached) and where it came from.

    Returns ``(None, info)`` when ``spinup.weeks`` is 0 (the run draws its initial
    population at week 0). ``info`` says which spin-up was used: weeks, key and
    strategy (what the state is, the same however it was obtained), and source
    (``cache``, ``built`` or ``none``), file and seconds (how it was obtained this time).
    """
    weeks = int(c.spinup.weeks)
    if weeks == 0:
        return None, {"weeks": 0, "source": "none"}
    key = cache_key(c)
    info: dict[str, Any] = {"weeks": weeks, "key": key, "strategy": c.spinup.strategy.name}
    t0 = time.perf_counter()
    if not c.spinup.cache:
        state = simulate(c, progress)
        info.update(source="built", file=None, seconds=round(time.perf_counter() - t0, 3))
        return state, info
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.npz"
    info["file"] = str(path)
    with open(folder / f"{key}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per key; the others wait, then read
        state = read(path, key) if path.exists() else None
        if state is not None:
            info.update(source="cache", seconds=round(time.perf_counter() - t0, 3))
            return state, info
        if path.exists():
            print(
                f"warning: spin-up cache entry {path} is corrupt or stale; rebuilding it",
                file=sys.stderr,
            )
        state = simulate(c, progress)
        write(path, key, state)
    info.update(source="built", seconds=round(time.perf_counter() - t0, 3))
    return state, info
