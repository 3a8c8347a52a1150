"""The lab's config files: each checked on its own; a run refuses only the files it uses.

Every YAML file under ``configs/`` and ``scenarios/`` is parsed and checked
(:func:`check_config_file`) when a command starts. A broken file that the run
uses (``configs/config.yaml``, the chosen market, strategy, scenario,
experiment and launcher files, and the files they inherit from) stops the run
with its error; a broken file the run does not use is listed as a warning on
stderr and otherwise ignored, so one bad file someone added to
``configs/strategy/`` does not stop the runs that do not select it.

:func:`used_files` works out which files a command line selects, the way
Hydra will: ``configs/config.yaml``'s defaults, then the experiment file's
defaults and ``hydra.sweeper.params``, then the command line, which wins.
"""

from __future__ import annotations

import copy
import fnmatch
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sim import paths
from sim.errors import ConfigError

#: The only classes a config may name with ``_target_`` (configs are data, not code).
ALLOWED_TARGETS = frozenset({"sim.experiment.AggregateCallback"})

#: Broken files already reported in this process (each is warned about once).
_WARNED: set[str] = set()


def _targets(node, path: str = ""):
    """Every ``_target_`` value in a parsed YAML tree, with its key path."""
    if isinstance(node, dict):
        for k, v in node.items():
            key = f"{path}.{k}" if path else str(k)
            if k == "_target_":
                yield key, v
            else:
                yield from _targets(v, key)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _targets(v, f"{path}[{i}]")


def yaml_error(path: Path | str, err: Exception) -> ConfigError:
    """A YAML parser error in the lab's words: the file, line and column first, then the parser's.

    Lines and columns count from 1. The position is the parser's ``problem_mark``
    (where it gave up); its ``context_mark`` (where the construct it was reading
    began) follows in brackets when it is elsewhere.
    """

    def at(mark) -> str:
        return f"line {mark.line + 1}, column {mark.column + 1}"

    pm = getattr(err, "problem_mark", None)
    cm = getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None)
    context = getattr(err, "context", None)
    mark = pm or cm
    msg = f"{path}: malformed YAML"
    if mark is not None:
        msg += f" at {at(mark)}"
    if problem or context:
        msg += f": {problem or context}"
    if context and cm is not None and pm is not None and at(cm) != at(pm):
        msg += f" ({context} at {at(cm)})"
    raw = " ".join(str(err).split())
    return ConfigError(
        f"{msg}; allowed: well-formed YAML, a mapping of keys to values; the parser says: {raw}"
    )


def check_config_file(path, group: str | None):
    """Parse one config file and refuse what would make it more than data.

    Malformed or empty files, ``_target_`` naming anything but the lab's own
    classes, and strategy, market or scenario files that escape their package
    (``# @package _global_`` or ``hydra:`` keys) are ConfigErrors naming the file.

    Args:
        path: The YAML file.
        group: Its config group (``strategy``, ``market``, ``scenario``, ``experiment``...),
            or None for a file outside any group.

    Returns:
        The parsed file (a mapping).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {err.start}: {err.reason}); allowed: a UTF-8 YAML file"
        ) from err
    key = (str(path), group, text)
    if key not in _CHECKED:
        try:
            _CHECKED[key] = _check_text(path, group, text)
        except ConfigError as err:
            _CHECKED[key] = err
    result = _CHECKED[key]
    if isinstance(result, ConfigError):
        raise ConfigError(str(result))
    return copy.deepcopy(result)


#: Checked files by (path, group, text): a file is parsed and checked again only when its
#: text changes (every composition checks every file; parsing them all took 0.25 s).
_CHECKED: dict[tuple, Any] = {}


def _check_text(path: Path, group: str | None, text: str):
    """:func:`check_config_file` on the file's text: the parsed mapping, or a ConfigError."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise yaml_error(path, err) from err
    if data is None:
        raise ConfigError(f"{path}: the file is empty; it needs at least a 'name'")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: a config file must be a mapping of keys to values, got {type(data).__name__}"
        )
    for key, value in _targets(data):
        if value not in ALLOWED_TARGETS:
            raise ConfigError(
                f"{path}: {key} = {value!r} is not allowed; configs are data: "
                f"allowed targets: {', '.join(sorted(ALLOWED_TARGETS))}"
            )
    if group in ("strategy", "market", "scenario"):
        from sim.validate import check_group_file

        check_group_file(data, group, str(path))
        first = "\n".join(line for line in text.splitlines() if line.startswith("# @package"))
        if "_global_" in first or "hydra" in data:
            raise ConfigError(
                f"{path}: a {group} file may only set {group} keys; "
                "'# @package _global_' and 'hydra:' are allowed in experiment "
                "files only"
            )
    return data


def check_overrides(args) -> None:
    """Refuse unknown keys and overrides that would instantiate a foreign class."""
    from sim.validate import check_override_keys

    check_override_keys(list(args))
    for a in args:
        if "_target_" in a:
            key, _, value = a.partition("=")
            if value not in ALLOWED_TARGETS:
                raise ConfigError(
                    f"command line: {key} = {value!r} is not allowed; allowed "
                    f"targets: {', '.join(sorted(ALLOWED_TARGETS))}"
                )


# --------------------------------------------------------------------------- which files


def group_folder(group: str) -> Path:
    """The folder of a config group (``scenario`` lives in the top-level ``scenarios/``)."""
    return paths.SCENARIO_DIR if group == "scenario" else paths.CONFIG_DIR / group


def group_options(group: str) -> list[str]:
    """The option names of a config group: its files' names, sorted."""
    return sorted(p.stem for p in group_folder(group).glob("*.yaml"))


def config_files() -> list[tuple[Path, str | None]]:
    """Every config file of the lab with its group (None for ``configs/config.yaml``)."""
    files: list[tuple[Path, str | None]] = []
    for path in sorted(paths.CONFIG_DIR.rglob("*.yaml")):
        rel = path.relative_to(paths.CONFIG_DIR)
        files.append((path, rel.parts[0] if len(rel.parts) > 1 else None))
    files += [(p, "scenario") for p in sorted(paths.SCENARIO_DIR.glob("*.yaml"))]
    return files


def check_all() -> tuple[dict[Path, Any], dict[Path, ConfigError]]:
    """Every config file checked: the parsed good ones and the broken ones with their errors."""
    good: dict[Path, Any] = {}
    broken: dict[Path, ConfigError] = {}
    for path, group in config_files():
        try:
            good[path] = check_config_file(path, group)
        except ConfigError as err:
            broken[path] = err
    return good, broken


def broken_files() -> dict[Path, ConfigError]:
    """Every config file that does not pass :func:`check_config_file`, with its error."""
    return check_all()[1]


def _is_group(key: str) -> bool:
    group = key.split("@", 1)[0]
    return bool(group) and "." not in group and group_folder(group).is_dir()


def options_of(value: str, group: str) -> list[str]:
    """The options an override value names: ``a``, ``a,b``, ``[a,b]``, ``choice(a,b)``, ``glob(*)``.

    A glob names every matching option of the group (its ``exclude=`` is not
    applied: the file check may look at a file the sweep leaves out).
    """
    v = value.strip()
    if v.startswith("glob(") and v.endswith(")"):
        patterns = [p.strip().strip("'\"") for p in v[5:-1].split(",")]
        patterns = [p for p in patterns if p and not p.startswith("exclude")]
        names = group_options(group)
        return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    for prefix in ("choice(",):
        if v.startswith(prefix) and v.endswith(")"):
            v = v[len(prefix) : -1]
    v = v.strip("[]")
    out = [o.strip().strip("'\"") for o in v.split(",")]
    return [o for o in out if o and o != "null"]


def _entries(data: Any) -> list[tuple[str, str | None]]:
    """A parsed file's defaults list as (key, option) pairs; key '' for a same-group entry."""
    out: list[tuple[str, str | None]] = []
    defaults = data.get("defaults") if isinstance(data, dict) else None
    for item in defaults if isinstance(defaults, list) else []:
        if isinstance(item, str):
            if item != "_self_":
                out.append(("", item))
        elif isinstance(item, dict):
            for k, v in item.items():
                key = str(k).replace("override ", "").replace("optional ", "").strip()
                out.append((key, None if v is None else str(v)))
    return out


class _Selection:
    """The files a command selects, collected while checking each one."""

    def __init__(self, broken: dict[Path, ConfigError]):
        self.broken = broken
        self.files: list[Path] = []

    def use(self, path: Path, group: str | None) -> Any:
        """Record ``path`` as used; raise its error if it is broken; return it parsed."""
        if path in self.files:
            return None
        self.files.append(path)
        if path in self.broken:
            raise self.broken[path]
        import yaml

        try:
            return yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):  # checked by broken_files already
            return None

    def use_option(self, group: str, option: str) -> Any:
        """Use ``<group>/<option>.yaml`` and, recursively, the same-group files it inherits."""
        path = group_folder(group) / f"{option}.yaml"
        if not path.is_file():
            return None  # an unknown name: the override check or Hydra names it
        data = self.use(path, group)
        for key, opt in _entries(data):
            if opt is None:
                continue
            if key == "":
                self.use_option(group, opt)
            elif key.startswith("/") and _is_group(key[1:]):
                self.use_option(key[1:].split("@", 1)[0], opt)
        return data


def used_files(
    overrides: Sequence[str] = (), broken: dict[Path, ConfigError] | None = None
) -> list[Path]:
    """The config files a command with these overrides uses, ``configs/config.yaml`` first.

    Raises:
        ConfigError: One of them is broken (the first one found, with its error).
    """
    broken = broken_files() if broken is None else broken
    sel = _Selection(broken)
    root = sel.use(paths.CONFIG_DIR / "config.yaml", None)
    chosen: dict[str, list[str]] = {}
    for key, opt in _entries(root):
        if key and opt is not None and _is_group(key):
            chosen[key] = [opt]
    command: dict[str, list[str]] = {}
    for a in overrides:
        if a.startswith("-") or "=" not in a:
            continue
        key, value = a.split("=", 1)
        key = key.lstrip("+~")
        if _is_group(key):
            command[key] = options_of(value, key.split("@", 1)[0])
    for exp in command.get("experiment", chosen.get("experiment", [])):
        from_file: dict[str, list[str]] = {}
        _experiment_choices(sel, exp, from_file)
        chosen.update(from_file)
    chosen.update(command)
    for key, options in chosen.items():
        if key == "experiment":
            continue
        for opt in options:
            sel.use_option(key.split("@", 1)[0], opt)
    return sel.files


def _experiment_choices(sel: _Selection, name: str, out: dict[str, list[str]]) -> None:
    """Use an experiment file (and its parents); collect the groups it selects into ``out``."""
    path = paths.CONFIG_DIR / "experiment" / f"{name}.yaml"
    if not path.is_file() or path in sel.files:
        return
    data = sel.use(path, "experiment")
    for key, opt in _entries(data):
        if opt is None:
            continue
        if key == "":
            _experiment_choices(sel, opt, out)  # a parent experiment: this file wins over it
        elif key.startswith("/") and _is_group(key[1:]):
            out[key[1:]] = [opt]
    params = (((data or {}).get("hydra") or {}).get("sweeper") or {}).get("params") or {}
    for key, value in params.items() if isinstance(params, dict) else []:
        if _is_group(str(key)):
            out[str(key)] = options_of(str(value), str(key).split("@", 1)[0])


def register_configs(overrides: Iterable[str] = (), warn: bool = True) -> list[ConfigError]:
    """Check the config files, register the schemas and the usable scenarios.

    A broken file that a command with ``overrides`` uses is refused; every other
    broken file is left out (a broken scenario is not registered) and, if
    ``warn``, listed once per process as a warning on stderr.

    Args:
        overrides: The command line's overrides (``strategy=rewards``, ...).
        warn: Print the warnings.

    Returns:
        The errors of the broken files the command does not use.

    Raises:
        ConfigError: A file the command uses is broken.
    """
    from hydra.core.config_store import ConfigStore

    from sim.config import Config

    good, broken = check_all()
    used = set(used_files(list(overrides), broken))
    ignored = [err for path, err in broken.items() if path not in used]
    if warn:
        for err in ignored:
            if str(err) not in _WARNED:
                _WARNED.add(str(err))
                print(
                    f"warning: {err} (this file is not used by this command and was left out; "
                    "fix or remove it)",
                    file=sys.stderr,
                    flush=True,
                )
    cs = ConfigStore.instance()
    if "base_config.yaml" not in cs.repo:  # the schema never changes: typed once a process
        cs.store(name="base_config", node=Config)
    for path in sorted(paths.SCENARIO_DIR.glob("*.yaml")):
        if path in good:
            cs.store(group="scenario", name=path.stem, node=good[path], package="scenario")
    return ignored
