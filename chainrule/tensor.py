"""Tensor: an array, its gradient, and the op that made it.

Operators and methods dispatch to primitives in :mod:`chainrule.ops` (or to composites in
:mod:`chainrule.functional`); there is no math here. The same operator surface
(:class:`ArrayLike`) serves :class:`chainrule.forward.Dual`, so composites work in both modes.
"""

from __future__ import annotations

import itertools
from typing import Any
from collections.abc import Sequence

import numpy as np

from . import ops as P
from .backend import array_module, backend_named, get_backend
from .errors import AnomalyError, AxisError, DTypeError, ShapeError

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_ALLOWED = {np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64, np.bool_)}
_NAMES = {"float32": np.float32, "float64": np.float64, "float": np.float32, "double": np.float64,
          "int32": np.int32, "int64": np.int64, "long": np.int64, "bool": np.bool_}


class _Mode:
    """Global switches read on every op: gradient recording and anomaly detection."""

    grad_enabled = True
    detect_anomaly = False


MODE = _Mode()


def as_dtype(dtype: Any) -> np.dtype:
    """A user's dtype (name, NumPy type or dtype) checked against the supported set.

    Raises:
        DTypeError: the dtype is not float32, float64, int32, int64 or bool.
    """
    try:
        dt = np.dtype(_NAMES.get(dtype, dtype)) if isinstance(dtype, str) else np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in _ALLOWED:
        raise DTypeError(f"unknown or unsupported dtype {dtype!r}; expected one of "
                         "float32, float64, int32, int64, bool")
    return dt


def to_array(data: Any, dtype: Any = None) -> Any:
    """``data`` as an array: Python floats become float32, ints int64; arrays keep their dtype."""
    if isinstance(data, ArrayLike):
        data = data.data if isinstance(data, Tensor) else data.primal
    xp = array_module(data)
    if dtype is not None:
        return xp.asarray(data, dtype=as_dtype(dtype))
    if type(data) is np.ndarray or hasattr(data, "__cuda_array_interface__"):
        arr = data
    else:
        arr = np.asarray(data)
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float32)
    if arr.dtype not in _ALLOWED:
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float32)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
        else:
            raise DTypeError(f"cannot make a tensor from data of dtype {arr.dtype}; expected "
                             "numbers (float32, float64, int32, int64 or bool)")
    return arr


def _reraise(op: P.Op, arrays: Sequence[Any], params: dict, exc: Exception) -> None:
    shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
    where = f"{op.name}" + (f" with {params}" if params else "")
    if isinstance(exc, np.exceptions.AxisError):
        raise AxisError(f"{where}: axis out of range for input shapes {shapes}: {exc}") from exc
    raise ShapeError(f"{where}: input shapes {shapes} do not fit together: {exc}") from exc


def _check_finite(op: P.Op, out: Any, what: str) -> None:
    xp = op.xp
    if out.dtype.kind == "f" and not bool(xp.isfinite(out).all()):
        kind = "NaN" if bool(xp.isnan(out).any()) else "Inf"
        raise AnomalyError(f"detect_anomaly: op {op.name} produced {kind} in its {what}")


class ArrayLike:
    """The operator surface shared by Tensor and Dual: each method names one primitive or
    composite, and ``type(self)._apply`` runs it in that type's mode."""

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
        from .functional import mean
        return mean(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        from .functional import min
        return min(self, axis, keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        from .functional import var
        return var(self, axis, keepdims, ddof)

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
        from .functional import squeeze
        return squeeze(self, axis)

    def unsqueeze(self, axis):
        from .functional import unsqueeze
        return unsqueeze(self, axis)

    # non-differentiable results
    def _value(self):
        return self.data if isinstance(self, Tensor) else self.primal

    def _const(self, arr):
        return Tensor._make(arr)

    def argmax(self, axis=None, keepdims=False):
        return self._const(self._value().argmax(axis=axis, keepdims=keepdims))

    def argmin(self, axis=None, keepdims=False):
        return self._const(self._value().argmin(axis=axis, keepdims=keepdims))

    def __eq__(self, o): return self._const(self._value() == _value(o))
    def __ne__(self, o): return self._const(self._value() != _value(o))
    def __lt__(self, o): return self._const(self._value() < _value(o))
    def __le__(self, o): return self._const(self._value() <= _value(o))
    def __gt__(self, o): return self._const(self._value() > _value(o))
    def __ge__(self, o): return self._const(self._value() >= _value(o))
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


def _value(o: Any) -> Any:
    if isinstance(o, Tensor):
        return o.data
    if isinstance(o, ArrayLike):
        return o.primal
    return o


def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _index(index: Any, x: ArrayLike) -> Any:
    if isinstance(index, tuple):
        return tuple(_value(i) for i in index)
    if isinstance(index, list):  # an integer-array index, made where x lives
        return array_module(x._value()).asarray(index)
    return _value(index)


_SEQ = itertools.count()  # op creation order: a topological order of every graph


def _convert(op: P.Op, args: Sequence[Any], arrays: list) -> None:
    """Turn the non-Tensor arguments of an op into arrays, in place in ``arrays``."""
    ref = next((a.data for a in args if isinstance(a, Tensor)), None)
    for i, a in enumerate(args):
        if isinstance(a, Tensor) or a is None:
            continue
        if ref is not None and ref.dtype.kind == "f" and isinstance(a, (int, float)):
            arrays[i] = ref.dtype.type(a)  # 2 * float32 tensor stays float32
        else:
            arrays[i] = to_array(a)


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

    @classmethod
    def _apply(cls, op_cls: type[P.Op], *args: Any, **params: Any) -> Tensor:
        """Run ``op_cls`` on the arrays of ``args``; record it when a gradient is needed."""
        op = op_cls()
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
                    return type(a)._apply(op_cls, *args, **params)
            _convert(op, args, arrays)
        first = arrays[0]
        # (a NumPy scalar first, as in 2.0 ** x, is NumPy's only if the last operand is too)
        op.xp = np if type(first) is np.ndarray or isinstance(first, np.generic) and isinstance(
            arrays[-1], (np.ndarray, np.generic)) else get_backend(*arrays).xp
        op.needs_grad = needs = tuple(needs)
        try:
            out = op.forward(*arrays, **params)
        except (ValueError, np.exceptions.AxisError) as exc:
            _reraise(op, [a for a in arrays if a is not None], params, exc)
        if MODE.detect_anomaly:
            _check_finite(op, out, "output")
        t = Tensor.__new__(Tensor)
        t.data, t.grad, t.name = out, None, None
        if True in needs and MODE.grad_enabled:
            op.inputs = args
            op.seq = next(_SEQ)
            t._requires_grad, t._node = True, op
        else:
            t._requires_grad, t._node = False, None
        return t

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
        """Backpropagate from this tensor; see :func:`chainrule.autograd.backward`."""
        _backward(self, grad, retain_graph=retain_graph)

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


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Make a :class:`Tensor` (float32 for Python floats).

    >>> tensor([[1, 2], [3, 4]]).shape
    (2, 2)
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def as_tensor(x: Any) -> Tensor:
    """``x`` if it is a Tensor, else a new constant Tensor of it."""
    return x if isinstance(x, Tensor) else Tensor(x)


# NOTE: at the bottom because autograd imports Tensor from here; bound once so that
# Tensor.backward, called every training step, does no import lookup.
from .autograd import backward as _backward  # noqa: E402
