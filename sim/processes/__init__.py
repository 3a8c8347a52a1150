"""The weekly processes, one module per mechanism, in schedule order.

Each exposes ``run(model)`` and reads and writes only the population, the
week's parameters (``model.p``), the week's scratch (``model.week``) and the
tally (``model.tally``).
"""
