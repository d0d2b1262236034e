"""The default model's boosters as they are saved: scikit-learn's HistGradientBoostingRegressor, its trees packed.

A fitted booster holds one TreePredictor object per tree (200 per booster, 400 in the default model), and skops
writes each as an object of its own: a JSON node and three .npy entries per tree, most of the seconds it takes
to write a model file and to read it back. `Booster` saves the same trees as six arrays (every tree's nodes and
category bitsets end to end, and how many belong to each tree) and rebuilds the TreePredictors when it is read.
Fitting and predicting are HistGradientBoostingRegressor's own.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

try:  # scikit-learn's own module (private): without it, the trees are saved as scikit-learn keeps them
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
except ImportError:  # pragma: no cover
    TreePredictor = None


class Booster(HistGradientBoostingRegressor):
    """HistGradientBoostingRegressor whose saved state holds its trees as a few arrays."""

    def __getstate__(self):
        state = dict(super().__getstate__())  # object.__getstate__ is the instance's own __dict__: a copy
        predictors = state.get("_predictors")
        if _is_trees(predictors):
            state["_predictors"] = _pack(predictors)
        return state

    def __setstate__(self, state):
        packed = state.get("_predictors")
        if isinstance(packed, dict):
            state = {**state, "_predictors": _unpack(packed)}
        super().__setstate__(state)


def _is_trees(predictors) -> bool:
    """A fitted booster's trees as scikit-learn keeps them: a list of each iteration's list of TreePredictors."""
    if TreePredictor is None or not isinstance(predictors, list) or not predictors:
        return False
    return all(isinstance(trees, list) and all(isinstance(t, TreePredictor) for t in trees) for trees in predictors)


def _pack(predictors: list[list[TreePredictor]]) -> dict[str, np.ndarray]:
    trees = [tree for iteration in predictors for tree in iteration]
    return {
        "trees_per_iteration": np.array([len(iteration) for iteration in predictors], dtype=np.int64),
        "nodes": np.concatenate([tree.nodes for tree in trees]),
        "nodes_per_tree": np.array([len(tree.nodes) for tree in trees], dtype=np.int64),
        "binned_left_cat_bitsets": np.concatenate([tree.binned_left_cat_bitsets for tree in trees]),
        "raw_left_cat_bitsets": np.concatenate([tree.raw_left_cat_bitsets for tree in trees]),
        "bitsets_per_tree": np.array([len(tree.raw_left_cat_bitsets) for tree in trees], dtype=np.int64),
    }


def _unpack(packed: dict[str, np.ndarray]) -> list[list[TreePredictor]]:
    node_ends = np.cumsum(packed["nodes_per_tree"])
    bitset_ends = np.cumsum(packed["bitsets_per_tree"])
    trees = [
        TreePredictor(nodes, binned, raw)
        for nodes, binned, raw in zip(
            np.split(packed["nodes"], node_ends[:-1]),
            np.split(packed["binned_left_cat_bitsets"], bitset_ends[:-1]),
            np.split(packed["raw_left_cat_bitsets"], bitset_ends[:-1]),
        )
    ]
    starts = np.concatenate([[0], np.cumsum(packed["trees_per_iteration"])])
    return [trees[start:end] for start, end in zip(starts[:-1], starts[1:])]
