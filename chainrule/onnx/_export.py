"""``export``: trace a model, convert it, check the graph and write the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write
from ..errors import ConfigError, ShapeError, UnsupportedLayerError
from ..nn import Module
from ..tensor import Tensor
from ..validate import check_number
from ..version import __version__
from ._convert import trace_into
from ._graph import DEFAULT_OPSET, MIN_OPSET, Graph, load_onnx


def export(model: Any, example_input: Any, path: str | Path, opset: int = DEFAULT_OPSET,
           input_name: str = "input", output_name: str = "output",
           dynamic_batch: bool = True, batch_axis: int = 0) -> Any:
    """Write ``model`` (its evaluation-mode function) to ``path`` as an ONNX model.

    The model runs once on ``example_input`` (in evaluation mode, its modes restored after)
    while every primitive it calls is recorded; each becomes ONNX nodes by its converter
    (:data:`OP_CONVERTERS`), so a custom ``forward``, RNN/LSTM/GRU, Embedding and attention
    export as they run. A layer whose class has a layer converter (:data:`CONVERTERS`:
    Linear, Conv, BatchNorm, LayerNorm, pooling, the activations, ...) becomes that
    converter's nodes instead (Gemm, Conv, BatchNormalization, ...). Parameters and buffers
    become float32 initializers named as in ``state_dict``; other arrays are constants. The
    model runs a second time on a batch one larger, to learn which axes follow the batch size:
    those stay symbolic (``"batch"``); every other axis (a sequence's length too) is the
    example's. The graph is checked by ``onnx.checker`` and written atomically.

    Args:
        model: a chainrule Module.
        example_input: an input the model accepts (array or Tensor; integers for Embedding),
            or a tuple of them for a model of several inputs (named ``input_0``, ...).
        path: the ``.onnx`` file to write.
        opset: the ONNX opset version (13 up to what the installed onnx knows); from 20 GELU
            is one ``Gelu`` node.
        input_name: the graph's input name.
        output_name: the graph's output name; a model returning a tuple (an LSTM's
            ``(output, (h, c))``) gets outputs ``output_0``, ``output_1``, ...
        dynamic_batch: keep the batch size free, so the file runs on any batch size.
        batch_axis: the inputs' batch axis (1 for a time-major (T, N, ·) sequence).

    Returns:
        The exported ``onnx.ModelProto``.

    Raises:
        UnsupportedLayerError: an operation without a converter (the message names it and the
            layer it ran in), or a model that is not a Module.
        ConfigError: an opset outside the supported range, or empty/equal names.
        ShapeError: an example input the model (or a converter) cannot take.
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
    onnx = load_onnx()
    # the highest opset is what the installed onnx knows
    opset = check_number(opset, "opset", where, low=MIN_OPSET, high=onnx.defs.onnx_opset_version(),
                         integer=True)
    if not input_name or not output_name or input_name == output_name:
        raise ConfigError(f"{where}: input_name and output_name must be distinct "
                          f"non-empty names; got {input_name!r} and {output_name!r}")
    several = isinstance(example_input, tuple)
    xs = [x if isinstance(x, Tensor) else Tensor(np.asarray(x))
          for x in (example_input if several else (example_input,))]
    if not xs or any(x.ndim == 0 for x in xs):
        raise ShapeError(f"{where}: example_input must have at least one axis "
                         "(the batch axis); got a scalar")
    rank = min(x.ndim for x in xs)
    batch_axis = check_number(batch_axis, "batch_axis", where, low=-rank, high=rank - 1,
                              integer=True)
    batch_axis %= xs[0].ndim  # the same axis of every input
    inputs = [f"{input_name}_{i}" for i in range(len(xs))] if several else [input_name]
    g = Graph(onnx, opset)
    g._used.update(inputs + [output_name])
    dynamic = batch_axis if dynamic_batch else None
    outs = trace_into(g, model, inputs, xs, dynamic)
    names = [output_name] if len(outs) == 1 else [f"{output_name}_{i}" for i in range(len(outs))]
    _name_outputs(g, outs, names)
    proto = _model_proto(g, model, list(zip(inputs, xs)), names, dynamic)
    data = proto.SerializeToString()
    with atomic_write(path, "wb") as f:
        f.write(data)
    return proto


def _name_outputs(g: Graph, outs: list[str], names: list[str]) -> None:
    """Make the graph's results carry ``names``: the node that makes one writes it directly
    (an input, initializer or a result given twice gets an Identity node)."""
    made = {n.output[0]: n for n in g.nodes}
    renamed: dict[str, str] = {}
    for y, name in zip(outs, names):
        g.values[name] = g.values[y]
        if y in made and y not in renamed:
            renamed[y] = name
        else:
            g.nodes.append(g.onnx.helper.make_node("Identity", [renamed.get(y, y)], [name],
                                                   name=name))
    for n in g.nodes:
        for i, v in enumerate(n.input):
            if v in renamed:
                n.input[i] = renamed[v]
        if n.output[0] in renamed:
            n.output[0] = n.name = renamed[n.output[0]]


def elem_type(onnx: Any, array: Any) -> int:
    """The ONNX element type the graph uses for a value like ``array`` (float32 for floats)."""
    kind = np.asarray(array).dtype.kind
    T = onnx.TensorProto
    return T.FLOAT if kind == "f" else T.BOOL if kind == "b" else T.INT64


def _model_proto(g: Graph, model: Module, inputs: list[tuple[str, Tensor]], names: list[str],
                 batch_axis: int | None) -> Any:
    """The checked ``ModelProto`` of the converted graph ``g``."""
    onnx = g.onnx
    values = []
    for name, x in inputs:
        dims: list[Any] = [int(n) for n in x.shape]
        if batch_axis is not None:
            dims[batch_axis] = "batch"
        values.append(onnx.helper.make_tensor_value_info(name, elem_type(onnx, x.data), dims))
    graph = onnx.helper.make_graph(
        g.nodes, type(model).__name__, values,
        [onnx.helper.make_tensor_value_info(n, elem_type(onnx, g.values[n]), None) for n in names],
        initializer=g.initializers)
    opsets = [onnx.helper.make_opsetid("", g.opset)]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="chainrule",
                                   producer_version=__version__, doc_string=repr(model))
    # The oldest IR version that carries this opset: runtimes older than the onnx package
    # that wrote the file still load it.
    proto.ir_version = onnx.helper.find_min_ir_version_for(opsets)
    # The outputs' shapes (symbolic batch included) come from ONNX's own shape inference.
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    for i in range(len(names)):
        proto.graph.output[i].CopyFrom(inferred.graph.output[i])
    onnx.checker.check_model(proto, full_check=True)
    return proto
