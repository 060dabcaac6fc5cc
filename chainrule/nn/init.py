"""Weight initialization, in place on a parameter's data (notes §6: "the scheme matters").

Every function takes ``rng`` (None: the global generator of :mod:`chainrule.random`; an int:
a fresh generator with that seed; or a ``numpy.random.Generator``), so the same seed gives
bit-identical weights. Draws are made in float64 and then cast to the parameter's dtype.

Fans follow PyTorch: for a weight of shape (out, in, *kernel) the fan-in is ``in · Πkernel``
and the fan-out ``out · Πkernel``.

All-equal weights are a trap the notes point out: if every weight of a layer starts with the
same value, every hidden unit computes the same function and receives the same gradient, so
the units never become different (symmetry). :func:`zeros_` and :func:`constant_` therefore
warn with :class:`SymmetryWarning` when asked to fill a whole weight matrix (two or more
dimensions) of two or more units (rows); biases (one dimension) and a one-unit layer may start
at zero safely.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import on_backend_of
from ..errors import ConfigError, ShapeError
from ..validate import check_choice, check_number
from ..random import get_rng
from ..tensor import Tensor


class SymmetryWarning(UserWarning):
    """A weight matrix initialized with all-equal values: its units can never differ."""


def _array(tensor: Any) -> Any:
    return tensor.data if isinstance(tensor, Tensor) else tensor


def _fill(tensor: Any, values: np.ndarray) -> Any:
    a = _array(tensor)
    a[...] = on_backend_of(a, values, dtype=a.dtype)
    return tensor


def _fans(tensor: Any, where: str) -> tuple[int, int]:
    shape = _array(tensor).shape
    if len(shape) < 2:
        raise ShapeError(f"{where}: fan-in and fan-out need a weight with at least 2 dimensions; "
                         f"got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor: Any, mode: str, where: str) -> int:
    fan_in, fan_out = _fans(tensor, where)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    check_choice(mode, "mode", where, ("fan_in", "fan_out"))


_GAINS = ("linear", "identity", "conv1d", "conv2d", "conv3d", "sigmoid", "tanh", "relu",
          "leaky_relu", "selu")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which an activation shrinks the variance of its input (PyTorch's table):
    1 for linear and sigmoid, 5/3 for tanh, √2 for ReLU, √(2/(1 + slope²)) for leaky ReLU
    (slope ``param``, default 0.01), 3/4 for SELU.

    Raises:
        ConfigError: an unknown nonlinearity (the message lists the valid ones).

    >>> round(calculate_gain("relu"), 4), calculate_gain("tanh")
    (1.4142, 1.6666666666666667)
    """
    name = str(nonlinearity).lower()
    if name in ("linear", "identity", "conv1d", "conv2d", "conv3d", "sigmoid"):
        return 1.0
    if name == "tanh":
        return 5.0 / 3.0
    if name == "relu":
        return math.sqrt(2.0)
    if name == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope * slope))
    if name == "selu":
        return 0.75
    raise ConfigError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; expected one of "
                      + ", ".join(_GAINS))


def _warn_symmetric(tensor: Any, where: str) -> None:
    a = _array(tensor)
    # NOTE: rows are units (PyTorch's (out, in, ...) layout); one unit (a logistic-regression
    # output, shape (1, k)) has no twin to stay equal to, so it may start at zero
    if a.ndim >= 2 and a.shape[0] > 1:
        warnings.warn(
            f"{where} fills a whole weight matrix of shape {tuple(a.shape)} with one value: "
            "every unit then computes the same function and gets the same gradient, so the "
            "units never become different (tutorial: Initialization). Use a random "
            "initialization such as xavier_uniform_ or kaiming_uniform_.", SymmetryWarning, stacklevel=3)


def zeros_(tensor: Any) -> Any:
    """Fill with 0 in place; warns with :class:`SymmetryWarning` on a weight matrix.

    >>> import numpy as np
    >>> zeros_(np.ones(3))
    array([0., 0., 0.])
    """
    return constant_(tensor, 0.0, _where="zeros_")


def constant_(tensor: Any, value: float, *, _where: str = "constant_") -> Any:
    """Fill with ``value`` in place; warns with :class:`SymmetryWarning` on a weight matrix.

    >>> import numpy as np
    >>> constant_(np.zeros(2), 0.5)
    array([0.5, 0.5])
    """
    _warn_symmetric(tensor, _where)
    _array(tensor)[...] = value
    return tensor


def normal_(tensor: Any, mean: float = 0.0, std: float = 1.0, rng: Any = None) -> Any:
    """Fill with draws from N(mean, std²) in place.

    >>> import numpy as np
    >>> normal_(np.zeros(2), std=0.1, rng=0).round(3)
    array([ 0.013, -0.013])
    """
    check_number(std, "std", "normal_", low=0)
    return _fill(tensor, get_rng(rng).normal(mean, std, size=_array(tensor).shape))


def uniform_(tensor: Any, a: float = 0.0, b: float = 1.0, rng: Any = None) -> Any:
    """Fill with draws from U(a, b) in place.

    >>> import numpy as np
    >>> bool(((uniform_(np.zeros(100), -1, 1, rng=0)) < 1).all())
    True
    """
    if not a <= b:
        raise ConfigError(f"uniform_: need a <= b; got a={a}, b={b}")
    return _fill(tensor, get_rng(rng).uniform(a, b, size=_array(tensor).shape))


def xavier_uniform_(tensor: Any, gain: float = 1.0, rng: Any = None) -> Any:
    """Glorot & Bengio (2010): U(−a, a) with a = gain·√(6 / (fan_in + fan_out)), keeping the
    variance of activations and gradients about equal across layers (sigmoid, tanh).

    >>> import numpy as np
    >>> w = xavier_uniform_(np.zeros((300, 200)), rng=0)
    >>> bool(abs(w).max() <= np.sqrt(6 / 500))
    True
    """
    fan_in, fan_out = _fans(tensor, "xavier_uniform_")
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(tensor, get_rng(rng).uniform(-a, a, size=_array(tensor).shape))


def xavier_normal_(tensor: Any, gain: float = 1.0, rng: Any = None) -> Any:
    """Glorot & Bengio (2010): N(0, std²) with std = gain·√(2 / (fan_in + fan_out)).

    >>> import numpy as np
    >>> round(float(xavier_normal_(np.zeros((400, 400)), rng=0).std()), 2)
    0.05
    """
    fan_in, fan_out = _fans(tensor, "xavier_normal_")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(tensor, get_rng(rng).normal(0.0, std, size=_array(tensor).shape))


def kaiming_uniform_(tensor: Any, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", rng: Any = None) -> Any:
    """He et al. (2015): U(−b, b) with b = gain·√(3 / fan), gain from :func:`calculate_gain`
    (``a`` is the leaky-ReLU slope; the defaults give gain √2, for ReLU networks).

    PyTorch's default for ``Linear`` is this with a = √5, which gives b = 1/√fan_in.

    >>> import numpy as np
    >>> w = kaiming_uniform_(np.zeros((10, 4)), a=np.sqrt(5), rng=0)
    >>> bool(abs(w).max() <= 0.5)
    True
    """
    fan = _fan(tensor, mode, "kaiming_uniform_")
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return _fill(tensor, get_rng(rng).uniform(-bound, bound, size=_array(tensor).shape))


def kaiming_normal_(tensor: Any, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", rng: Any = None) -> Any:
    """He et al. (2015): N(0, std²) with std = gain / √fan (√(2 / fan_in) for ReLU).

    >>> import numpy as np
    >>> round(float(kaiming_normal_(np.zeros((500, 200)), rng=0).std()), 2)
    0.1
    """
    fan = _fan(tensor, mode, "kaiming_normal_")
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _fill(tensor, get_rng(rng).normal(0.0, std, size=_array(tensor).shape))


def lecun_normal_(tensor: Any, rng: Any = None) -> Any:
    """LeCun et al. (1998): N(0, 1/fan_in) (an untruncated normal).

    >>> import numpy as np
    >>> round(float(lecun_normal_(np.zeros((500, 100)), rng=0).std()), 2)
    0.1
    """
    fan_in, _ = _fans(tensor, "lecun_normal_")
    return _fill(tensor, get_rng(rng).normal(0.0, 1.0 / math.sqrt(fan_in), size=_array(tensor).shape))


def lecun_uniform_(tensor: Any, rng: Any = None) -> Any:
    """LeCun et al. (1998): U(−b, b) with b = √(3 / fan_in), variance 1/fan_in.

    >>> import numpy as np
    >>> bool(abs(lecun_uniform_(np.zeros((4, 3)), rng=0)).max() <= 1.0)
    True
    """
    fan_in, _ = _fans(tensor, "lecun_uniform_")
    b = math.sqrt(3.0 / fan_in)
    return _fill(tensor, get_rng(rng).uniform(-b, b, size=_array(tensor).shape))


def default_(tensor: Any, rng: Any = None) -> Any:
    """PyTorch's default for ``Linear`` weights: U(−1/√fan_in, 1/√fan_in) (Kaiming-uniform
    with a = √5).

    >>> import numpy as np
    >>> bool(abs(default_(np.zeros((3, 16)), rng=0)).max() <= 0.25)
    True
    """
    return kaiming_uniform_(tensor, a=math.sqrt(5.0), rng=rng)


INITIALIZERS: dict[str, Callable[..., Any]] = {
    "default": default_,
    "xavier_uniform": xavier_uniform_,
    "glorot_uniform": xavier_uniform_,
    "xavier_normal": xavier_normal_,
    "glorot_normal": xavier_normal_,
    "kaiming_uniform": kaiming_uniform_,
    "he_uniform": kaiming_uniform_,
    "kaiming_normal": kaiming_normal_,
    "he_normal": kaiming_normal_,
    "lecun_uniform": lecun_uniform_,
    "lecun_normal": lecun_normal_,
    "zeros": lambda tensor, rng=None: zeros_(tensor),
}
"""Weight initializers by name, each called as ``f(weight, rng=rng)``."""


def get_initializer(name: str | Callable[..., Any]) -> Callable[..., Any]:
    """The initializer called ``name`` (see :data:`INITIALIZERS`); a callable is returned as is.

    Raises:
        ConfigError: an unknown name (the message lists the valid ones).

    >>> get_initializer("he_normal") is kaiming_normal_
    True
    """
    if callable(name):
        return name
    key = str(name).lower().replace("-", "_")
    if key not in INITIALIZERS:
        raise ConfigError(f"unknown initializer {name!r}; expected one of "
                          + ", ".join(sorted(INITIALIZERS)) + " (or a callable f(weight, rng))")
    return INITIALIZERS[key]


__all__ = [
    "SymmetryWarning", "INITIALIZERS", "calculate_gain", "get_initializer",
    "zeros_", "constant_", "normal_", "uniform_", "xavier_uniform_", "xavier_normal_",
    "kaiming_uniform_", "kaiming_normal_", "lecun_normal_", "lecun_uniform_", "default_",
]
