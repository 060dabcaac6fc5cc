"""The thin :class:`Optimizer` base: parameter groups, the in-place step, state dicts.

The math lives in :mod:`chainrule.optim.transforms`. An optimizer only says which chain of
transforms a parameter group uses (:meth:`Optimizer._transform`); this class copies each
``.grad`` into an update buffer, runs the chain, and applies ``θ ← θ − lr · u`` in place on
``p.data``. The final ``scale(-lr)`` is done here rather than inside the chain so that the
learning rate is read from the group at every step (schedulers change ``group["lr"]``) without
rebuilding anything.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd import enable_grad
from ..backend import get_backend
from ..errors import ConfigError, StateError
from ..tensor import Tensor
from .transforms import State, Transform, chain

# group entries that never change the chain: read every step, or bookkeeping of schedulers
_NOT_STRUCTURAL = ("params", "lr", "initial_lr")


class Optimizer:
    """Base class: updates parameters in place from their ``.grad``, PyTorch-style.

    Subclasses give the defaults and implement :meth:`_validate` (hyperparameter checks that
    raise :class:`ConfigError`) and :meth:`_transform` (the group's chain of transforms, without
    the final ``scale(-lr)``).

    Args:
        params: an iterable of Tensors, or of dicts with a ``"params"`` entry and per-group
            hyperparameters (those not given come from ``defaults``).
        defaults: the default hyperparameters.

    Raises:
        ConfigError: an empty parameter list, a parameter that is not a float Tensor, a
            parameter in two groups, or an invalid hyperparameter.

    Attributes:
        param_groups: list of dicts, each with ``"params"`` (a list of Tensors) and its
            hyperparameters; changing ``group["lr"]`` takes effect at the next step.
        defaults: the default hyperparameters.
        flat: run each group's update once over one contiguous buffer (default True). On the
            first step each parameter's ``.data`` is re-bound to a view of that buffer (the
            Parameter objects stay the same); set it to False before the first step to keep
            the original arrays and update per parameter.

    >>> import chainrule as cr
    >>> from chainrule.optim import SGD
    >>> w = cr.Tensor([1.0, 2.0], requires_grad=True)
    >>> b = cr.Tensor([0.5], requires_grad=True)
    >>> opt = SGD([{"params": [w]}, {"params": [b], "lr": 0.0}], lr=0.1)
    >>> ((w * w).sum() + b.sum()).backward()
    >>> opt.step()
    >>> w.data, b.data          # w - 0.1 * 2w; b has lr 0
    (array([0.8, 1.6], dtype=float32), array([0.5], dtype=float32))
    >>> opt.zero_grad(); w.grad is None
    True
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self._states: list[State | None] = []          # per group: name -> one entry per param
        self._buffers: list[list[Any] | None] = []     # per group: the update buffers
        self._chains: list[tuple[tuple, Transform] | None] = []
        self._flats: list[_Flat | None] = []            # per group: one-buffer fast path
        self.flat = True
        if isinstance(params, (Tensor, dict)):
            raise ConfigError(f"{type(self).__name__}: params must be an iterable of Tensors or of "
                              f"parameter-group dicts; got a single {type(params).__name__} "
                              "(wrap it in a list)")
        groups = list(params)
        if not groups:
            raise ConfigError(f"{type(self).__name__} got an empty parameter list; expected at least "
                              "one Tensor (did the model have no parameters?)")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ----------------------------------------------------------------------------- groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (e.g. a layer to fine-tune).

        Args:
            param_group: a dict with ``"params"`` (a Tensor or an iterable of Tensors) and any
                hyperparameters that differ from the defaults.

        Raises:
            ConfigError: not a dict, a parameter that is not a float Tensor, a parameter that
                is already in a group, or an invalid hyperparameter.

        >>> import chainrule as cr
        >>> from chainrule.optim import Adam
        >>> opt = Adam([cr.Tensor([1.0], requires_grad=True)])
        >>> opt.add_param_group({"params": cr.Tensor([2.0], requires_grad=True), "lr": 0.1})
        >>> [g["lr"] for g in opt.param_groups]
        [0.001, 0.1]
        """
        name = type(self).__name__
        gi = len(self.param_groups)
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise ConfigError(f"{name}: parameter group {gi} must be a dict with a 'params' entry; "
                              f"got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise ConfigError(f"{name}: parameter group {gi} gives its params as a set, whose order "
                              "changes between runs; pass a list")
        else:
            params = list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for j, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise ConfigError(f"{name}: parameter {j} of group {gi} is a {type(p).__name__}; "
                                  "expected a Tensor")
            if p.data.dtype.kind != "f":
                raise ConfigError(f"{name}: parameter {j} of group {gi} has dtype {p.data.dtype}; "
                                  "expected a float Tensor")
            if id(p) in seen:
                raise ConfigError(f"{name}: parameter {j} of group {gi} appears more than once "
                                  "across parameter groups; each parameter may be in one group only")
            seen.add(id(p))
        group = dict(param_group)
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._validate(group, f"{name} parameter group {gi}")
        self.param_groups.append(group)
        self._states.append(None)
        self._buffers.append(None)
        self._chains.append(None)
        self._flats.append(None)

    def _validate(self, group: dict[str, Any], where: str) -> None:
        """Check a group's hyperparameters; raise :class:`ConfigError` naming ``where``."""
        check_number(group, "lr", "learning rate", where, lo=0.0)

    def _transform(self, group: dict[str, Any]) -> Transform:
        """The group's chain of transforms, without the final ``scale(-lr)``.

        The base class uses the gradient itself (plain gradient descent, θ ← θ − lr · g);
        subclasses return their rule built from the group's hyperparameters.
        """
        return chain()

    # ------------------------------------------------------------------------------ steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: ``.grad = None`` (or zeros in place).

        Args:
            set_to_none: set ``.grad`` to None (the default, and cheaper) instead of zeroing it.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place.

        Args:
            closure: optional; re-evaluates the model (zero_grad, forward, backward) and returns
                the loss. It runs with gradients enabled, before the update.

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for gi, group in enumerate(self.param_groups):
            self._step_group(gi, group)
        return loss

    def _chain(self, gi: int, group: dict[str, Any]) -> Transform:
        # NOTE: rebuilt only when a structural hyperparameter changes; lr is read every step.
        key = [v for k, v in group.items() if k not in _NOT_STRUCTURAL]  # (a list: cheaper)
        cached = self._chains[gi]
        if cached is not None and cached[0] == key:
            return cached[1]
        self._validate(group, f"{type(self).__name__} parameter group {gi}")
        tx = self._transform(group)
        self._chains[gi] = (key, tx)
        state = self._states[gi]
        if state is not None:
            # the chain changed shape (say momentum turned on): add the new state entries, drop
            # the ones no longer used, keep the rest
            fresh = tx.init([p.data for p in group["params"]])
            self._states[gi] = {k: state.get(k, v) if not k.startswith("_") else v
                                for k, v in fresh.items()}
            self._flats[gi] = None  # the flat state no longer matches the chain: per-parameter path
            self._buffers[gi] = [get_backend(p.data).xp.empty_like(p.data) for p in group["params"]]
        return tx

    def _init_group(self, gi: int, group: dict[str, Any], tx: Transform) -> State:
        params = group["params"]
        datas = [p.data for p in params]
        if self.flat and _flattenable(datas):
            flat = self._flats[gi] = _Flat(params, tx)
            state = self._states[gi] = flat.state
            self._buffers[gi] = flat.update_views
            return state
        self._flats[gi] = None
        state = self._states[gi] = tx.init(datas)
        self._buffers[gi] = [get_backend(d).xp.empty_like(d) for d in datas]
        return state

    def _step_group(self, gi: int, group: dict[str, Any]) -> None:
        tx = self._chain(gi, group)
        state = self._states[gi]
        if state is None:
            state = self._init_group(gi, group, tx)
        flat = self._flats[gi]
        if flat is not None:
            if flat.step(tx, float(group["lr"])):
                return
            flat.dirty = True  # the per-parameter path below changes state behind the flat view
        params = group["params"]
        bufs = self._buffers[gi]
        datas, updates, active = [], [], []
        for j, p in enumerate(params):
            g = p.grad
            if g is None:
                continue
            u = bufs[j]
            u[...] = g  # the chain works in place; the user's .grad stays as it was
            datas.append(p.data)
            updates.append(u)
            active.append(j)
        if not active:
            return
        if len(active) == len(params):
            updates = tx.update(updates, state, datas)
        else:
            sub = {k: [v[j] for j in active] for k, v in state.items()}
            updates = tx.update(updates, sub, datas)
            for k, v in sub.items():
                whole = state[k]
                for j, entry in zip(active, v):
                    whole[j] = entry
        neg_lr = -float(group["lr"])
        for d, u in zip(datas, updates):
            u *= neg_lr
            d += u

    # ---------------------------------------------------------------------- state dicts
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data: copies, safe to save (no objects).

        Returns:
            ``{"state": {index: {name: array or number}}, "param_groups": [{hyperparameters...,
            "params": [indices]}]}``, where parameters are numbered across groups in order,
            as in PyTorch. Parameters that have not been updated yet have no entry.

        >>> import chainrule as cr
        >>> from chainrule.optim import SGD
        >>> w = cr.Tensor([1.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward(); opt.step()
        >>> opt.state_dict()["state"]
        {0: {'momentum_buffer': array([2.], dtype=float32)}}
        """
        return {"state": self._state_entries(), "param_groups": self._group_entries()}

    def _group_entries(self) -> list[dict[str, Any]]:
        out, start = [], 0
        for group in self.param_groups:
            entry = {k: v for k, v in group.items() if k != "params"}
            entry["params"] = list(range(start, start + len(group["params"])))
            start += len(group["params"])
            out.append(entry)
        return out

    def _state_entries(self) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        start = 0
        for group, state in zip(self.param_groups, self._states):
            if state is not None:
                for j in range(len(group["params"])):
                    entry = {k: _host_copy(v[j]) for k, v in state.items()
                             if not k.startswith("_") and v[j] is not None}
                    if entry:
                        out[start + j] = entry
            start += len(group["params"])
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and state saved by :meth:`state_dict` (the arrays are copied
        onto each parameter's dtype and device).

        Args:
            state_dict: the dict :meth:`state_dict` returned; state keys may be ints or strings
                of ints (as after a JSON round trip), tuples may have become lists.

        Raises:
            StateError: the groups or their sizes do not match this optimizer, or a state entry
                is unknown, missing or of the wrong shape.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise StateError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             f"'param_groups'; got {_describe(state_dict)}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise StateError(f"{name}.load_state_dict: the state has {len(saved_groups)} parameter "
                             f"groups; this optimizer has {len(self.param_groups)}")
        where: dict[int, tuple[int, int]] = {}
        for gi, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if not isinstance(saved, dict) or "params" not in saved:
                raise StateError(f"{name}.load_state_dict: parameter group {gi} of the state must be "
                                 f"a dict with a 'params' entry; got {_describe(saved)}")
            if len(saved["params"]) != len(group["params"]):
                raise StateError(f"{name}.load_state_dict: parameter group {gi} has "
                                 f"{len(saved['params'])} parameters in the state and "
                                 f"{len(group['params'])} here")
            for j, index in enumerate(saved["params"]):
                where[int(index)] = (gi, j)
        saved_state = {}
        for index, entry in state_dict["state"].items():
            if int(index) not in where:
                raise StateError(f"{name}.load_state_dict: state for parameter {index}, which is in "
                                 "no parameter group")
            saved_state[int(index)] = entry
        for gi, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            for k, v in saved.items():
                if k != "params":
                    group[k] = tuple(v) if isinstance(v, list) and isinstance(group.get(k), tuple) else v
            self._validate(group, f"{name}.load_state_dict parameter group {gi}")
            self._chains[gi] = None
            self._states[gi] = None
        self._load_state_entries(saved_state, where)

    def _load_state_entries(self, saved_state: dict[int, dict[str, Any]],
                            where: dict[int, tuple[int, int]]) -> None:
        name = type(self).__name__
        for gi, group in enumerate(self.param_groups):
            tx = self._chain(gi, group)
            self._init_group(gi, group, tx)
            if self._flats[gi] is not None:
                self._flats[gi].dirty = True  # entries below replace the flat state's views
        for index, entry in saved_state.items():
            gi, j = where[index]
            state, p = self._states[gi], self.param_groups[gi]["params"][j]
            for k, v in entry.items():
                if k not in state or k.startswith("_"):
                    known = sorted(s for s in state if not s.startswith("_"))
                    raise StateError(f"{name}.load_state_dict: unexpected state entry {k!r} for "
                                     f"parameter {index}; expected some of {known}")
                state[k][j] = _restore(v, state[k][j], p.data, f"{name}.load_state_dict: state "
                                       f"entry {k!r} of parameter {index}")
            for k, v in state.items():
                if not k.startswith("_") and k not in entry and v[j] is not None:
                    raise StateError(f"{name}.load_state_dict: parameter {index} has state "
                                     f"{sorted(entry)} but is missing {k!r}")

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for gi, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {gi}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])


# ------------------------------------------------------------------------ flat buffers
def _flattenable(datas: list[Any]) -> bool:
    first = datas[0]
    return len(datas) > 1 and all(type(d) is type(first) and d.dtype == first.dtype for d in datas)


class _Flat:
    """One contiguous buffer for a group's parameters, updates and state.

    The chain of transforms then runs once over the whole group instead of once per
    parameter: Adam is ten NumPy calls per step for the model, not ten per tensor (see
    PERF-NOTES). ``p.data`` becomes a view into the parameter buffer; each state entry the
    per-parameter API shows (``state_dict``) is a view into its flat array, so both views agree.
    Each step copies the gradients into the update buffer, so ``.grad`` keeps PyTorch's
    semantics (fresh arrays, None after ``zero_grad``). When that cannot hold (a parameter
    without a gradient, step counts that differ), :meth:`step` says so and the optimizer takes
    the per-parameter path for that step, on the same state.
    """

    def __init__(self, params: list[Tensor], tx: Transform) -> None:
        self.params = params
        datas = [p.data for p in params]
        xp = get_backend(datas[0]).xp
        self.shapes = [d.shape for d in datas]
        self.bounds = np.cumsum([0] + [d.size for d in datas])
        self.P = xp.empty(int(self.bounds[-1]), dtype=datas[0].dtype)
        self.U = xp.empty_like(self.P)
        self.param_views = self._views(self.P)
        for p, v, d in zip(params, self.param_views, datas):
            v[...] = d
            p.data = v
        self.update_views = self._views(self.U)
        self.flat_state = tx.init([self.P])
        self.dirty = False  # True when per-parameter state may differ from the flat state
        self.state: State = {}
        self.state_views: dict[str, list[Any]] = {}
        for k, (v,) in self.flat_state.items():
            self._expose(k, v)

    def _views(self, flat: Any) -> list[Any]:
        b = self.bounds
        return [flat[b[j]:b[j + 1]].reshape(shape) for j, shape in enumerate(self.shapes)]

    def _expose(self, k: str, v: Any) -> None:
        n = len(self.params)
        if v is None or not hasattr(v, "shape"):
            self.state[k] = [v] * n
        else:
            self.state_views[k] = self._views(v)
            self.state[k] = list(self.state_views[k])

    def _sync_in(self) -> bool:
        """Gather the gradients into the update buffer and bring back anything changed behind
        the buffers' back; False if the flat step can't run."""
        for j, (p, view, u) in enumerate(zip(self.params, self.param_views, self.update_views)):
            g = p.grad
            if g is None:
                return False
            if p.data is not view:  # rebound (load, .to(), user code): take its values back
                d = p.data
                if type(d) is not type(view) or d.dtype != view.dtype or d.shape != view.shape:
                    raise ConfigError(
                        f"parameter {j} changed from {view.dtype} {view.shape} to {d.dtype} "
                        f"{d.shape} ({type(d).__module__}) after the optimizer was built; build "
                        "a new optimizer after Module.to() or other changes of dtype, shape or backend")
                view[...] = d
                p.data = view
            u[...] = g  # the chain works in place; the user's .grad stays as it was
        if not self.dirty:
            return True
        for k, entries in self.state.items():
            views = self.state_views.get(k)
            if views is not None:
                for j, e in enumerate(entries):
                    if e is not views[j]:  # replaced, e.g. by load_state_dict
                        if e is None:
                            return False
                        views[j][...] = e
                        entries[j] = views[j]
            elif all(e is None for e in entries):
                self.flat_state[k] = [None]
            elif hasattr(entries[0], "shape"):  # arrays from load_state_dict: gather them
                if any(e is None for e in entries):
                    return False
                xp = get_backend(self.P).xp
                flat = xp.concatenate([e.reshape(-1) for e in entries]).astype(self.P.dtype)
                self.flat_state[k] = [flat]
                self._expose(k, flat)
            elif entries[0] is None:
                return False
            else:
                if any(e != entries[0] for e in entries):
                    return False  # per-parameter counters differ
                self.flat_state[k] = [entries[0]]
        self.dirty = False
        return True

    def step(self, tx: Transform, lr: float) -> bool:
        if not self._sync_in():
            return False
        (u,) = tx.update([self.U], self.flat_state, [self.P])
        for k, (v,) in self.flat_state.items():
            if k in self.state_views:
                continue
            if v is not None and hasattr(v, "shape"):  # created on this step (momentum_buffer)
                self._expose(k, v)
            else:
                self.state[k][:] = [v] * len(self.params)
        u *= -lr
        self.P += u
        return True


# ---------------------------------------------------------------------------- helpers
def check_number(group: dict[str, Any], key: str, label: str, where: str, lo: float | None = None,
                 hi: float | None = None, lo_open: bool = False, hi_open: bool = False) -> float:
    """``group[key]`` as a float within the bounds, or a :class:`ConfigError` naming it."""
    value = group[key]
    bounds = []
    if lo is not None:
        bounds.append(f"{key} {'>' if lo_open else '>='} {lo:g}")
    if hi is not None:
        bounds.append(f"{key} {'<' if hi_open else '<='} {hi:g}")
    expected = " and ".join(bounds) or f"{key} a number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ConfigError(f"Invalid {label}: {value!r} (expected a number, {expected}) in {where}")
    ok = (lo is None or (value > lo if lo_open else value >= lo)) and \
         (hi is None or (value < hi if hi_open else value <= hi))
    if not ok:
        raise ConfigError(f"Invalid {label}: {value} (expected {expected}) in {where}")
    return float(value)


def _describe(x: Any) -> str:
    return f"a dict with keys {sorted(map(str, x))}" if isinstance(x, dict) else type(x).__name__


def _host_copy(v: Any) -> Any:
    if isinstance(v, (numbers.Number, str)) or v is None:
        return v
    return np.array(get_backend(v).asnumpy(v), copy=True)


def _restore(value: Any, current: Any, param: Any, where: str) -> Any:
    """A saved state entry in the form of ``current`` (its fresh value): number or array."""
    if isinstance(current, numbers.Number) and not hasattr(current, "shape"):
        try:
            return type(current)(value)
        except (TypeError, ValueError) as exc:
            raise StateError(f"{where}: expected a number; got {type(value).__name__}") from exc
    arr = np.asarray(get_backend(value).asnumpy(value))
    if arr.shape != param.shape:
        raise StateError(f"{where}: shape {arr.shape}; expected the parameter's shape {param.shape}")
    xp = get_backend(param).xp
    out = xp.empty_like(param)
    out[...] = xp.asarray(arr)
    return out
