"""The containers: ModuleList, ModuleDict and Sequential (PyTorch's ``nn/modules/container``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..errors import ConfigError
from ..tensor import Tensor  # noqa: F401 - used by the doctests
from .hooks import Version as HookVersion
from .module import _NOT_STATE, Module, _walk


class ModuleList(Module):
    """A list of modules whose parameters are named by position (``0.weight``, ``1.bias``).

    >>> from chainrule.nn import Linear
    >>> layers = ModuleList([Linear(2, 2), Linear(2, 1)])
    >>> len(layers), [n for n, _ in layers.named_parameters()][-1]
    (2, '1.bias')
    """

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self._list: list[Module] = []
        for m in modules:
            self.append(m)

    def _items(self) -> Iterator[tuple[str, Any]]:
        for i, m in enumerate(self._list):
            yield str(i), m
        for name, value in vars(self).items():  # state a subclass adds beside the list
            if name != "_list" and name not in _NOT_STATE:
                yield from _walk(name, value)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns self.

        Raises:
            ConfigError: ``module`` is not a Module.
        """
        if not isinstance(module, Module):
            raise ConfigError(f"{type(self).__name__} holds Modules; got {type(module).__name__}")
        self._list.append(module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each of ``modules``; returns self."""
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return type(self)._from_list(self._list[index])
        try:
            return self._list[index]
        except (IndexError, TypeError):
            raise ConfigError(f"{type(self).__name__} index {index!r} out of range for "
                              f"{len(self._list)} modules") from None

    @classmethod
    def _from_list(cls, modules: list[Module]) -> ModuleList:
        return ModuleList(modules)

    def __len__(self) -> int:
        return len(self._list)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._list)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise ConfigError("ModuleList has no forward(); iterate over it, or use Sequential")


class ModuleDict(Module):
    """An ordered dict of modules whose parameters are named by key (``encoder.weight``), as
    PyTorch's: ``md[key]``, ``md[key] = m``, ``del md[key]``, ``key in md``, ``len``,
    iteration over the keys, ``keys``/``values``/``items``, ``update``, ``pop``, ``clear``.

    Args:
        modules: a mapping or (key, module) pairs.

    Raises:
        ConfigError: a key that is not a non-empty string without '.', or a value that is not
            a Module.

    >>> from chainrule.nn import Linear, ReLU
    >>> heads = ModuleDict({"small": Linear(2, 1), "act": ReLU()})
    >>> heads["big"] = Linear(2, 8)
    >>> list(heads), [n for n, _ in heads.named_parameters()][-1]
    (['small', 'act', 'big'], 'big.bias')
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None
                 ) -> None:
        super().__init__()
        self._dict: dict[str, Module] = {}
        if modules is not None:
            self.update(modules)

    def _items(self) -> Iterator[tuple[str, Any]]:
        yield from self._dict.items()
        for name, value in vars(self).items():  # state a subclass adds beside the dict
            if name != "_dict" and name not in _NOT_STATE:
                yield from _walk(name, value)

    def _changed(self) -> None:
        if type(self) is ModuleDict:  # chainrule.io saves the constructor's arguments
            self.__dict__["_init_args"] = ((dict(self._dict),), {})

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise ConfigError(f"ModuleDict keys are non-empty strings without '.'; got {key!r}")
        if not isinstance(module, Module):
            raise ConfigError(f"ModuleDict holds Modules; got {type(module).__name__} for "
                              f"key {key!r}")
        self._dict[key] = module
        self._changed()

    def __getitem__(self, key: str) -> Module:
        try:
            return self._dict[key]
        except (KeyError, TypeError):
            raise ConfigError(f"ModuleDict has no key {key!r}; its keys: "
                              f"{list(self._dict)}") from None

    def __delitem__(self, key: str) -> None:
        self.pop(key)

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def __len__(self) -> int:
        return len(self._dict)

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def keys(self) -> Iterable[str]:
        return self._dict.keys()

    def values(self) -> Iterable[Module]:
        return self._dict.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._dict.items()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace the modules of a mapping or of (key, module) pairs, in order."""
        pairs = modules.items() if isinstance(modules, (Mapping, ModuleDict)) else modules
        for pair in pairs:
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise ConfigError(f"ModuleDict.update expects a mapping or (key, module) pairs; "
                                  f"got element {pair!r}")
            self[pair[0]] = pair[1]

    def pop(self, key: str) -> Module:
        """Remove ``key`` and return its module."""
        module = self[key]
        del self._dict[key]
        self._changed()
        return module

    def clear(self) -> None:
        """Remove every module."""
        self._dict.clear()
        self._changed()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise ConfigError("ModuleDict has no forward(); call its modules by key")


class Sequential(ModuleList):
    """Modules applied one after another: ``Sequential(a, b)(x) == b(a(x))``.

    >>> from chainrule.nn import Linear, Sigmoid
    >>> net = Sequential(Linear(2, 3, rng=0), Sigmoid(), Linear(3, 1, rng=0))
    >>> net(Tensor([[1.0, 2.0]])).shape
    (1, 1)
    >>> print(Sequential(Linear(2, 1), Sigmoid()))
    Sequential(
      (0): Linear(in_features=2, out_features=1, bias=True)
      (1): Sigmoid()
    )
    """

    _plan: tuple[tuple[int, str | None], ...] | None = None
    _plan_version = -1

    def __init__(self, *modules: Module) -> None:
        super().__init__(modules)

    @classmethod
    def _from_list(cls, modules: list[Module]) -> Sequential:
        return Sequential(*modules)

    def append(self, module: Module) -> Sequential:
        super().append(module)
        self._plan = None
        return self

    def forward(self, x: Any) -> Any:
        plan = self._plan
        if plan is None or self._plan_version != HookVersion.value:  # hooks came or went
            plan = self._plan = self._fusion_plan()
            self._plan_version = HookVersion.value
        mods = self._list
        for i, activation in plan:
            x = mods[i](x) if activation is None else mods[i](x, activation)
        return x

    def _fusion_plan(self) -> tuple[tuple[int, str | None], ...]:
        """(index, activation) per step: a Linear directly followed by ReLU, Sigmoid or Tanh
        runs as one fused node (``F.linear(..., activation=...)``), the same math with one
        node fewer. Only those exact classes fuse (a subclass may change forward), and not
        when either has a hook (each must see its own call)."""
        mods, plan, i = self._list, [], 0
        while i < len(mods):
            nxt = mods[i + 1] if i + 1 < len(mods) else None
            fused = type(nxt).__dict__.get("fused_as") \
                if type(mods[i]).__dict__.get("fuses_activation") else None
            if fused and (mods[i].__dict__.get("_hooks") or nxt.__dict__.get("_hooks")):
                fused = None
            plan.append((i, fused))
            i += 2 if fused else 1
        return tuple(plan)
