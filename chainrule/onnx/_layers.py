"""Layer converters: the fast path. A layer whose class has one is not traced into; its call
becomes these nodes (Gemm for Linear, one Conv, one BatchNormalization, ...), the graph
PyTorch's exporter would give. Everything else is traced down to its primitives."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ShapeError, UnsupportedLayerError
from ._graph import Converter, Graph, register


# --- layers ----------------------------------------------------------------------------------

@register("Linear")
def _linear(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    if len(shape) == 2:  # Gemm: y = x·Wᵀ + b with W stored as chainrule's (out, in)
        inputs = [x, g.weight("weight", layer.weight)]
        if layer.bias is not None:
            inputs.append(g.weight("bias", layer.bias))
        return g.node("Gemm", inputs, "linear", transB=1)
    # Gemm is 2-D only; MatMul broadcasts over the leading axes as chainrule's linear does.
    y = g.node("MatMul", [x, g.weight("weight_T", layer.weight.data.T)])
    if layer.bias is not None:
        y = g.node("Add", [y, g.weight("bias", layer.bias)], "linear")
    return y


@register("Identity", "Dropout")
def _identity(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    return x  # Dropout is the identity in evaluation mode


@register("Flatten")
def _flatten(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    rank = len(shape)
    start = layer.start_dim + rank if layer.start_dim < 0 else layer.start_dim
    if start == 1:
        return g.node("Flatten", [x], axis=1)
    # ONNX Flatten always gives 2-D; Reshape copies (0) the leading axes, batch included.
    return g.node("Reshape", [x, g.ints("shape", [0] * start + [-1])], "flatten")


def _simple(op: str, **attrs_of: Callable[[Any], Any]) -> Converter:
    def convert(g: Graph, layer: Any, x: str, shape: tuple) -> str:
        return g.node(op, [x], op.lower(), **{k: f(layer) for k, f in attrs_of.items()})
    return convert


register("Sigmoid")(_simple("Sigmoid"))
register("Tanh")(_simple("Tanh"))
register("ReLU")(_simple("Relu"))
register("LeakyReLU")(_simple("LeakyRelu", alpha=lambda m: float(m.negative_slope)))
register("Softplus")(_simple("Softplus"))
register("ELU")(_simple("Elu", alpha=lambda m: float(m.alpha)))
register("Softmax")(_simple("Softmax", axis=lambda m: int(m.axis)))
register("LogSoftmax")(_simple("LogSoftmax", axis=lambda m: int(m.axis)))


@register("GELU")
def _gelu(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    exact = getattr(layer, "approximate", "tanh") == "none"
    if g.opset >= 20:
        return g.node("Gelu", [x], "gelu", approximate="none" if exact else "tanh")
    half_x = g.node("Mul", [x, g.weight("half", np.array(0.5))])
    if exact:  # ½x(1 + erf(x/√2)), torch's default approximate="none"
        e = g.node("Erf", [g.node("Mul", [x, g.weight("rsqrt2", np.array(math.sqrt(0.5)))])])
        return g.node("Mul", [half_x, g.node("Add", [e, g.weight("one", np.array(1.0))])], "gelu")
    # ½x(1 + tanh(√(2/π)(x + 0.044715x³))), torch's approximate="tanh"
    x3 = g.node("Mul", [g.node("Mul", [x, x]), x])
    inner = g.node("Add", [x, g.node("Mul", [x3, g.weight("c", np.array(0.044715))])])
    th = g.node("Tanh", [g.node("Mul", [inner, g.weight("k", np.array(math.sqrt(2 / math.pi)))])])
    return g.node("Mul", [half_x, g.node("Add", [th, g.weight("one", np.array(1.0))])], "gelu")


# --- convolution, pooling, normalization (chainrule.nn.conv, .pooling, .normalization) -------
# Read by attribute only, so this module does not import those layers.

def _batched(g: Graph, layer: Any, shape: tuple, k: int) -> None:
    if len(shape) != k + 2:
        raise ShapeError(f"ONNX export: layer {g.where(layer)} needs a batched {k + 2}-D input "
                         f"(N, C, ...); got shape {shape}")


def _conv_pads(layer: Any, k: int) -> list[int]:
    """ONNX pads [lo..., hi...] from chainrule's padding (an int tuple, "valid" or "same")."""
    padding, kernel, dilation = layer.padding, tuple(layer.kernel_size), tuple(layer.dilation)
    if padding == "valid":
        pairs = [(0, 0)] * k
    elif padding == "same":  # d(k − 1) in total, the odd one on the high side (as PyTorch)
        pairs = [(d * (n - 1) // 2, d * (n - 1) - d * (n - 1) // 2)
                 for n, d in zip(kernel, dilation)]
    else:
        p = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * k
        pairs = [(int(v), int(v)) for v in p]
    return [lo for lo, _ in pairs] + [hi for _, hi in pairs]


@register("Conv1d", "Conv2d")
def _conv(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    k = len(layer.kernel_size)
    _batched(g, layer, shape, k)
    inputs = [x, g.weight("weight", layer.weight)]
    if layer.bias is not None:
        inputs.append(g.weight("bias", layer.bias))
    return g.node("Conv", inputs, "conv", kernel_shape=list(layer.kernel_size),
                  strides=list(layer.stride), dilations=list(layer.dilation),
                  pads=_conv_pads(layer, k), group=int(layer.groups))


def _pool_attrs(g: Graph, layer: Any) -> dict[str, Any]:
    if getattr(layer, "return_indices", False) or getattr(layer, "divisor_override", None):
        raise UnsupportedLayerError(f"ONNX export: layer {g.where(layer)} has return_indices or "
                                    "divisor_override, which the export does not convert")
    pad = list(layer.padding)
    return dict(kernel_shape=list(layer.kernel_size), strides=list(layer.stride), pads=pad + pad,
                ceil_mode=int(getattr(layer, "ceil_mode", False)))


@register("MaxPool1d", "MaxPool2d")
def _max_pool(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    _batched(g, layer, shape, len(layer.kernel_size))
    # ONNX MaxPool ignores padded cells, the same as chainrule's −∞ padding.
    return g.node("MaxPool", [x], "max_pool", dilations=list(layer.dilation), **_pool_attrs(g, layer))


@register("AvgPool1d", "AvgPool2d")
def _avg_pool(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    _batched(g, layer, shape, len(layer.kernel_size))
    if layer.ceil_mode:  # runtimes differ from PyTorch on the divisor of the partial window
        raise UnsupportedLayerError(f"ONNX export: layer {g.where(layer)} has ceil_mode=True, "
                                    "which the export does not convert for average pooling")
    return g.node("AveragePool", [x], "avg_pool", count_include_pad=int(layer.count_include_pad),
                  **_pool_attrs(g, layer))


def _averaging_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_in, n_out): column i averages PyTorch's adaptive window
    [⌊i·n_in/n_out⌋, ⌈(i + 1)·n_in/n_out⌉)."""
    a = np.zeros((n_in, n_out))
    for i in range(n_out):
        lo, hi = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        a[lo:hi, i] = 1.0 / (hi - lo)
    return a


@register("AdaptiveAvgPool1d", "AdaptiveAvgPool2d")
def _adaptive_avg_pool(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    k = 2 if type(layer).__name__.endswith("2d") else 1
    _batched(g, layer, shape, k)
    out = layer.output_size
    out = tuple(out) if isinstance(out, (tuple, list)) else (out,) * k
    size = [shape[2 + i] if o is None else int(o) for i, o in enumerate(out)]
    if all(o == 1 for o in size):
        return g.node("GlobalAveragePool", [x], "adaptive_avg_pool")
    # The averaging is separable: one product with a constant matrix per spatial axis, the
    # pooled axis moved last (the spatial sizes are the example's; only the batch is free).
    y = x
    for i in range(k):
        axis = 2 + i
        if size[i] == shape[axis]:
            continue
        a = g.weight("pool", _averaging_matrix(shape[axis], size[i]))
        if axis == k + 1:
            y = g.node("MatMul", [y, a], "adaptive_avg_pool")
        else:
            perm = list(range(k + 2))
            perm[axis], perm[-1] = perm[-1], perm[axis]
            y = g.node("Transpose", [g.node("MatMul", [g.node("Transpose", [y], perm=perm), a])],
                       "adaptive_avg_pool", perm=perm)
    return y


def _normalize(g: Graph, x: str, axes: list[int], eps: float) -> str:
    """(x − μ)/√(σ² + ε) with the mean and biased variance over ``axes``."""
    d = g.node("Sub", [x, g.reduce_mean(x, axes)])
    var = g.reduce_mean(g.node("Mul", [d, d]), axes)
    return g.node("Div", [d, g.node("Sqrt", [g.node("Add", [var, g.weight("eps", np.array(eps))])])])


def _affine(g: Graph, layer: Any, y: str, bshape: tuple) -> str:
    """y·γ + β with γ, β reshaped to ``bshape`` for broadcasting (where the layer has them)."""
    if getattr(layer, "weight", None) is not None:
        y = g.node("Mul", [y, g.weight("weight", layer.weight.data.reshape(bshape))])
    if getattr(layer, "bias", None) is not None:
        y = g.node("Add", [y, g.weight("bias", layer.bias.data.reshape(bshape))])
    return y


@register("BatchNorm1d", "BatchNorm2d")
def _batch_norm(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    if len(shape) < 2:
        raise ShapeError(f"ONNX export: layer {g.where(layer)} needs an input (N, C, ...); got "
                         f"shape {shape}")
    c = layer.num_features
    if layer.track_running_stats:  # evaluation mode: the running statistics
        ones, zeros = np.ones(c), np.zeros(c)
        scale = layer.weight if layer.affine else ones
        bias = layer.bias if layer.affine else zeros
        return g.node("BatchNormalization",
                      [x, g.weight("weight", scale), g.weight("bias", bias),
                       g.weight("running_mean", layer.running_mean),
                       g.weight("running_var", layer.running_var)],
                      "batch_norm", epsilon=float(layer.eps))
    # Without running statistics chainrule normalizes with the batch's own, even in eval.
    y = _normalize(g, x, [0] + list(range(2, len(shape))), layer.eps)
    return _affine(g, layer, y, (1, c) + (1,) * (len(shape) - 2))


@register("LayerNorm")
def _layer_norm(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    k = len(layer.normalized_shape)
    if g.opset >= 17:
        scale = layer.weight if layer.weight is not None else np.ones(layer.normalized_shape)
        inputs = [x, g.weight("weight", scale)]
        if layer.bias is not None:
            inputs.append(g.weight("bias", layer.bias))
        return g.node("LayerNormalization", inputs, "layer_norm", axis=-k,
                      epsilon=float(layer.eps))
    y = _normalize(g, x, list(range(len(shape) - k, len(shape))), layer.eps)
    return _affine(g, layer, y, tuple(layer.normalized_shape))




@register("Embedding")
def _embedding(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    # rows of the table; float indices holding whole numbers are accepted, as chainrule's
    idx = x if g.values[x].dtype == np.int64 else g.node("Cast", [x], to=g.onnx.TensorProto.INT64)
    return g.node("Gather", [g.weight("weight", layer.weight), idx], "embedding", axis=0)


# Layers whose functions pick a branch by comparing the input's raw values (outside the
# primitives, so the trace cannot see the choice): their own nodes.
register("Hardsigmoid")(_simple("HardSigmoid", alpha=lambda m: 1 / 6, beta=lambda m: 0.5))
register("SELU")(_simple("Selu", alpha=lambda m: 1.6732632423543772848170429916717,
                         gamma=lambda m: 1.0507009873554804934193349852946))


@register("Hardswish")
def _hardswish(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    # x·hardsigmoid(x) (HardSwish itself needs opset 14)
    return g.node("Mul", [x, g.node("HardSigmoid", [x], alpha=1 / 6, beta=0.5)], "hardswish")


@register("PReLU")
def _prelu(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    w = np.asarray(layer.weight.data)
    if w.size != 1:  # one slope per channel (axis 1), broadcast over the axes after it
        w = w.reshape((w.size,) + (1,) * (len(shape) - 2))
    return g.node("PRelu", [x, g.weight("weight", w.reshape(-1) if w.size == 1 else w)], "prelu")
