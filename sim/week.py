"""The week's working arrays (what one process hands the next) and per-bank counters.

:class:`Week` is reset at the start of every step. Processes communicate only
through the population, the week's parameters, this scratch and the tally.
:class:`Tally` holds the week's per-bank counts that accounting, the data
collector and the outcomes read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.config import CHANNELS, NEEDS


@dataclass
class Plan:
    """Each bank's marketing plan for the week (arrays over banks)."""

    touch_mult: np.ndarray
    relevance: np.ndarray
    prospect_rate: np.ndarray  # expected prospect touches per prospect
    prospect_touches: np.ndarray  # expected prospect touches in all
    push_rate: np.ndarray
    push_open: np.ndarray
    push_blind: np.ndarray


@dataclass
class Week:
    """Scratch arrays of one week (N x B unless noted)."""

    t: int
    plan: Plan | None = None
    needs: np.ndarray | None = None  # N x K counts
    app_visits: np.ndarray | None = None
    pushes_opened: np.ndarray | None = None
    contacts: np.ndarray | None = None  # all contacts (transactions, visits), N x B
    quality_sum: np.ndarray | None = None
    transactions: np.ndarray | None = None  # financial contacts, N x B
    human: np.ndarray | None = None  # human contacts
    unresolved: np.ndarray | None = None  # problems without the wanted human
    served: np.ndarray | None = None  # wealth and credit needs served
    gave_up: np.ndarray | None = None  # sales lost to branch-only attribution
    channel_use: np.ndarray | None = None  # N x C bank-channel contacts
    platform_payments: np.ndarray | None = None  # N
    bank_payments: np.ndarray | None = None  # N
    wom: np.ndarray | None = None  # word of mouth: ties' sat with their primary (float32)
    referral: np.ndarray | None = None  # referral hazard (float32)
    blind_pushes: np.ndarray | None = None
    reactivation_contacts: np.ndarray | None = None  # per bank


def _zeros(*shape, dtype=float):
    return np.zeros(shape, dtype=dtype)


@dataclass
class Tally:
    """Per-bank counts of one week."""

    n_banks: int
    contacts: np.ndarray = field(init=False)  # B x C, all contacts
    transactions: np.ndarray = field(init=False)  # B x C, financial only
    needs_served: np.ndarray = field(init=False)  # K: needs served (bank or platform)
    needs_drawn: int = 0
    platform_payments: int = 0
    bank_payments: np.ndarray = field(init=False)
    app_visits: np.ndarray = field(init=False)
    pushes: np.ndarray = field(init=False)
    offers_shown: np.ndarray = field(init=False)
    offers_accepted: np.ndarray = field(init=False)
    rm_contacts: np.ndarray = field(init=False)
    opens: np.ndarray = field(init=False)
    opens_incentive: np.ndarray = field(init=False)
    closes: np.ndarray = field(init=False)
    reactivations: np.ndarray = field(init=False)
    gave_up: np.ndarray = field(init=False)
    bonus_paid: np.ndarray = field(init=False)
    referral_paid: np.ndarray = field(init=False)
    rewards_paid: np.ndarray = field(init=False)
    acquisition_spend: np.ndarray = field(init=False)
    retention_spend: np.ndarray = field(init=False)
    cost_to_serve: np.ndarray = field(init=False)
    revenue: np.ndarray = field(init=False)
    lever_cost: np.ndarray = field(init=False)  # running costs of the levers (sim.levers)
    investment: np.ndarray = field(init=False)  # one-off: focal's in week 0, and any due
    entries: int = 0
    exits: int = 0
    exit_accounts: int = 0  # accounts that ended because their holder left the market
    adoptions: int = 0
    lapses: int = 0

    def __post_init__(self) -> None:
        """Zero every array."""
        B, C = self.n_banks, len(CHANNELS)
        self.contacts = _zeros(B, C, dtype=np.int64)
        self.transactions = _zeros(B, C, dtype=np.int64)
        self.needs_served = _zeros(len(NEEDS), dtype=np.int64)
        for name in (
            "bank_payments",
            "app_visits",
            "pushes",
            "offers_shown",
            "offers_accepted",
            "rm_contacts",
            "opens",
            "opens_incentive",
            "closes",
            "reactivations",
            "gave_up",
        ):
            setattr(self, name, _zeros(B, dtype=np.int64))
        for name in (
            "bonus_paid",
            "referral_paid",
            "rewards_paid",
            "acquisition_spend",
            "retention_spend",
            "cost_to_serve",
            "revenue",
            "lever_cost",
            "investment",
        ):
            setattr(self, name, _zeros(B))
