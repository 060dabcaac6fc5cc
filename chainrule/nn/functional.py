"""Activations, objectives and dropout as functions (NOTES.md 2 and 3).

The activations are :mod:`chainrule.functional`'s. The objectives are composites of
primitives with no derivative code, so they work in reverse mode (Tensor) and forward mode
(Dual) alike. Each takes ``reduction``: ``"mean"`` (the default), ``"sum"`` or ``"none"``
(one value per example).

Shapes: ``binary_cross_entropy*`` and ``mse_loss`` need the target to have exactly the
prediction's shape (no silent broadcasting of (N, 1) against (N,)). ``cross_entropy`` and
``nll_loss`` take scores of shape (..., C), classes on the last axis, and a target of class
indices of shape (...) or of probabilities of shape (..., C).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as _F
from .. import ops as P
from ..backend import array_module, get_backend, is_array, is_device
from ..errors import DataError, ShapeError
from ..validate import check_choice, check_number
from ..functional import (
    elu, exp, leaky_relu, linear, log, log_softmax, logsumexp, one_hot, relu, sigmoid,
    softmax, softplus, tanh,
)
from ..random import get_rng
from ..tensor import ArrayLike, Tensor, apply, array_of, mode_of

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


def _check_probabilities(where: str, y: Any) -> None:
    v = array_of(y)
    if v.size and not (bool((v >= 0).all()) and bool((v <= 1).all())):
        v = get_backend(v).asnumpy(v)  # the message's numbers, on the host
        raise DataError(f"{where}: targets must lie in [0, 1]; got values from "
                        f"{float(np.nanmin(v))} to {float(np.nanmax(v))}"
                        + (" including NaN" if bool(np.isnan(v).any()) else ""))


# --- binary objectives --------------------------------------------------------------------

def binary_cross_entropy(p: Any, y: Any, reduction: str = "mean", eps: float = 1e-7) -> Any:
    """E = −y ln ŷ − (1 − y) ln(1 − ŷ) on probabilities ŷ (NOTES.md 3).

    ŷ is clamped to [eps, 1 − eps] so a confident wrong answer costs about −ln eps, not
    infinity (the gradient is zero where the clamp acts). For a sigmoid output prefer
    :func:`binary_cross_entropy_with_logits`, which never needs the clamp.

    Args:
        p: predicted probabilities P(Y = 1 | x).
        y: targets in [0, 1] (0/1 labels or soft labels), same shape as ``p``.
        reduction: "mean", "sum" or "none".
        eps: the clamp.

    Returns:
        The loss (a scalar unless ``reduction="none"``).

    Raises:
        ShapeError: ``y`` and ``p`` differ in shape.
        DataError: a target outside [0, 1].
        ConfigError: an unknown reduction.

    >>> round(binary_cross_entropy(Tensor([0.9, 0.2]), [1.0, 0.0]).item(), 4)   # (−ln .9 − ln .8)/2
    0.1643
    """
    _check_reduction("binary_cross_entropy", reduction)
    p = _lift(p)
    y = _lift(y, p)
    _same_shape("binary_cross_entropy", p, y)
    _check_probabilities("binary_cross_entropy", y)
    q = p.clip(eps, 1.0 - eps)
    loss = -(y * q.log() + (1.0 - y) * (1.0 - q).log())
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(z: Any, y: Any, reduction: str = "mean") -> Any:
    """Binary cross-entropy of ŷ = σ(z) computed from the score z, stably:
    max(z, 0) − z·y + ln(1 + e^−|z|) = softplus(z) − z·y (finite for any finite z; its
    gradient is σ(z) − y).

    Args:
        z: scores (logits), any shape.
        y: targets in [0, 1], same shape as ``z``.
        reduction: "mean", "sum" or "none".

    Raises:
        ShapeError: ``y`` and ``z`` differ in shape.
        DataError: a target outside [0, 1].
        ConfigError: an unknown reduction.

    >>> binary_cross_entropy_with_logits(Tensor([1e4, -1e4]), [1.0, 0.0]).item()
    0.0
    """
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    z = _lift(z)
    y = _lift(y, z)
    _same_shape("binary_cross_entropy_with_logits", z, y)
    _check_probabilities("binary_cross_entropy_with_logits", y)
    return _reduce(softplus(z) - z * y, reduction)


def log_likelihood(p: Any, y: Any, reduction: str = "sum") -> Any:
    """LL(θ) = Σ_i y⁽ⁱ⁾ ln ŷ⁽ⁱ⁾ + (1 − y⁽ⁱ⁾) ln(1 − ŷ⁽ⁱ⁾) (NOTES.md 3), the negative of the
    summed binary cross-entropy. The notes maximize it by gradient ascent.

    >>> import math
    >>> ll = log_likelihood(Tensor([0.9, 0.6, 0.3, 0.2]), [0.0, 1.0, 0.0, 1.0])
    >>> round(math.exp(ll.item()), 4)     # 0.1 · 0.6 · 0.7 · 0.2
    0.0084
    """
    return -binary_cross_entropy(p, y, reduction=reduction)


def log_likelihood_with_logits(z: Any, y: Any, reduction: str = "sum") -> Any:
    """:func:`log_likelihood` of ŷ = σ(z), from the scores z (stable).

    >>> round(log_likelihood_with_logits(Tensor([0.0]), [1.0]).item(), 4)   # ln ½
    -0.6931
    """
    return -binary_cross_entropy_with_logits(z, y, reduction=reduction)


# --- regression ---------------------------------------------------------------------------

def mse_loss(pred: Any, target: Any, reduction: str = "mean") -> Any:
    """The quadratic loss (y − y*)² (NOTES.md 3).

    ``reduction="half_sum"`` gives the notes' E = ½ Σ_t ‖y_t − y*_t‖², summed over examples and
    output nodes, whose gradient is y − y* (the form used with the δ recursion, NOTES.md 4);
    :func:`half_sum_squared_error` is the same.

    Args:
        pred: predictions y.
        target: targets y*, same shape as ``pred``.
        reduction: "mean" (over every element), "sum", "none" or "half_sum".

    Raises:
        ShapeError: ``target`` and ``pred`` differ in shape.
        ConfigError: an unknown reduction.

    >>> mse_loss(Tensor([1.0, 2.0]), [0.0, 0.0]).item()
    2.5
    """
    _check_reduction("mse_loss", reduction, ("half_sum",))
    pred = _lift(pred)
    target = _lift(target, pred)
    _same_shape("mse_loss", pred, target)
    d = pred - target
    if reduction == "half_sum":
        return (d * d).sum() * 0.5
    return _reduce(d * d, reduction)


def half_sum_squared_error(y: Any, target: Any) -> Any:
    """E = ½ Σ_t ‖y_t − y*_t‖² (NOTES.md 3 and 4): ``mse_loss(y, target, "half_sum")``.

    >>> half_sum_squared_error(Tensor([1.0, 2.0]), [0.0, 0.0]).item()
    2.5
    """
    return mse_loss(y, target, reduction="half_sum")


# --- multiclass ---------------------------------------------------------------------------

_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _class_indices(where: str, scores: Any, target: Any) -> np.ndarray | None:
    """``target`` as an integer index array of shape scores.shape[:-1], or None when it is a
    float target of the scores' own shape (probabilities)."""
    t = array_of(target)
    if not is_array(t):
        t = np.asarray(t)  # a list
    if is_device(t) or is_device(scores.data if type(scores) is Tensor else array_of(scores)):
        return _device_class_indices(where, scores, t)
    n_classes = scores.shape[-1] if scores.ndim else 0
    if t.dtype.kind in "iu" and t.shape == scores.shape[:-1] and t.size:
        # The usual case, checked with one reduction: seen as unsigned, a negative label is
        # huge, so max < C says 0 <= t < C (the message below still names both ends).
        if int(np.maximum.reduce(t.view(_UNSIGNED[t.dtype.itemsize]), axis=None)) < n_classes:
            return t.astype(np.intp, copy=False)
    if scores.ndim < 1:
        raise ShapeError(f"{where}: scores need a class axis (shape (N, C) or (C,)); got a scalar")
    n_classes = scores.shape[-1]
    batch = scores.shape[:-1]
    if t.dtype.kind == "f" and t.shape == scores.shape:
        return None
    if t.shape != batch:
        if t.dtype.kind == "f":
            raise ShapeError(f"{where}: target of shape {t.shape} fits neither form for input of "
                             f"shape {scores.shape}: class indices need shape {batch}, "
                             f"probabilities shape {scores.shape}")
        raise ShapeError(f"{where}: class-index target must have shape {batch} for input of "
                         f"shape {scores.shape}; got {t.shape}")
    if t.dtype.kind == "b" or t.dtype.kind not in "iuf":
        raise DataError(f"{where}: class labels must be integers; got dtype {t.dtype}")
    if t.dtype.kind == "f":
        if not bool(np.isfinite(t).all()) or not bool((np.mod(t, 1) == 0).all()):
            bad = t[~(np.isfinite(t) & (np.mod(np.nan_to_num(t), 1) == 0))].ravel()[:3]
            raise DataError(f"{where}: class labels must be integers; got non-integer values "
                            f"such as {bad.tolist()}")
        t = t.astype(np.int64)
    if t.size and (int(t.min()) < 0 or int(t.max()) >= n_classes):
        raise DataError(f"{where}: class labels must lie in [0, {n_classes}) for input with "
                        f"{n_classes} classes; got min {int(t.min())}, max {int(t.max())}")
    return t.astype(np.intp, copy=False)


def _device_class_indices(where: str, scores: Any, t: Any) -> Any:
    """:func:`_class_indices` where the scores or the target live on a device: integer labels
    already on the scores' device are checked there with one reduction; anything else is
    checked on the host and the indices moved to the scores' device."""
    s = array_of(scores)
    bk = get_backend(s)
    if type(t) is type(s) and t.dtype.kind in "iu" and t.shape == s.shape[:-1] and t.size \
            and int(t.view(_UNSIGNED[t.dtype.itemsize]).max()) < s.shape[-1]:
        return t.astype(bk.xp.intp, copy=False)
    host = get_backend(t).asnumpy(t)
    t = _class_indices(where, Tensor(np.broadcast_to(np.zeros((), s.dtype), s.shape)), host)
    return None if t is None else bk.xp.asarray(t)


def _pick(logp: Any, t: np.ndarray) -> Any:
    """logp[..., t]: each row's entry at its class (a gather by integer-array indexing)."""
    if logp.ndim == 1:
        return logp[int(t)]
    flat = logp.reshape(-1, logp.shape[-1])
    rows = array_module(t).arange(flat.shape[0])
    picked = flat[rows, t.reshape(-1)]
    return picked.reshape(t.shape)


def cross_entropy(logits: Any, target: Any, label_smoothing: float = 0.0,
                  reduction: str = "mean") -> Any:
    """Multiclass cross-entropy −Σ_j y_j ln p_j of p = softmax(logits) (NOTES.md 3), from the
    scores through log-softmax (z − logsumexp z), so it is finite for any finite scores.

    Args:
        logits: scores of shape (N, C) (or (..., C); classes on the last axis).
        target: class indices of shape (N,) (integers in [0, C)), or one-hot / probability
            rows of shape (N, C) (floats).
        label_smoothing: ε in [0, 1]: the target becomes (1 − ε)·y + ε/C.
        reduction: "mean" (over examples), "sum" or "none" (shape (N,)).

    Raises:
        DataError: class labels out of range or not integers.
        ShapeError: a target of neither shape.
        ConfigError: an unknown reduction or ε outside [0, 1].

    >>> z = Tensor([[2.0, 1.0, 0.0]])
    >>> round(cross_entropy(z, [0]).item(), 4)        # −ln 0.665
    0.4076
    >>> round(cross_entropy(z, [[1.0, 0.0, 0.0]]).item(), 4)
    0.4076
    """
    _check_reduction("cross_entropy", reduction)
    if label_smoothing != 0.0:
        check_number(label_smoothing, "label_smoothing", "cross_entropy", low=0, high=1)
    logits = _lift(logits)
    t = _class_indices("cross_entropy", logits, target)
    n_classes = logits.shape[-1]
    if t is not None and not label_smoothing:
        loss = apply(P.SoftmaxCrossEntropy, logits, target=t,
                                      mean=reduction == "mean")
        return loss if reduction == "mean" else _reduce(loss, reduction)
    logp = log_softmax(logits, axis=-1)
    if t is not None:
        loss = (1.0 - label_smoothing) * -_pick(logp, t) \
            - (label_smoothing / n_classes) * logp.sum(axis=-1)
        return _reduce(loss, reduction)
    y = _lift(target, logits)
    if label_smoothing:
        y = (1.0 - label_smoothing) * y + label_smoothing / n_classes
    return _reduce(-(y * logp).sum(axis=-1), reduction)


def nll_loss(log_probs: Any, target: Any, reduction: str = "mean") -> Any:
    """Negative log-likelihood −ln p_{y} of class indices, given log-probabilities
    (e.g. the output of :class:`~chainrule.nn.LogSoftmax`).

    Args:
        log_probs: log-probabilities of shape (N, C) (classes on the last axis).
        target: class indices of shape (N,), integers in [0, C).
        reduction: "mean", "sum" or "none".

    Raises:
        DataError: class labels out of range or not integers.
        ShapeError: a target of the wrong shape.
        ConfigError: an unknown reduction.

    >>> import numpy as np
    >>> round(nll_loss(Tensor(np.log([[0.7, 0.3]])), [0]).item(), 4)
    0.3567
    """
    _check_reduction("nll_loss", reduction)
    log_probs = _lift(log_probs)
    t = _class_indices("nll_loss", log_probs, target)
    if t is None:
        raise ShapeError(f"nll_loss: target must be class indices of shape {log_probs.shape[:-1]} "
                         f"for input of shape {log_probs.shape}; got probabilities of shape "
                         f"{log_probs.shape} (use cross_entropy for probability targets)")
    return _reduce(-_pick(log_probs, t), reduction)


# --- regularization -----------------------------------------------------------------------

def dropout(x: Any, p: float = 0.5, training: bool = True, rng: Any = None) -> Any:
    """Inverted dropout: each element is zeroed with probability ``p`` and the survivors are
    scaled by 1/(1 − p), so the expected value is unchanged and evaluation needs no rescaling.
    Identity when ``training`` is False or ``p`` is 0.

    Args:
        x: the input.
        p: drop probability in [0, 1].
        training: apply dropout (False: return ``x``).
        rng: generator for the mask (None: the global one of :mod:`chainrule.random`).

    Raises:
        ConfigError: ``p`` outside [0, 1].

    >>> y = dropout(Tensor([1.0, 1.0, 1.0, 1.0]), 0.5, rng=0)
    >>> sorted(set(y.numpy().tolist()))
    [0.0, 2.0]
    """
    if not (type(p) is float and 0.0 <= p <= 1.0):  # (the validator only off the fast path)
        p = check_number(p, "p", "dropout", low=0, high=1, label="dropout probability p")
    if not training or p == 0.0:
        return x
    x = _lift(x)
    v = array_of(x)
    if p == 1.0:
        return x * 0.0
    keep = get_rng(rng).random(v.shape) >= p
    mask = keep.astype(v.dtype) * v.dtype.type(1.0 / (1.0 - p))
    if is_device(v):
        # NOTE: drawn from chainrule's seeded host generator and copied to the device, so a
        # seed gives the same masks on either backend and checkpoints restore them
        mask = get_backend(v).xp.asarray(mask)
    return x * mask


__all__ = [
    "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "gelu", "softmax",
    "log_softmax", "silu", "mish", "hardswish", "hardsigmoid", "selu", "celu", "prelu",
    "logsigmoid", "softsign", "softmin", "logsumexp", "exp", "log", "linear", "one_hot",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "log_likelihood",
    "log_likelihood_with_logits", "mse_loss", "half_sum_squared_error", "cross_entropy",
    "nll_loss", "dropout",
]


# Layers' functional forms, defined beside their modules (imported last: they use the above).
from .activation import (  # noqa: E402, F401
    celu, gelu, hardsigmoid, hardswish, logsigmoid, mish, prelu, selu, silu, softmin, softsign,
)
from .conv import conv, conv1d, conv2d  # noqa: E402, F401
from .pooling import adaptive_avg_pool, avg_pool, max_pool  # noqa: E402, F401
