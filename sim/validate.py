"""Validation of a composed config before any simulation work starts.

Types and unknown keys are checked by Hydra/OmegaConf against the schemas of
:mod:`sim.config`; this module checks what they cannot: ranges, shares that
must sum to one, the market's banks, scenario shocks, and whether the
population fits in this machine's memory. Every error names the file, the key,
the value given and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from sim.config import (
    SHOCK_MODES,
    SHOCK_SHAPES,
    Config,
)
from sim.errors import ConfigError
from sim.params import resolve_target

#: Estimated peak bytes per customer row: state plus the step's temporaries, per bank.
BYTES_PER_ROW_BASE = 400
BYTES_PER_ROW_PER_BANK = 260


def source_of(key: str, choices: dict[str, str] | None) -> str:
    """The file a key most likely came from (the group's chosen file, else config.yaml)."""
    from sim import paths

    choices = choices or {}
    group = key.split(".", 1)[0]
    if group == "scenario" and choices.get("scenario"):
        return str(paths.SCENARIO_DIR / f"{choices['scenario']}.yaml")
    if group in ("market", "strategy") and choices.get(group):
        return str(paths.CONFIG_DIR / group / f"{choices[group]}.yaml")
    return f"{paths.CONFIG_DIR / 'config.yaml'} or the command line"


GROUP_SCHEMA = {"strategy": "Levers", "market": "MarketConfig", "scenario": "ScenarioConfig"}


def _schema(name: str):
    import sim.config as c

    return getattr(c, name)


def _field_types(cls) -> dict[str, str]:
    return {f.name: str(f.type) for f in dataclasses.fields(cls)}


def did_you_mean(name: str, allowed: list[str]) -> str:
    """`` (did you mean a, b?)`` naming the allowed names nearest to ``name``, or ``""``."""
    import difflib

    close = difflib.get_close_matches(name, allowed, n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _unknown(where: str, key: str, allowed: list[str]) -> ConfigError:
    hint = did_you_mean(key.rsplit(".", 1)[-1], allowed)
    return ConfigError(f"{where}: {key} is not a known key{hint}; allowed: {', '.join(allowed)}")


def check_tree(data: Any, cls, prefix: str, where: str) -> None:
    """Check a YAML tree against a schema: unknown keys, types and ranges, naming ``where``."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where}: {prefix.rstrip('.') or 'the file'} = {data!r} is not "
            f"allowed; allowed: a mapping of {cls.__name__} keys"
        )
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if key not in fields:
            raise _unknown(where, full, list(fields))
        f = fields[key]
        t = str(f.type)
        sub = (
            getattr(__import__("sim.config", fromlist=["x"]), t, None) if t[:1].isupper() else None
        )
        if value is None:
            continue
        if sub is not None and dataclasses.is_dataclass(sub):
            check_tree(value, sub, full + ".", where)
        elif t.startswith("dict[str, BankConfig]"):
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{where}: {full} = {value!r} is not allowed; allowed: a "
                    "mapping of bank names to bank settings"
                )
            for bank, bcfg in value.items():
                check_tree(bcfg or {}, _schema("BankConfig"), f"{full}.{bank}.", where)
        elif t.startswith("list[Shock]"):
            if not isinstance(value, list):
                raise ConfigError(
                    f"{where}: {full} = {value!r} is not allowed; allowed: a list of shocks"
                )
            for i, shock in enumerate(value):
                check_tree(shock, _schema("Shock"), f"{full}[{i}].", where)
        elif t in ("float", "int"):
            _check_number(full, value, dict(f.metadata), None, where=where)
        elif t == "str" and not isinstance(value, str):
            raise ConfigError(f"{where}: {full} = {value!r} is not allowed; allowed: a string")
        elif t.startswith("list[float]"):
            if not isinstance(value, list):
                raise ConfigError(
                    f"{where}: {full} = {value!r} is not allowed; allowed: a list of numbers"
                )
            for i, v in enumerate(value):
                _check_number(f"{full}[{i}]", v, dict(f.metadata), None, where=where)


def check_group_file(data: dict, group: str, where: str) -> None:
    """Check a strategy, market or scenario file against its schema."""
    body = {k: v for k, v in data.items() if k != "defaults"}
    check_tree(body, _schema(GROUP_SCHEMA[group]), f"{group}.", where)


def _group_options(group: str) -> list[str]:
    from sim.configfiles import group_options

    return group_options(group)


def _check_override_value(key: str, raw: str, f) -> None:
    import yaml

    t = str(f.type)
    if t not in ("float", "int") or raw.startswith(("range(", "choice(", "interval(")):
        return
    try:
        values = yaml.safe_load(f"[{raw}]")
    except yaml.YAMLError:
        values = [raw]
    for v in values:
        _check_number(key, v, dict(f.metadata), None, where="command line")


def experiment_flag(block: Any, key: str, source: str = "experiment") -> bool:
    """The flag ``experiment.<key>`` (:data:`sim.config.EXPERIMENT_FLAGS`) of an experiment block.

    Its default when absent; a ConfigError naming ``source`` unless it is true or false.
    """
    from sim.config import EXPERIMENT_FLAGS

    value = (block or {}).get(key, EXPERIMENT_FLAGS[key])
    if not isinstance(value, bool):
        raise ConfigError(
            f"{source}: experiment.{key} = {value!r} is not allowed; allowed: true or false "
            f"(default {str(EXPERIMENT_FLAGS[key]).lower()})"
        )
    return value


def shipped_posteriors() -> list[str]:
    """The names of the shipped posteriors (``configs/market/posterior/*.csv``)."""
    from sim.paths import CONFIG_DIR

    return sorted(p.stem for p in (CONFIG_DIR / "market" / "posterior").glob("*.csv"))


def _posterior_value(key: str, value: Any, where: str) -> Any:
    """One posterior key's value, checked: a ConfigError naming ``where``, key, value, allowed."""
    if key == "posterior":
        if value is None or value is False:
            return None
        names = shipped_posteriors()
        if not isinstance(value, str) or value not in names:
            raise ConfigError(
                f"{where}: experiment.posterior = {value!r} is not allowed"
                f"{did_you_mean(str(value), names)}; allowed: null (off) or a shipped "
                f"posterior: {', '.join(names) or 'none shipped'} (configs/market/posterior/)"
            )
        return value
    low, what = (
        (1, "an integer, 1 or more") if key == "posterior_draws" else (0, "an integer, 0 or more")
    )
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
    if key == "posterior_draws" and ok and value > 10_000:
        ok = False
    if key == "posterior_draws":
        what = "an integer from 1 to 10000"
    if not ok:
        raise ConfigError(f"{where}: experiment.{key} = {value!r} is not allowed; allowed: {what}")
    return value


def posterior_option(block: Any, source: str = "experiment") -> dict[str, Any] | None:
    """The posterior option of an experiment block, checked; None when it is off.

    Returns ``{"posterior": name, "posterior_draws": n, "posterior_seed": s}`` (defaults
    :data:`sim.config.POSTERIOR_DEFAULTS`).
    """
    from sim.config import POSTERIOR_DEFAULTS

    block = block or {}
    out = {k: _posterior_value(k, block.get(k, d), source) for k, d in POSTERIOR_DEFAULTS.items()}
    return out if out["posterior"] is not None else None


def _check_experiment_override(key: str, raw: str) -> None:
    """A flag of the experiment block on the command line (``experiment.progress=false``)."""
    from sim.config import EXPERIMENT_FLAGS, POSTERIOR_DEFAULTS

    name = key.split(".", 1)[1]
    if name in POSTERIOR_DEFAULTS:
        import yaml

        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        _posterior_value(name, value, "command line")
        return
    if name in EXPERIMENT_FLAGS and raw.strip().lower() not in ("true", "false"):
        raise ConfigError(
            f"command line: {key} = {raw!r} is not allowed; allowed: true or false "
            f"(default {str(EXPERIMENT_FLAGS[name]).lower()})"
        )


#: The config group of a posterior experiment's draws (registered by :mod:`sim.experiment`).
DRAW_GROUP = "posterior_draw"


def _check_draw_override(raw: str) -> None:
    """``posterior_draw=...``: only the draws :mod:`sim.experiment` registered for this command."""
    from hydra.core.config_store import ConfigStore

    from sim.configfiles import options_of

    repo = ConfigStore.instance().repo.get(DRAW_GROUP, {})
    names = sorted((k.removesuffix(".yaml") for k in repo), key=lambda n: (len(n), n))
    for choice in options_of(raw, DRAW_GROUP) or [raw]:
        if choice not in names:
            raise ConfigError(
                f"command line: {DRAW_GROUP} = {choice!r} is not allowed; allowed: "
                f"{', '.join(names) or 'none'} (the draws are chosen by python -m sim.experiment "
                "with experiment.posterior=NAME; do not set them by hand)"
            )


def check_override_keys(args: list[str]) -> None:
    """Unknown keys, bad values and unknown group options in command-line overrides."""
    root = _schema("Config")
    for a in args:
        if "=" not in a or a.startswith(("hydra", "+hydra", "~")):
            continue
        key, raw = a.split("=", 1)
        key = key.lstrip("+")
        group = key.split("@", 1)[0]
        if group in (*GROUP_SCHEMA, "experiment"):
            from sim.configfiles import options_of

            options = _group_options(group)
            for choice in options_of(raw, group) or [raw]:
                if choice not in options:
                    raise ConfigError(
                        f"command line: {key} = {choice!r} is not allowed"
                        f"{did_you_mean(choice, options)}; allowed: {', '.join(options)}"
                    )
            continue
        if key.startswith("experiment."):
            _check_experiment_override(key, raw)
            continue
        if key == DRAW_GROUP:
            _check_draw_override(raw)
            continue
        cls, parts = root, key.split(".")
        for i, part in enumerate(parts):
            fields = {f.name: f for f in dataclasses.fields(cls)}
            if part not in fields:
                raise _unknown("command line", key, list(fields))
            t = str(fields[part].type)
            nxt = getattr(__import__("sim.config", fromlist=["x"]), t, None)
            if t.startswith("dict[str, BankConfig]") and i + 2 < len(parts):
                cls = _schema("BankConfig")
                parts_left = parts[i + 2 :]
                fields = {f.name: f for f in dataclasses.fields(cls)}
                if parts_left[0] not in fields:
                    raise _unknown("command line", key, list(fields))
                if parts_left[0] == "levers" and len(parts_left) > 1:
                    lv = {f.name: f for f in dataclasses.fields(_schema("Levers"))}
                    if parts_left[1] not in lv:
                        raise _unknown("command line", key, sorted(lv))
                    _check_override_value(key, raw, lv[parts_left[1]])
                elif parts_left[0] != "levers":
                    _check_override_value(key, raw, fields[parts_left[0]])
                break
            if nxt is None or not dataclasses.is_dataclass(nxt):
                if i == len(parts) - 1:
                    _check_override_value(key, raw, fields[part])
                break
            cls = nxt


def inside_results(path: Path, key: str) -> Path:
    """``path`` resolved, if it lies inside the results folder; else a ConfigError."""
    from sim.paths import results_dir

    root = results_dir().resolve()
    p = Path(path).resolve()
    if p != root and root not in p.parents:
        raise ConfigError(
            f"command line: {key} = {str(path)!r} is not allowed; allowed: a "
            f"folder inside the results folder {root}"
        )
    return p


def _fail(key: str, value: Any, allowed: str, choices) -> ConfigError:
    return ConfigError(
        f"{source_of(key, choices)}: {key} = {value!r} is not allowed; allowed: {allowed}"
    )


def _check_number(key: str, value: Any, meta: dict, choices, where: str | None = None) -> None:
    lo, hi = meta.get("lo"), meta.get("hi")
    unit = meta.get("unit", "")
    lo_s = "-inf" if lo is None else f"{lo:g}"
    hi_s = "inf" if hi is None else f"{hi:g}"
    allowed = f"[{lo_s}, {hi_s}] {unit}".strip()

    def fail(what: str) -> ConfigError:
        if where is None:
            return _fail(key, value, what, choices)
        return ConfigError(f"{where}: {key} = {value!r} is not allowed; allowed: {what}")

    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(f"a number in {allowed}")
    if isinstance(value, float) and not math.isfinite(value):
        raise fail(f"a finite number in {allowed}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise fail(allowed)


def _walk(obj: Any, prefix: str, choices) -> None:
    """Check every ranged field of a dataclass tree."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            _walk(value, key + ".", choices)
        elif isinstance(value, dict):
            for k, v in value.items():
                if dataclasses.is_dataclass(v):
                    _walk(v, f"{key}.{k}.", choices)
        elif isinstance(value, list) and f.metadata.get("lo") is not None:
            for i, v in enumerate(value):
                _check_number(f"{key}[{i}]", v, f.metadata, choices)
        elif f.metadata.get("lo") is not None or f.metadata.get("hi") is not None:
            _check_number(key, value, f.metadata, choices)


def _shares(key: str, values: list[float], n: int, choices) -> None:
    if len(values) != n:
        raise _fail(key, values, f"a list of {n} shares", choices)
    if abs(sum(values) - 1.0) > 1e-6:
        raise _fail(
            key, values, f"{n} shares in [0, 1] summing to 1 (sum is {sum(values):g})", choices
        )


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable), or the physical size if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def estimated_bytes(size: int, headroom: float, n_banks: int) -> int:
    """Estimated peak memory of a run of ``size`` customers."""
    rows = math.ceil(size * (1.0 + headroom))
    return rows * (BYTES_PER_ROW_BASE + BYTES_PER_ROW_PER_BANK * n_banks)


def to_config(cfg: DictConfig | Config) -> Config:
    """The config as a ``Config`` object (merged onto the schema if needed)."""
    if isinstance(cfg, Config):
        return cfg
    if isinstance(cfg, DictConfig) and OmegaConf.get_type(cfg) is Config:
        return OmegaConf.to_object(cfg)  # type: ignore[return-value]  # composed on the schema
    merged = OmegaConf.merge(OmegaConf.structured(Config), cfg)
    return OmegaConf.to_object(merged)  # type: ignore[return-value]


def validate(cfg: DictConfig | Config, choices: dict[str, str] | None = None) -> Config:
    """Check a composed config; return it as a ``Config`` object or raise ConfigError."""
    try:
        c = to_config(cfg)
    except ConfigError:
        raise
    except Exception as err:  # OmegaConf validation errors
        raise ConfigError(
            f"{source_of(str(getattr(err, 'full_key', '')), choices)}: {err}"
        ) from err
    _walk(c, "", choices)
    m = c.market
    mix = m.customers
    _shares("market.customers.segments", list(mix.segments), 3, choices)
    _shares("market.customers.cohorts", list(mix.cohorts), 4, choices)
    if len(mix.digital_by_cohort) != 4:
        raise _fail(
            "market.customers.digital_by_cohort",
            mix.digital_by_cohort,
            "a list of 4 scores, one per cohort",
            choices,
        )
    if len(m.behaviour.cost_per_contact) != 7:
        raise _fail(
            "market.behaviour.cost_per_contact",
            m.behaviour.cost_per_contact,
            "a list of 7 costs: branch, atm, online, mobile, messaging, remote, open",
            choices,
        )
    if m.focal not in m.banks:
        raise _fail(
            "market.focal", m.focal, f"one of the market's banks: {', '.join(m.banks)}", choices
        )
    if not 3 <= len(m.banks) <= 7:
        raise _fail(
            "market.banks", list(m.banks), "the focal bank plus 2 to 6 competitors", choices
        )
    if sum(b.share for b in m.banks.values()) <= 0:
        raise _fail(
            "market.banks.*.share",
            [b.share for b in m.banks.values()],
            "shares with a positive sum",
            choices,
        )
    env = c.scenario
    names = [m.focal] + [n for n in m.banks if n != m.focal]
    for i, s in enumerate(env.shocks):
        key = f"scenario.shocks[{i}]"
        try:
            resolve_target(s.target, names)
        except ConfigError as err:
            raise ConfigError(f"{source_of('scenario', choices)}: {key}.target: {err}") from None
        if s.mode not in SHOCK_MODES:
            raise _fail(f"{key}.mode", s.mode, " | ".join(SHOCK_MODES), choices)
        if s.shape not in SHOCK_SHAPES:
            raise _fail(f"{key}.shape", s.shape, " | ".join(SHOCK_SHAPES), choices)
        if not isinstance(s.value, int | float) or not math.isfinite(s.value):
            raise _fail(f"{key}.value", s.value, "a finite number", choices)
        if s.start >= c.weeks:
            raise _fail(
                f"{key}.start", s.start, f"a week in the simulated weeks 0..{c.weeks - 1}", choices
            )
        if s.end < s.start:
            raise _fail(f"{key}.end", s.end, f"a week >= start ({s.start})", choices)
    need = estimated_bytes(c.population.size, c.population.headroom, len(m.banks))
    have = available_memory()
    if need > 0.8 * have:
        raise _fail(
            "population.size",
            c.population.size,
            f"a population whose estimated memory ({need / 2**30:.1f} GiB) fits in 80% of "
            f"the memory available now ({have / 2**30:.1f} GiB)",
            choices,
        )
    return c
