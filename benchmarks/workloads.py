"""The registry of workloads: one entry per workload, in the order the harness runs them.

To add a workload (a CNN step, an LSTM step): write a function
``run(framework, reps, quick, threads) -> dict`` returning ``{"cases": {name: summary},
"accuracy", "peak_rss_mb", "info"}`` (an MLP-like one can reuse :func:`benchmarks.mlp.run_mlp`
with a new :class:`benchmarks.mlp.MLPSpec`), then add a :class:`Workload` to ``WORKLOADS``
below. A framework whose code cannot be imported raises ImportError from ``run`` and shows as
"not available" in the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from . import data, imports, micro
from .mlp import MLPSpec, run_mlp

MLP_PEERS = ("floor", "torch", "jax", "sklearn", "chainrule")
MLP_RATIOS = ("torch", "jax", "floor")
_QUICK_MNIST = partial(data.load_mnist_shaped, 6000, 2000)


@dataclass(frozen=True)
class Workload:
    """One benchmark workload.

    Attributes:
        name: what ``--workload`` selects.
        title: one line saying what runs.
        unit: unit of the reported times.
        frameworks: who runs it, one process each, in this order.
        ratios: denominators of the ratio columns (``chainrule / <name>``).
        run: ``run(framework, reps, quick, threads) -> result dict``.
        reps: timed repetitions of a full run (≥ 5).
        quick_reps: repetitions under ``--quick``.
        show_difference: also print chainrule − first ratio denominator (for overheads).
        digits: decimals shown in the table.
    """

    name: str
    title: str
    unit: str
    frameworks: tuple[str, ...]
    ratios: tuple[str, ...]
    run: Callable[[str, int, bool, int], dict[str, Any]]
    reps: int = 5
    quick_reps: int = 3
    show_difference: bool = False
    digits: int = 2


def _mlp(spec: MLPSpec) -> Callable[[str, int, bool, int], dict[str, Any]]:
    return partial(run_mlp, spec)


WORKLOADS: dict[str, Workload] = {w.name: w for w in [
    Workload(
        "digits", "8×8 digits (1438 train / 359 test), MLP 64-128-64-10 ReLU, Adam 1e-3, batch 32",
        "ms/epoch", MLP_PEERS, MLP_RATIOS,
        _mlp(MLPSpec(data.load_digits, (128, 64), 32, scale=1e3)), reps=7, quick_reps=3),
    Workload(
        "mnist128", "MNIST-shaped 60000×784, MLP 784-256-128-10 ReLU, Adam 1e-3, batch 128",
        "s/epoch", MLP_PEERS, MLP_RATIOS,
        _mlp(MLPSpec(data.load_mnist_shaped, (256, 128), 128, quick_load=_QUICK_MNIST)),
        reps=5, quick_reps=2, digits=3),
    Workload(
        "mnist512", "MNIST-shaped 60000×784, MLP 784-256-128-10 ReLU, Adam 1e-3, batch 512",
        "s/epoch", MLP_PEERS, MLP_RATIOS,
        _mlp(MLPSpec(data.load_mnist_shaped, (256, 128), 512, quick_load=_QUICK_MNIST)),
        reps=5, quick_reps=2, digits=3),
    Workload(
        "batch1", "digits MLP 64-128-64-10, batch size 1 (one epoch = 1438 steps), Adam 1e-3",
        "µs/step", MLP_PEERS, MLP_RATIOS,
        _mlp(MLPSpec(data.load_digits, (128, 64), 1, per_step=True, scale=1e6, quick_train=300)),
        reps=5, quick_reps=3, digits=1),
    Workload(
        "perop", f"a chain of {micro.CHAIN} recorded ops on 4×4 float32 (engine overhead per op)",
        "µs/op", ("numpy", "chainrule"), ("numpy",), micro.run_perop,
        reps=7, quick_reps=3, show_difference=True, digits=2),
    Workload(
        "onehidden", "issue 2's step: 64-128-1 sigmoid net, BCE from logits, backward, SGD, "
        "batch 256", "µs/step", ("numpy", "chainrule"), ("numpy",), micro.run_onehidden,
        reps=7, quick_reps=3, digits=1),
    Workload(
        "import", "import time in a fresh interpreter", "ms", ("numpy", "chainrule", "torch"),
        ("torch", "numpy"), imports.run_import, reps=5, quick_reps=2, digits=0),
]}
