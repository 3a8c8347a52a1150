"""Run configs: what one run is, and the plain config dict a worker receives.

A :class:`RunConfig` is a stable ``key`` (a file name), the Hydra
``overrides`` composed onto the config tree (``strategy=rewards``,
``population.size=1000``...), the ``values`` set afterwards on dotted keys of
the composed config, exactly (``market.behaviour.close_base``, ``seed``...),
and ``labels`` (columns the tool wants in the table: sample, trial,
strategy...). :func:`build_configs` composes configs in the calling process,
once per distinct override set, so workers only receive plain dicts.

Also the helpers the tools share for configs: dotted keys (:func:`set_key`,
:func:`get_key`), a composed config as a plain dict (:func:`compose_plain`)
and seed lists (:func:`parse_seeds`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.=+-")


@dataclass(frozen=True)
class RunConfig:
    """One run: a stable key, Hydra overrides, exact values on dotted keys, table labels."""

    key: str
    overrides: tuple[str, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)
    labels: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """The overrides and the values, as ``key=value`` text (floats exact)."""
        vals = [
            f"{k}={v!r}" if isinstance(v, float) else f"{k}={v}" for k, v in self.values.items()
        ]
        return " ".join([*self.overrides, *vals])


def check_keys(configs: Sequence[RunConfig]) -> None:
    """Keys must be unique file names of letters, digits and ``_ . = + -``."""
    seen: set[str] = set()
    for c in configs:
        if not c.key or set(c.key) - _KEY_CHARS or c.key.startswith("."):
            raise ValueError(
                f"run key {c.key!r} is not allowed; allowed: letters, digits and _ . = + - "
                "(it names a file), not starting with a dot"
            )
        if c.key in seen:
            raise ValueError(f"run key {c.key!r} is given twice; keys must be unique")
        seen.add(c.key)


def build_configs(configs: Sequence[RunConfig]) -> dict[str, dict | str]:
    """Each run's plain config (composed once per override set), or the error text."""
    composed: dict[tuple[str, ...], dict | str] = {}
    out: dict[str, dict | str] = {}
    for c in configs:
        if c.overrides not in composed:
            try:
                composed[c.overrides] = compose_plain(c.overrides)
            except Exception as err:
                composed[c.overrides] = f"{type(err).__name__}: {err}"
        base = composed[c.overrides]
        if isinstance(base, str):
            out[c.key] = base
            continue
        cfg = json.loads(json.dumps(base))  # a plain dict: much faster than deepcopy
        try:
            for k, v in c.values.items():
                set_key(cfg, k, v)
        except KeyError as err:
            out[c.key] = f"KeyError: {err.args[0]} is not a key of the run config"
            continue
        out[c.key] = cfg
    return out


def set_key(config: dict, key: str, value: Any) -> None:
    """Set a dotted key in a nested dict (the key must exist)."""
    node = config
    parts = key.split(".")
    for p in parts[:-1]:
        node = node[p]
    if parts[-1] not in node:
        raise KeyError(key)
    node[parts[-1]] = value


def get_key(config: dict, key: str) -> Any:
    """A dotted key's value in a nested dict."""
    node = config
    for p in key.split("."):
        node = node[p]
    return node


def compose_plain(overrides: Sequence[str] = ()) -> dict:
    """The run config composed with Hydra ``overrides`` (checked), as a plain resolved dict."""
    from omegaconf import OmegaConf

    from sim.compose import compose_config
    from sim.config import check_overrides

    check_overrides(list(overrides))
    cfg = compose_config(list(overrides))
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def parse_seeds(text: str | Iterable[int]) -> list[int]:
    """Seeds from ``"0,1,2"``, ``"0-4"`` or a list."""
    if not isinstance(text, str):
        return [int(s) for s in text]
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part[1:]:
            a, b = part.split("-", 1)
            seeds.extend(range(int(a), int(b) + 1))
        elif part:
            seeds.append(int(part))
    return seeds
