"""Saved games as data: the model's state as NumPy arrays plus JSON, never a pickle.

A saved game (the team game of :mod:`sim.app.game`, or a room of :mod:`sim.app.room`) is
one ``.npz`` file, read with ``numpy.load(..., allow_pickle=False)``: loading it runs no
code from it. It holds

* ``meta``: one JSON text: the format's name and version, the model code's version
  (:func:`sim.spinup.code_version`), the game's settings (teams, market, scenario, size,
  seed, rounds, headlines), its rounds (levers in force and leaderboard rows), the
  model's bookkeeping (week, KPIs, tracker counters) and, for a room, the room's own
  state; and a SHA-256 digest of everything else in the file;
* arrays: the model's state (below) and one snapshot per round played (for going back).

**The model's state.** The population's arrays and the social network are written as
the spin-up cache writes them (:func:`sim.spinup.export_state`, here with no shift of
the week stamps, and read back with :func:`sim.spinup.import_state`); on top of that
the state a running model has and a spun-up one has not: the focal and per-bank
levers in force (``params.lev0``), investments due, the trackers' window snapshots,
pending follow-ups and weekly history, the data collector's records and the last
week's KPIs. Random numbers need no state: every draw comes from a generator keyed by
(seed, process, week, purpose) (:mod:`sim.rng`), so a restored model at week ``t``
draws exactly what the original would have. A round's snapshot holds the state at the
round's start without the weekly logs, which are the first weeks of the logs kept
later (logs only grow), so a snapshot stores their lengths.

**Loading checks, before anything is built**: the file is a NumPy archive with a
``meta`` entry (otherwise: corrupt); ``meta`` names this format (otherwise: not a saved
game); its version is this lab's :data:`VERSION` and the model code is this
checkout's (otherwise: another version, named); the digest matches (otherwise: damaged
or edited); the settings are valid (known scenario, strategy and market, teams on
known banks, levers in their ranges) and every array has the name, type and shape the
model expects. The digest is an integrity check, not a signature: it catches a
truncated, corrupted or hand-edited file; whoever recomputes it can change numbers,
never make the file run code, and the checks above still apply. Every failure is a
:class:`SavedGameError` naming the file and what is wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from sim.atomic import atomic_write
from sim.population import Population
from sim.spinup import _digest as arrays_digest
from sim.spinup import code_version, export_state, import_state

#: The file format's name and version (version 1 was a pickle, no longer read).
FORMAT = "banklab-workshop-game"
VERSION = 2

State = tuple[dict[str, Any], dict[str, np.ndarray]]


class SavedGameError(ValueError):
    """A saved game cannot be read: the message names the file and what is wrong."""


# --------------------------------------------------------------------------- the model
def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON data")


def model_state(model, logs: bool = True) -> State:
    """The state of a ``BankingMarket`` between weeks, as (JSON-able meta, arrays).

    ``logs=False`` (a round's snapshot) leaves out the network and the weekly logs,
    keeping their lengths: the logs of a later state start with them.
    """
    tr, params, dc = model.trackers, model.params, model.datacollector
    view = SimpleNamespace(t=0, pop=model.pop, adjacency=model.adjacency)  # no shift
    arrays = {k: v.copy() for k, v in export_state(view).items()}  # never the live arrays
    if not logs:
        arrays = {k: v for k, v in arrays.items() if k.startswith("pop.")}
    for name, v in params.lev0.items():
        arrays[f"lev0.{name}"] = v.copy()
    due = sorted(int(w) for w in params.invest_due)
    for w in due:
        arrays[f"invest_due.{w}"] = np.asarray(params.invest_due[w], float).copy()
    if hasattr(tr, "snap0"):
        arrays["tr.snap0"] = tr.snap0.copy()
    for snap, tag in ((tr.snap26, "snap26"), (tr.snap13, "snap13")):
        for k, v in snap.items():
            arrays[f"tr.{tag}.{k}"] = v.copy()
    for w, parts in tr.pending.items():
        for i, v in enumerate(parts):
            arrays[f"tr.pending.{int(w)}.{i}"] = np.asarray(v).copy()
    bank_cols = list(dc.agenttype_reporters[_bank_type()])
    records = [rec for step in sorted(dc._agenttype_records) for rec in _bank_records(dc, step)]
    meta: dict[str, Any] = {
        "t": int(model.t),
        "steps": int(model.steps),
        "spun_up": bool(model.spun_up),
        "spinup": dict(getattr(model, "spinup", {}) or {}),
        "invest_total": float(params.costs.invest_total),
        "invest_due": due,
        "kpi": [dict(b.kpi) for b in model.bank_list],
        "platform_kpi": dict(model.platform.kpi),
        "market_kpi": dict(model.market_kpi),
        "trackers": {
            "snap0": hasattr(tr, "snap0"),
            "snap26": sorted(tr.snap26),
            "snap13": sorted(tr.snap13),
            "pending": sorted(int(w) for w in tr.pending),
            "ret_num": int(tr.ret_num),
            "ret_den": int(tr.ret_den),
            "acq_cohorts": [[int(w), int(n), float(s)] for w, n, s in tr.acq_cohorts],
        },
        "lengths": {
            "history": len(tr.history),
            "model_vars": len(next(iter(dc.model_vars.values()), [])),
            "bank_records": len(records),
        },
        "datacollector_validated": bool(dc._validated),
        "bank_columns": bank_cols,
        "history_scalars": [],
    }
    if logs:
        if tr.history:
            keys = list(tr.history[0])
            meta["history_keys"] = keys
            for key in keys:
                values = [h[key] for h in tr.history]
                if np.ndim(values[0]) == 0:
                    meta["history_scalars"].append(key)
                arrays[f"tr.history.{key}"] = np.array(values)
        for name, values in dc.model_vars.items():
            arrays[f"dc.model.{name}"] = np.array(values)
        cols = ["Step", "AgentID", *bank_cols]
        for i, col in enumerate(cols):
            arrays[f"dc.bank.{col}"] = np.array([r[i] for r in records])
    return meta, arrays


def _bank_type():
    from sim.model import Bank

    return Bank


def _bank_records(dc, step: int) -> list[tuple]:
    return list(dc._agenttype_records[step].get(_bank_type(), []))


def restore(model, state: State, logs: State | None = None) -> None:
    """Put ``state`` into ``model`` (built from the same config); its logs from ``logs``.

    ``logs`` is the state holding the weekly logs (``state`` itself when it has them):
    a snapshot's logs are the first ``meta["lengths"]`` entries of a later state's, or of
    the model's own logs when ``logs`` is None and ``state`` has none.
    """
    meta, arrays = state
    net = {"net.indptr": model.adjacency.indptr, "net.indices": model.adjacency.indices}
    pop_arrays = {k: v for k, v in arrays.items() if k.startswith("pop.")}
    model.pop, _ = import_state({**pop_arrays, **net})
    model.t = int(meta["t"])
    model.steps = int(meta["steps"])
    model.spun_up = bool(meta["spun_up"])
    if meta.get("spinup"):
        model.spinup = dict(meta["spinup"])
    params = model.params
    for name in params.lev0:
        params.lev0[name] = arrays[f"lev0.{name}"].astype(float).copy()
    params.invest_due = {int(w): arrays[f"invest_due.{w}"].copy() for w in meta["invest_due"]}
    params.costs.invest_total = float(meta["invest_total"])
    for bank, k in zip(model.bank_list, meta["kpi"], strict=True):
        bank.kpi = dict(k)
    model.platform.kpi = dict(meta["platform_kpi"])
    model.market_kpi = dict(meta["market_kpi"])
    tr, tm = model.trackers, meta["trackers"]
    if tm["snap0"]:
        tr.snap0 = arrays["tr.snap0"].copy()
    elif hasattr(tr, "snap0"):
        del tr.snap0
    tr.snap26 = {k: arrays[f"tr.snap26.{k}"].copy() for k in tm["snap26"]}
    tr.snap13 = {k: arrays[f"tr.snap13.{k}"].copy() for k in tm["snap13"]}
    tr.pending = {
        int(w): tuple(arrays[f"tr.pending.{w}.{i}"].copy() for i in range(3)) for w in tm["pending"]
    }
    tr.ret_num, tr.ret_den = int(tm["ret_num"]), int(tm["ret_den"])
    tr.acq_cohorts = [(int(w), int(n), float(s)) for w, n, s in tm["acq_cohorts"]]
    n = meta["lengths"]
    dc = model.datacollector
    dc._validated = bool(meta["datacollector_validated"])
    if logs is None and "history_keys" not in meta and "dc.bank.Step" not in arrays:
        # a snapshot of this model's own past: keep the first weeks of its logs
        tr.history = tr.history[: n["history"]]
        dc.model_vars = {k: v[: n["model_vars"]] for k, v in dc.model_vars.items()}
        dc._agenttype_records = {s: r for s, r in dc._agenttype_records.items() if s <= model.steps}
        return
    lmeta, larrays = logs if logs is not None else state
    keys = lmeta.get("history_keys", [])
    scalars = set(lmeta.get("history_scalars", []))
    stacked = {k: larrays[f"tr.history.{k}"] for k in keys}
    tr.history = [
        {k: (stacked[k][w].item() if k in scalars else stacked[k][w].copy()) for k in keys}
        for w in range(n["history"])
    ]
    dc.model_vars = {
        name: larrays[f"dc.model.{name}"][: n["model_vars"]].tolist() for name in dc.model_vars
    }
    cols = ["Step", "AgentID", *lmeta["bank_columns"]]
    columns = [larrays[f"dc.bank.{c}"][: n["bank_records"]].tolist() for c in cols]
    records: dict[int, dict] = {}
    bank = _bank_type()
    for row in zip(*columns, strict=True):
        records.setdefault(int(row[0]), {bank: []})[bank].append(tuple(row))
    dc._agenttype_records = records


# --------------------------------------------------------------------------- files
def _canonical(meta: dict) -> bytes:
    return json.dumps(meta, sort_keys=True, default=_json_default, allow_nan=True).encode()


def file_digest(meta: dict, arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of the meta (without its digest) and of every array (name, type, shape, bytes)."""
    body = {k: v for k, v in meta.items() if k != "digest"}
    h = hashlib.sha256(_canonical(body))
    h.update(arrays_digest(arrays).encode())
    return h.hexdigest()


def check_free(path: Path, replace: bool = False) -> Path:
    """``path``, if no saved session is there or ``replace`` says to replace it.

    Raises:
        FileExistsError: a file is at ``path`` and ``replace`` is false (the message names it).
    """
    path = Path(path)
    if path.exists() and not replace:
        raise FileExistsError(
            f"a saved session {path.stem!r} already exists ({path}): choose another name, "
            "or replace it on purpose"
        )
    return path


def write_file(
    path: Path, meta: dict, arrays: dict[str, np.ndarray], replace: bool = False
) -> Path:
    """Write a saved game atomically (``sim.atomic``): ``meta`` gets format, version, digest.

    An existing file is replaced only with ``replace`` (otherwise :class:`FileExistsError`
    naming it): a saved session is never overwritten by accident.
    """
    path = check_free(path, replace)
    meta = {**meta, "format": FORMAT, "version": VERSION, "code": code_version()}
    meta["digest"] = file_digest(meta, arrays)
    text = _canonical(meta).decode()
    buf = io.BytesIO()
    np.savez_compressed(buf, meta=np.array(text), **arrays)
    return atomic_write(path, buf.getvalue())


def read_file(path: Path) -> State:
    """The (meta, arrays) of a saved game, checked for format, version and digest.

    Raises:
        SavedGameError: the file is corrupt, of another format or version, or its
            contents do not match its digest.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise SavedGameError(
            f"{path}: not a readable saved game (corrupt or not a NumPy .npz archive: {e})"
        ) from None
    if "meta" not in arrays:
        raise SavedGameError(f"{path}: not a saved workshop game (no 'meta' entry)")
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except (ValueError, TypeError) as e:
        raise SavedGameError(f"{path}: its 'meta' entry is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise SavedGameError(f"{path}: not a saved workshop game (format {found!r})")
    if meta.get("version") != VERSION:
        raise SavedGameError(
            f"{path}: saved in format version {meta.get('version')!r}; this lab reads version "
            f"{VERSION} only"
        )
    here = code_version()
    if meta.get("code") != here:
        raise SavedGameError(
            f"{path}: saved by other model code ({str(meta.get('code'))[:12]}, this checkout runs "
            f"{here[:12]}); a game continued with other model code would not play on as saved: "
            "load it with the version of the lab that saved it"
        )
    if meta.get("digest") != file_digest(meta, arrays):
        raise SavedGameError(
            f"{path}: its contents do not match its digest: the file is damaged or was edited"
        )
    return meta, arrays


def check_arrays(path: Path, arrays: dict[str, np.ndarray], prefix: str, cfg, n_banks: int):
    """Check a state's population arrays against what a model of ``cfg`` expects."""
    from sim.population import build_population

    shares = np.ones(n_banks) / n_banks
    ref = build_population(
        np.random.default_rng(0), 10, cfg.population.headroom, cfg.market, shares
    )
    cap = int(np.ceil(int(cfg.population.size) * (1.0 + float(cfg.population.headroom))))
    for f in dataclasses.fields(Population):
        key = f"{prefix}pop.{f.name}"
        if key not in arrays:
            raise SavedGameError(f"{path}: entry {key!r} is missing")
        a, r = arrays[key], getattr(ref, f.name)
        if a.dtype != r.dtype or a.shape != (cap, *r.shape[1:]):
            raise SavedGameError(
                f"{path}: entry {key!r} is {a.dtype}{list(a.shape)}; a market of "
                f"{int(cfg.population.size):,} customers needs {r.dtype}{[cap, *r.shape[1:]]}"
            )
    if f"{prefix}net.indptr" in arrays:
        indptr, indices = arrays[f"{prefix}net.indptr"], arrays.get(f"{prefix}net.indices")
        if (
            indices is None
            or indptr.dtype != np.int64
            or indptr.shape != (cap + 1,)
            or indices.dtype != np.int32
            or indices.ndim != 1
            or int(indptr[0]) != 0
            or int(indptr[-1]) != indices.size
            or np.any(np.diff(indptr) < 0)
            or (indices.size and (int(indices.min()) < 0 or int(indices.max()) >= cap))
        ):
            raise SavedGameError(f"{path}: the social network ({prefix}net.*) is malformed")
    elif prefix == "model.":
        raise SavedGameError(f"{path}: entry 'model.net.indptr' is missing")
    return cap


def check_levers(path: Path, arrays: dict[str, np.ndarray], prefix: str, n_banks: int) -> None:
    """Every bank's levers present, numeric and within their declared ranges."""
    from sim.app.common import check_lever
    from sim.params import LEVER_NAMES

    for name in LEVER_NAMES:
        key = f"{prefix}lev0.{name}"
        a = arrays.get(key)
        if a is None or a.shape != (n_banks,) or a.dtype.kind not in "fi":
            raise SavedGameError(f"{path}: entry {key!r} must be {n_banks} numbers")
        for v in a:
            try:
                check_lever(name, float(v))
            except ValueError as e:
                raise SavedGameError(f"{path}: entry {key!r}: {e}") from None


__all__ = [
    "FORMAT",
    "VERSION",
    "SavedGameError",
    "check_arrays",
    "check_free",
    "check_levers",
    "model_state",
    "read_file",
    "restore",
    "write_file",
]
