"""The one loop: :func:`fit`, with :func:`evaluate` and :func:`predict` beside it."""

from __future__ import annotations

import copy
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import metrics as M
from ..autograd import no_grad
from ..compile import CompiledStep
from ..backend import NUMPY, get_backend, is_device, to_host
from ..errors import ConfigError, DataError, MissingDependency, StateError
from ..optional import require
from ..tensor import Tensor
from ..validate import check_bool, check_number
from ._callbacks import Callback, EarlyStopping, History, TrainState

Batches = Any  # a DataLoader, or an (X, y) or (X, y, sample_weight) tuple of arrays
Metrics = Sequence[Any] | Mapping[str, Callable[[Any, Any], float]] | None
BUILTIN_METRICS = ("accuracy", "mse", "mae")


def _loader(data: Batches, batch_size: int, shuffle: bool, rng: Any, sampler: Any = None) -> Any:
    """A DataLoader over ``(X, y)`` or ``(X, y, sample_weight)`` arrays, or ``data`` itself."""
    if isinstance(data, (tuple, list)) and len(data) in (2, 3):
        from ..data import DataLoader, TensorDataset, check_Xy
        X, y = check_Xy(*data[:2])
        return DataLoader(TensorDataset(X, y, *data[2:]), batch_size=batch_size, shuffle=shuffle,
                          rng=rng, sampler=sampler)
    if not hasattr(data, "__iter__"):
        raise DataError("training data must be a DataLoader or an (X, y) or (X, y, sample_weight) "
                        f"tuple; got {type(data).__name__}")
    return data


def _fields(batch: Any) -> list[Any]:
    """A batch as [x, target(, weight)] Tensors (a collate_fn may have returned arrays)."""
    if isinstance(batch, Mapping) or not isinstance(batch, (tuple, list)):
        what = f"a dict with keys {sorted(batch)}" if isinstance(batch, Mapping) \
            else type(batch).__name__
        raise DataError(f"fit needs batches (x, target[, weight]); got {what} (give the "
                        "DataLoader a collate_fn that returns a tuple)")
    return [t if isinstance(t, Tensor) else Tensor(t) for t in batch]


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


def check_metrics(metrics: Metrics, where: str) -> list[tuple[str, Any]] | None:
    """``metrics`` as (name, built-in name or callable) pairs; None stays None (auto)."""
    if metrics is None:
        return None
    items = list(metrics.items()) if isinstance(metrics, Mapping) else \
        [(m, m) if isinstance(m, str) else (getattr(m, "__name__", ""), m) for m in metrics]
    for name, m in items:
        if isinstance(m, str) and m not in BUILTIN_METRICS or not (isinstance(m, str) or callable(m)):
            raise ConfigError(f"Invalid metric: {m!r} (expected one of {list(BUILTIN_METRICS)} "
                              f"or a function f(y_true, y_pred) -> float) in {where}")
        if not name or name == "<lambda>":
            raise ConfigError(f"Invalid metric: {m!r} has no name (pass a dict {{name: f}} or a "
                              f"def'd function) in {where}")
    return items


def _auto_metrics(loss_fn: Any, target: Any) -> list[tuple[str, Any]]:
    """Accuracy for a classifier: a loss with a decision threshold (BCE) or integer targets
    (cross-entropy); nothing for a regression."""
    dt = np.dtype(getattr(target, "dtype", np.float64))
    binary = getattr(loss_fn, "decision_threshold", None) is not None
    return [("accuracy", "accuracy")] if binary or dt.kind in "iub" else []


class _Meter:
    """Running sums for the epoch's loss and metrics, computed from outputs already at hand;
    a callable metric gets the whole epoch's targets and outputs at the end."""

    def __init__(self, metrics: list[tuple[str, Any]] | None, loss_fn: Any) -> None:
        self.metrics, self.loss_fn, self.threshold = metrics, loss_fn, _threshold(loss_fn)
        self.loss = self.n = 0.0
        self.sums: dict[str, float] = {}
        self.kept: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, loss: float, out: Any, y: Any) -> None:
        if self.metrics is None:
            self.metrics = _auto_metrics(self.loss_fn, y)
        k = len(y)
        self.loss += loss * k
        self.n += k
        if not self.metrics:
            return
        out, y = to_host(out), to_host(y)  # metrics are counted on the host
        for name, m in self.metrics:
            if m == "accuracy":
                v = np.sum(M.predicted_classes(out, self.threshold) == y.reshape(-1))
            elif m in ("mse", "mae"):
                d = out.reshape(k, -1).astype(np.float64) - y.reshape(k, -1)
                v = np.sum(np.mean(d * d if m == "mse" else np.abs(d), axis=1))
            else:
                continue
            self.sums[name] = self.sums.get(name, 0.0) + float(v)
        if any(callable(m) for _, m in self.metrics):
            self.kept.append((y, out))

    def logs(self, prefix: str) -> dict[str, float]:
        n = max(self.n, 1)
        out = {f"{prefix}loss": self.loss / n}
        for name, m in self.metrics or ():
            if callable(m):
                y = np.concatenate([a for a, _ in self.kept])
                pred = np.concatenate([b for _, b in self.kept])
                out[f"{prefix}{name}"] = float(m(y, pred))
            else:
                out[f"{prefix}{name}"] = self.sums.get(name, 0.0) / n
        return out


def evaluate(model: Any, loss_fn: Callable, data: Batches, metrics: Metrics = None,
             batch_size: int = 1024, prefix: str = "") -> dict[str, float]:
    """Mean loss (and metrics) of ``model`` on ``data``, in eval mode without recording.

    ``metrics`` as for :func:`fit` (None: accuracy for a classifier, nothing for a
    regression). Batches with a third field (sample weights) are passed to ``loss_fn`` as its
    third argument.
    """
    loader = _loader(data, batch_size, False, None)
    meter = _Meter(check_metrics(metrics, "evaluate"), loss_fn)
    was_training = getattr(model, "training", False)
    move = _to_model(model)
    model.eval()
    try:
        with no_grad():
            for batch in loader:
                batch = _fields(batch)
                xb, *targets = batch if move is None else [move(t) for t in batch]
                out = model(xb)
                meter.add(float(loss_fn(out, *targets).item()), out.data, targets[0].data)
    finally:
        model.train(was_training)
    return meter.logs(prefix)


class _Diverged(Exception):
    def __init__(self, value: float, batch: int) -> None:
        super().__init__(value, batch)
        self.value, self.batch = value, batch


def _step(model: Any, loss_fn: Callable, optimizer: Any, batch: Sequence[Tensor],
          check_finite: bool, index: int) -> tuple[Any, Any]:
    """One update on one batch ``(x, target[, weight])``; returns the loss and the outputs.

    An optimizer that ``needs_closure`` (L-BFGS) is given one that re-evaluates the loss.
    With ``check_finite`` a loss that is not finite stops before its step is taken.
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
        value = float(loss.item())
        if check_finite and not math.isfinite(value):
            raise _Diverged(value, index)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss, out


def _stop_if_not_finite(index: int) -> Callable[[Any], None]:
    """The compiled step's check of the loss before its update (as :func:`_step` does)."""
    def check(loss: Any) -> None:
        value = float(loss)
        if not math.isfinite(value):
            raise _Diverged(value, index)
    return check


def _weighted(loss_fn: Any) -> Callable:
    """``loss(out, target, weight)``: a chainrule loss with mean reduction becomes the weighted
    mean Σ wᵢ lᵢ / Σ wᵢ of its per-sample terms (scikit-learn's and PyTorch's normalization);
    any other callable is given the weights as its third argument."""
    if getattr(loss_fn, "reduction", None) != "mean":
        return loss_fn
    per = copy.copy(loss_fn)
    per.reduction = "none"

    def loss(out: Any, target: Any, weight: Any) -> Any:
        terms = per(out, target)
        if terms.ndim > 1:
            terms = terms.reshape(terms.shape[0], -1).mean(axis=1)
        return (terms * weight.reshape(-1)).sum() / float(weight.data.sum())
    return loss


def _class_weights(class_weight: Any, y: np.ndarray | None) -> np.ndarray | None:
    """A weight per class index from a ``{class: weight}`` dict or "balanced" (n / (k·count),
    scikit-learn's rule); classes not in the dict weigh 1."""
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ConfigError(f"Invalid class_weight: {class_weight!r} (expected 'balanced' or a "
                              "dict {class: weight}) in fit")
        if y is None:
            raise ConfigError("fit: class_weight='balanced' counts the classes of (X, y) arrays; "
                              "with a DataLoader pass a dict {class: weight}")
        counts = np.bincount(_as_labels(y))
        return np.where(counts > 0, len(y) / (np.count_nonzero(counts) * np.maximum(counts, 1)), 1.0)
    if not isinstance(class_weight, Mapping) or not class_weight:
        raise ConfigError(f"Invalid class_weight: {class_weight!r} (expected 'balanced' or a "
                          "dict {class: weight}) in fit")
    keys = [int(k) for k in class_weight]
    if min(keys) < 0:
        raise ConfigError(f"Invalid class_weight: class {min(keys)} (expected class indices ≥ 0) in fit")
    w = np.ones(max(keys) + 1)
    for k, v in class_weight.items():
        w[int(k)] = check_number(v, f"class_weight[{k}]", "fit", low=0)
    return w


def _as_labels(y: Any) -> np.ndarray:
    y = np.asarray(to_host(y)).reshape(-1)
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        raise DataError("fit: class_weight needs class labels as targets; got non-whole numbers")
    return y.astype(np.int64)


@dataclass
class _Run:
    """What every epoch of one :func:`fit` call needs."""

    model: Any
    loss_fn: Callable
    optimizer: Any
    loader: Any
    val_loader: Any
    metrics: list[tuple[str, Any]] | None
    check_finite: bool
    move: Callable[[Tensor], Tensor] | None = None
    class_weight: np.ndarray | None = None
    compiled: CompiledStep | None = None
    weighted_loss: Callable = field(init=False)

    def __post_init__(self) -> None:
        self.weighted_loss = _weighted(self.loss_fn)

    def _prepare(self, batch: Any) -> tuple[list[Any], Callable]:
        batch = _fields(batch)
        if self.move is not None:
            batch = [self.move(t) for t in batch]
        if self.class_weight is not None:
            labels = _as_labels(batch[1].data)
            w = np.ones(len(labels))
            known = labels < len(self.class_weight)
            w[known] = self.class_weight[labels[known]]
            if len(batch) > 2:
                w = w * to_host(batch[2].data).reshape(-1)
            wt = Tensor._make(w.astype(np.float32))
            batch = [*batch[:2], wt if self.move is None else self.move(wt)]
        return batch, self.weighted_loss if len(batch) > 2 else self.loss_fn

    def epoch(self, state: TrainState, callbacks: list[Callback]) -> dict[str, float]:
        """Train one pass over the loader, calling the per-batch hooks; the epoch's logs."""
        start = time.perf_counter()
        self.model.train()
        meter = _Meter(self.metrics, self.loss_fn)
        for index, batch in enumerate(self.loader):
            batch, loss_fn = self._prepare(batch)
            state.batch, state.batch_logs = index, {"batch": index, "size": len(batch[1])}
            for cb in callbacks:
                cb.on_batch_begin(state)
            if self.compiled is not None and len(batch) > 2:
                warnings.warn("fit(compile=True): weighted batches (sample_weight, class_weight) "
                              "train eagerly", RuntimeWarning, stacklevel=3)
                self.compiled = None
            if self.compiled is not None:
                loss, out = self.compiled.run(batch, _stop_if_not_finite(index)
                                              if self.check_finite else None)
            else:
                loss, out = _step(self.model, loss_fn, self.optimizer, batch, self.check_finite,
                                  index)
            value = float(loss.item())
            meter.add(value, out.data, batch[1].data)
            state.batch_logs["loss"] = value
            if self.check_finite and not math.isfinite(value):
                raise _Diverged(value, index)
            for cb in callbacks:
                cb.on_batch_end(state)
            if state.stop:
                break
        logs = {"epoch": state.epoch, **meter.logs("")}
        if self.val_loader is not None:
            logs.update(evaluate(self.model, self.loss_fn, self.val_loader,
                                 dict(meter.metrics or {}), prefix="val_"))
        logs["lr"] = float(self.optimizer.param_groups[0]["lr"])
        logs["seconds"] = time.perf_counter() - start
        return logs


class _Reporter:
    """A progress bar (tqdm) on a terminal; elsewhere one line per epoch on stderr."""

    def __init__(self, progress: bool | None, verbose: bool | None, total: int, desc: str) -> None:
        self.bar, self.desc, self.total = None, desc, total
        if progress or progress is None and sys.stderr.isatty():
            try:  # NOTE: a progress bar is a nicety: without tqdm training goes on without one
                tqdm = require("tqdm.auto", "progress", "a progress bar").tqdm
                self.bar = tqdm(total=total, desc=desc, unit="epoch", leave=True,
                                dynamic_ncols=True)
            except MissingDependency:
                pass
        self.lines = verbose if verbose is not None else progress is None and self.bar is None

    def epoch(self, logs: dict[str, float]) -> None:
        shown = {k: v for k, v in logs.items() if k not in ("epoch", "seconds")}
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items() if k != "lr"})
            self.bar.update(1)
        if self.lines:
            self.say(f"{self.desc} epoch {logs['epoch']}/{self.total}: "
                     + ", ".join(f"{k} {v:.4g}" for k, v in shown.items())
                     + f" ({logs['seconds']:.2f} s)")

    def say(self, message: str) -> None:
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        elif self.lines:
            print(message, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _split(train: Batches, val: Batches | None, validation_split: float,
           sample_weight: Any) -> tuple[Batches, Batches | None]:
    """Attach ``sample_weight`` to array data and hold out its last ``validation_split``
    (before any shuffling, as Keras does)."""
    arrays = isinstance(train, (tuple, list)) and len(train) in (2, 3)
    if sample_weight is not None:
        if not arrays or len(train) == 3:
            raise ConfigError("fit: sample_weight goes with (X, y) arrays; a DataLoader or an "
                              "(X, y, w) tuple carries its own weights as a third field")
        train = (*train, np.asarray(sample_weight, dtype=np.float64).reshape(-1))
        if len(train[2]) != len(train[0]):
            raise DataError(f"fit: {len(train[2])} sample weights for {len(train[0])} samples")
    check_number(validation_split, "validation_split", "fit", low=0, high=1, high_open=True)
    if not validation_split:
        return train, val
    if not arrays or val is not None:
        raise ConfigError("fit: validation_split cuts (X, y) arrays; give it without val and "
                          "with arrays, not a DataLoader")
    n = len(train[0])
    cut = n - int(round(n * validation_split))
    if not 0 < cut < n:
        raise DataError(f"fit: validation_split={validation_split} of {n} samples leaves an empty "
                        "part")
    return tuple(a[:cut] for a in train), tuple(a[cut:] for a in train[:2])


def _resume(resume: dict[str, Any], loader: Any, callbacks: list[Callback]) -> History:
    """Restore the loader's generator and the callbacks' states saved by a checkpoint; the
    history so far."""
    saved = resume.get("train_state") or {}
    if saved.get("loader") is not None:
        if not hasattr(loader, "load_state_dict"):
            raise StateError("fit(resume=...): the checkpoint holds the loader's state but the "
                             f"training data ({type(loader).__name__}) cannot take it")
        loader.load_state_dict(saved["loader"])
    states = saved.get("callbacks") or []
    own = [cb for cb in callbacks if hasattr(cb, "load_state_dict")]
    if [name for name, _ in states] != [type(cb).__name__ for cb in own]:
        raise StateError("fit(resume=...): the checkpoint holds the states of callbacks "
                         f"{[name for name, _ in states]}; fit was given "
                         f"{[type(cb).__name__ for cb in own]} (pass the same ones, in order)")
    for cb, (_, s) in zip(own, states):
        cb.load_state_dict(s)
    return History(resume.get("history") or [])


def _diverged(exc: _Diverged, state: TrainState, callbacks: list[Callback]) -> DataError:
    """Stop at once on a non-finite loss: end the callbacks (EarlyStopping restores its best
    weights) and say what the model holds now."""
    state.stop, state.stop_reason = True, "the training loss is not finite"
    for cb in callbacks:
        cb.on_train_end(state)
    restored = [cb for cb in callbacks if isinstance(cb, EarlyStopping)
                and cb.restore_best_weights and cb.best_state is not None]
    if restored:
        now = (f"the model holds the weights of epoch {restored[0].best_epoch}, the best by "
               f"{restored[0].monitor}")
    else:
        now = "the model holds the weights from before that batch"
    params = state.model.parameters() if hasattr(state.model, "parameters") else []
    if not all(np.isfinite(to_host(p.data)).all() for p in params):
        now = "the model's weights are NaN or infinite: initialize it again"
    err = DataError(f"fit: the training loss became {exc.value} in epoch {state.epoch}; lower the "
                    f"learning rate or check the data (training stopped at once, in batch "
                    f"{exc.batch + 1}, before its step; {now})")
    err.history = state.history  # type: ignore[attr-defined]
    return err


# NOTE: fit's body is the loop's outline (set up, resume, epochs, callbacks, the end): one
# place to read the order things happen in, so it is kept whole rather than cut into pieces.
def fit(model: Any, loss_fn: Callable, optimizer: Any, train: Batches, val: Batches | None = None,
        *, epochs: int = 10, batch_size: int = 32, shuffle: bool = True, rng: Any = None,
        sampler: Any = None, metrics: Metrics = None, callbacks: Iterable[Callback] = (),
        progress: bool | None = None, desc: str = "training", verbose: bool | None = None,
        check_finite: bool = True, class_weight: Any = None, sample_weight: Any = None,
        validation_split: float = 0.0, initial_epoch: int | None = None,
        resume: dict[str, Any] | None = None, distributed: Any = None,
        compile: bool = False) -> History:
    """Train ``model`` by mini-batch gradient descent and return the per-epoch history.

    Each step: forward, ``loss_fn(output, target)``, ``zero_grad``, ``backward``, ``step``
    (an optimizer whose ``needs_closure`` is true, such as L-BFGS, gets a closure instead).
    The callbacks run around every batch and after every epoch; any of them may stop
    training (``state.stop = True``) or change the optimizer's learning rate.

    Args:
        model: a Module mapping a batch of inputs to outputs.
        loss_fn: ``loss_fn(output, target) -> scalar Tensor``. With weights (``sample_weight``,
            ``class_weight`` or a third field in the batches) a chainrule loss with mean
            reduction becomes the weighted mean Σ wᵢ lᵢ / Σ wᵢ; another callable is called as
            ``loss_fn(output, target, weight)``.
        optimizer: an optimizer over ``model.parameters()``.
        train: a DataLoader, or an ``(X, y)`` or ``(X, y, sample_weight)`` tuple of arrays
            (batched with ``batch_size``, shuffled with ``rng`` or ordered by ``sampler``).
        val: optional validation data, evaluated after every epoch.
        epochs: the epoch to stop after (counting from 1, ``initial_epoch`` included).
        rng: generator or seed for shuffling arrays (None: the global generator).
        sampler: for arrays, the order of the samples instead of ``shuffle`` (a sized iterable
            of indices, iterated once per epoch, e.g. :class:`chainrule.data.ReshuffleSampler`).
        metrics: names ("accuracy", "mse", "mae"), functions ``f(y_true, outputs) -> float``
            computed on the whole epoch (named by ``__name__``), or a dict ``{name: f}``;
            None: accuracy for a classifier (a loss with a ``decision_threshold`` or integer
            targets), nothing for a regression. Unknown names raise.
        callbacks: EarlyStopping, LRSchedule, CSVLogger, :class:`chainrule.io.Checkpoint` or
            your own :class:`Callback`.
        progress: a progress bar (tqdm); None shows it on a terminal and prints one line per
            epoch to stderr elsewhere; False shows neither.
        verbose: print one line per epoch to stderr (None: as ``progress`` says).
        check_finite: stop at the first batch whose loss is NaN or infinite, before its step,
            and raise (after EarlyStopping restored its best weights).
        class_weight: ``{class: weight}`` or "balanced" (n / (classes · count)); multiplies
            each sample's weight by its class's.
        sample_weight: one weight per sample of (X, y) arrays.
        validation_split: hold out this last fraction of (X, y) arrays (before shuffling, as
            Keras) as validation data.
        initial_epoch: epochs already done (training runs epochs initial_epoch+1..epochs).
        resume: what :func:`chainrule.io.load_checkpoint` returned: training goes on from its
            epoch with its history, the loader's shuffling generator and the callbacks' states
            (schedulers, early stopping), so the result is bit-identical to an unbroken run.
        distributed: a :class:`chainrule.distributed.Distributed` world (``init()``) to train
            data-parallel over MPI ranks: shards, reduced gradients and logs, rank 0 reports.
        compile: record the training step once per batch shape and replay it on raw arrays
            (:class:`chainrule.compile.CompiledStep`): the same results bit for bit, with
            less Python per step; a step it cannot replay runs eagerly, with one warning.

    Returns:
        A :class:`History` with loss, the metrics, their val_* twins, lr and seconds (and,
        when resuming, the epochs before); ``stop_reason`` says why it stopped early.

    Raises:
        ConfigError: unknown metrics, invalid options.
        DataError: X and y of different lengths, NaN or Inf in them, an empty data set, a
            non-finite training loss (with ``check_finite``).
        StateError: a ``resume`` whose callbacks' states do not match ``callbacks``.
    """
    check_number(epochs, "epochs", "fit", low=1, integer=True)
    train, val = _split(train, val, validation_split, sample_weight)
    wanted = check_metrics(metrics, "fit")
    cw = _class_weights(class_weight, train[1] if isinstance(train, tuple) else None)
    if distributed is not None:  # data parallel: the world configures this loop (one call)
        train, val, optimizer, callbacks, progress, verbose = distributed.configure(
            model, optimizer, loss_fn, train, val, batch_size=batch_size, shuffle=shuffle,
            rng=rng, sampler=sampler, callbacks=callbacks, progress=progress, verbose=verbose)
    loader = _loader(train, batch_size, shuffle and sampler is None, rng, sampler)
    run = _Run(model, loss_fn, optimizer, loader,
               None if val is None else _loader(val, 1024, False, None), wanted, check_finite,
               _to_model(model), cw,
               CompiledStep(model, loss_fn, optimizer) if check_bool(compile, "compile", "fit")
               else None)
    callbacks = list(callbacks)
    history = _resume(resume, loader, callbacks) if resume else History()
    if initial_epoch is None:
        initial_epoch = int(resume["epoch"]) if resume else 0
    check_number(initial_epoch, "initial_epoch", "fit", low=0, integer=True)
    state = TrainState(model, optimizer, history, epoch=initial_epoch, loader=loader,
                       callbacks=callbacks)
    out = _Reporter(progress, verbose, epochs, desc)
    for cb in callbacks:
        cb.on_train_begin(state)
    try:
        for epoch in range(initial_epoch + 1, epochs + 1):
            state.epoch = epoch
            for cb in callbacks:
                cb.on_epoch_begin(state)
            state.logs = logs = run.epoch(state, callbacks)
            for cb in callbacks:
                cb.on_epoch_end(state)
            history.append(logs)
            for cb in callbacks:
                cb.after_epoch(state)
            out.epoch(logs)
            if state.stop:
                history.stop_reason = state.stop_reason or f"a callback stopped training in epoch {epoch}"
                out.say(f"{desc}: {history.stop_reason}")
                break
    except _Diverged as exc:
        raise _diverged(exc, state, callbacks) from None
    finally:
        out.close()
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
