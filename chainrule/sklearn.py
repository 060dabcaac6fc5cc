"""scikit-learn estimators over chainrule: :class:`MLPClassifier` and :class:`MLPRegressor`.

They take scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` hyperparameters under the same
names and defaults, and follow its training semantics, so code written for one runs on the
other; underneath, the network is a :class:`chainrule.models.MLP` (``model_``), differentiated
by chainrule's engine and trained by :mod:`chainrule.optim` (Adam, SGD with momentum, L-BFGS).

What matches scikit-learn, and how:

- Outputs and objectives (NOTES.md 1 and 3): one logistic unit and binary cross-entropy for two
  classes (and one per label for multilabel indicator targets), softmax and cross-entropy for
  more classes, identity outputs and half the squared error for regression (``loss="poisson"``:
  exp outputs and half the Poisson deviance).
- ``alpha`` is an L2 penalty added to the loss as scikit-learn does, ``alpha / (2 n) · Σ‖W‖²``
  over the weight matrices only (not the biases), with ``n`` the number of samples in the
  mini-batch (the sum of their weights with ``sample_weight``); ``loss_`` includes it.
- Initialization is scikit-learn's (Glorot uniform, U(−b, b) with b = √(6 / (fan_in + fan_out)),
  √(2 / ...) for logistic units, biases from the same interval), so learning rates transfer.
- ``sgd`` and ``adam`` run epochs of mini-batches (``batch_size="auto"`` is min(200, n));
  ``tol`` / ``n_iter_no_change`` stop on the training loss, or on the validation score with
  ``early_stopping`` (whose best weights are restored); ``learning_rate`` "invscaling" and
  "adaptive" schedule SGD's step. ``lbfgs`` is :class:`chainrule.optim.LBFGS` over the whole
  set with a strong-Wolfe line search (history 10 as in SciPy's L-BFGS-B, ``max_fun`` loss
  evaluations at most, ``tol`` on the largest gradient entry).
- A :class:`~sklearn.exceptions.ConvergenceWarning` when ``max_iter`` ends training before it
  converged.

With the same ``random_state`` the initial weights, shuffles, mini-batches and early-stopping
split are scikit-learn's, and SGD follows scikit-learn's MLP step for step (to rounding). Two
differences come from chainrule's optimizers, which use PyTorch's formulas: Adam adds ``epsilon``
to √v̂ rather than to √v (only matters when gradients are near ``epsilon``), and SGD momentum
with a changing step ("invscaling", "adaptive") scales the whole velocity by the current step,
where scikit-learn scales only the newest gradient. L-BFGS is chainrule's own, so its iterates
differ from SciPy's while stopping on the same ``tol`` and ftol.

Computation runs in the input's precision (float64, or float32 for float32 input). Sparse
input is accepted and densified. Validation and misuse errors come from scikit-learn's own
utilities, re-raised as :class:`chainrule.errors.DataError` (a ``ValueError``) with the same
message; invalid hyperparameters raise :class:`chainrule.errors.ConfigError` in ``fit``.

This module is the optional scikit-learn extra (``pip install chainrule[data]``); ``import
chainrule`` does not import it.

>>> from sklearn.datasets import load_iris
>>> X, y = load_iris(return_X_y=True)
>>> clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=1000,
...                     random_state=0).fit(X, y)
>>> clf.score(X, y) > 0.95
True
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import functional as _F
from .autograd import no_grad
from .errors import ConfigError, DataError
from .models.mlp import MLP
from .nn import Linear
from .nn import functional as NF
from .optim import LBFGS, SGD, Adam
from .tensor import Tensor

__all__ = ["MLPClassifier", "MLPRegressor"]

# scikit-learn's activation names -> chainrule's
_ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "identity"}
_STOCHASTIC = ("sgd", "adam")
_XY = tuple[np.ndarray, np.ndarray]
# SciPy L-BFGS-B's default ftol (factr 1e7 times machine epsilon), which scikit-learn's lbfgs uses
_FTOL = 1e7 * float(np.finfo(np.float64).eps)


# ----------------------------------------------------------------------------- hyperparameters
# Declarative constraints, checked in fit (never in __init__): name -> (predicate, expected).
def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _real(lo: float, hi: float = np.inf, lo_open: bool = False, hi_open: bool = True
          ) -> tuple[Callable[[Any], bool], str]:
    def ok(v: Any) -> bool:
        return _is_real(v) and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    return ok, f"a real number in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"


def _integer(lo: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: _is_int(v) and v >= lo), f"an integer >= {lo}"


def _options(*names: str) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: isinstance(v, str) and v in names), "one of " + ", ".join(map(repr, names))


_BOOL = ((lambda v: isinstance(v, (bool, np.bool_))), "True or False")


def _sizes_ok(v: Any) -> bool:
    if _is_int(v):
        return v >= 1
    if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
        return False
    return all(_is_int(s) and s >= 1 for s in v)


_CONSTRAINTS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "hidden_layer_sizes": (_sizes_ok, "a positive integer or a sequence of positive integers"),
    "activation": _options(*_ACTIVATIONS),
    "solver": _options("lbfgs", "sgd", "adam"),
    "alpha": _real(0.0),
    "batch_size": ((lambda v: v == "auto" or (_is_int(v) and v >= 1)), "'auto' or an integer >= 1"),
    "learning_rate": _options("constant", "invscaling", "adaptive"),
    "learning_rate_init": _real(0.0, lo_open=True),
    "power_t": _real(0.0),
    "max_iter": _integer(1),
    "shuffle": _BOOL,
    "random_state": ((lambda v: v is None or _is_int(v) or isinstance(v, np.random.RandomState)),
                     "None, an integer or a numpy RandomState"),
    "tol": _real(0.0),
    "verbose": ((lambda v: isinstance(v, (bool, np.bool_)) or _is_int(v)), "a bool or an integer"),
    "warm_start": _BOOL,
    "momentum": _real(0.0, 1.0, hi_open=False),
    "nesterovs_momentum": _BOOL,
    "early_stopping": _BOOL,
    "validation_fraction": _real(0.0, 1.0),
    "beta_1": _real(0.0, 1.0),
    "beta_2": _real(0.0, 1.0),
    "epsilon": _real(0.0, lo_open=True),
    "n_iter_no_change": ((lambda v: (_is_int(v) and v >= 1) or v == np.inf),
                         "an integer >= 1 or numpy.inf"),
    "max_fun": _integer(1),
    "loss": _options("squared_error", "poisson"),
}


def _validate(estimator: BaseEstimator) -> None:
    for name, value in estimator.get_params(deep=False).items():
        ok, expected = _CONSTRAINTS[name]
        if not ok(value):
            raise ConfigError(f"{type(estimator).__name__}: invalid {name}={value!r}; expected {expected}")


def _as_data_error(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a scikit-learn validation utility; its ValueErrors become DataError, same message."""
    try:
        return fn(*args, **kwargs)
    except DataError:
        raise
    except ValueError as e:
        raise DataError(str(e)) from e


def _dense(X: Any) -> np.ndarray:
    # NOTE: chainrule has no sparse arrays; the networks here are small enough to densify.
    return X.toarray() if hasattr(X, "toarray") else X


def _check_sample_weight(sample_weight: Any, n: int, dtype: Any) -> np.ndarray | None:
    if sample_weight is None:
        return None
    if _is_real(sample_weight):
        return np.full(n, sample_weight, dtype=dtype)
    sw = np.asarray(sample_weight, dtype=dtype)
    if sw.ndim != 1 or sw.shape[0] != n:
        raise DataError(f"sample_weight.shape == {sw.shape}, expected ({n},)")
    if not np.all(np.isfinite(sw)) or np.any(sw < 0):
        raise DataError("sample_weight must be finite and non-negative")
    return sw


# ------------------------------------------------------------------------------------- base
class _BaseMLP(BaseEstimator):
    """Shared fitting machinery; use :class:`MLPClassifier` or :class:`MLPRegressor`."""

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9, nesterovs_momentum: bool = True,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 n_iter_no_change: int = 10, max_fun: int = 15000) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    # --- what subclasses say -------------------------------------------------------------
    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> _XY:
        raise ConfigError(f"{type(self).__name__} is abstract; use MLPClassifier or MLPRegressor")

    def _out_activation(self) -> str:
        raise ConfigError(f"{type(self).__name__} is abstract; use MLPClassifier or MLPRegressor")

    def _score(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None) -> float:
        raise ConfigError(f"{type(self).__name__} is abstract; use MLPClassifier or MLPRegressor")

    # --- learned views -------------------------------------------------------------------
    def _linears(self) -> list[Linear]:
        return [m for m in self.model_.modules() if isinstance(m, Linear)]

    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weight matrices in scikit-learn's layout, (fan_in, fan_out) per layer (copies)."""
        return [layer.weight.numpy().T.copy() for layer in self._linears()]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The bias vectors, one per layer (copies)."""
        return [layer.bias.numpy().copy() for layer in self._linears()]

    # --- the network ---------------------------------------------------------------------
    def _hidden(self) -> list[int]:
        h = self.hidden_layer_sizes
        return [int(h)] if _is_int(h) else [int(s) for s in h]

    def _initialize(self, n_features: int, n_outputs: int, dtype: Any) -> None:
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = n_outputs
        sizes = [n_features, *self._hidden(), n_outputs]
        self.n_layers_ = len(sizes)
        self.out_activation_ = self._out_activation()
        task = {"logistic": "binary" if n_outputs == 1 else "regression", "softmax": "multiclass",
                "identity": "regression", "exp": "regression"}[self.out_activation_]
        # rng=0: these draws are replaced just below, so they never touch any global state
        self.model_ = MLP(sizes, activation=_ACTIVATIONS[self.activation], task=task, rng=0)
        self.model_.to(dtype=dtype)
        # scikit-learn's Glorot-uniform start (its _init_coef), drawn from random_state
        factor = 2.0 if self.activation == "logistic" else 6.0
        for layer in self._linears():
            fan_out, fan_in = layer.weight.shape
            bound = np.sqrt(factor / (fan_in + fan_out))
            layer.weight.data[...] = self._random_state.uniform(-bound, bound, (fan_in, fan_out)).T
            layer.bias.data[...] = self._random_state.uniform(-bound, bound, fan_out)
        self._optimizer = None
        if self.solver in _STOCHASTIC:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None
            self._best_state = self.model_.state_dict()

    def _logits(self, X: np.ndarray) -> Any:
        z = self.model_(Tensor(X))
        return z.reshape(-1, 1) if z.ndim == 1 else z

    def _forward(self, X: np.ndarray) -> np.ndarray:
        """The output activations (probabilities, values or means), shape (n, n_outputs)."""
        with no_grad():
            z = self._logits(X)
            act = self.out_activation_
            if act == "logistic":
                z = z.sigmoid()
            elif act == "softmax":
                z = _F.softmax(z, axis=1)
            elif act == "exp":
                z = z.exp()
        return z.data

    def _per_sample_loss(self, z: Any, Y: np.ndarray) -> Any:
        act = self.out_activation_
        if act == "softmax":
            return NF.cross_entropy(z, Y.argmax(axis=1), reduction="none")
        if act == "logistic":
            return NF.binary_cross_entropy_with_logits(z, Y, reduction="none").sum(axis=1)
        if act == "exp":
            # half Poisson deviance (scikit-learn's poisson_loss); the constant keeps its value
            const = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1.0)), 0.0) - Y
            return (z.exp() - z * Tensor(Y) + Tensor(const)).sum(axis=1)
        return ((z - Tensor(Y)) ** 2).mean(axis=1) * 0.5

    def _batch_loss(self, X: np.ndarray, Y: np.ndarray, sw: np.ndarray | None) -> Any:
        per_sample = self._per_sample_loss(self._logits(X), Y)
        if sw is None:
            sw_sum = float(X.shape[0])
            loss = per_sample.sum() / sw_sum
        else:
            sw_sum = float(sw.sum())
            loss = (per_sample * Tensor(sw)).sum() / sw_sum
        if self.alpha:
            penalty = sum((layer.weight * layer.weight).sum() for layer in self._linears())
            loss = loss + penalty * (0.5 * self.alpha / sw_sum)
        return loss

    # --- fitting -------------------------------------------------------------------------
    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> _BaseMLP:
        _validate(self)
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        X = np.ascontiguousarray(_dense(X))
        n_samples, n_features = X.shape
        sw = _check_sample_weight(sample_weight, n_samples, X.dtype)
        if sw is not None and not sw.sum() > 0:
            raise DataError("sample_weight sums to zero; at least one sample needs a positive weight")
        Y = np.asarray(Y, dtype=X.dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(n_features, Y.shape[1], X.dtype)
        elif Y.shape[1] != self.n_outputs_:
            raise DataError(f"{type(self).__name__}: y has {Y.shape[1]} outputs but the fitted "
                            f"network has {self.n_outputs_}")
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sw)
        else:
            self._fit_stochastic(X, Y, sw, incremental)
        if not all(np.all(np.isfinite(p.data)) for p in self.model_.parameters()):
            raise DataError("Solver produced non-finite parameter weights. The input data may "
                            "contain large values and need to be preprocessed.")
        return self

    def _fit_lbfgs(self, X: np.ndarray, Y: np.ndarray, sw: np.ndarray | None) -> None:
        opt = LBFGS(self.model_.parameters(), lr=1.0, max_iter=self.max_iter, max_eval=self.max_fun,
                    tolerance_grad=self.tol, tolerance_change=_FTOL, history_size=10,
                    line_search_fn="strong_wolfe")

        def closure() -> Any:
            opt.zero_grad()
            loss = self._batch_loss(X, Y, sw)
            loss.backward()
            return loss

        self.model_.train()
        opt.step(closure)
        state = opt.state_dict()["state"].get(0, {})
        self.n_iter_ = int(state.get("n_iter", 0))
        with no_grad():
            self.loss_ = float(self._batch_loss(X, Y, sw).item())
        if self.n_iter_ >= self.max_iter or int(state.get("func_evals", 0)) >= self.max_fun:
            warnings.warn(f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                          f"(max_iter={self.max_iter}, max_fun={self.max_fun}); increase them or "
                          "scale the data", ConvergenceWarning, stacklevel=3)

    def _make_optimizer(self) -> Any:
        params = self.model_.parameters()
        if self.solver == "adam":
            return Adam(params, lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2),
                        eps=self.epsilon)
        return SGD(params, lr=self.learning_rate_init, momentum=self.momentum,
                   nesterov=bool(self.nesterovs_momentum) and self.momentum > 0)

    def _fit_stochastic(self, X: np.ndarray, Y: np.ndarray, sw: np.ndarray | None,
                        incremental: bool) -> None:
        if not incremental or self._optimizer is None:
            self._optimizer = self._make_optimizer()
        opt = self._optimizer
        if self.early_stopping and incremental:
            raise ConfigError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        X_val = Y_val = sw_val = None
        if early_stopping:
            # train_test_split holds out ceil(fraction · n) samples
            if np.ceil(self.validation_fraction * X.shape[0]) < 2:
                raise DataError("The validation set is too small. Increase 'validation_fraction' "
                                f"(got {self.validation_fraction}) or the size of your dataset "
                                f"({X.shape[0]} samples).")
            stratify = Y if is_classifier(self) and self.n_outputs_ == 1 else None
            arrays = (X, Y) if sw is None else (X, Y, sw)
            parts = train_test_split(*arrays, random_state=self._random_state,
                                     test_size=self.validation_fraction, stratify=stratify)
            X, X_val, Y, Y_val = parts[:4]
            if sw is not None:
                sw, sw_val = parts[4], parts[5]
        n_samples = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going "
                              "to be clipped", stacklevel=3)
            batch_size = int(np.clip(self.batch_size, 1, n_samples))

        self.model_.train()
        idx = np.arange(n_samples)
        for _ in range(self.max_iter):
            if self.shuffle:
                # reshuffle the previous order, as sklearn.utils.shuffle does: same draws, same
                # batches as scikit-learn's MLP for the same random_state
                idx = idx[self._random_state.permutation(n_samples)]
            accumulated = 0.0
            for start in range(0, n_samples, batch_size):
                b = idx[start:start + batch_size]
                loss = self._batch_loss(X[b], Y[b], None if sw is None else sw[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
                accumulated += float(loss.item()) * len(b)
            self.n_iter_ += 1
            self.loss_ = accumulated / n_samples
            self.t_ += n_samples
            self.loss_curve_.append(self.loss_)
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
            self._update_no_improvement_count(early_stopping, X_val, Y_val, sw_val)
            if self.solver == "sgd" and self.learning_rate == "invscaling":
                opt.param_groups[0]["lr"] = self.learning_rate_init / (self.t_ + 1) ** self.power_t
            if self._no_improvement_count > self.n_iter_no_change:
                what = "Validation score" if early_stopping else "Training loss"
                msg = (f"{what} did not improve more than tol={self.tol:f} for "
                       f"{self.n_iter_no_change} consecutive epochs.")
                if self._trigger_stopping(msg):
                    break
                self._no_improvement_count = 0
            if incremental:
                break
            if self.n_iter_ == self.max_iter:
                warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                              "and the optimization hasn't converged yet.", ConvergenceWarning,
                              stacklevel=3)
        if early_stopping:
            self.model_.load_state_dict(self._best_state)

    def _trigger_stopping(self, msg: str) -> bool:
        """scikit-learn's rule: stop, except that adaptive SGD first divides its step by 5."""
        if self.solver == "sgd" and self.learning_rate == "adaptive":
            group = self._optimizer.param_groups[0]
            if group["lr"] > 1e-6:
                group["lr"] /= 5.0
                if self.verbose:
                    print(msg + f" Setting learning rate to {group['lr']:f}")
                return False
            msg += " Learning rate too small. Stopping."
        if self.verbose:
            print(msg)
        return True

    def _update_no_improvement_count(self, early_stopping: bool, X_val: Any, Y_val: Any,
                                     sw_val: Any) -> None:
        if early_stopping:
            score = self._score(X_val, Y_val, sw_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_state = self.model_.state_dict()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _BaseMLP:
        """Train the network on (X, y) from a fresh start (unless ``warm_start``).

        Args:
            X: array-like or sparse matrix of shape (n_samples, n_features).
            y: targets: labels (classifier) or values (regressor), shape (n_samples,) or
                (n_samples, n_outputs).
            sample_weight: optional per-sample weights, shape (n_samples,).

        Returns:
            self.

        Raises:
            ConfigError: an invalid hyperparameter.
            DataError: invalid X, y or sample_weight (NaN, wrong shapes, no samples, ...).
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _check_solver(self) -> bool:
        if self.solver not in _STOCHASTIC:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    def _validate_predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = _as_data_error(validate_data, self, X, accept_sparse=["csr", "csc"],
                           dtype=(np.float64, np.float32), reset=False)
        return np.ascontiguousarray(_dense(X), dtype=self.model_.parameters()[0].dtype)

    def _score_with(self, X: Any, y: Any, sw: Any, score_fn: Callable[..., float]) -> float:
        pred = self._predict(X)
        if np.issubdtype(np.asarray(pred).dtype, np.floating) and not np.all(np.isfinite(pred)):
            return np.nan
        return float(score_fn(y, pred, sample_weight=sw))

    # --- pickling: optimizers hold closures; keep their state as plain data instead ---------
    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        opt = state.get("_optimizer")
        if opt is not None:
            state = dict(state)
            state["_optimizer"] = None
            state["_optimizer_state"] = opt.state_dict()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        saved = state.pop("_optimizer_state", None)
        super().__setstate__(state)
        if saved is not None:
            self._optimizer = self._make_optimizer()
            self._optimizer.load_state_dict(saved)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


# -------------------------------------------------------------------------------- classifier
class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A feedforward network classifier with scikit-learn's ``MLPClassifier`` interface.

    Two classes get one logistic output unit (ŷ = σ(z) = P(y = classes_[1] | x)), more classes
    a softmax over one unit per class, multilabel indicator targets one logistic unit per label
    (NOTES.md 1). Labels of any type are mapped through ``classes_``.

    Args:
        hidden_layer_sizes: units per hidden layer, e.g. (100,) or (64, 32).
        activation: hidden activation: "relu", "tanh", "logistic" (σ) or "identity".
        solver: "adam", "sgd" or "lbfgs" (full batch).
        alpha: L2 penalty strength, added as alpha / (2 n) · Σ‖W‖² (weights only).
        batch_size: mini-batch size, or "auto" = min(200, n_samples).
        learning_rate: SGD's schedule: "constant", "invscaling" (η₀ / (t + 1)^power_t, t the
            samples seen) or "adaptive" (divide by 5 when progress stalls).
        learning_rate_init: the initial step size η₀ (sgd, adam).
        power_t: exponent of "invscaling".
        max_iter: epochs (sgd, adam) or iterations (lbfgs).
        shuffle: reshuffle the samples every epoch.
        random_state: None, an int or a RandomState: initial weights, shuffling, the
            early-stopping split.
        tol: the smallest improvement that counts (loss, or validation score).
        verbose: print the loss every epoch.
        warm_start: continue from the previous fit instead of starting again.
        momentum: SGD momentum in [0, 1].
        nesterovs_momentum: Nesterov's variant of momentum.
        early_stopping: hold out ``validation_fraction`` of the data (stratified) and stop
            when its accuracy stalls; the best weights are kept.
        validation_fraction: the held-out share for early stopping.
        beta_1: Adam's first-moment decay.
        beta_2: Adam's second-moment decay.
        epsilon: Adam's ε.
        n_iter_no_change: epochs without a ``tol`` improvement before stopping.
        max_fun: L-BFGS's limit on loss evaluations.

    Attributes:
        classes_: the class labels.
        n_features_in_: the number of input features.
        model_: the trained :class:`chainrule.models.MLP` (outputs are logits).
        loss_: the final training loss (penalty included).
        loss_curve_: the loss per epoch (sgd, adam).
        best_loss_, validation_scores_, best_validation_score_: as in scikit-learn.
        n_iter_: epochs (or L-BFGS iterations) run.
        t_: training samples seen.
        n_outputs_, n_layers_, out_activation_: the network's shape and output unit.
        coefs_, intercepts_: the weights, (fan_in, fan_out) per layer, and biases.

    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 10)
    >>> y = np.array(["no", "yes", "yes", "no"] * 10)        # XOR, with string labels
    >>> clf = MLPClassifier((8,), activation="tanh", solver="lbfgs", random_state=1).fit(X, y)
    >>> clf.predict([[0.0, 1.0], [1.0, 1.0]]).tolist()
    ['yes', 'no']
    >>> clf.predict_proba([[0.0, 1.0]]).shape
    (1, 2)
    """

    def _out_activation(self) -> str:
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax"
        return "logistic"

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> _XY:
        X, y = _as_data_error(validate_data, self, X, y, accept_sparse=["csr", "csc"],
                              multi_output=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        _as_data_error(check_classification_targets, y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise DataError("warm_start can only be used where `y` has the same classes as "
                                    f"in the previous call to fit. Previously got {self.classes_}, "
                                    f"`y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise DataError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                f"{self.classes_}. 'y' has {classes}.")
        return X, self._label_binarizer.transform(y)

    def _score(self, X: np.ndarray, Y: np.ndarray, sw: np.ndarray | None) -> float:
        return self._score_with(X, self._label_binarizer.inverse_transform(Y), sw, accuracy_score)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        p = self._forward(X)
        if self.n_outputs_ == 1:
            p = p.ravel()
        return self._label_binarizer.inverse_transform(p)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row (labels from ``classes_``).

        Args:
            X: array-like or sparse matrix of shape (n_samples, n_features).

        Returns:
            Labels, shape (n_samples,) (or (n_samples, n_labels) for multilabel targets).

        Raises:
            NotFittedError: called before ``fit``.
            DataError: X has another number of features than the training data, or bad values.
        """
        return self._predict(self._validate_predict(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        Args:
            X: array-like or sparse matrix of shape (n_samples, n_features).

        Returns:
            Probabilities of shape (n_samples, n_classes); rows sum to 1 except for multilabel
            targets, where each column is one label's σ(z).

        Raises:
            NotFittedError: called before ``fit``.
            DataError: X has another number of features than the training data, or bad values.
        """
        p = self._forward(self._validate_predict(X))
        if self.n_outputs_ == 1:
            p = p.ravel()
            return np.vstack([1.0 - p, p]).T
        return p

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The logarithm of :meth:`predict_proba`.

        Args:
            X: array-like or sparse matrix of shape (n_samples, n_features).

        Returns:
            Log-probabilities of shape (n_samples, n_classes).

        Raises:
            NotFittedError: called before ``fit``.
            DataError: X has another number of features than the training data, or bad values.
        """
        p = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(p)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None) -> MLPClassifier:
        """One epoch over (X, y), continuing from the current weights and optimizer state.

        Args:
            X: array-like or sparse matrix of shape (n_samples, n_features).
            y: labels, shape (n_samples,).
            sample_weight: optional per-sample weights.
            classes: every class label that may occur; required on the first call.

        Returns:
            self.

        Raises:
            DataError: no ``classes`` on the first call, different ``classes`` later, or labels
                outside ``classes``.
            AttributeError: (on access) the solver is "lbfgs", which is not incremental.
        """
        if not hasattr(self, "classes_"):
            if classes is None:
                raise DataError("classes must be passed on the first call to partial_fit.")
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise DataError(f"`classes={np.unique(classes)}` is not the same as on the first call "
                            f"to partial_fit: {self.classes_}")
        return self._fit(X, y, sample_weight, incremental=True)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


# -------------------------------------------------------------------------------- regressor
class MLPRegressor(RegressorMixin, _BaseMLP):
    """A feedforward network regressor with scikit-learn's ``MLPRegressor`` interface.

    Identity outputs trained on half the squared error (NOTES.md 3's quadratic loss), or with
    ``loss="poisson"`` exp outputs on half the Poisson deviance (for counts). The other
    arguments and attributes are those of :class:`MLPClassifier` (without classes); early
    stopping watches R² on the held-out part.

    Args:
        loss: "squared_error" or "poisson".
        hidden_layer_sizes: units per hidden layer.
        activation: "relu", "tanh", "logistic" or "identity".
        **kwargs: the other hyperparameters of :class:`MLPClassifier`, same names and defaults.

    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, (200, 1))
    >>> reg = MLPRegressor(hidden_layer_sizes=(20,), activation="tanh", solver="lbfgs",
    ...                    random_state=0).fit(X, np.sin(3 * X).ravel())
    >>> reg.score(X, np.sin(3 * X).ravel()) > 0.99
    True
    """

    def __init__(self, loss: str = "squared_error", hidden_layer_sizes: Any = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | str = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True, random_state: Any = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000) -> None:
        self.loss = loss
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun)

    def _out_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> _XY:
        X, y = _as_data_error(validate_data, self, X, y, accept_sparse=["csr", "csc"],
                              multi_output=True, y_numeric=True, dtype=(np.float64, np.float32),
                              reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(np.asarray(y) < 0):
            raise DataError("loss='poisson' needs non-negative targets y; got a minimum of "
                            f"{np.min(y)}")
        return X, y

    def _score(self, X: np.ndarray, y: np.ndarray, sw: np.ndarray | None) -> float:
        return self._score_with(X, y.ravel() if y.shape[1] == 1 else y, sw, r2_score)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        out = self._forward(X)
        return out.ravel() if out.shape[1] == 1 else out

    def predict(self, X: Any) -> np.ndarray:
        """The network's outputs.

        Args:
            X: array-like or sparse matrix of shape (n_samples, n_features).

        Returns:
            Predictions of shape (n_samples,) (or (n_samples, n_outputs) for 2-D targets).

        Raises:
            NotFittedError: called before ``fit``.
            DataError: X has another number of features than the training data, or bad values.
        """
        return self._predict(self._validate_predict(X))

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over (X, y), continuing from the current weights and optimizer state.

        Args:
            X: array-like or sparse matrix of shape (n_samples, n_features).
            y: targets, shape (n_samples,) or (n_samples, n_outputs).
            sample_weight: optional per-sample weights.

        Returns:
            self.

        Raises:
            AttributeError: (on access) the solver is "lbfgs", which is not incremental.
        """
        return self._fit(X, y, sample_weight, incremental=True)
