"""Calibration with uncertainty: an ABC-SMC posterior of the behavioural parameters.

The point calibration (:mod:`sim.analysis.calibrate`) gives one parameter set
and stays the default market. Many parameter sets reproduce the stylized facts
inside their bands; this package samples them by approximate Bayesian
computation with sequential Monte Carlo (ABC-SMC; Toni et al. 2009, Del Moral
et al. 2012) with pyabc, and ships the weighted sample with the market
(``configs/market/posterior/<market>.csv`` + ``.json``). docs/calibration.md,
"Calibration with uncertainty", states the method.

One idea per module:

* :mod:`.observation`: the facts' values and bands, the band distance
  (``max_k |z_k|``, at most 1 exactly when every fact is inside its band) and
  the floored quantile threshold schedule;
* :mod:`.design`: the priors and run settings (``configs/design/posterior.yaml``), checked;
* :mod:`.simulator`: a particle's run through :mod:`sim.analysis.evaluator`, its facts;
* :mod:`.smc`: the pyabc ABC-SMC run (new, warm-started or resumed) with the uniform
  box kernel, generations at the final threshold pooled up to an ESS target, and its
  history's tables;
* :mod:`.stats`: weighted credible intervals and correlations;
* :mod:`.files`: the posterior file (CSV + checked JSON sidecar), :func:`load`, :func:`draws`;
* :mod:`.predictive`: the posterior predictive through the evaluator;
* :mod:`.plots` and :mod:`.outputs`: the figures and the folder of a finished run;
* :mod:`.cli`: ``python -m sim.analysis.posterior``.

For experiments: ``draws(market, n, seed)`` gives ``n`` parameter sets (dicts of
config key -> value) resampled by weight from the shipped posterior.
"""

from sim.analysis.posterior.design import (
    DEFAULT_DESIGN,
    DISTRIBUTIONS,
    MIN_WEEKS,
    Design,
    Prior,
    load_design,
    make_design,
)
from sim.analysis.posterior.files import (
    SHIPPED_DIR,
    draws,
    load,
    read_posterior,
    read_sidecar,
    ship,
    write_posterior,
)
from sim.analysis.posterior.observation import (
    Band,
    BandDistance,
    band_distance,
    band_epsilon,
    band_score,
    band_scores,
    bands,
)
from sim.analysis.posterior.predictive import PREDICTIVE_SEED

__all__ = [
    "DEFAULT_DESIGN",
    "DISTRIBUTIONS",
    "MIN_WEEKS",
    "PREDICTIVE_SEED",
    "SHIPPED_DIR",
    "Band",
    "BandDistance",
    "Design",
    "Prior",
    "band_distance",
    "band_epsilon",
    "band_score",
    "band_scores",
    "bands",
    "draws",
    "load",
    "load_design",
    "make_design",
    "read_posterior",
    "read_sidecar",
    "ship",
    "write_posterior",
]
