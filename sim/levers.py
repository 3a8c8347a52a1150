"""The levers: one declaration per lever that everything else reads.

A lever is a setting of a bank the strategy planner chooses. Its declaration
(:class:`Lever`) holds the name, the unit, the allowed range, the default (the
baseline strategy's value unless said otherwise), the theme the app groups it
under, the processes it feeds and its cost model. From :data:`LEVERS`:

* ``sim.config.Levers`` (the ``strategy/`` schema and every bank's levers) is
  built, so validation checks the declared ranges;
* ``sim.config.LeverCosts`` (the market file's ``costs`` section) takes each
  lever's default cost;
* the app builds its controls (groups, ranges, slider steps, help text);
* the sensitivity and search designs check their lever ranges;
* the lever tables of ``docs/ODD.md`` are generated
  (``python -m sim.levertables --write-docs``; ``tests/test_levers.py``
  checks that they match).

Adding a lever is one declaration here plus the process that reads
``p.lev.<name>``.

Cost model (charged each week by :mod:`sim.processes.accounting`, money of the
bank at its real size, see ``market.customers_represented``):

* ``invest``: one-off, million RMB per unit the lever is *improved* above the
  bank's status quo (the spin-up strategy's value, the lever at rest); charged
  to the focal bank in week 0 (building app scenes, a data platform, opening or
  refitting branches). Moving a lever back costs nothing and saves no
  investment already made.
* ``weekly``: running, million RMB per week per unit of the lever's level
  (platform licences, content and operations teams, partner fees).
* ``per_customer``: running, RMB per week per unit of level per customer of the
  bank (staff who serve each customer: relationship managers, human service).

The level of a lever whose ``better`` is ``"lower"`` (onboarding friction) is
``hi - value``: removing friction is what costs (remote identity checks).
Levers whose spending the processes already charge per event (bonuses paid,
touches, pushes, reward points, partner fees per account) say so in ``charged``
and carry no other cost by default; a lever that is free says why in ``free``.
Every default figure is an assumption for a bank of the size of the default
market's focal bank (about 1.6 million customers) unless ``source`` cites a
seed; the market file overrides them (costs differ by market).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Group = Literal["Channels", "Incentives", "Marketing", "Service"]


@dataclass(frozen=True)
class Cost:
    """A lever's default cost model (see the module docstring for the units)."""

    invest: float = 0.0
    weekly: float = 0.0
    per_customer: float = 0.0
    #: processes that already charge the lever's spending per event, and where
    charged: str = ""
    #: why the lever costs nothing, when it is declared free
    free: str = ""
    #: where the figures come from ("assumption: ..." or a seed)
    source: str = ""

    @property
    def is_free(self) -> bool:
        """Whether the lever has no cost at all (it must then say why)."""
        return not (self.invest or self.weekly or self.per_customer or self.charged)


@dataclass(frozen=True)
class Lever:
    """One lever's declaration."""

    name: str
    default: float
    lo: float
    hi: float
    unit: str
    group: Group
    feeds: tuple[str, ...]
    doc: str
    cost: Cost
    better: Literal["higher", "lower"] = "higher"
    step: float | None = None

    @property
    def label(self) -> str:
        """A readable name."""
        return self.name.replace("_", " ").capitalize()

    @property
    def slider_step(self) -> float:
        """The app slider's step."""
        if self.step is not None:
            return self.step
        return 0.01 if self.hi - self.lo <= 1 else (self.hi - self.lo) / 100

    def level(self, value):
        """The level the running cost scales with (``value``; ``hi - value`` for "lower")."""
        return self.hi - value if self.better == "lower" else value


_IT = "assumption: bank IT and digital programmes of this size cost of the order of 100 million RMB"
_STAFF = "assumption: staff cost of about 300,000 RMB a year per person"

LEVERS: tuple[Lever, ...] = (
    # ------------------------------------------------------------------ channels
    Lever(
        "branch_network",
        1.0,
        0.0,
        3.0,
        "x market-average branch density",
        "Channels",
        ("shocks", "choice", "accounting"),
        "branch and ATM reach (choice: branch access)",
        Cost(
            invest=300.0,
            charged="accounting: branch_fixed_cost x branch_network per customer per week",
            source="assumption: opening branches at one market-average density (about 150 "
            "outlets) at 2 million RMB each; running cost in market.behaviour.branch_fixed_cost",
        ),
        step=0.05,
    ),
    Lever(
        "branch_quality",
        0.5,
        0.0,
        1.0,
        "score",
        "Channels",
        ("experience",),
        "branch experience (experience)",
        Cost(
            invest=150.0,
            weekly=0.2,
            source="assumption: refitting about 150 branches (smart-branch transformation) "
            "at 1 million RMB each; upkeep 10 million RMB a year",
        ),
    ),
    Lever(
        "app_quality",
        0.5,
        0.0,
        1.0,
        "score",
        "Channels",
        ("choice", "experience", "adoption"),
        "mobile app usability (choice, experience)",
        Cost(
            invest=200.0,
            weekly=1.0,
            source=_IT + " a step; an app team of about 170 people (52 million RMB a year) "
            "per unit of quality",
        ),
    ),
    Lever(
        "online_quality",
        0.4,
        0.0,
        1.0,
        "score",
        "Channels",
        ("choice", "experience"),
        "web online banking (choice, experience)",
        Cost(invest=60.0, weekly=0.3, source=_IT + " for a full platform; a web team"),
    ),
    Lever(
        "messaging_quality",
        0.3,
        0.0,
        1.0,
        "score",
        "Channels",
        ("choice", "experience"),
        "messaging banking / mini-programs (choice, experience)",
        Cost(invest=30.0, weekly=0.2, source="assumption: mini-program builds and operations"),
    ),
    Lever(
        "remote_quality",
        0.4,
        0.0,
        1.0,
        "score",
        "Channels",
        ("choice", "experience"),
        "remote banking: call and video centre (choice, experience)",
        Cost(
            invest=40.0,
            weekly=0.6,
            source=_STAFF + "; a call and video centre of about 100 agents per unit of quality",
        ),
    ),
    Lever(
        "open_banking",
        0.1,
        0.0,
        1.0,
        "share of partner apps",
        "Channels",
        ("choice",),
        "bank services embedded in partners' apps (choice: open channel)",
        Cost(
            invest=100.0,
            weekly=0.5,
            source="assumption: API platform build; partner fees and integration upkeep",
        ),
    ),
    Lever(
        "app_scenes",
        0.3,
        0.0,
        1.0,
        "score",
        "Channels",
        ("needs", "adoption"),
        "non-financial scenes and content in the app (needs: app visits)",
        Cost(
            invest=150.0,
            weekly=1.0,
            source="assumption: building scenes and content (seeds 001, 002: ecosystems are "
            "built with partners); content operations and scene licences 52 million RMB a year",
        ),
    ),
    # ------------------------------------------------------------------ incentives
    Lever(
        "rewards",
        0.2,
        0.0,
        1.0,
        "intensity",
        "Incentives",
        ("choice", "switching", "accounting"),
        "tiered rewards, points and gamified tasks (choice, switching, cost)",
        Cost(
            weekly=0.05,
            charged="accounting: cost_reward_point x rewards per contact",
            source="assumption: running the points programme, 2.6 million RMB a year",
        ),
    ),
    Lever(
        "signup_bonus",
        20.0,
        0.0,
        2000.0,
        "RMB per new account",
        "Incentives",
        ("switching", "demography"),
        "sign-up bonus (switching: partial opens; cost)",
        Cost(charged="switching and demography: the bonus paid per incentive-driven opening"),
        step=10.0,
    ),
    Lever(
        "referral_bonus",
        0.0,
        0.0,
        1000.0,
        "RMB per referred account",
        "Incentives",
        ("response", "switching"),
        "customers bring customers (marketing response: referrals)",
        Cost(charged="switching: the referral bonus paid per referred opening"),
        step=10.0,
    ),
    Lever(
        "scene_partnerships",
        0.1,
        0.0,
        1.0,
        "share of platform users reached",
        "Incentives",
        ("switching",),
        "batch acquisition through partner scenes (switching)",
        Cost(
            weekly=0.3,
            charged="switching: scene_fee per account opened through a scene",
            source="assumption: partnership management and minimum fees, 16 million RMB a "
            "year at full reach (seed 004: CMB with Didi)",
        ),
    ),
    # ------------------------------------------------------------------ marketing
    Lever(
        "event_offers",
        0.2,
        0.0,
        1.0,
        "share of life events caught",
        "Marketing",
        ("response",),
        "event-triggered offers (marketing response)",
        Cost(
            invest=30.0,
            weekly=0.1,
            charged="accounting: cost_existing_touch per offer shown",
            source="assumption: event detection (triggers on transactions) built and run",
        ),
    ),
    Lever(
        "push_per_week",
        1.0,
        0.0,
        14.0,
        "pushes per app user per week",
        "Marketing",
        ("needs", "experience"),
        "push notifications (needs: app visits; experience: fatigue)",
        Cost(charged="accounting: cost_push per push"),
        step=0.5,
    ),
    Lever(
        "push_timing",
        0.3,
        0.0,
        1.0,
        "score",
        "Marketing",
        ("experience",),
        "push timing follows the login pattern (experience: fatigue)",
        Cost(
            invest=20.0,
            weekly=0.05,
            source="assumption: login-pattern models (seed 002: push when customers log in)",
        ),
    ),
    Lever(
        "cross_sell",
        0.05,
        0.0,
        1.0,
        "offers per contact",
        "Marketing",
        ("response",),
        "cross-sell intensity at touch points (marketing response)",
        Cost(
            weekly=0.1,
            charged="accounting: cost_existing_touch per offer shown",
            source="assumption: product campaigns and staff incentives, 5 million RMB a year "
            "at one offer per contact",
        ),
    ),
    Lever(
        "data_capability",
        0.3,
        0.0,
        1.0,
        "score",
        "Marketing",
        ("marketing", "response"),
        "customer profiles: offer relevance and touches (marketing)",
        Cost(
            invest=250.0,
            weekly=0.8,
            source="assumption: a data platform and profile tags (seed 001: CMB's 1,726 "
            "tags); a data team of about 140 people per unit of capability",
        ),
    ),
    Lever(
        "marketing_budget",
        0.3,
        0.0,
        50.0,
        "RMB per own customer per week",
        "Marketing",
        ("marketing", "switching"),
        "prospect touches for acquisition (switching: partial opens)",
        Cost(charged="accounting: cost_prospect_touch per prospect touch bought"),
        step=0.1,
    ),
    # ------------------------------------------------------------------ service
    Lever(
        "rm_coverage",
        0.1,
        0.0,
        1.0,
        "share of head and mid customers",
        "Service",
        ("response",),
        "relationship managers reachable online (experience: bond)",
        Cost(
            per_customer=0.45,
            charged="response: cost_rm_contact per relationship-manager call",
            source=_STAFF + " for an online relationship manager serving about 4,000 "
            "customers (1.5 RMB per covered customer per week), charged on every holder at 0.3 "
            "of that (head and mid customers are 30% of the market)",
        ),
    ),
    Lever(
        "human_service",
        0.5,
        0.0,
        1.0,
        "share of problems",
        "Service",
        ("choice", "experience"),
        "a human reachable when a problem occurs (experience)",
        Cost(
            per_customer=0.15,
            source=_STAFF + " for service staff, one per about 40,000 customers at full "
            "reach (seed 000: 62% want a real person when a problem occurs)",
        ),
    ),
    Lever(
        "omnichannel_attribution",
        1.0,
        0.0,
        1.0,
        "share of digital sales credited",
        "Service",
        ("choice",),
        "0 = branch-only credit: staff pull sales into branches, where some customers give up "
        "(choice)",
        Cost(
            free="a rule of the staff's sales-credit scheme: changing it moves no money, "
            "only whose targets a sale counts for (seed 000)"
        ),
    ),
    Lever(
        "onboarding_friction",
        0.3,
        0.0,
        1.0,
        "score",
        "Service",
        ("switching", "choice"),
        "in-person steps to open and bind (switching, platform)",
        Cost(
            invest=60.0,
            weekly=0.1,
            source="assumption: remote identity verification and binding (seed 003: "
            "in-person registration); charged for friction removed (level = 1 - value)",
        ),
        better="lower",
    ),
    Lever(
        "low_threshold_products",
        0.0,
        0.0,
        1.0,
        "score",
        "Service",
        ("response",),
        "low-threshold products for the long tail (marketing)",
        Cost(
            invest=30.0,
            weekly=0.2,
            source="assumption: product design and operations for the long tail (seed 003)",
        ),
    ),
    Lever(
        "reactivation",
        0.0,
        0.0,
        1.0,
        "share of dormant accounts contacted per month",
        "Service",
        ("response",),
        "reactivation campaigns for dormant accounts (marketing)",
        Cost(charged="accounting: cost_existing_touch per reactivation contact"),
    ),
)

#: Lever names in declaration order.
NAMES: tuple[str, ...] = tuple(lv.name for lv in LEVERS)
BY_NAME: dict[str, Lever] = {lv.name: lv for lv in LEVERS}
#: Levers by the app's themes, in declaration order.
GROUPS: dict[str, tuple[str, ...]] = {}
for _lv in LEVERS:
    GROUPS.setdefault(_lv.group, ())
    GROUPS[_lv.group] += (_lv.name,)


def _check_declarations() -> None:
    for lv in LEVERS:
        if not lv.lo <= lv.default <= lv.hi:
            raise ValueError(f"lever {lv.name}: default {lv.default} outside [{lv.lo}, {lv.hi}]")
        if lv.cost.is_free and not lv.cost.free:
            raise ValueError(f"lever {lv.name} costs nothing: declare why in Cost(free=...)")
        if (lv.cost.invest or lv.cost.weekly or lv.cost.per_customer) and not lv.cost.source:
            raise ValueError(f"lever {lv.name}: say where its cost figures come from (source)")


_check_declarations()
