"""The reductions of the Tensor's operator surface (a mixin of
:class:`chainrule.tensor.ArrayLike`), with PyTorch's names and meanings: ``dim``/``keepdim``
beside NumPy's ``axis``/``keepdims`` (never both), ``max(dim)``/``min(dim)`` as
``(values, indices)``, unbiased ``var``/``std`` by default, and NumPy's and PyTorch's nan/inf
for degenerate reductions. Each method is a primitive or a composite of primitives, applied
through ``type(self)._apply`` so it runs in reverse (Tensor) and forward (Dual) mode alike.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any
from collections.abc import Sequence

import numpy as np

from . import ops as P
from .backend import array_module
from .errors import AxisError, ConfigError, ShapeError

def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def dim_args(where: str, dim: Any, keepdim: Any, axis: Any, keepdims: Any) -> tuple[Any, bool]:
    """PyTorch's (dim, keepdim) or NumPy's (axis, keepdims), whichever was given, as one pair.

    Raises:
        ConfigError: both names of one argument were given.
    """
    if axis is not None:
        if dim is not None:
            raise ConfigError(f"{where}: got both dim={dim!r} and axis={axis!r}; give one (dim "
                              "is PyTorch's name, axis NumPy's)")
        dim = axis
    if keepdims is not None:
        if keepdim is not None:
            raise ConfigError(f"{where}: got both keepdim={keepdim!r} and keepdims={keepdims!r}; "
                              "give one (keepdim is PyTorch's name, keepdims NumPy's)")
        keepdim = keepdims
    return (tuple(dim) if isinstance(dim, list) else dim), bool(keepdim)


def _correction(correction: Any, unbiased: Any, ddof: Any) -> Any:
    """The variance's correction from PyTorch's ``correction`` or ``unbiased`` or NumPy's
    ``ddof`` (one at most); 1 when none is given, as in PyTorch."""
    given = {k: v for k, v in (("correction", correction), ("unbiased", unbiased),
                               ("ddof", ddof)) if v is not None}
    if len(given) > 1:
        raise ConfigError(f"var/std: got {given}; give one of correction, unbiased, ddof")
    if unbiased is not None:
        return 1 if unbiased else 0
    return next(iter(given.values()), 1)


MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


class Size(int):
    """A tensor's number of elements (NumPy's ``x.size``) that is also PyTorch's ``x.size()``
    (the shape) and ``x.size(dim)`` (one dim's length).

    >>> from chainrule import Tensor
    >>> s = Tensor([[1, 2, 3], [4, 5, 6]]).size
    >>> int(s), s(), s(-1)
    (6, (2, 3), 3)
    """

    def __new__(cls, shape: tuple[int, ...]) -> Size:
        s = super().__new__(cls, math.prod(shape))
        s.shape = tuple(shape)
        return s

    def __call__(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self.shape[check_axis(dim, self.shape)]


def check_axis(axis: int, shape: Sequence[int]) -> int:
    """``axis`` in ``[0, len(shape))``, counting negative axes from the end."""
    if not -len(shape) <= axis < len(shape):
        raise AxisError(f"axis {axis} is out of range for a tensor of shape {tuple(shape)}")
    return axis % len(shape)


def _count(shape: tuple[int, ...], axis: Any) -> int:
    """The number of elements a reduction over ``axis`` takes together."""
    if axis is None:
        return math.prod(shape)
    n = 1
    for a in axis if isinstance(axis, tuple) else (axis,):
        n *= shape[check_axis(a, shape)]
    return n

class Reductions:
    """Reductions over dims, for :class:`chainrule.tensor.ArrayLike`; they reach the data
    through its ``_apply``, ``_value`` and ``_const``."""

    __slots__ = ()

    # PyTorch's dim/keepdim, or NumPy's axis/keepdims (never both)
    def sum(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        if axis is not None or keepdims is not None:
            dim, keepdim = dim_args("sum", dim, keepdim, axis, keepdims)
        return self._apply(P.Sum, self, axis=_axis(dim), keepdims=bool(keepdim))

    def amax(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """The largest values over ``dim`` (all dims when None); ties share the gradient."""
        dim, keepdim = dim_args("amax", dim, keepdim, axis, keepdims)
        if self.dtype.kind != "f":  # ints and bools: nothing to differentiate
            return self._const(self._value().max(axis=dim, keepdims=keepdim))
        return self._apply(P.Max, self, axis=dim, keepdims=keepdim)

    def amin(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """The smallest values over ``dim``: −amax(−x)."""
        dim, keepdim = dim_args("amin", dim, keepdim, axis, keepdims)
        if self.dtype.kind != "f":
            return self._const(self._value().min(axis=dim, keepdims=keepdim))
        return -((-self).amax(dim, keepdim))

    def max(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """PyTorch's max: the largest element (0-d) without ``dim``; with an int ``dim`` a
        ``(values, indices)`` named tuple (the gradient goes to the element picked); with a
        tensor, the element-wise maximum. NumPy's ``axis=`` gives the values only (``amax``).

        >>> from chainrule import Tensor
        >>> Tensor([[1.0, 5.0], [7.0, 2.0]]).max(1).indices.tolist()
        [1, 0]
        """
        if isinstance(dim, (Reductions, np.ndarray)):
            return self._apply(P.Maximum, self, dim)
        if dim is None or axis is not None:
            return self.amax(dim, keepdim, axis=axis, keepdims=keepdims)
        return MaxResult(*self._pick("max", dim, keepdim, keepdims))

    def min(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """PyTorch's min, as :meth:`max`: ``(values, indices)`` with an int ``dim``."""
        if isinstance(dim, (Reductions, np.ndarray)):
            return self._apply(P.Minimum, self, dim)
        if dim is None or axis is not None:
            return self.amin(dim, keepdim, axis=axis, keepdims=keepdims)
        return MinResult(*self._pick("min", dim, keepdim, keepdims))

    def _pick(self, name, dim, keepdim, keepdims):
        """(values, indices) of the max or min along the one int ``dim``."""
        dim, keepdim = dim_args(name, dim, keepdim, None, keepdims)
        if not isinstance(dim, (int, np.integer)):
            raise AxisError(f"{name}(dim) takes one int dim; got {dim!r} (a{name}(dim) "
                            "reduces several dims to values only)")
        v = self._value()
        if v.ndim == 0:
            check_axis(dim, (1,))
            return self.reshape(()), self._const(array_module(v).zeros((), np.int64))
        d = check_axis(dim, v.shape)
        if v.shape[d] == 0:
            raise ShapeError(f"{name}(dim={dim}): dim {d} of shape {v.shape} is empty")
        idx = getattr(v, "arg" + name)(axis=d, keepdims=True)
        xp = array_module(v)
        index = tuple(idx if i == d else xp.arange(n).reshape((n,) + (1,) * (v.ndim - i - 1))
                      for i, n in enumerate(v.shape))
        values = self[index]
        return (values, self._const(idx)) if keepdim else (values.squeeze(d), self._const(idx.squeeze(d)))

    def logsumexp(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        dim, keepdim = dim_args("logsumexp", dim, keepdim, axis, keepdims)
        if self.ndim == 0:  # PyTorch: dim 0 or -1 of a 0-d tensor; the result is the tensor
            if dim is not None:
                check_axis(dim, (1,))
            return self.reshape(1).logsumexp(0)
        return self._apply(P.LogSumExp, self, axis=dim, keepdims=keepdim)

    def mean(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """Σx / n over ``dim``; nan over no elements (as NumPy and PyTorch)."""
        dim, keepdim = dim_args("mean", dim, keepdim, axis, keepdims)
        n = _count(self.shape, dim)
        return self.sum(dim, keepdim) * (1.0 / n if n else math.nan)

    def var(self, dim=None, keepdim=None, *, correction=None, unbiased=None, ddof=None,
            axis=None, keepdims=None):
        """Σ(x − mean)² / (n − correction); ``correction`` is 1 by default (PyTorch's unbiased
        variance; NumPy's default is ``ddof=0``). ``unbiased`` (bool) and ``ddof`` are other
        names for it. n − correction ≤ 0 gives inf (nan where all values are equal), as PyTorch.
        """
        dim, keepdim = dim_args("var", dim, keepdim, axis, keepdims)
        c = _correction(correction, unbiased, ddof)
        d = self - self.mean(dim, True)
        s = (d * d).sum(dim, keepdim)
        n = _count(self.shape, dim) - c
        if n > 0:
            return s * (1.0 / n)
        with np.errstate(divide="ignore", invalid="ignore"):
            return s / 0.0  # x/0 = inf, 0/0 = nan: PyTorch's and NumPy's degenerate answers

    def std(self, dim=None, keepdim=None, *, correction=None, unbiased=None, ddof=None,
            axis=None, keepdims=None):
        """√var (unbiased by default, as PyTorch); see :meth:`var`."""
        return self.var(dim, keepdim, correction=correction, unbiased=unbiased, ddof=ddof,
                        axis=axis, keepdims=keepdims).sqrt()

    def norm(self, p="fro", dim=None, keepdim=None, *, axis=None, keepdims=None):
        """The p-norm over ``dim`` (all elements when None): p = 2 or "fro" (√Σx², with
        gradient 0 at x = 0 as PyTorch), 1, inf, -inf, 0 (count of non-zeros) or any other
        number ((Σ|x|^p)^(1/p))."""
        dim, keepdim = dim_args("norm", dim, keepdim, axis, keepdims)
        if isinstance(p, str) and p != "fro" or isinstance(p, bool) \
                or not isinstance(p, (str, int, float)):
            raise ConfigError(f"norm: p={p!r} is not supported; expected 'fro' or a number "
                              "(2, 1, inf, -inf, 0, ...)")
        p = 2 if p == "fro" else p
        if p == math.inf:
            return self.abs().amax(dim, keepdim)
        if p == -math.inf:
            return self.abs().amin(dim, keepdim)
        if p == 0:
            v = self._value()
            return self._const((v != 0).sum(axis=dim, keepdims=keepdim).astype(v.dtype))
        if p == 1:
            return self.abs().sum(dim, keepdim)
        s = (self * self if p == 2 else self.abs() ** p).sum(dim, keepdim)
        pos = s._value() > 0  # where Σ = 0 the root's derivative is infinite: take 0 there
        safe = self._apply(P.Where, s, 1.0, cond=pos)
        return self._apply(P.Where, (safe.sqrt() if p == 2 else safe ** (1.0 / p)), 0.0, cond=pos)

    def argmax(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """The index of the largest element over ``dim`` (of the flattened tensor when None)."""
        return self._arg("argmax", dim, keepdim, axis, keepdims)

    def argmin(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """The index of the smallest element over ``dim`` (of the flattened tensor when None)."""
        return self._arg("argmin", dim, keepdim, axis, keepdims)

    def _arg(self, name, dim, keepdim, axis, keepdims):
        dim, keepdim = dim_args(name, dim, keepdim, axis, keepdims)
        v = self._value()
        if v.size == 0:
            raise ShapeError(f"{name}: the tensor of shape {v.shape} is empty")
        if v.ndim == 0 and dim is not None:
            check_axis(dim, (1,))
            dim = None
        return self._const(getattr(v, name)(axis=dim, keepdims=keepdim))

    def numel(self) -> int:
        """The number of elements."""
        return self._value().size
