"""chainrule.sklearn: scikit-learn's own estimator checks, its tools (Pipeline, GridSearchCV,
cross_val_score), real data, and step-for-step parity with scikit-learn's MLP."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.datasets import load_digits, load_iris, make_friedman1, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from chainrule.errors import ConfigError, DataError  # noqa: E402
from chainrule.models import MLP  # noqa: E402
from chainrule.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


# --------------------------------------------------------------------- scikit-learn's checks
# Small and quick instances; every check runs. scikit-learn's own MLPClassifier/MLPRegressor
# have no expected failures (PER_ESTIMATOR_XFAIL_CHECKS has no entry for them in 1.9), and
# neither do these. Checks that need pandas skip themselves where pandas is not installed,
# as they do for scikit-learn's estimators. The regressor runs 50 full-batch epochs so that
# check_regressors_train's R² > 0.5 holds, as scikit-learn's default instance does with 100.
def _as_list(mark: pytest.MarkDecorator) -> pytest.MarkDecorator:
    """The same parametrize mark with its values in a list: scikit-learn < 1.8 (what pip picks on
    Python 3.10) passes a generator, which pytest 9 deprecates (an error under filterwarnings)."""
    names, values = mark.args
    return pytest.mark.parametrize(names, list(values), **mark.kwargs)


@_as_list(parametrize_with_checks([
    MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, learning_rate_init=0.01, random_state=0),
    MLPRegressor(hidden_layer_sizes=(8,), max_iter=50, learning_rate_init=0.01, random_state=0),
]))
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -------------------------------------------------------------------------- scikit-learn tools
def test_pipeline_on_digits_reaches_95_percent():
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.01,
                                                         max_iter=100, random_state=0))
    pipe.fit(X_tr, y_tr)
    clf = pipe[-1]
    assert pipe.score(X_te, y_te) >= 0.95
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 10
    assert clf.n_iter_ < 100  # stopped by tol, so no ConvergenceWarning (it would be an error)
    assert isinstance(clf.model_, MLP) and clf.model_.sizes == [64, 64, 10]
    proba = pipe.predict_proba(X_te)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], pipe.predict(X_te))


def test_regression_r2_lbfgs():
    X, y = make_friedman1(600, noise=0.3, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    pipe = make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs",
                                                        alpha=1.0, max_iter=2000, random_state=0))
    pipe.fit(X_tr, y_tr)
    assert pipe.score(X_te, y_te) > 0.9
    assert pipe[-1].n_iter_ > 1 and not hasattr(pipe[-1], "loss_curve_")  # as scikit-learn's


def test_grid_search_and_cross_val_score(iris):
    X, y = iris
    base = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs",
                                                         max_iter=500, random_state=0))
    grid = GridSearchCV(base, {"mlpclassifier__alpha": [1e-4, 10.0],
                               "mlpclassifier__activation": ["tanh", "identity"]}, cv=3)
    grid.fit(X, y)
    assert grid.best_score_ > 0.9
    assert grid.best_params_["mlpclassifier__alpha"] == 1e-4  # alpha = 10 underfits
    scores = cross_val_score(base, X, y, cv=5)
    assert scores.shape == (5,) and scores.mean() > 0.9


# ------------------------------------------------------------- semantics against scikit-learn
@pytest.mark.parametrize("kind", ["multiclass", "binary", "regression"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_same_steps_as_scikit_learn_mlp(kind, solver, iris):
    # Same initialization, shuffling, mini-batches, loss (with alpha/(2n)·Σ‖W‖²) and update
    # rule: SGD with momentum matches scikit-learn to rounding; Adam up to its ε (PyTorch's
    # ε is added to √v̂, scikit-learn's to √v), so 1e-30 here to compare the rest exactly.
    if kind == "regression":
        X, y = make_regression(150, 5, random_state=0)
        y = y / y.std()
        ours, theirs = MLPRegressor, sk_nn.MLPRegressor
    else:
        X, y = iris
        y = y == 1 if kind == "binary" else y
        ours, theirs = MLPClassifier, sk_nn.MLPClassifier
    params = dict(hidden_layer_sizes=(7, 5), activation="tanh", alpha=0.01, batch_size=32,
                  max_iter=6, random_state=3, learning_rate_init=0.01, solver=solver,
                  epsilon=1e-30, early_stopping=solver == "adam")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = ours(**params).fit(X, y)
        b = theirs(**params).fit(X, y)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-9)
    assert a.n_iter_ == b.n_iter_ == 6 and a.t_ == b.t_
    if solver == "adam":
        np.testing.assert_allclose(a.validation_scores_, b.validation_scores_, rtol=1e-9)
        assert a.best_validation_score_ == pytest.approx(b.best_validation_score_) and a.best_loss_ is None
    else:
        assert a.best_loss_ == pytest.approx(b.best_loss_) and a.validation_scores_ is None
    np.testing.assert_allclose(a.predict(X[:20]) if kind == "regression" else a.predict_proba(X[:20]),
                               b.predict(X[:20]) if kind == "regression" else b.predict_proba(X[:20]),
                               rtol=1e-9)


def test_alpha_penalty_is_on_weights_only():
    # The loss of one full-batch epoch with a vanishing step is the loss at the initial
    # weights: ½·mean squared error + alpha/(2n)·Σ‖W‖², the biases left out.
    X, y = make_regression(40, 3, random_state=1)
    reg = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", learning_rate_init=1e-300, alpha=3.0,
                       max_iter=1, shuffle=False, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(1\\)"):
        reg.fit(X, y)
    W1, W2 = reg.coefs_
    b1, b2 = reg.intercepts_
    pred = (np.maximum(X @ W1 + b1, 0) @ W2 + b2).ravel()
    expected = 0.5 * np.mean((pred - y) ** 2) + 3.0 / (2 * 40) * (np.sum(W1**2) + np.sum(W2**2))
    assert reg.loss_curve_[0] == pytest.approx(expected, rel=1e-12)


# ------------------------------------------------------------------------------ behaviour
def test_string_labels_binary_one_logistic_unit(iris):
    X, y = iris
    labels = np.where(y == 0, "setosa", "other")
    clf = MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0).fit(X, labels)
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic" and clf.model_.task == "binary"
    assert list(clf.classes_) == ["other", "setosa"]
    assert set(clf.predict(X)) <= {"other", "setosa"} and clf.score(X, labels) == 1.0
    p = clf.predict_proba(X[:3])
    assert p.shape == (3, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_partial_fit_learns_and_keeps_optimizer_state(iris):
    X, y = iris
    X = StandardScaler().fit_transform(X)
    clf = MLPClassifier(hidden_layer_sizes=(10,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(DataError, match="classes must be passed"):
        clf.partial_fit(X[:10], y[:10])
    rng = np.random.RandomState(0)
    for epoch in range(40):
        order = rng.permutation(len(X))
        for chunk in np.array_split(order, 3):
            clf.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2] if epoch == 0 else None)
    assert clf.n_iter_ == 120 and len(clf.loss_curve_) == 120
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]
    assert clf.score(X, y) > 0.9
    with pytest.raises(DataError, match="classes not in"):
        clf.partial_fit(X[:5], np.array([0, 1, 2, 3, 3]))
    # pickling keeps the optimizer's moments: the next step is the same either way
    clone = pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X[:30], y[:30])
    clone.partial_fit(X[:30], y[:30])
    for p, q in zip(clf.coefs_, clone.coefs_):
        np.testing.assert_array_equal(p, q)
    reg = MLPRegressor(solver="lbfgs")
    assert not hasattr(reg, "partial_fit")  # L-BFGS is not incremental, as in scikit-learn


def test_random_state_makes_fits_reproducible(iris):
    X, y = iris
    kw = dict(hidden_layer_sizes=(6,), max_iter=15, early_stopping=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPClassifier(random_state=7, **kw).fit(X, y)
        b = MLPClassifier(random_state=7, **kw).fit(X, y)
        c = MLPClassifier(random_state=8, **kw).fit(X, y)
    for p, q in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(p, q)
    assert a.validation_scores_ == b.validation_scores_ and a.loss_curve_ == b.loss_curve_
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


def test_float32_input_trains_in_float32(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0).fit(X.astype(np.float32), y)
    assert all(p.dtype == np.float32 for p in clf.model_.parameters())
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_convergence_warning_when_max_iter_is_reached(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(2\\) reached"):
        MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=2, random_state=0).fit(X, y)


# ---------------------------------------------------------------------------------- misuse
def test_clear_errors_for_misuse(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(3,), solver="lbfgs", random_state=0)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    clf.fit(X, y)
    with pytest.raises(DataError, match="X has 3 features, but MLPClassifier is expecting 4 features"):
        clf.predict(X[:, :3])
    with pytest.raises(DataError, match="NaN"):
        clf.predict(np.full((2, 4), np.nan))
    with pytest.raises(DataError, match="inconsistent numbers of samples"):
        clf.fit(X, y[:-1])
    with pytest.raises(DataError, match="Unknown label type"):
        clf.fit(X, X[:, 0] + 0.5)
    bad = MLPClassifier(activation="softsign")  # constructing never validates (sklearn rule)
    with pytest.raises(ConfigError, match=r"Invalid activation: 'softsign' \(expected one of 'identity'"):
        bad.fit(X, y)
    for name, value in [("hidden_layer_sizes", (4, 0)), ("learning_rate_init", 0.0), ("momentum", 1.5),
                        ("validation_fraction", 1.0), ("batch_size", "big"), ("max_iter", 2.5)]:
        with pytest.raises(ConfigError, match=f"Invalid {name}.*in MLPClassifier"):
            MLPClassifier().set_params(**{name: value}).fit(X, y)
    with pytest.raises(ConfigError, match="Invalid loss: 'absolute_error'"):
        MLPRegressor(loss="absolute_error").fit(X, y)
    with pytest.raises(DataError, match="validation set is too small"):
        MLPClassifier(early_stopping=True, validation_fraction=0.0).fit(X, y)
    with pytest.raises(DataError, match="non-negative targets"):
        MLPRegressor(loss="poisson").fit(X, y - 5.0)


def test_poisson_regressor_predicts_positive_means():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (300, 2))
    y = rng.poisson(np.exp(1.0 + X[:, 0] - X[:, 1]))
    reg = MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), solver="lbfgs", random_state=0).fit(X, y)
    pred = reg.predict(X)
    assert reg.out_activation_ == "exp" and np.all(pred > 0)
    assert np.corrcoef(pred, np.exp(1.0 + X[:, 0] - X[:, 1]))[0, 1] > 0.95


def test_importing_without_scikit_learn_names_the_extra(monkeypatch):
    import importlib
    import sys

    from chainrule.errors import MissingDependency
    for name in [m for m in sys.modules if m == "chainrule.sklearn" or m.startswith("chainrule.sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn -> ImportError
    with pytest.raises(MissingDependency, match=r"pip install 'chainrule\[sklearn\]'"):
        importlib.import_module("chainrule.sklearn")
