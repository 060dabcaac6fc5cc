"""The report metrics of chainrule.metrics, in scikit-learn's order (y_true, y_pred_or_proba),
checked against numbers worked by hand (and against scikit-learn where it is installed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chainrule import ShapeError, Tensor
from chainrule.metrics import classification_metrics, regression_metrics


def test_classification_metrics_by_hand():
    y = np.array([0, 2, 1, 2])
    proba = np.array([[0.7, 0.2, 0.1],     # true 0, predicted 0
                      [0.1, 0.3, 0.6],     # true 2, predicted 2
                      [0.5, 0.4, 0.1],     # true 1, predicted 0
                      [0.2, 0.5, 0.3]])    # true 2, predicted 1
    m = classification_metrics(y, proba, ["cat", "dog", "emu"])
    assert m["n"] == 4 and m["classes"] == ["cat", "dog", "emu"]
    assert m["accuracy"] == 0.5
    # log-loss = −(ln 0.7 + ln 0.6 + ln 0.4 + ln 0.3) / 4
    assert m["log_loss"] == pytest.approx(-(math.log(0.7) + math.log(0.6) + math.log(0.4)
                                            + math.log(0.3)) / 4, rel=1e-12)
    # rows: true class; columns: predicted class
    assert m["confusion_matrix"] == [[1, 0, 0], [1, 0, 0], [0, 1, 1]]


def test_classification_metrics_defaults_and_inputs():
    # classes default to 0..C−1; Tensors are read like arrays; a zero probability is clipped
    m = classification_metrics(Tensor(np.array([1, 0])), Tensor(np.array([[0.0, 1.0], [0.0, 1.0]])))
    assert m["classes"] == [0, 1] and m["accuracy"] == 0.5
    assert m["log_loss"] == pytest.approx(-math.log(1e-12) / 2)
    assert m["confusion_matrix"] == [[0, 1], [0, 1]]
    with pytest.raises(ShapeError, match="3 targets but 2 rows"):
        classification_metrics(np.array([0, 1, 1]), np.eye(2))


def test_regression_metrics_by_hand():
    y = np.array([2.0, 4.0, 6.0, 8.0])
    pred = np.array([3.0, 4.0, 4.0, 9.0])       # errors 1, 0, −2, 1
    m = regression_metrics(y, pred)
    assert m["n"] == 4
    assert m["mse"] == pytest.approx((1 + 0 + 4 + 1) / 4)
    assert m["rmse"] == pytest.approx(math.sqrt(1.5))
    assert m["mae"] == pytest.approx((1 + 0 + 2 + 1) / 4)
    assert m["r2"] == pytest.approx(1 - 1.5 / 5.0)     # var(y) = (9 + 1 + 1 + 9) / 4 = 5
    # the order matters only for R² (it divides by the targets' variance)
    assert regression_metrics(pred, y)["r2"] == pytest.approx(1 - 1.5 / np.var(pred))
    assert math.isnan(regression_metrics(np.ones(3), np.zeros(3))["r2"])   # constant target
    with pytest.raises(ShapeError, match="2 targets but 3 rows"):
        regression_metrics(np.zeros(2), np.zeros(3))


def test_report_metrics_match_scikit_learn():
    skm = pytest.importorskip("sklearn.metrics")
    g = np.random.default_rng(0)
    logits = g.standard_normal((50, 3))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = g.integers(0, 3, 50)
    m = classification_metrics(y, proba)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, proba.argmax(axis=1)))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=[0, 1, 2]))
    assert m["confusion_matrix"] == skm.confusion_matrix(y, proba.argmax(axis=1)).tolist()
    t, p = g.standard_normal(40), g.standard_normal(40)
    r = regression_metrics(t, p)
    assert r["mse"] == pytest.approx(skm.mean_squared_error(t, p))
    assert r["mae"] == pytest.approx(skm.mean_absolute_error(t, p))
    assert r["r2"] == pytest.approx(skm.r2_score(t, p))
