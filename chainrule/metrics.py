"""Metrics on predictions and targets (NumPy arrays or Tensors in, Python numbers out)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import get_backend
from .errors import ShapeError


def _np(a: Any) -> np.ndarray:
    """``a`` (an array, a Tensor, a CuPy array or a sequence) as a NumPy array on the host."""
    if isinstance(a, np.ndarray):
        return np.asarray(a)
    if hasattr(a, "data") and not hasattr(a, "__cuda_array_interface__"):
        a = a.data  # a Tensor (a CuPy array's .data is its device pointer, not its values)
    return get_backend(a).asnumpy(a) if hasattr(a, "__cuda_array_interface__") else np.asarray(a)


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
