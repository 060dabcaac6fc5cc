"""The estimators' hyperparameters, checked in ``fit`` (never in ``__init__``) through
:mod:`chainrule.validate`, and the input checks of scikit-learn's contract."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import DataError
from ..validate import check_bool, check_choice, check_number

#: scikit-learn's hidden activations; each is also a name in :data:`chainrule.nn.ACTIVATIONS`.
ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
STOCHASTIC = ("sgd", "adam")

Check = Callable[[Any, str, str], Any]  # check(value, name, where) raises ConfigError


def _number(**rule: Any) -> Check:
    return lambda v, name, where: check_number(v, name, where, **rule)


def _choice(*names: str) -> Check:
    return lambda v, name, where: check_choice(v, name, where, names)


def _sizes(v: Any, name: str, where: str) -> None:
    if isinstance(v, str) or not hasattr(v, "__iter__"):
        check_number(v, name, where, low=1, integer=True)
        return
    for size in v:
        check_number(size, name, where, low=1, integer=True, label=f"{name} entry")


def _batch_size(v: Any, name: str, where: str) -> None:
    if isinstance(v, str):
        check_choice(v, name, where, ("auto",))
    else:
        check_number(v, name, where, low=1, integer=True)


def _random_state(v: Any, name: str, where: str) -> None:
    if v is not None and not isinstance(v, np.random.RandomState):
        check_number(v, name, where, low=0, high=2**32 - 1, integer=True)


def _verbose(v: Any, name: str, where: str) -> None:
    if not isinstance(v, (bool, np.bool_)):
        check_number(v, name, where, low=0, integer=True)


def _n_iter_no_change(v: Any, name: str, where: str) -> None:
    if not (isinstance(v, numbers.Real) and v == np.inf):  # np.inf: never stop on stalls
        check_number(v, name, where, low=1, integer=True)


_UNIT = _number(low=0.0, high=1.0, high_open=True)

#: name -> check, scikit-learn's ``_parameter_constraints`` in chainrule's validator.
CONSTRAINTS: dict[str, Check] = {
    "hidden_layer_sizes": _sizes,
    "activation": _choice(*ACTIVATIONS),
    "solver": _choice("lbfgs", "sgd", "adam"),
    "alpha": _number(low=0.0),
    "batch_size": _batch_size,
    "learning_rate": _choice("constant", "invscaling", "adaptive"),
    "learning_rate_init": _number(low=0.0, low_open=True),
    "power_t": _number(low=0.0),
    "max_iter": _number(low=1, integer=True),
    "shuffle": check_bool,
    "random_state": _random_state,
    "tol": _number(low=0.0),
    "verbose": _verbose,
    "warm_start": check_bool,
    "momentum": _number(low=0.0, high=1.0),
    "nesterovs_momentum": check_bool,
    "early_stopping": check_bool,
    "validation_fraction": _UNIT,
    "beta_1": _UNIT,
    "beta_2": _UNIT,
    "epsilon": _number(low=0.0, low_open=True),
    "n_iter_no_change": _n_iter_no_change,
    "max_fun": _number(low=1, integer=True),
    "loss": _choice("squared_error", "poisson"),
}


def validate_params(estimator: Any) -> None:
    """Check every constructor argument of ``estimator`` against :data:`CONSTRAINTS`.

    Raises:
        ConfigError: "Invalid <name>: <value> (expected ...) in <estimator class>".
    """
    where = type(estimator).__name__
    for name, value in estimator.get_params(deep=False).items():
        CONSTRAINTS[name](value, name, where)


def as_data_error(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a scikit-learn validation utility; its ValueErrors become DataError, same message."""
    try:
        return fn(*args, **kwargs)
    except DataError:
        raise
    except ValueError as e:
        raise DataError(str(e)) from e


def dense(X: Any) -> np.ndarray:
    # NOTE: chainrule has no sparse arrays; the networks here are small enough to densify.
    return X.toarray() if hasattr(X, "toarray") else X


def check_sample_weight(sample_weight: Any, n: int, dtype: Any) -> np.ndarray | None:
    """``sample_weight`` as a length-``n`` array (a number: the same weight for all), or None.

    Raises:
        DataError: a wrong shape, negative or non-finite weights, or weights summing to zero.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
        sw = np.full(n, sample_weight, dtype=dtype)
    else:
        sw = np.asarray(sample_weight, dtype=dtype)
    if sw.ndim != 1 or sw.shape[0] != n:
        raise DataError(f"sample_weight.shape == {sw.shape}, expected ({n},)")
    if not np.all(np.isfinite(sw)) or np.any(sw < 0):
        raise DataError("sample_weight must be finite and non-negative")
    if not sw.sum() > 0:
        raise DataError("sample_weight sums to zero; at least one sample needs a positive weight")
    return sw
