"""Optimizer state dicts: the plain-data form of an optimizer, apart from stepping.

The format is PyTorch's: ``{"state": {index: {name: array or number}}, "param_groups":
[{hyperparameters..., "params": [indices]}]}``, with parameters numbered across groups in
order. Saving copies everything to the host; loading checks the structure, restores the
hyperparameters into the groups and copies each array onto its parameter's dtype and device.
The functions here serve every optimizer: :class:`~chainrule.optim.Optimizer` keeps one entry
per parameter, :class:`~chainrule.optim.LBFGS` one entry for its whole history.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import array_module, to_host
from ..errors import StateError
from .transforms import State

Where = dict[int, tuple[int, int]]  # parameter index -> (group, position in the group)


def host_copy(v: Any) -> Any:
    """A state entry as plain data: numbers and None as they are, arrays as host copies."""
    if isinstance(v, (numbers.Number, str)) or v is None:
        return v
    return np.array(to_host(v), copy=True)


def group_entries(param_groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each group's hyperparameters, with its parameters as indices numbered across groups."""
    out, start = [], 0
    for group in param_groups:
        entry = {k: v for k, v in group.items() if k != "params"}
        entry["params"] = list(range(start, start + len(group["params"])))
        start += len(group["params"])
        out.append(entry)
    return out


def param_state_entries(param_groups: list[dict[str, Any]],
                        states: list[State | None]) -> dict[int, dict[str, Any]]:
    """Per-parameter state (one entry per parameter and name) as ``{index: {name: value}}``;
    workspace (names starting with ``_``) and entries not made yet are left out."""
    out: dict[int, dict[str, Any]] = {}
    start = 0
    for group, state in zip(param_groups, states):
        if state is not None:
            for j in range(len(group["params"])):
                entry = {k: host_copy(v[j]) for k, v in state.items()
                         if not k.startswith("_") and v[j] is not None}
                if entry:
                    out[start + j] = entry
        start += len(group["params"])
    return out


def read_state_dict(name: str, param_groups: list[dict[str, Any]], state_dict: Any,
                    validate: Callable[[dict[str, Any], str], None]
                    ) -> tuple[dict[int, dict[str, Any]], Where]:
    """Check a saved state dict against the groups and restore its hyperparameters into them.

    Args:
        name: the optimizer's class name, for messages.
        param_groups: the optimizer's groups (updated in place).
        state_dict: what ``state_dict()`` returned; keys may be strings of ints and tuples may
            be lists (as after a JSON round trip).
        validate: the optimizer's hyperparameter check, run on each restored group.

    Returns:
        The saved state by parameter index, and where each index lives.

    Raises:
        StateError: the groups or their sizes do not match, or state for an unknown parameter.
    """
    who = f"{name}.load_state_dict"
    if not isinstance(state_dict, dict) or "state" not in state_dict \
            or "param_groups" not in state_dict:
        raise StateError(f"{who}: expected a dict with 'state' and 'param_groups'; got "
                         f"{_describe(state_dict)}")
    saved_groups = state_dict["param_groups"]
    if len(saved_groups) != len(param_groups):
        raise StateError(f"{who}: the state has {len(saved_groups)} parameter groups; this "
                         f"optimizer has {len(param_groups)}")
    where: Where = {}
    for gi, (saved, group) in enumerate(zip(saved_groups, param_groups)):
        if not isinstance(saved, dict) or "params" not in saved:
            raise StateError(f"{who}: parameter group {gi} of the state must be a dict with a "
                             f"'params' entry; got {_describe(saved)}")
        if len(saved["params"]) != len(group["params"]):
            raise StateError(f"{who}: parameter group {gi} has {len(saved['params'])} "
                             f"parameters in the state and {len(group['params'])} here")
        for j, index in enumerate(saved["params"]):
            where[int(index)] = (gi, j)
    saved_state = {}
    for index, entry in state_dict["state"].items():
        if int(index) not in where:
            raise StateError(f"{who}: state for parameter {index}, which is in no parameter group")
        saved_state[int(index)] = entry
    for gi, (saved, group) in enumerate(zip(saved_groups, param_groups)):
        for k, v in saved.items():
            if k != "params":
                group[k] = tuple(v) if isinstance(v, list) and isinstance(group.get(k), tuple) else v
        validate(group, f"{who} parameter group {gi}")
    return saved_state, where


def load_param_state(name: str, param_groups: list[dict[str, Any]], states: list[State],
                     saved_state: dict[int, dict[str, Any]], where: Where) -> None:
    """Fill fresh per-parameter states (one per group) from saved entries.

    Raises:
        StateError: an entry the state does not have, a missing one, or a wrong shape.
    """
    for index, entry in saved_state.items():
        gi, j = where[index]
        state, p = states[gi], param_groups[gi]["params"][j]
        for k, v in entry.items():
            if k not in state or k.startswith("_"):
                known = sorted(s for s in state if not s.startswith("_"))
                raise StateError(f"{name}.load_state_dict: unexpected state entry {k!r} for "
                                 f"parameter {index}; expected some of {known}")
            state[k][j] = restore(v, state[k][j], p.data, f"{name}.load_state_dict: state "
                                  f"entry {k!r} of parameter {index}")
        for k, v in state.items():
            if not k.startswith("_") and k not in entry and v[j] is not None:
                raise StateError(f"{name}.load_state_dict: parameter {index} has state "
                                 f"{sorted(entry)} but is missing {k!r}")


def restore(value: Any, current: Any, param: Any, where: str) -> Any:
    """A saved state entry in the form of ``current`` (its fresh value): a number, or an array
    of the parameter's shape, dtype and device.

    Raises:
        StateError: not a number where one is expected, or not the parameter's shape.
    """
    if isinstance(current, numbers.Number) and not hasattr(current, "shape"):
        try:
            return type(current)(value)
        except (TypeError, ValueError) as exc:
            raise StateError(f"{where}: expected a number; got {type(value).__name__}") from exc
    arr = to_host(value)
    if arr.shape != param.shape:
        raise StateError(f"{where}: shape {arr.shape}; expected the parameter's shape {param.shape}")
    xp = array_module(param)
    out = xp.empty_like(param)
    out[...] = xp.asarray(arr)
    return out


def _describe(x: Any) -> str:
    return f"a dict with keys {sorted(map(str, x))}" if isinstance(x, dict) else type(x).__name__
