"""The observation model: the stylized facts' values and bands, a distance, a threshold schedule.

Each target fact k has a value v_k and a band [lo_k, hi_k]. A simulated fact
x_k is scored in band units, on each side of the target by that side's width::

    z_k = (x_k - v_k) / (hi_k - v_k)   if x_k >= v_k
    z_k = (x_k - v_k) / (v_k - lo_k)   if x_k <  v_k

so z_k = 0 at the target and |z_k| <= 1 exactly when x_k lies in its band. The
ABC distance is the largest score, ``d = max_k |z_k|`` (a NaN fact counts as
infinitely far), and the likelihood the uniform kernel ``1[d <= epsilon]``. The
threshold schedule (:func:`band_epsilon`) is the weighted quantile of the last
generation's distances, never below 1: at epsilon 1 a particle is accepted
exactly when every fact of its run lies inside its band.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.errors import ConfigError


@dataclass(frozen=True)
class Band:
    """A target fact: its value and band (the observation)."""

    fact: str
    value: float
    lo: float
    hi: float


def bands(targets: Mapping[str, Mapping], where: str = "targets") -> list[Band]:
    """The target facts as :class:`Band` objects, checked: ``lo < value < hi``."""
    out = []
    for name, t in targets.items():
        try:
            value = float(t["value"])
            lo, hi = (float(x) for x in t["band"])
        except (KeyError, TypeError, ValueError):
            raise ConfigError(
                f"{where}: {name} = {dict(t)!r} is not allowed; allowed: a fact with a "
                "numeric 'value' and a 'band: [low, high]'"
            ) from None
        if not lo < value < hi:
            raise ConfigError(
                f"{where}: {name}.band = {[lo, hi]!r} is not allowed with value {value:g}; "
                "allowed: low < value < high"
            )
        out.append(Band(name, value, lo, hi))
    return out


def band_score(x: float, b: Band) -> float:
    """A fact's distance from its target in band units: 0 at the target, +-1 at the band's ends.

    ``(x - v) / (hi - v)`` above the target, ``(x - v) / (v - lo)`` below it; NaN
    stays NaN.
    """
    x = float(x)
    if not math.isfinite(x):
        return math.nan
    return (x - b.value) / (b.hi - b.value) if x >= b.value else (x - b.value) / (b.value - b.lo)


def band_scores(facts: Mapping[str, float], observed: Sequence[Band]) -> dict[str, float]:
    """Every target fact's :func:`band_score` (a missing fact is NaN)."""
    return {b.fact: band_score(facts.get(b.fact, math.nan), b) for b in observed}


def band_distance(facts: Mapping[str, float], observed: Sequence[Band]) -> float:
    """``max_k |z_k|``: at most 1 exactly when every fact lies inside its band; inf for a NaN."""
    z = np.array(list(band_scores(facts, observed).values()), dtype=float)
    if z.size == 0:
        return 0.0
    if not np.isfinite(z).all():
        return math.inf
    return float(np.abs(z).max())


class BandDistance:
    """The ABC distance (a pyabc distance callable ``d(x, x_0)``): :func:`band_distance`.

    The observed summary statistics ``x_0`` pyabc passes are the target values
    (stored in its history); the bands come from the targets this object holds.
    """

    def __init__(self, observed: Sequence[Band]) -> None:
        """Hold the bands."""
        self.observed = list(observed)

    def __call__(self, x: Mapping[str, float], x_0: Mapping[str, float] | None = None) -> float:
        """The distance of one simulation's facts from the observation."""
        return band_distance(x, self.observed)


def _band_epsilon_class():
    """:class:`pyabc.QuantileEpsilon` with a floor (built lazily: pyabc imports slowly)."""
    import pyabc

    class BandEpsilon(pyabc.QuantileEpsilon):
        """The weighted ``alpha``-quantile of the last distances, never below ``floor``.

        With ``floor = 1`` and :class:`BandDistance`, the last threshold accepts
        exactly the particles whose every fact lies inside its band.
        """

        def __init__(self, alpha: float = 0.5, floor: float = 1.0) -> None:
            super().__init__(initial_epsilon="from_sample", alpha=alpha, weighted=True)
            self.floor = float(floor)

        def get_config(self) -> dict:
            return {**super().get_config(), "floor": self.floor}

        def _update(self, t: int, weighted_distances: pd.DataFrame) -> None:
            super()._update(t, weighted_distances)
            self._look_up[t] = max(float(self._look_up[t]), self.floor)

    return BandEpsilon


def band_epsilon(alpha: float = 0.5, floor: float = 1.0):
    """The threshold schedule: the weighted ``alpha``-quantile, floored at ``floor``."""
    return _band_epsilon_class()(alpha=alpha, floor=floor)
