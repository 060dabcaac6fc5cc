"""Objectives as modules (notes §3, objectives), each a thin wrapper of :mod:`chainrule.nn.functional`
called as ``loss(prediction, target)``, and :func:`get_loss` to pick one by name."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from ..tensor import Tensor
from ..validate import check_bool, check_choice, check_number
from . import functional as NF
from .module import Buffer, Module


class _Loss(Module):
    _reductions: tuple[str, ...] = ("mean", "sum", "none")
    #: Where one output column splits the two classes (0 on logits, 0.5 on probabilities);
    #: None for losses that are not binary.
    decision_threshold: float | None = None

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        check_choice(reduction, "reduction", type(self).__name__, self._reductions)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    """A loss with PyTorch's per-class (or per-element) ``weight`` kept as a :class:`Buffer`,
    so it moves with ``to()`` and is saved with the state."""

    def __init__(self, weight: Any = None, reduction: str = "mean", **options: Any) -> None:
        super().__init__(reduction)
        where = type(self).__name__
        if isinstance(weight, str):
            raise ConfigError(f"{where}: weight must be numbers; got {weight!r} (reduction is "
                              f"a keyword, as in PyTorch: reduction={weight!r})")
        self.weight = None if weight is None else Buffer(_as_float_array(weight))
        if type(self) in (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss):
            # chainrule.io saves constructor arguments as JSON: the weights as plain numbers
            kw = {"weight": None if weight is None else self.weight.numpy().tolist(),
                  "reduction": reduction, **options}
            self.__dict__["_init_args"] = ((), kw)

    def extra_repr(self) -> str:
        return super().extra_repr() + (", weight=..." if self.weight is not None else "")


def _as_float_array(values: Any) -> np.ndarray:
    a = np.asarray(values.numpy() if isinstance(values, Tensor) else values)
    return a.astype(a.dtype if a.dtype.kind == "f" else np.float32)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities (clamped), each element's loss times ``weight``
    when given: see :func:`~chainrule.nn.functional.binary_cross_entropy`.

    Raises:
        DataError: (when called) a prediction or a target outside [0, 1].

    >>> from chainrule import Tensor
    >>> round(BCELoss()(Tensor([0.5]), [1.0]).item(), 4)
    0.6931
    """

    decision_threshold = 0.5

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)

    def forward(self, p: Any, y: Any) -> Any:
        return NF.binary_cross_entropy(p, y, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy from scores, stable, with PyTorch's ``weight`` (per element) and
    ``pos_weight`` (the positives' weight, per class on the last axis): see
    :func:`~chainrule.nn.functional.binary_cross_entropy_with_logits`.

    >>> from chainrule import Tensor
    >>> round(BCEWithLogitsLoss()(Tensor([0.0]), [1.0]).item(), 4)
    0.6931
    """

    decision_threshold = 0.0

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None
                 ) -> None:
        super().__init__(weight, reduction, pos_weight=None if pos_weight is None
                         else _as_float_array(pos_weight).tolist())
        self.pos_weight = None if pos_weight is None else Buffer(_as_float_array(pos_weight))

    def forward(self, z: Any, y: Any) -> Any:
        return NF.binary_cross_entropy_with_logits(z, y, self.weight, reduction=self.reduction,
                                                    pos_weight=self.pos_weight)


class MSELoss(_Loss):
    """Quadratic loss; ``reduction="half_sum"`` is the notes' E = ½ Σ‖y − y*‖²: see
    :func:`~chainrule.nn.functional.mse_loss`.

    >>> from chainrule import Tensor
    >>> MSELoss(reduction="half_sum")(Tensor([1.0, 2.0]), [0.0, 0.0]).item()
    2.5
    """

    _reductions = ("mean", "sum", "none", "half_sum")

    def forward(self, pred: Any, target: Any) -> Any:
        return NF.mse_loss(pred, target, self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy from scores with class-index or probability targets, PyTorch's
    class ``weight`` (weighted mean), ``ignore_index`` and ``label_smoothing``: see
    :func:`~chainrule.nn.functional.cross_entropy`. Scores (N, C) or (N, C, d1, ...): classes
    on axis 1, as in PyTorch.

    Raises:
        ConfigError: an unknown reduction or ``label_smoothing`` outside [0, 1].

    >>> from chainrule import Tensor
    >>> round(CrossEntropyLoss()(Tensor([[0.0, 0.0]]), [1]).item(), 4)
    0.6931
    >>> round(CrossEntropyLoss(weight=[1.0, 3.0])(Tensor([[0.0, 0.0]] * 2), [0, 1]).item(), 4)
    0.6931
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, reduction, ignore_index=ignore_index,
                         label_smoothing=label_smoothing)
        self.ignore_index = check_number(ignore_index, "ignore_index", "CrossEntropyLoss",
                                         integer=True)
        self.label_smoothing = check_number(label_smoothing, "label_smoothing", "CrossEntropyLoss",
                                            low=0, high=1)

    def forward(self, logits: Any, target: Any) -> Any:
        return NF.cross_entropy(logits, target, self.weight, ignore_index=self.ignore_index,
                                reduction=self.reduction, label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        extra = f", label_smoothing={self.label_smoothing}" if self.label_smoothing else ""
        extra += f", ignore_index={self.ignore_index}" if self.ignore_index != -100 else ""
        return super().extra_repr() + extra


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of class indices given log-probabilities, with PyTorch's
    ``weight`` and ``ignore_index``: see :func:`~chainrule.nn.functional.nll_loss`.

    >>> import numpy as np
    >>> from chainrule import Tensor
    >>> round(NLLLoss()(Tensor(np.log([[0.5, 0.5]])), [0]).item(), 4)
    0.6931
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"
                 ) -> None:
        super().__init__(weight, reduction, ignore_index=ignore_index)
        self.ignore_index = check_number(ignore_index, "ignore_index", "NLLLoss", integer=True)

    def forward(self, log_probs: Any, target: Any) -> Any:
        return NF.nll_loss(log_probs, target, self.weight, ignore_index=self.ignore_index,
                           reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error |y − y*|: see :func:`~chainrule.nn.functional.l1_loss`.

    >>> from chainrule import Tensor
    >>> L1Loss()(Tensor([1.0, -2.0]), [0.0, 0.0]).item()
    1.5
    """

    def forward(self, pred: Any, target: Any) -> Any:
        return NF.l1_loss(pred, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Huber's loss: ½d² for |d| < δ, δ(|d| − ½δ) beyond: see
    :func:`~chainrule.nn.functional.huber_loss`.

    Raises:
        ConfigError: δ ≤ 0 or an unknown reduction.

    >>> from chainrule import Tensor
    >>> HuberLoss(delta=1.0)(Tensor([0.5, 3.0]), [0.0, 0.0]).item()   # (0.125 + 2.5)/2
    1.3125
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = check_number(delta, "delta", "HuberLoss", low=0, low_open=True)

    def forward(self, pred: Any, target: Any) -> Any:
        return NF.huber_loss(pred, target, reduction=self.reduction, delta=self.delta)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", delta={self.delta}"


class SmoothL1Loss(_Loss):
    """Smooth L1: ½d²/β for |d| < β, |d| − ½β beyond (β = 0: L1): see
    :func:`~chainrule.nn.functional.smooth_l1_loss`.

    Raises:
        ConfigError: β < 0 or an unknown reduction.

    >>> from chainrule import Tensor
    >>> SmoothL1Loss(beta=2.0)(Tensor([1.0, 3.0]), [0.0, 0.0]).item()   # (0.25 + 2)/2
    1.125
    """

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = check_number(beta, "beta", "SmoothL1Loss", low=0)

    def forward(self, pred: Any, target: Any) -> Any:
        return NF.smooth_l1_loss(pred, target, reduction=self.reduction, beta=self.beta)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", beta={self.beta}"


class KLDivLoss(_Loss):
    """Kullback–Leibler divergence of the target from the input, the input given as
    log-probabilities (and the target too with ``log_target``): see
    :func:`~chainrule.nn.functional.kl_div`. PyTorch's default ``reduction="mean"`` averages
    over every element; "batchmean" (sum / N) is the mathematical KL per example.

    >>> import numpy as np
    >>> from chainrule import Tensor
    >>> p, q = [[0.5, 0.5]], np.log([[0.25, 0.75]])
    >>> round(KLDivLoss(reduction="batchmean")(Tensor(q), p).item(), 4)
    0.1438
    """

    _reductions = ("mean", "batchmean", "sum", "none")

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(reduction)
        self.log_target = check_bool(log_target, "log_target", "KLDivLoss")

    def forward(self, log_probs: Any, target: Any) -> Any:
        return NF.kl_div(log_probs, target, reduction=self.reduction, log_target=self.log_target)

    def extra_repr(self) -> str:
        return super().extra_repr() + (", log_target=True" if self.log_target else "")


_LOSSES: dict[str, type[_Loss]] = {
    "bce": BCELoss, "binary_cross_entropy": BCELoss,
    "bce_with_logits": BCEWithLogitsLoss, "binary_cross_entropy_with_logits": BCEWithLogitsLoss,
    "mse": MSELoss, "mse_loss": MSELoss, "cross_entropy": CrossEntropyLoss,
    "ce": CrossEntropyLoss, "nll": NLLLoss, "nll_loss": NLLLoss, "l1": L1Loss, "l1_loss": L1Loss,
    "mae": L1Loss, "huber": HuberLoss, "huber_loss": HuberLoss, "smooth_l1": SmoothL1Loss,
    "smooth_l1_loss": SmoothL1Loss, "kl_div": KLDivLoss, "kl_div_loss": KLDivLoss,
}


def get_loss(name: str | Module, **kwargs: Any) -> Module:
    """A new loss module by name (a Module is returned as is); ``kwargs`` go to its constructor
    (e.g. ``reduction="sum"``).

    Names: bce (binary_cross_entropy), bce_with_logits (binary_cross_entropy_with_logits),
    mse (mse_loss), cross_entropy (ce), nll (nll_loss), l1 (l1_loss, mae), huber (huber_loss),
    smooth_l1 (smooth_l1_loss), kl_div (kl_div_loss).

    Raises:
        ConfigError: an unknown name (the message lists the valid ones).

    >>> get_loss("bce_with_logits", reduction="sum")
    BCEWithLogitsLoss(reduction='sum')
    """
    if isinstance(name, Module):
        return name
    key = str(name).strip().lower().replace("-", "_")
    if key not in _LOSSES:
        raise ConfigError(f"unknown loss {name!r}; expected one of " + ", ".join(sorted(_LOSSES)))
    return _LOSSES[key](**kwargs)


__all__ = ["BCELoss", "BCEWithLogitsLoss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "L1Loss",
           "HuberLoss", "SmoothL1Loss", "KLDivLoss", "get_loss"]
