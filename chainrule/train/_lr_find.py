"""The learning-rate range test (Smith 2017, "Cyclical learning rates", section 3.3): train a
few hundred steps while the learning rate grows exponentially, and read off where the loss
falls fastest. Plot it with :func:`chainrule.viz.plot_lr_find`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import random as crandom
from ..errors import ConfigError
from ..validate import check_number
from ._loop import _fields, _loader, _step, _to_model


@dataclass
class LRFinderResult:
    """The range test's record: ``lrs[i]`` was used for step i, whose loss was ``losses[i]``
    (``smoothed``: their bias-corrected exponential moving average). ``suggestion`` is the
    learning rate where the smoothed loss falls steepest (None when too few steps ran); a
    common choice is a little below it."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float | None


def _suggest(lrs: list[float], smoothed: list[float]) -> float | None:
    """The lr of the most negative slope d(loss)/d(log lr), skipping the first tenth of the
    steps (the moving average is still settling there, as fastai skips them) and the last."""
    skip = max(1, len(lrs) // 10)
    if len(lrs) - skip - 1 < 3:
        return None
    slope = np.gradient(np.asarray(smoothed[skip:-1]), np.log(np.asarray(lrs[skip:-1])))
    return float(lrs[skip + int(np.argmin(slope))])


# NOTE: the test's steps, its stopping rule and the restoring of what it changed read best in
# one piece.
def lr_find(model: Any, loss_fn: Any, optimizer: Any, train: Any, *, start_lr: float = 1e-7,
            end_lr: float = 10.0, num_iter: int = 100, batch_size: int = 32, rng: Any = None,
            smooth: float = 0.05, diverge: float = 5.0) -> LRFinderResult:
    """Run the learning-rate range test and put everything back as it was.

    Step i (of ``num_iter``) sets every parameter group's lr to
    ``start_lr · (end_lr / start_lr)^(i / (num_iter − 1))`` and takes one optimizer step on the
    next batch (the data are cycled). It stops early once the smoothed loss exceeds
    ``diverge`` times its best, or turns NaN. Afterwards the model's weights and buffers, the
    optimizer's state and learning rates and the global random generator are restored, so
    the test leaves no trace on the training that follows.

    Args:
        model: as for :func:`fit`.
        loss_fn: as for :func:`fit`.
        optimizer: as for :func:`fit`.
        train: a DataLoader or ``(X, y)`` arrays (batched with ``batch_size``, shuffled with
            ``rng``).
        start_lr: the range's start (0 < start_lr < end_lr).
        end_lr: the range's end.
        num_iter: steps.
        smooth: the weight of the newest loss in the moving average (fastai's 1 − β).
        diverge: stop once the smoothed loss exceeds this multiple of its best.

    Returns:
        An :class:`LRFinderResult`; plot it with :func:`chainrule.viz.plot_lr_find`.

    Raises:
        ConfigError: invalid arguments, or an optimizer that needs a closure (L-BFGS chooses
            its own step).

    >>> import numpy as np, chainrule as cr
    >>> from chainrule import nn
    >>> from chainrule.optim import SGD
    >>> X = np.random.default_rng(0).standard_normal((64, 2)); y = X @ [1.0, -1.0]
    >>> net = nn.Linear(2, 1, rng=0); before = net.state_dict()
    >>> res = lr_find(net, lambda o, t: ((o.reshape(-1) - t) ** 2).mean(),
    ...               SGD(net.parameters(), lr=0.1), (X, y), num_iter=30, rng=0)
    >>> len(res.lrs) <= 30, all(np.array_equal(before[k], v) for k, v in net.state_dict().items())
    (True, True)
    """
    w = "lr_find"
    start_lr = check_number(start_lr, "start_lr", w, low=0, low_open=True)
    end_lr = check_number(end_lr, "end_lr", w, low=start_lr, low_open=True)
    num_iter = check_number(num_iter, "num_iter", w, low=2, integer=True)
    smooth = check_number(smooth, "smooth", w, low=0, high=1, low_open=True)
    diverge = check_number(diverge, "diverge", w, low=1, low_open=True)
    if getattr(optimizer, "needs_closure", False):
        raise ConfigError(f"lr_find: {type(optimizer).__name__} needs a closure and chooses its "
                          "own step length; the range test is for first-order optimizers")
    loader = _loader(train, batch_size, True, rng)
    move = _to_model(model)
    weights, opt_state, rng_state = model.state_dict(), optimizer.state_dict(), crandom.get_state()
    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    avg, best = 0.0, math.inf
    was_training = getattr(model, "training", True)
    model.train()
    try:
        batches = iter(loader)
        for i in range(num_iter):
            lr = start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
            try:
                batch = next(batches)
            except StopIteration:
                batches = iter(loader)
                batch = next(batches)
            batch = _fields(batch)
            batch = batch if move is None else [move(t) for t in batch]
            with np.errstate(all="ignore"):  # the test is meant to run into divergence
                loss, _ = _step(model, loss_fn, optimizer, batch, False, i)
            value = float(loss.item())
            avg = (1 - smooth) * avg + smooth * value
            s = avg / (1 - (1 - smooth) ** (i + 1))
            lrs.append(lr)
            losses.append(value)
            smoothed.append(s)
            best = min(best, s)
            if not math.isfinite(s) or s > diverge * best:
                break
    finally:
        model.load_state_dict(weights)
        optimizer.load_state_dict(opt_state)
        crandom.set_state(rng_state)
        model.train(was_training)
    return LRFinderResult(lrs, losses, smoothed, _suggest(lrs, smoothed))
