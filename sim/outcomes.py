"""The outcome registry: every KPI the lab reports, with unit, direction and definition.

An outcome's value for a run is computed by :mod:`sim.measure` from the model's
trackers at the end of the run. Outcomes of the loyalty, traffic and
economics groups are for the focal bank (``customer_share``, ``primary_share``
and ``payment_share`` measure it against the whole market); the calibration
group is market-wide (``offer_success_rate_*``: banks of a data class). Facts of
``shared/calibration/targets.yaml`` keep their names from that file and are
computed exactly as it defines them (windows in weeks, ending at the last week).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher", "lower", "info"]
Group = Literal["loyalty", "traffic", "economics", "calibration"]


@dataclass(frozen=True)
class Outcome:
    """A named KPI."""

    name: str
    unit: str
    direction: Direction
    group: Group
    definition: str


def _o(name: str, unit: str, direction: Direction, group: Group, definition: str) -> Outcome:
    return Outcome(name, unit, direction, group, definition)


OUTCOMES: tuple[Outcome, ...] = (
    # ------------------------------------------------------------- loyalty (focal bank)
    _o(
        "retention_26w",
        "share",
        "higher",
        "loyalty",
        "Share of the focal bank's account holders 26 weeks before the end (still in the "
        "market at the end) who held the account throughout (not closed and reopened).",
    ),
    _o(
        "full_switch_26w",
        "share",
        "lower",
        "loyalty",
        "Share of the focal bank's account holders 26 weeks before the end who closed the "
        "account by the end while holding an account at another bank.",
    ),
    _o(
        "partial_switch_26w",
        "share",
        "lower",
        "loyalty",
        "Share of the focal bank's account holders 26 weeks before the end who opened an "
        "account at a bank they did not hold, keeping every account they held.",
    ),
    _o(
        "acquisitions_per_1000",
        "per 1000 customers per year",
        "higher",
        "loyalty",
        "Accounts opened at the focal bank in the last 52 weeks per 1000 focal account "
        "holders at the end.",
    ),
    _o(
        "customer_share",
        "share",
        "higher",
        "loyalty",
        "Share of customers in the market holding an account at the focal bank at the end.",
    ),
    _o(
        "primary_share",
        "share",
        "higher",
        "loyalty",
        "Share of customers in the market whose primary bank is the focal bank at the end.",
    ),
    _o(
        "multi_banking",
        "banks",
        "info",
        "loyalty",
        "Mean number of banks held by the focal bank's account holders at the end.",
    ),
    _o(
        "products_per_customer",
        "products",
        "higher",
        "loyalty",
        "Mean products held at the focal bank per account holder at the end.",
    ),
    _o(
        "satisfaction",
        "score 0-1",
        "higher",
        "loyalty",
        "Mean satisfaction with the focal bank among its account holders at the end.",
    ),
    _o(
        "bond",
        "score 0-1",
        "higher",
        "loyalty",
        "Mean emotional bond with the focal bank among its account holders at the end.",
    ),
    _o(
        "dormancy_rate",
        "share",
        "lower",
        "loyalty",
        "Share of the focal bank's accounts that are dormant at the end.",
    ),
    _o(
        "reactivations_per_1000",
        "per 1000 customers per year",
        "higher",
        "loyalty",
        "Dormant focal accounts that came back to life in the last 52 weeks, per 1000 "
        "focal account holders at the end.",
    ),
    _o(
        "tenure_weeks",
        "weeks",
        "higher",
        "loyalty",
        "Mean weeks since the focal account was opened, over holders at the end.",
    ),
    _o(
        "lifetime_value",
        "RMB per customer",
        "higher",
        "loyalty",
        "Weekly margin per focal account holder (revenue minus cost to serve, last 13 weeks) "
        "divided by the weekly account-closing rate of the last 26 weeks.",
    ),
    # ------------------------------------------------------------- traffic (focal bank)
    _o(
        "contacts_per_customer",
        "contacts per customer per week",
        "higher",
        "traffic",
        "Contacts of the focal bank's customers with it through any channel (transactions "
        "and app visits), per holder per week, last 13 weeks.",
    ),
    *(
        _o(
            f"contacts_{c}",
            "contacts per customer per week",
            "info",
            "traffic",
            f"Contacts with the focal bank through the {c} channel per holder per week, "
            "last 13 weeks.",
        )
        for c in ("branch", "atm", "online", "mobile", "messaging", "remote", "open")
    ),
    _o(
        "digital_share",
        "share",
        "info",
        "traffic",
        "Share of the focal bank's contacts made through digital channels (online, mobile, "
        "messaging, open banking), last 13 weeks.",
    ),
    _o(
        "app_mau_rate",
        "share",
        "higher",
        "traffic",
        "Monthly active app users: share of focal account holders with a mobile-app contact "
        "(transaction or visit) in the last 4 weeks.",
    ),
    _o(
        "branch_footfall",
        "visits per 1000 customers per week",
        "info",
        "traffic",
        "Branch-counter visits at the focal bank per 1000 holders per week, last 13 weeks.",
    ),
    _o(
        "payment_share",
        "share",
        "higher",
        "traffic",
        "Focal bank's share of all payment counts in the market (banks and platforms), last "
        "13 weeks.",
    ),
    _o(
        "active_rate",
        "share",
        "higher",
        "traffic",
        "Share of focal account holders with an interaction in the last 4 weeks.",
    ),
    # ------------------------------------------------------------- economics (focal bank)
    _o(
        "acquisition_cost_per_retained",
        "RMB",
        "lower",
        "economics",
        "Focal acquisition spend (prospect touches, bonuses, referral rewards, partner "
        "fees) of the accounts opened in weeks T-39..T-14, divided by those accounts still "
        "held and active 13 weeks after opening.",
    ),
    _o(
        "retention_cost",
        "RMB per customer per 13 weeks",
        "lower",
        "economics",
        "Focal retention spend of the last 13 weeks (offers, pushes, rewards, reactivation) "
        "per existing holder retained over those weeks.",
    ),
    _o(
        "incentive_spend",
        "RMB per customer per week",
        "info",
        "economics",
        "Sign-up and referral bonuses and rewards paid by the focal bank per holder per "
        "week, last 26 weeks.",
    ),
    _o(
        "cost_to_serve",
        "RMB per customer per week",
        "lower",
        "economics",
        "Focal cost of serving contacts through every channel plus relationship managers, "
        "per holder per week, last 13 weeks.",
    ),
    _o(
        "revenue",
        "RMB per customer per week",
        "higher",
        "economics",
        "Focal revenue proxy (products and payments) per holder per week, last 13 weeks.",
    ),
    _o(
        "profit",
        "million RMB per year at real scale",
        "higher",
        "economics",
        "Focal revenue minus cost to serve, all marketing spend and the levers' running "
        "costs, last 26 weeks, annualised, at the bank's real size "
        "(market.customers_represented).",
    ),
    _o(
        "profit_horizon",
        "million RMB at real scale",
        "higher",
        "economics",
        "Focal profit summed over every week of the run, the week-0 investment included, at "
        "the bank's real size.",
    ),
    _o(
        "npv",
        "million RMB at real scale",
        "higher",
        "economics",
        "Net present value of the focal bank's weekly profit over the run (investment "
        "included), discounted at market.discount_rate a year, at the bank's real size.",
    ),
    _o(
        "strategy_spend",
        "million RMB at real scale",
        "info",
        "economics",
        "What the focal bank spent over the run on acquisition, retention and its levers "
        "(running costs and the week-0 investment), at the bank's real size.",
    ),
    _o(
        "investment",
        "million RMB at real scale",
        "info",
        "economics",
        "The focal bank's one-off investment in week 0: each lever's improvement over the "
        "bank at rest (the spin-up strategy) times its market.costs.<lever>.invest.",
    ),
    _o(
        "customers",
        "thousand customers at real scale",
        "higher",
        "loyalty",
        "Focal account holders at the end of the run, at the bank's real size (a total: "
        "growth shows here, while per-customer rates are diluted by new customers).",
    ),
    _o(
        "retained_customers",
        "thousand customers at real scale",
        "higher",
        "loyalty",
        "Focal account holders at week 0 who still hold the account at the end, at the "
        "bank's real size.",
    ),
    _o(
        "active_customers",
        "thousand customers at real scale",
        "higher",
        "traffic",
        "Focal account holders with an interaction in the last 4 weeks of the run, at the "
        "bank's real size (active_rate times customers).",
    ),
    _o(
        "contacts_total",
        "million contacts per year at real scale",
        "higher",
        "traffic",
        "All contacts of customers with the focal bank (transactions and app visits), last 13 "
        "weeks, annualised, at the bank's real size.",
    ),
    _o(
        "offer_success_rate",
        "share",
        "higher",
        "economics",
        "Accepted cross-sell offers divided by offers shown by the focal bank, last 26 weeks.",
    ),
    # ------------------------------------------------------------- calibration facts
    _o(
        "multi_bank_share",
        "share",
        "info",
        "calibration",
        "Share of customers with at least one interaction at two or more different banks "
        "during the trailing 13 weeks.",
    ),
    _o(
        "full_switch_6m",
        "share",
        "info",
        "calibration",
        "Share of customers who, during the last 26 weeks, ended their relationship with at "
        "least one bank they held an account at when the window opened (account closed by "
        "the end) while holding an account at another bank at the end.",
    ),
    _o(
        "partial_switch_6m",
        "share",
        "info",
        "calibration",
        "Share of customers who, during the last 26 weeks, opened an account at a bank they "
        "did not hold at the start of the window and kept every account they held then.",
    ),
    _o(
        "branch_regular_share",
        "share",
        "info",
        "calibration",
        "Share of customers with at least one branch-counter visit in 3 or more of the last "
        "6 four-week months.",
    ),
    _o(
        "bank_share_payment_count",
        "share",
        "info",
        "calibration",
        "Bank channels' share of all payment transactions by count in the last 13 weeks, "
        "against third-party payment platforms.",
    ),
    _o(
        "mobile_share_of_echannel_tx",
        "share",
        "info",
        "calibration",
        "Mobile-app transactions divided by all bank e-channel transactions (online, mobile, "
        "messaging, open banking) in the last 13 weeks; app visits are not transactions.",
    ),
    _o(
        "mobile_vs_online_first_choice",
        "ratio",
        "info",
        "calibration",
        "Among customers whose most-used bank e-channel in the last 13 weeks is the mobile "
        "app or online banking, the number whose most-used is the app divided by the number "
        "whose most-used is online banking (a tie between the two counts half to each).",
    ),
    _o(
        "online_banking_user_share",
        "share",
        "info",
        "calibration",
        "Share of customers with at least one online-banking interaction in the last 26 weeks.",
    ),
    _o(
        "new_customer_1m_retention",
        "share",
        "info",
        "calibration",
        "Among accounts opened in response to an acquisition incentive (sign-up bonus, "
        "partner scene, referral) at any bank, the share with at least one interaction in "
        "weeks 2 to 5 after opening, the bonus-claiming interaction excluded (cohorts "
        "opened from week 26 on).",
    ),
    _o(
        "acquisition_vs_retention_cost",
        "ratio",
        "info",
        "calibration",
        "acquisition_cost_per_retained divided by retention_cost, for the focal bank.",
    ),
    _o(
        "offer_success_rate_baseline",
        "share",
        "info",
        "calibration",
        "Accepted cross-sell offers divided by offers shown, last 26 weeks, at banks with "
        "ordinary data capability (0.2 to 0.5).",
    ),
    _o(
        "offer_success_rate_rich_profiles",
        "share",
        "info",
        "calibration",
        "The same ratio at banks with rich customer profiles (data capability 0.8 or more).",
    ),
)

BY_NAME: dict[str, Outcome] = {o.name: o for o in OUTCOMES}


def outcome(name: str) -> Outcome:
    """The outcome called ``name``; a KeyError lists the known names."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown outcome {name!r}; known: {', '.join(BY_NAME)}") from None
