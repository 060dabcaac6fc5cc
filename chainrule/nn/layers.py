"""Layers: Linear (the dense layer a = W·a_prev + b of notes §1, the neuron), Flatten, Unflatten, Dropout
and channel dropout (Identity lives with the activations and is re-exported here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import functional as F
from ..errors import ShapeError
from ..validate import check_number
from ..random import get_rng
from ..tensor import ArrayLike, Tensor, as_dtype  # noqa: F401 - Tensor is used by the doctests
from . import functional as NF
from . import init as I
from .activation import Identity
from .module import Module, Parameter, layer_input


class Linear(Module):
    """y = x·Wᵀ + b, one fused node; ``weight`` has shape (out_features, in_features).

    Default initialization is PyTorch's: Kaiming-uniform with a = √5, which is
    U(−1/√in_features, 1/√in_features), for the weight, and the same interval for the bias.
    ``init`` picks another scheme for the weight by name (see
    :data:`chainrule.nn.init.INITIALIZERS`: "xavier_uniform", "kaiming_normal", "lecun_normal",
    ...) or as a callable ``f(weight, rng=rng)``; with any non-default scheme the bias starts at
    zero (safe: the random weights already make the units different).

    Args:
        in_features: size of each input's last dimension.
        out_features: size of each output's last dimension.
        bias: learn an additive bias b.
        rng: seed or generator for the initial weights (None: the global generator).
        init: "default", another initializer name, or a callable.
        dtype: float32 (default) or float64.

    Raises:
        ConfigError: non-positive sizes or an unknown ``init`` name.
        ShapeError: (when called) an input whose last dimension is not ``in_features``.

    >>> layer = Linear(3, 2, rng=0)
    >>> layer.weight.shape, layer.bias.shape
    ((2, 3), (2,))
    >>> layer(Tensor(np.ones((4, 3), dtype=np.float32))).shape
    (4, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng: Any = None,
                 init: str | Callable[..., Any] = "default", dtype: Any = np.float32) -> None:
        super().__init__()
        self.in_features = check_number(in_features, "in_features", "Linear", low=1, integer=True)
        self.out_features = check_number(out_features, "out_features", "Linear", low=1, integer=True)
        dt = as_dtype(dtype)
        initializer = I.get_initializer(init)
        g = get_rng(rng)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dt))
        initializer(self.weight, rng=g)
        self.bias: Parameter | None = None
        if bias:
            self.bias = Parameter(np.zeros(self.out_features, dtype=dt))
            if initializer is I.default_:
                bound = 1.0 / np.sqrt(self.in_features)
                I.uniform_(self.bias, -bound, bound, rng=g)

    fuses_activation = True  # Sequential may pass the next layer's activation (see forward)

    def forward(self, x: Any, activation: str | None = None) -> Any:
        """x·Wᵀ + b; ``activation`` ("relu", "sigmoid", "tanh") applies f in the same node,
        as :class:`Sequential` does for a Linear followed by that activation layer."""
        w = self.weight
        if not (isinstance(x, ArrayLike) and x.dtype == w.dtype):  # one test on the fast path
            x = layer_input(self._name(), x, w)
        shape = x.shape
        if not shape or shape[-1] != self.in_features:
            raise ShapeError(f"{self._name()} expected input with last dimension "
                             f"{self.in_features}, got shape {tuple(shape)}")
        return F.linear(x, self.weight, self.bias, activation)

    def _name(self) -> str:
        return f"Linear({self.in_features} -> {self.out_features})"

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Flatten(Module):
    """Collapse the dimensions from ``start_dim`` on: (N, 1, 8, 8) → (N, 64).

    >>> Flatten()(Tensor(np.zeros((2, 1, 8, 8)))).shape
    (2, 64)
    """

    def __init__(self, start_dim: int = 1) -> None:
        super().__init__()
        self.start_dim = int(start_dim)

    def forward(self, x: Any) -> Any:
        return x.reshape(x.shape[:self.start_dim] + (-1,))

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}"


class Dropout(Module):
    """Inverted dropout (notes §6, regularization): in training each element is zeroed with
    probability ``p`` and the rest are scaled by 1/(1 − p); in eval mode it is the identity.

    Args:
        p: drop probability in [0, 1].
        rng: seed or generator for the masks (None: the global generator at call time).

    Raises:
        ConfigError: ``p`` outside [0, 1].

    >>> d = Dropout(0.5).eval()
    >>> d(Tensor([1.0, 2.0])).tolist()
    [1.0, 2.0]
    """

    def __init__(self, p: float = 0.5, rng: Any = None) -> None:
        super().__init__()
        self.p = check_number(p, "p", "Dropout", low=0, high=1, label="dropout probability p")
        # An int seed becomes one generator here, so successive calls draw different masks.
        self.rng = None if rng is None else get_rng(rng)

    def forward(self, x: Any) -> Any:
        return NF.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``: (N, 64) → (N, 1, 8, 8), as PyTorch's
    (one size may be −1).

    Raises:
        ShapeError: (when called) sizes whose product is not the dimension's length.

    >>> Unflatten(1, (1, 8, 8))(Tensor(np.zeros((2, 64)))).shape
    (2, 1, 8, 8)
    """

    def __init__(self, dim: int, unflattened_size: tuple[int, ...] | list[int]) -> None:
        super().__init__()
        self.dim = check_number(dim, "dim", "Unflatten", integer=True)
        self.unflattened_size = tuple(check_number(n, "unflattened_size", "Unflatten", low=-1,
                                                   integer=True) for n in unflattened_size)

    def forward(self, x: Any) -> Any:
        d = self.dim + x.ndim if self.dim < 0 else self.dim
        if not 0 <= d < x.ndim:
            raise ShapeError(f"Unflatten: dim {self.dim} is out of range for an input of shape "
                             f"{tuple(x.shape)}")
        sizes, n = self.unflattened_size, x.shape[d]
        known = int(np.prod([s for s in sizes if s != -1]))
        if sizes.count(-1) > 1 or (-1 not in sizes and known != n) \
                or (-1 in sizes and (known == 0 or n % known)):
            raise ShapeError(f"Unflatten: sizes {sizes} do not split dimension {self.dim} of "
                             f"length {n} (input shape {tuple(x.shape)})")
        return x.reshape(tuple(x.shape[:d]) + sizes + tuple(x.shape[d + 1:]))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Dropout1d(Dropout):
    """Channel dropout of (N, C, L) inputs: each channel of each example is zeroed with
    probability ``p`` (the rest scaled by 1/(1 − p)) in training; the identity in eval mode.
    See :func:`~chainrule.nn.functional.dropout1d`.

    >>> d = Dropout1d(0.5, rng=0)
    >>> y = d(Tensor(np.ones((2, 6, 3))))
    >>> [sorted(set(row.tolist())) for row in y.numpy()[0]][:2]   # whole channels
    [[2.0], [0.0]]
    """

    def forward(self, x: Any) -> Any:
        return NF.dropout1d(x, self.p, self.training, self.rng)


class Dropout2d(Dropout):
    """Channel dropout of (N, C, H, W) inputs: whole feature maps are zeroed with probability
    ``p`` in training; the identity in eval mode. See
    :func:`~chainrule.nn.functional.dropout2d`.

    >>> Dropout2d(0.3).eval()(Tensor(np.ones((1, 2, 2, 2)))).shape
    (1, 2, 2, 2)
    """

    def forward(self, x: Any) -> Any:
        return NF.dropout2d(x, self.p, self.training, self.rng)


__all__ = ["Linear", "Flatten", "Unflatten", "Dropout", "Dropout1d", "Dropout2d", "Identity"]
