"""The command: ``python -m sim.analysis.posterior`` (ABC-SMC, outputs, shipping).

``python -m sim.analysis.posterior [--design FILE] [--population N] [--particles P]
[--generations G] [--ess-target E] [--jobs J] [--max-minutes M] [--start-from CSV]
[--ship [--replace-shipped]] [--resume FOLDER] [OVERRIDES...]``

A new folder ``results/posterior/<time>-<name>/`` (never reused, except by
``--resume``) gets ``design.yaml`` (the resolved design and the command),
``abc.db`` (pyabc's SQLite history) and the outputs of
:mod:`sim.analysis.posterior.outputs`. ``--ship`` copies the posterior to
``configs/market/posterior/<market>.csv`` (+ ``.json``); an existing one is
replaced only with ``--replace-shipped``. ``--resume FOLDER`` continues an
interrupted run: pyabc continues its stored history (a generation cut short is
run again from its start, from a generator seeded by the design seed and the
generation), and the predictive runs only the draws not yet stored. The
effective sample size of the posterior is printed and stored; below ``ess_warn``
of the particles, or below 30, the command warns on stderr and in summary.md.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from pathlib import Path

from sim.analysis.evaluator import new_output_folder
from sim.analysis.posterior.design import DEFAULT_DESIGN, load_design, make_design
from sim.analysis.posterior.files import SHIPPED_DIR, read_posterior, read_sidecar, ship
from sim.analysis.posterior.observation import bands
from sim.analysis.posterior.outputs import finish, reference_values
from sim.analysis.posterior.simulator import market_base, market_overrides
from sim.analysis.posterior.smc import run_abc
from sim.errors import ConfigError


def _logging(progress: bool) -> None:
    """pyabc's per-generation lines (threshold, acceptance, timing) on stderr, timestamped."""
    level = logging.INFO if progress else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s", "%H:%M:%S"))
    # run_abc runs one generation per pyabc run() call (its stopping rule sits between
    # them), so pyabc's "Stop: Maximum number of generations" after each one misleads
    handler.addFilter(lambda r: "Maximum number of generations" not in r.getMessage())
    for name in ("ABC", "sim.posterior"):
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.setLevel(level)
        lg.propagate = False
    for name in ("ABC.Sampler", "ABC.Distance", "ABC.Epsilon", "ABC.History", "ABC.Adaptation"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("MESA").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> None:
    """Command line: ABC-SMC (resumable), tables, plots, posterior predictive, shipping."""
    import pyabc
    import yaml

    from sim.analysis.calibrate import load_targets
    from sim.run import package_version

    ap = argparse.ArgumentParser(
        prog="python -m sim.analysis.posterior",
        description="An ABC-SMC posterior of the behavioural parameters.",
    )
    ap.add_argument("--design", default=str(DEFAULT_DESIGN), help="design file (YAML)")
    ap.add_argument("--population", type=int, help="customers per run")
    ap.add_argument("--weeks", type=int, help="weeks measured after the spin-up (26 or more)")
    ap.add_argument("--spinup-weeks", type=int, help="spin-up weeks of every run")
    ap.add_argument("--particles", type=int, help="accepted particles per generation")
    ap.add_argument("--generations", type=int, help="generations at most")
    ap.add_argument("--quantile", type=float, help="threshold quantile of the last distances")
    ap.add_argument("--seed", type=int, help="seed of the sampler and the particles' runs")
    ap.add_argument("--ess-target", type=float, help="pooled ESS to reach at the final threshold")
    ap.add_argument("--predictive", type=int, help="posterior predictive draws (0: none)")
    ap.add_argument("--jobs", type=int, default=2, help="processes (1: reproducible)")
    ap.add_argument("--max-minutes", type=float, help="stop after the generation passing this")
    ap.add_argument(
        "--start-from",
        metavar="CSV",
        help="warm start: a posterior file whose parameter sets the first proposal surrounds",
    )
    ap.add_argument("--out", help="output folder (new; default results/posterior/<time>-<name>)")
    ap.add_argument("--resume", metavar="FOLDER", help="continue an interrupted run")
    ap.add_argument("--ship", action="store_true", help="write configs/market/posterior/<market>")
    ap.add_argument("--replace-shipped", action="store_true", help="allow --ship to replace")
    ap.add_argument("--no-progress", action="store_true", help="no per-generation lines, no bars")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides applied to every run")
    a = ap.parse_args(argv)
    progress = not a.no_progress
    _logging(progress)
    command = "python -m sim.analysis.posterior " + " ".join(
        shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:])
    )
    folder: Path | None = None
    try:
        if a.jobs < 1:
            raise ConfigError(f"command line: --jobs = {a.jobs} is not allowed; allowed: 1 or more")
        if a.max_minutes is not None and not a.max_minutes > 0:
            raise ConfigError(
                f"command line: --max-minutes = {a.max_minutes} is not allowed; allowed: above 0"
            )
        changes = {
            "population": a.population,
            "weeks": a.weeks,
            "spinup_weeks": a.spinup_weeks,
            "particles": a.particles,
            "generations": a.generations,
            "quantile": a.quantile,
            "seed": a.seed,
            "ess_target": a.ess_target,
            "predictive_draws": a.predictive,
        }
        if a.resume:
            given = [k for k, v in changes.items() if v is not None]
            if given or a.overrides or a.out or a.start_from:
                raise ConfigError(
                    "command line: --resume keeps the folder's design; drop "
                    + ", ".join(f"--{g.replace('_', '-')}" for g in given or ["out/overrides"])
                )
            folder = Path(a.resume)
            dfile = folder / "design.yaml"
            if not dfile.is_file():
                raise ConfigError(
                    f"command line: --resume = {a.resume!r} is not allowed; allowed: a "
                    "posterior output folder (with design.yaml and abc.db)"
                )
            stored = yaml.safe_load(dfile.read_text(encoding="utf-8"))
            meta = dict(stored.pop("run", {}))
            meta["resumed"] = [*meta.get("resumed", []), command]
            design = make_design(stored, where=str(dfile))
            resume = (folder / "abc.db").is_file()
        else:
            design = load_design(Path(a.design), changes)
            if a.overrides:
                design.overrides = [*design.overrides, *a.overrides]
            meta = {
                "market": design.market,
                "command": command,
                "date": time.strftime("%Y-%m-%d %H:%M"),
                "package": package_version(),
                "pyabc": pyabc.__version__,
                "population": design.population,
                "weeks": design.weeks,
                "spinup_weeks": design.spinup_weeks,
                "particles": design.particles,
                "generations_max": design.generations,
                "quantile": design.quantile,
                "min_epsilon": design.min_epsilon,
                "kernel": design.kernel,
                "kernel_scaling": design.kernel_scaling,
                "kernel_uniform": design.kernel_uniform,
                "ess_target": design.ess_target,
                "seed": design.seed,
                "jobs": a.jobs,
            }
            resume = False
        start = None
        if a.start_from and not a.resume:
            start = read_posterior(Path(a.start_from))
            keys = [p.key for p in design.priors]
            if sorted(c for c in start.columns if c != "weight") != sorted(keys):
                raise ConfigError(
                    f"{a.start_from}: its parameters {sorted(start.columns[1:])} are not "
                    f"allowed; allowed: the design's priors {sorted(keys)}"
                )
            meta["start_from"] = {
                "file": str(a.start_from),
                "sha256": read_sidecar(Path(a.start_from))["sha256"],
                "particles": len(start),
            }
        observed = bands(load_targets(), "sim/data/targets.yaml")
        base = market_base(design)  # a bad override fails here, before any folder
        if a.ship:
            dst = SHIPPED_DIR / f"{design.market}.csv"
            if dst.exists() and not a.replace_shipped:
                raise ConfigError(
                    f"{dst}: a shipped posterior exists; not replaced without --replace-shipped"
                )
        if folder is None:
            folder = new_output_folder("posterior", design.name, a.out)
            from sim.atomic import atomic_write

            atomic_write(
                folder / "design.yaml",
                yaml.safe_dump({**design.to_dict(), "run": meta}, sort_keys=False),
            )
        print(
            f"ABC-SMC: {len(design.priors)} parameters, {design.particles} particles, up to "
            f"{design.generations} generations; runs of {design.population} customers, "
            f"{design.weeks} weeks after a {design.spinup_weeks}-week spin-up; {a.jobs} "
            f"process(es); folder {folder}",
            file=sys.stderr,
            flush=True,
        )
        t0 = time.perf_counter()
        history = run_abc(
            folder,
            design.priors,
            observed,
            base,
            particles=design.particles,
            generations=design.generations,
            quantile=design.quantile,
            min_epsilon=design.min_epsilon,
            kernel=design.kernel,
            kernel_scaling=design.kernel_scaling,
            kernel_uniform=design.kernel_uniform,
            ess_target=design.ess_target,
            seed=design.seed,
            jobs=a.jobs,
            progress=progress,
            resume=resume,
            max_minutes=a.max_minutes,
            start=start,
        )
        meta["wall_minutes"] = (
            float(meta.get("abc_minutes_before", 0.0)) + (time.perf_counter() - t0) / 60
        )
        meta["abc_minutes_before"] = meta["wall_minutes"]
        from sim.atomic import atomic_write

        atomic_write(
            folder / "design.yaml",
            yaml.safe_dump({**design.to_dict(), "run": meta}, sort_keys=False),
        )
        result = finish(
            folder,
            design,
            history,
            observed,
            market_overrides(design),
            meta,
            a.jobs,
            progress,
            reference=reference_values(design.priors, design.market),
        )
        shipped = ship(folder, design.market, a.replace_shipped) if a.ship else None
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        where = f"; continue with --resume {folder}" if folder else ""
        print(f"\ninterrupted: finished generations are kept{where}", file=sys.stderr)
        raise SystemExit(130) from None
    m = result["meta"]
    print(
        f"\nfinal epsilon {m['final_epsilon']:.3g} after {m['generations_run']} generations "
        f"({m['simulations']} simulations, last acceptance rate {m['acceptance_rate']:.3g}, "
        f"{m['wall_minutes']:.1f} min)"
    )
    reached = m["final_epsilon"] <= design.min_epsilon
    print(
        f"effective sample size {m['ess']:.1f} of {m['particles_final']} particles "
        f"({m['ess'] / m['particles_final']:.0%}; "
        + (
            f"generations pooled at epsilon {design.min_epsilon:g}: {m['generations_pooled']})"
            if reached
            else f"generation {m['generations_pooled'][0]} alone)"
        )
    )
    if not reached:
        print(
            f"\nWARNING: the threshold stopped at {m['final_epsilon']:.3g}, above "
            f"{design.min_epsilon:g}: the sample is an intermediate generation, not the "
            "posterior of the facts' bands (continue with --resume, or allow more "
            "--generations).\n",
            file=sys.stderr,
            flush=True,
        )
    if m.get("ess_low"):
        print(
            f"\nWARNING: the effective sample size is low ({m['ess']:.1f}: below "
            f"{m['ess_low']}). The weights rest on few particles, so the credible "
            "intervals and correlations below are unreliable: run more particles, or "
            "more generations at the final threshold (--ess-target; --resume continues "
            "this folder).\n",
            file=sys.stderr,
            flush=True,
        )
    print(result["intervals"].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if result["fit"] is not None:
        fit = result["fit"]
        print(fit.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        out = fit[~fit["inside"]]["fact"].tolist()
        print(
            f"posterior predictive: {int(fit['inside'].sum())} of {len(fit)} facts inside their "
            f"band" + (f"; outside: {', '.join(out)}" if out else "")
        )
    print(f"folder: {folder}  (summary.md, posterior.csv, *.png)")
    if shipped:
        print(f"shipped: {shipped} and {shipped.with_suffix('.json')}")


if __name__ == "__main__":
    main()
