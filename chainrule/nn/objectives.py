"""Regression and divergence objectives in PyTorch's names and semantics: L1, Huber, smooth
L1 and Kullback–Leibler, as composites (no derivative code); re-exported by
:mod:`chainrule.nn.functional`. Like :func:`~chainrule.nn.functional.mse_loss`, the target
must have the prediction's shape (no silent broadcasting)."""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..tensor import Tensor
from ..validate import check_bool, check_number
from ._reduction import _check_reduction, _lift, _reduce, _same_shape


def _difference(where: str, pred: Any, target: Any, reduction: str) -> Any:
    _check_reduction(where, reduction)
    pred = _lift(pred)
    target = _lift(target, pred)
    _same_shape(where, pred, target)
    return pred - target


def _values(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x.primal


def l1_loss(pred: Any, target: Any, *, reduction: str = "mean") -> Any:
    """|y − y*|, the absolute error (gradient sign(y − y*), 0 where they are equal).

    Raises:
        ShapeError: ``target`` and ``pred`` differ in shape.
        ConfigError: an unknown reduction.

    >>> l1_loss(Tensor([1.0, -2.0]), [0.0, 0.0]).item()
    1.5
    """
    return _reduce(_difference("l1_loss", pred, target, reduction).abs(), reduction)


def huber_loss(pred: Any, target: Any, *, reduction: str = "mean", delta: float = 1.0) -> Any:
    """Huber's loss of d = y − y*: ½d² where |d| < δ, else δ(|d| − ½δ): quadratic near zero,
    linear (gradient ±δ) beyond.

    Raises:
        ShapeError: ``target`` and ``pred`` differ in shape.
        ConfigError: δ ≤ 0 or an unknown reduction.

    >>> huber_loss(Tensor([0.5, 3.0]), [0.0, 0.0], reduction="none").tolist()
    [0.125, 2.5]
    """
    delta = check_number(delta, "delta", "huber_loss", low=0, low_open=True)
    d = _difference("huber_loss", pred, target, reduction)
    a = d.abs()
    loss = F.where(_values(a) < delta, d * d * 0.5, (a - 0.5 * delta) * delta)
    return _reduce(loss, reduction)


def smooth_l1_loss(pred: Any, target: Any, *, reduction: str = "mean", beta: float = 1.0) -> Any:
    """Smooth L1 of d = y − y*: ½d²/β where |d| < β, else |d| − ½β (Huber's loss divided by
    β; β = 0 is the L1 loss).

    Raises:
        ShapeError: ``target`` and ``pred`` differ in shape.
        ConfigError: β < 0 or an unknown reduction.

    >>> smooth_l1_loss(Tensor([1.0, 3.0]), [0.0, 0.0], reduction="none", beta=2.0).tolist()
    [0.25, 2.0]
    """
    beta = check_number(beta, "beta", "smooth_l1_loss", low=0)
    d = _difference("smooth_l1_loss", pred, target, reduction)
    a = d.abs()
    if beta == 0:
        return _reduce(a, reduction)
    loss = F.where(_values(a) < beta, d * d * (0.5 / beta), a - 0.5 * beta)
    return _reduce(loss, reduction)


def kl_div(log_probs: Any, target: Any, *, reduction: str = "mean",
           log_target: bool = False) -> Any:
    """KL(target ‖ input) element-wise, PyTorch's ``F.kl_div``: the input holds log-probabilities
    ln q; the target holds probabilities p (or ln p with ``log_target``); each element costs
    p·(ln p − ln q), 0 where p = 0.

    Args:
        log_probs: ln q, any shape (e.g. a log-softmax's output).
        target: p (or ln p), the same shape.
        reduction: "mean" (over every element, PyTorch's default), "batchmean" (the sum
            divided by the first dimension: the KL divergence per example), "sum" or "none".
        log_target: the target is given as ln p.

    Raises:
        ShapeError: ``target`` and ``log_probs`` differ in shape.
        ConfigError: an unknown reduction.

    >>> import numpy as np
    >>> round(kl_div(Tensor(np.log([[0.25, 0.75]])), [[0.5, 0.5]], reduction="batchmean").item(), 4)
    0.1438
    """
    _check_reduction("kl_div", reduction, ("batchmean",))
    log_target = check_bool(log_target, "log_target", "kl_div")
    x = _lift(log_probs)
    t = _lift(target, x)
    _same_shape("kl_div", x, t)
    if log_target:
        loss = t.exp() * (t - x)
    else:
        pos = _values(t) > 0  # p ln p → 0 as p → 0 (PyTorch's xlogy)
        safe = F.where(pos, t, t * 0.0 + 1.0)
        loss = F.where(pos, t * safe.log(), t * 0.0) - t * x
    if reduction == "batchmean":
        return loss.sum() * (1.0 / (x.shape[0] if x.ndim else 1))
    return _reduce(loss, reduction)


__all__ = ["l1_loss", "huber_loss", "smooth_l1_loss", "kl_div"]
