"""Where a parameter group's arrays live while an optimizer steps: one array per parameter,
or one flat buffer for the whole group.

Both layouts answer the same two calls, so :meth:`Optimizer.step` has one body for both:

- ``gather()``: copy each ``.grad`` into its update buffer and return ``(updates, state,
  params)``, the lists the chain of transforms runs on (None when no parameter has a gradient);
- ``finish(state)``: put back what the chain changed in the state it was given.

:class:`PerParam` is the plain layout: one array per parameter. :class:`Flat` keeps the group in
one contiguous buffer, so the chain runs once over the whole group (Adam is ten NumPy calls per
step for the model, not ten per tensor; see PERF-NOTES); when a step cannot run on the flat
buffer it hands that step to a :class:`PerParam` over views of the same buffers.
Both keep ``state``, the per-parameter view of the state (one entry per parameter) that
``state_dict`` saves and ``load_state_dict`` fills.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import array_module, get_backend, is_device
from ..errors import ConfigError
from ..tensor import Tensor
from .transforms import State, Transform

Batch = tuple[list[Any], State, list[Any]]


class PerParam:
    """One array per parameter: the chain runs over the parameters that have a gradient.

    Args:
        params: the group's parameters.
        state: the chain's state, one entry per parameter.
        updates: one update buffer per parameter (the user's ``.grad`` is copied in, never
            changed).
    """

    def __init__(self, params: list[Tensor], state: State, updates: list[Any]) -> None:
        self.params, self.state, self.updates = params, state, updates
        self._active: list[int] = []

    @classmethod
    def fresh(cls, params: list[Tensor], tx: Transform) -> PerParam:
        """A new layout with the chain's initial state."""
        datas = [p.data for p in params]
        return cls(params, tx.init(datas), [array_module(d).empty_like(d) for d in datas])

    def gather(self) -> Batch | None:
        """The parameters with a gradient, their update buffers and their part of the state."""
        datas, updates, active = [], [], []
        for j, (p, u) in enumerate(zip(self.params, self.updates)):
            g = p.grad
            if g is None:
                continue
            u[...] = g  # the chain works in place; the user's .grad stays as it was
            datas.append(p.data)
            updates.append(u)
            active.append(j)
        if not active:
            return None
        if len(active) == len(self.params):
            return updates, self.state, datas
        # NOTE: a parameter without a gradient keeps its state (and step count) untouched
        self._active = active
        return updates, {k: [v[j] for j in active] for k, v in self.state.items()}, datas

    def finish(self, state: State) -> None:
        """Write the entries of a partial step back into the whole state."""
        if state is self.state:
            return
        for k, entries in state.items():
            whole = self.state[k]
            for j, entry in zip(self._active, entries):
                whole[j] = entry

    def rechain(self, tx: Transform) -> PerParam:
        """The layout for a new chain (say momentum turned on): new state entries are added,
        the ones no longer used dropped, the rest kept."""
        fresh = tx.init([p.data for p in self.params])
        state = {k: self.state.get(k, v) if not k.startswith("_") else v for k, v in fresh.items()}
        return PerParam(self.params, state, [array_module(p.data).empty_like(p.data)
                                             for p in self.params])

    def replaced(self) -> None:
        """Entries of :attr:`state` were replaced from outside (``load_state_dict``)."""


def flattenable(params: list[Tensor]) -> bool:
    """Whether a group can live in one buffer: more than one parameter, one dtype, one device."""
    first = params[0].data
    return len(params) > 1 and all(is_device(p.data) == is_device(first)
                                   and p.data.dtype == first.dtype for p in params)


class Flat:
    """One contiguous buffer for a group's parameters, updates and state.

    ``p.data`` becomes a view into the parameter buffer ``P`` (the Parameter objects stay the
    same); each state entry of the per-parameter view (:attr:`state`) is a view into its flat
    array, so both agree. Each step copies the gradients into the update buffer ``U``, so
    ``.grad`` keeps PyTorch's semantics (fresh arrays, None after ``zero_grad``). When that
    cannot hold (a parameter without a gradient, step counts that differ), :meth:`gather` hands
    the step to the per-parameter layout over the same views and marks the flat state
    ``dirty``; the next flat step first gathers back what changed.

    Args:
        params: the group's parameters (see :func:`flattenable`).
        tx: the group's chain of transforms.
    """

    def __init__(self, params: list[Tensor], tx: Transform) -> None:
        self.params = params
        datas = [p.data for p in params]
        xp = array_module(datas[0])
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
        self.dirty = False  # True when the per-parameter state may differ from the flat state
        self.state: State = {}
        self.state_views: dict[str, list[Any]] = {}
        for k, (v,) in self.flat_state.items():
            self._expose(k, v)
        self.per_param = PerParam(params, self.state, self.update_views)
        self._batch: Batch = ([self.U], self.flat_state, [self.P])

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

    def gather(self) -> Batch | None:
        """The flat buffers, or the per-parameter layout's batch when the flat step can't run."""
        if self._sync_in():
            return self._batch
        self.dirty = True  # the per-parameter step changes state behind the flat view
        return self.per_param.gather()

    def finish(self, state: State) -> None:
        """Show entries the step created (a momentum buffer, step counts) per parameter."""
        if state is not self.flat_state:
            self.per_param.finish(state)
            return
        for k, (v,) in state.items():
            if k in self.state_views:
                continue
            if v is not None and hasattr(v, "shape"):  # created on this step (momentum_buffer)
                self._expose(k, v)
            else:
                self.state[k][:] = [v] * len(self.params)

    def rechain(self, tx: Transform) -> PerParam:
        """The per-parameter layout for a new chain, keeping the state (see PerParam.rechain)."""
        return self.per_param.rechain(tx)

    def replaced(self) -> None:
        """Entries of :attr:`state` were replaced: gather them in before the next flat step."""
        self.dirty = True

    def _sync_in(self) -> bool:
        """Gather the gradients into the update buffer and bring back anything changed behind
        the buffers' back; False if the flat step can't run."""
        for j, (p, view, u) in enumerate(zip(self.params, self.param_views, self.update_views)):
            g = p.grad
            if g is None:
                return False
            if p.data is not view:  # rebound (load, .to(), user code): take its values back
                self._rebind(j, p, view)
            u[...] = g  # the chain works in place; the user's .grad stays as it was
        if self.dirty:
            if not self._sync_state():
                return False
            self.dirty = False
        return True

    def _rebind(self, j: int, p: Tensor, view: Any) -> None:
        d = p.data
        if is_device(d) != is_device(view) or d.dtype != view.dtype or d.shape != view.shape:
            raise ConfigError(
                f"parameter {j} changed from {view.dtype} {view.shape} to {d.dtype} {d.shape} "
                f"({get_backend(d).name}) after the optimizer was built; build a new optimizer "
                "after Module.to() or other changes of dtype, shape or backend")
        view[...] = d
        p.data = view

    def _sync_state(self) -> bool:
        """Gather per-parameter state that changed (a per-parameter step, a load) into the flat
        state; False if it can't be one flat state (counters that differ, a missing entry)."""
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
                xp = array_module(self.P)
                flat = xp.concatenate([e.reshape(-1) for e in entries]).astype(self.P.dtype)
                self.flat_state[k] = [flat]
                self._expose(k, flat)
            elif entries[0] is None or any(e != entries[0] for e in entries):
                return False  # per-parameter counters differ
            else:
                self.flat_state[k] = [entries[0]]
        return True
