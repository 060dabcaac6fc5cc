"""The ONNX graph under construction and the two converter tables (layers and primitives)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import UnsupportedLayerError
from ..optional import require
from ..tensor import Tensor

#: The lowest opset whose Softmax/LogSoftmax normalize along one axis, as chainrule's do.
MIN_OPSET = 13
DEFAULT_OPSET = 17


def load_onnx() -> Any:
    """The real ``onnx`` package (an absolute import: this package never shadows it)."""
    return require("onnx", "onnx", "ONNX export")


# A layer converter is f(graph, layer, x, shape) -> name of the layer's output in the graph,
# where x names the layer's input and shape is its shape on the example input.
Converter = Callable[["Graph", Any, str, tuple], str]
# A primitive's converter is f(graph, event) -> name of the op's output (see _trace.Event).
OpConverter = Callable[["Graph", Any], str]

#: Layer class name -> converter: the fast path, used in place of tracing into the layer.
CONVERTERS: dict[str, Converter] = {}
#: Primitive name (a class of chainrule.ops) -> converter of one recorded call.
OP_CONVERTERS: dict[str, OpConverter] = {}


def register(*names: str) -> Callable[[Converter], Converter]:
    """Decorator: use the function as the converter of the layer classes called ``names``.

    A layer with a converter is not traced into: its call becomes the converter's nodes.
    Layers are looked up by their class's exact name, so a subclass needs its own.

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


def register_op(*names: str) -> Callable[[OpConverter], OpConverter]:
    """Decorator: use the function as the converter of the primitives called ``names``
    (a user's own :class:`chainrule.ops.Op` subclass included)."""
    def deco(fn: OpConverter) -> OpConverter:
        for name in names:
            OP_CONVERTERS[name] = fn
        return fn
    return deco


class Graph:
    """The ONNX graph under construction, handed to every converter.

    ``node`` appends a node and returns its output's name; ``weight`` adds a float32
    initializer, ``ints`` an int64 one; ``convert`` converts a sub-layer (containers use it).
    ``opset`` is the target opset version. ``batch_axis`` maps a tensor name to the axis
    that follows the batch size (None where none does), learnt by tracing twice.
    """

    def __init__(self, onnx: Any, opset: int) -> None:
        self.onnx, self.opset = onnx, opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.values: dict[str, Any] = {}  # tensor name -> its chainrule value on the example
        self.batch_axis: dict[str, int | None] = {}
        self._used: set[str] = set()
        self._path: list[str] = []
        self._ints: dict[tuple, str] = {}

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
        """An int64 initializer (shapes, axes, indices); one per distinct value, shared."""
        a = np.asarray(values, dtype=np.int64)
        key = (hint, a.shape, a.tobytes())
        if key not in self._ints:
            self._ints[key] = self._init(hint, a)
        return self._ints[key]

    def const(self, hint: str, array: Any) -> str:
        """Add ``array`` as an initializer: floats as float32, integers as int64, bools as
        bool; returns its name."""
        a = np.asarray(array)
        if a.dtype.kind == "f":
            return self.weight(hint, a)
        return self._init(hint, a if a.dtype.kind == "b" else a.astype(np.int64))

    def _init(self, hint: str, array: np.ndarray) -> str:
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def reduce(self, op: str, x: str, axes: list[int] | None, keepdims: bool = True) -> str:
        """``op`` (ReduceMean, ReduceMax, ...) over ``axes`` (None: all); axes became an
        input in opset 18 (ReduceSum in 13)."""
        k = int(keepdims)
        if axes is None:
            return self.node(op, [x], keepdims=k)
        if op == "ReduceSum" or self.opset >= 18:
            return self.node(op, [x, self.ints("axes", axes)], keepdims=k)
        return self.node(op, [x], axes=list(axes), keepdims=k)

    def reduce_mean(self, x: str, axes: list[int]) -> str:
        """ReduceMean over ``axes`` keeping them."""
        return self.reduce("ReduceMean", x, axes)

    def convert(self, layer: Any, x: str, name: str | None = None) -> str:
        """Emit ``layer`` applied to tensor ``x`` by its converter; ``name`` is the layer's
        attribute path (it names the initializers and errors). Returns the output's name."""
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
