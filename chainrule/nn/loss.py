"""Objectives as modules (NOTES.md 3), each a thin wrapper of :mod:`chainrule.nn.functional`
called as ``loss(prediction, target)``, and :func:`get_loss` to pick one by name."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..validate import check_choice, check_number
from . import functional as NF
from .module import Module


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


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities (clamped): see
    :func:`~chainrule.nn.functional.binary_cross_entropy`.

    >>> from chainrule import Tensor
    >>> round(BCELoss()(Tensor([0.5]), [1.0]).item(), 4)
    0.6931
    """

    decision_threshold = 0.5

    def forward(self, p: Any, y: Any) -> Any:
        return NF.binary_cross_entropy(p, y, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy from scores, stable: see
    :func:`~chainrule.nn.functional.binary_cross_entropy_with_logits`.

    >>> from chainrule import Tensor
    >>> round(BCEWithLogitsLoss()(Tensor([0.0]), [1.0]).item(), 4)
    0.6931
    """

    decision_threshold = 0.0

    def forward(self, z: Any, y: Any) -> Any:
        return NF.binary_cross_entropy_with_logits(z, y, self.reduction)


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


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from scores with class-index or probability targets: see
    :func:`~chainrule.nn.functional.cross_entropy`.

    Raises:
        ConfigError: an unknown reduction or ``label_smoothing`` outside [0, 1].

    >>> from chainrule import Tensor
    >>> round(CrossEntropyLoss()(Tensor([[0.0, 0.0]]), [1]).item(), 4)
    0.6931
    """

    def __init__(self, label_smoothing: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.label_smoothing = check_number(label_smoothing, "label_smoothing", "CrossEntropyLoss",
                                            low=0, high=1)

    def forward(self, logits: Any, target: Any) -> Any:
        return NF.cross_entropy(logits, target, self.label_smoothing, self.reduction)

    def extra_repr(self) -> str:
        extra = f", label_smoothing={self.label_smoothing}" if self.label_smoothing else ""
        return super().extra_repr() + extra


class NLLLoss(_Loss):
    """Negative log-likelihood of class indices given log-probabilities: see
    :func:`~chainrule.nn.functional.nll_loss`.

    >>> import numpy as np
    >>> from chainrule import Tensor
    >>> round(NLLLoss()(Tensor(np.log([[0.5, 0.5]])), [0]).item(), 4)
    0.6931
    """

    def forward(self, log_probs: Any, target: Any) -> Any:
        return NF.nll_loss(log_probs, target, self.reduction)


_LOSSES: dict[str, type[_Loss]] = {
    "bce": BCELoss, "binary_cross_entropy": BCELoss,
    "bce_with_logits": BCEWithLogitsLoss, "binary_cross_entropy_with_logits": BCEWithLogitsLoss,
    "mse": MSELoss, "mse_loss": MSELoss, "cross_entropy": CrossEntropyLoss,
    "ce": CrossEntropyLoss, "nll": NLLLoss, "nll_loss": NLLLoss,
}


def get_loss(name: str | Module, **kwargs: Any) -> Module:
    """A new loss module by name (a Module is returned as is); ``kwargs`` go to its constructor
    (e.g. ``reduction="sum"``).

    Names: bce (binary_cross_entropy), bce_with_logits (binary_cross_entropy_with_logits),
    mse (mse_loss), cross_entropy (ce), nll (nll_loss).

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


__all__ = ["BCELoss", "BCEWithLogitsLoss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "get_loss"]
