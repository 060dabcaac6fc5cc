"""The training loop: mini-batch gradient descent over a model, an objective and an optimizer
(NOTES.md 4 and 6), with validation, metrics, callbacks and a progress bar.

:func:`fit` is the one loop: the command line, the models' own ``fit`` methods and the
scikit-learn estimators' stochastic solvers all run on it, configured through its arguments
(a sampler for the batch order, sample weights, callbacks) rather than loops of their own.
Optimizers and schedulers are asked what they need by protocol: ``optimizer.needs_closure``
(L-BFGS re-evaluates the loss), ``scheduler.needs_metric`` (ReduceLROnPlateau), and a loss's
``decision_threshold`` for accuracy.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics as M
from .atomic import atomic_write
from .autograd import no_grad
from .backend import NUMPY, get_backend, is_device, to_host
from .errors import ConfigError, DataError, MissingDependency
from .optional import require
from .tensor import Tensor
from .validate import check_choice, check_number

__all__ = ["History", "TrainState", "Callback", "EarlyStopping", "LRSchedule", "fit", "evaluate",
           "predict"]

Batches = Any  # a DataLoader, or an (X, y) or (X, y, sample_weight) tuple of arrays


class History:
    """Per-epoch logs: ``history["val_loss"]`` is the list over epochs.

    >>> h = History(); h.append({"epoch": 1, "loss": 0.5}); h["loss"]
    [0.5]
    """

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def append(self, logs: dict[str, float]) -> None:
        self.epochs.append(dict(logs))

    def __getitem__(self, key: str) -> list[float]:
        return [e[key] for e in self.epochs if key in e]

    def __len__(self) -> int:
        return len(self.epochs)

    def keys(self) -> list[str]:
        return list(dict.fromkeys(k for e in self.epochs for k in e))

    def to_csv(self, path: str | Path) -> None:
        """Write one row per epoch (a column per key), atomically."""
        keys = self.keys()
        rows = [[e.get(k, "") for k in keys] for e in self.epochs]
        with atomic_write(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(keys)
            w.writerows(rows)

    def to_json(self, path: str | Path) -> None:
        """Write the list of per-epoch logs as JSON, atomically."""
        with atomic_write(path, "w") as f:
            json.dump(self.epochs, f, indent=1)

    def __repr__(self) -> str:
        return f"History({len(self)} epochs, keys={self.keys()})"


@dataclass
class TrainState:
    """What callbacks see and may change (``stop = True`` ends training after this epoch)."""

    model: Any
    optimizer: Any
    history: History
    epoch: int = 0
    logs: dict[str, float] = field(default_factory=dict)
    stop: bool = False


class Callback:
    """Hooks called by :func:`fit`; override the ones you need."""

    def on_train_begin(self, state: TrainState) -> None: ...
    def on_epoch_end(self, state: TrainState) -> None: ...
    def on_train_end(self, state: TrainState) -> None: ...


def _mode_for(monitor: str, mode: str) -> str:
    if mode == "auto":
        return "max" if any(k in monitor for k in ("acc", "likelihood", "score")) else "min"
    return check_choice(mode, "mode", "EarlyStopping", ("min", "max", "auto"))


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs; restore the best weights.

    Two rules say what counts as an improvement:

    - ``"keras"`` (the default): an epoch improves when it beats the best value by more than
      ``min_delta``; only improving epochs become the best (and have their weights saved).
    - ``"sklearn"``: scikit-learn's ``tol`` / ``n_iter_no_change`` rule. An epoch stalls when it
      is not at least ``min_delta`` better than the best so far, and the best (with its
      weights) follows every better value, however small. scikit-learn stops after more than
      ``n_iter_no_change`` stalled epochs: ``patience = n_iter_no_change + 1``.

    Args:
        monitor: a key of the logs, e.g. "val_loss", "val_accuracy" or "loss".
        patience: epochs without improvement before stopping (``math.inf``: never).
        min_delta: the smallest change that counts as an improvement.
        mode: "min", "max" or "auto" (max for accuracy, likelihood and score, else min).
        restore_best_weights: load the best epoch's weights when training ends.
        rule: "keras" or "sklearn", as above.
        on_plateau: called with the :class:`TrainState` when patience runs out; if it returns
            True (it lowered the learning rate, say) training goes on and the count starts
            again, otherwise training stops.

    Attributes:
        best: the best value so far (±inf before the first epoch), ``best_epoch`` its epoch.
        wait: epochs since the last improvement.
        stopped_epoch: the epoch this callback stopped training in the last run (0: it did not).

    >>> es = EarlyStopping("loss", patience=2, min_delta=1e-3, rule="sklearn",
    ...                    restore_best_weights=False)
    >>> state = TrainState(model=None, optimizer=None, history=History())
    >>> for epoch, loss in enumerate([1.0, 0.99995, 0.9999], 1):
    ...     state.epoch, state.logs = epoch, {"loss": loss}
    ...     es.on_epoch_end(state)
    >>> es.best, es.wait, state.stop   # tiny gains move the best but do not reset the count
    (0.9999, 2, True)
    """

    def __init__(self, monitor: str = "val_loss", patience: float = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True, rule: str = "keras",
                 on_plateau: Callable[[TrainState], bool] | None = None) -> None:
        where = "EarlyStopping"
        self.patience = check_number(patience, "patience", where, low=0)
        self.min_delta = check_number(min_delta, "min_delta", where, low=0)
        self.rule = check_choice(rule, "rule", where, ("keras", "sklearn"))
        self.monitor, self.mode = monitor, _mode_for(monitor, mode)
        self.restore_best_weights, self.on_plateau = restore_best_weights, on_plateau
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = self.wait = self.stopped_epoch = 0
        self.best_state: dict[str, np.ndarray] | None = None

    def on_train_begin(self, state: TrainState) -> None:
        self.stopped_epoch = 0

    def _judge(self, value: float) -> tuple[bool, bool]:
        """(does ``value`` count as an improvement, does it become the best)."""
        d, best = self.min_delta, self.best
        if self.rule == "keras":
            improved = value < best - d if self.mode == "min" else value > best + d
            return improved, improved
        # NOTE: written as scikit-learn writes it (a stall test), so NaN counts as it does there
        stalled = value > best - d if self.mode == "min" else value < best + d
        return not stalled, value < best if self.mode == "min" else value > best

    def on_epoch_end(self, state: TrainState) -> None:
        if self.monitor not in state.logs:
            raise ConfigError(f"EarlyStopping monitors {self.monitor!r} but the logs have "
                              f"{sorted(state.logs)} (pass validation data for val_* keys)")
        value = state.logs[self.monitor]
        improved, is_best = self._judge(value)
        if is_best:
            self.best, self.best_epoch = value, state.epoch
            if self.restore_best_weights:
                self.best_state = state.model.state_dict()
        self.wait = 0 if improved else self.wait + 1
        if self.wait >= self.patience:
            if self.on_plateau is not None and self.on_plateau(state):
                self.wait = 0
            else:
                state.stop, self.stopped_epoch = True, state.epoch

    def on_train_end(self, state: TrainState) -> None:
        if self.restore_best_weights and self.best_state is not None:
            state.model.load_state_dict(self.best_state)


class LRSchedule(Callback):
    """Step a learning-rate scheduler once per epoch; one that says ``needs_metric``
    (ReduceLROnPlateau) is given ``monitor`` from the logs (the training loss without it)."""

    def __init__(self, scheduler: Any, monitor: str = "val_loss") -> None:
        self.scheduler, self.monitor = scheduler, monitor

    def on_epoch_end(self, state: TrainState) -> None:
        if getattr(self.scheduler, "needs_metric", False):
            key = self.monitor if self.monitor in state.logs else "loss"
            self.scheduler.step(state.logs[key])
        else:
            self.scheduler.step()


def _loader(data: Batches, batch_size: int, shuffle: bool, rng: Any, sampler: Any = None) -> Any:
    """A DataLoader over ``(X, y)`` or ``(X, y, sample_weight)`` arrays, or ``data`` itself."""
    if isinstance(data, (tuple, list)) and len(data) in (2, 3):
        from .data import DataLoader, TensorDataset, check_Xy
        X, y = check_Xy(*data[:2])
        return DataLoader(TensorDataset(X, y, *data[2:]), batch_size=batch_size, shuffle=shuffle,
                          rng=rng, sampler=sampler)
    if not hasattr(data, "__iter__"):
        raise DataError("training data must be a DataLoader or an (X, y) or (X, y, sample_weight) "
                        f"tuple; got {type(data).__name__}")
    return data


def _to_model(model: Any) -> Callable[[Tensor], Tensor] | None:
    """A function that moves a batch Tensor to the model's device and casts float batches to
    the model's float dtype, as layers refuse another one (None for a NumPy model whose
    batches need nothing), so data sets may stay on the host while the model trains on a GPU:
    one copy per batch."""
    p = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
    bk = get_backend(p.data) if p is not None else NUMPY
    dt = p.dtype if p is not None and p.dtype.kind == "f" else None

    def move(t: Tensor) -> Tensor:
        data = t.data
        if dt is not None and data.dtype.kind == "f" and data.dtype != dt:
            data = data.astype(dt)
        if bk is not NUMPY and not is_device(data):
            data = bk.xp.asarray(data)
        return t if data is t.data else Tensor._make(data)

    return move if bk is not NUMPY or dt is not None else None


def _threshold(loss_fn: Any) -> float:
    """The decision threshold on one output column: the loss's ``decision_threshold`` (0.5
    after a sigmoid for BCELoss), else 0, the logit's."""
    t = getattr(loss_fn, "decision_threshold", None)
    return 0.0 if t is None else float(t)


class _Meter:
    """Running sums for the epoch's loss and accuracy, computed from outputs already at hand."""

    def __init__(self, want_acc: bool, threshold: float) -> None:
        self.want_acc, self.threshold = want_acc, threshold
        self.loss = self.correct = 0.0
        self.n = 0

    def add(self, loss: float, out: Any, y: Any) -> None:
        k = len(y)
        self.loss += loss * k
        self.n += k
        if self.want_acc:  # the targets go beside the predicted classes, on the host
            pred = M.predicted_classes(out, self.threshold)
            self.correct += float(np.sum(pred == to_host(y).reshape(-1)))

    def logs(self, prefix: str) -> dict[str, float]:
        out = {f"{prefix}loss": self.loss / max(self.n, 1)}
        if self.want_acc:
            out[f"{prefix}accuracy"] = self.correct / max(self.n, 1)
        return out


def evaluate(model: Any, loss_fn: Callable, data: Batches, metrics: Sequence[str] = ("accuracy",),
             batch_size: int = 1024, prefix: str = "") -> dict[str, float]:
    """Mean loss (and accuracy) of ``model`` on ``data``, in eval mode without recording.

    Batches with a third field (sample weights) are passed to ``loss_fn`` as its third argument.
    """
    loader = _loader(data, batch_size, False, None)
    meter = _Meter("accuracy" in metrics, _threshold(loss_fn))
    was_training = getattr(model, "training", False)
    move = _to_model(model)
    model.eval()
    try:
        with no_grad():
            for batch in loader:
                xb, *targets = batch if move is None else [move(t) for t in batch]
                out = model(xb)
                meter.add(float(loss_fn(out, *targets).item()), out.data, targets[0].data)
    finally:
        model.train(was_training)
    return meter.logs(prefix)


def _progress(enabled: bool | None, total: int, desc: str) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    try:  # NOTE: a progress bar is a nicety: without tqdm training goes on without one
        tqdm = require("tqdm.auto", "progress", "a progress bar").tqdm
    except MissingDependency:
        return None
    return tqdm(total=total, desc=desc, unit="epoch", leave=True, dynamic_ncols=True)


def _step(model: Any, loss_fn: Callable, optimizer: Any, batch: Sequence[Tensor]) -> tuple[Any, Any]:
    """One update on one batch ``(x, target[, weight])``; returns the loss and the outputs.

    An optimizer that ``needs_closure`` (L-BFGS) is given one that re-evaluates the loss.
    """
    xb, *targets = batch
    if getattr(optimizer, "needs_closure", False):
        def closure() -> Any:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), *targets)
            loss.backward()
            return loss
        loss = optimizer.step(closure)
        with no_grad():
            out = model(xb)
    else:
        out = model(xb)
        loss = loss_fn(out, *targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss, out


@dataclass
class _Run:
    """What every epoch of one :func:`fit` call needs."""

    model: Any
    loss_fn: Callable
    optimizer: Any
    loader: Any
    val_loader: Any
    metrics: Sequence[str]
    check_finite: bool
    move: Callable[[Tensor], Tensor] | None = None

    def epoch(self, epoch: int) -> dict[str, float]:
        """Train one pass over the loader; return the epoch's logs."""
        start = time.perf_counter()
        self.model.train()
        meter = _Meter("accuracy" in self.metrics, _threshold(self.loss_fn))
        for batch in self.loader:
            if self.move is not None:
                batch = [self.move(t) for t in batch]
            loss, out = _step(self.model, self.loss_fn, self.optimizer, batch)
            meter.add(float(loss.item()), out.data, batch[1].data)
        logs = {"epoch": epoch, **meter.logs("")}
        if self.check_finite and not math.isfinite(logs["loss"]):
            raise DataError(f"fit: the training loss became {logs['loss']} in epoch {epoch}; "
                            "lower the learning rate or check the data")
        if self.val_loader is not None:
            logs.update(evaluate(self.model, self.loss_fn, self.val_loader, self.metrics,
                                 prefix="val_"))
        logs["lr"] = float(self.optimizer.param_groups[0]["lr"])
        logs["seconds"] = time.perf_counter() - start
        return logs


def _report(bar: Any, logs: dict[str, float], verbose: bool, desc: str, epochs: int) -> None:
    if bar is not None:
        bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k not in ("epoch", "seconds", "lr")})
        bar.update(1)
    if verbose:
        print(f"{desc} epoch {logs['epoch']}/{epochs}: " + ", ".join(
            f"{k} {v:.4f}" for k, v in logs.items() if k not in ("epoch",)))


def fit(model: Any, loss_fn: Callable, optimizer: Any, train: Batches, val: Batches | None = None,
        *, epochs: int = 10, batch_size: int = 32, shuffle: bool = True, rng: Any = None,
        sampler: Any = None, metrics: Sequence[str] = ("accuracy",),
        callbacks: Iterable[Callback] = (), progress: bool | None = None, desc: str = "training",
        verbose: bool = False, check_finite: bool = True, distributed: Any = None) -> History:
    """Train ``model`` by mini-batch gradient descent and return the per-epoch history.

    Each step: forward, ``loss_fn(output, target)``, ``zero_grad``, ``backward``, ``step``
    (an optimizer whose ``needs_closure`` is true, such as L-BFGS, gets a closure instead).
    After each epoch the callbacks run in order; any of them may stop training
    (``state.stop = True``) or change the optimizer's learning rate.

    Args:
        model: a Module mapping a batch of inputs to outputs.
        loss_fn: ``loss_fn(output, target) -> scalar Tensor``; with sample weights
            ``loss_fn(output, target, weight)`` gets the batch's weights too.
        optimizer: an optimizer over ``model.parameters()``.
        train: a DataLoader, or an ``(X, y)`` or ``(X, y, sample_weight)`` tuple of arrays
            (batched with ``batch_size``, shuffled with ``rng`` or ordered by ``sampler``).
        val: optional validation data, evaluated after every epoch.
        epochs: passes over the training data.
        sampler: for arrays, the order of the samples instead of ``shuffle`` (a sized iterable
            of indices, iterated once per epoch, e.g. :class:`chainrule.data.ReshuffleSampler`).
        metrics: "accuracy" for classifiers; () for regression.
        callbacks: EarlyStopping, LRSchedule, :class:`chainrule.io.Checkpoint` or your own.
        progress: a progress bar (tqdm) per epoch; None shows it on a terminal only.
        verbose: print one line per epoch.
        check_finite: raise when the epoch's training loss is NaN or infinite.
        distributed: a :class:`chainrule.distributed.Distributed` world (``init()``) to train
            data-parallel over MPI ranks: shards, reduced gradients and logs, rank 0 reports.

    Returns:
        A :class:`History` with loss, accuracy, val_loss, val_accuracy, lr and seconds.

    Raises:
        DataError: X and y of different lengths, NaN or Inf in them, an empty data set, a
            non-finite training loss (with ``check_finite``).
    """
    check_number(epochs, "epochs", "fit", low=1, integer=True)
    if distributed is not None:  # data parallel: the world configures this loop (one call)
        train, val, optimizer, callbacks, progress, verbose = distributed.configure(
            model, optimizer, loss_fn, train, val, batch_size=batch_size, shuffle=shuffle,
            rng=rng, sampler=sampler, callbacks=callbacks, progress=progress, verbose=verbose)
    run = _Run(model, loss_fn, optimizer,
               _loader(train, batch_size, shuffle and sampler is None, rng, sampler),
               None if val is None else _loader(val, 1024, False, None), metrics, check_finite,
               _to_model(model))
    callbacks = list(callbacks)
    history = History()
    state = TrainState(model, optimizer, history)
    bar = _progress(progress, epochs, desc)
    for cb in callbacks:
        cb.on_train_begin(state)
    try:
        for epoch in range(1, epochs + 1):
            logs = run.epoch(epoch)
            history.append(logs)
            state.epoch, state.logs = epoch, logs
            for cb in callbacks:
                cb.on_epoch_end(state)
            _report(bar, logs, verbose, desc, epochs)
            if state.stop:
                break
    finally:
        if bar is not None:
            bar.close()
    for cb in callbacks:
        cb.on_train_end(state)
    return history


def predict(model: Any, X: Any, batch_size: int = 4096) -> np.ndarray:
    """``model``'s outputs on ``X`` as an array, in eval mode without recording."""
    was_training = getattr(model, "training", False)
    move = _to_model(model)
    model.eval()
    outs = []
    try:
        with no_grad():
            X = X.data if isinstance(X, Tensor) else X
            X = X if is_device(X) else np.asarray(X)
            for i in range(0, len(X), batch_size):
                xb = Tensor(X[i:i + batch_size])
                out = model(xb if move is None else move(xb)).data
                outs.append(to_host(out))  # predictions come back to the host
    finally:
        model.train(was_training)
    return np.concatenate(outs) if outs else np.zeros((0,))
