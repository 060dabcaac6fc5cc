"""From a model to graph nodes: trace it (twice, to learn the batch axis), then convert each
recorded call by its converter."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import no_grad
from ..backend import array_module
from ..errors import ChainruleError, ShapeError, UnsupportedLayerError
from ..ops import ACTIVATIONS
from ..tensor import Tensor
from ._graph import CONVERTERS, OP_CONVERTERS, Graph
from ._trace import Event, Recorder, Ref, outputs_of


def _run(model: Any, xs: list[Tensor]) -> tuple[list[Event], list[Any]]:
    """The recorded calls of ``model(*xs)`` and its outputs (Refs or constant arrays)."""
    rec = Recorder(model, xs)
    with rec, no_grad():
        outs = outputs_of(model(*xs))
    bad = next((o for o in outs if not isinstance(o, Tensor)), None)
    if bad is not None:
        raise UnsupportedLayerError(
            f"ONNX export: the model returned a {type(bad).__name__}; the export takes a Tensor "
            "or a tuple of Tensors (nested tuples too) as its outputs")
    return rec.events, [rec.ref(t.data) for t in outs]


def _second(x: Tensor, axis: int | None) -> Tensor:
    """The second trace's input: one more row along the batch ``axis`` (a copy of its first)
    and other values (moved along every axis, floats halved and shifted), so that
    what follows the batch size, and any constant computed from the input's raw values
    outside the primitives, shows as a difference between the two traces."""
    xp = array_module(x.data)
    data = x.data
    if axis is not None:
        data = xp.concatenate([data, xp.take(data, xp.asarray([0]), axis=axis)], axis=axis)
    # every axis rolled by one (the same values, elsewhere: integers stay valid indices)
    data = xp.roll(data, (1,) * data.ndim, axis=tuple(range(data.ndim)))
    if data.dtype.kind == "f":
        data = data * data.dtype.type(0.5) + data.dtype.type(0.125)
    return Tensor(data)


def _join(first: list[Event], second: list[Event]) -> None:
    if [(e.kind, e.name) for e in first] != [(e.kind, e.name) for e in second]:
        raise UnsupportedLayerError(
            "ONNX export: the model runs different operations for another input (its control "
            "flow depends on the values or the batch size), which one graph cannot hold; with "
            "another batch size only, export with dynamic_batch=False")
    for a, b in zip(first, second):
        a.other = b


def trace_into(g: Graph, model: Any, x_name: str | list[str], example: Tensor | list[Tensor],
               batch_axis: int | None) -> list[str]:
    """Add ``model`` applied to the graph tensor ``x_name`` (whose example value is
    ``example``; lists of both for a model of several inputs) to ``g``; returns the names of
    its outputs. ``batch_axis`` of the inputs stays dynamic (None: every axis fixed). The
    model runs in evaluation mode; its modes are restored afterwards."""
    x_names = [x_name] if isinstance(x_name, str) else list(x_name)
    xs = [example] if isinstance(example, Tensor) else list(example)
    floats = [p.data.dtype for _, p in model.named_parameters() if p.data.dtype.kind == "f"]
    if floats:  # in the model's own dtype: a layer's cast of its input would cut the trace
        xs = [Tensor(x.data.astype(floats[0])) if x.dtype.kind == "f" and x.dtype != floats[0]
              else x for x in xs]
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        events, outs = _run(model, xs)
        try:
            other_events, other_outs = _run(model, [_second(x, batch_axis) for x in xs])
        except ChainruleError as exc:
            grown = "" if batch_axis is None else f" with one more row along axis {batch_axis}"
            raise ShapeError(
                f"ONNX export: to tell what follows the input the model runs a second time, on "
                f"other values{grown}, and failed ({exc}); give the input's batch axis "
                "(batch_axis=...) or export with dynamic_batch=False") from exc
    finally:
        for m, mode in modes:
            m.training = mode
    _join(events, other_events)
    names: dict[Ref, str] = {}
    for i, (name, x) in enumerate(zip(x_names, xs)):
        g.values[name] = x
        g.batch_axis[name] = batch_axis
        names[Ref("input", i)] = name
    state = {n: p.data for n, p in [*model.named_parameters(), *model.named_buffers()]
             if p is not None}
    for i, ev in enumerate(events):
        ev.ins = [_name(g, names, a, b, state, ev) for a, b in zip(ev.args, ev.other.args)]
        ev.x = [None if a is None else g.values[n] if isinstance(a, Ref) else np.asarray(a)
                for a, n in zip(ev.args, ev.ins)]
        ev.x = [v.data if isinstance(v, Tensor) else v for v in ev.x]
        y = _convert(g, ev)
        names[Ref("event", i)] = y
        g.values[y] = ev.out
        g.batch_axis[y] = _moving_axis(ev.out, ev.other.out)
    return [_name(g, names, a, b, state, None) for a, b in zip(outs, other_outs)]


def _convert(g: Graph, ev: Event) -> str:
    g._path = [ev.path] if ev.path else []
    where = f"layer {ev.path or 'the model'} ({ev.owner})"
    try:
        if ev.kind == "layer":
            y = CONVERTERS[ev.name](g, ev.layer, ev.ins[0], tuple(ev.x[0].shape))
            act = ev.params.get("activation")
            return y if act is None else OP_CONVERTERS[ACTIVATIONS[act].__name__](
                g, Event("op", act, [None], {}, None, ev.path, ins=[y]))
        if ev.kind == "aux":
            return OP_CONVERTERS["aux." + ev.name](g, ev)
        fn = OP_CONVERTERS.get(ev.name)
        if fn is None:
            raise UnsupportedLayerError(
                f"ONNX export: operation {ev.name} (in {where}) has no ONNX converter; "
                f"converted operations: {', '.join(sorted(k for k in OP_CONVERTERS if '.' not in k))}"
                " (add one with chainrule.onnx.register_op, or a converter for the layer "
                "with chainrule.onnx.register)")
        return fn(g, ev)
    finally:
        g._path = []


def _moving_axis(a: Any, b: Any) -> int | None:
    sa, sb = np.shape(a), np.shape(b)
    moved = [i for i, (m, n) in enumerate(zip(sa, sb)) if m != n]
    return moved[0] if len(moved) == 1 and len(sa) == len(sb) else None


def _name(g: Graph, names: dict, a: Any, b: Any, state: dict, ev: Event | None) -> Any:
    """The graph name of one argument: a traced value, a parameter (an initializer named
    as in ``state_dict``), or a constant (one that follows the batch size is kept as one
    slice along that axis, where it is the same in every slice, and broadcasts)."""
    if a is None:
        return None
    if isinstance(a, Ref):
        if a not in names:  # a parameter or buffer, the first time it is used
            value = state[a.key]
            names[a] = g.const(a.key, value)
            g.values[names[a]] = value
            g.batch_axis[names[a]] = None
        return names[a]
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        axis = _moving_axis(a, b)
        first = np.take(a, [0], axis=axis) if axis is not None else None
        if first is None or a.dtype.kind == "b" or not (a == first).all():
            _from_raw_values(ev, a)
        a = first
    elif not np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
        _from_raw_values(ev, a)
    name = g.const("const", a)
    g.values[name] = a
    g.batch_axis[name] = None
    return name


def _from_raw_values(ev: Event | None, a: Any) -> None:
    where = "the model's output" if ev is None else \
        f"operation {ev.name} in layer {ev.path or 'the model'} ({ev.owner})"
    raise UnsupportedLayerError(
        f"ONNX export: {where} takes a constant of shape {a.shape} that changes with the "
        "input: it was computed from the input's raw values outside chainrule's operations "
        "(from .data or .numpy(), or a NumPy comparison), which the trace cannot see; give "
        "that layer a converter (chainrule.onnx.register)")
