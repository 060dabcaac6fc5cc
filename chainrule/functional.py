"""Composites built from primitives only: no derivative code lives here, so every function
works for both :class:`~chainrule.tensor.Tensor` (reverse mode) and
:class:`~chainrule.forward.Dual` (forward mode)."""

from __future__ import annotations

from typing import Any
from collections.abc import Sequence

import numpy as np

from . import ops as P
from .backend import array_module
from .errors import ConfigError
from .tensor import ArrayLike, Tensor, apply, array_of


def _lift(x: Any) -> ArrayLike:
    return x if isinstance(x, ArrayLike) else Tensor(x)


# --- element-wise -------------------------------------------------------------------------

def exp(x): return _lift(x).exp()
def log(x): return _lift(x).log()
def sqrt(x): return _lift(x).sqrt()
def abs(x): return _lift(x).abs()  # noqa: A001 - the math's name
def sigmoid(x): return _lift(x).sigmoid()
def tanh(x): return _lift(x).tanh()
def relu(x): return _lift(x).relu()


def leaky_relu(x: Any, slope: float = 0.01) -> Any:
    """x if x > 0 else slope·x (NOTES.md 2)."""
    return apply(P.LeakyRelu, _lift(x), slope=slope)


def softplus(x: Any) -> Any:
    """log(1 + e^x), a smooth ReLU (NOTES.md 2)."""
    return apply(P.Softplus, _lift(x))


def elu(x: Any, alpha: float = 1.0) -> Any:
    """x if x ≥ 0 else α(e^x − 1) (NOTES.md 2)."""
    return apply(P.Elu, _lift(x), alpha=alpha)


def gelu(x: Any) -> Any:
    """GELU, tanh form."""
    return apply(P.Gelu, _lift(x))


def clip(x: Any, lo: float | None = None, hi: float | None = None) -> Any:
    return _lift(x).clip(lo, hi)


def maximum(x: Any, y: Any) -> Any:
    return apply(P.Maximum, x, y)


def minimum(x: Any, y: Any) -> Any:
    return apply(P.Minimum, x, y)


def where(cond: Any, x: Any, y: Any) -> Any:
    """x where ``cond`` holds, else y (``cond`` is not differentiated)."""
    c = array_of(cond)  # a condition given on the host goes where x and y live
    c = array_module(c, array_of(x), array_of(y)).asarray(c).astype(bool, copy=False)
    return apply(P.Where, x, y, cond=c)


def matmul(x: Any, y: Any) -> Any:
    return apply(P.MatMul, x, y)


def linear(x: Any, weight: Any, bias: Any = None, activation: str | None = None) -> Any:
    """x·Wᵀ + b with ``weight`` of shape (out, in), one fused node; with ``activation``
    ("relu", "sigmoid" or "tanh") f(x·Wᵀ + b) in that same node.

    Raises:
        ConfigError: an activation that cannot be fused.

    >>> W = Tensor([[1.0, -1.0]])
    >>> linear(Tensor([[1.0, 3.0]]), W, Tensor([0.5]), activation="relu").tolist()
    [[0.0]]
    """
    args = (x, weight) if bias is None else (x, weight, bias)
    if activation is None:
        return apply(P.Linear, *args)
    if activation not in P.ACTIVATIONS:
        raise ConfigError(f"linear: activation {activation!r} cannot be fused; expected one of "
                          f"{sorted(P.ACTIVATIONS)} or None")
    return apply(P.Linear, *args, activation=activation)


# --- reductions (PyTorch's dim/keepdim or NumPy's axis/keepdims: see chainrule.reductions) ---

def sum(x: Any, dim: Any = None, keepdim: Any = None, **numpy_names: Any) -> Any:  # noqa: A001
    return _lift(x).sum(dim, keepdim, **numpy_names)


def mean(x: Any, dim: Any = None, keepdim: Any = None, **numpy_names: Any) -> Any:
    """Σx / n over ``dim`` (nan over no elements)."""
    return _lift(x).mean(dim, keepdim, **numpy_names)


def max(x: Any, dim: Any = None, keepdim: Any = None, **numpy_names: Any) -> Any:  # noqa: A001
    """As ``Tensor.max``: with an int ``dim`` a (values, indices) pair, as ``torch.max``."""
    return _lift(x).max(dim, keepdim, **numpy_names)


def min(x: Any, dim: Any = None, keepdim: Any = None, **numpy_names: Any) -> Any:  # noqa: A001
    """As ``Tensor.min``: with an int ``dim`` a (values, indices) pair, as ``torch.min``."""
    return _lift(x).min(dim, keepdim, **numpy_names)


def var(x: Any, dim: Any = None, keepdim: Any = None, **kwargs: Any) -> Any:
    """Σ(x − mean)² / (n − correction), correction 1 by default (``ddof``/``unbiased`` too)."""
    return _lift(x).var(dim, keepdim, **kwargs)


def logsumexp(x: Any, dim: Any = None, keepdim: Any = None, **numpy_names: Any) -> Any:
    """log Σ e^x, computed stably."""
    return _lift(x).logsumexp(dim, keepdim, **numpy_names)


def dim_or_axis(where: str, dim: Any, axis: Any, default: Any = -1) -> Any:
    """``dim`` or ``axis`` (not both), else ``default``."""
    if dim is not None and axis is not None:
        raise ConfigError(f"{where}: got both dim={dim!r} and axis={axis!r}; give one (dim is "
                          "PyTorch's name, axis NumPy's)")
    return default if dim is None and axis is None else (axis if dim is None else dim)


def softmax(x: Any, dim: int | None = None, *, axis: int | None = None) -> Any:
    """p_i = e^{z_i} / Σ_j e^{z_j} along ``dim`` (the last by default) (NOTES.md 3), as
    exp(z − logsumexp z): never overflows.

    >>> [round(float(p), 2) for p in softmax(Tensor([2.0, 1.0, 0.0])).numpy()]  # duck, beaver, walrus
    [0.67, 0.24, 0.09]
    """
    return log_softmax(x, dim_or_axis("softmax", dim, axis)).exp()


def log_softmax(x: Any, dim: int | None = None, *, axis: int | None = None) -> Any:
    """z − logsumexp(z) along ``dim`` (the last by default): the log-probabilities, finite for
    any finite z. A 0-d z is one class (dim 0 or −1): its log-probability is 0.

    Computed as s − logsumexp(s) with s = z − max z: subtracting the (constant) max first keeps
    float32 exact for large logits (1e4 + 0.31 is not representable; 0.31 is).
    """
    x = _lift(x)
    dim = dim_or_axis("log_softmax", dim, axis)
    if x.ndim == 0:
        return log_softmax(x.reshape(1), dim).reshape(())
    s = x - stop_gradient(x.amax(dim, keepdim=True))
    return s - s.logsumexp(dim, keepdim=True)


def stop_gradient(x: Any) -> Any:
    """x as a constant: no gradient flows through it in either mode."""
    return x.detach() if isinstance(x, Tensor) else type(x)(x.primal)


# --- shapes -------------------------------------------------------------------------------

def reshape(x: Any, shape: Sequence[int]) -> Any:
    return _lift(x).reshape(tuple(shape))


def transpose(x: Any, *dims: Any, axes: Sequence[int] | None = None) -> Any:
    """``torch.transpose(x, dim0, dim1)``: two dims swapped; ``transpose(x)`` reverses them all
    and ``transpose(x, axes)`` with one tuple is NumPy's permutation (see ``Tensor.transpose``)."""
    if axes is not None:
        return permute(x, axes)
    return _lift(x).transpose(*(d for d in dims if d is not None))


def permute(x: Any, dims: Sequence[int]) -> Any:
    """The dims of x in the order ``dims``."""
    return _lift(x).permute(tuple(dims))


def broadcast_to(x: Any, shape: Sequence[int]) -> Any:
    return _lift(x).broadcast_to(shape)


def squeeze(x: Any, dim: Any = None, *, axis: Any = None) -> Any:
    """x without dims of length 1 (only ``dim`` when given)."""
    return _lift(x).squeeze(dim, axis=axis)


def unsqueeze(x: Any, dim: Any = None, *, axis: Any = None) -> Any:
    """x with a new dim of length 1 at ``dim``."""
    return _lift(x).unsqueeze(dim, axis=axis)


def concatenate(xs: Sequence[Any], dim: int | None = None, *, axis: int | None = None) -> Any:
    """The tensors joined along an existing dim (0 by default); ``cat`` is its PyTorch name.

    >>> cat([Tensor([1.0]), Tensor([2.0, 3.0])], dim=0).tolist()
    [1.0, 2.0, 3.0]
    """
    return apply(P.Concatenate, *[_lift(x) for x in xs], axis=dim_or_axis("cat", dim, axis, 0))


cat = concatenate


def stack(xs: Sequence[Any], dim: int | None = None, *, axis: int | None = None) -> Any:
    """The tensors joined along a new dim (0 by default)."""
    dim = dim_or_axis("stack", dim, axis, 0)
    return concatenate([unsqueeze(x, dim) for x in xs], dim)


def pad(x: Any, pad_width: Any, value: float = 0.0) -> Any:
    """x padded with a constant (``pad_width`` as in ``numpy.pad``)."""
    return apply(P.Pad, _lift(x), pad_width=pad_width, value=value)


def one_hot(labels: Any, num_classes: int | None = None, dtype: Any = np.float32) -> Tensor:
    """Class numbers 0..C−1 as indicator rows (NOTES.md 3)."""
    from .errors import DataError
    y = labels.data if isinstance(labels, Tensor) else labels
    xp = array_module(y)  # made where the labels live
    y = xp.asarray(y)
    if y.dtype.kind not in "iub":
        if y.dtype.kind == "f" and bool((y % 1 == 0).all()):
            y = y.astype(np.int64)
        else:
            raise DataError(f"one_hot: labels must be integers; got dtype {y.dtype}")
    n = int(y.max()) + 1 if num_classes is None and y.size else (num_classes or 0)
    if y.size and (y.min() < 0 or y.max() >= n):
        raise DataError(f"one_hot: labels must lie in [0, {n}); got min {y.min()}, max {y.max()}")
    return Tensor((y[..., None] == xp.arange(n)).astype(dtype))
