"""Digital adoption diffuses through the network (Bass), and social channels matter.

Seeds 001 and 004: word of mouth and "customers bring customers" spread
geometrically. From a low start (2% adopters, no spin-up), adoption follows an
S-curve whose fitted imitation coefficient q clearly exceeds the innovation
coefficient p; with imitation off it is much slower. Word of mouth and referrals
through the same network each move their outcome beyond noise when switched off.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import curve_fit

from sim.compose import compose_config
from sim.run import run

LOW_START = ("population.size=5000", "weeks=156", "spinup.weeks=0", "seed=31")
LOW_START += ("market.customers.initial_adoption=0.02",)


def bass(t, F0, m, p, q):
    """Bass cumulative adoption from F0 towards the ceiling m."""
    e = np.exp(-(p + q) * t)
    return F0 + (m - F0) * (1 - e) / (1 + (q / p) * e)


@pytest.fixture(scope="module")
def diffusion():
    """Adoption share week by week from a low start, with and without imitation."""
    on = run(compose_config(list(LOW_START))).market["app_adoption"].to_numpy()
    off = (
        run(compose_config([*LOW_START, "market.behaviour.adoption_imitation=0"]))
        .market["app_adoption"]
        .to_numpy()
    )
    return on, off


def test_adoption_follows_an_s_curve_driven_by_imitation(diffusion):
    """The fitted Bass imitation coefficient is several times the innovation one."""
    on, _ = diffusion
    t = np.arange(on.size, dtype=float)
    (_f0, _m, p, q), _ = curve_fit(
        bass, t, on, p0=(0.02, 0.9, 0.001, 0.05), bounds=([0, 0.1, 1e-6, 0], [0.2, 1, 0.5, 2])
    )
    assert q > 5 * p, (p, q)
    new = np.diff(on)
    smooth = np.convolve(new, np.ones(9) / 9, mode="valid")
    peak = int(np.argmax(smooth))
    assert 4 < peak < smooth.size - 4, "adoptions per week should rise, peak, then fall"
    assert on[-1] > 0.5


def test_adoption_is_much_slower_without_imitation(diffusion):
    """Switching social influence off leaves adoption far behind after a year."""
    on, off = diffusion
    gain_on, gain_off = on[51] - on[0], off[51] - off[0]
    assert gain_off < 0.35 * gain_on, (gain_on, gain_off)


def _outcome(overrides, name, seeds):
    return np.array(
        [run(compose_config([*overrides, f"seed={s}"])).summary["outcomes"][name] for s in seeds]
    )


def test_word_of_mouth_moves_openings():
    """Without word of mouth (beta_wom = 0) fewer accounts open and fewer customers multi-bank."""
    seeds = (41, 42, 43)
    on, off = [], []
    for extra, out in (((), on), (("market.behaviour.beta_wom=0",), off)):
        for s in seeds:
            r = run(compose_config(["population.size=3000", "weeks=52", f"seed={s}", *extra]))
            m = r.market
            out.append(
                ((m["opens"] / m["customers"]).mean(), r.summary["outcomes"]["multi_bank_share"])
            )
    on, off = np.array(on), np.array(off)
    for j, name in enumerate(("opening rate", "multi-banking")):
        # paired by seed: the same starting population and the same draws customer by customer
        d = on[:, j] - off[:, j]
        se = d.std(ddof=1) / np.sqrt(len(seeds))
        assert d.mean() > 3 * se and (d > 0).all(), (name, on[:, j], off[:, j])


def test_referrals_through_the_network_bring_customers():
    """Under a referral programme, switching referrals off lowers the focal bank's openings."""
    base = ("population.size=3000", "weeks=52", "strategy=referral", "strategy.referral_bonus=600")
    seeds = (44, 45, 46)
    on = _outcome(base, "acquisitions_per_1000", seeds)
    off = _outcome((*base, "market.behaviour.referral_rate=0"), "acquisitions_per_1000", seeds)
    diff = on - off  # paired: the spin-up is the same (no referral bonus before week 0)
    se = diff.std(ddof=1) / np.sqrt(len(seeds))
    assert (diff > 0).all() and diff.mean() > max(3 * se, 0.04 * off.mean()), (on, off)
