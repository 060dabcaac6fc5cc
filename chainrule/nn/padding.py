"""``pad`` in PyTorch's form: the pad tuple lists (left, right) for the last dimension first,
then the one before it, ...; modes constant, reflect, replicate and circular. The constant mode
is the :class:`~chainrule.ops.Pad` primitive; the others gather by an integer index per padded
dimension (:class:`~chainrule.ops.GetItem`), whose gradient adds back the repeated entries,
so they need no derivative code of their own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import ops as P
from ..backend import array_module
from ..errors import ConfigError, ShapeError
from ..tensor import ArrayLike, Tensor, apply, array_of
from ..validate import check_choice

MODES = ("constant", "reflect", "replicate", "circular")


def _index(mode: str, n: int, lo: int, hi: int) -> np.ndarray:
    """Indices into a dimension of length n that pad it by lo before and hi after."""
    inner = np.arange(n)
    if mode == "reflect":  # the edge is not repeated: [2 1 | 0 1 2 3 | 2 1]
        return np.concatenate([np.arange(lo, 0, -1), inner, np.arange(n - 2, n - 2 - hi, -1)])
    if mode == "replicate":
        return np.concatenate([np.zeros(lo, int), inner, np.full(hi, n - 1)])
    return np.arange(-lo, n + hi) % n  # circular


def pad(x: Any, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Any:
    """x padded as PyTorch's ``F.pad``: ``pad`` = (left, right) of the last dimension, then
    (top, bottom) of the one before, and so on; negative sizes crop.

    Args:
        x: the input.
        pad: an even number of ints, at most two per dimension.
        mode: "constant" (``value``, 0 by default), "reflect" (mirrored, the edge not
            repeated), "replicate" (the edge repeated) or "circular" (wrapped around).
        value: the fill of the constant mode.

    Raises:
        ConfigError: an unknown mode, an odd or too long ``pad``, or a value in another mode.
        ShapeError: reflect padding not smaller than the dimension, circular padding larger
            than it, or replicate padding of an empty dimension.

    >>> pad(Tensor([[1.0, 2.0, 3.0]]), (2, 1), mode="reflect").tolist()
    [[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]
    >>> pad(Tensor([[1.0, 2.0, 3.0]]), (1, 1), mode="circular").tolist()
    [[3.0, 1.0, 2.0, 3.0, 1.0]]
    """
    check_choice(mode, "mode", "pad", MODES)
    x = x if isinstance(x, ArrayLike) else Tensor(x)
    sizes = tuple(pad)
    if len(sizes) % 2 or len(sizes) > 2 * x.ndim or any(
            isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in sizes):
        raise ConfigError(f"pad: expected an even number of ints, at most 2 per dimension of the "
                          f"{x.ndim}-D input; got {pad!r}")
    pairs = {x.ndim - 1 - i: (int(sizes[2 * i]), int(sizes[2 * i + 1]))
             for i in range(len(sizes) // 2)}
    if mode == "constant":
        return _constant(x, pairs, 0.0 if value is None else float(value))
    if value not in (None, 0, 0.0):
        raise ConfigError(f"pad: mode {mode!r} takes no value (got {value!r}); only "
                          "mode='constant' fills with one")
    xp = array_module(array_of(x))
    for axis, (lo, hi) in sorted(pairs.items()):
        if lo == 0 and hi == 0:
            continue
        if lo < 0 or hi < 0:  # a negative size crops, first (as PyTorch's circular mode)
            n = x.shape[axis]
            x = x[(slice(None),) * axis + (slice(max(-lo, 0), n - max(-hi, 0)),)]
        n = x.shape[axis]
        plo, phi = max(lo, 0), max(hi, 0)
        if mode == "reflect" and (plo >= n or phi >= n) or mode == "circular" \
                and (plo > n or phi > n) or mode == "replicate" and n == 0:
            rule = {"reflect": "smaller than", "circular": "at most",
                    "replicate": "of a non-empty"}[mode]
            raise ShapeError(f"pad: {mode} padding ({lo}, {hi}) of dimension {axis} must be "
                             f"{rule} its length {n} (input shape {tuple(x.shape)})")
        if plo or phi:
            x = x[(slice(None),) * axis + (xp.asarray(_index(mode, n, plo, phi)),)]
    return x


def _constant(x: Any, pairs: dict[int, tuple[int, int]], value: float) -> Any:
    if any(lo < 0 or hi < 0 for lo, hi in pairs.values()):
        crop = tuple(slice(max(-pairs.get(a, (0, 0))[0], 0),
                           n - max(-pairs.get(a, (0, 0))[1], 0)) for a, n in enumerate(x.shape))
        x = x[crop]
    width = [(max(pairs.get(a, (0, 0))[0], 0), max(pairs.get(a, (0, 0))[1], 0))
             for a in range(x.ndim)]
    if not any(lo or hi for lo, hi in width):
        return x
    return apply(P.Pad, x, pad_width=width, value=value)


__all__ = ["pad", "MODES"]
