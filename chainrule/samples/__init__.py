"""Sample inputs for every registered primitive, one module per family of ops.

They sit above the ops and the Tensor (each case runs its op through
:func:`chainrule.tensor.apply`, in reverse or forward mode), beside the gradient checks.

Each module defines ``SAMPLES: dict[str, list[Case]]`` keyed by the op's class name. The
gradient test (tests/test_ops_gradients.py) and ``chainrule gradcheck --ops`` both walk
``chainrule.ops.OPS`` with these samples; the test fails for an op without samples.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

import numpy as np

from ..tensor import apply as _apply


@dataclass
class Case:
    """f applied to ``inputs`` (float64 arrays); ``id`` names the variant in test ids."""

    f: Callable[..., Any]
    inputs: list[np.ndarray]
    id: str = ""
    tol: dict = field(default_factory=dict)


def apply(op_cls: type, **params: Any) -> Callable[..., Any]:
    """f(*xs) = op_cls applied to xs in whichever mode (Tensor or Dual) xs are in."""
    return lambda *xs: _apply(op_cls, *xs, **params)


def collect() -> dict[str, list[Case]]:
    table: dict[str, list[Case]] = {}
    for mod in pkgutil.iter_modules(__path__):
        samples = importlib.import_module(f"{__name__}.{mod.name}").SAMPLES
        for name, cases in samples.items():
            table.setdefault(name, []).extend(cases)
    return table
