"""Scenario discovery: under which conditions does a strategy fail against the baseline?

The question of exploratory modelling (Bryant and Lempert 2010; the EMA
Workbench), asked of one strategy: over a sampled design of uncertainties
(market conditions, behaviour, the scenario's shock strengths and timings),
where does the strategy's paired gain over the baseline (on loyalty, traffic,
its NPV or any outcome) fall below a threshold? PRIM (the ``prim`` package)
finds the box of conditions where the failing cases concentrate, with its
peeling trajectory and the significance of each limit; CART (scikit-learn)
gives a second view.

One idea per module:

* :mod:`.design`: the design file (what is sampled, what runs, what counts as
  failing) and its checks;
* :mod:`.sampling`: the Latin hypercube of cases and what each case changes in
  a run (the scenario's shocks rewritten);
* :mod:`.runs`: both arms of every case through the shared evaluator
  (:mod:`sim.analysis.evaluator`) and the paired gain per case;
* :mod:`.boxes`: PRIM's peeling trajectory, the chosen box, quasi-p-values;
* :mod:`.cart`: the classification tree;
* :mod:`.plots`: the peeling trajectory, the cases with the box, the tree;
* :mod:`.report`: the tables, plots and summary written to the folder;
* :mod:`.folder`: the output folder: made, run (resumable), analysed;
* :mod:`.__main__`: the command, ``python -m sim.analysis.discovery``.

``docs/research.md`` has a worked example.
"""
