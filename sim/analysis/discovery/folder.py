"""The output folder of a scenario discovery: created once, run (resumably), analysed.

:func:`prepare` makes a new folder (``results/discovery/<time>-<name>/``, or
``--out``: a new or empty folder; an existing one is never reused except by
``--resume``) holding ``design.yaml`` and ``samples.csv`` (the cases'
conditions) and an empty ``runs/``. :func:`execute` runs what is missing
under a folder lock (each finished run is ``runs/<case>_s<seed>_<arm>.json``;
resuming skips them), writes ``outcomes.parquet`` / ``outcomes.csv``, then
analyses (:mod:`.report`). On resume only the analysis settings may change
(``outcome``, ``threshold``, ``prim.min_coverage``, ``prim.boxes``): they are written to
``design.yaml`` and the analysis is redone from the stored runs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.analysis.discovery.design import DiscoveryDesign, make_design, read_design
from sim.analysis.discovery.report import analyse
from sim.analysis.discovery.runs import Simulate, evaluate_runs, run_configs
from sim.analysis.discovery.sampling import sample
from sim.analysis.evaluator import Backend, new_output_folder
from sim.atomic import atomic_write


def prepare(design: DiscoveryDesign, out: str | Path | None = None) -> Path:
    """A new output folder holding the design and its cases."""
    import yaml

    folder = new_output_folder("discovery", design.name, out)
    atomic_write(folder / "design.yaml", yaml.safe_dump(design.to_dict(), sort_keys=False))
    atomic_write(folder / "samples.csv", sample(design).to_csv(index=False, float_format="%.17g"))
    (folder / "runs").mkdir(exist_ok=True)
    return folder


def load_folder(folder: Path, changes: dict | None = None) -> tuple[DiscoveryDesign, pd.DataFrame]:
    """The design (with analysis ``changes``) and the cases stored in an output folder."""
    from sim.errors import ConfigError

    folder = Path(folder)
    if not (folder / "design.yaml").exists() or not (folder / "samples.csv").exists():
        raise ConfigError(
            f"command line: --resume = {str(folder)!r} is not allowed; allowed: "
            "a discovery output folder (with design.yaml and samples.csv)"
        )
    design = make_design(read_design(folder / "design.yaml", changes), str(folder / "design.yaml"))
    samples = pd.read_csv(folder / "samples.csv")
    if list(samples.columns) != ["case", *design.keys] or len(samples) != design.cases:
        raise ConfigError(
            f"{folder / 'samples.csv'}: its columns {list(samples.columns)} or its "
            f"{len(samples)} rows do not match design.yaml (case, {', '.join(design.keys)}; "
            f"{design.cases} cases)"
        )
    return design, samples


def _setting(design: DiscoveryDesign, key: str):
    """An analysis setting of a design by its dotted name (``threshold``, ``prim.min_coverage``)."""
    node = design
    for part in key.split("."):
        node = getattr(node, part)
    return node


def execute(
    folder: Path,
    jobs: int = 2,
    progress: bool = True,
    simulate_fn: Simulate | None = None,
    changes: dict | None = None,
    backend: Backend | None = None,
) -> dict:
    """Run what is missing in a prepared folder (resumable), then analyse it; the summary.

    ``changes``: analysis settings changed on resume (``outcome``, ``threshold``,
    ``prim.min_coverage``, ``prim.boxes``); they are written to the folder's ``design.yaml``.
    """
    from sim.analysis.evaluator import pending
    from sim.atomic import FolderLock

    backend = backend or Backend("local", jobs)
    with FolderLock(folder, name="discovery.lock", what="discovery folder"):
        design, samples = load_folder(folder, changes)
        if changes:
            import yaml

            before, _ = load_folder(folder)
            said = [
                f"{k} {_setting(before, k)!r} -> {_setting(design, k)!r}"
                for k in changes
                if _setting(before, k) != _setting(design, k)
            ]
            if said:
                print(
                    f"discovery: re-analysing {folder} with {', '.join(said)}: its design.yaml "
                    "and analysis files (cases.csv, peeling.*, box.csv, box_scatter.png, cart.*, "
                    "discovery.md) "
                    "are rewritten; the runs are kept",
                    flush=True,
                )
            atomic_write(folder / "design.yaml", yaml.safe_dump(design.to_dict(), sort_keys=False))
        configs = run_configs(design, samples)
        todo = len(pending(configs, folder))
        print(
            f"discovery: {design.cases} cases x {len(design.seeds)} seeds x 2 arms "
            f"({design.strategy}, {design.baseline}) = {len(configs)} runs; "
            f"{len(configs) - todo} done, {todo} to run ({backend.describe()})",
            flush=True,
        )
        table = evaluate_runs(configs, folder, backend, progress, simulate_fn)
        return analyse(folder, design, samples, table)
