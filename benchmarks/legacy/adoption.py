"""The NumPy form of adoption before its compiled pass (issue 14), kept for
benchmarks.equivalence.

Each customer has an explicit adoption state ``adopted`` (has a banking app and
uses it as a channel). A customer who has not adopted adopts this week with
probability ``1 - exp(-h)``, a discrete-time Bass hazard

``h[n] = digital[n]^2 * (adoption_innovation * appeal[n] + adoption_imitation * F[n])``

(affinity squared: customers with little digital affinity rarely adopt, however
many of their ties do; seed 002 finds seniors far behind on mobile banking)

* innovation (the banks' own pull): ``appeal[n] = max over held banks b of
  (app_quality[b] + app_scenes[b]) / 2``: a better app with more scenes draws
  adopters on its own (pushes reach only adopters, so they act on use, not on
  adoption);
* imitation (word of mouth): ``F[n]`` is the share of ``n``'s social ties who have
  adopted (a sparse matrix-vector product over the network). Seeds 001 and 004
  describe word of mouth as spreading geometrically; from a low start this gives
  the S-curve of the Bass model, with ``adoption_imitation`` (q) well above
  ``adoption_innovation`` (p).

Adopters stop using the app (discontinuance) with probability
``1 - exp(-adoption_lapse * (1 - digital[n]))``; their app habit is reset to 0.
With entrants who have not adopted yet and leavers who have, adoption settles at
a steady share where new adoptions balance lapses and exits (per customer
``h / (h + lapse + exit)``).

One uniform per customer from the stream ``("adoption", 0)`` decides both
events (a customer is in one state or the other).

The app channel (choice), app visits and pushes (needs) exist only for adopters,
and so does the app habit (experience).
"""

from __future__ import annotations

import numpy as np

from sim.population import CH


def appeal(lev) -> np.ndarray:
    """Each bank's app appeal in [0, 1]: the mean of its app quality and app scenes."""
    return 0.5 * (lev.app_quality + lev.app_scenes)


def tie_share(model, x: np.ndarray) -> np.ndarray:
    """The share of each customer's ties (alive) for whom ``x`` holds."""
    pop = model.pop
    v = (x & pop.alive).astype(np.float32)
    alive_ties = model.adjacency @ pop.alive.astype(np.float32)
    return np.where(alive_ties > 0, (model.adjacency @ v) / np.maximum(alive_ties, 1.0), 0.0)


def run(model) -> None:
    """Adopt and lapse."""
    pop, p = model.pop, model.p
    beh = p.beh
    u = model.stream("adoption").random(pop.capacity, dtype=np.float32)
    a = appeal(p.lev).astype(np.float32)
    best = np.where(pop.has, a[None, :], 0.0).max(axis=1)
    F = tie_share(model, pop.adopted)
    h = pop.digital**2 * (beh.adoption_innovation * best + beh.adoption_imitation * F)
    adopt = pop.alive & ~pop.adopted & (u < 1.0 - np.exp(-h))
    lapse_h = beh.adoption_lapse * (1.0 - pop.digital)
    lapse = pop.alive & pop.adopted & (u < 1.0 - np.exp(-lapse_h))
    pop.adopted[adopt] = True
    pop.adopted[lapse] = False
    pop.habit[lapse, CH["mobile"]] = 0.0
    model.tally.adoptions = int(adopt.sum())
    model.tally.lapses = int(lapse.sum())
