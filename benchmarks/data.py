"""What every framework shares: data sets, initial weights and batch orders.

Everything here is a deterministic function of fixed seeds, so each benchmark process
(one per framework) rebuilds exactly the same arrays without passing files around.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SPLIT_SEED = 0
"""Seed of the 80/20 train/test split of the digits."""
INIT_SEED = 1
"""Seed of the initial weights (one draw, loaded into every framework)."""
ORDER_SEED = 1000
"""Epoch ``e`` is shuffled with ``np.random.RandomState(ORDER_SEED + e)``."""
TEACHER_SEED = 2
"""Seed of the synthetic MNIST-shaped set (inputs and teacher network)."""


@dataclass
class Dataset:
    """A classification set split into train and test parts.

    Attributes:
        X_train: float32 inputs, one row per sample, C-contiguous.
        y_train: int64 class labels.
        X_test: float32 inputs of the held-out part.
        y_test: int64 labels of the held-out part.
        source: where the data came from (for the results file).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str
    info: dict[str, Any] = field(default_factory=dict)

    def subset(self, n_train: int | None) -> Dataset:
        """The first ``n_train`` training rows (views, no copy); the test part is unchanged."""
        if n_train is None or n_train >= len(self.y_train):
            return self
        return Dataset(self.X_train[:n_train], self.y_train[:n_train], self.X_test, self.y_test,
                       self.source, dict(self.info, subset=n_train))


def load_digits() -> Dataset:
    """scikit-learn's 8×8 digits as float32 in [0, 1] (X/16), split 80/20 with a fixed seed.

    Returns:
        1438 training and 359 test samples of 64 features, 10 classes.

    >>> d = load_digits()
    >>> d.X_train.shape, d.X_test.shape, d.X_train.dtype
    ((1438, 64), (359, 64), dtype('float32'))
    """
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    X = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    n_test = len(y) // 5
    test, train = perm[:n_test], perm[n_test:]
    return Dataset(np.ascontiguousarray(X[train]), y[train], np.ascontiguousarray(X[test]), y[test],
                   "sklearn.datasets.load_digits")


def synthetic_mnist(n_train: int = 60000, n_test: int = 10000, seed: int = TEACHER_SEED) -> Dataset:
    """An MNIST-shaped set labelled by a fixed random teacher network.

    Inputs are sparse-ish "pixels" in [0, 1] (about 20% of them lit, as in MNIST); the label
    is the argmax of a random 784-64-10 tanh network, so a 784-256-128-10 student can learn
    it but not instantly.

    Args:
        n_train: training rows.
        n_test: test rows.
        seed: seed of the inputs and of the teacher.

    Returns:
        float32 inputs of 784 features and int64 labels in 0..9.

    >>> d = synthetic_mnist(n_train=100, n_test=20)
    >>> d.X_train.shape, d.y_test.shape, int(d.y_train.max()) <= 9
    ((100, 784), (20,), True)
    """
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    A = rng.standard_normal((784, 64), dtype=np.float32) / np.float32(np.sqrt(784 * 0.2))
    B = rng.standard_normal((64, 10), dtype=np.float32)
    X = np.empty((n, 784), np.float32)
    y = np.empty(n, np.int64)
    # NOTE: in chunks, so that generating the set costs little memory beyond the set itself.
    for lo in range(0, n, 10000):
        x = rng.random((min(10000, n - lo), 784), dtype=np.float32)
        # keep the brightest ~20% of pixels so the inputs look like sparse strokes
        np.multiply(x, x > 0.8, out=x)
        X[lo:lo + len(x)] = x
        x -= np.float32(0.18)  # the pixels' expected value, 0.2 · 0.9
        y[lo:lo + len(x)] = (np.tanh(x @ A) @ B).argmax(axis=1)
    return Dataset(X[:n_train], y[:n_train], X[n_train:], y[n_train:],
                   f"synthetic teacher network (seed {seed})")


def load_mnist_shaped(n_train: int = 60000, n_test: int = 10000) -> Dataset:
    """Real MNIST when ``chainrule.data.load_mnist`` can deliver it offline, else the teacher set.

    The real set is scaled to float32 in [0, 1] and flattened to 784 features. Any failure of
    the real loader (not written yet, no data offline, an unexpected return shape) falls back
    to :func:`synthetic_mnist`; ``Dataset.source`` says which one was used and why.

    Args:
        n_train: training rows (the first ones of the real set; 60,000 is all of it).
        n_test: test rows.

    Returns:
        ``n_train`` training and ``n_test`` test samples of 784 features.
    """
    try:
        from chainrule.data import load_mnist  # type: ignore[attr-defined]

        real = _from_chainrule((load_mnist("train"), load_mnist("test")))
        return Dataset(real.X_train[:n_train], real.y_train[:n_train], real.X_test[:n_test],
                       real.y_test[:n_test], real.source)
    except Exception as exc:  # noqa: BLE001 - any failure means "use the synthetic set"
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
        data = synthetic_mnist(n_train, n_test)
        data.info["real_mnist_unavailable"] = reason
        return data


def _from_chainrule(result: Any) -> Dataset:
    """Accept the shapes a ``load_mnist`` may reasonably return."""

    def as_xy(part: Any) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(part, (tuple, list)) and len(part) == 2:
            X, y = part
        else:  # a Dataset-like object with tensors or arrays
            X, y = part.X, part.y
        X = np.asarray(getattr(X, "data", X))
        y = np.asarray(getattr(y, "data", y)).astype(np.int64)
        X = X.reshape(len(X), -1)
        X = X.astype(np.float32) / np.float32(255.0) if X.dtype == np.uint8 else X.astype(np.float32)
        return np.ascontiguousarray(X), y

    if isinstance(result, (tuple, list)) and len(result) == 4:
        parts = ((result[0], result[1]), (result[2], result[3]))
    elif isinstance(result, (tuple, list)) and len(result) == 2:
        parts = tuple(result)
    elif isinstance(result, dict):
        parts = (result["train"], result["test"])
    else:
        raise TypeError(f"unexpected load_mnist() result {type(result).__name__}")
    (X_train, y_train), (X_test, y_test) = as_xy(parts[0]), as_xy(parts[1])
    if X_train.shape[1] != 784:
        raise ValueError(f"expected 784 features, got {X_train.shape}")
    return Dataset(X_train, y_train, X_test, y_test, "real MNIST (chainrule.data.load_mnist)")


def init_params(sizes: list[int], seed: int = INIT_SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """Initial (weight, bias) per layer: PyTorch's default Linear init, drawn once in NumPy.

    Both are U(-1/sqrt(fan_in), 1/sqrt(fan_in)); weights have shape (out, in).

    Args:
        sizes: layer widths, input first (e.g. ``[64, 128, 64, 10]``).
        seed: seed of the draw.

    Returns:
        float32 ``(W, b)`` pairs, one per layer.

    >>> [(W.shape, b.shape) for W, b in init_params([4, 3, 2])]
    [((3, 4), (3,)), ((2, 3), (2,))]
    """
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        W = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        params.append((W, b))
    return params


def epoch_order(n: int, epoch: int) -> np.ndarray:
    """The shared sample order of epoch ``epoch`` over ``n`` samples.

    ``RandomState(ORDER_SEED + epoch).shuffle(arange(n))``: exactly what scikit-learn's
    MLP draws for one ``partial_fit`` call with ``random_state=ORDER_SEED + epoch``, so its
    batches are the same as everyone else's without copying the data set.

    >>> epoch_order(5, 0).tolist() == epoch_order(5, 0).tolist()
    True
    """
    order = np.arange(n)
    np.random.RandomState(ORDER_SEED + epoch).shuffle(order)
    return order


def batches(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Consecutive batches of ``order``; the last one may be short (as sklearn and PyTorch do)."""
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
