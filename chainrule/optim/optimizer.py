"""The thin :class:`Optimizer` base: parameter groups and the in-place step.

The math lives in :mod:`chainrule.optim.transforms`. An optimizer only says which chain of
transforms a parameter group uses (:meth:`Optimizer._transform`); this class copies each
``.grad`` into an update buffer, runs the chain, and applies ``θ ← θ − lr · u`` in place on
``p.data``. The final ``scale(-lr)`` is done here rather than inside the chain so that the
learning rate is read from the group at every step (schedulers change ``group["lr"]``) without
rebuilding anything. Where a group's arrays live (one flat buffer, or one array per parameter)
is :mod:`chainrule.optim._flat`; state dicts are :mod:`chainrule.optim._state`.

The protocol :func:`chainrule.train.fit` reads (a class attribute, read with
``getattr(optimizer, "needs_closure", False)`` so that any object with ``step`` and
``zero_grad`` will do): ``needs_closure`` is True when :meth:`~Optimizer.step` must be given a
closure that re-evaluates the loss (:class:`~chainrule.optim.LBFGS`), False for the optimizers
that step from the gradients already in ``.grad``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..autograd import enable_grad
from ..errors import ConfigError
from ..tensor import Tensor
from ..validate import check_number
from ._flat import Flat, PerParam, flattenable
from ._state import group_entries, load_param_state, param_state_entries, read_state_dict
from .transforms import Transform, chain

# group entries that never change the chain: read every step, or bookkeeping of schedulers
_NOT_STRUCTURAL = ("params", "lr", "initial_lr")

Layout = Flat | PerParam


class Optimizer:
    """Base class: updates parameters in place from their ``.grad``, PyTorch-style.

    Subclasses give the defaults and implement :meth:`_validate` (hyperparameter checks that
    raise :class:`ConfigError`) and :meth:`_transform` (the group's chain of transforms, without
    the final ``scale(-lr)``). An optimizer whose update is not a chain of transforms
    (:class:`~chainrule.optim.LBFGS`) keeps the parameter groups and state dicts of this class
    and brings its own :meth:`step`, :meth:`_state_entries` and :meth:`_load_state_entries`.

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

    needs_closure: bool = False
    """Whether :meth:`step` needs a closure that re-evaluates the loss (read by ``fit``)."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self._chains: dict[int, tuple[list, Transform]] = {}  # group -> (structural key, chain)
        self._layouts: dict[int, Layout] = {}                 # group -> where its arrays live
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

    def _validate(self, group: dict[str, Any], where: str) -> None:
        """Check a group's hyperparameters; raise :class:`ConfigError` naming ``where``."""
        check_number(group["lr"], "lr", where, low=0.0, label="learning rate")

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

    def _step_group(self, gi: int, group: dict[str, Any]) -> None:
        # the one step body: the layout only says where the arrays live (one flat buffer, or
        # one array per parameter); the chain and θ ← θ − lr · u are the same for both
        tx = self._chain(gi, group)
        layout = self._layouts.get(gi) or self._new_layout(gi, group, tx)
        batch = layout.gather()
        if batch is None:
            return
        layout.run(tx, batch, -float(group["lr"]))
        layout.finish(batch[1])

    def _chain(self, gi: int, group: dict[str, Any]) -> Transform:
        # NOTE: rebuilt only when a structural hyperparameter changes; lr is read every step.
        key = [v for k, v in group.items() if k not in _NOT_STRUCTURAL]  # (a list: cheaper)
        cached = self._chains.get(gi)
        if cached is not None and cached[0] == key:
            return cached[1]
        self._validate(group, f"{type(self).__name__} parameter group {gi}")
        tx = self._transform(group)
        self._chains[gi] = (key, tx)
        layout = self._layouts.get(gi)
        if layout is not None:  # the chain changed shape (say momentum turned on)
            self._layouts[gi] = layout.rechain(tx)
        return tx

    def _new_layout(self, gi: int, group: dict[str, Any], tx: Transform) -> Layout:
        params = group["params"]
        layout = Flat(params, tx) if self.flat and flattenable(params) else PerParam.fresh(params, tx)
        self._layouts[gi] = layout
        return layout

    @property
    def _flats(self) -> list[Flat | None]:
        """Each group's flat buffer, or None where it steps per parameter (tests look here)."""
        layouts = [self._layouts.get(gi) for gi in range(len(self.param_groups))]
        return [layout if isinstance(layout, Flat) else None for layout in layouts]

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
        return {"state": self._state_entries(), "param_groups": group_entries(self.param_groups)}

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
        saved_state, where = read_state_dict(type(self).__name__, self.param_groups, state_dict,
                                             self._validate)
        self._load_state_entries(saved_state, where)

    def _state_entries(self) -> dict[int, dict[str, Any]]:
        """The ``"state"`` part of :meth:`state_dict`; a subclass with other state overrides it."""
        layouts = [self._layouts.get(gi) for gi in range(len(self.param_groups))]
        return param_state_entries(self.param_groups, [lay and lay.state for lay in layouts])

    def _load_state_entries(self, saved_state: dict[int, dict[str, Any]],
                            where: dict[int, tuple[int, int]]) -> None:
        """Load the ``"state"`` part into fresh layouts built from the restored groups."""
        self._chains.clear()
        self._layouts.clear()
        states = []
        for gi, group in enumerate(self.param_groups):
            layout = self._new_layout(gi, group, self._chain(gi, group))
            layout.replaced()  # the entries loaded below replace the flat state's views
            states.append(layout.state)
        load_param_state(type(self).__name__, self.param_groups, states, saved_state, where)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for gi, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {gi}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])
