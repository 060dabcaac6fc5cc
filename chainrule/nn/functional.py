"""Activations, objectives and dropout as functions (notes §2 and 3).

The activations are :mod:`chainrule.functional`'s. The objectives are composites of
primitives with no derivative code, so they work in reverse mode (Tensor) and forward mode
(Dual) alike. Each takes ``reduction``: ``"mean"`` (the default), ``"sum"`` or ``"none"``
(one value per example).

Shapes: ``binary_cross_entropy*`` and ``mse_loss`` need the target to have exactly the
prediction's shape (no silent broadcasting of (N, 1) against (N,)). ``cross_entropy`` and
``nll_loss`` take scores of shape (N, C), (C,) or (N, C, d1, ...): classes on axis 1, as in
PyTorch, and a target of class indices of shape (N,) or (N, d1, ...) or of probabilities of
the scores' shape.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import functional as _F
from .. import ops as P
from ..backend import array_module, get_backend, is_array, is_device
from ..engine import MODE
from ..errors import ConfigError, DataError, ShapeError
from ..validate import check_bool, check_number
from ..functional import (
    elu, exp, leaky_relu, linear, log, log_softmax, logsumexp, one_hot, relu, sigmoid,
    softmax, softplus, tanh,
)
from ..random import get_rng
from ..tensor import Tensor, apply, array_of
from ._reduction import (
    _check_probabilities, _check_reduction, _classes_last, _lift, _reduce, _same_shape,
)

# --- binary objectives --------------------------------------------------------------------

def binary_cross_entropy(p: Any, y: Any, weight: Any = None, *, reduction: str = "mean",
                         eps: float = 1e-7) -> Any:
    """E = −y ln ŷ − (1 − y) ln(1 − ŷ) on probabilities ŷ (notes §3, objectives), times ``weight``.

    ŷ is clamped to [eps, 1 − eps] so a confident wrong answer costs about −ln eps, not
    infinity (the gradient is zero where the clamp acts). For a sigmoid output prefer
    :func:`binary_cross_entropy_with_logits`, which never needs the clamp. A NaN prediction
    gives a NaN loss (a diverged model, for the training loop to see), not an error.

    Args:
        p: predicted probabilities P(Y = 1 | x), in [0, 1].
        y: targets in [0, 1] (0/1 labels or soft labels), same shape as ``p``.
        weight: a rescaling of each element's loss, broadcast against ``p`` (PyTorch's).
        reduction: "mean", "sum" or "none" (keyword-only, as PyTorch's).
        eps: the clamp.

    Returns:
        The loss (a scalar unless ``reduction="none"``).

    Raises:
        ShapeError: ``y`` and ``p`` differ in shape, or a weight that does not broadcast.
        DataError: a prediction or a target outside [0, 1].
        ConfigError: an unknown reduction.

    >>> round(binary_cross_entropy(Tensor([0.9, 0.2]), [1.0, 0.0]).item(), 4)   # (−ln .9 − ln .8)/2
    0.1643
    """
    _check_reduction("binary_cross_entropy", reduction)
    p = _lift(p)
    y = _lift(y, p)
    _same_shape("binary_cross_entropy", p, y)
    _check_probabilities("binary_cross_entropy", y)
    _check_probabilities("binary_cross_entropy", p, what="predictions (probabilities)",
                         allow_nan=True)
    q = p.clip(eps, 1.0 - eps)
    loss = -(y * q.log() + (1.0 - y) * (1.0 - q).log())
    if weight is not None:
        loss = loss * _weight("binary_cross_entropy", "weight", weight, p, p.shape)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(z: Any, y: Any, weight: Any = None, *,
                                     reduction: str = "mean", pos_weight: Any = None) -> Any:
    """Binary cross-entropy of ŷ = σ(z) computed from the score z, stably:
    max(z, 0) − z·y + ln(1 + e^−|z|) = softplus(z) − z·y (finite for any finite z; its
    gradient is σ(z) − y). With ``pos_weight`` p (PyTorch's): p·y·softplus(−z) +
    (1 − y)·softplus(z), the positive examples' term weighted by p.

    Args:
        z: scores (logits), any shape.
        y: targets in [0, 1], same shape as ``z``.
        weight: a rescaling of each element's loss, broadcast against ``z``.
        reduction: "mean", "sum" or "none" (keyword-only, as PyTorch's).
        pos_weight: the positives' weight, broadcast against ``z`` (one per class on the last
            axis: p > 1 raises recall, p < 1 precision).

    Raises:
        ShapeError: ``y`` and ``z`` differ in shape, or a weight that does not broadcast.
        DataError: a target outside [0, 1].
        ConfigError: an unknown reduction.

    >>> binary_cross_entropy_with_logits(Tensor([1e4, -1e4]), [1.0, 0.0]).item()
    0.0
    >>> round(binary_cross_entropy_with_logits(Tensor([0.0]), [1.0], pos_weight=[3.0]).item(), 4)
    2.0794
    """
    where = "binary_cross_entropy_with_logits"
    _check_reduction(where, reduction)
    z = _lift(z)
    y = _lift(y, z)
    _same_shape(where, z, y)
    _check_probabilities(where, y)
    if pos_weight is None:
        loss = softplus(z) - z * y
    else:
        pw = _weight(where, "pos_weight", pos_weight, z, z.shape)
        loss = pw * y * softplus(-z) + (1.0 - y) * softplus(z)
    if weight is not None:
        loss = loss * _weight(where, "weight", weight, z, z.shape)
    return _reduce(loss, reduction)


def _weight(where: str, name: str, weight: Any, like: Any, shape: tuple) -> Any:
    """``weight`` as a constant array where ``like`` lives, in its float dtype, checked to
    broadcast against ``shape``."""
    if isinstance(weight, str):
        raise ConfigError(f"{where}: {name} must be numbers; got {weight!r} (reduction is "
                          f"keyword-only, as in PyTorch: reduction={weight!r})")
    w = array_of(weight)
    ref = array_of(like)
    w = array_module(ref).asarray(w)
    if w.dtype.kind not in "fiub":
        raise DataError(f"{where}: {name} must be numbers; got dtype {w.dtype}")
    try:
        np.broadcast_shapes(w.shape, shape)
    except ValueError:
        raise ShapeError(f"{where}: {name} of shape {w.shape} does not broadcast against the "
                         f"input's shape {shape}") from None
    return w.astype(ref.dtype if ref.dtype.kind == "f" else np.float32, copy=False)


def log_likelihood(p: Any, y: Any, reduction: str = "sum") -> Any:
    """LL(θ) = Σ_i y⁽ⁱ⁾ ln ŷ⁽ⁱ⁾ + (1 − y⁽ⁱ⁾) ln(1 − ŷ⁽ⁱ⁾) (notes §3, objectives), the negative of the
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
    """The quadratic loss (y − y*)² (notes §3, objectives).

    ``reduction="half_sum"`` gives the notes' E = ½ Σ_t ‖y_t − y*_t‖², summed over examples and
    output nodes, whose gradient is y − y* (the form used with the δ recursion, notes §4, backpropagation);
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
    """E = ½ Σ_t ‖y_t − y*_t‖² (notes §3 and 4): ``mse_loss(y, target, "half_sum")``.

    >>> half_sum_squared_error(Tensor([1.0, 2.0]), [0.0, 0.0]).item()
    2.5
    """
    return mse_loss(y, target, reduction="half_sum")


# --- multiclass ---------------------------------------------------------------------------

_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _class_indices(where: str, scores: Any, target: Any, ignore_index: int | None = None
                   ) -> tuple[Any, Any]:
    """(t, keep): ``target`` as an integer index array of shape scores.shape[:-1] (None when it
    is a float target of the scores' own shape: probabilities), and None when every label is
    a class, else the mask of the labels that are not ``ignore_index`` (whose places in t then
    hold 0, a safe index)."""
    t = array_of(target)
    if not is_array(t):
        t = np.asarray(t)  # a list
    if is_device(t) or is_device(scores.data if type(scores) is Tensor else array_of(scores)):
        return _device_class_indices(where, scores, t, ignore_index)
    n_classes = scores.shape[-1] if scores.ndim else 0
    if t.dtype.kind in "iu" and t.shape == scores.shape[:-1] and t.size \
            and not (ignore_index is not None and 0 <= ignore_index < n_classes):
        # The usual case, checked with one reduction: seen as unsigned, a negative label is
        # huge, so max < C says 0 <= t < C (the message below still names both ends).
        if int(np.maximum.reduce(t.view(_UNSIGNED[t.dtype.itemsize]), axis=None)) < n_classes:
            return t.astype(np.intp, copy=False), None
    if scores.ndim < 1:
        raise ShapeError(f"{where}: scores need a class axis (shape (N, C) or (C,)); got a scalar")
    n_classes = scores.shape[-1]
    batch = scores.shape[:-1]
    if t.dtype.kind == "f" and t.shape == scores.shape:
        return None, None
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
    keep = None
    if ignore_index is not None and t.size and bool((t == ignore_index).any()):
        keep = t != ignore_index
        t = np.where(keep, t, 0)
    if t.size and (int(t.min()) < 0 or int(t.max()) >= n_classes):
        also = "" if ignore_index is None else f" (or ignore_index {ignore_index})"
        raise DataError(f"{where}: class labels must lie in [0, {n_classes}){also} for input "
                        f"with {n_classes} classes; got min {int(t.min())}, max {int(t.max())}")
    return t.astype(np.intp, copy=False), keep


def _device_class_indices(where: str, scores: Any, t: Any, ignore_index: int | None
                          ) -> tuple[Any, Any]:
    """:func:`_class_indices` where the scores or the target live on a device: integer labels
    already on the scores' device are checked there with one reduction; anything else is
    checked on the host and the indices moved to the scores' device."""
    s = array_of(scores)
    bk = get_backend(s)
    if type(t) is type(s) and t.dtype.kind in "iu" and t.shape == s.shape[:-1] and t.size \
            and not (ignore_index is not None and 0 <= ignore_index < s.shape[-1]) \
            and int(t.view(_UNSIGNED[t.dtype.itemsize]).max()) < s.shape[-1]:
        return t.astype(bk.xp.intp, copy=False), None
    host = get_backend(t).asnumpy(t)
    t, keep = _class_indices(where, Tensor(np.broadcast_to(np.zeros((), s.dtype), s.shape)), host,
                             ignore_index)
    if t is None:
        return None, None
    return bk.xp.asarray(t), (None if keep is None else bk.xp.asarray(keep))


def _pick(logp: Any, t: np.ndarray) -> Any:
    """logp[..., t]: each row's entry at its class (a gather by integer-array indexing)."""
    if logp.ndim == 1:
        return logp[int(t)]
    flat = logp.reshape(-1, logp.shape[-1])
    rows = array_module(t).arange(flat.shape[0])
    picked = flat[rows, t.reshape(-1)]
    return picked.reshape(t.shape)


def _weighted_nll(where: str, logp: Any, t: Any, keep: Any, weight: Any, reduction: str,
                  smoothing: float = 0.0) -> Any:
    """PyTorch's weighted NLL with ignored labels (and label smoothing): row n costs
    (1 − ε)·w_{t_n}·(−ln p_{n,t_n}) + (ε/C)·Σ_c w_c·(−ln p_{n,c}), ignored rows 0; "mean"
    divides the sum by Σ_n w_{t_n} over the rows kept (NaN when that is 0, as PyTorch)."""
    n_classes = logp.shape[-1]
    xp = array_module(array_of(logp))
    w = None if weight is None else _weight(where, "weight", weight, logp, (n_classes,))
    if w is not None and w.shape != (n_classes,):
        raise ShapeError(f"{where}: weight must have one value per class, shape ({n_classes},); "
                         f"got {w.shape}")
    dt = array_of(logp).dtype
    m = xp.ones(t.shape, dt) if w is None else w[t]  # w_{t_n}
    if keep is not None:
        m = m * keep
    loss = -_pick(logp, t) * m
    if smoothing:
        loss = loss * (1.0 - smoothing)
        per_class = -logp if w is None else -logp * w
        smooth = per_class.sum(axis=-1) * (smoothing / n_classes)
        loss = loss + (smooth if keep is None else smooth * keep.astype(dt))
    if reduction != "mean":
        return _reduce(loss, reduction)
    total = float(m.sum())
    return loss.sum() * (1.0 / total if total else float("nan"))


def cross_entropy(logits: Any, target: Any, weight: Any = None, *, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Any:
    """Multiclass cross-entropy −Σ_j y_j ln p_j of p = softmax(logits) (notes §3, objectives), from the
    scores through log-softmax (z − logsumexp z), so it is finite for any finite scores.

    Options as PyTorch's: with class weights w, row n costs w_{t_n}·(−ln p_{n,t_n}) and "mean"
    is the weighted mean Σ_n w_{t_n}·loss_n / Σ_n w_{t_n}; rows labelled ``ignore_index`` cost
    0 and leave the mean. For probability targets row n costs −Σ_c w_c y_c ln p_c and "mean"
    divides by N (``ignore_index`` does not apply).

    Args:
        logits: scores of shape (N, C), (C,) or (N, C, d1, ...): classes on axis 1, as in
            PyTorch (a sequence model's (N, T, C) output goes in as ``z.movedim(-1, 1)``).
        target: class indices of shape (N,) or (N, d1, ...) (integers in [0, C)), or
            one-hot / probability rows of the logits' shape (floats).
        weight: one weight per class, shape (C,) (None: all 1).
        ignore_index: a label to skip (PyTorch's −100 by default).
        reduction: "mean" (over examples), "sum" or "none" (shape (N,) or (N, d1, ...)).
        label_smoothing: ε in [0, 1]: the target becomes (1 − ε)·y + ε/C.

    Raises:
        DataError: class labels out of range or not integers.
        ShapeError: a target of neither shape, or a weight not of shape (C,).
        ConfigError: an unknown reduction or ε outside [0, 1].

    >>> z = Tensor([[2.0, 1.0, 0.0]])
    >>> round(cross_entropy(z, [0]).item(), 4)        # −ln 0.665
    0.4076
    >>> round(cross_entropy(z, [[1.0, 0.0, 0.0]]).item(), 4)
    0.4076
    >>> round(cross_entropy(Tensor([[2.0, 1.0, 0.0]] * 2), [0, -100]).item(), 4)   # row 2 ignored
    0.4076
    """
    _check_reduction("cross_entropy", reduction)
    if label_smoothing != 0.0:
        check_number(label_smoothing, "label_smoothing", "cross_entropy", low=0, high=1)
    logits, target = _classes_last("cross_entropy", _lift(logits), target)
    t, keep = _class_indices("cross_entropy", logits, target, ignore_index)
    n_classes = logits.shape[-1]
    if t is not None and not label_smoothing and weight is None and keep is None:
        loss = apply(P.SoftmaxCrossEntropy, logits, target=t, mean=reduction == "mean")
        return loss if reduction == "mean" else _reduce(loss, reduction)
    logp = log_softmax(logits, axis=-1)
    if t is not None:
        return _weighted_nll("cross_entropy", logp, t, keep, weight, reduction, label_smoothing)
    y = _lift(target, logits)
    if label_smoothing:
        y = (1.0 - label_smoothing) * y + label_smoothing / n_classes
    if weight is not None:
        w = _weight("cross_entropy", "weight", weight, logits, (n_classes,))
        if w.shape != (n_classes,):
            raise ShapeError(f"cross_entropy: weight must have one value per class, shape "
                             f"({n_classes},); got {w.shape}")
        y = y * w
    return _reduce(-(y * logp).sum(axis=-1), reduction)


def nll_loss(log_probs: Any, target: Any, weight: Any = None, *, ignore_index: int = -100,
             reduction: str = "mean") -> Any:
    """Negative log-likelihood −ln p_{y} of class indices, given log-probabilities
    (e.g. the output of :class:`~chainrule.nn.LogSoftmax`); ``weight`` and ``ignore_index``
    as in :func:`cross_entropy` (PyTorch's weighted mean).

    Args:
        log_probs: log-probabilities of shape (N, C), (C,) or (N, C, d1, ...) (classes on
            axis 1, as in PyTorch).
        target: class indices of shape (N,) or (N, d1, ...), integers in [0, C).
        weight: one weight per class, shape (C,) (None: all 1).
        ignore_index: a label to skip (PyTorch's −100 by default).
        reduction: "mean", "sum" or "none".

    Raises:
        DataError: class labels out of range or not integers.
        ShapeError: a target of the wrong shape, or a weight not of shape (C,).
        ConfigError: an unknown reduction.

    >>> import numpy as np
    >>> round(nll_loss(Tensor(np.log([[0.7, 0.3]])), [0]).item(), 4)
    0.3567
    """
    _check_reduction("nll_loss", reduction)
    log_probs, target = _classes_last("nll_loss", _lift(log_probs), target)
    t, keep = _class_indices("nll_loss", log_probs, target, ignore_index)
    if t is None:
        raise ShapeError(f"nll_loss: target must be class indices of shape {log_probs.shape[:-1]} "
                         f"for input of shape {log_probs.shape}; got probabilities of shape "
                         f"{log_probs.shape} (use cross_entropy for probability targets)")
    if weight is None and keep is None:
        return _reduce(-_pick(log_probs, t), reduction)
    return _weighted_nll("nll_loss", log_probs, t, keep, weight, reduction)


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
    mask = dropout_mask(rng, v, p)
    if MODE.tracer is not None:  # a compiled step replays the draw (chainrule.compile)
        MODE.tracer.host(dropout_mask, (rng, v, p), mask)
    return x * mask


def dropout_mask(rng: Any, like: Any, p: float) -> Any:
    """The mask of :func:`dropout`: 0 with probability ``p``, else 1/(1 − p), shaped as ``like``."""
    keep = get_rng(rng).random(like.shape) >= p
    mask = keep.astype(like.dtype) * like.dtype.type(1.0 / (1.0 - p))
    if is_device(like):
        # NOTE: drawn on the seeded host generator, so a seed gives the same masks on either backend
        mask = get_backend(like).xp.asarray(mask)
    return mask


def _channel_dropout(where: str, x: Any, p: float, training: bool, rng: Any, rank: int) -> Any:
    """Zero whole channels: one draw per (example, channel) of an (N, C, *) input with
    ``rank`` spatial axes (or an unbatched (C, *) one), survivors scaled by 1/(1 − p)."""
    p = check_number(p, "p", where, low=0, high=1, label="dropout probability p")
    x = _lift(x)
    if x.ndim not in (rank + 1, rank + 2):
        raise ShapeError(f"{where}: expected an input of shape (N, C{', L' if rank == 1 else ', H, W'})"
                         f" or without N; got shape {tuple(x.shape)}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    v = array_of(x)
    lead = x.shape[:x.ndim - rank]
    keep = get_rng(rng).random(lead) >= p
    mask = (keep.astype(v.dtype) * v.dtype.type(1.0 / (1.0 - p))).reshape(lead + (1,) * rank)
    if is_device(v):
        mask = get_backend(v).xp.asarray(mask)  # drawn on the host: same masks on any backend
    return x * mask


def dropout1d(x: Any, p: float = 0.5, training: bool = True, rng: Any = None) -> Any:
    """Channel dropout of (N, C, L) (or (C, L)) inputs: each channel of each example is zeroed
    with probability ``p``, the rest scaled by 1/(1 − p) (PyTorch's ``dropout1d``).

    Raises:
        ConfigError: ``p`` outside [0, 1].
        ShapeError: an input that is not 2-D or 3-D.

    >>> y = dropout1d(Tensor(np.ones((1, 4, 3))), 0.5, rng=0)
    >>> sorted(set(y.numpy().ravel().tolist()))
    [0.0, 2.0]
    """
    return _channel_dropout("dropout1d", x, p, training, rng, 1)


def dropout2d(x: Any, p: float = 0.5, training: bool = True, rng: Any = None) -> Any:
    """Channel dropout of (N, C, H, W) (or (C, H, W)) inputs: whole feature maps are zeroed
    with probability ``p``, the rest scaled by 1/(1 − p) (PyTorch's ``dropout2d``; a 3-D
    input is an unbatched image here, where PyTorch still reads it as (N, C, L) with a
    warning: use :func:`dropout1d` for that).

    Raises:
        ConfigError: ``p`` outside [0, 1].
        ShapeError: an input that is not 3-D or 4-D.
    """
    return _channel_dropout("dropout2d", x, p, training, rng, 2)


__all__ = [
    "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "gelu", "softmax",
    "log_softmax", "silu", "mish", "hardswish", "hardsigmoid", "selu", "celu", "prelu",
    "logsigmoid", "softsign", "softmin", "logsumexp", "exp", "log", "linear", "one_hot",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "log_likelihood",
    "log_likelihood_with_logits", "mse_loss", "half_sum_squared_error", "cross_entropy",
    "nll_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "kl_div", "dropout", "dropout1d",
    "dropout2d", "pad", "scaled_dot_product_attention",
]


# Layers' functional forms, defined beside their modules (imported last: they use the above).
from .padding import pad  # noqa: E402, F401
from .objectives import huber_loss, kl_div, l1_loss, smooth_l1_loss  # noqa: E402, F401
from .activation import (  # noqa: E402, F401
    celu, gelu, hardsigmoid, hardswish, logsigmoid, mish, prelu, selu, silu, softmin, softsign,
)
from .conv import conv, conv1d, conv2d  # noqa: E402, F401
from .pooling import adaptive_avg_pool, avg_pool, max_pool  # noqa: E402, F401
from .conv import (  # noqa: E402, F401
    conv3d, conv_transpose, conv_transpose1d, conv_transpose2d, conv_transpose3d,
)
from .pooling import max_unpool  # noqa: E402, F401
from .upsample import interpolate  # noqa: E402, F401


# --- attention (Vaswani et al. 2017); the layers are in nn.attention --------------------

def _swap_last(x: Any) -> Any:
    perm = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return x.permute(perm)


def _attention_bias(where: str, mask: Any, shape: tuple, xp: Any, dtype: Any, true_means: str) -> Any:
    """A mask as an additive bias: a boolean one as 0 / −∞ (−∞ where it masks, i.e. where it is
    False if ``true_means`` is "attend", True if "mask"), a float one as is."""
    m = xp.asarray(array_of(mask))
    try:
        np.broadcast_shapes(tuple(m.shape), shape)
    except ValueError:
        raise ShapeError(f"{where}: mask of shape {tuple(m.shape)} does not broadcast to the "
                         f"attention scores' shape {shape}") from None
    if m.dtype.kind == "b":
        masked = ~m if true_means == "attend" else m
        return xp.where(masked, -xp.inf, 0.0).astype(dtype)
    if m.dtype.kind != "f":
        raise ConfigError(f"{where}: a mask must be boolean or float; got dtype {m.dtype}")
    return m.astype(dtype, copy=False)


def _causal_bias(xp: Any, n_q: int, n_k: int, dtype: Any) -> Any:
    """0 on and below the diagonal, −∞ above: query i sees keys 0..i (top-left aligned)."""
    return xp.where(xp.tril(xp.ones((n_q, n_k), dtype=bool)), 0.0, -xp.inf).astype(dtype)


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, rng: Any = None) -> Any:
    """softmax(Q·Kᵀ·scale + bias)·V (Vaswani et al. 2017, eq. 1), as PyTorch's
    ``F.scaled_dot_product_attention``.

    Args:
        query: (..., L, E); key (..., S, E); value (..., S, E_v); leading axes broadcast.
        attn_mask: boolean (True: may attend, PyTorch's convention here) or a float bias added
            to the scores; broadcastable to (..., L, S).
        dropout_p: dropout on the attention weights; applied whenever > 0, as in PyTorch (pass
            0.0 when not training).
        is_causal: query i attends to keys 0..i only (no attn_mask with it).
        scale: the factor on Q·Kᵀ (default 1/√E).
        rng: generator or seed for the dropout mask.

    Returns:
        (..., L, E_v). A query whose every key is masked out gets NaN, as in PyTorch.

    Raises:
        ConfigError: attn_mask with is_causal, a bad dropout_p, or a mask of another dtype.
        ShapeError: operands that do not fit together.

    >>> q = Tensor(np.eye(2)[None])                       # two queries, each matching one key
    >>> v = Tensor([[[1.0, 0.0], [0.0, 1.0]]])
    >>> scaled_dot_product_attention(q, q, v, is_causal=True).numpy().round(3).tolist()
    [[[1.0, 0.0], [0.33, 0.67]]]
    """
    where = "scaled_dot_product_attention"
    q, k, v = _lift(query), _lift(key), _lift(value)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2 or q.shape[-1] != k.shape[-1] \
            or k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"{where}: expected query (..., L, E), key (..., S, E) and value "
                         f"(..., S, E_v); got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    dropout_p = check_number(dropout_p, "dropout_p", where, low=0, high=1)
    if check_bool(is_causal, "is_causal", where) and attn_mask is not None:
        raise ConfigError(f"{where}: give attn_mask or is_causal=True, not both")
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = _F.matmul(q, _swap_last(k)) * s
    xp = array_module(array_of(scores))
    if is_causal:
        scores = scores + _causal_bias(xp, q.shape[-2], k.shape[-2], scores.dtype)
    elif attn_mask is not None:
        scores = scores + _attention_bias(where, attn_mask, tuple(scores.shape), xp, scores.dtype, "attend")
    weights = _F.softmax(scores, axis=-1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, True, rng)
    return _F.matmul(weights, v)
