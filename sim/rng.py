"""Random streams: one root seed, one independent generator per process.

Each process owns streams spawned from the root ``numpy.random.SeedSequence``
by a fixed key ``(phase, process, week, purpose)``: a fresh generator for each week
and each kind of draw. A lever that changes how many numbers one draw takes
therefore never shifts any other draw, in that process or another, that week
or later. Two strategies run with the same seed therefore
share the same initial population, the same needs and the same noise wherever
their levers do not differ: common random numbers.

``phase`` separates the spin-up (phase 1, weeks counted from the start of the
spin-up) from the run proper (phase 0, weeks counted from week 0), so no week
of a run reuses a draw of the spin-up.

The compiled processes draw by counter instead (:mod:`sim.counter_rng`): their key
``counter_key`` comes from the same root seed and phase, their counter names the
process, purpose, customer id, week and draw.
"""

from __future__ import annotations

import numpy as np

from sim.counter_rng import philox_key

#: Processes that draw random numbers, each with a fixed spawn key.
STREAMS: tuple[str, ...] = (
    "population",
    "network",
    "demography",
    "needs",
    "choice",
    "experience",
    "marketing",
    "response",
    "switching",
    "adoption",
)

#: Phases of a run: the weeks after week 0, and the spin-up before it.
RUN, SPINUP = 0, 1


class Streams:
    """Named, independent generators derived from one root seed."""

    def __init__(self, seed: int, phase: int = RUN) -> None:
        """Keep the root seed's entropy; generators are made on demand."""
        self.seed = seed
        self.phase = phase
        self._entropy = np.random.SeedSequence(seed).entropy
        self._index = {name: i for i, name in enumerate(STREAMS)}
        #: the Philox key of the compiled processes' counter-based draws (sim.counter_rng)
        self.counter_key = philox_key(self._entropy, phase)

    def get(self, name: str, week: int = -1, purpose: int = 0) -> np.random.Generator:
        """The generator of process ``name`` for ``week`` (-1: set-up) and ``purpose``."""
        key = (self.phase, self._index[name], week + 1, purpose)
        return np.random.default_rng(np.random.SeedSequence(self._entropy, spawn_key=key))
