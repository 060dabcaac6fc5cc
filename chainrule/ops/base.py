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
