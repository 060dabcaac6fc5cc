"""Element-wise mathematical functions beyond the notes' activations (issue 11): trigonometric
and hyperbolic functions and their inverses, erf/erfc, the exact GELU, log/exp in other bases,
rounding (zero gradient) and the remainders.

Each unary function is a primitive (not a composite of exp and log) because the library
functions are accurate where the composites cancel: sinh x = (e^x − e^−x)/2 loses every digit
near 0, log(x + √(x²+1)) every digit for x ≪ 0, 1 − erf(x) every digit for x ≫ 0.
"""

from __future__ import annotations

import math
from typing import Any
from collections.abc import Callable

import numpy as np

from .base import Op, add_tangents, promote


def _floating(xp: Any, x: Any) -> Any:
    """x as floats: integer and bool inputs become float32, as in PyTorch (float16 stays)."""
    return x if x.dtype.kind == "f" else x.astype(xp.float32)


class _Unary(Op, register=False):
    """y = f(x) with derivative ``d(xp, x, y)``; subclasses give both as static methods."""

    f: Callable[[Any, Any], Any]
    d: Callable[[Any, Any, Any], Any]

    def forward(self, x):
        x = _floating(self.xp, x)
        y = self.f(self.xp, x)
        self.save(x, y)
        return y

    def vjp(self, g):
        return (g * self.d(self.xp, *self.saved),)

    def jvp(self, t):
        return t * self.d(self.xp, *self.saved)


class Sin(_Unary):
    """sin x;  derivative cos x.

    Rules:
        forward: out = sin x
        vjp: x̄ = g·cos x
        jvp: t·cos x
    """
    f, d = staticmethod(lambda xp, x: xp.sin(x)), staticmethod(lambda xp, x, y: xp.cos(x))


class Cos(_Unary):
    """cos x;  derivative −sin x.

    Rules:
        forward: out = cos x
        vjp: x̄ = −g·sin x
        jvp: −t·sin x
    """
    f, d = staticmethod(lambda xp, x: xp.cos(x)), staticmethod(lambda xp, x, y: -xp.sin(x))


class Tan(_Unary):
    """tan x;  derivative 1 + tan²x.

    Rules:
        forward: out = tan x
        vjp: x̄ = g·(1 + out²)
        jvp: t·(1 + out²)
    """
    f, d = staticmethod(lambda xp, x: xp.tan(x)), staticmethod(lambda xp, x, y: 1 + y * y)


class Asin(_Unary):
    """arcsin x;  derivative 1/√(1 − x²).

    Rules:
        forward: out = arcsin x
        vjp: x̄ = g/√(1 − x²)
        jvp: t/√(1 − x²)
    """
    f = staticmethod(lambda xp, x: xp.arcsin(x))
    d = staticmethod(lambda xp, x, y: 1 / xp.sqrt(1 - x * x))


class Acos(_Unary):
    """arccos x;  derivative −1/√(1 − x²).

    Rules:
        forward: out = arccos x
        vjp: x̄ = −g/√(1 − x²)
        jvp: −t/√(1 − x²)
    """
    f = staticmethod(lambda xp, x: xp.arccos(x))
    d = staticmethod(lambda xp, x, y: -1 / xp.sqrt(1 - x * x))


class Atan(_Unary):
    """arctan x;  derivative 1/(1 + x²).

    Rules:
        forward: out = arctan x
        vjp: x̄ = g/(1 + x²)
        jvp: t/(1 + x²)
    """
    f, d = staticmethod(lambda xp, x: xp.arctan(x)), staticmethod(lambda xp, x, y: 1 / (1 + x * x))


class Sinh(_Unary):
    """sinh x;  derivative cosh x.

    Rules:
        forward: out = sinh x
        vjp: x̄ = g·cosh x
        jvp: t·cosh x
    """
    f, d = staticmethod(lambda xp, x: xp.sinh(x)), staticmethod(lambda xp, x, y: xp.cosh(x))


class Cosh(_Unary):
    """cosh x;  derivative sinh x.

    Rules:
        forward: out = cosh x
        vjp: x̄ = g·sinh x
        jvp: t·sinh x
    """
    f, d = staticmethod(lambda xp, x: xp.cosh(x)), staticmethod(lambda xp, x, y: xp.sinh(x))


class Asinh(_Unary):
    """arsinh x;  derivative 1/√(x² + 1).

    Rules:
        forward: out = arsinh x
        vjp: x̄ = g/√(x² + 1)
        jvp: t/√(x² + 1)
    """
    f = staticmethod(lambda xp, x: xp.arcsinh(x))
    d = staticmethod(lambda xp, x, y: 1 / xp.sqrt(x * x + 1))


class Acosh(_Unary):
    """arcosh x (x ≥ 1);  derivative 1/√(x² − 1) = 1/sinh y.

    Rules:
        forward: out = arcosh x
        vjp: x̄ = g/√(x² − 1)
        jvp: t/√(x² − 1)
    """
    f, d = staticmethod(lambda xp, x: xp.arccosh(x)), staticmethod(lambda xp, x, y: 1 / xp.sinh(y))


class Atanh(_Unary):
    """artanh x (|x| < 1);  derivative 1/(1 − x²).

    Rules:
        forward: out = artanh x
        vjp: x̄ = g/(1 − x²)
        jvp: t/(1 − x²)
    """
    f, d = staticmethod(lambda xp, x: xp.arctanh(x)), staticmethod(lambda xp, x, y: 1 / (1 - x * x))


class Log1p(_Unary):
    """ln(1 + x), accurate for small x;  derivative 1/(1 + x).

    Rules:
        forward: out = ln(1 + x)
        vjp: x̄ = g/(1 + x)
        jvp: t/(1 + x)
    """
    f, d = staticmethod(lambda xp, x: xp.log1p(x)), staticmethod(lambda xp, x, y: 1 / (1 + x))


class Expm1(_Unary):
    """e^x − 1, accurate for small x;  derivative e^x = y + 1.

    Rules:
        forward: out = e^x − 1
        vjp: x̄ = g·(out + 1)
        jvp: t·(out + 1)
    """
    f, d = staticmethod(lambda xp, x: xp.expm1(x)), staticmethod(lambda xp, x, y: y + 1)


class Log2(_Unary):
    """log₂ x (exact at powers of two);  derivative 1/(x ln 2).

    Rules:
        forward: out = log₂ x
        vjp: x̄ = g/(x ln 2)
        jvp: t/(x ln 2)
    """
    f = staticmethod(lambda xp, x: xp.log2(x))
    d = staticmethod(lambda xp, x, y: 1 / (x * math.log(2)))


class Log10(_Unary):
    """log₁₀ x (exact at powers of ten);  derivative 1/(x ln 10).

    Rules:
        forward: out = log₁₀ x
        vjp: x̄ = g/(x ln 10)
        jvp: t/(x ln 10)
    """
    f = staticmethod(lambda xp, x: xp.log10(x))
    d = staticmethod(lambda xp, x, y: 1 / (x * math.log(10)))


class Exp2(_Unary):
    """2^x (exact at integers);  derivative 2^x ln 2.

    Rules:
        forward: out = 2^x
        vjp: x̄ = g·out·ln 2
        jvp: t·out·ln 2
    """
    f, d = staticmethod(lambda xp, x: xp.exp2(x)), staticmethod(lambda xp, x, y: y * math.log(2))


# --- erf, erfc and the exact GELU ---------------------------------------------------------
# NumPy has no erf and SciPy is not a core dependency. W. J. Cody's rational Chebyshev
# approximations (Math. Comp. 23, 1969; the netlib SPECFUN CALERF code that SciPy's and many
# libms' erf descend from) are accurate to about 1e-16 relative in three ranges:
# |x| ≤ 0.46875 for erf, 0.46875 < |x| ≤ 4 and |x| > 4 for erfc = e^{−x²}·R(x); erfc is computed
# directly for large x, so erfc(10) ≈ 2.1e-45 keeps its digits. The exp(−x²) is split as
# exp(−x̂²)·exp(−(x − x̂)(x + x̂)) with x̂ = x rounded to 1/16, as CALERF does, so no digits are
# lost to the rounding of x² (tests compare with math.erf/erfc to a few ulp).

_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)
_SQRPI = 5.6418958354775628695e-1  # 1/√π


def _erf_small(x: Any) -> Any:
    """erf x for |x| ≤ 0.46875: x·P(x²)/Q(x²)."""
    z = x * x
    num, den = _A[4] * z, z
    for a, b in zip(_A[:3], _B[:3]):
        num, den = (num + a) * z, (den + b) * z
    return x * (num + _A[3]) / (den + _B[3])


def _erfc_large(xp: Any, a: Any) -> Any:
    """erfc a for a = |x| > 0.46875 (the caller masks the rest)."""
    mid = a <= 4
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # at a = inf
        num, den = _C[8] * a, a
        for c, d in zip(_C[:7], _D[:7]):
            num, den = (num + c) * a, (den + d) * a
        r_mid = (num + _C[7]) / (den + _D[7])
        z = 1 / (a * a)
        num, den = _P[5] * z, z
        for p, q in zip(_P[:4], _Q[:4]):
            num, den = (num + p) * z, (den + q) * z
        r_big = (_SQRPI - z * (num + _P[4]) / (den + _Q[4])) / a
        r = xp.where(mid, r_mid, r_big)
        ah = xp.trunc(a * 16) / 16
        e = xp.exp(-ah * ah) * xp.exp(-(a - ah) * (a + ah))
    return xp.where(a > 30, 0, e * r)  # erfc(30) < 1e-323 rounds to 0 (and e·r is 0·inf later)


def erf_and_erfc(xp: Any, x: Any) -> tuple[Any, Any]:
    """(erf x, erfc x) element-wise, each accurate where it is small; x floating."""
    a = xp.abs(x)
    small = a <= 0.46875
    xs = xp.where(small, x, 0)
    e_small = _erf_small(xs)
    c_big = _erfc_large(xp, xp.where(small, 1, a))  # erfc |x|, for |x| > 0.46875
    neg = x < 0
    erf = xp.where(small, e_small, xp.where(neg, c_big - 1, 1 - c_big))
    erfc = xp.where(small, 1 - e_small, xp.where(neg, 2 - c_big, c_big))
    nan = xp.isnan(x)
    return xp.where(nan, x, erf).astype(x.dtype), xp.where(nan, x, erfc).astype(x.dtype)


_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


class Erf(_Unary):
    """erf x = (2/√π)∫₀ˣ e^{−t²} dt;  derivative (2/√π)e^{−x²}.

    Rules:
        forward: out = erf x
        vjp: x̄ = g·(2/√π)e^(−x²)
        jvp: t·(2/√π)e^(−x²)
    """
    f = staticmethod(lambda xp, x: erf_and_erfc(xp, x)[0])
    d = staticmethod(lambda xp, x, y: _TWO_OVER_SQRT_PI * xp.exp(-x * x))


class Erfc(_Unary):
    """erfc x = 1 − erf x, accurate for large x;  derivative −(2/√π)e^{−x²}.

    Rules:
        forward: out = erfc x = 1 − erf x
        vjp: x̄ = −g·(2/√π)e^(−x²)
        jvp: −t·(2/√π)e^(−x²)
    """
    f = staticmethod(lambda xp, x: erf_and_erfc(xp, x)[1])
    d = staticmethod(lambda xp, x, y: -_TWO_OVER_SQRT_PI * xp.exp(-x * x))


class GeluExact(_Unary):
    """GELU x = x·Φ(x) = ½x·erfc(−x/√2) (PyTorch's default, approximate='none');
    derivative Φ(x) + x·φ(x), φ the standard normal density.

    Rules:
        forward: out = x·Φ(x)
        vjp: x̄ = g·(Φ(x) + x·φ(x))
        jvp: t·(Φ(x) + x·φ(x))
    """
    f = staticmethod(lambda xp, x: 0.5 * x * erf_and_erfc(xp, -x * (1 / math.sqrt(2)))[1])
    d = staticmethod(lambda xp, x, y: 0.5 * erf_and_erfc(xp, -x * (1 / math.sqrt(2)))[1]
                     + x * xp.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi)))


# --- rounding: piecewise constant, zero gradient (as in PyTorch) --------------------------


class _Step(Op, register=False):
    """A piecewise-constant y = f(x): its gradient is zero (a zero array, as PyTorch's)."""

    f: Callable[[Any, Any], Any]

    def forward(self, x, **params):
        return self.f(self.xp, x, **params)

    def vjp(self, g):
        return (self.xp.zeros_like(g),)

    def jvp(self, t):
        return None


class Sign(_Step):
    """sign x ∈ {−1, 0, 1} (0 for NaN, as PyTorch).

    Rules:
        forward: out = sign x
        vjp: x̄ = 0
        jvp: 0
    """
    f = staticmethod(lambda xp, x: xp.where(xp.isnan(x), 0, xp.sign(x)).astype(x.dtype)
                     if x.dtype.kind == "f" else x.copy() if x.dtype.kind == "b" else xp.sign(x))


class Floor(_Step):
    """⌊x⌋.

    Rules:
        forward: out = ⌊x⌋
        vjp: x̄ = 0
        jvp: 0
    """
    f = staticmethod(lambda xp, x: xp.floor(x) if x.dtype.kind == "f" else x.copy())


class Ceil(_Step):
    """⌈x⌉.

    Rules:
        forward: out = ⌈x⌉
        vjp: x̄ = 0
        jvp: 0
    """
    f = staticmethod(lambda xp, x: xp.ceil(x) if x.dtype.kind == "f" else x.copy())


class Trunc(_Step):
    """x rounded towards 0.

    Rules:
        forward: out = x rounded towards 0
        vjp: x̄ = 0
        jvp: 0
    """
    f = staticmethod(lambda xp, x: xp.trunc(x) if x.dtype.kind == "f" else x.copy())


class Round(_Step):
    """x rounded to ``decimals`` places, halves to even (as NumPy and PyTorch).

    Rules:
        forward: out = x rounded to decimals places
        vjp: x̄ = 0
        jvp: 0
    """
    f = staticmethod(lambda xp, x, decimals=0: xp.round(x, decimals))


# --- remainders ----------------------------------------------------------------------------


class _Remainder(Op, register=False):
    """x − q·y with q the quotient x/y rounded by ``quotient``;  ∂/∂x = 1,  ∂/∂y = −q
    (as PyTorch)."""

    f: Callable[[Any, Any, Any], Any]
    quotient: Callable[[Any, Any, Any], Any]

    def forward(self, x, y):
        if x.dtype is not y.dtype:
            x, y = promote(x, y)
        self.save(x, y)
        return self.f(self.xp, x, y)

    def _q(self):
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.quotient(self.xp, *self.saved)

    def vjp(self, g):
        nx, ny = self.needs_grad
        return (g if nx else None), (-g * self._q() if ny else None)

    def jvp(self, tx, ty):
        return add_tangents(tx, None if ty is None else -ty * self._q())


class Fmod(_Remainder):
    """C's fmod (PyTorch's torch.fmod): the remainder has the sign of x.

    Rules:
        forward: out = x − trunc(x/y)·y
        vjp: x̄ = g;  ȳ = −g·trunc(x/y)
        jvp: t_x − t_y·trunc(x/y)
    """
    f = staticmethod(lambda xp, x, y: xp.fmod(x, y))
    quotient = staticmethod(lambda xp, x, y: xp.trunc(x / y))


class Remainder(_Remainder):
    """Python's % (PyTorch's torch.remainder): the remainder has the sign of y.

    Rules:
        forward: out = x − ⌊x/y⌋·y
        vjp: x̄ = g;  ȳ = −g·⌊x/y⌋
        jvp: t_x − t_y·⌊x/y⌋
    """
    f = staticmethod(lambda xp, x, y: xp.remainder(x, y))
    quotient = staticmethod(lambda xp, x, y: xp.floor_divide(x, y))  # 7 // −inf is −1


class LogAddExp(Op):
    """log(e^x + e^y) (NumPy's logaddexp: exact at ±inf, where a log-sum-exp of the pair is
    not);  ∂/∂x = 1/(1 + e^{y−x}) = σ(x − y),  ∂/∂y = σ(y − x).

    Rules:
        forward: out = ln(e^x + e^y)
        vjp: x̄ = g·σ(x − y);  ȳ = g·σ(y − x)
        jvp: t_x·σ(x − y) + t_y·σ(y − x)
    """

    def forward(self, x, y):
        if x.dtype is not y.dtype:
            x, y = promote(x, y)
        x, y = _floating(self.xp, x), _floating(self.xp, y)
        self.save(x, y)
        return self.xp.logaddexp(x, y)

    def _d(self):
        x, y = self.saved
        with np.errstate(over="ignore", invalid="ignore"):
            return 1 / (1 + self.xp.exp(y - x)), 1 / (1 + self.xp.exp(x - y))

    def vjp(self, g):
        dx, dy = self._d()
        nx, ny = self.needs_grad
        return (g * dx if nx else None), (g * dy if ny else None)

    def jvp(self, tx, ty):
        dx, dy = self._d()
        return add_tangents(None if tx is None else tx * dx, None if ty is None else ty * dy)


class Atan2(Op):
    """atan2(y, x), the angle of (x, y);  ∂/∂y = x/(x² + y²),  ∂/∂x = −y/(x² + y²).

    Rules:
        forward: out = atan2(y, x)
        vjp: ȳ = g·x/(x² + y²);  x̄ = −g·y/(x² + y²)
        jvp: (x·t_y − y·t_x)/(x² + y²)
    """

    def forward(self, y, x):
        if x.dtype is not y.dtype:
            y, x = promote(y, x)
        y, x = _floating(self.xp, y), _floating(self.xp, x)
        self.save(y, x)
        return self.xp.arctan2(y, x)

    def _d(self):
        y, x = self.saved
        r2 = x * x + y * y
        return x / r2, -y / r2

    def vjp(self, g):
        dy, dx = self._d()
        ny, nx = self.needs_grad
        return (g * dy if ny else None), (g * dx if nx else None)

    def jvp(self, ty, tx):
        dy, dx = self._d()
        return add_tangents(None if ty is None else ty * dy, None if tx is None else tx * dx)
