"""The Tensor methods of the op families PyTorch users reach for (issue 11): trigonometric and
special functions, rounding, remainders, logical and bitwise ops, products and scans, gather
and scatter, masks, triangles and diagonals, split/repeat/roll/flip/unfold, sort and topk.

:class:`OpMethods` is a mixin of :class:`~chainrule.tensor.ArrayLike`, so every method works
for Tensor (reverse mode) and Dual (forward mode) alike. Each method names one primitive of
:mod:`chainrule.ops` or is a composite of them: no derivative code lives here. Where PyTorch
takes ``dim``/``keepdim``, NumPy's ``axis``/``keepdims`` work too.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import ops as P
from .backend import accumulate, array_module, as_array, is_device, on_backend_of, to_host
from .errors import AxisError, ConfigError, DTypeError, ShapeError
from .reductions import dim_args


class OpMethods:
    """The op-family methods of :class:`~chainrule.tensor.ArrayLike`; they use its ``_apply``,
    ``_value``, ``_const`` and operators.

    >>> from chainrule import Tensor
    >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> x.gather(1, [[1], [0]]).tolist()
    [[2.0], [3.0]]
    >>> values, indices = Tensor([3.0, 1.0, 2.0]).sort()
    >>> indices.tolist()
    [1, 2, 0]
    >>> x.prod(dim=1).sum().backward()
    >>> x.grad.tolist()
    [[2.0, 1.0], [4.0, 3.0]]
    """

    __slots__ = ()

    def sin(self): return self._apply(P.Sin, self)
    def cos(self): return self._apply(P.Cos, self)
    def tan(self): return self._apply(P.Tan, self)
    def asin(self): return self._apply(P.Asin, self)
    def acos(self): return self._apply(P.Acos, self)
    def atan(self): return self._apply(P.Atan, self)
    def atan2(self, other): return self._apply(P.Atan2, self, other)
    def sinh(self): return self._apply(P.Sinh, self)
    def cosh(self): return self._apply(P.Cosh, self)
    def asinh(self): return self._apply(P.Asinh, self)
    def acosh(self): return self._apply(P.Acosh, self)
    def atanh(self): return self._apply(P.Atanh, self)
    def erf(self): return self._apply(P.Erf, self)
    def erfc(self): return self._apply(P.Erfc, self)
    def log1p(self): return self._apply(P.Log1p, self)
    def expm1(self): return self._apply(P.Expm1, self)
    def log2(self): return self._apply(P.Log2, self)
    def log10(self): return self._apply(P.Log10, self)
    def exp2(self): return self._apply(P.Exp2, self)
    def sign(self): return self._apply(P.Sign, self)
    def floor(self): return self._apply(P.Floor, self)
    def ceil(self): return self._apply(P.Ceil, self)
    def trunc(self): return self._apply(P.Trunc, self)
    def round(self, decimals=0): return self._apply(P.Round, self, decimals=decimals)
    def fmod(self, other): return self._apply(P.Fmod, self, other)
    def remainder(self, other): return self._apply(P.Remainder, self, other)
    def reciprocal(self): return 1 / _floated(self)
    def rsqrt(self): return 1 / _floated(self).sqrt()
    def square(self): return self * self if self.dtype.kind != "b" else self._const(self._value() * 1)
    __mod__ = remainder
    def __rmod__(self, o): return self._apply(P.Remainder, o, self)
    def neg(self): return -self
    negative = neg

    def clamp(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        """PyTorch's clamp: x limited to [min, max] (numbers or tensors); the gradient is 1
        inside, 0 where clamped (an int tensor with a float bound gives float32)."""
        x = self if self.dtype.kind == "f" or not any(type(b) is float for b in (min, max)) \
            else self._cast(np.dtype(np.float32))
        if hasattr(min, "shape") or hasattr(max, "shape"):  # tensor bounds: max/min composites
            x = x if min is None else self._apply(P.Maximum, x, min)
            return x if max is None else self._apply(P.Minimum, x, max)
        return x.clip(min, max)

    def floor_divide(self, other):
        """x // y rounded down (Python's and PyTorch's //), in PyTorch's result dtype. A
        constant: it has no gradient (PyTorch's backward raises there)."""
        return self._const(_floor_divide(self, other))

    __floordiv__ = floor_divide
    def __rfloordiv__(self, o): return self._const(_floor_divide(o, self))

    def copysign(self, other):
        """|x| with the sign of ``other`` (its sign bit, so −0.0 counts as negative)."""
        s = array_of(other)
        s = array_module(s).where(array_module(s).signbit(s), -1.0, 1.0)
        return _floated(self).abs() * self._const(s.astype(_float_of(self.dtype)))

    def lerp(self, end, weight):
        """self + weight·(end − self)."""
        return self + weight * (end - self)

    def logaddexp(self, other): return self._apply(P.LogAddExp, self, other)

    def isnan(self): return self._const(array_module(self._value()).isnan(self._value()))
    def isinf(self): return self._const(array_module(self._value()).isinf(self._value()))
    def isfinite(self): return self._const(array_module(self._value()).isfinite(self._value()))

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        v = self._value()
        return self._const(array_module(v).isclose(v, array_of(other), rtol, atol, equal_nan))

    def logical_and(self, o): return self._const(np.logical_and(self._value(), array_of(o)))
    def logical_or(self, o): return self._const(np.logical_or(self._value(), array_of(o)))
    def logical_xor(self, o): return self._const(np.logical_xor(self._value(), array_of(o)))
    def logical_not(self): return self._const(np.logical_not(self._value()))
    def bitwise_and(self, o): return self._const(_bits(self, o, "bitwise_and"))
    def bitwise_or(self, o): return self._const(_bits(self, o, "bitwise_or"))
    def bitwise_xor(self, o): return self._const(_bits(self, o, "bitwise_xor"))
    def bitwise_not(self): return self._const(_bits(self, None, "invert"))
    __and__, __or__, __xor__, __invert__ = bitwise_and, bitwise_or, bitwise_xor, bitwise_not
    __rand__, __ror__, __rxor__ = bitwise_and, bitwise_or, bitwise_xor
    def bitwise_left_shift(self, o): return self._const(_bits(self, o, "left_shift"))
    def bitwise_right_shift(self, o): return self._const(_bits(self, o, "right_shift"))
    __lshift__, __rshift__ = bitwise_left_shift, bitwise_right_shift

    # reductions and scans
    def prod(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        """Π over ``dim``; its gradient is exact where some factors are 0."""
        return self._apply(P.Prod, self, axis=_tuple_axis(_dims(dim, axis, "prod")),
                           keepdims=keepdim or keepdims)

    def any(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        ax = _tuple_axis(_dims(dim, axis, "any"))
        return self._const(self._value().any(axis=ax, keepdims=keepdim or keepdims))

    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        ax = _tuple_axis(_dims(dim, axis, "all"))
        return self._const(self._value().all(axis=ax, keepdims=keepdim or keepdims))

    def cumsum(self, dim=None, *, axis=None): return _scan(self, P.Cumsum, dim, axis, "cumsum")
    def cumprod(self, dim=None, *, axis=None): return _scan(self, P.Cumprod, dim, axis, "cumprod")

    def logcumsumexp(self, dim=None, *, axis=None):
        return _scan(_floated(self), P.LogCumSumExp, dim, axis, "logcumsumexp")

    def cummax(self, dim=None, *, axis=None):
        """(values, indices): the running maximum and where it was last attained."""
        d = _dims(dim, axis, "cummax")
        x = self.reshape(-1) if d is None or self.ndim == 0 else self
        d = 0 if d is None or self.ndim == 0 else _axis_of(d, self.shape)
        v = x._value()
        xp = array_module(v)
        i = P.cummax_indices(xp, v, accumulate("maximum", v, d), d)
        out = x._apply(P.Cummax, x, axis=d)
        return ValuesIndices(*((out.reshape(()), self._const(i.reshape(()))) if self.ndim == 0
                               else (out, self._const(i))))

    def cummin(self, dim=None, *, axis=None):
        """(values, indices): the running minimum, −cummax(−x)."""
        v, i = (-self).cummax(dim, axis=axis)
        return ValuesIndices(-v, i)

    # indexing
    def gather(self, dim, index):
        """out[i][j] = x[index[i][j]][j] for dim 0 (and so on): PyTorch's gather."""
        idx, d = _along_index(self, index, dim, "gather")
        return self[P.along(array_module(idx), idx, d)]

    def take_along_dim(self, indices, dim=None):
        """x picked at ``indices`` along ``dim``, the other axes broadcast (flat when None)."""
        idx = _ints(self, indices, "take_along_dim", None)
        if dim is None:
            return self.reshape(-1).gather(0, idx.reshape(-1))
        d = _axis_of(dim, self.shape)
        shape = list(np.broadcast_shapes(_drop(self.shape, d), _drop(idx.shape, d)))
        x = self.broadcast_to(shape[:d] + [self.shape[d]] + shape[d:])
        return x.gather(d, array_module(idx).broadcast_to(idx, shape[:d] + [idx.shape[d]] + shape[d:]))

    def index_select(self, dim, index):
        d = _axis_of(dim, self.shape)
        if np.ndim(array_of(index)) > 1:
            raise ShapeError(f"index_select: index must be 0-d or 1-d; got shape {np.shape(index)}")
        return self[(slice(None),) * d + (_ints(self, index, "index_select", d).reshape(-1),)]

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        """x with ``src`` (or ``value``) written at ``index`` along ``dim``: PyTorch's scatter."""
        if reduce is not None:
            return self.scatter_reduce(dim, index, src if value is None else value,
                                       {"add": "sum", "multiply": "prod"}.get(reduce, reduce))
        return _scatter(self, P.IndexPut, dim, index, src if value is None else value, "scatter")

    def scatter_add(self, dim, index, src):
        return _scatter(self, P.IndexAdd, dim, index, src, "scatter_add")

    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        """x with ``src`` reduced into it at ``index`` along ``dim`` by "sum", "mean", "prod",
        "amax" or "amin" (PyTorch's scatter_reduce)."""
        if reduce in ("prod", "amax", "amin"):
            return _scatter(self, P.IndexReduce, dim, index, src, "scatter_reduce", reduce=reduce,
                            include_self=include_self)
        if reduce not in ("sum", "mean"):
            raise ConfigError(f"scatter_reduce: reduce={reduce!r}; expected 'sum', 'prod', "
                              "'mean', 'amax' or 'amin'")
        base = self if include_self else _scatter(self, P.IndexPut, dim, index, 0.0, "scatter")
        out = _scatter(base, P.IndexAdd, dim, index, src, "scatter_reduce")
        if reduce == "sum":
            return out
        ones = np.ones(np.shape(array_of(index)), dtype=_float_of(self.dtype))
        n = _scatter(self._const(np.full(self.shape, float(include_self), ones.dtype)), P.IndexAdd,
                     dim, index, ones, "scatter_reduce")
        return out / self._const(np.maximum(n._value(), 1))

    def masked_fill(self, mask, value):
        """x with ``value`` where ``mask`` (broadcast to x's shape) is true."""
        m = array_module(self._value()).broadcast_to(_mask(self, mask, "masked_fill"), self.shape)
        return self._apply(P.Where, value, self, cond=m)

    def masked_select(self, mask):
        """The elements of x where ``mask`` is true, as one 1-D tensor (both broadcast)."""
        m = _mask(self, mask, "masked_select")
        shape = np.broadcast_shapes(self.shape, m.shape)
        return self.broadcast_to(shape)[array_module(m).broadcast_to(m, shape)]

    def nonzero(self, *, as_tuple=False):
        """The indices of the non-zero elements: an (n, ndim) tensor, or one per axis."""
        v = self._value()
        if as_tuple:
            return tuple(self._const(i) for i in array_module(v).nonzero(v))
        return self._const(array_module(v).argwhere(v))

    def tril(self, diagonal=0): return _triangle(self, diagonal, lower=True)
    def triu(self, diagonal=0): return _triangle(self, diagonal, lower=False)

    def diagonal(self, offset=0, dim1=0, dim2=1):
        """The diagonal of the (dim1, dim2) planes, as the last axis (PyTorch's order)."""
        d1, d2 = _axis_of(dim1, self.shape), _axis_of(dim2, self.shape)
        x = self.permute([a for a in range(self.ndim) if a not in (d1, d2)] + [d1, d2])
        n1, n2 = self.shape[d1], self.shape[d2]
        k = max(0, min(n1 - max(0, -offset), n2 - max(0, offset)))
        xp = array_module(self._value())
        return x[..., xp.arange(k) + max(0, -offset), xp.arange(k) + max(0, offset)]

    def diag(self, diagonal=0):
        """A 1-D tensor as the ``diagonal`` of a square matrix; a matrix's ``diagonal``."""
        if self.ndim == 2:
            return self.diagonal(diagonal)
        if self.ndim != 1:
            raise ShapeError(f"diag: expected a 1-D or 2-D tensor; got shape {self.shape}")
        k, n = abs(diagonal), self.shape[0] + abs(diagonal)
        v = self._apply(P.Pad, self, pad_width=((0, k),))
        v = v.unsqueeze(1) if diagonal >= 0 else v.unsqueeze(0)
        eye = array_module(self._value()).eye(n, k=diagonal, dtype=bool)
        return self._apply(P.Where, v, 0, cond=eye)

    # shapes
    def split(self, split_size_or_sections, dim=0):
        """Pieces of ``split_size`` along ``dim`` (the last may be shorter), or of the given sizes."""
        d = _axis_of(dim, self.shape)
        n = self.shape[d]
        s = split_size_or_sections
        sizes = [s] * (n // s) + ([n % s] if n % s else []) if isinstance(s, int) else list(s)
        if sum(sizes) != n:
            raise ShapeError(f"split: sections {sizes} sum to {sum(sizes)}, not to the "
                             f"size {n} of dim {dim} (shape {self.shape})")
        cuts = np.cumsum([0] + sizes)
        return tuple(self[(slice(None),) * d + (slice(a, b),)] for a, b in zip(cuts, cuts[1:]))

    def chunk(self, chunks, dim=0):
        """At most ``chunks`` pieces along ``dim`` of ⌈n/chunks⌉ each (the last may be shorter)."""
        return self.split(max(1, -(-self.shape[_axis_of(dim, self.shape)] // chunks)), dim)

    def repeat(self, *sizes):
        """x repeated ``sizes[i]`` times along each axis (PyTorch's repeat, NumPy's tile)."""
        sizes = tuple(sizes[0]) if len(sizes) == 1 and not isinstance(sizes[0], int) else sizes
        if len(sizes) < self.ndim:
            raise ShapeError(f"repeat: {len(sizes)} repeat counts for a {self.ndim}-d tensor; "
                             "give at least one per axis")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        x = self.reshape([m for n in shape for m in (1, n)])
        x = x.broadcast_to([m for r, n in zip(sizes, shape) for m in (r, n)])
        return x.reshape([r * n for r, n in zip(sizes, shape)])

    def tile(self, dims):
        dims = tuple(dims)
        return self.repeat((1,) * (self.ndim - len(dims)) + dims)

    def repeat_interleave(self, repeats, dim=None):
        """Each element repeated ``repeats`` times (an int or one count per element) along ``dim``."""
        x, d = (self.reshape(-1), 0) if dim is None else (self, _axis_of(dim, self.shape))
        r = array_of(repeats)
        return x.index_select(d, np.repeat(np.arange(x.shape[d]), to_host(r)))

    def roll(self, shifts, dims=None):
        """x shifted cyclically by ``shifts`` along ``dims`` (the flattened x when None)."""
        if dims is None:
            return self.reshape(-1).roll(shifts, 0).reshape(self.shape)
        x = self
        for s, d in zip(*(_tuple(shifts), _tuple(dims))):
            n = self.shape[_axis_of(d, self.shape)]
            x = x.index_select(d, (np.arange(n) - s) % max(n, 1))
        return x

    def movedim(self, source, destination):
        """The dims ``source`` moved to the places ``destination`` (PyTorch's movedim, NumPy's
        moveaxis); the others keep their order."""
        src = [_axis_of(d, self.shape) for d in _tuple(source)]
        order = [a for a in range(self.ndim) if a not in src]
        for d, a in sorted(zip((_axis_of(d, self.shape) for d in _tuple(destination)), src)):
            order.insert(d, a)
        return self.permute(tuple(order))

    moveaxis = movedim

    def flip(self, *dims):
        dims = _tuple(dims[0]) if len(dims) == 1 else dims
        if self.ndim == 0:  # dim 0 or -1 of a 0-d tensor: nothing to reverse (PyTorch)
            [_axis_of(d, (1,)) for d in dims]
            return self.clone()
        ax = {_axis_of(d, self.shape) for d in dims}
        return self[tuple(slice(None, None, -1) if a in ax else slice(None) for a in range(self.ndim))]

    def unfold(self, dimension, size, step):
        """Every window of ``size`` along ``dimension`` taken ``step`` apart, as a new last axis."""
        d = _axis_of(dimension, self.shape)
        if size > self.shape[d] or step < 1:
            raise ShapeError(f"unfold: size {size} and step {step} do not fit dim {dimension} of "
                             f"shape {self.shape}; expected size <= {self.shape[d]} and step >= 1")
        idx = np.arange((self.shape[d] - size) // step + 1)[:, None] * step + np.arange(size)
        x = self[(slice(None),) * d + (array_module(self._value()).asarray(idx),)]
        return x.permute([a for a in range(x.ndim) if a != d + 1] + [d + 1])

    # ordering
    def sort(self, dim=-1, descending=False, stable=False):
        """(values, indices) along ``dim``; ties keep their order; NaN counts as largest."""
        i = self.argsort(dim, descending, stable)
        if self.ndim == 0:
            return ValuesIndices(self.reshape(()), i)
        return ValuesIndices(self.take_along_dim(i, _axis_of(dim, self.shape)), i)

    def argsort(self, dim=-1, descending=False, stable=False):
        v = self._value()
        if v.ndim == 0:
            return self._const(array_module(v).zeros((), np.int64))
        return self._const(_argsort(v, _axis_of(dim, v.shape), descending))

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's name
        """(values, indices) of the ``k`` largest (smallest) along ``dim``; gradients flow to
        the values' places."""
        if self.ndim == 0:  # PyTorch's 0-d topk: a 1-element tensor's, as 0-d
            v, i = self.reshape(1).topk(k, _axis_of(dim, (1,)), largest, sorted)
            return ValuesIndices(v.reshape(()), i.reshape(())) if k == 1 else ValuesIndices(v, i)
        d = _axis_of(dim, self.shape)
        if not 0 <= k <= self.shape[d]:
            raise ShapeError(f"topk: k={k} is out of range for dim {dim} of size {self.shape[d]}")
        i = self.argsort(d, descending=largest)[(slice(None),) * d + (slice(0, k),)]
        return ValuesIndices(self.take_along_dim(i, d), i)


class ValuesIndices(NamedTuple):
    """(values, indices), as PyTorch's sort, topk, cummax and cummin return them."""

    values: Any
    indices: Any


def _dims(dim: Any, axis: Any, where: str) -> Any:
    """The axes given as PyTorch's ``dim`` or NumPy's ``axis`` (see reductions.dim_args)."""
    return dim_args(where, dim, None, axis, None)[0]


def _float_of(dtype: np.dtype) -> np.dtype:
    return dtype if dtype.kind == "f" else np.dtype(np.float32)


def _floated(x: OpMethods) -> OpMethods:
    """x, or an integer or bool x as a float32 constant (as PyTorch's float functions)."""
    return x if x.dtype.kind == "f" else x._const(x._value().astype(np.float32))


def _like(x: OpMethods, o: Any) -> OpMethods:
    return o if isinstance(o, OpMethods) else x._const(as_array(array_of(o)).astype(x.dtype))


def _floor_divide(x: Any, y: Any) -> Any:
    a, b = (np.float32(v) if type(v) is float else array_of(v) for v in (x, y))
    if hasattr(a, "dtype") and hasattr(b, "dtype") and a.dtype != b.dtype:
        a, b = P.promote(a, b)
    return array_module(a if hasattr(a, "dtype") else b).floor_divide(a, b)


def _bits(x: OpMethods, o: Any, name: str) -> Any:
    v, w = x._value(), array_of(o)
    for a in (v,) if o is None else (v, w):
        if np.asarray(a).dtype.kind not in "biu" if not is_device(a) else a.dtype.kind not in "biu":
            raise DTypeError(f"{name}: expected integer or bool tensors; got dtype "
                             f"{np.result_type(a)}")
    xp = array_module(v)
    return getattr(xp, name)(v) if o is None else getattr(xp, name)(v, w)


def _ints(x: OpMethods, index: Any, where: str, d: int | None) -> Any:
    """``index`` as integers on x's backend, each in [0, n) for the n places along axis ``d``
    (PyTorch takes no negative indices here)."""
    idx = on_backend_of(x._value(), array_of(index))
    if idx.size == 0:
        return idx.astype(np.int64)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"{where}: index must hold integers; got dtype {idx.dtype}")
    n = x.shape[d] if d is not None else x.size
    lo, hi = int(idx.min()), int(idx.max())
    if lo < 0 or hi >= n:
        raise AxisError(f"{where}: index values must lie in [0, {n}) for dim {d} of shape "
                        f"{x.shape}; got values from {lo} to {hi}")
    return idx


def _along_index(x: OpMethods, index: Any, dim: int, where: str) -> tuple[Any, int]:
    """gather's and scatter's index: as many axes as x, no longer than x's except along dim."""
    d = _axis_of(dim, x.shape)
    idx = _ints(x, index, where, d)
    if idx.ndim != x.ndim or any(i > n for k, (i, n) in enumerate(zip(idx.shape, x.shape)) if k != d):
        raise ShapeError(f"{where}: index of shape {idx.shape} does not fit a tensor of shape "
                         f"{x.shape} along dim {dim}; expected as many axes, each no longer "
                         "than the tensor's except along dim")
    return idx, d


def _mask(x: OpMethods, mask: Any, where: str) -> Any:
    m = on_backend_of(x._value(), array_of(mask))
    if m.dtype != np.bool_:
        raise DTypeError(f"{where}: mask must be a bool tensor; got dtype {m.dtype}")
    return m


def _drop(shape: tuple, d: int) -> tuple:
    return shape[:d] + shape[d + 1:]


def _tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _scan(x: OpMethods, op: type[P.Op], dim: Any, axis: Any, where: str) -> Any:
    """``op`` along one axis; over the flattened x when no axis is given (NumPy's default)."""
    d = _dims(dim, axis, where)
    if d is None or x.ndim == 0:
        return x._apply(op, x.reshape(-1), axis=0).reshape(x.shape if x.ndim == 0 else (-1,))
    return x._apply(op, x, axis=_axis_of(d, x.shape))


def _scatter(x: OpMethods, op: type[P.Op], dim: int, index: Any, src: Any, where: str,
             **params: Any) -> Any:
    idx, d = _along_index(x, index, dim, where)
    if np.ndim(array_of(src)):  # only the part of src that index covers is read
        part = tuple(slice(0, n) for n in idx.shape)
        src = src[part] if isinstance(src, OpMethods) else array_of(src)[part]
    return x._apply(op, x, src, index=P.along(array_module(idx), idx, d), **params)


def _triangle(x: OpMethods, k: int, lower: bool) -> Any:
    if x.ndim < 2:
        raise ShapeError(f"{'tril' if lower else 'triu'}: expected at least 2 axes; got shape {x.shape}")
    n, m = x.shape[-2:]
    xp = array_module(x._value())
    mask = xp.tri(n, m, k, dtype=bool) if lower else ~xp.tri(n, m, k - 1, dtype=bool)
    return x._apply(P.Where, x, 0, cond=mask)


def _argsort(v: Any, d: int, descending: bool) -> Any:
    """Stable argsort; descending as the reverse of an ascending sort of the reversed x, so
    ties keep their order and NaN comes first (as PyTorch's stable sort)."""
    xp = array_module(v)
    if not descending:
        return xp.argsort(v, axis=d, kind="stable")
    i = xp.argsort(xp.flip(v, d), axis=d, kind="stable")
    return xp.flip(v.shape[d] - 1 - i, d)


def array_of(o: Any) -> Any:
    """The array inside a Tensor (its data) or a Dual (its primal); anything else as it is."""
    return o._value() if isinstance(o, OpMethods) else o


def _tuple_axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _axis_of(axis: int, shape: tuple) -> int:
    """``axis`` in ``[0, len(shape))``, counting negative axes from the end."""
    if not -len(shape) <= axis < len(shape):
        raise AxisError(f"axis {axis} is out of range for a tensor of shape {tuple(shape)}")
    return axis % len(shape)
