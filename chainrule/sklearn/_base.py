"""What both estimators share: the constructor, the network and its head, the objective,
``fit`` / ``partial_fit`` plumbing, prediction helpers and pickling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ..autograd import no_grad
from ..errors import ConfigError, DataError
from ..models import MLP
from ..models.heads import TASKS, Head, get_head
from ..nn import Linear
from ..optim import SGD, Adam
from ..tensor import Tensor
from ._params import STOCHASTIC, as_data_error, check_sample_weight, dense, validate_params
from ._solvers import fit_lbfgs, fit_stochastic

XY = tuple[np.ndarray, np.ndarray]


class BaseMLP(BaseEstimator):
    """Shared fitting machinery; use :class:`MLPClassifier` or :class:`MLPRegressor`."""

    # NOTE: scikit-learn's contract: __init__ stores every argument under its own name and
    # nothing else, so this signature is as long as scikit-learn's.
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
    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> XY:
        raise ConfigError(f"{type(self).__name__} is abstract; use MLPClassifier or MLPRegressor")

    def _task(self, n_outputs: int) -> str:
        """The head for ``n_outputs`` target columns: a name in :data:`chainrule.models.heads.HEADS`."""
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

    # --- the network, its head and its objective -----------------------------------------
    def _hidden(self) -> list[int]:
        h = self.hidden_layer_sizes
        return [int(s) for s in h] if hasattr(h, "__iter__") else [int(h)]

    def _initialize(self, n_features: int, n_outputs: int, dtype: Any) -> None:
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = n_outputs
        sizes = [n_features, *self._hidden(), n_outputs]
        self.n_layers_ = len(sizes)
        self._head: Head = get_head(self._task(n_outputs))
        self.out_activation_ = self._head.out_activation
        # MLP's tasks are the three of the notes; multilabel and poisson networks hand over
        # their raw outputs z (identity, as for regression) and this head reads them.
        task = self._head.name if self._head.name in TASKS else "regression"
        # rng=0: these draws are replaced just below, so they never touch any global state
        self.model_ = MLP(sizes, activation=self.activation, task=task, rng=0)
        self.model_.to(dtype=dtype)
        # scikit-learn's Glorot-uniform start (its _init_coef), drawn from random_state
        factor = 2.0 if self.activation == "logistic" else 6.0
        for layer in self._linears():
            fan_out, fan_in = layer.weight.shape
            bound = np.sqrt(factor / (fan_in + fan_out))
            layer.weight.data[...] = self._random_state.uniform(-bound, bound, (fan_in, fan_out)).T
            layer.bias.data[...] = self._random_state.uniform(-bound, bound, fan_out)
        self._optimizer = None
        if self.solver in STOCHASTIC:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            self._best_state = None
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _logits(self, X: np.ndarray) -> Any:
        """The network's outputs z on ``X``, without recording a graph."""
        with no_grad():
            return self.model_(Tensor(X))

    def _forward(self, X: np.ndarray) -> np.ndarray:
        """The output activations (probabilities, values or means), shape (n, n_outputs)."""
        return self._head.outputs(self._logits(X))

    def _batch_loss(self, z: Any, Y: Any, sw: Any = None) -> Any:
        """The head's per-sample losses averaged with weights ``sw``, plus scikit-learn's
        L2 penalty alpha / (2 Σw) · Σ‖W‖² on the weight matrices: ``loss_fn`` for ``fit``."""
        Y = Y.data if isinstance(Y, Tensor) else Y
        sw = sw.data if isinstance(sw, Tensor) else sw
        per_sample = self._head.sample_losses(z.reshape(-1, 1) if z.ndim == 1 else z, Y)
        if sw is None:
            sw_sum = float(Y.shape[0])
            loss = per_sample.sum() / sw_sum
        else:
            sw_sum = float(sw.sum())
            loss = (per_sample * Tensor(sw)).sum() / sw_sum
        if self.alpha:
            penalty = sum((layer.weight * layer.weight).sum() for layer in self._linears())
            loss = loss + penalty * (0.5 * self.alpha / sw_sum)
        return loss

    def _make_optimizer(self) -> Any:
        params = self.model_.parameters()
        if self.solver == "adam":
            return Adam(params, lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2),
                        eps=self.epsilon)
        return SGD(params, lr=self.learning_rate_init, momentum=self.momentum,
                   nesterov=bool(self.nesterovs_momentum) and self.momentum > 0)

    # --- fitting -------------------------------------------------------------------------
    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> BaseMLP:
        validate_params(self)
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        X = np.ascontiguousarray(dense(X))
        n_samples, n_features = X.shape
        sw = check_sample_weight(sample_weight, n_samples, X.dtype)
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
            fit_lbfgs(self, X, Y, sw)
        else:
            fit_stochastic(self, X, Y, sw, incremental)
        if not all(np.all(np.isfinite(p.data)) for p in self.model_.parameters()):
            raise DataError("Solver produced non-finite parameter weights. The input data may "
                            "contain large values and need to be preprocessed.")
        return self

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BaseMLP:
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
        if self.solver not in STOCHASTIC:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    # --- predicting ----------------------------------------------------------------------
    def _validate_predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = as_data_error(validate_data, self, X, accept_sparse=["csr", "csc"],
                          dtype=(np.float64, np.float32), reset=False)
        return np.ascontiguousarray(dense(X), dtype=self.model_.parameters()[0].dtype)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        raise ConfigError(f"{type(self).__name__} is abstract; use MLPClassifier or MLPRegressor")

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
