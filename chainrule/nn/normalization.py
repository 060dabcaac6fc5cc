"""Normalization layers (notes §6: normalization as regularization): BatchNorm1d/2d,
LayerNorm, GroupNorm and InstanceNorm1d/2d: x̂ = (x − μ)/√(σ² + ε) by the primitive
:class:`chainrule.ops.norm.Normalize` (a fused node, for speed: see there), then y = γ·x̂ + β
as a composite."""

from __future__ import annotations

from typing import Any
from collections.abc import Sequence

import numpy as np

from ..autograd import no_grad
from ..backend import on_backend_of, to_host
from ..errors import ConfigError, ShapeError
from ..validate import check_number
from ..ops import Op
from ..ops.norm import Normalize
from ..tensor import ArrayLike, Tensor, apply, as_dtype
from .module import Buffer, Module, Parameter, layer_input


def _normalize(x: Any, axes: tuple[int, ...], eps: float) -> Any:
    """x̂ over ``axes`` with the biased variance."""
    return apply(Normalize, x, axes=axes, eps=eps)


def _channel_state(m: Module, num_features: int, affine: Any, track_running_stats: Any,
                   dtype: Any) -> None:
    """A per-channel norm's γ = 1 and β = 0 (with ``affine``) and running mean 0, variance 1
    and batch count (with ``track_running_stats``)."""
    m.affine, m.track_running_stats = bool(affine), bool(track_running_stats)
    dt = as_dtype(dtype)
    m.weight = Parameter(np.ones(num_features, dt)) if affine else None
    m.bias = Parameter(np.zeros(num_features, dt)) if affine else None
    if track_running_stats:
        m.running_mean = Buffer(np.zeros(num_features, dt))
        m.running_var = Buffer(np.ones(num_features, dt))
        m.num_batches_tracked = Buffer(np.zeros((), np.int64))


class _BatchNorm(Module):
    ranks: tuple[int, ...] = (2, 3)
    layout = "(N, C) or (N, C, L)"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        where = type(self).__name__
        self.num_features = check_number(num_features, "num_features", where, low=1, integer=True)
        self.eps = check_number(eps, "eps", where, low=0, low_open=True)
        if momentum is not None:  # (None: a cumulative average)
            momentum = check_number(momentum, "momentum", where, low=0, high=1)
        self.momentum = momentum
        _channel_state(self, num_features, affine, track_running_stats, dtype)

    def forward(self, x: Any) -> Any:
        where = f"{type(self).__name__}({self.num_features})"
        ref = self.weight if self.affine else getattr(self, "running_mean", None)
        if ref is not None:  # the dtype the layer computes in
            x = layer_input(where, x, ref)
        elif not isinstance(x, ArrayLike):
            x = Tensor(x)
        if x.ndim not in self.ranks:
            raise ShapeError(f"{where}: expected a {' or '.join(f'{r}-D' for r in self.ranks)} "
                             f"input {self.layout}; got shape {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ShapeError(f"{where}: expected {self.num_features} channels (axis 1); got "
                             f"{x.shape[1]} in input of shape {tuple(x.shape)}")
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if self.training or not self.track_running_stats:
            n = x.size // x.shape[1]
            if n < 2 and self.training:
                raise ShapeError(f"{where}: training needs more than one value per channel to "
                                 f"estimate the batch statistics; got input of shape "
                                 f"{tuple(x.shape)}")
            y = _normalize(x, axes, self.eps)
            if self.training and self.track_running_stats:
                v = x.data if isinstance(x, Tensor) else x.primal
                self._update(v.mean(axis=axes), v.var(axis=axes), n)
        else:  # eval: x̂ = (x − running μ)/√(running σ² + ε), folded into one scale and shift
            scale = (self.running_var.data + self.eps) ** -0.5
            y = x * scale.reshape(shape) - (self.running_mean.data * scale).reshape(shape)
        if self.affine:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y

    def _update(self, mean: Any, var: Any, n: int) -> None:
        """running = (1 − m)·running + m·batch, with the unbiased variance (as PyTorch); a
        cumulative average when momentum is None."""
        with no_grad():
            # NOTE: in place: ``data + 1`` on a 0-d array is a NumPy scalar, not an array,
            # which state_dict/load_state_dict could not write back into
            self.num_batches_tracked.data += 1
            m = self.momentum if self.momentum is not None \
                else 1.0 / float(self.num_batches_tracked.data)
            rm, rv = self.running_mean.data, self.running_var.data
            rm *= 1.0 - m
            rm += m * mean
            rv *= 1.0 - m
            rv += m * var * (n / (n - 1))

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs per channel C, as PyTorch.

    Training normalizes with the batch mean and biased variance and updates the running
    statistics (momentum m: running = (1 − m)·running + m·batch, the variance unbiased);
    evaluation (``.eval()``) normalizes with the running statistics. γ (``weight``) starts at 1,
    β (``bias``) at 0; ``running_mean``, ``running_var`` and ``num_batches_tracked`` are Buffers.

    Args:
        num_features: C.
        eps: ε added to the variance.
        momentum: m (None: a cumulative average over all batches).
        affine: learn γ and β.
        track_running_stats: keep running statistics (else batch statistics always).
        dtype: float32 (default) or float64.

    Raises:
        ConfigError: invalid num_features, eps or momentum.
        ShapeError: (when called) an input of the wrong rank or channel count, or one value
            per channel in training.

    >>> bn = BatchNorm1d(2)
    >>> y = bn(Tensor([[1.0, 10.0], [3.0, 30.0]]))
    >>> y.numpy().round(3).tolist(), bn.running_mean.numpy().astype(float).round(3).tolist()
    ([[-1.0, -1.0], [1.0, 1.0]], [0.2, 2.0])
    """


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs per channel, statistics over (N, H, W);
    see :class:`BatchNorm1d`.

    >>> bn = BatchNorm2d(3).eval()
    >>> bn(Tensor(np.ones((2, 3, 4, 4), np.float32))).shape
    (2, 3, 4, 4)
    """

    ranks = (4,)
    layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Layer normalization over the last dimensions ``normalized_shape``, as PyTorch: each
    example is normalized by its own mean and biased variance, then scaled by γ (``weight``,
    starts at 1) and shifted by β (``bias``, starts at 0), element-wise over normalized_shape.

    Args:
        normalized_shape: the trailing shape to normalize over (an int for the last axis).
        eps: ε added to the variance.
        elementwise_affine: learn γ and β.
        bias: learn β (with elementwise_affine).
        dtype: float32 (default) or float64.

    Raises:
        ConfigError: a non-positive size or eps.
        ShapeError: (when called) an input whose trailing shape is not normalized_shape.

    >>> LayerNorm(2)(Tensor([[1.0, 3.0], [0.0, 10.0]])).numpy().round(3).tolist()
    [[-1.0, 1.0], [-1.0, 1.0]]
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
            else tuple(normalized_shape)
        if not shape:
            raise ConfigError("LayerNorm: normalized_shape needs at least one size; got ()")
        self.normalized_shape = tuple(check_number(n, "normalized_shape", "LayerNorm", low=1,
                                                   integer=True) for n in shape)
        self.eps = check_number(eps, "eps", "LayerNorm", low=0, low_open=True)
        self.elementwise_affine = bool(elementwise_affine)
        dt = as_dtype(dtype)
        self.weight = Parameter(np.ones(shape, dt)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape, dt)) if elementwise_affine and bias else None

    def forward(self, x: Any) -> Any:
        x = layer_input(f"LayerNorm({self.normalized_shape})", x, self.weight) \
            if self.weight is not None else x if isinstance(x, ArrayLike) else Tensor(x)
        k = len(self.normalized_shape)
        if tuple(x.shape[x.ndim - k:]) != self.normalized_shape or x.ndim < k:
            raise ShapeError(f"LayerNorm({self.normalized_shape}): expected an input ending in "
                             f"shape {self.normalized_shape}; got shape {tuple(x.shape)}")
        y = _normalize(x, tuple(range(x.ndim - k, x.ndim)), self.eps)
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Group normalization, as PyTorch: the C channels of an (N, C, *) input form
    ``num_groups`` groups; each example's group is normalized by its own mean and biased
    variance, then each channel scaled by γ (``weight``, starts at 1) and shifted by β
    (``bias``, starts at 0). One group is LayerNorm over (C, *); C groups is InstanceNorm.

    Args:
        num_groups: G, which must divide num_channels.
        num_channels: C.
        eps: ε added to the variance.
        affine: learn γ and β.
        dtype: float32 (default) or float64.

    Raises:
        ConfigError: G not dividing C, or a non-positive size or eps.
        ShapeError: (when called) an input that is not (N, C, *) with C channels.

    >>> GroupNorm(1, 2)(Tensor([[1.0, 3.0], [0.0, 10.0]])).numpy().round(3).tolist()
    [[-1.0, 1.0], [-1.0, 1.0]]
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        self.num_groups = check_number(num_groups, "num_groups", "GroupNorm", low=1, integer=True)
        self.num_channels = check_number(num_channels, "num_channels", "GroupNorm", low=1,
                                         integer=True)
        if self.num_channels % self.num_groups:
            raise ConfigError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                              f"num_groups ({num_groups})")
        self.eps = check_number(eps, "eps", "GroupNorm", low=0, low_open=True)
        self.affine = bool(affine)
        dt = as_dtype(dtype)
        self.weight = Parameter(np.ones(self.num_channels, dt)) if affine else None
        self.bias = Parameter(np.zeros(self.num_channels, dt)) if affine else None

    def forward(self, x: Any) -> Any:
        if not isinstance(x, ArrayLike):
            x = Tensor(x)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(f"GroupNorm({self.num_groups}, {self.num_channels}): expected an "
                             f"input (N, {self.num_channels}, *); got shape {tuple(x.shape)}")
        shape = tuple(x.shape)
        y = _normalize(x.reshape(shape[0], self.num_groups, -1), (2,), self.eps).reshape(shape)
        if self.affine:
            c = (1, -1) + (1,) * (x.ndim - 2)
            y = y * self.weight.reshape(c) + self.bias.reshape(c)
        return y

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(Module):
    rank = 1
    layout = "(N, C, L) or (C, L)"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        where = type(self).__name__
        self.num_features = check_number(num_features, "num_features", where, low=1, integer=True)
        self.eps = check_number(eps, "eps", where, low=0, low_open=True)
        if momentum is None and track_running_stats:
            raise ConfigError(f"{where}: momentum=None with track_running_stats=True: PyTorch's "
                              "InstanceNorm then never updates its running statistics (it "
                              "passes momentum 0), not a cumulative average; give a momentum "
                              "in [0, 1]")
        if momentum is not None:
            momentum = check_number(momentum, "momentum", where, low=0, high=1)
        self.momentum = momentum
        # (PyTorch registers num_batches_tracked here and never counts: it stays 0)
        _channel_state(self, num_features, affine, track_running_stats, dtype)

    def forward(self, x: Any) -> Any:
        if not isinstance(x, ArrayLike):
            x = Tensor(x)
        where = f"{type(self).__name__}({self.num_features})"
        if x.ndim not in (self.rank + 1, self.rank + 2):
            raise ShapeError(f"{where}: expected an input {self.layout}; got shape "
                             f"{tuple(x.shape)}")
        c_axis = x.ndim - self.rank - 1  # 0 unbatched, else 1
        if x.shape[c_axis] != self.num_features:
            raise ShapeError(f"{where}: expected {self.num_features} channels (axis {c_axis}); "
                             f"got {x.shape[c_axis]} in input of shape {tuple(x.shape)}")
        axes = tuple(range(c_axis + 1, x.ndim))
        shape = (-1,) + (1,) * self.rank
        if self.training or not self.track_running_stats:
            n = x.size // int(np.prod(x.shape[:c_axis + 1]))
            if n < 2:
                raise ShapeError(f"{where}: instance statistics need more than one spatial "
                                 f"value per channel; got input of shape {tuple(x.shape)}")
            y = _normalize(x, axes, self.eps)
            if self.training and self.track_running_stats:
                v = x.data if isinstance(x, Tensor) else x.primal
                lead = tuple(range(c_axis))  # the batch axis, if any: averaged, as PyTorch
                self._update(v.mean(axis=axes).mean(axis=lead),
                             v.var(axis=axes, ddof=1).mean(axis=lead))
        else:
            scale = (self.running_var.data + self.eps) ** -0.5
            y = x * scale.reshape(shape) - (self.running_mean.data * scale).reshape(shape)
        if self.affine:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y

    def _update(self, mean: Any, var: Any) -> None:
        """running = (1 − m)·running + m·(the batch's mean of the instance statistics, the
        variance unbiased), as PyTorch."""
        m = self.momentum
        with no_grad():
            for buf, new in ((self.running_mean.data, mean), (self.running_var.data, var)):
                buf *= 1.0 - m
                buf += m * new

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) (or (C, L)) inputs, as PyTorch: each example's
    channel is normalized by its own mean and biased variance over L. By default no γ, β
    (``affine=False``) and no running statistics (``track_running_stats=False``); with them,
    training averages the instances' statistics into running ones (momentum m, variance
    unbiased) and evaluation uses those.

    Args:
        num_features: C.
        eps: ε added to the variance.
        momentum: m (None only without running statistics: see Raises).
        affine: learn γ (``weight``) and β (``bias``) per channel.
        track_running_stats: keep running statistics for evaluation.
        dtype: float32 (default) or float64.

    Raises:
        ConfigError: invalid num_features, eps or momentum; momentum None with running
            statistics (PyTorch then silently never updates them).
        ShapeError: (when called) an input of the wrong rank or channel count, or one value
            per channel where instance statistics are used.

    >>> InstanceNorm1d(1)(Tensor([[[1.0, 3.0]], [[0.0, 10.0]]])).numpy().round(3).tolist()
    [[[-1.0, 1.0]], [[-1.0, 1.0]]]
    """


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) (or (C, H, W)) inputs over H, W; see
    :class:`InstanceNorm1d`.

    >>> InstanceNorm2d(3)(Tensor(np.ones((2, 3, 4, 4), np.float32) * np.arange(4))).shape
    (2, 3, 4, 4)
    """

    rank = 2
    layout = "(N, C, H, W) or (C, H, W)"


__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm1d",
           "InstanceNorm2d"]


class _SyncNormalize(Op, register=False):
    """x̂ = (x − μ)·inv with μ and inv = 1/√(σ² + ε) of the whole world's batch (given); the
    gradient needs the world's means of g and g·x̂ too: ḡ_x = (g − mean(g) − x̂·mean(g·x̂))·inv,
    the rule of :class:`chainrule.ops.norm.Normalize` with means over every rank's samples."""

    def forward(self, x, *, mean, inv, count, axes, group):
        self.axes, self.count, self.group = axes, count, group
        xhat = (x - mean) * inv
        self.save(xhat, inv)
        return xhat

    def _rule(self, u):
        # NOTE: each rank's u is the gradient of its own loss; the world's loss weighs it by
        # the group's grad_weight w (its share of a mean), so the means are of w·u, and the
        # result is divided by w again because the data-parallel fit weighs the gradients
        # it sums by w after backward
        xhat, inv = self.saved
        w = float(getattr(self.group, "grad_weight", 1.0))
        local = self.xp.concatenate([u.sum(axis=self.axes), (u * xhat).sum(axis=self.axes)]) * w
        sums = self.xp.asarray(self.group.allreduce(local), dtype=u.dtype) / self.count
        c = xhat.shape[1]
        shape = (1, -1) + (1,) * (u.ndim - 2)
        return (u - (sums[:c].reshape(shape) + xhat * sums[c:].reshape(shape)) / w) * inv

    def vjp(self, g):
        return (self._rule(g),)

    def jvp(self, t):
        return self._rule(self.xp.broadcast_to(t, self.saved[0].shape))


class SyncBatchNorm(_BatchNorm):
    """Batch normalization whose statistics are those of the global batch: the per-channel
    mean and biased variance over the samples of every rank of a data-parallel run, as
    PyTorch's ``SyncBatchNorm`` (inputs (N, C, *)). With N ranks it computes what
    :class:`BatchNorm1d`/:class:`BatchNorm2d` compute on the whole batch in one process.

    Args:
        num_features: as BatchNorm1d (and so are the next five).
        eps: the ε added to the variance.
        momentum: the running statistics' update weight.
        affine: learn a scale and a shift.
        track_running_stats: keep running statistics for evaluation.
        dtype: float32 (default) or float64.
        process_group: an object whose ``allreduce(array)`` returns the sum over ranks
            (:class:`chainrule.distributed.Distributed`); None: the world of the data-parallel
            :func:`~chainrule.train.fit` that trains it, or this process alone.

    >>> bn = SyncBatchNorm(2)  # no process group: this process's batch, as BatchNorm1d
    >>> bn(Tensor([[1.0, 10.0], [3.0, 30.0]])).numpy().round(3).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    """

    ranks = (2, 3, 4, 5)
    layout = "(N, C, *)"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 process_group: Any = None, dtype: Any = np.float32) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype)
        self.process_group = process_group

    def forward(self, x: Any) -> Any:
        group = self.process_group
        if group is None or getattr(group, "size", 1) == 1 or not self.training:
            return super().forward(x)
        where = f"SyncBatchNorm({self.num_features})"
        x = layer_input(where, x, self.weight if self.affine else self.running_mean)
        if x.ndim < 2 or x.shape[1] != self.num_features:
            raise ShapeError(f"{where}: expected an input (N, {self.num_features}, *); got shape "
                             f"{tuple(x.shape)}")
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        v = x.data if isinstance(x, Tensor) else x.primal
        local = to_host(v.sum(axis=axes, dtype=np.float64))
        sums = group.allreduce(np.concatenate([local, [v.size // x.shape[1]]]))
        n = int(sums[-1])
        if n < 2:
            raise ShapeError(f"{where}: training needs more than one value per channel over "
                             f"all ranks; got {n}")
        mean = sums[:-1] / n
        d = v - on_backend_of(v, mean, v.dtype).reshape(shape)
        var = group.allreduce(to_host((d * d).sum(axis=axes, dtype=np.float64))) / n
        inv = on_backend_of(v, (var + self.eps) ** -0.5, v.dtype).reshape(shape)
        y = apply(_SyncNormalize, x, mean=on_backend_of(v, mean, v.dtype).reshape(shape),
                  inv=inv, count=n, axes=axes, group=group)
        if self.track_running_stats:
            self._update(on_backend_of(v, mean, v.dtype), on_backend_of(v, var, v.dtype), n)
        if self.affine:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y


__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "SyncBatchNorm"]
