"""6b. Digital adoption: the mobile-banking app spreads through the social network (Bass).

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

One uniform per customer decides both events (a customer is in one state or the
other): counter-based (:mod:`sim.counter_rng`), stream ``adoption``, keyed by the
customer's stable id and the week, slot 0.

The app channel (choice), app visits and pushes (needs) exist only for adopters,
and so does the app habit (experience).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.counter_rng import stream_word, uniform2
from sim.nbtypes import _b1, _b2, _f4_1, _f4_2, _f8_1, _i1_1, _i4_1, _i8_1, _i8_2, _u4_1
from sim.population import CH
from sim.rng import STREAMS

PROCESS = STREAMS.index("adoption")
#: Rows per chunk of the update pass (fixed: the chunks do not depend on the threads).
CHUNK = 4096


def appeal(lev) -> np.ndarray:
    """Each bank's app appeal in [0, 1]: the mean of its app quality and app scenes."""
    return 0.5 * (lev.app_quality + lev.app_scenes)


@nb.njit(nb.void(_i8_1, _i4_1, _i1_1, _f4_1), cache=True, nogil=True, parallel=True)
def _tie_share(indptr, indices, code, share):
    """``share[n]``: of ``n``'s alive ties, the share for whom ``x`` holds (0 without ties).

    ``code[m] = alive[m] + 2 * (alive[m] and x[m])``: one byte read per tie.
    """
    for n in nb.prange(code.shape[0]):
        ties = 0
        hold = 0
        for i in range(indptr[n], indptr[n + 1]):
            k = code[indices[i]]
            ties += k & 1
            hold += k >> 1
        share[n] = hold / ties if ties > 0 else 0.0


def tie_share(model, x: np.ndarray) -> np.ndarray:
    """The share of each customer's ties (alive) for whom ``x`` holds (float32)."""
    adj, alive = model.adjacency, model.pop.alive
    share = np.empty(model.pop.capacity, np.float32)
    _tie_share(
        adj.indptr.astype(np.int64, copy=False),
        adj.indices.astype(np.int32, copy=False),
        (alive + 2 * (alive & np.asarray(x, bool))).astype(np.int8),
        share,
    )
    return share


@nb.njit(
    nb.void(_u4_1, nb.uint32, nb.uint32, _f8_1, _f8_1, _b1, _u4_1, _b2, _f4_1, _f4_1, _b1,
            _f4_2, nb.int64, _i8_2),
    cache=True,
    nogil=True,
    parallel=True,
)  # fmt: skip
def _adopt(key, stream, week, par, appeal, alive, uid, has, digital, F, adopted, habit, mobile,
           counts):  # fmt: skip
    """Adoptions and lapses of every row (see the module docstring); counts per chunk."""
    N, B = has.shape
    innovation, imitation, lapse_rate = par[0], par[1], par[2]
    for c in nb.prange(counts.shape[0]):
        for n in range(c * CHUNK, min(N, (c + 1) * CHUNK)):
            if not alive[n]:
                continue
            u = uniform2(key, stream, uid[n], week, 0)[0]
            d = nb.float64(digital[n])
            if adopted[n]:
                if u < 1.0 - np.exp(-lapse_rate * (1.0 - d)):
                    adopted[n] = False
                    habit[n, mobile] = 0.0
                    counts[c, 1] += 1
                continue
            best = 0.0
            for b in range(B):
                if has[n, b] and appeal[b] > best:
                    best = appeal[b]
            h = d * d * (innovation * best + imitation * F[n])
            if u < 1.0 - np.exp(-h):
                adopted[n] = True
                counts[c, 0] += 1


def run(model) -> None:
    """Adopt and lapse."""
    pop, p = model.pop, model.p
    beh = p.beh
    F = tie_share(model, pop.adopted)  # the ties' adoption before this week's changes
    par = np.array(
        [beh.adoption_innovation, beh.adoption_imitation, beh.adoption_lapse], np.float64
    )
    counts = np.zeros((max((pop.capacity + CHUNK - 1) // CHUNK, 1), 2), np.int64)
    _adopt(
        model.streams.counter_key, stream_word(PROCESS, 0), np.uint32(model.t + 1), par,
        np.ascontiguousarray(appeal(p.lev), np.float64), pop.alive, pop.uid, pop.has,
        pop.digital, F, pop.adopted, pop.habit, CH["mobile"], counts,
    )  # fmt: skip
    adoptions, lapses = counts.sum(axis=0)
    model.tally.adoptions = int(adoptions)
    model.tally.lapses = int(lapses)
