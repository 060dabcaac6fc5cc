"""The perceptron and the perceptron trick (notes §1, the neuron)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data import check_Xy
from ..errors import DataError, ShapeError
from ..validate import check_number
from ..nn import Module, Parameter
from ..random import get_rng
from ..tensor import Tensor
from .heads import get_head


class Perceptron(Module):
    """score = w·x + b; predict 1 if score ≥ 0 else 0 (the step function).

    Trained by the perceptron trick, not by gradients: for every misclassified point move the
    line towards it, w ← w ± αx, b ← b ± α.

    Args:
        n_features: the number of inputs.
        rng: seed or generator for the random starting line.

    >>> p = Perceptron(2)
    >>> p.weight.data[:] = [2.0, 1.0]; p.bias.data[:] = -18.0   # 2·test + grades − 18 = 0
    >>> p.predict(np.array([[9.0, 8.0], [3.0, 4.0]])).tolist()   # accept, reject
    [1, 0]
    """

    def __init__(self, n_features: int, rng: Any = None) -> None:
        super().__init__()
        self.n_features = check_number(n_features, "n_features", "Perceptron", low=1, integer=True)
        g = get_rng(rng)
        self.weight = Parameter(g.uniform(-1, 1, self.n_features).astype(np.float32))
        self.bias = Parameter(g.uniform(-1, 1, 1).astype(np.float32))
        self.errors_: list[int] = []

    def forward(self, x: Any) -> Any:
        """The score w·x + b (one per row of ``x``)."""
        return x @ self.weight + self.bias

    def decision_function(self, X: Any) -> np.ndarray:
        X = np.asarray(X.data if isinstance(X, Tensor) else X, dtype=np.float32)
        return X @ self.weight.data + self.bias.data

    def predict(self, X: Any) -> np.ndarray:
        """1 where the score is ≥ 0, else 0 (the binary head's rule on the score)."""
        return get_head("binary").predict(self.decision_function(X))

    def score(self, X: Any, y: Any) -> float:
        """Accuracy on (X, y)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    def fit(self, X: Any, y: Any, lr: float = 0.01, epochs: int = 25, shuffle: bool = True,
            rng: Any = None) -> Perceptron:
        """The perceptron algorithm: repeat for ``epochs``: for each point (in a random order),
        if a positive point is predicted 0, w ← w + αx, b ← b + α; if a negative point is
        predicted 1, w ← w − αx, b ← b − α. Stops early when no point is misclassified.

        ``errors_`` records the number of updates made in each epoch.

        Raises:
            DataError: labels other than 0 and 1 (the step function's outputs).
        """
        lr = check_number(lr, "lr", "Perceptron.fit", low=0, low_open=True)
        epochs = check_number(epochs, "epochs", "Perceptron.fit", low=1, integer=True)
        X, y = check_Xy(X, y)
        X = X.astype(np.float32, copy=False)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ShapeError(f"Perceptron.fit: expected X of shape (n, {self.n_features}); "
                             f"got {X.shape}")
        y = y.reshape(-1)
        labels = np.unique(y)
        if not np.isin(labels, (0, 1)).all():
            raise DataError(f"Perceptron.fit: y must hold the labels 0 and 1; got "
                            f"{labels[:5].tolist()}{' ...' if len(labels) > 5 else ''} "
                            "(map -1 to 0, e.g. (y > 0).astype(int))")
        y = y.astype(np.int64)
        g = get_rng(rng)
        w, b = self.weight.data, self.bias.data
        self.errors_ = []
        for _ in range(epochs):
            order = g.permutation(len(X)) if shuffle else np.arange(len(X))
            mistakes = 0
            # NOTE: one point at a time is the algorithm: each update moves the line the next
            # point sees, so this loop is not vectorized on purpose.
            for i in order:
                pred = 1 if X[i] @ w + b[0] >= 0 else 0
                if pred != y[i]:
                    sign = 1.0 if y[i] == 1 else -1.0
                    w += sign * lr * X[i]
                    b += sign * lr
                    mistakes += 1
            self.errors_.append(mistakes)
            if mistakes == 0:
                break
        return self
