"""The numpy metrics against scikit-learn's (sklearn is a dev dependency only, not in the image)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from model_container.metrics import confusion, curves, roc_auc, threshold_metrics

cases = st.integers(2, 80).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(
            lambda labels: 0 < sum(labels) < len(labels)
        ),
        # Few distinct scores, so ties (the tricky part of both curves) are common.
        st.lists(st.integers(0, 10).map(lambda k: k / 10), min_size=n, max_size=n),
    )
)


@settings(max_examples=100, deadline=None)
@given(cases)
def test_curves_and_auc_match_sklearn(case: tuple[list[int], list[float]]) -> None:
    labels, scores = np.array(case[0], dtype=float), np.array(case[1])
    ours = curves(labels, scores)
    fpr, tpr, _ = sk.roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(ours.false_positive_rates, fpr)
    np.testing.assert_allclose(ours.true_positive_rates, tpr)
    precision, recall, _ = sk.precision_recall_curve(labels, scores)
    # sklearn lists them by rising threshold.
    np.testing.assert_allclose(ours.precisions, precision[::-1])
    np.testing.assert_allclose(ours.recalls, recall[::-1])
    assert roc_auc(labels, scores) == pytest.approx(sk.roc_auc_score(labels, scores))


@settings(max_examples=100, deadline=None)
@given(cases, st.sampled_from([0.0, 0.3, 0.5, 0.95, 1.01]))
def test_threshold_metrics_match_sklearn(
    case: tuple[list[int], list[float]], threshold: float
) -> None:
    labels, scores = np.array(case[0], dtype=float), np.array(case[1])
    predicted = (scores >= threshold).astype(float)
    ours = threshold_metrics(labels, scores, threshold)
    assert ours["accuracy"] == pytest.approx(sk.accuracy_score(labels, predicted))
    assert ours["precision"] == pytest.approx(
        sk.precision_score(labels, predicted, zero_division=0)
    )
    assert ours["recall"] == pytest.approx(sk.recall_score(labels, predicted, zero_division=0))
    assert ours["f1"] == pytest.approx(sk.f1_score(labels, predicted, zero_division=0))
    tn, fp, fn, tp = sk.confusion_matrix(labels, predicted, labels=[0, 1]).ravel().tolist()
    assert confusion(labels, predicted) == {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
    assert ours["true_negative_rate"] == pytest.approx(tn / (tn + fp))
    assert ours["false_negative_rate"] == pytest.approx(fn / (fn + tp))


def test_curves_need_both_classes() -> None:
    with pytest.raises(ValueError, match="need both classes"):
        curves(np.ones(3), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        curves(np.array([0.0, 2.0]), np.array([0.1, 0.2]))
