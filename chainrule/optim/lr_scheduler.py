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
import bisect
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

    def _restart(self) -> None:
        """Jump to epoch 0 with the closed form (what PyTorch's ``step(0)`` does inside
        SequentialLR): the schedule starts again from the base rates."""
        self._step_count += 1
        self.last_epoch = 0
        lrs = self._closed_form() if hasattr(self, "_closed_form") else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
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

    def _closed_form(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


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

    def _closed_form(self) -> list[float]:
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


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

    def _closed_form(self) -> list[float]:
        e, T, lo = self.last_epoch, self.T_max, self.eta_min
        return [lo + (base - lo) * (1 + math.cos(math.pi * e / T)) / 2 for base in self.base_lrs]


class LambdaLR(LRScheduler):
    """``η_e = η₀ · lr_lambda(e)``: any schedule as a function of the epoch.

    Args:
        optimizer: the optimizer.
        lr_lambda: a function of the epoch, or one per parameter group.
        last_epoch: -1 to start.

    Raises:
        ConfigError: a list of functions that does not match the parameter groups.

    The functions are not part of :meth:`state_dict` (as in PyTorch): give the same ones when
    resuming.

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> opt = SGD([cr.Tensor([1.0], requires_grad=True)], lr=1.0)
    >>> sched = LambdaLR(opt, lambda e: 1 / (e + 1))
    >>> sched.step(); sched.step(); sched.get_last_lr()
    [0.3333333333333333]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Any, last_epoch: int = -1) -> None:
        n = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        if len(fns) != n or not all(callable(f) for f in fns):
            raise ConfigError(f"Invalid lr_lambda: {lr_lambda!r} (expected a function or one per "
                              f"parameter group, {n}) in {type(self).__name__}")
        self.lr_lambdas = fns
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * f(self.last_epoch) for f, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at each milestone epoch:
    ``η_e = η₀ · gamma^(milestones passed)``.

    Args:
        optimizer: the optimizer.
        milestones: epochs at which to decay (a milestone given twice decays twice).
        gamma: the factor (> 0).
        last_epoch: -1 to start.

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> opt = SGD([cr.Tensor([1.0], requires_grad=True)], lr=1.0)
    >>> sched = MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
    >>> [sched.step() or sched.get_last_lr()[0] for _ in range(4)]
    [0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer: Optimizer, milestones: Any, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        w = "MultiStepLR"
        self.milestones = sorted(check_number(m, "milestones", w, low=0, integer=True)
                                 for m in milestones)
        self.gamma = check_number(gamma, "gamma", w, low=0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        k = self.milestones.count(self.last_epoch)
        return [lr * self.gamma ** k for lr in self._current()]

    def _closed_form(self) -> list[float]:
        k = bisect.bisect_right(self.milestones, self.last_epoch)
        return [base * self.gamma ** k for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the learning rate linearly from ``start_factor·η₀`` to ``end_factor·η₀`` over
    ``total_iters`` epochs, then keep it (a warm-up with the defaults):
    ``η_e = η₀ (s + (f − s) · min(e, T) / T)``.

    Args:
        optimizer: the optimizer.
        start_factor: s, in (0, 1].
        end_factor: f, in [0, 1].
        total_iters: T, epochs to get there.
        last_epoch: -1 to start.

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> opt = SGD([cr.Tensor([1.0], requires_grad=True)], lr=1.0)
    >>> sched = LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> lrs = [sched.get_last_lr()[0]] + [sched.step() or sched.get_last_lr()[0] for _ in range(4)]
    >>> [round(lr, 4) for lr in lrs]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        w = "LinearLR"
        self.start_factor = check_number(start_factor, "start_factor", w, low=0, high=1, low_open=True)
        self.end_factor = check_number(end_factor, "end_factor", w, low=0, high=1)
        self.total_iters = check_number(total_iters, "total_iters", w, low=1, integer=True)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        e, s, f, T = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        if e == 0:
            return [lr * s for lr in self._current()]
        if e > T:
            return self._current()
        return [lr * (1.0 + (f - s) / (T * s + (e - 1) * (f - s))) for lr in self._current()]

    def _closed_form(self) -> list[float]:
        e, s, f, T = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        return [base * (s + (f - s) * min(T, e) / T) for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin 2018), stepped once per batch: the learning rate rises
    from ``max_lr/div_factor`` to ``max_lr`` over the first ``pct_start`` of the steps, then
    anneals to ``max_lr/(div_factor·final_div_factor)``; momentum (or Adam's β₁) moves the
    other way between ``max_momentum`` and ``base_momentum``. As PyTorch's, argument for
    argument; give ``total_steps`` or ``epochs`` and ``steps_per_epoch``.

    Raises:
        ConfigError: invalid arguments, or ``cycle_momentum`` with an optimizer that has
            neither momentum nor betas; (in :meth:`step`) stepping past ``total_steps``.
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float = 0.85, max_momentum: float = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, last_epoch: int = -1) -> None:
        w = "OneCycleLR"
        if not isinstance(optimizer, Optimizer):
            raise ConfigError(f"{w}: expected a chainrule.optim Optimizer; got {type(optimizer).__name__}")
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ConfigError(f"{w}: give total_steps, or epochs and steps_per_epoch")
            total_steps = check_number(epochs, "epochs", w, low=1, integer=True) * \
                check_number(steps_per_epoch, "steps_per_epoch", w, low=1, integer=True)
        self.total_steps = check_number(total_steps, "total_steps", w, low=1, integer=True)
        pct = check_number(pct_start, "pct_start", w, low=0, high=1)
        self.anneal_strategy = check_choice(anneal_strategy, "anneal_strategy", w, ("cos", "linear"))
        self.cycle_momentum = bool(cycle_momentum)
        groups = optimizer.param_groups
        max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * len(groups)
        if len(max_lrs) != len(groups):
            raise ConfigError(f"Invalid max_lr: {len(max_lrs)} values (expected one per parameter "
                              f"group, {len(groups)}) in {w}")
        n = float(pct * self.total_steps)
        self._schedule_phases = [[n - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"],
                                 [self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"]]
        if three_phase:
            self._schedule_phases = [
                [n - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"],
                [2 * n - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"],
                [self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"]]
        if last_epoch == -1:
            for group, top in zip(groups, max_lrs):
                top = check_number(top, "max_lr", w, low=0, low_open=True)
                group["initial_lr"] = top / check_number(div_factor, "div_factor", w, low=0, low_open=True)
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / check_number(
                    final_div_factor, "final_div_factor", w, low=0, low_open=True)
        if self.cycle_momentum:
            self.use_beta1 = "betas" in groups[0]
            if not self.use_beta1 and "momentum" not in groups[0]:
                raise ConfigError(f"{w}: cycle_momentum needs an optimizer with momentum or betas; "
                                  f"{type(optimizer).__name__} has neither (pass cycle_momentum=False)")
            for group in groups:
                if last_epoch == -1:
                    self._set_momentum(group, max_momentum)
                group["max_momentum"], group["base_momentum"] = max_momentum, base_momentum
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict[str, Any], m: float) -> None:
        if self.use_beta1:
            group["betas"] = (m, *group["betas"][1:])
        else:
            group["momentum"] = m

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ConfigError(f"OneCycleLR: stepped {step} times, past total_steps="
                              f"{self.total_steps}; step it once per batch for that many batches")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._schedule_phases):
                if step <= end or i == len(self._schedule_phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m0], group[m1], pct))
                    break
                start = end
        return lrs


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at the ``milestones`` epochs (each
    scheduler starts again from the base rate): a warm-up then a decay, as PyTorch's.

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> opt = SGD([cr.Tensor([1.0], requires_grad=True)], lr=1.0)
    >>> warm = LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> decay = ExponentialLR(opt, gamma=0.5)
    >>> sched = SequentialLR(opt, [warm, decay], milestones=[2])
    >>> [sched.get_last_lr()[0]] + [sched.step() or sched.get_last_lr()[0] for _ in range(4)]
    [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, schedulers: list[LRScheduler], milestones: list[int],
                 last_epoch: int = -1) -> None:
        w = "SequentialLR"
        schedulers, milestones = list(schedulers), [int(m) for m in milestones]
        if not schedulers or any(getattr(s, "optimizer", None) is not optimizer for s in schedulers):
            raise ConfigError(f"{w}: expected one or more schedulers, all of this optimizer")
        if any(isinstance(s, ReduceLROnPlateau) for s in schedulers):
            raise ConfigError(f"{w}: ReduceLROnPlateau steps on a metric; it cannot be sequenced")
        if len(milestones) != len(schedulers) - 1:
            raise ConfigError(f"Invalid milestones: {milestones} (expected {len(schedulers) - 1}, "
                              f"one fewer than the schedulers) in {w}")
        self.optimizer, self._schedulers, self._milestones = optimizer, schedulers, milestones
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for s in schedulers:  # undo the step each took when it was made
            s.last_epoch -= 1
        schedulers[0]._step_count, schedulers[0]._is_initial = 0, True
        schedulers[0].step()
        schedulers[0]._is_initial = False
        self._last_lr = schedulers[0].get_last_lr()

    def get_lr(self) -> list[float]:
        return self._current()

    def step(self) -> None:
        self.last_epoch += 1
        i = bisect.bisect_right(self._milestones, self.last_epoch)
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            self._schedulers[i]._restart()
        else:
            self._schedulers[i].step()
        self._last_lr = self._schedulers[i].get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        return {"last_epoch": self.last_epoch, "_milestones": list(self._milestones),
                "_last_lr": list(self._last_lr),
                "_schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        for s, sd in zip(self._schedulers, state.pop("_schedulers", [])):
            s.load_state_dict(sd)
        super().load_state_dict(state)


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


__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau",
           "LambdaLR", "MultiStepLR", "LinearLR", "OneCycleLR", "SequentialLR"]
