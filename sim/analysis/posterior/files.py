"""The posterior file: a weighted sample of parameter sets, CSV plus a JSON sidecar.

``<name>.csv`` has a ``#`` provenance header (command, date, size, weeks,
generations, final epsilon, acceptance rate), then the columns ``draw``,
``weight`` (sums to 1) and one column per parameter (config keys).
``<name>.json`` holds the same provenance machine-readable, the priors (key ->
dist, low, high, note) and ``sha256``, the checksum of the CSV's table (the
lines after the header). :func:`read_posterior` refuses a file whose table does
not match its checksum (edited after it was written), whose columns do not
match the priors, or whose values are not finite numbers inside their priors'
support. :func:`load` reads a market's shipped posterior from
``configs/market/posterior/``, :func:`draws` resamples parameter sets from it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.posterior.design import DISTRIBUTIONS, Prior
from sim.errors import ConfigError
from sim.paths import CONFIG_DIR

#: Where shipped posteriors live, one CSV (and a JSON sidecar) per market.
SHIPPED_DIR = CONFIG_DIR / "market" / "posterior"
#: The sidecar keys :func:`read_posterior` needs.
SIDECAR_KEYS = ("market", "command", "priors", "sha256")


def _num(meta: Mapping[str, Any], key: str, fmt: str) -> str:
    v = meta.get(key)
    return format(v, fmt) if isinstance(v, int | float) else "?"


def provenance_lines(meta: Mapping[str, Any]) -> list[str]:
    """The CSV header's lines (without ``#``): how the posterior was made."""
    return [
        f"Posterior of the {meta.get('market')!r} market's behavioural parameters: ABC-SMC "
        f"(pyabc {meta.get('pyabc')}), see docs/calibration.md 'Calibration with uncertainty'.",
        f"Command: {meta.get('command')}",
        f"Date: {meta.get('date')}; package {meta.get('package')}",
        f"Runs: {meta.get('population')} customers, {meta.get('weeks')} weeks after a "
        f"{meta.get('spinup_weeks')}-week spin-up, baseline strategy, no scenario, one run per "
        "particle",
        f"ABC-SMC: {meta.get('particles')} particles, {meta.get('generations_run')} generations, "
        f"final epsilon {_num(meta, 'final_epsilon', '.4g')} (1 = every fact inside its band), "
        f"last acceptance rate {_num(meta, 'acceptance_rate', '.3g')}, "
        f"{meta.get('simulations')} simulations, {_num(meta, 'wall_minutes', '.1f')} min wall "
        f"time on {meta.get('jobs')} process(es)",
        f"Effective sample size {_num(meta, 'ess', '.1f')} of {meta.get('particles_final')} "
        f"particles (generations pooled at the final threshold: {meta.get('generations_pooled')})",
        *(
            [
                f"Warm start (where the first proposal looked, not part of the sample): the "
                f"{meta['start_from'].get('particles')} parameter sets of "
                f"{meta['start_from'].get('file')} (table sha256 "
                f"{str(meta['start_from'].get('sha256'))[:16]})"
            ]
            if isinstance(meta.get("start_from"), Mapping)
            else []
        ),
        "Columns: draw, weight (sums to 1), then one column per parameter (config keys). "
        "Priors and the table's SHA-256 in the .json sidecar.",
    ]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _split(text: str) -> tuple[str, str]:
    """The ``#`` header and the table of a posterior CSV."""
    lines = text.splitlines(keepends=True)
    n = 0
    while n < len(lines) and lines[n].startswith("#"):
        n += 1
    return "".join(lines[:n]), "".join(lines[n:])


def write_posterior(post: pd.DataFrame, path: Path, meta: Mapping[str, Any]) -> Path:
    """Write a weighted posterior sample as CSV with a ``#`` provenance header, plus a JSON sidecar.

    ``path`` gets the CSV; ``path.with_suffix('.json')`` gets ``meta`` (which must
    hold ``priors``: key -> {dist, low, high, note}) and the table's ``sha256``.
    Both written atomically, the sidecar first.
    """
    from sim.atomic import atomic_write

    if not isinstance(meta.get("priors"), Mapping) or not meta["priors"]:
        raise ValueError("write_posterior: meta['priors'] (key -> prior) is required")
    df = post.copy()
    df["weight"] = df["weight"] / df["weight"].sum()
    if "draw" not in df.columns:
        df.insert(0, "draw", range(len(df)))
    header = "".join(f"# {line}\n" for line in provenance_lines(meta))
    body = df.to_csv(index=False, float_format="%.10g", lineterminator="\n")
    full = {**meta, "sha256": _sha256(body)}
    atomic_write(Path(path).with_suffix(".json"), json.dumps(full, indent=2, default=str) + "\n")
    atomic_write(Path(path), header + body)
    return Path(path)


def read_sidecar(path: Path) -> dict:
    """The JSON sidecar of the posterior CSV ``path``, checked (priors, checksum)."""
    sidecar = Path(path).with_suffix(".json")
    if not sidecar.is_file():
        raise ConfigError(
            f"{path}: its sidecar {sidecar.name} is missing; allowed: a posterior written by "
            "python -m sim.analysis.posterior (a CSV and its JSON sidecar)"
        )
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{sidecar}: cannot read the sidecar: {err}") from err
    if not isinstance(meta, dict):
        raise ConfigError(f"{sidecar}: the sidecar is {type(meta).__name__}; allowed: an object")
    missing = [k for k in SIDECAR_KEYS if k not in meta]
    if missing:
        raise ConfigError(
            f"{sidecar}: {missing[0]} is missing; allowed: a sidecar with {', '.join(SIDECAR_KEYS)}"
        )
    priors = meta["priors"]
    if not isinstance(priors, dict) or not priors:
        raise ConfigError(
            f"{sidecar}: priors = {priors!r} is not allowed; allowed: a mapping of config keys "
            "to {dist, low, high}"
        )
    for key, spec in priors.items():
        ok = isinstance(spec, dict) and spec.get("dist") in DISTRIBUTIONS
        ok = ok and all(
            isinstance(spec.get(e), int | float) and math.isfinite(spec[e]) for e in ("low", "high")
        )
        if not ok or not spec["low"] < spec["high"]:
            raise ConfigError(
                f"{sidecar}: priors.{key} = {spec!r} is not allowed; allowed: "
                f"{{dist: {' | '.join(DISTRIBUTIONS)}, low: number, high: number}}, low < high"
            )
    return meta


def read_posterior(path: Path) -> pd.DataFrame:
    """A posterior CSV (any folder), checked against its sidecar; weights sum to 1.

    Returns one row per parameter set: ``weight`` and one column per parameter.

    Raises:
        ConfigError: the CSV or its sidecar is missing or unreadable, the table
            does not match the sidecar's checksum (edited after writing), the
            columns are not ``draw, weight`` and the priors' keys, a weight is
            negative or not finite or the weights do not sum to a positive
            number, or a value is not a finite number inside its prior's support.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no posterior file here")
    meta = read_sidecar(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the posterior: {err}") from err
    _, body = _split(text)
    if _sha256(body) != meta["sha256"]:
        raise ConfigError(
            f"{path}: the table does not match the sha256 of {path.with_suffix('.json').name} "
            "(edited or damaged after it was written); allowed: the file as written (make a new "
            "one with python -m sim.analysis.posterior)"
        )
    try:
        df = pd.read_csv(io.StringIO(body))
    except (ValueError, pd.errors.ParserError) as err:
        raise ConfigError(f"{path}: cannot read the posterior table: {err}") from err
    priors = meta["priors"]
    expected = ["draw", "weight", *priors]
    if list(df.columns) != expected:
        raise ConfigError(
            f"{path}: columns = {list(df.columns)!r} are not allowed; allowed: {expected!r} "
            "(draw, weight, then the sidecar's priors)"
        )
    if df.empty:
        raise ConfigError(f"{path}: the posterior has no rows; allowed: one or more parameter sets")
    w = pd.to_numeric(df["weight"], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        bad = next((x for x in w if not (math.isfinite(x) and x >= 0)), w.sum())
        raise ConfigError(
            f"{path}: weight = {bad!r} is not allowed; allowed: finite, non-negative weights "
            "with a positive sum"
        )
    df["weight"] = w / w.sum()
    for key, spec in priors.items():
        p = Prior(key, spec["dist"], float(spec["low"]), float(spec["high"]))
        x = pd.to_numeric(df[key], errors="coerce").to_numpy(dtype=float)
        inside = np.isfinite(x) & (x >= p.low) & (x <= p.high)
        if not inside.all():
            i = int(np.flatnonzero(~inside)[0])
            v = df[key].iloc[i]
            v = v.item() if isinstance(v, np.generic) else v
            raise ConfigError(
                f"{path}: {key} = {v!r} (draw {df['draw'].iloc[i]}) is not "
                f"allowed; allowed: a number in its prior's support [{p.low:g}, {p.high:g}]"
            )
        df[key] = x
    return df.drop(columns=["draw"])


def shipped_path(market: str, directory: Path | None = None) -> Path:
    """``configs/market/posterior/<market>.csv`` (or the same name in ``directory``)."""
    return (Path(directory) if directory is not None else SHIPPED_DIR) / f"{market}.csv"


def load(market: str = "default", directory: Path | None = None) -> pd.DataFrame:
    """The shipped posterior of ``market``: one row per parameter set, ``weight`` (sums to 1)
    and one column per parameter (config keys, e.g. ``market.behaviour.close_base``).
    """
    path = shipped_path(market, directory)
    if not path.is_file():
        folder = path.parent
        shipped = sorted(p.stem for p in folder.glob("*.csv")) if folder.is_dir() else []
        raise ConfigError(
            f"{path}: market = {market!r} has no shipped posterior; allowed: "
            f"{', '.join(shipped) or 'none shipped yet'} (make one with "
            "python -m sim.analysis.posterior --ship)"
        )
    return read_posterior(path)


def draws(
    market: str = "default", n: int = 10, seed: int = 0, directory: Path | None = None
) -> list[dict[str, float]]:
    """``n`` parameter sets resampled by weight (with replacement) from the shipped posterior.

    Each is a dict of config key -> value, ready as values of a run; the
    resampling uses ``numpy.random.default_rng(seed)`` (same seed, same draws).
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or int(n) < 1:
        raise ConfigError(f"draws: n = {n!r} is not allowed; allowed: an integer, 1 or more")
    post = load(market, directory)
    rng = np.random.default_rng(int(seed))
    idx = rng.choice(len(post), size=int(n), replace=True, p=post["weight"].to_numpy())
    keys = [c for c in post.columns if c != "weight"]
    values = post[keys].to_numpy(dtype=float)
    return [dict(zip(keys, map(float, values[i]), strict=True)) for i in idx]


def ship(folder: Path, market: str, replace: bool = False, directory: Path | None = None) -> Path:
    """Copy a finished folder's posterior (CSV and JSON) to ``configs/market/posterior/``."""
    src = Path(folder) / "posterior.csv"
    if not (Path(folder) / "summary.md").is_file() or not src.is_file():
        raise ConfigError(
            f"{folder}: the posterior is not finished (no summary.md); allowed: a finished "
            "folder (continue it with --resume)"
        )
    dst = shipped_path(market, directory)
    if dst.exists() and not replace:
        raise ConfigError(
            f"{dst}: a shipped posterior exists; not replaced without --replace-shipped"
        )
    post = read_posterior(src)
    meta = {k: v for k, v in read_sidecar(src).items() if k != "sha256"}
    dst.parent.mkdir(parents=True, exist_ok=True)
    return write_posterior(post, dst, meta)
