"""Tensor: an array, its gradient, and the op that made it.

Operators and methods dispatch to primitives in :mod:`chainrule.ops` (or to composites in
:mod:`chainrule.functional`); there is no math here. The same operator surface
(:class:`ArrayLike`) serves :class:`chainrule.forward.Dual`, so composites work in both modes.
"""

from __future__ import annotations

import math
from typing import Any
from collections.abc import Sequence

import numpy as np

from . import ops as P
from .backend import array_module, as_array, as_dtype, backend_named, get_backend
from .engine import MODE, backward, check_finite, next_seq, op_error
from .errors import AxisError, DTypeError, ShapeError
from .tensor_methods import OpMethods

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16))


def to_array(data: Any, dtype: Any = None) -> Any:
    """``data`` (a Tensor, a Dual's primal, an array or numbers) as an array: Python floats
    become float32, ints int64; arrays keep their dtype (see :func:`chainrule.backend.as_array`)."""
    return as_array(array_of(data), dtype)


class ArrayLike(OpMethods):
    """The operator surface shared by Tensor and Dual: each method names one primitive or
    composite, and ``type(self)._apply`` runs it in that type's mode. The op families of
    issue 11 (sin, prod, cumsum, gather, sort, ...) come from the mixin
    :class:`~chainrule.tensor_methods.OpMethods`."""

    __slots__ = ()
    __array_priority__ = 1000  # ndarray + Tensor defers to Tensor.__radd__

    @classmethod
    def _apply(cls, op_cls: type[P.Op], *args: Any, **params: Any) -> Any:  # pragma: no cover
        raise TypeError(f"{cls.__name__} cannot apply ops")

    # arithmetic
    def __add__(self, o): return self._apply(P.Add, self, o)
    def __radd__(self, o): return self._apply(P.Add, o, self)
    def __sub__(self, o): return self._apply(P.Sub, self, o)
    def __rsub__(self, o): return self._apply(P.Sub, o, self)
    def __mul__(self, o): return self._apply(P.Mul, self, o)
    def __rmul__(self, o): return self._apply(P.Mul, o, self)
    def __truediv__(self, o): return self._apply(P.Div, self, o)
    def __rtruediv__(self, o): return self._apply(P.Div, o, self)
    def __pow__(self, o): return self._apply(P.Pow, self, o)
    def __rpow__(self, o): return self._apply(P.Pow, o, self)
    def __matmul__(self, o): return self._apply(P.MatMul, self, o)
    def __rmatmul__(self, o): return self._apply(P.MatMul, o, self)
    def __neg__(self): return self._apply(P.Neg, self)
    def __pos__(self): return self
    def __getitem__(self, index): return self._apply(P.GetItem, self, index=_index(index, self))

    # element-wise functions
    def exp(self): return self._apply(P.Exp, self)
    def log(self): return self._apply(P.Log, self)
    def sqrt(self): return self._apply(P.Sqrt, self)
    def abs(self): return self._apply(P.Abs, self)
    def sigmoid(self): return self._apply(P.Sigmoid, self)
    def tanh(self): return self._apply(P.Tanh, self)
    def relu(self): return self._apply(P.Relu, self)
    def clip(self, lo=None, hi=None): return self._apply(P.Clip, self, lo=lo, hi=hi)
    __abs__ = abs

    # reductions
    def sum(self, axis=None, keepdims=False):
        return self._apply(P.Sum, self, axis=_axis(axis), keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return self._apply(P.Max, self, axis=_axis(axis), keepdims=keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        return self._apply(P.LogSumExp, self, axis=_axis(axis), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        """Σx / n over ``axis``."""
        axis = _axis(axis)
        return self.sum(axis, keepdims) * (1.0 / max(_count(self.shape, axis), 1))

    def min(self, axis=None, keepdims=False):
        """−max(−x)."""
        return -((-self).max(axis, keepdims))

    def var(self, axis=None, keepdims=False, ddof=0):
        """Σ(x − mean)² / (n − ddof)."""
        axis = _axis(axis)
        d = self - self.mean(axis, keepdims=True)
        return (d * d).sum(axis, keepdims) * (1.0 / max(_count(self.shape, axis) - ddof, 1))

    # shapes
    def reshape(self, *shape):
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return self._apply(P.Reshape, self, shape=shape)

    def transpose(self, *axes):
        axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return self._apply(P.Transpose, self, axes=axes or None)

    permute = transpose

    @property
    def T(self):
        return self._apply(P.Transpose, self, axes=None)

    def broadcast_to(self, shape):
        return self._apply(P.BroadcastTo, self, shape=tuple(shape))

    def flatten(self, start_dim: int = 0):
        return self.reshape(self.shape[:start_dim] + (-1,))

    def squeeze(self, axis=None):
        """x without axes of length 1 (only ``axis`` when given)."""
        shape = self.shape
        if axis is None:
            new = tuple(n for n in shape if n != 1)
        else:
            axes = {_check_axis(a, shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
            new = tuple(n for i, n in enumerate(shape) if i not in axes or n != 1)
        return self.reshape(new)

    def unsqueeze(self, axis):
        """x with a new axis of length 1 at ``axis``."""
        shape = list(self.shape)
        shape.insert(_check_axis(axis, shape + [1]), 1)
        return self.reshape(tuple(shape))

    # non-differentiable results
    def _value(self):
        return self.data if isinstance(self, Tensor) else self.primal

    def _const(self, arr):
        return Tensor._make(arr)

    def argmax(self, axis=None, keepdims=False):
        return self._const(self._value().argmax(axis=axis, keepdims=keepdims))

    def argmin(self, axis=None, keepdims=False):
        return self._const(self._value().argmin(axis=axis, keepdims=keepdims))

    def __eq__(self, o): return self._const(self._value() == array_of(o))
    def __ne__(self, o): return self._const(self._value() != array_of(o))
    def __lt__(self, o): return self._const(self._value() < array_of(o))
    def __le__(self, o): return self._const(self._value() <= array_of(o))
    def __gt__(self, o): return self._const(self._value() > array_of(o))
    def __ge__(self, o): return self._const(self._value() >= array_of(o))
    __hash__ = object.__hash__

    # properties
    @property
    def shape(self) -> tuple[int, ...]:
        return self._value().shape

    @property
    def dtype(self) -> np.dtype:
        return self._value().dtype

    @property
    def ndim(self) -> int:
        return self._value().ndim

    @property
    def size(self) -> int:
        return self._value().size

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]


def array_of(o: Any) -> Any:
    """The array inside a Tensor (its data) or a Dual (its primal); anything else as it is."""
    if isinstance(o, Tensor):
        return o.data
    if isinstance(o, ArrayLike):
        return o.primal
    return o


def mode_of(*xs: Any) -> type:
    """The type ops on ``xs`` run in: :class:`~chainrule.forward.Dual` if any is one (forward mode
    wins, so constants and Tensors join it), else :class:`Tensor`."""
    for x in xs:
        if isinstance(x, ArrayLike) and not isinstance(x, Tensor):
            return type(x)
    return Tensor


def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _check_axis(axis: int, shape: Sequence[int]) -> int:
    """``axis`` in ``[0, len(shape))``, counting negative axes from the end."""
    if not -len(shape) <= axis < len(shape):
        raise AxisError(f"axis {axis} is out of range for a tensor of shape {tuple(shape)}")
    return axis % len(shape)


def _count(shape: tuple[int, ...], axis: Any) -> int:
    """The number of elements a reduction over ``axis`` takes together."""
    if axis is None:
        return math.prod(shape)
    n = 1
    for a in axis if isinstance(axis, tuple) else (axis,):
        n *= shape[_check_axis(a, shape)]
    return n


def _index(index: Any, x: ArrayLike) -> Any:
    if isinstance(index, tuple):
        return tuple(array_of(i) for i in index)
    if isinstance(index, list):  # an integer-array index, made where x lives
        return array_module(x._value()).asarray(index)
    return array_of(index)


def _convert(args: Sequence[Any], arrays: list) -> None:
    """Turn the non-Tensor arguments of an op into arrays, in place in ``arrays``."""
    ref = next((a.data for a in args if isinstance(a, Tensor)), None)
    for i, a in enumerate(args):
        if isinstance(a, Tensor) or a is None:
            continue
        if ref is not None and ref.dtype.kind == "f" and isinstance(a, (int, float)):
            arrays[i] = ref.dtype.type(a)  # 2 * float32 tensor stays float32
        elif ref is not None and ref.dtype.kind != "f" and isinstance(a, float):
            _int_with_float(args, arrays, i, a)
        elif ref is not None and ref.dtype.kind in "iu" and type(a) is int and _fits(a, ref.dtype):
            arrays[i] = ref.dtype.type(a)  # uint8 image + 1 stays uint8, as in PyTorch
        else:
            arrays[i] = to_array(a)


def _int_with_float(args: Sequence[Any], arrays: list, i: int, a: float) -> None:
    """An integer or bool tensor with a Python float computes in float32, as in PyTorch
    (NumPy would make float64)."""
    for j, b in enumerate(args):
        if isinstance(b, Tensor) and arrays[j].dtype.kind != "f":
            arrays[j] = arrays[j].astype(np.float32)
    arrays[i] = np.float32(a)


def _fits(a: int, dtype: np.dtype) -> bool:
    info = np.iinfo(dtype)
    return info.min <= a <= info.max


class Tensor(ArrayLike):
    """An n-dimensional array that records the ops applied to it (define-by-run).

    ``.grad`` is a plain array of the same shape, filled by :meth:`backward`. Leaf gradients
    accumulate across ``backward()`` calls until they are reset (``zero_grad``), as in PyTorch.

    Args:
        data: numbers, nested lists or an array. Python floats become float32.
        requires_grad: record ops on this tensor so gradients flow back to it.
        dtype: optional dtype (float32, float64, int32, int64, bool).

    Raises:
        DTypeError: an unsupported dtype, or ``requires_grad`` on a non-float tensor.

    >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    array([2., 4., 6.], dtype=float32)
    """

    __slots__ = ("data", "grad", "_requires_grad", "_node", "name", "__weakref__")

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        self.data = to_array(data, dtype)
        self.grad = None
        self._node = None
        self.name = name
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _make(cls, data: Any, requires_grad: bool = False, node: Any = None) -> Tensor:
        t = cls.__new__(cls)
        t.data, t.grad, t._requires_grad, t._node, t.name = data, None, requires_grad, node, None
        return t

    # NOTE: the same as ArrayLike's, without the mode test: read on every layer call
    shape = property(lambda self: self.data.shape, doc="The data's shape.")
    dtype = property(lambda self: self.data.dtype, doc="The data's dtype.")
    ndim = property(lambda self: self.data.ndim, doc="The data's number of axes.")

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self.data.dtype not in _FLOATS:
            raise DTypeError(f"only float tensors can require gradients; this tensor has dtype "
                             f"{self.data.dtype} (make it with dtype='float32' or 'float64')")
        self._requires_grad = bool(value)

    def requires_grad_(self, value: bool = True) -> Tensor:
        self.requires_grad = value
        return self

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def op(self) -> P.Op | None:
        """The primitive that produced this tensor (None for leaves)."""
        return self._node

    # conversions
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied to the host for CuPy tensors)."""
        return get_backend(self.data).asnumpy(self.data)

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ShapeError(f"item() needs a tensor with one element; got shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        return bool(self.item())

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor._make(self.data)

    def astype(self, dtype: Any) -> Tensor:
        """A copy with another dtype (not differentiable across the cast)."""
        return Tensor(self.data.astype(as_dtype(dtype)))

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def to(self, backend: str) -> Tensor:
        """This tensor's data on ``backend`` ("numpy" or "cupy"), cut from the graph."""
        bk = backend_named(backend)
        data = get_backend(self.data).asnumpy(self.data) if bk.name == "numpy" else bk.xp.asarray(self.data)
        return Tensor(data, requires_grad=self.requires_grad)

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Backpropagate from this tensor; see :func:`chainrule.engine.backward`."""
        backward(self, None if grad is None else array_of(grad), retain_graph=retain_graph)

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype != np.float32:
            extra += f", dtype={self.data.dtype}"
        if self._node is not None:
            extra += f", op={self._node.name}"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"


# NOTE: one function on purpose: every op of every step goes through it (see engine.backward)
def apply(op: type[P.Op], *args: Any, **params: Any) -> Any:
    """Run the primitive ``op`` on ``args``: the one way every layer and composite applies one.

    Tensors are run in reverse mode: the op is recorded as the output's node when gradients are
    enabled and some input requires one. If any argument is a :class:`~chainrule.forward.Dual`,
    the op runs in forward mode instead (Tensors are constants there). Other arguments (arrays,
    numbers, ``None``) are constants; a Python number next to a float tensor takes its dtype.

    Args:
        op: a primitive class from :data:`chainrule.ops.OPS` (or a user's own subclass of
            :class:`chainrule.ops.Op`).
        *args: the op's array inputs.
        **params: the op's non-differentiable parameters (axis, shape, ...).

    Raises:
        ShapeError, AxisError: the inputs do not fit the op (the message names the op).

    >>> from chainrule.ops import Mul
    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> y = apply(Mul, x, x)
    >>> y.sum().backward(); x.grad
    array([2., 4.], dtype=float32)
    """
    node = op()
    arrays = []
    needs = []
    loose = False
    for a in args:
        if isinstance(a, Tensor):
            arrays.append(a.data)
            needs.append(a._requires_grad)
        else:
            arrays.append(a)
            needs.append(False)
            loose = True
    if loose:
        for a in args:
            if isinstance(a, ArrayLike) and not isinstance(a, Tensor):
                # Tensor ∘ Dual: forward mode wins, the Tensor is a constant there.
                return type(a)._apply(op, *args, **params)
        _convert(args, arrays)
    first = arrays[0]
    # (a NumPy scalar first, as in 2.0 ** x, is NumPy's only if the last operand is too)
    node.xp = np if type(first) is np.ndarray or isinstance(first, np.generic) and isinstance(
        arrays[-1], (np.ndarray, np.generic)) else get_backend(*arrays).xp
    node.needs_grad = needs = tuple(needs)
    try:
        out = node.forward(*arrays, **params)
    except (ValueError, np.exceptions.AxisError) as exc:
        op_error(node, [a for a in arrays if a is not None], params, exc)
    if MODE.detect_anomaly:
        check_finite(node, out, "output")
    t = Tensor.__new__(Tensor)
    t.data, t.grad, t.name = out, None, None
    if True in needs and MODE.grad_enabled:
        node.inputs = args
        node.seq = next_seq()
        t._requires_grad, t._node = True, node
    else:
        t._requires_grad, t._node = False, None
    return t


# NOTE: the operator methods of ArrayLike call ``type(self)._apply``: for a Tensor that is apply
Tensor._apply = staticmethod(apply)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Make a :class:`Tensor` (float32 for Python floats).

    >>> tensor([[1, 2], [3, 4]]).shape
    (2, 2)
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def as_tensor(x: Any) -> Tensor:
    """``x`` if it is a Tensor, else a new constant Tensor of it."""
    return x if isinstance(x, Tensor) else Tensor(x)
