"""``summary(model, input_shape)``: one row per layer a forward pass calls, with its output
shape and its number of parameters (the Keras ``model.summary()`` / torchinfo table)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..autograd import no_grad
from ..errors import ConfigError
from ..tensor import Tensor
from .module import Module


class SummaryRow(NamedTuple):
    """One layer of :func:`summary`: dotted name, class, output shape and the number of
    parameters it holds itself (not through its sub-modules)."""

    name: str
    layer: str
    output_shape: tuple[int, ...] | None
    num_params: int


def _shape(out: Any) -> tuple[int, ...] | None:
    if isinstance(out, (tuple, list)) and out:  # (output, state) of a recurrent layer
        out = out[0]
    shape = getattr(out, "shape", None)
    return None if shape is None else tuple(shape)


def summary(model: Module, input_shape: Sequence[int], dtype: Any = "float32",
            print_fn: Callable[[str], Any] | None = print) -> list[SummaryRow]:
    """Run ``model`` once on zeros of ``input_shape`` (the batch dimension included, as
    torchinfo's ``input_size``) in evaluation mode and without gradients, and print per layer
    its output shape and parameter count, then the totals. The model's modes and state are
    left as they were (running statistics are not updated).

    Args:
        model: the module.
        input_shape: the shape of one input batch, e.g. (1, 1, 28, 28).
        dtype: the input's dtype ("int64" for a model that starts with an Embedding).
        print_fn: where the table goes (None: nowhere).

    Returns:
        The rows, in the order the layers ran.

    Raises:
        ConfigError: ``model`` is not a Module.

    >>> from chainrule import nn
    >>> rows = summary(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1)), (2, 4))
    Layer         Output shape    Param #
    -------------------------------------
    0 (Linear)    (2, 3)               15
    1 (ReLU)      (2, 3)                0
    2 (Linear)    (2, 1)                4
    -------------------------------------
    Total params: 19
    Trainable params: 19
    Non-trainable params: 0
    >>> rows[0]
    SummaryRow(name='0', layer='Linear', output_shape=(2, 3), num_params=15)
    """
    if not isinstance(model, Module):
        raise ConfigError(f"summary: expected a Module; got {type(model).__name__}")
    names = {id(m): n for n, m in model.named_modules()}
    rows: list[SummaryRow] = []

    def record(m: Module, args: Any, out: Any) -> None:
        inner = {id(p) for c in m.children() for p in c.parameters()}
        own = sum(p.size for p in m.parameters() if id(p) not in inner)
        rows.append(SummaryRow(names.get(id(m), "?"), type(m).__name__, _shape(out), own))

    modes = [(m, m.training) for m in model.modules()]
    handles = [m.register_forward_hook(record) for m in model.modules() if m is not model]
    try:
        model.eval()
        with no_grad():
            model(Tensor(np.zeros(tuple(input_shape), dtype=dtype)))
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode
    if print_fn is not None:
        print_fn(_table(model, rows))
    return rows


def _table(model: Module, rows: list[SummaryRow]) -> str:
    labels = [f"{r.name} ({r.layer})" for r in rows]
    width = max([len("Layer")] + [len(label) for label in labels]) + 4
    shapes = [str(r.output_shape) for r in rows]
    sw = max([len("Output shape")] + [len(s) for s in shapes]) + 4
    lines = [f"{'Layer':<{width}}{'Output shape':<{sw}}{'Param #':>7}"]
    rule = "-" * len(lines[0])
    lines.append(rule)
    lines += [f"{label:<{width}}{s:<{sw}}{r.num_params:>7,}"
              for label, s, r in zip(labels, shapes, rows)]
    total = model.num_parameters()
    trainable = model.num_parameters(trainable_only=True)
    lines += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}"]
    return "\n".join(lines)


__all__ = ["summary", "SummaryRow"]
