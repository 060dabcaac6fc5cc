"""ONNX export of a saved table model: raw feature columns in, labels and probabilities out.

:func:`export_saved` writes one graph holding what ``chainrule predict`` does to a row:

- one input per raw feature column, shape (batch, 1): ``float`` for a number column (NaN for
  an empty cell), ``string`` for a category column (``""`` or an NA marker such as ``"NA"``
  for an empty cell);
- the saved preprocessing (:class:`~chainrule.data.Features`): x ← fill where x is NaN,
  (x − mean) / scale; categories one-hot through ``ai.onnx.ml.LabelEncoder`` (text →
  category index, −1 when unseen) and ``Equal`` against 0..k−1, so an unseen category is
  all zeros, as scikit-learn's ``OneHotEncoder(handle_unknown="ignore")`` makes it;
- the network, traced by :mod:`chainrule.onnx`;
- the head's output unit: for classifiers ``label`` (the class labels themselves, text or
  numbers, by the head's decision rule) and ``probabilities`` (batch, classes) from σ or
  softmax; for regression ``value`` in the target's units.

Supported: every model ``chainrule train`` writes (MLP on a binary, multiclass or regression
target), and models saved from Python whose operations :mod:`chainrule.onnx` converts (inputs
by position, then named ``input``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write
from .data.features import NUMBER
from .data.tabular import NA_VALUES
from .errors import ConfigError, UnsupportedLayerError
from .models.saved import SavedModel
from .nn import Module
from .onnx import DEFAULT_OPSET, MIN_OPSET, Graph, trace_into
from .optional import require
from .tensor import Tensor
from .validate import check_number
from .version import __version__

__all__ = ["export_saved"]

#: The ``ai.onnx.ml`` opset whose LabelEncoder maps strings to int64.
ML_OPSET = 2


def _strings(g: Graph, hint: str, values: list[str]) -> str:
    name = g.fresh(hint)
    g.initializers.append(g.onnx.helper.make_tensor(
        name, g.onnx.TensorProto.STRING, [len(values)], [v.encode() for v in values]))
    return name


def _preprocess(g: Graph, saved: SavedModel, inputs: list[Any]) -> str:
    """Add the graph inputs and the preprocessing; the (batch, n_inputs) float tensor's name."""
    helper, T = g.onnx.helper, g.onnx.TensorProto
    pre = saved.preprocessing
    if pre is None:
        x = g.fresh("input")
        inputs.append(helper.make_tensor_value_info(x, T.FLOAT, ["batch", saved.n_inputs]))
        return x
    parts = []
    for c in pre.columns:
        x = g.fresh(c.name)
        kind = T.FLOAT if c.kind == NUMBER else T.STRING
        inputs.append(helper.make_tensor_value_info(x, kind, ["batch", 1]))
        if c.kind == NUMBER:
            if c.fill is not None:
                x = g.node("Where", [g.node("IsNaN", [x]), g.weight("fill", [c.fill]), x])
            parts.append(g.node("Div", [g.node("Sub", [x, g.weight("mean", [c.mean])]),
                                        g.weight("scale", [c.scale])]))
            continue
        fill = c.categories.index(c.fill) if c.fill in c.categories else -1
        na = sorted(v for v in NA_VALUES if v not in c.categories)
        codes = g.fresh(f"{c.name}_code")
        g.nodes.append(helper.make_node(
            "LabelEncoder", [x], [codes], name=codes, domain="ai.onnx.ml",
            keys_strings=list(c.categories) + na,
            values_int64s=list(range(len(c.categories))) + [fill] * len(na), default_int64=-1))
        hot = g.node("Equal", [codes, g.ints("category_index", [list(range(c.width))])])
        parts.append(g.node("Cast", [hot], to=T.FLOAT))
    return parts[0] if len(parts) == 1 else g.node("Concat", parts, "inputs", axis=1)


def _head(g: Graph, saved: SavedModel, z: str, outputs: list[Any]) -> None:
    """The output unit and the labels, writing the graph outputs."""
    helper, T = g.onnx.helper, g.onnx.TensorProto
    task = saved.task

    def output(name: str, value: str, kind: int, dims: list) -> None:
        g.nodes.append(helper.make_node("Identity", [value], [name], name=name))
        outputs.append(helper.make_tensor_value_info(name, kind, dims))

    if not saved.head.is_classifier:
        flat = g.node("Reshape", [z, g.ints("flat", [-1])])
        value = g.node("Add", [g.node("Mul", [flat, g.weight("target_scale", [saved.target_scale])]),
                               g.weight("target_mean", [saved.target_mean])])
        output("value", value, T.FLOAT, ["batch"])
        return
    if task == "binary":
        z = g.node("Reshape", [z, g.ints("flat", [-1])])
        p1 = g.node("Unsqueeze", [g.node("Sigmoid", [z]), g.ints("axis", [1])])
        proba = g.node("Concat", [g.node("Sub", [g.weight("one", [1.0]), p1]), p1], axis=1)
        index = g.node("Cast", [g.node("GreaterOrEqual", [z, g.weight("threshold",
                                                                       [saved.head.threshold])])],
                       to=T.INT64)
    else:
        proba = g.node("Softmax", [z], axis=-1)
        index = g.node("ArgMax", [z], axis=1, keepdims=0)
    classes = saved.classes
    if all(isinstance(c, str) for c in classes):
        labels, kind = _strings(g, "classes", classes), T.STRING
    elif all(isinstance(c, int) for c in classes):
        labels, kind = g.ints("classes", classes), T.INT64
    else:
        labels, kind = g.weight("classes", [float(c) for c in classes]), T.FLOAT
    output("label", g.node("Gather", [labels, index], axis=0), kind, ["batch"])
    output("probabilities", proba, T.FLOAT, ["batch", len(classes)])


def export_saved(saved: SavedModel, path: str | Path, opset: int = DEFAULT_OPSET) -> Any:
    """Write ``saved`` (preprocessing, network and output unit) to ``path`` as ONNX.

    Args:
        saved: a model from :func:`chainrule.io.load_model`.
        path: the ``.onnx`` file (written atomically).
        opset: the default-domain opset (``ai.onnx.ml`` is at version 2).

    Returns:
        The checked ``onnx.ModelProto``.

    Raises:
        UnsupportedLayerError: a layer :mod:`chainrule.onnx` cannot convert.
        ConfigError: an opset outside the supported range, or a model whose input width
            is unknown.
        MissingDependency: onnx is not installed.
    """
    where = "chainrule export"
    onnx = require("onnx", "onnx", "ONNX export")
    opset = check_number(opset, "opset", where, low=MIN_OPSET,
                         high=onnx.defs.onnx_opset_version(), integer=True)
    if not isinstance(saved.model, Module):
        raise UnsupportedLayerError(f"{where}: {saved.path} holds no chainrule Module")
    n_in = saved.n_inputs
    if n_in is None:
        raise ConfigError(f"{where}: cannot tell how many inputs {saved.path} takes")
    g = Graph(onnx, opset)
    inputs: list[Any] = []
    outputs: list[Any] = []
    x = _preprocess(g, saved, inputs)
    outs = trace_into(g, saved.model, x, Tensor(np.zeros((1, n_in), dtype=np.float32)), 0)
    if len(outs) != 1:
        raise UnsupportedLayerError(f"{where}: {saved.path} holds a model with {len(outs)} "
                                    "outputs; a table model gives one")
    z = outs[0]
    _head(g, saved, z, outputs)
    graph = onnx.helper.make_graph(g.nodes, "chainrule_table_model", inputs, outputs,
                                   initializer=g.initializers)
    opsets = [onnx.helper.make_opsetid("", opset), onnx.helper.make_opsetid("ai.onnx.ml",
                                                                             ML_OPSET)]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="chainrule",
                                   producer_version=__version__,
                                   doc_string=f"{saved.path}: {saved.task}, {repr(saved.model)}")
    proto.ir_version = onnx.helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(proto, full_check=True)
    with atomic_write(path, "wb") as f:
        f.write(proto.SerializeToString())
    return proto
