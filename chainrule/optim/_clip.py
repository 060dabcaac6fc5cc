"""Gradient clipping, in place on ``.grad``, as ``torch.nn.utils.clip_grad_norm_`` /
``clip_grad_value_``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..backend import array_module
from ..errors import AnomalyError, ConfigError
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
