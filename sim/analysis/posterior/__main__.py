"""``python -m sim.analysis.posterior``: see :mod:`sim.analysis.posterior.cli`."""

from sim.analysis.posterior.cli import main

if __name__ == "__main__":
    main()
