"""Whole derivative matrices: :func:`jacobian` (reverse or forward mode, exact), and
:func:`hessian` and :func:`hvp` (second derivatives, approximated; see below).

chainrule's rules are once differentiable: each primitive's ``vjp`` and ``jvp`` work on plain
arrays, so a gradient is not itself a graph that could be differentiated again (no
reverse-over-reverse), and a Dual cannot carry a Dual (no forward-over-reverse). Second
derivatives are therefore built from *exact* first derivatives by central differences:
H·v ≈ (∇f(x + hv) − ∇f(x − hv)) / 2h. The error is O(h²) from truncation plus O(ε/h) from
rounding; h = ε^(1/3)·max(1, ‖x‖∞)/‖v‖∞ balances them, which gives about 10 correct digits in
float64 (ε ≈ 2.2e-16) and about 3 in float32, so pass float64 arguments.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable

import numpy as np

from .autograd import grad, vjp
from .backend import to_host
from .errors import ConfigError, ShapeError
from .forward import Dual
from .tensor import Tensor, to_array

__all__ = ["jacobian", "hessian", "hvp"]


def _arrays(args: tuple) -> list[np.ndarray]:
    return [to_host(a.data if isinstance(a, Tensor) else to_array(a)) for a in args]


def jacobian(f: Callable[..., Any], *args: Any, mode: str = "reverse") -> Any:
    """∂f/∂args, exact: an array of shape ``f(*args).shape + arg.shape`` per argument (one
    array for one argument, else a tuple), as ``torch.autograd.functional.jacobian``.

    ``mode="reverse"`` takes one backward pass per output element (best when f has few
    outputs); ``mode="forward"`` one Dual pass per input element (best for few inputs).

    Raises:
        ConfigError: an unknown mode.

    >>> J = jacobian(lambda x: x * x, np.array([1.0, 2.0]))
    >>> J.tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    >>> np.allclose(jacobian(lambda x: x * x, np.array([1.0, 2.0]), mode="forward"), J)
    True
    """
    xs = _arrays(args)
    if mode == "reverse":
        out, pullback = vjp(f, *xs)
        y = out.numpy()
        jac = [np.zeros(y.shape + x.shape, dtype=x.dtype) for x in xs]
        for k in range(y.size):
            u = np.zeros(y.size, dtype=y.dtype)
            u[k] = 1
            for j, g in zip(jac, pullback(u.reshape(y.shape))):
                j.reshape((y.size,) + g.shape)[k] = to_host(g)
    elif mode == "forward":
        jac = []
        for i, x in enumerate(xs):
            cols = []
            for k in range(x.size):
                t = np.zeros(x.size, dtype=x.dtype)
                t[k] = 1
                duals = [Dual(a, t.reshape(x.shape) if j == i else None) for j, a in enumerate(xs)]
                out = f(*duals)
                out = out if isinstance(out, Dual) else Dual(to_array(out))
                cols.append(to_host(out.tangent_or_zeros()))
            y_shape = cols[0].shape if cols else f(*[Dual(a) for a in xs]).primal.shape
            jac.append(np.stack(cols, axis=-1).reshape(y_shape + x.shape) if cols
                       else np.zeros(y_shape + x.shape, dtype=x.dtype))
    else:
        raise ConfigError(f"jacobian: mode must be 'reverse' or 'forward'; got {mode!r}")
    return jac[0] if len(jac) == 1 else tuple(jac)


def _step(x: np.ndarray, v: np.ndarray) -> float:
    eps = np.finfo(x.dtype if x.dtype.kind == "f" else np.float64).eps
    scale = max(1.0, float(np.abs(x).max(initial=0.0)))
    return float(np.cbrt(eps) * scale / max(float(np.abs(v).max(initial=0.0)), 1e-300))


def hvp(f: Callable[..., Any], x: Any, v: Any) -> np.ndarray:
    """H(x)·v for a scalar f, from two exact gradients: (∇f(x + hv) − ∇f(x − hv)) / 2h
    (accuracy: see the module docstring; about 1e-10 relative in float64).

    >>> hv = hvp(lambda x: (x ** 3).sum(), np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    >>> np.round(hv, 6).tolist()    # H = diag(6x)
    [6.0, 0.0]
    """
    (x,), (v,) = _arrays((x,)), _arrays((v,))
    if v.shape != x.shape:
        raise ShapeError(f"hvp: v has shape {v.shape}, x {x.shape}; they must match")
    if not v.any():
        return np.zeros_like(x)
    h = _step(x, v)
    g = grad(f)
    return (to_host(g(x + h * v)) - to_host(g(x - h * v))) / (2 * h)


def hessian(f: Callable[..., Any], *args: Any) -> Any:
    """∂²f/∂args² of a scalar f, column by column from exact reverse-mode gradients by central
    differences (2n gradients for n inputs), then symmetrized; accuracy about 1e-10 relative
    in float64 (see the module docstring). One argument: an array of shape
    ``x.shape + x.shape``; several: a tuple of tuples, ``H[i][j]`` of shape
    ``args[i].shape + args[j].shape``, as ``torch.autograd.functional.hessian``.

    >>> H = hessian(lambda x: (x[0] ** 2) * x[1], np.array([1.0, 3.0]))
    >>> np.round(H, 6).tolist()    # [[2y, 2x], [2x, 0]]
    [[6.0, 2.0], [2.0, 0.0]]
    """
    xs = _arrays(args)
    sizes = [x.size for x in xs]
    z = np.concatenate([x.reshape(-1) for x in xs])
    cuts = np.cumsum(sizes)[:-1]

    n = z.size
    bounds = [(int(a), int(b)) for a, b in zip(np.r_[0, cuts], np.r_[cuts, n])]
    g = grad(lambda w: f(*[w[a:b].reshape(x.shape) for (a, b), x in zip(bounds, xs)]))
    H = np.zeros((n, n), dtype=z.dtype)
    for k in range(n):
        e = np.zeros(n, dtype=z.dtype)
        e[k] = 1
        h = _step(z, e)
        H[:, k] = (to_host(g(z + h * e)) - to_host(g(z - h * e))) / (2 * h)
    H = (H + H.T) / 2
    if len(xs) == 1:
        return H.reshape(xs[0].shape + xs[0].shape)
    return tuple(tuple(H[a:b, c:d].reshape(xs[i].shape + xs[j].shape)
                       for j, (c, d) in enumerate(bounds)) for i, (a, b) in enumerate(bounds))
