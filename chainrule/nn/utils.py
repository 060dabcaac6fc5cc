"""``torch.nn.utils``'s helpers: gradient clipping in place on ``.grad``
(:func:`clip_grad_norm_`, :func:`clip_grad_value_`, also exported by :mod:`chainrule.optim`) and
the flattening of parameters into one vector and back (:func:`parameters_to_vector`,
:func:`vector_to_parameters`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..backend import array_module
from ..errors import AnomalyError, ConfigError, ShapeError
from ..tensor import Tensor
from ..validate import check_number


def _grads(parameters: Tensor | Iterable[Tensor], where: str) -> list[Any]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise ConfigError(f"{where}: parameter {i} is a {type(p).__name__}; expected a Tensor")
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    """Rescale gradients in place so that their joint norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of all gradients seen as one vector. When it
    exceeds ``max_norm`` every gradient is multiplied by ``max_norm / (total + 1e-6)``, which
    keeps the direction of the step (PyTorch's formula). Parameters without a gradient are
    skipped.

    Args:
        parameters: a Tensor or an iterable of Tensors.
        max_norm: the largest allowed norm (≥ 0).
        norm_type: the p of the p-norm (> 0), or ``float("inf")`` for the largest absolute value.
        error_if_nonfinite: raise when the total norm is NaN or infinite instead of scaling by it.

    Returns:
        The total norm before clipping, as a Python float.

    Raises:
        ConfigError: a negative ``max_norm`` or a ``norm_type`` that is not positive.
        AnomalyError: the total norm is not finite and ``error_if_nonfinite`` is set.

    >>> import numpy as np, chainrule as cr
    >>> w = cr.Tensor([0.0, 0.0], requires_grad=True)
    >>> w.grad = np.array([3.0, 4.0], dtype=np.float32)
    >>> clip_grad_norm_([w], max_norm=1.0)        # ‖(3, 4)‖ = 5, scaled by 1/5
    5.0
    >>> w.grad.round(4)
    array([0.6, 0.8], dtype=float32)
    """
    # NOTE: float() first, as before: the messages show 0.0 for an int 0
    max_norm = check_number(float(max_norm), "max_norm", "clip_grad_norm_", low=0)
    norm_type = check_number(float(norm_type), "norm_type", "clip_grad_norm_", low=0, low_open=True)
    grads = [g for g in _grads(parameters, "clip_grad_norm_") if g.size]
    if not grads:
        return 0.0
    xp = array_module(grads[0])
    if math.isinf(norm_type):
        total = max(float(xp.max(xp.abs(g))) for g in grads)
    else:
        norms = [float(xp.linalg.norm(g.reshape(-1), ord=norm_type)) for g in grads]
        total = math.fsum(n ** norm_type for n in norms) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise AnomalyError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients of "
                           f"{len(grads)} parameters is {total}; expected a finite number "
                           "(pass error_if_nonfinite=False to scale anyway)")
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= coef
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient element into ``[-clip_value, clip_value]``, in place.

    Args:
        parameters: a Tensor or an iterable of Tensors.
        clip_value: the bound (≥ 0).

    Raises:
        ConfigError: a negative ``clip_value``.

    >>> import numpy as np, chainrule as cr
    >>> w = cr.Tensor([0.0, 0.0], requires_grad=True)
    >>> w.grad = np.array([-3.0, 0.5], dtype=np.float32)
    >>> clip_grad_value_(w, 1.0); w.grad
    array([-1. ,  0.5], dtype=float32)
    """
    clip_value = check_number(float(clip_value), "clip_value", "clip_grad_value_", low=0)
    for g in _grads(parameters, "clip_grad_value_"):
        array_module(g).clip(g, -clip_value, clip_value, out=g)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters' values flattened and concatenated, in order, into one new 1-D Tensor
    (a copy that records no graph; PyTorch's is differentiable).

    >>> import chainrule as cr
    >>> parameters_to_vector([cr.Tensor([[1.0, 2.0]]), cr.Tensor([3.0])]).data.tolist()
    [1.0, 2.0, 3.0]
    """
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise ConfigError(f"parameters_to_vector: parameter {i} is a {type(p).__name__}; "
                              "expected a Tensor")
    if not params:
        raise ConfigError("parameters_to_vector: no parameters given")
    xp = array_module(params[0].data)
    return Tensor._make(xp.concatenate([p.data.reshape(-1) for p in params]))


def vector_to_parameters(vec: Any, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place (the inverse of
    :func:`parameters_to_vector`).

    Raises:
        ShapeError: ``vec`` is not 1-D or its length is not the parameters' total size.

    >>> import chainrule as cr
    >>> w, b = cr.Tensor([[0.0, 0.0]]), cr.Tensor([0.0])
    >>> vector_to_parameters(cr.Tensor([1.0, 2.0, 3.0]), [w, b]); w.data.tolist(), b.data.tolist()
    ([[1.0, 2.0]], [3.0])
    """
    params = list(parameters)
    v = vec.data if isinstance(vec, Tensor) else vec
    total = sum(p.size for p in params)
    if getattr(v, "ndim", 0) != 1 or v.shape[0] != total:
        raise ShapeError(f"vector_to_parameters: expected a 1-D vector of {total} values (the "
                         f"parameters' total size); got shape {getattr(v, 'shape', None)}")
    start = 0
    for p in params:
        p.data[...] = v[start:start + p.size].reshape(p.shape)
        start += p.size


__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]
