"""Module, Parameter and Buffer (the containers are in :mod:`chainrule.nn.container`).

Parameters are discovered, not declared twice: :meth:`Module.named_parameters` walks the
instance's attributes in insertion order and finds :class:`Parameter`\\ s, sub-modules and
lists, tuples and dicts of them. There is no ``__getattr__`` magic and nothing to register,
so attribute access and ``module(x)`` cost what they cost on any Python object.
"""

from __future__ import annotations

import functools

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from ..backend import array_module, backend_named, get_backend
from ..errors import ChainruleError, ConfigError, DTypeError, StateError
from ..tensor import ArrayLike, Tensor, as_dtype, to_array
from .hooks import HookState, RemovableHandle, add_hook, call_with_hooks

#: Bookkeeping attributes that are not state (constructor arguments, hooks, non-persistent
#: buffer names).
_NOT_STATE = frozenset({"_init_args", "_hooks", "_non_persistent"})


class Parameter(Tensor):
    """A trainable tensor owned by a :class:`Module`: float, ``requires_grad=True`` by default.

    Optimizers update ``.data`` in place, so the identity of a parameter never changes.

    Args:
        data: numbers, nested lists or a float array (an array is used without copying).
        requires_grad: whether optimizers should train it.
        dtype: float32 (default for Python numbers) or float64.

    Raises:
        DTypeError: the data or ``dtype`` is not floating point.

    >>> w = Parameter([[1.0, 2.0]])
    >>> w.requires_grad, w.shape
    (True, (1, 2))
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        arr = to_array(data, dtype)
        if arr.dtype.kind != "f":
            raise DTypeError(f"Parameter needs floating-point data; got dtype {arr.dtype} "
                             "(pass dtype='float32' or 'float64')")
        super().__init__(arr, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """Non-trainable state of a module (running statistics, masks, constants).

    Buffers are saved in :meth:`Module.state_dict` but never returned by ``parameters()``.

    >>> b = Buffer([0.0, 0.0]); b.requires_grad
    False
    """

    __slots__ = ()

    def __init__(self, data: Any, dtype: Any = None) -> None:
        super().__init__(data, requires_grad=False, dtype=dtype)

    def __repr__(self) -> str:
        return "Buffer containing:\n" + super().__repr__()


def layer_input(where: str, x: Any, weight: Any) -> Any:
    """``x`` as the input of a layer whose weights are ``weight``: raw data (arrays, lists)
    become a Tensor of the weights' dtype; a Tensor (or Dual) of another dtype is refused, as
    PyTorch refuses it (a float64 input to a float32 layer would silently make float64
    outputs).

    Raises:
        DTypeError: naming the layer and both dtypes.
    """
    if not isinstance(x, ArrayLike):
        return Tensor(array_module(x).asarray(x, dtype=weight.dtype))
    if x.dtype != weight.dtype:
        raise DTypeError(f"{where}: the input has dtype {x.dtype} but the layer's weights have "
                         f"{weight.dtype}; cast the input (x.float(), x.double()) or the layer "
                         "(.float(), .double()) so they match")
    return x


class LoadResult(NamedTuple):
    """What :meth:`Module.load_state_dict` did not match (empty lists when strict)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _walk(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    """(dotted name, object) for every Module, Parameter or Buffer directly inside ``value``,
    looking through lists, tuples and dicts (not through sub-modules)."""
    if isinstance(value, (Module, Tensor)):
        if isinstance(value, (Module, Parameter, Buffer)):
            yield prefix, value
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _walk(f"{prefix}.{i}", v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(f"{prefix}.{k}", v)


class Module:
    """Base class of every layer and model.

    Subclasses assign :class:`Parameter`\\ s, :class:`Buffer`\\ s and sub-modules (or lists,
    tuples and dicts of them) as attributes and define :meth:`forward`; calling the module
    calls ``forward``. Names follow attribute order, dotted through sub-modules and
    containers (``layers.0.weight``). Plain tensors and other attributes are not state.

    >>> class Affine(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.weight = Parameter([[2.0]])
    ...         self.bias = Parameter([1.0])
    ...     def forward(self, x):
    ...         return x @ self.weight + self.bias
    >>> m = Affine()
    >>> [name for name, _ in m.named_parameters()]
    ['weight', 'bias']
    >>> m(Tensor([[3.0]])).item()
    7.0
    """

    training: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def __init__(self: Module, *args: Any, **kw: Any) -> None:
            # Record the outermost constructor's arguments: chainrule.io saves them as the
            # architecture, so a model file rebuilds the model without pickle.
            if "_init_args" not in self.__dict__:
                self.__dict__["_init_args"] = (args, kw)
            init(self, *args, **kw)

        cls.__init__ = __init__

    def __init__(self) -> None:
        self.training = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses override it."""
        raise ConfigError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # NOTE: one dictionary miss when no hook is registered: this sits on every layer of
        # every step, so nothing else happens here.
        hooks = self.__dict__.get("_hooks")
        if not hooks:
            return self.forward(*args, **kwargs)
        return call_with_hooks(self, hooks, args, kwargs)

    # --- registration and hooks -------------------------------------------------------------

    def _check_new_name(self, name: Any, kind: str) -> None:
        if not isinstance(name, str) or not name or "." in name or name in _NOT_STATE:
            raise ConfigError(f"{type(self).__name__}.register_{kind}: name must be a non-empty "
                              f"string without '.'; got {name!r}")
        old = self.__dict__.get(name, getattr(type(self), name, None))
        allowed = {"buffer": Buffer, "parameter": Parameter, "module": Module}[kind]
        if old is not None and not isinstance(old, allowed):
            raise ConfigError(f"{type(self).__name__}.register_{kind}: attribute {name!r} "
                              f"already exists (a {type(old).__name__})")

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Add a :class:`Buffer` (non-trainable state) named ``name``, as PyTorch's: an array
        or Tensor becomes a Buffer sharing its data; None registers the name with no value.
        A non-persistent buffer moves with :meth:`to` but is left out of :meth:`state_dict`.

        Raises:
            ConfigError: a name with a dot, empty, or taken by another kind of attribute.

        >>> m = Module()
        >>> m.register_buffer("steps", np.zeros(()))
        >>> m.register_buffer("cache", np.ones(2), persistent=False)
        >>> list(m.state_dict()), [n for n, _ in m.named_buffers()]
        (['steps'], ['steps', 'cache'])
        """
        self._check_new_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Buffer):
            tensor = Buffer(tensor.data if isinstance(tensor, Tensor) else tensor)
        self.__dict__[name] = tensor
        names = self.__dict__.setdefault("_non_persistent", set())
        if persistent:
            names.discard(name)
        else:
            names.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add ``param`` (a :class:`Parameter`, or None) as attribute ``name``, as PyTorch's.

        Raises:
            ConfigError: ``param`` is not a Parameter, or a bad or taken name.
        """
        self._check_new_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise ConfigError(f"{type(self).__name__}.register_parameter({name!r}): expected a "
                              f"Parameter or None; got {type(param).__name__} (wrap it: "
                              "Parameter(data))")
        self.__dict__[name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        """Add ``module`` as attribute ``name`` (PyTorch's ``add_module``/``register_module``).

        Raises:
            ConfigError: ``module`` is not a Module, or a bad or taken name.
        """
        self._check_new_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise ConfigError(f"{type(self).__name__}.add_module({name!r}): expected a Module or "
                              f"None; got {type(module).__name__}")
        self.__dict__[name] = module

    register_module = add_module

    def apply(self, fn: Any) -> Module:
        """Call ``fn(m)`` on every sub-module (children first, as PyTorch) and then on this
        module; returns self. The usual use is initialization.

        >>> from chainrule.nn import Linear, Sequential, init
        >>> def zero_bias(m):
        ...     if isinstance(m, Linear):
        ...         init.zeros_(m.bias)
        >>> Sequential(Linear(2, 2)).apply(zero_bias)[0].bias.numpy().tolist()
        [0.0, 0.0]
        """
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _hook_state(self) -> HookState:
        state = self.__dict__.get("_hooks")
        if state is None:
            state = self.__dict__["_hooks"] = HookState()
        return state

    def register_forward_pre_hook(self, hook: Any, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; it may return new args (PyTorch's
        rules, see :func:`chainrule.nn.hooks.call_with_hooks`). Returns a handle whose
        ``remove()`` takes the hook off."""
        return add_hook(self._hook_state().pre, hook, prepend, with_kwargs)

    def register_forward_hook(self, hook: Any, *, prepend: bool = False,
                              with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward; it may return a new output.
        Returns a handle whose ``remove()`` takes the hook off.

        >>> from chainrule.nn import Linear
        >>> layer = Linear(2, 3)
        >>> shapes = []
        >>> handle = layer.register_forward_hook(lambda m, args, out: shapes.append(out.shape))
        >>> _ = layer(Tensor(np.zeros((4, 2), np.float32))); handle.remove()
        >>> _ = layer(Tensor(np.zeros((1, 2), np.float32)))
        >>> shapes
        [(4, 3)]
        """
        return add_hook(self._hook_state().post, hook, prepend, with_kwargs)

    # --- discovery --------------------------------------------------------------------------

    def _items(self) -> Iterator[tuple[str, Any]]:
        """(name, object) for each Module, Parameter and Buffer held directly by this module."""
        for name, value in vars(self).items():
            if name not in _NOT_STATE:
                yield from _walk(name, value)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their names, in attribute order."""
        seen: set[int] = set()
        for name, obj in self._items():
            if isinstance(obj, Module) and id(obj) not in seen:
                seen.add(id(obj))
                yield name, obj

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, in attribute order."""
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (name ``prefix``) and every descendant, depth first, each once."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            kids = [(f"{name}.{n}" if name else n, c) for n, c in m.named_children()]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, depth first."""
        for _, m in self.named_modules():
            yield m

    def _named_tensors(self, kind: type | tuple[type, ...]) -> Iterator[tuple[str, Tensor]]:
        """Tensors of ``kind`` in attribute order, a sub-module's in place of the sub-module
        (not all of this module's first); a tensor shared by two layers is listed once."""
        seen: set[int] = {id(self)}  # a child that points back at its parent ends the walk
        stack: list[Iterator[tuple[str, Any]]] = [self._items()]
        prefixes = [""]
        while stack:
            item = next(stack[-1], None)
            if item is None:
                stack.pop()
                prefixes.pop()
                continue
            name, obj = item
            full = prefixes[-1] + name
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if isinstance(obj, Module):
                stack.append(obj._items())
                prefixes.append(full + ".")
            elif isinstance(obj, kind):
                yield full, obj

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted name, in attribute order; shared ones once.

        >>> from chainrule.nn import Linear, Sequential
        >>> [n for n, _ in Sequential(Linear(2, 3), Linear(3, 1)).named_parameters()]
        ['0.weight', '0.bias', '1.weight', '1.bias']
        """
        return self._named_tensors(Parameter)

    def parameters(self) -> list[Parameter]:
        """Every parameter, in the order of :meth:`named_parameters` (a list, so it can be
        passed to an optimizer and iterated again)."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, Buffer]]:
        """Every buffer with its dotted name, in attribute order."""
        return self._named_tensors(Buffer)

    def buffers(self) -> list[Buffer]:
        """Every buffer, in the order of :meth:`named_buffers`."""
        return [b for _, b in self.named_buffers()]

    def num_parameters(self, trainable_only: bool = False) -> int:
        """The number of scalars in the parameters (only those with ``requires_grad`` if asked).

        >>> from chainrule.nn import Linear
        >>> Linear(3, 2).num_parameters()
        8
        """
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # --- state ------------------------------------------------------------------------------

    def _state(self) -> dict[str, Tensor]:
        return dict(self._named_tensors((Parameter, Buffer)))

    def _persistent_state(self) -> dict[str, Tensor]:
        """:meth:`_state` less the buffers registered with ``persistent=False``."""
        state = self._state()
        skip = {id(m.__dict__.get(n)) for m in self.modules()
                for n in m.__dict__.get("_non_persistent", ())}
        return {k: t for k, t in state.items() if id(t) not in skip} if skip else state

    def state_dict(self) -> dict[str, np.ndarray]:
        """A flat map from dotted name to a NumPy copy of every parameter and buffer.

        >>> from chainrule.nn import Linear
        >>> sorted(Linear(2, 1).state_dict())
        ['bias', 'weight']
        """
        return {k: np.array(t.numpy(), copy=True) for k, t in self._persistent_state().items()}

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> LoadResult:
        """Copy arrays from ``state`` into this module's parameters and buffers, in place.

        Nothing is written unless every check passes. Shapes must always match; with
        ``strict`` the keys must match exactly too.

        Args:
            state: name → array (or Tensor), as made by :meth:`state_dict`.
            strict: fail on missing or unexpected keys (otherwise they are reported).

        Returns:
            A :class:`LoadResult` naming the missing and unexpected keys.

        Raises:
            StateError: naming every missing, unexpected and mis-shaped key (with the expected
                and the given shape).

        >>> from chainrule.nn import Linear
        >>> a, b = Linear(2, 1, rng=0), Linear(2, 1, rng=1)
        >>> _ = b.load_state_dict(a.state_dict())
        >>> bool((a.weight.data == b.weight.data).all())
        True
        """
        if not isinstance(state, dict):
            raise StateError(f"load_state_dict expects a dict of name -> array; got "
                             f"{type(state).__name__}")
        own = self._persistent_state()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        values: dict[str, np.ndarray] = {}
        misshaped = []
        for k, t in own.items():
            if k not in state:
                continue
            v = state[k]
            v = v.numpy() if isinstance(v, Tensor) else np.asarray(v)
            if v.shape != t.shape:
                misshaped.append(f"{k} (expected shape {t.shape}, got {v.shape})")
            values[k] = v
        problems = []
        if misshaped:
            problems.append("mis-shaped keys: " + ", ".join(misshaped))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise StateError(f"load_state_dict into {type(self).__name__} failed: "
                             + "; ".join(problems))
        for k, v in values.items():
            t = own[k]
            t.data[...] = get_backend(t.data).xp.asarray(v)
        return LoadResult(missing, unexpected)

    # --- modes and conversions --------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and every descendant; returns self."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (``training = False``: dropout off); returns self."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Reset every parameter's ``.grad`` to None (gradients accumulate until then)."""
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def to(self, backend: str | None = None, dtype: Any = None) -> Module:
        """Move every parameter and buffer to ``backend`` ("numpy" or "cupy") and/or cast
        floating-point ones to ``dtype``, in place (the Parameter objects stay the same, but
        build optimizers after moving). Returns self. As PyTorch's ``model.to(torch.float64)``,
        a dtype may come first: ``to("float64")``, ``to(np.float64)``.

        >>> from chainrule.nn import Linear
        >>> Linear(2, 1).to(dtype="float64").weight.dtype
        dtype('float64')
        >>> Linear(2, 1).to(np.float64).weight.dtype
        dtype('float64')
        """
        if backend is not None and dtype is None and not (
                isinstance(backend, str) and backend in ("numpy", "cpu", "cupy", "cuda", "gpu")):
            try:
                backend, dtype = None, as_dtype(backend)
            except ChainruleError:
                pass  # neither: backend_named below names the backends
        bk = backend_named(backend) if backend is not None else None
        dt = as_dtype(dtype) if dtype is not None else None
        if dt is not None and dt.kind != "f":
            raise DTypeError(f"Module.to: dtype must be float32 or float64; got {dt}")
        for t in self._state().values():
            data = t.data
            if bk is not None:
                data = get_backend(data).asnumpy(data) if bk.name == "numpy" else bk.xp.asarray(data)
            if dt is not None and data.dtype.kind == "f":
                data = data.astype(dt)
            t.data, t.grad = data, None
        return self

    def double(self) -> Module:
        """Cast floating-point state to float64 (for gradient checks); returns self."""
        return self.to(dtype=np.float64)

    def float(self) -> Module:
        """Cast floating-point state to float32; returns self."""
        return self.to(dtype=np.float32)

    # --- display ----------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr line."""
        return ""

    def __repr__(self) -> str:
        kids = list(self.named_children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not kids:
            return head + ")"
        lines = [head]
        for name, m in kids:
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"
