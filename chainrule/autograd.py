"""Reverse mode as functions (notes §4, backpropagation): ``grad``, ``value_and_grad`` and ``vjp``
over :func:`chainrule.engine.backward`, JAX-style.

The engine's switches (``no_grad``, ``detect_anomaly``...) and ``backward`` itself live in
:mod:`chainrule.engine`; they are re-exported here, where users of the first release found them.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable, Sequence

import numpy as np  # noqa: F401 - used by the doctests

from .backend import get_backend
from .engine import backward, detect_anomaly, enable_grad, is_grad_enabled, no_grad, unbroadcast
from .errors import DTypeError, GraphError
from .tensor import Tensor, to_array

__all__ = ["grad", "value_and_grad", "vjp", "backward", "no_grad", "enable_grad",
           "is_grad_enabled", "detect_anomaly", "unbroadcast", "inference_mode"]


def inference_mode(mode: bool = True) -> Any:
    """PyTorch's ``inference_mode``: :func:`no_grad` (chainrule has no separate inference
    tensors, so this is all it can mean); ``mode=False`` records as usual.

    >>> from chainrule import Tensor
    >>> with inference_mode():
    ...     y = Tensor([1.0], requires_grad=True) * 2
    >>> y.requires_grad
    False
    """
    return no_grad() if mode else enable_grad()


def _argnums(argnums: int | Sequence[int]) -> tuple[tuple[int, ...], bool]:
    if isinstance(argnums, int):
        return (argnums,), True
    return tuple(argnums), False


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """``f`` turned into a function returning ``(f(*args), ∂f/∂args[argnums])``.

    ``f`` must return a scalar Tensor; the gradients are arrays shaped like the arguments.

    >>> vg = value_and_grad(lambda x: (x * x).sum())
    >>> v, g = vg(np.array([1.0, 2.0]))
    >>> float(v), g.tolist()
    (5.0, [2.0, 4.0])
    """
    nums, single = _argnums(argnums)

    def wrapped(*args: Any) -> tuple[Any, Any]:
        args = list(args)
        for i in nums:
            a = args[i]
            data = a.data if isinstance(a, Tensor) else to_array(a)
            if data.dtype.kind != "f":
                raise DTypeError(f"grad: argument {i} has dtype {data.dtype}; gradients need floats")
            args[i] = Tensor._make(data, True)
        with enable_grad():
            out = f(*args)
        if not isinstance(out, Tensor) or out.data.size != 1:
            raise GraphError(f"grad: f must return a scalar Tensor; got {type(out).__name__}"
                             + (f" of shape {out.shape}" if isinstance(out, Tensor) else ""))
        if out.requires_grad:
            out.backward()
        gs = tuple(args[i].grad if args[i].grad is not None
                   else get_backend(args[i].data).xp.zeros_like(args[i].data) for i in nums)
        return out.detach(), gs[0] if single else gs

    return wrapped


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """``f`` turned into a function returning ∂f/∂args[argnums] (arrays).

    >>> grad(lambda x: (x ** 3).sum())(np.array([2.0]))
    array([12.])
    """
    vg = value_and_grad(f, argnums)
    return lambda *args: vg(*args)[1]


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Tensor, Callable[[Any], tuple]]:
    """``(f(*primals), pullback)`` where ``pullback(g)`` returns gᵀ·∂f/∂primals, one array each.

    >>> y, pullback = vjp(lambda x: x * 3, np.array([1.0, 2.0]))
    >>> pullback(np.array([1.0, 1.0]))[0].tolist()
    [3.0, 3.0]
    """
    xs = [Tensor._make(to_array(p), True) for p in primals]
    with enable_grad():
        out = f(*xs)

    def pullback(g: Any) -> tuple[Any, ...]:
        for x in xs:
            x.grad = None
        if out.requires_grad:  # the graph is retained so the pullback can be called again
            out.backward(g, retain_graph=True)
        return tuple(x.grad if x.grad is not None else get_backend(x.data).xp.zeros_like(x.data)
                     for x in xs)

    return out.detach(), pullback
