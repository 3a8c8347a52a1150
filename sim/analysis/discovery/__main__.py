"""The command: ``python -m sim.analysis.discovery``.

Sample the cases of a design file, run both arms of every case (resumable),
find the boxes where the strategy fails, and print what was found::

    python -m sim.analysis.discovery                                   # the design file
    python -m sim.analysis.discovery --cases 48 --population 1000 --weeks 52
    python -m sim.analysis.discovery --outcome loyalty --threshold 0.03
    python -m sim.analysis.discovery --resume results/discovery/<folder>
    python -m sim.analysis.discovery --resume <folder> --threshold 50   # re-analyse, no runs
    python -m sim.analysis.discovery --resume <folder> --boxes 2        # a second box too
    python -m sim.analysis.discovery --ray 127.0.0.1:6379                # on a Ray cluster
    python -m sim.analysis.discovery hydra/launcher=submitit_slurm       # on a Hydra launcher

A bad design or flag stops with a message naming the file (or the command
line), the key, the value and what is allowed, exit status 2, before any
folder is made. Ctrl-C keeps the finished runs and says how to resume.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.analysis.discovery.design import DEFAULT_DESIGN, make_design, parse_seeds_arg, read_design
from sim.analysis.discovery.folder import execute, load_folder, prepare
from sim.analysis.discovery.report import print_summary
from sim.analysis.evaluator import add_backend_arguments, backend_from_args


def main(argv: list[str] | None = None) -> None:
    """Command line: sample the cases, run both arms (resumable), find the boxes."""
    from sim.errors import ConfigError

    ap = argparse.ArgumentParser(
        prog="python -m sim.analysis.discovery",
        description="Scenario discovery: under which conditions does a strategy fail "
        "against the baseline?",
    )
    ap.add_argument("--design", default=str(DEFAULT_DESIGN), help="design file (YAML)")
    ap.add_argument("--cases", type=int, help="Latin hypercube cases")
    ap.add_argument("--seeds", help="seeds every case runs, e.g. 0,1 or 0-3")
    ap.add_argument("--population", type=int, help="customers per run")
    ap.add_argument("--weeks", type=int, help="weeks per run")
    ap.add_argument("--strategy", help="the strategy whose failures are sought")
    ap.add_argument("--baseline", help="the strategy it is compared with")
    ap.add_argument("--scenario", help="the scenario (scenarios/)")
    ap.add_argument("--outcome", help="loyalty | traffic | money or an outcome name")
    ap.add_argument("--threshold", type=float, help="a case fails when its gain is below this")
    ap.add_argument("--min-coverage", type=float, help="the box rule's minimum coverage")
    ap.add_argument("--boxes", type=int, help="boxes to seek (each outside those before)")
    ap.add_argument("--out", help="output folder (new; default results/discovery/<time>-...)")
    ap.add_argument("--resume", metavar="FOLDER", help="finish or re-analyse an earlier analysis")
    add_backend_arguments(ap)  # --jobs, --ray, --no-progress, overrides, hydra/launcher=...
    a = ap.parse_args(argv)
    analysis = {
        "outcome": a.outcome,
        "threshold": a.threshold,
        "prim.min_coverage": a.min_coverage,
        "prim.boxes": a.boxes,
    }
    folder: Path | None = None
    try:
        backend = backend_from_args(a)  # a.overrides keeps the runs' overrides only
        if a.resume:
            run_keys = (
                "cases",
                "seeds",
                "population",
                "weeks",
                "strategy",
                "baseline",
                "scenario",
                "out",
            )
            given = [k for k in run_keys if getattr(a, k) is not None]
            if given or a.overrides:
                raise ConfigError(
                    "command line: --resume keeps the folder's runs; drop "
                    f"{', '.join('--' + g for g in given) or 'the overrides'} (only --outcome, "
                    "--threshold, --min-coverage and --boxes may change: the analysis is redone)"
                )
            folder = Path(a.resume)
            changes = {k: v for k, v in analysis.items() if v is not None}
            summary = execute(
                folder, a.jobs, not a.no_progress, changes=changes or None, backend=backend
            )
        else:
            changes = {
                "cases": a.cases,
                "population": a.population,
                "weeks": a.weeks,
                "strategy": a.strategy,
                "baseline": a.baseline,
                "scenario": a.scenario,
                "seeds": parse_seeds_arg(a.seeds, "command line", "--seeds") if a.seeds else None,
                **analysis,
            }
            data = read_design(Path(a.design), changes)
            if a.overrides:
                data["overrides"] = [*(data.get("overrides") or []), *a.overrides]
            design = make_design(data, where=str(a.design))
            folder = prepare(design, a.out)
            summary = execute(folder, a.jobs, not a.no_progress, backend=backend)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        where = f"continue with --resume {folder}" if folder else "no folder was made"
        print(f"\ninterrupted: finished runs are kept; {where}", file=sys.stderr)
        raise SystemExit(130) from None
    design, _ = load_folder(folder)
    print_summary(folder, design, summary)


if __name__ == "__main__":
    main()
