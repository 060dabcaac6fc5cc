"""Shape and indexing converters: Reshape, Transpose, BroadcastTo, Concatenate, Pad, GetItem.

The recorded shapes are the example's; the batch size stays free where the second trace
shows an axis following it: Reshape writes -1 (or 0, a copy of the input's axis) there,
Expand 1, and a slice over the whole batch axis is left out.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedLayerError
from ._graph import Graph, register_op
from ._trace import Arg, Event

_INT_MAX = 2 ** 63 - 1


def _dynamic(g: Graph, ev: Event, what: str) -> None:
    raise UnsupportedLayerError(
        f"ONNX export: {what} (in layer {ev.path or 'the model'}) depends on the batch size in "
        "a way the export cannot keep dynamic; export with dynamic_batch=False")


@register_op("Reshape")
def _reshape(g: Graph, ev: Event) -> str:
    x, old, new = ev.ins[0], tuple(np.shape(ev.x[0])), tuple(np.shape(ev.out))
    old2, new2 = tuple(ev.other.shapes[0]), tuple(np.shape(ev.other.out))
    # only axes of length 1 come or go (in both traces: a batch of one is no such axis):
    # Squeeze/Unsqueeze keep the symbolic batch size
    if len(new) < len(old) and _ones_dropped(old, new) is not None \
            and _ones_dropped(old, new) == _ones_dropped(old2, new2):
        return g.node("Squeeze", [x, g.ints("axes", _ones_dropped(old, new))], "reshape")
    if len(new) > len(old) and _ones_dropped(new, old) is not None \
            and _ones_dropped(new, old) == _ones_dropped(new2, old2):
        return g.node("Unsqueeze", [x, g.ints("axes", _ones_dropped(new, old))], "reshape")
    other = tuple(np.shape(ev.other.out))
    moving = [i for i, (a, b) in enumerate(zip(new, other)) if a != b]
    if len(moving) > 1:
        _dynamic(g, ev, "a reshape")
    target = list(new)
    if moving:
        i = moving[0]
        same_place = i < len(old) and g.batch_axis.get(x) == i and old[:i + 1] == new[:i + 1]
        target[i] = 0 if same_place else -1
    return g.node("Reshape", [x, g.ints("shape", target)], "reshape")


def _ones_dropped(long: tuple, short: tuple) -> list[int] | None:
    """The axes of ``long`` (all of length 1) whose removal leaves ``short``, or None."""
    axes, j = [], 0
    for i, n in enumerate(long):
        if j < len(short) and short[j] == n and (n != 1 or len(long) - i == len(short) - j):
            j += 1
        elif n == 1:
            axes.append(i)
        else:
            return None
    return axes if j == len(short) else None


@register_op("Transpose")
def _transpose(g: Graph, ev: Event) -> str:
    axes = ev.params.get("axes")
    n = np.ndim(ev.x[0])
    perm = list(range(n))[::-1] if axes is None else [int(a) % n for a in axes]
    return g.node("Transpose", [ev.ins[0]], "transpose", perm=perm)


@register_op("BroadcastTo")
def _broadcast_to(g: Graph, ev: Event) -> str:
    shape = list(ev.params["shape"])
    other = list(ev.other.params["shape"])
    src = (1,) * (len(shape) - np.ndim(ev.x[0])) + tuple(np.shape(ev.x[0]))
    for i, (a, b) in enumerate(zip(shape, other)):
        if a != b:
            if src[i] != a:  # the batch size comes from outside the input: no Expand can say
                _dynamic(g, ev, "broadcast_to")
            shape[i] = 1  # Expand keeps the input's own (batch) length there
    return g.node("Expand", [ev.ins[0], g.ints("shape", shape)], "broadcast_to")


def expand_along(g: Graph, name: str, like: str, axis: int) -> str:
    """``name`` (length 1 along ``axis``) repeated to ``like``'s length there, at run time."""
    rank = np.ndim(g.values[like])
    size = g.node("Gather", [g.node("Shape", [like]), g.ints("axis", [axis])])
    ones = [g.ints("one", [1] * k) for k in (axis, rank - axis - 1)]
    parts = ([ones[0]] if axis else []) + [size] + ([ones[1]] if rank - axis - 1 else [])
    shape = parts[0] if len(parts) == 1 else g.node("Concat", parts, axis=0)
    return g.node("Expand", [name, shape])


@register_op("Concatenate")
def _concatenate(g: Graph, ev: Event) -> str:
    rank = np.ndim(ev.out)
    axis = int(ev.params.get("axis", 0)) % rank
    names = list(ev.ins)
    batch = next(((n, g.batch_axis[n]) for n in names if g.batch_axis.get(n) is not None), None)
    if batch is not None and batch[1] != axis:  # a constant kept as one slice joins them
        for i, n in enumerate(names):
            if g.batch_axis.get(n) is None and np.shape(g.values[n])[batch[1]] == 1 \
                    and np.shape(ev.out)[batch[1]] != 1:
                names[i] = expand_along(g, n, batch[0], batch[1])
    return g.node("Concat", names, "concatenate", axis=axis)


@register_op("Pad")
def _pad(g: Graph, ev: Event) -> str:
    n = np.ndim(ev.x[0])
    pw = np.broadcast_to(np.asarray(ev.value(ev.params["pad_width"]), dtype=np.int64), (n, 2))
    value = g.weight("value", np.array(float(ev.params.get("value", 0.0))))
    return g.node("Pad", [ev.ins[0], g.ints("pads", list(pw[:, 0]) + list(pw[:, 1])), value],
                  "pad", mode="constant")


# --- indexing ------------------------------------------------------------------------------

@register_op("GetItem")
def _getitem(g: Graph, ev: Event) -> str:
    index = ev.params["index"]
    index = index if isinstance(index, tuple) else (index,)
    arrays = [i for i, v in enumerate(index) if isinstance(v, Arg) or isinstance(v, np.ndarray)]
    if arrays:
        return _gather(g, ev, index, arrays)
    return _basic(g, ev, index)


def _expand_ellipsis(index: tuple, rank: int) -> tuple:
    used = sum(1 for v in index if v is not None and v is not Ellipsis)
    if Ellipsis in index:
        k = index.index(Ellipsis)
        return index[:k] + (slice(None),) * (rank - used) + index[k + 1:]
    return index + (slice(None),) * (rank - used)


def _basic(g: Graph, ev: Event, index: tuple) -> str:
    """Slices, integers, None and Ellipsis: one Slice, then Squeeze and Unsqueeze."""
    x, shape = ev.ins[0], np.shape(ev.x[0])
    index = _expand_ellipsis(index, len(shape))
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = out = 0
    for v in index:
        if v is None:
            unsqueeze.append(out)
            out += 1
            continue
        if isinstance(v, slice):
            step = 1 if v.step is None else int(v.step)
            lo = v.start if v.start is not None else (0 if step > 0 else _INT_MAX)
            hi = v.stop if v.stop is not None else (_INT_MAX if step > 0 else -_INT_MAX - 1)
            if (lo, hi, step) != (0, _INT_MAX, 1):
                starts, ends, axes, steps = (starts + [int(lo)], ends + [int(hi)],
                                             axes + [axis], steps + [step])
            out += 1
        else:  # an integer: a slice of one, squeezed away
            i = int(v) % shape[axis]
            starts, ends, axes, steps = starts + [i], ends + [i + 1], axes + [axis], steps + [1]
            squeeze.append(axis)
        axis += 1
    y = x
    if axes:
        y = g.node("Slice", [y, g.ints("starts", starts), g.ints("ends", ends),
                             g.ints("axes", axes), g.ints("steps", steps)], "getitem")
    if squeeze:
        y = g.node("Squeeze", [y, g.ints("axes", squeeze)], "getitem")
    if unsqueeze:
        y = g.node("Unsqueeze", [y, g.ints("axes", unsqueeze)], "getitem")
    if y == x:
        y = g.node("Identity", [x], "getitem")
    return y


def _gather(g: Graph, ev: Event, index: tuple, arrays: list[int]) -> str:
    """One integer array on one axis, whole slices elsewhere: Gather (Embedding's rows)."""
    index = _expand_ellipsis(index, np.ndim(ev.x[0]))
    arrays = [i for i, v in enumerate(index) if isinstance(v, (Arg, np.ndarray))]
    rest = [v for i, v in enumerate(index) if i not in arrays]
    whole = all(isinstance(v, slice) and v == slice(None) for v in rest)
    k = arrays[0]
    value = ev.value(index[k])
    if len(arrays) > 1 or not whole or np.asarray(value).dtype.kind not in "iub":
        raise UnsupportedLayerError(
            f"ONNX export: indexing with {len(arrays)} arrays or a mix of arrays and slices (in "
            f"layer {ev.path or 'the model'}) is not converted; one integer array is")
    if np.asarray(value).dtype.kind == "b":
        raise UnsupportedLayerError(f"ONNX export: boolean-mask indexing (in layer "
                                    f"{ev.path or 'the model'}) has a data-dependent shape")
    idx = ev.ins[index[k].i] if isinstance(index[k], Arg) else g.const("index", value)
    if np.asarray(value).dtype != np.int64:
        idx = g.node("Cast", [idx], to=g.onnx.TensorProto.INT64)
    # negative indices count from the end, as in Gather
    return g.node("Gather", [ev.ins[0], idx], "getitem", axis=k)
