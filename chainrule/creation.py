"""Tensors made from nothing, with PyTorch's names and default dtypes: ``zeros``, ``ones``,
``full``, ``arange``, ``linspace``, ``eye``, ``rand``, ``randn``, ``randint``, their ``_like``
forms, and ``from_numpy``. Floats are float32 unless ``dtype`` says otherwise; random draws go
through :mod:`chainrule.random` (``generator``: a seed or a NumPy Generator; None: the global
one that :func:`chainrule.manual_seed` resets).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import as_dtype
from .errors import DTypeError
from .tensor import Tensor


def get_rng(generator: Any) -> Any:
    """:func:`chainrule.random.get_rng`, imported on the first draw (NumPy's random module
    costs a sixth of ``import chainrule``)."""
    from .random import get_rng as _get_rng
    return _get_rng(generator)

__all__ = ["zeros", "ones", "full", "arange", "linspace", "eye", "rand", "randn", "randint",
           "zeros_like", "ones_like", "full_like", "rand_like", "randn_like", "randint_like",
           "from_numpy"]


def _size(size: tuple) -> tuple[int, ...]:
    """PyTorch's ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def _make(data: np.ndarray, dtype: Any, requires_grad: bool) -> Tensor:
    return Tensor(data if dtype is None else data.astype(as_dtype(dtype), copy=False),
                  requires_grad=requires_grad)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros (float32 unless ``dtype``).

    >>> zeros(2, 3).shape, zeros((2,), dtype="int64").dtype
    ((2, 3), dtype('int64'))
    """
    return _make(np.zeros(_size(size), np.float32), dtype, requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones (float32 unless ``dtype``)."""
    return _make(np.ones(_size(size), np.float32), dtype, requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``fill_value``; its dtype follows the value as in PyTorch (bool, int64 or
    float32) unless ``dtype`` is given.

    >>> full((2,), 7).tolist(), full((2,), 0.5).dtype
    ([7, 7], dtype('float32'))
    """
    kind = np.bool_ if isinstance(fill_value, (bool, np.bool_)) else np.int64 \
        if isinstance(fill_value, (int, np.integer)) else np.float32
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    return _make(np.full(size, fill_value, kind), dtype, requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """start, start + step, ... below ``end`` (``arange(n)``: 0..n−1): int64 for int
    arguments, float32 when one is a float (PyTorch's rule).

    >>> arange(3).tolist(), arange(0, 1, 0.25).tolist()
    ([0, 1, 2], [0.0, 0.25, 0.5, 0.75])
    """
    if end is None:
        start, end = 0, start
    ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    return _make(np.arange(start, end, step, dtype=np.int64 if ints else np.float64)
                 .astype(np.int64 if ints else np.float32), dtype, requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (float32)."""
    return _make(np.linspace(start, end, steps).astype(np.float32), dtype, requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """The n×m identity matrix (m = n by default; float32)."""
    return _make(np.eye(n, m, dtype=np.float32), dtype, requires_grad)


def rand(*size: Any, generator: Any = None, dtype: Any = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform draws on [0, 1) (float32 unless ``dtype``)."""
    return _make(get_rng(generator).random(_size(size)).astype(np.float32), dtype, requires_grad)


def randn(*size: Any, generator: Any = None, dtype: Any = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal draws (float32 unless ``dtype``).

    >>> import chainrule as cr
    >>> a = (cr.manual_seed(0), randn(3))[1]; b = (cr.manual_seed(0), randn(3))[1]
    >>> a.tolist() == b.tolist()
    True
    """
    return _make(get_rng(generator).standard_normal(_size(size)).astype(np.float32), dtype,
                 requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), generator: Any = None,
            dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high) (``randint(high, size)``: from [0, high));
    int64 unless ``dtype``."""
    if high is None or not isinstance(high, (int, np.integer)):
        low, high, size = 0, low, size if high is None else high
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    return _make(get_rng(generator).integers(low, high, size, dtype=np.int64), dtype,
                 requires_grad)


def _like(t: Any, dtype: Any) -> tuple[tuple[int, ...], Any]:
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return data.shape, data.dtype if dtype is None else dtype


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``t``'s shape and dtype (or ``dtype``)."""
    shape, dtype = _like(t, dtype)
    return zeros(shape, dtype=dtype, requires_grad=requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of ``t``'s shape and dtype (or ``dtype``)."""
    shape, dtype = _like(t, dtype)
    return ones(shape, dtype=dtype, requires_grad=requires_grad)


def full_like(t: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` in ``t``'s shape and dtype (or ``dtype``)."""
    shape, dtype = _like(t, dtype)
    return full(shape, fill_value, dtype=dtype, requires_grad=requires_grad)


def rand_like(t: Any, generator: Any = None, dtype: Any = None,
              requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) draws in ``t``'s shape and dtype (or ``dtype``)."""
    shape, dtype = _like(t, dtype)
    return rand(shape, generator=generator, dtype=dtype, requires_grad=requires_grad)


def randn_like(t: Any, generator: Any = None, dtype: Any = None,
               requires_grad: bool = False) -> Tensor:
    """Standard normal draws in ``t``'s shape and dtype (or ``dtype``)."""
    shape, dtype = _like(t, dtype)
    return randn(shape, generator=generator, dtype=dtype, requires_grad=requires_grad)


def randint_like(t: Any, low: int, high: int | None = None, generator: Any = None,
                 dtype: Any = None) -> Tensor:
    """Integers from [low, high) (or [0, low)) in ``t``'s shape and dtype (or ``dtype``)."""
    shape, dtype = _like(t, dtype)
    low, high = (0, low) if high is None else (low, high)
    return randint(low, high, shape, generator=generator, dtype=dtype)


def from_numpy(a: np.ndarray) -> Tensor:
    """A Tensor over the NumPy array ``a``, sharing its memory (as ``torch.from_numpy``) when
    its dtype is one chainrule holds (float32, float64, int32, int64, bool); other dtypes are
    copied as :class:`~chainrule.tensor.Tensor` converts them.

    Raises:
        DTypeError: ``a`` is not a NumPy array.

    >>> a = np.zeros(2); t = from_numpy(a); a[0] = 5; t.tolist()
    [5.0, 0.0]
    """
    if not isinstance(a, np.ndarray):
        raise DTypeError(f"from_numpy: expected a numpy.ndarray; got {type(a).__name__}")
    return Tensor(a)
