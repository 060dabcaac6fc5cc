"""Matrix products: batched matmul and the fused linear layer x·Wᵀ + b."""

from __future__ import annotations

import numpy as np

from .base import Op, add_tangents, promote
from .elementwise import ACTIVATIONS


class MatMul(Op):
    """x @ y (batched over leading axes, NumPy's matmul rules for 1-D operands).

    Rules:
        forward: out = x @ y
        vjp: x̄ = g @ yᵀ;  ȳ = xᵀ @ g
        jvp: t_x @ y + x @ t_y
    """

    def forward(self, x, y):
        if x.dtype is not y.dtype:  # (PyTorch refuses; its result dtype, as the other ops)
            x, y = promote(x, y)
        self.save(x, y)
        if x.ndim == 2 and y.ndim == 2:
            return self.xp.dot(x, y)  # dot keeps the BLAS fast path when an inner dim is 1
        return self.xp.matmul(x, y)

    def vjp(self, g):
        x, y = self.saved
        xp = self.xp
        nx, ny = self.needs_grad
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        if y.ndim == 1:  # this order also handles vector @ vector, where g is 0-d
            g = xp.expand_dims(g, -1)
        if x.ndim == 1:
            g = xp.expand_dims(g, -2)
        gx = gy = None
        if g.ndim == 2 and x2.ndim == 2 and y2.ndim == 2:
            if nx:
                gx = xp.dot(g, y2.T)
            if ny:
                gy = xp.dot(x2.T, g)
        else:
            if nx:
                gx = xp.matmul(g, xp.swapaxes(y2, -1, -2))
            if ny:
                gy = xp.matmul(xp.swapaxes(x2, -1, -2), g)
        # 1-D operands: drop the axis we added; the engine sums any batch axes away.
        if gx is not None and x.ndim == 1:
            gx = gx[..., 0, :]
        if gy is not None and y.ndim == 1:
            gy = gy[..., :, 0]
        return gx, gy

    def jvp(self, tx, ty):
        x, y = self.saved
        mm = self.xp.matmul
        return add_tangents(None if tx is None else mm(tx, y), None if ty is None else mm(x, ty))


class Linear(Op):
    """x·Wᵀ + b, the dense layer a = W·a_prev + b (notes §1, the neuron) fused into one node; with
    ``activation`` ("relu", "sigmoid" or "tanh") also y = f(x·Wᵀ + b), whose derivative is
    taken from y (the functions live with the activation ops, ``ACTIVATIONS``).

    ``weight`` is (out, in) as in PyTorch; ``x`` is (..., in). The bias is optional. A dense
    layer and its activation travel together in every MLP: one node instead of two.

    Rules:
        forward: out = f(x·Wᵀ + b),  f the optional activation
        vjp: with d = g·f′:  x̄ = d·W;  W̄ = dᵀ·x;  b̄ = Σ d over rows
        jvp: f′·(t_x·Wᵀ + x·t_Wᵀ + t_b)
    """

    def forward(self, x, weight, bias=None, *, activation=None):
        out = self.xp.matmul(x, weight.T) if x.ndim != 2 else self.xp.dot(x, weight.T)
        if bias is not None:
            out += bias
        self.act = None if activation is None else ACTIVATIONS[activation]
        if self.act is None:
            self.save(x, weight)
            return out
        out = self.act.f(self.xp, out)
        self.save(x, weight, out)
        return out

    def vjp(self, g):
        x, w = self.saved[:2]
        xp = self.xp
        need = self.needs_grad
        if self.act is not None:  # back through the activation first: g·f'(z) from y
            g = g * self.act.derivative(xp, self.saved[2])
        if g.ndim == 2:
            g2, x2 = g, x
        else:  # (..., out): the leading axes are all rows of one product
            g2, x2 = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
        gx = None
        if need[0]:
            gx = xp.dot(g2, w)
            if g2 is not g:
                gx = gx.reshape(x.shape)
        gw = xp.dot(g2.T, x2) if need[1] else None
        if len(need) == 2:
            return gx, gw
        # (np.add.reduce: ndarray.sum's Python wrapper costs more than a small layer's sum)
        return gx, gw, (np.add.reduce(g2, 0) if type(g2) is np.ndarray else g2.sum(0)) if need[2] else None

    def jvp(self, tx, tw, tb=None):
        x, w = self.saved[:2]
        mm = self.xp.matmul
        out = add_tangents(None if tx is None else mm(tx, w.T), None if tw is None else mm(x, tw.T))
        out = add_tangents(out, tb)
        if out is None or self.act is None:
            return out
        return out * self.act.derivative(self.xp, self.saved[2])
