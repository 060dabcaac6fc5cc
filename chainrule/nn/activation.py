"""Activations as modules (NOTES.md 2), and :func:`get_activation` to pick one by name."""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..errors import ConfigError
from ..validate import check_choice
from .module import Module


class Sigmoid(Module):
    """σ(x) = 1/(1 + e^−x), the logistic function (NOTES.md 1); σ' = σ(1 − σ).

    >>> from chainrule import Tensor
    >>> Sigmoid()(Tensor([0.0])).item()
    0.5
    """

    fused_as = "sigmoid"  # Sequential runs a Linear followed by this layer as one node

    def forward(self, x: Any) -> Any:
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x) = (e^x − e^−x)/(e^x + e^−x), range (−1, 1) (NOTES.md 2).

    >>> from chainrule import Tensor
    >>> Tanh()(Tensor([0.0])).item()
    0.0
    """

    fused_as = "tanh"  # Sequential runs a Linear followed by this layer as one node

    def forward(self, x: Any) -> Any:
        return F.tanh(x)


class ReLU(Module):
    """ReLU(x) = max(0, x) (NOTES.md 2).

    >>> from chainrule import Tensor
    >>> ReLU()(Tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """

    fused_as = "relu"  # Sequential runs a Linear followed by this layer as one node

    def forward(self, x: Any) -> Any:
        return F.relu(x)


class LeakyReLU(Module):
    """x if x > 0 else slope·x, slope 0.01 by default (NOTES.md 2).

    >>> from chainrule import Tensor
    >>> LeakyReLU(0.1)(Tensor([-1.0, 2.0])).numpy().astype(float).round(3).tolist()
    [-0.1, 2.0]
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Any) -> Any:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softplus(Module):
    """softplus(x) = ln(1 + e^x), a smooth ReLU (NOTES.md 2), computed stably.

    >>> from chainrule import Tensor
    >>> round(Softplus()(Tensor([0.0])).item(), 4)
    0.6931
    """

    def forward(self, x: Any) -> Any:
        return F.softplus(x)


class ELU(Module):
    """x if x ≥ 0 else α(e^x − 1) (NOTES.md 2).

    >>> from chainrule import Tensor
    >>> round(ELU()(Tensor([-1.0])).item(), 4)
    -0.6321
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x: Any) -> Any:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """GELU x = x·Φ(x), Φ the standard normal CDF: exact (erf) by default, as PyTorch's
    ``approximate="none"``; ``approximate="tanh"`` gives ½x(1 + tanh(√(2/π)(x + 0.044715x³))).

    >>> from chainrule import Tensor
    >>> GELU()(Tensor([0.0])).item()
    0.0
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = check_choice(approximate, "approximate", "GELU", ("none", "tanh"))

    def forward(self, x: Any) -> Any:
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """p_i = e^{z_i} / Σ_j e^{z_j} along ``dim`` (``axis``), the last by default (NOTES.md 3).

    >>> from chainrule import Tensor
    >>> Softmax()(Tensor([2.0, 1.0, 0.0])).numpy().astype(float).round(2).tolist()   # duck, beaver, walrus
    [0.67, 0.24, 0.09]
    """

    def __init__(self, dim: int | None = None, *, axis: int | None = None) -> None:
        super().__init__()
        self.axis = F.dim_or_axis("Softmax", dim, axis)

    @property
    def dim(self) -> int:
        """PyTorch's name for ``axis``."""
        return self.axis

    def forward(self, x: Any) -> Any:
        return F.softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"dim={self.axis}"


class LogSoftmax(Module):
    """z − logsumexp(z) along ``dim`` (``axis``), the last by default: log-probabilities,
    finite for any finite z.

    >>> from chainrule import Tensor
    >>> LogSoftmax()(Tensor([0.0, 0.0])).numpy().astype(float).round(4).tolist()
    [-0.6931, -0.6931]
    """

    def __init__(self, dim: int | None = None, *, axis: int | None = None) -> None:
        super().__init__()
        self.axis = F.dim_or_axis("LogSoftmax", dim, axis)

    @property
    def dim(self) -> int:
        """PyTorch's name for ``axis``."""
        return self.axis

    def forward(self, x: Any) -> Any:
        return F.log_softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"dim={self.axis}"


def _identity() -> Module:
    from .layers import Identity
    return Identity()


#: Every activation by name (aliases included): the one table the model builders, the command
#: line and the estimators read.
ACTIVATIONS: dict[str, Any] = {
    "sigmoid": Sigmoid, "logistic": Sigmoid, "tanh": Tanh, "relu": ReLU,
    "leaky_relu": LeakyReLU, "softplus": Softplus, "elu": ELU, "gelu": GELU,
    "softmax": Softmax, "log_softmax": LogSoftmax, "identity": _identity, "linear": _identity,
}
#: The element-wise activations a hidden layer can use, one name each (no aliases).
HIDDEN_ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "softplus", "elu", "gelu")


def get_activation(name: str | Module) -> Module:
    """A new activation module by name (a Module is returned as is).

    Names: sigmoid (logistic), tanh, relu, leaky_relu, softplus, elu, gelu, softmax,
    log_softmax, identity (linear). Case and ``-``/``_`` do not matter.

    Raises:
        ConfigError: an unknown name (the message lists the valid ones).

    >>> get_activation("leaky_relu")
    LeakyReLU(negative_slope=0.01)
    """
    if isinstance(name, Module):
        return name
    key = str(name).strip().lower().replace("-", "_")
    if key not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; expected one of "
                          + ", ".join(sorted(ACTIVATIONS)))
    return ACTIVATIONS[key]()


__all__ = ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softplus", "ELU", "GELU", "Softmax",
           "LogSoftmax", "get_activation", "ACTIVATIONS", "HIDDEN_ACTIVATIONS"]
