"""The training loop: mini-batch gradient descent over a model, an objective and an optimizer
(NOTES.md 4 and 6), with validation, metrics, callbacks and a progress bar."""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from . import metrics as M
from .autograd import no_grad
from .backend import NUMPY, get_backend
from .errors import ConfigError, DataError
from .tensor import Tensor

Batches = Any  # a DataLoader, or an (X, y) pair of arrays


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
        from .io import atomic_write
        keys = self.keys()
        rows = [[e.get(k, "") for k in keys] for e in self.epochs]
        with atomic_write(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(keys)
            w.writerows(rows)

    def to_json(self, path: str | Path) -> None:
        from .io import atomic_write
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


def _better(mode: str, a: float, b: float, min_delta: float) -> bool:
    return a < b - min_delta if mode == "min" else a > b + min_delta


def _mode_for(monitor: str, mode: str) -> str:
    if mode == "auto":
        return "max" if any(k in monitor for k in ("acc", "likelihood")) else "min"
    if mode not in ("min", "max"):
        raise ConfigError(f"mode must be 'min', 'max' or 'auto'; got {mode!r}")
    return mode


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs; restore the best weights.

    Args:
        monitor: a key of the logs, e.g. "val_loss" or "val_accuracy".
        patience: epochs without improvement before stopping.
        min_delta: the smallest change that counts as an improvement.
        mode: "min", "max" or "auto" (max for accuracy and likelihood, else min).
        restore_best_weights: load the best epoch's weights when training ends.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True) -> None:
        if patience < 0:
            raise ConfigError(f"EarlyStopping: patience must be >= 0; got {patience}")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode = _mode_for(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self.best: float | None = None
        self.best_epoch = 0
        self.best_state: dict[str, np.ndarray] | None = None
        self.wait = 0

    def on_epoch_end(self, state: TrainState) -> None:
        if self.monitor not in state.logs:
            raise ConfigError(f"EarlyStopping monitors {self.monitor!r} but the logs have "
                              f"{sorted(state.logs)} (pass validation data for val_* keys)")
        value = state.logs[self.monitor]
        if self.best is None or _better(self.mode, value, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best_weights:
                self.best_state = state.model.state_dict()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                state.stop = True

    def on_train_end(self, state: TrainState) -> None:
        if self.restore_best_weights and self.best_state is not None:
            state.model.load_state_dict(self.best_state)


class LRSchedule(Callback):
    """Step a learning-rate scheduler once per epoch (ReduceLROnPlateau gets ``monitor``)."""

    def __init__(self, scheduler: Any, monitor: str = "val_loss") -> None:
        self.scheduler, self.monitor = scheduler, monitor

    def on_epoch_end(self, state: TrainState) -> None:
        if type(self.scheduler).__name__ == "ReduceLROnPlateau":
            key = self.monitor if self.monitor in state.logs else "loss"
            self.scheduler.step(state.logs[key])
        else:
            self.scheduler.step()


class Checkpoint(Callback):
    """Save a resumable checkpoint (model, optimizer, random state) every ``every`` epochs."""

    def __init__(self, path: str | Path, every: int = 1) -> None:
        self.path, self.every = Path(path), every

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % self.every == 0:
            from .io import save_checkpoint
            save_checkpoint(self.path, state.model, state.optimizer, epoch=state.epoch,
                            history=state.history.epochs)


def _loader(data: Batches, batch_size: int, shuffle: bool, rng: Any) -> Any:
    if isinstance(data, (tuple, list)) and len(data) == 2:
        from .data import DataLoader, TensorDataset, check_Xy
        X, y = check_Xy(*data)
        return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle, rng=rng)
    if not hasattr(data, "__iter__"):
        raise DataError(f"training data must be a DataLoader or an (X, y) pair; got {type(data).__name__}")
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
        if bk is not NUMPY and type(data) is np.ndarray:
            data = bk.xp.asarray(data)
        return t if data is t.data else Tensor._make(data)

    return move if bk is not NUMPY or dt is not None else None


def _threshold(loss_fn: Any) -> float:
    # Binary outputs are logits (threshold 0) except after a sigmoid, for BCELoss (0.5).
    return 0.5 if type(loss_fn).__name__ == "BCELoss" else 0.0


class _Meter:
    """Running sums for the epoch's loss and accuracy, computed from outputs already at hand."""

    def __init__(self, want_acc: bool, threshold: float) -> None:
        self.want_acc, self.threshold = want_acc, threshold
        self.loss = self.correct = 0.0
        self.n = 0

    def add(self, loss: float, out: np.ndarray, y: np.ndarray) -> None:
        k = len(y)
        self.loss += loss * k
        self.n += k
        if self.want_acc:
            if type(y) is not np.ndarray:  # on a device: beside the predicted classes, on the host
                y = M._np(y)
            self.correct += float(np.sum(M.predicted_classes(out, self.threshold) == y.reshape(-1)))

    def logs(self, prefix: str) -> dict[str, float]:
        out = {f"{prefix}loss": self.loss / max(self.n, 1)}
        if self.want_acc:
            out[f"{prefix}accuracy"] = self.correct / max(self.n, 1)
        return out


def evaluate(model: Any, loss_fn: Callable, data: Batches, metrics: Sequence[str] = ("accuracy",),
             batch_size: int = 1024, prefix: str = "") -> dict[str, float]:
    """Mean loss (and accuracy) of ``model`` on ``data``, in eval mode without recording."""
    loader = _loader(data, batch_size, False, None)
    meter = _Meter("accuracy" in metrics, _threshold(loss_fn))
    was_training = getattr(model, "training", False)
    move = _to_model(model)
    model.eval()
    try:
        with no_grad():
            for xb, yb in loader:
                if move is not None:
                    xb, yb = move(xb), move(yb)
                out = model(xb)
                meter.add(float(loss_fn(out, yb).item()), out.data, yb.data)
    finally:
        model.train(was_training)
    return meter.logs(prefix)


def _progress(enabled: bool | None, total: int, desc: str) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="epoch", leave=True, dynamic_ncols=True)


def fit(model: Any, loss_fn: Callable, optimizer: Any, train: Batches, val: Batches | None = None,
        *, epochs: int = 10, batch_size: int = 32, shuffle: bool = True, rng: Any = None,
        metrics: Sequence[str] = ("accuracy",), callbacks: Iterable[Callback] = (),
        progress: bool | None = None, desc: str = "training", verbose: bool = False) -> History:
    """Train ``model`` by mini-batch gradient descent and return the per-epoch history.

    Each step: forward, ``loss_fn(output, target)``, ``zero_grad``, ``backward``, ``step``
    (optimizers that need a closure, such as L-BFGS, get one).

    Args:
        model: a Module mapping a batch of inputs to outputs.
        loss_fn: ``loss_fn(output, target) -> scalar Tensor``.
        optimizer: an optimizer over ``model.parameters()``.
        train: a DataLoader, or an ``(X, y)`` pair (batched with ``batch_size``, shuffled with
            ``rng``).
        val: optional validation data, evaluated after every epoch.
        epochs: passes over the training data.
        metrics: "accuracy" for classifiers; () for regression.
        callbacks: EarlyStopping, LRSchedule, Checkpoint or your own Callback.
        progress: a progress bar (tqdm) per epoch; None shows it on a terminal only.
        verbose: print one line per epoch.

    Returns:
        A :class:`History` with loss, accuracy, val_loss, val_accuracy, lr and seconds.

    Raises:
        DataError: X and y of different lengths, NaN or Inf in them, an empty data set.
    """
    if epochs < 1:
        raise ConfigError(f"fit: epochs must be >= 1; got {epochs}")
    train_loader = _loader(train, batch_size, shuffle, rng)
    val_loader = None if val is None else _loader(val, 1024, False, None)
    callbacks = list(callbacks)
    history = History()
    state = TrainState(model, optimizer, history)
    threshold = _threshold(loss_fn)
    want_acc = "accuracy" in metrics
    needs_closure = type(optimizer).__name__ == "LBFGS"
    move = _to_model(model)
    bar = _progress(progress, epochs, desc)
    for cb in callbacks:
        cb.on_train_begin(state)
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            model.train()
            meter = _Meter(want_acc, threshold)
            for xb, yb in train_loader:
                if move is not None:
                    xb, yb = move(xb), move(yb)
                if needs_closure:
                    def closure(xb=xb, yb=yb):
                        optimizer.zero_grad()
                        loss = loss_fn(model(xb), yb)
                        loss.backward()
                        return loss
                    loss = optimizer.step(closure)
                    with no_grad():
                        out = model(xb)
                else:
                    out = model(xb)
                    loss = loss_fn(out, yb)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                meter.add(float(loss.item()), out.data, yb.data)
            logs = {"epoch": epoch, **meter.logs("")}
            if not math.isfinite(logs["loss"]):
                raise DataError(f"fit: the training loss became {logs['loss']} in epoch {epoch}; "
                                "lower the learning rate or check the data")
            if val_loader is not None:
                logs.update(evaluate(model, loss_fn, val_loader, metrics, prefix="val_"))
            logs["lr"] = float(optimizer.param_groups[0]["lr"])
            logs["seconds"] = time.perf_counter() - start
            history.append(logs)
            state.epoch, state.logs = epoch, logs
            for cb in callbacks:
                cb.on_epoch_end(state)
            if bar is not None:
                bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()
                                 if k not in ("epoch", "seconds", "lr")})
                bar.update(1)
            if verbose:
                print(f"{desc} epoch {epoch}/{epochs}: " + ", ".join(
                    f"{k} {v:.4f}" for k, v in logs.items() if k not in ("epoch",)))
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
            X = X if hasattr(X, "__cuda_array_interface__") else np.asarray(X)
            for i in range(0, len(X), batch_size):
                xb = Tensor(X[i:i + batch_size])
                out = model(xb if move is None else move(xb)).data
                outs.append(get_backend(out).asnumpy(out))  # predictions come back to the host
    finally:
        model.train(was_training)
    return np.concatenate(outs) if outs else np.zeros((0,))
