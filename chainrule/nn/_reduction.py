"""What the objectives share: the reductions, lifting targets to the prediction's mode and
dtype, and the checks of shapes and probabilities (PyTorch keeps its own in
``torch/nn/_reduction.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as _F
from ..backend import array_module, get_backend
from ..errors import DataError, ShapeError
from ..tensor import ArrayLike, Tensor, array_of, mode_of
from ..validate import check_choice

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(where: str, reduction: str, extra: tuple[str, ...] = ()) -> None:
    if reduction not in _REDUCTIONS + extra:  # (the validator only when it fails: every step)
        check_choice(reduction, "reduction", where, _REDUCTIONS + extra)


def _reduce(loss: Any, reduction: str) -> Any:
    if reduction == "mean":
        return _F.mean(loss)
    if reduction == "sum":
        return loss.sum()
    return loss


def _lift(x: Any, like: Any = None) -> Any:
    """``x`` as a Tensor or Dual, in the mode of ``like`` (a constant target joins a forward-mode
    prediction as a Dual with zero tangent); constants take the float dtype of ``like`` so
    float32 models stay float32."""
    if isinstance(x, ArrayLike) and (like is None or mode_of(x) is mode_of(like)
                                     or not isinstance(x, Tensor)):
        return x
    a = array_of(x)
    ref = a if like is None else like.data if type(like) is Tensor else array_of(like)
    a = array_module(ref).asarray(a)  # where like lives
    if like is not None and a.dtype.kind in "fiub" and like.dtype.kind == "f" \
            and not isinstance(x, ArrayLike):
        a = a.astype(like.dtype, copy=False)
    return Tensor(a) if like is None else mode_of(like)(a)


def _same_shape(where: str, x: Any, target: Any) -> None:
    if x.shape != target.shape:
        raise ShapeError(f"{where}: target shape {target.shape} does not match input shape "
                         f"{x.shape}; they must be equal (reshape one, e.g. y.reshape(-1, 1))")


def _check_probabilities(where: str, y: Any, what: str = "targets",
                         allow_nan: bool = False) -> None:
    v = array_of(y)
    if v.size and not (bool((v >= 0).all()) and bool((v <= 1).all())):
        if allow_nan:
            inside = (v >= 0) & (v <= 1)
            if bool((inside | (v != v)).all()):
                return  # only NaN: a diverged model's NaN loss, not a data error
        v = get_backend(v).asnumpy(v)  # the message's numbers, on the host
        raise DataError(f"{where}: {what} must lie in [0, 1]; got values from "
                        f"{float(np.nanmin(v))} to {float(np.nanmax(v))}"
                        + (" including NaN" if bool(np.isnan(v).any()) else ""))


def _classes_last(where: str, scores: Any, target: Any) -> tuple[Any, Any]:
    """PyTorch's layout for scores of rank > 2, (N, C, d1, ...) with class indices of shape
    (N, d1, ...) or probabilities of the scores' shape, moved to classes-last (the layout the
    losses compute in; their "none" output is then (N, d1, ...), as PyTorch's). Rank ≤ 2 is
    returned as it is.

    Raises:
        ShapeError: a target that fits neither form (with a hint when it fits the old
            classes-last reading).
    """
    if scores.ndim <= 2:
        return scores, target
    t = array_of(target)
    shape, moved = tuple(getattr(t, "shape", np.shape(t))), (0,) + tuple(range(2, scores.ndim)) + (1,)
    indices = (scores.shape[0],) + scores.shape[2:]
    if shape == scores.shape:  # probabilities (a float target of the input's shape)
        target = _lift(target, scores).permute(moved)
    elif shape != indices:
        hint = ("; a target of shape input.shape[:-1] reads classes on the last axis: pass "
                "input.movedim(-1, 1) (or reshape to (-1, C))" if shape == scores.shape[:-1] else "")
        raise ShapeError(f"{where}: input of shape {scores.shape} has its classes on axis 1 "
                         f"(N, C, d1, ..., as in PyTorch): target must be class indices of shape "
                         f"{indices} or probabilities of shape {scores.shape}; got {shape}{hint}")
    return scores.permute(moved), target
