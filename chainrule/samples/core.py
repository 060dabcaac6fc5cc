"""Samples for the engine's primitives: broadcasting, every axis/keepdims variant."""

from __future__ import annotations

import numpy as np

from chainrule import ops as P

from . import Case, apply

rng = np.random.default_rng(1234)


def r(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def pos(*shape: int) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def away(*shape: int) -> np.ndarray:
    """Random values kept 0.1 away from 0 (kinks of abs, relu)."""
    x = rng.uniform(0.1, 2.0, shape)
    return x * rng.choice([-1.0, 1.0], shape)


SIGNS = np.array([1.0, -1.0, 1.0])

BROADCAST = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (1, 4, 1)), ((3, 1), ())]


def binary(op):
    return [Case(apply(op), [r(*a), r(*b)], id=f"{a}x{b}") for a, b in BROADCAST]


AXES = [(None, False), (None, True), (0, False), (1, True), (-1, False), ((0, 2), False),
        ((0, 2), True)]


def reduction(op):
    return [Case(apply(op, axis=ax, keepdims=kd), [r(2, 3, 4)], id=f"axis={ax},keepdims={kd}")
            for ax, kd in AXES]


def round_trip():
    """Cast to float64 and back: float32 stays float32 (the dtype test), float64 is checked."""
    op_cls, params = P.Cast, {"dtype": np.float64}  # (the device test reads these two names)
    return lambda x: apply(op_cls, dtype=x.dtype)(apply(op_cls, **params)(x))


SAMPLES = {
    "Add": binary(P.Add),
    "Sub": binary(P.Sub),
    "Mul": binary(P.Mul),
    "Div": [Case(apply(P.Div), [r(3, 4), pos(4)], id="broadcast"),
            Case(apply(P.Div), [r(2, 3), -pos(2, 3)], id="same")],
    "Pow": [Case(apply(P.Pow), [pos(3, 4), r(3, 4)], id="both"),
            Case(apply(P.Pow), [pos(3, 4), np.array(3.0)], id="scalar-exponent"),
            Case(apply(P.Pow), [np.array(2.0), r(5)], id="scalar-base")],
    "Neg": [Case(apply(P.Neg), [r(3, 2)])],
    "Cast": [Case(round_trip(), [r(3, 2)])],
    "Maximum": [Case(apply(P.Maximum), [r(3, 4), r(4)], id="broadcast")],
    "Minimum": [Case(apply(P.Minimum), [r(3, 4), r(3, 1)], id="broadcast")],
    "Where": [Case(apply(P.Where, cond=rng.random((3, 4)) > 0.5), [r(3, 4), r(4)])],
    "Exp": [Case(apply(P.Exp), [r(3, 4)]), Case(apply(P.Exp), [np.array(0.3)], id="0-d")],
    "Log": [Case(apply(P.Log), [pos(3, 4)])],
    "Sqrt": [Case(apply(P.Sqrt), [pos(3, 4)])],
    "Abs": [Case(apply(P.Abs), [away(3, 4)])],
    "Clip": [Case(apply(P.Clip, lo=-0.5, hi=0.5), [away(4, 5) * 0.7], id="both"),
             Case(apply(P.Clip, lo=0.3), [away(4, 5)], id="lo")],
    "Sigmoid": [Case(apply(P.Sigmoid), [r(3, 4) * 3]),
                Case(apply(P.Sigmoid), [np.array(-0.7)], id="0-d")],
    "Tanh": [Case(apply(P.Tanh), [r(3, 4)]), Case(apply(P.Tanh), [np.array(0.3)], id="0-d")],
    "Relu": [Case(apply(P.Relu), [away(3, 4)])],
    "LeakyRelu": [Case(apply(P.LeakyRelu, slope=0.01), [away(3, 4)], id="0.01"),
                  Case(apply(P.LeakyRelu, slope=0.2), [away(3, 4)], id="0.2")],
    "Softplus": [Case(apply(P.Softplus), [r(3, 4) * 3]),
                 Case(apply(P.Softplus), [np.array(-1.5)], id="0-d")],
    "Elu": [Case(apply(P.Elu, alpha=1.0), [away(3, 4)], id="1"),
            Case(apply(P.Elu, alpha=0.5), [away(3, 4)], id="0.5")],
    "Gelu": [Case(apply(P.Gelu), [r(3, 4) * 2])],
    "Sum": reduction(P.Sum),
    "Max": reduction(P.Max),
    "LogSumExp": reduction(P.LogSumExp),
    "SoftmaxCrossEntropy": [
        Case(apply(P.SoftmaxCrossEntropy, target=np.array([0, 2, 1, 2])), [r(4, 3)], id="rows"),
        Case(apply(P.SoftmaxCrossEntropy, target=np.array(1)), [r(3)], id="one"),
        Case(apply(P.SoftmaxCrossEntropy, target=np.array([[0, 1], [1, 1]])), [r(2, 2, 3)],
             id="batched"),
        Case(apply(P.SoftmaxCrossEntropy, target=np.array([2, 0, 1]), mean=True), [r(3, 3)],
             id="mean")],
    "Reshape": [Case(apply(P.Reshape, shape=(4, 3)), [r(2, 6)]),
                Case(apply(P.Reshape, shape=(-1,)), [r(2, 3, 2)], id="flat")],
    "Transpose": [Case(apply(P.Transpose, axes=None), [r(2, 3)], id="T"),
                  Case(apply(P.Transpose, axes=(1, 2, 0)), [r(2, 3, 4)], id="permute")],
    "BroadcastTo": [Case(apply(P.BroadcastTo, shape=(2, 3, 4)), [r(3, 1)])],
    "Concatenate": [Case(apply(P.Concatenate, axis=0), [r(2, 3), r(1, 3), r(3, 3)], id="0"),
                    Case(apply(P.Concatenate, axis=-1), [r(2, 3), r(2, 1)], id="-1")],
    "GetItem": [Case(apply(P.GetItem, index=(slice(1, None), 2)), [r(3, 4)], id="basic"),
                Case(apply(P.GetItem, index=np.array([0, 2, 2, 1, 0])), [r(3, 4)], id="repeats"),
                Case(apply(P.GetItem, index=(np.arange(3), np.array([1, 0, 1]))), [r(3, 2)],
                     id="gather"),
                Case(apply(P.GetItem, index=(Ellipsis, None, 1)), [r(2, 3)], id="newaxis")],
    "Pad": [Case(apply(P.Pad, pad_width=((1, 0), (2, 1))), [r(2, 3)]),
            Case(apply(P.Pad, pad_width=1, value=3.0), [r(2, 2)], id="value")],
    "MatMul": [Case(apply(P.MatMul), [r(3, 4), r(4, 2)], id="2d"),
               Case(apply(P.MatMul), [r(2, 3, 4), r(4, 2)], id="batched-broadcast"),
               Case(apply(P.MatMul), [r(2, 3, 4), r(2, 4, 5)], id="batched"),
               Case(apply(P.MatMul), [r(4), r(4, 3)], id="vec-mat"),
               Case(apply(P.MatMul), [r(2, 3, 4), r(4)], id="mat-vec"),
               Case(apply(P.MatMul), [r(1, 4), r(4, 1)], id="inner-1"),
               Case(apply(P.MatMul), [r(4), r(4)], id="vec-vec"),
               Case(apply(P.MatMul), [r(4), r(2, 4, 3)], id="vec-batched")],
    "Linear": [Case(apply(P.Linear), [r(5, 4), r(3, 4), r(3)], id="bias"),
               Case(apply(P.Linear), [r(5, 4), r(3, 4)], id="no-bias"),
               Case(apply(P.Linear), [r(2, 5, 4), r(3, 4), r(3)], id="batched"),
               *[Case(apply(P.Linear, activation=a), [r(5, 4), r(3, 4), r(3)], id=a)
                 for a in ("sigmoid", "tanh")],
               # relu's kink: x > 0 and each output's weights and bias share one sign, so
               # every z is at least 0.1 from 0 and both sides of the kink are covered
               Case(apply(P.Linear, activation="relu"),
                    [pos(5, 4), pos(3, 4) * SIGNS[:, None], pos(3) * SIGNS], id="relu")],
}
