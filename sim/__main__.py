"""The Hydra entry point: ``python -m sim`` (or ``banklab``) runs one simulation.

It only composes the config, calls :func:`sim.run.run`, shows progress and
writes the run folder (under ``results/runs/``, or under the experiment's
``runs/`` in a multirun). In a multirun a run that fails writes ``FAILED``
(with its error) instead of ``COMPLETE``, so the other runs still make the
report; a run whose folder is already complete is kept, not repeated.

Before Hydra starts (and so before it writes any log or ``.hydra/`` file),
:func:`main` checks the command line, the config files it selects and the
output folders named on it; a single run is also composed and validated, and
its run folder created exclusively (``<time>-<strategy>-<scenario>-s<seed>``,
or with ``-2``, ``-3``... when two runs start in the same second). A refused
command writes nothing anywhere.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from sim.atomic import WriteError, atomic_write
from sim.configfiles import check_overrides, register_configs
from sim.errors import ConfigError
from sim.paths import CONFIG_DIR

#: Override keys that name an output folder, checked before Hydra starts.
FOLDER_KEYS = ("hydra.run.dir", "hydra.sweep.dir", "output.dir")
#: The run folder :func:`main` created for this command (removed again if the run is refused).
_CREATED: list[Path] = []


def _identity(cfg: DictConfig, choices: dict) -> dict:
    return {
        "strategy": choices.get("strategy", str(cfg.strategy.name)),
        "scenario": choices.get("scenario", str(cfg.scenario.name)),
        "seed": int(cfg.seed),
    }


def run_job(cfg: DictConfig) -> dict:
    """Run one job inside Hydra: validate, simulate, write the run folder."""
    from tqdm import tqdm

    from sim.run import FAILED, is_complete, run, write_run
    from sim.runfolder import read_summary
    from sim.validate import inside_results, validate

    logging.getLogger("MESA").setLevel(logging.WARNING)
    hc = HydraConfig.get()
    choices = {k: v for k, v in hc.runtime.choices.items() if v is not None}
    out = Path(cfg.output.dir) if cfg.output.dir else Path(hc.runtime.output_dir)
    inside_results(out, "output.dir" if cfg.output.dir else "hydra.run.dir")
    multirun = hc.mode.name == "MULTIRUN"
    ident = _identity(cfg, choices)
    if multirun and is_complete(out):
        return {"folder": str(out), "skipped": True, **read_summary(out)}
    try:
        c = validate(cfg, choices)
        # the strategy's name is its file's name, so a copied file never passes for another
        c.strategy.name = ident["strategy"]
        show = bool(cfg.output.progress) and not multirun

        def bar(total: int, desc: str):
            return tqdm(
                total=total,
                desc=desc,
                unit="week",
                disable=not show,
                file=sys.stderr,
                mininterval=1.0,
            )

        spin: list = []  # the spin-up's bar, made only if the state is not in the cache
        bars: list = []

        def spin_progress(t: int) -> None:
            if not spin:
                spin.append(bar(int(c.spinup.weeks), f"spin-up s{c.seed}"))
            spin[0].update(1)

        def week_progress(t: int) -> None:
            if not bars:
                for b in spin:
                    b.close()
                bars.append(bar(c.weeks, f"{c.strategy.name}/{c.scenario.name}/s{c.seed}"))
            bars[0].update(1)

        result = run(c, progress=week_progress, spinup_progress=spin_progress)
        for b in (*spin, *bars):
            b.close()
        result.summary["scenario"] = ident["scenario"]
        write_run(result, out, plots=bool(cfg.output.plots))
    except Exception as err:
        if not multirun:
            raise
        print(f"run failed: {out}: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
        if not is_complete(out):  # never mark a complete run (written by another) as failed
            try:
                atomic_write(out / "run.json", json.dumps(ident) + "\n")
                atomic_write(
                    out / FAILED, f"{type(err).__name__}: {err}\n\n{traceback.format_exc()}"
                )
            except OSError as werr:
                print(f"run failed: {out}: and: {werr}", file=sys.stderr, flush=True)
        return {"folder": str(out), "failed": str(err), **ident}
    (out / FAILED).unlink(missing_ok=True)
    return {"folder": str(out), **result.summary}


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def _hydra_main(cfg: DictConfig) -> None:
    try:
        res = run_job(cfg)
    except ConfigError as err:
        _remove_created()
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except WriteError as err:
        out = Path(cfg.output.dir) if cfg.output.dir else Path(HydraConfig.get().runtime.output_dir)
        print(f"error: {err}; the run folder {out} has no COMPLETE marker", file=sys.stderr)
        sys.exit(1)
    if HydraConfig.get().mode.name == "RUN":
        o = res["outcomes"]
        print(f"run folder: {res['folder']}")
        for name in (
            "retention_26w",
            "customer_share",
            "primary_share",
            "active_rate",
            "app_mau_rate",
            "contacts_per_customer",
            "payment_share",
            "multi_bank_share",
            "full_switch_6m",
            "partial_switch_6m",
        ):
            print(f"  {name:28s} {o[name]:.4g}")


def _remove_created() -> None:
    """Remove the run folder :func:`main` created, if it holds only Hydra's own files."""
    for folder in _CREATED:
        entries = list(folder.iterdir()) if folder.is_dir() else []
        if all(p.name == ".hydra" or p.suffix == ".log" for p in entries):
            shutil.rmtree(folder, ignore_errors=True)
    _CREATED.clear()


def _quote(value: str) -> str:
    """A value for a Hydra override, quoted so that any path survives its parser."""
    return "'" + value.replace("'", "\\'") + "'"


def check_folders(overrides: list[str]) -> None:
    """Refuse output folders named on the command line that lie outside the results folder.

    Values with interpolations (``${...}``) are checked once composed.
    """
    from sim.validate import inside_results

    for a in overrides:
        key, _, value = a.partition("=")
        key = key.lstrip("+")
        value = value.strip().strip("'\"")
        if key in FOLDER_KEYS and value and "${" not in value:
            inside_results(Path(value), key)


def prepare_run(args: list[str]) -> list[str]:
    """Compose and validate a single run before Hydra starts; create its run folder.

    Returns the overrides to add (``hydra.run.dir=<the new folder>``). A multirun,
    or a command with Hydra flags (``--cfg``, ``--help``...), is left to Hydra.

    Raises:
        ConfigError: The run is refused (nothing was written).
        WriteError: The run folder could not be created.
    """
    from hydra import compose, initialize_config_dir
    from omegaconf import open_dict, read_write

    from sim import paths
    from sim.atomic import new_folder
    from sim.run import is_complete
    from sim.validate import inside_results, validate

    if any(a.startswith("-") for a in args):
        return []
    overrides = list(args)
    try:
        with initialize_config_dir(config_dir=str(paths.CONFIG_DIR), version_base="1.3"):
            cfg = compose("config", overrides=overrides, return_hydra_config=True)
    except Exception:  # Hydra reports it (sweep syntax without --multirun, say)
        return []
    if cfg.hydra.mode is not None and cfg.hydra.mode.name == "MULTIRUN":
        return []
    HydraConfig.instance().set_config(cfg)
    run_dir = Path(str(cfg.hydra.run.dir))
    choices = {k: v for k, v in cfg.hydra.runtime.choices.items() if v is not None}
    job = cfg.copy()
    with read_write(job), open_dict(job):
        del job["hydra"]
    validate(job, choices)
    given = {a.split("=", 1)[0].lstrip("+") for a in overrides if "=" in a}
    folders = [("hydra.run.dir", run_dir)]
    if job.output.dir:
        folders.append(("output.dir", Path(str(job.output.dir))))
    for key, folder in folders:
        inside_results(folder, key)
        if is_complete(folder):
            raise ConfigError(
                f"command line: {key} = {str(folder)!r} is not allowed: it already holds a "
                "complete run; allowed: a folder inside the results folder that holds no "
                "complete run"
            )
    if "hydra.run.dir" in given:
        return []
    if job.output.dir:  # Hydra's log and .hydra/ go into the run folder too
        return [f"hydra.run.dir={_quote(str(job.output.dir))}"]
    folder = new_folder(run_dir)
    _CREATED.append(folder)
    return [f"hydra.run.dir={_quote(str(folder))}"]


def main() -> None:
    """Console-script entry point: check the command line and the files it uses, then run Hydra.

    Everything that can refuse the command is checked here, before Hydra writes
    anything: the overrides, the config files they select (broken files they do
    not select are only listed as warnings), the output folders and, for a
    single run, the composed config.
    """
    args = sys.argv[1:]
    overrides = [a for a in args if not a.startswith("-")]
    try:
        check_overrides(overrides)
        check_folders(overrides)
        register_configs(overrides)
        extra = prepare_run(args)
    except ConfigError as err:
        _remove_created()
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except WriteError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    sys.argv = [sys.argv[0], *args, *extra]
    _hydra_main()


if __name__ == "__main__":
    main()
