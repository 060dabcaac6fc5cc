"""The solvers, as configurations of :func:`chainrule.train.fit`.

``sgd`` and ``adam`` are epochs of mini-batches in scikit-learn's order
(:class:`~chainrule.data.ReshuffleSampler`), stopped by :class:`~chainrule.train.EarlyStopping`
under scikit-learn's ``tol`` / ``n_iter_no_change`` rule (on the training loss, or on the
validation score with the best weights restored); two small callbacks keep scikit-learn's
attributes, messages and learning-rate schedules. ``lbfgs`` is one epoch of one full batch:
``fit`` hands :class:`~chainrule.optim.LBFGS` a closure because it ``needs_closure``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from ..data import ReshuffleSampler
from ..errors import ConfigError, DataError
from ..optim import LBFGS
from ..train import Callback, EarlyStopping, TrainState, fit

# SciPy L-BFGS-B's default ftol (factr 1e7 times machine epsilon), which scikit-learn's lbfgs uses
_FTOL = 1e7 * float(np.finfo(np.float64).eps)


def fit_lbfgs(est: Any, X: np.ndarray, Y: np.ndarray, sw: np.ndarray | None) -> None:
    """L-BFGS over the whole set: ``max_iter`` iterations, ``max_fun`` loss evaluations."""
    opt = LBFGS(est.model_.parameters(), lr=1.0, max_iter=est.max_iter, max_eval=est.max_fun,
                tolerance_grad=est.tol, tolerance_change=_FTOL, history_size=10,
                line_search_fn="strong_wolfe")
    data = (X, Y) if sw is None else (X, Y, sw)
    fit(est.model_, est._batch_loss, opt, data, epochs=1, batch_size=X.shape[0], shuffle=False,
        metrics=(), progress=False, check_finite=False)
    state = opt.state_dict()["state"].get(0, {})
    est.n_iter_ = int(state.get("n_iter", 0))
    est.loss_ = float(est._batch_loss(est._logits(X), Y, sw).item())
    if est.n_iter_ >= est.max_iter or int(state.get("func_evals", 0)) >= est.max_fun:
        warnings.warn(f"lbfgs failed to converge after {est.n_iter_} iteration(s) "
                      f"(max_iter={est.max_iter}, max_fun={est.max_fun}); increase them or "
                      "scale the data", ConvergenceWarning, stacklevel=4)


def fit_stochastic(est: Any, X: np.ndarray, Y: np.ndarray, sw: np.ndarray | None,
                   incremental: bool) -> None:
    """Epochs of SGD or Adam (one epoch for ``partial_fit``), as scikit-learn runs them."""
    if not incremental or est._optimizer is None:
        est._optimizer = est._make_optimizer()
    if est.early_stopping and incremental:
        raise ConfigError("partial_fit does not support early_stopping=True")
    validation = None
    if est.early_stopping:
        X, Y, sw, validation = _hold_out(est, X, Y, sw)
    n_samples = X.shape[0]
    stopper = _stopper(est)
    fit(est.model_, est._batch_loss, est._optimizer, (X, Y) if sw is None else (X, Y, sw),
        epochs=1 if incremental else est.max_iter, batch_size=_batch_size(est, n_samples),
        shuffle=False, sampler=ReshuffleSampler(n_samples, est._random_state) if est.shuffle else None,
        metrics=(), callbacks=[_Epoch(est, n_samples, validation), stopper, _Schedule(est, incremental)],
        progress=False, check_finite=False)
    est._no_improvement_count = stopper.wait
    if est.early_stopping:
        est.best_validation_score_, est._best_state = stopper.best, stopper.best_state
    else:
        est.best_loss_ = stopper.best


def _hold_out(est: Any, X: np.ndarray, Y: np.ndarray, sw: np.ndarray | None) -> tuple:
    """The early-stopping split, scikit-learn's: stratified for classifiers, same draws."""
    # train_test_split holds out ceil(fraction · n) samples
    if np.ceil(est.validation_fraction * X.shape[0]) < 2:
        raise DataError("The validation set is too small. Increase 'validation_fraction' "
                        f"(got {est.validation_fraction}) or the size of your dataset "
                        f"({X.shape[0]} samples).")
    stratify = Y if is_classifier(est) and est.n_outputs_ == 1 else None
    arrays = (X, Y) if sw is None else (X, Y, sw)
    parts = train_test_split(*arrays, random_state=est._random_state,
                             test_size=est.validation_fraction, stratify=stratify)
    X, X_val, Y, Y_val = parts[:4]
    sw, sw_val = (None, None) if sw is None else (parts[4], parts[5])
    return X, Y, sw, (X_val, Y_val, sw_val)


def _batch_size(est: Any, n_samples: int) -> int:
    if est.batch_size == "auto":
        return min(200, n_samples)
    if est.batch_size > n_samples:
        warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going "
                      "to be clipped", stacklevel=5)
    return int(np.clip(est.batch_size, 1, n_samples))


def _stopper(est: Any) -> EarlyStopping:
    """scikit-learn's stopping rule, carrying on from the estimator's attributes (so
    ``warm_start`` and ``partial_fit`` continue its count and its best value)."""
    es = est.early_stopping
    stopper = EarlyStopping("val_score" if es else "loss", patience=est.n_iter_no_change + 1,
                            min_delta=est.tol, mode="max" if es else "min",
                            restore_best_weights=es, rule="sklearn",
                            on_plateau=lambda state: _on_plateau(est, state))
    best = est.best_validation_score_ if es else est.best_loss_
    if best is not None:
        stopper.best = best
    stopper.wait = est._no_improvement_count
    stopper.best_state = est._best_state if es else None
    return stopper


def _on_plateau(est: Any, state: TrainState) -> bool:
    """When patience runs out: adaptive SGD divides its step by 5 and goes on (until the step
    is 1e-6 or less); anything else stops. Returns whether training goes on."""
    what = "Validation score" if est.early_stopping else "Training loss"
    msg = (f"{what} did not improve more than tol={est.tol:f} for "
           f"{est.n_iter_no_change} consecutive epochs.")
    if est.solver == "sgd" and est.learning_rate == "adaptive":
        group = state.optimizer.param_groups[0]
        if group["lr"] > 1e-6:
            group["lr"] /= 5.0
            if est.verbose:
                print(msg + f" Setting learning rate to {group['lr']:f}")
            return True
        msg += " Learning rate too small. Stopping."
    if est.verbose:
        print(msg)
    return False


class _Epoch(Callback):
    """scikit-learn's record of an epoch: ``n_iter_``, ``t_``, ``loss_``, ``loss_curve_``, the
    validation score (into the logs as ``val_score``, for the stopper), verbose lines."""

    def __init__(self, est: Any, n_samples: int, validation: tuple | None) -> None:
        self.est, self.n_samples, self.validation = est, n_samples, validation

    def on_epoch_end(self, state: TrainState) -> None:
        est = self.est
        est.n_iter_ += 1
        est.loss_ = state.logs["loss"]
        est.t_ += self.n_samples
        est.loss_curve_.append(est.loss_)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        if self.validation is not None:
            score = est._score(*self.validation)
            est.validation_scores_.append(score)
            state.logs["val_score"] = score
            if est.verbose:
                print(f"Validation score: {score:f}")


class _Schedule(Callback):
    """After the stopper: SGD's "invscaling" step η₀ / (t + 1)^power_t, and the
    ConvergenceWarning when ``max_iter`` epochs end training unconverged."""

    def __init__(self, est: Any, incremental: bool) -> None:
        self.est, self.incremental = est, incremental

    def on_epoch_end(self, state: TrainState) -> None:
        est = self.est
        if est.solver == "sgd" and est.learning_rate == "invscaling":
            state.optimizer.param_groups[0]["lr"] = est.learning_rate_init / (est.t_ + 1) ** est.power_t
        if not self.incremental and not state.stop and est.n_iter_ == est.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached "
                          "and the optimization hasn't converged yet.", ConvergenceWarning,
                          stacklevel=5)
