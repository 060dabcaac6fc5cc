"""ONNX export: a chainrule model as an ONNX graph that onnxruntime (or any ONNX runtime) can run.

The exporter walks the model's layers, not its computation: each layer class has a converter
(in :data:`CONVERTERS`, keyed by the class name) that emits ONNX nodes and initializers for it.
Containers (Sequential, MLP) convert their children in order. To learn every intermediate
shape, the example input is run through the model once, in evaluation mode and without
recording a graph; the model's own training flags are restored afterwards.

What is exported is the model's **evaluation-mode** function: Dropout is the identity and
batch normalization uses its running statistics. Weights become float32 initializers named
like the model's ``state_dict`` keys. The batch axis (axis 0) of the input is symbolic
(``"batch"``) unless ``dynamic_batch=False``; every other axis is fixed to the example's size.

onnx (and onnxruntime, to run the file) are optional: ``pip install 'chainrule[onnx]'``. The
real ``onnx`` package is imported when exporting, through :func:`chainrule.optional.require`
(an absolute import, so this module, ``chainrule.onnx``, never shadows it).

>>> sorted(CONVERTERS)[:4]
['AdaptiveAvgPool1d', 'AdaptiveAvgPool2d', 'AvgPool1d', 'AvgPool2d']
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .autograd import no_grad
from .atomic import atomic_write
from .version import __version__
from .errors import ConfigError, ShapeError, UnsupportedLayerError
from .models.heads import get_head
from .nn import Module
from .optional import require
from .tensor import Tensor
from .validate import check_number

#: The lowest opset whose Softmax/LogSoftmax normalize along one axis, as chainrule's do.
MIN_OPSET = 13
DEFAULT_OPSET = 17


def _onnx() -> Any:
    return require("onnx", "onnx", "ONNX export")


# A converter is f(graph, layer, x, shape) -> name of the layer's output in the graph, where
# x names the layer's input and shape is its shape on the example input (batch axis first).
Converter = Callable[["Graph", Any, str, tuple], str]

#: Layer class name -> converter. Add one with :func:`register`.
CONVERTERS: dict[str, Converter] = {}


def register(*names: str) -> Callable[[Converter], Converter]:
    """Decorator: use the function as the converter of the layer classes called ``names``.

    Layers are looked up by their class's exact name, so a subclass (which may change
    ``forward``) needs a converter of its own.

    >>> @register("Square")
    ... def _square(g, layer, x, shape):
    ...     return g.node("Mul", [x, x])
    >>> "Square" in CONVERTERS
    True
    >>> del CONVERTERS["Square"]
    """
    def deco(fn: Converter) -> Converter:
        for name in names:
            CONVERTERS[name] = fn
        return fn
    return deco


class Graph:
    """The ONNX graph under construction, handed to every converter.

    ``node`` appends a node and returns its output's name; ``weight`` adds a float32
    initializer, ``ints`` an int64 one; ``convert`` converts a sub-layer (containers use it).
    ``opset`` is the target opset version.
    """

    def __init__(self, onnx: Any, opset: int) -> None:
        self.onnx, self.opset = onnx, opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.values: dict[str, Any] = {}  # tensor name -> its chainrule value on the example
        self._used: set[str] = set()
        self._path: list[str] = []

    def fresh(self, hint: str) -> str:
        """A tensor name not used before, built from ``hint`` and the current layer's path."""
        base = ".".join(self._path + [hint]) if self._path else hint
        name, i = base, 1
        while name in self._used:
            name, i = f"{base}_{i}", i + 1
        self._used.add(name)
        return name

    def node(self, op: str, inputs: list[str], hint: str | None = None, **attrs: Any) -> str:
        """Append ``op`` on ``inputs`` (a "" input is an omitted optional one); returns the
        name of its single output."""
        out = self.fresh(hint or op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def weight(self, hint: str, array: Any) -> str:
        """Add ``array`` as a float32 initializer; returns its name."""
        data = array.data if isinstance(array, Tensor) else array
        return self._init(hint, np.ascontiguousarray(np.asarray(data, dtype=np.float32)))

    def ints(self, hint: str, values: Any) -> str:
        """Add an int64 initializer (shapes, axes); returns its name."""
        return self._init(hint, np.asarray(values, dtype=np.int64))

    def _init(self, hint: str, array: np.ndarray) -> str:
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def reduce_mean(self, x: str, axes: list[int]) -> str:
        """ReduceMean over ``axes`` keeping them (axes became an input in opset 18)."""
        if self.opset >= 18:
            return self.node("ReduceMean", [x, self.ints("axes", axes)], keepdims=1)
        return self.node("ReduceMean", [x], axes=list(axes), keepdims=1)

    def convert(self, layer: Any, x: str, name: str | None = None) -> str:
        """Emit ``layer`` applied to tensor ``x``; ``name`` is the layer's attribute path
        (it names the initializers and errors). Returns the output tensor's name."""
        cls = type(layer).__name__
        if name:
            self._path.append(name)
        where = ".".join(self._path) or "the model"
        fn = CONVERTERS.get(cls)
        if fn is None:
            raise UnsupportedLayerError(
                f"ONNX export: layer {where} of type {cls} has no converter; supported layers: "
                f"{', '.join(sorted(CONVERTERS))} (add one with chainrule.onnx.register)")
        value = self.values[x]
        y = fn(self, layer, x, tuple(value.shape))
        if y not in self.values:  # a leaf layer: its value is the layer applied to x's value
            self.values[y] = layer(value)
        if name:
            self._path.pop()
        return y

    def where(self, layer: Any) -> str:
        """The current layer's path and class, for error messages."""
        return f"{'.'.join(self._path) or 'the model'} ({type(layer).__name__})"


# --- containers and models -------------------------------------------------------------------

@register("Sequential")
def _sequential(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    for i, child in enumerate(layer):
        x = g.convert(child, x, str(i))
    return x


@register("MLP")
def _mlp(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    # the head says how the network hands over its outputs: binary logits as one vector
    y = g.convert(layer.layers, x, "layers")
    return _vector(g, y) if get_head(layer.task).vector_output else y


@register("LogisticRegression")
def _logistic(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    return _vector(g, g.convert(layer.linear, x, "linear"))  # one binary logit per row


def _vector(g: Graph, y: str) -> str:
    """``y.reshape(-1)``: the logits (N, 1) as a vector (N,)."""
    if len(g.values[y].shape) == 2:  # Squeeze keeps the symbolic batch size that Reshape loses
        return g.node("Squeeze", [y, g.ints("axes", [1])], "logit")
    return g.node("Reshape", [y, g.ints("shape", [-1])], "logit")


@register("Perceptron")
def _perceptron(g: Graph, layer: Any, x: str, shape: tuple) -> str:
    score = g.node("MatMul", [x, g.weight("weight", layer.weight)])
    return g.node("Add", [score, g.weight("bias", layer.bias)], "score")


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


# --- export ----------------------------------------------------------------------------------

def export(model: Any, example_input: Any, path: str | Path, opset: int = DEFAULT_OPSET,
           input_name: str = "input", output_name: str = "output",
           dynamic_batch: bool = True) -> Any:
    """Write ``model`` (its evaluation-mode function) to ``path`` as an ONNX model.

    Supported: Sequential (nested too), the models MLP, LogisticRegression and Perceptron,
    Linear (Gemm, or MatMul + Add on inputs of rank > 2), the activations (Sigmoid, Tanh,
    ReLU, LeakyReLU, Softplus, ELU, GELU (either form), Softmax, LogSoftmax), Dropout and
    Identity (no node), Flatten, and where chainrule has them Conv1d/2d, MaxPool1d/2d,
    AvgPool1d/2d, AdaptiveAvgPool1d/2d, BatchNorm1d/2d and LayerNorm. Other layers can be
    added with :func:`register`. The file is checked with ``onnx.checker.check_model`` and
    written atomically (a failure leaves any previous file at ``path`` intact).

    Args:
        model: a chainrule Module built from the layers above.
        example_input: an input the model accepts (array or Tensor, batch axis first); it
            fixes every axis but the batch axis.
        path: the ``.onnx`` file to write.
        opset: the ONNX opset version (13 up to what the installed onnx knows); from 20 GELU
            is one ``Gelu`` node, below it is built from Tanh, Mul and Add.
        input_name: the graph's input name.
        output_name: the graph's output name.
        dynamic_batch: make axis 0 of the input (and of what depends on it) symbolic, so the
            file runs on any batch size.

    Returns:
        The exported ``onnx.ModelProto``.

    Raises:
        UnsupportedLayerError: a layer without a converter (the message names it), or a
            model that is not a Module.
        ConfigError: an opset outside the supported range, or empty/equal names.
        ShapeError: an example input the model (or a layer's converter) cannot take.
        MissingDependency: onnx is not installed.

    >>> import tempfile, pathlib
    >>> from chainrule import nn
    >>> net = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 3, rng=0))
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "net.onnx"
    >>> proto = export(net, np.zeros((1, 4), np.float32), path)
    >>> [n.op_type for n in proto.graph.node]
    ['Gemm', 'Relu', 'Gemm']
    """
    where = "chainrule.onnx.export"
    if not isinstance(model, Module):
        raise UnsupportedLayerError(f"{where}: model must be a chainrule nn.Module; got "
                                    f"{type(model).__name__}")
    onnx = _onnx()
    # the highest opset is what the installed onnx knows
    opset = check_number(opset, "opset", where, low=MIN_OPSET, high=onnx.defs.onnx_opset_version(),
                         integer=True)
    if not input_name or not output_name or input_name == output_name:
        raise ConfigError(f"{where}: input_name and output_name must be distinct "
                          f"non-empty names; got {input_name!r} and {output_name!r}")
    x = example_input if isinstance(example_input, Tensor) else Tensor(np.asarray(example_input))
    if x.ndim == 0:
        raise ShapeError(f"{where}: example_input must have at least one axis "
                         "(the batch axis); got a scalar")
    g = Graph(onnx, opset)
    _trace(g, model, x, input_name, output_name)
    proto = _model_proto(g, model, x, input_name, output_name, dynamic_batch)
    data = proto.SerializeToString()
    with atomic_write(path, "wb") as f:
        f.write(data)
    return proto


def _trace(g: Graph, model: Module, x: Tensor, input_name: str, output_name: str) -> None:
    """Convert ``model`` in eval mode on the example ``x``, its last node writing ``output_name``."""
    g._used.update((input_name, output_name))
    g.values[input_name] = x
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with no_grad():
            y = g.convert(model, input_name)
    finally:
        for m, mode in modes:
            m.training = mode
    if y == input_name:  # the model is the identity: the output still needs a node
        g.nodes.append(g.onnx.helper.make_node("Identity", [y], [output_name], name=output_name))
        return
    for n in g.nodes:  # the node that makes y writes the graph output directly
        for i, name in enumerate(n.input):
            if name == y:
                n.input[i] = output_name
        if n.output[0] == y:
            n.output[0] = n.name = output_name


def _model_proto(g: Graph, model: Module, x: Tensor, input_name: str, output_name: str,
                 dynamic_batch: bool) -> Any:
    """The checked ``ModelProto`` of the traced graph ``g``."""
    onnx = g.onnx
    float32 = onnx.TensorProto.FLOAT
    dims = ["batch" if dynamic_batch else int(x.shape[0])] + [int(n) for n in x.shape[1:]]
    graph = onnx.helper.make_graph(
        g.nodes, type(model).__name__,
        [onnx.helper.make_tensor_value_info(input_name, float32, dims)],
        [onnx.helper.make_tensor_value_info(output_name, float32, None)],
        initializer=g.initializers)
    opsets = [onnx.helper.make_opsetid("", g.opset)]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="chainrule",
                                   producer_version=_version(), doc_string=repr(model))
    # The oldest IR version that carries this opset: runtimes older than the onnx package
    # that wrote the file still load it.
    proto.ir_version = onnx.helper.find_min_ir_version_for(opsets)
    # The output's shape (symbolic batch included) comes from ONNX's own shape inference.
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    proto.graph.output[0].CopyFrom(inferred.graph.output[0])
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _version() -> str:
    return __version__


__all__ = ["export", "register", "CONVERTERS", "Graph", "UnsupportedLayerError", "MIN_OPSET",
           "DEFAULT_OPSET"]
