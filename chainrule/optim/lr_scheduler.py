"""Learning-rate schedules: they set ``group["lr"]`` of an optimizer's parameter groups.

Same semantics as ``torch.optim.lr_scheduler`` (the recursive "chainable" forms): creating a
scheduler records each group's ``initial_lr`` and sets epoch 0; call :meth:`LRScheduler.step`
once per epoch after ``optimizer.step()``. State dicts hold plain numbers only.

The protocol :func:`chainrule.train.fit` reads (a class attribute, read with
``getattr(scheduler, "needs_metric", False)``): ``needs_metric`` is True when ``step`` takes
the epoch's monitored metric (:class:`ReduceLROnPlateau`), False when it takes nothing.

>>> import chainrule as cr
>>> from chainrule.optim import SGD
>>> opt = SGD([cr.Tensor([1.0], requires_grad=True)], lr=1.0)
>>> sched = StepLR(opt, step_size=2, gamma=0.5)
>>> lrs = []
>>> for epoch in range(5):
...     lrs.append(sched.get_last_lr()[0])
...     opt.step(); sched.step()
>>> lrs
[1.0, 1.0, 0.5, 0.5, 0.25]
"""

from __future__ import annotations

import abc
import math
from typing import Any

from ..errors import ConfigError, StateError
from ..validate import check_choice, check_number
from .optimizer import Optimizer


class LRScheduler(abc.ABC):
    """Base class: subclasses give :meth:`get_lr`, the learning rates of epoch ``last_epoch``.

    Args:
        optimizer: the optimizer whose ``group["lr"]`` values are set.
        last_epoch: -1 to start; a saved epoch to resume (needs ``initial_lr`` in the groups).

    Raises:
        ConfigError: not an optimizer, or resuming without ``initial_lr``.
    """

    needs_metric: bool = False
    """Whether :meth:`step` takes the epoch's metric (the protocol ``fit`` reads)."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise ConfigError(f"{name}: expected a chainrule.optim Optimizer; got "
                              f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ConfigError(f"{name}: resuming with last_epoch={last_epoch} needs "
                                      f"'initial_lr' in param_groups[{i}]; load the optimizer's "
                                      "state first or start with last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        self.step()
        self._is_initial = False

    @abc.abstractmethod
    def get_lr(self) -> list[float]:
        """The learning rates for epoch ``self.last_epoch`` (called by :meth:`step`)."""

    def step(self) -> None:
        """Advance one epoch and set the groups' learning rates."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last :meth:`step` (one per parameter group)."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer, as plain numbers, strings and lists."""
        return {k: (list(v) if isinstance(v, list) else v)
                for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state :meth:`state_dict` returned.

        Raises:
            StateError: an entry this scheduler does not have.
        """
        unknown = sorted(set(state_dict) - set(self.__dict__) - {"optimizer"})
        if unknown or "optimizer" in state_dict:
            raise StateError(f"{type(self).__name__}.load_state_dict: unexpected entries "
                             f"{unknown or ['optimizer']}; expected some of "
                             f"{sorted(k for k in self.__dict__ if k != 'optimizer')}")
        self.__dict__.update({k: (list(v) if isinstance(v, list) else v) for k, v in state_dict.items()})

    def _current(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs:
    ``η_e = η₀ · gamma^⌊e / step_size⌋``.

    Args:
        optimizer: the optimizer.
        step_size: epochs between decays (a positive integer).
        gamma: the factor (> 0).
        last_epoch: -1 to start.

    Raises:
        ConfigError: invalid arguments.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = check_number(step_size, "step_size", "StepLR", low=1, integer=True)
        self.gamma = check_number(gamma, "gamma", "StepLR", low=0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch: ``η_e = η₀ · gammaᵉ``.

    Args:
        optimizer: the optimizer.
        gamma: the factor (> 0).
        last_epoch: -1 to start.

    Raises:
        ConfigError: invalid arguments.

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> opt = SGD([cr.Tensor([1.0], requires_grad=True)], lr=1.0)
    >>> sched = ExponentialLR(opt, gamma=0.5)
    >>> sched.step(); sched.step(); sched.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = check_number(gamma, "gamma", "ExponentialLR", low=0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current()
        return [lr * self.gamma for lr in self._current()]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing (Loshchilov & Hutter 2017, without restarts):
    ``η_e = η_min + (η₀ − η_min)(1 + cos(π e / T_max)) / 2``, computed recursively from the
    current learning rate as PyTorch does (so outside changes to ``lr`` carry on).

    Args:
        optimizer: the optimizer.
        T_max: the half period in epochs (a positive integer).
        eta_min: the smallest learning rate.
        last_epoch: -1 to start.

    Raises:
        ConfigError: invalid arguments.

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> opt = SGD([cr.Tensor([1.0], requires_grad=True)], lr=1.0)
    >>> sched = CosineAnnealingLR(opt, T_max=2)
    >>> sched.step(); round(sched.get_last_lr()[0], 6)    # (1 + cos(π/2)) / 2
    0.5
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = check_number(T_max, "T_max", "CosineAnnealingLR", low=1, integer=True)
        self.eta_min = check_number(eta_min, "eta_min", "CosineAnnealingLR", low=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        e, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current()
        if self._step_count == 1 and e > 0:  # resumed at a later epoch: the closed form
            return [lo + (base - lo) * (1 + math.cos(e * math.pi / T)) / 2 for base in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:  # leaving the minimum, where the ratio below is 0/0
            return [lr + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for lr, base in zip(self._current(), self.base_lrs)]
        return [(1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (lr - lo) + lo
                for lr in self._current()]


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rate by ``factor`` when a metric has stopped improving for
    ``patience`` epochs; call ``step(metric)`` once per epoch.

    Args:
        optimizer: the optimizer.
        mode: ``"min"`` (a loss) or ``"max"`` (an accuracy).
        factor: the factor (0 < factor < 1).
        patience: epochs without improvement tolerated before reducing.
        threshold: how much better counts as an improvement.
        threshold_mode: ``"rel"`` (best · (1 ∓ threshold)) or ``"abs"`` (best ∓ threshold).
        cooldown: epochs to wait after a reduction before counting bad epochs again.
        min_lr: a floor, one number or one per parameter group.
        eps: reductions smaller than this are skipped.

    Raises:
        ConfigError: invalid arguments.

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> opt = SGD([cr.Tensor([1.0], requires_grad=True)], lr=1.0)
    >>> sched = ReduceLROnPlateau(opt, patience=1)
    >>> for loss in [3.0, 2.0, 2.0, 2.0]:
    ...     sched.step(loss)
    >>> sched.get_last_lr()     # two epochs without improvement after 2.0
    [0.1]
    """

    needs_metric = True

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0.0, eps: float = 1e-8) -> None:
        w = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise ConfigError(f"{w}: expected a chainrule.optim Optimizer; got {type(optimizer).__name__}")
        self.mode = check_choice(mode, "mode", w, ("min", "max"))
        self.threshold_mode = check_choice(threshold_mode, "threshold_mode", w, ("rel", "abs"))
        self.factor = check_number(factor, "factor", w, low=0, high=1, low_open=True, high_open=True)
        self.patience = check_number(patience, "patience", w, low=0, integer=True)
        self.cooldown = check_number(cooldown, "cooldown", w, low=0, integer=True)
        self.threshold = check_number(threshold, "threshold", w, low=0)
        self.eps = check_number(eps, "eps", w, low=0)
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ConfigError(f"Invalid min_lr: {len(min_lr)} values (expected one per parameter "
                                  f"group, {n}) in {w}")
            self.default_min_lr, self.min_lrs = None, [float(v) for v in min_lr]
        else:
            min_lr = check_number(min_lr, "min_lr", w, low=0)
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * n
        self.optimizer = optimizer
        self.last_epoch = 0
        self._last_lr = self._current()
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def get_lr(self) -> list[float]:
        return self._current()

    def step(self, metrics: float) -> None:  # type: ignore[override]
        """Record this epoch's metric; reduce the learning rates after ``patience`` bad epochs.

        Args:
            metrics: the monitored value (a number or a one-element Tensor).
        """
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current()

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise ConfigError(f"ReduceLROnPlateau: the optimizer has {len(groups)} parameter groups "
                                  f"but min_lr gave {len(self.min_lrs)} values; set min_lrs to match")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            return a < best * (1.0 - self.threshold) if self.threshold_mode == "rel" \
                else a < best - self.threshold
        return a > best * (1.0 + self.threshold) if self.threshold_mode == "rel" \
            else a > best + self.threshold


__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau"]
