"""Reductions: sum, max and the stable log-sum-exp (mean, min, var are composites)."""

from __future__ import annotations

from typing import Any

from .base import Op


def _reshape_kept(y: Any, x_ndim: int, axis: Any, keepdims: bool, xp: Any) -> Any:
    if axis is None:
        return y.reshape((1,) * x_ndim) if not keepdims else y
    return y if keepdims else xp.expand_dims(y, axis)


class Sum(Op):
    """Σ over ``axis`` (all axes when None)."""

    def forward(self, x, *, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return x.sum(axis=axis, keepdims=keepdims)

    def vjp(self, g):
        gx = self.xp.empty(self.shape, dtype=g.dtype)  # a fresh array: no copy needed later
        gx[...] = _reshape_kept(g, len(self.shape), self.axis, self.keepdims, self.xp)
        return (gx,)

    def jvp(self, t):
        return t.sum(axis=self.axis, keepdims=self.keepdims)


class Max(Op):
    """max over ``axis``; tied maxima share the gradient equally."""

    def forward(self, x, *, axis=None, keepdims=False):
        xp = self.xp
        out = x.max(axis=axis, keepdims=keepdims)
        kept = _reshape_kept(out, x.ndim, axis, keepdims, xp)
        mask = (x == kept).astype(x.dtype)
        mask /= mask.sum(axis=axis, keepdims=True)
        self.axis, self.keepdims = axis, keepdims
        self.save(mask)
        return out

    def vjp(self, g):
        (mask,) = self.saved
        return (_reshape_kept(g, mask.ndim, self.axis, self.keepdims, self.xp) * mask,)

    def jvp(self, t):
        return (t * self.saved[0]).sum(axis=self.axis, keepdims=self.keepdims)


class LogSumExp(Op):
    """log Σ e^x = m + log Σ e^(x−m), m = max x (never overflows);  gradient softmax(x)."""

    def forward(self, x, *, axis=None, keepdims=False):
        xp = self.xp
        m = x.max(axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)  # all -inf rows: avoid inf - inf
        e = xp.exp(x - m)
        s = e.sum(axis=axis, keepdims=True)
        out_kept = xp.log(s) + m
        self.axis, self.keepdims = axis, keepdims
        self.save(e / s)  # softmax, the derivative
        if keepdims:
            return out_kept
        return out_kept.reshape(()) if axis is None else xp.squeeze(out_kept, axis=axis)

    def vjp(self, g):
        (p,) = self.saved
        return (_reshape_kept(g, p.ndim, self.axis, self.keepdims, self.xp) * p,)

    def jvp(self, t):
        return (t * self.saved[0]).sum(axis=self.axis, keepdims=self.keepdims)
