"""Trackers that follow the run's windows, and the outcome values at the end.

Weeks are numbered ``0 .. T-1``. "The last ``w`` weeks" are weeks
``T-w .. T-1``; a window "opens" before the step of week ``T-w`` (the state
after week ``T-w-1``) and closes after week ``T-1``. Runs shorter than a window
use the whole run.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sim.config import CHANNELS
from sim.outcomes import OUTCOMES
from sim.population import CH, NEVER

if TYPE_CHECKING:
    from sim.model import BankingMarket

FOCAL = 0
DIGITAL_CHANNELS = ("online", "mobile", "messaging", "open")


def _div(a: float, b: float) -> float:
    """a / b; 0 when nothing happened (0 / 0); NaN when only the denominator is empty."""
    if b:
        return float(a) / float(b)
    return 0.0 if a == 0 else float("nan")


class Trackers:
    """Snapshots at window starts and follow-ups of opened accounts."""

    def __init__(self, model: BankingMarket) -> None:
        """Set the window starts from the run length."""
        self.model = model
        T = model.weeks
        self.w26 = max(T - 26, 0)
        self.w13 = max(T - 13, 0)
        self.w52 = max(T - 52, 0)
        # a spun-up market is at rest from week 0; a cold start skips its first weeks
        self.cohort_from = 0 if model.spun_up else min(26, T // 4)
        # four-week months continue the spin-up's cycle (weeks counted from its start)
        self.offset = int(model.cfg.spinup.weeks) if model.spun_up else 0
        self.snap26: dict[str, np.ndarray] = {}
        self.snap13: dict[str, np.ndarray] = {}
        self.pending: dict[int, tuple] = {}
        self.ret_num = 0
        self.ret_den = 0
        self.acq_cohorts: list[tuple[int, int, float]] = []  # week, survivors, spend
        self.history: list[dict] = []

    def begin_week(self) -> None:
        """Take the snapshots of windows opening this week."""
        m = self.model
        pop, t = m.pop, m.t
        if t == self.w26:
            ident = pop.alive & (pop.ti_entry < t)
            self.snap26 = {"has": pop.has.copy(), "ident": ident}
        if t == 0:
            self.snap0 = pop.has[:, FOCAL] & pop.alive
        if t == self.w13:
            self.snap13 = {"focal": pop.has[:, FOCAL] & pop.alive}
            pop.echannel[:] = 0
        if (t + self.offset) % 4 == 0 and t + self.offset > 0:
            pop.branch_months <<= 1

    def openings(self, rows, banks, incentive) -> None:
        """Remember this week's openings: incentive ones (all banks) and the focal bank's."""
        t = self.model.t
        inc_rows, inc_banks = rows[incentive], banks[incentive]
        focal_rows = rows[banks == FOCAL]
        prev = self.pending.get(t)
        if prev is not None:
            inc_rows = np.concatenate([prev[0], inc_rows])
            inc_banks = np.concatenate([prev[1], inc_banks])
            focal_rows = np.concatenate([prev[2], focal_rows])
        self.pending[t] = (inc_rows, inc_banks, focal_rows)

    def end_week(self) -> None:
        """Follow up openings 5 and 13 weeks on; keep the week's tally."""
        m = self.model
        pop, t, tally = m.pop, m.t, m.tally
        w = t - 5
        if w >= self.cohort_from and w in self.pending:
            rows, banks, _ = self.pending[w]
            self.ret_num += int((pop.ti_last[rows, banks] >= w + 2).sum())
            self.ret_den += int(rows.size)
        w = t - 13
        if w in self.pending:
            _, _, frows = self.pending.pop(w)
            if self.model.weeks - 39 <= w <= self.model.weeks - 14:
                alive_ok = pop.has[frows, FOCAL] & (pop.ti_last[frows, FOCAL] >= w + 1)
                spend = self.history[w]["acquisition_spend"][FOCAL]
                self.acq_cohorts.append((w, int(alive_ok.sum()), float(spend)))
        self.history.append(
            {
                "contacts": tally.contacts.copy(),
                "transactions": tally.transactions.copy(),
                "bank_payments": tally.bank_payments.copy(),
                "platform_payments": int(tally.platform_payments),
                "offers_shown": tally.offers_shown.copy(),
                "offers_accepted": tally.offers_accepted.copy(),
                "opens": tally.opens.copy(),
                "closes": tally.closes.copy(),
                "reactivations": tally.reactivations.copy(),
                "revenue": tally.revenue.copy(),
                "cost_to_serve": tally.cost_to_serve.copy(),
                "acquisition_spend": tally.acquisition_spend.copy(),
                "retention_spend": tally.retention_spend.copy(),
                "lever_cost": tally.lever_cost.copy(),
                "investment": tally.investment.copy(),
                "incentive_spend": tally.bonus_paid + tally.referral_paid + tally.rewards_paid,
                "app_visits": tally.app_visits.copy(),
                "gave_up": tally.gave_up.copy(),
                "holders": m.census["customers"].copy(),
            }
        )

    def window_sum(self, key: str, weeks: int):
        """Sum of a tallied quantity over the last ``weeks`` weeks."""
        rows = self.history[-weeks:]
        return sum(r[key] for r in rows)


#: The weekly money of the focal bank that makes its profit (costs with a minus sign).
PROFIT_TERMS = (
    ("revenue", 1.0),
    ("cost_to_serve", -1.0),
    ("acquisition_spend", -1.0),
    ("retention_spend", -1.0),
    ("lever_cost", -1.0),
    ("investment", -1.0),
)


def kpi_profit(k) -> float:
    """A week's profit from a bank's weekly KPIs (``bank.kpi``), in simulated RMB."""
    return float(sum(sign * k[key] for key, sign in PROFIT_TERMS))


def focal_weekly_profit(model: BankingMarket) -> np.ndarray:
    """The focal bank's profit of each week of the run, million RMB at its real size."""
    h = model.trackers.history
    sim_rmb = np.array([sum(sign * r[key][FOCAL] for key, sign in PROFIT_TERMS) for r in h])
    return sim_rmb * model.scale / 1e6


def compute_outcomes(model: BankingMarket) -> dict[str, float]:
    """Every registered outcome's value at the end of the run."""
    pop, tr, t_last = model.pop, model.trackers, model.t - 1
    T = model.weeks
    alive = pop.alive
    has = pop.has
    n_alive = int(alive.sum())
    holders = has[:, FOCAL] & alive
    n_hold = int(holders.sum())
    w13, w26 = min(13, T), min(26, T)
    out: dict[str, float] = {}
    data_cap = model.params.lev0["data_capability"]

    # ---------------------------------------------------------------- windows of 26 weeks
    snap = tr.snap26
    ident = snap["ident"] & alive & (pop.ti_entry < tr.w26)
    h0, h1 = snap["has"], has
    closed = (h0 & ~h1).any(axis=1) & h1.any(axis=1)
    added = (~h0 & h1).any(axis=1)
    kept = ~(h0 & ~h1).any(axis=1)
    out["full_switch_6m"] = _div((closed & ident).sum(), ident.sum())
    out["partial_switch_6m"] = _div((added & kept & ident).sum(), ident.sum())
    f0 = ident & h0[:, FOCAL]
    kept_focal = h1[:, FOCAL] & (pop.ti_open[:, FOCAL] < tr.w26)  # held throughout
    out["retention_26w"] = _div((f0 & kept_focal).sum(), f0.sum())
    out["full_switch_26w"] = _div((f0 & ~h1[:, FOCAL] & h1.any(axis=1)).sum(), f0.sum())
    out["partial_switch_26w"] = _div((f0 & added & kept).sum(), f0.sum())

    # ---------------------------------------------------------------- focal stock at the end
    n_banks_held = has.sum(axis=1)
    out["acquisitions_per_1000"] = 1000 * _div(
        tr.window_sum("opens", min(52, T))[FOCAL] * 52 / min(52, T), n_hold
    )
    out["customer_share"] = _div(n_hold, n_alive)
    out["primary_share"] = _div((alive & (pop.primary == FOCAL)).sum(), n_alive)
    out["multi_banking"] = _div(n_banks_held[holders].sum(), n_hold)
    out["products_per_customer"] = _div(pop.products[holders, FOCAL].sum(), n_hold)
    out["satisfaction"] = _div(pop.sat[holders, FOCAL].sum(), n_hold)
    out["bond"] = _div(pop.bond[holders, FOCAL].sum(), n_hold)
    out["dormancy_rate"] = _div((holders & pop.dormant[:, FOCAL]).sum(), n_hold)
    out["reactivations_per_1000"] = 1000 * _div(
        tr.window_sum("reactivations", min(52, T))[FOCAL] * 52 / min(52, T), n_hold
    )
    out["tenure_weeks"] = _div((t_last - pop.ti_open[holders, FOCAL].astype(float)).sum(), n_hold)

    # ---------------------------------------------------------------- traffic
    contacts13 = tr.window_sum("contacts", w13)
    tx13 = tr.window_sum("transactions", w13)
    hold13 = tr.window_sum("holders", w13)[FOCAL] / w13
    fc = contacts13[FOCAL]
    out["contacts_per_customer"] = _div(fc.sum() / w13, hold13)
    for i, c in enumerate(CHANNELS):
        out[f"contacts_{c}"] = _div(fc[i] / w13, hold13)
    dig = [CH[c] for c in DIGITAL_CHANNELS]
    out["digital_share"] = _div(fc[dig].sum(), fc.sum())
    out["app_mau_rate"] = _div((holders & (pop.ti_app[:, FOCAL] >= t_last - 3)).sum(), n_hold)
    out["branch_footfall"] = 1000 * _div(fc[CH["branch"]] / w13, hold13)
    bank_pay = tr.window_sum("bank_payments", w13)
    plat_pay = tr.window_sum("platform_payments", w13)
    out["payment_share"] = _div(bank_pay[FOCAL], bank_pay.sum() + plat_pay)
    out["active_rate"] = _div((holders & (pop.ti_last[:, FOCAL] >= t_last - 3)).sum(), n_hold)

    # ---------------------------------------------------------------- economics
    spend_cohorts = sum(c[2] for c in tr.acq_cohorts)
    survivors = sum(c[1] for c in tr.acq_cohorts)
    out["acquisition_cost_per_retained"] = _div(spend_cohorts, survivors)
    f13 = tr.snap13.get("focal", holders)
    retained13 = int((f13 & holders).sum())
    ret_spend13 = tr.window_sum("retention_spend", w13)[FOCAL] * 13 / w13
    out["retention_cost"] = _div(ret_spend13, retained13)
    hold26 = tr.window_sum("holders", w26)[FOCAL] / w26
    out["incentive_spend"] = _div(tr.window_sum("incentive_spend", w26)[FOCAL] / w26, hold26)
    cost13 = tr.window_sum("cost_to_serve", w13)[FOCAL]
    rev13 = tr.window_sum("revenue", w13)[FOCAL]
    out["cost_to_serve"] = _div(cost13 / w13, hold13)
    out["revenue"] = _div(rev13 / w13, hold13)
    k = model.scale  # real customers per simulated customer
    weekly = focal_weekly_profit(model)  # million RMB at real scale
    out["profit"] = float(weekly[-w26:].sum()) * 52 / w26
    out["profit_horizon"] = float(weekly.sum())
    discount = (1.0 + float(model.market.discount_rate)) ** (-np.arange(weekly.size) / 52.0)
    out["npv"] = float((weekly * discount).sum())
    spend = sum(
        h[key][FOCAL]
        for h in tr.history
        for key in ("acquisition_spend", "retention_spend", "lever_cost", "investment")
    )
    out["strategy_spend"] = float(spend) / 1e6 * k
    out["investment"] = float(sum(h["investment"][FOCAL] for h in tr.history)) / 1e6 * k
    out["customers"] = n_hold * k / 1e3
    snap0 = getattr(tr, "snap0", holders)
    out["retained_customers"] = float((snap0 & holders).sum()) * k / 1e3
    out["active_customers"] = (
        float((holders & (pop.ti_last[:, FOCAL] >= t_last - 3)).sum()) * k / 1e3
    )
    out["contacts_total"] = float(fc.sum()) / w13 * 52 * k / 1e6
    closes26 = tr.window_sum("closes", w26)[FOCAL] / w26
    close_rate = _div(closes26, hold26)
    margin = out["revenue"] - out["cost_to_serve"]
    out["lifetime_value"] = (
        _div(margin, max(close_rate, 1e-4)) if not math.isnan(close_rate) else float("nan")
    )
    shown26 = tr.window_sum("offers_shown", w26)
    acc26 = tr.window_sum("offers_accepted", w26)
    out["offer_success_rate"] = _div(acc26[FOCAL], shown26[FOCAL])

    # ---------------------------------------------------------------- calibration facts
    recent13 = pop.ti_last >= t_last - 12
    out["multi_bank_share"] = _div(((recent13 & alive[:, None]).sum(axis=1) >= 2).sum(), n_alive)
    m = pop.branch_months
    months = (m >> 1) if (T + tr.offset) % 4 else m  # only complete months
    visits = sum(((months >> i) & 1).astype(np.int32) for i in range(6))
    out["branch_regular_share"] = _div((alive & (visits >= 3)).sum(), n_alive)
    out["bank_share_payment_count"] = _div(bank_pay.sum(), bank_pay.sum() + plat_pay)
    ech = tx13[:, [CH[c] for c in DIGITAL_CHANNELS]].sum(axis=0)
    out["mobile_share_of_echannel_tx"] = _div(ech[1], ech.sum())
    e = pop.echannel[alive].astype(np.int32)  # online, mobile, messaging, open
    used = e.sum(axis=1) > 0
    e = e[used]
    top = e.max(axis=1)
    mob_top = (e[:, 1] == top) & (e[:, 1] > e[:, [2, 3]].max(axis=1))
    onl_top = (e[:, 0] == top) & (e[:, 0] > e[:, [2, 3]].max(axis=1))
    tie = mob_top & onl_top
    n_mob = (mob_top & ~tie).sum() + 0.5 * tie.sum()
    n_onl = (onl_top & ~tie).sum() + 0.5 * tie.sum()
    out["mobile_vs_online_first_choice"] = _div(n_mob, n_onl)
    out["online_banking_user_share"] = _div(
        (alive & (pop.ti_online >= t_last - 25) & (pop.ti_online != NEVER)).sum(), n_alive
    )
    out["new_customer_1m_retention"] = _div(tr.ret_num, tr.ret_den)
    out["acquisition_vs_retention_cost"] = _div(
        out["acquisition_cost_per_retained"], out["retention_cost"]
    )
    ordinary = (data_cap >= 0.2) & (data_cap <= 0.5)
    rich = data_cap >= 0.8
    out["offer_success_rate_baseline"] = _div(acc26[ordinary].sum(), shown26[ordinary].sum())
    out["offer_success_rate_rich_profiles"] = _div(acc26[rich].sum(), shown26[rich].sum())

    missing = [o.name for o in OUTCOMES if o.name not in out]
    assert not missing, missing
    return {o.name: float(out[o.name]) for o in OUTCOMES}
