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

import os
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

    def run(self, tx: Transform, batch: Batch, neg_lr: float) -> None:
        """Run the chain on a batch from :meth:`gather` and apply ``θ ← θ − lr · u``."""
        apply_chain(tx, batch, neg_lr)

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


def apply_chain(tx: Transform, batch: Batch, neg_lr: float) -> None:
    """Run the chain over whole arrays, then ``θ ← θ + (−lr) · u`` in place."""
    updates, state, datas = batch
    updates = tx.update(updates, state, datas)
    for d, u in zip(datas, updates):
        u *= neg_lr
        d += u


def flattenable(params: list[Tensor]) -> bool:
    """Whether a group can live in one buffer: more than one parameter, one dtype, one device."""
    first = params[0].data
    return len(params) > 1 and all(is_device(p.data) == is_device(first)
                                   and p.data.dtype == first.dtype for p in params)


BLOCK = 1 << 17
"""Elements per block of a blocked flat step (float32: 512 KB per array; Adam touches five:
update, two moments, scratch, parameters). Measured on 4.7M parameters: 32K elements 16.5 ms,
128K 14.4 ms, 512K 14.9 ms, whole buffer 30.7 ms per step on one thread."""

_POOL: list[Any] = []


def step_threads() -> int:
    """Threads for a blocked step: ``CHAINRULE_NUM_THREADS``, else ``OMP_NUM_THREADS`` (the
    variable BLAS and PyTorch read), else the CPU count; at most 8."""
    for var in ("CHAINRULE_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.strip().isdigit() and int(value) > 0:
            return min(int(value), 8)
    return min(os.cpu_count() or 1, 8)


def _pool() -> Any:
    # one pool per process, made on the first large multi-threaded step (a forked child has
    # the parent's pool object but not its threads, so it makes its own)
    if not _POOL or _POOL[0] != os.getpid():
        from concurrent.futures import ThreadPoolExecutor
        _POOL[:] = [os.getpid(), ThreadPoolExecutor(max_workers=8, thread_name_prefix="chainrule-optim")]
    return _POOL[1]


def _run_blocks(flat: Flat, tx: Transform, state: State, grads: list[Any], starts: list[int],
                part: int, neg_lr: float) -> dict[str, list]:
    """One thread's share of a blocked step; returns the step counters after the step."""
    n, bounds = flat.P.size, flat.bounds
    U, P = flat.U, flat.P
    arrays = {k: v[0] for k, v in state.items() if not k.startswith("_") and hasattr(v[0], "shape")}
    scratch = {k: v[0][part * BLOCK:(part + 1) * BLOCK] for k, v in state.items() if k.startswith("_")}
    counters = {k: v for k, v in state.items() if k not in arrays and k not in scratch}
    blk: State = {}
    for s in starts:
        e = min(s + BLOCK, n)
        for k, a in arrays.items():
            blk[k] = [a[s:e]]
        for k, a in scratch.items():
            blk[k] = [a[:e - s]]
        for k, v in counters.items():
            blk[k] = list(v)  # each block counts from the same step
        j = int(np.searchsorted(bounds, s, side="right")) - 1
        while bounds[j] < e:  # the gradients that overlap this block
            lo, hi = max(s, bounds[j]), min(e, bounds[j + 1])
            U[lo:hi] = grads[j][lo - bounds[j]:hi - bounds[j]]
            j += 1
        apply_chain(tx, ([U[s:e]], blk, [P[s:e]]), neg_lr)
    return {k: blk[k] for k in counters}


def _blockable(state: State) -> bool:
    # entries created on the first step (None) must be made whole, not block by block
    return all(v[0] is not None and (hasattr(v[0], "shape") or isinstance(v[0], (int, float)))
               for v in state.values())


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
        self.blocked = self.P.size > 2 * BLOCK and not is_device(self.P)
        """Whether steps run block by block (:meth:`run`): a large group in host memory."""
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
        if self._sync_in(copy=not self.blocked):
            return self._batch
        self.dirty = True  # the per-parameter step changes state behind the flat view
        return self.per_param.gather()

    def run(self, tx: Transform, batch: Batch, neg_lr: float) -> None:
        """Run the chain and the update over the flat buffer one cache-sized block at a time.

        Over a whole buffer, each of Adam's dozen NumPy calls is a pass over main memory; block
        by block, a block's arrays stay in the CPU cache from one call to the next, and the
        gradients are copied in block by block too. Blocks are independent, so they are shared
        out among :func:`step_threads` threads (NumPy releases the GIL inside each call). Every
        element goes through the same operations in the same order, so the result is
        bit-identical to the whole-buffer run whatever the block size or thread count. Small
        groups, and steps that create state (momentum's first step), run whole.
        """
        updates, state, datas = batch
        if state is not self.flat_state or not self.blocked:
            apply_chain(tx, batch, neg_lr)
            return
        grads = [p.grad.reshape(-1) for p in self.params]  # gather checked: none is None
        if not _blockable(state):
            for u, g in zip(self.update_views, grads):
                u.reshape(-1)[...] = g
            apply_chain(tx, batch, neg_lr)
            return
        n = self.P.size
        starts = list(range(0, n, BLOCK))
        parts = max(1, min(step_threads(), len(starts) // 2))
        step = -(-len(starts) // parts)
        jobs = [(self, tx, state, grads, starts[k * step:(k + 1) * step], k, neg_lr)
                for k in range(parts)]
        if parts == 1:
            counters = _run_blocks(*jobs[0])
        else:
            counters = [f.result() for f in [_pool().submit(_run_blocks, *job) for job in jobs]][0]
        state.update(counters)

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

    def _sync_in(self, copy: bool = True) -> bool:
        """Gather the gradients into the update buffer (unless ``copy`` is False: :meth:`run`
        then copies them block by block) and bring back anything changed behind the buffers'
        back; False if the flat step can't run."""
        for j, (p, view, u) in enumerate(zip(self.params, self.param_views, self.update_views)):
            g = p.grad
            if g is None:
                return False
            if p.data is not view:  # rebound (load, .to(), user code): take its values back
                self._rebind(j, p, view)
            if copy:
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
