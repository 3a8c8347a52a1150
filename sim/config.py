"""Config schemas: dataclasses that validate every YAML file of the lab.

Hydra merges each YAML file onto these structured configs, which rejects
unknown keys and wrong types. Every numeric field declares its unit and its
allowed range in the field metadata (see :func:`param`); :func:`validate`
checks the ranges of a composed config and names the key, the value, what is
allowed and the file it came from.

Groups:
    ``market/``    who is in the market and how they behave (``MarketConfig``)
    ``strategy/``  the focal bank's levers (``Levers``)
    ``scenario``   timed shocks, files in the top-level ``scenarios/`` folder
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

#: Bank channels, in the order of the second axis of the habit arrays.
CHANNELS: tuple[str, ...] = (
    "branch",
    "atm",
    "online",
    "mobile",
    "messaging",
    "remote",
    "open",
)
#: Traffic is also counted for the third-party platform, as one extra channel.
TRAFFIC_CHANNELS: tuple[str, ...] = (*CHANNELS, "platform")
#: Need types drawn each week (non-financial app visits are drawn separately).
NEEDS: tuple[str, ...] = ("payment", "transfer", "wealth", "credit", "service", "counter")
SEGMENTS: tuple[str, ...] = ("head", "mid", "tail")
COHORTS: tuple[str, ...] = ("genz", "millennial", "genx", "senior")


def param(default: Any, lo: float | None, hi: float | None, unit: str, doc: str) -> Any:
    """A config field with a unit, an allowed range [lo, hi] and a description."""
    meta = {"lo": lo, "hi": hi, "unit": unit, "doc": doc}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


# --------------------------------------------------------------------------- levers
def _make_levers() -> type:
    """The ``Levers`` schema, one float field per declaration of :data:`sim.levers.LEVERS`."""
    from sim.levers import LEVERS

    fields = [
        # string annotations, as in every other schema (``from __future__ import annotations``)
        ("name", "str", field(default="baseline")),
        ("description", "str", field(default="")),
        *(
            (lv.name, "float", param(float(lv.default), lv.lo, lv.hi, lv.unit, lv.doc))
            for lv in LEVERS
        ),
    ]
    cls = dataclasses.make_dataclass("Levers", fields)
    cls.__module__ = __name__
    cls.__doc__ = (
        "A bank's strategy levers (the focal bank's come from ``strategy/``): one field per "
        "declaration in :mod:`sim.levers`, with its unit and range."
    )
    return cls


Levers = _make_levers()


@dataclass
class LeverCost:
    """What a lever costs the bank at its real size (see :mod:`sim.levers`)."""

    invest: float = param(
        0.0, 0.0, 1e5, "million RMB per unit improved", "one-off, charged in week 0"
    )
    weekly: float = param(0.0, 0.0, 1e4, "million RMB per week per unit of level", "running, fixed")
    per_customer: float = param(
        0.0, 0.0, 1e4, "RMB per customer per week per unit of level", "running, per customer"
    )


def _make_lever_costs() -> type:
    """The market file's ``costs`` section: one :class:`LeverCost` per lever, declared defaults."""
    from sim.levers import LEVERS

    def default(lv):
        c = lv.cost
        return lambda: LeverCost(c.invest, c.weekly, c.per_customer)

    # string annotations, as in every other schema (``from __future__ import annotations``)
    fields = [(lv.name, "LeverCost", field(default_factory=default(lv))) for lv in LEVERS]
    cls = dataclasses.make_dataclass("LeverCosts", fields)
    cls.__module__ = __name__
    cls.__doc__ = "Each lever's cost in this market (defaults and sources: :mod:`sim.levers`)."
    return cls


LeverCosts = _make_lever_costs()


# --------------------------------------------------------------------------- market
@dataclass
class BankConfig:
    """A bank in the market: its starting size and its levers."""

    share: float = param(
        0.2,
        0.0,
        1.0,
        "share of customers",
        "the bank's share of primary customers in the market at rest (data: ``brand`` is "
        "fitted to it); also the weight of the initial accounts' draw",
    )
    brand: float = param(
        0.0,
        -5.0,
        5.0,
        "score",
        "brand and scale that no lever moves (trust, payroll and mortgage ties): added to "
        "the bank's score when a customer reviews its primary bank and subtracted from the "
        "log hazard of closing its accounts; fitted so the market at rest reproduces "
        "``share`` (python -m sim.analysis.calibrate --brands)",
    )
    levers: Levers = field(default_factory=Levers)


@dataclass
class CustomerMix:
    """Who the customers are at the start and among new entrants."""

    segments: list[float] = param(
        [0.05, 0.25, 0.70], 0.0, 1.0, "shares", "head / mid / long-tail value segments"
    )
    cohorts: list[float] = param(
        [0.20, 0.35, 0.30, 0.15], 0.0, 1.0, "shares", "Gen Z / millennial / Gen X / senior"
    )
    digital_by_cohort: list[float] = param(
        [0.85, 0.75, 0.55, 0.30], 0.0, 1.0, "mean score", "mean digital affinity per cohort"
    )
    human_preference: float = param(
        0.62, 0.0, 1.0, "share", "want a real person when a problem occurs (input fact)"
    )
    senior_human_extra: float = param(
        0.2, 0.0, 1.0, "share", "extra human preference of seniors over the mean"
    )
    accounts_mean: float = param(
        2.2,
        1.0,
        6.0,
        "accounts",
        "mean accounts held in the initial population (a starting guess: spin-up removes it)",
    )
    initial_adoption: float = param(
        0.6,
        0.0,
        1.0,
        "share",
        "customers who have adopted a mobile-banking app in the initial population, drawn in "
        "proportion to digital affinity (a starting guess: spin-up removes it)",
    )
    web_first_share: float = param(
        0.15, 0.0, 1.0, "share", "PC-first customers who prefer web online banking"
    )
    social_degree: int = param(8, 2, 50, "ties", "mean number of social ties")
    homophily: float = param(0.8, 0.0, 1.0, "share", "share of ties within the same cohort")


@dataclass
class Environment:
    """Market-wide conditions; scenario shocks act mostly here."""

    branch_reach: float = param(1.0, 0.0, 3.0, "multiplier", "ease of reaching branches")
    remote_demand: float = param(
        1.0, 0.0, 5.0, "multiplier", "preference for contact-free channels"
    )
    platform_strength: float = param(
        1.0, 0.0, 3.0, "multiplier", "third-party platforms' pull on payments"
    )
    platform_scene_reach: float = param(
        0.8, 0.0, 1.0, "share", "customers active in a platform's partner scenes"
    )
    need_rate: float = param(1.0, 0.0, 5.0, "multiplier", "financial needs per week")
    problem_rate: float = param(1.0, 0.0, 10.0, "multiplier", "service problems per week")
    entry_rate: float = param(
        0.00115,
        0.0,
        0.05,
        "share of the initial population per week",
        "new customers (the default replaces the expected exits: a market of steady size)",
    )
    exit_rate: float = param(
        0.0010,
        0.0,
        0.05,
        "share of population per week",
        "customers leaving the market (x2 for seniors)",
    )
    entry_genz_share: float = param(
        0.174,
        0.0,
        1.0,
        "share",
        "Gen Z among new entrants (the default replaces leavers cohort by cohort, so the "
        "market's cohort mix stays level; scenarios such as genz_inflow raise it)",
    )
    entry_senior_share: float = param(
        0.261,
        0.0,
        1.0,
        "share",
        "seniors among new entrants (the default replaces leavers, who are seniors twice as "
        "often as their share)",
    )
    digital_drift: float = param(
        0.0,
        0.0,
        0.1,
        "score per week",
        "named secular trend: digital affinity of every customer rises by this much a week "
        "(seed 002 documents adoption rising; 0 for a market at rest, see docs/ODD.md)",
    )


#: Environment fields that are secular trends (changes per week from the market at rest):
#: zero in the spin-up, acting from week 0 (docs/ODD.md, "Trends").
TRENDS: tuple[str, ...] = ("digital_drift",)


@dataclass
class Behaviour:
    """Behavioural coefficients (the calibrated part of the market)."""

    # needs (per customer per week)
    payment_rate: float = param(4.0, 0.0, 50.0, "per week", "payments")
    transfer_rate: float = param(1.2, 0.0, 20.0, "per week", "transfers and inquiries")
    wealth_rate: float = param(0.06, 0.0, 2.0, "per week", "wealth needs")
    credit_rate: float = param(0.03, 0.0, 2.0, "per week", "credit needs")
    problem_rate: float = param(0.02, 0.0, 1.0, "per week", "service problems")
    app_counter_share: float = param(
        0.95,
        0.0,
        1.0,
        "share",
        "counter business the app can also serve (input fact); "
        "the rest of wealth, credit and problem business "
        "needs a branch counter",
    )
    app_visit_rate: float = param(
        1.5, 0.0, 20.0, "per week at scenes=1", "non-financial app visits of an engaged app user"
    )
    head_need_mult: float = param(1.6, 0.0, 5.0, "multiplier", "needs of head customers")
    tail_need_mult: float = param(0.7, 0.0, 5.0, "multiplier", "needs of long-tail customers")
    # channel choice (utility coefficients)
    beta_primary: float = param(2.0, 0.0, 10.0, "utils", "pull of the primary bank")
    beta_satisfaction: float = param(1.5, 0.0, 10.0, "utils per unit", "pull of satisfaction")
    beta_products: float = param(0.5, 0.0, 5.0, "utils per log product", "pull of products")
    beta_rewards: float = param(1.0, 0.0, 10.0, "utils", "pull of rewards on deal-seekers")
    beta_dormant: float = param(2.0, 0.0, 10.0, "utils", "push of a dormant account")
    beta_new_account: float = param(
        3.0, 0.0, 10.0, "utils", "weaker pull of an incentive-opened account at first"
    )
    beta_bonus_hunting: float = param(
        2.0,
        0.0,
        10.0,
        "utils",
        "extra push of an account opened only for the sign-up bonus (a bonus hunter)",
    )
    beta_quality: float = param(2.0, 0.0, 10.0, "utils per unit", "channel quality")
    beta_habit: float = param(1.5, 0.0, 10.0, "utils per unit", "channel habit")
    beta_digital: float = param(3.0, 0.0, 10.0, "utils per unit", "digital affinity")
    beta_access: float = param(1.0, 0.0, 10.0, "utils per log", "branch access")
    beta_web_first: float = param(
        3.5, 0.0, 10.0, "utils", "pull of web online banking for PC-first customers"
    )
    beta_human: float = param(1.5, 0.0, 10.0, "utils", "human channels for those who want one")
    asc_branch: float = param(0.7, -10.0, 10.0, "utils", "branch constant")
    asc_atm: float = param(-0.5, -10.0, 10.0, "utils", "ATM constant")
    asc_online: float = param(-2.0, -10.0, 10.0, "utils", "online banking constant")
    asc_mobile: float = param(1.0, -10.0, 10.0, "utils", "mobile app constant")
    asc_messaging: float = param(-1.5, -10.0, 10.0, "utils", "messaging banking constant")
    asc_remote: float = param(-1.5, -10.0, 10.0, "utils", "remote banking constant")
    asc_open: float = param(-0.5, -10.0, 10.0, "utils", "open banking constant")
    asc_platform: float = param(7.4, -10.0, 10.0, "utils", "third-party platform constant")
    beta_platform_habit: float = param(2.0, 0.0, 10.0, "utils per unit", "platform habit")
    # experience
    satisfaction_rate: float = param(
        0.15, 0.0, 1.0, "per week", "smoothing of satisfaction towards experience"
    )
    experience_noise: float = param(0.15, 0.0, 1.0, "score", "noise of one week's experience")
    problem_unresolved_penalty: float = param(
        0.5, 0.0, 2.0, "score", "experience lost when a human was wanted and none was reachable"
    )
    wrong_offer_penalty: float = param(
        0.02, 0.0, 0.5, "score per offer", "satisfaction lost per irrelevant offer"
    )
    push_annoyance: float = param(
        0.01, 0.0, 0.5, "score per blind push", "satisfaction lost per badly timed push, x fatigue"
    )
    fatigue_gain: float = param(0.05, 0.0, 1.0, "per blind push", "push fatigue build-up")
    fatigue_decay: float = param(0.1, 0.0, 1.0, "per week", "push fatigue recovery")
    push_open_rate: float = param(0.15, 0.0, 1.0, "share", "pushes opened at perfect timing")
    habit_rate: float = param(0.1, 0.0, 1.0, "per week", "habit smoothing")
    bond_gain: float = param(0.05, 0.0, 1.0, "per human contact", "bond growth")
    bond_decay: float = param(
        0.01, 0.0, 0.2, "per week", "bond decay (a bond not renewed fades within about two years)"
    )
    adoption_innovation: float = param(
        0.004,
        0.0,
        0.5,
        "per week at full appeal",
        "Bass innovation coefficient p: app adoption driven by the banks' own app appeal "
        "(app quality and scenes), x digital affinity squared",
    )
    adoption_imitation: float = param(
        0.1,
        0.0,
        2.0,
        "per week when every tie adopted",
        "Bass imitation coefficient q: app adoption driven by the share of the customer's "
        "ties who adopted, x digital affinity squared (0 switches social influence on "
        "adoption off)",
    )
    adoption_lapse: float = param(
        0.02,
        0.0,
        0.5,
        "per week at zero digital affinity",
        "adopters who stop using the app (discontinuance), x (1 - digital affinity)",
    )
    # marketing response
    offer_relevance_base: float = param(0.2, 0.0, 1.0, "share", "relevant offers at no data")
    offer_relevance_gain: float = param(0.5, 0.0, 1.0, "share", "extra relevance at full data")
    touch_gain: float = param(5.56, 0.0, 20.0, "x", "extra touches at full data capability")
    accept_relevant: float = param(0.25, 0.0, 1.0, "probability", "a relevant offer accepted")
    accept_irrelevant: float = param(0.01, 0.0, 1.0, "probability", "an irrelevant offer accepted")
    event_rate: float = param(0.02, 0.0, 1.0, "per week", "life events that make a need")
    product_from_need: float = param(
        0.3, 0.0, 1.0, "probability", "a wealth or credit need served adds a product"
    )
    product_lapse: float = param(
        0.03,
        0.0,
        0.2,
        "per product per week",
        "products ending (mean life about eight months: wealth products mature within months)",
    )
    max_products: int = param(8, 1, 30, "products", "products per bank at most")
    referral_rate: float = param(
        0.02, 0.0, 1.0, "per satisfied tie per week at 100 RMB", "referrals"
    )
    reactivation_success: float = param(
        0.3, 0.0, 1.0, "probability", "a contacted dormant customer comes back"
    )
    # switching
    open_base: float = param(0.007, 0.0, 0.5, "per bank per week", "organic account opening")
    beta_wom: float = param(
        0.06,
        0.0,
        1.0,
        "per week per unit word of mouth",
        "imitation in account opening: the hazard added by ties who are satisfied "
        "primary customers of the bank (0 switches word of mouth off)",
    )
    touch_conversion: float = param(
        0.04, 0.0, 1.0, "per prospect touch", "conversion of a prospect touch"
    )
    bonus_elasticity: float = param(
        0.01, 0.0, 1.0, "per RMB x deal-seeking", "sign-up bonus effect on conversion"
    )
    scene_conversion: float = param(
        0.004, 0.0, 0.5, "per week at full partnership", "account opening through partner scenes"
    )
    close_base: float = param(0.007, 0.0, 0.5, "per account per week", "account closing")
    beta_close_satisfaction: float = param(
        3.0, 0.0, 20.0, "utils", "dissatisfaction against the best alternative"
    )
    beta_close_products: float = param(0.8, 0.0, 10.0, "utils per extra product", "exit cost")
    beta_close_bond: float = param(2.0, 0.0, 10.0, "utils", "emotional bond")
    beta_close_dormant: float = param(1.0, 0.0, 10.0, "utils", "dormant accounts close more")
    beta_close_rewards: float = param(1.0, 0.0, 10.0, "utils", "accrued rewards hold customers")
    switching_ease: float = param(
        0.0,
        -5.0,
        5.0,
        "utils",
        "how easy the switching procedure is, in both directions: log multiplier of the "
        "hazards of closing an account and of opening one",
    )
    primary_margin: float = param(
        0.3, 0.0, 5.0, "score", "inertia: the current primary's extra score when reviewed"
    )
    primary_review: float = param(
        0.04, 0.0, 1.0, "per week", "chance a customer reviews which bank is its primary"
    )
    primary_scale: float = param(
        8.0, 0.0, 50.0, "per unit score", "sharpness of the primary choice (logit scale)"
    )
    dormancy_weeks: int = param(26, 1, 260, "weeks", "weeks without interaction to dormancy")
    # economics
    revenue_per_product: float = param(3.0, 0.0, 1000.0, "RMB per week", "revenue proxy")
    revenue_per_payment: float = param(0.05, 0.0, 100.0, "RMB", "revenue proxy per payment")
    cost_per_contact: list[float] = param(
        [25.0, 4.0, 0.5, 0.2, 0.1, 8.0, 0.3],
        0.0,
        1000.0,
        "RMB",
        "cost to serve per contact, by channel",
    )
    cost_prospect_touch: float = param(3.5, 0.0, 1000.0, "RMB", "a touch to a prospect")
    scene_fee: float = param(
        20.0,
        0.0,
        1000.0,
        "RMB per account at scene_partnerships=1",
        "fee to the partner for an account opened through its scene",
    )
    cost_existing_touch: float = param(1.0, 0.0, 1000.0, "RMB", "a touch to an existing customer")
    cost_push: float = param(0.01, 0.0, 100.0, "RMB", "a push")
    cost_reward_point: float = param(
        0.5, 0.0, 100.0, "RMB per interaction at rewards=1", "rewards spend"
    )
    branch_fixed_cost: float = param(
        0.6,
        0.0,
        100.0,
        "RMB per customer per week",
        "running the branch network at density 1 (scales with branch_network)",
    )
    cost_rm_contact: float = param(
        30.0,
        0.0,
        1000.0,
        "RMB",
        "a relationship manager's time per contact, on top of the remote-banking "
        "contact the call is counted as",
    )


@dataclass
class MarketConfig:
    """The market: banks, customers, environment and behaviour."""

    name: str = "default"
    description: str = ""
    focal: str = "focal"
    banks: dict[str, BankConfig] = field(default_factory=dict)
    customers: CustomerMix = field(default_factory=CustomerMix)
    environment: Environment = field(default_factory=Environment)
    behaviour: Behaviour = field(default_factory=Behaviour)
    customers_represented: float = param(
        10_000_000.0,
        1.0,
        2e9,
        "customers",
        "real customers the simulated market stands for: money and counts in summaries and "
        "reports are scaled by customers_represented / population.size",
    )
    discount_rate: float = param(
        0.08, 0.0, 1.0, "per year", "the bank's discount rate for net present values"
    )
    costs: LeverCosts = field(default_factory=LeverCosts)


# --------------------------------------------------------------------------- scenario
@dataclass
class Shock:
    """A timed change of one parameter.

    ``target`` is a dotted path under ``market.environment``, ``market.behaviour``
    or ``strategy`` (the focal bank's levers), or ``banks.<lever>`` for the same
    lever at every bank. ``mode`` says how ``value`` applies (set, multiply, add);
    ``shape`` says whether it jumps at ``start`` (step) or moves linearly from
    ``start`` to ``end`` (ramp). A step ends after ``end``; a ramp stays at its
    end value.
    """

    target: str = MISSING
    value: float = MISSING
    start: int = param(0, 0, None, "week", "first week the shock acts")
    end: int = param(0, 0, None, "week", "last week of the shock (step) or of the ramp")
    mode: str = "multiply"
    shape: str = "step"


@dataclass
class ScenarioConfig:
    """A named set of timed shocks."""

    name: str = "none"
    description: str = ""
    shocks: list[Shock] = field(default_factory=list)


# --------------------------------------------------------------------------- run
@dataclass
class PopulationConfig:
    """Population size (the mix lives in the market)."""

    size: int = param(20000, 100, 50_000_000, "customers", "customers at the start")
    headroom: float = param(0.1, 0.0, 2.0, "share", "spare rows for entrants beyond exits")


@dataclass
class SpinupConfig:
    """The spin-up: weeks run before week 0 so that a run starts from the market at rest.

    The spin-up runs the configured population under the market's conditions, every
    competitor's market-file levers and the focal bank's ``strategy`` below (the
    baseline), with no scenario. The state it ends in is cached on disk
    (:mod:`sim.spinup`), keyed by everything it depends on.
    """

    weeks: int = param(260, 0, 5200, "weeks", "weeks run before week 0 (0: no spin-up)")
    cache: bool = True
    #: the focal bank's levers in the spin-up: configs/config.yaml fills them from
    #: configs/strategy/baseline.yaml (``strategy@spinup.strategy: baseline``); a Config
    #: built without Hydra gets the schema defaults instead
    strategy: Levers = field(default_factory=Levers)


@dataclass
class OutputConfig:
    """Where and what a run writes."""

    dir: str | None = None
    plots: bool = True
    progress: bool = True


@dataclass
class Config:
    """The root config of a run."""

    seed: int = param(0, 0, 2**32 - 1, "", "root seed of every random stream")
    weeks: int = param(104, 1, 5200, "weeks", "simulated weeks")
    population: PopulationConfig = field(default_factory=PopulationConfig)
    market: MarketConfig = field(default_factory=MarketConfig)
    strategy: Levers = field(default_factory=Levers)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    spinup: SpinupConfig = field(default_factory=SpinupConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    #: an experiment file's ``experiment:`` block (empty for a single run): a free mapping,
    #: so an experiment file may carry notes of its own; the keys the lab reads are
    #: :data:`EXPERIMENT_KEYS`, its flags (:data:`EXPERIMENT_FLAGS`) are checked by
    #: :func:`sim.validate.experiment_flag` and on the command line
    experiment: dict[str, Any] = field(default_factory=dict)


#: The keys of the ``experiment:`` block (``configs/experiment/*.yaml``) the lab reads.
EXPERIMENT_KEYS: dict[str, str] = {
    "name": "the experiment's name: the suffix of its folder and the report's title",
    "question": "the question the experiment answers, under the report's title",
    "baseline": "the strategy every other strategy is compared with",
    "resume": "true: resume the experiment folder hydra.sweep.dir names (complete runs are kept)",
    "progress": "true: show runs done of total, failures so far and the time left on stderr "
    "while the multirun runs (sim/progress.py); false: show nothing",
    "headlines": "the loyalty, traffic and money outcomes the report ranks on (sim/headlines.py)",
    "posterior": "null (off) or a shipped posterior (configs/market/posterior/<name>.csv): "
    "run every strategy over posterior draws x seeds and add the comparisons under parameter "
    "uncertainty to the report (sim/analysis/uncertainty.py)",
    "posterior_draws": "how many parameter sets to resample by weight from the posterior "
    "(an integer, 1 or more; repeats run once, weighted by their count)",
    "posterior_seed": "the seed of that resampling (an integer, 0 or more)",
    "draw": "set by python -m sim.experiment in each run of a posterior experiment: its draw",
}
#: The defaults of the posterior option's keys (:func:`sim.validate.posterior_option`).
POSTERIOR_DEFAULTS: dict[str, Any] = {"posterior": None, "posterior_draws": 8, "posterior_seed": 0}
#: The experiment keys that take true or false, with their defaults.
EXPERIMENT_FLAGS: dict[str, bool] = {"resume": False, "progress": True}


SHOCK_MODES = ("set", "multiply", "add")
SHOCK_SHAPES = ("step", "ramp")


def field_meta(cls: type, name: str) -> dict:
    """The metadata (unit, range, doc) of a dataclass field."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return dict(f.metadata)
    raise KeyError(name)


# The config-file checks live in sim/configfiles.py; re-exported here for older imports.
from sim import configfiles as _configfiles  # noqa: E402

ALLOWED_TARGETS = _configfiles.ALLOWED_TARGETS
check_config_file = _configfiles.check_config_file
check_overrides = _configfiles.check_overrides
register_configs = _configfiles.register_configs
