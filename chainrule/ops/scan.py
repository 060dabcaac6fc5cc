"""Products and scans along an axis (issue 11): prod, cumsum, cumprod, cummax, logcumsumexp.

Primitives because no composite exists (a running sum is not a sum of fewer ops) or because
the composite is wrong at zeros: the gradient of Π x is not out/x where some x is 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import accumulate, get_backend
from .base import Op
from .reduce import _reshape_kept


def _int64(x: Any) -> Any:
    """The accumulator dtype: int64 for integer and bool inputs (PyTorch's; NumPy's is uint64
    for unsigned ones), else x's own."""
    return np.int64 if x.dtype.kind in "biu" else None


def flip_scan(xp: Any, f: Any, a: Any, axis: int) -> Any:
    """``f`` (an accumulate along ``axis``) run from the end: Σ_{j ≥ i} for f = cumsum."""
    return xp.flip(f(xp.flip(a, axis), axis=axis), axis)


def _exclusive_cumprod(xp: Any, a: Any) -> Any:
    """Π_{j < i} a_j along the last axis (1 at i = 0)."""
    ones = xp.ones(a.shape[:-1] + (1,), dtype=a.dtype)
    return xp.cumprod(xp.concatenate([ones, a[..., :-1]], axis=-1), axis=-1)[..., :a.shape[-1]]


class Prod(Op):
    """Π over ``axis`` (all axes when None);  ∂/∂x_i = Π_{j≠i} x_j, exact where some x_j = 0
    (products of the factors left and right of i, never out/x_i).

    Rules:
        forward: out = Π x over axis
        vjp: x̄ᵢ = g·Π_{j≠i} xⱼ
        jvp: Σᵢ tᵢ·Π_{j≠i} xⱼ
    """

    def forward(self, x, *, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims
        self.save(x)
        return x.prod(axis=axis, keepdims=keepdims, dtype=_int64(x))

    def _others(self):
        (x,) = self.saved
        xp = self.xp
        axes = tuple(range(x.ndim)) if self.axis is None else tuple(
            a % x.ndim for a in (self.axis if isinstance(self.axis, tuple) else (self.axis,)))
        rest = [a for a in range(x.ndim) if a not in axes]
        xt = x.transpose(rest + list(axes))
        flat = xt.reshape(xt.shape[:len(rest)] + (-1,))
        others = _exclusive_cumprod(xp, flat) * xp.flip(_exclusive_cumprod(xp, xp.flip(flat, -1)), -1)
        return others.reshape(xt.shape).transpose(np.argsort(rest + list(axes)))

    def vjp(self, g):
        return (_reshape_kept(g, self.saved[0].ndim, self.axis, self.keepdims, self.xp) * self._others(),)

    def jvp(self, t):
        return (t * self._others()).sum(axis=self.axis, keepdims=self.keepdims)


class Cumsum(Op):
    """Running sum along ``axis``;  the reverse rule is the running sum from the end.

    Rules:
        forward: outᵢ = Σ_{j≤i} xⱼ
        vjp: x̄ = running sum of g from the end
        jvp: running sum of t
    """

    def forward(self, x, *, axis):
        self.axis = axis
        return self.xp.cumsum(x, axis=axis, dtype=_int64(x))

    def vjp(self, g):
        return (flip_scan(self.xp, self.xp.cumsum, g, self.axis),)

    def jvp(self, t):
        return self.xp.cumsum(t, axis=self.axis)


class Cumprod(Op):
    """Running product y_i = Π_{j ≤ i} x_j along ``axis``;  ∂y_i/∂x_k = Π_{j ≤ i, j ≠ k} x_j.

    Before the first zero (at z) that is y_i/x_k; at z it is the running product with x_z
    replaced by 1; after z it is 0 (as PyTorch, exact at zeros).

    Rules:
        forward: outᵢ = Π_{j≤i} xⱼ
        vjp: x̄ₖ = Σ_{i≥k} gᵢ·Π_{j≤i, j≠k} xⱼ
        jvp: Σ_{k≤i} tₖ·Π_{j≤i, j≠k} xⱼ
    """

    def forward(self, x, *, axis):
        xp = self.xp
        y = xp.cumprod(x, axis=axis, dtype=_int64(x))
        pos = xp.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - 1 - axis % x.ndim))
        zero = x == 0
        z = xp.cumprod(~zero, axis=axis).sum(axis=axis, keepdims=True)  # leading non-zeros
        at_z = pos == z
        y1 = xp.cumprod(xp.where(at_z, 1, x), axis=axis)  # x_z replaced by 1
        self.axis = axis
        self.save(xp.where(zero, 1, x), y, y1, pos < z, at_z)
        return y

    def vjp(self, g):
        x, y, y1, before, at_z = self.saved
        xp, ax = self.xp, self.axis
        return (xp.where(before, flip_scan(xp, xp.cumsum, g * y, ax) / x,
                         xp.where(at_z, flip_scan(xp, xp.cumsum, g * y1, ax), 0)),)

    def jvp(self, t):
        x, y, y1, before, at_z = self.saved
        xp, ax = self.xp, self.axis
        first = y * xp.cumsum(xp.where(before, t / x, 0), axis=ax)  # k < z terms
        tz = (xp.where(at_z, t, 0)).sum(axis=ax, keepdims=True)
        return xp.where(before, first, tz * y1)


def cummax_indices(xp: Any, x: Any, values: Any, axis: int) -> Any:
    """Where each running maximum was last attained (ties go to the later index, as PyTorch)."""
    pos = xp.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - 1 - axis % x.ndim))
    return accumulate("maximum", xp.where(x == values, pos, 0), axis)


def along(xp: Any, index: Any, axis: int) -> tuple:
    """The integer-array index that picks ``index`` along ``axis`` and every position along
    the other axes: ``x[along(xp, i, a)]`` is ``take_along_axis(x, i, a)``."""
    nd, axis = index.ndim, axis % index.ndim
    return tuple(index if d == axis else xp.arange(n).reshape((n,) + (1,) * (nd - 1 - d))
                 for d, n in enumerate(index.shape))


class Cummax(Op):
    """Running maximum along ``axis``; each gradient goes to the element that was the maximum
    (running minimum as −cummax(−x)).

    Rules:
        forward: outᵢ = max_{j≤i} xⱼ
        vjp: x̄ₖ = Σ of the gᵢ whose running maximum is xₖ
        jvp: t at each running maximum
    """

    def forward(self, x, *, axis):
        xp = self.xp
        y = accumulate("maximum", x, axis)
        self.index = along(xp, cummax_indices(xp, x, y, axis), axis)
        self.shape = x.shape
        return y

    def vjp(self, g):
        gx = self.xp.zeros(self.shape, dtype=g.dtype)
        get_backend(g).scatter_add(gx, self.index, g)
        return (gx,)

    def jvp(self, t):
        return t[self.index]


class LogCumSumExp(Op):
    """log Σ_{j ≤ i} e^{x_j} along ``axis``, a running logaddexp (never overflows);
    ∂y_i/∂x_k = e^{x_k − y_i}, summed in log space split by the sign of g (as PyTorch).

    Rules:
        forward: outᵢ = ln Σ_{j≤i} e^(xⱼ)
        vjp: x̄ₖ = Σ_{i≥k} gᵢ·e^(xₖ − outᵢ)
        jvp: Σ_{k≤i} tₖ·e^(xₖ − outᵢ)
    """

    def forward(self, x, *, axis):
        y = accumulate("logaddexp", x, axis)
        self.axis = axis
        self.save(x, y)
        return y

    def _signed(self, a, scan, shift, post):
        xp = self.xp
        with np.errstate(divide="ignore", invalid="ignore"):
            pos = post(scan(xp.log(xp.where(a > 0, a, 0)) + shift))
            neg = post(scan(xp.log(xp.where(a < 0, -a, 0)) + shift))
        return xp.exp(pos) - xp.exp(neg)

    def vjp(self, g):
        x, y = self.saved
        xp, ax = self.xp, self.axis
        rscan = lambda a: xp.flip(accumulate("logaddexp", xp.flip(a, ax), ax), ax)  # noqa: E731
        return (self._signed(g, rscan, -y, lambda s: s + x),)

    def jvp(self, t):
        x, y = self.saved
        ax = self.axis
        return self._signed(t, lambda a: accumulate("logaddexp", a, ax), x, lambda s: s - y)
