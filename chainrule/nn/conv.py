"""Convolution layers Conv1d/2d/3d and their transposes ConvTranspose1d/2d/3d (notes §6:
convolutions for 1-D and 2-D inputs) and their functional forms, in PyTorch's NCHW layout,
arguments and initialization."""

from __future__ import annotations

import math
from typing import Any
from collections.abc import Callable

import numpy as np

from ..errors import ConfigError, ShapeError
from ..ops.conv import Conv, ConvTranspose
from ..random import get_rng
from ..tensor import ArrayLike, Tensor, apply, as_dtype
from . import init as I
from .module import Module, Parameter, layer_input


def int_tuple(where: str, name: str, value: Any, k: int, low: int = 1) -> tuple[int, ...]:
    """``value`` (an int or k ints, each ≥ ``low``) as a k-tuple."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,) * k
    if len(items) != k or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                              or v < low for v in items):
        raise ConfigError(f"{where}: {name} must be an integer ≥ {low} or a tuple of {k} such "
                          f"integers; got {value!r}")
    return tuple(int(v) for v in items)


def _padding(where: str, padding: Any, kernel: tuple, stride: tuple,
             dilation: tuple) -> tuple[tuple[int, int], ...]:
    """Padding as one (lo, hi) pair per spatial axis; "same" pads d·(k − 1) in total per
    axis, the odd one on the high side (as PyTorch), and needs stride 1."""
    k = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * k
        if padding != "same":
            raise ConfigError(f"{where}: padding must be an int, a tuple, 'same' or 'valid'; "
                              f"got {padding!r}")
        if any(s != 1 for s in stride):
            raise ConfigError(f"{where}: padding='same' needs stride 1; got stride {stride}")
        total = tuple(d * (n - 1) for n, d in zip(kernel, dilation))
        return tuple((t // 2, t - t // 2) for t in total)
    return tuple((p, p) for p in int_tuple(where, "padding", padding, k, low=0))


def _channels(where: str, in_channels: Any, out_channels: Any, groups: Any) -> tuple[int, int, int]:
    """A layer's (in_channels, out_channels, groups): positive integers, both counts divisible
    by groups."""
    (in_channels,) = int_tuple(where, "in_channels", in_channels, 1)
    (out_channels,) = int_tuple(where, "out_channels", out_channels, 1)
    (groups,) = int_tuple(where, "groups", groups, 1)
    if in_channels % groups or out_channels % groups:
        raise ConfigError(f"{where}: in_channels ({in_channels}) and out_channels "
                          f"({out_channels}) must both be divisible by groups ({groups})")
    return in_channels, out_channels, groups


def _check_input(where: str, x: Any, k: int, channels: int) -> tuple[Any, bool]:
    """``x`` with a batch axis (added when it came unbatched), after checking its rank and
    channel count."""
    if not isinstance(x, ArrayLike):
        x = Tensor(x)
    layout = ("(N, C, L)", "(N, C, H, W)", "(N, C, D, H, W)")[k - 1]
    if x.ndim == k + 1:
        x, unbatched = x.unsqueeze(0), True
    elif x.ndim == k + 2:
        unbatched = False
    else:
        raise ShapeError(f"{where}: expected a {k + 2}-D input {layout} (or {k + 1}-D without "
                         f"the batch axis); got shape {tuple(x.shape)}")
    if x.shape[1] != channels:
        raise ShapeError(f"{where}: expected {channels} input channels (axis 1); got "
                         f"{x.shape[1]} in input of shape {tuple(x.shape)}")
    return x, unbatched


def check_fits(where: str, shape: tuple, kernel: tuple, padding: tuple, dilation: tuple) -> None:
    for n, kk, (lo, hi), d in zip(shape, kernel, padding, dilation):
        if n + lo + hi < d * (kk - 1) + 1:
            raise ShapeError(f"{where}: kernel {kernel} (dilation {dilation}) is larger than the "
                             f"padded input {tuple(m + a + b for m, (a, b) in zip(shape, padding))}"
                             f" (input {shape}, padding {padding})")


def _kernel(weight: Any, groups: Any, name: str, axes: tuple[str, str]) -> tuple[Any, int, str]:
    """The weight as a Tensor, its number of spatial axes and the function's name, once the
    weight is (axes[0], axes[1]/groups, *kernel) and ``groups`` divides its first axis."""
    w = weight if isinstance(weight, ArrayLike) else Tensor(weight)
    k = w.ndim - 2
    where = f"{name}{k}d" if k > 0 else name
    if k < 1:
        raise ShapeError(f"{where}: weight must be ({axes[0]}, {axes[1]}/groups, *kernel); "
                         f"got shape {tuple(w.shape)}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1 \
            or w.shape[0] % groups:
        raise ConfigError(f"{where}: groups must be a positive integer dividing {axes[0]} "
                          f"{w.shape[0]}; got {groups!r}")
    return w, k, where


def conv(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
         dilation: Any = 1, groups: int = 1) -> Any:
    """N-d cross-correlation as PyTorch's ``conv1d``/``conv2d``: x (N, C, *spatial), weight
    (O, C/groups, *kernel), bias (O,) or None; padding an int, a tuple, "same" or "valid".

    Raises:
        ShapeError: a weight of the wrong rank, channels that do not match, or a kernel
            larger than the padded input.
        ConfigError: invalid stride, padding, dilation or groups.

    >>> x = Tensor(np.arange(5.0).reshape(1, 1, 5))
    >>> conv(x, Tensor([[[1.0, -1.0]]])).tolist()   # x_i − x_{i+1}
    [[[-1.0, -1.0, -1.0, -1.0]]]
    """
    w, k, where = _kernel(weight, groups, "conv", ("out_channels", "in_channels"))
    stride = int_tuple(where, "stride", stride, k)
    dilation = int_tuple(where, "dilation", dilation, k)
    pad = _padding(where, padding, w.shape[2:], stride, dilation)
    x, unbatched = _check_input(where, x, k, w.shape[1] * groups)
    check_fits(where, tuple(x.shape[2:]), tuple(w.shape[2:]), pad, dilation)
    args = (x, w) if bias is None else (x, w, bias)
    y = apply(Conv, *args, stride=stride, padding=pad, dilation=dilation,
                             groups=int(groups))
    return y.squeeze(0) if unbatched else y


def conv1d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Any:
    """1-D convolution of x (N, C, L) with weight (O, C/groups, k); see :func:`conv`.

    >>> conv1d(Tensor(np.ones((1, 2, 4))), Tensor(np.ones((3, 2, 2))), padding=1).shape
    (1, 3, 5)
    """
    _rank("conv1d", weight, 3)
    return conv(x, weight, bias, stride, padding, dilation, groups)


def conv2d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Any:
    """2-D convolution of x (N, C, H, W) with weight (O, C/groups, kh, kw); see :func:`conv`.

    >>> conv2d(Tensor(np.ones((2, 1, 8, 8))), Tensor(np.ones((4, 1, 3, 3))), stride=2).shape
    (2, 4, 3, 3)
    """
    _rank("conv2d", weight, 4)
    return conv(x, weight, bias, stride, padding, dilation, groups)


def conv3d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Any:
    """3-D convolution of x (N, C, D, H, W) with weight (O, C/groups, kd, kh, kw); see :func:`conv`.

    >>> conv3d(Tensor(np.ones((1, 2, 4, 4, 4))), Tensor(np.ones((3, 2, 2, 2, 2)))).shape
    (1, 3, 3, 3, 3)
    """
    _rank("conv3d", weight, 5)
    return conv(x, weight, bias, stride, padding, dilation, groups)


def transposed_size(where: str, shape: tuple, kernel: tuple, stride: tuple, padding: tuple,
                    dilation: tuple, output_padding: tuple, output_size: Any = None) -> tuple:
    """The output size (n − 1)s − 2p + d(k − 1) + output_padding + 1 per axis, or ``output_size``
    (its last k entries) after checking that it is one of the s sizes the transpose can reach."""
    low = tuple((n - 1) * s - 2 * p + d * (k - 1) + 1 for n, k, s, p, d in
                zip(shape, kernel, stride, padding, dilation))
    if output_size is None:
        out = tuple(a + b for a, b in zip(low, output_padding))
    else:
        out = tuple(int(v) for v in tuple(output_size)[-len(shape):])
        if len(tuple(output_size)) < len(shape) or any(
                not lo <= o < lo + max(s, d) for o, lo, s, d in zip(out, low, stride, dilation)):
            raise ShapeError(f"{where}: output_size {tuple(output_size)} is not reachable from "
                             f"input size {shape}: each must lie in [{low}, {low} + max(stride, "
                             f"dilation)) (stride {stride}, dilation {dilation})")
    if any(o < 1 for o in out):
        raise ShapeError(f"{where}: input size {shape} gives an empty output {out} (kernel "
                         f"{kernel}, stride {stride}, padding {padding}, dilation {dilation})")
    return out


def _transpose_args(where: str, k: int, stride: Any, padding: Any, output_padding: Any,
                    dilation: Any) -> tuple[tuple[int, ...], ...]:
    stride = int_tuple(where, "stride", stride, k)
    dilation = int_tuple(where, "dilation", dilation, k)
    if isinstance(padding, str):
        raise ConfigError(f"{where}: padding must be an int or a tuple of {k} ints (transposed "
                          f"convolutions take no 'same' or 'valid'); got {padding!r}")
    padding = int_tuple(where, "padding", padding, k, low=0)
    output_padding = int_tuple(where, "output_padding", output_padding, k, low=0)
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise ConfigError(f"{where}: output_padding {output_padding} must be smaller than "
                          f"either stride {stride} or dilation {dilation} on each axis")
    return stride, padding, output_padding, dilation


def conv_transpose(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                   output_padding: Any = 0, groups: int = 1, dilation: Any = 1,
                   output_size: Any = None) -> Any:
    """N-d transposed convolution as PyTorch's ``conv_transpose1d/2d/3d`` (note its argument
    order: groups before dilation): the adjoint of :func:`conv` in its input, so it maps a
    conv's output shape back to its input shape. x (N, C_in, *spatial), weight
    (C_in, C_out/groups, *kernel), bias (C_out,) or None.

    Output size per axis: (n − 1)·s − 2p + d·(k − 1) + output_padding + 1 (``output_size``
    picks one of those sizes instead, as ConvTranspose's forward does in PyTorch).

    Raises:
        ShapeError: a weight of the wrong rank, channels that do not match, or an
            unreachable ``output_size``.
        ConfigError: invalid stride, padding, output_padding, dilation or groups.

    >>> conv_transpose(Tensor([[[1.0, 2.0]]]), Tensor([[[1.0, 10.0, 100.0]]]), stride=2).tolist()
    [[[1.0, 10.0, 102.0, 20.0, 200.0]]]
    """
    w, k, where = _kernel(weight, groups, "conv_transpose", ("in_channels", "out_channels"))
    stride, pad, output_padding, dilation = _transpose_args(where, k, stride, padding,
                                                            output_padding, dilation)
    x, unbatched = _check_input(where, x, k, w.shape[0])
    out = transposed_size(where, tuple(x.shape[2:]), tuple(w.shape[2:]), stride, pad, dilation,
                          output_padding, output_size)
    args = (x, w) if bias is None else (x, w, bias)
    y = apply(ConvTranspose, *args, stride=stride, padding=tuple((p, p) for p in pad),
              dilation=dilation, groups=int(groups), output_shape=out)
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Any:
    """1-D transposed convolution of x (N, C_in, L), weight (C_in, C_out/groups, k); see
    :func:`conv_transpose`.

    >>> conv_transpose1d(Tensor(np.ones((1, 2, 4))), Tensor(np.ones((2, 3, 3))), stride=2).shape
    (1, 3, 9)
    """
    _rank("conv_transpose1d", weight, 3)
    return conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Any:
    """2-D transposed convolution of x (N, C_in, H, W), weight (C_in, C_out/groups, kh, kw); see
    :func:`conv_transpose`.

    >>> w = Tensor(np.ones((1, 1, 3, 3)))
    >>> conv_transpose2d(Tensor(np.ones((1, 1, 3, 3))), w, stride=2, padding=1, output_padding=1).shape
    (1, 1, 6, 6)
    """
    _rank("conv_transpose2d", weight, 4)
    return conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Any:
    """3-D transposed convolution of x (N, C_in, D, H, W); see :func:`conv_transpose`.

    >>> conv_transpose3d(Tensor(np.ones((1, 1, 2, 2, 2))), Tensor(np.ones((1, 2, 2, 2, 2))), stride=2).shape
    (1, 2, 4, 4, 4)
    """
    _rank("conv_transpose3d", weight, 5)
    return conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation)


def _rank(where: str, weight: Any, n: int) -> None:
    shape = tuple(weight.shape) if hasattr(weight, "shape") else np.shape(weight)
    if len(shape) != n:
        raise ShapeError(f"{where}: weight must have {n} dimensions (out_channels, "
                         f"in_channels/groups, *kernel); got shape {shape}")


class _ConvNd(Module):
    k = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 rng: Any = None, init: str | Callable[..., Any] = "default",
                 dtype: Any = np.float32) -> None:
        super().__init__()
        where = type(self).__name__
        self.in_channels, self.out_channels, self.groups = _channels(where, in_channels,
                                                                     out_channels, groups)
        self.kernel_size = int_tuple(where, "kernel_size", kernel_size, self.k)
        self.stride = int_tuple(where, "stride", stride, self.k)
        self.dilation = int_tuple(where, "dilation", dilation, self.k)
        self.padding = padding if isinstance(padding, str) else int_tuple(where, "padding", padding,
                                                                        self.k, low=0)
        self._pad = _padding(where, padding, self.kernel_size, self.stride, self.dilation)
        self._parameters(out_channels, in_channels, bias, rng, init, dtype)

    def _parameters(self, rows: int, cols: int, bias: bool, rng: Any,
                    init: str | Callable[..., Any], dtype: Any) -> None:
        """weight (rows, cols/groups, *kernel) and bias (out_channels,), both U(−1/√fan_in,
        1/√fan_in) by default with fan_in = weight.shape[1]·Πkernel (PyTorch)."""
        dt, g = as_dtype(dtype), get_rng(rng)
        initializer = I.get_initializer(init)
        self.weight = Parameter(np.empty((rows, cols // self.groups)
                                         + self.kernel_size, dtype=dt))
        initializer(self.weight, rng=g)
        self.bias: Parameter | None = None
        if bias:
            self.bias = Parameter(np.zeros(self.out_channels, dtype=dt))
            if initializer is I.default_:  # PyTorch: U(−1/√fan_in, 1/√fan_in)
                bound = 1.0 / math.sqrt(self.weight.shape[1] * math.prod(self.kernel_size))
                I.uniform_(self.bias, -bound, bound, rng=g)

    def _name(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, "
                f"kernel_size={self.kernel_size})")

    def forward(self, x: Any) -> Any:
        where = self._name()
        x, unbatched = _check_input(where, layer_input(where, x, self.weight), self.k,
                                    self.in_channels)
        check_fits(where, tuple(x.shape[2:]), self.kernel_size, self._pad, self.dilation)
        args = (x, self.weight) if self.bias is None else (x, self.weight, self.bias)
        y = apply(Conv, *args, stride=self.stride, padding=self._pad,
                                 dilation=self.dilation, groups=self.groups)
        return y.squeeze(0) if unbatched else y

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding not in ((0,) * self.k, "valid"):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) \
                else f", padding={self.padding}"
        if self.dilation != (1,) * self.k:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) → (N, C_out, L_out), as ``torch.nn.Conv1d``:
    L_out = ⌊(L + 2p − d(k − 1) − 1)/s⌋ + 1.

    Weight (C_out, C_in/groups, k) and bias (C_out,) start U(−1/√fan_in, 1/√fan_in) with
    fan_in = C_in/groups · k (PyTorch's default); ``init`` picks another weight scheme by name.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: the kernel's length, an int (or a 1-tuple).
        stride: the step between windows, an int (or a 1-tuple).
        padding: zeros added on both sides: an int, "same" (stride 1) or "valid".
        dilation: the spacing of the kernel's taps, an int (or a 1-tuple).
        groups: split the channels into groups convolved separately (both counts divisible).
        bias: learn a bias per output channel.
        rng: as :class:`~chainrule.nn.Linear`.
        init: as :class:`~chainrule.nn.Linear`.
        dtype: as :class:`~chainrule.nn.Linear`.

    Raises:
        ConfigError: invalid sizes, stride, padding, dilation or groups.
        ShapeError: (when called) an input of the wrong rank or channel count, or shorter than
            the kernel after padding.

    >>> Conv1d(2, 4, 3, padding="same", rng=0)(Tensor(np.ones((5, 2, 10), np.float32))).shape
    (5, 4, 10)
    """

    k = 1


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) → (N, C_out, H_out, W_out), as ``torch.nn.Conv2d``.

    Args: as :class:`Conv1d`, with ints or pairs for kernel_size, stride, padding, dilation.

    >>> conv = Conv2d(1, 8, 3, padding=1, rng=0)
    >>> conv.weight.shape, conv(Tensor(np.ones((2, 1, 8, 8), np.float32))).shape
    ((8, 1, 3, 3), (2, 8, 8, 8))
    """

    k = 2


class Conv3d(_ConvNd):
    """3-D convolution over (N, C_in, D, H, W) → (N, C_out, D_out, H_out, W_out), as
    ``torch.nn.Conv3d``.

    Args: as :class:`Conv1d`, with ints or triples for kernel_size, stride, padding, dilation.

    >>> Conv3d(2, 4, 3, padding=1, rng=0)(Tensor(np.ones((1, 2, 5, 6, 7), np.float32))).shape
    (1, 4, 5, 6, 7)
    """

    k = 3


class _ConvTransposeNd(_ConvNd):
    k = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, rng: Any = None, init: str | Callable[..., Any] = "default",
                 dtype: Any = np.float32) -> None:
        Module.__init__(self)
        where = type(self).__name__
        self.in_channels, self.out_channels, self.groups = _channels(where, in_channels,
                                                                     out_channels, groups)
        self.kernel_size = int_tuple(where, "kernel_size", kernel_size, self.k)
        self.stride, self.padding, self.output_padding, self.dilation = _transpose_args(
            where, self.k, stride, padding, output_padding, dilation)
        self._parameters(in_channels, out_channels, bias, rng, init, dtype)

    def forward(self, x: Any, output_size: Any = None) -> Any:
        """The transposed convolution of x (N, C_in, *spatial); ``output_size`` (the spatial
        size, optionally with N and C in front) picks among the sizes that stride > 1 makes
        possible, instead of ``output_padding``."""
        where = self._name()
        x, unbatched = _check_input(where, x, self.k, self.in_channels)
        out = transposed_size(where, tuple(x.shape[2:]), self.kernel_size, self.stride,
                              self.padding, self.dilation, self.output_padding, output_size)
        args = (x, self.weight) if self.bias is None else (x, self.weight, self.bias)
        y = apply(ConvTranspose, *args, stride=self.stride,
                  padding=tuple((p, p) for p in self.padding), dilation=self.dilation,
                  groups=self.groups, output_shape=out)
        return y.squeeze(0) if unbatched else y

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if self.output_padding != (0,) * self.k:
            s += f", output_padding={self.output_padding}"
        return s


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C_in, L) → (N, C_out, L_out), as
    ``torch.nn.ConvTranspose1d``: the adjoint of a Conv1d with the same arguments, mapping its
    output shape back to its input shape (learned upsampling),
    L_out = (L − 1)s − 2p + d(k − 1) + output_padding + 1.

    Weight (C_in, C_out/groups, k) (PyTorch's layout) and bias (C_out,) start
    U(−1/√fan_in, 1/√fan_in) with fan_in = C_out/groups · k (PyTorch's default).

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: the kernel's length, an int (or a 1-tuple).
        stride: the step of the (dilated) input, an int (or a 1-tuple).
        dilation: the spacing of the kernel's taps, an int (or a 1-tuple).
        padding: d(k − 1) − padding zeros are added to each side of the (stride-dilated)
            input, i.e. ``padding`` cells are cut from each end of the full output.
        output_padding: cells added to one side of the output (below stride or dilation),
            to pick among the input sizes a strided Conv1d maps to one output size.
        groups: as :class:`Conv1d`.
        bias: as :class:`Conv1d`.
        rng: as :class:`Conv1d`.
        init: as :class:`Conv1d`.
        dtype: as :class:`Conv1d`.

    Raises:
        ConfigError: invalid sizes, stride, padding, output_padding, dilation or groups.
        ShapeError: (when called) an input of the wrong rank or channel count.

    >>> up = ConvTranspose1d(4, 2, 3, stride=2, padding=1, output_padding=1, rng=0)
    >>> up.weight.shape, up(Tensor(np.ones((5, 4, 10), np.float32))).shape
    ((4, 2, 3), (5, 2, 20))
    """

    k = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over (N, C_in, H, W), as ``torch.nn.ConvTranspose2d``.

    Args: as :class:`ConvTranspose1d`, with ints or pairs.

    >>> ConvTranspose2d(8, 1, 4, stride=2, padding=1, rng=0)(Tensor(np.ones((2, 8, 4, 4), np.float32))).shape
    (2, 1, 8, 8)
    """

    k = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution over (N, C_in, D, H, W), as ``torch.nn.ConvTranspose3d``.

    Args: as :class:`ConvTranspose1d`, with ints or triples.

    >>> ConvTranspose3d(2, 1, 2, stride=2, rng=0)(Tensor(np.ones((1, 2, 2, 3, 4), np.float32))).shape
    (1, 1, 4, 6, 8)
    """

    k = 3


__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
           "conv", "conv1d", "conv2d", "conv3d", "conv_transpose", "conv_transpose1d",
           "conv_transpose2d", "conv_transpose3d"]
