"""The one validator for user-given numbers and choices.

Every hyperparameter check in chainrule goes through :func:`check_number` or
:func:`check_choice`, so every such error reads the same way: ``Invalid <what>: <value>
(expected <rule>) in <where>``, raised as :class:`~chainrule.errors.ConfigError`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import ConfigError

__all__ = ["check_number", "check_choice", "check_bool"]


def check_number(value: Any, name: str, where: str, *, low: float | None = None,
                 high: float | None = None, low_open: bool = False, high_open: bool = False,
                 integer: bool = False, label: str | None = None) -> Any:
    """``value`` as an ``int`` (``integer=True``) or ``float`` within the bounds.

    Args:
        value: what the user gave.
        name: the argument's name, used in the stated rule (``lr >= 0``).
        where: the function or class that was given it.
        low, high: bounds (``None`` for none); open bounds exclude the value itself.
        integer: require an integral number (``True``/``False`` are never numbers here).
        label: a longer name for the message (``"learning rate"``), ``name`` by default.

    Raises:
        ConfigError: not a (finite-comparable) number, not integral, or out of bounds.

    >>> check_number(0.1, "lr", "SGD", low=0)
    0.1
    >>> check_number(-1, "lr", "SGD", low=0, label="learning rate")
    Traceback (most recent call last):
    ...
    chainrule.errors.ConfigError: Invalid learning rate: -1 (expected lr >= 0) in SGD
    """
    if low is not None and high is not None:  # both bounds read as one range: 0 < factor < 1
        rule = f"{low:g} {'<' if low_open else '<='} {name} {'<' if high_open else '<='} {high:g}"
    elif low is not None:
        rule = f"{name} {'>' if low_open else '>='} {low:g}"
    elif high is not None:
        rule = f"{name} {'<' if high_open else '<='} {high:g}"
    else:
        rule = ""
    kind = "an integer" if integer else "a number"
    expected = f"{kind} {rule or name}" if integer else rule or f"{name} {kind}"
    label = label or name
    ok_type = isinstance(value, numbers.Integral if integer else numbers.Real)
    if isinstance(value, bool) or not ok_type or (not integer and math.isnan(value)):
        wanted = expected if integer else f"{kind}, {expected}"
        raise ConfigError(f"Invalid {label}: {value!r} (expected {wanted}) in {where}")
    if not ((low is None or (value > low if low_open else value >= low))
            and (high is None or (value < high if high_open else value <= high))):
        raise ConfigError(f"Invalid {label}: {value!r} (expected {expected}) in {where}")
    return int(value) if integer else float(value)


def check_choice(value: Any, name: str, where: str, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``.

    Raises:
        ConfigError: naming the value and listing the choices.

    >>> check_choice("relu", "activation", "MLP", ("relu", "tanh"))
    'relu'
    >>> check_choice("rleu", "activation", "MLP", ("relu", "tanh"))
    Traceback (most recent call last):
    ...
    chainrule.errors.ConfigError: Invalid activation: 'rleu' (expected one of 'relu', 'tanh') in MLP
    """
    choices = tuple(choices)
    try:
        found = value in choices
    except TypeError:  # an unhashable value given where names are expected
        found = False
    if not found:
        listed = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"Invalid {name}: {value!r} (expected one of {listed}) in {where}")
    return value


def check_bool(value: Any, name: str, where: str) -> bool:
    """``value`` if it is ``True`` or ``False`` (NumPy's bools included).

    Raises:
        ConfigError: anything else (``"no"`` or ``0`` is not a flag).
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ConfigError(f"Invalid {name}: {value!r} (expected True or False) in {where}")
