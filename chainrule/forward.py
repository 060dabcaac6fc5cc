"""Forward mode: dual numbers (notes §5, method 4).

A :class:`Dual` carries a primal value and a tangent. Every op runs its ``forward`` on the
primals, then its ``jvp`` on the tangents: the same op classes as reverse mode, so each
derivative is written once. One pass gives J·v for one direction v.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable, Sequence

import numpy as np

from . import ops as P
from .backend import get_backend
from .engine import MODE, check_finite, op_error
from .errors import ShapeError
from .tensor import ArrayLike, Tensor, to_array


class Dual(ArrayLike):
    """A value and its tangent, ``primal + ε·tangent`` with ε² = 0.

    >>> d = Dual(np.array([3.0]), np.array([1.0]))
    >>> (d * d).tangent   # d(x²)/dx at 3
    array([6.])
    """

    __slots__ = ("primal", "tangent")

    def __init__(self, primal: Any, tangent: Any = None) -> None:
        self.primal = to_array(primal)
        if tangent is not None:
            tangent = to_array(tangent, self.primal.dtype)
            if tangent.shape != self.primal.shape:
                raise ShapeError(f"Dual: tangent shape {tangent.shape} differs from primal "
                                 f"shape {self.primal.shape}")
        self.tangent = tangent

    @classmethod
    def _apply(cls, op_cls: type[P.Op], *args: Any, **params: Any) -> Dual:
        op = op_cls()
        primals, tangents = [], []
        ref = next((a.primal for a in args if type(a) is Dual), None)
        for a in args:
            if type(a) is Dual:
                primals.append(a.primal)
                tangents.append(a.tangent)
            else:
                if isinstance(a, Tensor):
                    a = a.data
                if a is None:
                    primals.append(None)
                elif ref is not None and ref.dtype.kind == "f" and isinstance(a, (int, float)):
                    primals.append(ref.dtype.type(a))
                else:
                    primals.append(to_array(a))
                tangents.append(None)
        op.xp = get_backend(*primals).xp
        op.needs_grad = tuple(t is not None for t in tangents)
        try:
            out = op.forward(*primals, **params)
        except (ValueError, np.exceptions.AxisError) as exc:
            op_error(op, [p for p in primals if p is not None], params, exc)
        tangent = op.jvp(*tangents) if True in op.needs_grad else None
        if tangent is not None:
            if tangent.shape != out.shape:
                tangent = op.xp.broadcast_to(tangent, out.shape)
            if tangent.dtype != out.dtype:
                tangent = tangent.astype(out.dtype)
        if MODE.detect_anomaly:
            check_finite(op, out, "output")
        d = Dual.__new__(Dual)
        d.primal, d.tangent = out, tangent
        return d

    def _const(self, arr: Any) -> Dual:
        return Dual(arr)

    def tangent_or_zeros(self) -> Any:
        if self.tangent is None:
            return get_backend(self.primal).xp.zeros_like(self.primal)
        return self.tangent

    def __repr__(self) -> str:
        return f"Dual(primal={self.primal!r}, tangent={self.tangent!r})"


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(*primals), J·tangents)`` by one forward-mode pass.

    >>> y, t = jvp(lambda x: x * x, [np.array([3.0])], [np.array([1.0])])
    >>> float(t[0])
    6.0
    """
    if len(primals) != len(tangents):
        raise ShapeError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    duals = [Dual(p, t) for p, t in zip(primals, tangents)]
    out = f(*duals)
    if not isinstance(out, Dual):
        out = Dual(out)
    return out.primal, out.tangent_or_zeros()
