"""SGD, Adam, AdamW, RMSprop and Adagrad: each a chain of transforms, PyTorch's formulas and
defaults (the single-tensor code path), so switching between the libraries changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import ConfigError
from ..tensor import Tensor
from ..validate import check_number
from .optimizer import Optimizer
from .transforms import (
    Transform,
    add_decayed_weights,
    chain,
    scale,
    scale_by_adam,
    scale_by_rms,
    scale_by_rss,
    scale_by_schedule,
    trace,
)

Params = Iterable[Tensor] | Iterable[dict]


def _sign(group: dict[str, Any]) -> list[Transform]:
    # maximize: gradient ascent, e.g. on the notes' log-likelihood; the sign flips the
    # gradient before anything else, as in PyTorch
    return [scale(-1.0)] if group["maximize"] else []


# PyTorch's names for the hyperparameters in its messages ("Invalid learning rate: -1");
# the others read "Invalid <name> value: ..."
_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def _check_nonnegative(group: dict[str, Any], where: str, *keys: str) -> None:
    for key in keys:
        check_number(group[key], key, where, low=0.0, label=_LABELS.get(key, f"{key} value"))


def _check_betas(group: dict[str, Any], where: str) -> tuple[float, float]:
    betas = group["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ConfigError(f"Invalid betas: {betas!r} (expected a pair (b1, b2)) in {where}")
    for i, b in enumerate(betas):
        check_number(b, f"betas[{i}]", where, low=0.0, high=1.0, high_open=True,
                     label=f"beta parameter at index {i}")
    return float(betas[0]), float(betas[1])


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay.

    With ``g`` the gradient: ``g ← g + λθ`` (weight decay: the gradient of the L2 prior
    ``½λ‖θ‖²``, the notes' parameter prior), ``b ← μb + (1 − τ)g`` (``b ← g`` on the first step),
    ``g ← b`` or, with Nesterov, ``g ← g + μb``; then ``θ ← θ − ηg`` (the notes' update
    ``w ← w − η ∂E/∂w``). PyTorch's ``torch.optim.SGD`` exactly.

    Args:
        params: Tensors or parameter-group dicts.
        lr: η, the learning rate.
        momentum: μ.
        dampening: τ.
        weight_decay: λ.
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: gradient ascent instead of descent.

    Raises:
        ConfigError: an invalid hyperparameter.

    >>> import chainrule as cr
    >>> w = cr.Tensor([1.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()   # w - 0.1 * 2w
    >>> w.data
    array([0.8], dtype=float32)
    """

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov,
                                  "maximize": maximize})

    def _validate(self, group: dict[str, Any], where: str) -> None:
        _check_nonnegative(group, where, "lr", "momentum")
        check_number(group["dampening"], "dampening", where, label="dampening value")
        _check_nonnegative(group, where, "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ConfigError(f"Nesterov momentum requires a momentum and zero dampening; got "
                              f"momentum={group['momentum']}, dampening={group['dampening']} in {where}")

    def _transform(self, group: dict[str, Any]) -> Transform:
        txs = _sign(group)
        if group["weight_decay"]:
            txs.append(add_decayed_weights(group["weight_decay"]))
        if group["momentum"]:
            txs.append(trace(group["momentum"], group["dampening"], group["nesterov"]))
        return chain(*txs)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), PyTorch's ``torch.optim.Adam``.

    ``g ← g + λθ`` (L2 weight decay), ``m ← b1 m + (1 − b1)g``, ``v ← b2 v + (1 − b2)g²``,
    ``θ ← θ − η (m / (1 − b1ᵗ)) / (√v / √(1 − b2ᵗ) + ε)``; AMSGrad uses the running maximum of
    ``v``. See :func:`chainrule.optim.transforms.scale_by_adam`.

    Args:
        params: Tensors or parameter-group dicts.
        lr: η.
        betas: (b1, b2), each in [0, 1).
        eps: ε.
        weight_decay: λ (an L2 penalty's gradient; see :class:`AdamW` for decoupled decay).
        amsgrad: use the AMSGrad variant.
        maximize: gradient ascent instead of descent.

    Raises:
        ConfigError: an invalid hyperparameter.

    >>> import chainrule as cr
    >>> w = cr.Tensor([1.0, -1.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()   # the first step is about lr * sign(g)
    >>> w.data
    array([ 0.9, -0.9], dtype=float32)
    """

    _decoupled = False

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": tuple(betas) if isinstance(betas, list) else betas,
                                  "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                                  "maximize": maximize})

    def _validate(self, group: dict[str, Any], where: str) -> None:
        _check_nonnegative(group, where, "lr", "eps")
        _check_betas(group, where)
        _check_nonnegative(group, where, "weight_decay")

    def _transform(self, group: dict[str, Any]) -> Transform:
        b1, b2 = group["betas"]
        txs = _sign(group)
        wd = group["weight_decay"]
        if wd and not self._decoupled:
            txs.append(add_decayed_weights(wd))
        txs.append(scale_by_adam(b1, b2, group["eps"], group["amsgrad"]))
        if wd and self._decoupled:
            # after Adam and before scale(-lr): θ ← θ − η λ θ − η · adam, PyTorch's θ(1 − ηλ) first
            txs.append(add_decayed_weights(wd))
        return chain(*txs)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), PyTorch's
    ``torch.optim.AdamW``: ``θ ← θ − ηλθ`` and then the Adam step, with no decay in ``g``.

    Args:
        params: Tensors or parameter-group dicts.
        lr: η.
        betas: (b1, b2), each in [0, 1).
        eps: ε.
        weight_decay: λ (default 1e-2).
        amsgrad: use the AMSGrad variant.
        maximize: gradient ascent instead of descent.

    Raises:
        ConfigError: an invalid hyperparameter.

    >>> import chainrule as cr
    >>> w = cr.Tensor([1.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = w.data * 0   # zero gradient: only the decay acts, 1 - 0.1 * 0.5
    >>> opt.step(); w.data
    array([0.95], dtype=float32)
    """

    _decoupled = True

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)


class RMSprop(Optimizer):
    """RMSprop, PyTorch's ``torch.optim.RMSprop``.

    ``g ← g + λθ``, ``s ← αs + (1 − α)g²``, ``u ← g / (√s + ε)`` (centered: ``√(s − ḡ²)`` with
    ``ḡ`` the running mean of ``g``), with momentum ``b ← μb + u``, ``u ← b``; ``θ ← θ − ηu``.

    Args:
        params: Tensors or parameter-group dicts.
        lr: η.
        alpha: α, the smoothing constant.
        eps: ε.
        weight_decay: λ.
        momentum: μ.
        centered: normalize by the estimated variance of the gradient.
        maximize: gradient ascent instead of descent.

    Raises:
        ConfigError: an invalid hyperparameter.

    >>> import chainrule as cr
    >>> w = cr.Tensor([1.0], requires_grad=True)
    >>> opt = RMSprop([w], lr=0.01, alpha=0.75, eps=0.0)
    >>> w.grad = w.data * 2   # s = 0.25 * 4 = 1; w - 0.01 * 2 / 1
    >>> opt.step(); w.data
    array([0.98], dtype=float32)
    """

    def __init__(self, params: Params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": momentum, "centered": centered, "maximize": maximize})

    def _validate(self, group: dict[str, Any], where: str) -> None:
        _check_nonnegative(group, where, "lr", "eps", "momentum", "weight_decay", "alpha")

    def _transform(self, group: dict[str, Any]) -> Transform:
        txs = _sign(group)
        if group["weight_decay"]:
            txs.append(add_decayed_weights(group["weight_decay"]))
        txs.append(scale_by_rms(group["alpha"], group["eps"], group["centered"]))
        if group["momentum"] > 0:
            # PyTorch starts this buffer at zero: μ·0 + u = u, the same as trace's first step
            txs.append(trace(group["momentum"]))
        return chain(*txs)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011), PyTorch's ``torch.optim.Adagrad``.

    ``g ← g + λθ``, ``S ← S + g²``, ``θ ← θ − η_t g / (√S + ε)`` with
    ``η_t = η / (1 + (t − 1)·lr_decay)``.

    Args:
        params: Tensors or parameter-group dicts.
        lr: η.
        lr_decay: the inverse-time decay of the learning rate.
        weight_decay: λ.
        initial_accumulator_value: the starting value of ``S``.
        eps: ε.
        maximize: gradient ascent instead of descent.

    Raises:
        ConfigError: an invalid hyperparameter.

    >>> import chainrule as cr
    >>> w = cr.Tensor([1.0], requires_grad=True)
    >>> opt = Adagrad([w], lr=0.5)
    >>> w.grad = w.data * 4   # S = 16; w - 0.5 * 4 / 4
    >>> opt.step(); w.data
    array([0.5], dtype=float32)
    """

    def __init__(self, params: Params, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "eps": eps,
                                  "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "maximize": maximize})

    def _validate(self, group: dict[str, Any], where: str) -> None:
        _check_nonnegative(group, where, "lr", "lr_decay", "weight_decay",
                           "initial_accumulator_value", "eps")

    def _transform(self, group: dict[str, Any]) -> Transform:
        txs = _sign(group)
        if group["weight_decay"]:
            txs.append(add_decayed_weights(group["weight_decay"]))
        lr_decay = float(group["lr_decay"])
        txs += [scale_by_rss(group["initial_accumulator_value"], group["eps"]),
                scale_by_schedule(lambda t: 1.0 / (1.0 + (t - 1) * lr_decay))]
        return chain(*txs)
