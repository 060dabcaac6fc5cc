"""Pooling (notes §6, making networks work): MaxPool1d/2d/3d, AvgPool1d/2d/3d, MaxUnpool1d/2d/3d,
AdaptiveAvgPool1d/2d, NCHW like PyTorch.

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
from ..ops.conv import Conv, ConvTranspose, MaxPool, window_max
from ..tensor import ArrayLike, Tensor, apply, array_of
from ..validate import check_bool, check_number
from .conv import check_fits, int_tuple
from .module import Module


def _input(where: str, x: Any, k: int) -> tuple[Any, bool]:
    if not isinstance(x, ArrayLike):
        x = Tensor(x)
    if x.ndim == k + 1:
        return x.unsqueeze(0), True
    if x.ndim != k + 2:
        layout = ("(N, C, L)", "(N, C, H, W)", "(N, C, D, H, W)")[k - 1]
        raise ShapeError(f"{where}: expected a {k + 2}-D input {layout} (or {k + 1}-D without "
                         f"the batch axis); got shape {tuple(x.shape)}")
    return x, False


def _xp(x: Any) -> Any:
    """The array module of a Tensor's or Dual's data (constants are made on its device)."""
    return array_module(x.data if isinstance(x, Tensor) else x.primal)


def _pool_args(where: str, k: int, kernel_size: Any, stride: Any, padding: Any,
               dilation: Any = 1) -> tuple[tuple[int, ...], ...]:
    kernel = int_tuple(where, "kernel_size", kernel_size, k)
    stride = kernel if stride is None or stride == [] else int_tuple(where, "stride", stride, k)
    pad = int_tuple(where, "padding", padding, k, low=0)
    dilation = int_tuple(where, "dilation", dilation, k)
    if any(2 * p > n for p, n in zip(pad, kernel)):
        raise ConfigError(f"{where}: padding {pad} must be at most half the kernel size {kernel}")
    return kernel, stride, pad, dilation


def _windows(where: str, shape: tuple, kernel: tuple, stride: tuple, pad: tuple,
             dilation: tuple, ceil_mode: bool) -> tuple[tuple[int, int], ...]:
    """(lo, hi) padding per axis: ``pad`` on both sides, plus, with ``ceil_mode``, the cells the
    last partial window reaches past the high end. PyTorch's rule: out = ⌈(n + 2p − d(k − 1)
    − 1)/s⌉ + 1, less one if that last window would start past the input and left padding."""
    check_fits(where, shape, kernel, tuple((p, p) for p in pad), dilation)
    padding = []
    for n, k, s, p, d in zip(shape, kernel, stride, pad, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        out = span // s + 1
        if ceil_mode:
            out = -(-span // s) + 1
            if (out - 1) * s >= n + p:
                out -= 1
        padding.append((p, p + max(0, (out - 1) * s + d * (k - 1) + 1 - (n + 2 * p))))
    return tuple(padding)


def _flat_indices(xp: Any, idx: Any, shape: tuple, kernel: tuple, stride: tuple, padding: tuple,
                 dilation: tuple) -> Any:
    """PyTorch's ``return_indices``: each window offset of :func:`window_max` as the flat index
    of that element in its (unpadded) input plane of spatial ``shape``, as int64."""
    offs = xp.unravel_index(idx.astype(xp.intp), kernel)
    flat = xp.zeros(idx.shape, dtype=xp.int64)
    for axis, (n, s, (lo, _), d) in enumerate(zip(shape, stride, padding, dilation)):
        o = xp.arange(idx.shape[2 + axis]).reshape((-1,) + (1,) * (len(shape) - axis - 1))
        flat = flat * n + (o * s - lo + offs[axis] * d)
    return flat


def max_pool(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
             k: int = 2, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """The maximum of each window over the last ``k`` axes (stride defaults to the kernel), as
    PyTorch's ``max_pool1d/2d/3d``.

    Gradient ties go to the first maximum of the window in row-major order (as PyTorch).
    ``ceil_mode`` keeps a last partial window; ``return_indices`` also returns, for each output,
    the flat index of its maximum in the input plane (int64, for :class:`MaxUnpool2d`).

    >>> max_pool(Tensor([[[1.0, 3.0, 2.0, 0.0, 5.0]]]), 2, k=1, ceil_mode=True).tolist()
    [[[3.0, 2.0, 5.0]]]
    >>> max_pool(Tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2, k=1, return_indices=True)[1].tolist()
    [[[1, 2]]]
    """
    where = f"max_pool{k}d"
    kernel, stride, pad, dilation = _pool_args(where, k, kernel_size, stride, padding, dilation)
    x, unbatched = _input(where, x, k)
    padding2 = _windows(where, tuple(x.shape[2:]), kernel, stride, pad, dilation, ceil_mode)
    y = apply(MaxPool, x, kernel=kernel, stride=stride, padding=padding2, dilation=dilation)
    y = y.squeeze(0) if unbatched else y
    if not return_indices:
        return y
    xp, data = _xp(x), array_of(x)
    _, idx = window_max(xp, data, kernel, stride, padding2, dilation)
    idx = Tensor(_flat_indices(xp, idx, data.shape[2:], kernel, stride, padding2, dilation))
    return y, (idx.squeeze(0) if unbatched else idx)


def avg_pool(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, k: int = 2,
             ceil_mode: bool = False, count_include_pad: bool = True,
             divisor_override: int | None = None) -> Any:
    """The mean of each window over the last ``k`` axes, as PyTorch's ``avg_pool1d/2d/3d``.

    The divisor is, per window, the number of its cells inside the zero-padded input
    (``count_include_pad=True``, the default) or inside the input itself (False);
    ``divisor_override`` replaces it by one number; ``ceil_mode`` keeps a last partial window.

    >>> avg_pool(Tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2, k=1).tolist()
    [[[2.0, 1.0]]]
    >>> avg_pool(Tensor([[[1.0, 3.0, 2.0]]]), 2, k=1, padding=1, count_include_pad=False).tolist()
    [[[1.0, 2.5]]]
    """
    where = f"avg_pool{k}d"
    kernel, stride, pad, _ = _pool_args(where, k, kernel_size, stride, padding)
    if divisor_override is not None:
        divisor_override = check_number(divisor_override, "divisor_override", where, low=1,
                                        integer=True)
    x, unbatched = _input(where, x, k)
    shape = tuple(x.shape)
    padding2 = _windows(where, shape[2:], kernel, stride, pad, (1,) * k, ceil_mode)
    xp = _xp(x)
    ones = (1, 1) + kernel
    plain = count_include_pad and all(hi == lo for lo, hi in padding2)
    scale = 1.0 / (divisor_override or (np.prod(kernel) if plain else 1))
    w = Tensor(xp.full(ones, scale, dtype=x.dtype))
    flat = x.reshape((shape[0] * shape[1], 1) + shape[2:])
    kw = dict(stride=stride, padding=padding2, dilation=(1,) * k)
    y = apply(Conv, flat, w, **kw)
    if divisor_override is None and not plain:
        # the divisor of each window: a sum pool of ones over the cells that count
        counted = xp.ones((1, 1) + shape[2:], dtype=x.dtype)
        if count_include_pad:
            counted = xp.pad(counted, ((0, 0), (0, 0)) + tuple((p, p) for p in pad), constant_values=1)
            kw["padding"] = tuple((0, hi - lo) for lo, hi in padding2)
        count = apply(Conv, Tensor(counted), Tensor(xp.ones(ones, dtype=x.dtype)), **kw)
        y = y / count.data
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

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        where = type(self).__name__
        self.kernel_size, self.stride, self.padding, self.dilation = _pool_args(
            where, self.k, kernel_size, stride, padding, dilation)
        self.return_indices = check_bool(return_indices, "return_indices", where)
        self.ceil_mode = check_bool(ceil_mode, "ceil_mode", where)

    def forward(self, x: Any) -> Any:
        try:
            return self._pool(x)
        except ShapeError as exc:  # name the layer, not the function
            raise ShapeError(f"{type(self).__name__}({self.extra_repr()}): "
                             + str(exc).split(": ", 1)[1]) from None

    def _pool(self, x: Any) -> Any:
        return max_pool(x, self.kernel_size, self.stride, self.padding, self.dilation, self.k,
                        self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        if self.dilation != (1,) * self.k:
            s += f", dilation={self.dilation}"
        return s + (", ceil_mode=True" if self.ceil_mode else "")


class _AvgPool(_Pool):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode=ceil_mode)
        where = type(self).__name__
        self.count_include_pad = check_bool(count_include_pad, "count_include_pad", where)
        self.divisor_override = None if divisor_override is None else check_number(
            divisor_override, "divisor_override", where, low=1, integer=True)

    def _pool(self, x: Any) -> Any:
        return avg_pool(x, self.kernel_size, self.stride, self.padding, self.k, self.ceil_mode,
                        self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if not self.count_include_pad:
            s += ", count_include_pad=False"
        return s + (f", divisor_override={self.divisor_override}" if self.divisor_override else "")


class MaxPool1d(_Pool):
    """Max over windows of (N, C, L) (stride defaults to the kernel size), as PyTorch.

    Args:
        kernel_size: window length.
        stride: step between windows (default: kernel_size).
        padding: −∞ padding on both sides, at most half the kernel.
        dilation: spacing between the window's elements.
        return_indices: also return the flat index of each maximum in its input plane
            (int64), for :class:`MaxUnpool1d`.
        ceil_mode: keep a last partial window (output size rounded up, PyTorch's rule).

    Raises:
        ConfigError: invalid sizes, or padding above half the kernel.
        ShapeError: (when called) an input of the wrong rank or shorter than the kernel.

    >>> MaxPool1d(2)(Tensor([[[1.0, 3.0, 2.0, 0.0]]])).tolist()
    [[[3.0, 2.0]]]
    """

    k = 1


class MaxPool2d(_Pool):
    """Max over windows of (N, C, H, W); args as :class:`MaxPool1d`, ints or pairs.

    >>> MaxPool2d(2)(Tensor(np.arange(16.0).reshape(1, 1, 4, 4))).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """

    k = 2


class AvgPool1d(_AvgPool):
    """Mean over windows of (N, C, L), as PyTorch.

    Args:
        kernel_size: as :class:`MaxPool1d` (and so are the next three).
        stride: the step between windows (default: kernel_size).
        padding: zeros added on both sides.
        ceil_mode: round the output length up instead of down.
        count_include_pad: the zero padding counts in each window's divisor (default), else
            only the input's own cells do.
        divisor_override: one divisor for every window instead.

    >>> AvgPool1d(2)(Tensor([[[1.0, 3.0, 2.0, 0.0]]])).tolist()
    [[[2.0, 1.0]]]
    """

    k = 1


class AvgPool2d(_AvgPool):
    """Mean over windows of (N, C, H, W); args as :class:`AvgPool1d`, ints or pairs.

    >>> AvgPool2d(2)(Tensor(np.arange(16.0).reshape(1, 1, 4, 4))).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """

    k = 2


class MaxPool3d(_Pool):
    """Max over windows of (N, C, D, H, W); args as :class:`MaxPool1d`, ints or triples.

    >>> MaxPool3d(2)(Tensor(np.arange(8.0).reshape(1, 1, 2, 2, 2))).tolist()
    [[[[[7.0]]]]]
    """

    k = 3


class AvgPool3d(_AvgPool):
    """Mean over windows of (N, C, D, H, W); args as :class:`AvgPool1d`, ints or triples.

    >>> AvgPool3d(2)(Tensor(np.arange(8.0).reshape(1, 1, 2, 2, 2))).tolist()
    [[[[[3.5]]]]]
    """

    k = 3


def max_unpool(x: Any, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               output_size: Any = None, k: int = 2) -> Any:
    """The partial inverse of :func:`max_pool`, as PyTorch's ``max_unpool1d/2d/3d``: each value
    of ``x`` put back at its ``indices`` (the flat input-plane indices that
    ``return_indices=True`` gives), zeros elsewhere.

    Written with no derivative code: the index of each value becomes its offset j in its
    pooling window, and a grouped :func:`~chainrule.nn.conv.conv_transpose` with one-hot
    kernels (kernel j of each channel is 1 at offset j) places the values.

    Where overlapping windows picked one input twice, it is written once (as PyTorch); its
    gradient is then shared between the copies (PyTorch gives each the whole).

    Raises:
        ShapeError: indices of another shape than ``x``, an output size that is not reachable,
            or indices that no window of this pooling could have picked.

    >>> y, i = max_pool(Tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2, k=1, return_indices=True)
    >>> max_unpool(y, i, 2, k=1).tolist()
    [[[0.0, 3.0, 2.0, 0.0]]]
    """
    where = f"max_unpool{k}d"
    kernel, stride, pad, _ = _pool_args(where, k, kernel_size, stride, padding)
    x, unbatched = _input(where, x, k)
    xp, shape = _xp(x), tuple(x.shape)
    idx = xp.asarray(array_of(indices))
    idx = idx[None] if unbatched else idx
    if tuple(idx.shape) != shape or idx.dtype.kind not in "iu":
        raise ShapeError(f"{where}: indices must be integers of the input's shape {shape}; got "
                         f"{idx.dtype} of shape {tuple(idx.shape)}")
    default = tuple((n - 1) * s - 2 * p + kk for n, s, p, kk in zip(shape[2:], stride, pad, kernel))
    out = default if output_size is None else tuple(int(v) for v in tuple(output_size)[-k:])
    if len(out) != k or any(not d - s < o < d + s for o, d, s in zip(out, default, stride)):
        raise ShapeError(f"{where}: output_size {output_size} must lie strictly between "
                         f"{default} ± stride {stride} per axis")
    pos = xp.unravel_index(xp.clip(idx, 0, int(np.prod(out)) - 1).astype(xp.intp), out)
    offs = []
    for axis, (s, p) in enumerate(zip(stride, pad)):
        o = xp.arange(shape[2 + axis]).reshape((-1,) + (1,) * (k - axis - 1))
        offs.append(pos[axis] - (o * s - p))
    if bool((idx < 0).any() | (idx >= int(np.prod(out))).any()) or any(
            bool(((j < 0) | (j >= kk)).any()) for j, kk in zip(offs, kernel)):
        raise ShapeError(f"{where}: indices must each point into their own pooling window "
                         f"(kernel {kernel}, stride {stride}, padding {pad}) of an output of "
                         f"size {out}")
    n_k = int(np.prod(kernel))
    one_hot = xp.ravel_multi_index(tuple(offs), kernel)[:, :, None] == xp.arange(n_k).reshape(
        (1, 1, n_k) + (1,) * k)
    one_hot = one_hot.astype(x.dtype).reshape((shape[0], shape[1] * n_k) + shape[2:])
    w = Tensor(xp.tile(xp.eye(n_k, dtype=x.dtype).reshape((n_k, 1) + kernel),
                       (shape[1], 1) + (1,) * k))
    big = tuple(max(o, d) for o, d in zip(out, default))
    kw = dict(stride=stride, padding=tuple((p, p) for p in pad), dilation=(1,) * k,
              groups=shape[1], output_shape=big)
    spread = x.unsqueeze(2).broadcast_to((shape[0], shape[1], n_k) + shape[2:]).reshape(
        one_hot.shape) * one_hot
    y = apply(ConvTranspose, spread, w, **kw)
    if any(s < kk for s, kk in zip(stride, kernel)):
        # NOTE: overlapping windows can pick one input twice (the same value): PyTorch writes
        # it once, so the sum is divided by the count (each copy gets 1/count of the gradient,
        # where PyTorch's backward hands each the whole of it)
        count = apply(ConvTranspose, Tensor(one_hot), w, **kw).data
        y = y / xp.maximum(count, 1)
    if big != out:
        y = y[(slice(None), slice(None)) + tuple(slice(0, o) for o in out)]
    return y.squeeze(0) if unbatched else y


class MaxUnpool1d(Module):
    """Max unpooling of (N, C, L) from a :class:`MaxPool1d` with ``return_indices=True``, as
    PyTorch; ``forward(x, indices, output_size=None)``. See :func:`max_unpool`.

    Args:
        kernel_size: that of the max pool.
        stride: that of the max pool (default: kernel_size).
        padding: that of the max pool.

    >>> pool, unpool = MaxPool1d(2, return_indices=True), MaxUnpool1d(2)
    >>> unpool(*pool(Tensor([[[1.0, 3.0, 2.0, 0.0]]]))).tolist()
    [[[0.0, 3.0, 2.0, 0.0]]]
    """

    k = 1

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding, _ = _pool_args(
            type(self).__name__, self.k, kernel_size, stride, padding)

    def forward(self, x: Any, indices: Any, output_size: Any = None) -> Any:
        return max_unpool(x, indices, self.kernel_size, self.stride, self.padding, output_size,
                          self.k)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool2d(MaxUnpool1d):
    """Max unpooling of (N, C, H, W); see :class:`MaxUnpool1d`.

    >>> y, i = MaxPool2d(2, return_indices=True)(Tensor(np.arange(16.0).reshape(1, 1, 4, 4)))
    >>> MaxUnpool2d(2)(y, i).numpy()[0, 0, 1].tolist()
    [0.0, 5.0, 0.0, 7.0]
    """

    k = 2


class MaxUnpool3d(MaxUnpool1d):
    """Max unpooling of (N, C, D, H, W); see :class:`MaxUnpool1d`."""

    k = 3


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


__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
           "max_pool", "avg_pool", "max_unpool", "adaptive_avg_pool"]
