"""Tensor: an array, its gradient, and the op that made it.

Operators and methods dispatch to primitives in :mod:`chainrule.ops` (or to composites in
:mod:`chainrule.functional`); there is no math here. The same operator surface
(:class:`ArrayLike`) serves :class:`chainrule.forward.Dual`, so composites work in both modes.
"""

from __future__ import annotations

import weakref
from typing import Any
from collections.abc import Sequence

import numpy as np

from . import ops as P
from .backend import array_module, as_array, as_dtype, backend_named, get_backend
from .engine import MODE, backward, check_finite, next_seq, op_error
from .errors import ConfigError, DTypeError, GraphError, ShapeError
from .reductions import Reductions, Size, check_axis, dim_args
from .tensor_methods import OpMethods

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16))
_DEVICES = ("numpy", "cpu", "cupy", "cuda", "gpu")
_DTYPE_NAMES = ("float16", "half", "float32", "float", "float64", "double", "int32", "int",
                "int64", "long", "bool", "uint8", "int8", "int16")


def to_array(data: Any, dtype: Any = None) -> Any:
    """``data`` (a Tensor, a Dual's primal, an array or numbers) as an array: Python floats
    become float32, ints int64; arrays keep their dtype (see :func:`chainrule.backend.as_array`)."""
    return as_array(array_of(data), dtype)


class ArrayLike(Reductions, OpMethods):
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

    # shapes
    def reshape(self, *shape):
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return self._apply(P.Reshape, self, shape=shape)

    def view(self, *shape):
        """PyTorch's view(shape): :meth:`reshape` (a view of the data where NumPy can give one)."""
        if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int, np.integer)):
            raise ConfigError(f"view: expected a shape; got {shape[0]!r} (view(dtype), "
                              "reinterpreting the bits, is not supported)")
        return self.reshape(*shape)

    def transpose(self, *dims):
        """PyTorch's transpose(dim0, dim1): the two dims swapped. Without arguments all dims
        reversed (``T``); one tuple is NumPy's full permutation (see :meth:`permute`).

        Raises:
            ConfigError: one int or more than two (use ``permute`` for a permutation).
        """
        if len(dims) == 2:
            d0, d1 = check_axis(dims[0], self.shape), check_axis(dims[1], self.shape)
            axes = list(range(self.ndim))
            axes[d0], axes[d1] = d1, d0
            return self._apply(P.Transpose, self, axes=tuple(axes))
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            return self.permute(dims[0])
        if dims:
            raise ConfigError(f"transpose{dims}: transpose(dim0, dim1) swaps two dims (as in "
                              f"PyTorch); for a full permutation use permute{dims}")
        return self._apply(P.Transpose, self, axes=None)

    def permute(self, *dims):
        """The dims in the order ``dims`` (ints, or one tuple): PyTorch's permute, NumPy's
        transpose(axes)."""
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return self._apply(P.Transpose, self, axes=dims)

    @property
    def T(self):
        """All dims reversed (PyTorch's and NumPy's T)."""
        return self._apply(P.Transpose, self, axes=None)

    @property
    def mT(self):
        """The last two dims swapped (a batch of matrices transposed)."""
        if self.ndim < 2:
            raise ShapeError(f"mT needs at least 2 dims; got shape {self.shape}")
        return self.transpose(-2, -1)

    def broadcast_to(self, shape):
        return self._apply(P.BroadcastTo, self, shape=tuple(shape))

    def flatten(self, start_dim: int = 0):
        return self.reshape(self.shape[:start_dim] + (-1,))

    def squeeze(self, dim=None, *, axis=None):
        """x without dims of length 1 (only ``dim`` when given; a dim of another length stays)."""
        dim = dim_args("squeeze", dim, None, axis, None)[0]
        shape = self.shape
        if dim is None:
            new = tuple(n for n in shape if n != 1)
        elif not shape:  # a 0-d tensor: dim 0 or -1 is allowed and changes nothing (PyTorch)
            [check_axis(a, (1,)) for a in (dim if isinstance(dim, tuple) else (dim,))]
            new = ()
        else:
            axes = {check_axis(a, shape) for a in (dim if isinstance(dim, tuple) else (dim,))}
            new = tuple(n for i, n in enumerate(shape) if i not in axes or n != 1)
        return self.reshape(new)

    def unsqueeze(self, dim=None, *, axis=None):
        """x with a new dim of length 1 at ``dim``."""
        dim = dim_args("unsqueeze", dim, None, axis, None)[0]
        shape = list(self.shape)
        shape.insert(check_axis(dim, shape + [1]), 1)
        return self.reshape(tuple(shape))

    # copies and casts
    def clone(self):
        """A copy of the data that stays in the graph (the gradient flows through)."""
        return self._apply(P.Cast, self, dtype=self.dtype)

    def astype(self, dtype):
        """A copy with ``dtype``. Between float dtypes it stays in the graph (the gradient is
        cast back to this tensor's dtype); to an int or bool dtype it is a constant."""
        return self._cast(as_dtype(dtype), copy=True)

    def _cast(self, dt, copy=False):
        v = self._value()
        if dt == v.dtype and not copy:
            return self
        if dt.kind == "f" and v.dtype.kind == "f":
            return self._apply(P.Cast, self, dtype=dt)
        return self._const(v.astype(dt))

    def float(self): return self._cast(np.dtype(np.float32))
    def double(self): return self._cast(np.dtype(np.float64))
    def half(self): return self._cast(as_dtype("float16"))
    def long(self): return self._cast(np.dtype(np.int64))
    def int(self): return self._cast(np.dtype(np.int32))
    def bool(self): return self._cast(np.dtype(np.bool_))
    def pow(self, exponent): return self ** exponent

    # non-differentiable results
    def _value(self):
        return self.data if isinstance(self, Tensor) else self.primal

    def _const(self, arr):
        return Tensor._make(arr)

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
    def size(self) -> Size:
        """The number of elements (NumPy's ``size``), also callable as PyTorch's ``size()``
        (the shape) and ``size(dim)``."""
        return Size(self._value().shape)

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

    def to(self, *args: Any, dtype: Any = None, device: Any = None) -> Tensor:
        """PyTorch's ``to``: ``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or
        ``to(other)`` (its dtype and device). Devices: "cpu"/"numpy", "cuda"/"cupy". A float
        dtype change stays in the graph (see :meth:`astype`); the same dtype and device give
        this tensor itself; a move to the other backend is cut from the graph.

        >>> Tensor([1.0]).to("float64").dtype
        dtype('float64')
        """
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, get_backend(a.data).name
            elif isinstance(a, str) and (a.split(":")[0] in _DEVICES or a not in _DTYPE_NAMES):
                device = a.split(":")[0]  # (an unknown name is reported as a device)
            else:
                dtype = a
        t = self if dtype is None else self._cast(as_dtype(dtype))
        if device is None:
            return t
        bk = backend_named(device)
        if bk is get_backend(t.data):
            return t
        data = get_backend(t.data).asnumpy(t.data) if bk.name == "numpy" else bk.xp.asarray(t.data)
        return Tensor(data, requires_grad=t.requires_grad)

    def retain_grad(self) -> None:
        """Keep this intermediate tensor's gradient in ``.grad`` after ``backward`` (a leaf
        keeps its own anyway); it accumulates across backward calls, as in PyTorch.

        Raises:
            GraphError: the tensor does not require gradients.

        >>> x = Tensor([1.0, 2.0], requires_grad=True)
        >>> y = x * 3; y.retain_grad(); (y * y).sum().backward(); y.grad
        array([ 6., 12.], dtype=float32)
        """
        if not self._requires_grad:
            raise GraphError("retain_grad() on a tensor that does not require grad")
        node = self._node
        if node is None or "vjp" in vars(node):
            return
        ref, rule = weakref.ref(self), node.vjp

        # NOTE: only this node's vjp is wrapped: the engine's loop does no extra work for it
        def vjp(g: Any) -> Any:
            t = ref()
            if t is not None:
                t.grad = g.copy() if t.grad is None else t.grad + g
            return rule(g)

        node.vjp = vjp

    @property
    def retains_grad(self) -> bool:
        """Whether :meth:`retain_grad` was called on this intermediate tensor."""
        return self._node is not None and "vjp" in vars(self._node)

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
    # NOTE: backend.get_backend's answer for the common case, inlined (every op of every step);
    # a NumPy scalar first, as in 2.0 ** x, is NumPy's only if the last operand is too
    node.xp = np if type(first) is np.ndarray or isinstance(first, np.generic) and isinstance(
        arrays[-1], (np.ndarray, np.generic)) else get_backend(*arrays).xp
    node.needs_grad = needs = tuple(needs)
    try:
        out = node.forward(*arrays, **params)
    except (ValueError, np.exceptions.AxisError) as exc:
        op_error(node, [a for a in arrays if a is not None], params, exc)
    if MODE.detect_anomaly:
        check_finite(node, out, "output", args)
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
