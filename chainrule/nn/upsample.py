"""Resizing: :func:`interpolate` and :class:`Upsample`, in PyTorch's names, modes and sizes.

Both work one spatial axis at a time, with no derivative code: "nearest" picks source cells
by integer indexing (its gradient adds back into the picked cells), the linear modes multiply
by a constant (out, in) interpolation matrix whose row o holds the two weights 1 − λ and λ
of output cell o's neighbours (bilinear and trilinear are separable: one product per axis).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import functional as F
from ..backend import array_module
from ..errors import ConfigError, ShapeError
from ..tensor import ArrayLike, Tensor
from ..validate import check_bool, check_choice, check_number
from .module import Module

MODES = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "linear": (1,), "bilinear": (2,),
         "trilinear": (3,)}
_UNSUPPORTED = ("bicubic", "area")


def _sizes(where: str, shape: tuple, size: Any, scale_factor: Any,
           recompute: bool | None) -> tuple[tuple[int, ...], tuple[float | None, ...]]:
    """The output sizes and, per axis, the scale PyTorch uses to map back (1/scale_factor when
    a factor is given and not recomputed, else None: in/out)."""
    k = len(shape)
    if (size is None) == (scale_factor is None):
        raise ConfigError(f"{where}: give exactly one of size and scale_factor; got size={size!r}, "
                          f"scale_factor={scale_factor!r}")
    if size is not None:
        items = tuple(size) if isinstance(size, (tuple, list)) else (size,) * k
        if len(items) != k:
            raise ShapeError(f"{where}: size {size!r} needs {k} entries for {k} spatial axes")
        out = tuple(check_number(v, "size", where, low=1, integer=True) for v in items)
        return out, (None,) * k
    items = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * k
    if len(items) != k:
        raise ShapeError(f"{where}: scale_factor {scale_factor!r} needs {k} entries for {k} "
                         "spatial axes")
    scales = tuple(float(check_number(v, "scale_factor", where, low=0, low_open=True))
                   for v in items)
    out = tuple(int(math.floor(n * s)) for n, s in zip(shape, scales))
    if any(o < 1 for o in out):
        raise ShapeError(f"{where}: scale_factor {scale_factor!r} leaves an empty output "
                         f"{out} for input size {shape}")
    return out, (None,) * k if recompute else tuple(1.0 / s for s in scales)


def _nearest_index(n_in: int, n_out: int, scale: float | None, exact: bool) -> np.ndarray:
    """PyTorch's source cells: ⌊o·s⌋ (⌊(o + ½)·s⌋ for nearest-exact), s in float32 as it does."""
    s = np.float32(n_in / n_out if scale is None else scale)
    o = np.arange(n_out, dtype=np.float32) + (np.float32(0.5) if exact else np.float32(0))
    return np.minimum(np.floor(o * s).astype(np.intp), n_in - 1)


def _linear_matrix(n_in: int, n_out: int, scale: float | None, align_corners: bool,
                   dtype: Any) -> np.ndarray:
    """The (n_out, n_in) matrix of linear interpolation: source position
    x = o·(n_in − 1)/(n_out − 1) (align_corners) or max((o + ½)·s − ½, 0), weights 1 − λ and λ
    on cells ⌊x⌋ and ⌊x⌋ + 1 (clamped), λ = x − ⌊x⌋."""
    o = np.arange(n_out, dtype=np.float64)
    if align_corners:
        x = o * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    else:
        s = n_in / n_out if scale is None else scale
        x = np.maximum((o + 0.5) * s - 0.5, 0.0)
    i0 = np.minimum(np.floor(x).astype(np.intp), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = x - i0
    a = np.zeros((n_out, n_in), dtype=dtype)
    np.add.at(a, (np.arange(n_out), i0), 1.0 - lam)
    np.add.at(a, (np.arange(n_out), i1), lam)
    return a


def interpolate(x: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Any:
    """Resize the spatial axes of x (N, C, *spatial), as PyTorch's ``F.interpolate``.

    Args:
        x: (N, C, L), (N, C, H, W) or (N, C, D, H, W).
        size: the output's spatial size (an int for every axis, or one per axis).
        scale_factor: or a factor per axis (output size ⌊n·factor⌋).
        mode: "nearest" (PyTorch's: source cell ⌊o·n_in/n_out⌋), "nearest-exact",
            "linear" (3-D input), "bilinear" (4-D) or "trilinear" (5-D).
        align_corners: linear modes only: map the corner cells' centres onto each other
            (True) or the corners of the grids (False, the default).
        recompute_scale_factor: with ``scale_factor``, map back with n_in/n_out instead of
            1/scale_factor.
        antialias: only False (PyTorch's default) is supported.

    Raises:
        ConfigError: both or neither of size and scale_factor, an unknown mode or one this
            rank does not take, align_corners with a nearest mode, or antialias.
        ShapeError: an input of rank other than 3 to 5.

    >>> interpolate(Tensor([[[1.0, 2.0]]]), scale_factor=2).tolist()
    [[[1.0, 1.0, 2.0, 2.0]]]
    >>> interpolate(Tensor([[[1.0, 2.0]]]), size=3, mode="linear", align_corners=True).tolist()
    [[[1.0, 1.5, 2.0]]]
    """
    where = "interpolate"
    if not isinstance(x, ArrayLike):
        x = Tensor(x)
    check_choice(mode, "mode", where, tuple(MODES) + _UNSUPPORTED)
    if mode in _UNSUPPORTED:
        raise ConfigError(f"{where}: mode {mode!r} is not implemented; expected one of "
                          f"{sorted(MODES)}")
    k = x.ndim - 2
    if k not in (1, 2, 3):
        raise ShapeError(f"{where}: expected a 3-D, 4-D or 5-D input (N, C, *spatial); got shape "
                         f"{tuple(x.shape)}")
    if k not in MODES[mode]:
        raise ShapeError(f"{where}: mode {mode!r} takes a {MODES[mode][0] + 2}-D input; got "
                         f"shape {tuple(x.shape)}")
    linear = mode not in ("nearest", "nearest-exact")
    if align_corners is not None:
        check_bool(align_corners, "align_corners", where)
        if not linear:
            raise ConfigError(f"{where}: align_corners applies to the linear modes only; got it "
                              f"with mode {mode!r}")
    if check_bool(antialias, "antialias", where):
        raise ConfigError(f"{where}: antialias=True is not implemented")
    shape = tuple(x.shape[2:])
    out, scales = _sizes(where, shape, size, scale_factor, recompute_scale_factor)
    xp = array_module(x.data if isinstance(x, Tensor) else x.primal)
    y = x
    for axis, (n_in, n_out, scale) in enumerate(zip(shape, out, scales)):
        if linear:
            a = _linear_matrix(n_in, n_out, scale, bool(align_corners), x.dtype)
            perm = list(range(y.ndim))
            perm[2 + axis], perm[-1] = perm[-1], perm[2 + axis]  # the axis to resize goes last
            y = F.matmul(y.permute(tuple(perm)), Tensor(xp.asarray(a.T))).permute(tuple(perm))
        elif n_in != n_out:
            idx = xp.asarray(_nearest_index(n_in, n_out, scale, mode == "nearest-exact"))
            y = y[(slice(None),) * (2 + axis) + (idx,)]
    return y


class Upsample(Module):
    """Resize (N, C, *spatial) inputs, as ``torch.nn.Upsample``; see :func:`interpolate`.

    Args:
        size: as :func:`interpolate` (and so are the next four).
        scale_factor: the output size as a multiple of the input's.
        mode: "nearest", "linear", "bilinear", ...
        align_corners: the corners' alignment of the (bi)linear modes.
        recompute_scale_factor: as :func:`interpolate`.

    Raises:
        ConfigError: as :func:`interpolate` (checked when called).

    >>> Upsample(scale_factor=2, mode="bilinear")(Tensor(np.ones((1, 3, 4, 4)))).shape
    (1, 3, 8, 8)
    """

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        check_choice(mode, "mode", type(self).__name__, tuple(MODES) + _UNSUPPORTED)
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x: Any) -> Any:
        return interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.size is not None:
            return f"size={self.size}, mode={self.mode!r}"
        factor = float(self.scale_factor) if np.isscalar(self.scale_factor) else self.scale_factor
        return f"scale_factor={factor}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode="nearest")`` for 4-D inputs, as PyTorch.

    >>> UpsamplingNearest2d(scale_factor=2)(Tensor([[[[1.0, 2.0]]]])).tolist()
    [[[[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]]]]
    """

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode="bilinear", align_corners=True)``, as PyTorch.

    >>> UpsamplingBilinear2d(size=(1, 3))(Tensor([[[[1.0, 2.0]]]])).tolist()
    [[[[1.0, 1.5, 2.0]]]]
    """

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


__all__ = ["interpolate", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]
