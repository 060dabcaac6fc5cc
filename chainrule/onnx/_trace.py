"""Recording a model's primitives: run it once on the example, every op call written down.

While a :class:`Recorder` is active, each primitive class's ``forward`` (chainrule's and a
user's own :class:`~chainrule.ops.Op` subclasses) is wrapped to note its inputs, parameters
and output, and each submodule's ``forward`` to know which layer a call came from (and to
let a layer with a converter stand for its whole call). Nothing changes outside the
``with`` block: ``apply`` is untouched, so training pays nothing for export.

Arrays are told apart by identity: the input, the parameters and buffers (by their
``state_dict`` names) and every recorded output are known; any other array an op sees is a
constant. Comparisons (``x > 0``) and casts to integer dtypes are recorded too, since they
leave the graph of primitives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ops import Op
from ..tensor import Tensor, array_of
from ._graph import CONVERTERS


@dataclass(frozen=True)
class Ref:
    """A traced value: ("input", i), ("param", name) or ("event", index)."""
    kind: str
    key: Any


@dataclass(frozen=True)
class Arg:
    """A placeholder inside an op's parameters for its array argument number ``i``."""
    i: int


@dataclass
class Event:
    """One recorded call: a primitive (``kind`` "op"), a comparison or cast ("aux"), or a
    layer with a converter ("layer"). ``args`` are Refs or constant arrays (None for an
    omitted optional one); arrays inside ``params`` moved into ``args`` as :class:`Arg`."""
    kind: str
    name: str
    args: list[Any]
    params: dict[str, Any]
    out: Any
    path: str
    layer: Any = None
    owner: str = ""  # the class of the layer the call ran in
    shapes: list[Any] = field(default_factory=list)  # the shapes of the array arguments
    # filled in when the two traces are joined: the same call in the second trace
    other: Event | None = None
    # filled in at conversion: the graph names of the args, and their example arrays
    ins: list[Any] = field(default_factory=list)
    x: list[Any] = field(default_factory=list)

    def value(self, p: Any) -> Any:
        """A parameter's example value (an :class:`Arg` resolved to its array)."""
        return self.x[p.i] if isinstance(p, Arg) else p


_COMPARISONS = {"__eq__": "Equal", "__ne__": "NotEqual", "__lt__": "Less", "__le__": "LessOrEqual",
                "__gt__": "Greater", "__ge__": "GreaterOrEqual"}


def _op_classes() -> list[type]:
    out, todo = [], list(Op.__subclasses__())
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.__subclasses__())
    return out


class Recorder:
    """``with Recorder(model, inputs) as r: model(*inputs)`` leaves the calls in ``r.events``."""

    def __init__(self, model: Any, inputs: list[Any]) -> None:
        self.model = model
        self.events: list[Event] = []
        self.ids: dict[int, Ref] = {}
        self.keep: list[Any] = []  # every array seen stays alive, so no id is reused
        self.depth = 0  # > 0 inside a recorded call: nested primitives are its own business
        self.path: list[tuple[str, str]] = []  # the layers being called: (name, class)
        self._undo: list[tuple[Any, str, Any]] = []
        for i, x in enumerate(inputs):
            self._know(x.data, Ref("input", i))
        named = list(model.named_parameters()) + list(model.named_buffers())
        for name, p in named:
            if p is not None:
                self._know(p.data, Ref("param", name))

    def _know(self, array: Any, ref: Ref) -> None:
        self.ids[id(array)] = ref
        self.keep.append(array)

    def ref(self, a: Any) -> Any:
        """A traced array's Ref, else the array itself (a constant)."""
        return self.ids.get(id(a), a)

    def _record(self, kind: str, name: str, arrays: tuple, params: dict, out: Any,
                layer: Any = None) -> None:
        args = [None if a is None else self.ref(a) for a in arrays]
        params = {k: self._lift(v, args) for k, v in params.items()}
        self.keep.extend(a for a in arrays if a is not None)
        path, owner = self.path[-1] if self.path else ("", type(self.model).__name__)
        ev = Event(kind, name, args, params, out, path, layer, owner,
                   shapes=[None if a is None else np.shape(a) for a in arrays])
        self.events.append(ev)
        self._know(out, Ref("event", len(self.events) - 1))

    def _lift(self, v: Any, args: list) -> Any:
        if isinstance(v, tuple):
            return tuple(self._lift(u, args) for u in v)
        if hasattr(v, "shape") and hasattr(v, "dtype") and getattr(v, "ndim", 0) > 0:
            args.append(self.ref(v))
            self.keep.append(v)
            return Arg(len(args) - 1)
        return v

    def traced(self, arrays: Any) -> bool:
        return any(isinstance(self.ids.get(id(a)), Ref) for a in arrays)

    # --- patching ------------------------------------------------------------------------

    def _patch(self, owner: Any, attr: str, new: Any) -> None:
        # a module instance gets (and later loses) an instance attribute; Module's own
        # __setattr__ would try to register it
        space = owner.__dict__
        self._undo.append((owner, attr, space.get(attr, _MISSING)))
        if isinstance(owner, type):
            setattr(owner, attr, new)
        else:
            space[attr] = new

    def __enter__(self) -> Recorder:
        try:
            self._patch_all()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _patch_all(self) -> None:
        for cls in _op_classes():
            self._patch(cls, "forward", self._op_forward(cls, cls.forward))
        for attr, onnx_op in _COMPARISONS.items():
            self._patch(Tensor, attr, self._compare(onnx_op, getattr(Tensor, attr)))
        self._patch(Tensor, "_cast", self._cast(Tensor._cast))
        for name, module in self.model.named_modules():
            self._patch(module, "forward", self._module_forward(name, module, module.forward))

    def __exit__(self, *exc: Any) -> None:
        for owner, attr, old in reversed(self._undo):
            if not isinstance(owner, type):
                if old is _MISSING:
                    del owner.__dict__[attr]
                else:
                    owner.__dict__[attr] = old
            elif old is _MISSING:
                delattr(owner, attr)
            else:
                setattr(owner, attr, old)
        self._undo.clear()

    def _op_forward(self, cls: type, forward: Any) -> Any:
        rec = self

        def recorded(op: Any, *arrays: Any, **params: Any) -> Any:
            if rec.depth:
                return forward(op, *arrays, **params)
            rec.depth += 1
            try:
                out = forward(op, *arrays, **params)
            finally:
                rec.depth -= 1
            inputs = [a for a in arrays if a is not None] + list(_arrays_in(params))
            if rec.traced(inputs):  # else a constant, folded: its output is a constant too
                rec._record("op", cls.__name__, arrays, params, out)
            return out
        return recorded

    def _compare(self, onnx_op: str, method: Any) -> Any:
        rec = self

        def recorded(x: Any, o: Any) -> Any:
            out = method(x, o)
            a, b = x.data, array_of(o)
            if isinstance(out, Tensor) and not rec.depth and rec.traced([a, b]):
                if not rec.traced([b]):  # a constant: compared in x's dtype (ONNX wants one)
                    b = np.asarray(b).astype(a.dtype)
                rec._record("aux", onnx_op, (a, b), {}, out.data)
            return out
        return recorded

    def _cast(self, method: Any) -> Any:
        rec = self

        def recorded(x: Any, dt: Any, copy: bool = False) -> Any:
            out = method(x, dt, copy)
            if out is not x and not rec.depth and id(out.data) not in rec.ids \
                    and rec.traced([x.data]):
                rec._record("aux", "Cast", (x.data,), {"dtype": np.dtype(dt)}, out.data)
            return out
        return recorded

    def _module_forward(self, name: str, module: Any, forward: Any) -> Any:
        rec, fast = self, type(module).__name__ in CONVERTERS

        def recorded(*args: Any, **kwargs: Any) -> Any:
            rec.path.append((name, type(module).__name__))
            if len(args) == 2 and isinstance(args[1], str):  # Sequential's Linear(x, "relu")
                args, kwargs = args[:1], {**kwargs, "activation": args[1]}
            try:
                if (fast and not rec.depth and len(args) == 1 and set(kwargs) <= {"activation"}
                        and isinstance(args[0], Tensor) and rec.traced([args[0].data])):
                    rec.depth += 1
                    try:
                        out = forward(*args, **kwargs)
                    finally:
                        rec.depth -= 1
                    if isinstance(out, Tensor):
                        rec._record("layer", type(module).__name__, (args[0].data,), kwargs,
                                    out.data, layer=module)
                    return out
                return forward(*args, **kwargs)
            finally:
                rec.path.pop()
        return recorded


_MISSING = object()


def _arrays_in(params: dict) -> Any:
    for v in params.values():
        for u in (v if isinstance(v, tuple) else (v,)):
            if hasattr(u, "shape") and hasattr(u, "dtype"):
                yield u


def outputs_of(result: Any) -> list[Any]:
    """The model's result as a flat list of Tensors (a tuple of them, nested, is flattened)."""
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        return [t for r in result for t in outputs_of(r)]
    return [result]
