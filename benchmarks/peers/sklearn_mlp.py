"""scikit-learn's MLPClassifier with ``solver="adam"``, one epoch per ``partial_fit`` call.

The same batches as everyone else without copying the data set: sklearn shuffles sample
indices with ``check_random_state(random_state)`` at each ``partial_fit`` call, and
:func:`benchmarks.data.epoch_order` draws exactly that permutation, so we set
``random_state`` to the epoch's seed before each call (checked once at construction).
L2 penalty off (``alpha=0``) to match the other frameworks. Its Adam adds epsilon to
sqrt(v) rather than sqrt(v̂): a difference of eps·(1-sqrt(1-b2^t)), far below float32 noise
of the updates.
"""

from __future__ import annotations

import warnings

import numpy as np
import sklearn
from sklearn.neural_network import MLPClassifier
from sklearn.utils import shuffle

from ..data import ORDER_SEED, epoch_order

NAME = "sklearn"
VERSION = sklearn.__version__


class SklearnMLP:
    """MLPClassifier(relu, adam) started from the shared initial weights.

    Args:
        params: initial ``(W, b)`` per layer, ``W`` of shape (out, in); copied (sklearn
            stores ``W.T``).
        lr: Adam learning rate (``learning_rate_init``).
        betas: Adam's ``beta_1``, ``beta_2``.
        eps: Adam's ``epsilon``.
        batch_size: sklearn fixes the batch size at construction.
    """

    def __init__(self, params: list[tuple[np.ndarray, np.ndarray]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 batch_size: int = 32) -> None:
        probe = np.arange(97)
        if not np.array_equal(shuffle(probe, random_state=ORDER_SEED + 3), epoch_order(97, 3)):
            raise RuntimeError("sklearn's shuffle no longer matches benchmarks.data.epoch_order; "
                               "the batch order would differ from the other frameworks")
        n_classes = params[-1][0].shape[0]
        self.clf = MLPClassifier(
            hidden_layer_sizes=tuple(W.shape[0] for W, _ in params[:-1]), activation="relu",
            solver="adam", alpha=0.0, batch_size=batch_size, learning_rate_init=lr,
            beta_1=betas[0], beta_2=betas[1], epsilon=eps, shuffle=True, max_iter=1, tol=0.0,
            random_state=0)
        # NOTE: partial_fit on a few rows builds the network; then the shared weights replace
        # sklearn's own initialization and its Adam state is dropped so the next call starts
        # a fresh optimizer over the new arrays (sklearn makes one when `_optimizer` is absent).
        n_in = params[0][0].shape[1]
        X0 = np.zeros((n_classes, n_in), np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.clf.partial_fit(X0, np.arange(n_classes), classes=np.arange(n_classes))
        self.clf.coefs_ = [np.ascontiguousarray(W.T) for W, _ in params]
        self.clf.intercepts_ = [b.copy() for _, b in params]
        if hasattr(self.clf, "_optimizer"):
            del self.clf._optimizer
        self.clf.t_ = 0

    def train_epoch(self, X: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int,
                    epoch: int) -> None:
        """One ``partial_fit`` over ``(X, y)``; sklearn draws ``order`` itself from the seed."""
        self.clf.random_state = ORDER_SEED + epoch
        self.clf.partial_fit(X, y)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of ``X``'s rows predicted right."""
        return float((self.clf.predict(X) == y).mean())


Trainer = SklearnMLP
