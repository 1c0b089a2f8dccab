"""The booster's trees as flat numpy arrays, walked for all trees at once: the 1-to-8-row path.

Why not xgboost or a library here: ``inplace_predict`` spends 60-100 us per call before it scores a
row (its C++ side parses JSON arguments and re-reads the cgroup CPU quota on every call), and
treelite's GTIL ~45 us in its Python wrapper; walking the arrays takes ~15 us for a row of the
project's model. This reads xgboost's documented JSON model and supports only what the training step
produces (gbtree, ``binary:logistic``, one tree per round, numeric splits); anything else, or any
disagreement with xgboost on probe rows at load time (the server checks), leaves scoring to xgboost.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import xgboost as xgb


class UnsupportedModelError(ValueError):
    """The model uses something this evaluator does not implement; xgboost scores it instead."""


@dataclass(frozen=True)
class TreeArrays:
    """Every node of every tree, numbered globally; a leaf points to itself on both sides."""

    roots: np.ndarray  # (trees,) node index of each root
    feature: np.ndarray  # split feature (0 at leaves)
    threshold: np.ndarray  # float32 split value: x < threshold goes left (+inf at leaves)
    left: np.ndarray
    right: np.ndarray
    default_left: np.ndarray  # where a missing value (NaN) goes
    leaf_value: np.ndarray  # float32 leaf output (0 at inner nodes)
    depth: int  # the deepest root-to-leaf path: steps every walk takes
    base_margin: float

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """P(positive) per row of a float32 (n, features) array, as float32."""
        node = np.broadcast_to(self.roots, (len(rows), len(self.roots)))
        row = np.arange(len(rows))[:, None]
        for _ in range(self.depth):
            value = rows[row, self.feature[node]]
            # NaN < t is False, so the missing case must be decided first (as xgboost does).
            go_left = np.where(
                np.isnan(value), self.default_left[node], value < self.threshold[node]
            )
            node = np.where(go_left, self.left[node], self.right[node])
        margin = self.base_margin + self.leaf_value[node].sum(axis=1, dtype=np.float64)
        return (1.0 / (1.0 + np.exp(-margin))).astype(np.float32)


def from_booster(booster: xgb.Booster, stop: int = 0) -> TreeArrays:
    """The arrays of trees ``0..stop`` (0 = all); raises UnsupportedModelError for anything else."""
    learner = json.loads(booster.save_raw("json"))["learner"]
    objective = learner["objective"]["name"]
    gbm = learner["gradient_booster"]
    if objective != "binary:logistic" or gbm["name"] != "gbtree":
        raise UnsupportedModelError(f"objective {objective} with booster {gbm['name']}")
    model = gbm["model"]
    if model["gbtree_model_param"]["num_parallel_tree"] != "1" or any(model["tree_info"]):
        raise UnsupportedModelError("more than one tree per round or output group")
    trees = model["trees"][: stop or None]
    arrays: dict[str, list] = {k: [] for k in ("feature", "threshold", "left", "right", "default")}
    leaf_value: list[float] = []
    roots, depth, offset = [], 0, 0
    for tree in trees:
        if any(tree["split_type"]) or tree["categories"]:
            raise UnsupportedModelError("categorical splits")
        left, right = tree["left_children"], tree["right_children"]
        roots.append(offset)
        for i, (lo, hi) in enumerate(zip(left, right, strict=True)):
            leaf = lo == -1
            arrays["feature"].append(0 if leaf else tree["split_indices"][i])
            arrays["threshold"].append(math.inf if leaf else tree["split_conditions"][i])
            arrays["left"].append(offset + (i if leaf else lo))
            arrays["right"].append(offset + (i if leaf else hi))
            arrays["default"].append(bool(tree["default_left"][i]))
            leaf_value.append(tree["split_conditions"][i] if leaf else 0.0)
        depth = max(depth, _depth(left, right))
        offset += len(left)
    base_score = float(learner["learner_model_param"]["base_score"].strip("[]"))
    if not 0.0 < base_score < 1.0:
        raise UnsupportedModelError(f"base_score {base_score}")
    return TreeArrays(
        roots=np.array(roots, dtype=np.intp),
        feature=np.array(arrays["feature"], dtype=np.intp),
        threshold=np.array(arrays["threshold"], dtype=np.float32),
        left=np.array(arrays["left"], dtype=np.intp),
        right=np.array(arrays["right"], dtype=np.intp),
        default_left=np.array(arrays["default"], dtype=bool),
        leaf_value=np.array(leaf_value, dtype=np.float32),
        depth=depth,
        base_margin=math.log(base_score / (1.0 - base_score)),
    )


def _depth(left: list[int], right: list[int]) -> int:
    deepest, stack = 0, [(0, 0)]
    while stack:
        node, level = stack.pop()
        if left[node] == -1:
            deepest = max(deepest, level)
        else:
            stack += [(left[node], level + 1), (right[node], level + 1)]
    return deepest
