"""A stand-in for CuPy on machines without a GPU, strict where CuPy is strict.

:func:`modules` returns fake ``cupy`` and ``cupyx`` modules to put into ``sys.modules``. Their
array type, :class:`ndarray`, holds a NumPy array but is *not* one (as a real CuPy array is not),
and its class lives in module ``cupy``, which is how :func:`chainrule.backend.get_backend`
recognizes CuPy arrays. It refuses what real CuPy refuses, so a NumPy round trip in the middle of
a device computation fails loudly instead of passing on a CPU:

- host conversion: ``np.asarray(a)`` raises TypeError (CuPy: "Implicit conversion to a NumPy
  array is not allowed"); ``cupy.asnumpy(a)`` and ``a.get()`` are the explicit ways;
- mixing: a NumPy array (0-d included) as an operand, ``out=``, index or ``cupyx.scatter_add``
  position raises TypeError. Python and NumPy scalars are fine, as in CuPy;
- ufunc methods other than calling (``np.add.at``, ``.reduce``) raise: use ``cupyx.scatter_add``
  and the array methods;
- ``ndarray.flags`` has only ``c_contiguous``, ``f_contiguous`` and ``owndata``, as CuPy's.

Stricter than CuPy, on purpose: a NumPy *function* called on a fake array (``np.concatenate``,
``np.zeros_like``) raises instead of being forwarded through ``__array_function__``, and so
does an index array that lives on the host (CuPy copies it to the device on every call). Code
that means to run on either backend names its array module (``xp``) instead.

The ``cupy`` namespace is NumPy's with arrays wrapped: functions take fake arrays (and host
data only in ``array``/``asarray``, the explicit transfers) and return fake arrays; full
reductions return 0-d arrays, as CuPy's do. ``cupy.random.default_rng`` gives a generator that
draws fake arrays (the same bits as NumPy's generator with that seed, unlike real CuPy).
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

_TRANSFERS = ("array", "asarray", "asanyarray")  # the only ways host data enters the device
# functions and methods whose later arguments are shapes, axes or split points, not data
_SHAPES = {"split", "array_split", "pad", "broadcast_to", "reshape", "transpose", "expand_dims",
           "squeeze", "moveaxis", "swapaxes", "sliding_window_view"}


class DeviceLeak(TypeError):
    """A host array met a device array, or NumPy was called on a device array."""


def _host(where: str, a: Any) -> DeviceLeak:
    return DeviceLeak(f"{where}: got a NumPy array (shape {np.shape(a)}) where CuPy takes only "
                      "cupy arrays and scalars; move it with cupy.asarray or build it with xp")


def _in(x: Any, where: str) -> Any:
    """An argument unwrapped for NumPy: fake arrays to their data, host arrays refused."""
    t = type(x)
    if t is ndarray:
        return x._a
    if t is np.ndarray:
        raise _host(where, x)
    if t is tuple or t is list:
        return t(_in(v, where) for v in x)
    return x


def _out(y: Any) -> Any:
    """A NumPy result wrapped: arrays and scalars from reductions become fake arrays."""
    if type(y) is np.ndarray:
        return ndarray(y)
    if isinstance(y, np.generic):
        return ndarray(np.asarray(y))
    if type(y) is tuple or type(y) is list:
        return type(y)(_out(v) for v in y)
    return y


def _kwargs(kwargs: dict, where: str) -> dict:
    return {k: _in(v, where) for k, v in kwargs.items()}


class MemoryPointer:
    """What ``cupy.ndarray.data`` returns: an address, nothing NumPy can read."""

    __slots__ = ("ptr",)

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr


class _Flags:
    """CuPy's ``ndarray.flags``: three flags, no ``writeable``."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a: np.ndarray) -> None:
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata

    def __getitem__(self, name: str) -> bool:
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous,
                "OWNDATA": self.owndata}[name]


def _binary(ufunc: np.ufunc, reflected: bool = False) -> Any:
    def op(self, other):
        if type(other) is not ndarray and not _scalar(other):
            if type(other) is np.ndarray:
                raise _host(f"cupy.{ufunc.__name__}", other)
            return NotImplemented  # e.g. a chainrule Tensor: its reflected method runs
        o = other._a if type(other) is ndarray else other
        return _out(ufunc(o, self._a) if reflected else ufunc(self._a, o))
    return op


def _inplace(ufunc: np.ufunc) -> Any:
    def op(self, other):
        ufunc(self._a, _in(other, f"cupy.{ufunc.__name__}"), out=self._a)
        return self
    return op


def _scalar(x: Any) -> bool:
    return isinstance(x, (int, float, complex, bool, np.generic))


def _method(name: str) -> Any:
    def m(self, *args, **kwargs):
        where = f"cupy.ndarray.{name}"
        args = _shape_args(args, where) if name in _SHAPES else _in(args, where)
        return _out(getattr(self._a, name)(*args, **_kwargs(kwargs, where)))
    m.__name__ = name
    return m


class ndarray:  # noqa: N801 - CuPy's name
    """A device array: a NumPy array that will not pass for one."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100

    def __init__(self, a: np.ndarray) -> None:
        self._a = a

    # --- what real CuPy refuses ---------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise DeviceLeak("Implicit conversion to a NumPy array is not allowed. Please use "
                         "`.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = f"numpy.{ufunc.__name__}.{method}"
        if method != "__call__":
            raise DeviceLeak(f"{where} on a cupy array: CuPy ufuncs support calls only here "
                             "(use cupyx.scatter_add or array methods)")
        return _out(ufunc(*_in(inputs, where), **_kwargs(kwargs, where)))

    def __array_function__(self, func, types, args, kwargs):
        raise DeviceLeak(f"numpy.{func.__name__} called on a cupy array; use the inputs' array "
                         "module (xp) instead")

    # --- attributes ---------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    T = property(lambda self: ndarray(self._a.T))
    flags = property(lambda self: _Flags(self._a))
    base = property(lambda self: None if self._a.base is None else ndarray(self._a.base))

    @property
    def data(self) -> MemoryPointer:
        """CuPy's ``.data`` is the device pointer, not the values (unlike a Tensor's)."""
        return MemoryPointer(self._a.__array_interface__["data"][0])

    @property
    def __cuda_array_interface__(self) -> dict:
        return {"shape": self.shape, "typestr": self.dtype.str, "version": 3,
                "data": (self._a.__array_interface__["data"][0], False), "strides": None}

    def get(self) -> np.ndarray:
        """A host copy (CuPy's explicit transfer)."""
        return self._a.copy()

    def item(self) -> Any:
        return self._a.item()

    def tolist(self) -> Any:
        return self._a.tolist()

    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __bool__(self) -> bool:
        return bool(self._a)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        return (ndarray(v) if type(v) is np.ndarray else ndarray(np.asarray(v)) for v in self._a)

    def __repr__(self) -> str:
        return "fake" + repr(self._a)

    def __getitem__(self, index):
        return _out(self._a[_in(index, "cupy.ndarray.__getitem__")])

    def __setitem__(self, index, value):
        self._a[_in(index, "cupy.ndarray.__setitem__")] = _in(value, "cupy.ndarray.__setitem__")

    def __neg__(self):
        return ndarray(-self._a)

    def __pos__(self):
        return self

    def __abs__(self):
        return ndarray(abs(self._a))

    def __invert__(self):
        return ndarray(~self._a)

    __hash__ = None


for _name in ("sum", "max", "min", "mean", "var", "std", "prod", "argmax", "argmin", "any", "all",
              "reshape", "transpose", "swapaxes", "astype", "copy", "ravel", "flatten", "squeeze",
              "take", "fill", "view", "dot", "clip", "cumsum", "nonzero", "sort", "argsort",
              "round", "conj", "repeat", "diagonal"):
    setattr(ndarray, _name, _method(_name))

for _op, _uf in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                 ("truediv", np.true_divide), ("floordiv", np.floor_divide), ("mod", np.remainder),
                 ("pow", np.power), ("matmul", np.matmul), ("and", np.bitwise_and),
                 ("or", np.bitwise_or), ("xor", np.bitwise_xor)):
    setattr(ndarray, f"__{_op}__", _binary(_uf))
    setattr(ndarray, f"__r{_op}__", _binary(_uf, reflected=True))
    if _op != "matmul":
        setattr(ndarray, f"__i{_op}__", _inplace(_uf))
for _op, _uf in (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                 ("gt", np.greater), ("ge", np.greater_equal)):
    setattr(ndarray, f"__{_op}__", _binary(_uf))
ndarray.__module__ = "cupy"


class _UFunc:
    """A CuPy ufunc: callable; no ``.at``/``.reduce`` (see the module docstring)."""

    def __init__(self, uf: np.ufunc) -> None:
        self._uf, self.__name__ = uf, uf.__name__
        self.nin, self.nout = uf.nin, uf.nout

    def __call__(self, *args, **kwargs):
        where = f"cupy.{self.__name__}"
        return _out(self._uf(*_in(args, where), **_kwargs(kwargs, where)))


def _function(f: Any, name: str) -> Any:
    def fn(*args, **kwargs):
        where = f"cupy.{name}"
        if name in _SHAPES:  # shape-like arguments (split points, axes) may be host integers
            args = (_in(args[0], where),) + _shape_args(args[1:], where)
        else:
            args = _in(args, where)
        return _out(f(*args, **_kwargs(kwargs, where)))
    fn.__name__ = name
    return fn


def _transfer(name: str) -> Any:
    def fn(obj, dtype=None, **kwargs):
        if type(obj) is ndarray:  # already on the device: array copies, asarray need not
            return ndarray(np.array(obj._a, dtype, copy=name == "array" or None, **kwargs))
        # host data enters the device here, and only here: always a copy, as in CuPy
        return ndarray(np.array(_in_any(obj), dtype, copy=True, **kwargs))
    fn.__name__ = name
    return fn


def _shape_args(args: tuple, where: str) -> tuple:
    return tuple(a if type(a) is np.ndarray and a.dtype.kind in "iu" else _in(a, where)
                 for a in args)


def _in_any(x: Any) -> Any:
    t = type(x)
    if t is ndarray:
        return x._a
    if t is tuple or t is list:
        return t(_in_any(v) for v in x)
    return x


def _namespace(name: str, src: Any, extra: dict | None = None) -> types.ModuleType:
    mod = types.ModuleType(name)
    cache: dict[str, Any] = {}

    def getattr_(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        if attr not in cache:
            obj = getattr(src, attr)  # AttributeError for names NumPy lacks
            if attr in _TRANSFERS:
                obj = _transfer(attr)
            elif isinstance(obj, np.ufunc):
                obj = _UFunc(obj)
            elif callable(obj) and not isinstance(obj, type):
                obj = _function(obj, attr)
            elif isinstance(obj, types.ModuleType):
                raise AttributeError(f"fake cupy has no submodule {name}.{attr}")
            cache[attr] = obj
        return cache[attr]

    mod.__getattr__ = getattr_
    for k, v in (extra or {}).items():
        setattr(mod, k, v)
    return mod


class Generator:
    """``cupy.random.Generator``: the draws CuPy's offers, as fake arrays."""

    def __init__(self, seed: Any = None) -> None:
        self._g = np.random.default_rng(seed)

    def random(self, size=None, dtype=np.float64, out=None):
        y = ndarray(np.asarray(self._g.random(size, dtype=dtype)))
        if out is not None:
            out[...] = y
            return out
        return y

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        y = ndarray(np.asarray(self._g.standard_normal(size, dtype=dtype)))
        if out is not None:
            out[...] = y
            return out
        return y

    def uniform(self, low=0.0, high=1.0, size=None, dtype=np.float64):
        return ndarray(np.asarray(self._g.uniform(low, high, size)).astype(dtype, copy=False))

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        return ndarray(np.asarray(self._g.integers(low, high, size, dtype=dtype, endpoint=endpoint)))


def asnumpy(a: Any, stream: Any = None, order: str = "C", out: Any = None) -> np.ndarray:
    """``cupy.asnumpy``: a host copy of a device array; host data as a NumPy array."""
    if type(a) is ndarray:
        return a._a.copy()
    return np.asarray(a)


def get_array_module(*args: Any) -> Any:
    return CUPY if any(type(a) is ndarray for a in args) else np


def scatter_add(a: ndarray, slices: Any, value: Any) -> None:
    """``cupyx.scatter_add``: ``a[slices] += value`` adding at repeated indices."""
    if type(a) is not ndarray:
        raise DeviceLeak(f"cupyx.scatter_add: a must be a cupy array; got {type(a).__name__}")
    np.add.at(a._a, _in(slices, "cupyx.scatter_add"), _in(value, "cupyx.scatter_add"))


def _scatter(name: str, ufunc: Any) -> Any:
    def scatter(a: ndarray, slices: Any, value: Any) -> None:
        if type(a) is not ndarray:
            raise DeviceLeak(f"cupyx.{name}: a must be a cupy array; got {type(a).__name__}")
        ufunc.at(a._a, _in(slices, f"cupyx.{name}"), _in(value, f"cupyx.{name}"))
    scatter.__doc__ = f"``cupyx.{name}``"
    return scatter


_stride_tricks = _namespace("cupy.lib.stride_tricks", np.lib.stride_tricks)
CUPY = _namespace("cupy", np, {
    "ndarray": ndarray, "asnumpy": asnumpy, "get_array_module": get_array_module,
    "random": types.SimpleNamespace(default_rng=Generator, Generator=Generator),
    "lib": types.SimpleNamespace(stride_tricks=_stride_tricks),
    "linalg": _namespace("cupy.linalg", np.linalg),
    "__version__": "0.0.0+fake",
})
CUPYX = types.ModuleType("cupyx")
CUPYX.scatter_add = scatter_add
CUPYX.scatter_max = _scatter("scatter_max", np.maximum)
CUPYX.scatter_min = _scatter("scatter_min", np.minimum)


def modules() -> dict[str, types.ModuleType]:
    """The modules to install under ``sys.modules``."""
    return {"cupy": CUPY, "cupyx": CUPYX}


def device(a: np.ndarray) -> ndarray:
    """A host array copied onto the fake device."""
    return ndarray(np.array(a, copy=True))
