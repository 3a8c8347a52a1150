"""One evaluator under every analysis tool: run configs in, a table of outcomes out.

Sensitivity (:mod:`sim.analysis.sensitivity`), the lever search
(:mod:`sim.analysis.optimize`), robustness (:mod:`sim.analysis.robustness`),
calibration (:mod:`sim.analysis.calibrate`), scenario discovery and the
posterior run their simulations here: :func:`evaluate` takes a list of
:class:`RunConfig` and returns an :class:`Evaluation` whose ``table`` has one
row per config, resumably (completed runs never repeated, failed ones
recorded) on local cores, a Ray cluster or any Hydra launcher.

One idea per module (everything public is importable from this package):

* :mod:`.evaluation`: :func:`evaluate`, the loop tying the others together;
* :mod:`.configs`: :class:`RunConfig`, composing plain configs, dotted keys, seed lists;
* :mod:`.worker`: one run in a worker's process, its record (:func:`execute`);
* :mod:`.records`: resume bookkeeping (``runs/<key>.json``) and the outcome table;
* :mod:`.backends`: :class:`Backend` (local, Ray, Hydra) and the tools' flags for it;
* :mod:`.hydra_jobs`: the Hydra backend's queue and multirun;
* :mod:`.tables`: Parquet/CSV tables, Markdown tables, output folders, the progress bar;
* :mod:`.raynode`: a second Ray node on this machine, on loopback;
* :mod:`.__main__`: the command line (``python -m sim.analysis.evaluator ray-node ...``).
"""

from sim.analysis.evaluator.backends import (
    BACKENDS,
    LAUNCHER_PREFIXES,
    Backend,
    add_backend_arguments,
    backend_from_args,
    ray_init,
    split_launcher,
)
from sim.analysis.evaluator.configs import (
    RunConfig,
    build_configs,
    check_keys,
    compose_plain,
    get_key,
    parse_seeds,
    set_key,
)
from sim.analysis.evaluator.evaluation import Evaluation, evaluate
from sim.analysis.evaluator.hydra_jobs import (
    hydra_command,
    run_on_hydra,
    run_task,
    simulate_reference,
)
from sim.analysis.evaluator.raynode import free_port, loopback_env, loopback_node_command
from sim.analysis.evaluator.records import (
    PLACE_COLUMNS,
    RUNS,
    comparable,
    folder_records,
    folder_table,
    pending,
    read_record,
    record_path,
    table_of,
)
from sim.analysis.evaluator.tables import (
    SMALL_TABLE_ROWS,
    markdown_table,
    new_output_folder,
    parquet_available,
    progress_bar,
    read_table,
    write_table,
)
from sim.analysis.evaluator.worker import Simulate, execute, simulate_outcomes, simulate_run

__all__ = [
    "BACKENDS",
    "LAUNCHER_PREFIXES",
    "PLACE_COLUMNS",
    "RUNS",
    "SMALL_TABLE_ROWS",
    "Backend",
    "Evaluation",
    "RunConfig",
    "Simulate",
    "add_backend_arguments",
    "backend_from_args",
    "build_configs",
    "check_keys",
    "comparable",
    "compose_plain",
    "evaluate",
    "execute",
    "folder_records",
    "folder_table",
    "free_port",
    "get_key",
    "hydra_command",
    "loopback_env",
    "loopback_node_command",
    "markdown_table",
    "new_output_folder",
    "parquet_available",
    "parse_seeds",
    "pending",
    "progress_bar",
    "ray_init",
    "read_record",
    "read_table",
    "record_path",
    "run_on_hydra",
    "run_task",
    "set_key",
    "simulate_outcomes",
    "simulate_reference",
    "simulate_run",
    "split_launcher",
    "table_of",
    "write_table",
]
