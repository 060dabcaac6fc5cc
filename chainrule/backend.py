"""The one place that knows NumPy from CuPy.

Op bodies call ``self.xp`` only; everything that differs between array libraries
(scatter-add, moving arrays to the host, random generators) lives here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

import numpy as np

from .errors import BackendMismatch, BackendUnavailable, DTypeError


@dataclass(frozen=True)
class Backend:
    """An array library and the few functions whose spelling differs across libraries."""

    name: str
    xp: Any
    asnumpy: Callable[[Any], np.ndarray]
    scatter_add: Callable[[Any, Any, Any], None]
    rng: Callable[[Any], Any]


NUMPY = Backend(
    name="numpy",
    xp=np,
    asnumpy=np.asarray,
    scatter_add=np.add.at,
    rng=lambda seed=None: np.random.default_rng(seed),  # numpy.random loads on first use
)

_cupy: Backend | None = None


def cupy_backend() -> Backend:
    """The CuPy backend, created on first use.

    Raises:
        BackendUnavailable: CuPy is not installed.
    """
    global _cupy
    if _cupy is None:
        try:
            cp = importlib.import_module("cupy")
            cpx = importlib.import_module("cupyx")
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise BackendUnavailable(
                "backend 'cupy' was requested but CuPy is not installed; "
                "install cupy-cuda12x (or the build for your CUDA) or use backend 'numpy'"
            ) from exc
        _cupy = Backend(
            name="cupy",
            xp=cp,
            asnumpy=cp.asnumpy,
            scatter_add=cpx.scatter_add,
            rng=cp.random.default_rng,
        )
    return _cupy


def backend_named(name: str) -> Backend:
    """``"numpy"`` or ``"cupy"`` to a :class:`Backend`."""
    if name in ("numpy", "cpu"):
        return NUMPY
    if name in ("cupy", "cuda", "gpu"):
        return cupy_backend()
    raise BackendUnavailable(f"unknown backend {name!r}; expected 'numpy' or 'cupy'")


def get_backend(*arrays: Any) -> Backend:
    """The backend that owns ``arrays`` (NumPy unless one of them is a CuPy array).

    Raises:
        TypeError: NumPy and CuPy arrays are mixed.
    """
    found = NUMPY
    for a in arrays:
        if type(a) is np.ndarray or a is None or np.isscalar(a):
            continue
        if type(a).__module__.startswith("cupy"):
            found = cupy_backend()
    if found is not NUMPY:
        for a in arrays:
            if type(a) is np.ndarray:
                kinds = ", ".join(type(a).__module__.split(".")[0] + " " + type(a).__name__
                                  for a in arrays if a is not None and not np.isscalar(a))
                raise BackendMismatch(f"cannot mix NumPy and CuPy arrays in one op (got {kinds}); "
                                      "move them to one backend with .to('numpy') or .to('cupy')")
    return found


def array_module(*arrays: Any) -> Any:
    """The array module (``numpy`` or ``cupy``) of ``arrays``."""
    for a in arrays:
        if type(a) is not np.ndarray and type(a).__module__.startswith("cupy"):
            return get_backend(*arrays).xp
    return np


_ALLOWED = {np.dtype(t) for t in (np.float16, np.float32, np.float64, np.uint8, np.int8, np.int16,
                                   np.int32, np.int64, np.bool_)}
_NAMES = {"float32": np.float32, "float64": np.float64, "float": np.float32, "double": np.float64,
          "float16": np.float16, "half": np.float16, "uint8": np.uint8, "int8": np.int8,
          "int16": np.int16, "short": np.int16, "int32": np.int32, "int": np.int32,
          "int64": np.int64, "long": np.int64, "bool": np.bool_}
_SUPPORTED = "float16, float32, float64, uint8, int8, int16, int32, int64, bool"


def as_dtype(dtype: Any) -> np.dtype:
    """A user's dtype (name, NumPy type or dtype) checked against the supported set (PyTorch's
    names too: "half", "short", "int", "long", "double").

    Raises:
        DTypeError: the dtype is not one of float16, float32, float64, uint8, int8, int16,
            int32, int64, bool.

    >>> as_dtype("double")
    dtype('float64')
    """
    try:
        dt = np.dtype(_NAMES.get(dtype, dtype)) if isinstance(dtype, str) else np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in _ALLOWED:
        raise DTypeError(f"unknown or unsupported dtype {dtype!r}; expected one of {_SUPPORTED}")
    return dt


def as_array(data: Any, dtype: Any = None) -> Any:
    """``data`` as an array of a supported dtype, on the backend that holds it: Python floats
    become float32, ints int64; NumPy and CuPy arrays and NumPy scalars keep their dtype when it is supported
    (images stay uint8, as in PyTorch); uint16 and uint32 become int64 (exact), as does uint64
    when every value fits.

    Raises:
        DTypeError: an unsupported ``dtype``, uint64 values above 2**63 − 1, or data that are
            not numbers.

    >>> as_array([1.5]).dtype, as_array([1]).dtype
    (dtype('float32'), dtype('int64'))
    """
    xp = array_module(data)
    if dtype is not None:
        return xp.asarray(data, dtype=as_dtype(dtype))
    if type(data) is np.ndarray or is_device(data):
        arr = data
    elif isinstance(data, np.generic):  # a NumPy scalar keeps its dtype (as torch.tensor)
        arr = np.asarray(data)
    else:
        arr = np.asarray(data)
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float32)
    if arr.dtype not in _ALLOWED:
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float32 if arr.dtype.itemsize <= 4 else np.float64)
        elif arr.dtype.kind in "iu":
            if arr.dtype == np.uint64 and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
                raise DTypeError(f"cannot make a tensor from uint64 data holding {int(arr.max())}:"
                                 " it does not fit int64 (the widest integer dtype supported); "
                                 "convert it to float64 or reduce the values")
            arr = arr.astype(np.int64)
        else:
            raise DTypeError(f"cannot make a tensor from data of dtype {arr.dtype}; expected "
                             f"numbers ({_SUPPORTED})")
    return arr


def is_device(a: Any) -> bool:
    """Whether ``a`` is a device (CuPy) array rather than a NumPy array, scalar or sequence.

    >>> is_device(np.zeros(2))
    False
    """
    return type(a) is not np.ndarray and type(a).__module__.split(".")[0] == "cupy"


def is_array(a: Any) -> bool:
    """Whether ``a`` is an array (NumPy or CuPy) rather than a scalar, list or other object."""
    return type(a) is np.ndarray or is_device(a)


def to_host(a: Any) -> np.ndarray:
    """``a`` (a NumPy or CuPy array, a scalar or a sequence) as a NumPy array on the host.

    >>> to_host([1, 2]).tolist()
    [1, 2]
    """
    if type(a) is np.ndarray:
        return a
    return cupy_backend().asnumpy(a) if is_device(a) else np.asarray(a)


def on_backend_of(ref: Any, a: Any, dtype: Any = None) -> Any:
    """``a`` as an array on the backend that holds ``ref`` (a host array goes to the device)."""
    xp = cupy_backend().xp if is_device(ref) else np
    return xp.asarray(a, dtype=dtype)


def require_host(where: str, arrays: Any, why: str) -> None:
    """Raise :class:`BackendUnavailable` if one of ``arrays`` is a CuPy array: for the parts of
    chainrule that run on NumPy by design.

    Raises:
        BackendUnavailable: naming ``where``, the argument and ``why``.

    >>> require_host("check_grad", [np.zeros(2)], "it runs in float64 on the host")
    """
    for i, a in enumerate(arrays):
        if type(a) is not np.ndarray and type(a).__module__.startswith("cupy"):
            raise BackendUnavailable(
                f"{where}: argument {i} is a CuPy array of shape {tuple(a.shape)}; {where} runs on "
                f"NumPy only ({why}); pass a host array (cupy.asnumpy(a) or Tensor.numpy())")


def quiet_overflow() -> Any:
    """A context in which NumPy does not warn when a result overflows to ±inf (for ops whose
    infinite intermediates give exact limits, like e^−x inside σ(x)). CuPy never warns."""
    return np.errstate(over="ignore")


def accumulate(name: str, a: Any, axis: int) -> Any:
    """The running ``name`` ufunc ("maximum", "logaddexp", ...) along ``axis``: NumPy's
    ``ufunc.accumulate``; elsewhere (CuPy's accumulate covers few ufuncs) a log-step scan of
    ⌈log₂ n⌉ vectorized passes, each combining every element with the one 2^k before it."""
    if type(a) is np.ndarray:
        return getattr(np, name).accumulate(a, axis=axis)
    xp = array_module(a)
    f, a = getattr(xp, name), xp.moveaxis(a, axis, -1)
    k = 1
    while k < a.shape[-1]:
        a = xp.concatenate([a[..., :k], f(a[..., k:], a[..., :-k])], axis=-1)
        k *= 2
    return xp.moveaxis(a, -1, axis)


def scatter_reduce(name: str, out: Any, index: Any, src: Any) -> None:
    """out[index] = name(out[index], src) in place, repeats included, for name "maximum",
    "minimum" or "multiply": NumPy's ``ufunc.at``; on CuPy ``cupyx.scatter_max``/``_min``, and
    for "multiply" (which CuPy lacks) |product| = e^(Σ log|v|) with the sign and zeros counted
    exactly, so a few ulp away from NumPy's product."""
    if type(out) is np.ndarray:
        getattr(np, name).at(out, index, src)
        return
    xp, cpx = array_module(out), importlib.import_module("cupyx")
    src = xp.broadcast_to(xp.asarray(src, dtype=out.dtype), np.broadcast_shapes(*(i.shape for i in index)))
    if name != "multiply":
        getattr(cpx, "scatter_max" if name == "maximum" else "scatter_min")(out, index, src)
        return
    logs, negs, zeros = (xp.zeros(out.shape, dtype) for dtype in (out.dtype, np.int64, np.int64))
    for acc, v in ((logs, xp.log(xp.where(src == 0, 1, xp.abs(src)))), (negs, (src < 0) * 1),
                   (zeros, (src == 0) * 1)):
        cpx.scatter_add(acc, index, v)
    out *= xp.where(zeros > 0, 0, xp.where(negs % 2 == 1, -1, 1) * xp.exp(logs))
