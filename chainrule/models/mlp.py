"""The feedforward network of the notes (§1, the neuron and networks of neurons), built from
the design decisions the notes name: depth and width (``sizes``), activation, objective
(from ``task``), initialization and, for the notes' equations without it, no bias."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..nn import Dropout, Linear, Module, Sequential, get_activation
from ..random import get_rng
from ..train import predict
from ..validate import check_bool, check_choice
from .heads import TASKS, Head, get_head

__all__ = ["MLP", "TASKS"]


class MLP(Module):
    """A stack of dense layers a = f(W·a_prev + b) with the output unit the task calls for.

    - ``task="binary"``: one output unit; ``forward`` gives the logit z, ŷ = σ(z); loss BCE.
    - ``task="multiclass"``: one unit per class; logits, softmax probabilities; cross-entropy.
    - ``task="regression"``: identity outputs; mean squared error.

    The task's :class:`~chainrule.models.heads.Head` (``net.head``) owns the loss, the
    probabilities and the predictions.

    Args:
        sizes: [inputs, hidden..., outputs], e.g. [64, 16, 1] is the notes' one-hidden-layer
            binary network.
        activation: hidden-unit activation ("sigmoid", "tanh", "relu", "leaky_relu",
            "softplus", "elu", "gelu").
        task: "binary", "multiclass" or "regression".
        init: weight initialization name for every layer ("default", "xavier_uniform",
            "kaiming_normal", ...).
        dropout: dropout probability after each hidden activation (0 for none).
        bias: False leaves out every layer's b, a = f(W·a_prev), as in the notes' equations
            written without bias (the notes' bias is an extra input that is always 1).
        rng: seed or generator for the initial weights and dropout.

    Raises:
        ConfigError: fewer than two sizes, an unknown task or activation, or a binary task
            whose output size is not 1.

    >>> net = MLP([2, 3, 1], activation="sigmoid", task="binary", rng=0)
    >>> net.predict_proba(np.zeros((4, 2))).shape
    (4,)
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu", task: str = "multiclass",
                 init: str = "default", dropout: float = 0.0, rng: Any = None,
                 bias: bool = True) -> None:
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2:
            raise ConfigError(f"MLP: sizes needs at least [inputs, outputs]; got {sizes}")
        head = get_head(check_choice(task, "task", "MLP", TASKS))
        if head.vector_output and sizes[-1] != 1:
            raise ConfigError(f"MLP: a {task} task has one output unit; got sizes {sizes}")
        get_activation(activation)  # fail early, listing the valid names
        bias = check_bool(bias, "bias", "MLP")
        g = get_rng(rng)
        self.sizes, self.activation, self.task, self.bias = sizes, activation, task, bias
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(n_in, n_out, bias=bias, rng=g, init=init))
            if i < len(sizes) - 2:
                layers.append(get_activation(activation))
                if dropout:
                    layers.append(Dropout(dropout, rng=g))
        self.layers = Sequential(*layers)

    @property
    def head(self) -> Head:
        """The task head: loss, output unit, probabilities and predictions."""
        return get_head(self.task)

    def forward(self, x: Any) -> Any:
        out = self.layers(x)
        return out.reshape(-1) if self.head.vector_output else out

    @property
    def loss_fn(self) -> Module:
        """The objective matching the output unit."""
        return self.head.loss()

    def predict_proba(self, X: Any) -> np.ndarray:
        """σ(z) for binary tasks (shape (n,), P(class 1)), softmax rows for multiclass."""
        if not self.head.is_classifier:
            raise ConfigError("MLP.predict_proba: a regression network has no probabilities")
        p = self.head.outputs(predict(self, X))
        return p[:, 0] if self.head.vector_output else p

    def predict(self, X: Any) -> np.ndarray:
        """Class numbers (classification) or values (regression)."""
        return self.head.predict(predict(self, X))

    def extra_repr(self) -> str:
        extra = "" if self.bias else ", bias=False"
        return f"sizes={self.sizes}, activation={self.activation!r}, task={self.task!r}{extra}"
