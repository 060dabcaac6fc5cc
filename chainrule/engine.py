"""The engine: the switches every op reads, and backpropagation over the recorded graph.

Forward, :func:`chainrule.tensor.apply` numbers each recorded op (:func:`next_seq`) and reads
:data:`MODE`; here ``backward`` walks the graph once from the output down (notes §4, backpropagation),
in reverse creation order (a heap keyed by each op's sequence number, so no separate sort),
calling each op's ``vjp`` with the cotangent of its output: g_x = Σ_k g_{u_k} ∂u_k/∂x.
Cotangents meeting at a node are summed (in place only into buffers the engine alone holds;
sparse slices from indexing are added where they belong); each is first summed to its input's
shape (broadcasting) and cast to its dtype. Saved arrays are released as soon as an op is done,
unless ``retain_graph=True``.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
from typing import Any
from collections.abc import Iterator, Sequence

import numpy as np

from .backend import as_array, get_backend
from .errors import AnomalyError, AxisError, GraphError, ShapeError
from .ops.base import Op
from .ops.shape import Scatter

__all__ = ["MODE", "backward", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
           "unbroadcast", "check_finite", "op_error", "next_seq"]


class _Mode:
    """Global switches read on every op: gradient recording and anomaly detection (and, under
    :func:`chainrule.stability_coach`, the coach that watches each op it checks)."""

    grad_enabled = True
    detect_anomaly = False
    coach: Any = None
    tracer: Any = None  # while chainrule.compile records a step: called with every op apply runs


MODE = _Mode()

#: Op creation order: a topological order of every graph (see ``backward``).
next_seq = itertools.count().__next__


def op_error(op: Op, arrays: Sequence[Any], params: dict, exc: Exception) -> None:
    """Re-raise NumPy's error from ``op``'s forward as a ChainruleError naming the op, its
    parameters and the input shapes."""
    shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
    where = f"{op.name}" + (f" with {params}" if params else "")
    if isinstance(exc, np.exceptions.AxisError):
        raise AxisError(f"{where}: axis out of range for input shapes {shapes}: {exc}") from exc
    raise ShapeError(f"{where}: input shapes {shapes} do not fit together: {exc}") from exc


def check_finite(op: Op, out: Any, what: str, inputs: Sequence[Any] = (), g: Any = None) -> None:
    """Under :func:`detect_anomaly`: raise if ``out`` (``op``'s output or gradient) holds NaN/Inf;
    ``inputs`` (the op's arguments) and ``g`` (the cotangent its vjp got) are for the coach."""
    coach, xp = MODE.coach, op.xp
    if coach is not None:
        coach.observe(op, out, what, inputs)
    if out.dtype.kind == "f" and not bool(xp.isfinite(out).all()):
        kind = "NaN" if bool(xp.isnan(out).any()) else "Inf"
        advice = (coach.advise(op, out, what, inputs, g) if coach is not None else
                  " (chainrule.stability_coach() names a stable form)")
        raise AnomalyError(f"detect_anomaly: op {op.name} produced {kind} in its {what}{advice}")


_FREED = ("freed",)


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` down to ``shape``: the reverse of NumPy broadcasting."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape) if g.shape != shape else g


# NOTE: one function on purpose: its loop runs once per node of every training step, and each
# helper call taken out of it costs about as much as the work of a small node.
def backward(root: Any, grad: Any = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into every leaf's ``.grad``.

    ``root`` and the graph's values are read through ``.data``, ``._node`` and
    ``.requires_grad``: any Tensor-like object the ops recorded.

    Args:
        root: the output; a scalar unless ``grad`` is given.
        grad: the cotangent of ``root`` (same shape); 1 for a scalar root.
        retain_graph: keep saved arrays so the graph can be walked again.

    Raises:
        GraphError: a non-scalar root without ``grad``, a root that does not require
            gradients, or a graph already freed by an earlier backward.
    """
    if not root.requires_grad:
        kind = getattr(root.data, "dtype", None)
        made = (f" It holds {kind} values, as a comparison or a count of errors does."
                if kind is not None and kind.kind in "biu" else "")
        raise GraphError(
            "backward() on a tensor that does not require grad: no input of the ops that made "
            "it has requires_grad=True, it was made under no_grad, or a comparison (>, ==, "
            "argmax, round, a step function) cut the graph: such ops have zero derivative "
            f"almost everywhere and pass no gradient.{made} To train, differentiate a smooth "
            "stand-in instead, e.g. the log-loss rather than the error count (tutorial: Objectives).")
    if grad is None:
        data = root.data
        if data.size != 1:
            raise GraphError(f"backward() on a non-scalar tensor of shape {root.shape} needs an "
                             "output gradient of the same shape: backward(grad)")
        if not data.ndim and isinstance(data, (np.ndarray, np.generic)):
            grad = np.array(1, dtype=data.dtype)  # (np.ones costs a microsecond more)
        else:
            grad = get_backend(data).xp.ones(data.shape, dtype=data.dtype)
    else:
        grad = as_array(grad, root.dtype)
        if grad.shape != root.shape:
            raise GraphError(f"backward(grad): grad has shape {grad.shape}, the tensor {root.shape}")
        grad = grad.copy()
    if root._node is None:
        _accumulate(root, grad, set())
        return
    # Ops are numbered as they are created, so every consumer of a value has a larger number
    # than its producer: popping the largest pending number visits the graph in reverse
    # topological order without a separate sort, and each op once.
    grads = {root._node: grad}
    heap = [(-root._node.seq, root._node)]
    lent: set[int] = set()  # ids of cotangents handed to leaves uncopied in this pass
    owned: set[int] = set()  # ids of pending cotangents only the engine holds (in place ok)
    anomaly = MODE.detect_anomaly
    pop, push = heapq.heappop, heapq.heappush
    # NOTE: this loop runs once per node of every training step; the common case (a dense
    # NumPy cotangent of the input's shape and dtype) takes the fewest checks.
    while heap:
        node = pop(heap)[1]
        g = grads.pop(node)
        owned.discard(id(g))
        if node.saved is _FREED:
            raise GraphError(f"backward through op {node.name} whose graph was already freed; "
                             "pass retain_graph=True to the first backward() to walk it twice")
        cotangents = node.vjp(g)
        if not retain_graph:
            node.saved = _FREED
        for t, gi, need in zip(node.inputs, cotangents, node.needs_grad):
            if gi is None or not need:
                continue
            data = t.data
            child = t._node
            if type(gi) is Scatter:
                if child is not None and child in grads:
                    cur = grads[child]
                    if id(cur) not in owned:  # not ours alone: add into a copy
                        cur = grads[child] = gi.xp.array(cur)  # (an array even if 0-d)
                        owned.add(id(cur))
                    gi.add_into(cur)
                    continue
                gi = gi.dense(data.dtype)
                if child is not None:
                    owned.add(id(gi))
            if anomaly:
                check_finite(node, gi, "gradient", node.inputs, g)
            if gi.shape != data.shape:
                gi = unbroadcast(gi, data.shape)
            if gi.dtype is not data.dtype and gi.dtype != data.dtype:
                gi = gi.astype(data.dtype)
            if child is None:
                _accumulate(t, gi, lent)
            elif child in grads:
                cur = grads[child]
                if id(cur) in owned:
                    cur += gi
                    if cur is not grads[child]:  # a 0-d scalar: += made a new object
                        owned.discard(id(grads[child]))
                        grads[child] = cur
                else:  # never in place on an array a vjp may have shared
                    grads[child] = cur + gi
                    owned.add(id(grads[child]))
            else:
                grads[child] = gi
                push(heap, (-child.seq, child))


def _accumulate(leaf: Any, g: Any, lent: set[int]) -> None:
    """leaf.grad += g without ever writing into an array someone else holds.

    A vjp may hand one array to several inputs, and an array given to a leaf may still be
    pending as another node's cotangent. So a leaf's first gradient of a pass is stored
    uncopied but marked as lent, and adding to a lent gradient makes a new array; only arrays
    the leaf owns alone are updated in place (the usual case across steps and passes).
    """
    old = leaf.grad
    if old is None:
        # (CuPy's flags have no ``writeable``: its arrays are always writeable)
        if g.base is not None or not getattr(g.flags, "writeable", True) or id(g) in lent:
            g = g.copy()  # a view, read-only, or already another leaf's: own a copy
        else:
            lent.add(id(g))
        leaf.grad = g
    elif id(old) in lent:
        leaf.grad = old + g
    else:
        old += g
        leaf.grad = old  # the same array, or a new object for 0-d scalars


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Record nothing inside the block (inference, parameter updates).

    >>> from chainrule import Tensor
    >>> x = Tensor([1.0], requires_grad=True)
    >>> with no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """
    prev = MODE.grad_enabled
    MODE.grad_enabled = False
    try:
        yield
    finally:
        MODE.grad_enabled = prev


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Record ops again inside a ``no_grad`` block."""
    prev = MODE.grad_enabled
    MODE.grad_enabled = True
    try:
        yield
    finally:
        MODE.grad_enabled = prev


def is_grad_enabled() -> bool:
    return MODE.grad_enabled


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise :class:`~chainrule.errors.AnomalyError` naming the first op whose output (or,
    during backward, whose gradient) holds a NaN or Inf."""
    prev = MODE.detect_anomaly
    MODE.detect_anomaly = True
    try:
        with np.errstate(all="ignore"):  # our error names the op; NumPy's warning would not
            yield
    finally:
        MODE.detect_anomaly = prev
