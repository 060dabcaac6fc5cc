"""What :func:`~chainrule.train.fit` reports and who may act on it: the per-epoch
:class:`History`, the :class:`TrainState` callbacks see, and the stock callbacks."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write
from ..errors import ConfigError, StateError
from ..validate import check_choice, check_number


class History:
    """Per-epoch logs, read two ways: by epoch as a sequence, by key as a mapping.

    - ``h[0]``, ``h[-1]``: that epoch's logs dict; ``len(h)`` epochs; ``for logs in h`` walks
      the epochs in order.
    - ``h["val_loss"]``: the list of that key over the epochs that logged it (a KeyError naming
      the keys for one no epoch logged); ``"val_loss" in h`` asks whether any epoch logged it;
      ``h.keys()`` and ``h.history`` (Keras's ``{key: list}``) as for a dict.

    ``stop_reason`` says why training ended before its last epoch ("" when it ran them all).

    >>> h = History(); h.append({"epoch": 1, "loss": 0.5}); h.append({"epoch": 2, "loss": 0.25})
    >>> h["loss"], h[-1]["loss"], "loss" in h, len(h)
    ([0.5, 0.25], 0.25, True, 2)
    """

    def __init__(self, epochs: Iterable[dict[str, float]] = ()) -> None:
        self.epochs: list[dict[str, float]] = [dict(e) for e in epochs]
        self.stop_reason = ""

    def append(self, logs: dict[str, float]) -> None:
        self.epochs.append(dict(logs))

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            try:
                return self.epochs[key]
            except IndexError:
                raise IndexError(f"History: epoch index {key} out of range for "
                                 f"{len(self)} epochs") from None
        if not isinstance(key, str):
            raise TypeError(f"History indices are epoch positions (int) or log keys (str); got "
                            f"{type(key).__name__}")
        if key not in self:
            raise KeyError(f"History has no {key!r}; its keys are {self.keys()}")
        return [e[key] for e in self.epochs if key in e]

    def __contains__(self, key: object) -> bool:
        return any(key in e for e in self.epochs)

    def __iter__(self) -> Iterator[dict[str, float]]:
        return iter(self.epochs)

    def __len__(self) -> int:
        return len(self.epochs)

    def keys(self) -> list[str]:
        return list(dict.fromkeys(k for e in self.epochs for k in e))

    @property
    def history(self) -> dict[str, list[float]]:
        """``{key: list over epochs}``, as Keras's ``History.history``."""
        return {k: self[k] for k in self.keys()}

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
    """What callbacks see and may change.

    ``stop = True`` ends training: set in ``on_epoch_end`` after this epoch, in
    ``on_batch_end`` after this batch. ``stop_reason`` is the message fit reports then.
    ``batch`` is the batch's index in the epoch and ``batch_logs`` its ``{"batch", "size",
    "loss"}``; ``loader`` the training batches and ``callbacks`` all of fit's callbacks (for a
    checkpoint that saves their states).
    """

    model: Any
    optimizer: Any
    history: History
    epoch: int = 0
    logs: dict[str, float] = field(default_factory=dict)
    stop: bool = False
    stop_reason: str = ""
    batch: int = 0
    batch_logs: dict[str, float] = field(default_factory=dict)
    loader: Any = None
    callbacks: list[Any] = field(default_factory=list)


class Callback:
    """Hooks called by :func:`fit`; override the ones you need.

    Order per epoch: ``on_epoch_begin``, then per batch ``on_batch_begin`` / ``on_batch_end``,
    then ``on_epoch_end`` of every callback, then ``after_epoch`` of every callback (for those
    that record what the others did, such as :class:`chainrule.io.Checkpoint`). A callback
    with state to resume defines ``state_dict()`` and ``load_state_dict(state)``.
    """

    def on_train_begin(self, state: TrainState) -> None: ...
    def on_epoch_begin(self, state: TrainState) -> None: ...
    def on_batch_begin(self, state: TrainState) -> None: ...
    def on_batch_end(self, state: TrainState) -> None: ...
    def on_epoch_end(self, state: TrainState) -> None: ...
    def after_epoch(self, state: TrainState) -> None: ...
    def on_train_end(self, state: TrainState) -> None: ...


def mode_for(monitor: str, mode: str, where: str) -> str:
    """"min" or "max" for ``monitor``; "auto": max for accuracy, likelihood and score."""
    if mode == "auto":
        return "max" if any(k in monitor for k in ("acc", "likelihood", "score")) else "min"
    return check_choice(mode, "mode", where, ("min", "max", "auto"))


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
        self.monitor, self.mode = monitor, mode_for(monitor, mode, where)
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
                state.stop_reason = (
                    f"early stopping: {self.monitor} has not improved for {self.wait} epochs "
                    f"(best {self.best:.4g} in epoch {self.best_epoch}"
                    + ("; its weights restored)" if self.best_state is not None else ")"))

    def on_train_end(self, state: TrainState) -> None:
        if self.restore_best_weights and self.best_state is not None:
            state.model.load_state_dict(self.best_state)

    def state_dict(self) -> dict[str, Any]:
        """best, best_epoch, wait and the best weights, to resume."""
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "best_state": self.best_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.wait, self.best_state = int(state["wait"]), state.get("best_state")


class LRSchedule(Callback):
    """Step a learning-rate scheduler once per epoch (``interval="epoch"``) or once per batch
    (``"batch"``, as OneCycleLR expects); one that says ``needs_metric`` (ReduceLROnPlateau)
    is given ``monitor`` from the epoch's logs (the training loss without it)."""

    def __init__(self, scheduler: Any, monitor: str = "val_loss", interval: str = "epoch") -> None:
        self.scheduler, self.monitor = scheduler, monitor
        self.interval = check_choice(interval, "interval", "LRSchedule", ("epoch", "batch"))
        if self.interval == "batch" and getattr(scheduler, "needs_metric", False):
            raise ConfigError("LRSchedule: a scheduler that needs a metric steps once per epoch; "
                              "got interval='batch'")

    def on_batch_end(self, state: TrainState) -> None:
        if self.interval == "batch":
            self.scheduler.step()

    def on_epoch_end(self, state: TrainState) -> None:
        if self.interval == "batch":
            return
        if getattr(self.scheduler, "needs_metric", False):
            key = self.monitor if self.monitor in state.logs else "loss"
            self.scheduler.step(state.logs[key])
        else:
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state, to resume."""
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state)


class CSVLogger(Callback):
    """Append one row per epoch to a CSV file as training goes (Keras's CSVLogger), so a
    long run's progress can be read, or plotted, while it trains.

    Args:
        path: the CSV file; its header is the first epoch's keys.
        append: add to an existing file (resuming) instead of starting a new one.

    >>> CSVLogger("log.csv").append
    False
    """

    def __init__(self, path: str | Path, append: bool = False) -> None:
        self.path, self.append = Path(path), bool(append)
        self._keys: list[str] | None = None

    def on_train_begin(self, state: TrainState) -> None:
        self._keys = None
        if self.append and self.path.exists() and self.path.stat().st_size:
            with self.path.open(newline="") as f:
                self._keys = next(csv.reader(f), None)
        elif not self.append or not self.path.exists():
            self.path.write_text("")

    def on_epoch_end(self, state: TrainState) -> None:
        with self.path.open("a", newline="") as f:
            w = csv.writer(f)
            if self._keys is None:
                self._keys = list(state.logs)
                w.writerow(self._keys)
            extra = sorted(set(state.logs) - set(self._keys))
            if extra:
                raise StateError(f"CSVLogger: epoch {state.epoch} logged {extra}, which are not "
                                 f"among the file's columns {self._keys}")
            w.writerow([state.logs.get(k, "") for k in self._keys])
