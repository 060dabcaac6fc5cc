"""Finite differences, and checking both AD modes against them (NOTES.md section 5).

Central differences (f(x + ε) − f(x − ε)) / 2ε have error O(ε²); in float64 with ε = 1e-6
they agree with exact derivatives to about 1e-8 on smooth functions of size-one inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Sequence

import numpy as np

from .backend import require_host
from .errors import ChainruleError
from .forward import Dual
from .tensor import Tensor


class GradcheckError(ChainruleError, AssertionError):
    """Reverse or forward mode disagrees with finite differences."""


_WHY = "finite differences in float64 on the host"


def _scalar(out: Any) -> float:
    if isinstance(out, Tensor):
        return float(out.data.sum())
    if isinstance(out, Dual):
        return float(out.primal.sum())
    return float(np.sum(out))


def _value(out: Any) -> np.ndarray:
    if isinstance(out, Tensor):
        return out.data
    if isinstance(out, Dual):
        return out.primal
    return np.asarray(out)


def numerical_grad(f: Callable[..., Any], *inputs: Any, eps: float = 1e-6,
                   cotangent: Any = None) -> list[np.ndarray]:
    """∂⟨u, f(x)⟩/∂x for every input by central differences, in float64.

    ``f`` takes arrays (or Tensors) and returns an array or Tensor; ``u`` is ``cotangent``
    (all ones when None, i.e. the gradient of the sum).

    >>> numerical_grad(lambda x: x ** 2, np.array([3.0]))[0].round(6)
    array([6.])
    """
    require_host("numerical_grad", [x.data if isinstance(x, Tensor) else x for x in inputs], _WHY)
    xs = [np.array(_value(x), dtype=np.float64) for x in inputs]
    u = None if cotangent is None else np.asarray(cotangent, dtype=np.float64)

    def s(*args: Any) -> float:
        out = _value(f(*[Tensor(a) for a in args]))
        return float(np.sum(out if u is None else out * u))

    grads = []
    for x in xs:
        g = np.zeros_like(x)
        flat, gflat = x.reshape(-1), g.reshape(-1)
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + eps
            hi = s(*xs)
            flat[k] = orig - eps
            lo = s(*xs)
            flat[k] = orig
            gflat[k] = (hi - lo) / (2 * eps)
        grads.append(g)
    return grads


@dataclass
class GradcheckReport:
    """What :func:`check_grad` compared: the largest error per mode."""

    name: str
    reverse_error: float
    forward_error: float


def _worst(name: str, mode: str, i: int, got: np.ndarray, want: np.ndarray,
           atol: float, rtol: float) -> float:
    err = np.abs(got - want)
    tol = atol + rtol * np.abs(want)
    if got.shape != want.shape:
        raise GradcheckError(f"{name}: {mode} gradient of input {i} has shape {got.shape}, "
                             f"expected {want.shape}")
    if err.size and not np.all(err <= tol):
        k = np.unravel_index(np.argmax(err - tol), err.shape)
        rel = err[k] / max(np.abs(want[k]), 1e-300)
        raise GradcheckError(
            f"{name}: {mode} mode disagrees with finite differences for input {i} at index "
            f"{tuple(int(j) for j in k)}: {mode} {got[k]:.10g}, numerical {want[k]:.10g}, "
            f"abs error {err[k]:.3g}, relative error {rel:.3g} (atol {atol}, rtol {rtol})")
    return float(err.max()) if err.size else 0.0


def check_grad(f: Callable[..., Any], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
               rtol: float = 1e-4, modes: Sequence[str] = ("reverse", "forward"),
               name: str | None = None, seed: int = 0) -> GradcheckReport:
    """Check reverse and forward mode of ``f`` against central differences, in float64.

    The output is projected on a random cotangent u, so one check covers every output
    element: reverse mode must give ∂⟨u, f⟩/∂x elementwise; forward mode, run once per input
    element with a unit tangent, must give the same numbers (⟨u, J e_k⟩).

    Args:
        f: a function of Tensors (or Duals) built from chainrule ops.
        *inputs: arrays at which to check; they are upcast to float64.
        modes: which of "reverse" and "forward" to check.
        name: what to call ``f`` in failure messages.

    Returns:
        A :class:`GradcheckReport` with the largest absolute error per mode.

    Raises:
        GradcheckError: naming the function, the mode, the input, the worst element, both
            values and the relative error.

    >>> check_grad(lambda x: x.tanh(), np.array([0.5, -1.0])).name
    '<lambda>'
    """
    name = name or getattr(f, "__name__", "f")
    require_host("check_grad", [x.data if isinstance(x, Tensor) else x for x in inputs], _WHY)
    xs = [np.array(_value(x), dtype=np.float64) for x in inputs]
    out = _value(f(*[Tensor(x) for x in xs]))
    u = np.random.default_rng(seed).standard_normal(np.shape(out))
    numeric = numerical_grad(f, *xs, eps=eps, cotangent=u)
    rev_err = fwd_err = 0.0
    if "reverse" in modes:
        ts = [Tensor(x, requires_grad=True) for x in xs]
        y = f(*ts)
        if not isinstance(y, Tensor):
            raise GradcheckError(f"{name}: reverse mode needs a Tensor output; got {type(y).__name__}")
        if y.requires_grad:
            (y * Tensor(u)).sum().backward()
        for i, (t, want) in enumerate(zip(ts, numeric)):
            got = t.grad if t.grad is not None else np.zeros_like(want)
            rev_err = max(rev_err, _worst(name, "reverse", i, got, want, atol, rtol))
    if "forward" in modes:
        for i, want in enumerate(numeric):
            got = np.zeros_like(want)
            gflat = got.reshape(-1)
            for k in range(want.size):
                tangent = np.zeros_like(xs[i])
                tangent.reshape(-1)[k] = 1.0
                duals = [Dual(x, tangent if j == i else None) for j, x in enumerate(xs)]
                y = f(*duals)
                t = y.tangent if isinstance(y, Dual) else None
                gflat[k] = 0.0 if t is None else float(np.sum(t * u))
            fwd_err = max(fwd_err, _worst(name, "forward", i, got, want, atol, rtol))
    return GradcheckReport(name, rev_err, fwd_err)


__all__ = ["GradcheckError", "GradcheckReport", "check_grad", "numerical_grad"]
