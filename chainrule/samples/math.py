"""Samples for the element-wise functions of issue 11 (chainrule.ops.math): inputs inside each
function's domain and away from the jumps of the rounding ops and remainders."""

from __future__ import annotations

import numpy as np

from chainrule import ops as P

from . import Case, apply

rng = np.random.default_rng(11)


def r(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def u(lo: float, hi: float, *shape: int) -> np.ndarray:
    return rng.uniform(lo, hi, shape)


def off_grid(*shape: int, step: float = 1.0) -> np.ndarray:
    """Values at least 0.2·step away from every multiple of step/2 (the jumps of rounding)."""
    return (rng.integers(-4, 4, shape) + rng.choice([0.2, 0.3, 0.7, 0.8], shape)) * step


def quotients(*shape: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) with x/y at least 0.2 from an integer and either sign: off the remainders' jumps."""
    y = u(0.5, 2.0, *shape) * rng.choice([-1.0, 1.0], shape)
    return off_grid(*shape) * y, y


def unary(op, x, *more):
    return [Case(apply(op), [x], id=f"{x.shape}")] + [
        Case(apply(op), [m], id=f"{m.shape}") for m in more]


SAMPLES = {
    "Sin": unary(P.Sin, r(3, 4) * 2, np.array(0.4)),
    "Cos": unary(P.Cos, r(3, 4) * 2, np.array(-1.2)),
    "Tan": unary(P.Tan, u(-1.2, 1.2, 3, 4)),
    "Asin": unary(P.Asin, u(-0.8, 0.8, 3, 4)),
    "Acos": unary(P.Acos, u(-0.8, 0.8, 3, 4)),
    "Atan": unary(P.Atan, r(3, 4) * 3),
    "Sinh": unary(P.Sinh, r(3, 4) * 2),
    "Cosh": unary(P.Cosh, r(3, 4) * 2),
    "Asinh": unary(P.Asinh, r(3, 4) * 3),
    "Acosh": unary(P.Acosh, u(1.3, 4.0, 3, 4)),
    "Atanh": unary(P.Atanh, u(-0.8, 0.8, 3, 4)),
    "Erf": unary(P.Erf, r(3, 4) * 2, np.array([-0.3, 0.3, 0.46, 0.5, 3.9, 4.2, -5.0])),
    "Erfc": unary(P.Erfc, r(3, 4) * 2, np.array([-0.3, 0.3, 0.46, 0.5, 3.9, 4.2, -5.0])),
    "GeluExact": unary(P.GeluExact, r(3, 4) * 2, np.array([-6.0, -0.1, 0.0, 0.1, 6.0])),
    "Log1p": unary(P.Log1p, u(-0.5, 3.0, 3, 4)),
    "Expm1": unary(P.Expm1, r(3, 4)),
    "Log2": unary(P.Log2, u(0.3, 3.0, 3, 4)),
    "Log10": unary(P.Log10, u(0.3, 3.0, 3, 4)),
    "Exp2": unary(P.Exp2, r(3, 4)),
    "Sign": unary(P.Sign, off_grid(3, 4)),
    "Floor": unary(P.Floor, off_grid(3, 4)),
    "Ceil": unary(P.Ceil, off_grid(3, 4)),
    "Trunc": unary(P.Trunc, off_grid(3, 4)),
    "Round": [Case(apply(P.Round), [off_grid(3, 4)], id="0"),
              Case(apply(P.Round, decimals=1), [off_grid(3, 4, step=0.1)], id="1")],
    "Fmod": [Case(apply(P.Fmod), list(quotients(3, 4)), id="same"),
             Case(apply(P.Fmod), [off_grid(3, 4) * 1.5, np.array(1.5)], id="scalar")],
    "Remainder": [Case(apply(P.Remainder), list(quotients(3, 4)), id="same"),
                  Case(apply(P.Remainder), [off_grid(3, 4) * -1.5, np.array(-1.5)], id="scalar")],
    "LogAddExp": [Case(apply(P.LogAddExp), [r(3, 4) * 3, r(3, 4) * 3], id="same"),
                  Case(apply(P.LogAddExp), [r(3, 4), np.array(40.0)], id="far")],
    "Atan2": [Case(apply(P.Atan2), [r(3, 4), r(3, 4)], id="same"),
              Case(apply(P.Atan2), [r(3, 4), u(0.5, 2, 4)], id="broadcast")],
}
