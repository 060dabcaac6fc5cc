"""Checking, splitting and standardizing data before training.

NumPy only; the semantics follow scikit-learn's ``train_test_split`` and ``StandardScaler``
(the statistics are fitted on the training data only, so nothing about the held-out data
leaks into the model).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import random as _random
from ..errors import ConfigError, DataError, ShapeError, StateError
from .dataset import _as_array

_SHOW = 5  # how many offending columns or positions an error message lists


def _where_not_finite(a: np.ndarray, name: str) -> str | None:
    """A sentence saying where ``a`` holds NaN or Inf, or None when it holds neither."""
    if a.dtype.kind not in "fc":
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(a.sum()):  # NOTE: one reduction is the fast path; NaN and Inf survive it
            return None
    bad = ~np.isfinite(a)
    count = int(bad.sum())
    if count == 0:
        return None  # the sum overflowed, but every value is finite
    n_nan = int(np.isnan(a).sum())
    what = f"{n_nan} NaN and {count - n_nan} Inf"
    if a.ndim == 1:
        rows = np.flatnonzero(bad)
        return f"{name} has {what} values, at rows {rows[:_SHOW].tolist()}" + \
            (" ..." if rows.size > _SHOW else "")
    flat = bad.reshape(len(a), -1)
    cols = np.flatnonzero(flat.any(axis=0))
    rows = np.flatnonzero(flat.any(axis=1))
    col_word = "columns" if a.ndim == 2 else "features (flattened)"
    return (f"{name} has {what} values in {cols.size} of its {flat.shape[1]} {col_word} "
            f"{cols[:_SHOW].tolist()}{' ...' if cols.size > _SHOW else ''}, "
            f"in {rows.size} rows (first row {int(rows[0])})")


def check_Xy(X: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Check inputs and targets before training; return them as arrays.

    Args:
        X: inputs, one row (or leading-axis entry) per sample; array, Tensor or sequence.
        y: targets, one per sample, or None to check ``X`` alone.

    Returns:
        ``(X, y)`` as NumPy arrays (``y`` stays None when not given); no copies are made of
        arrays that are already NumPy arrays.

    Raises:
        DataError: a scalar or empty ``X``, non-numeric data, ``X`` and ``y`` of different
            lengths, or NaN/Inf values (the message says how many and in which columns).

    >>> X, y = check_Xy([[0.0, 1.0], [2.0, 3.0]], [0, 1])
    >>> X.shape, y.shape
    ((2, 2), (2,))
    """
    X = _as_array(X)
    y = None if y is None else _as_array(y)
    for name, a in (("X", X), ("y", y)):
        if a is None:
            continue
        if a.ndim == 0:
            raise DataError(f"{name} is a scalar; expected an array with one entry per sample")
        if a.dtype.kind not in "biufc":
            raise DataError(f"{name} has non-numeric dtype {a.dtype}; expected numbers")
    if len(X) == 0:
        raise DataError(f"the data set is empty: X has shape {X.shape}")
    if y is not None and len(X) != len(y):
        raise DataError(f"X and y have different lengths: X has {len(X)} samples, y has "
                        f"{len(y)}")
    for name, a in (("X", X), ("y", y)):
        message = None if a is None else _where_not_finite(a, name)
        if message:
            raise DataError(message)
    return X, y


def _n_test(n: int, test_size: float | int) -> int:
    if isinstance(test_size, (bool, np.bool_)):
        raise ConfigError(f"test_size must be a fraction in (0, 1) or a count; got {test_size!r}")
    if isinstance(test_size, (int, np.integer)):
        n_test = int(test_size)
    elif 0.0 < test_size < 1.0:
        n_test = int(np.ceil(test_size * n))  # scikit-learn rounds the test share up
    else:
        raise ConfigError(f"test_size must be a fraction in (0, 1) or a count; got {test_size!r}")
    if not 0 < n_test < n:
        raise ConfigError(f"test_size={test_size!r} leaves {n_test} test and {n - n_test} "
                          f"training samples out of {n}; both must be at least 1")
    return n_test


def train_test_split(X: Any, y: Any, test_size: float | int = 0.25,
                     rng: np.random.Generator | int | None = None,
                     stratify: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``X`` and ``y`` at random into training and test parts.

    Args:
        X: inputs, one entry per sample.
        y: targets, one per sample.
        test_size: fraction of the samples for the test part (rounded up), or a count.
        rng: generator, seed, or None for the global generator.
        stratify: class labels (usually ``y``) whose proportions both parts keep, up to
            rounding; None for a plain random split.

    Returns:
        ``(X_train, X_test, y_train, y_test)``, scikit-learn's order.

    Raises:
        DataError: lengths differ, or ``stratify`` has the wrong length.
        ConfigError: a ``test_size`` that leaves either part empty.

    >>> X = np.arange(20, dtype=np.float32).reshape(10, 2); y = np.arange(10) % 2
    >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, rng=0, stratify=y)
    >>> X_tr.shape, X_te.shape, sorted(y_te.tolist())
    ((8, 2), (2, 2), [0, 1])
    """
    X, y = _as_array(X), _as_array(y)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise DataError(f"X and y have different lengths: X has shape {X.shape}, y has shape "
                        f"{y.shape}")
    n = len(X)
    n_test = _n_test(n, test_size)
    gen = _random.get_rng(rng)
    if stratify is None:
        perm = gen.permutation(n)
        test, train = perm[:n_test], perm[n_test:]
    else:
        test, train = _stratified(_as_array(stratify), n, n_test, gen)
    return X[train], X[test], y[train], y[test]


def _stratified(labels: np.ndarray, n: int, n_test: int,
                gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Test and training indices with each class's share of ``n_test`` (largest remainders)."""
    if len(labels) != n:
        raise DataError(f"stratify has {len(labels)} labels for {n} samples")
    classes, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    exact = counts * (n_test / n)
    share = np.floor(exact).astype(np.int64)
    # Hand the rounding remainder to the classes that lost the most to the floor.
    share[np.argsort(-(exact - share), kind="stable")[: n_test - share.sum()]] += 1
    test_parts, train_parts = [], []
    for k in range(len(classes)):
        members = gen.permutation(np.flatnonzero(codes == k))
        test_parts.append(members[: share[k]])
        train_parts.append(members[share[k]:])
    return gen.permutation(np.concatenate(test_parts)), gen.permutation(np.concatenate(train_parts))


class Standardizer:
    """Shift and scale each feature to mean 0 and standard deviation 1.

    Fit on the training data only; apply the same transform to validation and test data.
    A feature that is constant on the training data keeps scale 1 (it is only centred), so
    transforming never divides by zero.

    Attributes:
        mean_: per-feature mean of the training data (float64).
        scale_: per-feature standard deviation, 1 for constant features (float64).

    >>> s = Standardizer().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s.transform(np.array([[3.0, 5.0]])).tolist()
    [[1.0, 0.0]]
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: Any) -> Standardizer:
        """Learn the per-feature mean and standard deviation of ``X`` (checked by check_Xy).

        Returns:
            self.
        """
        X, _ = check_Xy(X)
        if X.ndim < 2:
            raise ShapeError(f"Standardizer.fit: X has shape {X.shape}; expected (samples, "
                             "features)")
        X64 = X.astype(np.float64, copy=False)
        mean = X64.mean(axis=0)
        var = X64.var(axis=0)
        # NOTE: a constant feature's computed variance is rounding noise, not zero; this is
        # scikit-learn's bound on that noise (StandardScaler's _is_constant_feature).
        eps = np.finfo(np.float64).eps
        n = len(X64)
        constant = var <= n * eps * var + (n * mean * eps) ** 2
        self.mean_ = mean
        self.scale_ = np.where(constant, 1.0, np.sqrt(var))
        return self

    def _check(self, X: Any, where: str) -> np.ndarray:
        if self.mean_ is None or self.scale_ is None:
            raise StateError(f"Standardizer.{where}: not fitted yet; call fit(X_train) first")
        X = _as_array(X)
        if X.shape[1:] != self.mean_.shape:
            raise ShapeError(f"Standardizer.{where}: X has shape {X.shape}; expected (n, "
                             f"{', '.join(map(str, self.mean_.shape))}) like the data it was "
                             "fitted on")
        return X

    def transform(self, X: Any) -> np.ndarray:
        """``(X - mean_) / scale_``, in X's float dtype (float32 for integer input)."""
        X = self._check(X, "transform")
        dtype = X.dtype if X.dtype.kind == "f" else np.float32
        return ((X - self.mean_) / self.scale_).astype(dtype, copy=False)

    def fit_transform(self, X: Any) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same data."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """``Z * scale_ + mean_``: undo :meth:`transform`."""
        Z = self._check(Z, "inverse_transform")
        dtype = Z.dtype if Z.dtype.kind == "f" else np.float32
        return (Z * self.scale_ + self.mean_).astype(dtype, copy=False)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted statistics as a flat name -> array map (for safetensors files)."""
        if self.mean_ is None or self.scale_ is None:
            raise StateError("Standardizer.state_dict: not fitted yet; call fit(X_train) first")
        return {"mean": self.mean_.copy(), "scale": self.scale_.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the statistics saved by :meth:`state_dict`."""
        missing = {"mean", "scale"} - set(state)
        if missing:
            raise StateError(f"Standardizer.load_state_dict: missing keys {sorted(missing)}")
        mean, scale = (np.asarray(state[k], dtype=np.float64) for k in ("mean", "scale"))
        if mean.shape != scale.shape:
            raise StateError(f"Standardizer.load_state_dict: mean has shape {mean.shape} but "
                             f"scale has shape {scale.shape}")
        self.mean_, self.scale_ = mean, scale
