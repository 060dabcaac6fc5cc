"""Shape primitives: they move numbers around without changing them."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import NUMPY, get_backend
from .base import Op, common_dtype


class Reshape(Op):
    """x viewed with a new shape.

    Rules:
        forward: out = x viewed with a new shape
        vjp: x̄ = g reshaped to x's shape
        jvp: t reshaped
    """

    def forward(self, x, *, shape):
        self.in_shape, self.shape = x.shape, shape
        return x.reshape(shape)

    def vjp(self, g):
        return (g.reshape(self.in_shape),)

    def jvp(self, t):
        return t.reshape(self.shape)


class Transpose(Op):
    """Axes permuted by ``axes`` (reversed when None).

    Rules:
        forward: out = x with axes permuted
        vjp: x̄ = g with the inverse permutation
        jvp: t permuted
    """

    def forward(self, x, *, axes=None):
        self.axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(axes)
        return x.transpose(self.axes)

    def vjp(self, g):
        return (g.transpose(np.argsort(self.axes)),)

    def jvp(self, t):
        return t.transpose(self.axes)


class BroadcastTo(Op):
    """x broadcast to ``shape``; the engine sums the gradient back to x's shape.

    Rules:
        forward: out = x broadcast to shape
        vjp: x̄ = g summed back to x's shape
        jvp: t broadcast
    """

    def forward(self, x, *, shape):
        self.shape = shape
        return self.xp.broadcast_to(x, shape)

    def vjp(self, g):
        return (g,)

    def jvp(self, t):
        return self.xp.broadcast_to(t, self.shape)


class Concatenate(Op):
    """Inputs joined along ``axis``; the gradient is split back at the same offsets.

    Rules:
        forward: out = [x₁, x₂, …] along axis
        vjp: x̄ᵢ = g's slice at xᵢ's offsets
        jvp: [t₁, t₂, …] along axis
    """

    def forward(self, *xs, axis=0):
        if len({x.dtype for x in xs}) > 1:  # PyTorch's dtype: int32 with float32 is float32
            dt = common_dtype([x.dtype for x in xs])
            xs = [x.astype(dt, copy=False) for x in xs]
        self.axis = axis
        self.sizes = [x.shape[axis] for x in xs]
        self.shapes = [x.shape for x in xs]
        return self.xp.concatenate(xs, axis=axis)

    def vjp(self, g):
        cuts = np.cumsum(self.sizes)[:-1]
        return tuple(self.xp.split(g, cuts, axis=self.axis))

    def jvp(self, *ts):
        if all(t is None for t in ts):
            return None
        xp = self.xp
        dtype = next(t.dtype for t in ts if t is not None)
        parts = [xp.zeros(s, dtype=dtype) if t is None else xp.broadcast_to(t, s)
                 for t, s in zip(ts, self.shapes)]
        return xp.concatenate(parts, axis=self.axis)


def _is_advanced(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(not isinstance(i, (int, slice, type(None), type(Ellipsis))) for i in items)


class Scatter:
    """A sparse cotangent: ``values`` belong at ``index`` of a zero array of ``shape``.

    GetItem returns one instead of a dense array so the engine can add many slices of one
    input into a single buffer: T per-step slices of a sequence then cost O(T), not O(T²)
    zero-filled copies of the whole sequence.
    """

    __slots__ = ("index", "values", "shape", "xp")

    def __init__(self, index: Any, values: Any, shape: tuple, xp: Any) -> None:
        self.index, self.values, self.shape, self.xp = index, values, shape, xp

    def add_into(self, out: Any) -> Any:
        """out[index] += values, adding repeated integer indices (not overwriting them)."""
        if _is_advanced(self.index):
            bk = NUMPY if self.xp is np else get_backend(out)
            bk.scatter_add(out, self.index, self.values)
        else:
            out[self.index] += self.values
        return out

    def dense(self, dtype: Any) -> Any:
        return self.add_into(self.xp.zeros(self.shape, dtype=dtype))


class GetItem(Op):
    """x[index] with basic or integer-array indexing; gradients scatter-add at repeats.

    Rules:
        forward: out = x[index]
        vjp: x̄ = g scatter-added at index (zeros elsewhere)
        jvp: t[index]
    """

    def forward(self, x, *, index):
        self.shape, self.index = x.shape, index
        return x[index]

    def vjp(self, g):
        return (Scatter(self.index, g, self.shape, self.xp),)

    def jvp(self, t):
        return t[self.index]


class Pad(Op):
    """x padded with a constant; ``pad_width`` as in ``numpy.pad``.

    Rules:
        forward: out = x padded with a constant
        vjp: x̄ = g with the padding cut off
        jvp: t padded with 0
    """

    def forward(self, x, *, pad_width, value=0.0):
        pw = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
        self.pad_width = tuple(map(tuple, pw))
        self.inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(self.pad_width, x.shape))
        return self.xp.pad(x, self.pad_width, constant_values=value)

    def vjp(self, g):
        return (g[self.inner],)

    def jvp(self, t):
        return self.xp.pad(t, self.pad_width)
