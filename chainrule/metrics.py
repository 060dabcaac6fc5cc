"""Metrics on predictions and targets (NumPy arrays or Tensors in, Python numbers out).

Every metric takes its arguments in scikit-learn's order, ``(y_true, y_pred)`` (or
``(y_true, y_prob)``); a table of scores where labels belong raises instead of transposing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .backend import to_host
from .errors import DataError, ShapeError
from .tensor import Tensor

__all__ = ["predicted_classes", "accuracy", "log_likelihood", "mean_squared_error",
           "mean_absolute_error", "confusion_matrix", "classification_metrics", "regression_metrics",
           "precision_score", "recall_score", "f1_score", "roc_auc_score", "binary_metrics"]


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


def _labels(name: str, y: Any, what: str = "y_true") -> np.ndarray:
    """``y`` as a 1-D vector of labels (a column vector is flattened); a 2-D score table is
    refused, so arguments given in the wrong order fail instead of transposing."""
    a = _np(y)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a.reshape(-1)
    if a.ndim != 1:
        raise ShapeError(f"{name}: {what} must be a vector of labels; got shape {a.shape} "
                         "(metrics take (y_true, y_pred) in scikit-learn's order)")
    return a


def accuracy(y_true: Any, y_pred: Any, threshold: float | None = None) -> float:
    """Fraction of points whose predicted class equals the true one (scikit-learn's order).

    ``y_pred`` may be labels (a vector, compared as they are), a (rows, C) table of scores or
    probabilities (each row's argmax is its class), or, with ``threshold``, one score per row
    (class 1 where ``y_pred ≥ threshold``: 0 for logits, 0.5 for probabilities).

    Raises:
        ShapeError: a different number of labels and predictions, or ``y_true`` not a vector.
        DataError: a vector ``y_pred`` of non-whole numbers without ``threshold`` (scores
            read as labels would match nothing).

    >>> accuracy(np.array([0, 0]), np.array([[2.0, 1.0], [0.0, 3.0]]))
    0.5
    >>> accuracy(np.array([0, 1, 2]), np.array([0, 1, 2]))
    1.0
    >>> accuracy(np.array([1, 0]), np.array([0.8, 0.3]), threshold=0.5)
    1.0
    """
    y = _labels("accuracy", y_true)
    out = _np(y_pred)
    if out.ndim == 2 and out.shape[1] > 1:
        pred = out.argmax(axis=1)
    elif threshold is not None:
        pred = predicted_classes(out, threshold)
    else:
        pred = _labels("accuracy", out, "y_pred")
        if pred.dtype.kind == "f" and not np.all(np.isfinite(pred) & (pred == np.round(pred))):
            raise DataError("accuracy: y_pred holds non-whole numbers, so they are scores, not "
                            "labels; pass threshold=0.0 for logits or 0.5 for probabilities")
    if y.shape[0] != pred.shape[0]:
        raise ShapeError(f"accuracy: {y.shape[0]} labels but {pred.shape[0]} predictions")
    return float(np.mean(pred == y)) if y.size else float("nan")


def log_likelihood(y_true: Any, y_prob: Any, eps: float = 1e-12) -> float:
    """LL = Σ y log ŷ + (1 − y) log(1 − ŷ) (notes §3, objectives), ŷ the probability of class 1.

    Raises:
        DataError: labels other than 0 and 1, or probabilities outside [0, 1] (arguments in
            the wrong order among them).
        ShapeError: a different number of labels and probabilities.

    >>> round(log_likelihood(np.array([0, 1]), np.array([0.9, 0.6])), 4)   # ln(0.1·0.6)
    -2.8134
    """
    y = _labels("log_likelihood", y_true)
    p = _np(y_prob).reshape(-1).astype(np.float64)
    if not np.isin(y, (0, 1)).all():
        raise DataError(f"log_likelihood: y_true must hold labels 0 and 1; got values "
                        f"{np.unique(y)[:5].tolist()} (the order is (y_true, y_prob))")
    if not ((p >= 0) & (p <= 1)).all():
        raise DataError("log_likelihood: y_prob must be probabilities in [0, 1]; got values "
                        f"from {p.min()} to {p.max()}")
    _same_rows("log_likelihood", y, p)
    p = np.clip(p, eps, 1 - eps)
    return float(np.sum(y * np.log(p) + (1 - y) * np.log1p(-p)))


def _residuals(where: str, y_true: Any, y_pred: Any) -> np.ndarray:
    """ŷ − y as a flat float64 vector, the two of equal size."""
    y, p = _np(y_true).astype(np.float64), _np(y_pred).astype(np.float64)
    if p.size != y.size:
        raise ShapeError(f"{where}: target shape {y.shape}, prediction shape {p.shape}")
    return p.reshape(-1) - y.reshape(-1)


def mean_squared_error(y_true: Any, y_pred: Any) -> float:
    """mean (ŷ − y)².

    >>> mean_squared_error([1.0, 2.0], [1.0, 4.0])
    2.0
    """
    return float(np.mean(_residuals("mean_squared_error", y_true, y_pred) ** 2))


def mean_absolute_error(y_true: Any, y_pred: Any) -> float:
    """mean |ŷ − y|.

    >>> mean_absolute_error([1.0, 2.0], [1.0, 4.0])
    1.0
    """
    return float(np.mean(np.abs(_residuals("mean_absolute_error", y_true, y_pred))))


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """Counts C[i, j] of points of true class i predicted as j (scikit-learn's order and
    layout).

    >>> confusion_matrix(np.array([0, 1, 0]), np.array([0, 1, 1])).tolist()
    [[1, 1], [0, 1]]
    """
    y = _labels("confusion_matrix", y_true).astype(np.int64)
    p = _labels("confusion_matrix", y_pred, "y_pred").astype(np.int64)
    _same_rows("confusion_matrix", y, p)
    n = num_classes or int(max(p.max(initial=-1), y.max(initial=-1)) + 1)
    if y.size and (min(y.min(), p.min()) < 0 or max(y.max(), p.max()) >= n):
        raise DataError(f"confusion_matrix: labels must be 0..{n - 1}; got values from "
                        f"{min(y.min(), p.min())} to {max(y.max(), p.max())}")
    return np.bincount(y * n + p, minlength=n * n).reshape(n, n)


def _same_rows(name: str, y: np.ndarray, other: np.ndarray) -> None:
    if len(y) != len(other):
        raise ShapeError(f"{name}: {len(y)} targets but {len(other)} rows of predictions")


def classification_metrics(y_true: Any, proba: Any,
                           classes: Sequence[Any] | None = None) -> dict[str, Any]:
    """Accuracy, mean log-loss and the confusion matrix of class probabilities.

    The log-loss is −(1/n) Σ ln p(true class) (notes §3, objectives), with p clipped to [1e-12, 1];
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
            "confusion_matrix": confusion_matrix(y, pred, len(classes)).tolist()}


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


# --- binary classification scores (scikit-learn's names and argument order) -----------------

def _binary_counts(y_true: Any, y_pred: Any, where: str) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of 0/1 labels."""
    y = _np(y_true).reshape(-1).astype(np.int64)
    p = _np(y_pred).reshape(-1).astype(np.int64)
    _same_rows(where, y, p)
    return (int(np.sum((p == 1) & (y == 1))), int(np.sum((p == 1) & (y == 0))),
            int(np.sum((p == 0) & (y == 1))))


def precision_score(y_true: Any, y_pred: Any) -> float:
    """TP / (TP + FP) of 0/1 labels (class 1 is positive); 0 when nothing is predicted
    positive (scikit-learn's ``zero_division`` default, without its warning).

    >>> precision_score(np.array([1, 0, 1, 1]), np.array([1, 1, 0, 1]))   # 2 / (2 + 1)
    0.6666666666666666
    """
    tp, fp, _ = _binary_counts(y_true, y_pred, "precision_score")
    return tp / (tp + fp) if tp + fp else 0.0


def recall_score(y_true: Any, y_pred: Any) -> float:
    """TP / (TP + FN) of 0/1 labels; 0 when there is no positive row.

    >>> recall_score(np.array([1, 0, 1, 1]), np.array([1, 1, 0, 1]))      # 2 / (2 + 1)
    0.6666666666666666
    """
    tp, _, fn = _binary_counts(y_true, y_pred, "recall_score")
    return tp / (tp + fn) if tp + fn else 0.0


def f1_score(y_true: Any, y_pred: Any) -> float:
    """F1 = 2 TP / (2 TP + FP + FN), the harmonic mean of precision and recall; 0 when
    undefined.

    >>> f1_score(np.array([1, 0, 1, 1]), np.array([1, 1, 0, 1]))          # 4 / (4 + 1 + 1)
    0.6666666666666666
    """
    tp, fp, fn = _binary_counts(y_true, y_pred, "f1_score")
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def roc_auc_score(y_true: Any, y_score: Any) -> float:
    """The area under the ROC curve of scores for 0/1 labels: the probability that a random
    positive row scores above a random negative one, ties counting ½ (Mann–Whitney U over
    n₊·n₋, with average ranks). nan when only one class is present (scikit-learn raises).

    >>> roc_auc_score(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))   # 3 of 4 pairs
    0.75
    """
    y = _np(y_true).reshape(-1).astype(np.int64)
    s = _np(y_score).reshape(-1).astype(np.float64)
    _same_rows("roc_auc_score", y, s)
    n_pos = int(np.sum(y == 1))
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    uniq, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts            # 0-based rank of each distinct score's first
    avg_rank = first + (counts + 1) / 2.0         # 1-based average rank over the ties
    ranks = avg_rank[inverse.reshape(-1)]
    u = float(np.sum(ranks[y == 1])) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def binary_metrics(y_true: Any, y_score: Any, threshold: float = 0.5) -> dict[str, float]:
    """Precision, recall, F1 (class 1 where ``y_score ≥ threshold``) and ROC-AUC of a binary
    classifier's probabilities of class 1.

    >>> m = binary_metrics(np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.35, 0.8]))
    >>> m["precision"], m["recall"], m["roc_auc"]
    (0.5, 0.5, 0.75)
    """
    s = _np(y_score).reshape(-1)
    pred = (s >= threshold).astype(np.int64)
    return {"precision": precision_score(y_true, pred), "recall": recall_score(y_true, pred),
            "f1": f1_score(y_true, pred), "roc_auc": roc_auc_score(y_true, s)}
