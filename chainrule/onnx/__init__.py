"""ONNX export: a chainrule model as an ONNX graph that onnxruntime (or any ONNX runtime) can run.

:func:`export` traces the model: it runs it once on the example input in evaluation mode,
records every primitive (:mod:`chainrule.ops`) it calls, and translates each by its
converter in :data:`OP_CONVERTERS` (one per primitive: MatMul, Add..., Reshape, GetItem,
Conv, Lstm, ...). So any model whose ``forward`` uses converted primitives exports: a
custom ``forward``, RNN/LSTM/GRU, Embedding, attention. Layers with a converter of their
own in :data:`CONVERTERS` (Linear, Conv, BatchNorm, LayerNorm, pooling, activations,
Softmax, Embedding) are not traced into but become that converter's nodes, the compact
graph a reader expects (``Gemm`` for Linear, one ``BatchNormalization``).

What is exported is the model's **evaluation-mode** function: Dropout is the identity and
batch normalization uses its running statistics. Weights become float32 initializers named
like the model's ``state_dict`` keys. The batch axis stays symbolic (``"batch"``); every
other axis (a sequence's length too: recurrences are unrolled) is the example's.

The model runs twice: on the example, and on a batch one larger with other values. What
differs tells which axes follow the batch size, and exposes a constant computed from the
input's raw values outside the primitives (``x.data > 0``), which the trace cannot follow:
it is refused by name, never frozen into the file. Add converters with :func:`register`
(a layer class) or :func:`register_op` (a primitive, your own ``Op`` subclasses too).
Tracing patches the primitives' ``forward`` for the duration of the call only (nothing is
added to :func:`chainrule.apply`); do not run other chainrule work in another thread
meanwhile.

onnx (and onnxruntime, to run the file) are optional: ``pip install 'chainrule[onnx]'``.

>>> sorted(CONVERTERS)[:4]
['AdaptiveAvgPool1d', 'AdaptiveAvgPool2d', 'AvgPool1d', 'AvgPool2d']
>>> "Lstm" in OP_CONVERTERS and "GetItem" in OP_CONVERTERS
True
"""

from __future__ import annotations

from ..errors import UnsupportedLayerError
from . import _layers, _nn, _ops, _shape  # noqa: F401  (they fill the converter tables)
from ._convert import trace_into
from ._export import elem_type, export
from ._graph import (
    CONVERTERS, DEFAULT_OPSET, MIN_OPSET, OP_CONVERTERS, Graph, register, register_op,
)

__all__ = ["export", "register", "register_op", "CONVERTERS", "OP_CONVERTERS", "Graph",
           "UnsupportedLayerError", "MIN_OPSET", "DEFAULT_OPSET", "trace_into", "elem_type"]
