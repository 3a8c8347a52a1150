"""The lever declarations, their costs, and money at the bank's real scale.

* one declaration per lever: the schema, the app's controls and the ODD tables
  are read from it (the generated tables match, the hand-written ones agree);
* every lever that needs people, partners or software costs money: raising it
  raises what the bank spends (a one-off investment, a running cost, or both);
* money and customer counts are at the real scale: the same market simulated
  with twice the customers gives the same figures within sampling noise, and
  doubling the customers represented doubles them exactly.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest

from sim import levers
from sim.analysis.business import payback_week
from sim.app.common import LEVER_GROUPS, lever_spec
from sim.config import Levers, field_meta
from sim.errors import ConfigError
from sim.headlines import from_config
from sim.levertables import BEGIN, END, ODD, docs_section, markdown_table
from tests.conftest import simulate


def test_schema_app_and_docs_read_the_declarations():
    """The schema's fields, the app's groups and slider ranges are the declarations'."""
    fields = [f.name for f in dataclasses.fields(Levers) if f.name not in ("name", "description")]
    assert tuple(fields) == levers.NAMES
    assert sorted(n for g in LEVER_GROUPS.values() for n in g) == sorted(levers.NAMES)
    for lv in levers.LEVERS:
        meta = field_meta(Levers, lv.name)
        assert (meta["lo"], meta["hi"], meta["unit"]) == (lv.lo, lv.hi, lv.unit)
        spec = lever_spec(lv.name)
        assert (spec.lo, spec.hi, spec.step) == (lv.lo, lv.hi, lv.slider_step)


def test_odd_lever_tables_are_generated_from_the_declarations():
    """docs/ODD.md holds exactly the generated tables (python -m sim.levertables --write-docs)."""
    text = ODD.read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    assert docs_section(text) == markdown_table(), "run python -m sim.levertables --write-docs"


def test_hand_written_odd_rows_agree_with_the_declarations():
    """Every ``strategy.<lever>`` row of the submodels' tables has the declared unit and range."""
    text = ODD.read_text(encoding="utf-8").replace(docs_section(ODD.read_text()), "")
    rows = re.findall(r"^\| `strategy\.(\w+)` \| ([^|]+) \| ([^|]+) \|", text, re.M)
    assert rows, "no lever rows found in docs/ODD.md"
    for name, unit, rng in rows:
        lv = levers.BY_NAME[name]
        assert unit.strip() == lv.unit, (name, unit)
        assert rng.strip() == f"{lv.lo:g} to {lv.hi:g}", (name, rng)


def test_every_lever_costs_money_or_says_why_not():
    """A lever with no cost model at all must be declared free with its reason."""
    for lv in levers.LEVERS:
        c = lv.cost
        assert c.is_free == (not (c.invest or c.weekly or c.per_customer or c.charged))
        if c.is_free:
            assert len(c.free) > 20, f"{lv.name}: say why it is free"
    free = [lv.name for lv in levers.LEVERS if lv.cost.is_free]
    assert free == ["omnichannel_attribution"]


def _spend(model, key: str) -> float:
    return float(sum(h[key][0] for h in model.trackers.history))


@pytest.mark.parametrize(
    "lever",
    [lv for lv in levers.LEVERS if lv.cost.invest or lv.cost.weekly or lv.cost.per_customer],
    ids=lambda lv: lv.name,
)
def test_improving_a_lever_costs_what_its_declaration_says(lever):
    """Improving a lever charges invest x improvement in week 0 and raises the running cost."""
    base = simulate("spinup.weeks=0", size=600, weeks=2, seed=3)
    better = lever.lo if lever.better == "lower" else lever.hi
    m = simulate(f"strategy.{lever.name}={better}", "spinup.weeks=0", size=600, weeks=2, seed=3)
    status_quo = getattr(m.cfg.spinup.strategy, lever.name)
    gain = lever.level(better) - lever.level(status_quo)
    assert gain > 0
    invest = m.outcomes["investment"]
    assert invest == pytest.approx(lever.cost.invest * gain, rel=1e-9, abs=1e-9)
    if lever.cost.weekly or lever.cost.per_customer:
        assert _spend(m, "lever_cost") > _spend(base, "lever_cost")
    assert m.outcomes["strategy_spend"] > base.outcomes["strategy_spend"]


def test_baseline_invests_nothing():
    """The strategy the market spun up with is the status quo: no investment."""
    m = simulate("spinup.weeks=0", size=600, weeks=2)
    assert m.outcomes["investment"] == 0.0
    assert _spend(m, "lever_cost") > 0  # running the baseline's levers is not free


def test_money_scales_with_the_customers_represented():
    """Doubling the real market doubles customer counts and variable money, not fixed costs.

    Profit is ``scale * (variable profit of the simulated market) - fixed costs``: with twice
    the customers represented, ``profit_2x - 2 * profit_1x`` is the fixed running costs of
    the levers (``weekly``, real-scale), annualised. Rates do not move.
    """
    a = simulate("spinup.weeks=0", size=800, weeks=8)
    b = simulate("spinup.weeks=0", "market.customers_represented=20000000", size=800, weeks=8)
    oa, ob = a.outcomes, b.outcomes
    for key in ("customers", "active_customers", "retained_customers", "contacts_total"):
        assert ob[key] == pytest.approx(2 * oa[key], rel=1e-9), key
    lev = a.cfg.strategy
    fixed = sum(lv.cost.weekly * lv.level(getattr(lev, lv.name)) for lv in levers.LEVERS)
    assert fixed > 0
    assert ob["profit"] - 2 * oa["profit"] == pytest.approx(52 * fixed, rel=1e-6)
    for key in ("retention_26w", "active_rate", "contacts_per_customer", "revenue"):
        assert ob[key] == oa[key], key


SCALE_KEYS = ("profit", "npv", "customers", "active_customers", "contacts_total")


def test_real_scale_figures_do_not_depend_on_the_simulated_size():
    """Simulating 8,000 or 32,000 customers gives the same real-scale figures within noise.

    Money per real customer (NPV over the focal bank's real customers) is the figure a
    planner reads; the real-scale totals must agree too. A short spin-up and horizon keep
    this cheap (both sizes start from the same kind of state; the longer check at 52 weeks
    after the full spin-up is ``benchmarks/scale_invariance.py``, figures in
    ``docs/business_case.md``).
    """
    seeds = (1, 2, 3)
    sizes = (8000, 32000)
    runs = {
        n: [simulate("spinup.weeks=26", size=n, weeks=13, seed=s).outcomes for s in seeds]
        for n in sizes
    }
    for r in (*runs[8000], *runs[32000]):
        r["npv_per_customer"] = 1e6 * r["npv"] / (1e3 * r["customers"])
    for key in (*SCALE_KEYS, "npv_per_customer"):
        x = np.array([r[key] for r in runs[8000]])
        y = np.array([r[key] for r in runs[32000]])
        se = math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
        gap = abs(x.mean() - y.mean())
        # within 4 standard errors of the difference, or 2% of the level
        assert gap < max(4 * se, 0.02 * abs(y.mean())), (key, x, y)


def test_payback_week():
    """The first week from which the cumulative difference stays at or above zero."""
    assert payback_week(np.array([-10.0, 4, 4, 4])) == 3
    assert payback_week(np.array([1.0, 1, 1])) == 0
    assert math.isnan(payback_week(np.array([-10.0, 1, 1])))
    assert payback_week(np.array([-1.0, 2, -2, 3])) == 3


def test_headlines_named_in_the_experiment_config_are_checked():
    """Unknown headline keys or outcomes are refused naming the key and what is allowed."""
    assert from_config({})["money"] == "npv"
    assert from_config({"headlines": {"traffic": "contacts_total"}})["traffic"] == "contacts_total"
    with pytest.raises(ConfigError, match=r"experiment.headlines.money = 'wealth'"):
        from_config({"headlines": {"money": "wealth"}}, "configs/experiment/x.yaml")
    with pytest.raises(ConfigError, match="unknown key"):
        from_config({"headlines": {"speed": "npv"}})


def test_the_default_headlines_are_named_once_in_the_default_experiment(tmp_path):
    """DEFAULT is what configs/experiment/default.yaml names; a file without all three fails."""
    import yaml

    from sim import headlines

    data = yaml.safe_load(headlines.DEFAULT_FILE.read_text())
    assert data["experiment"]["headlines"] == headlines.DEFAULT
    bad = tmp_path / "default.yaml"
    bad.write_text("experiment:\n  headlines:\n    loyalty: retention_26w\n")
    with pytest.raises(ConfigError, match=r"default.yaml: experiment.headlines .* exactly"):
        headlines._declared(bad)
    bad.write_text(
        "experiment:\n  headlines: {loyalty: retention_26w, traffic: active_customers, money: x}\n"
    )
    with pytest.raises(ConfigError, match="not outcomes"):
        headlines._declared(bad)
