"""A compiled training step: record one eager step, then replay it as a flat list of calls.

:func:`compile_step` (and ``fit(..., compile=True)``) runs the first steps of each input shape
eagerly while recording them: every op :func:`chainrule.tensor.apply` runs (its class, input
arrays and parameters), every random draw of dropout, and the order in which ``backward``
calls the ops' reverse rules. When two recorded steps agree, later steps of that shape replay
the record: the same ops' ``forward`` and ``vjp`` on raw arrays, cotangents summed in the
engine's order, no Tensor objects and no graph. The results are bit-identical to the eager
step because the arithmetic is the same calls in the same order; only the bookkeeping
around them (Tensor objects, graph nodes, the backward heap) is gone.

The optimizer is called as it is (``zero_grad`` and ``step``), so learning-rate schedules,
changed hyperparameters and new state work unchanged: ``.grad`` holds each parameter's
gradient as in eager mode.

A step is recorded again when the inputs' shapes or dtypes change (the last short batch
keeps its own record), when a parameter's array is replaced, when a module's training mode
changes or a hook is added. A step that cannot be replayed falls back to eager, with one
warning: an op sequence or constant that differs between two recordings (control flow or
numbers that depend on the data), a value read during the forward pass (``item``,
``bool``, ``float``, ``numpy``), a module buffer changed by the step (batch norm's running
statistics), an optimizer that needs a closure (L-BFGS), a gradient into a tensor the
optimizer does not hold, forward hooks.

What a replay cannot see: the model's Python code runs only while recording, so its side
effects (a counter, a print) do not happen on replays, and code that chooses ops by reading
the arrays themselves (``.data`` with NumPy) is caught only if the op sequence or a constant
differed between the two records. Class labels are still checked on every replay.

>>> import numpy as np, chainrule as cr
>>> from chainrule import nn, optim
>>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
>>> opt = optim.SGD(model.parameters(), lr=0.1)
>>> step = compile_step(model, nn.CrossEntropyLoss(), opt)
>>> x, y = np.ones((5, 3), np.float32), np.array([0, 1, 0, 1, 0])
>>> losses = [step(x, y).item() for _ in range(4)]   # 2 recorded, then 2 replayed
>>> step.replays
2
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .backend import get_backend
from .engine import MODE, no_grad, unbroadcast
from .nn.hooks import Version as HookVersion
from .ops import SoftmaxCrossEntropy
from .optim import Optimizer
from .ops.shape import Scatter
from .tensor import Tensor

__all__ = ["CompiledStep", "compile_step"]

#: Tensor methods that read values into Python; called while recording, they make the step
#: depend on the data, so it is not replayed.
_READS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__array__")
_RETRACES = 8  # records of one input shape before giving up on replaying it
_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


class Untraceable(Exception):
    """Why a recorded step cannot be replayed (internal: it becomes a warning)."""


def _same(a: Any, b: Any) -> bool:
    """Whether two recorded constants or parameters are the same value."""
    if a is b:
        return True
    if hasattr(a, "shape") and hasattr(b, "shape"):
        return (type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
                and bool(get_backend(a).xp.array_equal(a, b)))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return False


class _Record:
    """One eager step as seen by the tracer: the ops in order, where each of their arrays
    came from, the random draws, and backward's order of reverse rules."""

    def __init__(self, inputs: Sequence[Any], params: list[Tensor]) -> None:
        self.keep: list[Any] = list(inputs)  # every array seen stays alive: ids stay unique
        self.where: dict[int, tuple] = {id(a): ("in", i) for i, a in enumerate(inputs)}
        for j, p in enumerate(params):
            self.where.setdefault(id(p.data), ("param", j))
        self.inputs = list(inputs)
        self.calls: list[tuple] = []  # (kind, fn or op class, node, arg sources, params, needs)
        self.nodes: dict[int, int] = {}  # id(node) -> index of its call
        self.order: list[tuple] = []  # (node, which cotangents it gave) in backward's order
        self.reads = 0
        self.first_shapes: dict[int, tuple] = {}  # call index -> its first input's shape
        self.loss: Any = None
        self.out: Any = None

    def source(self, a: Any) -> tuple:
        """Where array ``a`` comes from: an input, a parameter, an earlier call, a cast of an
        input, or a constant (kept by value)."""
        if a is None or not hasattr(a, "shape"):
            return ("const", a)
        found = self.where.get(id(a))
        if found is not None:
            return found
        for i, x in enumerate(self.inputs):  # labels cast to indices, targets to the model dtype
            if hasattr(x, "shape") and x.shape == a.shape and x.dtype != a.dtype \
                    and type(x) is type(a) and bool(get_backend(a).xp.array_equal(x.astype(a.dtype), a)):
                return ("cast", i, a.dtype)
        self.keep.append(a)
        return ("const", a)

    def param_sources(self, params: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in params.items():
            if hasattr(v, "shape"):
                out[k] = self.source(v)
            elif isinstance(v, tuple) and any(hasattr(e, "shape") for e in v):
                out[k] = ("tuple", tuple(self.source(e) for e in v))
            else:
                out[k] = ("const", v)
        return out

    def __call__(self, node: Any, args: Sequence[Any], arrays: Sequence[Any],
                 params: dict[str, Any], t: Tensor) -> None:
        """The hook :func:`chainrule.tensor.apply` calls for every op."""
        srcs = tuple(self.source(a) for a in arrays)
        self.calls.append(("op", type(node), node, srcs, self.param_sources(params),
                           node.needs_grad, node.xp))
        k = len(self.calls) - 1
        self.first_shapes[k] = getattr(arrays[0], "shape", ())
        self.where[id(t.data)] = ("call", k)
        self.keep.append(t.data)
        if t._node is node:
            self.nodes[id(node)] = k

    def host(self, fn: Callable, args: tuple, out: Any) -> None:
        """A value computed outside the ops (dropout's random mask): replayed by calling
        ``fn(*args)`` at the same place."""
        self.calls.append(("host", fn, None, tuple(self.source(a) for a in args), {}, (), None))
        self.where[id(out)] = ("call", len(self.calls) - 1)
        self.keep.append(out)

    def watch_backward(self) -> None:
        """Wrap each recorded node's vjp so that backward's order of calls is recorded."""
        for kind, _, node, *_ in self.calls:
            if kind == "op" and id(node) in self.nodes:
                def vjp(g: Any, rule: Any = node.vjp, node: Any = node,
                        order: list = self.order) -> Any:
                    cotangents = rule(g)
                    order.append((node, tuple(c is not None for c in cotangents)))
                    return cotangents
                node.vjp = vjp

    def same_as(self, other: _Record) -> bool:
        """Whether ``other`` recorded the same program (ops, parameters, constants, order)."""
        if len(self.calls) != len(other.calls) or len(self.order) != len(other.order):
            return False
        for a, b in zip(self.calls, other.calls):
            if a[0] != b[0] or a[1] is not b[1] or a[5] != b[5] or not _same(a[3], b[3]) \
                    or a[4].keys() != b[4].keys() or not all(_same(a[4][k], b[4][k]) for k in a[4]):
                return False
        return [(self.nodes[id(n)], given) for n, given in self.order] \
            == [(other.nodes[id(n)], given) for n, given in other.order]


class _Program:
    """A record turned into flat lists of calls over one list of values (``env``)."""

    # NOTE: one function: it lays out the slots of every value once, so that the replay
    # loops below are plain list indexing.
    def __init__(self, rec: _Record, params: list[Tensor], n_updated: int, loss: Tensor,
                 out: Any) -> None:
        n_in = len(rec.inputs)
        self.env: list[Any] = [None] * (n_in + len(params) + len(rec.calls))
        first_param, first_call = n_in, n_in + len(params)
        self.casts: list[tuple[int, int, Any]] = []

        def slot(src: tuple) -> int:
            kind = src[0]
            if kind == "in":
                return src[1]
            if kind == "param":
                return first_param + src[1]
            if kind == "call":
                return first_call + src[1]
            self.env.append(None if kind == "const" else src)
            if kind == "const":
                self.env[-1] = src[1]
            else:  # a cast of an input, made once per replay
                self.casts.append((len(self.env) - 1, src[1], src[2]))
            return len(self.env) - 1

        self.forward: list[tuple] = []
        self.labels: list[tuple[int, int]] = []  # (slot, number of classes)
        self.ops: dict[int, Any] = {}  # call index -> the op instance the replay runs
        for k, (kind, what, _, srcs, psrc, needs, xp) in enumerate(rec.calls):
            slots = tuple(slot(s) for s in srcs)
            fixed, dyn = {}, []
            for name, s in psrc.items():
                if s[0] == "const":
                    fixed[name] = s[1]
                elif s[0] == "tuple":
                    dyn.append((name, tuple(slot(e) for e in s[1]), True))
                else:
                    dyn.append((name, slot(s), False))
            if kind == "op":
                op = what()
                op.xp, op.needs_grad = xp, needs
                self.ops[k] = op
                fn = op.forward
            else:
                fn = what
            self.forward.append((fn, slots, fixed, dyn, first_call + k))
            if what is SoftmaxCrossEntropy and psrc["target"][0] in ("in", "cast"):
                # class labels from the batch: checked on every replay, as the loss does
                self.labels.append((slot(psrc["target"]), rec.first_shapes[k][-1]))
        for j, p in enumerate(params):  # the guard (CompiledStep._unchanged) keeps them these
            self.env[first_param + j] = p.data
        self.loss_slot = first_call + rec.nodes[id(loss._node)]
        self.root = (get_backend(loss.data).xp, loss.data.shape, loss.data.dtype)
        if id(getattr(out, "data", None)) not in rec.where:
            raise Untraceable("the model's output is not made by ops of the step")
        self.out_slot = slot(rec.where[id(out.data)])
        self.backward = self._schedule(rec, params[:n_updated], first_call)
        # zero_grad as Optimizer does it, for the parameters backward does not assign
        graded = {-1 - o[1] for *_, outs in self.backward for o in outs if o[1] < 0}
        self.ungraded = [p for j, p in enumerate(params[:n_updated]) if j not in graded]

    def _schedule(self, rec: _Record, params: list[Tensor], first_call: int) -> list[tuple]:
        """Backward as (vjp, slot of its cotangent, [(input index, destination, first?, shape,
        dtype)]) in the recorded order; a destination is a call's cotangent slot or a
        parameter (negative: -1 - its index)."""
        index = {id(p): j for j, p in enumerate(params)}
        seen: set[Any] = set()
        steps = []
        for node, given in rec.order:
            k = rec.nodes[id(node)]
            outs = []
            for i, (t, need) in enumerate(zip(node.inputs, node.needs_grad)):
                if not need or not isinstance(t, Tensor) or i >= len(given) or not given[i]:
                    continue
                if t._node is not None and id(t._node) not in rec.nodes:
                    raise Untraceable("a gradient flows into a graph made before the step")
                if t._node is None:
                    if id(t) not in index:
                        raise Untraceable("a gradient flows into a tensor the optimizer does "
                                          "not update")
                    dest = -1 - index[id(t)]
                else:
                    dest = first_call + rec.nodes[id(t._node)]
                outs.append((i, dest, dest not in seen, t.data.shape, t.data.dtype))
                seen.add(dest)
            steps.append((self.ops[k].vjp, first_call + k, tuple(outs)))
        return steps

    # NOTE: the replay: one loop over the forward calls, one over the reverse rules; kept
    # whole because every helper call taken out of it would be paid on every step.
    def run(self, inputs: Sequence[Any], params: list[Tensor], on_loss: Callable | None,
            optimizer: Any) -> tuple[Any, Any] | None:
        """One replayed step; None (nothing done) when a batch's class label is out of range,
        for the eager step to say so."""
        env = self.env
        env[:len(inputs)] = inputs
        for s, i, dt in self.casts:
            env[s] = inputs[i].astype(dt)
        for s, n in self.labels:  # one reduction: seen as unsigned, a negative label is huge
            t = env[s]
            u = t.view(_UNSIGNED[t.dtype.itemsize])
            if t.size and int(np.maximum.reduce(u, axis=None) if type(u) is np.ndarray
                              else u.max()) >= n:
                return None
        get = env.__getitem__
        for fn, slots, fixed, dyn, out in self.forward:
            if dyn:
                fixed = dict(fixed)
                for name, s, many in dyn:
                    fixed[name] = tuple(map(get, s)) if many else env[s]
            env[out] = fn(*map(get, slots), **fixed)
        loss = env[self.loss_slot]
        if on_loss is not None:
            on_loss(loss)
        if type(optimizer).zero_grad is Optimizer.zero_grad:  # (its loop costs microseconds)
            for p in self.ungraded:
                p.grad = None
        else:
            optimizer.zero_grad()
        grads = [None] * len(env)  # pending cotangents by slot (a list: no hashing)
        xp, shape, dtype = self.root
        # (a 0-d root as the engine makes it: np.ones costs a microsecond more)
        grads[self.loss_slot] = xp.array(1, dtype=dtype) if not shape else xp.ones(shape, dtype)
        for vjp, gs, outs in self.backward:
            cots = vjp(grads[gs])
            grads[gs] = None
            for i, dest, first, shape, dtype in outs:
                gi = cots[i]
                if gi is None:
                    if first and dest < 0:
                        params[-1 - dest].grad = None
                    continue
                if type(gi) is Scatter:
                    if not first and dest >= 0:
                        cur = grads[dest] = gi.xp.array(grads[dest])
                        gi.add_into(cur)
                        continue
                    gi = gi.dense(dtype)
                if gi.shape != shape:
                    gi = unbroadcast(gi, shape)
                if gi.dtype is not dtype and gi.dtype != dtype:
                    gi = gi.astype(dtype)
                if dest >= 0:
                    grads[dest] = gi if first else grads[dest] + gi
                else:
                    p = params[-1 - dest]
                    p.grad = (gi.copy() if gi.base is not None else gi) if first else p.grad + gi
        optimizer.step()
        return loss, env[self.out_slot]


class CompiledStep:
    """One training step (forward, loss, ``zero_grad``, backward, ``step``), recorded once per
    input shape and replayed; see the module docstring.

    Args:
        model: a Module (or any callable with ``parameters()``).
        loss_fn: ``loss_fn(output, *targets) -> scalar Tensor``.
        optimizer: an optimizer over the model's parameters (``zero_grad`` and ``step``).

    Attributes:
        replays: how many steps were replayed (the rest ran eagerly).
        eager_reason: why the last step ran eagerly, or None.
    """

    def __init__(self, model: Any, loss_fn: Callable, optimizer: Any) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.replays = 0
        self.eager_reason: str | None = None
        self._warned: set[str] = set()
        self.reset()

    def reset(self) -> None:
        """Forget every record (after changing the model's structure, say)."""
        self._programs: dict[tuple, Any] = {}  # input signature -> _Program, _Record, or a reason
        self._tries: dict[tuple, int] = {}
        self.reset_guards()

    def __call__(self, x: Any, *targets: Any) -> Tensor:
        """One step on a batch; returns the loss (a Tensor cut from any graph)."""
        return self.run([x, *targets])[0]

    def run(self, batch: Sequence[Any], on_loss: Callable[[Any], None] | None = None
            ) -> tuple[Tensor, Tensor]:
        """One step on ``batch`` = (x, target, ...): the loss and the model's output.

        ``on_loss(loss_array)`` is called after the forward pass, before the update (``fit``
        stops there on a non-finite loss).
        """
        arrays = [b.data if isinstance(b, Tensor) else np.asarray(b) if not hasattr(b, "shape")
                  else b for b in batch]
        key = tuple((a.shape, a.dtype) for a in arrays)
        prog = self._programs.get(key)
        if type(prog) is _Program and self._unchanged():
            done = prog.run(arrays, self._params, on_loss, self.optimizer)
            if done is not None:
                self.replays += 1
                self.eager_reason = None
                return Tensor._make(done[0]), Tensor._make(done[1])
            return self._eager(arrays, on_loss)  # its loss names the bad label
        if type(prog) is str:
            self.eager_reason = prog
            return self._eager(arrays, on_loss)
        return self._trace(key, arrays, on_loss, prog)

    def _unchanged(self) -> bool:
        """The per-step guard: same parameter arrays, training modes and hooks."""
        for p, d, needs in self._datas:
            if p.data is not d or p.requires_grad is not needs:
                return False
        for m, mode in self._modes:
            if m.training is not mode:
                return False
        return self._hooks == HookVersion.value and MODE.grad_enabled \
            and not MODE.detect_anomaly and len(self.optimizer.param_groups) == self._groups

    def _eager(self, arrays: list[Any], on_loss: Callable | None,
               rec: _Record | None = None) -> tuple[Tensor, Tensor]:
        """The eager step, recorded by ``rec`` when given."""
        x, *targets = [Tensor._make(a) for a in arrays]
        if rec is None and getattr(self.optimizer, "needs_closure", False):
            return self._closure_step(x, targets)
        patched = _watch_reads(rec) if rec is not None else []
        MODE.tracer = rec
        try:
            out = self.model(x)
            loss = self.loss_fn(out, *targets)
        finally:
            MODE.tracer = None
            for name, method in patched:
                setattr(Tensor, name, method)
        if on_loss is not None:
            on_loss(loss.data)
        if rec is not None:
            rec.watch_backward()
            rec.loss, rec.out = loss, out
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return Tensor._make(loss.data), Tensor._make(out.data)

    def _closure_step(self, x: Tensor, targets: list[Tensor]) -> tuple[Tensor, Tensor]:
        """The step of an optimizer that re-evaluates the loss (L-BFGS), as ``fit`` takes it."""
        def closure() -> Tensor:
            self.optimizer.zero_grad()
            loss = self.loss_fn(self.model(x), *targets)
            loss.backward()
            return loss
        loss = self.optimizer.step(closure)
        with no_grad():
            out = self.model(x)
        return Tensor._make(loss.data), out

    # NOTE: one function: the life of a record (record, compare with the one before,
    # build the program or give up) reads best in one place.
    def _trace(self, key: tuple, arrays: list[Any], on_loss: Callable | None,
               before: Any) -> tuple[Tensor, Tensor]:
        """An eager step that records; two agreeing records of one shape become a program."""
        if getattr(self.optimizer, "needs_closure", False):
            self._give_up(key, "the optimizer needs a closure (L-BFGS)")
            return self._eager(arrays, on_loss)
        if not MODE.grad_enabled or MODE.detect_anomaly:
            return self._eager(arrays, on_loss)
        if type(before) is _Program or not self._unchanged():  # the model changed: record anew
            self._programs.clear()
            self._tries.clear()
            self.reset_guards()
            before = None
        if any(m.__dict__.get("_hooks") for m, _ in self._modes):
            self._give_up(key, "a module has forward hooks (Python run on every call)")
            return self._eager(arrays, on_loss)
        tries = self._tries[key] = self._tries.get(key, 0) + 1
        if tries > _RETRACES:
            self._give_up(key, "the step kept changing between records")
            return self._eager(arrays, on_loss)
        buffers = _buffer_state(self.model)
        rec = _Record(arrays, self._params)
        result = self._eager(arrays, on_loss, rec)
        self.reset_guards()
        if rec.reads:
            self._give_up(key, "the forward pass reads tensor values (item, bool, float, numpy)")
        elif buffers != _buffer_state(self.model):
            self._give_up(key, "the step changes module buffers (batch norm's running statistics)")
        elif rec.loss._node is None:
            self._give_up(key, "the loss does not require a gradient")
        elif not isinstance(before, _Record) or not before.same_as(rec):
            self._programs[key] = rec  # compare with the next record of this shape
        else:
            try:
                self._programs[key] = _Program(rec, self._params, self._n_updated, rec.loss,
                                               rec.out)
            except Untraceable as exc:
                self._give_up(key, str(exc))
        return result

    def reset_guards(self) -> None:
        """Take the current parameters (the optimizer's first, then the model's others), their
        arrays and flags, the modules' modes and the hooks as the ones records assume."""
        model, groups = self.model, getattr(self.optimizer, "param_groups", [])
        self._modes = [(m, m.training) for m in model.modules()] \
            if hasattr(model, "modules") else []
        self._hooks = HookVersion.value
        self._groups = len(groups)
        params = [p for g in groups for p in g["params"]]
        self._n_updated = len(params)
        known = {id(p) for p in params}
        params += [p for p in (model.parameters() if hasattr(model, "parameters") else ())
                   if id(p) not in known]
        self._params = params
        self._datas = [(p, p.data, p.requires_grad) for p in params]

    def _give_up(self, key: tuple, reason: str) -> None:
        """Run steps of this input signature eagerly from now on, saying why once."""
        self._programs[key] = reason
        self.eager_reason = reason
        if reason not in self._warned:
            self._warned.add(reason)
            warnings.warn(f"compile: {reason}; these steps run eagerly", RuntimeWarning,
                          stacklevel=5)


def _watch_reads(rec: _Record) -> list[tuple[str, Any]]:
    """Count Tensor value reads into ``rec.reads`` while recording; the methods replaced."""
    saved = []
    for name in _READS:
        method = getattr(Tensor, name)

        def read(self: Tensor, *a: Any, _m: Any = method, **kw: Any) -> Any:
            rec.reads += 1
            return _m(self, *a, **kw)
        saved.append((name, method))
        setattr(Tensor, name, read)
    return saved


def _buffer_state(model: Any) -> list[tuple[int, bytes]]:
    """A fingerprint of the model's buffers (identity and contents)."""
    if not hasattr(model, "buffers"):
        return []
    out = []
    for b in model.buffers():
        d = b.data
        out.append((id(d), get_backend(d).asnumpy(d).tobytes()))
    return out


def compile_step(model: Any, loss_fn: Callable, optimizer: Any) -> CompiledStep:
    """A :class:`CompiledStep` over ``model``, ``loss_fn`` and ``optimizer``: call it with a
    batch ``(x, target, ...)`` for one training step; it returns the loss.

    Args:
        model: the Module to train.
        loss_fn: ``loss_fn(output, *targets) -> scalar Tensor``.
        optimizer: a first-order optimizer over the model's parameters.
    """
    return CompiledStep(model, loss_fn, optimizer)
