"""A market at rest: after spin-up the baseline's series stay level; trends only as declared.

Under the baseline strategy with no shocks, over weeks 0 to 156 after spin-up, the
mean of the last 13 weeks of each series lies within 3% (relative) of the mean of
the first 13, or within sampling noise (3 standard errors of the difference of the
two means: from the scatter of 13-week means around the series' trend, or from the
seeds' own scatter of the change when that is larger, since the market also
fluctuates more slowly than a run). Averaged over four seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.compose import compose_config
from sim.config import CHANNELS
from sim.run import run

SIZE, WEEKS, SEEDS = 6000, 156, (21, 22, 23, 24)
REL = 0.03


@pytest.fixture(scope="module")
def baseline_runs():
    """The baseline, no shocks, 156 weeks after spin-up, four seeds."""
    return [
        run(compose_config([f"population.size={SIZE}", f"weeks={WEEKS}", f"seed={s}"]))
        for s in SEEDS
    ]


def series(result) -> dict[str, pd.Series]:
    """The weekly series that must stay level: focal bank and market."""
    b = result.banks
    f = b[b["focal"]].set_index("week")
    m = result.market.set_index("week")
    out = {
        "focal account holders": f["customers"],
        "focal primary customers": f["primary"],
        "focal products per customer": f["products"] / f["customers"],
        "focal satisfaction": f["satisfaction"],
        "focal bond": f["bond"],
        "focal active rate": f["active_4w"] / f["customers"],
        "focal app monthly actives": f["app_mau"],
        "market multi-banking (13 weeks)": m["multi_bank_13w"],
        "market opening rate": m["opens"] / m["customers"],
        "market closing rate": m["closes"] / m["customers"],
        "market bank share of payments": m["bank_payment_share"],
        "market app adoption": m["app_adoption"],
    }
    contacts = m[[f"contacts_{c}" for c in (*CHANNELS, "platform")]]
    total = contacts.sum(axis=1)
    for c in ("branch", "atm", "online", "mobile", "remote", "platform"):
        out[f"market channel mix: {c}"] = m[f"contacts_{c}"] / total
    return out


def level(values: list[pd.Series]) -> tuple[float, float, float]:
    """The first and last 13 weeks' means (over seeds) and the sampling noise of their difference.

    The noise comes from the series' own fluctuations around its trend: the weekly values
    are autocorrelated (stocks move slowly), so it is measured on 13-week block means,
    whose scatter around a fitted line estimates the variance of one block's mean; the
    difference of two blocks has twice that, and the mean over seeds a share of it.
    """
    firsts, lasts, var = [], [], []
    for s in values:
        v = s.to_numpy(dtype=float)
        blocks = v[: v.size // 13 * 13].reshape(-1, 13).mean(axis=1)
        x = np.arange(blocks.size)
        resid = blocks - np.polyval(np.polyfit(x, blocks, 1), x)
        firsts.append(blocks[0])
        lasts.append(blocks[-1])
        var.append(2 * resid.var(ddof=2))
    se = float(np.sqrt(np.mean(var) / len(values)))
    if len(values) > 2:  # fluctuations slower than the run: the seeds' own scatter of the change
        change = np.array(lasts) - np.array(firsts)
        se = max(se, float(change.std(ddof=1) / np.sqrt(len(values))))
    return float(np.mean(firsts)), float(np.mean(lasts)), se


def test_every_listed_series_stays_level(baseline_runs):
    """The last 13 weeks' mean is within 3% or 3 standard errors of the first 13's."""
    per_run = [series(r) for r in baseline_runs]
    moved = []
    for name in per_run[0]:
        first, last, se = level([s[name] for s in per_run])
        if abs(last - first) > max(REL * abs(first), 3 * se):
            moved.append(f"{name}: {first:.4g} -> {last:.4g} (noise {se:.2g})")
    assert not moved, "series that drift:\n" + "\n".join(moved)


def test_the_level_check_can_fail(baseline_runs):
    """A drift of 5% over the run is caught (the check above is not vacuous)."""
    s = series(baseline_runs[0])["focal account holders"].to_numpy(dtype=float)
    # one seed's series wanders (the check averages four): take out its own line first
    x = np.arange(s.size)
    flat = s - np.polyval(np.polyfit(x, s, 1), x) + s.mean()
    drifting = pd.Series(flat * np.linspace(1.0, 1.05, s.size))
    first, last, se = level([drifting])
    assert abs(last - first) > max(REL * abs(first), 3 * se)


def test_accounts_opened_and_closed_balance(baseline_runs):
    """Openings equal closings plus the accounts of customers who left, on average."""
    for r in baseline_runs:
        m = r.market
        opened = m["opens"].sum()
        ended = (m["closes"] + m["accounts_exited"]).sum()
        assert abs(opened / ended - 1) < 0.03, (opened, ended)


def test_the_population_stays_at_its_size(baseline_runs):
    """Entries replace exits: the market keeps its size within 2%."""
    for r in baseline_runs:
        n = r.market["customers"]
        assert abs(n.iloc[-13:].mean() / SIZE - 1) < 0.02


def test_a_declared_trend_moves_at_its_rate():
    """digital_drift (a named secular trend) raises mean digital affinity at its rate.

    The spin-up holds the trend at zero; from week 0 every customer's affinity rises by
    the rate a week (capped at 1; entrants arrive at the market's mix), so the mean
    rises by a little less than the rate.
    """
    rate = 0.002
    r = run(
        compose_config(
            [
                "population.size=4000",
                "weeks=52",
                "seed=23",
                f"market.environment.digital_drift={rate}",
            ]
        )
    )
    d = r.market["mean_digital"].to_numpy()
    slope = np.polyfit(np.arange(d.size), d, 1)[0]
    assert 0.7 * rate < slope <= rate, slope
    flat = run(compose_config(["population.size=4000", "weeks=52", "seed=23"]))
    d0 = flat.market["mean_digital"].to_numpy()
    assert abs(np.polyfit(np.arange(d0.size), d0, 1)[0]) < 0.05 * rate
