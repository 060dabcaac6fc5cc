"""The two estimators: :class:`MLPClassifier` and :class:`MLPRegressor`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from ..errors import DataError
from ._base import XY, BaseMLP
from ._params import as_data_error

__all__ = ["MLPClassifier", "MLPRegressor"]


# -------------------------------------------------------------------------------- classifier
class MLPClassifier(ClassifierMixin, BaseMLP):
    """A feedforward network classifier with scikit-learn's ``MLPClassifier`` interface.

    Two classes get one logistic output unit (ŷ = σ(z) = P(y = classes_[1] | x)), more classes
    a softmax over one unit per class, multilabel indicator targets one logistic unit per label
    (notes §1, the neuron). Labels of any type are mapped through ``classes_``.

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

    def _task(self, n_outputs: int) -> str:
        if self._label_binarizer.y_type_ == "multiclass":
            return "multiclass"
        return "binary" if n_outputs == 1 else "multilabel"

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> XY:
        X, y = as_data_error(validate_data, self, X, y, accept_sparse=["csr", "csc"],
                             multi_output=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        as_data_error(check_classification_targets, y)
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
        # NOTE: labels come from the head's probabilities through scikit-learn's
        # LabelBinarizer, so a tie (p = ½ exactly) goes the way scikit-learn's MLP sends it.
        p = self._forward(X)
        return self._label_binarizer.inverse_transform(p.ravel() if self.n_outputs_ == 1 else p)

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
        X = self._validate_predict(X)  # first: unfitted estimators raise NotFittedError
        return self._head.proba(self._logits(X))

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
class MLPRegressor(RegressorMixin, BaseMLP):
    """A feedforward network regressor with scikit-learn's ``MLPRegressor`` interface.

    Identity outputs trained on half the squared error (notes §3, objectives's quadratic loss), or with
    ``loss="poisson"`` exp outputs on half the Poisson deviance (for counts). The other
    arguments and attributes are those of :class:`MLPClassifier` (without classes); early
    stopping watches R² on the held-out part.

    Args:
        loss: "squared_error" or "poisson".
        hidden_layer_sizes: units per hidden layer.
        activation: "relu", "tanh", "logistic" or "identity".

    The other hyperparameters are those of :class:`MLPClassifier`, same names and defaults.

    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, (200, 1))
    >>> reg = MLPRegressor(hidden_layer_sizes=(20,), activation="tanh", solver="lbfgs",
    ...                    random_state=0).fit(X, np.sin(3 * X).ravel())
    >>> reg.score(X, np.sin(3 * X).ravel()) > 0.99
    True
    """

    # NOTE: scikit-learn's contract: every argument stored under its own name.
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

    def _task(self, n_outputs: int) -> str:
        return "poisson" if self.loss == "poisson" else "regression"

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> XY:
        X, y = as_data_error(validate_data, self, X, y, accept_sparse=["csr", "csc"],
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
