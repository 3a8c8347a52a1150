"""The workshop mode: a local web app for strategy workshops (``python -m sim.app``).

* :mod:`sim.app.lab`: the strategy lab, the focal bank's strategy against the
  baseline in lockstep (plain Python);
* :mod:`sim.app.game`: the team game, banks run by teams quarter by quarter,
  leaderboard, going back a round, save and load (plain Python);
* :mod:`sim.app.charts`: the charts (Matplotlib, PNG);
* :mod:`sim.app.ui`: the Solara pages on top (imported only by the server).

The facilitator guide is ``docs/workshop.md``.
"""
