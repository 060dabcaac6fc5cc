"""Optimizer math as small composable transforms on lists of arrays (optax-style).

A :class:`Transform` is a pair of functions and nothing else:

- ``init(params) -> state``: the state for a list of parameter arrays, a dict mapping a name to
  a list with one entry per array (an array, a Python number, or ``None`` when the entry is
  created on first use). Names that start with ``_`` are *workspace*: scratch arrays with no
  meaning between steps, never saved, and shared by the transforms of one :func:`chain`.
- ``update(updates, state, params) -> updates``: turns gradients into updates.

For speed the functions work in place: ``updates`` are buffers the caller owns (the optimizer
copies ``.grad`` into them, so gradients are never touched), and state arrays are updated in
place with NumPy ``out=`` arguments, so a step allocates nothing. The functions keep no state
of their own; everything lives in the dict ``init`` made, which is what an optimizer's
``state_dict`` saves. Since the transforms only ever see a list of arrays, the list may hold one
array per parameter or one flat buffer holding all of them.

The optimizers in :mod:`chainrule.optim` are chains of these, followed by ``scale(-lr)``:

>>> import numpy as np
>>> params = [np.array([1.0, 2.0], dtype=np.float32)]
>>> sgd_momentum = chain(add_decayed_weights(0.1), trace(momentum=0.9), scale(-0.5))
>>> state = sgd_momentum.init(params)
>>> updates = sgd_momentum.update([np.array([1.0, 1.0], dtype=np.float32)], state, params)
>>> params[0] += updates[0]   # p - 0.5 * (g + 0.1 p)
>>> params[0]
array([0.45, 1.4 ], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from ..backend import array_module, get_backend
from ..errors import ConfigError

Array = Any
State = dict[str, list]


class Transform(NamedTuple):
    """A gradient transformation: ``init(params) -> state`` and
    ``update(updates, state, params) -> updates`` (see the module docstring for the contract).
    """

    init: Callable[[Sequence[Array]], State]
    update: Callable[[list[Array], State, Sequence[Array]], list[Array]]


def _zeros(params: Sequence[Array]) -> list[Array]:
    return [get_backend(p).xp.zeros_like(p) for p in params]


def _workspace(params: Sequence[Array]) -> list[Array]:
    return [get_backend(p).xp.empty_like(p) for p in params]


def _xp(arrays: Sequence[Array]) -> Any:
    return array_module(arrays[0]) if len(arrays) else array_module()


def _no_state(params: Sequence[Array]) -> State:
    return {}


def chain(*transforms: Transform) -> Transform:
    """Apply ``transforms`` one after another; their states are merged into one dict.

    Args:
        *transforms: the transforms, first applied first.

    Returns:
        The composed transform.

    Raises:
        ConfigError: two transforms keep (non-workspace) state under the same name.

    >>> import numpy as np
    >>> tx = chain(scale(2.0), scale(-0.5))
    >>> tx.update([np.array([3.0])], tx.init([np.zeros(1)]), [np.zeros(1)])
    [array([-3.])]
    """
    transforms = tuple(transforms)

    def init(params: Sequence[Array]) -> State:
        state: State = {}
        for tx in transforms:
            for name, value in tx.init(params).items():
                if name in state:
                    if name.startswith("_"):
                        continue  # workspace is shared: one scratch buffer for the whole chain
                    raise ConfigError(f"chain: two transforms keep state under the same name {name!r}; "
                                      "expected distinct state names")
                state[name] = value
        return state

    def update(updates: list[Array], state: State, params: Sequence[Array]) -> list[Array]:
        for tx in transforms:
            updates = tx.update(updates, state, params)
        return updates

    return Transform(init, update)


def scale(step_size: float) -> Transform:
    """Multiply the updates by a constant: ``u ← step_size · u`` (``scale(-lr)`` ends a chain).

    Args:
        step_size: the factor.

    Returns:
        The transform (no state).

    >>> import numpy as np
    >>> scale(-0.1).update([np.array([1.0, 2.0])], {}, [np.zeros(2)])
    [array([-0.1, -0.2])]
    """
    step_size = float(step_size)  # a Python float keeps float32 arrays float32

    def update(updates: list[Array], state: State, params: Sequence[Array]) -> list[Array]:
        for u in updates:
            u *= step_size
        return updates

    return Transform(_no_state, update)


def scale_by_schedule(schedule: Callable[[int], float]) -> Transform:
    """Multiply the updates by ``schedule(t)``, ``t`` the number of updates of that array so far.

    Adagrad's learning-rate decay is ``scale_by_schedule(lambda t: 1 / (1 + (t - 1) * lr_decay))``.

    Args:
        schedule: maps the 1-based step count of an array to a factor.

    Returns:
        The transform; its state is ``step`` (one count per array).

    >>> import numpy as np
    >>> tx = scale_by_schedule(lambda t: 1.0 / t)
    >>> state = tx.init([np.zeros(1)])
    >>> _ = tx.update([np.ones(1)], state, [np.zeros(1)])
    >>> tx.update([np.ones(1)], state, [np.zeros(1)]), state["step"]
    ([array([0.5])], [2])
    """
    def init(params: Sequence[Array]) -> State:
        return {"step": [0] * len(params)}

    def update(updates: list[Array], state: State, params: Sequence[Array]) -> list[Array]:
        steps = state["step"]
        for i, u in enumerate(updates):
            steps[i] += 1
            factor = float(schedule(steps[i]))
            if factor != 1.0:
                u *= factor
        return updates

    return Transform(init, update)


def add_decayed_weights(weight_decay: float) -> Transform:
    """Add the gradient of the L2 prior ``½ λ ‖θ‖²``: ``u ← u + λ θ`` (weight decay).

    Before an adaptive rule this is PyTorch's ``weight_decay`` (an L2 penalty, the notes'
    parameter prior); after it, it is AdamW's decoupled decay.

    Args:
        weight_decay: λ ≥ 0.

    Returns:
        The transform (workspace only).

    >>> import numpy as np
    >>> add_decayed_weights(0.5).update([np.array([1.0])], {"_tmp": [np.empty(1)]}, [np.array([4.0])])
    [array([3.])]
    """
    weight_decay = float(weight_decay)

    def init(params: Sequence[Array]) -> State:
        return {"_tmp": _workspace(params)} if weight_decay else {}

    def update(updates: list[Array], state: State, params: Sequence[Array]) -> list[Array]:
        if weight_decay:
            xp = _xp(updates)
            for u, p, tmp in zip(updates, params, state["_tmp"]):
                xp.multiply(p, weight_decay, out=tmp)
                u += tmp
        return updates

    return Transform(init, update)


def trace(momentum: float, dampening: float = 0.0, nesterov: bool = False) -> Transform:
    """Momentum (heavy ball), PyTorch's form: ``b ← μ b + (1 − τ) u`` (``b ← u`` on the first
    step), then ``u ← b``, or ``u ← u + μ b`` with Nesterov.

    Args:
        momentum: μ.
        dampening: τ.
        nesterov: look ahead along the momentum.

    Returns:
        The transform; its state is ``momentum_buffer`` (``None`` until the first step).

    >>> import numpy as np
    >>> tx = trace(0.9)
    >>> state = tx.init([np.zeros(1)])
    >>> _ = tx.update([np.array([1.0])], state, [np.zeros(1)])
    >>> tx.update([np.array([1.0])], state, [np.zeros(1)])   # 0.9 * 1 + 1
    [array([1.9])]
    """
    momentum, dampening, nesterov = float(momentum), float(dampening), bool(nesterov)
    keep = 1.0 - dampening

    def init(params: Sequence[Array]) -> State:
        state: State = {"momentum_buffer": [None] * len(params)}
        if nesterov or dampening:
            state["_tmp"] = _workspace(params)
        return state

    def update(updates: list[Array], state: State, params: Sequence[Array]) -> list[Array]:
        xp = _xp(updates)
        bufs = state["momentum_buffer"]
        tmps = state.get("_tmp")
        for i, u in enumerate(updates):
            b = bufs[i]
            if b is None:
                bufs[i] = b = u.copy()
            else:
                b *= momentum
                if keep != 1.0:
                    xp.multiply(u, keep, out=tmps[i])
                    b += tmps[i]
                else:
                    b += u
            if nesterov:
                xp.multiply(b, momentum, out=tmps[i])
                u += tmps[i]
            else:
                u[...] = b
        return updates

    return Transform(init, update)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
                  amsgrad: bool = False) -> Transform:
    """Adam's direction (Kingma & Ba 2015), PyTorch's arithmetic:
    ``m ← m + (1 − b1)(g − m)``, ``v ← b2 v + (1 − b2) g²``, ``t ← t + 1``,
    ``u ← (m / (1 − b1ᵗ)) / (√v / √(1 − b2ᵗ) + ε)``; with AMSGrad ``v`` in the denominator is the
    running maximum of ``v``.

    Args:
        b1: decay of the first moment.
        b2: decay of the second moment.
        eps: ε added to the denominator after bias correction.
        amsgrad: use the running maximum of the second moment.

    Returns:
        The transform; its state is ``step``, ``exp_avg``, ``exp_avg_sq`` (and
        ``max_exp_avg_sq``).

    >>> import numpy as np
    >>> tx = scale_by_adam(eps=0.0)
    >>> p = [np.zeros(2)]
    >>> tx.update([np.array([0.5, -2.0])], tx.init(p), p)   # the first step is sign(g)
    [array([ 1., -1.])]
    """
    b1, b2, eps, amsgrad = float(b1), float(b2), float(eps), bool(amsgrad)

    def init(params: Sequence[Array]) -> State:
        state: State = {"step": [0] * len(params), "exp_avg": _zeros(params),
                        "exp_avg_sq": _zeros(params)}
        if amsgrad:
            state["max_exp_avg_sq"] = _zeros(params)
        state["_tmp"] = _workspace(params)
        return state

    def update(updates: list[Array], state: State, params: Sequence[Array]) -> list[Array]:
        xp = _xp(updates)
        steps, ms, vs, tmps = state["step"], state["exp_avg"], state["exp_avg_sq"], state["_tmp"]
        vmaxs = state["max_exp_avg_sq"] if amsgrad else vs
        for i, u in enumerate(updates):
            m, v, tmp = ms[i], vs[i], tmps[i]
            t = steps[i] = steps[i] + 1
            bc1 = 1.0 - b1 ** t
            bc2_sqrt = (1.0 - b2 ** t) ** 0.5
            xp.subtract(u, m, out=tmp)                     # m += (1 - b1)(g - m), torch's lerp
            tmp *= 1.0 - b1
            m += tmp
            v *= b2                                        # v = b2 v + (1 - b2) g²
            xp.multiply(u, u, out=tmp)
            tmp *= 1.0 - b2
            v += tmp
            if amsgrad:
                xp.maximum(vmaxs[i], v, out=vmaxs[i])
                v = vmaxs[i]
            # (m / bc1) / (√v / √bc2 + ε) = m / (√v · bc1/√bc2 + ε · bc1): one pass fewer
            xp.sqrt(v, out=tmp)
            tmp *= bc1 / bc2_sqrt
            tmp += eps * bc1
            xp.divide(m, tmp, out=u)
        return updates

    return Transform(init, update)


def scale_by_rms(alpha: float = 0.99, eps: float = 1e-8, centered: bool = False) -> Transform:
    """RMSprop's direction (Hinton's lecture 6e), PyTorch's arithmetic:
    ``s ← α s + (1 − α) g²``, ``u ← g / (√s + ε)``; centered: ``ḡ ← ḡ + (1 − α)(g − ḡ)`` and
    ``u ← g / (√(s − ḡ²) + ε)``.

    Args:
        alpha: α, the decay of the running mean of squares.
        eps: ε, added outside the square root.
        centered: divide by an estimate of the variance instead of the raw second moment.

    Returns:
        The transform; its state is ``square_avg`` (and ``grad_avg``).

    >>> import numpy as np
    >>> tx = scale_by_rms(alpha=0.75, eps=0.0)
    >>> p = [np.zeros(1)]
    >>> tx.update([np.array([2.0])], tx.init(p), p)   # s = 0.25 * 4 = 1, u = 2 / 1
    [array([2.])]
    """
    alpha, eps, centered = float(alpha), float(eps), bool(centered)

    def init(params: Sequence[Array]) -> State:
        state: State = {"square_avg": _zeros(params)}
        if centered:
            state["grad_avg"] = _zeros(params)
        state["_tmp"] = _workspace(params)
        return state

    def update(updates: list[Array], state: State, params: Sequence[Array]) -> list[Array]:
        xp = _xp(updates)
        ss, tmps = state["square_avg"], state["_tmp"]
        for i, u in enumerate(updates):
            s, tmp = ss[i], tmps[i]
            s *= alpha
            xp.multiply(u, u, out=tmp)
            tmp *= 1.0 - alpha
            s += tmp
            if centered:
                ga = state["grad_avg"][i]
                xp.subtract(u, ga, out=tmp)
                tmp *= 1.0 - alpha
                ga += tmp
                xp.multiply(ga, ga, out=tmp)
                xp.subtract(s, tmp, out=tmp)
                xp.sqrt(tmp, out=tmp)
            else:
                xp.sqrt(s, out=tmp)
            tmp += eps
            u /= tmp
        return updates

    return Transform(init, update)


def scale_by_rss(initial_accumulator_value: float = 0.0, eps: float = 1e-10) -> Transform:
    """Adagrad's direction (Duchi et al. 2011): ``S ← S + g²``, ``u ← g / (√S + ε)``.

    Args:
        initial_accumulator_value: the starting value of the sum of squares ``S``.
        eps: ε, added outside the square root.

    Returns:
        The transform; its state is ``sum``.

    >>> import numpy as np
    >>> tx = scale_by_rss(eps=0.0)
    >>> p = [np.zeros(1)]
    >>> state = tx.init(p)
    >>> _ = tx.update([np.array([3.0])], state, p)
    >>> tx.update([np.array([4.0])], state, p)   # 4 / √(9 + 16)
    [array([0.8])]
    """
    initial_accumulator_value, eps = float(initial_accumulator_value), float(eps)

    def init(params: Sequence[Array]) -> State:
        return {"sum": [get_backend(p).xp.full_like(p, initial_accumulator_value) for p in params],
                "_tmp": _workspace(params)}

    def update(updates: list[Array], state: State, params: Sequence[Array]) -> list[Array]:
        xp = _xp(updates)
        for u, s, tmp in zip(updates, state["sum"], state["_tmp"]):
            xp.multiply(u, u, out=tmp)
            s += tmp
            xp.sqrt(s, out=tmp)
            tmp += eps
            u /= tmp
        return updates

    return Transform(init, update)


__all__ = [
    "Transform", "chain", "scale", "scale_by_schedule", "add_decayed_weights", "trace",
    "scale_by_adam", "scale_by_rms", "scale_by_rss",
]
