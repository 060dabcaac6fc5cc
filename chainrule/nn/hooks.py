"""Forward and forward-pre hooks on modules, as PyTorch's, with removable handles.

A hook is kept in the module's ``_hooks`` dict only while one is registered, so a module
without hooks pays one dictionary miss per call (see :meth:`Module.__call__`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

_ids = itertools.count()


class HookState:
    """The hooks of one module: ``pre`` and ``post`` lists of (id, hook, with_kwargs)."""

    __slots__ = ("pre", "post")

    def __init__(self) -> None:
        self.pre: list[tuple[int, Callable[..., Any], bool]] = []
        self.post: list[tuple[int, Callable[..., Any], bool]] = []

    def __bool__(self) -> bool:
        return bool(self.pre or self.post)


class Version:
    """A counter bumped whenever any hook is added or removed: :class:`Sequential` re-plans
    its Linear+activation fusion when it changes (a hooked layer must run on its own)."""

    value = 0

    @classmethod
    def bump(cls) -> None:
        cls.value += 1


class RemovableHandle:
    """What ``register_forward_hook`` and ``register_forward_pre_hook`` return:
    :meth:`remove` takes the hook off again (also as a context manager, on exit).

    >>> from chainrule import nn, Tensor
    >>> seen = []
    >>> layer = nn.Identity()
    >>> with layer.register_forward_hook(lambda m, args, out: seen.append(out.item())):
    ...     _ = layer(Tensor(2.0))
    >>> _ = layer(Tensor(3.0))
    >>> seen
    [2.0]
    """

    def __init__(self, hooks: list[tuple[int, Callable[..., Any], bool]], hook_id: int) -> None:
        self._hooks, self.id = hooks, hook_id

    def remove(self) -> None:
        """Remove the hook (a second call does nothing)."""
        before = len(self._hooks)
        self._hooks[:] = [h for h in self._hooks if h[0] != self.id]
        if len(self._hooks) != before:
            Version.bump()

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def add_hook(hooks: list[tuple[int, Callable[..., Any], bool]], hook: Callable[..., Any],
             prepend: bool, with_kwargs: bool) -> RemovableHandle:
    """Put ``hook`` in ``hooks`` (first when ``prepend``) and return its handle."""
    from ..errors import ConfigError
    if not callable(hook):
        raise ConfigError(f"a hook must be callable; got {type(hook).__name__}")
    entry = (next(_ids), hook, bool(with_kwargs))
    if prepend:
        hooks.insert(0, entry)
    else:
        hooks.append(entry)
    Version.bump()
    return RemovableHandle(hooks, entry[0])


def call_with_hooks(module: Any, state: HookState, args: tuple, kwargs: dict) -> Any:
    """``module.forward(*args, **kwargs)`` between its hooks, with PyTorch's rules: a pre-hook
    ``hook(module, args)`` may return new args (a non-tuple is wrapped in one), with
    ``with_kwargs`` ``hook(module, args, kwargs)`` returns (args, kwargs); a forward hook
    ``hook(module, args, output)`` (``hook(module, args, kwargs, output)``) may return a new
    output. ``None`` keeps what there was."""
    from ..errors import ConfigError
    for _, hook, with_kwargs in list(state.pre):
        if with_kwargs:
            res = hook(module, args, kwargs)
            if res is not None:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise ConfigError("a forward pre-hook registered with_kwargs=True must "
                                      f"return None or (args, kwargs); got {type(res).__name__}")
                args, kwargs = res
        else:
            res = hook(module, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
    out = module.forward(*args, **kwargs)
    for _, hook, with_kwargs in list(state.post):
        res = hook(module, args, kwargs, out) if with_kwargs else hook(module, args, out)
        if res is not None:
            out = res
    return out
