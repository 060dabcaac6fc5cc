"""Pooling (NOTES.md 6): MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, NCHW like PyTorch.

Max pooling is a primitive (:class:`chainrule.ops.conv.MaxPool`); average pooling is a
composite, a convolution of every channel with a constant kernel of 1/k (channels folded into
the batch axis so it is one matrix product); adaptive average pooling is two products with
constant averaging matrices, one per spatial axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as F
from ..backend import array_module
from ..errors import ConfigError, ShapeError
from ..ops.conv import Conv, MaxPool
from ..tensor import ArrayLike, Tensor, apply
from .conv import check_fits, int_tuple
from .module import Module


def _input(where: str, x: Any, k: int) -> tuple[Any, bool]:
    if not isinstance(x, ArrayLike):
        x = Tensor(x)
    if x.ndim == k + 1:
        return x.unsqueeze(0), True
    if x.ndim != k + 2:
        layout = ("(N, C, L)", "(N, C, H, W)")[k - 1]
        raise ShapeError(f"{where}: expected a {k + 2}-D input {layout} (or {k + 1}-D without "
                         f"the batch axis); got shape {tuple(x.shape)}")
    return x, False


def _xp(x: Any) -> Any:
    """The array module of a Tensor's or Dual's data (constants are made on its device)."""
    return array_module(x.data if isinstance(x, Tensor) else x.primal)


def _pool_args(where: str, k: int, kernel_size: Any, stride: Any, padding: Any,
               dilation: Any = 1) -> tuple[tuple[int, ...], ...]:
    kernel = int_tuple(where, "kernel_size", kernel_size, k)
    stride = kernel if stride is None else int_tuple(where, "stride", stride, k)
    pad = int_tuple(where, "padding", padding, k, low=0)
    dilation = int_tuple(where, "dilation", dilation, k)
    if any(2 * p > n for p, n in zip(pad, kernel)):
        raise ConfigError(f"{where}: padding {pad} must be at most half the kernel size {kernel}")
    return kernel, stride, pad, dilation


def max_pool(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
             k: int = 2) -> Any:
    """The maximum of each window over the last ``k`` axes (stride defaults to the kernel).

    Gradient ties go to the first maximum of the window in row-major order (as PyTorch).

    >>> max_pool(Tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2, k=1).tolist()
    [[[3.0, 2.0]]]
    """
    where = f"max_pool{k}d"
    kernel, stride, pad, dilation = _pool_args(where, k, kernel_size, stride, padding, dilation)
    x, unbatched = _input(where, x, k)
    padding2 = tuple((p, p) for p in pad)
    check_fits(where, tuple(x.shape[2:]), kernel, padding2, dilation)
    y = apply(MaxPool, x, kernel=kernel, stride=stride, padding=padding2,
                         dilation=dilation)
    return y.squeeze(0) if unbatched else y


def avg_pool(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, k: int = 2) -> Any:
    """The mean of each window over the last ``k`` axes; zero padding counts in the mean
    (PyTorch's default ``count_include_pad=True``).

    >>> avg_pool(Tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2, k=1).tolist()
    [[[2.0, 1.0]]]
    """
    where = f"avg_pool{k}d"
    kernel, stride, pad, _ = _pool_args(where, k, kernel_size, stride, padding)
    x, unbatched = _input(where, x, k)
    padding2 = tuple((p, p) for p in pad)
    shape = tuple(x.shape)
    check_fits(where, shape[2:], kernel, padding2, (1,) * k)
    xp = _xp(x)
    w = Tensor(xp.full((1, 1) + kernel, 1.0 / np.prod(kernel), dtype=x.dtype))
    flat = x.reshape((shape[0] * shape[1], 1) + shape[2:])
    y = apply(Conv, flat, w, stride=stride, padding=padding2, dilation=(1,) * k)
    y = y.reshape(shape[:2] + tuple(y.shape[2:]))
    return y.squeeze(0) if unbatched else y


def _averaging_matrix(n_in: int, n_out: int, dtype: Any) -> np.ndarray:
    """A (n_out, n_in) matrix whose row i averages PyTorch's adaptive window
    [⌊i·n_in/n_out⌋, ⌈(i + 1)·n_in/n_out⌉)."""
    a = np.zeros((n_out, n_in), dtype=dtype)
    for i in range(n_out):
        lo, hi = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


def adaptive_avg_pool(x: Any, output_size: Any, k: int = 2) -> Any:
    """Average pooling to a fixed ``output_size`` over the last ``k`` axes, with PyTorch's
    windows; output size 1 is the global mean.

    >>> adaptive_avg_pool(Tensor(np.arange(16.0).reshape(1, 1, 4, 4)), 1).tolist()
    [[[[7.5]]]]
    """
    where = f"adaptive_avg_pool{k}d"
    x, unbatched = _input(where, x, k)
    size = tuple(x.shape[2 + i] if o is None else o for i, o in enumerate(
        output_size if isinstance(output_size, (tuple, list)) else (output_size,) * k))
    size = int_tuple(where, "output_size", size, k)
    if all(o == 1 for o in size):
        y = x.mean(axis=tuple(range(2, 2 + k)), keepdims=True)
    else:
        y = x
        for axis in range(k):  # one product per spatial axis: the averaging is separable
            a = Tensor(_xp(x).asarray(_averaging_matrix(x.shape[2 + axis], size[axis], x.dtype)))
            perm = list(range(y.ndim))
            perm[2 + axis], perm[-1] = perm[-1], perm[2 + axis]  # the axis to pool goes last
            y = F.matmul(y.permute(perm), a.T).permute(perm)
    return y.squeeze(0) if unbatched else y


class _Pool(Module):
    k = 2
    kind = "max"

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1) -> None:
        super().__init__()
        where = type(self).__name__
        if self.kind == "avg" and dilation != 1:
            raise ConfigError(f"{where}: average pooling has no dilation; got {dilation!r}")
        self.kernel_size, self.stride, self.padding, self.dilation = _pool_args(
            where, self.k, kernel_size, stride, padding, dilation)

    def forward(self, x: Any) -> Any:
        try:
            if self.kind == "max":
                return max_pool(x, self.kernel_size, self.stride, self.padding, self.dilation, self.k)
            return avg_pool(x, self.kernel_size, self.stride, self.padding, self.k)
        except ShapeError as exc:  # name the layer, not the function
            raise ShapeError(f"{type(self).__name__}({self.extra_repr()}): "
                             + str(exc).split(": ", 1)[1]) from None

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        return s + (f", dilation={self.dilation}" if self.dilation != (1,) * self.k else "")


class MaxPool1d(_Pool):
    """Max over windows of (N, C, L) (stride defaults to the kernel size), as PyTorch.

    Args:
        kernel_size: window length.
        stride: step between windows (default: kernel_size).
        padding: −∞ padding on both sides, at most half the kernel.
        dilation: spacing between the window's elements.

    Raises:
        ConfigError: invalid sizes, or padding above half the kernel.
        ShapeError: (when called) an input of the wrong rank or shorter than the kernel.

    >>> MaxPool1d(2)(Tensor([[[1.0, 3.0, 2.0, 0.0]]])).tolist()
    [[[3.0, 2.0]]]
    """

    k, kind = 1, "max"


class MaxPool2d(_Pool):
    """Max over windows of (N, C, H, W); args as :class:`MaxPool1d`, ints or pairs.

    >>> MaxPool2d(2)(Tensor(np.arange(16.0).reshape(1, 1, 4, 4))).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """

    k, kind = 2, "max"


class AvgPool1d(_Pool):
    """Mean over windows of (N, C, L); zero padding counts in the mean (PyTorch's default).

    Args: kernel_size, stride (default: kernel_size), padding, as :class:`MaxPool1d`.

    >>> AvgPool1d(2)(Tensor([[[1.0, 3.0, 2.0, 0.0]]])).tolist()
    [[[2.0, 1.0]]]
    """

    k, kind = 1, "avg"


class AvgPool2d(_Pool):
    """Mean over windows of (N, C, H, W); args as :class:`AvgPool1d`, ints or pairs.

    >>> AvgPool2d(2)(Tensor(np.arange(16.0).reshape(1, 1, 4, 4))).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """

    k, kind = 2, "avg"


class AdaptiveAvgPool1d(Module):
    """Average pooling of (N, C, L) to a fixed length, PyTorch's windows.

    >>> AdaptiveAvgPool1d(2)(Tensor(np.array([[[1.0, 3.0, 2.0, 0.0, 5.0]]]))).numpy().round(3).tolist()
    [[[2.0, 2.333]]]
    """

    k = 1

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Any) -> Any:
        return adaptive_avg_pool(x, self.output_size, self.k)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(AdaptiveAvgPool1d):
    """Average pooling of (N, C, H, W) to a fixed (H_out, W_out) (an int for both; None keeps
    that axis); ``AdaptiveAvgPool2d(1)`` is global average pooling.

    >>> AdaptiveAvgPool2d(1)(Tensor(np.ones((2, 3, 5, 5)))).shape
    (2, 3, 1, 1)
    """

    k = 2


__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "max_pool", "avg_pool", "adaptive_avg_pool"]
