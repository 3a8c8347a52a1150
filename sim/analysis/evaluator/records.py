"""Resume bookkeeping and the outcome table of an evaluation.

**Resume**: with a folder, each finished run is stored as it completes in
``<folder>/runs/<key>.json`` (:func:`_store`, written atomically by the
calling process, so a Ray worker needs no shared filesystem). Keys already
stored as ``ok`` are never run again; failed ones run again (``retry_failed``;
:func:`pending`). A stored key whose overrides differ from the config given is
refused (a result is never silently replaced). With ``run_folders=True`` every
run also gets a full run folder ``<folder>/runs/<key>/``
(:func:`sim.run.write_run`, no plots), which is what the experiment's
aggregation (:mod:`sim.analysis.compare`) reads.

**The table** (:func:`table_of`): one row per config in the order given:
``key``, the labels, ``overrides`` (the override set and the values, as
``key=value`` text), ``status`` (``ok`` or ``failed``), ``error`` (the
exception's type and message for a failed run), every outcome of
:mod:`sim.outcomes` the run reported (registry order; other named values a
custom simulate function returns follow, sorted), ``seconds`` and ``node``
(where it ran: ``local:<host>`` or the Ray node id). :func:`comparable` drops
``seconds`` and ``node`` to compare tables of different backends;
:func:`folder_table` rebuilds a folder's table from its records alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.evaluator.configs import RunConfig
from sim.atomic import atomic_write

#: The folder (inside an evaluation's folder) holding one record per finished run.
RUNS = "runs"
#: Table columns that depend on where and how fast a run ran, not on what it computed.
PLACE_COLUMNS = ("seconds", "node")


def record_path(folder: Path, key: str) -> Path:
    """Where a run's record is kept."""
    return Path(folder) / RUNS / f"{key}.json"


def read_record(path: Path) -> dict | None:
    """A stored record, or None (absent, or cut short: run it again)."""
    try:
        rec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) else None


def _finished(rec: dict | None, retry_failed: bool) -> bool:
    if rec is None:
        return False
    return rec.get("status") == "ok" or (not retry_failed and rec.get("status") == "failed")


def pending(
    configs: Sequence[RunConfig],
    folder: Path | None,
    retry_failed: bool = True,
    run_folders: bool = False,
) -> list[RunConfig]:
    """The configs still to run in ``folder`` (all of them without a folder)."""
    from sim.errors import ConfigError
    from sim.runfolder import is_complete

    if folder is None:
        return list(configs)
    todo = []
    for c in configs:
        path = record_path(folder, c.key)
        rec = read_record(path)
        if rec is not None and "overrides" in rec and rec["overrides"] != c.describe():
            raise ConfigError(
                f"{path}: holds run {c.key} of other settings ({rec['overrides']!r}, not "
                f"{c.describe()!r}); not allowed: replacing a result; allowed: the same "
                "design, or a new folder"
            )
        done = _finished(rec, retry_failed)
        if done and run_folders and rec.get("status") == "ok":
            done = is_complete(Path(folder) / RUNS / c.key)
        if not done:
            todo.append(c)
    return todo


def _store(folder: Path, c: RunConfig, rec: dict, run_folders: bool) -> dict:
    """Write a run's record (and run folder) atomically; the record as stored."""
    from sim.run import write_run
    from sim.runfolder import is_complete

    result = rec.pop("result", None)
    rec = {
        "key": c.key,
        "overrides": c.describe(),
        "labels": dict(c.labels),
        **{k: v for k, v in rec.items() if k != "key"},
    }
    if folder is None:
        return rec
    if run_folders and result is not None:
        run_dir = Path(folder) / RUNS / c.key
        if not is_complete(run_dir):
            write_run(result, run_dir, plots=False)
    atomic_write(record_path(folder, c.key), json.dumps(rec, allow_nan=True, default=str) + "\n")
    return rec


def table_of(configs: Sequence[RunConfig], records: Mapping[str, dict | None]) -> pd.DataFrame:
    """One row per config (in order): key, labels, overrides, status, error, outcomes, place."""
    from sim.outcomes import OUTCOMES

    label_cols = list(dict.fromkeys(k for c in configs for k in c.labels))
    reported: set[str] = set()
    for rec in records.values():
        if rec and rec.get("status") == "ok":
            reported.update(rec.get("outcomes") or {})
    registry = [o.name for o in OUTCOMES if o.name in reported]
    extra = sorted(reported - set(registry))
    rows = []
    for c in configs:
        rec = records.get(c.key)
        row: dict[str, Any] = {"key": c.key, **{k: c.labels.get(k) for k in label_cols}}
        row["overrides"] = c.describe()
        if rec is None:
            row.update(status="missing", error="not run yet (interrupted?)")
        else:
            row.update(status=rec.get("status"), error=rec.get("error", "") or "")
        outs = (rec or {}).get("outcomes") or {}
        for name in [*registry, *extra]:
            row[name] = float(outs.get(name, math.nan))
        row["seconds"] = float((rec or {}).get("seconds", math.nan))
        row["node"] = str((rec or {}).get("node", ""))
        rows.append(row)
    cols = ["key", *label_cols, "overrides", "status", "error", *registry, *extra, *PLACE_COLUMNS]
    return pd.DataFrame(rows, columns=cols)


def comparable(table: pd.DataFrame) -> pd.DataFrame:
    """The table without the columns that say where and how fast runs ran."""
    return table.drop(columns=[c for c in PLACE_COLUMNS if c in table.columns])


def folder_records(folder: Path) -> list[dict]:
    """Every record stored in an evaluation folder, sorted by key."""
    paths = sorted((Path(folder) / RUNS).glob("*.json"))
    return [r for r in (read_record(p) for p in paths) if r is not None]


def folder_table(folder: Path) -> pd.DataFrame:
    """The table of every record stored in a folder (rebuilt from the records alone)."""
    recs = folder_records(folder)
    configs = [RunConfig(r["key"], labels=r.get("labels") or {}) for r in recs]
    table = table_of(configs, {r["key"]: r for r in recs})
    table["overrides"] = [r.get("overrides", "") for r in recs]
    return table
