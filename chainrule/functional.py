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
    """x if x > 0 else slope·x (notes §2, activations)."""
    return apply(P.LeakyRelu, _lift(x), slope=slope)


def softplus(x: Any) -> Any:
    """log(1 + e^x), a smooth ReLU (notes §2, activations)."""
    return apply(P.Softplus, _lift(x))


def elu(x: Any, alpha: float = 1.0) -> Any:
    """x if x ≥ 0 else α(e^x − 1) (notes §2, activations)."""
    return apply(P.Elu, _lift(x), alpha=alpha)


def gelu(x: Any, approximate: str = "none") -> Any:
    """GELU x = x·Φ(x), Φ the standard normal CDF: exactly by erf with ``approximate="none"``
    (PyTorch's default), or in the tanh form with ``approximate="tanh"``.

    Raises:
        ConfigError: another ``approximate``.
    """
    if approximate == "none":
        return apply(P.GeluExact, _lift(x))
    if approximate == "tanh":
        return apply(P.Gelu, _lift(x))
    raise ConfigError(f"gelu: approximate={approximate!r}; expected 'none' (exact) or 'tanh'")


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
    """p_i = e^{z_i} / Σ_j e^{z_j} along ``dim`` (the last by default) (notes §3, objectives), as
    exp(z − logsumexp z): never overflows.

    >>> softmax(Tensor([2.0, 1.0, 0.0])).numpy().astype(float).round(2).tolist()  # duck, beaver, walrus
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
    """Class numbers 0..C−1 as indicator rows (notes §3, objectives)."""
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


# --- op families (issue 11): PyTorch's functional names over the Tensor methods -----------

def sin(x): return _lift(x).sin()
def cos(x): return _lift(x).cos()
def tan(x): return _lift(x).tan()
def asin(x): return _lift(x).asin()
def acos(x): return _lift(x).acos()
def atan(x): return _lift(x).atan()
def atan2(y, x): return _lift(y).atan2(x)
def sinh(x): return _lift(x).sinh()
def cosh(x): return _lift(x).cosh()
def asinh(x): return _lift(x).asinh()
def acosh(x): return _lift(x).acosh()
def atanh(x): return _lift(x).atanh()
def erf(x): return _lift(x).erf()
def erfc(x): return _lift(x).erfc()
def log1p(x): return _lift(x).log1p()
def expm1(x): return _lift(x).expm1()
def log2(x): return _lift(x).log2()
def log10(x): return _lift(x).log10()
def exp2(x): return _lift(x).exp2()
def sign(x): return _lift(x).sign()
def floor(x): return _lift(x).floor()
def ceil(x): return _lift(x).ceil()
def trunc(x): return _lift(x).trunc()
def round(x, decimals=0): return _lift(x).round(decimals)  # noqa: A001 - PyTorch's name
def reciprocal(x): return _lift(x).reciprocal()
def rsqrt(x): return _lift(x).rsqrt()
def square(x): return _lift(x).square()
def fmod(x, y): return _lift(x).fmod(y)
def remainder(x, y): return _lift(x).remainder(y)
def copysign(x, y): return _lift(x).copysign(y)
def clamp(x, min=None, max=None): return _lift(x).clamp(min, max)  # noqa: A002
def floor_divide(x, y): return _lift(x).floor_divide(y)
def movedim(x, source, destination): return _lift(x).movedim(source, destination)
def lerp(start, end, weight): return _lift(start).lerp(end, weight)
def logaddexp(x, y): return _lift(x).logaddexp(y)
def isnan(x): return _lift(x).isnan()
def isinf(x): return _lift(x).isinf()
def isfinite(x): return _lift(x).isfinite()
def isclose(x, y, rtol=1e-05, atol=1e-08, equal_nan=False): return _lift(x).isclose(y, rtol, atol, equal_nan)
def logical_and(x, y): return _lift(x).logical_and(y)
def logical_or(x, y): return _lift(x).logical_or(y)
def logical_xor(x, y): return _lift(x).logical_xor(y)
def logical_not(x): return _lift(x).logical_not()
def bitwise_and(x, y): return _lift(x).bitwise_and(y)
def bitwise_or(x, y): return _lift(x).bitwise_or(y)
def bitwise_xor(x, y): return _lift(x).bitwise_xor(y)
def bitwise_not(x): return _lift(x).bitwise_not()


def gelu_exact(x: Any) -> Any:
    """GELU x = x·Φ(x) with Φ the standard normal CDF (PyTorch's default)."""
    return apply(P.GeluExact, _lift(x))


def prod(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    return _lift(x).prod(dim, keepdim, axis=axis, keepdims=keepdims)


def any(x, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001
    return _lift(x).any(dim, keepdim, axis=axis, keepdims=keepdims)


def all(x, dim=None, keepdim=False, *, axis=None, keepdims=False):  # noqa: A001
    return _lift(x).all(dim, keepdim, axis=axis, keepdims=keepdims)


def cumsum(x, dim=None, *, axis=None): return _lift(x).cumsum(dim, axis=axis)
def cumprod(x, dim=None, *, axis=None): return _lift(x).cumprod(dim, axis=axis)
def cummax(x, dim=None, *, axis=None): return _lift(x).cummax(dim, axis=axis)
def cummin(x, dim=None, *, axis=None): return _lift(x).cummin(dim, axis=axis)
def logcumsumexp(x, dim=None, *, axis=None): return _lift(x).logcumsumexp(dim, axis=axis)
def gather(x, dim, index): return _lift(x).gather(dim, index)
def take_along_dim(x, indices, dim=None): return _lift(x).take_along_dim(indices, dim)
def index_select(x, dim, index): return _lift(x).index_select(dim, index)
def scatter(x, dim, index, src=None, *, value=None): return _lift(x).scatter(dim, index, src, value=value)
def scatter_add(x, dim, index, src): return _lift(x).scatter_add(dim, index, src)


def scatter_reduce(x, dim, index, src, reduce, *, include_self=True):
    return _lift(x).scatter_reduce(dim, index, src, reduce, include_self=include_self)


def masked_fill(x, mask, value): return _lift(x).masked_fill(mask, value)
def masked_select(x, mask): return _lift(x).masked_select(mask)
def nonzero(x, *, as_tuple=False): return _lift(x).nonzero(as_tuple=as_tuple)
def tril(x, diagonal=0): return _lift(x).tril(diagonal)
def triu(x, diagonal=0): return _lift(x).triu(diagonal)
def diag(x, diagonal=0): return _lift(x).diag(diagonal)
def diagonal(x, offset=0, dim1=0, dim2=1): return _lift(x).diagonal(offset, dim1, dim2)
def split(x, split_size_or_sections, dim=0): return _lift(x).split(split_size_or_sections, dim)
def chunk(x, chunks, dim=0): return _lift(x).chunk(chunks, dim)
def tile(x, dims): return _lift(x).tile(dims)
def repeat_interleave(x, repeats, dim=None): return _lift(x).repeat_interleave(repeats, dim)
def roll(x, shifts, dims=None): return _lift(x).roll(shifts, dims)
def flip(x, dims): return _lift(x).flip(dims)
def sort(x, dim=-1, descending=False, stable=False): return _lift(x).sort(dim, descending, stable)
def argsort(x, dim=-1, descending=False, stable=False): return _lift(x).argsort(dim, descending, stable)


def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's name
    return _lift(x).topk(k, dim, largest, sorted)


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple:
    """Coordinate grids: the i-th output varies along axis i ("ij", PyTorch's default) or, for
    the first two, along axes 1 and 0 ("xy", NumPy's default)."""
    ts = [_lift(t) for t in (tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple))
                             else tensors)]
    if indexing not in ("ij", "xy"):
        raise ConfigError(f"meshgrid: indexing={indexing!r}; expected 'ij' or 'xy'")
    for t in ts:
        if t.ndim > 1:
            raise ConfigError(f"meshgrid: expected 0-d or 1-d tensors; got shape {t.shape}")
    sizes = [t.size for t in ts]
    if indexing == "xy" and len(ts) > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for k, t in enumerate(ts):
        axis = (1 - k if k < 2 else k) if indexing == "xy" and len(ts) > 1 else k
        shape = [1] * len(ts)
        shape[axis] = t.size
        out.append(t.reshape(shape).broadcast_to(sizes))
    return tuple(out)


def einsum(spec: str, *operands: Any) -> Any:
    """``numpy.einsum`` as one differentiable node: einsum("ij,jk->ik", a, b) is a @ b.

    >>> einsum("i,i->", Tensor([1.0, 2.0]), Tensor([3.0, 4.0])).item()
    11.0
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return apply(P.Einsum, *[_lift(o) for o in operands], spec=spec)
