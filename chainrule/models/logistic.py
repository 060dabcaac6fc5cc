"""Logistic regression: one sigmoid neuron (notes §1, the neuron) trained by gradient descent on log-loss."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..nn import Linear, Module
from ..optim import SGD
from ..random import get_rng
from ..tensor import Tensor
from ..train import fit, predict
from ..validate import check_number
from .heads import get_head

#: One sigmoid neuron is the binary head: σ(z) = P(Y = 1 | x), class 1 where z ≥ 0.
_HEAD = get_head("binary")


class LogisticRegression(Module):
    """ŷ = σ(θᵀx + θ₀) = P(Y = 1 | x); ``forward`` returns the score θᵀx + θ₀ (a logit).

    Args:
        n_features: the number of inputs.
        rng: seed or generator for the initial weights.

    >>> m = LogisticRegression(2, rng=0)
    >>> m.predict_proba(np.zeros((1, 2))).shape
    (1,)
    """

    def __init__(self, n_features: int, rng: Any = None) -> None:
        super().__init__()
        self.linear = Linear(n_features, 1, rng=get_rng(rng))

    def forward(self, x: Any) -> Any:
        return self.linear(x).reshape(-1)

    @property
    def loss_fn(self) -> Module:
        """The objective: binary cross-entropy from the logit (−LL / n)."""
        return _HEAD.loss()

    def predict_proba(self, X: Any) -> np.ndarray:
        """P(Y = 1 | x) for each row."""
        return _HEAD.outputs(predict(self, X))[:, 0]

    def predict(self, X: Any) -> np.ndarray:
        """1 where P(Y = 1 | x) ≥ ½ (the score is ≥ 0), else 0."""
        return _HEAD.predict(predict(self, X))

    def fit(self, X: Any, y: Any, lr: float = 0.1, epochs: int = 100,
            batch_size: int | None = None, rng: Any = None) -> LogisticRegression:
        """Gradient descent on log-loss, w ← w + η(y − ŷ)x averaged over each batch
        (full batch when ``batch_size`` is None). Returns self; ``history_`` holds the losses."""
        check_number(lr, "lr", "LogisticRegression.fit", low=0, low_open=True, label="learning rate")
        X = np.asarray(X.data if isinstance(X, Tensor) else X, dtype=np.float32)
        y = np.asarray(y.data if isinstance(y, Tensor) else y, dtype=np.float32)
        self.history_ = fit(self, self.loss_fn, SGD(self.parameters(), lr=lr), (X, y),
                            epochs=epochs, batch_size=batch_size or max(len(X), 1), rng=rng,
                            progress=False)
        return self
