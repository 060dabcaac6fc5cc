"""Reductions: sum, max and the stable log-sum-exp (mean, min, var are composites)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Op


def _reshape_kept(y: Any, x_ndim: int, axis: Any, keepdims: bool, xp: Any) -> Any:
    if axis is None:
        return y.reshape((1,) * x_ndim) if not keepdims else y
    return y if keepdims else xp.expand_dims(y, axis)


class Sum(Op):
    """Σ over ``axis`` (all axes when None).

    Rules:
        forward: out = Σ x over axis
        vjp: x̄ = g broadcast back to x's shape
        jvp: Σ t over axis
    """

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
    """max over ``axis``; tied maxima share the gradient equally.

    Rules:
        forward: out = max x over axis
        vjp: x̄ = g at the maxima (shared equally at ties)
        jvp: t at the maxima (averaged at ties)
    """

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


def logsumexp_and_softmax(xp: Any, x: Any, axis: Any, finite_shift: bool = True
                          ) -> tuple[Any, Any, Any]:
    """(m, log Σ e^(x−m), softmax x) along ``axis`` (kept), with m = max x: log Σ e^x =
    m + log Σ e^(x−m) never overflows, and the softmax is its derivative.

    ``finite_shift`` replaces ±inf maxima by 0 so all -inf rows give -inf, not inf - inf;
    callers whose result is nan for such rows anyway skip it.
    """
    host = type(x) is np.ndarray  # (ufunc.reduce: ndarray.max/.sum add a Python wrapper per call)
    m = (np.maximum.reduce(x, axis, None, None, True) if host else x.max(axis=axis, keepdims=True)) \
        if x.size else x.max(axis, keepdims=True, initial=-xp.inf)
    if finite_shift:
        m = xp.where(xp.isfinite(m), m, 0)
    e = x - m
    e = xp.exp(e, out=e) if e.dtype.kind == "f" else xp.exp(e)  # in place: one array fewer
    s = np.add.reduce(e, axis, None, None, True) if host else e.sum(axis=axis, keepdims=True)
    e /= s
    if not x.size:  # an empty sum's log is −inf, not a warning
        with np.errstate(divide="ignore"):
            return m, xp.log(s), e
    return m, xp.log(s), e


class LogSumExp(Op):
    """log Σ e^x = m + log Σ e^(x−m), m = max x (never overflows);  gradient softmax(x).

    Rules:
        forward: out = ln Σ e^x = m + ln Σ e^(x − m),  m = max x
        vjp: x̄ = g·softmax(x)
        jvp: Σ softmax(x)·t
    """

    def forward(self, x, *, axis=None, keepdims=False):
        xp = self.xp
        if x.dtype.kind != "f":  # int and bool inputs give float32, as in PyTorch
            x = x.astype(xp.float32)
        m, log_s, p = logsumexp_and_softmax(xp, x, axis)
        out_kept = log_s + m
        self.axis, self.keepdims = axis, keepdims
        self.save(p)
        if keepdims:
            return out_kept
        return out_kept.reshape(()) if axis is None else xp.squeeze(out_kept, axis=axis)

    def vjp(self, g):
        (p,) = self.saved
        return (_reshape_kept(g, p.ndim, self.axis, self.keepdims, self.xp) * p,)

    def jvp(self, t):
        return (t * self.saved[0]).sum(axis=self.axis, keepdims=self.keepdims)


class SoftmaxCrossEntropy(Op):
    """−ln softmax(z)[t] = logsumexp(z) − z_t per row, classes on the last axis (notes §3, objectives);
    with ``mean=True`` their mean, the usual training objective.

    Fused because softmax and cross-entropy always travel together in classifiers: one node
    instead of about ten, and the gradient is simply (softmax(z) − onehot(t))·g (÷ rows for
    the mean). ``target`` holds integer class indices of shape z.shape[:-1] (not
    differentiated).

    Rules:
        forward: out = logsumexp(z) − z_target per row (their mean with mean=True)
        vjp: z̄ = g·(softmax(z) − onehot(target))  (÷ rows for the mean)
        jvp: Σ (softmax(z) − onehot(target))·t  (÷ rows for the mean)
    """

    def forward(self, z, *, target, mean=False):
        xp = self.xp
        if z.base is not None and not z.flags.c_contiguous:  # (vjp writes via d.reshape(-1))
            z = xp.ascontiguousarray(z)
        # a row whose max is ±inf has no finite loss (it comes out nan): no finite shift needed
        m, log_s, p = logsumexp_and_softmax(xp, z, -1, finite_shift=False)
        # z_t's positions in the flattened z: a 1-D gather here and a 1-D scatter in vjp
        # (about 3x cheaper than indexing with (row, class) pairs)
        n_classes = z.shape[-1]
        self.flat = xp.arange(0, target.size * n_classes, n_classes) + target.reshape(-1)
        self.mean = mean
        self.save(p)
        # per row: log Σ e^(z−m) − (z_t − m)
        loss = log_s.reshape(-1) - (z.reshape(-1)[self.flat] - m.reshape(-1))
        # NOTE: sum / n rather than .mean(): NumPy's mean wrapper costs microseconds per call
        if not mean:
            return loss.reshape(target.shape)
        return (np.add.reduce(loss, None) if type(loss) is np.ndarray else loss.sum()) / max(loss.size, 1)

    def vjp(self, g):
        (p,) = self.saved
        if self.mean:  # one cotangent shared by every row
            g = g / max(self.flat.size, 1)
            d = p * g
        else:
            d = p * g[..., None]
            g = g.reshape(-1)
        d.reshape(-1)[self.flat] -= g
        return (d,)

    def jvp(self, tz):
        (p,) = self.saved
        picked = tz.reshape(-1)[self.flat].reshape(p.shape[:-1])
        rows = (tz * p).sum(axis=-1) - picked
        return rows.sum() / max(rows.size, 1) if self.mean else rows
