"""Samples for the standardization primitive behind batch and layer normalization."""

from __future__ import annotations

import numpy as np

import chainrule.ops.norm as N

from . import Case, apply

rng = np.random.default_rng(2468)


def r(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape) * 2 + 0.5


SAMPLES = {
    "Normalize": [
        Case(apply(N.Normalize, axes=(0,), eps=1e-5), [r(5, 3)], id="batch-1d"),
        Case(apply(N.Normalize, axes=(0, 2, 3), eps=1e-5), [r(3, 2, 2, 3)], id="batch-2d"),
        Case(apply(N.Normalize, axes=(-1,), eps=1e-3), [r(4, 5)], id="layer-last"),
        Case(apply(N.Normalize, axes=(1, 2), eps=0.1), [r(2, 3, 4)], id="layer-2-axes"),
    ],
}
