"""Process 5: channel and provider choice."""

import numpy as np

from sim.compose import compose_config
from sim.model import SCHEDULE
from sim.population import CH
from sim.processes import choice
from sim.processes.choice import CAPABLE, CONTACT_FREE, DIGITAL, PAYMENT, quality
from sim.run import build
from tests.conftest import simulate


def test_better_app_raises_app_share_of_contacts():
    """A better focal app moves the focal bank's contacts toward the app."""
    lo = simulate("strategy.app_quality=0.1")
    hi = simulate("strategy.app_quality=0.95")

    def share(m):
        return m.outcomes["contacts_mobile"] / m.outcomes["contacts_per_customer"]

    assert share(hi) > share(lo) + 0.02


def test_contacts_counted_equal_needs_served(base_model):
    """Every financial need drawn is served once: by a bank channel or the platform."""
    m = base_model
    tr = m.trackers.history
    served = sum(int(h["transactions"].sum()) + h["platform_payments"] for h in tr)
    drawn = int(m.datacollector.get_model_vars_dataframe()["needs"].sum())
    assert served == drawn


def test_platform_strength_takes_payments():
    """Stronger third-party platforms lower banks' share of payment counts."""
    lo = simulate("market.environment.platform_strength=0.5", weeks=15)
    hi = simulate("market.environment.platform_strength=2.5", weeks=15)
    assert hi.outcomes["bank_share_payment_count"] < lo.outcomes["bank_share_payment_count"]


def test_branch_only_attribution_loses_sales():
    """Branch-only credit pulls sales into branches where some customers give up."""
    a = simulate("strategy.omnichannel_attribution=1.0")
    b = simulate("strategy.omnichannel_attribution=0.0")

    def gave_up(m):
        return sum(int(h["gave_up"].sum()) for h in m.trackers.history)

    assert gave_up(a) == 0
    assert gave_up(b) > 0
    assert b.outcomes["contacts_branch"] > a.outcomes["contacts_branch"]


def _payment_probabilities(m, n):
    """The logit of the module docstring for one payment of customer ``n``: P(bank), P(channel)."""
    pop, beh, env, lev = m.pop, m.p.beh, m.p.env, m.p.lev
    B = pop.n_banks
    q = quality(lev)
    asc = [beh.asc_branch, beh.asc_atm, beh.asc_online, beh.asc_mobile]
    asc += [beh.asc_messaging, beh.asc_remote, beh.asc_open]
    in_scene = pop.scene_user[n] < env.platform_scene_reach
    util, banks, chans = [], [], []
    for b in np.flatnonzero(pop.has[n]):
        a = (
            beh.beta_primary * (pop.primary[n] == b)
            + beh.beta_satisfaction * pop.sat[n, b]
            + beh.beta_products * np.log(max(int(pop.products[n, b]), 1))
            + beh.beta_rewards * lev.rewards[b] * pop.deal[n]
            - beh.beta_dormant * pop.dormant[n, b]
            - (
                beh.beta_new_account * pop.incentive[n, b]
                + beh.beta_bonus_hunting * pop.hunter[n, b]
            )
            * (pop.products[n, b] <= 1)
        )
        for c in np.flatnonzero(CAPABLE[PAYMENT]):
            if c == CH["open"] and not in_scene:
                continue
            if c == CH["mobile"] and not pop.adopted[n]:
                continue  # the app channel exists only for adopters
            g = asc[c] + beh.beta_habit * pop.habit[n, c]
            g += beh.beta_digital * (pop.digital[n] - 0.5) * DIGITAL[c]
            g += np.log(env.remote_demand) * CONTACT_FREE[c]
            g += beh.beta_web_first * pop.web_first[n] * (c == CH["online"])
            v = a + g + beh.beta_quality * q[b, c]
            v += np.log(lev.open_banking[b]) if c == CH["open"] else 0.0
            util.append(v)
            banks.append(b)
            chans.append(c)
    util.append(
        beh.asc_platform
        + np.log(env.platform_strength)
        + beh.beta_platform_habit * pop.platform_habit[n]
        + beh.beta_digital * (pop.digital[n] - 0.5)
        + lev.onboarding_friction[pop.primary[n]]
    )
    w = np.exp(np.array(util) - max(util))
    w /= w.sum()
    p_bank = np.bincount(banks, weights=w[:-1], minlength=B)
    p_chan = np.bincount(chans, weights=w[:-1], minlength=len(CH))
    return p_bank, p_chan, w[-1]


def test_choice_frequencies_follow_the_documented_logit():
    """Many payments of one customer land on banks, channels and the platform as the logit says.

    The probabilities are computed here from the module's equations, independently
    of the compiled kernel; 40,000 draws put each share within about 0.005 of its
    probability (0.01 allows for more than three standard errors).
    """
    m = build(compose_config(["population.size=300", "weeks=2", "seed=4"]))
    m.trackers.begin_week()
    for name, process in SCHEDULE:
        if name == "choice":
            break
        process(m)
    pop = m.pop
    draws = 40_000
    for adopted in (True, False):  # the app channel exists only for adopters
        n = int(
            np.flatnonzero(pop.alive & (pop.has.sum(axis=1) >= 3) & (pop.adopted == adopted))[0]
        )
        m.week.needs[:] = 0
        m.week.needs[n, PAYMENT] = draws
        p_bank, p_chan, p_plat = _payment_probabilities(m, n)
        choice.run(m)
        assert m.week.platform_payments[n] + m.week.transactions[n].sum() == draws
        assert abs(m.week.platform_payments[n] / draws - p_plat) < 0.01
        assert np.abs(m.week.transactions[n] / draws - p_bank).max() < 0.01
        assert np.abs(m.week.channel_use[n] / draws - p_chan).max() < 0.01
        assert (m.week.channel_use[n, CH["mobile"]] > 0) == adopted
        # never a bank the customer does not hold, never a channel that cannot take payments
        assert (m.week.transactions[n][~pop.has[n]] == 0).all()
        assert (m.week.channel_use[n][~CAPABLE[PAYMENT]] == 0).all()
    assert CAPABLE.any(axis=1).all()
