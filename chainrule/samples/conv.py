"""Samples for the convolution, pooling and recurrent primitives: every stride, padding,
dilation and group variant on shapes small enough for an exhaustive forward-mode check."""

from __future__ import annotations

import numpy as np

import chainrule.ops.conv as C
import chainrule.ops.recurrent as R

from . import Case, apply

rng = np.random.default_rng(4321)


def r(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def distinct(*shape: int) -> np.ndarray:
    """Values at least 0.1 apart, so no window of a max pool has a tie (a kink)."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 + rng.uniform(0, 0.01, shape)


def conv(stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
    return apply(C.Conv, stride=stride, padding=padding, dilation=dilation, groups=groups)


def convt(x_shape, kernel, stride, padding, dilation, groups=1, output_padding=None):
    """ConvTranspose with the output size PyTorch gives: (n − 1)s − lo − hi + d(k − 1) + 1 + op."""
    output_padding = output_padding or (0,) * len(kernel)
    shape = tuple((n - 1) * s - lo - hi + d * (k - 1) + 1 + op for n, k, s, (lo, hi), d, op in
                  zip(x_shape[2:], kernel, stride, padding, dilation, output_padding))
    return apply(C.ConvTranspose, stride=stride, padding=padding, dilation=dilation,
                 groups=groups, output_shape=shape)


def pool(kernel, stride, padding, dilation):
    return apply(C.MaxPool, kernel=kernel, stride=stride, padding=padding, dilation=dilation)


SAMPLES = {
    "Conv": [
        Case(conv(), [r(2, 2, 4, 4), r(3, 2, 2, 2), r(3)], id="2d-bias"),
        Case(conv(), [r(1, 2, 4, 3), r(2, 2, 3, 2)], id="2d-no-bias-rect"),
        Case(conv(stride=(2, 1), padding=((1, 1), (2, 1))), [r(2, 2, 5, 4), r(3, 2, 3, 3), r(3)],
             id="2d-stride-padding"),
        Case(conv(dilation=(2, 2), padding=((1, 1), (1, 1))), [r(1, 2, 5, 5), r(2, 2, 2, 2), r(2)],
             id="2d-dilation"),
        Case(conv(groups=2, stride=(2, 2), padding=((1, 1), (1, 1))),
             [r(2, 4, 4, 4), r(4, 2, 2, 2), r(4)], id="2d-groups"),
        Case(conv(groups=3), [r(1, 3, 3, 3), r(3, 1, 2, 2)], id="2d-depthwise"),
        Case(conv(stride=(2,), padding=((1, 2),), dilation=(2,)), [r(2, 2, 7), r(3, 2, 3), r(3)],
             id="1d-stride-padding-dilation"),
        Case(conv(stride=(1,), padding=((0, 0),), dilation=(1,), groups=2), [r(2, 4, 5), r(2, 2, 2)],
             id="1d-groups"),
    ],
    "ConvTranspose": [
        Case(convt((2, 3, 3, 3), (2, 2), (1, 1), ((0, 0), (0, 0)), (1, 1)),
             [r(2, 3, 3, 3), r(3, 2, 2, 2), r(2)], id="2d-bias"),
        Case(convt((1, 2, 3, 2), (3, 2), (2, 2), ((1, 1), (0, 0)), (1, 1), output_padding=(1, 1)),
             [r(1, 2, 3, 2), r(2, 3, 3, 2), r(3)], id="2d-stride-padding-output-padding"),
        Case(convt((1, 4, 2, 3), (2, 2), (2, 1), ((0, 0), (1, 1)), (1, 2), groups=2),
             [r(1, 4, 2, 3), r(4, 1, 2, 2)], id="2d-groups-dilation"),
        Case(convt((2, 2, 4), (3,), (2,), ((1, 1),), (2,)), [r(2, 2, 4), r(2, 3, 3), r(3)],
             id="1d-stride-padding-dilation"),
        Case(convt((1, 2, 2, 2, 2), (2, 2, 2), (2, 1, 1), ((0, 0),) * 3, (1, 1, 1)),
             [r(1, 2, 2, 2, 2), r(2, 2, 2, 2, 2)], id="3d"),
    ],
    "MaxPool": [
        Case(pool((2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)), [distinct(2, 2, 4, 4)], id="2x2"),
        Case(pool((3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)), [distinct(1, 2, 5, 4)],
             id="overlap-padding"),
        Case(pool((2, 2), (1, 2), ((1, 1), (0, 0)), (2, 1)), [distinct(1, 2, 4, 5)],
             id="dilation"),
        Case(pool((3,), (2,), ((1, 1),), (1,)), [distinct(2, 3, 7)], id="1d"),
    ],
    "Gru": [
        Case(apply(R.Gru), [r(3, 2, 6), r(6, 2) * 0.5, r(2, 2), r(6)], id="T3-N2-H2"),
        Case(apply(R.Gru), [r(3, 2, 6), r(6, 2) * 0.5, r(2, 2)], id="no-bias"),
        Case(apply(R.Gru), [r(1, 3, 9), r(9, 3) * 0.5, r(3, 3), r(9)], id="one-step"),
    ],
    "Lstm": [
        Case(apply(R.Lstm), [r(3, 2, 8), r(8, 2) * 0.5, r(2, 2), r(2, 2)], id="T3-N2-H2"),
        Case(apply(R.Lstm), [r(1, 3, 12), r(12, 3) * 0.5, r(3, 3), r(3, 3)], id="one-step"),
    ],
}
