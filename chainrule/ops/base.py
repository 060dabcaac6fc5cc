"""The primitive contract and the op registry.

A primitive is one class whose ``forward`` (arrays in, one array out), ``vjp`` (reverse
rule) and ``jvp`` (forward rule) sit side by side and work on raw arrays through
``self.xp``. Defining a subclass inside chainrule registers it in :data:`OPS`; the gradient
tests, the ``chainrule gradcheck`` command and ``chainrule info`` walk that table.

Users define their own primitives the same way (README.md, "Your own primitive"): subclass
``Op``, run it with :func:`chainrule.apply` in either mode, and check its rules with
:func:`chainrule.check_grad`. A subclass defined outside chainrule is *not* registered unless
it asks (``class MyOp(Op, register=True)``): OPS stays chainrule's own table, whose every entry
must have gradient samples, so a user's op never makes chainrule's registry test fail.

- ``forward(*arrays, **params)`` computes the output and ``self.save(...)``s what the rules need.
- ``vjp(g)`` returns one cotangent per array input (``None`` for none or not needed, see
  ``self.needs_grad``). It never unbroadcasts: the engine sums each result to its input's shape.
  Indexing returns a sparse :class:`~chainrule.ops.shape.Scatter` instead, which the engine adds
  into one buffer per input.
- ``jvp(*tangents)`` takes one tangent per input (``None`` is a symbolic zero) and returns the
  output tangent (``None`` for zero). The engine broadcasts it to the output's shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DTypeError

OPS: dict[str, type[Op]] = {}
"""Every registered primitive by class name, in definition order."""


class Op:
    """Base of every primitive; see the module docstring for the contract."""

    # Set by the engine before ``forward`` runs.
    xp: Any
    needs_grad: tuple[bool, ...]
    saved: tuple[Any, ...] = ()
    inputs: tuple[Any, ...] = ()

    def __init_subclass__(cls, register: bool | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if register is None:  # chainrule's own primitives register; a user's only on request
            register = cls.__module__.split(".")[0] == "chainrule"
        if register:
            OPS[cls.__name__] = cls

    def save(self, *arrays: Any) -> None:
        """Keep the arrays the rules need (arrays only, never Tensors)."""
        self.saved = arrays

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<op {self.name}>"


def add_tangents(a: Any, b: Any) -> Any:
    """``a + b`` where ``None`` is a symbolic zero."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


_KIND = {"b": 0, "u": 1, "i": 1, "f": 2}
_RESULT: dict[tuple, Any] = {}


def result_dtype(x: Any, y: Any) -> Any:
    """PyTorch's result dtype of x ∘ y (torch.result_type): float beats int beats bool, the
    wider dtype wins within a kind (uint8 with int8 gives int16), and a 0-d operand of the same
    or a lower kind than an n-d one takes the n-d one's dtype (float32 · float64 scalar is
    float32). NumPy differs across kinds: int32 · float32 is float64 there, float32 here."""
    key = (x.dtype, x.ndim == 0, y.dtype, y.ndim == 0)
    dt = _RESULT.get(key)
    if dt is None:
        (a, a0), (b, b0) = sorted([key[:2], key[2:]], key=lambda k: k[1])  # n-d first
        if a0 == b0 and _KIND[a.kind] == _KIND[b.kind]:
            dt = np.promote_types(a, b)
        else:  # the higher kind wins; at equal kinds the n-d operand (a)
            dt = a if _KIND[a.kind] >= _KIND[b.kind] else b
        dt = _RESULT[key] = np.dtype(dt)
    return dt


def common_dtype(dtypes: Any) -> Any:
    """PyTorch's result dtype of n-d tensors of ``dtypes`` (torch.cat's): the widest of the
    highest kind."""
    top = max(_KIND[d.kind] for d in dtypes)
    return np.result_type(*[d for d in dtypes if _KIND[d.kind] == top])


def promote(x: Any, y: Any, bool_ok: bool = True) -> tuple[Any, Any]:
    """x and y cast to :func:`result_dtype` (called by the binary ops only when their dtypes
    differ, so the float32 ∘ float32 path pays one comparison).

    Raises:
        DTypeError: a bool operand where the op has no bool meaning (``bool_ok`` False).
    """
    if not bool_ok and "b" in (x.dtype.kind, y.dtype.kind):
        raise DTypeError(f"subtraction with a bool tensor is not supported (dtypes {x.dtype} "
                         f"and {y.dtype}, as in PyTorch); to invert a mask use ~ or logical_not")
    dt = result_dtype(x, y)
    return (x if x.dtype == dt else x.astype(dt)), (y if y.dtype == dt else y.astype(dt))
