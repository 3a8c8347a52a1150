"""2. Marketing plans: each bank plans the week's touches from its levers.

For bank ``b`` with data capability ``d``:

* touches per touch point: ``touch_mult = 1 + touch_gain * d`` (rich profiles
  multiply touches: 6.56x at ``touch_gain = 5.56``);
* offer relevance: ``relevance = offer_relevance_base + offer_relevance_gain * d``;
* prospect touches: ``marketing_budget * customers / cost_prospect_touch``,
  spread evenly over the bank's prospects (``prospect_rate``);
* pushes per app user ``push_per_week``; opened with probability
  ``push_open_rate * (0.4 + 0.6 * push_timing)``; a share ``1 - push_timing``
  is badly timed ("blind").

The plans of all banks are computed together, as arrays over banks (there are
few banks, but the same code serves a market of any size).
"""

from __future__ import annotations

import numpy as np

from sim.week import Plan


def run(model) -> None:
    """Make every bank's plan for the week."""
    p, pop = model.p, model.pop
    customers = pop.has.sum(axis=0).astype(float)
    prospects = np.maximum(float(pop.alive.sum()) - customers, 1.0)
    d = p.lev.data_capability
    touches = p.lev.marketing_budget * customers / max(p.beh.cost_prospect_touch, 1e-9)
    model.week.plan = Plan(
        touch_mult=1.0 + p.beh.touch_gain * d,
        relevance=np.clip(p.beh.offer_relevance_base + p.beh.offer_relevance_gain * d, 0, 1),
        prospect_rate=touches / prospects,
        prospect_touches=touches,
        push_rate=p.lev.push_per_week.copy(),
        push_open=np.clip(p.beh.push_open_rate * (0.4 + 0.6 * p.lev.push_timing), 0, 1),
        push_blind=1.0 - p.lev.push_timing,
    )
