"""Activations as modules (notes §2, activations) and their functional forms, in PyTorch's names and
semantics, and :func:`get_activation` to pick one by name.

The newer activations are composites of the primitives (no derivative code): each is a stable
form in float32 and float64 alike (SiLU as x·σ(x), Mish through the stable softplus, LogSigmoid
as −softplus(−x), Softmin as softmax(−x)).
"""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..errors import ConfigError, ShapeError
from ..tensor import ArrayLike, Tensor
from ..validate import check_choice, check_number
from . import init as I
from .module import Module, Parameter


def _lift(x: Any) -> Any:
    return x if isinstance(x, ArrayLike) else Tensor(x)


# --- functional forms (re-exported by chainrule.nn.functional) ----------------------------

def silu(x: Any) -> Any:
    """SiLU (swish) x·σ(x).

    >>> round(silu(Tensor([1.0])).item(), 4)
    0.7311
    """
    x = _lift(x)
    return x * x.sigmoid()


def gelu(x: Any, approximate: str = "none") -> Any:
    """GELU x·Φ(x), Φ the standard normal CDF: exactly, ½x(1 + erf(x/√2)), with
    ``approximate="none"`` (PyTorch's default), or ½x(1 + tanh(√(2/π)(x + 0.044715x³))) with
    ``approximate="tanh"``; each one fused node (see :func:`chainrule.functional.gelu`).

    Raises:
        ConfigError: another ``approximate``.

    >>> round(gelu(Tensor([1.0]), approximate="tanh").item(), 4)
    0.8412
    """
    return F.gelu(x, check_choice(approximate, "approximate", "gelu", ("none", "tanh")))


def mish(x: Any) -> Any:
    """Mish x·tanh(softplus(x)).

    >>> round(mish(Tensor([1.0])).item(), 4)
    0.8651
    """
    x = _lift(x)
    return x * F.softplus(x).tanh()


def hardsigmoid(x: Any) -> Any:
    """0 for x ≤ −3, 1 for x ≥ 3, x/6 + ½ between (gradient 1/6 strictly inside, as PyTorch).

    >>> hardsigmoid(Tensor([-4.0, 0.0, 4.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    x = _lift(x)
    v = x.data if isinstance(x, Tensor) else x.primal
    ramp = x * (1.0 / 6.0) + 0.5
    return F.where((v > -3) & (v < 3), ramp, (v >= 3).astype(v.dtype))


def hardswish(x: Any) -> Any:
    """x·ReLU6(x + 3)/6: 0 up to −3, x from 3, x(x + 3)/6 between (gradient (2x + 3)/6
    strictly inside, 0 and 1 at the ends, as PyTorch).

    >>> hardswish(Tensor([-4.0, 0.0, 4.0])).tolist()
    [0.0, 0.0, 4.0]
    """
    x = _lift(x)
    v = x.data if isinstance(x, Tensor) else x.primal
    mid = F.where(v < 3, x * (x + 3.0) * (1.0 / 6.0), x)
    return F.where(v <= -3, x * 0.0 + 0.0, mid)


#: SELU's constants (Klambauer et al. 2017), as PyTorch.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x: Any) -> Any:
    """SELU scale·(max(0, x) + min(0, α(eˣ − 1))), α ≈ 1.6733, scale ≈ 1.0507; at 0 the
    gradient is scale·α, the left branch's, as PyTorch.

    >>> round(selu(Tensor([1.0])).item(), 4)
    1.0507
    """
    x = _lift(x)
    v = x.data if isinstance(x, Tensor) else x.primal
    neg = (x.clip(None, 0.0).exp() - 1.0) * (SELU_ALPHA * SELU_SCALE)  # clip: e^x never overflows
    return F.where(v > 0, x * SELU_SCALE, neg)


def celu(x: Any, alpha: float = 1.0) -> Any:
    """CELU max(0, x) + min(0, α(e^{x/α} − 1)) = α·ELU(x/α).

    Raises:
        ConfigError: α = 0.

    >>> round(celu(Tensor([-1.0]), 2.0).item(), 4)
    -0.7869
    """
    if alpha == 0:
        raise ConfigError("celu: alpha must not be 0 (it divides x); got 0")
    return F.elu(_lift(x) * (1.0 / alpha), 1.0) * alpha


def prelu(x: Any, weight: Any) -> Any:
    """PReLU: x where x > 0, else a·x, with ``weight`` a one value or one per channel (axis 1
    of an input of two or more dimensions), as PyTorch.

    Raises:
        ShapeError: a weight of more than one value that does not match the channels.

    >>> prelu(Tensor([[-2.0, 3.0]]), Tensor([0.25])).tolist()
    [[-0.5, 3.0]]
    """
    x = _lift(x)
    n = weight.size
    if n != 1:
        if x.ndim < 2 or x.shape[1] != n:
            raise ShapeError(f"prelu: {n} weights need an input with {n} channels on axis 1; "
                             f"got shape {tuple(x.shape)}")
        weight = weight.reshape((n,) + (1,) * (x.ndim - 2))
    elif weight.ndim:
        weight = weight.reshape(())
    v = x.data if isinstance(x, Tensor) else x.primal
    return F.where(v > 0, x, x * weight)


def logsigmoid(x: Any) -> Any:
    """ln σ(x) = −softplus(−x), finite for any finite x.

    >>> logsigmoid(Tensor([-1000.0])).item()
    -1000.0
    """
    return -F.softplus(-_lift(x))


def softsign(x: Any) -> Any:
    """x / (1 + |x|).

    >>> softsign(Tensor([-1.0, 3.0])).tolist()
    [-0.5, 0.75]
    """
    x = _lift(x)
    return x / (x.abs() + 1.0)


def softmin(x: Any, dim: int) -> Any:
    """softmax(−x) along ``dim``.

    >>> [round(v, 2) for v in softmin(Tensor([0.0, 1.0, 2.0]), dim=0).tolist()]
    [0.67, 0.24, 0.09]
    """
    return F.softmax(-_lift(x), dim)


# --- modules ------------------------------------------------------------------------------

class Sigmoid(Module):
    """σ(x) = 1/(1 + e^−x), the logistic function (notes §1, the neuron); σ' = σ(1 − σ).

    >>> from chainrule import Tensor
    >>> Sigmoid()(Tensor([0.0])).item()
    0.5
    """

    fused_as = "sigmoid"  # Sequential runs a Linear followed by this layer as one node

    def forward(self, x: Any) -> Any:
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x) = (e^x − e^−x)/(e^x + e^−x), range (−1, 1) (notes §2, activations).

    >>> from chainrule import Tensor
    >>> Tanh()(Tensor([0.0])).item()
    0.0
    """

    fused_as = "tanh"  # Sequential runs a Linear followed by this layer as one node

    def forward(self, x: Any) -> Any:
        return F.tanh(x)


class ReLU(Module):
    """ReLU(x) = max(0, x) (notes §2, activations).

    >>> from chainrule import Tensor
    >>> ReLU()(Tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """

    fused_as = "relu"  # Sequential runs a Linear followed by this layer as one node

    def forward(self, x: Any) -> Any:
        return F.relu(x)


class LeakyReLU(Module):
    """x if x > 0 else slope·x, slope 0.01 by default (notes §2, activations).

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
    """softplus(x) = ln(1 + e^x), a smooth ReLU (notes §2, activations), computed stably.

    >>> from chainrule import Tensor
    >>> round(Softplus()(Tensor([0.0])).item(), 4)
    0.6931
    """

    def forward(self, x: Any) -> Any:
        return F.softplus(x)


class ELU(Module):
    """x if x ≥ 0 else α(e^x − 1) (notes §2, activations).

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
    """GELU x·Φ(x): exact (erf) by default as PyTorch's ``approximate="none"``;
    ``approximate="tanh"`` is the tanh form ½x(1 + tanh(√(2/π)(x + 0.044715x³))), one fused
    node. See :func:`gelu`.

    Raises:
        ConfigError: another ``approximate``.

    >>> from chainrule import Tensor
    >>> GELU(approximate="tanh")(Tensor([0.0])).item()
    0.0
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = check_choice(approximate, "approximate", "GELU", ("none", "tanh"))

    def forward(self, x: Any) -> Any:
        return gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """SiLU (swish) x·σ(x); see :func:`silu`.

    >>> SiLU()(Tensor([0.0])).item()
    0.0
    """

    def forward(self, x: Any) -> Any:
        return silu(x)


class Mish(Module):
    """Mish x·tanh(softplus(x)); see :func:`mish`.

    >>> Mish()(Tensor([0.0])).item()
    0.0
    """

    def forward(self, x: Any) -> Any:
        return mish(x)


class Hardswish(Module):
    """x·ReLU6(x + 3)/6; see :func:`hardswish`.

    >>> Hardswish()(Tensor([3.0])).item()
    3.0
    """

    def forward(self, x: Any) -> Any:
        return hardswish(x)


class Hardsigmoid(Module):
    """ReLU6(x + 3)/6; see :func:`hardsigmoid`.

    >>> Hardsigmoid()(Tensor([0.0])).item()
    0.5
    """

    def forward(self, x: Any) -> Any:
        return hardsigmoid(x)


class SELU(Module):
    """Self-normalizing scale·ELU(x, α) with PyTorch's constants; see :func:`selu`.

    >>> SELU()(Tensor([0.0])).item()
    0.0
    """

    def forward(self, x: Any) -> Any:
        return selu(x)


class CELU(Module):
    """max(0, x) + min(0, α(e^{x/α} − 1)); see :func:`celu`.

    Raises:
        ConfigError: α = 0.

    >>> CELU(2.0)(Tensor([1.0])).item()
    1.0
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = check_number(alpha, "alpha", "CELU")
        if self.alpha == 0:
            raise ConfigError("CELU: alpha must not be 0 (it divides x); got 0")

    def forward(self, x: Any) -> Any:
        return celu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class PReLU(Module):
    """x where x > 0, else a·x, with a learned slope ``weight``: one shared (the default) or
    one per channel (``num_parameters`` = the channels on axis 1), starting at ``init``.

    Args:
        num_parameters: 1 or the number of channels.
        init: the initial slope (PyTorch's 0.25).
        dtype: float32 (default) or float64.

    Raises:
        ConfigError: a non-positive num_parameters.
        ShapeError: (when called) an input whose channels do not match.

    >>> PReLU()(Tensor([-4.0, 2.0])).tolist()
    [-1.0, 2.0]
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype: Any = "float32"
                 ) -> None:
        super().__init__()
        self.num_parameters = check_number(num_parameters, "num_parameters", "PReLU", low=1,
                                           integer=True)
        self.init = check_number(init, "init", "PReLU")
        self.weight = Parameter([0.0] * self.num_parameters, dtype=dtype)
        I.constant_(self.weight, self.init)

    def forward(self, x: Any) -> Any:
        return prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class LogSigmoid(Module):
    """ln σ(x), stably; see :func:`logsigmoid`.

    >>> round(LogSigmoid()(Tensor([0.0])).item(), 4)
    -0.6931
    """

    def forward(self, x: Any) -> Any:
        return logsigmoid(x)


class Softsign(Module):
    """x / (1 + |x|); see :func:`softsign`.

    >>> Softsign()(Tensor([1.0])).item()
    0.5
    """

    def forward(self, x: Any) -> Any:
        return softsign(x)


class Softmin(Module):
    """softmax(−x) along ``dim``, as PyTorch's Softmin. PyTorch's implicit choice of the axis
    when ``dim`` is None is deprecated there, so it is an error here.

    Raises:
        ConfigError: no ``dim``.

    >>> Softmin(dim=-1)(Tensor([0.0, 0.0])).tolist()
    [0.5, 0.5]
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        if dim is None:
            raise ConfigError("Softmin needs dim, the axis to normalize over (e.g. dim=-1); "
                              "PyTorch's implicit choice is deprecated")
        self.dim = check_number(dim, "dim", "Softmin", integer=True)

    def forward(self, x: Any) -> Any:
        return softmin(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(Module):
    """p_i = e^{z_i} / Σ_j e^{z_j} along ``dim`` (``axis``), the last by default (notes §3, objectives).

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


class Identity(Module):
    """Returns its input (an identity output unit for regression, notes §1, the neuron). Arguments are
    accepted and ignored, as PyTorch's.

    >>> Identity()(Tensor([3.0])).item()
    3.0
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


#: Every activation by name (aliases included): the one table the model builders, the command
#: line and the estimators read.
ACTIVATIONS: dict[str, Any] = {
    "sigmoid": Sigmoid, "logistic": Sigmoid, "tanh": Tanh, "relu": ReLU,
    "leaky_relu": LeakyReLU, "softplus": Softplus, "elu": ELU, "gelu": GELU,
    "softmax": Softmax, "log_softmax": LogSoftmax, "identity": Identity, "linear": Identity,
    "silu": SiLU, "swish": SiLU, "mish": Mish, "hardswish": Hardswish, "hardsigmoid": Hardsigmoid,
    "selu": SELU, "celu": CELU, "prelu": PReLU, "logsigmoid": LogSigmoid, "softsign": Softsign,
}
#: The element-wise activations a hidden layer can use, one name each (no aliases).
HIDDEN_ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "softplus", "elu", "gelu", "silu",
                      "mish", "hardswish", "hardsigmoid", "selu", "celu", "prelu", "logsigmoid",
                      "softsign")


def get_activation(name: str | Module) -> Module:
    """A new activation module by name (a Module is returned as is).

    Names: sigmoid (logistic), tanh, relu, leaky_relu, softplus, elu, gelu, silu (swish), mish,
    hardswish, hardsigmoid, selu, celu, prelu, logsigmoid, softsign, softmax, log_softmax,
    identity (linear). Case and ``-``/``_`` do not matter. Softmin needs its ``dim``, so it is
    built by hand (``Softmin(dim=...)``).

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


__all__ = ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softplus", "ELU", "GELU", "SiLU", "Mish",
           "Hardswish", "Hardsigmoid", "SELU", "CELU", "PReLU", "LogSigmoid", "Softsign",
           "Softmin", "Softmax", "LogSoftmax", "Identity", "get_activation", "ACTIVATIONS",
           "HIDDEN_ACTIVATIONS", "silu", "gelu", "mish", "hardswish", "hardsigmoid", "selu",
           "celu", "prelu", "logsigmoid", "softsign", "softmin"]
