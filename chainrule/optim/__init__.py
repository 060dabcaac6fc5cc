"""Optimizers and learning-rate schedules.

PyTorch-style use: ``opt = Adam(model.parameters(), lr=1e-3)``, then per batch
``opt.zero_grad(); loss.backward(); opt.step()``. Each optimizer is a chain of small
update rules from :mod:`chainrule.optim.transforms` (compose your own with ``chain``), applied
in place to the parameters' arrays by the thin :class:`Optimizer` base. Formulas and defaults
match ``torch.optim`` so switching libraries changes nothing.

>>> import chainrule as cr
>>> from chainrule.optim import SGD
>>> w = cr.Tensor([2.0], requires_grad=True)
>>> opt = SGD([w], lr=0.25)
>>> for _ in range(3):
...     opt.zero_grad()
...     loss = (w * w).sum()      # E = w², ∂E/∂w = 2w: each step halves w
...     loss.backward()
...     opt.step()
>>> w.data
array([0.25], dtype=float32)
"""

from . import lr_scheduler, transforms
from ..nn.utils import clip_grad_norm_, clip_grad_value_
from ._first_order import SGD, Adagrad, Adam, AdamW, RMSprop
from ._lbfgs import LBFGS
from .lr_scheduler import (
    CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR, LRScheduler, MultiStepLR, OneCycleLR,
    ReduceLROnPlateau, SequentialLR, StepLR,
)
from .optimizer import Optimizer

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LBFGS",
    "clip_grad_norm_", "clip_grad_value_",
    "lr_scheduler", "transforms",
    "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau",
    "LambdaLR", "MultiStepLR", "LinearLR", "OneCycleLR", "SequentialLR",
]
