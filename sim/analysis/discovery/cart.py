"""CART: a classification tree of the failing cases, a second view beside PRIM's box.

:class:`sklearn.tree.DecisionTreeClassifier` (depth ``max_depth``, leaves of
at least ``min_samples_leaf`` cases) on the same cases and the same failing
flag. Its rules come as text (:func:`sklearn.tree.export_text`); its accuracy
on the cases and by stratified ``folds``-fold cross-validation stand beside the
accuracy of always predicting the larger class, so a tree that only memorises
the cases shows as one.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.analysis.discovery.design import DiscoveryDesign


def run_cart(X: pd.DataFrame, fails: np.ndarray, design: DiscoveryDesign) -> dict:
    """A classification tree of failing cases: rules, accuracy (cases, cross-validated)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.tree import DecisionTreeClassifier, export_text

    y = np.asarray(fails, dtype=bool)
    c = design.cart
    base_rate = float(max(y.mean(), 1 - y.mean())) if y.size else math.nan
    if y.size == 0 or y.all() or not y.any():
        return {
            "tree": None,
            "rules": "",
            "accuracy": math.nan,
            "cv_accuracy": math.nan,
            "folds": 0,
            "base_rate": base_rate,
            "note": "one class only: no tree",
        }
    tree = DecisionTreeClassifier(
        max_depth=c.max_depth, min_samples_leaf=c.min_samples_leaf, random_state=0
    )
    tree.fit(X.to_numpy(float), y)
    accuracy = float(tree.score(X.to_numpy(float), y))
    folds = min(c.folds, int(y.sum()), int((~y).sum()))
    cv = math.nan
    note = ""
    if folds >= 2:
        cv = float(
            cross_val_score(
                DecisionTreeClassifier(
                    max_depth=c.max_depth, min_samples_leaf=c.min_samples_leaf, random_state=0
                ),
                X.to_numpy(float),
                y,
                cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=0),
            ).mean()
        )
    else:
        note = "too few cases of one class for cross-validation"
    rules = export_text(
        tree,
        feature_names=list(X.columns),
        class_names=["holds", "fails"],
        decimals=4,
        show_weights=True,
    )
    return {
        "tree": tree,
        "rules": rules,
        "accuracy": accuracy,
        "cv_accuracy": cv,
        "folds": folds if folds >= 2 else 0,
        "base_rate": base_rate,
        "note": note,
    }
