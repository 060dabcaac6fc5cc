"""MLP training workloads: same data, weights, batch order and Adam in every framework.

One run = untimed warm-up epochs, then ``reps`` timed epochs, each over its own shared
permutation (:func:`benchmarks.data.epoch_order`), so every framework does exactly the same
training and the test accuracy after the last epoch is comparable.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import data
from .measure import clock, current_rss_mb, peak_rss_mb, process_peak_rss_mb, reset_peak_rss, summary

TRAINERS = {
    "floor": "benchmarks.peers.floor",
    "torch": "benchmarks.peers.torch_mlp",
    "jax": "benchmarks.peers.jax_mlp",
    "sklearn": "benchmarks.peers.sklearn_mlp",
    "chainrule": "benchmarks.peers.chainrule_mlp",
}
"""Framework name -> module defining ``Trainer`` (and ``NAME``, optionally ``VERSION``)."""

ADAM = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}


@dataclass(frozen=True)
class MLPSpec:
    """One MLP training workload.

    Attributes:
        load: returns the :class:`benchmarks.data.Dataset`.
        hidden: hidden layer widths (input and output widths come from the data).
        batch_size: samples per step.
        per_step: report time per step instead of per epoch.
        scale: seconds -> reported unit (1e3 for ms, 1e6 for µs).
        warmup: untimed epochs before the timed ones.
        quick_train: training rows used under ``--quick`` (None = all).
        quick_load: loader used under ``--quick`` instead of ``load`` (e.g. a smaller set).
    """

    load: Callable[[], data.Dataset]
    hidden: tuple[int, ...]
    batch_size: int
    per_step: bool = False
    scale: float = 1.0
    warmup: int = 1
    quick_train: int | None = None
    quick_load: Callable[[], data.Dataset] | None = None


def load_trainer(framework: str) -> Any:
    """The framework's trainer module (raises ImportError when the framework is absent)."""
    return importlib.import_module(TRAINERS[framework])


def run_mlp(spec: MLPSpec, framework: str, reps: int, quick: bool, threads: int) -> dict[str, Any]:
    """Train ``spec``'s MLP in ``framework``; time ``reps`` epochs after the warm-up.

    Returns:
        ``{"cases": {"epoch" or "step": summary}, "accuracy", "peak_rss_mb" (peak from
        the start of training where the OS can reset the counter, see
        ``peak_since_training``), "rss_before_mb" (resident before training, data loaded),
        "process_peak_rss_mb", "info"}``.

    Raises:
        ImportError: the framework is not installed (or, for chainrule, not written yet).
    """
    module = load_trainer(framework)
    if hasattr(module, "set_threads"):
        module.set_threads(threads)
    if quick:
        ds = (spec.quick_load or spec.load)().subset(spec.quick_train)
    else:
        ds = spec.load()
    n_classes = int(max(ds.y_train.max(), ds.y_test.max())) + 1
    sizes = [ds.X_train.shape[1], *spec.hidden, n_classes]
    params = data.init_params(sizes)
    kwargs = dict(ADAM)
    if framework == "sklearn":
        kwargs["batch_size"] = spec.batch_size
    trainer = module.Trainer(params, **kwargs)
    n = len(ds.y_train)
    peak_reset = reset_peak_rss()
    rss_before = current_rss_mb()

    epoch = 0
    for _ in range(spec.warmup):
        trainer.train_epoch(ds.X_train, ds.y_train, data.epoch_order(n, epoch), spec.batch_size, epoch)
        epoch += 1
    steps = -(-n // spec.batch_size)
    per = steps if spec.per_step else 1
    times = []
    for _ in range(reps):
        order = data.epoch_order(n, epoch)
        t0 = clock()
        trainer.train_epoch(ds.X_train, ds.y_train, order, spec.batch_size, epoch)
        times.append((clock() - t0) / per * spec.scale)
        epoch += 1
    accuracy = trainer.accuracy(ds.X_test, ds.y_test)
    return {
        "cases": {"step" if spec.per_step else "epoch": summary(times)},
        "accuracy": accuracy,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": rss_before,
        "process_peak_rss_mb": process_peak_rss_mb(),
        "peak_since_training": peak_reset,
        "info": {
            "data": ds.source, **ds.info, "n_train": n, "n_test": len(ds.y_test),
            "sizes": sizes, "batch_size": spec.batch_size, "steps_per_epoch": steps,
            "epochs_trained": epoch, "data_mb": (ds.X_train.nbytes + ds.X_test.nbytes) / 2**20,
            "version": getattr(module, "VERSION", None),
        },
    }
