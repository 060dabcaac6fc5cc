"""Primitive converters: element-wise, matrix, reduction, shape and indexing ops.

Each converter turns one recorded call (an :class:`~chainrule.onnx._trace.Event`: its inputs'
graph names ``ev.ins``, their example arrays ``ev.x``, the op's parameters ``ev.params``, and
the same call in the second trace ``ev.other``, which shows what follows the batch size)
into ONNX nodes, and returns the name of the result. The graph computes in float32.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import UnsupportedLayerError
from ._graph import Graph, register_op
from ._trace import Arg, Event

def _same(onnx_op: str, **attrs: Any) -> Any:
    """A converter for a primitive that is one ONNX op with the same inputs."""
    def convert(g: Graph, ev: Event) -> str:
        return g.node(onnx_op, list(ev.ins), onnx_op.lower(), **attrs)
    return convert


for _name, _onnx_op in [("Add", "Add"), ("Sub", "Sub"), ("Mul", "Mul"), ("Div", "Div"),
                        ("Pow", "Pow"), ("Neg", "Neg"), ("Maximum", "Max"), ("Minimum", "Min"),
                        ("Exp", "Exp"), ("Log", "Log"), ("Sqrt", "Sqrt"), ("Abs", "Abs"),
                        ("Sigmoid", "Sigmoid"), ("Tanh", "Tanh"), ("Relu", "Relu"),
                        ("Softplus", "Softplus"), ("Sin", "Sin"), ("Cos", "Cos"), ("Tan", "Tan"),
                        ("Asin", "Asin"), ("Acos", "Acos"), ("Atan", "Atan"), ("Sinh", "Sinh"),
                        ("Cosh", "Cosh"), ("Asinh", "Asinh"), ("Acosh", "Acosh"),
                        ("Atanh", "Atanh"), ("Erf", "Erf"), ("Floor", "Floor"), ("Ceil", "Ceil"),
                        ("Sign", "Sign"), ("MatMul", "MatMul")]:
    register_op(_name)(_same(_onnx_op))
for _name in ("Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"):  # x > 0, ...
    register_op("aux." + _name)(_same(_name))


@register_op("aux.NotEqual")
def _not_equal(g: Graph, ev: Event) -> str:
    return g.node("Not", [g.node("Equal", list(ev.ins))], "not_equal")


def _scalar(g: Graph, value: float) -> str:
    return g.weight("c", np.array(value))


def _dtype_code(g: Graph, dtype: Any) -> int:
    T = g.onnx.TensorProto
    kind = np.dtype(dtype).kind
    return T.FLOAT if kind == "f" else T.BOOL if kind == "b" else T.INT64


@register_op("Cast", "aux.Cast")
def _cast(g: Graph, ev: Event) -> str:
    to, src = np.dtype(ev.params["dtype"]), np.asarray(ev.x[0]).dtype
    if to.kind == "f" and src.kind == "f":  # the graph computes in float32 throughout
        return ev.ins[0]
    return g.node("Cast", [ev.ins[0]], "cast", to=_dtype_code(g, to))


@register_op("Clip")
def _clip(g: Graph, ev: Event) -> str:
    y = ev.ins[0]
    if ev.params.get("lo") is not None:
        y = g.node("Max", [y, _scalar(g, float(ev.value(ev.params["lo"])))], "clip")
    if ev.params.get("hi") is not None:
        y = g.node("Min", [y, _scalar(g, float(ev.value(ev.params["hi"])))], "clip")
    return y


@register_op("Where")
def _where(g: Graph, ev: Event) -> str:
    cond = ev.params["cond"]
    name = ev.ins[cond.i] if isinstance(cond, Arg) else g.const("cond", np.asarray(cond, bool))
    if isinstance(cond, Arg) and np.asarray(ev.x[cond.i]).dtype != bool:
        name = g.node("Cast", [name], to=g.onnx.TensorProto.BOOL)
    return g.node("Where", [name, ev.ins[0], ev.ins[1]], "where")


@register_op("LeakyRelu")
def _leaky(g: Graph, ev: Event) -> str:
    return g.node("LeakyRelu", [ev.ins[0]], alpha=float(ev.params.get("slope", 0.01)))


@register_op("Elu")
def _elu(g: Graph, ev: Event) -> str:
    return g.node("Elu", [ev.ins[0]], alpha=float(ev.params.get("alpha", 1.0)))


def gelu(g: Graph, x: str, exact: bool) -> str:
    """GELU, one node from opset 20, else ½x(1 + erf(x/√2)) or its tanh form."""
    if g.opset >= 20:
        return g.node("Gelu", [x], "gelu", approximate="none" if exact else "tanh")
    half_x = g.node("Mul", [x, _scalar(g, 0.5)])
    if exact:
        e = g.node("Erf", [g.node("Mul", [x, _scalar(g, math.sqrt(0.5))])])
        return g.node("Mul", [half_x, g.node("Add", [e, _scalar(g, 1.0)])], "gelu")
    x3 = g.node("Mul", [g.node("Mul", [x, x]), x])
    inner = g.node("Add", [x, g.node("Mul", [x3, _scalar(g, 0.044715)])])
    th = g.node("Tanh", [g.node("Mul", [inner, _scalar(g, math.sqrt(2 / math.pi))])])
    return g.node("Mul", [half_x, g.node("Add", [th, _scalar(g, 1.0)])], "gelu")


register_op("Gelu")(lambda g, ev: gelu(g, ev.ins[0], exact=False))
register_op("GeluExact")(lambda g, ev: gelu(g, ev.ins[0], exact=True))


@register_op("Log1p", "Expm1", "Log2", "Log10", "Exp2", "Erfc", "Trunc", "Round")
def _derived(g: Graph, ev: Event) -> str:
    x, op = ev.ins[0], ev.name
    if op == "Log1p":
        return g.node("Log", [g.node("Add", [x, _scalar(g, 1.0)])], "log1p")
    if op == "Expm1":
        return g.node("Sub", [g.node("Exp", [x]), _scalar(g, 1.0)], "expm1")
    if op in ("Log2", "Log10"):
        return g.node("Div", [g.node("Log", [x]), _scalar(g, math.log(2 if op == "Log2" else 10))])
    if op == "Exp2":
        return g.node("Pow", [_scalar(g, 2.0), x], "exp2")
    if op == "Erfc":
        return g.node("Sub", [_scalar(g, 1.0), g.node("Erf", [x])], "erfc")
    if op == "Trunc":
        return g.node("Mul", [g.node("Sign", [x]), g.node("Floor", [g.node("Abs", [x])])], "trunc")
    if ev.params.get("decimals", 0):
        raise UnsupportedLayerError(f"ONNX export: round with decimals (in layer {ev.path}) "
                                    "is not converted")
    return g.node("Round", [x], "round")  # halves to even, as NumPy's


@register_op("Fmod")
def _fmod(g: Graph, ev: Event) -> str:
    return g.node("Mod", list(ev.ins), "fmod", fmod=1)


@register_op("Remainder")
def _remainder(g: Graph, ev: Event) -> str:
    x, y = ev.ins  # x − ⌊x/y⌋·y: the sign of y, as Python's and PyTorch's remainder
    if np.asarray(ev.x[0]).dtype.kind in "iu":
        return g.node("Mod", [x, y], "remainder", fmod=0)
    q = g.node("Floor", [g.node("Div", [x, y])])
    return g.node("Sub", [x, g.node("Mul", [q, y])], "remainder")


@register_op("LogAddExp")
def _logaddexp(g: Graph, ev: Event) -> str:
    a, b = ev.ins  # max(a, b) + log(1 + exp(−|a − b|))
    d = g.node("Neg", [g.node("Abs", [g.node("Sub", [a, b])])])
    return g.node("Add", [g.node("Max", [a, b]),
                          g.node("Log", [g.node("Add", [g.node("Exp", [d]), _scalar(g, 1.0)])])],
                  "logaddexp")


@register_op("Linear")
def _linear(g: Graph, ev: Event) -> str:
    x, w, b = (ev.ins + [None])[:3]
    if np.ndim(ev.x[0]) == 2:  # Gemm: y = x·Wᵀ + b
        y = g.node("Gemm", [x, w] + ([b] if b else []), "linear", transB=1)
    else:
        y = g.node("MatMul", [x, g.node("Transpose", [w], perm=[1, 0])], "linear")
        if b:
            y = g.node("Add", [y, b], "linear")
    act = ev.params.get("activation")
    return y if act is None else g.node({"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}[act],
                                        [y])


# --- reductions ----------------------------------------------------------------------------

def _axes(axis: Any) -> list[int] | None:
    if axis is None:
        return None
    return [int(a) for a in axis] if isinstance(axis, (tuple, list)) else [int(axis)]


@register_op("Sum", "Max", "Prod")
def _reduce(g: Graph, ev: Event) -> str:
    op = {"Sum": "ReduceSum", "Max": "ReduceMax", "Prod": "ReduceProd"}[ev.name]
    return g.reduce(op, ev.ins[0], _axes(ev.params.get("axis")), ev.params.get("keepdims", False))


@register_op("LogSumExp")
def _logsumexp(g: Graph, ev: Event) -> str:
    # m + log Σ exp(x − m), m the maximum: the stable form chainrule computes
    x, axes = ev.ins[0], _axes(ev.params.get("axis"))
    keep = bool(ev.params.get("keepdims", False))
    m = g.reduce("ReduceMax", x, axes)
    s = g.reduce("ReduceSum", g.node("Exp", [g.node("Sub", [x, m])]), axes, keep)
    mk = m if keep else g.reduce("ReduceMax", x, axes, False)
    return g.node("Add", [mk, g.node("Log", [s])], "logsumexp")


@register_op("Normalize")
def _normalize(g: Graph, ev: Event) -> str:
    # (x − μ)/√(σ² + ε), the mean and biased variance over the axes
    x, axes = ev.ins[0], _axes(ev.params["axes"])
    if axes is None:
        axes = list(range(np.ndim(ev.x[0])))
    d = g.node("Sub", [x, g.reduce("ReduceMean", x, axes)])
    var = g.reduce("ReduceMean", g.node("Mul", [d, d]), axes)
    eps = _scalar(g, float(ev.params["eps"]))
    return g.node("Div", [d, g.node("Sqrt", [g.node("Add", [var, eps])])], "normalize")


@register_op("Cumsum")
def _cumsum(g: Graph, ev: Event) -> str:
    return g.node("CumSum", [ev.ins[0], g.ints("axis", int(ev.params["axis"]))], "cumsum")


@register_op("Einsum")
def _einsum(g: Graph, ev: Event) -> str:
    return g.node("Einsum", list(ev.ins), "einsum", equation=str(ev.params["spec"]))
