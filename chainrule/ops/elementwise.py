"""Element-wise primitives: arithmetic and the notes' activations (notes §1-2)."""

from __future__ import annotations

import math
from typing import Any
from collections.abc import Callable

import numpy as np

from ..backend import quiet_overflow
from ..errors import DTypeError
from .base import Op, add_tangents, promote




def _neg(t: Any) -> Any:
    return None if t is None else -t


def _mul(t: Any, a: Any) -> Any:
    return None if t is None else t * a


def stable_sigmoid(xp: Any, x: Any) -> Any:
    """σ(x) = 1/(1 + e^−x). For x below about −88 (float32) e^−x overflows to inf and the
    result is the exact limit 0, so only the overflow warning is silenced: fewer passes than
    the two-branch form, and no precision lost for tiny values."""
    with quiet_overflow():
        e = xp.exp(-x)
    e += 1
    return 1 / e


# --- arithmetic ---------------------------------------------------------------------------


class Add(Op):
    """x + y.

    Rules:
        forward: out = x + y
        vjp: x̄ = g;  ȳ = g
        jvp: t_x + t_y
    """

    def forward(self, x, y):
        if x.dtype is not y.dtype:  # PyTorch's result dtype (int32 + float32 is float32)
            x, y = promote(x, y)
        return x + y

    def vjp(self, g):
        return g, g

    def jvp(self, tx, ty):
        return add_tangents(tx, ty)


class Sub(Op):
    """x − y.

    Rules:
        forward: out = x − y
        vjp: x̄ = g;  ȳ = −g
        jvp: t_x − t_y
    """

    def forward(self, x, y):
        if x.dtype is not y.dtype or x.dtype.kind == "b":
            x, y = promote(x, y, bool_ok=False)
        return x - y

    def vjp(self, g):
        return g, (-g if self.needs_grad[1] else None)

    def jvp(self, tx, ty):
        return add_tangents(tx, _neg(ty))


class Mul(Op):
    """x · y.

    Rules:
        forward: out = x·y
        vjp: x̄ = g·y;  ȳ = g·x
        jvp: t_x·y + x·t_y
    """

    def forward(self, x, y):
        if x.dtype is not y.dtype:
            x, y = promote(x, y)
        self.save(x, y)
        return x * y

    def vjp(self, g):
        x, y = self.saved
        nx, ny = self.needs_grad
        return (g * y if nx else None), (g * x if ny else None)

    def jvp(self, tx, ty):
        x, y = self.saved
        return add_tangents(_mul(tx, y), _mul(ty, x))


class Div(Op):
    """x / y;  ∂/∂x = 1/y,  ∂/∂y = −x/y² = −out/y.

    Rules:
        forward: out = x / y
        vjp: x̄ = g/y;  ȳ = −g·out/y
        jvp: (t_x − out·t_y)/y
    """

    def forward(self, x, y):
        if x.dtype is not y.dtype:
            x, y = promote(x, y)
        if x.dtype.kind != "f":  # int / int is float32, as in PyTorch (computed in float32)
            x, y = x.astype(np.float32), y.astype(np.float32)
        out = x / y
        self.save(y, out)
        return out

    def vjp(self, g):
        y, out = self.saved
        nx, ny = self.needs_grad
        gx = g / y
        return (gx if nx else None), (-gx * out if ny else None)

    def jvp(self, tx, ty):
        y, out = self.saved
        return add_tangents(None if tx is None else tx / y, None if ty is None else -ty * out / y)


class Pow(Op):
    """x ** y;  ∂/∂x = y·x^(y−1) (0 where y = 0, even at x = 0, as PyTorch),
    ∂/∂y = out·ln x (taken as 0 where x ≤ 0).

    Rules:
        forward: out = x^y
        vjp: x̄ = g·y·x^(y−1);  ȳ = g·out·ln x
        jvp: t_x·y·x^(y−1) + t_y·out·ln x
    """

    def forward(self, x, y):
        if x.dtype is not y.dtype:
            x, y = promote(x, y)
        elif x.dtype.kind == "b":
            raise DTypeError("bool ** bool is not supported (as in PyTorch): cast to int first")
        out = x**y
        self.save(x, y, out)
        return out

    def _dx(self):
        x, y, _ = self.saved
        return y * x ** self.xp.where(y == 0, 1, y - 1)  # y = 0: 0·x, never 0·0^(−1) = nan

    def _dy(self):
        x, _, out = self.saved
        xp = self.xp
        pos = x > 0
        return xp.where(pos, out * xp.log(xp.where(pos, x, 1)), 0)

    def vjp(self, g):
        nx, ny = self.needs_grad
        return (g * self._dx() if nx else None), (g * self._dy() if ny else None)

    def jvp(self, tx, ty):
        return add_tangents(None if tx is None else tx * self._dx(),
                            None if ty is None else ty * self._dy())


class Neg(Op):
    """−x.

    Rules:
        forward: out = −x
        vjp: x̄ = −g
        jvp: −t
    """

    def forward(self, x):
        if x.dtype.kind == "b":
            raise DTypeError("-x of a bool tensor is not supported (as in PyTorch): use ~x")
        return -x

    def vjp(self, g):
        return (-g,)

    def jvp(self, t):
        return _neg(t)


class Cast(Op):
    """x as ``dtype`` (a copy); the gradient is cast back to x's dtype. Between float dtypes
    only: a cast to an int or bool dtype has no derivative (the Tensor makes it a constant).

    Rules:
        forward: out = x as dtype
        vjp: x̄ = g as x's dtype
        jvp: t as dtype
    """

    def forward(self, x, *, dtype):
        self.in_dtype, self.dtype = x.dtype, dtype
        return x.astype(dtype)

    def vjp(self, g):
        return (g.astype(self.in_dtype, copy=False),)

    def jvp(self, t):
        return t.astype(self.dtype, copy=False)


class Maximum(Op):
    """max(x, y) element-wise; at ties each side gets half the gradient.

    Rules:
        forward: out = max(x, y)
        vjp: x̄ = g·[x > y] (½ at ties);  ȳ = g·[y > x] (½ at ties)
        jvp: t_x·[x > y] + t_y·[y > x] (halves at ties)
    """

    def forward(self, x, y):
        if x.dtype is not y.dtype:
            x, y = promote(x, y)
        self.save(((x > y) + 0.5 * (x == y)).astype(x.dtype if x.ndim else y.dtype))
        return self.xp.maximum(x, y)

    def vjp(self, g):
        (m,) = self.saved
        nx, ny = self.needs_grad
        return (g * m if nx else None), (g * (1 - m) if ny else None)

    def jvp(self, tx, ty):
        (m,) = self.saved
        return add_tangents(_mul(tx, m), _mul(ty, 1 - m))


class Minimum(Op):
    """min(x, y) element-wise; at ties each side gets half the gradient.

    Rules:
        forward: out = min(x, y)
        vjp: x̄ = g·[x < y] (½ at ties);  ȳ = g·[y < x] (½ at ties)
        jvp: t_x·[x < y] + t_y·[y < x] (halves at ties)
    """

    def forward(self, x, y):
        if x.dtype is not y.dtype:
            x, y = promote(x, y)
        self.save(((x < y) + 0.5 * (x == y)).astype(x.dtype if x.ndim else y.dtype))
        return self.xp.minimum(x, y)

    vjp = Maximum.vjp
    jvp = Maximum.jvp


class Where(Op):
    """cond ? x : y, with ``cond`` a boolean array (not differentiated).

    Rules:
        forward: out = cond ? x : y
        vjp: x̄ = cond ? g : 0;  ȳ = cond ? 0 : g
        jvp: cond ? t_x : t_y
    """

    def forward(self, x, y, *, cond):
        if x.dtype is not y.dtype:
            x, y = promote(x, y)
        self.save(cond)
        return self.xp.where(cond, x, y)

    def vjp(self, g):
        (c,) = self.saved
        nx, ny = self.needs_grad
        return (g * c if nx else None), (g * ~c if ny else None)

    def jvp(self, tx, ty):
        (c,) = self.saved
        return add_tangents(_mul(tx, c), _mul(ty, ~c))


# --- unary functions ----------------------------------------------------------------------


class Exp(Op):
    """e^x;  derivative e^x = out.

    Rules:
        forward: out = e^x
        vjp: x̄ = g·out
        jvp: t·out
    """

    def forward(self, x):
        if x.dtype.kind != "f":  # int and bool inputs give float32, as in PyTorch
            x = x.astype(np.float32)
        out = self.xp.exp(x)
        self.save(out)
        return out

    def vjp(self, g):
        return (g * self.saved[0],)

    def jvp(self, t):
        return t * self.saved[0]


class Log(Op):
    """ln x;  derivative 1/x.

    Rules:
        forward: out = ln x
        vjp: x̄ = g/x
        jvp: t/x
    """

    def forward(self, x):
        if x.dtype.kind != "f":
            x = x.astype(np.float32)
        self.save(x)
        return self.xp.log(x)

    def vjp(self, g):
        return (g / self.saved[0],)

    def jvp(self, t):
        return t / self.saved[0]


class Sqrt(Op):
    """√x;  derivative 1/(2√x) = 1/(2·out).

    Rules:
        forward: out = √x
        vjp: x̄ = g/(2·out)
        jvp: t/(2·out)
    """

    def forward(self, x):
        if x.dtype.kind != "f":
            x = x.astype(np.float32)
        out = self.xp.sqrt(x)
        self.save(out)
        return out

    def vjp(self, g):
        return (g / (2 * self.saved[0]),)

    def jvp(self, t):
        return t / (2 * self.saved[0])


class Abs(Op):
    """|x|;  derivative sign(x) (0 at 0).

    Rules:
        forward: out = |x|
        vjp: x̄ = g·sign(x)
        jvp: t·sign(x)
    """

    def forward(self, x):
        self.save(self.xp.sign(x))
        return self.xp.abs(x)

    def vjp(self, g):
        return (g * self.saved[0],)

    def jvp(self, t):
        return t * self.saved[0]


class Clip(Op):
    """x limited to [lo, hi]; gradient 1 inside, 0 where clipped.

    Rules:
        forward: out = min(max(x, lo), hi)
        vjp: x̄ = g·[lo ≤ x ≤ hi]
        jvp: t·[lo ≤ x ≤ hi]
    """

    def forward(self, x, *, lo=None, hi=None):
        xp = self.xp
        inside = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        self.save(inside)
        return xp.clip(x, lo, hi)

    def vjp(self, g):
        return (g * self.saved[0],)

    def jvp(self, t):
        return t * self.saved[0]


class _FromOutput(Op, register=False):
    """An activation y = f(x) whose derivative is a function of its output y.

    Subclasses give ``f(xp, x)`` and ``derivative(xp, y)``; nothing else is saved. The fused
    :class:`~chainrule.ops.linalg.Linear` uses the same two functions (``ACTIVATIONS``), so
    each activation's math lives here once.
    """

    # Set by each subclass as static methods.
    f: Callable[[Any, Any], Any]
    derivative: Callable[[Any, Any], Any]
    keeps_ints = False  # int and bool inputs give float32 (as in PyTorch), ReLU's stay ints

    def forward(self, x):
        if x.dtype.kind != "f" and not self.keeps_ints:
            x = x.astype(np.float32)
        out = self.f(self.xp, x)
        self.save(out)
        return out

    def vjp(self, g):
        return (g * self.derivative(self.xp, self.saved[0]),)

    def jvp(self, t):
        return t * self.derivative(self.xp, self.saved[0])


class Sigmoid(_FromOutput):
    """σ(x) = 1/(1+e^−x) (notes §1, the neuron);  σ'(x) = σ(x)(1 − σ(x)) (notes §2, activations).

    Rules:
        forward: out = σ(x) = 1/(1 + e^−x)
        vjp: x̄ = g·out·(1 − out)
        jvp: t·out·(1 − out)
    """

    @staticmethod
    def f(xp, x):
        return stable_sigmoid(xp, x)

    @staticmethod
    def derivative(xp, y):
        return y * (1 - y)


class Tanh(_FromOutput):
    """tanh x = (e^x − e^−x)/(e^x + e^−x);  derivative 1 − tanh²x.

    Rules:
        forward: out = tanh x
        vjp: x̄ = g·(1 − out²)
        jvp: t·(1 − out²)
    """

    @staticmethod
    def f(xp, x):
        return xp.tanh(x)

    @staticmethod
    def derivative(xp, y):
        return 1 - y * y


class Relu(_FromOutput):
    """ReLU(x) = max(0, x);  derivative 1 where x > 0, else 0.

    Rules:
        forward: out = max(0, x)
        vjp: x̄ = g·[x > 0]
        jvp: t·[x > 0]
    """

    keeps_ints = True

    @staticmethod
    def f(xp, x):
        return xp.maximum(x, 0)

    @staticmethod
    def derivative(xp, y):
        return y > 0


ACTIVATIONS: dict[str, type[_FromOutput]] = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": Relu}
"""The activations a :class:`~chainrule.ops.linalg.Linear` node can apply itself, by name."""


class LeakyRelu(Op):
    """x if x > 0 else slope·x (slope 0.01 in the notes).

    Rules:
        forward: out = x if x > 0 else slope·x
        vjp: x̄ = g·(1 if x > 0 else slope)
        jvp: t·(1 if x > 0 else slope)
    """

    def forward(self, x, *, slope=0.01):
        d = self.xp.where(x > 0, 1, slope).astype(x.dtype)
        self.save(d)
        return x * d

    def vjp(self, g):
        return (g * self.saved[0],)

    def jvp(self, t):
        return t * self.saved[0]


class Softplus(Op):
    """log(1 + e^x) = max(x, 0) + log1p(e^−|x|) (stable);  derivative σ(x).

    Rules:
        forward: out = ln(1 + e^x)
        vjp: x̄ = g·σ(x)
        jvp: t·σ(x)
    """

    def forward(self, x):
        xp = self.xp
        self.save(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def vjp(self, g):
        return (g * stable_sigmoid(self.xp, self.saved[0]),)

    def jvp(self, t):
        return t * stable_sigmoid(self.xp, self.saved[0])


class Elu(Op):
    """x if x ≥ 0 else α(e^x − 1);  derivative 1, or out + α below zero.

    Rules:
        forward: out = x if x ≥ 0 else α(e^x − 1)
        vjp: x̄ = g·(1 if x ≥ 0 else out + α)
        jvp: t·(1 if x ≥ 0 else out + α)
    """

    def forward(self, x, *, alpha=1.0):
        xp = self.xp
        neg = alpha * xp.expm1(xp.minimum(x, 0))  # minimum: e^x never overflows
        out = xp.where(x >= 0, x, neg)
        self.save(xp.where(x >= 0, 1, neg + alpha).astype(x.dtype))
        return out

    def vjp(self, g):
        return (g * self.saved[0],)

    def jvp(self, t):
        return t * self.saved[0]


_GELU_K = math.sqrt(2 / math.pi)
_GELU_C = 0.044715


class Gelu(Op):
    """GELU in its tanh form: ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (torch's approximate='tanh').

    Rules:
        forward: out = ½x(1 + tanh u),  u = √(2/π)(x + 0.044715x³)
        vjp: x̄ = g·(½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²))
        jvp: t·(½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²))
    """

    def forward(self, x):
        xp = self.xp
        th = xp.tanh(_GELU_K * (x + _GELU_C * x * x * x))
        self.save(x, th)
        return 0.5 * x * (1 + th)

    def _d(self):
        x, th = self.saved
        return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * _GELU_K * (1 + 3 * _GELU_C * x * x)

    def vjp(self, g):
        return (g * self._d(),)

    def jvp(self, t):
        return t * self._d()
