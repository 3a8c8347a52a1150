"""A strategy lab for retail-bank customer engagement: loyalty and traffic, simulated.

``sim.run(cfg) -> RunResult`` runs one market x strategy x scenario x seed.
"""

from sim.run import RunResult, run

__all__ = ["RunResult", "run"]
