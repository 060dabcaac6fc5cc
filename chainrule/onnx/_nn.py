"""Converters of the network primitives: convolution, max pooling and the fused recurrences.

The recurrences (:class:`chainrule.ops.Lstm`, :class:`chainrule.ops.Gru`) are unrolled over
the example's time steps into MatMul, Sigmoid, Tanh and element-wise nodes: chainrule's Lstm
gives the cell state at every step (ONNX's LSTM only the last), and the unrolled form runs
on every runtime with exactly chainrule's equations. The sequence length is the example's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import UnsupportedLayerError
from ._graph import Graph, register_op
from ._trace import Event


def _pads(padding: Any) -> list[int]:
    pairs = [tuple(p) for p in padding]
    return [int(lo) for lo, _ in pairs] + [int(hi) for _, hi in pairs]


@register_op("Conv")
def _conv(g: Graph, ev: Event) -> str:
    p = ev.params
    w = np.shape(ev.x[1])
    return g.node("Conv", [n for n in ev.ins if n is not None], "conv",
                  kernel_shape=list(w[2:]), strides=list(p["stride"]),
                  dilations=list(p["dilation"]), pads=_pads(p["padding"]),
                  group=int(p.get("groups", 1)))


@register_op("ConvTranspose")
def _conv_transpose(g: Graph, ev: Event) -> str:
    p = ev.params
    w, size = np.shape(ev.x[1]), np.shape(ev.x[0])[2:]
    pads = _pads(p["padding"])
    k = len(size)
    # ONNX's output size s(n − 1) + d(k − 1) + 1 − pads + output_padding is chainrule's
    natural = [s * (n - 1) + d * (kk - 1) + 1 - pads[i] - pads[i + k]
               for i, (n, kk, s, d) in enumerate(zip(size, w[2:], p["stride"], p["dilation"]))]
    extra = [int(o) - n for o, n in zip(p["output_shape"], natural)]
    return g.node("ConvTranspose", [n for n in ev.ins if n is not None], "conv_transpose",
                  kernel_shape=list(w[2:]), strides=list(p["stride"]),
                  dilations=list(p["dilation"]), pads=pads, output_padding=extra,
                  group=int(p.get("groups", 1)))


@register_op("MaxPool")
def _max_pool(g: Graph, ev: Event) -> str:
    p = ev.params  # ONNX MaxPool ignores padded cells: chainrule's −∞ padding
    return g.node("MaxPool", [ev.ins[0]], "max_pool", kernel_shape=list(p["kernel"]),
                  strides=list(p["stride"]), dilations=list(p["dilation"]),
                  pads=_pads(p["padding"]))


def _cols(g: Graph, x: str, lo: int, hi: int) -> str:
    """x[:, lo:hi] (the last axis of a 2-D value)."""
    return g.node("Slice", [x, g.ints("starts", [lo]), g.ints("ends", [hi]), g.ints("axes", [-1])])


def _steps(g: Graph, ev: Event) -> int:
    """The number of time steps to unroll: the example's, which must not follow the batch."""
    if ev.shapes[0][0] != ev.other.shapes[0][0]:
        raise UnsupportedLayerError(
            f"ONNX export: the sequence length of {ev.name} (in layer {ev.path or 'the model'}) "
            "followed the batch axis; give the input's batch axis (batch_axis=1 for a "
            "time-major (T, N, ·) input) or export with dynamic_batch=False")
    return int(ev.shapes[0][0])


def _step(g: Graph, xw: str, t: int) -> str:
    """xw[t]: one time step of the (T, N, ·) projected input."""
    return g.node("Gather", [xw, g.ints("t", np.array(t))], "step", axis=0)


@register_op("Lstm")
def _lstm(g: Graph, ev: Event) -> str:
    # a_t = xw_t + h·W_hhᵀ;  i, f, o = σ(·), g = tanh(·);  c = f⊙c + i⊙g;  h = o⊙tanh(c)
    xw, w_hh, h, c = ev.ins
    T, H = _steps(g, ev), np.shape(ev.x[1])[1]
    w_t = g.node("Transpose", [w_hh], "w_hh_T", perm=[1, 0])
    steps = []
    for t in range(T):
        a = g.node("Add", [_step(g, xw, t), g.node("MatMul", [h, w_t])], "lstm")
        i, f, o = (g.node("Sigmoid", [_cols(g, a, k * H, (k + 1) * H)]) for k in (0, 1, 3))
        gg = g.node("Tanh", [_cols(g, a, 2 * H, 3 * H)])
        c = g.node("Add", [g.node("Mul", [f, c]), g.node("Mul", [i, gg])], "lstm_c")
        h = g.node("Mul", [o, g.node("Tanh", [c])], "lstm_h")
        steps.append(g.node("Unsqueeze", [g.node("Concat", [h, c], axis=-1), g.ints("axes", [0])]))
    return steps[0] if T == 1 else g.node("Concat", steps, "lstm", axis=0)


@register_op("Gru")
def _gru(g: Graph, ev: Event) -> str:
    # hw = h·W_hhᵀ + b_hh;  r, z = σ(xw + hw);  n = tanh(xw_n + r⊙hw_n);  h = n + z⊙(h − n)
    xw, w_hh, h = ev.ins[:3]
    b_hh = ev.ins[3] if len(ev.ins) > 3 else None
    T, H = _steps(g, ev), np.shape(ev.x[1])[1]
    w_t = g.node("Transpose", [w_hh], "w_hh_T", perm=[1, 0])
    steps = []
    for t in range(T):
        x_t = _step(g, xw, t)
        hw = g.node("MatMul", [h, w_t])
        if b_hh is not None:
            hw = g.node("Add", [hw, b_hh])
        rz = g.node("Sigmoid", [g.node("Add", [_cols(g, x_t, 0, 2 * H), _cols(g, hw, 0, 2 * H)])])
        r, z = _cols(g, rz, 0, H), _cols(g, rz, H, 2 * H)
        n = g.node("Tanh", [g.node("Add", [_cols(g, x_t, 2 * H, 3 * H),
                                           g.node("Mul", [r, _cols(g, hw, 2 * H, 3 * H)])])])
        h = g.node("Add", [n, g.node("Mul", [z, g.node("Sub", [h, n])])], "gru_h")
        steps.append(g.node("Unsqueeze", [h, g.ints("axes", [0])]))
    return steps[0] if T == 1 else g.node("Concat", steps, "gru", axis=0)
