"""Metrics on predictions and targets (NumPy arrays or Tensors in, Python numbers out).

The report metrics (:func:`classification_metrics`, :func:`regression_metrics`) take their
arguments in scikit-learn's order, ``(y_true, y_pred_or_proba)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .backend import to_host
from .errors import ShapeError
from .tensor import Tensor

__all__ = ["predicted_classes", "accuracy", "log_likelihood", "mean_squared_error",
           "confusion_matrix", "classification_metrics", "regression_metrics"]


def _np(a: Any) -> np.ndarray:
    """``a`` (an array, a Tensor, a CuPy array or a sequence) as a NumPy array on the host."""
    return to_host(a.data if isinstance(a, Tensor) else a)


def predicted_classes(output: Any, threshold: float = 0.0) -> np.ndarray:
    """Class numbers from model outputs: argmax of a score row, or ``output ≥ threshold`` for
    one column (threshold 0 for logits, 0.5 for probabilities)."""
    out = _np(output)
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(axis=1)
    return (out.reshape(-1) >= threshold).astype(np.int64)


def accuracy(output: Any, target: Any, threshold: float = 0.0) -> float:
    """Fraction of points whose predicted class equals the target.

    >>> accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
    0.5
    """
    pred = predicted_classes(output, threshold)
    y = _np(target).reshape(-1)
    if y.shape[0] != pred.shape[0]:
        raise ShapeError(f"accuracy: {pred.shape[0]} predictions for {y.shape[0]} targets")
    return float(np.mean(pred == y)) if y.size else float("nan")


def log_likelihood(prob: Any, target: Any, eps: float = 1e-12) -> float:
    """LL = Σ y log ŷ + (1 − y) log(1 − ŷ) (NOTES.md 3), ŷ the probability of class 1.

    >>> round(log_likelihood(np.array([0.9, 0.6]), np.array([0, 1])), 4)   # ln(0.1·0.6)
    -2.8134
    """
    p = np.clip(_np(prob).reshape(-1).astype(np.float64), eps, 1 - eps)
    y = _np(target).reshape(-1)
    return float(np.sum(y * np.log(p) + (1 - y) * np.log1p(-p)))


def mean_squared_error(pred: Any, target: Any) -> float:
    """mean (ŷ − y)²."""
    p, y = _np(pred).astype(np.float64), _np(target).astype(np.float64)
    if p.size != y.size:
        raise ShapeError(f"mean_squared_error: prediction shape {p.shape}, target shape {y.shape}")
    return float(np.mean((p.reshape(-1) - y.reshape(-1)) ** 2))


def confusion_matrix(pred: Any, target: Any, num_classes: int | None = None) -> np.ndarray:
    """Counts C[i, j] of points of true class i predicted as j.

    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0])).tolist()
    [[1, 1], [0, 1]]
    """
    p, y = _np(pred).reshape(-1).astype(np.int64), _np(target).reshape(-1).astype(np.int64)
    n = num_classes or int(max(p.max(initial=-1), y.max(initial=-1)) + 1)
    return np.bincount(y * n + p, minlength=n * n).reshape(n, n)


def _same_rows(name: str, y: np.ndarray, other: np.ndarray) -> None:
    if len(y) != len(other):
        raise ShapeError(f"{name}: {len(y)} targets but {len(other)} rows of predictions")


def classification_metrics(y_true: Any, proba: Any,
                           classes: Sequence[Any] | None = None) -> dict[str, Any]:
    """Accuracy, mean log-loss and the confusion matrix of class probabilities.

    The log-loss is −(1/n) Σ ln p(true class) (NOTES.md 3), with p clipped to [1e-12, 1];
    the predicted class is each row's most probable one.

    Args:
        y_true: each row's class index, 0..C−1.
        proba: (rows, C) class probabilities.
        classes: the C class labels, for the report (default 0..C−1).

    Returns:
        ``{"n", "accuracy", "log_loss", "classes", "confusion_matrix"}``; the matrix is a
        list of rows, true class by predicted class.

    Raises:
        ShapeError: a different number of targets and probability rows.

    >>> m = classification_metrics(np.array([0, 0]), np.array([[0.9, 0.1], [0.4, 0.6]]))
    >>> m["accuracy"], round(m["log_loss"], 4), m["confusion_matrix"]   # −(ln 0.9 + ln 0.4)/2
    (0.5, 0.5108, [[1, 1], [0, 0]])
    """
    y = _np(y_true).reshape(-1).astype(np.int64)
    p = _np(proba)
    p = p.reshape(len(p), -1)
    _same_rows("classification_metrics", y, p)
    classes = list(range(p.shape[1])) if classes is None else list(classes)
    pred = p.argmax(axis=1)
    p_true = np.clip(p[np.arange(len(y)), y], 1e-12, 1.0)
    return {"n": int(len(y)), "accuracy": float(np.mean(pred == y)),
            "log_loss": float(-np.mean(np.log(p_true))),
            "classes": classes,
            "confusion_matrix": confusion_matrix(pred, y, len(classes)).tolist()}


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """MSE, RMSE, MAE and R² = 1 − MSE / var(y) in the target's units.

    Args:
        y_true: the targets.
        y_pred: the predictions, one per target.

    Returns:
        ``{"n", "mse", "rmse", "mae", "r2"}`` (R² is nan for a constant target).

    Raises:
        ShapeError: a different number of targets and predictions.

    >>> m = regression_metrics(np.array([1.0, 3.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    >>> round(m["mse"], 4), round(m["mae"], 4), round(m["r2"], 4)   # var(y) = 8/9
    (0.6667, 0.6667, 0.25)
    """
    y = _np(y_true).reshape(-1).astype(np.float64)
    pred = _np(y_pred).reshape(-1).astype(np.float64)
    _same_rows("regression_metrics", y, pred)
    d = pred - y
    mse = float(np.mean(d ** 2))
    var = float(np.var(y))
    return {"n": int(len(y)), "mse": mse, "rmse": float(np.sqrt(mse)),
            "mae": float(np.mean(np.abs(d))), "r2": 1.0 - mse / var if var > 0 else float("nan")}
